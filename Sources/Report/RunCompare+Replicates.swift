// RunCompare+Replicates: with at least two reports a side, every judged row is judged again with the report
// as the replicate (ReplicateJudge), and the machine's shift is taken per report instead of per side.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif
import Documents

extension RunComparison {
    /// The least reports a side for the replicate judgement.
    public static let minimumReplicates = 2

    /// Rejudges the judged rows of `rows` on the reports' own figures; returns the summary and the machine's
    /// shift between the sides, or nil (rows untouched) when a side has too few reports or the reports
    /// share under three rows.
    static func judgeOnReplicates(
        _ rows: inout [RunCompareRow], base: [NamedReport], new: [NamedReport], options: RunCompareOptions
    ) -> (ReplicateSummary, MachineShift)? {
        guard options.replicates, base.count >= minimumReplicates, new.count >= minimumReplicates else {
            return nil
        }
        var runLevelReports = 0
        let reports = (base + new).map { named in
            var rows = Dictionary(
                RunExtraction.rows(named.report).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            if ReplicateJudge.correctRunLevels(&rows) { runLevelReports += 1 }
            return rows
        }
        func logFigure(_ row: ReportRowRuns?, net: Bool) -> Double {
            guard let row, row.status == "ok", let figure = RunStatistics.figure(net ? row.net : row.gross),
                figure > 0
            else { return .nan }
            return Glibc.log(figure)
        }
        let ids = rows.filter { $0.verdict != .missing }.map(\.id)
        let grossLogs = ids.map { id in reports.map { logFigure($0[id], net: false) } }
        guard let shifts = ReplicateJudge.reportShifts(grossLogs) else { return nil }
        let shiftRows = grossLogs.filter { $0.allSatisfy(\.isFinite) }.count

        var judgedIndex: [Int] = []
        var inputs: [ReplicateRow] = []
        for index in rows.indices where rows[index].test != nil {
            var useNet = rows[index].figure == "net"
            var logs = reports.map { logFigure($0[rows[index].id], net: useNet) }
            if useNet && !logs.allSatisfy(\.isFinite) {
                useNet = false
                logs = reports.map { logFigure($0[rows[index].id], net: false) }
                rows[index].figure = "gross"
                rows[index].figureNote = "net not positive in a report: judged on gross"
            }
            guard logs.allSatisfy(\.isFinite) else {
                rows[index].verdict = .inconclusive
                rows[index].reason = .noBaseFigure
                continue
            }
            let corrected = zip(logs, shifts).map { $0 - $1 }
            judgedIndex.append(index)
            inputs.append(
                ReplicateRow(
                    id: rows[index].id, base: Array(corrected[..<base.count]), new: Array(corrected[base.count...]),
                    thresholdPercent: rows[index].thresholdPercent))
        }
        let slopes = shifts.count >= ReplicateJudge.covariateReports
        let (results, prior) = ReplicateJudge.judge(inputs, covariate: slopes ? shifts : nil, alpha: options.alpha)
        for (index, result) in zip(judgedIndex, results) {
            rows[index].changePercent = result.changePercent
            rows[index].changeCI95Percent = result.interval
            rows[index].u = nil
            rows[index].pValue = result.pValue
            rows[index].test = "moderated-t"
            rows[index].adjustedP = result.adjustedP
            rows[index].detectableChangePercent = nil
            switch result.detectable {
            case .percent(let value):
                rows[index].detectableChangePercent = value
                rows[index].detectable = "percent"
            case .none: rows[index].detectable = "none"
            case .unknown: rows[index].detectable = "unknown"
            }
            rows[index].verdict = RowVerdict(result.verdict)
            rows[index].reason = RowReason(result.reason)
        }

        let baseShift = ReplicateJudge.mean(Array(shifts[..<base.count]))
        let newShift = ReplicateJudge.mean(Array(shifts[base.count...]))
        // Did the machine as a whole move between the sides, past what it moves between the reports of one
        // side? Then a row that moved only with it cannot be called the same: every exit slower alike is
        // a slower machine or a change to every exit, and the data cannot tell which.
        let levelVariance = ReplicateJudge.pooledVariance(Array(shifts[..<base.count]), Array(shifts[base.count...]))
        let levelError = (levelVariance * (1 / Double(base.count) + 1 / Double(new.count))).squareRoot()
        let levelP =
            levelError > 0
            ? StudentT.twoSidedP((newShift - baseShift) / levelError, degrees: Double(base.count + new.count - 2))
            : (newShift == baseShift ? 1 : 0)
        let moved =
            levelP < options.alpha
            && abs(ReplicateJudge.percent(newShift - baseShift)) > options.thresholds.defaultPercent
        if moved {
            for index in judgedIndex where rows[index].verdict == .same {
                rows[index].verdict = .inconclusive
                rows[index].reason = .machineShift
            }
        }
        let between = grossLogs.filter { $0.allSatisfy(\.isFinite) }.map { logs in
            ReplicateJudge.mean(Array(logs[base.count...])) - ReplicateJudge.mean(Array(logs[..<base.count]))
                - (newShift - baseShift)
        }
        let deviations = between.map(abs).sorted()
        let spread = ReplicateJudge.percent(2 * RunStatistics.madScale * SampleStatistics.median(deviations))
        let summary = ReplicateSummary(
            baseReports: base.count, newReports: new.count, degreesOfFreedom: base.count + new.count - 2,
            priorDegreesOfFreedom: prior.flatMap { $0.degrees.isFinite ? $0.degrees : nil },
            priorSDPercent: prior.map { ReplicateJudge.percent($0.variance.squareRoot()) } ?? 0,
            reportShiftPercent: shifts.map(ReplicateJudge.percent), shiftRows: shiftRows,
            runLevelReports: runLevelReports, levelSlope: slopes, machineMovedP: levelP.isNaN ? 1 : levelP,
            machineMoved: moved)
        let shift = MachineShift(
            percent: ReplicateJudge.percent(newShift - baseShift), rows: shiftRows,
            pathSpreadPercent: spread.isFinite ? spread : 0)
        return (summary, shift)
    }
}
