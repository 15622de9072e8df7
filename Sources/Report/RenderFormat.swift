// Render: a bench report in the forms people and machines read it — the text table, Markdown for a pull
// request or wiki, one self-contained HTML page with SVG plots, Prometheus text for the monitoring a
// fleet already runs, and JUnit XML for CI dashboards. Every renderer is a pure function of the report:
// no clock, no environment, no network, so the same report always renders to the same bytes.

import Documents

/// The formats `nestprobe render` writes.
public enum RenderFormat: String, CaseIterable, Sendable {
    /// The 80-column table `nestprobe bench` prints.
    case text
    /// The same table as a Markdown table, with the context and the notes.
    case markdown
    /// One HTML file with inline CSS and SVG: distributions per case, multipliers, context.
    case html
    /// Prometheus text exposition (also valid OpenMetrics), for node_exporter's textfile collector or a
    /// Pushgateway; the metrics are documented in docs/metrics.md.
    case openmetrics
    /// JUnit XML: one testcase per case, skipped and failed cases marked as such.
    case junit

    /// `report` in this format.
    public func render(_ report: BenchReport) -> String {
        switch self {
        case .text: RenderText.render(report)
        case .markdown: RenderMarkdown.render(report)
        case .html: RenderHTML.render(report)
        case .openmetrics: RenderOpenMetrics.render(report)
        case .junit: RenderJUnit.render(report)
        }
    }
}

/// Number formats shared by the renderers.
enum RenderNumber {
    /// A whole number with thousands separated by commas: 12,345.
    static func grouped(_ value: Double) -> String {
        value.isFinite ? TextFormat.grouped(value) : String(format3: value)
    }

    /// Cycles as a person reads them: grouped, with a fraction below 10 (0.81, 2,115).
    static func cycles(_ value: Double) -> String {
        abs(value) < 10 ? String(format3: (value * 100).rounded() / 100) : grouped(value)
    }

    /// Nanoseconds shown as microseconds with two decimals; "<0.01" for a few nanoseconds.
    static func microseconds(_ nanoseconds: Double) -> String {
        nanoseconds > 0 && nanoseconds < 5 ? "<0.01" : fixed(nanoseconds / 1000, 2)
    }

    /// A multiplier with two decimals below 10 and one above: 0.33×, 1.00×, 12.5×.
    static func multiplier(_ value: Double) -> String {
        fixed(value, value < 10 ? 2 : 1) + "×"
    }

    /// A number with exactly `decimals` decimals: 3.30.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return String(format3: value) }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * Double(scale)).rounded())
        let fraction = String(scaled % scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return sign + String(scaled / scale)
            + (decimals > 0 ? "." + String(repeating: "0", count: decimals - fraction.count) + fraction : "")
    }

    /// A percentage without decimals: 67 %.
    static func percent(_ ratio: Double) -> String {
        "\(CheckedNumber.percentText(ratio)) %"
    }

    /// An axis tick label: 1, 20, 500, 2k, 50k, 1M, 0.5.
    static func tick(_ value: Double) -> String {
        if value >= 1e6 { return String(format3: value / 1e6) + "M" }
        if value >= 1e3 { return String(format3: value / 1e3) + "k" }
        return String(format3: value)
    }

    /// An SVG coordinate, to a tenth of a pixel.
    static func coordinate(_ value: Double) -> String {
        String(format3: (value * 10).rounded() / 10)
    }
}

/// How the renderers name the parts of a report.
enum RenderWords {
    /// "real mode", "64-bit long mode" — a case's mode in words.
    static func mode(_ mode: String) -> String {
        switch mode {
        case GuestMode.real.rawValue: "real mode"
        case GuestMode.long64.rawValue: "64-bit long mode"
        case GuestMode.svmInner.rawValue: "the guest's guest (64-bit, under the guest's SVM hypervisor)"
        case GuestMode.svmHypervisor.rawValue: "the guest's SVM hypervisor (64-bit)"
        default: mode
        }
    }

    /// The heading of the group a case belongs to: its mode and privilege, the three levels, or the host
    /// for host-timed cases.
    static func group(_ entry: CaseReport) -> String {
        if isThreeLevel(entry.id) { return RenderTable.threeLevelTitle }
        return entry.timedIn == "host" ? "timed on this level around KVM_RUN" : "\(mode(entry.mode)), CPL\(entry.cpl)"
    }

    /// Whether a case or row id is one of the three-level cases (the guest a minimal SVM hypervisor).
    static func isThreeLevel(_ id: String) -> Bool {
        isInner(id) || id.hasSuffix("/" + GuestMode.svmHypervisor.rawValue)
    }

    /// Whether a case ran in the guest's guest.
    static func isInner(_ id: String) -> Bool {
        id.hasSuffix("/" + GuestMode.svmInner.rawValue)
    }

    /// "L2+ (at least L1; confidence 67 %)".
    static func level(_ context: BenchContext) -> String {
        "\(context.level) (at least \(context.levelLowerBound); confidence \(RenderNumber.percent(context.levelConfidence)))"
    }

    /// "2,596.14 MHz (kernel: kernel log: tsc: Detected 2596.140 MHz processor)".
    static func tsc(_ context: BenchContext) -> String {
        let megahertz = String(format3: (context.tsc.hz / 1e4).rounded() / 100)
        return "\(megahertz) MHz (\(context.tsc.source.rawValue): \(context.tsc.detail))"
    }

    /// The KVM parameters as name=value, sorted by name.
    static func parameters(_ context: BenchContext) -> String {
        context.kvmParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// The reason a case did not produce figures, with the failure kind when it failed.
    static func reason(_ entry: CaseReport) -> String {
        var text = entry.reason ?? entry.failure?.reason ?? "no reason recorded"
        if let failure = entry.failure {
            if let exit = failure.exitReason { text += " (exit: \(exit))" }
            if let rip = failure.guestRIP { text += " (guest RIP 0x\(String(rip, radix: 16)))" }
        }
        return text
    }
}
