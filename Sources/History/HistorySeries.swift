// HistorySeries: one case's history on one machine as a series of run figures, ready for detection and
// plots. Each point is one run (a fresh guest) of one report; a report's runs stay together, so change
// points fall between reports. Optionally each report's figures are divided by the machine's shift in that
// report — the median, over the report's cases, of each case's figure relative to that case's median over
// the whole history — since a shared machine moves every exit at once between invocations (README,
// "The machine's own shift"), which is not a change of any one case.

import Foundation

/// Which figure a series follows.
public enum SeriesFigure: String, Sendable, CaseIterable {
    /// The timed loop per exit, as it is.
    case gross
    /// Less the timing baseline of the same guest run; runs without one are left out.
    case net
}

/// One case's series.
public struct CaseSeries: Sendable {
    public var caseID: String
    /// The points, in order.
    public var values: [Double]
    /// For each point, the index (in the machine's report list) of its report.
    public var reportIndex: [Int]

    /// The indices of points where a new report starts (the splits change-point detection may use).
    public var boundaries: [Int] {
        reportIndex.indices.dropFirst().filter { reportIndex[$0] != reportIndex[$0 - 1] }
    }

    /// Per report (that has points), the median of its points, with the report's index.
    public var reportMedians: [(report: Int, value: Double)] {
        var out: [(Int, Double)] = []
        var start = 0
        for end in boundaries + [values.count] where end > start {
            out.append((reportIndex[start], HistoryRecord.median(Array(values[start..<end]))!))
            start = end
        }
        return out
    }
}

/// Builds series from a store.
public struct SeriesBuilder {
    public var store: any HistoryStore
    public var machine: Int64
    public var figure: SeriesFigure
    /// Whether to divide by the machine's shift per report.
    public var normalize: Bool
    /// The machine's reports, oldest first.
    public private(set) var reports: [StoredReport]
    private var position: [Int64: Int]
    /// Per report id: the machine's shift (1 = as usual).
    public private(set) var shift: [Int64: Double]

    /// Reads the machine's report list and, when normalizing, every report's case figures once.
    public init(store: any HistoryStore, machine: Int64, figure: SeriesFigure, normalize: Bool) throws(HistoryError) {
        self.store = store
        self.machine = machine
        self.figure = figure
        self.normalize = normalize
        reports = try store.reports(machine: machine)
        var position: [Int64: Int] = [:]
        for (index, report) in reports.enumerated() { position[report.id] = index }
        self.position = position
        shift = normalize ? Self.shifts(try store.reportFigures(machine: machine)) : [:]
    }

    /// The series of `caseID`; a case with no net figure in any run (no timing baseline) follows its gross.
    public func series(_ caseID: String) throws(HistoryError) -> CaseSeries {
        var values: [Double] = []
        var index: [Int] = []
        let runs = try store.runs(machine: machine, caseID: caseID)
        let useNet = figure == .net && runs.contains { $0.net != nil }
        for run in runs {
            guard let at = position[run.reportID] else { continue }
            let value: Double? = useNet ? run.net : run.gross
            guard let value, value.isFinite else { continue }
            values.append(value / (shift[run.reportID] ?? 1))
            index.append(at)
        }
        return CaseSeries(caseID: caseID, values: values, reportIndex: index)
    }

    /// Per report, the median over its cases of figure ÷ that case's median over all reports; reports with
    /// fewer than three cases with a positive figure keep 1.
    static func shifts(_ figures: [Int64: [String: Double]]) -> [Int64: Double] {
        var perCase: [String: [Double]] = [:]
        for cases in figures.values {
            for (id, value) in cases where value > 0 { perCase[id, default: []].append(value) }
        }
        let center = perCase.compactMapValues { HistoryRecord.median($0) }
        var out: [Int64: Double] = [:]
        for (report, cases) in figures {
            let ratios = cases.compactMap { id, value in
                center[id].flatMap { $0 > 0 && value > 0 ? value / $0 : nil }
            }
            out[report] = ratios.count >= 3 ? HistoryRecord.median(ratios)! : 1
        }
        return out
    }
}
