// CaseAnalysis: from raw outcomes to report rows — statistics in cycles and nanoseconds, the baseline
// subtracted, samples thinned for the report, emulation detected, and the L-versus-L+1 table.

import Probe

/// Turns outcomes into report parts.
public enum CaseAnalysis {
    /// Samples kept in a report per case; more are thinned evenly in time order.
    public static let keptSamples = 4096
    /// Net cycles below which an instruction cannot have left the guest (a hardware exit costs ≥ ~500).
    public static let noExitCycles = 200.0
    /// Cycles per instruction of the empty loop above which the guest is being emulated, not executed.
    public static let emulationThreshold = 50.0

    /// Statistics of `cycles` in cycles and, at `hz`, nanoseconds.
    public static func dual(_ cycles: [UInt64], hz: Double) -> DualStatistics? {
        DualStatistics(cycles: cycles, hz: hz)
    }

    /// Every `count`-th of the samples so that at most `limit` remain, first and order kept.
    public static func thin(_ samples: [UInt64], to limit: Int = keptSamples) -> [UInt64] {
        guard samples.count > limit, limit > 0 else { return samples }
        let step = Double(samples.count) / Double(limit)
        return (0..<limit).map { samples[Int(Double($0) * step)] }
    }

    /// The report of one case from one run, with its baseline from `baseline`'s samples when the run has
    /// none of its own (`report(_:runs:hz:)` does the work).
    public static func report(
        _ exitCase: ExitCase, _ outcome: CaseOutcome, runs: Int, baseline: CaseOutcome?, hz: Double
    ) -> CaseReport {
        var outcome = outcome
        if outcome.baselineCycles == nil, exitCase.name != "rdtsc", let baseline,
            case .success(let base) = baseline.result
        {
            outcome.baselineCycles = base.cycles
        }
        return report(exitCase, runs: [outcome], hz: hz)
    }

    /// The note of a row whose net is below resolution: the net's interval and the gross figure.
    static func belowResolutionNote(_ net: NetFigure, gross: Double?) -> String {
        let interval = net.ci95Cycles.map { TextFormat.grouped($0) }.joined(separator: " … ")
        let grossText = gross.map { "; gross \(TextFormat.grouped($0)) cycles per exit" } ?? ""
        return "below resolution: net \(TextFormat.grouped(net.medianCycles)) cycles, 95 % interval "
            + "[\(interval)] does not exclude zero\(grossText)"
    }

    /// Per mode and privilege, what the empty loop costs and whether that means emulation.
    public static func guestExecution(_ reports: [CaseReport]) -> [GuestExecution] {
        reports.filter { $0.id.hasPrefix("null/") && $0.status == .ok }.compactMap { null in
            guard let perIteration = null.netMedianCycles else { return nil }
            let perInstruction = perIteration / Double(CaseOutcome.nullLoopInstructions)
            let emulated = perInstruction > emulationThreshold
            let note =
                emulated
                ? "\(Int(perInstruction.rounded())) cycles per guest instruction: the guest is emulated instruction by "
                    + "instruction (kvm_pvm does this at CPL0 and in real mode), so every figure in this mode includes "
                    + "emulation, not only the exit"
                : "\(String(format3: perInstruction)) cycles per guest instruction: the guest runs natively"
            return GuestExecution(
                mode: null.mode, cpl: null.cpl, nullIterationCycles: perIteration,
                emulated: emulated, note: note)
        }
    }

    /// The summary rows: every case that produced a figure, with this level's figure beside the CPUID rows.
    public static func table(
        _ reports: [CaseReport], host: [HostLevelCase], execution: [GuestExecution], hostCPUIDTraps: Bool = true
    ) -> [TableRow] {
        // A host cpuid that did not trap (QEMU TCG below, bare metal) is no exit of this level: no multiplier.
        let hostCPUID =
            hostCPUIDTraps ? host.first { $0.id == "cpuid-0/host" && $0.netMedianCycles >= CPUIDCostBands.noTrap } : nil
        return reports.map { report in
            let emulated = execution.first { $0.mode == report.mode && $0.cpl == report.cpl }?.emulated ?? false
            var notes: [String] = []
            switch report.status {
            case .skipped: notes.append("skipped: \(report.reason ?? "")")
            case .failed: notes.append("failed: \(report.reason ?? "")")
            case .ok: break
            }
            if report.attribution == Attribution.levelBelow.rawValue {
                notes.append("answered by the level below, not this level's KVM")
            }
            if report.id.hasPrefix("rdtsc/") { notes.append("the timing baseline itself (not net)") }
            if report.status == .ok, !emulated, report.timedIn == "guest",
                report.exitsTo == ExitTarget.kernel.rawValue || report.exitsTo == ExitTarget.userSpace.rawValue,
                let net = report.netMedianCycles, net < noExitCycles
            {
                notes.append("\(Int(net.rounded())) cycles is below any exit's cost: it did not exit here")
            }
            if report.id.hasPrefix("null/") { notes.append("one empty loop iteration, net of the baseline") }
            if emulated && report.timedIn == "guest" && report.status == .ok {
                notes.append(
                    report.id.hasPrefix("cpuid-") && report.attribution == Attribution.thisLevel.rawValue
                        ? "emulated guest: this level's emulator answers cpuid without a hardware exit"
                        : "emulated guest")
            }
            let isCPUID = report.id.hasPrefix("cpuid-")
            let thisLevel = isCPUID ? hostCPUID?.netMedianCycles : nil
            let multiplier: Double? = {
                guard let thisLevel, thisLevel > 0, let guest = report.netMedianCycles, report.status == .ok else {
                    return nil
                }
                return guest / thisLevel
            }()
            if let net = report.net, net.belowResolution, report.status == .ok, report.timedIn == "guest",
                !report.id.hasPrefix("rdtsc/")
            {
                let gross = report.statistics.map { $0.cycles.p50 / Double(max(1, report.exitsPerSample)) }
                notes.insert(belowResolutionNote(net, gross: gross), at: 0)
            }
            var row = TableRow(
                caseID: report.id, thisLevelCycles: thisLevel, guestLevelCycles: report.netMedianCycles,
                guestLevelNanoseconds: report.netMedianNanoseconds, multiplier: multiplier,
                exitsTo: report.exitsTo, note: notes.joined(separator: "; "))
            if report.net?.belowResolution == true, !report.id.hasPrefix("rdtsc/") { row.belowResolution = true }
            // A three-level row moves its figure to the guest's guest and takes the guest level's from its
            // counterpart (NestedSVM+Analysis.swift).
            return NestedSVMAnalysis.threeLevel(row, report, among: reports)
        }
    }
}

/// This level's own measurements, taken by the probe.
enum HostLevel {
    /// This level's cpuid from its timings, one per run, pooled; each run's net median kept apart.
    static func cases(_ timings: [HostTiming]) -> [HostLevelCase] {
        guard var pooled = timings.first else { return [] }
        for timing in timings.dropFirst() {
            pooled.samplesCycles += timing.samplesCycles
            pooled.overheadCycles += timing.overheadCycles
        }
        var cases = cases(pooled)
        if !cases.isEmpty { cases[0].perRunNetMedianCycles = timings.compactMap { HostExitCost($0)?.netMedianCycles } }
        return cases
    }

    static func cases(_ timing: HostTiming?) -> [HostLevelCase] {
        guard let timing, let cost = HostExitCost(timing),
            let stats = CaseAnalysis.dual(timing.samplesCycles, hz: timing.tsc.hz)
        else { return [] }
        return [
            HostLevelCase(
                id: "cpuid-0/host", mechanism: "cpuid leaf 0 in this process, between fenced TSC reads",
                samplesCycles: CaseAnalysis.thin(timing.samplesCycles), warmupDiscarded: timing.warmup,
                statistics: stats, netMedianCycles: cost.netMedianCycles,
                netMedianNanoseconds: cost.netMedianNanoseconds)
        ]
    }
}

extension BenchContext {
    static func make(
        snapshot: Snapshot, diagnosis: Diagnosis, guestTSCkHz: UInt32?, pinnedCPU: Int?, budget: Double,
        kvmError: KVMErrorDescription?, execution: [GuestExecution]
    ) -> BenchContext {
        var notes: [String] = []
        if let kvmError { notes.append("no guest cases: \(kvmError)") }
        for mode in execution where mode.emulated { notes.append("\(mode.mode) CPL\(mode.cpl): \(mode.note)") }
        let emulatedHost = diagnosis.hypervisors.kinds.contains(.qemuTCG)
        if emulatedHost {
            notes.append(
                "QEMU TCG is below this level: every figure here is software emulation and says nothing about hardware")
        }
        let level = diagnosis.level.level
        return BenchContext(
            kernelRelease: diagnosis.platform.kernelRelease, cpu: cpuName(diagnosis),
            kvmModule: diagnosis.hosting.kvmModule,
            kvmParameters: kvmParameters(diagnosis), level: level.rawValue, levelConfidence: diagnosis.level.confidence,
            levelLowerBound: diagnosis.level.lowerBound.rawValue,
            hypervisor: diagnosis.hypervisors.ranges.first.map { "\($0.kind.rawValue) (\"\($0.signature)\")" },
            guestLevel: guestLevel(level),
            tsc: snapshot.hostTiming.value?.tsc ?? TSCFrequency(hz: 0, source: .calibration, detail: "not measured"),
            guestTSCkHz: guestTSCkHz, pinnedCPU: pinnedCPU, emulatedHost: emulatedHost, budgetSeconds: budget,
            notes: notes, canHost: diagnosis.hosting.canHost.rawValue,
            guestsCanHost: diagnosis.hosting.guestsCanHost.rawValue, mechanism: diagnosis.hosting.mechanism.rawValue,
            hypervisors: diagnosis.hypervisors.kinds.map(\.rawValue))
    }
}

extension BenchContext {
    /// The CPU as a report's context names it: brand, family and model in hex, codename; "unidentified"
    /// without CPUID. `nestprobe fleet` names a diagnosis's machine the same way.
    public static func cpuName(_ diagnosis: Diagnosis) -> String {
        diagnosis.cpu.value.map {
            "\($0.brand) (family \(String($0.family, radix: 16))h model \(String($0.model, radix: 16))h, \($0.codename))"
        } ?? "unidentified"
    }

    /// The guests' level: this level + 1.
    public static func guestLevel(_ level: Level) -> String {
        switch level {
        case .l0: "L1"
        case .l1: "L2"
        case .l2OrDeeper: "L3+"
        }
    }

    /// The loaded KVM vendor module's parameters, name → value.
    public static func kvmParameters(_ diagnosis: Diagnosis) -> [String: String] {
        let parameters = diagnosis.hosting.parameters.filter { $0.module == diagnosis.hosting.kvmModule }
        return Dictionary(parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Anything that describes itself, for the context's note about KVM.
typealias KVMErrorDescription = CustomStringConvertible
