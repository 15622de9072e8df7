// Bad input to compare: reports that are not files, not JSON, cut short, of the wrong schema or version,
// with fields of the wrong type or broken promises, and threshold files and arguments that cannot be
// used. Each is one InputError line naming the file and the field, never a crash.

import Bench
import Foundation
import Probe
import Report
import Testing

/// A scratch folder, removed by the caller.
func compareScratchFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-compare-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite("compare: bad input")
struct CompareInputTests {
    /// The real report's text with `edit` applied to its JSON object.
    static func edited(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: try CompareFixtures.path(CompareFixtures.realName)))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    static func setCase(_ object: inout [String: Any], _ index: Int, _ key: String, _ value: Any) {
        var cases = object["cases"] as! [[String: Any]]
        cases[index][key] = value
        object["cases"] = cases
    }

    @Test("the real report loads")
    func realLoads() throws {
        let report = try CompareFixtures.real()
        #expect(report.schema == BenchReport.schemaID)
        #expect(report.cases.count > 30)
    }

    @Test("a missing file is .noInput naming it")
    func missing() {
        #expect { try ReportFile.load("/nonexistent/base.bench.json") } throws: { error in
            let error = error as? InputError
            return error?.kind == .noInput && error?.message.contains("/nonexistent/base.bench.json") == true
        }
    }

    @Test("malformed, truncated, mistyped, other schema or version, empty, a directory: one line each")
    func badReports() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: try CompareFixtures.path(CompareFixtures.realName)))
        let inputs: [(String, Data?, String)] = [
            ("empty.json", Data(), "empty"),
            ("truncated.json", whole.prefix(whole.count / 2), "not valid JSON"),
            ("garbage.json", Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 91) }), "not valid JSON"),
            ("array.json", Data("[1, 2]".utf8), "not valid JSON"),
            (
                "snapshot.json", Data(#"{"schema": "nestprobe.snapshot", "version": 1}"#.utf8),
                "expected \"nestprobe.bench\""
            ),
            ("newer.json", Data(#"{"schema": "nestprobe.bench", "version": 2}"#.utf8), "version 2 is not supported"),
            ("noversion.json", Data(#"{"schema": "nestprobe.bench"}"#.utf8), "version missing"),
            ("version-string.json", try Self.edited { $0["version"] = "1" }, "version"),
            ("no-context.json", try Self.edited { $0.removeValue(forKey: "context") }, "context"),
            (
                "cpu-number.json",
                try Self.edited { o in
                    var c = o["context"] as! [String: Any]
                    c["cpu"] = 7
                    o["context"] = c
                }, "context.cpu"
            ),
            (
                "samples-string.json", try Self.edited { Self.setCase(&$0, 2, "samplesCycles", "many") },
                "cases[2].samplesCycles"
            ),
            (
                "negative-sample.json", try Self.edited { Self.setCase(&$0, 2, "samplesCycles", [1, -5]) },
                "cases[2].samplesCycles[1]: -5 is not a whole number ≥ 0"
            ),
            (
                "fraction-sample.json", try Self.edited { Self.setCase(&$0, 3, "samplesCycles", [2.5]) },
                "cases[3].samplesCycles[0]: 2.5"
            ),
            ("fraction-runs.json", try Self.edited { Self.setCase(&$0, 4, "runs", 1.5) }, "cases[4].runs: 1.5"),
            (
                "negative-baseline.json", try Self.edited { Self.setCase(&$0, 2, "baselineMedianCycles", -5) },
                "cases[2].baselineMedianCycles: -5.0 is not a number of cycles ≥ 0"
            ),
            ("status.json", try Self.edited { Self.setCase(&$0, 1, "status", "great") }, "cases[1].status"),
            (
                "no-samples.json", try Self.edited { Self.setCase(&$0, 2, "samplesCycles", [Int]()) },
                "cases[2].samplesCycles"
            ),
            ("duplicate.json", try Self.edited { Self.setCase(&$0, 3, "id", "cpuid-0/real") }, "cases[3].id"),
            ("directory.json", nil, "is a directory"),
        ]
        for (name, content, expected) in inputs {
            let path = folder.appendingPathComponent(name).path
            if let content {
                try content.write(to: URL(fileURLWithPath: path))
            } else {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            }
            do {
                _ = try ReportFile.load(path)
                Issue.record("\(name) was accepted")
            } catch {
                #expect(error.kind == .badData, "\(name): \(error)")
                #expect(error.message.hasPrefix(path), "\(name): \(error)")
                #expect(error.message.contains(expected), "\(name): \(error)")
                #expect(!error.message.contains("\n"), "\(name): \(error)")
            }
        }
    }

    @Test("a file over the size limit is refused without being read")
    func huge() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("huge.json").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{".utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(DocumentFile.maximumBytes) + 1)
        try handle.close()
        #expect { try ReportFile.load(path) } throws: { error in
            (error as? InputError)?.message.contains("MiB limit") == true
        }
    }

    @Test("threshold files: default and cases read; unknown keys, wrong types, negative or absurd values refused")
    func thresholdFiles() throws {
        let good = try Thresholds.parse(
            Array(#"{"default": 7.5, "cases": {"cpuid-0/real": 3, "hlt/real": 0}}"#.utf8),
            name: "t.json")
        #expect(good.defaultPercent == 7.5)
        #expect(good.cases == ["cpuid-0/real": 3, "hlt/real": 0])
        let onlyCases = try Thresholds.parse(Array(#"{"cases": {"a/real": 10}}"#.utf8), name: "t.json")
        #expect(onlyCases.defaultPercent == nil)
        let bad: [(String, String)] = [
            (#"{"default": 5, "threshold": 3}"#, "threshold: unknown key"),
            (#"{"default": -1}"#, "default: -1.0 is negative"),
            (#"{"default": 5000}"#, "default: 5000.0 % is over"),
            (#"{"default": "5"}"#, "default: expected a number of percent, got the string \"5\""),
            (#"{"default": true}"#, "default: expected a number of percent, got true"),
            (#"{"cases": {"cpuid-0/real": null}}"#, "cases.cpuid-0/real: expected a number"),
            (#"{"cases": {"cpuid-0/real": -3}}"#, "cases.cpuid-0/real: -3.0 is negative"),
            (#"{"cases": [3]}"#, "cases: expected an object"),
            (#"[5]"#, "expected an object"),
            (#"{"default": 5"#, "not valid JSON"),
        ]
        for (text, expected) in bad {
            #expect { try Thresholds.parse(Array(text.utf8), name: "t.json") } throws: { error in
                guard let error = error as? InputError else { return false }
                return error.kind == .badData && error.message.hasPrefix("t.json: ") && error.message.contains(expected)
                    && !error.message.contains("\n")
            }
        }
        #expect { try Thresholds.load("/nonexistent/t.json") } throws: { error in
            (error as? InputError)?.kind == .noInput
        }
    }

    @Test("threshold arguments: 10, 10%, id=3; the rest refused")
    func thresholdArguments() throws {
        #expect(try Thresholds.parseArgument("10").get() == (nil, 10))
        #expect(try Thresholds.parseArgument("2.5%").get() == (nil, 2.5))
        #expect(try Thresholds.parseArgument("cpuid-0/real=3").get() == ("cpuid-0/real", 3))
        for text in ["", "ten", "=3", "cpuid-0/real=", "-1", "1e9", "nan", "cpuid-0/real=x"] {
            if case .success = Thresholds.parseArgument(text) { Issue.record("\(text) was accepted") }
        }
        let combined = Thresholds().overlaid(default: 10, cases: ["a/real": 1]).overlaid(
            default: nil, cases: ["a/real": 2])
        #expect(combined.percent(for: "a/real") == 2)
        #expect(combined.percent(for: "b/real") == 10)
        #expect(Thresholds().percent(for: "b/real") == Thresholds.standardPercent)
    }
}
