// Runs as the unit of replication. A bench is N independent runs; in each, every case runs once in a fresh
// guest, in an order shuffled per run from a recorded seed, with its timing baseline (the rdtsc loop of the
// same mode and privilege) timed in the same guest just before it. Per run and case the report keeps the
// run's median, its baseline's median and the net per exit; the case's net figure is the median of the run
// nets, with an interval from the runs widened by the within-run intervals of case and baseline, and says
// "below resolution" where that interval does not keep the net away from zero.

import Probe

extension NetFigure {
    /// The net figure of `runs`' nets (cycles per exit), each run with its own within-run interval of the net
    /// (`runIntervals`, same order; empty when unknown). Nil without any run net.
    public static func of(nets: [Double], runIntervals: [[Double]] = []) -> NetFigure? {
        let sorted = nets.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let point = SampleStatistics.median(sorted)
        let (rank, coverage) = medianRank(count: sorted.count)
        var low = sorted[rank - 1]
        var high = sorted[sorted.count - rank]
        var method =
            "order-statistic interval of the median over \(sorted.count) run nets (ranks \(rank) and "
            + "\(sorted.count + 1 - rank), coverage \(String(format3: coverage * 100)) %)"
        let lows = runIntervals.compactMap { $0.count == 2 ? $0[0] : nil }.filter(\.isFinite).sorted()
        let highs = runIntervals.compactMap { $0.count == 2 ? $0[1] : nil }.filter(\.isFinite).sorted()
        if !lows.isEmpty, !highs.isEmpty {
            low = Swift.min(low, SampleStatistics.median(lows))
            high = Swift.max(high, SampleStatistics.median(highs))
            method += ", widened to the median run's within-run interval of case minus baseline"
        }
        let belowResolution = low <= 0 || point < (high - low) / 2
        return NetFigure(
            medianCycles: point, ci95Cycles: [low, high], belowResolution: belowResolution, method: method)
    }

    /// The 1-based rank k whose order statistics x(k) and x(n+1−k) bound the median with at least 95 %
    /// coverage, largest such k; (1, its coverage) when no k reaches 95 % (n ≤ 5), and the coverage.
    static func medianRank(count n: Int) -> (rank: Int, coverage: Double) {
        // P(B ≤ j) for B ~ Binomial(n, 1/2), by the recurrence C(n, j+1) = C(n, j)·(n − j)/(j + 1).
        var term = 1.0
        for _ in 0..<n { term /= 2 }
        var cumulative: [Double] = []
        var sum = 0.0
        for j in 0...n {
            sum += term
            cumulative.append(sum)
            term = term * Double(n - j) / Double(j + 1)
        }
        var best = 1
        var k = 1
        while k <= (n + 1) / 2 {
            // The interval [x(k), x(n+1−k)] misses the median with probability 2·P(B ≤ k − 1).
            if 1 - 2 * cumulative[k - 1] >= 0.95 { best = k } else { break }
            k += 1
        }
        return (best, Swift.max(0, 1 - 2 * cumulative[best - 1]))
    }
}

/// The run order: a seeded shuffle that is the same for the same seed on every machine and Swift version.
public struct RunOrder: Sendable {
    /// The seed, as recorded in the report.
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// `items` in run `run`'s order (Fisher–Yates with SplitMix64 seeded from the seed and the run).
    public func order<T>(_ items: [T], run: Int) -> [T] {
        var generator = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: run) &* 0x9E37_79B9_7F4A_7C15))
        var result = items
        var index = result.count - 1
        while index > 0 {
            let pick = Int(generator.next(below: UInt64(index + 1)))
            result.swapAt(index, pick)
            index -= 1
        }
        return result
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): small, fast, and fully specified, so a seed means one order.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound (bound > 0) by the high half of a 128-bit product (Lemire's method, without
    /// its rejection step: the bias is below 2^-50 for the bounds a case list has).
    mutating func next(below bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }
}
