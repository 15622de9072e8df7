// HierarchicalBootstrap: the interval of the ratio new / base when the data are runs of samples, so that
// the variance between runs — the noise that decides on a shared, nested machine — is inside it.
//
// One resample of a side: draw as many runs as it has, with replacement; for each drawn run, draw its
// samples with replacement and take their median (a run known only by its median gives that value);
// the side's figure is the median of those run medians. The ratio of the two figures, over many
// resamples, gives the percentile interval (NumPy's linear interpolation, as Bootstrap.quantile).
// Resampling both levels is the usual two-stage bootstrap for nested data (Davison and Hinkley,
// "Bootstrap Methods and their Application", 1997, §3.8); the run level carries most of the spread, the
// sample level adds each run's own uncertainty.
//
// A run's resampled median is drawn directly from its order statistics (MedianResampler in
// CompareBootstrap.swift: the same distribution as drawing every sample), so a resample costs a few
// random numbers per run. The generator and the per-row seeds are Bootstrap's.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Bootstrap {
    /// The `confidence` percentile interval of figure(new*) / figure(base*) by the two-stage bootstrap,
    /// where figure is the median of the runs' medians; nil when a side has no runs or a resampled base
    /// figure is not positive (the ratio is then undefined).
    public static func hierarchicalRatio(
        base: [RunValues], new: [RunValues], resamples: Int = defaultResamples, confidence: Double = 0.95,
        seed: UInt64 = defaultSeed
    ) -> [Double]? {
        guard !base.isEmpty, !new.isEmpty, resamples > 0 else { return nil }
        var generator = Xoshiro256StarStar(seed: seed)
        let baseRuns = RunResampler(base)
        let newRuns = RunResampler(new)
        var ratios: [Double] = []
        ratios.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let denominator = baseRuns.resampledFigure(&generator)
            guard denominator > 0 else { return nil }
            let ratio = newRuns.resampledFigure(&generator) / denominator
            guard ratio.isFinite else { return nil }
            ratios.append(ratio)
        }
        ratios.sort()
        let tail = (1 - confidence) / 2
        return [quantile(ratios, tail), quantile(ratios, 1 - tail)]
    }
}

/// Draws one side's figure from a two-stage resample of its runs.
struct RunResampler {
    private enum Run {
        case samples(MedianResampler)
        case median(Double)
    }

    private let runs: [Run]

    init(_ runs: [RunValues]) {
        self.runs = runs.map { $0.samples.isEmpty ? .median($0.median) : .samples(MedianResampler($0.samples)) }
    }

    /// The median of the medians of as many runs as there are, drawn with replacement, each resampled.
    func resampledFigure(_ generator: inout Xoshiro256StarStar) -> Double {
        var medians: [Double] = []
        medians.reserveCapacity(runs.count)
        for _ in runs.indices {
            switch runs[generator.nextIndex(below: runs.count)] {
            case .samples(let resampler): medians.append(resampler.resampledMedian(&generator))
            case .median(let value): medians.append(value)
            }
        }
        medians.sort()
        let n = medians.count
        return n % 2 == 1 ? medians[n / 2] : (medians[n / 2 - 1] + medians[n / 2]) / 2
    }
}

extension Xoshiro256StarStar {
    /// A uniform index in 0 ..< `count` (count ≥ 1): the high word of a 64 × 64-bit product (Lemire's
    /// multiply-shift), whose bias of at most count / 2⁶⁴ is far below any Monte Carlo error here.
    mutating func nextIndex(below count: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(count)).high)
    }
}
