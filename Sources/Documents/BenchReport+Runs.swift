// The per-run figures of a bench report: each run's median and net per case, and the case's net figure over
// the runs with its interval (Bench's BenchRuns.swift computes them).

/// One run of one case: the figures the between-run statistics work on.
public struct RunFigure: Codable, Sendable, Equatable {
    /// The run's median, cycles per sample.
    public var medianCycles: Double
    /// Samples the run took.
    public var sampleCount: Int
    /// The median of the baseline timed in the same guest just before, cycles per sample.
    public var baselineMedianCycles: Double?
    /// (median − baseline median) / exits per sample: may be zero or negative where the exit is cheaper
    /// than the baseline's noise.
    public var netCycles: Double?

    public init(medianCycles: Double, sampleCount: Int, baselineMedianCycles: Double? = nil, netCycles: Double? = nil) {
        self.medianCycles = medianCycles
        self.sampleCount = sampleCount
        self.baselineMedianCycles = baselineMedianCycles
        self.netCycles = netCycles
    }
}

/// A case's net figure over its runs, with its uncertainty.
public struct NetFigure: Codable, Sendable, Equatable {
    /// The median of the run nets, cycles per exit.
    public var medianCycles: Double
    /// 95 % interval of that median, cycles per exit: [low, high].
    public var ci95Cycles: [Double]
    /// True when the interval reaches zero or below, or the net is smaller than the interval's half-width:
    /// the exit is not distinguishable from the baseline here, and the figure says nothing on its own.
    public var belowResolution: Bool
    /// How the interval was made, in words.
    public var method: String

    /// Every field, as a report holds it.
    public init(
        medianCycles: Double, ci95Cycles: [Double], belowResolution: Bool, method: String
    ) {
        self.medianCycles = medianCycles
        self.ci95Cycles = ci95Cycles
        self.belowResolution = belowResolution
        self.method = method
    }
}
