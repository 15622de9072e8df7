// DetectableChange: the smallest change a row's runs could have caught, so a user sees what the gate can
// and cannot catch on this machine, and the verdict of one judged row.
//
// The minimum detectable effect, at power 1 − β = 80 % and two-sided level α′, for nb and nn runs whose
// logarithms spread with standard deviation σ between runs:
//
//     MDE % = (exp((z(1 − α′/2) + z(0.8)) · σ · √(1/nb + 1/nn) · √(π/3)) − 1) · 100
//
// the normal-theory sample-size formula for a shift of log figures (a ratio), widened by √(π/3): the
// Mann–Whitney test's asymptotic relative efficiency against the t-test under normality is 3/π, so it
// needs π/3 times the runs, or √(π/3) times the shift for the same runs. σ is the robust pooled spread of
// RunStatistics.pooledLogSpread. When even the most extreme data cannot give p ≤ α′ with so few runs
// (ExactMannWhitney.smallestP), no change is detectable at all.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// What one row's runs could detect.
public enum Detectability: Sendable, Equatable {
    /// The smallest change, in percent, detected with 80 % power.
    case percent(Double)
    /// Too few runs: no data could reach the level, so no change is detectable.
    case none
    /// The spread could not be told (fewer than three runs, a figure not positive, or every run on the same
    /// value, as a quantized timer gives).
    case unknown
}

/// The minimum detectable effect.
public enum DetectableChange {
    /// The power the detectable change is quoted at.
    public static let power = 0.8

    /// The detectable change for `baseRuns` and `newRuns` runs with between-run log spread `spread` (nil
    /// when unknown), at two-sided level `level`.
    public static func of(spread: Double?, baseRuns: Int, newRuns: Int, level: Double) -> Detectability {
        guard reachable(baseRuns: baseRuns, newRuns: newRuns, level: level) else { return .none }
        // A spread of exactly 0 is a quantized figure (every run on the same TSC step), not a perfect one:
        // the smallest change it shows is one step, which the spread cannot tell, so it is unknown.
        guard let spread, spread.isFinite, spread > 0 else { return .unknown }
        let z = NormalQuantile.z(1 - level / 2) + NormalQuantile.z(power)
        let scale = (1 / Double(baseRuns) + 1 / Double(newRuns)).squareRoot() * (Double.pi / 3).squareRoot()
        let percent = (exp(z * spread * scale) - 1) * 100
        return percent.isFinite ? .percent(percent) : .unknown
    }

    /// Whether any data with so many runs can reach a two-sided p ≤ `level` by the exact test.
    public static func reachable(baseRuns: Int, newRuns: Int, level: Double) -> Bool {
        ExactMannWhitney.smallestP(n: baseRuns, m: newRuns) <= level
    }
}

/// The verdict of one judged row.
public enum RunVerdict: String, Codable, Sendable {
    /// Significantly slower, past the threshold, the interval wholly above no change.
    case regressed
    /// Significantly faster, past the threshold, the interval wholly below no change.
    case improved
    /// The data cannot tell: too few runs, or a change past the threshold that is not established.
    case inconclusive
    /// Within the threshold.
    case same
}

/// Why a judged row has its verdict.
public enum RunVerdictReason: String, Codable, Sendable {
    /// Holm-adjusted p below alpha, change past the threshold, interval excludes no change.
    case significant
    /// |change| within the threshold.
    case belowThreshold = "below-threshold"
    /// Past the threshold, but the Holm-adjusted p is not below alpha.
    case notSignificant = "not-significant"
    /// Significant and past the threshold, but the interval of the change includes 0 %.
    case intervalIncludesZero = "interval-includes-zero"
    /// So few runs that no data could reach the adjusted alpha.
    case tooFewRuns = "too-few-runs"
    /// The base figure is not positive, so a relative change means nothing.
    case noBaseFigure = "no-base-figure"
}

extension RunVerdict {
    /// The verdict for a row: `change` and `interval` in percent (nil when undefined), `adjustedP` the
    /// Holm-adjusted p, `reachable` whether the runs could reach the adjusted level at all. The
    /// questions are asked in this order, so the reason names the first that decides.
    public static func judge(
        change: Double?, interval: [Double]?, adjustedP: Double, alpha: Double, threshold: Double,
        reachable: Bool
    ) -> (RunVerdict, RunVerdictReason) {
        guard reachable else { return (.inconclusive, .tooFewRuns) }
        guard let change, change.isFinite else { return (.inconclusive, .noBaseFigure) }
        guard abs(change) > threshold else { return (.same, .belowThreshold) }
        guard adjustedP < alpha else { return (.inconclusive, .notSignificant) }
        guard let interval, interval.count == 2, interval.allSatisfy(\.isFinite) else {
            return (.inconclusive, .intervalIncludesZero)
        }
        if change > 0 {
            return interval[0] > 0 ? (.regressed, .significant) : (.inconclusive, .intervalIncludesZero)
        }
        return interval[1] < 0 ? (.improved, .significant) : (.inconclusive, .intervalIncludesZero)
    }
}
