// The schema's bounds and one-key-once rule kept when reading: a report, snapshot or threshold file
// outside them is exit 65 with one line naming the field. Before, each of these was read as it came
// (a confidence of 1e17, 5,000 samples in one case, a key written twice, a threshold for a case id
// that no report has) and later either crashed, was silently dropped or was silently ignored.

import Documents
import Foundation
import Report
import TestSupport
import Testing

@Suite("input bounds and duplicate keys")
struct InputBoundsTests {
    /// The real report with `edit` applied to its JSON object, parsed; the error message, or nil if accepted.
    static func refusal(_ edit: (inout [String: Any]) -> Void) throws -> String? {
        let data = try CompareInputTests.edited(edit)
        do {
            _ = try ReportFile.parse([UInt8](data), name: "r.json")
            return nil
        } catch {
            #expect(error.kind == .badData)
            return error.message
        }
    }

    static func editCase(_ object: inout [String: Any], _ index: Int, _ edit: (inout [String: Any]) -> Void) {
        var cases = object["cases"] as! [[String: Any]]
        edit(&cases[index])
        object["cases"] = cases
    }

    /// The index of the first case with status ok in the real report.
    static func okIndex() throws -> Int {
        try #require(try CompareFixtures.real().cases.firstIndex { $0.status == .ok })
    }

    @Test("each of the schema's bounds refused with the field's path")
    func bounds() throws {
        let ok = try Self.okIndex()
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            (
                "r.json: context.levelConfidence: 1e+17 is outside 0.0…1.0",
                { object in
                    var context = object["context"] as! [String: Any]
                    context["levelConfidence"] = 1e17
                    object["context"] = context
                }
            ),
            (
                "r.json: context.levelConfidence: -0.5 is outside 0.0…1.0",
                { object in
                    var context = object["context"] as! [String: Any]
                    context["levelConfidence"] = -0.5
                    object["context"] = context
                }
            ),
            (
                "r.json: cases[\(ok)].samplesCycles: 4097 items, over the limit of 4096",
                { object in
                    Self.editCase(&object, ok) { $0["samplesCycles"] = [UInt64](repeating: 7, count: 4097) }
                }
            ),
            (
                "r.json: context.notes[0]: 4097 bytes of text, over the limit of 4096",
                { object in
                    var context = object["context"] as! [String: Any]
                    context["notes"] = [String(repeating: "n", count: 4097)]
                    object["context"] = context
                }
            ),
            (
                "r.json: cases[\(ok)].reason: 5000 bytes of text, over the limit of 4096",
                { object in
                    Self.editCase(&object, ok) { $0["reason"] = String(repeating: "é", count: 2500) }
                }
            ),
            (
                "r.json: cases[\(ok)].sampleCount: -1 is below the minimum 0",
                { object in
                    Self.editCase(&object, ok) { $0["sampleCount"] = -1 }
                }
            ),
            (
                "r.json: cases[\(ok)].runs: 0 is below the minimum 1",
                { object in
                    Self.editCase(&object, ok) { $0["runs"] = 0 }
                }
            ),
            (
                "r.json: cases[\(ok)].cpl: 2 is not one of 0, 3",
                { object in
                    Self.editCase(&object, ok) { $0["cpl"] = 2 }
                }
            ),
            (
                "r.json: cases[\(ok)].netMedianNanoseconds: -3.0 is below the minimum 0.0",
                { object in
                    Self.editCase(&object, ok) { $0["netMedianNanoseconds"] = -3.0 }
                }
            ),
            ("r.json: wallSeconds: -1.0 is below the minimum 0.0", { object in object["wallSeconds"] = -1.0 }),
            (
                "r.json: table[0].multiplier: -2.0 is below the minimum 0.0",
                { object in
                    var table = object["table"] as! [[String: Any]]
                    table[0]["multiplier"] = -2.0
                    object["table"] = table
                }
            ),
            (
                "r.json: cases[\(ok)].statistics.cycles.medianCI95: 1 items, expected at least 2",
                { object in
                    Self.editCase(&object, ok) { entry in
                        var statistics = entry["statistics"] as! [String: Any]
                        var cycles = statistics["cycles"] as! [String: Any]
                        cycles["medianCI95"] = [1.0]
                        statistics["cycles"] = cycles
                        entry["statistics"] = statistics
                    }
                }
            ),
            (
                "r.json: cases: 257 items, over the limit of 256",
                { object in
                    let cases = object["cases"] as! [[String: Any]]
                    object["cases"] = (0..<257).map { index in
                        var entry = cases[index % cases.count]
                        entry["id"] = "case-\(index)"
                        return entry
                    }
                }
            ),
        ]
        for (expected, edit) in cases {
            #expect(try Self.refusal(edit) == expected)
        }
        // At the bounds: accepted.
        #expect(
            try Self.refusal { object in
                Self.editCase(&object, ok) { $0["samplesCycles"] = [UInt64](repeating: 7, count: 4096) }
                var context = object["context"] as! [String: Any]
                context["levelConfidence"] = 1.0
                object["context"] = context
            } == nil)
    }

    @Test("render and compare of an out-of-bounds report: exit 65 naming the file and the field")
    func boundsOnTheCommandLine() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("confident.json").path
        try CompareInputTests.edited { object in
            var context = object["context"] as! [String: Any]
            context["levelConfidence"] = 1e17
            object["context"] = context
        }.write(to: URL(fileURLWithPath: path))
        let real = try CompareFixtures.path(CompareFixtures.realName)
        for arguments in [
            ["render", path, "--format", "html"], ["render", path, "--format", "markdown"], ["compare", real, path],
        ] {
            let (status, _, err) = try NestprobeRunner.run(arguments).parts
            #expect(status == 65, "\(arguments)")
            #expect(err == "nestprobe: \(path): context.levelConfidence: 1e+17 is outside 0.0…1.0\n")
        }
    }

    @Test("a key written twice in a bench report is refused with its path")
    func duplicateKeyInReport() throws {
        let text = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: try CompareFixtures.path(CompareFixtures.realName))),
            as: UTF8.self)
        // The first wallSeconds, written again beside itself at the top level.
        let doubled = text.replacingOccurrences(of: "\"schema\"", with: "\"wallSeconds\": 1, \"schema\"")
        #expect(
            throws: InputError(
                .badData, "r.json: wallSeconds: the key appears twice in one object (JSON keeps only one)")
        ) {
            try ReportFile.parse(Array(doubled.utf8), name: "r.json")
        }
        let escaped = text.replacingOccurrences(of: "\"createdAt\"", with: "\"\\u0063reatedAt\": \"x\", \"createdAt\"")
        #expect(
            throws: InputError(.badData, "r.json: createdAt: the key appears twice in one object (JSON keeps only one)")
        ) {
            try ReportFile.parse(Array(escaped.utf8), name: "r.json")
        }
    }

    @Test("a threshold file with a key twice, or a case id no report has: exit 65 naming them")
    func unknownThresholdCases() throws {
        #expect(
            throws: InputError(
                .badData, "t.json: cases.a/real: the key appears twice in one object (JSON keeps only one)")
        ) {
            try Thresholds.parse(Array(#"{"cases": {"a/real": 10, "a/real": 20}}"#.utf8), name: "t.json")
        }
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let thresholds = folder.appendingPathComponent("t.json").path
        try Data(#"{"cases": {"cpuid-0/real": 3, "cpuid-0/reel": 4, "nope": 5}}"#.utf8).write(
            to: URL(fileURLWithPath: thresholds))
        let real = try CompareFixtures.path(CompareFixtures.realName)
        let (status, _, err) = try NestprobeRunner.run(["compare", "--thresholds", thresholds, real, real]).parts
        #expect(status == 65)
        #expect(err == "nestprobe: \(thresholds): cases: \"cpuid-0/reel\", \"nope\" are not cases of either report\n")
        let (argumentStatus, _, argumentErr) = try NestprobeRunner.run(["compare", "--threshold", "nope=3", real, real])
            .parts
        #expect(argumentStatus == 65)
        #expect(argumentErr == "nestprobe: --threshold nope=3: cases: \"nope\" is not a case of either report\n")
        try Data(#"{"cases": {"cpuid-0/real": 3}}"#.utf8).write(to: URL(fileURLWithPath: thresholds))
        // Accepted: one report a side is inconclusive (exit 5), not refused.
        let accepted = try NestprobeRunner.run(["compare", "--thresholds", thresholds, real, real]).parts
        #expect(accepted.status == 5, "\(accepted.err)")
        #expect(accepted.err.isEmpty)
    }
}
