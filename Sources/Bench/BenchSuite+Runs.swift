// The suite's runs. Probe the machine, time this level's CPUID, then N independent runs: in each, the
// selected cases in an order shuffled from the recorded seed, each in a fresh guest that first times its
// baseline (the rdtsc loop of its mode and privilege) and then the case, and this level's CPUID timed again.
// No run is mixed into another: each case's report keeps per-run figures, and its net comes from the runs.

import KVM
import Probe

extension BenchSuite {
    /// Probes this machine, times its own CPUID, runs the guest cases and builds the report. `kvmError` is
    /// set when the KVM device could not be used: the report then holds the host level alone.
    public func run(progress: @Sendable (BenchProgress) -> Void = { _ in }) -> (
        report: BenchReport, kvmError: KVMError?
    ) {
        let started = HostTimer.monotonicNanoseconds()
        let machine = probeMachine()
        let firstTiming = machine.snapshot.hostTiming.value
        for item in HostLevel.cases(firstTiming) { progress(.hostLevel(item)) }
        let seed = options.runOrderSeed ?? (UInt64.random(in: 0...UInt64.max) & Self.seedMask)
        var hostTimings = firstTiming.map { [$0] } ?? []
        var guests = GuestResults()
        var kvmError: KVMError?
        do {
            guests = try runGuestCases(on: machine, seed: seed, started: started, progress: progress) {
                if let timing = firstTiming { hostTimings.append(HostTimer().measure(tsc: timing.tsc)) }
            }
        } catch {
            kvmError = error
        }
        let report = assembleReport(
            machine, guests: guests, hostTimings: hostTimings, seed: seed, kvmError: kvmError, started: started)
        return (report, kvmError)
    }

    /// What the suite knows of this machine before any guest runs: every fact the probe reads (the KVM ones
    /// from the device the guests will run on) and the diagnosis made of them.
    struct Machine {
        var snapshot: Snapshot
        var diagnosis: Diagnosis
        /// The TSC frequency this process times with, or 0 when unknown.
        var hostHz: Double { snapshot.hostTiming.value?.tsc.hz ?? 0 }
    }

    /// What the guest cases produced.
    struct GuestResults {
        /// One report per selected case, in catalogue order.
        var reports: [CaseReport] = []
        /// KVM_GET_TSC_KHZ of the guests, when KVM said.
        var guestTSCkHz: UInt32?
        /// The delay `--inject-exit-delay` added to every user-space exit.
        var injected: InjectedExitDelay?
        /// The CPU the cases were pinned to, when they were.
        var pinnedCPU: Int?
    }

    /// Captures the machine, asking the KVM device the user named (not necessarily /dev/kvm), and diagnoses it.
    func probeMachine() -> Machine {
        var capture = LiveCapture()
        capture.askKVM = true
        capture.kvmDevicePath = options.devicePath
        let snapshot = capture.capture()
        return Machine(snapshot: snapshot, diagnosis: Analyzer.diagnose(snapshot, readHere: true))
    }

    /// Opens the KVM device, runs the selected cases `options.runs` times and analyses each case's runs.
    /// `betweenRuns` is called before every run after the first. Throws when the device cannot be used.
    func runGuestCases(
        on machine: Machine, seed: UInt64, started: UInt64, progress: @Sendable (BenchProgress) -> Void,
        betweenRuns: () -> Void
    ) throws(KVMError) -> GuestResults {
        var results = GuestResults()
        var runner = try CaseRunner(devicePath: options.devicePath)
        let selection = Self.selection(options.cases, from: CaseRunner.catalogue)
        results.guestTSCkHz = machine.snapshot.kvm.value?.guestTSCkHz.value
        results.injected = injectExitDelay(into: &runner, hostHz: machine.hostHz, progress: progress)
        let outcomes = runs(
            selection, runner: runner, seed: seed, started: started, progress: progress, betweenRuns: betweenRuns)
        results.pinnedCPU = Self.firstPinnedCPU(outcomes)
        let guestHz = results.guestTSCkHz.map { Double($0) * 1000 } ?? machine.hostHz
        results.reports = selection.cases.map { exitCase in
            CaseAnalysis.report(
                exitCase, runs: outcomes[exitCase.id] ?? [],
                hz: exitCase.timedInGuest ? guestHz : machine.hostHz)
        }
        for (index, report) in results.reports.enumerated() {
            progress(.caseDone(report, index: index + 1, of: results.reports.count))
        }
        return results
    }

    /// Sets `--inject-exit-delay` up on `runner` (a percentage is calibrated on this machine first) and says
    /// what it injects; nil without the option.
    func injectExitDelay(
        into runner: inout CaseRunner, hostHz: Double, progress: @Sendable (BenchProgress) -> Void
    ) -> InjectedExitDelay? {
        guard let (text, request) = options.exitDelay else { return nil }
        let reference = calibrate(runner, request: request)
        let injected = InjectedExitDelay.make(requested: text, request: request, hz: hostHz, reference: reference)
        runner.injectedExitDelayCycles = UInt64(max(0, injected.delayCycles))
        progress(.note(injected.note))
        return injected
    }

    /// The CPU the first successful sample set was pinned to.
    static func firstPinnedCPU(_ outcomes: [String: [CaseOutcome]]) -> Int? {
        outcomes.values.lazy.flatMap { $0 }.compactMap { outcome -> Int? in
            if case .success(let samples) = outcome.result { samples.pinnedCPU } else { nil }
        }.first
    }

    /// The report: this level's CPUID timings, the guests' cases, the table that sets the two side by side,
    /// and the context that says where and how they were taken.
    func assembleReport(
        _ machine: Machine, guests: GuestResults, hostTimings: [HostTiming], seed: UInt64, kvmError: KVMError?,
        started: UInt64
    ) -> BenchReport {
        let diagnosis = machine.diagnosis
        let host = HostLevel.cases(hostTimings)
        let execution = CaseAnalysis.guestExecution(guests.reports)
        let table = CaseAnalysis.table(
            guests.reports, host: host, execution: execution,
            hostCPUIDTraps: !diagnosis.hypervisors.kinds.contains(.qemuTCG) && diagnosis.platform.sandbox == nil)
        var context = BenchContext.make(
            snapshot: machine.snapshot, diagnosis: diagnosis, guestTSCkHz: guests.guestTSCkHz,
            pinnedCPU: guests.pinnedCPU, budget: options.budgetSeconds, kvmError: kvmError, execution: execution)
        context.runs = options.runs
        context.runOrderSeed = seed
        context.injectedExitDelay = guests.injected
        if let injected = guests.injected { context.notes.insert(injected.note, at: 0) }
        return BenchReport(
            schema: BenchReport.schemaID, version: BenchReport.currentVersion, tool: .current,
            createdAt: machine.snapshot.capturedAt ?? "", context: context, hostLevel: host,
            guestExecution: execution, cases: guests.reports, table: table,
            wallSeconds: Double(HostTimer.monotonicNanoseconds() - started) / 1e9)
    }

    /// Seeds are kept below 2^53 so that every JSON reader holds them exactly.
    public static let seedMask: UInt64 = (1 << 53) - 1

    /// Runs the selection `options.runs` times (fewer when the budget runs out) and returns each case's
    /// outcomes in run order. `betweenRuns` is called before every run after the first.
    func runs(
        _ selection: CaseSelection, runner: CaseRunner, seed: UInt64, started: UInt64,
        progress: @Sendable (BenchProgress) -> Void, betweenRuns: () -> Void
    ) -> [String: [CaseOutcome]] {
        let order = RunOrder(seed: seed)
        let deadline = started &+ UInt64(max(0, min(options.budgetSeconds, 86_400)) * 1e9)
        let total = max(1, min(options.runs, BenchOptions.maximumRuns))
        var outcomes: [String: [CaseOutcome]] = [:]
        var lastRun: UInt64 = 0
        for run in 1...total {
            let runStart = HostTimer.monotonicNanoseconds()
            if run > 1 {
                guard runStart &+ lastRun <= deadline else {
                    progress(
                        .note(
                            "the budget of \(String(format3: options.budgetSeconds)) s ends the runs after "
                                + "\(run - 1) of \(total)"))
                    break
                }
                betweenRuns()
            }
            for exitCase in order.order(selection.cases, run: run) {
                // A case skipped by its gate or probe is skipped in every run: no need to ask again.
                if let previous = outcomes[exitCase.id]?.last, case .failure(let failure) = previous.result,
                    failure.kind == .skipped
                {
                    continue
                }
                let sampling = exitCase.runSampling(in: runner.environment)
                let outcome = runner.run(
                    exitCase, iterations: sampling.iterations, warmup: sampling.warmup,
                    timeout: options.guestTimeout, forced: selection.forced.contains(exitCase.id), baseline: true)
                outcomes[exitCase.id, default: []].append(outcome)
            }
            lastRun = HostTimer.monotonicNanoseconds() - runStart
            progress(
                .note(
                    "run \(run) of \(total) (order seed \(seed)): \(selection.cases.count) cases in "
                        + "\(String(format3: Double(lastRun) / 1e9)) s"))
        }
        Self.lendBaselines(&outcomes, cases: selection.cases)
        return outcomes
    }

    /// Cases that time no baseline in their own guest (the three-level ones) take, run by run, the samples of
    /// the same run's rdtsc case of their mode.
    static func lendBaselines(_ outcomes: inout [String: [CaseOutcome]], cases: [ExitCase]) {
        for exitCase in cases where exitCase.timedInGuest && exitCase.name != "rdtsc" {
            guard let id = CaseAnalysis.baselineCaseID(exitCase), let baselines = outcomes[id],
                var runs = outcomes[exitCase.id]
            else { continue }
            for index in runs.indices where runs[index].baselineCycles == nil && index < baselines.count {
                if case .success(let samples) = baselines[index].result { runs[index].baselineCycles = samples.cycles }
            }
            outcomes[exitCase.id] = runs
        }
    }

    /// The user-space exit cost for a percentage delay: the net cycles per exit (baseline in the same guest)
    /// of the first of `calibrationCases` that runs here, or nil. MMIO at CPL3 comes first: no hypervisor
    /// emulates a CPL3 guest instruction by instruction (kvm_pvm runs it natively), so its figure is the exit
    /// round trip itself; the port exit in the first mode that runs it is the fallback.
    func calibrate(_ runner: CaseRunner, request: ExitDelayRequest) -> (id: String, cycles: Double)? {
        guard case .percent = request else { return nil }
        let catalogue = CaseRunner.catalogue
        let candidates =
            catalogue.filter { $0.name == "mmio-write-user" && $0.cpl == 3 }
            + catalogue.filter { $0.name == "pio-out-user" }
        for exitCase in candidates {
            let outcome = runner.run(exitCase, iterations: 300, warmup: 30, baseline: true)
            guard case .success(let samples) = outcome.result, let base = outcome.baselineCycles,
                let stats = SampleStatistics(samples.cycles.map { Double($0) }),
                let baseStats = SampleStatistics(base.map { Double($0) }), stats.p50 > baseStats.p50
            else { continue }
            return (exitCase.id, stats.p50 - baseStats.p50)
        }
        return nil
    }
}
