// The qualification as text: a header naming the policy and the report, one row per rule (result,
// rule, measured, limit) within 80 columns, the reason under each failed or skipped rule, and a last
// line that says QUALIFIED or NOT QUALIFIED.

import Documents
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Renders a qualification for a terminal or a log.
public struct QualificationText: Sendable {
    public var width: Int
    public var colour: Bool

    public init(width: Int = 80, colour: Bool = false) {
        self.width = Swift.max(width, 60)
        self.colour = colour
    }

    static let resultWidth = 6
    static let measuredWidth = 16
    static let limitWidth = 18

    var ruleWidth: Int { width - Self.resultWidth - Self.measuredWidth - Self.limitWidth - 2 }

    public func render(_ q: Qualification) -> String {
        var out: [String] = []
        let file = q.policy.file.map { " (\($0))" } ?? ""
        out += wrap("nestprobe qualify: policy \"\(q.policy.name)\"\(file)", indent: 0)
        if let description = q.policy.description { out += wrap(description, indent: 0) }
        let r = q.report
        let source = r.file.map { "report \($0)" } ?? "measured now"
        out += wrap("\(source), \(r.createdAt.isEmpty ? "undated" : r.createdAt); \(r.cpu)", indent: 0)
        let kvm = r.kvmModule.map { "\($0) (\(r.mechanism))" } ?? "no KVM module"
        let hypervisors = r.hypervisors.isEmpty ? "none" : r.hypervisors.joined(separator: ", ")
        out += wrap(
            "level \(r.level) (at least \(r.levelLowerBound)), guests at \(r.guestLevel); \(kvm); "
                + "hypervisors below: \(hypervisors)", indent: 0)
        out.append("")
        out.append(
            pad("", Self.resultWidth) + pad("Rule", ruleWidth + 1) + pad("Measured", Self.measuredWidth + 1)
                + "Limit")
        var group: String?
        for result in q.results {
            let (heading, leaf) = Self.split(result)
            if let heading, heading != group {
                out += wrap(heading, indent: Self.resultWidth)
            }
            group = heading
            out += rows(result, name: heading == nil ? leaf : "  " + leaf)
        }
        out.append("")
        out += wrap(summary(q), indent: 0)
        return out.joined(separator: "\n") + "\n"
    }

    /// The last line: the verdict and the counts, naming the failed rules.
    public func summary(_ q: Qualification) -> String {
        let total = q.results.count
        let skipped = q.skipped > 0 ? ", \(q.skipped) skipped" : ""
        if q.qualified {
            return paint("QUALIFIED", code: 32) + ": \(q.passed) of \(total) rules passed\(skipped)"
        }
        let names = q.results.filter { $0.outcome == .fail }.map(\.rule).joined(separator: ", ")
        return paint("NOT QUALIFIED", code: 31) + ": \(q.failed) of \(total) rules failed\(skipped): \(names)"
    }

    /// A rule's group heading and its name under it: "cases.ID (guest L3+)" and "p99Cycles",
    /// "requireCases" and "ID", "multipliers (guest ÷ this level)" and "ID"; other rules stand alone.
    static func split(_ result: RuleResult) -> (heading: String?, leaf: String) {
        let rule = result.rule
        if rule.hasPrefix("cases."), let dot = rule.lastIndex(of: "."), dot > rule.index(rule.startIndex, offsetBy: 5) {
            let level = result.level.map { " (\($0))" } ?? ""
            return (String(rule[..<dot]) + level, String(rule[rule.index(after: dot)...]))
        }
        if rule.hasPrefix("requireCases.") {
            return ("requireCases", String(rule.dropFirst("requireCases.".count)))
        }
        if rule.hasPrefix("multipliers."), rule.hasSuffix(".max") {
            return ("multipliers (guest ÷ this level)", String(rule.dropFirst("multipliers.".count).dropLast(4)))
        }
        return (nil, rule)
    }

    func rows(_ result: RuleResult, name: String) -> [String] {
        let label: String
        switch result.outcome {
        case .pass: label = paint("PASS", code: 32)
        case .fail: label = paint("FAIL", code: 31)
        case .skip: label = paint("SKIP", code: 33)
        }
        let lead = label + "  "
        let measured = result.measured ?? "—"
        var lines: [String] = []
        if name.count <= ruleWidth && measured.count <= Self.measuredWidth && result.limit.count <= Self.limitWidth {
            lines.append(lead + pad(name, ruleWidth + 1) + pad(measured, Self.measuredWidth + 1) + result.limit)
        } else {
            let nested = name.prefix { $0 == " " }.count
            let ruleLines = wrap(name, indent: Self.resultWidth + nested)
            lines += ruleLines.enumerated().map { index, line in
                index == 0 ? lead + String(line.dropFirst(Self.resultWidth)) : line
            }
            lines += wrap("measured \(measured); limit \(result.limit)", indent: Self.resultWidth + nested + 2)
        }
        if result.outcome != .pass {
            lines += wrap(result.detail, indent: Self.resultWidth + 2)
        }
        return lines
    }

    func paint(_ text: String, code: Int) -> String {
        colour ? "\u{1B}[1;\(code)m\(text)\u{1B}[0m" : text
    }

    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// Word-wraps `text` to the width, every line indented by `indent` spaces; words longer than a line are cut.
    func wrap(_ text: String, indent: Int) -> [String] {
        let room = Swift.max(width - indent, 20)
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            var word = Substring(word)
            while word.count > room {
                if !line.isEmpty { lines.append(line); line = "" }
                lines.append(String(word.prefix(room)))
                word = word.dropFirst(room)
            }
            if line.isEmpty {
                line = String(word)
            } else if line.count + 1 + word.count <= room {
                line += " " + word
            } else {
                lines.append(line)
                line = String(word)
            }
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines.map { margin + $0 }
    }
}

/// Numbers in rules and results.
enum PolicyText {
    /// 30,000 · 4,256 · 27.5 · 0.341: grouped integers from 100 up, fewer digits below.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let magnitude = abs(value)
        if magnitude >= 1e15 { return CFormat.scientific(value, decimals: 3) }
        if magnitude >= 100 || value == value.rounded() { return grouped(Int64(value.rounded())) }
        if magnitude >= 10 { return CFormat.fixed(value, decimals: 1) }
        return CFormat.general(value, precision: 3)
    }

    static func grouped(_ value: Int64) -> String {
        TextFormat.grouped(Double(value))
    }

    static func quantity(_ value: Double, _ unit: String) -> String {
        "\(number(value)) \(unit)"
    }

    static func factor(_ value: Double) -> String {
        number(value) + "×"
    }

    /// "87.9%": no space, so that wrapping never parts the number from its sign.
    static func percent(_ fraction: Double) -> String {
        guard fraction.isFinite, abs(fraction) < 1e13 else { return "\(fraction * 100)%" }
        return CFormat.fixed(fraction * 100, decimals: 1) + "%"
    }
}
