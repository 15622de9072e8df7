// Three-level cases (the guest a minimal SVM hypervisor, its guest running the loops) in every format: a
// table of their own with the guest's guest and both multipliers, a figure with the same exit one level
// down beside it, `level="inner"` in the metrics. The report is the real one with such a case added.

import Documents
import Foundation
import Testing

@testable import Report

@Suite("Render: three levels")
struct RenderThreeLevelTests {
    /// The real report plus "cpuid-0/svm-inner", whose counterpart one level down is cpuid-0/long64-cpl0.
    static func report() throws -> BenchReport {
        var report = try RenderFixture.report()
        var inner = try #require(report.cases.first { $0.id == "cpuid-0/long64-cpl0" })
        inner.id = "cpuid-0/svm-inner"
        inner.mode = GuestMode.svmInner.rawValue
        inner.exitsTo = "guest-hypervisor"
        inner.attribution = "guest-hypervisor"
        inner.samplesCycles = inner.samplesCycles.map { $0 * 3 }
        inner.netMedianCycles = 9438
        report.cases.append(inner)
        let guest = try #require(report.table.first { $0.caseID == "cpuid-0/long64-cpl0" })
        var row = guest
        row.caseID = inner.id
        row.exitsTo = inner.exitsTo
        row.guestLevelCaseID = guest.caseID
        row.innerGuestCycles = 9438
        row.innerMultiplier = 9438 / (guest.guestLevelCycles ?? 1)
        row.note = "the mini-hypervisor handled all 1,000 intercepts the loop caused"
        report.table.append(row)
        return report
    }

    @Test("Markdown and HTML: the three-level row in its own table, not in the main one")
    func tables() throws {
        let report = try Self.report()
        let markdown = RenderMarkdown.render(report)
        let heading = try #require(markdown.range(of: "### Three levels"))
        #expect(!markdown[..<heading.lowerBound].contains("cpuid-0/svm-inner |"))
        #expect(
            markdown[heading.upperBound...].contains(
                "| cpuid-0/svm-inner | ok | 9,230 | 3,146 | 9,438 | 0.34× | 3.00× |"))
        let html = RenderHTML.render(report)
        #expect(html.contains("<h3>Three levels: the guest is a minimal SVM hypervisor, its guest runs the loops</h3>"))
        #expect(RenderXMLSummary.parse(html).0 != nil)
    }

    @Test("HTML: the figure shows this level, the guest level one level down, and the guest's guest")
    func figure() throws {
        let html = RenderHTML.render(try Self.report())
        let figure = try #require(RenderHTMLTests.figure(html, containing: "data-case=\"cpuid-0/svm-inner\""))
        #expect(figure.contains("this level (L2+)"))
        #expect(figure.contains(">cpuid-0/long64-cpl0</text>"))
        #expect(figure.contains("guest&#39;s guest"))
        #expect(figure.contains("answered by the guest&#39;s own hypervisor"))
        #expect(html.components(separatedBy: "class=\"multipliers\"").count - 1 == 2)
    }

    @Test("every three-level case skipped for one reason: one line, not one per case")
    func allSkipped() throws {
        var report = try RenderFixture.report()
        let reason = "SVM is not offered to guests (KVM_GET_SUPPORTED_CPUID 0x8000_0001 ECX[2] clear)"
        for id in ["null/svm-inner", "cpuid-0/svm-inner", "vmrun/svm-hv"] {
            var entry = try #require(report.cases.first { $0.status == .skipped })
            entry.id = id
            entry.reason = reason
            report.cases.append(entry)
            var row = try #require(report.table.first { $0.caseID == "hypercall/real" })
            row.caseID = id
            row.note = "skipped: " + reason
            report.table.append(row)
        }
        let markdown = RenderMarkdown.render(report)
        #expect(!markdown.contains("svm-inner"))
        #expect(markdown.components(separatedBy: "SVM is not offered to guests").count - 1 == 2, "summary and not-run")
        let html = RenderHTML.render(report)
        #expect(!html.contains("vmrun/svm-hv"))
        #expect(
            html.contains(
                "<p>Three levels (the guest a minimal SVM hypervisor, its guest running the loops): skipped, "))
        #expect(RenderJUnit.render(report).contains("name=\"vmrun/svm-hv\""), "JUnit still lists every case")
    }

    @Test("metrics: level=\"inner\", the inner multiplier, and no second copy of the counterpart's multiplier")
    func metrics() throws {
        let reader = try ExpositionReader(RenderOpenMetrics.render(try Self.report()))
        #expect(reader.value("nestprobe_exit_net_cycles", ["case": "cpuid-0/svm-inner", "level": "inner"]) == 9438)
        let inner = try #require(reader.value("nestprobe_exit_inner_multiplier", ["case": "cpuid-0/svm-inner"]))
        #expect(abs(inner - 3) < 1e-9)
        #expect(reader.value("nestprobe_exit_multiplier", ["case": "cpuid-0/svm-inner"]) == nil)
    }
}
