// RenderJUnit: the report as JUnit XML, the format every CI system shows as a test list: one testcase per
// case (and per measurement of this level), a skipped case as <skipped>, a failed one as <failure> with
// its kind as the type. A testcase's time is the case's net median per exit, in seconds, so dashboards
// that chart test durations chart exit latency; the full figures are in each testcase's system-out.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

/// Renders a bench report as JUnit XML.
public enum RenderJUnit {
    /// The whole document.
    public static func render(_ report: BenchReport) -> String {
        let c = report.context
        let tests = report.hostLevel.count + report.cases.count
        let failures = report.cases.filter { $0.status == .failed }.count
        let skipped = report.cases.filter { $0.status == .skipped }.count
        let counts =
            "tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" "
            + "time=\"\(seconds(report.wallSeconds * 1e9))\""
        let name = "nestprobe bench \(c.level) to \(c.guestLevel)"
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"\(attribute(name))\" \(counts)>\n"
        // The Ant JUnit schema's timestamp is an xs:dateTime without a zone; createdAt is UTC.
        let timestamp = report.createdAt.hasSuffix("Z") ? String(report.createdAt.dropLast()) : report.createdAt
        xml += "  <testsuite name=\"\(attribute(name))\" \(counts) timestamp=\"\(attribute(timestamp))\">\n"
        xml += "    <properties>\n"
        for (key, value) in properties(report) {
            xml += "      <property name=\"\(attribute(key))\" value=\"\(attribute(value))\"/>\n"
        }
        xml += "    </properties>\n"
        for host in report.hostLevel {
            let out =
                "net \(RenderNumber.cycles(host.netMedianCycles)) cycles "
                + "(\(RenderNumber.microseconds(host.netMedianNanoseconds)) µs) per exit; "
                + figures(host.statistics.cycles, perExit: 1) + "; \(host.mechanism)"
            xml +=
                "    <testcase classname=\"nestprobe.bench.this-level\" name=\"\(attribute(host.id))\" "
                + "time=\"\(seconds(host.netMedianNanoseconds))\">\n"
            xml += "      <system-out>\(Markup.xml(out))</system-out>\n    </testcase>\n"
        }
        let notes = Dictionary(report.table.map { ($0.caseID, $0.note) }, uniquingKeysWith: { first, _ in first })
        for entry in report.cases {
            xml += testcase(entry, note: notes[entry.id] ?? "")
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func testcase(_ entry: CaseReport, note: String) -> String {
        let classname =
            entry.timedIn == "host" ? "nestprobe.bench.host-timed" : "nestprobe.bench.\(entry.mode)-cpl\(entry.cpl)"
        let time = entry.netMedianNanoseconds ?? entry.statistics?.nanoseconds.p50 ?? 0
        var xml =
            "    <testcase classname=\"\(attribute(classname))\" name=\"\(attribute(entry.id))\" "
            + "time=\"\(seconds(time))\">\n"
        let reason = RenderWords.reason(entry)
        switch entry.status {
        case .skipped:
            xml += "      <skipped message=\"\(attribute(reason))\"/>\n"
        case .failed:
            let kind = entry.failure?.kind.rawValue ?? "failed"
            xml +=
                "      <failure message=\"\(attribute(reason))\" type=\"\(attribute(kind))\">"
                + "\(Markup.xml("\(entry.id): \(reason)"))</failure>\n"
        case .ok:
            let belowResolution = entry.net?.belowResolution == true
            var out =
                belowResolution
                ? "net below resolution (its 95 % interval reaches zero)"
                : "net \(entry.netMedianCycles.map(RenderNumber.cycles) ?? "?") cycles"
            if !belowResolution, let nanoseconds = entry.netMedianNanoseconds {
                out += " (\(RenderNumber.microseconds(nanoseconds)) µs)"
            }
            out += " per exit"
            if let statistics = entry.statistics?.cycles {
                out += "; " + figures(statistics, perExit: entry.exitsPerSample)
            }
            out += "; exits to \(entry.exitsTo); \(entry.attribution); \(entry.runs) run(s)"
            if !note.isEmpty { out += "; \(note)" }
            xml += "      <system-out>\(Markup.xml(out))</system-out>\n"
        }
        return xml + "    </testcase>\n"
    }

    /// "per exit as timed: p50 7,644, p90 …, p99 … cycles over 1,000 samples".
    static func figures(_ statistics: SampleStatistics, perExit exits: Int) -> String {
        let scale = 1 / Double(max(1, exits))
        return
            "as timed: p50 \(RenderNumber.cycles(statistics.p50 * scale)), p90 \(RenderNumber.cycles(statistics.p90 * scale)), "
            + "p99 \(RenderNumber.cycles(statistics.p99 * scale)) cycles per exit over "
            + "\(RenderNumber.grouped(Double(statistics.count))) samples"
    }

    static func properties(_ report: BenchReport) -> [(String, String)] {
        let c = report.context
        var list: [(String, String)] = [
            ("nestprobe.version", report.tool.version), ("created", report.createdAt), ("level", c.level),
            ("level.lowerBound", c.levelLowerBound), ("level.confidence", String(format3: c.levelConfidence)),
            ("guestLevel", c.guestLevel), ("hypervisor", c.hypervisor ?? "none"), ("cpu", c.cpu),
            ("kernel", c.kernelRelease ?? "unknown"), ("kvmModule", c.kvmModule ?? "none"), ("mechanism", c.mechanism),
            ("tsc.hz", String(format3: c.tsc.hz)), ("tsc.source", c.tsc.source.rawValue),
            ("emulatedHost", c.emulatedHost ? "true" : "false"),
        ]
        list += c.notes.enumerated().map { ("note.\($0.offset + 1)", $0.element) }
        return list
    }

    /// Seconds from nanoseconds, in fixed notation with nine decimals (JUnit readers do not all take
    /// exponents): 0.000001182.
    static func seconds(_ nanoseconds: Double) -> String {
        guard nanoseconds.isFinite, nanoseconds > 0 else { return "0.000000000" }
        // Past Int's range (about 292 years) the nanoseconds are no longer whole in a Double anyway.
        guard let whole = CheckedNumber.int(nanoseconds) else { return CFormat.fixed(nanoseconds / 1e9, decimals: 9) }
        let fraction = String(whole % 1_000_000_000)
        return "\(whole / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    private static func attribute(_ text: String) -> String {
        Markup.xml(text, attribute: true)
    }
}
