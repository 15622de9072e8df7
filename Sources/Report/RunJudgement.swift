// RunJudgement: the statistics of one compare over run sets, row by row and then across the rows — the
// figures, the change and its two-stage bootstrap interval, the Mann–Whitney p on the run figures, the
// Holm adjustment over every judged row, the detectable change, and the verdict.
//
// The family is the set of judged rows: Holm keeps the chance that any of them is called changed when
// none is at alpha or below. The level a row's runs must be able to reach is alpha / rows (Holm's first
// step, the most lenient level any row can be held to when all rows have as many runs); with fewer runs
// than that needs, the row is "inconclusive", never "same" by default or "regressed" by luck.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One row to judge: its runs on each side, in the same unit (cycles per exit).
public struct RunRowInput: Sendable {
    public var id: String
    public var base: [RunValues]
    public var new: [RunValues]
    public var thresholdPercent: Double

    public init(id: String, base: [RunValues], new: [RunValues], thresholdPercent: Double) {
        self.id = id
        self.base = base
        self.new = new
        self.thresholdPercent = thresholdPercent
    }
}

/// One row's statistics and verdict.
public struct RunRowJudgement: Sendable, Equatable {
    public var id: String
    /// Median of the run figures on each side; nil when the side has no runs.
    public var baseFigure: Double?
    public var newFigure: Double?
    /// 100 · (new / base − 1); nil when the base figure is not positive.
    public var changePercent: Double?
    /// The two-stage bootstrap interval of the change, percent; nil when undefined.
    public var changeCI95Percent: [Double]?
    /// U of the base side and the two-sided p, on the run figures.
    public var u: Double
    public var pValue: Double
    public var method: MannWhitneyMethod
    /// The Holm-adjusted p over all judged rows.
    public var adjustedP: Double
    public var detectable: Detectability
    public var thresholdPercent: Double
    public var verdict: RunVerdict
    public var reason: RunVerdictReason
}

/// Options of a run-level judgement.
public struct RunJudgeOptions: Sendable {
    public var alpha = 0.05
    public var resamples = Bootstrap.defaultResamples
    public var seed = Bootstrap.defaultSeed

    public init(alpha: Double = 0.05, resamples: Int = Bootstrap.defaultResamples, seed: UInt64 = Bootstrap.defaultSeed)
    {
        self.alpha = alpha
        self.resamples = resamples
        self.seed = seed
    }
}

/// Judges run sets row by row, with the Holm adjustment across the rows.
public enum RunJudge {
    /// The judgement of every row, in the order given.
    public static func judge(_ rows: [RunRowInput], options: RunJudgeOptions = RunJudgeOptions()) -> [RunRowJudgement] {
        var tests = RunMannWhitney()
        var partial = rows.map { row(for: $0, tests: &tests, options: options) }
        let adjusted = Holm.adjust(partial.map(\.pValue))
        let level = Holm.firstStepLevel(alpha: options.alpha, rows: rows.count)
        for index in partial.indices {
            let input = rows[index]
            partial[index].adjustedP = adjusted[index]
            let spread = RunStatistics.pooledLogSpread(input.base.map(\.median), input.new.map(\.median))
            partial[index].detectable = DetectableChange.of(
                spread: spread, baseRuns: input.base.count, newRuns: input.new.count, level: level)
            let reachable =
                !input.base.isEmpty && !input.new.isEmpty
                && DetectableChange.reachable(baseRuns: input.base.count, newRuns: input.new.count, level: level)
            (partial[index].verdict, partial[index].reason) = RunVerdict.judge(
                change: partial[index].changePercent, interval: partial[index].changeCI95Percent,
                adjustedP: adjusted[index], alpha: options.alpha, threshold: input.thresholdPercent,
                reachable: reachable)
        }
        return partial
    }

    /// A row's own figures, test and interval; the adjusted p, detectable change and verdict are filled
    /// in once every row's p is known.
    static func row(for input: RunRowInput, tests: inout RunMannWhitney, options: RunJudgeOptions)
        -> RunRowJudgement
    {
        let baseFigure = RunStatistics.figure(input.base)
        let newFigure = RunStatistics.figure(input.new)
        let test = tests.test(input.base.map(\.median), input.new.map(\.median))
        var judgement = RunRowJudgement(
            id: input.id, baseFigure: baseFigure, newFigure: newFigure, changePercent: nil,
            changeCI95Percent: nil, u: test?.result.u ?? 0, pValue: test?.result.p ?? 1,
            method: test?.method ?? .asymptotic, adjustedP: 1, detectable: .unknown,
            thresholdPercent: input.thresholdPercent, verdict: .inconclusive, reason: .noBaseFigure)
        guard let baseFigure, let newFigure, baseFigure > 0 else { return judgement }
        let change = (newFigure / baseFigure - 1) * 100
        guard change.isFinite else { return judgement }
        judgement.changePercent = change
        let interval = Bootstrap.hierarchicalRatio(
            base: input.base, new: input.new, resamples: options.resamples,
            seed: Bootstrap.seed(for: input.id, base: options.seed)
        )?.map { ($0 - 1) * 100 }
        judgement.changeCI95Percent = interval?.allSatisfy(\.isFinite) == true ? interval : nil
        return judgement
    }
}
