// RenderTable: the summary tables as plain cells, the one table model of the text, Markdown and HTML
// renderers, so all of them show the same figures, each formatted once by RenderNumber: the main table
// (case | status | this level | guest level | µs | × | exits to | note) and, when the report has
// three-level cases, their own table with the guest's guest and both multipliers.

import Documents

/// One summary table, cells unescaped.
struct RenderTable {
    struct Row {
        var caseID: String
        var status: String
        /// The cells after the case column.
        var cells: [String]
        /// The guest level's net is below resolution: its figures are not shown (text spans one cell over them).
        var belowResolution = false
    }

    /// Column titles after "case".
    var headers: [String]
    /// Whether each of those columns holds numbers (right-aligned).
    var numeric: [Bool]
    var rows: [Row]

    /// Every row but the three-level ones.
    static func main(_ report: BenchReport) -> RenderTable {
        let status = statuses(report)
        let rows = report.table.filter { !RenderWords.isThreeLevel($0.caseID) }.map { row in
            Row(
                caseID: row.caseID, status: status[row.caseID] ?? "",
                cells: [
                    status[row.caseID] ?? "",
                    row.thisLevelCycles.map(RenderNumber.cycles) ?? "—",
                    row.belowResolution == true
                        ? "below resolution" : row.guestLevelCycles.map(RenderNumber.cycles) ?? "—",
                    row.belowResolution == true ? "—" : row.guestLevelNanoseconds.map(RenderNumber.microseconds) ?? "—",
                    row.belowResolution == true ? "" : row.multiplier.map(RenderNumber.multiplier) ?? "",
                    row.exitsTo,
                    row.note,
                ], belowResolution: row.belowResolution == true)
        }
        return RenderTable(
            headers: ["status", "this level", "guest level", "µs", "×", "exits to", "note"],
            numeric: [false, true, true, true, true, false, false], rows: rows)
    }

    /// The three-level rows, or nil when there are none or every one was skipped for the same reason
    /// (then `threeLevelSkipped` says why in one line).
    static func threeLevel(_ report: BenchReport) -> RenderTable? {
        let rows = report.table.filter { RenderWords.isThreeLevel($0.caseID) }
        guard !rows.isEmpty, threeLevelSkipped(report) == nil else { return nil }
        let status = statuses(report)
        return RenderTable(
            headers: [
                "status", "this level", "guest level", "guest's guest", "× guest", "× guest's guest", "exits to",
                "note",
            ],
            numeric: [false, true, true, true, true, true, false, false],
            rows: rows.map { row in
                Row(
                    caseID: row.caseID, status: status[row.caseID] ?? "",
                    cells: [
                        status[row.caseID] ?? "",
                        row.thisLevelCycles.map(RenderNumber.cycles) ?? "—",
                        row.guestLevelCycles.map(RenderNumber.cycles) ?? "—",
                        RenderWords.isInner(row.caseID) ? row.innerGuestCycles.map(RenderNumber.cycles) ?? "—" : "",
                        row.multiplier.map(RenderNumber.multiplier) ?? "",
                        row.innerMultiplier.map(RenderNumber.multiplier) ?? "",
                        row.exitsTo,
                        row.note,
                    ])
            })
    }

    /// One line when every three-level case was skipped for one reason (no SVM for guests here).
    static func threeLevelSkipped(_ report: BenchReport) -> String? {
        let cases = report.cases.filter { RenderWords.isThreeLevel($0.id) }
        let reasons = Set(cases.map { $0.status == .skipped ? $0.reason ?? "" : "" })
        guard !cases.isEmpty, cases.allSatisfy({ $0.status == .skipped }), reasons.count == 1,
            let reason = reasons.first
        else { return nil }
        return "Three levels (the guest a minimal SVM hypervisor, its guest running the loops): skipped, \(reason)"
    }

    /// The cases that did not run, less the three-level ones when `threeLevelSkipped` says why in one line.
    static func notRun(_ report: BenchReport) -> [CaseReport] {
        let collapsed = threeLevelSkipped(report) != nil
        return report.cases.filter { $0.status != .ok && !(collapsed && RenderWords.isThreeLevel($0.id)) }
    }

    /// The cell of `row` under the column titled `header` ("case" excluded); empty when there is no such column.
    func cell(_ row: Row, _ header: String) -> String {
        guard let index = headers.firstIndex(of: header), index < row.cells.count else { return "" }
        return row.cells[index]
    }

    /// The title of the three-level table.
    static let threeLevelTitle = "Three levels: the guest is a minimal SVM hypervisor, its guest runs the loops"

    private static func statuses(_ report: BenchReport) -> [String: String] {
        Dictionary(report.cases.map { ($0.id, $0.status.rawValue) }, uniquingKeysWith: { first, _ in first })
    }
}
