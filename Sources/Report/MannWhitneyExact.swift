// MannWhitneyExact: the two-sided Mann–Whitney U test on few values (run figures: 5 to 50 a side), by the
// exact null distribution of U, as scipy.stats.mannwhitneyu(x, y, method="exact"): p = 2 · P(U ≥ max(U₁,
// U₂)), clipped to 1. With ties, or with a side above `maximumExactSize`, it falls back to the normal
// approximation with tie and continuity correction (MannWhitney.test), as SciPy's "auto" falls back.
//
// The distribution: under the null hypothesis every arrangement of the n + m values into the two sides
// is equally likely, and the number of arrangements with U = u is the coefficient of qᵘ in the Gaussian
// binomial [n+m choose n]_q, built by its Pascal rule [N, k] = [N−1, k−1] + qᵏ·[N−1, k]. Only additions
// of positive counts, so the tails (the small p that matter) keep full relative precision in Double,
// which holds C(100, 50) ≈ 1e29 easily. U is symmetric about nm/2, so only the lower half is built.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Which null distribution a Mann–Whitney p came from.
public enum MannWhitneyMethod: String, Codable, Sendable {
    /// The exact distribution of U (no ties, both sides small).
    case exact
    /// The normal approximation with tie and continuity correction.
    case asymptotic
}

/// The exact null distribution of U for sides of n and m values without ties.
public struct ExactMannWhitney: Sendable {
    /// Larger sides use the normal approximation, which is then accurate, and the table would be large.
    public static let maximumExactSize = 50

    public let n: Int
    public let m: Int
    /// P(U ≤ u) for u = 0 … ⌊nm/2⌋.
    private let cumulative: [Double]

    /// The distribution for sides of `n` and `m` values; nil when either is below 1 or above
    /// `maximumExactSize`.
    public init?(n: Int, m: Int) {
        guard n >= 1, m >= 1, n <= Self.maximumExactSize, m <= Self.maximumExactSize else { return nil }
        self.n = n
        self.m = m
        let half = n * m / 2
        let counts = Self.lowerHalfCounts(n: n, m: m, upTo: half)
        let total = exp(Self.logChoose(n + m, n))
        var running = 0.0
        cumulative = counts.map { count in
            running += count
            return Swift.min(1, running / total)
        }
    }

    /// The two-sided p for U₁ (U of the first side): 2 · P(U ≤ nm − max(U₁, U₂)), at most 1.
    public func pValue(u1: Double) -> Double {
        let product = Double(n * m)
        let larger = Swift.max(u1, product - u1)
        let index = Int((product - larger).rounded(.down))
        guard index >= 0 else { return 0 }
        return Swift.min(1, 2 * cumulative[Swift.min(index, cumulative.count - 1)])
    }

    /// Counts of arrangements with U = 0 … `limit`, from the Pascal rule of the Gaussian binomial.
    private static func lowerHalfCounts(n: Int, m: Int, upTo limit: Int) -> [Double] {
        // rows[k] holds the coefficients of [N, k]_q up to degree min(k(N − k), limit); empty when k is
        // outside the band that can still reach [n + m, n].
        var rows: [[Double]] = Array(repeating: [], count: n + 1)
        rows[0] = [1]
        for total in 1...(n + m) {
            var next: [[Double]] = Array(repeating: [], count: n + 1)
            for k in Swift.max(0, total - m)...Swift.min(total, n) {
                let degree = Swift.min(k * (total - k), limit)
                var poly = [Double](repeating: 0, count: degree + 1)
                if k >= 1 {
                    for (i, c) in rows[k - 1].enumerated() where i <= degree { poly[i] += c }
                }
                if k <= total - 1 {
                    for (i, c) in rows[k].enumerated() where i + k <= degree { poly[i + k] += c }
                }
                next[k] = poly
            }
            rows = next
        }
        return rows[n]
    }

    /// log C(a, b), by the log-gamma function.
    static func logChoose(_ a: Int, _ b: Int) -> Double {
        lgamma(Double(a + 1)) - lgamma(Double(b + 1)) - lgamma(Double(a - b + 1))
    }

    /// The smallest two-sided p any data without ties can give with sides of n and m values: both sides
    /// fully separated, 2 / C(n + m, n), at most 1. Also the floor for data with ties, whose approximate p
    /// is not to be believed below it.
    public static func smallestP(n: Int, m: Int) -> Double {
        guard n >= 1, m >= 1 else { return 1 }
        return Swift.min(1, exp(log(2) - logChoose(n + m, n)))
    }
}

/// The Mann–Whitney test on run figures: exact where it applies, else the normal approximation.
public struct RunMannWhitney {
    private var tables: [[Int]: ExactMannWhitney] = [:]

    public init() {}

    /// Tests `x` (the base's run figures) against `y` (the new's); nil when either is empty. Keeps each
    /// exact table it builds for later rows with the same sizes.
    public mutating func test(_ x: [Double], _ y: [Double]) -> (result: MannWhitneyResult, method: MannWhitneyMethod)? {
        guard let approximate = MannWhitney.test(x, y) else { return nil }
        guard !RunStatistics.hasTies(x, y), let table = table(x.count, y.count) else {
            return (approximate, .asymptotic)
        }
        var exact = approximate
        exact.p = table.pValue(u1: approximate.u)
        return (exact, .exact)
    }

    private mutating func table(_ n: Int, _ m: Int) -> ExactMannWhitney? {
        if let known = tables[[n, m]] { return known }
        let made = ExactMannWhitney(n: n, m: m)
        tables[[n, m]] = made
        return made
    }
}
