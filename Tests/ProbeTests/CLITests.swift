// The nestprobe executable end to end: exit codes and one-line errors for bad input, offline analysis
// of every fixture, and that output files are written whole.

import Foundation
import TestSupport
import Testing

func fixturePath(_ relative: String) throws -> String {
    try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(relative)")).path
}

@Suite("nestprobe command line")
struct CLITests {
    @Test("a missing snapshot file: exit 66 and one line naming it")
    func missingFile() throws {
        let (status, out, err) = try NestprobeRunner.run(["diagnose", "--snapshot", "/nonexistent/snap.json"]).parts
        #expect(status == 66)
        #expect(out.isEmpty)
        #expect(err.split(separator: "\n").count == 1)
        #expect(err.contains("/nonexistent/snap.json"))
    }

    @Test("a directory, an empty file, garbage, a wrong version: exit 65 and one line each")
    func badInputs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        let garbage = folder.appendingPathComponent("garbage.bin")
        try Data((0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: garbage)
        let newer = folder.appendingPathComponent("newer.json")
        try Data(#"{"schema": "nestprobe.snapshot", "version": 99}"#.utf8).write(to: newer)
        let truncated = folder.appendingPathComponent("truncated.json")
        let whole = try Data(contentsOf: URL(fileURLWithPath: try fixturePath("snapshots/hyperv-l1.json")))
        try whole.prefix(whole.count / 2).write(to: truncated)
        for path in [folder.path, empty.path, garbage.path, newer.path, truncated.path] {
            let (status, out, err) = try NestprobeRunner.run(["diagnose", "--snapshot", path]).parts
            #expect(status == 65, "\(path): \(err)")
            #expect(out.isEmpty)
            #expect(err.split(separator: "\n").count == 1, "\(path): \(err)")
            #expect(err.contains(path))
        }
    }

    @Test("every fixture and dump is analysed offline, as text and as JSON")
    func offlineAnalysis() throws {
        let folder = try fixturePath("snapshots")
        let dumps = try fixturePath("dumps")
        let files =
            try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
            .map { "\(folder)/\($0)" }
            + FileManager.default.contentsOfDirectory(atPath: dumps).map { "\(dumps)/\($0)" }
        #expect(files.count >= 14)
        for file in files {
            let (status, out, err) = try NestprobeRunner.run(
                ["diagnose", "--snapshot", file], environment: ["NO_COLOR": "1"]
            ).parts
            #expect(status == 0, "\(file): \(err)")
            #expect(out.hasPrefix("nestprobe "))
            #expect(out.contains("Level: "))
            let (jsonStatus, json, _) = try NestprobeRunner.run(["diagnose", "--snapshot", file, "--json"]).parts
            #expect(jsonStatus == 0)
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            #expect(object?["schema"] as? String == "nestprobe.diagnosis")
        }
    }

    @Test("a CPUID dump says what it cannot tell")
    func dumpSaysWhatIsMissing() throws {
        let dump = try fixturePath("dumps/amd-genoa-kvm.cpuid-r.txt")
        let (status, out, _) = try NestprobeRunner.run(["diagnose", "--snapshot", dump]).parts
        #expect(status == 0)
        #expect(out.contains("carries CPUID only"))
        #expect(out.contains("KVMKVMKVM"))
    }

    @Test("-o writes the file whole and prints nothing; an unwritable place is exit 73")
    func outputFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-out-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("d.json").path
        let (status, out, _) = try NestprobeRunner.run(
            ["diagnose", "--snapshot", try fixturePath("snapshots/vmware-guest.json"), "--json", "-o", target]).parts
        #expect(status == 0)
        #expect(out.isEmpty)
        let written = try Data(contentsOf: URL(fileURLWithPath: target))
        #expect((try JSONSerialization.jsonObject(with: written) as? [String: Any]) != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["d.json"])
        let (bad, _, err) = try NestprobeRunner.run(
            ["diagnose", "--snapshot", try fixturePath("snapshots/vmware-guest.json"), "-o", "/nonexistent/dir/x"])
            .parts
        #expect(bad == 73)
        #expect(err.contains("/nonexistent/dir/x"))
    }

    @Test("unknown options are usage errors: exit 64")
    func usage() throws {
        let (status, _, err) = try NestprobeRunner.run(["diagnose", "--no-such-option"]).parts
        #expect(status == 64)
        #expect(!err.isEmpty)
    }
}
