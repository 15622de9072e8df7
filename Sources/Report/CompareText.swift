// CompareText: the comparison for people, at most 80 columns — the two reports, any context warnings,
// the verdict table grouped by level and mode, the cases not compared, and one summary line.

import Probe

/// Renders a comparison as text.
public enum CompareText {
    public static func render(_ report: CompareReport) -> String {
        var out: [String] = []
        out.append("nestprobe compare")
        for (label, identity) in [("base", report.base), ("new ", report.new)] {
            out.append("  \(label) \(identity.file)")
            out += wrap(
                "\(identity.createdAt): \(identity.cpu), kernel \(identity.kernelRelease ?? "unknown"), "
                    + "\(identity.level) (guests \(identity.guestLevel)), \(identity.kvmModule ?? "no KVM")",
                indent: "       ")
        }
        for difference in report.differences {
            switch difference.severity {
            case .refuse:
                out += wrap(
                    "WARNING: \(difference.line): compared only because of --force; the figures may not "
                        + "be comparable", indent: "")
            case .warn:
                out += wrap("warning: \(difference.line)", indent: "")
            }
        }
        for note in report.notes { out += wrap("note: \(note)", indent: "") }
        out.append("")
        let m = report.method
        out += wrap(
            "Cycles per exit (median, less the timing baseline); change of the median with its 95 % "
                + "bootstrap interval; p: two-sided Mann–Whitney U. Verdict: past the threshold "
                + "(\(number(m.defaultThresholdPercent)) % unless set per case) and the noise floor, at p < \(number(m.alpha)).",
            indent: "")
        out.append("")
        out += table(report.rows)
        if !report.unpaired.isEmpty {
            out.append("")
            out.append("Not compared:")
            for entry in report.unpaired {
                let what: String
                switch entry.change {
                case "added": what = "added: only in the new report (\(entry.newStatus))"
                case "removed": what = "removed: only in the base report (\(entry.baseStatus))"
                default:
                    what =
                        entry.baseStatus == entry.newStatus
                        ? "\(entry.baseStatus) in both" : "base \(entry.baseStatus), new \(entry.newStatus)"
                }
                out += wrap("\(entry.id): \(what)" + (entry.reason.map { "; \($0)" } ?? ""), indent: "  ")
            }
        }
        out.append("")
        out += wrap(summaryLine(report.summary), indent: "")
        return out.joined(separator: "\n") + "\n"
    }

    /// The one-line summary.
    public static func summaryLine(_ s: CompareSummary) -> String {
        let outcome: String
        switch s.verdict {
        case .regression: outcome = "exit 2: regression"
        case .improvement: outcome = "exit 4: improvements only"
        case .unchanged: outcome = "exit 0: no change"
        }
        var counts = [
            count(s.regressions, "regression"), count(s.improvements, "improvement"), "\(s.unchanged) unchanged",
        ]
        if s.notCompared > 0 { counts.append("\(s.notCompared) not compared") }
        if s.added > 0 { counts.append("\(s.added) added") }
        if s.removed > 0 { counts.append("\(s.removed) removed") }
        return counts.joined(separator: ", ") + " — \(outcome)"
    }

    /// Rows grouped by what follows the id's "/" (the mode, or "host"), each group under a heading.
    static func table(_ rows: [CompareRow]) -> [String] {
        var out: [String] = []
        out.append(
            pad("case", 25) + lpad("base", 9) + lpad("new", 9) + lpad("change", 8) + lpad("95 % CI", 12)
                + lpad("p", 7) + " verdict")
        var group: String?
        for row in rows {
            let (name, suffix) = split(row.id)
            let heading =
                row.source == "host-level"
                ? "this level (\(row.level)), timed in this process" : "/\(suffix): guests (\(row.level))"
            if heading != group {
                out.append("· " + heading)
                group = heading
            }
            let interval = row.changeCI95Percent.map { percent($0[0]) + "…" + percent($0[1]) } ?? "—"
            let line =
                pad("  " + name, 25) + lpad(cycles(row.baseMedian), 9) + lpad(cycles(row.newMedian), 9)
                + lpad(row.changePercent.map { percent($0) + "%" } ?? "—", 8) + lpad(interval, 12)
                + lpad(pValue(row.pValue), 7) + " " + verdictWord(row)
            out.append(line)
        }
        out += wrap(
            "same: within the threshold; noise: within the noise floor; n.s.: not significant; "
                + "few: too few samples; n/a: no positive base median", indent: "")
        return out
    }

    static func verdictWord(_ row: CompareRow) -> String {
        switch (row.verdict, row.reason) {
        case (.regression, _): return "REGRESSED"
        case (.improvement, _): return "improved"
        case (_, .belowThreshold): return "same"
        case (_, .withinNoise): return "noise"
        case (_, .notSignificant): return "n.s."
        case (_, .tooFewSamples): return "few"
        case (_, .noBaseFigure), (_, .significant): return "n/a"
        }
    }

    /// "name" and "suffix" from "name/suffix".
    static func split(_ id: String) -> (String, String) {
        guard let slash = id.lastIndex(of: "/") else { return (id, "") }
        return (String(id[..<slash]), String(id[id.index(after: slash)...]))
    }

    /// Signed percent: one decimal below 100, whole above.
    static func percent(_ value: Double) -> String {
        let sign = value >= 0 ? "+" : "-"
        let size = abs(value)
        guard size.isFinite else { return sign + "∞" }
        return sign + (size < 100 ? fixed(size, 1) : CheckedNumber.wholeText(size))
    }

    static func pValue(_ p: Double) -> String { p < 0.001 ? "<0.001" : fixed(p, 3) }

    /// Cycles grouped by thousands; one decimal below 100.
    static func cycles(_ value: Double) -> String {
        abs(value) >= 100 ? TextFormat.grouped(value) : fixed(value, 1)
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : "\(value)"
    }

    /// `value` with exactly `digits` decimals (rounded half away from zero).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : value < 0 ? "-∞" : "∞" }
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        guard let scaled = CheckedNumber.int(abs(value) * Double(scale)) else { return "\(value)" }
        let fraction = String(scaled % scale)
        let text =
            digits == 0
            ? "\(scaled)" : "\(scaled / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
        return (value < 0 && scaled != 0 ? "-" : "") + text
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width
            ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
    }

    static func lpad(_ text: String, _ width: Int) -> String {
        TextFormat.lpad(text, width)
    }

    /// Words of `text` in lines of at most `width`; continuation lines indented two more.
    static func wrap(_ text: String, indent: String, width: Int = 80) -> [String] {
        TextFormat.wrap(text, indent: indent, width: width)
    }
}
