// HostTimer: times this process's own CPUID, and finds the TSC frequency and its source.
//
// At level k ≥ 1, CPUID always causes a VM exit under VT-x (SDM vol. 3C §26.1.2) and is intercepted
// by every KVM configuration under AMD-V, so its cost here is the cost of one exit from level k to
// level k−1: the calibrated timing signal of the level estimate.

import CKVM
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Samples the host-level CPUID cost.
public struct HostTimer: Sendable {
    /// Iterations thrown away before sampling (caches, branch predictors, the exit path itself).
    public var warmup = 200
    /// Samples kept at most.
    public var maxSamples = 4000
    /// Overhead samples (fenced TSC pair with nothing between).
    public var overheadSamples = 1000
    /// Second-clock samples: chains of LFENCEs on the same counter (a few hundred cycles each, well under 1 ms).
    public var lfenceChainSamples = 1000
    /// Wall-clock budget for the sampling loop, nanoseconds; a machine where CPUID is very slow
    /// (software emulation, gVisor) gets fewer samples instead of a long wait.
    public var budgetNanoseconds: UInt64 = 40_000_000

    public init() {}

    /// Pins the thread to the CPU it runs on, times CPUID leaf 0, and unpins.
    public func measure(tsc: TSCFrequency) -> HostTiming {
        let pinned = CPUAffinity.pinToCurrentCPU()
        defer { if let pinned { CPUAffinity.restore(pinned) } }
        for _ in 0..<warmup { _ = ckvm_time_cpuid(0, 0) }
        var samples: [UInt64] = []
        samples.reserveCapacity(maxSamples)
        let start = Self.monotonicNanoseconds()
        while samples.count < maxSamples {
            for _ in 0..<32 { samples.append(ckvm_time_cpuid(0, 0)) }
            if Self.monotonicNanoseconds() - start > budgetNanoseconds { break }
        }
        var overhead: [UInt64] = []
        overhead.reserveCapacity(overheadSamples)
        for _ in 0..<overheadSamples { overhead.append(ckvm_time_empty()) }
        var chain: [UInt64] = []
        chain.reserveCapacity(lfenceChainSamples)
        for _ in 0..<lfenceChainSamples { chain.append(ckvm_time_lfence_chain()) }
        return HostTiming(
            leaf: 0, subleaf: 0, warmup: warmup, samplesCycles: samples, overheadCycles: overhead,
            pinnedCPU: pinned?.cpu, tsc: tsc, lfenceChainLength: Int(CKVM_LFENCE_CHAIN), lfenceChainCycles: chain)
    }

    /// Sleeps the calling thread for `duration`, the rest of it again after a signal.
    public static func sleep(_ duration: Duration) {
        SystemDoor.sleep(duration)
    }

    /// CLOCK_MONOTONIC_RAW in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        SystemDoor.monotonicNanoseconds()
    }
}

/// Finds the TSC frequency: CPUID 0x15, the hypervisor timing leaf, the kernel log, or calibration.
public enum TSCFrequencyFinder {
    /// The first source that answers, in the order of trust.
    public static func find(
        cpuid: CPUIDTable, kernelLog: [String]?, calibrate: () -> TSCFrequency = calibrateAgainstClock
    ) -> TSCFrequency {
        if let fromLeaf = fromCPUID15(cpuid) { return fromLeaf }
        if let fromHypervisor = fromHypervisorLeaf(cpuid) { return fromHypervisor }
        if let lines = kernelLog, let fromKernel = fromKernelLog(lines) { return fromKernel }
        return calibrate()
    }

    /// CPUID 0x15: TSC = crystal Hz × EBX / EAX, when all three are given (Intel SDM vol. 3B §19.7.3).
    public static func fromCPUID15(_ cpuid: CPUIDTable) -> TSCFrequency? {
        guard let max = cpuid[0]?.eax, max >= 0x15, let leaf = cpuid[0x15] else { return nil }
        guard leaf.eax != 0, leaf.ebx != 0, leaf.ecx != 0 else { return nil }
        let hz = Double(leaf.ecx) * Double(leaf.ebx) / Double(leaf.eax)
        return TSCFrequency(
            hz: hz, source: .cpuid15,
            detail: "crystal \(leaf.ecx) Hz × \(leaf.ebx)/\(leaf.eax) from CPUID 0x15")
    }

    /// CPUID 0x4000_0010 EAX, TSC frequency in kHz, offered by VMware and by KVM with the timing leaf.
    public static func fromHypervisorLeaf(_ cpuid: CPUIDTable) -> TSCFrequency? {
        guard let head = cpuid[0x4000_0000], head.eax >= 0x4000_0010, head.eax < 0x4000_0100,
            let leaf = cpuid[0x4000_0010], leaf.eax > 0
        else { return nil }
        return TSCFrequency(
            hz: Double(leaf.eax) * 1000, source: .hypervisorLeaf,
            detail: "\(leaf.eax) kHz from hypervisor CPUID leaf 0x40000010 EAX")
    }

    /// "tsc: Refined TSC clocksource calibration: N MHz" (preferred) or "tsc: Detected N MHz processor".
    public static func fromKernelLog(_ lines: [String]) -> TSCFrequency? {
        func mhz(after marker: String) -> (Double, String)? {
            for line in lines.reversed() {
                guard let range = line.firstRange(of: marker) else { continue }
                let rest = line[range.upperBound...].trimmed
                let number = rest.prefix { $0.isNumber || $0 == "." }
                if let value = Double(number), value > 0 { return (value, line) }
            }
            return nil
        }
        if let (value, line) = mhz(after: "Refined TSC clocksource calibration:") {
            return TSCFrequency(hz: value * 1e6, source: .kernel, detail: "kernel log: \(line)")
        }
        if let (value, line) = mhz(after: "tsc: Detected") {
            return TSCFrequency(hz: value * 1e6, source: .kernel, detail: "kernel log: \(line)")
        }
        return nil
    }

    /// Counts TSC ticks over 20 ms of CLOCK_MONOTONIC_RAW, best of three.
    public static func calibrateAgainstClock() -> TSCFrequency {
        var estimates: [Double] = []
        for _ in 0..<3 {
            let t0 = HostTimer.monotonicNanoseconds()
            let c0 = ckvm_tsc_begin()
            var t1 = t0
            while t1 - t0 < 20_000_000 { t1 = HostTimer.monotonicNanoseconds() }
            let c1 = ckvm_tsc_end()
            estimates.append(Double(c1 - c0) / (Double(t1 - t0) / 1e9))
        }
        estimates.sort()
        let hz = estimates[1]
        let spread = (estimates[2] - estimates[0]) / hz * 100
        return TSCFrequency(
            hz: hz, source: .calibration,
            detail: "calibrated against CLOCK_MONOTONIC_RAW, 3 × 20 ms, median, spread "
                + "\(String(format3: spread)) %")
    }
}
