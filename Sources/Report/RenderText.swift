// RenderText: the bench table for people, 80 columns wide: the context, this level's own exits, one row
// per case with its notes under it, the three-level section, and how each guest mode executes.

import Documents

/// Renders a bench report as text.
public enum RenderText {
    /// The table: case | this level | guest level | × | exits to, with notes under a row.
    public static func render(_ report: BenchReport) -> String {
        let c = report.context
        var out: [String] = []
        out.append("nestprobe bench — this level \(c.level) (at least \(c.levelLowerBound)), guests at \(c.guestLevel)")
        out.append("  CPU: \(c.cpu)")
        out.append("  KVM: \(c.kvmModule ?? "none"); TSC \(String(format3: c.tsc.hz / 1e6)) MHz (\(c.tsc.source.rawValue))"
            + (c.guestTSCkHz.map { "; guest TSC \($0) kHz" } ?? ""))
        if let runs = c.runs {
            out += wrap("runs: \(runs) asked, each case in a fresh guest, order shuffled per run (seed "
                + "\(c.runOrderSeed.map { String($0) } ?? "?"))", indent: "  ")
        }
        for note in c.notes { out += wrap("note: " + note, indent: "  ") }
        out.append("")
        out.append("Net cycles per exit (median of runs: case less baseline in the same guest)")
        out.append(pad("case", 35) + lpad("this lvl", 9) + lpad("guest", 8) + lpad("µs", 7) + lpad("×", 6) + "  exits to")
        // This level's own exits first: they are there even when no guest could be booted.
        for host in report.hostLevel {
            out.append(pad(host.id, 35) + lpad(grouped(host.netMedianCycles), 9) + lpad("", 8)
                + lpad(String(format3: (host.netMedianNanoseconds / 1000 * 100).rounded() / 100), 7) + lpad("", 6)
                + (host.netMedianCycles < CPUIDCostBands.noTrap ? "  none (no trap)" : "  level below"))
        }
        for row in report.table where !isThreeLevel(row.caseID) {
            // A net below resolution is never printed as a figure: the guest, µs and × columns say so.
            let figures = row.belowResolution == true
                ? lpad("below resolution", 21)
                : lpad(row.guestLevelCycles.map { grouped($0) } ?? "—", 8)
                    + lpad(row.guestLevelNanoseconds.map { String(format3: ($0 / 1000 * 100).rounded() / 100) } ?? "—", 7)
                    + lpad(row.multiplier.map { String(format3: ($0 * 10).rounded() / 10) + "×" } ?? "", 6)
            let line = pad(row.caseID, 35) + lpad(row.thisLevelCycles.map { grouped($0) } ?? "—", 9) + figures
                + "  " + row.exitsTo
            out.append(line)
            if !row.note.isEmpty { out += wrap(row.note, indent: "    ") }
        }
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

    static func pad(_ text: String, _ width: Int) -> String {
        TextFormat.pad(text, width)
    }

    static func lpad(_ text: String, _ width: Int) -> String {
        TextFormat.lpad(text, width)
    }

    static func grouped(_ value: Double) -> String {
        TextFormat.grouped(value)
    }

    static func wrap(_ text: String, indent: String, width: Int = 80) -> [String] {
        TextFormat.wrap(text, indent: indent, width: width)
    }
}
