// The paired comparison: each iteration times a batch of round trips through the Swift layer, one through
// the minimal C loop and one through the C loop with the Swift layer's KVM signal mask, back to back (the
// order rotating), and records each and the ratios.
//
// On a cloud VM the cost of an exit drifts by tens of percent over seconds, with the load on the host below;
// two benchmarks that run one after the other then differ by that drift as much as by their code. Adjacent
// batches see the same conditions, so the ratio of each pair is the fair comparison, and its percentiles
// say how sure it is.

import Benchmark
import KVM

/// The metrics of the paired benchmark, recorded once per iteration.
enum PairedMetric {
    /// Mean nanoseconds per round trip through the Swift layer, in this iteration's batch.
    static var swift: BenchmarkMetric { perExit("Swift (ns / exit)") }

    /// Mean nanoseconds per round trip through the minimal C loop.
    static var c: BenchmarkMetric { perExit("C (ns / exit)") }

    /// Mean nanoseconds per round trip through the C loop with the Swift layer's KVM signal mask.
    static var cWithSignalMask: BenchmarkMetric { perExit("C + signal mask (ns / exit)") }

    /// Swift batch time over minimal C batch time, in per mille: 1000 is a tie, 1050 the Swift layer 5 %
    /// slower. The verdict.
    static var ratio: BenchmarkMetric { perExit("Swift / C (‰)") }

    /// Swift batch time over the signal-mask C batch time: the part of the difference that is Swift's own,
    /// with the kernel's cost of the signal mask taken out.
    static var ratioWithSignalMask: BenchmarkMetric { perExit("Swift / C + signal mask (‰)") }

    private static func perExit(_ name: String) -> BenchmarkMetric {
        .custom(name, polarity: .prefersSmaller, useScalingFactor: false)
    }
}

/// The three hosts, each with its own VM running the same guest, measured in rotation.
final class PairedHosts {
    /// Swift, minimal C, C with signal mask: each side's round trip, bound to its host.
    private let sides: [() throws -> Void]

    /// Round trips per side in one iteration: about 1.5 ms each at 7 µs an exit, short against the drift.
    static let exitsPerSide = 200

    /// Which side the next iteration times first; it rotates so that no side always follows the same one.
    private var first = 0

    init() throws {
        let swift = try SwiftKVMHost()
        let c = try CReferenceHost()
        let cWithSignalMask = try CReferenceHost(signalMask: true)
        sides = [swift.roundTrip, c.roundTrip, cWithSignalMask.roundTrip]
    }

    /// Times one batch on each side and records them and the ratios.
    func measure(_ benchmark: Benchmark) throws {
        var nanoseconds = [0, 0, 0]
        for step in 0..<sides.count {
            let side = (first + step) % sides.count
            nanoseconds[side] = try Self.time(sides[side])
        }
        first = (first + 1) % sides.count
        let (swift, c, cWithSignalMask) = (nanoseconds[0], nanoseconds[1], nanoseconds[2])
        benchmark.measurement(PairedMetric.swift, swift / Self.exitsPerSide)
        benchmark.measurement(PairedMetric.c, c / Self.exitsPerSide)
        benchmark.measurement(PairedMetric.cWithSignalMask, cWithSignalMask / Self.exitsPerSide)
        benchmark.measurement(PairedMetric.ratio, swift * 1000 / max(1, c))
        benchmark.measurement(PairedMetric.ratioWithSignalMask, swift * 1000 / max(1, cWithSignalMask))
    }

    /// Nanoseconds for `exitsPerSide` calls of `roundTrip`.
    private static func time(_ roundTrip: () throws -> Void) throws -> Int {
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<exitsPerSide { try roundTrip() }
        let (seconds, attoseconds) = start.duration(to: clock.now).components
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }
}
