// RenderText: the bench table for people, 80 columns wide: the context, this level's own exits, one row
// per case with its notes under it, the three-level section, and how each guest mode executes. The rows
// and every figure come from RenderTable and RenderNumber, as in the Markdown and HTML pages, so the same
// report shows the same numbers in every format.

import Documents

/// Renders a bench report as text.
public enum RenderText {
    /// The table: case | this level | guest level | µs | × | exits to, with notes under a row.
    public static func render(_ report: BenchReport) -> String {
        let c = report.context
        var out: [String] = []
        out.append("nestprobe bench — this level \(c.level) (at least \(c.levelLowerBound)), guests at \(c.guestLevel)")
        out.append("  CPU: \(c.cpu)")
        out.append(
            "  KVM: \(c.kvmModule ?? "none"); TSC \(String(format3: c.tsc.hz / 1e6)) MHz (\(c.tsc.source.rawValue))"
                + (c.guestTSCkHz.map { "; guest TSC \($0) kHz" } ?? ""))
        if let runs = c.runs {
            out += wrap(
                "runs: \(runs) asked, each case in a fresh guest, order shuffled per run (seed "
                    + "\(c.runOrderSeed.map { String($0) } ?? "?"))", indent: "  ")
        }
        for note in c.notes { out += wrap("note: " + note, indent: "  ") }
        out.append("")
        out.append("Net cycles per exit (median of runs: case less baseline in the same guest)")
        out += mainTable(report)
        out += threeLevelSection(report)
        out.append("")
        for mode in report.guestExecution {
            out += wrap("\(mode.mode) CPL\(mode.cpl): \(mode.note)", indent: "  ")
        }
        out.append("  wall time \(String(format3: report.wallSeconds)) s")
        // The trailing newline as an empty last line: `joined() + "\n"` would copy the whole text once more.
        out.append("")
        return out.joined(separator: "\n")
    }

    /// This level's own exits, then RenderTable's main rows: case | this lvl | guest | µs | × | exits to.
    static func mainTable(_ report: BenchReport) -> [String] {
        var out = [
            TextFormat.pad("case", 35) + lpad("this lvl", 9) + lpad("guest", 8) + lpad("µs", 7) + lpad("×", 6)
                + "  exits to"
        ]
        // This level's own exits first: they are there even when no guest could be booted.
        for host in report.hostLevel {
            out.append(
                TextFormat.pad(host.id, 35) + lpad(RenderNumber.cycles(host.netMedianCycles), 9) + lpad("", 8)
                    + lpad(RenderNumber.microseconds(host.netMedianNanoseconds), 7) + lpad("", 6)
                    + (host.netMedianCycles < CPUIDCostBands.noTrap ? "  none (no trap)" : "  level below"))
        }
        let table = RenderTable.main(report)
        for row in table.rows {
            // A net below resolution is never printed as a figure: the guest, µs and × columns say so.
            let figures =
                row.belowResolution
                ? lpad("below resolution", 21)
                : lpad(table.cell(row, "guest level"), 8) + lpad(table.cell(row, "µs"), 7)
                    + lpad(table.cell(row, "×"), 6)
            out.append(
                TextFormat.pad(row.caseID, 35) + lpad(table.cell(row, "this level"), 9) + figures + "  "
                    + table.cell(row, "exits to"))
            out += notes(table.cell(row, "note"))
        }
        return out
    }

    /// The three-level section, starting with a blank line: RenderTable's three-level rows, or the one line
    /// that says why every three-level case was skipped; nothing when the report has no three-level case.
    static func threeLevelSection(_ report: BenchReport) -> [String] {
        if let skipped = RenderTable.threeLevelSkipped(report) { return [""] + wrap(skipped, indent: "") }
        guard let table = RenderTable.threeLevel(report) else { return [] }
        var out = ["", RenderTable.threeLevelTitle]
        if report.context.emulatedHost {
            out += wrap("(QEMU TCG below this level: every figure is emulation, not hardware)", indent: "  ")
        }
        out.append(
            TextFormat.pad("case", 22) + lpad("this lvl", 9) + lpad("guest", 9) + lpad("guest's g", 10)
                + lpad("×", 6) + lpad("×", 6) + "  exits to")
        for row in table.rows {
            out.append(
                TextFormat.pad(row.caseID, 22) + lpad(table.cell(row, "this level"), 9)
                    + lpad(table.cell(row, "guest level"), 9) + lpad(table.cell(row, "guest's guest"), 10)
                    + lpad(table.cell(row, "× guest"), 6) + lpad(table.cell(row, "× guest's guest"), 6) + "  "
                    + table.cell(row, "exits to"))
            out += notes(table.cell(row, "note"))
        }
        return out
    }

    /// A row's note, wrapped and indented under it; nothing when it has none.
    private static func notes(_ note: String) -> [String] {
        note.isEmpty ? [] : wrap(note, indent: "    ")
    }

    private static func lpad(_ text: String, _ width: Int) -> String {
        TextFormat.lpad(text, width)
    }

    private static func wrap(_ text: String, indent: String) -> [String] {
        TextFormat.wrap(text, indent: indent)
    }
}
