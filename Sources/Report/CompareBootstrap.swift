// CompareBootstrap: a percentile-bootstrap confidence interval of the ratio of two medians, reproducible:
// a fixed seed, our own generator (xoshiro256**, seeded through SplitMix64) rather than the system's, and
// a seed per row derived from the row's id, so a row's interval does not depend on which other rows were
// compared or in what order.
//
// Each resample stands for n draws with replacement from each sample, independently, and yields the
// ratio of their medians; the interval is the 2.5th and 97.5th percentiles of those ratios, interpolated
// linearly between order statistics as NumPy's percentile does (which scipy.stats.bootstrap's
// "percentile" method uses).
//
// A resample's median is drawn directly instead of drawing n values. Resampling with replacement is
// F⁻¹(U₁) … F⁻¹(Uₙ) for uniform Uᵢ and the sample's empirical quantile function F⁻¹(u) = x₍⌈nu⌉₎; F⁻¹
// is non-decreasing, so the resample's k-th smallest value is F⁻¹(U₍ₖ₎), and the k-th of n uniforms is
// Beta(k, n − k + 1). For an even n the next one up is U₍ₖ₊₁₎ = U₍ₖ₎ + (1 − U₍ₖ₎)(1 − V^(1/(n−k))), the
// smallest of the n − k uniforms above U₍ₖ₎. The resampled medians therefore have exactly the
// distribution of the textbook procedure, at a constant cost per resample instead of n draws (a test
// checks the two against each other and against SciPy).

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif
import Documents

/// Bootstrap intervals for the ratio of medians.
public enum Bootstrap {
    /// Resamples per interval: a resample costs a few random numbers, so many are cheap, and the
    /// interval's ends move less from seed to seed.
    public static let defaultResamples = 10_000
    /// The fixed seed (below 2^53, so it survives JSON as a number).
    public static let defaultSeed: UInt64 = 20_240_611

    /// The `confidence` percentile interval of median(new*) / median(base*); nil when a sample is empty
    /// or a resampled base median is not positive (the ratio is then undefined).
    public static func ratioOfMedians(
        base: [Double], new: [Double], resamples: Int = defaultResamples, confidence: Double = 0.95,
        seed: UInt64 = defaultSeed
    ) -> [Double]? {
        guard !base.isEmpty, !new.isEmpty, resamples > 0 else { return nil }
        var generator = Xoshiro256StarStar(seed: seed)
        let baseResampler = MedianResampler(base)
        let newResampler = MedianResampler(new)
        var ratios: [Double] = []
        ratios.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let denominator = baseResampler.resampledMedian(&generator)
            guard denominator > 0 else { return nil }
            ratios.append(newResampler.resampledMedian(&generator) / denominator)
        }
        ratios.sort()
        let tail = (1 - confidence) / 2
        return [quantile(ratios, tail), quantile(ratios, 1 - tail)]
    }

    /// The seed for one row: the fixed seed mixed with a hash of the row's id (FNV-1a, 64-bit).
    public static func seed(for id: String, base: UInt64 = defaultSeed) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return base ^ hash
    }

    /// Linear interpolation between order statistics at (n − 1)·q, as numpy.percentile's default.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = Double(sorted.count - 1) * q
        let lower = CheckedNumber.clamped(position, to: 0...Swift.max(0, sorted.count - 1), rounding: .down)
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}

/// Draws the medians of resamples of one sample.
struct MedianResampler {
    /// The sample, ascending.
    private let sorted: [Double]

    init(_ sample: [Double]) { sorted = sample.sorted() }

    /// The median of one resample of the same size, drawn with replacement.
    func resampledMedian(_ generator: inout Xoshiro256StarStar) -> Double {
        let n = sorted.count
        // 1-based rank of the (lower) middle.
        let k = (n + 1) / 2
        let lower = generator.nextBeta(Double(k), Double(n - k + 1))
        guard n % 2 == 0 else { return quantile(lower) }
        let above = 1 - exp(log(generator.nextUniform()) / Double(n - k))
        return CheckedNumber.midpoint(quantile(lower), quantile(lower + (1 - lower) * above))
    }

    /// The empirical quantile function: x₍⌈nu⌉₎ (1-based), clamped to the sample.
    private func quantile(_ u: Double) -> Double {
        let rank = CheckedNumber.clamped(Double(sorted.count) * u, to: 1...sorted.count, rounding: .up)
        return sorted[rank - 1]
    }
}

/// xoshiro256** 1.0 (Blackman and Vigna), its state filled by SplitMix64 from one 64-bit seed.
struct Xoshiro256StarStar: RandomNumberGenerator {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
    }

    mutating func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in the open interval (0, 1): 53 random bits, offset by half a step.
    mutating func nextUniform() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1p-53
    }

    /// Standard normal, by Box–Muller (one of the pair).
    mutating func nextNormal() -> Double {
        let radius = (-2 * log(nextUniform())).squareRoot()
        return radius * cos(2 * Double.pi * nextUniform())
    }

    /// Gamma(shape, 1) for shape ≥ 1, by Marsaglia and Tsang's method ("A simple method for generating
    /// gamma variables", ACM TOMS 26(3), 2000).
    mutating func nextGamma(_ shape: Double) -> Double {
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = nextNormal()
            let t = 1 + c * x
            guard t > 0 else { continue }
            let v = t * t * t
            let u = nextUniform()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// Beta(a, b) for a, b ≥ 1, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    mutating func nextBeta(_ a: Double, _ b: Double) -> Double {
        let x = nextGamma(a)
        return x / (x + nextGamma(b))
    }
}
