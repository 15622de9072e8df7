// The bench schema's bounds (Reports/schema/bench-v1.schema.json) checked on a decoded report: at most
// 4,096 kept samples per case, a confidence in 0…1, figures ≥ 0, counts ≥ 0 (runs and exits per
// sample ≥ 1), a CPL of 0 or 3, statistics with a count and a two-number interval, and the enumerated
// words the renderers group and label by. Everything later — compare, qualify, every render format — may
// then rely on them; the number of cases and of every other list is bounded too, so the work per report is.

import Documents

extension ReportFile {
    /// The schema's maxItems for the kept samples of one case.
    public static let maximumSamplesPerCase = 4096
    /// The schema's maxItems for cases, host-level cases, table rows and guest execution rows, and for
    /// the other lists a report holds (notes, hypervisors, KVM parameters, intercepts): a run has about
    /// forty cases, so this leaves room for every future catalogue while bounding what compare and the
    /// renderers do with one report.
    public static let maximumItems = 256
    /// The schema's maxLength for the sentences a report carries (notes, reasons): nestprobe's longest is
    /// under a kilobyte; the bound keeps a report's work in its samples, which are bounded too.
    public static let maximumTextBytes = 4096

    static let modes = ["real", "long64", "svm-inner", "svm-hv"]
    static let exitsTo = ["kernel", "user-space", "none", "level-below", "guest-hypervisor"]
    static let attributions = ["this-level", "level-below", "guest-hypervisor", "not-applicable"]
    static let levels = ["L0", "L1", "L2+"]

    /// Refuses the first field outside the schema's bounds, naming it.
    public static func checkBounds(_ report: BenchReport, name: String) throws(InputError) {
        let bounds = DocumentBounds(name: name)
        try bounds.atLeast(report.wallSeconds, 0, "wallSeconds")
        try checkContext(report.context, bounds)
        for (field, count) in [
            ("hostLevel", report.hostLevel.count), ("cases", report.cases.count), ("table", report.table.count),
            ("guestExecution", report.guestExecution.count),
        ] {
            try bounds.items(count, field, maximum: maximumItems)
        }
        for (index, host) in report.hostLevel.enumerated() {
            let field = "hostLevel[\(index)]"
            try bounds.items(host.samplesCycles.count, "\(field).samplesCycles", maximum: maximumSamplesPerCase)
            try bounds.atLeast(host.warmupDiscarded, 0, "\(field).warmupDiscarded")
            try bounds.statistics(host.statistics.cycles, "\(field).statistics.cycles")
            try bounds.statistics(host.statistics.nanoseconds, "\(field).statistics.nanoseconds")
            try bounds.atLeast(host.netMedianCycles, 0, "\(field).netMedianCycles")
            try bounds.atLeast(host.netMedianNanoseconds, 0, "\(field).netMedianNanoseconds")
        }
        for (index, row) in report.guestExecution.enumerated() {
            try bounds.oneOf(row.mode, modes, "guestExecution[\(index)].mode")
            try bounds.oneOf(row.cpl, [0, 3], "guestExecution[\(index)].cpl")
            try bounds.atLeast(row.nullIterationCycles, 0, "guestExecution[\(index)].nullIterationCycles")
            try bounds.text(row.note, "guestExecution[\(index)].note", maximum: maximumTextBytes)
        }
        for (index, entry) in report.cases.enumerated() { try checkCase(entry, "cases[\(index)]", bounds) }
        for (index, row) in report.table.enumerated() {
            let field = "table[\(index)]"
            try bounds.oneOf(row.exitsTo, exitsTo, "\(field).exitsTo")
            try bounds.text(row.note, "\(field).note", maximum: maximumTextBytes)
            let figures: [(String, Double?)] = [
                ("thisLevelCycles", row.thisLevelCycles), ("guestLevelCycles", row.guestLevelCycles),
                ("guestLevelNanoseconds", row.guestLevelNanoseconds), ("multiplier", row.multiplier),
                ("innerGuestCycles", row.innerGuestCycles), ("innerGuestNanoseconds", row.innerGuestNanoseconds),
                ("innerMultiplier", row.innerMultiplier),
            ]
            for case (let key, let value?) in figures { try bounds.atLeast(value, 0, "\(field).\(key)") }
        }
    }

    private static func checkContext(_ c: BenchContext, _ bounds: DocumentBounds) throws(InputError) {
        try bounds.within(c.levelConfidence, 0...1, "context.levelConfidence")
        try bounds.oneOf(c.level, levels, "context.level")
        try bounds.oneOf(c.levelLowerBound, levels, "context.levelLowerBound")
        try bounds.oneOf(c.guestLevel, ["L1", "L2", "L3+"], "context.guestLevel")
        try bounds.oneOf(c.mechanism, ["VMX", "SVM", "PVM", "none"], "context.mechanism")
        if let module = c.kvmModule {
            try bounds.oneOf(module, ["kvm_intel", "kvm_amd", "kvm_pvm"], "context.kvmModule")
        }
        if let cpu = c.pinnedCPU { try bounds.atLeast(cpu, 0, "context.pinnedCPU") }
        try bounds.atLeast(c.tsc.hz, 0, "context.tsc.hz")
        try bounds.above(c.budgetSeconds, 0, "context.budgetSeconds")
        try bounds.items(c.notes.count, "context.notes", maximum: maximumItems)
        for (index, note) in c.notes.enumerated() {
            try bounds.text(note, "context.notes[\(index)]", maximum: maximumTextBytes)
        }
        try bounds.items(c.hypervisors.count, "context.hypervisors", maximum: maximumItems)
        try bounds.items(c.kvmParameters.count, "context.kvmParameters", maximum: maximumItems)
    }

    private static func checkCase(_ entry: CaseReport, _ field: String, _ bounds: DocumentBounds) throws(InputError) {
        try bounds.oneOf(entry.mode, modes, "\(field).mode")
        try bounds.oneOf(entry.cpl, [0, 3], "\(field).cpl")
        try bounds.oneOf(entry.exitsTo, exitsTo, "\(field).exitsTo")
        try bounds.oneOf(entry.attribution, attributions, "\(field).attribution")
        try bounds.oneOf(entry.timedIn, ["guest", "host"], "\(field).timedIn")
        try bounds.items(entry.samplesCycles.count, "\(field).samplesCycles", maximum: maximumSamplesPerCase)
        try bounds.atLeast(entry.sampleCount, 0, "\(field).sampleCount")
        try bounds.atLeast(entry.exitsPerSample, 1, "\(field).exitsPerSample")
        try bounds.atLeast(entry.warmupDiscarded, 0, "\(field).warmupDiscarded")
        try bounds.atLeast(entry.runs, 1, "\(field).runs")
        if let reason = entry.reason { try bounds.text(reason, "\(field).reason", maximum: maximumTextBytes) }
        if let failure = entry.failure {
            try bounds.text(failure.reason, "\(field).failure.reason", maximum: maximumTextBytes)
        }
        if let statistics = entry.statistics {
            try bounds.statistics(statistics.cycles, "\(field).statistics.cycles")
            try bounds.statistics(statistics.nanoseconds, "\(field).statistics.nanoseconds")
        }
        let figures: [(String, Double?)] = [
            ("baselineMedianCycles", entry.baselineMedianCycles), ("netMedianCycles", entry.netMedianCycles),
            ("netMedianNanoseconds", entry.netMedianNanoseconds), ("medianCIRelative", entry.medianCIRelative),
        ]
        for case (let key, let value?) in figures { try bounds.atLeast(value, 0, "\(field).\(key)") }
        if let hypervisor = entry.guestHypervisor {
            try bounds.oneOf(hypervisor.role, ["relay", "own"], "\(field).guestHypervisor.role")
            try bounds.oneOf(hypervisor.resumedBy, ["nrip", "length"], "\(field).guestHypervisor.resumedBy")
            try bounds.atLeast(hypervisor.exits, 0, "\(field).guestHypervisor.exits")
            let path = "\(field).guestHypervisor"
            try bounds.items(hypervisor.intercepts.count, "\(path).intercepts", maximum: maximumItems)
            try bounds.items(hypervisor.expectedIntercepts.count, "\(path).expectedIntercepts", maximum: maximumItems)
            for (key, count) in hypervisor.intercepts.sorted(by: { $0.key < $1.key }) {
                try bounds.atLeast(count, 0, "\(field).guestHypervisor.intercepts.\(key)")
            }
            for (key, count) in hypervisor.expectedIntercepts.sorted(by: { $0.key < $1.key }) {
                try bounds.atLeast(count, 0, "\(field).guestHypervisor.expectedIntercepts.\(key)")
            }
            if let stopped = hypervisor.stoppedBy {
                try bounds.atLeast(Int(truncatingIfNeeded: stopped.code), -2, "\(field).guestHypervisor.stoppedBy.code")
            }
        }
    }
}
