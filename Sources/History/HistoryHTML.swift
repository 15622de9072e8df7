// HistoryHTML: `history trend --format html` — one self-contained page (inline CSS and SVG, no scripts,
// nothing fetched) with a plot per case: a dot per report (the median of its runs), the segments between
// kept splits drawn as steps at their medians, and reported change points marked with a dashed line.

import Foundation

/// Renders trend pages.
public enum HistoryHTML {
    /// The page for one machine's check (run with keepSeries).
    public static func page(_ result: CheckResult, reports: [StoredReport]) -> String {
        let title = "nestprobe history — \(result.machine.key)"
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(HistoryText.xml(title))</title>
            <style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}h2{font-size:15px;margin:1.5em 0 .3em}
            .dot{fill:#3366aa}.step{stroke:#d2691e;stroke-width:2;fill:none}.cp{stroke:#c0392b;stroke-dasharray:4 3}
            .axis{stroke:#999}text{font-size:11px;fill:#555}p.note{color:#555}</style></head><body>
            <h1>\(HistoryText.xml(title))</h1>
            <p>\(HistoryText.xml(result.machine.summary))\(result.machine.label.isEmpty ? "" : " · label " + HistoryText.xml(result.machine.label)) · \(reports.count) reports, \(HistoryText.xml(reports.first?.createdAt ?? "")) … \(HistoryText.xml(reports.last?.createdAt ?? ""))</p>
            <p class="note">Median of each report's runs, \(HistoryText.xml(result.options.seriesDescription)). Steps: segment medians between kept splits. Dashed: reported change points (E-divisive, first splits at p ≤ \(result.options.detector.pValue) across the cases, Benjamini–Hochberg; change ≥ \(result.options.thresholdPercent) %).</p>

            """
        for check in result.cases {
            out += "<h2>\(HistoryText.xml(check.caseID))</h2>\n" + plot(check, reportCount: reports.count)
            for change in check.changes {
                out += "<p>\(HistoryText.xml(HistoryText.changeLine(change)))</p>\n"
            }
        }
        return out + "</body></html>\n"
    }

    /// One case's SVG.
    static func plot(_ check: CaseCheck, reportCount: Int) -> String {
        let medians = check.series.reportMedians
        guard let low = medians.map(\.value).min(), let high = medians.map(\.value).max() else {
            return "<p>no runs</p>\n"
        }
        let width = 720.0
        let height = 180.0
        let left = 64.0
        let bottom = 20.0
        let span = high > low ? high - low : max(1, high * 0.01)
        let lo = low - span * 0.1
        let hi = high + span * 0.1
        func x(_ report: Double) -> Double {
            left + (width - left - 10) * (reportCount > 1 ? report / Double(reportCount - 1) : 0.5)
        }
        func y(_ value: Double) -> Double { (height - bottom) * (1 - (value - lo) / (hi - lo)) + 4 }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">\n"
        svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(y(lo))\" x2=\"\(width - 10)\" y2=\"\(y(lo))\"/>\n"
        svg += "<text x=\"2\" y=\"\(fmt(y(hi) + 10))\">\(HistoryText.cycles(hi))</text>"
        svg += "<text x=\"2\" y=\"\(fmt(y(lo)))\">\(HistoryText.cycles(lo))</text>\n"
        // Segment medians as steps.
        let cuts = [0] + check.splits + [check.series.values.count]
        for k in 0..<(cuts.count - 1) where cuts[k + 1] > cuts[k] {
            let values = Array(check.series.values[cuts[k]..<cuts[k + 1]])
            guard let median = HistoryRecord.median(values) else { continue }
            let first = Double(check.series.reportIndex[cuts[k]])
            let last = Double(check.series.reportIndex[cuts[k + 1] - 1])
            // Half a report either side, so a segment of one report is still a step.
            let from = max(left, x(first - 0.5))
            let to = min(width - 10, x(last + 0.5))
            svg += "<path class=\"step\" d=\"M\(fmt(from)) \(fmt(y(median))) H\(fmt(to))\"/>\n"
        }
        for change in check.changes {
            let at = x(Double(change.reportIndex) - 0.5)
            svg += "<line class=\"cp\" x1=\"\(fmt(at))\" y1=\"4\" x2=\"\(fmt(at))\" y2=\"\(fmt(y(lo)))\"/>"
            svg +=
                "<text x=\"\(fmt(at + 3))\" y=\"14\">\(HistoryText.xml(HistoryText.percent(change.changePercent)))</text>\n"
        }
        for (report, value) in medians {
            svg += "<circle class=\"dot\" cx=\"\(fmt(x(Double(report))))\" cy=\"\(fmt(y(value)))\" r=\"2.5\">"
            svg += "<title>report \(report): \(HistoryText.cycles(value))</title></circle>\n"
        }
        return svg + "</svg>\n"
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
