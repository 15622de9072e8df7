// CompareRows: one row's statistics and verdict, the method description, and the summary.

import Bench
import Probe

extension Comparison {
    /// Compares one case's values.
    static func row(id: String, level: String, source: String, base: Values, new: Values, options: CompareOptions)
        -> CompareRow
    {
        let baseSorted = base.values.sorted()
        let newSorted = new.values.sorted()
        let baseMedian = SampleStatistics.median(baseSorted)
        let newMedian = SampleStatistics.median(newSorted)
        let test =
            MannWhitney.test(base.values, new.values)
            ?? MannWhitneyResult(u: 0, p: 1, probabilityYGreater: 0.5)
        let threshold = options.thresholds.percent(for: id)
        var row = CompareRow(
            id: id, level: level, source: source, baseCount: base.values.count, newCount: new.values.count,
            baseMedian: baseMedian, newMedian: newMedian, changePercent: nil, changeCI95Percent: nil, u: test.u,
            pValue: test.p, newSlowerProbability: test.probabilityYGreater, rankBiserial: test.rankBiserial,
            thresholdPercent: threshold, noiseFloorPercent: nil, verdict: .unchanged, reason: .noBaseFigure)
        let change = (newMedian / baseMedian - 1) * 100
        // A base median of 0 or below (an empty loop costs about nothing net), or so close to 0 that the
        // ratio overflows, has no relative change.
        guard baseMedian > 0, change.isFinite else { return row }
        row.changePercent = change
        let interval = Bootstrap.ratioOfMedians(
            base: baseSorted, new: newSorted, resamples: options.resamples,
            seed: Bootstrap.seed(for: id, base: options.seed)
        )?.map { ($0 - 1) * 100 }
        row.changeCI95Percent = interval?.allSatisfy(\.isFinite) == true ? interval : nil
        let floor: Double? =
            newMedian > 0
            ? max(
                options.noiseFloorMinimumPercent, (base.halfWidth / baseMedian + new.halfWidth / newMedian) * 100,
                max(base.step, new.step) / baseMedian * 100)
            : nil
        row.noiseFloorPercent = floor.flatMap { $0.isFinite ? $0 : nil }
        (row.verdict, row.reason) = verdict(
            change: change, threshold: threshold, floor: floor ?? .infinity, p: test.p, alpha: options.alpha,
            enoughSamples: min(base.values.count, new.values.count) >= options.minimumSamples)
        return row
    }

    /// The verdict and why: past the threshold, past the noise floor and significant, in that order of
    /// questions, so the reason names the first that fails.
    public static func verdict(
        change: Double, threshold: Double, floor: Double, p: Double, alpha: Double, enoughSamples: Bool
    ) -> (Verdict, VerdictReason) {
        guard enoughSamples else { return (.unchanged, .tooFewSamples) }
        guard abs(change) > threshold else { return (.unchanged, .belowThreshold) }
        guard abs(change) > floor else { return (.unchanged, .withinNoise) }
        guard p < alpha else { return (.unchanged, .notSignificant) }
        return (change > 0 ? .regression : .improvement, .significant)
    }

    static func method(_ options: CompareOptions) -> CompareMethod {
        CompareMethod(
            compared: "cycles per exit: each kept sample less its report's timing baseline median (guest cases: the "
                + "baseline case's median, divided by exitsPerSample; this level's cases: the timing overhead's median)",
            test: "Mann–Whitney U, two-sided, normal approximation with tie and continuity correction "
                + "(as scipy.stats.mannwhitneyu, method=\"asymptotic\")",
            alpha: options.alpha,
            interval: "percentile bootstrap of median(new) / median(base), both samples resampled independently",
            bootstrapResamples: options.resamples, bootstrapSeed: options.seed, confidence: 0.95,
            noiseFloor: "the largest of the minimum, the sum of both reports' relative half-widths of the 95 % "
                + "distribution-free interval of the net median (case and baseline), and one timer step (the smallest "
                + "gap between distinct samples) relative to the base median",
            noiseFloorMinimumPercent: options.noiseFloorMinimumPercent,
            defaultThresholdPercent: options.thresholds.defaultPercent, minimumSamples: options.minimumSamples)
    }

    static func summary(_ rows: [CompareRow], _ unpaired: [UnpairedCase]) -> CompareSummary {
        let regressions = rows.filter { $0.verdict == .regression }.count
        let improvements = rows.filter { $0.verdict == .improvement }.count
        let verdict: Verdict = regressions > 0 ? .regression : improvements > 0 ? .improvement : .unchanged
        return CompareSummary(
            regressions: regressions, improvements: improvements, unchanged: rows.count - regressions - improvements,
            added: unpaired.filter { $0.change == "added" }.count,
            removed: unpaired.filter { $0.change == "removed" }.count,
            notCompared: unpaired.filter { $0.change == "not-compared" }.count,
            verdict: verdict, exitCode: verdict == .regression ? 2 : verdict == .improvement ? 4 : 0)
    }
}
