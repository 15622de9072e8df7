// RenderOpenMetrics: the report as Prometheus text exposition (format 0.0.4), the format node_exporter's
// textfile collector and the Pushgateway read, so a fleet's bench results land in the monitoring people
// already run. The output is also valid OpenMetrics 1.0 text: gauges and summaries only, HELP texts
// without characters the two formats escape differently, and the closing `# EOF` (a comment to the
// Prometheus parser). No sample carries a timestamp — the textfile collector and the Pushgateway both
// refuse them — so the run's time is its own gauge. Every name and label is documented in docs/metrics.md.

import Documents
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Renders a bench report as Prometheus / OpenMetrics text.
public enum RenderOpenMetrics {
    /// The quantiles of the latency summaries, with the report statistic each comes from.
    static var quantiles: [(String, KeyPath<SampleStatistics, Double>)] {
        [("0", \.min), ("0.5", \.p50), ("0.9", \.p90), ("0.99", \.p99), ("1", \.max)]
    }

    /// The whole exposition, ending with `# EOF`.
    public static func render(_ report: BenchReport) -> String {
        var out = Exposition()
        let c = report.context
        out.family("nestprobe_build_info", .gauge, "The nestprobe that wrote the report and the report schema.")
        out.sample(
            "nestprobe_build_info",
            [("version", report.tool.version), ("schema", report.schema), ("schema_version", String(report.version))], 1
        )
        if let seconds = unixSeconds(report.createdAt) {
            out.family("nestprobe_report_timestamp_seconds", .gauge, "When the bench run was made, Unix time.")
            out.sample("nestprobe_report_timestamp_seconds", [], seconds)
        }
        out.family("nestprobe_bench_duration_seconds", .gauge, "Wall time of the bench run.")
        out.sample("nestprobe_bench_duration_seconds", [], report.wallSeconds)
        out.family(
            "nestprobe_level_info", .gauge,
            "The probe's level estimate for this machine, the hypervisor below it and what it can host; always 1.")
        out.sample(
            "nestprobe_level_info",
            [
                ("level", c.level), ("lower_bound", c.levelLowerBound), ("guest_level", c.guestLevel),
                ("hypervisor", c.hypervisors.first ?? "none"), ("hypervisors", c.hypervisors.joined(separator: ",")),
                ("kvm_module", c.kvmModule ?? "none"), ("mechanism", c.mechanism), ("can_host", c.canHost),
                ("guests_can_host", c.guestsCanHost),
            ], 1)
        out.family("nestprobe_level_confidence_ratio", .gauge, "Confidence of the level estimate, 0 to 1.")
        out.sample("nestprobe_level_confidence_ratio", [("level", c.level)], c.levelConfidence)
        out.family("nestprobe_machine_info", .gauge, "The CPU and kernel the report was made on; always 1.")
        out.sample("nestprobe_machine_info", [("cpu", c.cpu), ("kernel", c.kernelRelease ?? "unknown")], 1)
        out.family(
            "nestprobe_emulated_host", .gauge,
            "1 when QEMU TCG is below this level, so the figures say nothing about hardware; else 0.")
        out.sample("nestprobe_emulated_host", [], c.emulatedHost ? 1 : 0)
        out.family("nestprobe_tsc_hertz", .gauge, "TSC frequency of this level and where it was read.")
        out.sample("nestprobe_tsc_hertz", [("level", "this"), ("source", c.tsc.source.rawValue)], c.tsc.hz)
        if let kilohertz = c.guestTSCkHz {
            out.sample(
                "nestprobe_tsc_hertz", [("level", "guest"), ("source", "kvm-get-tsc-khz")], Double(kilohertz) * 1000)
        }
        if !report.guestExecution.isEmpty {
            out.family(
                "nestprobe_guest_emulated", .gauge,
                "1 when guests in this mode and CPL are emulated instruction by instruction, so their figures include emulation; else 0."
            )
            for mode in report.guestExecution {
                out.sample(
                    "nestprobe_guest_emulated", [("mode", mode.mode), ("cpl", String(mode.cpl))], mode.emulated ? 1 : 0)
            }
        }
        caseStatus(report, &out)
        latencies(report, &out)
        return out.text + "# EOF\n"
    }

    /// One series per case and status, 1 for the case's status and 0 for the others.
    static func caseStatus(_ report: BenchReport, _ out: inout Exposition) {
        guard !report.cases.isEmpty else { return }
        out.family(
            "nestprobe_case_status", .gauge,
            "1 for the status of each case (ok, skipped, failed) and 0 for the other two.")
        for entry in report.cases {
            for status in [CaseReport.Status.ok, .skipped, .failed] {
                out.sample(
                    "nestprobe_case_status", caseLabels(entry) + [("status", status.rawValue)],
                    entry.status == status ? 1 : 0)
            }
        }
    }

    /// Net medians, the latency summaries and the multipliers, this level's CPUID first.
    static func latencies(_ report: BenchReport, _ out: inout Exposition) {
        let measured = report.cases.filter { $0.status == .ok && $0.statistics != nil }
        let hosts = report.hostLevel.map { host in
            (labels: hostLabels(host), host: host)
        }
        out.family(
            "nestprobe_exit_net_cycles", .gauge,
            "Median cycles per exit less the timing baseline of the same mode: the figure of the bench table.")
        for (labels, host) in hosts { out.sample("nestprobe_exit_net_cycles", labels, host.netMedianCycles) }
        for entry in measured {
            // A net below resolution (its interval reaches zero) is left out: a 0 on a dashboard would read as
            // a measured free exit.
            if let net = entry.netMedianCycles, entry.net?.belowResolution != true {
                out.sample("nestprobe_exit_net_cycles", exitLabels(entry), net)
            }
        }
        out.family("nestprobe_exit_net_seconds", .gauge, "The same net median per exit, in seconds.")
        for (labels, host) in hosts {
            out.sample("nestprobe_exit_net_seconds", labels, host.netMedianNanoseconds / 1e9)
        }
        for entry in measured {
            if let nanoseconds = entry.netMedianNanoseconds, entry.net?.belowResolution != true {
                out.sample("nestprobe_exit_net_seconds", exitLabels(entry), nanoseconds / 1e9)
            }
        }
        for (name, unit) in [
            ("nestprobe_exit_latency_cycles", "cycles"), ("nestprobe_exit_latency_seconds", "seconds"),
        ] {
            let inSeconds = unit == "seconds"
            out.family(
                name, .summary,
                "Latency per exit as timed (timing baseline included), over every sample taken, in \(unit).")
            for (labels, host) in hosts {
                summary(
                    name, labels, inSeconds ? host.statistics.nanoseconds : host.statistics.cycles,
                    scale: inSeconds ? 1e-9 : 1, &out)
            }
            for entry in measured {
                guard let statistics = entry.statistics else { continue }
                let perExit = 1 / Double(max(1, entry.exitsPerSample))
                summary(
                    name, exitLabels(entry), inSeconds ? statistics.nanoseconds : statistics.cycles,
                    scale: perExit * (inSeconds ? 1e-9 : 1), &out)
            }
        }
        multipliers(report, &out)
    }

    /// Guest level over this level per row (a three-level row's is its counterpart's, so it is left to that
    /// row), and the guest's guest over the guest level per three-level row.
    static func multipliers(_ report: BenchReport, _ out: inout Exposition) {
        let byID = Dictionary(report.cases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        func labels(_ row: TableRow) -> [(String, String)] {
            (byID[row.caseID].map(caseLabels) ?? [("case", row.caseID)]) + [("exits_to", row.exitsTo)]
        }
        let rows = report.table.filter { $0.multiplier != nil && !RenderWords.isInner($0.caseID) }
        if !rows.isEmpty {
            out.family(
                "nestprobe_exit_multiplier", .gauge,
                "Net cycles per exit of the guest level over this level's own for the same instruction.")
            for row in rows {
                if let multiplier = row.multiplier { out.sample("nestprobe_exit_multiplier", labels(row), multiplier) }
            }
        }
        let inner = report.table.filter { $0.innerMultiplier != nil }
        if !inner.isEmpty {
            out.family(
                "nestprobe_exit_inner_multiplier", .gauge,
                "Three levels: net cycles per exit of the guest's guest over the guest level's for the same exit.")
            for row in inner {
                if let multiplier = row.innerMultiplier {
                    out.sample("nestprobe_exit_inner_multiplier", labels(row), multiplier)
                }
            }
        }
    }

    /// The quantile samples, then _sum and _count, of one summary.
    static func summary(
        _ name: String, _ labels: [(String, String)], _ statistics: SampleStatistics, scale: Double,
        _ out: inout Exposition
    ) {
        for (quantile, path) in quantiles {
            out.sample(name, labels + [("quantile", quantile)], statistics[keyPath: path] * scale)
        }
        out.sample(name + "_sum", labels, statistics.mean * Double(statistics.count) * scale)
        out.sample(name + "_count", labels, Double(statistics.count))
    }

    static func caseLabels(_ entry: CaseReport) -> [(String, String)] {
        [("case", entry.id), ("mode", entry.mode), ("cpl", String(entry.cpl))]
    }

    /// `level` is "guest", or "inner" for the guest's guest of the three-level cases.
    static func exitLabels(_ entry: CaseReport) -> [(String, String)] {
        caseLabels(entry) + [("exits_to", entry.exitsTo), ("level", RenderWords.isInner(entry.id) ? "inner" : "guest")]
    }

    /// This level's own measurements run in this 64-bit process at CPL3, and exit to the level below.
    static func hostLabels(_ host: HostLevelCase) -> [(String, String)] {
        [("case", host.id), ("mode", "long64"), ("cpl", "3"), ("exits_to", "level-below"), ("level", "this")]
    }

    /// An ISO 8601 time as Unix seconds, nil when it does not parse.
    static func unixSeconds(_ text: String) -> Double? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date.timeIntervalSince1970 }
        return (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))?.timeIntervalSince1970
    }
}

/// Text exposition, one family at a time: HELP and TYPE once, then its samples.
struct Exposition {
    enum Kind: String {
        case gauge, summary
    }

    private(set) var text = ""

    /// Starts a family.
    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line; label values escaped, the value in the format's float syntax.
    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Markup.labelValue($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    /// Integers without a fraction, others in Swift's shortest round-trip form (which Go's ParseFloat
    /// reads back exactly), and the format's own spellings of infinity and NaN.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
