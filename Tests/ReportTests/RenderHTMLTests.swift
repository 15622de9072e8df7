// The HTML report: one self-contained page (nothing fetched, no scripts), one distribution plot per
// measured case with this level's CPUID beside the guest's, the multipliers, the cases that did not run,
// and report strings that stay text whatever they hold.

import Documents
import Foundation
import Testing

@testable import Report

@Suite("Render: HTML")
struct RenderHTMLTests {
    @Test("one distribution <svg> per case with samples, and one per measurement of this level")
    func onePlotPerCase() throws {
        let report = try RenderFixture.report()
        let html = RenderHTML.render(report)
        let (parsed, error) = RenderXMLSummary.parse(html)
        let page = try #require(parsed, "the page is not well-formed XML: \(error ?? "")")
        let plots = page.named("svg").filter { $0["class"] == "dist" }
        let measured = report.cases.filter { !$0.samplesCycles.isEmpty }.map(\.id)
        #expect(plots.count == measured.count + report.hostLevel.count)
        #expect(plots.compactMap { $0["data-case"] } == report.hostLevel.map(\.id) + measured)
        #expect(page.named("svg").filter { $0["class"] == "multipliers" }.count == 1)
        #expect(html.components(separatedBy: "<svg ").count - 1 == measured.count + report.hostLevel.count + 1)
    }

    @Test("self-contained: no URL but the SVG namespace, no scripts, no external styles, fonts or images")
    func selfContained() throws {
        let html = RenderHTML.render(try RenderFixture.report())
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.lowercased().contains("http"))
        for needle in ["<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "@font-face", "//"] {
            #expect(!withoutNamespace.lowercased().contains(needle), "found \(needle)")
        }
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"))
        #expect(html.contains("<style>"))
    }

    @Test("a CPUID case plots this level's own CPUID beside the guest's, on one axis")
    func cpuidSideBySide() throws {
        let report = try RenderFixture.report()
        let html = RenderHTML.render(report)
        let figure = try #require(Self.figure(html, containing: "data-case=\"cpuid-0/long64-cpl3\""))
        #expect(figure.contains("this level (L2+)"))
        #expect(figure.contains("guest level (L3+)"))
        #expect(figure.contains(">cpuid-0/host</text>"))
        #expect(figure.contains("0.99×"))
        let other = try #require(Self.figure(html, containing: "data-case=\"pio-out-user/real\""))
        #expect(!other.contains("this level (L2+)"), "only CPUID has a figure of this level to compare")
    }

    @Test("the context: CPU, kernel, KVM module, level with confidence, TSC source, emulation notes")
    func context() throws {
        let html = RenderHTML.render(try RenderFixture.report())
        for fact in [
            "AMD EPYC (family 19h model 11h, Zen 4 (Genoa))", "6.18.44-fc-v669", "kvm_pvm (PVM)",
            "L2+ (at least L1; confidence 67 %)",
            "2596.14 MHz (kernel: kernel log: tsc: Detected 2596.140 MHz processor)",
            "1058 cycles per guest instruction: the guest is emulated",
        ] {
            #expect(html.contains(Markup.html(fact)), "missing \(fact)")
        }
    }

    @Test("skipped and failed cases are listed with their reasons")
    func notRun() throws {
        let report = try RenderFixture.crafted(id: "broken/long64-cpl3", reason: "the watchdog stopped the guest")
        let html = RenderHTML.render(report)
        let section = try #require(html.range(of: "<section id=\"not-run\">").map { String(html[$0.lowerBound...]) })
        #expect(section.contains("hypercall/real"))
        #expect(section.contains("kvm_pvm: a hypercall at CPL0 never returns from KVM_RUN"))
        #expect(section.contains("<td>broken/long64-cpl3</td><td class=\"status\">failed</td><td>timed-out</td>"))
        #expect(section.contains("the watchdog stopped the guest (exit: KVM_EXIT_&lt;x&gt;)"))
    }

    @Test("a case id holding <script> stays text: escaped in the table, the caption, the plot and attributes")
    func escapesCaseID() throws {
        let id = "<script>alert(\"x\")</script>&'"
        let report = try RenderFixture.craftedMeasured(id: id)
        let html = RenderHTML.render(report)
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"))
        let (parsed, error) = RenderXMLSummary.parse(html)
        let page = try #require(parsed, "not well-formed: \(error ?? "")")
        #expect(page.named("script").isEmpty)
        #expect(page.named("svg").contains { $0["data-case"] == id }, "the attribute round-trips to the id")
        #expect(page.named("figure").contains { ($0["id"] ?? "").hasSuffix("-script-alert-x-script") })
    }

    @Test("no measured case, no host level: still a page, no plots, no multiplier chart")
    func empty() throws {
        var report = try RenderFixture.report()
        report.cases = report.cases.map {
            var entry = $0
            entry.status = .skipped
            entry.reason = "no /dev/kvm"
            entry.samplesCycles = []
            return entry
        }
        report.hostLevel = []
        report.table = report.table.map {
            var row = $0
            row.multiplier = nil
            return row
        }
        let html = RenderHTML.render(report)
        #expect(!html.contains("<svg"))
        let (parsed, _) = RenderXMLSummary.parse(html)
        #expect(parsed != nil)
    }

    @Test("log axis: 1-2-5 ends and ticks, zero and equal values placed")
    func axis() {
        let axis = LogAxis(covering: [9100, 131_560], from: 0, to: 100)
        #expect(axis.lower == 5000 && axis.upper == 200_000)
        #expect(axis.ticks == [5000, 10000, 20000, 50000, 100_000, 200_000])
        #expect(axis.position(5000) == 0 && axis.position(200_000) == 100)
        #expect(axis.position(1) == 0, "clamped")
        let flat = LogAxis(covering: [1000, 1000], from: 0, to: 10)
        #expect(flat.lower == 500 && flat.upper == 2000)
        let zero = LogAxis(covering: [0, 104], from: 0, to: 10)
        #expect(zero.lower == 0.1 && zero.upper == 200)
        #expect(zero.ticks.count <= 11)
    }

    /// The <figure> holding the <svg> whose opening tag contains `marker`, through the end of that svg.
    static func figure(_ html: String, containing marker: String) -> String? {
        guard let start = html.range(of: marker) else { return nil }
        guard let end = html.range(of: "</svg>", range: start.upperBound..<html.endIndex) else { return nil }
        let figureStart = html.range(of: "<figure", options: .backwards, range: html.startIndex..<start.lowerBound)
        return String(html[(figureStart?.lowerBound ?? start.lowerBound)..<end.upperBound])
    }
}
