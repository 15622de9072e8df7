// HistoryCheck: change points of every judged case of one machine, streamed one case at a time, and the
// verdict `history check` exits with: a regression change point in the newest window → 2, improvements
// only → 4, else 0 (as compare does). A change point counts when the permutation test keeps it and the
// medians on either side differ by at least the threshold; smaller significant splits still cut the series
// into segments but are not reported. The newest report, which E-divisive cannot split off alone, is also
// tested against the last segment before it with the same statistic (EDivisive.splitPValue).

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
    public var figure = SeriesFigure.net
    public var normalize = true
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
}

/// The outcome of a check over one machine.
public struct CheckResult: Sendable {
    public var machine: StoredMachine
    public var reportCount: Int
    public var cases: [CaseCheck]
    public var options: CheckOptions

    /// 2 when a reported regression lies in the newest window, 4 when only improvements do, else 0.
    public var exitCode: Int32 {
        let recent = cases.flatMap(\.changes).filter(\.inWindow)
        if recent.contains(where: \.isRegression) { return 2 }
        return recent.isEmpty ? 0 : 4
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
            store: store, machine: machine.id, figure: options.figure, normalize: options.normalize)
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
                if !keepSeries { check.series = CaseSeries(caseID: batch[i].caseID, values: [], reportIndex: []) }
                checks.withLock { $0[i] = check }
            }
            checks.withLock { done in out.append(contentsOf: batch.indices.compactMap { done[$0] }) }
            start += batch.count
        }
        return CheckResult(machine: machine, reportCount: reports.count, cases: out, options: options)
    }

    /// The change points of one series.
    public static func analyse(_ series: CaseSeries, reports: [StoredReport], options: CheckOptions) -> CaseCheck {
        var found = options.detector.changePoints(series.values, boundaries: series.boundaries)
        // The newest report on its own against the segment before it (EDivisive.splitPValue).
        if let newest = series.reportIndex.last, newest == reports.count - 1,
            let first = series.reportIndex.firstIndex(of: newest), first > 0,
            !found.contains(where: { $0.index == first })
        {
            let start = found.last.map(\.index) ?? 0
            let tail = series.values.count - first
            if first - start >= max(5, 2 * tail) {
                let p = options.detector.splitPValue(Array(series.values[start...]), tail: tail)
                if p <= options.detector.pValue { found.append(ChangePoint(index: first, pValue: p, statistic: 0)) }
            }
        }
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
                    inWindow: index >= reports.count - options.window))
        }
        return CaseCheck(
            caseID: series.caseID, points: series.values.count,
            reportsWithPoints: Set(series.reportIndex).count, changes: changes, splits: splits, series: series)
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
