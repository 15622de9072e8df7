// BenchReport: the versioned JSON report of `nestprobe bench` (Reports/schema/bench-v1.schema.json):
// the context a reader needs to trust the numbers, the host level's own exits, and per case the kept
// samples, their statistics in cycles and nanoseconds, what the exits went to and who answered.

/// The report of one `nestprobe bench` run.
public struct BenchReport: Codable, Sendable {
    public static let schemaID = "nestprobe.bench"
    public static let currentVersion = 1

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    /// ISO 8601, UTC.
    public var createdAt: String
    public var context: BenchContext
    /// This level's own exits, timed in this process (cpuid: one exit to the level below at L≥1).
    public var hostLevel: [HostLevelCase]
    /// Per guest mode and privilege: the cost of one empty loop iteration and what it says.
    public var guestExecution: [GuestExecution]
    public var cases: [CaseReport]
    /// The rows a person reads: case, this level, guest level, multiplier, what it exits to.
    public var table: [TableRow]
    /// Wall time of the whole run, seconds.
    public var wallSeconds: Double

    /// Every field, as a report holds it.
    public init(
        schema: String, version: Int, tool: ToolInfo, createdAt: String, context: BenchContext,
        hostLevel: [HostLevelCase], guestExecution: [GuestExecution], cases: [CaseReport], table: [TableRow],
        wallSeconds: Double
    ) {
        self.schema = schema
        self.version = version
        self.tool = tool
        self.createdAt = createdAt
        self.context = context
        self.hostLevel = hostLevel
        self.guestExecution = guestExecution
        self.cases = cases
        self.table = table
        self.wallSeconds = wallSeconds
    }
}

/// Where the report was made.
public struct BenchContext: Codable, Sendable {
    public var kernelRelease: String?
    public var cpu: String
    /// kvm_intel, kvm_amd, kvm_pvm, or nil.
    public var kvmModule: String?
    /// The vendor module's parameters, name=value.
    public var kvmParameters: [String: String]
    /// The probe's level estimate for this machine.
    public var level: String
    public var levelConfidence: Double
    public var levelLowerBound: String
    /// The hypervisor this level runs on, as CPUID names it.
    public var hypervisor: String?
    /// The guests' level: this level + 1.
    public var guestLevel: String
    /// TSC frequency of this process and its source.
    public var tsc: TSCFrequency
    /// The guests' TSC frequency (KVM_GET_TSC_KHZ), kHz.
    public var guestTSCkHz: UInt32?
    /// The CPU the vCPU threads were pinned to, if pinning worked.
    public var pinnedCPU: Int?
    /// Whether the numbers come from an emulated host (QEMU TCG below): then they say nothing about hardware.
    public var emulatedHost: Bool
    /// Budget asked for, seconds.
    public var budgetSeconds: Double
    public var notes: [String]
    /// The probe's hosting verdict: can this level run KVM guests ("yes", "no", "unknown").
    public var canHost: String
    /// Could those guests run their own (VMX or SVM offered to them).
    public var guestsCanHost: String
    /// VMX, SVM, PVM or none.
    public var mechanism: String
    /// Every hypervisor kind CPUID names, in range order.
    public var hypervisors: [String]
    /// Independent runs asked for (`--runs`); each case's `runs` says how many it got.
    public var runs: Int? = nil
    /// The seed of the per-run case order (`--seed` reproduces it).
    public var runOrderSeed: UInt64? = nil
    /// `--inject-exit-delay`: the delay added to every user-space exit on purpose. Present only when asked.
    public var injectedExitDelay: InjectedExitDelay? = nil

    /// Every field, as a report holds it.
    public init(
        kernelRelease: String? = nil, cpu: String, kvmModule: String? = nil, kvmParameters: [String: String],
        level: String, levelConfidence: Double, levelLowerBound: String, hypervisor: String? = nil,
        guestLevel: String, tsc: TSCFrequency, guestTSCkHz: UInt32? = nil, pinnedCPU: Int? = nil,
        emulatedHost: Bool, budgetSeconds: Double, notes: [String], canHost: String, guestsCanHost: String,
        mechanism: String, hypervisors: [String], runs: Int? = nil, runOrderSeed: UInt64? = nil,
        injectedExitDelay: InjectedExitDelay? = nil
    ) {
        self.kernelRelease = kernelRelease
        self.cpu = cpu
        self.kvmModule = kvmModule
        self.kvmParameters = kvmParameters
        self.level = level
        self.levelConfidence = levelConfidence
        self.levelLowerBound = levelLowerBound
        self.hypervisor = hypervisor
        self.guestLevel = guestLevel
        self.tsc = tsc
        self.guestTSCkHz = guestTSCkHz
        self.pinnedCPU = pinnedCPU
        self.emulatedHost = emulatedHost
        self.budgetSeconds = budgetSeconds
        self.notes = notes
        self.canHost = canHost
        self.guestsCanHost = guestsCanHost
        self.mechanism = mechanism
        self.hypervisors = hypervisors
        self.runs = runs
        self.runOrderSeed = runOrderSeed
        self.injectedExitDelay = injectedExitDelay
    }
}

/// Statistics in both units.
public struct DualStatistics: Codable, Sendable, Equatable {
    public var cycles: SampleStatistics
    public var nanoseconds: SampleStatistics

    /// Every field, as a report holds it.
    public init(
        cycles: SampleStatistics, nanoseconds: SampleStatistics
    ) {
        self.cycles = cycles
        self.nanoseconds = nanoseconds
    }
}

/// One of this level's own measurements.
public struct HostLevelCase: Codable, Sendable {
    public var id: String
    public var mechanism: String
    public var samplesCycles: [UInt64]
    public var warmupDiscarded: Int
    public var statistics: DualStatistics
    /// Median minus the median of the timing overhead.
    public var netMedianCycles: Double
    public var netMedianNanoseconds: Double
    /// The same, timed again in each run, in run order.
    public var perRunNetMedianCycles: [Double]? = nil

    /// Every field, as a report holds it.
    public init(
        id: String, mechanism: String, samplesCycles: [UInt64], warmupDiscarded: Int, statistics: DualStatistics,
        netMedianCycles: Double, netMedianNanoseconds: Double, perRunNetMedianCycles: [Double]? = nil
    ) {
        self.id = id
        self.mechanism = mechanism
        self.samplesCycles = samplesCycles
        self.warmupDiscarded = warmupDiscarded
        self.statistics = statistics
        self.netMedianCycles = netMedianCycles
        self.netMedianNanoseconds = netMedianNanoseconds
        self.perRunNetMedianCycles = perRunNetMedianCycles
    }
}

/// The cost of one loop iteration with an empty body, per guest mode and CPL.
public struct GuestExecution: Codable, Sendable {
    public var mode: String
    public var cpl: Int
    public var nullIterationCycles: Double
    /// True when the loop costs far more than native execution (> 400 cycles for a handful of
    /// instructions): the guest is being emulated instruction by instruction.
    public var emulated: Bool
    public var note: String

    /// Every field, as a report holds it.
    public init(
        mode: String, cpl: Int, nullIterationCycles: Double, emulated: Bool, note: String
    ) {
        self.mode = mode
        self.cpl = cpl
        self.nullIterationCycles = nullIterationCycles
        self.emulated = emulated
        self.note = note
    }
}

/// One case's result.
public struct CaseReport: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case ok, skipped, failed }

    public var id: String
    public var mode: String
    public var cpl: Int
    public var mechanism: String
    public var exitsTo: String
    public var attribution: String
    public var timedIn: String
    public var status: Status
    /// Why it was skipped or failed.
    public var reason: String?
    public var failure: CaseFailure?
    /// Samples kept (all of them up to the cap, else an even thinning in time order).
    public var samplesCycles: [UInt64]
    /// How many samples were taken in all.
    public var sampleCount: Int
    public var exitsPerSample: Int
    public var warmupDiscarded: Int
    /// Independent runs that produced samples (each a fresh guest, cases shuffled per run); 1 when none did.
    public var runs: Int
    public var statistics: DualStatistics?
    /// The baseline subtracted, its id and median.
    public var baselineID: String?
    public var baselineMedianCycles: Double?
    /// Per exit: (median − baseline median) / exitsPerSample.
    public var netMedianCycles: Double?
    public var netMedianNanoseconds: Double?
    /// Relative half-width of the median's 95 % interval.
    public var medianCIRelative: Double?
    /// Three-level cases: the mini-hypervisor's canaries, the intercepts it handled and the #VMEXIT it
    /// stopped on, if any (from the case's first run).
    public var guestHypervisor: GuestHypervisorFacts? = nil
    /// Per run, in run order: its median, sample count, the baseline timed in the same guest, and the net.
    public var perRun: [RunFigure]? = nil
    /// How many of `samplesCycles` belong to each run, in order (each run thinned to keptSamples / runs).
    public var samplesPerRun: [Int]? = nil
    /// The net per exit over the runs, with its interval and whether it is below resolution.
    public var net: NetFigure? = nil

    /// Every field, as a report holds it.
    public init(
        id: String, mode: String, cpl: Int, mechanism: String, exitsTo: String, attribution: String,
        timedIn: String, status: Status, reason: String? = nil, failure: CaseFailure? = nil,
        samplesCycles: [UInt64], sampleCount: Int, exitsPerSample: Int, warmupDiscarded: Int, runs: Int,
        statistics: DualStatistics? = nil, baselineID: String? = nil, baselineMedianCycles: Double? = nil,
        netMedianCycles: Double? = nil, netMedianNanoseconds: Double? = nil, medianCIRelative: Double? = nil,
        guestHypervisor: GuestHypervisorFacts? = nil, perRun: [RunFigure]? = nil, samplesPerRun: [Int]? = nil,
        net: NetFigure? = nil
    ) {
        self.id = id
        self.mode = mode
        self.cpl = cpl
        self.mechanism = mechanism
        self.exitsTo = exitsTo
        self.attribution = attribution
        self.timedIn = timedIn
        self.status = status
        self.reason = reason
        self.failure = failure
        self.samplesCycles = samplesCycles
        self.sampleCount = sampleCount
        self.exitsPerSample = exitsPerSample
        self.warmupDiscarded = warmupDiscarded
        self.runs = runs
        self.statistics = statistics
        self.baselineID = baselineID
        self.baselineMedianCycles = baselineMedianCycles
        self.netMedianCycles = netMedianCycles
        self.netMedianNanoseconds = netMedianNanoseconds
        self.medianCIRelative = medianCIRelative
        self.guestHypervisor = guestHypervisor
        self.perRun = perRun
        self.samplesPerRun = samplesPerRun
        self.net = net
    }
}

/// One row of the summary table.
public struct TableRow: Codable, Sendable {
    public var caseID: String
    /// This level's own figure for the same instruction, net cycles (cpuid only).
    public var thisLevelCycles: Double?
    /// The guest level's net cycles per exit.
    public var guestLevelCycles: Double?
    public var guestLevelNanoseconds: Double?
    /// guest / this level, where both exist.
    public var multiplier: Double?
    public var exitsTo: String
    public var note: String
    /// Three-level rows (svm-inner): the guest level's figure is the same instruction's one level down, from
    /// this case (`guestLevelCaseID`); the guest's guest's net cycles per exit are the row's own.
    public var guestLevelCaseID: String? = nil
    public var innerGuestCycles: Double? = nil
    public var innerGuestNanoseconds: Double? = nil
    /// guest's guest / guest level, where both exist.
    public var innerMultiplier: Double? = nil
    /// True when the guest level's net is below resolution (its interval reaches zero): the table then says
    /// so instead of printing the figure.
    public var belowResolution: Bool? = nil

    /// Every field, as a report holds it.
    public init(
        caseID: String, thisLevelCycles: Double? = nil, guestLevelCycles: Double? = nil,
        guestLevelNanoseconds: Double? = nil, multiplier: Double? = nil, exitsTo: String, note: String,
        guestLevelCaseID: String? = nil, innerGuestCycles: Double? = nil, innerGuestNanoseconds: Double? = nil,
        innerMultiplier: Double? = nil, belowResolution: Bool? = nil
    ) {
        self.caseID = caseID
        self.thisLevelCycles = thisLevelCycles
        self.guestLevelCycles = guestLevelCycles
        self.guestLevelNanoseconds = guestLevelNanoseconds
        self.multiplier = multiplier
        self.exitsTo = exitsTo
        self.note = note
        self.guestLevelCaseID = guestLevelCaseID
        self.innerGuestCycles = innerGuestCycles
        self.innerGuestNanoseconds = innerGuestNanoseconds
        self.innerMultiplier = innerMultiplier
        self.belowResolution = belowResolution
    }
}
