// Every render format on the real report from this machine, and the text, Markdown and JUnit formats in
// detail: the same bytes every time, every case present, report strings escaped, JUnit well-formed XML
// with skipped and failed cases marked the way CI systems read them.

import Bench
import Foundation
import Probe
import Testing

@testable import Report

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The real report and crafted variants of it.
enum RenderFixture {
    static let name = "pvm-host-genoa.bench.json"

    static func path() throws -> String {
        try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(name)")).path
    }

    /// The real report, loaded the way the CLI loads it.
    static func report() throws -> BenchReport {
        try ReportFile.load(try path())
    }

    /// The real report with one more case, failed or skipped, whose strings are hostile.
    static func crafted(id: String, status: CaseReport.Status = .failed, reason: String = "boom <b>&amp;\"'")
        throws -> BenchReport
    {
        var report = try report()
        var entry = try #require(report.cases.first { $0.status == .skipped })
        entry.id = id
        entry.status = status
        entry.reason = reason
        entry.failure =
            status == .failed ? CaseFailure(kind: .timedOut, reason: reason, exitReason: "KVM_EXIT_<x>") : nil
        report.cases.append(entry)
        var row = try #require(report.table.first { $0.caseID.hasPrefix("hypercall/") })
        row.caseID = id
        row.note = "\(status.rawValue): \(reason)"
        report.table.append(row)
        return report
    }

    /// The real report with a measured case whose id is hostile (a copy of cpuid-0/real).
    static func craftedMeasured(id: String) throws -> BenchReport {
        var report = try report()
        var entry = try #require(report.cases.first { $0.id == "cpuid-0/real" })
        entry.id = id
        report.cases.append(entry)
        var row = try #require(report.table.first { $0.caseID == "cpuid-0/real" })
        row.caseID = id
        report.table.append(row)
        return report
    }
}

/// Element names and attributes of an XML document, or the parser's error.
final class RenderXMLSummary: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var text = ""

    /// Parses `document`; nil with the parser's error when it is not well-formed.
    static func parse(_ document: String) -> (RenderXMLSummary?, String?) {
        let summary = RenderXMLSummary()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = summary
        if parser.parse() { return (summary, nil) }
        return (nil, parser.parserError.map { "\($0)" } ?? "unknown XML error")
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append((elementName, attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    func named(_ name: String) -> [[String: String]] {
        elements.filter { $0.name == name }.map(\.attributes)
    }
}

@Suite("Render: every format")
struct RenderTests {
    @Test("every format renders the real report, the same bytes every time", arguments: RenderFormat.allCases)
    func everyFormat(_ format: RenderFormat) throws {
        let report = try RenderFixture.report()
        let first = format.render(report)
        #expect(first.count > 1000)
        #expect(first.hasSuffix("\n"))
        #expect(first == format.render(report), "rendering is a pure function of the report")
        // Three-level cases all skipped for one reason are one line in Markdown and HTML, not one each.
        let collapsed = RenderTable.threeLevelSkipped(report) != nil && [.markdown, .html].contains(format)
        for entry in report.cases where !(collapsed && RenderWords.isThreeLevel(entry.id)) {
            #expect(first.contains(entry.id), "\(format): \(entry.id) missing")
        }
    }

    @Test("text and Markdown show each row's figures alike: one table model, one number format")
    func sameFigures() throws {
        let report = try RenderFixture.report()
        let text = RenderFormat.text.render(report).split(separator: "\n")
        let markdown = RenderFormat.markdown.render(report).split(separator: "\n")
        var checked = 0
        for row in report.table where row.belowResolution != true && !RenderWords.isThreeLevel(row.caseID) {
            let figures = [
                row.guestLevelCycles.map(RenderNumber.cycles), row.guestLevelNanoseconds.map(RenderNumber.microseconds),
                row.multiplier.map(RenderNumber.multiplier),
            ].compactMap { $0 }
            let textLine = try #require(text.first { $0.hasPrefix(row.caseID + " ") }, "\(row.caseID) in text")
            let markdownLine = try #require(markdown.first { $0.hasPrefix("| \(row.caseID) |") }, "\(row.caseID)")
            for figure in figures {
                #expect(textLine.contains(figure), "text, \(row.caseID): \(figure) not in \(textLine)")
                #expect(markdownLine.contains(figure), "Markdown, \(row.caseID): \(figure) not in \(markdownLine)")
                checked += 1
            }
        }
        #expect(checked > 10)
    }

    @Test("Markdown: context, one table row per report row, skipped cases with their reasons")
    func markdown() throws {
        let report = try RenderFixture.report()
        let markdown = RenderMarkdown.render(report)
        let rows = markdown.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| case ") }
        #expect(rows.count == report.table.count)
        #expect(rows.allSatisfy { Self.cellBorders($0) == 9 }, "8 cells a row")
        #expect(markdown.contains("- **CPU:** AMD EPYC"))
        #expect(markdown.contains("kvm\\_pvm"))
        #expect(markdown.contains("| cpuid-0/real | ok | 9,230 | 3,068 | 1.18 | 0.33× | kernel |"))
        #expect(markdown.contains("## Skipped and failed"))
        #expect(markdown.contains("**hypercall/real** (skipped): kvm\\_pvm: a hypercall at CPL0 never returns"))
    }

    @Test("Markdown: a hostile case id cannot open a cell, a link or a tag")
    func markdownEscapes() throws {
        let report = try RenderFixture.crafted(id: "x|y <script>[a](b)*c*\nd")
        let markdown = RenderMarkdown.render(report)
        #expect(!markdown.contains("<script>"))
        #expect(markdown.contains("x\\|y \\<script\\>\\[a\\](b)\\*c\\* d"))
        let row = try #require(markdown.split(separator: "\n").first { $0.hasPrefix("| x") })
        #expect(Self.cellBorders(row) == 9, "still 8 cells")
    }

    /// The pipes of a Markdown table row that are not backslash-escaped.
    static func cellBorders(_ row: Substring) -> Int {
        var count = 0
        var escaped = false
        for character in row {
            if character == "|" && !escaped { count += 1 }
            escaped = character == "\\" && !escaped
        }
        return count
    }

    @Test("JUnit: well-formed XML, a testcase per case and per own measurement, skipped marked")
    func junit() throws {
        let report = try RenderFixture.report()
        let xml = RenderJUnit.render(report)
        let (parsed, error) = RenderXMLSummary.parse(xml)
        let summary = try #require(parsed, "not well-formed: \(error ?? "")")
        let cases = summary.named("testcase")
        #expect(cases.count == report.cases.count + report.hostLevel.count)
        #expect(Set(cases.compactMap { $0["name"] }) == Set(report.cases.map(\.id) + report.hostLevel.map(\.id)))
        #expect(summary.named("skipped").count == report.cases.filter { $0.status == .skipped }.count)
        #expect(summary.named("failure").isEmpty)
        let suite = try #require(summary.named("testsuite").first)
        #expect(suite["tests"] == String(cases.count))
        #expect(suite["skipped"] == "2")
        #expect(suite["timestamp"] == "2026-11-26T01:32:23")
        // time = net median per exit in seconds, fixed notation.
        let cpuid = try #require(cases.first { $0["name"] == "cpuid-0/real" })
        #expect(cpuid["time"] == "0.000001182")
        #expect(cases.allSatisfy { ($0["time"] ?? "").allSatisfy { $0.isNumber || $0 == "." } })
        #expect(summary.named("property").contains { $0["name"] == "kvmModule" && $0["value"] == "kvm_pvm" })
    }

    @Test("JUnit: a failed case is a <failure> with its kind, and hostile strings stay text")
    func junitFailure() throws {
        let reason = "stuck <at> \"0x1000\" & 'beyond'\u{1}\nsecond line"
        let report = try RenderFixture.crafted(id: "evil</testcase><x a=\"1\">", reason: reason)
        let xml = RenderJUnit.render(report)
        let (parsed, error) = RenderXMLSummary.parse(xml)
        let summary = try #require(parsed, "not well-formed: \(error ?? "")")
        let failures = summary.named("failure")
        #expect(failures.count == 1)
        #expect(failures.first?["type"] == "timed-out")
        #expect(failures.first?["message"]?.hasPrefix("stuck <at> \"0x1000\" & 'beyond'\u{FFFD}\nsecond line") == true)
        #expect(summary.named("testcase").contains { $0["name"] == "evil</testcase><x a=\"1\">" })
        #expect(summary.named("x").isEmpty)
        #expect(summary.named("testsuite").first?["failures"] == "1")
    }

    @Test("escaping: the five markup characters, control characters, attributes")
    func markup() {
        #expect(Markup.xml("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
        #expect(Markup.xml("a\u{0}b\u{1F}c\u{FFFF}") == "a\u{FFFD}b\u{FFFD}c\u{FFFD}")
        #expect(Markup.xml("a\nb\tc", attribute: true) == "a&#10;b&#9;c")
        #expect(Markup.xml("a\nb") == "a\nb")
        #expect(Markup.labelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd")
        #expect(Markup.slug("cpuid-0/long64-cpl3") == "cpuid-0-long64-cpl3")
        #expect(Markup.slug("<script>") == "script")
        #expect(Markup.slug("//") == "x")
    }

    @Test("numbers: grouped, fixed, multipliers, microseconds, JUnit seconds")
    func numbers() {
        #expect(RenderNumber.grouped(1_234_567.4) == "1,234,567")
        #expect(RenderNumber.cycles(0.8125) == "0.81")
        #expect(RenderNumber.multiplier(0.9971830985915493) == "1.00×")
        #expect(RenderNumber.multiplier(12.345) == "12.3×")
        #expect(RenderNumber.microseconds(3304.9) == "3.30")
        #expect(RenderNumber.microseconds(0.31) == "<0.01")
        #expect(RenderJUnit.seconds(1181.75) == "0.000001182")
        #expect(RenderJUnit.seconds(1.5e9) == "1.500000000")
        #expect(RenderJUnit.seconds(.nan) == "0.000000000")
    }
}
