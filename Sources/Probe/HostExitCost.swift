// HostExitCost: this process's own CPUID cost from a snapshot's host timing, net of the timing overhead.

/// The host-level CPUID cost, in cycles and nanoseconds, net of the timing overhead.
public struct HostExitCost: Codable, Sendable, Equatable {
    /// Raw samples: fenced TSC pair around one CPUID.
    public var rawCycles: SampleStatistics
    /// The fenced TSC pair with nothing between.
    public var overheadCycles: SampleStatistics
    /// Median raw minus median overhead: the cost of CPUID itself.
    public var netMedianCycles: Double
    public var netMedianNanoseconds: Double
    public var tsc: TSCFrequency
    public var warmupDiscarded: Int
    public var pinnedCPU: Int?
    /// The second clock: one LFENCE's cost (the chain's median net of the overhead, over its length), in the
    /// same TSC cycles; nil when the snapshot holds no chain or the chain did not outlast the overhead.
    public var lfenceCycles: Double?
    /// CPUID's net cost over one LFENCE's: a ratio of two figures on one counter, which a hypervisor that
    /// offsets or scales the TSC, or traps RDTSC, cannot move the way it moves the cycle figure.
    public var cpuidPerLFENCE: Double?

    public init?(_ timing: HostTiming) {
        guard let raw = SampleStatistics(timing.samplesCycles.map { Double($0) }),
            let overhead = SampleStatistics(timing.overheadCycles.map { Double($0) })
        else { return nil }
        rawCycles = raw
        overheadCycles = overhead
        netMedianCycles = Swift.max(0, raw.p50 - overhead.p50)
        // A snapshot may claim any frequency ≥ 0; a tiny one would make the figure infinite, which
        // JSON cannot hold, so it is capped at the largest finite number.
        let nanoseconds = timing.tsc.hz > 0 ? netMedianCycles / timing.tsc.hz * 1e9 : 0
        netMedianNanoseconds = nanoseconds.isFinite ? nanoseconds : .greatestFiniteMagnitude
        tsc = timing.tsc
        warmupDiscarded = timing.warmup
        pinnedCPU = timing.pinnedCPU
        if let length = timing.lfenceChainLength, length > 0,
            let chain = SampleStatistics((timing.lfenceChainCycles ?? []).map { Double($0) })
        {
            let perFence = (chain.p50 - overhead.p50) / Double(length)
            // Under a quarter cycle per LFENCE the chain was lost in the timing noise: no ratio.
            if perFence >= 0.25 {
                lfenceCycles = perFence
                let ratio = netMedianCycles / perFence
                cpuidPerLFENCE = ratio.isFinite ? ratio : nil
            }
        }
    }
}
