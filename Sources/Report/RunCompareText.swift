// RunCompareText: the comparison on runs for people, in 80 columns — the reports on each side, context
// warnings and notes, the table grouped by level and mode (figures, change, interval, adjusted p, the
// detectable change and the verdict), a line per row that is not simply the same, and the summary.

import Documents

/// Renders a run comparison as text.
public enum RunCompareText {
    public static func render(_ report: RunCompareReport) -> String {
        var out: [String] = ["nestprobe compare"]
        for (label, side) in [("base", report.base), ("new ", report.new)] {
            for identity in side {
                out.append("  \(label) \(identity.file)")
                out += wrap(
                    "\(identity.createdAt): \(identity.cpu), \(identity.level) (guests \(identity.guestLevel))",
                    indent: "       ")
            }
        }
        for difference in report.differences {
            let prefix = difference.severity == .refuse ? "WARNING: " : "warning: "
            let suffix = difference.severity == .refuse ? " (compared only because of --force)" : ""
            out += wrap(prefix + difference.line + suffix, indent: "")
        }
        for note in report.notes { out += wrap("note: \(note)", indent: "") }
        out.append("")
        let m = report.method
        let tested =
            report.replication.map {
                "change relative to the machine's own shift, with its 95 % interval over the reports; p adj: moderated "
                    + "t on the \($0.baseReports) + \($0.newReports) reports (each bench invocation one), Holm-adjusted; detect: "
                    + "the smallest change these reports catch 8 times in 10"
            }
            ?? ("change with its 95 % interval from the runs; p adj: Mann–Whitney on the runs, Holm-adjusted; detect: "
                + "the smallest change these runs catch 8 times in 10")
        out += wrap(
            "Cycles per exit, median of the runs (g: gross, the net being below resolution); \(tested). Verdict "
                + "past the threshold (\(number(m.defaultThresholdPercent)) % unless set per case) at p adj < "
                + "\(number(m.alpha)).", indent: "")
        out.append("")
        out += table(report.rows)
        // Rows with too few runs are all alike; the note above says so once.
        let details = report.rows.filter { ![.same, .notJudged].contains($0.verdict) && $0.reason != .tooFewRuns }
        if !details.isEmpty { out.append("") }
        for row in details { out += wrap("\(row.id): \(explanation(row))", indent: "  ") }
        if !report.unpaired.isEmpty {
            out.append("")
            out.append("Not compared:")
            for entry in report.unpaired {
                let what =
                    entry.change == "added"
                    ? "added: only in the new reports (\(entry.newStatus))"
                    : "base \(entry.baseStatus), new \(entry.newStatus)"
                out += wrap("\(entry.id): \(what)" + (entry.reason.map { "; \($0)" } ?? ""), indent: "  ")
            }
        }
        out.append("")
        out += wrap(summaryLine(report.summary), indent: "")
        return out.joined(separator: "\n") + "\n"
    }

    /// The one-line summary.
    public static func summaryLine(_ s: RunCompareSummary) -> String {
        let outcome: String
        switch s.exitCode {
        case 2: outcome = "exit 2: regression"
        case 5: outcome = "exit 5: inconclusive"
        case 4: outcome = "exit 4: improvements only"
        default: outcome = "exit 0: the same"
        }
        var counts = [
            "\(s.regressed) regressed", "\(s.improved) improved", "\(s.inconclusive) inconclusive", "\(s.same) same",
        ]
        if s.missing > 0 { counts.append("\(s.missing) missing") }
        if s.notJudged > 0 { counts.append("\(s.notJudged) not judged") }
        if s.added > 0 { counts.append("\(s.added) added") }
        if s.notCompared > 0 { counts.append("\(s.notCompared) not compared") }
        return counts.joined(separator: ", ") + " — \(outcome)"
    }

    /// Why a row has its verdict, in words.
    public static func explanation(_ row: RunCompareRow) -> String {
        let runs =
            row.test == "moderated-t"
            ? "\(row.baseRuns) vs \(row.newRuns) runs, tested on their reports"
            : "\(row.baseRuns) vs \(row.newRuns) runs"
        let p = row.pValue.map {
            "p \(CompareNumbers.pValue($0)), adjusted \(CompareNumbers.pValue(row.adjustedP ?? 1))"
        }
        let detect = "detectable \(detectable(row))"
        switch row.reason {
        case .significant:
            return "\(row.verdict.rawValue): \(runs), \([p, detect].compactMap { $0 }.joined(separator: "; "))"
        case .notSignificant:
            return "inconclusive: past the threshold but not significant (\(runs), \(p ?? "no p"); \(detect))"
        case .intervalIncludesZero:
            return "inconclusive: significant, but the interval includes no change (\(runs))"
        case .tooFewRuns:
            return "inconclusive: \(runs) cannot reach the adjusted level whatever the data; take more runs"
        case .noBaseFigure: return "inconclusive: the base figure is not positive"
        case .absentInNew: return "MISSING: in the base, absent from the new reports"
        case .notOkInNew:
            return "MISSING: in the base, not ok in the new reports" + (row.figureNote.map { " (\($0))" } ?? "")
        case .belowThreshold: return "same: within the threshold (\(runs))"
        case .notSelected: return "not judged: left out by --cases/--exclude"
        case .emulatedInKernel: return "not judged: in-kernel exit of an emulated guest"
        case .notAnExit: return "not judged: times no exit (a calibration row)"
        case .machineShift:
            let interval = row.changeCI95Percent.map {
                "\(CompareNumbers.percent($0[0]))…\(CompareNumbers.percent($0[1]))"
            }
            return
                "inconclusive: significant (\(runs), \(p ?? "no p")), but its change \(interval ?? "") does not clear "
                + "the whole machine's shift and path spread between the sides"
        }
    }

    /// The detectable change as printed: ±12.3 %, "none" (too few runs) or "?".
    static func detectable(_ row: RunCompareRow) -> String {
        switch row.detectable {
        case "percent":
            return row.detectableChangePercent.map { "±" + CompareNumbers.percent($0).dropFirst() + "%" } ?? "?"
        case "none": return "none"
        default: return "?"
        }
    }

    static func table(_ rows: [RunCompareRow]) -> [String] {
        var out = [
            pad("case", 18) + lpad("base", 7) + lpad("new", 7) + lpad("change", 8) + lpad("95 % CI", 13)
                + lpad("p adj", 7) + lpad("detect", 7) + " verdict"
        ]
        var group: String?
        for row in rows {
            let (name, suffix) = CompareNumbers.split(row.id)
            let heading =
                row.source == "host-level"
                ? "this level (\(row.level)), timed in this process" : "/\(suffix): guests (\(row.level))"
            if heading != group {
                out.append("· " + heading)
                group = heading
            }
            let interval = row.changeCI95Percent.map {
                CompareNumbers.percent($0[0]) + "…" + CompareNumbers.percent($0[1])
            }
            let line =
                pad("  " + name + (row.figure == "gross" ? " g" : ""), 18)
                + lpad(row.baseMedian.map(CompareNumbers.cycles) ?? "—", 7)
                + lpad(row.newMedian.map(CompareNumbers.cycles) ?? "—", 7)
                + lpad(row.changePercent.map { CompareNumbers.percent($0) + "%" } ?? "—", 8) + lpad(interval ?? "—", 13)
                + lpad(row.adjustedP.map(CompareNumbers.pValue) ?? "—", 7)
                + lpad(row.verdict == .notJudged || row.verdict == .missing ? "—" : detectable(row), 7) + " "
                + word(row)
            out.append(line)
        }
        return out
    }

    static func word(_ row: RunCompareRow) -> String {
        switch row.verdict {
        case .regressed: "REGRESSED"
        case .improved: "improved"
        case .inconclusive: "inconclusive"
        case .same: "same"
        case .missing: "MISSING"
        case .notJudged: row.reason == .emulatedInKernel || row.reason == .notAnExit ? "not judged" : "left out"
        }
    }

    static func number(_ value: Double) -> String { CompareNumbers.number(value) }

    static func pad(_ text: String, _ width: Int) -> String { TextFormat.pad(text, width) }
    static func lpad(_ text: String, _ width: Int) -> String { TextFormat.lpad(text, width) }
    static func wrap(_ text: String, indent: String) -> [String] { TextFormat.wrap(text, indent: indent, width: 80) }
}
