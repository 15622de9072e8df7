// Strict policy decoding: every example policy decodes; an unknown key, a wrong type, an impossible
// limit, an unknown name, a key given twice, the wrong schema or version, and files that are empty, huge,
// truncated or a directory are each one InputError line of kind .badData naming the file and the field.

import Foundation
import Probe
import Report
import Testing

/// Paths and builders the policy and qualify tests share.
enum QualifyFixtures {
    /// The repository root, from this file's place in Tests/ReportTests.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func policyPath(_ name: String) -> String {
        root.appendingPathComponent("Reports/policies/\(name).json").path
    }

    static var examplePolicies: [String] {
        let folder = root.appendingPathComponent("Reports/policies").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted().map { "\(folder)/\($0)" }
    }

    static func reportPath() throws -> String {
        try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/pvm-host-genoa.bench.json")).path
    }

    /// A policy document around `rules` (JSON text), with the right header.
    static func document(_ rules: String, name: String = "test") -> String {
        #"{"schema": "nestprobe.policy", "version": 1, "name": "\#(name)", "rules": \#(rules)}"#
    }

    static func parse(_ text: String) throws(InputError) -> Policy {
        try PolicyFile.parse(Array(text.utf8), name: "policy.json", vocabulary: .catalogue)
    }

    /// The error parsing `text` gives; records an issue when it parses.
    static func error(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> InputError? {
        do {
            _ = try parse(text)
            Issue.record("expected an error for \(text)", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.kind == .badData, sourceLocation: sourceLocation)
            #expect(!error.message.contains("\n"), "one line: \(error.message)", sourceLocation: sourceLocation)
            return error
        }
    }

    /// A fresh folder under the temporary directory, removed by the caller.
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-qualify-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

@Suite("Policy decoding")
struct PolicyDecodingTests {
    @Test("every example policy in Reports/policies decodes")
    func examples() throws {
        let files = QualifyFixtures.examplePolicies
        #expect(files.count >= 3)
        for file in files {
            let policy = try PolicyFile.load(file, vocabulary: .catalogue)
            #expect(!policy.name.isEmpty)
            #expect(!policy.rules.isEmpty)
        }
    }

    @Test("a full policy decodes into its rules")
    func fullPolicy() throws {
        let policy = try QualifyFixtures.parse(
            QualifyFixtures.document(
                """
                {"level": {"max": "L1", "min": "L0", "by": "lowerBound"}, "kvmUsable": true, "nestingOffered": false,
                 "hypervisors": {"deny": ["Hyper-V", "QEMU TCG"]}, "mechanism": {"allow": ["VMX", "SVM"]},
                 "requireCases": ["cpuid-0/real"], "allowSkipped": true,
                 "cases": {"cpuid-0/long64-cpl0": {"p50Cycles": 30000, "p99Cycles": 60000, "allowSkipped": false},
                           "cpuid-0/host": {"netMedianNanoseconds": 2.5}},
                 "multipliers": {"cpuid-0/long64-cpl3": {"max": 20}}}
                """))
        let rules = policy.rules
        #expect(rules.level == LevelRule(min: .l0, max: .l1, by: .lowerBound))
        #expect(rules.kvmUsable == true)
        #expect(rules.nestingOffered == false)
        #expect(rules.hypervisors == .deny(["Hyper-V", "QEMU TCG"]))
        #expect(rules.mechanism == .allow(["VMX", "SVM"]))
        #expect(rules.requireCases == ["cpuid-0/real"])
        #expect(rules.allowSkipped)
        #expect(
            rules.cases["cpuid-0/long64-cpl0"]
                == CaseLimits([.p50Cycles: 30000, .p99Cycles: 60000], allowSkipped: false))
        #expect(rules.cases["cpuid-0/host"]?.limits == [.netMedianNanoseconds: 2.5])
        #expect(rules.multipliers["cpuid-0/long64-cpl3"] == MultiplierLimit(max: 20))
    }

    @Test("an unknown key anywhere names its full path")
    func unknownKeys() {
        let cases: [(String, String)] = [
            (
                #"{"cases": {"cpuid-0/real": {"p50Cyles": 3}}}"#,
                #"policy.json: rules.cases.cpuid-0/real.p50Cyles: unknown key; did you mean "p50Cycles"?"#
            ),
            (#"{"kvmUsable": true, "maxLevel": "L1"}"#, "policy.json: rules.maxLevel: unknown key"),
            (#"{"level": {"max": "L1", "using": "estimate"}}"#, "policy.json: rules.level.using: unknown key"),
            (
                #"{"hypervisors": {"allowed": ["KVM"]}}"#,
                #"policy.json: rules.hypervisors.allowed: unknown key; did you mean "allow"?"#
            ),
            (
                #"{"multipliers": {"cpuid-0/real": {"max": 2, "min": 1}}}"#,
                "policy.json: rules.multipliers.cpuid-0/real.min: unknown key"
            ),
        ]
        for (rules, expected) in cases {
            let error = QualifyFixtures.error(QualifyFixtures.document(rules))
            #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
        }
        let top = QualifyFixtures.error(#"{"schema": "nestprobe.policy", "version": 1, "name": "x", "rule": {}}"#)
        #expect(
            top?.message.hasPrefix(#"policy.json: rule: unknown key; did you mean "rules"?"#) == true,
            "\(top?.message ?? "")")
    }

    @Test("a value of the wrong type names the field and what was expected")
    func wrongTypes() {
        let cases: [(String, String)] = [
            (#"{"kvmUsable": "yes"}"#, "policy.json: rules.kvmUsable: expected true or false"),
            (#"{"kvmUsable": null}"#, "policy.json: rules.kvmUsable: expected true or false"),
            (
                #"{"cases": {"cpuid-0/real": {"p99Cycles": "60000"}}}"#,
                "policy.json: rules.cases.cpuid-0/real.p99Cycles: expected a number"
            ),
            (#"{"cases": {"cpuid-0/real": 60000}}"#, "policy.json: rules.cases.cpuid-0/real: expected an object"),
            (#"{"requireCases": "cpuid-0/real"}"#, "policy.json: rules.requireCases: expected an array of case ids"),
            (
                #"{"hypervisors": {"allow": "KVM"}}"#,
                "policy.json: rules.hypervisors.allow: expected an array of hypervisor names"
            ),
            (#"{"level": "L1"}"#, "policy.json: rules.level: expected an object"),
            (#"{"level": {"max": 1}}"#, "policy.json: rules.level.max: expected a level name"),
        ]
        for (rules, expected) in cases {
            let error = QualifyFixtures.error(QualifyFixtures.document(rules))
            #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
        }
        let rules = QualifyFixtures.error(#"{"schema": "nestprobe.policy", "version": 1, "name": "x", "rules": []}"#)
        #expect(rules?.message.hasPrefix("policy.json: rules: expected an object") == true, "\(rules?.message ?? "")")
        let name = QualifyFixtures.error(
            #"{"schema": "nestprobe.policy", "version": 1, "name": 7, "rules": {"kvmUsable": true}}"#)
        #expect(name?.message.hasPrefix("policy.json: name: expected a string") == true, "\(name?.message ?? "")")
    }

    @Test("impossible or meaningless limits are refused with the field named")
    func impossibleLimits() {
        let cases: [(String, String)] = [
            (
                #"{"cases": {"cpuid-0/real": {"p50Cycles": 0}}}"#,
                "rules.cases.cpuid-0/real.p50Cycles: 0 is not a usable limit"
            ),
            (
                #"{"cases": {"cpuid-0/real": {"p99Nanoseconds": -5}}}"#,
                "rules.cases.cpuid-0/real.p99Nanoseconds: -5 is not a usable limit"
            ),
            (
                #"{"cases": {"cpuid-0/real": {"p50Cycles": 60000, "p99Cycles": 30000}}}"#,
                "rules.cases.cpuid-0/real.p50Cycles: 60,000 is above p99Cycles 30,000"
            ),
            (
                #"{"cases": {"cpuid-0/real": {"p90Nanoseconds": 900, "p99Nanoseconds": 800}}}"#,
                "rules.cases.cpuid-0/real.p90Nanoseconds: 900 is above p99Nanoseconds 800"
            ),
            (#"{"cases": {"cpuid-0/real": {}}}"#, "rules.cases.cpuid-0/real: no limits"),
            (#"{"cases": {"cpuid-0/real": {"allowSkipped": true}}}"#, "rules.cases.cpuid-0/real: no limits"),
            (
                #"{"multipliers": {"cpuid-0/real": {"max": 0}}}"#,
                "rules.multipliers.cpuid-0/real.max: 0 is not a usable limit"
            ),
            (#"{"multipliers": {"cpuid-0/real": {}}}"#, "rules.multipliers.cpuid-0/real.max: required field missing"),
            (#"{"level": {"min": "L2+", "max": "L1"}}"#, "rules.level.min: L2+ is above max L1"),
            (#"{"level": {"max": "L3"}}"#, #"rules.level.max: unknown level "L3""#),
            (#"{"level": {"max": "l1"}}"#, #"rules.level.max: unknown level "l1"; did you mean "L1"?"#),
            (#"{"level": {"by": "estimate"}}"#, "rules.level: give min, max or both"),
            (#"{"level": {"max": "L1", "by": "guess"}}"#, #"rules.level.by: unknown basis "guess""#),
            (
                #"{"hypervisors": {"allow": ["KVM"], "deny": ["Xen"]}}"#,
                "rules.hypervisors: give allow or deny, not both"
            ),
            (#"{"hypervisors": {}}"#, "rules.hypervisors: give allow or deny"),
            (
                #"{"hypervisors": {"allow": ["KVM", "kvmm"]}}"#,
                #"rules.hypervisors.allow[1]: unknown hypervisor "kvmm""#
            ),
            (#"{"mechanism": {"deny": ["VT-x"]}}"#, #"rules.mechanism.deny[0]: unknown mechanism "VT-x""#),
            (
                #"{"cases": {"cpuid-0/rea": {"p50Cycles": 3}}}"#,
                #"rules.cases.cpuid-0/rea: no case "cpuid-0/rea" in this nestprobe; did you mean "cpuid-0/real"?"#
            ),
            (#"{"requireCases": ["cpuid-0/real", "no-such/case"]}"#, #"rules.requireCases[1]: no case "no-such/case""#),
            (
                #"{"requireCases": ["cpuid-0/real", "cpuid-0/real"]}"#,
                #"rules.requireCases[1]: "cpuid-0/real" is listed twice"#
            ),
            ("{}", "rules: no rules"),
            (#"{"allowSkipped": true}"#, "rules: no rules"),
        ]
        for (rules, expected) in cases {
            let error = QualifyFixtures.error(QualifyFixtures.document(rules))
            #expect(error?.message.hasPrefix("policy.json: " + expected) == true, "\(rules) → \(error?.message ?? "")")
        }
        let blank = QualifyFixtures.error(QualifyFixtures.document(#"{"kvmUsable": true}"#, name: "  "))
        #expect(blank?.message == "policy.json: name: must not be empty")
    }

    @Test("a key given twice in one object is refused, wherever it is and however it is escaped")
    func duplicateKeys() {
        let cases: [(String, String)] = [
            (#"{"kvmUsable": true, "kvmUsable": false}"#, "rules.kvmUsable"),
            (
                #"{"cases": {"cpuid-0/real": {"p50Cycles": 9}, "cpuid-0/real": {"p50Cycles": 3}}}"#,
                "rules.cases.cpuid-0/real"
            ),
            (
                #"{"cases": {"cpuid-0/real": {"p50Cycles": 9, "p50\u0043ycles": 3}}}"#,
                "rules.cases.cpuid-0/real.p50Cycles"
            ),
            (
                #"{"hypervisors": {"allow": ["KVM"]}, "mechanism": {"allow": ["PVM"], "allow": []}}"#,
                "rules.mechanism.allow"
            ),
        ]
        for (rules, path) in cases {
            let error = QualifyFixtures.error(QualifyFixtures.document(rules))
            #expect(
                error?.message == "policy.json: \(path): the key appears twice in one object (JSON keeps only one)",
                "\(error?.message ?? "")")
        }
        let top = QualifyFixtures.error(
            #"{"schema": "nestprobe.policy", "version": 1, "name": "a", "name": "b", "rules": {"kvmUsable": true}}"#)
        #expect(top?.message.hasPrefix("policy.json: name: the key appears twice") == true)
        let unique = try? QualifyFixtures.parse(
            QualifyFixtures.document(#"{"requireCases": ["cpuid-0/real"], "kvmUsable": true}"#))
        #expect(unique != nil)
    }

    @Test("the wrong schema, a missing or newer version, and other documents are refused by name")
    func headers() {
        let bench = QualifyFixtures.error(#"{"schema": "nestprobe.bench", "version": 1, "name": "x", "rules": {}}"#)
        #expect(bench?.message == #"policy.json: schema is "nestprobe.bench", expected "nestprobe.policy""#)
        let newer = QualifyFixtures.error(#"{"schema": "nestprobe.policy", "version": 2, "name": "x", "rules": {}}"#)
        #expect(newer?.message.hasPrefix("policy.json: nestprobe.policy version 2 is not supported") == true)
        let missing = QualifyFixtures.error(#"{"schema": "nestprobe.policy", "name": "x", "rules": {}}"#)
        #expect(missing?.message.contains("version missing") == true, "\(missing?.message ?? "")")
        let stringVersion = QualifyFixtures.error(
            #"{"schema": "nestprobe.policy", "version": "1", "name": "x", "rules": {}}"#)
        #expect(stringVersion?.message.hasPrefix("policy.json: ") == true)
        let noRules = QualifyFixtures.error(#"{"schema": "nestprobe.policy", "version": 1, "name": "x"}"#)
        #expect(noRules?.message == "policy.json: rules: required field missing")
        let yaml = QualifyFixtures.error("schema: nestprobe.policy\nversion: 1\n")
        #expect(yaml?.message.hasPrefix("policy.json: not a nestprobe policy") == true)
        let array = QualifyFixtures.error("[1, 2]")
        #expect(array?.message.hasPrefix("policy.json: not a nestprobe policy") == true)
    }

    @Test("truncated JSON, whatever the cut, is one line naming the file")
    func truncated() throws {
        let whole = try String(contentsOfFile: QualifyFixtures.policyPath("fast-exits"), encoding: .utf8)
        let bytes = Array(whole.utf8)
        for cut in stride(from: 1, to: bytes.count - 2, by: 7) {
            do {
                _ = try PolicyFile.parse(Array(bytes.prefix(cut)), name: "cut.json", vocabulary: .catalogue)
                Issue.record("a policy cut at \(cut) bytes decoded")
            } catch {
                #expect(error.kind == .badData)
                #expect(error.message.hasPrefix("cut.json: "))
                #expect(!error.message.contains("\n"))
            }
        }
    }

    @Test("an empty file, a directory, a huge file and a missing file")
    func files() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("empty.json")
        try Data().write(to: empty)
        let blank = folder.appendingPathComponent("blank.json")
        try Data("  \n\t\n".utf8).write(to: blank)
        let huge = folder.appendingPathComponent("huge.json")
        let padded =
            Data(QualifyFixtures.document(#"{"kvmUsable": true}"#).utf8) + Data(repeating: 0x20, count: 2 << 20)
        try padded.write(to: huge)
        let cases: [(String, String)] = [
            (empty.path, "the file is empty"), (blank.path, "not a nestprobe policy"),
            (folder.path, "is a directory"), (huge.path, "over the 1024 KiB limit"),
        ]
        for (path, expected) in cases {
            let error = #expect(throws: InputError.self) { try PolicyFile.load(path, vocabulary: .catalogue) }
            #expect(error?.kind == .badData)
            #expect(error?.message.hasPrefix("\(path): ") == true)
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        }
        let absent = folder.appendingPathComponent("absent.json").path
        let missing = #expect(throws: InputError.self) { try PolicyFile.load(absent, vocabulary: .catalogue) }
        #expect(missing?.kind == .noInput)
        #expect(missing?.message.hasPrefix(absent) == true)
    }
}
