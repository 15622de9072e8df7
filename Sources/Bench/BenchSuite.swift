// BenchSuite: runs the exit cases within a time budget, adapts each case's sample count until its
// median is tight, subtracts the timing baseline of the same mode and privilege, and puts this level's
// own CPUID next to the guests' to give the multiplier — one run, two levels.

import KVM
import Probe

/// What to run and for how long.
public struct BenchOptions: Sendable {
    /// Case names or ids to run ("cpuid-0", "cpuid", "pio-out-user/real"); empty = all.
    public var cases: [String] = []
    /// Wall-clock budget for the guest cases, seconds.
    public var budgetSeconds: Double = 4
    /// Stop adding samples to a case once the median's 95 % interval is within ± this fraction.
    public var targetCIRelative: Double = 0.01
    /// Passes over all cases (each pass runs every case once; their samples are merged), while the budget
    /// allows.
    public var passes = 3
    /// Watchdog per guest run.
    public var guestTimeout: Duration = CaseRunner.defaultTimeout
    /// The KVM device.
    public var devicePath = "/dev/kvm"

    public init() {}
}

/// What a `--cases` list chose (`BenchSuite.selection`).
public struct CaseSelection: Sendable, Equatable {
    /// The cases to run, in catalogue order.
    public var cases: [ExitCase]
    /// Entries that matched no case.
    public var unknown: [String]
    /// Ids of the cases to run without probing them for a hang first (`NAME!`).
    public var forced: Set<String>
}

/// One progress event, for the CLI's stderr.
public enum BenchProgress: Sendable {
    case hostLevel(HostLevelCase)
    case caseDone(CaseReport, index: Int, of: Int)
    case note(String)
}

/// Runs the suite.
public struct BenchSuite: Sendable {
    public var options: BenchOptions

    public init(options: BenchOptions) {
        self.options = options
    }

    /// The cases `options.cases` selects, in catalogue order; unknown names are returned apart.
    public static func select(_ names: [String], from catalogue: [ExitCase]) -> (cases: [ExitCase], unknown: [String]) {
        let chosen = selection(names, from: catalogue)
        return (chosen.cases, chosen.unknown)
    }

    /// The cases a `--cases` list selects, in catalogue order. Each entry is a case id ("hypercall/real"), a
    /// name ("cpuid-0"), a family prefix ("cpuid") or `all`; `NAME!` selects and forces (runs a case that may
    /// hang without probing it first); `-NAME` excludes. A list of exclusions alone starts from every case.
    /// The rdtsc baselines and three-level counterparts of what is chosen always come along.
    public static func selection(_ names: [String], from catalogue: [ExitCase]) -> CaseSelection {
        var unknown: [String] = []
        var chosen = Set<String>()
        var forced = Set<String>()
        var excluded = Set<String>()
        var included = false
        for entry in names {
            var name = Substring(entry)
            let excludes = name.hasPrefix("-")
            let forces = !excludes && name.hasSuffix("!")
            if excludes { name = name.dropFirst() }
            if forces { name = name.dropLast() }
            let matches = name == "all"
                ? catalogue.map(\.id)
                : catalogue.filter { $0.id == name || $0.name == name || $0.name.hasPrefix(name + "-") }.map(\.id)
            if matches.isEmpty { unknown.append(entry) }
            if excludes {
                excluded.formUnion(matches)
                continue
            }
            included = true
            chosen.formUnion(matches)
            if forces { forced.formUnion(matches) }
        }
        if !included { chosen = Set(catalogue.map(\.id)) }
        chosen.subtract(excluded)
        // A three-level case's counterpart one level down goes along: its row sets the two side by side.
        chosen.formUnion(catalogue.filter { chosen.contains($0.id) }.compactMap(\.counterpart))
        // Baselines go along: net figures need the rdtsc case of the same mode and privilege.
        let needed = catalogue.filter { chosen.contains($0.id) && $0.timedInGuest }
        for exitCase in needed {
            if let baseline = catalogue.first(where: { $0.name == "rdtsc" && $0.mode == exitCase.mode && $0.cpl == exitCase.cpl }) {
                chosen.insert(baseline.id)
            }
        }
        return CaseSelection(
            cases: catalogue.filter { chosen.contains($0.id) }, unknown: unknown, forced: forced.intersection(chosen))
    }

    /// Probes this machine, times its own CPUID, runs the guest cases and builds the report. `kvmError` is
    /// set when /dev/kvm could not be used: the report then holds the host level alone.
    public func run(progress: @Sendable (BenchProgress) -> Void = { _ in }) -> (report: BenchReport, kvmError: KVMError?) {
        let started = HostTimer.monotonicNanoseconds()
        var capture = LiveCapture()
        capture.askKVM = true
        let snapshot = capture.capture()
        let diagnosis = Analyzer.diagnose(snapshot, readHere: true)
        var hostTiming = snapshot.hostTiming.value
        for item in HostLevel.cases(hostTiming) { progress(.hostLevel(item)) }

        var reports: [CaseReport] = []
        var kvmError: KVMError?
        var guestTSCkHz: UInt32?
        var pinned: Int?
        do {
            let runner = try CaseRunner(devicePath: options.devicePath)
            let selection = Self.selection(options.cases, from: CaseRunner.catalogue)
            let cases = selection.cases
            guestTSCkHz = snapshot.kvm.value?.guestTSCkHz.value
            let hostHz = snapshot.hostTiming.value?.tsc.hz ?? 0
            let guestHz = guestTSCkHz.map { Double($0) * 1000 } ?? hostHz
            var raw: [String: (ExitCase, CaseOutcome, runs: Int)] = [:]
            let deadline = started + UInt64(options.budgetSeconds * 1e9)
            // Pass 1 runs every case once and reports it; later passes run every case again, spread over time,
            // so that a slow spell of the machine (other tenants, the emulator's moods) lands in one pass's
            // samples instead of deciding a case's median; then cases whose median is still loose get more.
            var passStart = HostTimer.monotonicNanoseconds()
            for pass in 1...max(1, options.passes) {
                if pass > 1 {
                    let lastPass = HostTimer.monotonicNanoseconds() - passStart
                    guard HostTimer.monotonicNanoseconds() + lastPass * 2 < deadline else { break }
                    progress(.note("pass \(pass) of \(options.passes): every case again, samples merged"))
                    passStart = HostTimer.monotonicNanoseconds()
                }
                if pass > 1, var timing = hostTiming {
                    // This level's own cpuid is timed again in every pass, like the guests' cases.
                    let again = HostTimer().measure(tsc: timing.tsc)
                    timing.samplesCycles += again.samplesCycles
                    timing.overheadCycles += again.overheadCycles
                    hostTiming = timing
                }
                for (index, exitCase) in cases.enumerated() {
                    let sampling = exitCase.defaultSampling(in: runner.environment)
                    let outcome = runner.run(exitCase, iterations: sampling.iterations, warmup: sampling.warmup,
                        timeout: options.guestTimeout, forced: selection.forced.contains(exitCase.id))
                    let merged = raw[exitCase.id].map { Self.merge($0.1, outcome) } ?? outcome
                    raw[exitCase.id] = (exitCase, merged, (raw[exitCase.id]?.runs ?? 0) + 1)
                    if case .success(let samples) = outcome.result, pinned == nil { pinned = samples.pinnedCPU }
                    if pass == 1 {
                        let report = CaseAnalysis.report(
                            exitCase, merged, runs: 1, baseline: baselineFor(exitCase, in: raw),
                            hz: exitCase.timedInGuest ? guestHz : hostHz)
                        progress(.caseDone(report, index: index + 1, of: cases.count))
                    }
                }
            }
            for (index, exitCase) in cases.enumerated() {
                guard let entry = raw[exitCase.id] else { continue }
                let (outcome, extra) = topUp(
                    exitCase, entry.1, runner: runner, deadline: deadline, remainingCases: cases.count - index)
                raw[exitCase.id] = (exitCase, outcome, entry.runs + extra)
            }
            reports = cases.compactMap { exitCase in
                guard let entry = raw[exitCase.id] else { return nil }
                return CaseAnalysis.report(
                    entry.0, entry.1, runs: entry.runs, baseline: baselineFor(entry.0, in: raw),
                    hz: entry.0.timedInGuest ? guestHz : hostHz)
            }
        } catch {
            kvmError = error
        }
        let host = HostLevel.cases(hostTiming)
        let execution = CaseAnalysis.guestExecution(reports)
        let table = CaseAnalysis.table(
            reports, host: host, execution: execution,
            hostCPUIDTraps: !diagnosis.hypervisors.kinds.contains(.qemuTCG) && diagnosis.platform.sandbox == nil)
        let context = BenchContext.make(
            snapshot: snapshot, diagnosis: diagnosis, guestTSCkHz: guestTSCkHz, pinnedCPU: pinned,
            budget: options.budgetSeconds, kvmError: kvmError, execution: execution)
        let report = BenchReport(
            schema: BenchReport.schemaID, version: BenchReport.currentVersion, tool: .current,
            createdAt: snapshot.capturedAt ?? "", context: context, hostLevel: host, guestExecution: execution,
            cases: reports, table: table,
            wallSeconds: Double(HostTimer.monotonicNanoseconds() - started) / 1e9)
        return (report, kvmError)
    }

    /// The rdtsc case of the same mode and privilege, if it ran.
    func baselineFor(_ exitCase: ExitCase, in raw: [String: (ExitCase, CaseOutcome, runs: Int)]) -> CaseOutcome? {
        guard exitCase.timedInGuest, exitCase.name != "rdtsc" else { return nil }
        return raw.values.first { $0.0.name == "rdtsc" && $0.0.mode == exitCase.mode && $0.0.cpl == exitCase.cpl }?.1
    }

    /// Adds the samples of `next` to `outcome`. Good samples are never thrown away: a failed pass after a
    /// good one keeps the good one's samples, and a good pass after a failed one replaces the failure.
    static func merge(_ outcome: CaseOutcome, _ next: CaseOutcome) -> CaseOutcome {
        switch (outcome.result, next.result) {
        case (.success(var samples), .success(let more)):
            samples.cycles += more.cycles
            var merged = outcome
            merged.result = .success(samples)
            merged.wallNanoseconds += next.wallNanoseconds
            return merged
        case (.success, .failure), (.failure, .failure):
            return outcome
        case (.failure, .success):
            return next
        }
    }

    /// Runs a case again while its median's interval is wider than the target and its share of the budget
    /// allows; returns the merged outcome and how many runs were added.
    func topUp(_ exitCase: ExitCase, _ start: CaseOutcome, runner: CaseRunner, deadline: UInt64, remainingCases: Int)
        -> (CaseOutcome, Int)
    {
        var outcome = start
        var added = 0
        guard exitCase.timedInGuest, case .success = outcome.result else { return (outcome, 0) }
        let sampling = exitCase.defaultSampling(in: runner.environment)
        while added < 6 {
            guard case .success(let merged) = outcome.result else { break }
            let now = HostTimer.monotonicNanoseconds()
            guard now < deadline else { break }
            let share = (deadline - now) / UInt64(max(1, remainingCases))
            guard let stats = SampleStatistics(merged.cycles.map { Double($0) }), stats.p50 > 0 else { break }
            let relative = (stats.medianCI95[1] - stats.medianCI95[0]) / 2 / stats.p50
            let perRun = outcome.wallNanoseconds / UInt64(max(1, added + 1))
            guard relative > options.targetCIRelative, perRun * 2 < share else { break }
            let more = runner.run(exitCase, iterations: sampling.iterations, warmup: sampling.warmup,
                timeout: options.guestTimeout)
            guard case .success = more.result else { break }
            outcome = Self.merge(outcome, more)
            added += 1
        }
        return (outcome, added)
    }
}
