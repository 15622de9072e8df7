// RunStatistics: the unit compare judges on — an independent run (a fresh guest) of one case, with the
// figure that run gave and, where the report kept them, the samples behind it.
//
// The noise that decides whether a change is real lies between runs (the host's frequency, neighbours,
// scheduling), which the samples of one run cannot show; so every test and interval here counts runs,
// and the samples only widen a run's own figure in the hierarchical bootstrap. A run known only by its
// median is fine: it is resampled as that one value.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif
import Documents

/// One independent run of one case: its figure (cycles per exit) and the samples it came from.
public struct RunValues: Sendable, Equatable {
    /// The run's figure: the median of `samples` where they are there, else the figure the report gave.
    public var median: Double
    /// The run's kept samples in the same unit as `median`; empty when only the median is known.
    public var samples: [Double]

    /// A run known by its samples; its figure is their median. Nil when `samples` is empty or holds a
    /// value that is not finite.
    public init?(samples: [Double]) {
        guard !samples.isEmpty, samples.allSatisfy(\.isFinite) else { return nil }
        self.samples = samples
        self.median = SampleStatistics.median(samples.sorted())
    }

    /// A run known only by its figure; nil when it is not finite.
    public init?(median: Double) {
        guard median.isFinite else { return nil }
        self.median = median
        self.samples = []
    }
}

/// Figures over a set of runs.
public enum RunStatistics {
    /// The side's figure: the median of its runs' medians; nil when there are no runs.
    public static func figure(_ runs: [RunValues]) -> Double? {
        guard !runs.isEmpty else { return nil }
        return SampleStatistics.median(runs.map(\.median).sorted())
    }

    /// 1.4826 · MAD: the standard deviation of a normal distribution with that median absolute deviation.
    public static let madScale = 1.4826

    /// The between-run spread of both sides, as a robust standard deviation of the logarithms of the run
    /// figures: each run's distance from its own side's median (so a shift between the sides does not
    /// count as noise), pooled, then 1.4826 · their median. Nil when a figure is not positive (no
    /// logarithm) or there are fewer than three runs in all (no spread to speak of).
    public static func pooledLogSpread(_ base: [Double], _ new: [Double]) -> Double? {
        guard base.count + new.count >= 3, (base + new).allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        var deviations: [Double] = []
        for side in [base, new] where !side.isEmpty {
            let logs = side.map { Glibc.log($0) }
            let center = SampleStatistics.median(logs.sorted())
            deviations += logs.map { abs($0 - center) }
        }
        return madScale * SampleStatistics.median(deviations.sorted())
    }

    /// Whether two values of the combined set are equal (the exact Mann–Whitney distribution then does
    /// not apply).
    public static func hasTies(_ x: [Double], _ y: [Double]) -> Bool {
        let all = (x + y).sorted()
        return zip(all, all.dropFirst()).contains { $0 == $1 }
    }
}

/// The standard normal distribution's quantile function.
public enum NormalQuantile {
    /// z with Φ(z) = p, for 0 < p < 1 (±∞ at 0 and 1, NaN outside): Wichura's algorithm AS 241
    /// (PPND16, Applied Statistics 37(3), 1988), accurate to about 1e-16.
    public static func z(_ p: Double) -> Double {
        guard p > 0, p < 1 else { return p == 0 ? -.infinity : p == 1 ? .infinity : .nan }
        let q = p - 0.5
        if abs(q) <= 0.425 {
            let r = 0.180625 - q * q
            return q * central(r)
        }
        var r = q < 0 ? p : 1 - p
        r = (-Glibc.log(r)).squareRoot()
        let value = r <= 5 ? intermediate(r - 1.6) : tail(r - 5)
        return q < 0 ? -value : value
    }

    private static func central(_ r: Double) -> Double {
        let a = [
            3.387_132_872_796_366_608, 133.141_667_891_784_377_37, 1971.590_950_306_551_442_7,
            13731.693_765_509_461_125, 45921.953_931_549_871_457, 67265.770_927_008_700_853,
            33430.575_583_588_128_105, 2509.080_928_730_122_672_7,
        ]
        let b = [
            1, 42.313_330_701_600_911_252, 687.187_007_492_057_908_95, 5394.196_021_424_751_077_1,
            21213.794_301_586_595_867, 39307.895_800_092_710_610, 28729.085_735_721_942_674,
            5226.495_278_852_545_925_1,
        ]
        return polynomial(a, r) / polynomial(b, r)
    }

    private static func intermediate(_ r: Double) -> Double {
        let c = [
            1.423_437_110_749_683_577_34, 4.630_337_846_156_545_295_90, 5.769_497_221_460_691_405_50,
            3.647_848_324_763_204_605_04, 1.270_458_252_452_368_382_58, 0.241_780_725_177_450_611_770,
            0.022_723_844_989_269_184_583_0, 7.745_450_142_783_414_076_40e-4,
        ]
        let d = [
            1, 2.053_191_626_637_758_821_87, 1.676_384_830_183_803_849_40, 0.689_767_334_985_100_004_550,
            0.148_103_976_427_480_074_590, 0.015_198_666_563_616_457_2, 5.475_938_084_995_344_946_60e-4,
            1.050_750_071_644_416_843_06e-9,
        ]
        return polynomial(c, r) / polynomial(d, r)
    }

    private static func tail(_ r: Double) -> Double {
        let e = [
            6.657_904_643_501_103_777_20, 5.463_784_911_164_114_369_90, 1.784_826_539_917_291_335_80,
            0.296_560_571_828_504_891_230, 0.026_532_189_526_576_123_093_0, 0.001_242_660_947_388_078_438_57,
            2.711_555_568_743_487_578_94e-5, 2.010_334_399_292_288_132_65e-7,
        ]
        let f = [
            1, 0.599_832_206_555_887_937_690, 0.136_929_880_922_735_805_310, 0.014_875_361_290_850_615_025_0,
            7.868_691_311_456_132_591_04e-4, 1.846_318_317_510_054_681_80e-5, 1.421_511_758_316_445_887_72e-7,
            2.044_263_103_389_939_785_09e-15,
        ]
        return polynomial(e, r) / polynomial(f, r)
    }

    /// Σ coefficients[i] · x^i, by Horner's rule.
    private static func polynomial(_ coefficients: [Double], _ x: Double) -> Double {
        coefficients.reversed().reduce(0) { $0 * x + $1 }
    }
}
