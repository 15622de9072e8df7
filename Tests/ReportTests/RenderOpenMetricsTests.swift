// The Prometheus / OpenMetrics text: read back by a small parser of the exposition format (names, label
// escaping, float syntax, families contiguous with HELP and TYPE, summaries complete), the figures it
// carries checked against the report, and — where promtool is installed — `promtool check metrics`.

import Documents
import Foundation
import Testing

@testable import Report

/// A strict reader of the text exposition format: every line a HELP, a TYPE, the closing # EOF, or a
/// well-formed sample.
struct ExpositionReader {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var help: [String: String] = [:]
    var type: [String: String] = [:]
    var samples: [Sample] = []

    enum Problem: Error, CustomStringConvertible {
        case line(Int, String)
        var description: String {
            switch self {
            case .line(let number, let text): "line \(number): \(text)"
            }
        }
    }

    static func isMetricName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter || first == "_" || first == ":" else {
            return false
        }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    static func isLabelName(_ text: Substring) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } && !text.hasPrefix("__")
    }

    /// The family a sample belongs to: its name less a summary's _sum or _count.
    func family(of name: String) -> String {
        for suffix in ["_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if type[base] == "summary" { return base }
        }
        return name
    }

    init(_ text: String) throws(Problem) {
        guard text.hasSuffix("\n# EOF\n") else { throw .line(0, "does not end with # EOF and a line feed") }
        var seen: [String] = []
        var series: Set<String> = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line == "# EOF" {
                guard number == lines.count else { throw .line(number, "# EOF before the end") }
                continue
            }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2, Self.isMetricName(parts[0]) else { throw .line(number, "bad comment: \(line)") }
                let name = String(parts[0])
                if line.hasPrefix("# HELP ") {
                    guard help[name] == nil else { throw .line(number, "second HELP for \(name)") }
                    guard !parts[1].contains("\\") && !parts[1].contains("\"") else {
                        throw .line(number, "HELP escapes differ between the formats")
                    }
                    help[name] = String(parts[1])
                } else {
                    guard type[name] == nil, ["gauge", "summary"].contains(parts[1]) else {
                        throw .line(number, "bad or second TYPE: \(line)")
                    }
                    guard help[name] != nil else { throw .line(number, "TYPE before HELP for \(name)") }
                    type[name] = String(parts[1])
                    guard !seen.contains(name) else { throw .line(number, "family \(name) split") }
                    seen.append(name)
                }
                continue
            }
            guard !line.hasPrefix("#"), !line.isEmpty else { throw .line(number, "stray line: \(line)") }
            let sample = try Self.sample(line, number)
            let family = family(of: sample.name)
            guard seen.last == family else { throw .line(number, "\(sample.name) outside its family's block") }
            let key = sample.name + sample.labels.sorted { $0.key < $1.key }.description
            guard series.insert(key).inserted else { throw .line(number, "duplicate series \(key)") }
            samples.append(sample)
        }
    }

    /// One sample line: name, optional {labels}, one space, a float; no timestamp.
    static func sample(_ line: Substring, _ number: Int) throws(Problem) -> Sample {
        var rest = line[...]
        let nameEnd = rest.firstIndex { $0 == "{" || $0 == " " } ?? rest.endIndex
        let name = rest[..<nameEnd]
        guard isMetricName(name) else { throw .line(number, "bad metric name: \(line)") }
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                guard let equals = rest.firstIndex(of: "=") else { throw .line(number, "label without =") }
                let label = rest[..<equals]
                guard isLabelName(label), labels[String(label)] == nil else {
                    throw .line(number, "bad label \(label)")
                }
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { throw .line(number, "unquoted label value") }
                rest = rest.dropFirst()
                var value = ""
                while true {
                    guard let character = rest.first else { throw .line(number, "unterminated label value") }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        switch rest.first {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw .line(number, "bad escape in label value")
                        }
                        rest = rest.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                labels[String(label)] = value
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw .line(number, "expected , or }")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw .line(number, "no space before the value") }
        let text = rest.dropFirst()
        guard !text.contains(" ") else { throw .line(number, "a timestamp or trailing text: \(line)") }
        let value: Double
        switch text {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let parsed = Double(text), text.allSatisfy({ "0123456789.e+-".contains($0) }) else {
                throw .line(number, "bad value \(text)")
            }
            value = parsed
        }
        return Sample(name: String(name), labels: labels, value: value)
    }

    /// The value of the first sample named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }?.value
    }
}

/// promtool, where installed (Debian: apt-get install prometheus).
enum Promtool {
    static let path: String? = {
        let directories = (Foundation.ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/promtool" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}

@Suite("Render: OpenMetrics")
struct RenderOpenMetricsTests {
    @Test("the real report: every line well-formed, families whole, summaries complete")
    func wellFormed() throws {
        let report = try RenderFixture.report()
        let reader = try ExpositionReader(RenderOpenMetrics.render(report))
        #expect(Set(reader.help.keys) == Set(reader.type.keys))
        for (name, kind) in reader.type {
            #expect(name.hasPrefix("nestprobe_"))
            #expect(reader.samples.contains { reader.family(of: $0.name) == name }, "\(name) has no samples")
            #expect(
                kind == "summary" || !reader.samples.contains { $0.name == name && $0.labels["quantile"] != nil },
                "only summaries carry quantile")
        }
        let measured = report.cases.filter { $0.status == .ok }.count + report.hostLevel.count
        for name in ["nestprobe_exit_latency_cycles", "nestprobe_exit_latency_seconds"] {
            #expect(reader.samples.filter { $0.name == name }.count == measured * 5)
            #expect(reader.samples.filter { $0.name == name + "_count" }.count == measured)
            #expect(reader.samples.filter { $0.name == name + "_sum" }.count == measured)
        }
        #expect(reader.samples.filter { $0.name == "nestprobe_case_status" }.count == report.cases.count * 3)
    }

    @Test("the figures: net medians, quantiles per exit, multipliers, status, level, TSC")
    func figures() throws {
        let reader = try ExpositionReader(RenderOpenMetrics.render(try RenderFixture.report()))
        #expect(reader.value("nestprobe_exit_net_cycles", ["case": "cpuid-0/real", "level": "guest"]) == 3068)
        #expect(reader.value("nestprobe_exit_net_cycles", ["case": "cpuid-0/host", "level": "this"]) == 9230)
        let seconds = try #require(reader.value("nestprobe_exit_net_seconds", ["case": "cpuid-0/real"]))
        #expect(abs(seconds - 1.1817544508385527e-06) < 1e-15)
        #expect(reader.value("nestprobe_exit_latency_cycles", ["case": "cpuid-0/real", "quantile": "0.5"]) == 7644)
        // 64 loop iterations a sample: quantiles are per iteration.
        #expect(
            reader.value("nestprobe_exit_latency_cycles", ["case": "null/real", "quantile": "0.5"]) == 139958.0 / 64)
        #expect(reader.value("nestprobe_exit_latency_cycles_count", ["case": "cpuid-0/host"]) == 4000)
        let multiplier = try #require(reader.value("nestprobe_exit_multiplier", ["case": "cpuid-0/long64-cpl3"]))
        #expect(abs(multiplier - 0.9915492957746479) < 1e-12)
        #expect(reader.value("nestprobe_case_status", ["case": "hypercall/real", "status": "skipped"]) == 1)
        #expect(reader.value("nestprobe_case_status", ["case": "hypercall/real", "status": "ok"]) == 0)
        #expect(
            reader.value("nestprobe_level_info", ["level": "L2+", "kvm_module": "kvm_pvm", "mechanism": "PVM"]) == 1)
        #expect(reader.value("nestprobe_tsc_hertz", ["level": "this", "source": "kernel"]) == 2_596_140_000)
        #expect(reader.value("nestprobe_report_timestamp_seconds", [:]) == 1_795_656_743)
        #expect(reader.value("nestprobe_guest_emulated", ["mode": "real", "cpl": "0"]) == 1)
    }

    @Test("label values with quotes, backslashes and line feeds read back as they were")
    func labelEscaping() throws {
        let id = "we\"ird\\case\nwith {braces}, commas=and spaces"
        var report = try RenderFixture.craftedMeasured(id: id)
        report.context.cpu = "CPU \"quoted\" \\ back\nslash"
        let text = RenderOpenMetrics.render(report)
        let reader = try ExpositionReader(text)
        #expect(reader.value("nestprobe_exit_net_cycles", ["case": id]) == 3068)
        #expect(
            reader.samples.contains { $0.name == "nestprobe_machine_info" && $0.labels["cpu"] == report.context.cpu })
        #expect(!text.contains(id), "the raw id never appears")
    }

    @Test("values: integers bare, fractions round-trip, the format's spellings of infinity and NaN")
    func numbers() {
        #expect(Exposition.number(2_596_140_000) == "2596140000")
        #expect(Exposition.number(0.8125) == "0.8125")
        #expect(Double(Exposition.number(1.1817544508385527e-06)) == 1.1817544508385527e-06)
        #expect(Exposition.number(.infinity) == "+Inf")
        #expect(Exposition.number(-.infinity) == "-Inf")
        #expect(Exposition.number(.nan) == "NaN")
    }

    @Test(
        "promtool check metrics accepts it",
        .enabled(
            if: Promtool.path != nil,
            "promtool is not on PATH: install Debian's prometheus package (apt-get install prometheus) to run promtool check metrics"
        ))
    func promtool() throws {
        let report = try RenderFixture.craftedMeasured(id: "quote\"back\\slash\nnewline")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Promtool.path))
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(RenderOpenMetrics.render(report).utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(said)")
        #expect(said.isEmpty, "promtool lint: \(said)")
    }
}
