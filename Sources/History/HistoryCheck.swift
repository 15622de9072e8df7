// HistoryCheck: change points of every judged case of one machine, streamed one case at a time, and the
// verdict `history check` exits with: a regression change point in the newest window → 2, improvements
// only → 4, else 0 (as compare does). A change point counts when the permutation test keeps it and the
// medians on either side differ by at least the threshold; smaller significant splits still cut the series
// into segments but are not reported.
//
// The newest report, which E-divisive cannot split off alone, is tested on its own (NewestReportTest): the
// report is the unit, not its runs. Each case's newest report median is a robust z-score (log scale, about
// the median of the reports of the segment before it, in units of their MAD), and its p-value is its rank
// among the same z-scores of every judged case's earlier reports, each left out of its own centre and
// scale, each first made a tail probability that does not depend on how many reports it came from: an
// empirical null made of this machine's own report-to-report swings. A permutation test over the
// runs (this file's method until 2026-12-06) treats a report's runs as independent draws; they share the
// machine's state for the report's second or two, so on this machine under load it raised 9 false change
// points in 20 A/A checks of a plain series (scripts/history-series.py judge --rolling), and a normal
// (Student t) tail on the report medians raised 23, where one-report blips of 10–30 % in a single case
// occur. The pooled empirical null knows those blips: 2 in the same 20 checks, and every case slowed by the
// gate's injected delay still flagged.
//
// That test is made once per judged case on the same report, so its p-values are adjusted across the cases
// (Benjamini–Hochberg, false discovery rate `newestAlpha`): when nothing changed at all, controlling the false
// discovery rate controls the chance of any false alarm (exit 2) at the same level, as compare's Holm does;
// where some cases did change, it keeps more power than Holm for the others (Benjamini & Hochberg 1995;
// valid under the positive dependence the machine's level leaves between cases, Benjamini & Yekutieli 2001).
//
// E-divisive runs over each case's report medians, not its runs: a report's runs share the machine's
// state, and a permutation test that shuffles them as independent points split the newest report off a
// plain series in 8 of 20 A/A checks under load (scripts/history-series.py judge --rolling). Its splits
// are mapped back to the first run of their report.
//
// E-divisive's own splits are a family across the cases too (at 0.01 in every case, 60 flat cases gave a
// false split in a 250-report benchmark). They are decided as families of hypotheses, one family a case
// (Benjamini & Bogomolov, "Selective inference on multiple families of hypotheses", J. R. Statist. Soc.
// B 76, 2014): each case's first split — the test of "this case changed at all" — gets its p-value
// (EDivisive.firstSplit), those are adjusted across the judged cases by Benjamini–Hochberg at the
// detector's level α, and only in the R cases kept does E-divisive go on, each later split tested at
// α·R/m (m cases judged). In a history where nothing changed, a false split anywhere needs a first split
// kept, which happens with probability at most α. Bonferroni (α/m in every case) was tried first and lost
// a series whose steps cancel (its first split's p-value is ~0.002: fine when 30 of 50 cases changed, not
// below 0.05/50).

import Documents
import Foundation
import Report
import Synchronization

/// What `history check` judges and how.
public struct CheckOptions: Sendable {
    /// Detection settings; `detector.pValue` is the level across the judged cases (decideSplits).
    public var detector = EDivisive(pValue: 0.05)
    /// A change smaller than this (percent of the median before) is not reported.
    public var thresholdPercent = 5.0
    /// The newest this many reports make the window whose change points set the exit code.
    public var window = 5
    /// The figure: gross by default — on this machine a net figure adds its timing baseline's own noise
    /// (the 30 reports of Reports/history/series: a judged case's spread between reports 2–7 % net against
    /// 2–3 % gross once the machine's level is out, and in-kernel cases moving up to 18 % net at the
    /// injected report, where nothing of theirs changed).
    public var figure = SeriesFigure.gross
    /// Divide each report by the machine's level in it (SeriesBuilder).
    public var normalize = true
    /// Divide each run by the machine's level in that run, where the report has it (SeriesBuilder).
    public var runLevels = true
    /// The false discovery rate of the newest-report tests across the judged cases.
    public var newestAlpha = 0.05
    /// The fewest reports the segment before the newest must hold for the newest report's own test.
    public var newestMinimumReports = 8
    /// Globs on case ids to judge (all when empty), and to leave out.
    public var cases: [String] = []
    public var exclude: [String] = []
    /// Judge the rows left out by default too: exits of emulated guest modes other than to user space
    /// (the emulator's work, as compare leaves out), and rows that time no exit (exits to "none": the empty
    /// loop, the timing baseline, the host's fixed KVM_RUN cost).
    public var judgeAll = false

    public init() {}

    /// Whether `entry` is judged.
    public func judges(_ entry: StoredCase) -> Bool {
        if !judgeAll, entry.exitsTo == "none" || (entry.emulated && entry.exitsTo != "user-space") { return false }
        if !cases.isEmpty, !cases.contains(where: { Self.matches($0, entry.id) }) { return false }
        return !exclude.contains { Self.matches($0, entry.id) }
    }

    /// Shell-style glob match, as compare's --cases.
    static func matches(_ pattern: String, _ id: String) -> Bool {
        Glob.matches(pattern, id)
    }
}

/// A reported change point of one case.
public struct CaseChange: Sendable, Equatable {
    public var caseID: String
    /// The first report after the change: its index in the machine's list, time and file.
    public var reportIndex: Int
    public var createdAt: String
    public var file: String
    /// Medians of the segment before and after (in the series' unit), and the relative change in percent.
    public var before: Double
    public var after: Double
    public var changePercent: Double
    public var pValue: Double
    /// For the newest-report test, its p-value adjusted across the judged cases (Benjamini–Hochberg); nil
    /// for a change point E-divisive placed.
    public var adjustedP: Double?
    /// Whether the first report after the change is among the newest `window` reports.
    public var inWindow: Bool

    /// Higher cycles are slower.
    public var isRegression: Bool { changePercent > 0 }
}

/// The result for one case.
public struct CaseCheck: Sendable {
    public var caseID: String
    public var points: Int
    public var reportsWithPoints: Int
    /// Reported change points, oldest first.
    public var changes: [CaseChange]
    /// Every kept split (reported or not), as point indices: the segments of the series.
    public var splits: [Int]
    public var series: CaseSeries
    /// The newest report's own test, before the adjustment across cases decides it; nil where it was not
    /// made (E-divisive split there already, or too few points before it).
    public var newest: NewestTest?
}

/// The newest report tested on its own against the segment before it.
public struct NewestTest: Sendable {
    /// The newest report's robust z-score and tail probability, and the earlier reports' tails (each left
    /// out of its own centre and scale): NewestReportTest.
    public var deviation: Double
    public var tail: Double
    public var pastTails: [Double]
    /// The p-value against the pooled earlier deviations of the cases judged together (1 until
    /// `decideNewest` pools them), and the same adjusted across those cases.
    public var pValue = 1.0
    public var adjustedP = 1.0
    /// The changes and splits of the case should the test be kept.
    var changes: [CaseChange]
    var splits: [Int]
}

/// The outcome of a check over one machine.
public struct CheckResult: Sendable {
    public var machine: StoredMachine
    public var reportCount: Int
    public var cases: [CaseCheck]
    public var options: CheckOptions
    /// Reports whose runs were each divided by the machine's level in that run (in any judged case).
    public var runLevelReports = 0
    /// Whether each report was divided by the machine's level in it (needs three cases in every report).
    public var reportLevels = false
    /// Cases whose first split was kept across the cases (R), and the level of every later split, α·R/m.
    public var splitCasesKept = 0
    public var splitLevel = 0.0

    /// 2 when a reported regression lies in the newest window, 4 when only improvements do, else 0.
    public var exitCode: Int32 {
        let recent = cases.flatMap(\.changes).filter(\.inWindow)
        if recent.contains(where: \.isRegression) { return 2 }
        return recent.isEmpty ? 0 : 4
    }
}

/// Benjamini–Hochberg adjusted p-values (the step-up false discovery rate procedure; Benjamini & Hochberg,
/// J. R. Statist. Soc. B 57, 1995): with the k p-values ascending, the i-th's adjusted value is the least,
/// over j ≥ i, of min(1, k · p₍ⱼ₎ / j) — statsmodels' multipletests(method="fdr_bh").
public enum BenjaminiHochberg {
    /// The adjusted p-values, in the order of `pValues`. A p that is not a number counts as 1.
    public static func adjust(_ pValues: [Double]) -> [Double] {
        let k = pValues.count
        let clean = pValues.map { $0.isNaN ? 1 : Swift.min(1, Swift.max(0, $0)) }
        let order = clean.indices.sorted { (clean[$0], $0) < (clean[$1], $1) }
        var adjusted = [Double](repeating: 1, count: k)
        var running = 1.0
        for rank in stride(from: k - 1, through: 0, by: -1) {
            let index = order[rank]
            running = Swift.min(running, Double(k) * clean[index] / Double(rank + 1))
            adjusted[index] = running
        }
        return adjusted
    }
}

/// Runs the detection.
public enum HistoryCheck {
    /// Checks every judged case of `machine`. The series are read from the store on this thread, as many
    /// at a time as there are processors, and each batch is analysed one case a processor: memory holds a
    /// batch's series, never the whole history's.
    public static func run(
        store: any HistoryStore, machine: StoredMachine, options: CheckOptions, keepSeries: Bool = false
    ) throws(HistoryError) -> CheckResult {
        let builder = try SeriesBuilder(
            store: store, machine: machine.id, figure: options.figure, normalize: options.normalize,
            runLevels: options.runLevels)
        let judged = try store.cases(machine: machine.id).filter { options.judges($0) }
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let reports = builder.reports
        let first = EDivisive(
            pValue: options.detector.pValue, permutations: options.detector.permutations,
            seed: options.detector.seed)
        // Stage one, a batch at a time: each case's first split. A case whose p-value is above α can never be
        // kept, so it is analysed at once (no split) and its series let go; the others wait for the decision.
        var done: [Int: CaseCheck] = [:]
        var firsts = [ChangePoint?](repeating: nil, count: judged.count)
        var pending: [Int: CaseSeries] = [:]
        var start = 0
        while start < judged.count {
            var read: [CaseSeries] = []
            for entry in judged[start..<min(start + width, judged.count)] { read.append(try builder.series(entry.id)) }
            let batch = read
            let found = Mutex<[Int: ChangePoint]>([:])
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                if let point = first.firstSplit(NewestReportTest.reportPoints(batch[i]).medians) {
                    found.withLock { $0[i] = point }
                }
            }
            let points = found.withLock { $0 }
            for (i, series) in batch.enumerated() {
                firsts[start + i] = points[i]
                if let p = points[i]?.pValue, p <= options.detector.pValue {
                    pending[start + i] = series
                } else {
                    done[start + i] = finish(
                        analyse(series, reports: reports, options: options, first: nil, later: first),
                        keepSeries: keepSeries)
                }
            }
            start += batch.count
        }
        // The decision across the cases, then stage two: E-divisive goes on in the kept cases.
        let refine = refinable(firsts, options: options)
        let refined = Mutex<[Int: ChangePoint]>([:])
        let more = firstDetector(options, cases: judged.count)
        let again = refine.compactMap { index in pending[index].map { (index, $0) } }
        DispatchQueue.concurrentPerform(iterations: again.count) { k in
            if let point = more.firstSplit(NewestReportTest.reportPoints(again[k].1).medians) {
                refined.withLock { $0[again[k].0] = point }
            }
        }
        for (index, point) in refined.withLock({ $0 }) { firsts[index] = point }
        let (kept, later) = decideSplits(firsts.map { $0?.pValue }, options: options)
        let waiting = pending.keys.sorted().map {
            (index: $0, series: pending[$0]!, first: kept[$0] ? firsts[$0] : nil)
        }
        let checks = Mutex<[Int: CaseCheck]>([:])
        DispatchQueue.concurrentPerform(iterations: waiting.count) { k in
            let (index, series, first) = waiting[k]
            let check = analyse(series, reports: reports, options: options, first: first, later: later)
            checks.withLock { $0[index] = finish(check, keepSeries: keepSeries) }
        }
        done.merge(checks.withLock { $0 }) { a, _ in a }
        var out = judged.indices.compactMap { done[$0] }
        let casesKept = kept.filter { $0 }.count
        decideNewest(&out, options: options)
        var result = CheckResult(machine: machine, reportCount: reports.count, cases: out, options: options)
        result.runLevelReports = out.map(\.series.runLevelReports).max() ?? 0
        result.reportLevels = !builder.shift.isEmpty
        result.splitCasesKept = casesKept
        result.splitLevel = later.pValue
        return result
    }

    /// The change points of one series judged on its own (a family of one).
    public static func check(_ series: CaseSeries, reports: [StoredReport], options: CheckOptions) -> CaseCheck {
        var checks = analyse([series], reports: reports, options: options)
        decideNewest(&checks, options: options)
        return checks[0]
    }

    /// `check` without its series unless asked for.
    static func finish(_ check: CaseCheck, keepSeries: Bool) -> CaseCheck {
        guard !keepSeries else { return check }
        var check = check
        var kept = CaseSeries(caseID: check.series.caseID, values: [], reportIndex: [])
        kept.runLevelReports = check.series.runLevelReports
        check.series = kept
        return check
    }

    /// The detector of each case's first split among `cases` once a first round of `detector.permutations`
    /// draws left it undecided: at the family's level, with permutations enough for Benjamini–Hochberg's
    /// smallest threshold α/m with room for one exceedance.
    public static func firstDetector(_ options: CheckOptions, cases: Int) -> EDivisive {
        let d = options.detector
        let needed = Int((2 * Double(max(1, cases)) / d.pValue).rounded(.up)) - 1
        return EDivisive(pValue: d.pValue, permutations: max(d.permutations, needed), seed: d.seed)
    }

    /// The cases whose first split's test goes on to `firstDetector`'s draws: those Benjamini–Hochberg
    /// does not keep yet whose first round of draws saw no exceedance (p at its floor, 1 / (draws + 1)).
    /// The test draws the same permutations first (the same seed), so it goes on where it stopped; going on
    /// only when nothing exceeded keeps the p-value valid (P(p ≤ u) ≤ u: a final p ≤ u implies the p-value
    /// of the round that could first reach u was ≤ u). Cases that changed clearly then cost the first
    /// round alone when enough of them changed (the 6 of 60 of history-bench: p = 1/200 each, kept at
    /// 0.05 · 6 / 60), and a single changed case gets the draws that can reach 0.05 / m.
    public static func refinable(_ firsts: [ChangePoint?], options: CheckOptions) -> [Int] {
        let floor = 1 / Double(options.detector.permutations + 1)
        let (kept, _) = decideSplits(firsts.map { $0?.pValue }, options: options)
        return firsts.indices.filter { index in
            guard let p = firsts[index]?.pValue, !kept[index] else { return false }
            return abs(p - floor) < 1e-12 * floor
        }
    }

    /// Which cases' first splits are kept (Benjamini–Hochberg at the detector's level over `pValues`, nil
    /// for a case with no split possible), and the detector of every later split in them: level α·R/m
    /// (Benjamini & Bogomolov 2014), with permutations enough to reach it.
    public static func decideSplits(_ pValues: [Double?], options: CheckOptions) -> (kept: [Bool], later: EDivisive) {
        let alpha = options.detector.pValue
        let adjusted = BenjaminiHochberg.adjust(pValues.map { $0 ?? 1 })
        // A hair of tolerance: 60 · (1/200) / 6 must count as 0.05.
        let kept = adjusted.map { $0 <= alpha * (1 + 1e-9) }
        let selected = kept.filter { $0 }.count
        let level = alpha * Double(max(1, selected)) / Double(max(1, pValues.count))
        let needed = Int((2 / level).rounded(.up)) - 1
        let d = options.detector
        return (kept, EDivisive(pValue: level, permutations: max(d.permutations, needed), seed: d.seed))
    }

    /// The change points of `series`, judged together as one machine's cases (both stages of `run`), each
    /// with its newest-report test made but not yet decided.
    public static func analyse(_ series: [CaseSeries], reports: [StoredReport], options: CheckOptions)
        -> [CaseCheck]
    {
        let first = EDivisive(
            pValue: options.detector.pValue, permutations: options.detector.permutations,
            seed: options.detector.seed)
        var firsts = series.map { first.firstSplit(NewestReportTest.reportPoints($0).medians) }
        let more = firstDetector(options, cases: series.count)
        for index in refinable(firsts, options: options) {
            firsts[index] = more.firstSplit(NewestReportTest.reportPoints(series[index]).medians)
        }
        let (kept, later) = decideSplits(firsts.map { $0?.pValue }, options: options)
        return series.indices.map {
            analyse(series[$0], reports: reports, options: options, first: kept[$0] ? firsts[$0] : nil, later: later)
        }
    }

    /// Adjusts the newest-report tests of `checks` across the cases (Benjamini–Hochberg) and keeps, in each
    /// case, the split of those whose adjusted p-value is at most `options.newestAlpha`.
    public static func decideNewest(_ checks: inout [CaseCheck], options: CheckOptions) {
        let tested = checks.indices.filter { checks[$0].newest != nil }
        let null = NewestReportTest.Null(tested.flatMap { checks[$0].newest!.pastTails })
        for index in tested { checks[index].newest!.pValue = null.pValue(checks[index].newest!.tail) }
        let adjusted = BenjaminiHochberg.adjust(tested.map { checks[$0].newest!.pValue })
        for (index, q) in zip(tested, adjusted) {
            checks[index].newest!.adjustedP = q
            guard q <= options.newestAlpha, let newest = checks[index].newest else { continue }
            checks[index].splits = newest.splits
            checks[index].changes = newest.changes.map { change in
                var change = change
                if change.adjustedP != nil {
                    change.pValue = newest.pValue
                    change.adjustedP = q
                }
                return change
            }
        }
    }

    /// The change points of one series judged on its own (a family of one), with its newest-report test
    /// made but not yet decided (`decideNewest` does that across the cases).
    public static func analyse(_ series: CaseSeries, reports: [StoredReport], options: CheckOptions) -> CaseCheck {
        analyse([series], reports: reports, options: options)[0]
    }

    /// The change points of one series given the decision across the cases: `first`, its first split when
    /// kept, from which `later` goes on (nil: no split).
    static func analyse(
        _ series: CaseSeries, reports: [StoredReport], options: CheckOptions, first: ChangePoint?,
        later: EDivisive
    ) -> CaseCheck {
        // E-divisive in report space (the header says why), its splits mapped to each report's first run.
        let points = NewestReportTest.reportPoints(series)
        let found = (first.map { later.changePoints(points.medians, after: $0) } ?? []).map {
            ChangePoint(index: points.starts[$0.index], pValue: $0.pValue, statistic: $0.statistic)
        }
        var newest: NewestTest?
        // The newest report on its own against the reports of the segment before it (NewestReportTest).
        if let last = series.reportIndex.last, last == reports.count - 1,
            let first = series.reportIndex.firstIndex(of: last), first > 0,
            !found.contains(where: { $0.index == first })
        {
            let start = found.last.map(\.index) ?? 0
            let past = NewestReportTest.reportMedians(series, from: start, to: first)
            if past.count >= options.newestMinimumReports,
                let newestMedian = HistoryRecord.median(Array(series.values[first...])),
                let scored = NewestReportTest.scores(newest: newestMedian, past: past)
            {
                // The p-value is the pool's (decideNewest); until then the change carries 1.
                let with = found + [ChangePoint(index: first, pValue: 1, statistic: 0)]
                newest = NewestTest(
                    deviation: scored.newest, tail: scored.newestTail, pastTails: scored.pastTails,
                    changes: changes(series, with, newestAt: first, reports: reports, options: options),
                    splits: with.map(\.index))
            }
        }
        return CaseCheck(
            caseID: series.caseID, points: series.values.count,
            reportsWithPoints: Set(series.reportIndex).count,
            changes: changes(series, found, newestAt: nil, reports: reports, options: options),
            splits: found.map(\.index), series: series, newest: newest)
    }

    /// The reported changes among the kept splits `found` (ascending); the one at `newestAt` is the
    /// newest-report test's.
    static func changes(
        _ series: CaseSeries, _ found: [ChangePoint], newestAt: Int?, reports: [StoredReport], options: CheckOptions
    ) -> [CaseChange] {
        let splits = found.map(\.index)
        let cuts = [0] + splits + [series.values.count]
        var changes: [CaseChange] = []
        for (k, point) in found.enumerated() {
            let before = HistoryRecord.median(Array(series.values[cuts[k]..<cuts[k + 1]])) ?? .nan
            let after = HistoryRecord.median(Array(series.values[cuts[k + 1]..<cuts[k + 2]])) ?? .nan
            guard before > 0 else { continue }
            let change = (after / before - 1) * 100
            guard abs(change) >= options.thresholdPercent else { continue }
            let index = series.reportIndex[point.index]
            let report = reports[index]
            changes.append(
                CaseChange(
                    caseID: series.caseID, reportIndex: index, createdAt: report.createdAt, file: report.file,
                    before: before, after: after, changePercent: change, pValue: point.pValue,
                    adjustedP: point.index == newestAt ? point.pValue : nil,
                    inWindow: index >= reports.count - options.window))
        }
        return changes
    }

    /// The exit code of a check over several machines: 2 when any found a regression in its newest window,
    /// else 4 when any found improvements there, else 0.
    public static func combinedExitCode(_ codes: [Int32]) -> Int32 {
        codes.contains(2) ? 2 : codes.contains(4) ? 4 : 0
    }

    /// The baseline for compare: the reports of the last stable segment before the newest report — from
    /// the latest reported change point of any judged case up to (not including) the newest report; when
    /// that change point is the newest report itself, the segment before it. At most `limit` reports, the
    /// newest of them.
    public static func baseline(_ result: CheckResult, reports: [StoredReport], limit: Int) -> [StoredReport] {
        guard reports.count >= 2 else { return [] }
        let newest = reports.count - 1
        let cps = Set(result.cases.flatMap(\.changes).map(\.reportIndex)).sorted()
        var end = newest
        var start = cps.last { $0 <= newest } ?? 0
        if start == newest {
            end = newest
            start = cps.last { $0 < newest } ?? 0
        }
        let segment = Array(reports[start..<end])
        return Array(segment.suffix(limit))
    }
}
