// `nestprobe qualify` end to end: exit 0 when qualified, 3 when not, 65 for a bad policy or report (one
// line naming the file and the field), 66 for a missing file, 73 for an unwritable JUnit file; --json
// and --junit write what they promise; without a report it benches this machine first.

import Foundation
import TestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite("nestprobe qualify command line")
struct QualifyCLITests {
    let report: String

    init() throws {
        report = try QualifyFixtures.reportPath()
    }

    @Test("a policy the report meets: exit 0, QUALIFIED, nothing on standard error")
    func qualified() throws {
        let (status, out, err) = try NestprobeRunner.run(
            ["qualify", "--policy", QualifyFixtures.policyPath("pvm-host"), report]).parts
        #expect(status == 0, "\(err)")
        #expect(err.isEmpty)
        #expect(out.contains("\nQUALIFIED: 17 of 18 rules passed, 1 skipped\n"))
    }

    @Test("a policy the report fails: exit 3, the failed rules named, JSON and JUnit written")
    func notQualified() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let junit = folder.appendingPathComponent("qualify.xml").path
        let (status, out, err) = try NestprobeRunner.run(
            ["qualify", "--policy", QualifyFixtures.policyPath("nested-ready"), report, "--json", "--junit", junit])
            .parts
        #expect(status == 3, "\(err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "nestprobe.qualification")
        #expect(object["qualified"] as? Bool == false)
        #expect(object["failed"] as? Int == 3)
        let xml = try Data(contentsOf: URL(fileURLWithPath: junit))
        let checker = QualifyJUnitChecker(xml)
        #expect(checker.wellFormed)
        #expect(checker.testcases == 4)
        #expect(checker.failures == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["qualify.xml"])

        let text = try NestprobeRunner.run(["qualify", "--policy", QualifyFixtures.policyPath("fast-exits"), report])
            .parts
        #expect(text.status == 3)
        #expect(text.out.contains("112,736 cycles is over the limit of 60,000 cycles"))
    }

    @Test("bad policies and reports: exit 65 and one line naming the file and the field")
    func badInput() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ name: String, _ text: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let typo = try write(
            "typo.json", QualifyFixtures.document(#"{"cases": {"cpuid-0/real": {"p50Cyles": 3}}}"#))
        let inverted = try write(
            "inverted.json", QualifyFixtures.document(#"{"cases": {"cpuid-0/real": {"p50Cycles": 9, "p99Cycles": 3}}}"#)
        )
        let twice = try write("twice.json", QualifyFixtures.document(#"{"kvmUsable": true, "kvmUsable": false}"#))
        let empty = try write("empty.json", "")
        let truncated = try write(
            "truncated.json", String(QualifyFixtures.document(#"{"kvmUsable": true}"#).dropLast(9)))
        let good = QualifyFixtures.policyPath("pvm-host")
        let wrongReport = try write("wrong.bench.json", #"{"schema": "nestprobe.bench", "version": 7}"#)
        let reportTypes = try write("types.bench.json", #"{"schema": "nestprobe.bench", "version": 1, "tool": 3}"#)
        let cases: [([String], String, String)] = [
            (["--policy", typo, report], typo, "rules.cases.cpuid-0/real.p50Cyles: unknown key"),
            (["--policy", inverted, report], inverted, "rules.cases.cpuid-0/real.p50Cycles: 9 is above p99Cycles 3"),
            (["--policy", twice, report], twice, "rules.kvmUsable: the key appears twice"),
            (["--policy", empty, report], empty, "the file is empty"),
            (["--policy", truncated, report], truncated, "not valid JSON"),
            (["--policy", folder.path, report], folder.path, "is a directory"),
            (["--policy", good, wrongReport], wrongReport, "nestprobe.bench version 7 is not supported"),
            (["--policy", good, reportTypes], reportTypes, "tool"),
            (["--policy", good, folder.path], folder.path, "is a directory"),
            (["--policy", good, good], good, #"schema is "nestprobe.policy", expected "nestprobe.bench""#),
        ]
        for (arguments, file, field) in cases {
            let (status, out, err) = try NestprobeRunner.run(["qualify"] + arguments).parts
            #expect(status == 65, "\(arguments): \(err)")
            #expect(out.isEmpty)
            #expect(err.split(separator: "\n").count == 1, "\(err)")
            #expect(err.contains(file), "\(err)")
            #expect(err.contains(field), "\(err)")
        }
    }

    @Test("missing files are exit 66, an unwritable JUnit file exit 73, a missing --policy exit 64")
    func otherExits() throws {
        let missingPolicy = try NestprobeRunner.run(["qualify", "--policy", "/nonexistent/policy.json", report]).parts
        #expect(missingPolicy.status == 66)
        #expect(missingPolicy.err.contains("/nonexistent/policy.json"))
        let missingReport = try NestprobeRunner.run(
            ["qualify", "--policy", QualifyFixtures.policyPath("pvm-host"), "/nonexistent/r.json"]).parts
        #expect(missingReport.status == 66)
        let unwritable = try NestprobeRunner.run(
            [
                "qualify", "--policy", QualifyFixtures.policyPath("pvm-host"), report, "--junit",
                "/nonexistent/dir/q.xml",
            ]).parts
        #expect(unwritable.status == 73)
        #expect(unwritable.err.contains("/nonexistent/dir/q.xml"))
        let usage = try NestprobeRunner.run(["qualify", report]).parts
        #expect(usage.status == 64)
        let help = try NestprobeRunner.run(["qualify", "--help"]).parts
        #expect(help.status == 0)
        let words = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("0 qualified; 3 not qualified"))
    }

    @Test("without a report it benches this machine first and qualifies that", .timeLimit(.minutes(2)))
    func measuresFirst() throws {
        let (status, out, err) = try NestprobeRunner.run(
            ["qualify", "--policy", QualifyFixtures.policyPath("pvm-host"), "--json", "--quiet"]).parts
        #expect(status == 0 || status == 3, "\(err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let reportInfo = try #require(object["report"] as? [String: Any])
        #expect(reportInfo["file"] == nil)
        #expect((object["results"] as? [Any])?.count == 18)
    }
}

/// Parses JUnit XML and counts what it holds.
final class QualifyJUnitChecker: NSObject, XMLParserDelegate {
    var testcases = 0
    var failures = 0
    var skipped = 0
    var wellFormed = false
    var error: String?

    init(_ data: Data) {
        super.init()
        let parser = XMLParser(data: data)
        parser.delegate = self
        wellFormed = parser.parse()
        error = parser.parserError.map { "\($0)" }
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        switch name {
        case "testcase": testcases += 1
        case "failure": failures += 1
        case "skipped": skipped += 1
        default: break
        }
    }
}
