// MannWhitney: the two-sided Mann–Whitney U test (Wilcoxon rank-sum) of two independent samples, by the
// normal approximation with the tie correction and the continuity correction — the same arithmetic as
// scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True), so
// its figures can be checked against SciPy to the last digits (Tests/ReportTests/Fixtures/compare).
//
// It makes no assumption about the shape of the latency distribution, only that the samples are
// independent; with hundreds of samples per side (a bench report keeps up to 4,096) the normal
// approximation is accurate and the exact distribution is not needed.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The result of a Mann–Whitney U test of `x` (the base) against `y` (the new sample).
public struct MannWhitneyResult: Codable, Sendable, Equatable {
    /// U of the first sample (SciPy's `statistic`): pairs with x > y, plus half the tied pairs.
    public var u: Double
    /// Two-sided p-value.
    public var p: Double
    /// P(y > x) + ½ P(y = x) over all pairs: the common-language effect size. Above ½ the new sample
    /// tends to be larger (slower); ½ is no effect.
    public var probabilityYGreater: Double

    /// The rank-biserial correlation, 2·P(y > x) − 1 + P(tie): from −1 (every y below every x) to +1.
    public var rankBiserial: Double { 2 * probabilityYGreater - 1 }
}

/// The Mann–Whitney U test.
public enum MannWhitney {
    /// Tests `x` against `y`; nil when either is empty.
    public static func test(_ x: [Double], _ y: [Double]) -> MannWhitneyResult? {
        let n1 = Double(x.count)
        let n2 = Double(y.count)
        guard !x.isEmpty, !y.isEmpty else { return nil }
        let (rankSumX, tieTerm) = rankSum(x, y)
        let u1 = rankSumX - n1 * (n1 + 1) / 2
        let u2 = n1 * n2 - u1
        let n = n1 + n2
        let mu = n1 * n2 / 2
        // Tie-corrected variance of U: n1·n2/12 · ((n + 1) − Σ(t³ − t) / (n(n − 1))).
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        let sigma = variance > 0 ? variance.squareRoot() : 0
        // Continuity correction: the larger U less ½. When every value is tied σ is 0 and U = μ, so z is
        // −∞ and p is 1, as in SciPy.
        let z = (Swift.max(u1, u2) - mu - 0.5) / sigma
        // Two-sided: 2·(1 − Φ(z)) = erfc(z/√2), clipped to 1.
        let p = Swift.min(1, Swift.max(0, erfc(z / 2.0.squareRoot())))
        return MannWhitneyResult(u: u1, p: p, probabilityYGreater: u2 / (n1 * n2))
    }

    /// The sum of the ranks of `x` in x ∪ y (1-based, ties given their average rank) and the tie term
    /// Σ(t³ − t) over the groups of t tied values, by merging the two sorted samples.
    static func rankSum(_ x: [Double], _ y: [Double]) -> (rankSumX: Double, tieTerm: Double) {
        let xs = x.sorted()
        let ys = y.sorted()
        var i = 0
        var j = 0
        var rankSumX = 0.0
        var tieTerm = 0.0
        while i < xs.count || j < ys.count {
            let value = j == ys.count || (i < xs.count && xs[i] <= ys[j]) ? xs[i] : ys[j]
            let firstRank = Double(i + j + 1)
            var fromX = 0
            while i < xs.count && xs[i] == value {
                fromX += 1
                i += 1
            }
            var fromY = 0
            while j < ys.count && ys[j] == value {
                fromY += 1
                j += 1
            }
            // The group holds ranks firstRank … firstRank + t − 1; their average is firstRank + (t − 1) / 2.
            let t = Double(fromX + fromY)
            rankSumX += (firstRank + (t - 1) / 2) * Double(fromX)
            tieTerm += t * t * t - t
        }
        return (rankSumX, tieTerm)
    }
}
