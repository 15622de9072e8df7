// RunCompareMarkup: the comparison as bench's renderers show a report — a Markdown table for a pull
// request, and JUnit XML with one testcase per judged (or missing) case: a regression is a <failure>, an
// inconclusive or missing case an <error> (the data could not tell), the rest pass; each testcase's
// system-out carries the figures.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

/// The formats `nestprobe compare` writes.
public enum CompareFormat: String, CaseIterable, Sendable {
    case text, markdown, junit, json

    /// `report` in this format.
    public func render(_ report: RunCompareReport) throws -> Data {
        switch self {
        case .text: Data(RunCompareText.render(report).utf8)
        case .markdown: Data(RunCompareMarkdown.render(report).utf8)
        case .junit: Data(RunCompareJUnit.render(report).utf8)
        case .json: try DocumentFile.encodeJSON(report)
        }
    }
}

/// Renders a run comparison as Markdown.
public enum RunCompareMarkdown {
    public static func render(_ report: RunCompareReport) -> String {
        var out = ["## nestprobe compare", ""]
        out.append("Base: " + report.base.map { "`\(Markup.markdown($0.file))`" }.joined(separator: ", ") + "  ")
        out.append("New: " + report.new.map { "`\(Markup.markdown($0.file))`" }.joined(separator: ", "))
        out.append("")
        for difference in report.differences {
            out.append(
                "- " + (difference.severity == .refuse ? "**WARNING**: " : "warning: ")
                    + Markup.markdown(difference.line))
        }
        for note in report.notes { out.append("- note: " + Markup.markdown(note)) }
        if !report.differences.isEmpty || !report.notes.isEmpty { out.append("") }
        out.append("| case | figure | runs | base | new | change | 95 % CI | p adj | detectable | verdict |")
        out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
        for row in report.rows {
            let interval: String = row.changeCI95Percent.map(Self.interval) ?? "—"
            let change: String = row.changePercent.map { CompareNumbers.percent($0) + " %" } ?? "—"
            let judged = row.verdict != .notJudged && row.verdict != .missing
            var cells: [String] = ["`\(Markup.markdown(row.id))`", row.figure, "\(row.baseRuns) / \(row.newRuns)"]
            cells.append(row.baseMedian.map(CompareNumbers.cycles) ?? "—")
            cells.append(row.newMedian.map(CompareNumbers.cycles) ?? "—")
            cells += [change, interval, row.adjustedP.map(CompareNumbers.pValue) ?? "—"]
            cells += [judged ? RunCompareText.detectable(row) : "—", verdictCell(row)]
            out.append("| " + cells.joined(separator: " | ") + " |")
        }
        out.append("")
        for entry in report.unpaired {
            out.append(
                "- not compared: `\(Markup.markdown(entry.id))`: base \(entry.baseStatus), new \(entry.newStatus)")
        }
        out.append("**" + Markup.markdown(RunCompareText.summaryLine(report.summary)) + "**")
        return out.joined(separator: "\n") + "\n"
    }

    static func interval(_ ends: [Double]) -> String {
        CompareNumbers.percent(ends[0]) + " … " + CompareNumbers.percent(ends[1]) + " %"
    }

    static func verdictCell(_ row: RunCompareRow) -> String {
        let word =
            row.verdict == .regressed || row.verdict == .missing ? "**\(row.verdict.rawValue)**" : row.verdict.rawValue
        return word + " (\(row.reason.rawValue))"
    }
}

/// Renders a run comparison as JUnit XML.
public enum RunCompareJUnit {
    public static func render(_ report: RunCompareReport) -> String {
        let tested = report.rows.filter { $0.verdict != .notJudged }
        let failures = tested.filter { $0.verdict == .regressed }.count
        let errors = tested.filter { $0.verdict == .inconclusive || $0.verdict == .missing }.count
        let counts = "tests=\"\(tested.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\""
        let name = "nestprobe compare"
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"\(name)\" \(counts)>\n"
        xml += "  <testsuite name=\"\(name)\" \(counts)>\n"
        xml += "    <properties>\n"
        let properties = [
            ("base", report.base.map(\.file).joined(separator: " ")),
            ("new", report.new.map(\.file).joined(separator: " ")),
            ("alpha", String(report.method.alpha)), ("exitCode", String(report.summary.exitCode)),
        ]
        for (key, value) in properties {
            xml +=
                "      <property name=\"\(Markup.xml(key, attribute: true))\" value=\"\(Markup.xml(value, attribute: true))\"/>\n"
        }
        xml += "    </properties>\n"
        for row in tested {
            let message = RunCompareText.explanation(row)
            xml +=
                "    <testcase classname=\"nestprobe.compare.\(row.source)\" name=\"\(Markup.xml(row.id, attribute: true))\">\n"
            switch row.verdict {
            case .regressed:
                xml += "      <failure type=\"regressed\" message=\"\(Markup.xml(message, attribute: true))\"/>\n"
            case .inconclusive, .missing:
                xml +=
                    "      <error type=\"\(row.verdict.rawValue)\" message=\"\(Markup.xml(message, attribute: true))\"/>\n"
            default: break
            }
            xml += "      <system-out>\(Markup.xml(figures(row)))</system-out>\n    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func figures(_ row: RunCompareRow) -> String {
        var parts = ["\(row.figure) cycles per exit, \(row.baseRuns) vs \(row.newRuns) runs"]
        if let b = row.baseMedian, let n = row.newMedian {
            parts.append("base \(CompareNumbers.cycles(b)), new \(CompareNumbers.cycles(n))")
        }
        if let change = row.changePercent { parts.append("change \(CompareNumbers.percent(change)) %") }
        if let ci = row.changeCI95Percent {
            parts.append("95 % CI \(CompareNumbers.percent(ci[0])) … \(CompareNumbers.percent(ci[1])) %")
        }
        if let p = row.adjustedP { parts.append("p adj \(CompareNumbers.pValue(p))") }
        parts.append("detectable \(RunCompareText.detectable(row))")
        return parts.joined(separator: "; ") + "; " + RunCompareText.explanation(row)
    }
}
