// A case whose net is below resolution (its interval over the runs reaches zero) is shown as such in every
// format, never as a measured 0 or negative figure: the bench table, Markdown, HTML and JUnit say "below
// resolution", and OpenMetrics leaves the net samples out rather than publishing a free exit.

import Documents
import Foundation
import Testing

@testable import Report

@Suite("Below-resolution nets in every render format")
struct RenderBelowResolutionTests {
    static let caseID = "msr-kernel/long64-cpl0"

    /// The real report with one case's net made indistinguishable from zero, as bench marks it.
    static func report() throws -> BenchReport {
        var report = try RenderFixture.report()
        let index = try #require(report.cases.firstIndex { $0.id == caseID && $0.status == .ok })
        report.cases[index].net = try JSONDecoder().decode(
            NetFigure.self,
            from: Data(
                #"{"medianCycles": -37, "ci95Cycles": [-412, 260], "belowResolution": true, "method": "a test"}"#.utf8))
        report.cases[index].netMedianCycles = 0
        report.cases[index].netMedianNanoseconds = 0
        let row = try #require(report.table.firstIndex { $0.caseID == caseID })
        report.table[row].guestLevelCycles = 0
        report.table[row].guestLevelNanoseconds = 0
        report.table[row].belowResolution = true
        return report
    }

    @Test("Markdown and HTML tables say below resolution in the case's row")
    func tables() throws {
        let report = try Self.report()
        let markdownRow = try #require(
            RenderMarkdown.render(report).split(separator: "\n").first { $0.contains(Self.caseID) })
        #expect(markdownRow.contains("below resolution"))
        let html = RenderFormat.html.render(report)
        #expect(html.contains("net <b>below resolution</b>"))
    }

    @Test("JUnit's system-out says below resolution, not net 0 cycles")
    func junit() throws {
        let xml = RenderFormat.junit.render(try Self.report())
        let start = try #require(xml.range(of: "name=\"\(Self.caseID)\""))
        let tail = xml[start.upperBound...]
        let end = try #require(tail.range(of: "</testcase>"))
        let block = tail[..<end.lowerBound]
        #expect(block.contains("net below resolution"))
        #expect(!block.contains("net 0 cycles"))
    }

    @Test("OpenMetrics leaves the case's net samples out and keeps its latency")
    func openMetrics() throws {
        let text = RenderFormat.openmetrics.render(try Self.report())
        let lines = text.split(separator: "\n").filter { $0.contains("case=\"\(Self.caseID)\"") }
        #expect(!lines.isEmpty, "the case's other metrics are still there")
        #expect(
            !lines.contains { $0.hasPrefix("nestprobe_exit_net_cycles") || $0.hasPrefix("nestprobe_exit_net_seconds") })
        let untouched = RenderFormat.openmetrics.render(try RenderFixture.report())
        #expect(
            untouched.split(separator: "\n").contains {
                $0.hasPrefix("nestprobe_exit_net_cycles") && $0.contains("case=\"\(Self.caseID)\"")
            })
    }
}
