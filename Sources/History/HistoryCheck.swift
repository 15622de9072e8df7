// HistoryCheck: change points of every judged case of one machine, streamed one case at a time, and the
// verdict `history check` exits with: a regression change point in the newest window → 2, improvements
// only → 4, else 0 (as compare does). A change point counts when the permutation test keeps it and the
// medians on either side differ by at least the threshold; smaller significant splits still cut the series
// into segments but are not reported. The newest report, which E-divisive cannot split off alone, is also
// tested against the last segment before it with the same statistic (EDivisive.splitPValue). That test is
// made once per judged case on the same report, so its p-values are adjusted across the cases
// (Benjamini–Hochberg, false discovery rate `newestAlpha`): unadjusted, 60 flat cases at p ≤ 0.01 each
// give one p-value that low at the newest report in 45 % of checks (the synthetic benchmark found 7 change
// points where 6 were planted). When nothing changed at all, controlling the false discovery rate controls the
// chance of any false alarm (exit 2) at the same level, as compare's Holm does; where some cases did
// change, it keeps more power than Holm for the others (Benjamini & Hochberg 1995; valid under the
// positive dependence the machine's level leaves between cases, Benjamini & Yekutieli 2001).

import Documents
import Foundation
import Report
import Synchronization

/// What `history check` judges and how.
public struct CheckOptions: Sendable {
    /// Detection settings.
    public var detector = EDivisive()
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
    /// Permutations of each newest-report test: enough for a p-value of 1 / 10,000, which the adjustment
    /// across a hundred cases at 0.05 can still keep.
    public var newestPermutations = 9_999
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
    /// The permutation p-value, and the same adjusted across the judged cases once all are known.
    public var pValue: Double
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
        var out: [CaseCheck] = []
        out.reserveCapacity(judged.count)
        var start = 0
        while start < judged.count {
            var read: [CaseSeries] = []
            for entry in judged[start..<min(start + width, judged.count)] { read.append(try builder.series(entry.id)) }
            let batch = read
            let checks = Mutex<[Int: CaseCheck]>([:])
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                var check = analyse(batch[i], reports: reports, options: options)
                if !keepSeries {
                    var kept = CaseSeries(caseID: batch[i].caseID, values: [], reportIndex: [])
                    kept.runLevelReports = batch[i].runLevelReports
                    check.series = kept
                }
                checks.withLock { $0[i] = check }
            }
            checks.withLock { done in out.append(contentsOf: batch.indices.compactMap { done[$0] }) }
            start += batch.count
        }
        decideNewest(&out, options: options)
        var result = CheckResult(machine: machine, reportCount: reports.count, cases: out, options: options)
        result.runLevelReports = out.map(\.series.runLevelReports).max() ?? 0
        result.reportLevels = !builder.shift.isEmpty
        return result
    }

    /// The change points of one series judged on its own (a family of one for the newest-report test).
    public static func check(_ series: CaseSeries, reports: [StoredReport], options: CheckOptions) -> CaseCheck {
        var checks = [analyse(series, reports: reports, options: options)]
        decideNewest(&checks, options: options)
        return checks[0]
    }

    /// Adjusts the newest-report tests of `checks` across the cases (Benjamini–Hochberg) and keeps, in each
    /// case, the split of those whose adjusted p-value is at most `options.newestAlpha`.
    public static func decideNewest(_ checks: inout [CaseCheck], options: CheckOptions) {
        let tested = checks.indices.filter { checks[$0].newest != nil }
        let adjusted = BenjaminiHochberg.adjust(tested.map { checks[$0].newest!.pValue })
        for (index, q) in zip(tested, adjusted) {
            checks[index].newest!.adjustedP = q
            guard q <= options.newestAlpha, let newest = checks[index].newest else { continue }
            checks[index].splits = newest.splits
            checks[index].changes = newest.changes.map { change in
                var change = change
                if change.adjustedP != nil { change.adjustedP = q }
                return change
            }
        }
    }

    /// The change points of one series, with its newest-report test made but not yet decided
    /// (`decideNewest` does that across the cases).
    public static func analyse(_ series: CaseSeries, reports: [StoredReport], options: CheckOptions) -> CaseCheck {
        let found = options.detector.changePoints(series.values, boundaries: series.boundaries)
        var newest: NewestTest?
        // The newest report on its own against the segment before it (EDivisive.splitPValue).
        if let last = series.reportIndex.last, last == reports.count - 1,
            let first = series.reportIndex.firstIndex(of: last), first > 0,
            !found.contains(where: { $0.index == first })
        {
            let start = found.last.map(\.index) ?? 0
            let tail = series.values.count - first
            if first - start >= max(5, 2 * tail) {
                let p = options.detector.splitPValue(
                    Array(series.values[start...]), tail: tail, permutations: options.newestPermutations,
                    stopAbove: options.newestAlpha)
                let with = found + [ChangePoint(index: first, pValue: p, statistic: 0)]
                newest = NewestTest(
                    pValue: p, changes: changes(series, with, newestAt: first, reports: reports, options: options),
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
