// `nestprobe compare` end to end through the built executable: exit codes 0, 2, 4, 5, 64, 65, 66, 73, the
// text and JSON outputs, -o, --force and its warnings, and one-line errors for bad files.

import Documents
import Foundation
import Report
import TestSupport
import Testing

@Suite("nestprobe compare command line")
struct CompareCLITests {
    /// Writes crafted reports into a scratch folder; returns their paths by name.
    static func write(_ reports: [String: BenchReport], in folder: URL) throws -> [String: String] {
        var paths: [String: String] = [:]
        for (name, report) in reports {
            let path = folder.appendingPathComponent(name).path
            try DocumentFile.encodeJSON(report).write(to: URL(fileURLWithPath: path))
            paths[name] = path
        }
        return paths
    }

    @Test("the real report against itself: one run a side, exit 5 inconclusive, a table in 80 columns")
    func noChange() throws {
        let real = try CompareFixtures.path(CompareFixtures.realName)
        let (status, out, err) = try NestprobeRunner.run(["compare", real, real]).parts
        #expect(status == 5, "\(err)")
        #expect(err.isEmpty)
        #expect(out.contains("exit 5: inconclusive"))
        #expect(out.contains("too few runs"))
        #expect(out.contains("cpuid-0"))
        // Only the lines naming the files may be longer.
        for line in out.split(separator: "\n") where !line.contains(real) { #expect(line.count <= 80, "\(line)") }
    }

    @Test("six runs a side after --: regression exit 2, improvement 4, same 0, larger threshold 0; JSON, JUnit, -o")
    func verdicts() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let id = "pio-out-user/long64-cpl0"
        var reports: [String: BenchReport] = [:]
        for (name, side) in [
            ("base", try RunFixtures.side(6, offset: 0)), ("same", try RunFixtures.side(6, offset: 0.3)),
            ("slower", try RunFixtures.side(6, offset: 0.3, slowed: [id], by: 1.2)),
            ("faster", try RunFixtures.side(6, offset: 0.3, slowed: [id], by: 0.8)),
        ] {
            for (index, named) in side.enumerated() { reports["\(name)\(index).bench.json"] = named.report }
        }
        let paths = try Self.write(reports, in: folder)
        func side(_ name: String) -> [String] { (0..<6).map { paths["\(name)\($0).bench.json"]! } }
        func run(_ new: String, _ extra: [String] = []) throws -> (status: Int32, out: String, err: String) {
            try NestprobeRunner.run(["compare"] + extra + side("base") + ["--"] + side(new)).parts
        }
        let regression = try run("slower")
        #expect(regression.status == 2, "\(regression.err)")
        #expect(regression.out.contains("REGRESSED"))
        #expect(try run("faster").status == 4)
        #expect(try run("same").status == 0)
        #expect(try run("slower", ["--threshold", "\(id)=60"]).status == 0)
        let thresholdFile = folder.appendingPathComponent("t.json")
        try Data(#"{"default": 5, "cases": {"pio-out-user/long64-cpl0": 60}}"#.utf8).write(to: thresholdFile)
        #expect(try run("slower", ["--thresholds", thresholdFile.path]).status == 0)
        #expect(try run("slower", ["--exclude", "pio-*"]).status == 0)

        let json = try run("slower", ["--json"])
        #expect(json.status == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "nestprobe.compare")
        #expect(object["version"] as? Int == RunCompareReport.currentVersion)
        #expect((object["summary"] as? [String: Any])?["exitCode"] as? Int == 2)
        let junit = try run("slower", ["--format", "junit"])
        #expect(junit.out.contains("<failure type=\"regressed\""))

        let target = folder.appendingPathComponent("result.compare.json").path
        let written = try run("slower", ["--json", "-o", target])
        #expect(written.status == 2)
        #expect(written.out.isEmpty)
        let saved = try JSONDecoder().decode(
            RunCompareReport.self, from: Data(contentsOf: URL(fileURLWithPath: target)))
        #expect(saved.summary.regressed == 1)
        let base = try CompareFixtures.path(CompareFixtures.realName)
        let unwritable = try NestprobeRunner.run(["compare", base, base, "-o", "/nonexistent/dir/x.txt"]).parts
        #expect(unwritable.status == 73)
        #expect(unwritable.err.contains("/nonexistent/dir/x.txt"))
    }

    @Test("another CPU: exit 65 with one line; --force: compared, with a WARNING")
    func otherMachine() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var other = try CompareFixtures.real()
        other.context.cpu = "Intel(R) Xeon(R) Platinum 8269CY"
        let paths = try Self.write(["intel.bench.json": other], in: folder)
        let base = try CompareFixtures.path(CompareFixtures.realName)
        let refused = try NestprobeRunner.run(["compare", base, paths["intel.bench.json"]!]).parts
        #expect(refused.status == 65)
        #expect(refused.out.isEmpty)
        #expect(refused.err.split(separator: "\n").count == 1)
        #expect(refused.err.contains("context.cpu") && refused.err.contains("--force"))
        let forced = try NestprobeRunner.run(["compare", base, paths["intel.bench.json"]!, "--force"]).parts
        #expect(forced.status == 5)
        #expect(forced.out.contains("WARNING: context.cpu"))
        let forcedJSON = try NestprobeRunner.run(["compare", base, paths["intel.bench.json"]!, "--force", "--json"])
            .parts
        #expect(forcedJSON.err.contains("WARNING: context.cpu"))
        #expect(forcedJSON.out.contains("\"forced\" : true"))
    }

    @Test("bad files: exit 65 (66 when missing) and one line naming the file")
    func badFiles() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let base = try CompareFixtures.path(CompareFixtures.realName)
        let truncated = folder.appendingPathComponent("truncated.json")
        let whole = try Data(contentsOf: URL(fileURLWithPath: base))
        try whole.prefix(1000).write(to: truncated)
        let empty = folder.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        let badThresholds = folder.appendingPathComponent("bad-thresholds.json")
        try Data(#"{"default": 5, "cases": {"cpuid-0/real": -2}}"#.utf8).write(to: badThresholds)
        let cases: [([String], Int32, String)] = [
            (["compare", base, truncated.path], 65, truncated.path),
            (["compare", empty.path, base], 65, empty.path),
            (["compare", base, folder.path], 65, folder.path),
            (["compare", base, "/nonexistent/new.json"], 66, "/nonexistent/new.json"),
            (["compare", base, base, "--thresholds", badThresholds.path], 65, "cases.cpuid-0/real"),
        ]
        for (arguments, expected, named) in cases {
            let (status, out, err) = try NestprobeRunner.run(arguments).parts
            #expect(status == expected, "\(arguments): \(err)")
            #expect(out.isEmpty)
            #expect(err.split(separator: "\n").count == 1, "\(arguments): \(err)")
            #expect(err.contains(named), "\(arguments): \(err)")
        }
        #expect(try NestprobeRunner.run(["compare", base, base, "--threshold", "-3"]).parts.status == 64)
        #expect(try NestprobeRunner.run(["compare", base]).parts.status == 64)
        #expect(try NestprobeRunner.run(["compare", base, base, base]).parts.status == 64)
        #expect(try NestprobeRunner.run(["compare", "--", base, base]).parts.status == 64)
    }
}
