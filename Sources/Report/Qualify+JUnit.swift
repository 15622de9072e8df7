// The qualification as JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters): one test
// suite named after the policy, one test case per rule, a <failure> carrying the measured value and the
// limit for each failed rule, <skipped> for each skipped one. Every string from a policy or a report is
// escaped, and characters XML 1.0 cannot carry are replaced, so the document is always well formed.

/// Renders a qualification as JUnit XML.
public enum QualificationJUnit {
    public static func render(_ q: Qualification) -> String {
        let counts = "tests=\"\(q.results.count)\" failures=\"\(q.failed)\" errors=\"0\" skipped=\"\(q.skipped)\""
        // JUnit's timestamp is an xs:dateTime without a zone designator; ours is UTC.
        let timestamp = q.createdAt.hasSuffix("Z") ? String(q.createdAt.dropLast()) : q.createdAt
        let classname = "nestprobe.qualify.\(q.policy.name)"
        var out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        out.append("<testsuites name=\"nestprobe qualify\" \(counts) time=\"0\">")
        out.append(
            "  <testsuite name=\(attribute(q.policy.name)) \(counts) time=\"0\" timestamp=\(attribute(timestamp))>")
        out.append("    <properties>")
        var properties: [(String, String)] = [("verdict", q.qualified ? "QUALIFIED" : "NOT QUALIFIED")]
        if let file = q.policy.file { properties.append(("policy.file", file)) }
        properties.append(("report.file", q.report.file ?? "(measured now)"))
        properties += [
            ("report.createdAt", q.report.createdAt), ("cpu", q.report.cpu), ("level", q.report.level),
            ("levelLowerBound", q.report.levelLowerBound), ("guestLevel", q.report.guestLevel),
            ("mechanism", q.report.mechanism), ("hypervisors", q.report.hypervisors.joined(separator: ", ")),
            ("tool", "\(q.tool.name) \(q.tool.version)"),
        ]
        for (name, value) in properties {
            out.append("      <property name=\(attribute(name)) value=\(attribute(value))/>")
        }
        out.append("    </properties>")
        for result in q.results {
            let head = "    <testcase classname=\(attribute(classname)) name=\(attribute(result.rule)) time=\"0\""
            let level = result.level.map { " (\($0))" } ?? ""
            let values = "\(result.subject)\(level): measured \(result.measured ?? "nothing"), limit \(result.limit)"
            switch result.outcome {
            case .pass:
                out.append(head + ">")
                out.append("      <system-out>\(text(values + "; " + result.detail))</system-out>")
                out.append("    </testcase>")
            case .fail:
                out.append(head + ">")
                out.append(
                    "      <failure message=\(attribute(values)) type=\"NotQualified\">\(text(result.detail))</failure>"
                )
                out.append("    </testcase>")
            case .skip:
                out.append(head + ">")
                out.append("      <skipped message=\(attribute(values + "; " + result.detail))/>")
                out.append("    </testcase>")
            }
        }
        out.append("  </testsuite>")
        out.append("</testsuites>")
        return out.joined(separator: "\n") + "\n"
    }

    /// A quoted attribute value; tabs and line breaks as character references so parsers keep them.
    static func attribute(_ value: String) -> String {
        var out = "\""
        for scalar in allowed(value) {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t": out += "&#9;"
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Character data.
    static func text(_ value: String) -> String {
        var out = ""
        for scalar in allowed(value) {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The scalars of `value`, with those XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF) as U+FFFD.
    static func allowed(_ value: String) -> [Unicode.Scalar] {
        value.unicodeScalars.map { scalar in
            switch scalar.value {
            case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return scalar
            default: return "\u{FFFD}"
            }
        }
    }
}
