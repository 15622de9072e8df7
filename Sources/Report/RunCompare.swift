// RunCompare: bench reports compared on their runs, to a verdict a CI job can act on through the exit
// code — 2 a regression, 5 inconclusive, 4 improvements only, 0 the same.
//
// Each side is one or more reports whose runs are pooled row by row (their contexts must agree with the
// first base report's, as for two reports). A row judges its net figure per run (cycles per exit less
// the timing baseline), or the gross figure when the net is below resolution on either side; rows of an
// emulated guest whose exit stays in the kernel are shown but not judged unless asked. The judged rows
// form one family: Mann–Whitney on the run figures, Holm across the rows, a two-stage bootstrap interval
// of the change, the detectable change, and the verdict (RunJudgement). A case the base reports have and
// the new ones lost is "missing", which makes the outcome at least inconclusive unless allowed.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif
import Documents

/// How to compare on runs.
public struct RunCompareOptions: Sendable {
    public var thresholds = Thresholds()
    public var alpha = 0.05
    public var resamples = Bootstrap.defaultResamples
    public var seed = Bootstrap.defaultSeed
    /// Compare even when contexts differ in a way that refuses.
    public var force = false
    public var selection = RowSelection()
    /// Cases lost in the new reports do not make the outcome inconclusive.
    public var allowMissing = false
    /// With two or more reports a side, each report is a replicate (ReplicateJudge); false pools every
    /// report's runs as if one invocation had made them (`compare --pool`).
    public var replicates = true

    public init() {}
}

/// A bench report and the file it was read from.
public struct NamedReport: Sendable {
    public var file: String
    public var report: BenchReport

    public init(file: String, report: BenchReport) {
        self.file = file
        self.report = report
    }
}

/// Compares bench reports on their runs.
public enum RunComparison {
    /// Compares the `new` reports against the `base` reports (each side at least one). Throws `.badData`
    /// (exit 65), one line naming the two files and what differs, when a context differs from the first
    /// base report's in a way that refuses and `options.force` is off.
    public static func compare(
        base: [NamedReport], new: [NamedReport], options: RunCompareOptions = RunCompareOptions()
    )
        throws(InputError) -> RunCompareReport
    {
        guard let reference = base.first, !new.isEmpty else {
            throw InputError(.badData, "compare: needs at least one base and one new report")
        }
        var differences: [ContextDifference] = []
        var forced = false
        for other in base.dropFirst() + new {
            let found = ContextDifference.between(reference.report.context, other.report.context)
            let refusing = found.filter { $0.severity == .refuse }
            if !refusing.isEmpty && !options.force {
                throw InputError(
                    .badData,
                    "\(reference.file) and \(other.file) are not comparable: "
                        + refusing.map(\.line).joined(separator: "; ")
                        + " (--force compares them anyway, with warnings)")
            }
            forced = forced || !refusing.isEmpty
            for difference in found where !differences.contains(difference) { differences.append(difference) }
        }
        let (pooledBase, pooledNew) = (pool(base), pool(new))
        var (rows, unpaired) = pairRows(base: pooledBase, new: pooledNew, options: options)
        var shift: MachineShift?
        let replicates = judgeOnReplicates(&rows, base: base, new: new, options: options)
        if let replicates {
            shift = replicates.1
        } else {
            shift = machineShift(base: pooledBase, new: pooledNew)
            if let shift { guardAgainstShift(shift, &rows) }
        }
        var report = RunCompareReport(
            schema: RunCompareReport.schemaID, version: RunCompareReport.currentVersion, tool: .current,
            base: base.map { ReportIdentity($0.report, file: $0.file) },
            new: new.map { ReportIdentity($0.report, file: $0.file) }, forced: forced,
            differences: differences.filter { $0.severity == .refuse } + differences.filter { $0.severity == .warn },
            method: method(options), rows: rows, unpaired: unpaired,
            notes: notes(rows, base: base, new: new, options: options),
            summary: summary(rows, unpaired, allowMissing: options.allowMissing))
        report.machineShift = shift
        report.replication = replicates?.0
        if replicates != nil {
            report.method.figure += "; per report, the median of its runs' figures, less the report's machine level"
            report.method.test =
                "moderated t (empirical Bayes, Smyth 2004) on the reports' figures, each bench invocation one "
                + "replicate: a row's within-side variance shrunk towards a prior fitted to all judged rows"
            report.method.interval = "the moderated t interval of the change relative to the machine's shift"
            report.method.detectableChange =
                "the change caught with 80 % power at alpha / judged rows: (exp((t(1 − α′/2) + t(0.8)) · s̃ · "
                + "√(1/nb + 1/nn)) − 1) · 100, s̃ the row's moderated SD, n the reports a side"
        }
        if let (summary, shift) = replicates, summary.machineMoved {
            report.notes.append(
                "the machine as a whole moved by \(CompareNumbers.percent(shift.percent)) % between the sides, every "
                    + "row together and past how far it moves between the reports of one side (p "
                    + "\(CompareNumbers.pValue(summary.machineMovedP))): a slower machine and a change to every exit "
                    + "alike cannot be told apart, so rows that moved only with it are inconclusive, not same — "
                    + "take base and new in alternation to tell")
        }
        if let (summary, shift) = replicates {
            report.notes.append(
                "judged on \(summary.baseReports) + \(summary.newReports) reports as replicates (each bench invocation "
                    + "one): every change is relative to the machine's own shift of "
                    + "\(CompareNumbers.percent(shift.percent)) % between the sides (the shorth of \(summary.shiftRows) "
                    + "rows per report); a row's between-invocation SD is moderated towards "
                    + "±\(CompareNumbers.percent(summary.priorSDPercent).dropFirst()) % (empirical Bayes) and tested with "
                    + "a moderated t")
        } else if base.count < minimumReplicates || new.count < minimumReplicates {
            report.notes.append(
                "one report a side: the runs of one invocation cannot show how far the machine moves between "
                    + "invocations, so only the machine-shift guard stands against it; take \(minimumReplicates) or "
                    + "more reports a side (e.g. 4 × bench --runs 4) for a test with each invocation as a replicate")
        }
        if replicates == nil, let shift, rows.contains(where: { $0.reason == .machineShift }) {
            report.notes.append(
                "the machine as a whole moved by \(CompareNumbers.percent(shift.percent)) between the sides (median "
                    + "change of \(shift.rows) rows' gross figures, judged or not), single rows by "
                    + "±\(CompareNumbers.percent(shift.pathSpreadPercent).dropFirst()) about that (2 robust SD): a "
                    + "change that does not clear both is inconclusive, not a regression — take base and new in "
                    + "alternation, or more reports a side")
        }
        return report
    }

    /// The median change of the gross figure over every row with a figure on both sides; nil under three rows.
    static func machineShift(base: [ReportRowRuns], new: [ReportRowRuns]) -> MachineShift? {
        let newByID = Dictionary(new.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let logs = base.compactMap { b -> Double? in
            guard b.status == "ok", let n = newByID[b.id], n.status == "ok",
                let before = RunStatistics.figure(b.gross), let after = RunStatistics.figure(n.gross),
                before > 0, after > 0
            else { return nil }
            let value = Glibc.log(after / before)
            return value.isFinite ? value : nil
        }.sorted()
        guard logs.count >= 3 else { return nil }
        let center = SampleStatistics.median(logs)
        let percent = (Glibc.exp(center) - 1) * 100
        let deviations = logs.map { abs($0 - center) }.sorted()
        let spread = (Glibc.exp(2 * RunStatistics.madScale * SampleStatistics.median(deviations)) - 1) * 100
        guard percent.isFinite, spread.isFinite else { return nil }
        return MachineShift(percent: percent, rows: logs.count, pathSpreadPercent: spread)
    }

    /// A regression must clear the machine's own upward shift, an improvement its downward one: the row's
    /// interval lies beyond the shift, and its change relative to the shift is past the row's threshold and
    /// past the path spread (how far rows stray from the shift with no change of their own).
    static func guardAgainstShift(_ shift: MachineShift, _ rows: inout [RunCompareRow]) {
        for index in rows.indices {
            let row = rows[index]
            guard let interval = row.changeCI95Percent, interval.count == 2, let change = row.changePercent else {
                continue
            }
            let beyond = ((1 + change / 100) / (1 + shift.percent / 100) - 1) * 100
            let needed = max(row.thresholdPercent, shift.pathSpreadPercent)
            switch row.verdict {
            case .regressed where interval[0] <= max(0, shift.percent) || beyond <= needed,
                .improved where interval[1] >= min(0, shift.percent) || -beyond <= needed:
                rows[index].verdict = .inconclusive
                rows[index].reason = .machineShift
            default: break
            }
        }
    }

    /// One side's rows with the runs of all its reports pooled, in the order first seen.
    static func pool(_ reports: [NamedReport]) -> [ReportRowRuns] {
        var order: [String] = []
        var byID: [String: ReportRowRuns] = [:]
        for named in reports {
            for row in RunExtraction.rows(named.report) {
                guard var known = byID[row.id] else {
                    order.append(row.id)
                    byID[row.id] = row
                    continue
                }
                if known.status != "ok" {
                    if row.status == "ok" { byID[row.id] = row }
                    continue
                }
                guard row.status == "ok" else { continue }
                known.gross += row.gross
                known.net += row.net
                known.netBelowResolution = known.netBelowResolution || row.netBelowResolution
                byID[row.id] = known
            }
        }
        return order.compactMap { byID[$0] }
    }

    /// Rows in the base's order, judged together; then what could not be paired.
    static func pairRows(base: [ReportRowRuns], new: [ReportRowRuns], options: RunCompareOptions)
        -> ([RunCompareRow], [UnpairedCase])
    {
        let newByID = Dictionary(new.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [RunCompareRow] = []
        var unpaired: [UnpairedCase] = []
        var inputs: [RunRowInput] = []
        var judgedIndex: [Int] = []
        for b in base {
            let n = newByID[b.id]
            let chosen = options.selection.chooses(b.id)
            guard b.status == "ok" else {
                unpaired.append(
                    UnpairedCase(
                        id: b.id, baseStatus: b.status, newStatus: n?.status ?? "absent",
                        change: n == nil ? "removed" : "not-compared", reason: b.reason ?? n?.reason))
                continue
            }
            guard let n, n.status == "ok" else {
                if chosen {
                    rows.append(missingRow(b, new: n, options: options))
                } else {
                    unpaired.append(
                        UnpairedCase(
                            id: b.id, baseStatus: b.status, newStatus: n?.status ?? "absent",
                            change: n == nil ? "removed" : "not-compared", reason: n?.reason))
                }
                continue
            }
            let (useNet, note) = figureChoice(b, n)
            let baseRuns = useNet ? b.net : b.gross
            let newRuns = useNet ? n.net : n.gross
            var row = shownRow(b, baseRuns: baseRuns, newRuns: newRuns, options: options)
            row.figure = useNet ? "net" : "gross"
            row.figureNote = note
            if let reason = options.selection.notJudgedReason(
                id: b.id, emulated: b.emulated || n.emulated, exitsTo: b.exitsTo)
            {
                row.reason = reason
            } else {
                judgedIndex.append(rows.count)
                inputs.append(
                    RunRowInput(id: b.id, base: baseRuns, new: newRuns, thresholdPercent: row.thresholdPercent))
            }
            rows.append(row)
        }
        let judgeOptions = RunJudgeOptions(alpha: options.alpha, resamples: options.resamples, seed: options.seed)
        for (index, judged) in zip(judgedIndex, RunJudge.judge(inputs, options: judgeOptions)) {
            apply(judged, to: &rows[index])
        }
        let baseIDs = Set(base.map(\.id))
        for n in new where !baseIDs.contains(n.id) {
            unpaired.append(
                UnpairedCase(id: n.id, baseStatus: "absent", newStatus: n.status, change: "added", reason: n.reason))
        }
        return (rows, unpaired)
    }

    /// Net, unless it is below resolution (or absent) on either side; and why not, when not.
    static func figureChoice(_ b: ReportRowRuns, _ n: ReportRowRuns) -> (Bool, String?) {
        if b.net.isEmpty || n.net.isEmpty { return (false, "no timing baseline to subtract") }
        switch (b.netBelowResolution, n.netBelowResolution) {
        case (false, false): return (true, nil)
        case (true, true): return (false, "net below resolution in both")
        case (true, false): return (false, "net below resolution in base")
        case (false, true): return (false, "net below resolution in new")
        }
    }

    /// A row with its figures and change, not (yet) judged.
    static func shownRow(
        _ b: ReportRowRuns, baseRuns: [RunValues], newRuns: [RunValues], options: RunCompareOptions
    ) -> RunCompareRow {
        let baseMedian = RunStatistics.figure(baseRuns)
        let newMedian = RunStatistics.figure(newRuns)
        var change: Double?
        if let baseMedian, let newMedian, baseMedian > 0 {
            let value = (newMedian / baseMedian - 1) * 100
            change = value.isFinite ? value : nil
        }
        return RunCompareRow(
            id: b.id, level: b.level, source: b.source, figure: "gross", figureNote: nil, emulated: b.emulated,
            exitsTo: b.exitsTo, baseRuns: baseRuns.count, newRuns: newRuns.count, baseMedian: baseMedian,
            newMedian: newMedian, changePercent: change, changeCI95Percent: nil, u: nil, pValue: nil, test: nil,
            adjustedP: nil, detectableChangePercent: nil, detectable: "unknown",
            thresholdPercent: options.thresholds.percent(for: b.id), verdict: .notJudged, reason: .notSelected)
    }

    static func missingRow(_ b: ReportRowRuns, new n: ReportRowRuns?, options: RunCompareOptions) -> RunCompareRow {
        var row = shownRow(b, baseRuns: b.gross, newRuns: [], options: options)
        row.verdict = .missing
        row.reason = n == nil ? .absentInNew : .notOkInNew
        row.figureNote = n?.reason
        return row
    }

    static func apply(_ judged: RunRowJudgement, to row: inout RunCompareRow) {
        row.changePercent = judged.changePercent
        row.changeCI95Percent = judged.changeCI95Percent
        row.u = judged.u
        row.pValue = judged.pValue
        row.test = judged.method.rawValue
        row.adjustedP = judged.adjustedP
        switch judged.detectable {
        case .percent(let value):
            row.detectableChangePercent = value
            row.detectable = "percent"
        case .none: row.detectable = "none"
        case .unknown: row.detectable = "unknown"
        }
        row.verdict = RowVerdict(judged.verdict)
        row.reason = RowReason(judged.reason)
    }
}
