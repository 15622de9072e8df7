// Fleet+Markup: the fleet matrix as one self-contained HTML page (RenderHTML's style, no scripts) and as
// JUnit XML — one testcase per host, failing when a qualification of the host failed or the host is an
// outlier in its machine group, and one erroring testcase per file that could not be read.

import Documents

/// Renders the fleet matrix as HTML or JUnit XML.
public enum FleetMarkup {
    /// The whole page, well-formed XML like RenderHTML's.
    public static func html(_ matrix: FleetMatrix) -> String {
        let title = "nestprobe fleet"
        var html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        html += "<title>\(title)</title><style>\(RenderHTML.style)</style></head>\n<body><main>\n"
        html += "<header><h1>\(title)</h1><p class=\"sub\">\(Markup.html(FleetCells.headline(matrix)))</p></header>\n"
        html += "<p>Exits: net median cycles per exit (µs below), each host's median over its bench reports; "
        html += "outliers are marked. \(Markup.html(FleetCells.ruleText(matrix.rule))).</p>\n"
        for group in matrix.groups {
            html +=
                "<section id=\"m-\(Markup.slug(group.key))\"><h2>Machine <code>\(Markup.html(group.key))</code></h2>"
            html += "<p class=\"sub\">\(Markup.html(group.fingerprint.summary))</p>\n<table><thead><tr>"
            html += FleetCells.headers.map { "<th>\(Markup.html($0))</th>" }.joined()
            html += FleetExits.ids.map { "<th class=\"n\">\(Markup.html($0))</th>" }.joined()
            html += "</tr></thead><tbody>\n"
            for row in group.rows {
                html += row.outlier || row.host.qualificationFailed ? "<tr class=\"warn\">" : "<tr>"
                html += FleetCells.leading(row).map { "<td>\(Markup.html($0))</td>" }.joined()
                for id in FleetExits.ids {
                    html += "<td class=\"n\">" + cell(row.figures[id], outlier: row.judgements[id]) + "</td>"
                }
                html += "</tr>\n"
            }
            html += "<tr><td colspan=\"\(FleetCells.headers.count)\"><em>group median</em></td>"
            html += FleetExits.ids.map { "<td class=\"n\">" + cell(group.medians[$0], outlier: nil) + "</td>" }.joined()
            html += "</tr>\n</tbody></table></section>\n"
        }
        if !matrix.errors.isEmpty {
            html += "<section id=\"not-read\"><h2>Not read</h2><ul>"
            html += matrix.errors.map { "<li><code>\(Markup.html($0.file))</code>: \(Markup.html($0.message))</li>" }
                .joined()
            html += "</ul></section>\n"
        }
        html += "<p><strong>Result:</strong> \(Markup.html(FleetCells.outcome(matrix))).</p>\n"
        return html + "</main></body></html>\n"
    }

    static func cell(_ figure: FleetFigure?, outlier: FleetOutlierRule.Judgement?) -> String {
        guard let figure else { return "–" }
        var text = Markup.html(RenderNumber.cycles(figure.cycles))
        text += "<br/><small>\(Markup.html(RenderNumber.microseconds(figure.nanoseconds))) µs</small>"
        if let outlier, outlier.outlier {
            text = "<strong>\(text)<br/>outlier \(Markup.html(FleetCells.departure(outlier.logRatio)))</strong>"
        }
        return text
    }

    /// JUnit XML: a testsuite per machine group, a testcase per host.
    public static func junit(_ matrix: FleetMatrix) -> String {
        let failures = matrix.rows.count { $0.outlier || $0.host.qualificationFailed }
        let tests = matrix.rows.count + matrix.errors.count
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml +=
            "<testsuites name=\"nestprobe fleet\" tests=\"\(tests)\" failures=\"\(failures)\" "
            + "errors=\"\(matrix.errors.count)\">\n"
        for group in matrix.groups {
            let groupFailures = group.rows.count { $0.outlier || $0.host.qualificationFailed }
            xml +=
                "  <testsuite name=\"\(attribute("machine \(group.key)"))\" tests=\"\(group.rows.count)\" "
                + "failures=\"\(groupFailures)\" errors=\"0\" skipped=\"0\">\n"
            xml += "    <properties><property name=\"fingerprint\" value=\"\(attribute(group.fingerprint.summary))\"/>"
            xml += "</properties>\n"
            for row in group.rows {
                let name = row.host.label.isEmpty ? row.host.host : "\(row.host.host) [\(row.host.label)]"
                xml +=
                    "    <testcase classname=\"nestprobe.fleet.\(attribute(group.key))\" name=\"\(attribute(name))\">\n"
                var problems: [String] = []
                for policy in row.host.policies where !policy.qualified {
                    problems.append("not qualified under \(policy.policy)")
                }
                if let status = row.host.status, ["down", "failed", "not-qualified"].contains(status) {
                    problems.append(row.host.detail.map { "\(status): \($0)" } ?? status)
                }
                for id in row.outlierExits {
                    problems.append(
                        "outlier on \(id): \(FleetCells.departure(row.judgements[id]!.logRatio)) from the group median")
                }
                if !problems.isEmpty {
                    let type = row.host.qualificationFailed ? "not-qualified" : "outlier"
                    xml +=
                        "      <failure type=\"\(type)\" message=\"\(attribute(problems.joined(separator: "; ")))\"/>\n"
                }
                xml += "      <system-out>\(Markup.xml(systemOut(row)))</system-out>\n    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        if !matrix.errors.isEmpty {
            xml +=
                "  <testsuite name=\"not read\" tests=\"\(matrix.errors.count)\" failures=\"0\" "
                + "errors=\"\(matrix.errors.count)\" skipped=\"0\">\n"
            for error in matrix.errors {
                xml += "    <testcase classname=\"nestprobe.fleet.files\" name=\"\(attribute(error.file))\">\n"
                xml += "      <error type=\"bad-input\" message=\"\(attribute(error.message))\"/>\n    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    static func systemOut(_ row: FleetRow) -> String {
        var parts = zip(FleetCells.headers, FleetCells.leading(row)).dropFirst(2).map { "\($0): \($1)" }
        for id in FleetExits.ids {
            if let figure = row.figures[id] {
                parts.append("\(id): \(RenderNumber.cycles(figure.cycles)) cycles")
            }
        }
        return parts.joined(separator: "; ")
    }

    static func attribute(_ text: String) -> String { Markup.xml(text, attribute: true) }
}
