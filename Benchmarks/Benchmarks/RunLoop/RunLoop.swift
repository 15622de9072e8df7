// RunLoop: what nestprobe's KVM layer adds to a user-space port I/O round trip, against a minimal C VMM that
// runs the same guest in the same process, in the same benchmark run.
//
// - pio-roundtrip-paired/swift-vs-c: the verdict. Each iteration times 200 round trips on each side back
//   to back and records their ratio, which cancels the drift of exit costs on a shared host; a third side,
//   the C loop with the KVM signal mask the Swift layer sets, tells the kernel's share of the difference
//   from Swift's (see PairedRoundTrips.swift).
// - pio-roundtrip/*: one round trip per iteration, so the percentiles are those of single exits; the
//   framework's per-iteration cost (two clock reads) is in both.
// - pio-roundtrip-x1000/*: 1000 round trips per iteration (results scaled to one), which takes that cost
//   out, a thread CPU time metric that tells preemption apart from work, and allocations per exit.
//
// The two sides run in separate benchmarks too, for package-benchmark's own percentiles and baselines:
// their difference is only meaningful where exit costs are steady over the run.
//
// Without a usable /dev/kvm nothing is registered, and the reason is printed to standard error.

import Benchmark
import Foundation
import Glibc
import KVM

let benchmarks: @Sendable () -> Void = {
    if let reason = PIOGuest.unavailableReason() {
        FileHandle.standardError.write(
            Data("RunLoop: skipped pio-roundtrip* (the KVM run-loop benchmarks): \(reason)\n".utf8))
        return
    }

    let paired = Benchmark.Configuration(
        metrics: [
            PairedMetric.ratio, PairedMetric.ratioWithSignalMask, PairedMetric.swift, PairedMetric.c,
            PairedMetric.cWithSignalMask,
        ],
        warmupIterations: 20,
        maxDuration: .seconds(4),
        maxIterations: 10_000,
        thresholds: [PairedMetric.ratio: BenchmarkThresholds(relative: [.p50: 3, .p90: 10])]
    )
    Benchmark("pio-roundtrip-paired/swift-vs-c", configuration: paired) { benchmark, hosts in
        try hosts.measure(benchmark)
    } setup: {
        try PairedHosts()
    }

    let single = Benchmark.Configuration(
        metrics: [.wallClock, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 10_000,
        maxDuration: .seconds(3),
        maxIterations: 2_000_000,
        thresholds: [.wallClock: BenchmarkThresholds(relative: [.p50: 5, .p90: 10])]
    )
    Benchmark("pio-roundtrip/swift-kvm-layer", configuration: single) { _, host in
        try host.roundTrip()
    } setup: {
        try SwiftKVMHost()
    }
    Benchmark("pio-roundtrip/c-minimal", configuration: single) { _, host in
        try host.roundTrip()
    } setup: {
        try CReferenceHost()
    }

    let batch = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, RunLoopMetric.threadCPU, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 10_000,
        thresholds: [.wallClock: BenchmarkThresholds(relative: [.p50: 5, .p90: 10])]
    )
    Benchmark("pio-roundtrip-x1000/swift-kvm-layer", configuration: batch) { benchmark, host in
        try measuringThreadCPU(benchmark) {
            for _ in benchmark.scaledIterations { try host.roundTrip() }
        }
    } setup: {
        try SwiftKVMHost()
    }
    Benchmark("pio-roundtrip-x1000/c-minimal", configuration: batch) { benchmark, host in
        try measuringThreadCPU(benchmark) {
            for _ in benchmark.scaledIterations { try host.roundTrip() }
        }
    } setup: {
        try CReferenceHost()
    }
}

/// The run loop's own metric.
enum RunLoopMetric {
    /// CPU time of the benchmark thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds. package-benchmark's
    /// cpuTotal comes from /proc/self/stat in scheduler ticks (10 ms), far coarser than a batch of exits.
    static var threadCPU: BenchmarkMetric {
        .custom("Thread CPU (ns)", polarity: .prefersSmaller, useScalingFactor: true)
    }
}

/// Runs `body` and records the thread CPU time it took as `RunLoopMetric.threadCPU`.
func measuringThreadCPU(_ benchmark: Benchmark, _ body: () throws -> Void) throws {
    let start = threadCPUNanoseconds()
    try body()
    benchmark.measurement(RunLoopMetric.threadCPU, threadCPUNanoseconds() - start)
}

/// The calling thread's CPU time, in nanoseconds.
func threadCPUNanoseconds() -> Int {
    var time = timespec()
    // SAFETY: clock_gettime writes one timespec into the local for the duration of the call.
    _ = unsafe clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}
