// The built-in policies: the copies compiled into the binary are the files of Reports/policies byte for byte
// (scripts/embed-policies.py writes them), `qualify --policy NAME` uses them from any folder, a path still
// reads a file, an unknown name is exit 64 naming the built-in ones, `--list-policies` lists them, and
// `--report-out` keeps the report a qualification measured.

import Foundation
import Report
import TestSupport
import Testing

@Suite("Built-in policies and qualify --report-out")
struct BuiltinPolicyTests {
    static var policyFolder: URL { QualifyFixtures.root.appendingPathComponent("Reports/policies") }

    /// Every case id the built-in policies name, so they decode without the bench catalogue (which
    /// BenchTests' CataloguePolicyTests checks them against).
    static var anyCase: PolicyVocabulary { PolicyVocabulary(caseIDs: namedCases) }

    /// The case ids the shipped policies name (read from the files, so a new case there needs no edit here).
    static var namedCases: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: policyFolder.path)) ?? []
        var ids: [String] = []
        for file in files where file.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: policyFolder.appendingPathComponent(file).path),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let rules = object["rules"] as? [String: Any]
            else { continue }
            ids += ((rules["cases"] as? [String: Any]) ?? [:]).keys
            ids += ((rules["multipliers"] as? [String: Any]) ?? [:]).keys
            ids += (rules["requireCases"] as? [String]) ?? []
        }
        return ids
    }

    @Test("the compiled-in policies are Reports/policies/*.json, byte for byte, one per file")
    func embeddedEqualFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.policyFolder.path)
            .filter { $0.hasSuffix(".json") }.sorted()
        #expect(!files.isEmpty)
        #expect(BuiltinPolicy.names == files.map { String($0.dropLast(5)) })
        for file in files {
            let text = try String(contentsOf: Self.policyFolder.appendingPathComponent(file), encoding: .utf8)
            let builtIn = try #require(BuiltinPolicy.named(String(file.dropLast(5))))
            #expect(builtIn.json == text, "\(file): run scripts/embed-policies.py")
            let policy = try builtIn.policy(vocabulary: Self.anyCase)
            #expect(policy.name == builtIn.name)
        }
    }

    @Test("a value with '/' or ending in .json is a file; a built-in name wins over a file of that name")
    func resolution() {
        let nestedReady = BuiltinPolicy.named("nested-ready")!
        #expect(PolicySource.resolve("nested-ready") { _ in true } == .builtIn(nestedReady))
        #expect(PolicySource.resolve("./nested-ready") { _ in false } == .file("./nested-ready"))
        #expect(PolicySource.resolve("nested-ready.json") { _ in false } == .file("nested-ready.json"))
        #expect(PolicySource.resolve("mine") { $0 == "mine" } == .file("mine"))
        #expect(PolicySource.resolve("nested-redy") { _ in false } == .unknownName("nested-redy"))
    }

    @Test("--policy NAME works from a folder without Reports/, and names no file in the output")
    func builtInFromAnyFolder() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try QualifyFixtures.reportPath()
        let byName = try NestprobeRunner.run(["qualify", "--policy", "pvm-host", report], in: folder.path).parts
        let byFile = try NestprobeRunner.run(
            ["qualify", "--policy", QualifyFixtures.policyPath("pvm-host"), report], in: folder.path
        ).parts
        #expect(byName.status == 0, "\(byName.err)")
        #expect(byName.err.isEmpty)
        #expect(byName.out.contains("\nQUALIFIED: 17 of 18 rules passed, 1 skipped\n"))
        // The same rules, measurements and verdict as the file's (the table after the header); the header
        // names the policy's file only for a file.
        let table = { (text: String) in text.range(of: "\n\n").map { String(text[$0.upperBound...]) } }
        #expect(table(byName.out) != nil)
        #expect(table(byName.out) == table(byFile.out))
        #expect(byFile.out.contains("Reports/policies/pvm-host.json"))
        #expect(!byName.out.contains("pvm-host.json"))
        let json = try NestprobeRunner.run(["qualify", "--policy", "nested-ready", "--json", report]).parts
        #expect(json.status == 3)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let policy = try #require(object["policy"] as? [String: Any])
        #expect(policy["name"] as? String == "nested-ready")
        #expect(policy["file"] == nil)
    }

    @Test("a bare name that is no built-in policy reads a file of that name, else exit 64 listing the names")
    func unknownName() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try QualifyFixtures.reportPath()
        let unknown = try NestprobeRunner.run(["qualify", "--policy", "nested-redy", report], in: folder.path).parts
        #expect(unknown.status == 64)
        #expect(unknown.out.isEmpty)
        #expect(unknown.err.split(separator: "\n").count == 1)
        #expect(unknown.err.contains("built in: fast-exits, nested-ready, pvm-host"))
        try Data(QualifyFixtures.document(#"{"kvmUsable": true}"#, name: "mine").utf8)
            .write(to: folder.appendingPathComponent("mine"))
        let file = try NestprobeRunner.run(["qualify", "--policy", "mine", report], in: folder.path).parts
        #expect(file.status == 0, "\(file.err)")
        #expect(file.out.contains("(mine)"))
        let missingFile = try NestprobeRunner.run(["qualify", "--policy", "gone.json", report], in: folder.path)
        #expect(missingFile.status == 66)
    }

    @Test("--list-policies: every built-in name and its summary, one a line")
    func listPolicies() throws {
        let (status, out, err) = try NestprobeRunner.run(["qualify", "--list-policies"]).parts
        #expect(status == 0, "\(err)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.map { String($0.prefix { $0 != " " }) } == BuiltinPolicy.names)
        #expect(lines.contains { $0.hasPrefix("nested-ready") && $0.contains("KVM guests of their own") })
        #expect(!out.contains(":"))
        let mixed = try NestprobeRunner.run(["qualify", "--list-policies", "--policy", "pvm-host"])
        #expect(mixed.status == 64)
    }

    @Test("--report-out keeps the measured report; with REPORT it is a usage error", .timeLimit(.minutes(2)))
    func reportOut() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let saved = folder.appendingPathComponent("measured.bench.json").path
        let (status, out, err) = try NestprobeRunner.run(
            ["qualify", "--policy", "pvm-host", "--quiet", "--report-out", saved], in: folder.path
        ).parts
        #expect(status == 0 || status == 3, "\(err)")
        // The saved report qualifies the same way again, without a bench.
        let again = try NestprobeRunner.run(["qualify", "--policy", "pvm-host", saved]).parts
        #expect(again.status == status, "\(again.err)")
        let verdict = { (text: String) in text.split(separator: "\n").last { $0.contains("QUALIFIED") } }
        #expect(verdict(again.out) != nil)
        #expect(verdict(again.out) == verdict(out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["measured.bench.json"])

        let both = try NestprobeRunner.run(["qualify", "--policy", "pvm-host", saved, "--report-out", saved])
        #expect(both.status == 64)
    }

    @Test(
        "--report-out to device nodes: written through a null one, exit 73 on a full one, both left as they are",
        .enabled(if: getuid() == 0, "mknod needs root"), .timeLimit(.minutes(2)))
    func reportOutDevices() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Nodes of our own, made here with the null and full devices' numbers: never the system's.
        for (name, minor) in [("fakenull", "3"), ("fakefull", "7")] {
            let make = Process()
            make.executableURL = URL(fileURLWithPath: "/usr/bin/mknod")
            make.arguments = ["-m", "666", folder.appendingPathComponent(name).path, "c", "1", minor]
            try make.run()
            make.waitUntilExit()
            try #require(make.terminationStatus == 0)
        }
        let toNull = try NestprobeRunner.run(
            ["qualify", "--policy", "pvm-host", "--quiet", "--report-out", "fakenull"], in: folder.path
        ).parts
        #expect(toNull.status == 0 || toNull.status == 3, "\(toNull.err)")
        let toFull = try NestprobeRunner.run(
            ["qualify", "--policy", "pvm-host", "--quiet", "--report-out", "fakefull"], in: folder.path
        ).parts
        #expect(toFull.status == 73)
        #expect(toFull.err.hasSuffix("nestprobe: fakefull: cannot write: ENOSPC (No space left on device)\n"))
        for name in ["fakenull", "fakefull"] {
            // attributesOfItem does not follow a link: this is the node itself.
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial, "\(name)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["fakefull", "fakenull"])
    }
}
