// Statistics: order statistics and spread of timing samples, computed the way a reviewer can check.
//
// Percentiles use the nearest-rank method on the sorted samples; the confidence interval of the median
// is distribution-free (ranks n/2 ∓ z·√n/2 of the order statistics, the normal approximation of the
// binomial), so it needs no assumption about the latency distribution, which is rarely normal.

/// Summary statistics of a sample set.
public struct SampleStatistics: Codable, Sendable, Equatable {
    public var count: Int
    public var min: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double
    public var mean: Double
    /// Sample standard deviation (n − 1).
    public var stddev: Double
    /// Median absolute deviation (unscaled).
    public var mad: Double
    /// 95 % confidence interval of the median, distribution-free.
    public var medianCI95: [Double]

    /// Statistics of `samples`; nil when there are none.
    public init?(_ samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let n = sorted.count
        count = n
        min = sorted[0]
        max = sorted[n - 1]
        let middle = Self.median(sorted)
        p50 = middle
        p90 = Self.percentile(sorted, 90)
        p99 = Self.percentile(sorted, 99)
        mean = sorted.reduce(0, +) / Double(n)
        let m = mean
        stddev = n > 1 ? (sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot() : 0
        mad = Self.median(sorted.map { abs($0 - middle) }.sorted())
        medianCI95 = Self.medianInterval(sorted, z: 1.959964)
    }

    /// The median of sorted values (mean of the middle two for an even count, without overflow).
    public static func median(_ sorted: [Double]) -> Double {
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : CheckedNumber.midpoint(sorted[n / 2 - 1], sorted[n / 2])
    }

    /// Nearest-rank percentile: the smallest value with at least p % of the samples at or below it.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }

    /// Order-statistic interval for the median: ranks ⌊n/2 − z√n/2⌋ and ⌈n/2 + z√n/2⌉ + 1 (1-based,
    /// clamped to 1…n).
    public static func medianInterval(_ sorted: [Double], z: Double) -> [Double] {
        let n = Double(sorted.count)
        let half = z * n.squareRoot() / 2
        let lower = Swift.max(1, Int((n / 2 - half).rounded(.down)))
        let upper = Swift.min(sorted.count, Int((n / 2 + half).rounded(.up)) + 1)
        return [sorted[lower - 1], sorted[upper - 1]]
    }
}
