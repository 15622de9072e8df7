// Fleet+Text: the fleet matrix as plain text (one aligned table per machine group), Markdown and CSV.
// Host names and labels come from file paths and sidecar files, so every one goes through the escape of
// the format it lands in (MessageText.oneLine for text, Markup.markdown, a quoted CSV field).

import Documents
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The formats `nestprobe fleet` writes.
public enum FleetFormat: String, CaseIterable, Sendable {
    case text, markdown, csv, html, junit, json
}

/// The cells every format shares.
enum FleetCells {
    /// The columns before the exits.
    static let headers = ["host", "label", "level", "hypervisor", "KVM module", "verdict"]

    static func leading(_ row: FleetRow) -> [String] {
        let f = row.host.fingerprint
        return [
            row.host.host, row.host.label.isEmpty ? "-" : row.host.label, f.level,
            // A host known only from its host.json has no facts: unknown, not "none".
            f.hypervisors.isEmpty ? (f.level == "unknown" ? "unknown" : "none") : f.hypervisors, f.kvmModule,
            row.host.verdict,
        ]
    }

    /// A signed percentage of a log ratio: +45 %, −12 %.
    static func departure(_ logRatio: Double) -> String {
        let percent = (exp(logRatio) - 1) * 100
        return (percent >= 0 ? "+" : "−") + RenderNumber.fixed(abs(percent), 0) + " %"
    }

    /// The lines of the summary under the matrix: counts and what made them.
    static func outcome(_ matrix: FleetMatrix) -> String {
        var parts: [String] = []
        let outliers = matrix.outlierCount
        parts.append("\(outliers) outlier\(outliers == 1 ? "" : "s")")
        let failed = matrix.notQualifiedCount
        parts.append("\(failed) host\(failed == 1 ? "" : "s") not qualified")
        let errors = matrix.errors.count
        parts.append("\(errors) file\(errors == 1 ? "" : "s") not read")
        return parts.joined(separator: ", ")
    }

    static func ruleText(_ r: FleetOutlierRule) -> String {
        "outlier: |ln(host / group median)| > \(RenderNumber.fixed(r.k, 1)) × 1.4826 × MAD and > "
            + "ln \(RenderNumber.fixed(r.minimumRatio, 2)), in groups of ≥ \(r.minimumGroup) hosts"
    }

    static func headline(_ matrix: FleetMatrix) -> String {
        let hosts = matrix.rows.count
        return "\(hosts) host\(hosts == 1 ? "" : "s") in \(matrix.groups.count) machine group"
            + "\(matrix.groups.count == 1 ? "" : "s") from \(matrix.reportCount) report"
            + "\(matrix.reportCount == 1 ? "" : "s")"
            + (matrix.ignored > 0
                ? " (\(matrix.ignored) other nestprobe file\(matrix.ignored == 1 ? "" : "s") left out)" : "")
    }
}

/// Renders the fleet matrix as text, Markdown or CSV.
public enum FleetText {
    /// The matrix as aligned text, one table per machine group.
    public static func text(_ matrix: FleetMatrix) -> String {
        var out = "nestprobe fleet: \(FleetCells.headline(matrix))\n"
        out += "exits: net median cycles per exit (each host's median over its bench reports); ! an outlier\n"
        out += FleetCells.ruleText(matrix.rule) + "\n"
        for group in matrix.groups {
            let n = group.rows.count
            out +=
                "\nmachine \(group.key): \(MessageText.oneLine(group.fingerprint.summary)) (\(n) host\(n == 1 ? "" : "s")"
            out += group.judged.isEmpty ? ", too few to judge)\n" : ")\n"
            var table = [FleetCells.headers + FleetExits.ids]
            for row in group.rows {
                let exits = FleetExits.ids.map { id -> String in
                    guard let figure = row.figures[id] else { return "-" }
                    return RenderNumber.cycles(figure.cycles) + (row.judgements[id]?.outlier == true ? " !" : "")
                }
                table.append(FleetCells.leading(row).map(MessageText.oneLine) + exits)
            }
            table.append(
                ["group median", "", "", "", "", ""]
                    + FleetExits.ids.map { id in group.medians[id].map { RenderNumber.cycles($0.cycles) } ?? "-" })
            out += aligned(table, numeric: FleetCells.headers.count)
            for row in group.rows where row.outlier {
                let what = row.outlierExits.map { "\($0) \(FleetCells.departure(row.judgements[$0]!.logRatio))" }
                out += "  OUTLIER \(MessageText.oneLine(row.host.host)): " + what.joined(separator: ", ") + "\n"
            }
            for row in group.rows where row.host.fingerprintsDiffer {
                out += "  note: \(MessageText.oneLine(row.host.host))'s bench reports name different machines; "
                out += "the first is shown\n"
            }
        }
        if !matrix.errors.isEmpty {
            out += "\nnot read (\(matrix.errors.count)):\n"
            for error in matrix.errors {
                out += "  \(MessageText.oneLine(error.file)): \(MessageText.oneLine(error.message))\n"
            }
        }
        return out + "\nresult: \(FleetCells.outcome(matrix))\n"
    }

    /// Columns padded to their widest cell; the first `numeric`… columns left-aligned, the rest right.
    static func aligned(_ rows: [[String]], numeric first: Int) -> String {
        var widths = [Int](repeating: 0, count: rows.first?.count ?? 0)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            "  "
                + row.enumerated().map { index, cell in
                    let pad = String(repeating: " ", count: widths[index] - cell.count)
                    return index < first ? cell + pad : pad + cell
                }.joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }.joined()
    }

    /// The matrix as Markdown: one table per machine group, outliers in bold.
    public static func markdown(_ matrix: FleetMatrix) -> String {
        var out = "# nestprobe fleet\n\n\(FleetCells.headline(matrix)). Exits: net median cycles per exit "
        out +=
            "(µs), each host's median over its bench reports; **bold**: an outlier. \(FleetCells.ruleText(matrix.rule)).\n"
        for group in matrix.groups {
            out += "\n## Machine `\(group.key)`\n\n\(Markup.markdown(group.fingerprint.summary))\n\n"
            let headers = FleetCells.headers + FleetExits.ids
            out += "| " + headers.map(Markup.markdown).joined(separator: " | ") + " |\n"
            out += "|" + headers.indices.map { $0 < FleetCells.headers.count ? "---|" : "---:|" }.joined() + "\n"
            for row in group.rows {
                let exits = FleetExits.ids.map { id -> String in
                    guard let figure = row.figures[id] else { return "–" }
                    let cell =
                        "\(RenderNumber.cycles(figure.cycles)) (\(RenderNumber.microseconds(figure.nanoseconds)))"
                    return row.judgements[id]?.outlier == true ? "**\(cell)**" : cell
                }
                out += "| " + (FleetCells.leading(row).map(Markup.markdown) + exits).joined(separator: " | ") + " |\n"
            }
            let medians = FleetExits.ids.map { id in
                group.medians[id].map {
                    "\(RenderNumber.cycles($0.cycles)) (\(RenderNumber.microseconds($0.nanoseconds)))"
                }
                    ?? "–"
            }
            out += "| *group median* | | | | | | " + medians.joined(separator: " | ") + " |\n"
        }
        if !matrix.errors.isEmpty {
            out += "\n## Not read\n\n"
            for error in matrix.errors {
                out += "- \(Markup.markdown(error.file)): \(Markup.markdown(error.message))\n"
            }
        }
        return out + "\n**Result:** \(FleetCells.outcome(matrix)).\n"
    }

    /// The matrix as CSV (RFC 4180): one line per host, then one per file not read (status "error").
    public static func csv(_ matrix: FleetMatrix) -> String {
        var headers = ["status", "machine"] + FleetCells.headers.map { $0.replacingSpaces }
        headers += ["qualified", "outlier"]
        for id in FleetExits.ids { headers += ["\(id) cycles", "\(id) ns", "\(id) outlier"] }
        headers.append("message")
        var out = headers.map(field).joined(separator: ",") + "\r\n"
        for group in matrix.groups {
            for row in group.rows {
                var cells = ["ok", group.key] + FleetCells.leading(row)
                cells.append(row.host.policies.isEmpty ? "" : String(!row.host.qualificationFailed))
                cells.append(String(row.outlier))
                for id in FleetExits.ids {
                    let figure = row.figures[id]
                    cells += [
                        figure.map { number($0.cycles) } ?? "", figure.map { number($0.nanoseconds) } ?? "",
                        row.judgements[id].map { String($0.outlier) } ?? "",
                    ]
                }
                cells.append("")
                out += cells.map(field).joined(separator: ",") + "\r\n"
            }
        }
        for error in matrix.errors {
            var cells = ["error", ""] + [String](repeating: "", count: headers.count - 3)
            cells[2] = error.file
            cells.append(error.message)
            out += cells.map(field).joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// A CSV field: quoted when it holds a comma, quote or line break; a leading =, +, - or @ (a
    /// spreadsheet formula) is prefixed with an apostrophe inside quotes, since host names come from paths.
    static func field(_ text: String) -> String {
        let formula = text.first.map { "=+-@".contains($0) } == true && Double(text) == nil
        let value = formula ? "'" + text : text
        guard formula || value.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return value }
        return "\"" + value.replacing("\"", with: "\"\"") + "\""
    }

    /// A figure for machines: the shortest decimal that reads back as the same Double.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }

    fileprivate var replacingSpaces: String { replacing(" ", with: "_") }
}
