// Statistics: the probe's pure hot paths, which need no KVM: summary statistics of a timing run, and the
// snapshot and diagnosis JSON codecs on a real capture (the PVM host fixture of the Probe tests).

import Benchmark
import Foundation
import Probe

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 10,
        maxDuration: .seconds(2),
        maxIterations: 100_000,
        thresholds: [.wallClock: BenchmarkThresholds(relative: [.p50: 10, .p90: 20])]
    )

    Benchmark("statistics/sample-statistics-10k", configuration: configuration) { _, samples in
        blackHole(SampleStatistics(samples))
    } setup: {
        Fixture.latencySamples(count: 10_000)
    }

    Benchmark("codec/snapshot-decode", configuration: configuration) { _, bytes in
        blackHole(try SnapshotFile.parse(bytes, name: Fixture.snapshotName))
    } setup: {
        try Fixture.snapshotBytes()
    }

    Benchmark("codec/snapshot-encode", configuration: configuration) { _, snapshot in
        blackHole(try DocumentFile.encodeJSON(snapshot))
    } setup: {
        try Fixture.snapshot()
    }

    Benchmark("analysis/diagnose", configuration: configuration) { _, snapshot in
        blackHole(Analyzer.diagnose(snapshot))
    } setup: {
        try Fixture.snapshot()
    }

    Benchmark("codec/diagnosis-encode", configuration: configuration) { _, diagnosis in
        blackHole(try DocumentFile.encodeJSON(diagnosis))
    } setup: {
        Analyzer.diagnose(try Fixture.snapshot())
    }
}

/// The inputs: made once per benchmark, in its setup.
enum Fixture {
    /// The Probe tests' capture of a kvm_pvm host on an AMD Genoa cloud VM, read where it lives in the
    /// root package rather than copied, so the benchmark follows the snapshot schema.
    static let snapshotPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Statistics
        .deletingLastPathComponent()  // Benchmarks (targets)
        .deletingLastPathComponent()  // Benchmarks (package)
        .deletingLastPathComponent()  // root package
        .appendingPathComponent("Tests/ProbeTests/Fixtures/snapshots/pvm-host-genoa.json").path

    static let snapshotName = "pvm-host-genoa.json"

    static func snapshotBytes() throws -> [UInt8] {
        try DocumentFile.readInput(snapshotPath)
    }

    static func snapshot() throws -> Snapshot {
        try SnapshotFile.parse(try snapshotBytes(), name: snapshotName)
    }

    /// `count` exit latencies in cycles, shaped like real ones: a floor near 1200, a long right tail, a few
    /// outliers. Deterministic (a fixed-seed LCG), so every run sorts the same data.
    static func latencySamples(count: Int) -> [Double] {
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        return (0..<count).map { index in
            let tail = -300 * Foundation.log(1 - uniform())  // exponential, mean 300
            let outlier = index % 997 == 0 ? 20_000 * uniform() : 0
            return 1200 + tail + outlier
        }
    }
}
