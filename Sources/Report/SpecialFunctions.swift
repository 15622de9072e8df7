// SpecialFunctions: the few special functions the replicate test needs — digamma and its first two
// derivatives, the inverse of trigamma (for the empirical-Bayes prior of the row variances), and Student's
// t distribution (two-sided p and quantile) through the regularized incomplete beta function.
//
// Written here from the textbook series: the recurrences ψ(x) = ψ(x+1) − 1/x, ψ′(x) = ψ′(x+1) + 1/x²,
// ψ″(x) = ψ″(x+1) − 2/x³ until x ≥ 8, then the asymptotic (Stirling-type) expansions; the incomplete beta
// by its continued fraction, evaluated with the modified Lentz method. scripts/check-oracles.py checks
// every function against scipy.special and scipy.stats.t on a grid.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Digamma and its derivatives.
public enum Polygamma {
    /// ψ(x), the digamma function, for x > 0; NaN otherwise.
    public static func digamma(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == .infinity ? .infinity : .nan }
        var x = x
        var shift = 0.0
        while x < 8 {
            shift -= 1 / x
            x += 1
        }
        let inverse2 = 1 / (x * x)
        let series =
            inverse2
            * (1.0 / 12 - inverse2 * (1.0 / 120 - inverse2 * (1.0 / 252 - inverse2 * (1.0 / 240 - inverse2 / 132))))
        return shift + log(x) - 0.5 / x - series
    }

    /// ψ′(x), the trigamma function, for x > 0; NaN otherwise.
    public static func trigamma(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == .infinity ? 0 : .nan }
        var x = x
        var shift = 0.0
        while x < 8 {
            shift += 1 / (x * x)
            x += 1
        }
        let inverse = 1 / x
        let inverse2 = inverse * inverse
        let series = inverse2 * inverse * (1.0 / 6 - inverse2 * (1.0 / 30 - inverse2 * (1.0 / 42 - inverse2 / 30)))
        return shift + inverse + inverse2 / 2 + series
    }

    /// ψ″(x), the tetragamma function, for x > 0; NaN otherwise.
    public static func tetragamma(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x == .infinity ? 0 : .nan }
        var x = x
        var shift = 0.0
        while x < 8 {
            shift -= 2 / (x * x * x)
            x += 1
        }
        let inverse = 1 / x
        let inverse2 = inverse * inverse
        let series = inverse2 * inverse2 * (0.5 - inverse2 * (1.0 / 6 - inverse2 * (1.0 / 6 - inverse2 * 3 / 10)))
        return shift - inverse2 - inverse2 * inverse - series
    }

    /// The x > 0 with ψ′(x) = y, for y > 0: Newton's method on 1/ψ′, which is nearly linear (the scheme of
    /// Smyth's limma). NaN for y ≤ 0 or not finite.
    public static func trigammaInverse(_ y: Double) -> Double {
        guard y > 0, y.isFinite else { return .nan }
        if y > 1e7 { return 1 / y.squareRoot() }
        if y < 1e-6 { return 1 / y }
        var x = 0.5 + 1 / y
        for _ in 0..<100 {
            let tri = trigamma(x)
            let step = tri * (1 - tri / y) / tetragamma(x)
            x += step
            if -step / x < 1e-8 { break }
        }
        return x
    }
}

/// Student's t distribution.
public enum StudentT {
    /// P(|T| ≥ |t|) with `degrees` of freedom (> 0; infinity is the normal distribution). NaN when undefined.
    public static func twoSidedP(_ t: Double, degrees: Double) -> Double {
        guard !t.isNaN, degrees > 0 else { return .nan }
        if t.isInfinite { return 0 }
        if degrees.isInfinite || degrees > 1e7 { return erfc(abs(t) / 2.squareRoot()) }
        let x = degrees / (degrees + t * t)
        return min(1, max(0, IncompleteBeta.regularized(x, a: degrees / 2, b: 0.5)))
    }

    /// The t with P(|T| ≥ t) = `p` (0 < p ≤ 1), by bisection on the two-sided p; NaN when undefined.
    public static func twoSidedQuantile(_ p: Double, degrees: Double) -> Double {
        guard p > 0, p <= 1, degrees > 0 else { return .nan }
        if p == 1 { return 0 }
        var (low, high) = (0.0, 1.0)
        while twoSidedP(high, degrees: degrees) > p {
            low = high
            high *= 2
            if high > 1e12 { return .infinity }
        }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if twoSidedP(middle, degrees: degrees) > p { low = middle } else { high = middle }
            if high - low <= 1e-12 * max(1, high) { break }
        }
        return (low + high) / 2
    }
}

/// The regularized incomplete beta function I_x(a, b).
public enum IncompleteBeta {
    /// I_x(a, b) for 0 ≤ x ≤ 1, a, b > 0; NaN otherwise.
    public static func regularized(_ x: Double, a: Double, b: Double) -> Double {
        guard x >= 0, x <= 1, a > 0, b > 0 else { return .nan }
        if x == 0 || x == 1 { return x }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * continuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(logFront) * continuedFraction(1 - x, a: b, b: a) / b
    }

    /// The continued fraction of I_x(a, b), by the modified Lentz method.
    static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...1000 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            result *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return result
    }
}
