// HistorySeries: one case's history on one machine as a series of run figures, ready for detection and
// plots. Each point is one run (a fresh guest) of one report; a report's runs stay together, so change
// points fall between reports. By default the machine's level is taken out twice, as compare does
// (Report's ReplicateJudge, MachineLevel): each run's figures are divided by the machine's level in that
// run (stored with the report when it was added), and then each report's figures by the machine's level
// in that report — the shorth, over the cases present in every report, of each case's log figure about
// that case's mean over the whole history. A shared machine moves every exit at once, by 10–36 % between
// the reports of Reports/history/series and by up to ±18 % between the runs of one, which is not a change
// of any one case. The raw figures stay in the store (`--keep-shift`, `--keep-run-levels`, export).
//
// The report's level is divided out with slope 1 rather than fitted per case as compare's covariate: a
// slope fitted over a series that has change points in it is confounded with them, and on the 31 reports
// of Reports/history/series the fitted slopes (0.84–1.18) moved no injected case's standardized change
// at the newest report by more than 0.5.

import Documents
import Foundation
import Report

extension SeriesFigure {
    /// The series' unit and what was divided out of it, for people: "gross cycles per exit, the machine's
    /// level divided out per run and per report".
    public func describe(reportLevels: Bool, runLevels: Bool) -> String {
        let parts = (runLevels ? ["per run"] : []) + (reportLevels ? ["per report"] : [])
        return "\(rawValue) cycles per exit"
            + (parts.isEmpty ? ", raw" : ", the machine's level divided out \(parts.joined(separator: " and "))")
    }
}

extension CheckOptions {
    /// The series `history check` and `trend` judge and draw, for people.
    public var seriesDescription: String { figure.describe(reportLevels: normalize, runLevels: runLevels) }
}

/// One case's series.
public struct CaseSeries: Sendable {
    public var caseID: String
    /// The points, in order.
    public var values: [Double]
    /// For each point, the index (in the machine's report list) of its report.
    public var reportIndex: [Int]
    /// How many of the series' reports had each run divided by the machine's level in that run.
    public var runLevelReports = 0

    public init(caseID: String, values: [Double], reportIndex: [Int]) {
        self.caseID = caseID
        self.values = values
        self.reportIndex = reportIndex
    }

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
    /// Whether to divide by the machine's level per report.
    public var normalize: Bool
    /// Whether to divide each run by the machine's level in that run (where the report has it).
    public var runLevels: Bool
    /// The machine's reports, oldest first.
    public private(set) var reports: [StoredReport]
    private var position: [Int64: Int]
    /// Per report id: the machine's level in it as a factor (1 = as usual); empty when not normalizing or
    /// when fewer than three cases have a figure in every report.
    public private(set) var shift: [Int64: Double]

    /// Reads the machine's report list and, when normalizing, every report's case figures once.
    public init(
        store: any HistoryStore, machine: Int64, figure: SeriesFigure, normalize: Bool, runLevels: Bool = true
    ) throws(HistoryError) {
        self.store = store
        self.machine = machine
        self.figure = figure
        self.normalize = normalize
        self.runLevels = runLevels
        reports = try store.reports(machine: machine)
        var position: [Int64: Int] = [:]
        for (index, report) in reports.enumerated() { position[report.id] = index }
        self.position = position
        shift = normalize ? Self.shifts(try store.reportFigures(machine: machine, runLevels: runLevels)) : [:]
    }

    /// The series of `caseID`; a case with no net figure in any run (no timing baseline) follows its gross.
    public func series(_ caseID: String) throws(HistoryError) -> CaseSeries {
        var values: [Double] = []
        var index: [Int] = []
        let runs = try store.runs(machine: machine, caseID: caseID)
        let useNet = figure == .net && runs.contains { $0.net != nil }
        values.reserveCapacity(runs.count)
        index.reserveCapacity(runs.count)
        var levelled = Set<Int>()
        for run in runs {
            guard let at = position[run.reportID] else { continue }
            let value: Double? = useNet ? run.net : run.gross
            guard let value, value.isFinite else { continue }
            var level = shift[run.reportID] ?? 1
            if runLevels, let own = run.level, own > 0, own.isFinite {
                level *= own
                levelled.insert(at)
            }
            values.append(value / level)
            index.append(at)
        }
        var series = CaseSeries(caseID: caseID, values: values, reportIndex: index)
        series.runLevelReports = levelled.count
        return series
    }

    /// Per report, the machine's level as a factor: MachineLevel.levels (compare's report shift) over the
    /// log figures of the cases with a positive figure in every report. Empty (no correction) when fewer
    /// than three cases are in every report.
    static func shifts(_ figures: [Int64: [String: Double]]) -> [Int64: Double] {
        let reports = figures.keys.sorted()
        guard let first = reports.first, let firstCases = figures[first] else { return [:] }
        let complete = firstCases.keys.sorted().filter { id in
            reports.allSatisfy { (figures[$0]?[id] ?? 0) > 0 }
        }
        let logs = complete.map { id in reports.map { Foundation.log(figures[$0]![id]!) } }
        guard let levels = MachineLevel.levels(logs) else { return [:] }
        var out: [Int64: Double] = [:]
        for (report, level) in zip(reports, levels) { out[report] = Foundation.exp(level) }
        return out
    }
}
