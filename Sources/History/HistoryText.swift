// HistoryText: the history for people and tools — machine lists, per-case trends (a table with a
// sparkline, markdown, CSV) and check results (text, markdown, JUnit). HistoryHTML.swift draws the plots.

import Documents
import Foundation

/// Renders history results.
public enum HistoryText {
    /// The eight block characters, lowest first.
    static let blocks = Array("▁▂▃▄▅▆▇█")

    /// One character per value, scaled between the series' smallest and largest.
    public static func sparkline(_ values: [Double]) -> String {
        guard let low = values.min(), let high = values.max() else { return "" }
        let span = high - low
        return String(
            values.map { value in
                span > 0 ? blocks[min(blocks.count - 1, Int((value - low) / span * Double(blocks.count)))] : blocks[3]
            })
    }

    /// A number of cycles for tables: grouped digits, no fraction.
    static func cycles(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = value.magnitude < 100 ? 1 : 0
        formatter.locale = Locale(identifier: "en_US")
        return formatter.string(from: NSNumber(value: value)) ?? String(value)
    }

    /// "+12.3 %".
    static func percent(_ value: Double) -> String {
        (value >= 0 ? "+" : "−") + String(format: "%.1f %%", abs(value))
    }

    /// The machines: key, label, reports, first and last, summary.
    public static func machines(_ machines: [StoredMachine], format: HistoryFormat) -> String {
        switch format {
        case .csv:
            return "key,label,reports,first,last,machine\n"
                + machines.map { m in
                    [m.key, m.label, String(m.reports), m.first, m.last, m.summary].map(csvField).joined(separator: ",")
                }.joined(separator: "\n") + "\n"
        case .markdown:
            return "| machine | label | reports | first | last | fingerprint |\n|---|---|---:|---|---|---|\n"
                + machines.map { m in
                    "| `\(m.key)` | \(m.label) | \(m.reports) | \(m.first) | \(m.last) | \(markdownCell(m.summary)) |\n"
                }.joined()
        default:
            if machines.isEmpty { return "no reports stored yet (nestprobe history add REPORT…)\n" }
            return machines.map { m in
                "\(m.key)\(m.label.isEmpty ? "" : " [\(m.label)]")  \(m.reports) report\(m.reports == 1 ? "" : "s"), "
                    + "\(m.first) … \(m.last)\n  \(m.summary)\n"
            }.joined()
        }
    }

    /// The reports of one machine, oldest first.
    public static func reports(_ reports: [StoredReport], format: HistoryFormat) -> String {
        switch format {
        case .csv:
            return "index,created_at,file,digest,tool,injected_delay\n"
                + reports.enumerated().map { i, r in
                    [String(i), r.createdAt, r.file, r.digest, r.toolVersion, r.injectedDelay ?? ""].map(csvField)
                        .joined(separator: ",")
                }.joined(separator: "\n") + "\n"
        case .markdown:
            return "| # | time | file | tool | injected delay |\n|---:|---|---|---|---|\n"
                + reports.enumerated().map { i, r in
                    "| \(i) | \(r.createdAt) | \(markdownCell(r.file)) | \(r.toolVersion) | \(r.injectedDelay ?? "") |\n"
                }.joined()
        default:
            return reports.enumerated().map { i, r in
                String(format: "%4d  ", i) + "\(r.createdAt)  \(r.file)"
                    + (r.injectedDelay.map { "  (injected delay \($0))" } ?? "") + "\n"
            }.joined()
        }
    }

    /// Per case, its report medians: first, last, range and a sparkline (text, markdown), or one row per
    /// report and case (CSV).
    public static func trend(
        _ checks: [CaseCheck], reports: [StoredReport], options: CheckOptions, format: HistoryFormat
    ) -> String {
        let unit = options.seriesDescription
        switch format {
        case .csv:
            var out = "case,report_index,created_at,file,median\n"
            for check in checks {
                for (report, value) in check.series.reportMedians {
                    out +=
                        [
                            check.caseID, String(report), reports[report].createdAt, reports[report].file,
                            String(value),
                        ].map(csvField).joined(separator: ",") + "\n"
                }
            }
            return out
        case .markdown:
            var out =
                "Median of each report's runs (\(unit)).\n\n| case | reports | first | last | trend | change points |\n|---|---:|---:|---:|---|---|\n"
            for check in checks {
                let medians = check.series.reportMedians.map(\.value)
                out +=
                    "| \(check.caseID) | \(medians.count) | \(cycles(medians.first ?? .nan)) | "
                    + "\(cycles(medians.last ?? .nan)) | \(sparkline(medians)) | \(changeList(check.changes)) |\n"
            }
            return out
        default:
            let width = max(24, checks.map(\.caseID.count).max() ?? 0)
            var out = "Median of each report's runs (\(unit))\n"
            out += "case".padding(toLength: width, withPad: " ", startingAt: 0) + "  first     last     trend\n"
            for check in checks {
                let medians = check.series.reportMedians.map(\.value)
                out +=
                    check.caseID.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  " + cycles(medians.first ?? .nan).leftPad(8) + " " + cycles(medians.last ?? .nan).leftPad(8)
                    + "  " + sparkline(medians) + "\n"
                for change in check.changes { out += "    " + changeLine(change) + "\n" }
            }
            return out
        }
    }

    /// The check: every reported change point, the newest window's first, and the verdict.
    public static func check(_ result: CheckResult, format: HistoryFormat) -> String {
        let changes = result.cases.flatMap(\.changes)
        let verdict: String
        switch result.exitCode {
        case 2: verdict = "REGRESSION in the newest \(result.options.window) report(s)"
        case 4: verdict = "improvements only in the newest \(result.options.window) report(s)"
        default: verdict = "no change point in the newest \(result.options.window) report(s)"
        }
        switch format {
        case .junit:
            return junit(result)
        case .markdown:
            var out =
                "**history check** `\(result.machine.key)` — \(result.reportCount) reports, "
                + "\(result.cases.count) cases judged: \(verdict)\n\n"
            out += "| case | report | time | before | after | change | p | newest window |\n"
            out += "|---|---:|---|---:|---:|---:|---:|---|\n"
            for c in changes {
                out +=
                    "| \(c.caseID) | \(c.reportIndex) | \(c.createdAt) | \(cycles(c.before)) | \(cycles(c.after)) | "
                    + "\(percent(c.changePercent)) | \(String(format: "%.3f", c.pValue)) | \(c.inWindow ? "yes" : "") |\n"
            }
            return out
        case .csv:
            var out = "case,report_index,created_at,file,before,after,change_percent,p_value,in_window\n"
            for c in changes {
                out +=
                    [
                        c.caseID, String(c.reportIndex), c.createdAt, c.file, String(c.before), String(c.after),
                        String(c.changePercent), String(c.pValue), String(c.inWindow),
                    ].map(csvField).joined(separator: ",") + "\n"
            }
            return out
        default:
            var out =
                "history check \(result.machine.key)\(result.machine.label.isEmpty ? "" : " [\(result.machine.label)]"): "
                + "\(result.reportCount) reports, \(result.cases.count) cases judged "
                + "(\(result.options.seriesDescription); "
                + "E-divisive, first splits at p ≤ \(result.options.detector.pValue) across the cases (Benjamini–Hochberg), change ≥ \(result.options.thresholdPercent) %; "
                + "newest report: adjusted p ≤ \(result.options.newestAlpha) across the cases, Benjamini–Hochberg)\n"
            if changes.isEmpty { out += "  no change points\n" }
            for c in changes.sorted(by: { ($0.reportIndex, $0.caseID) < ($1.reportIndex, $1.caseID) }) {
                out += "  \(c.inWindow ? "*" : " ") \(c.caseID): " + changeLine(c) + "\n"
            }
            return out + "\(verdict)\n"
        }
    }

    /// "report 31 (2026-…, r31.json): 15,000 → 16,500, +10.0 %, p 0.005".
    static func changeLine(_ c: CaseChange) -> String {
        "report \(c.reportIndex) (\(c.createdAt), \(c.file)): \(cycles(c.before)) → \(cycles(c.after)), "
            + "\(percent(c.changePercent)) (\(c.isRegression ? "slower" : "faster")), p \(String(format: "%.3f", c.pValue))"
            + (c.adjustedP.map { ", adjusted p \(String(format: "%.4f", $0)) (newest report)" } ?? "")
    }

    static func changeList(_ changes: [CaseChange]) -> String {
        changes.map { "#\($0.reportIndex) \(percent($0.changePercent))" }.joined(separator: ", ")
    }

    /// JUnit: one test case per judged case, failing when it has a regression change point in the window.
    static func junit(_ result: CheckResult) -> String {
        let failures = result.cases.filter { $0.changes.contains { $0.inWindow && $0.isRegression } }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out +=
            "<testsuites name=\"nestprobe history check\" tests=\"\(result.cases.count)\" failures=\"\(failures)\">\n"
        out +=
            "  <testsuite name=\"\(xml(result.machine.key))\" tests=\"\(result.cases.count)\" failures=\"\(failures)\">\n"
        for check in result.cases {
            out += "    <testcase classname=\"history.\(xml(result.machine.key))\" name=\"\(xml(check.caseID))\""
            let regressions = check.changes.filter { $0.inWindow && $0.isRegression }
            if regressions.isEmpty {
                out += "/>\n"
            } else {
                let text = regressions.map(changeLine).joined(separator: "; ")
                out += ">\n      <failure message=\"\(xml(text))\">\(xml(text))</failure>\n    </testcase>\n"
            }
        }
        return out + "  </testsuite>\n</testsuites>\n"
    }

    /// XML text and attribute escaping.
    static func xml(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func markdownCell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|")
    }
}

extension String {
    /// Right-aligned in `width` columns.
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
