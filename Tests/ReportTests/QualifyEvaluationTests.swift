// Qualifying the real report from this machine (a PVM host at L2+ on a KVM host, AMD Genoa): policies
// that pass and fail on level, on a p99 limit, on a multiplier, on hypervisors; skipped and missing
// cases; the text within 80 columns; the JUnit XML well formed whatever the names hold.

import Documents
import Foundation
import Report
import Testing

@Suite("Qualify: evaluation on a real report")
struct QualifyEvaluationTests {
    let report: BenchReport

    init() throws {
        report = try ReportFile.load(try QualifyFixtures.reportPath())
    }

    func qualify(_ rules: String) throws -> Qualification {
        Qualification(
            policy: try QualifyFixtures.parse(QualifyFixtures.document(rules)), policyFile: "policy.json",
            report: report, reportFile: "report.json", createdAt: "2026-11-26T02:00:00Z")
    }

    func result(_ q: Qualification, _ rule: String) throws -> RuleResult {
        try #require(q.results.first { $0.rule == rule }, "no result for \(rule) in \(q.results.map(\.rule))")
    }

    @Test("the example policies: pvm-host qualifies this machine, nested-ready and fast-exits do not")
    func examples() throws {
        var verdicts: [String: Bool] = [:]
        for file in QualifyFixtures.examplePolicies {
            let policy = try PolicyFile.load(file, vocabulary: .catalogue)
            verdicts[policy.name] =
                Qualification(policy: policy, policyFile: file, report: report, reportFile: nil).qualified
        }
        #expect(verdicts == ["pvm-host": true, "nested-ready": false, "fast-exits": false])
    }

    @Test("pvm-host passes every rule but the skipped hypercall")
    func passing() throws {
        let q = Qualification(
            policy: try PolicyFile.load(QualifyFixtures.policyPath("pvm-host"), vocabulary: .catalogue),
            policyFile: nil, report: report,
            reportFile: nil)
        #expect(q.qualified)
        #expect(q.failed == 0)
        #expect(q.skipped == 1)
        #expect(q.passed == q.results.count - 1)
        let skipped = try result(q, "requireCases.hypercall/long64-cpl0")
        #expect(skipped.outcome == .skip)
        #expect(skipped.detail.contains("kvm_pvm"))
        #expect(try result(q, "level.min").measured == "L1")
        #expect(try result(q, "mechanism.allow").measured == "PVM")
    }

    @Test("a level limit fails on the estimate (L2+) and passes on the lower bound (L1)")
    func level() throws {
        let estimate = try qualify(#"{"level": {"max": "L1"}}"#)
        #expect(!estimate.qualified)
        let failed = try result(estimate, "level.max")
        #expect(failed.outcome == .fail)
        #expect(failed.measured == "L2+")
        #expect(failed.limit == "≤ L1")
        #expect(failed.detail.contains("deeper than the policy allows"))
        let lower = try qualify(#"{"level": {"max": "L1", "by": "lowerBound"}}"#)
        #expect(lower.qualified)
        #expect(try result(lower, "level.max").measured == "L1")
        let atLeast = try qualify(#"{"level": {"min": "L2+"}}"#)
        #expect(atLeast.qualified)
    }

    @Test("a p99 limit fails with the measured value and the limit in the message")
    func p99() throws {
        let q = try qualify(#"{"cases": {"mmio-read-user/long64-cpl0": {"p50Cycles": 30000, "p99Cycles": 60000}}}"#)
        #expect(!q.qualified)
        #expect(try result(q, "cases.mmio-read-user/long64-cpl0.p50Cycles").outcome == .pass)
        let tail = try result(q, "cases.mmio-read-user/long64-cpl0.p99Cycles")
        #expect(tail.outcome == .fail)
        #expect(tail.measured == "112,736 cycles")
        #expect(tail.measuredValue == 112_736)
        #expect(tail.limit == "≤ 60,000 cycles")
        #expect(tail.limitValue == 60_000)
        #expect(tail.detail.hasPrefix("112,736 cycles is over the limit of 60,000 cycles by 52,736 cycles"))
        #expect(tail.level == "guest L3+")
    }

    @Test("this level's own figures are limited by their id, in cycles and nanoseconds")
    func thisLevel() throws {
        let q = try qualify(
            #"{"cases": {"cpuid-0/host": {"p50Cycles": 9000, "netMedianCycles": 10000, "p99Nanoseconds": 10000}}}"#)
        let median = try result(q, "cases.cpuid-0/host.p50Cycles")
        #expect(median.outcome == .fail)
        #expect(median.measured == "9,308 cycles")
        #expect(median.level == "this level L2+")
        #expect(try result(q, "cases.cpuid-0/host.netMedianCycles").outcome == .pass)
        #expect(try result(q, "cases.cpuid-0/host.p99Nanoseconds").outcome == .pass)
    }

    @Test("a skipped case fails unless allowSkipped, globally or per case")
    func skipped() throws {
        let strict = try qualify(#"{"cases": {"hypercall/real": {"p50Cycles": 5000}}}"#)
        let failed = try result(strict, "cases.hypercall/real.p50Cycles")
        #expect(failed.outcome == .fail)
        #expect(failed.measured == "skipped")
        #expect(failed.detail.hasPrefix("not measured: the bench skipped it (kvm_pvm"))
        let global = try qualify(#"{"allowSkipped": true, "cases": {"hypercall/real": {"p50Cycles": 5000}}}"#)
        #expect(global.qualified)
        #expect(global.skipped == 1)
        let perCase = try qualify(#"{"cases": {"hypercall/real": {"p50Cycles": 5000, "allowSkipped": true}}}"#)
        #expect(perCase.qualified)
        let overridden = try qualify(
            #"{"allowSkipped": true, "cases": {"hypercall/real": {"p50Cycles": 5000, "allowSkipped": false}}}"#)
        #expect(!overridden.qualified)
        let required = try qualify(#"{"requireCases": ["hypercall/real", "cpuid-0/real"]}"#)
        #expect(try result(required, "requireCases.hypercall/real").outcome == .fail)
        #expect(try result(required, "requireCases.cpuid-0/real").outcome == .pass)
    }

    @Test("a case missing from the report fails as not measured, even under allowSkipped")
    func missing() throws {
        var trimmed = report
        trimmed.cases.removeAll { $0.id.hasPrefix("cpuid-0/") }
        let policy = try QualifyFixtures.parse(
            QualifyFixtures.document(
                #"{"allowSkipped": true, "cases": {"cpuid-0/real": {"p50Cycles": 50000}}, "requireCases": ["cpuid-0/real"]}"#
            ))
        let q = Qualification(policy: policy, policyFile: nil, report: trimmed, reportFile: nil)
        #expect(!q.qualified)
        #expect(q.failed == 2)
        for result in q.results {
            #expect(result.measured == nil)
            #expect(result.detail.contains("the report has no case cpuid-0/real"))
        }
        var bare = report
        bare.cases = []
        bare.table = []
        bare.context.notes = ["no guest cases: /dev/kvm: permission denied"]
        let none = Qualification(policy: policy, policyFile: nil, report: bare, reportFile: nil)
        #expect(
            none.results.allSatisfy {
                $0.detail.contains("no guest cases (no guest cases: /dev/kvm: permission denied)")
            })
    }

    @Test("multipliers: within, over, and on a row without this level's figure")
    func multipliers() throws {
        let q = try qualify(
            #"{"multipliers": {"cpuid-0/long64-cpl0": {"max": 20}, "cpuid-0/long64-cpl3": {"max": 0.5}, "hlt/real": {"max": 3}}}"#
        )
        #expect(try result(q, "multipliers.cpuid-0/long64-cpl0.max").outcome == .pass)
        #expect(try result(q, "multipliers.cpuid-0/long64-cpl0.max").measured == "0.341×")
        let over = try result(q, "multipliers.cpuid-0/long64-cpl3.max")
        #expect(over.outcome == .fail)
        #expect(over.measured == "0.992×")
        let none = try result(q, "multipliers.hlt/real.max")
        #expect(none.outcome == .fail)
        #expect(none.detail.contains("only cpuid rows"))
    }

    @Test("KVM, nesting, hypervisors and mechanism against the context")
    func context() throws {
        let q = try qualify(
            #"""
            {"kvmUsable": true, "nestingOffered": true, "hypervisors": {"deny": ["KVM"]}, "mechanism": {"deny": ["VMX", "SVM"]}}
            """#)
        #expect(try result(q, "kvmUsable").outcome == .pass)
        #expect(try result(q, "kvmUsable").detail.contains("kvm_pvm"))
        #expect(try result(q, "nestingOffered").outcome == .fail)
        #expect(try result(q, "nestingOffered").measured == "no")
        #expect(try result(q, "hypervisors.deny").outcome == .fail)
        #expect(try result(q, "hypervisors.deny").detail == "denied: KVM")
        #expect(try result(q, "mechanism.deny").outcome == .pass)
        let bareMetal = try qualify(#"{"hypervisors": {"allow": []}}"#)
        #expect(try result(bareMetal, "hypervisors.allow").limit == "none at all")
        #expect(!bareMetal.qualified)
    }

    @Test("results come in a fixed order: context rules, required cases, case limits in report order, multipliers")
    func order() throws {
        let q = try qualify(
            #"""
            {"multipliers": {"cpuid-0/real": {"max": 9}}, "cases": {"pio-kernel/real": {"p99Cycles": 9e9, "p50Cycles": 9e9},
             "cpuid-0/host": {"p50Cycles": 9e9}, "cpuid-0/real": {"p50Cycles": 9e9}}, "kvmUsable": true, "level": {"max": "L2+"}}
            """#)
        #expect(
            q.results.map(\.rule) == [
                "level.max", "kvmUsable", "cases.cpuid-0/host.p50Cycles", "cases.cpuid-0/real.p50Cycles",
                "cases.pio-kernel/real.p50Cycles", "cases.pio-kernel/real.p99Cycles", "multipliers.cpuid-0/real.max",
            ])
    }

    @Test("the text fits 80 columns and ends with the verdict")
    func text() throws {
        for file in QualifyFixtures.examplePolicies {
            let q = Qualification(
                policy: try PolicyFile.load(file, vocabulary: .catalogue), policyFile: file, report: report,
                reportFile: "report.json")
            let text = QualificationText().render(q)
            for line in text.split(separator: "\n") {
                #expect(line.count <= 80, "\(line.count): \(line)")
            }
            let summary = try #require(text.components(separatedBy: "\n\n").last)
            #expect(summary.hasPrefix(q.qualified ? "QUALIFIED: " : "NOT QUALIFIED: "), "\(summary)")
        }
        let q = try qualify(#"{"cases": {"mmio-read-user/long64-cpl0": {"p99Cycles": 60000}}}"#)
        let text = QualificationText().render(q)
        #expect(text.contains("      cases.mmio-read-user/long64-cpl0 (guest L3+)\n"))
        let row = "FAIL    p99Cycles" + String(repeating: " ", count: 28) + "112,736 cycles   ≤ 60,000 cycles\n"
        #expect(text.contains(row), "\(text)")
        #expect(text.hasSuffix("NOT QUALIFIED: 1 of 1 rules failed: cases.mmio-read-user/long64-cpl0.p99Cycles\n"))
    }

    @Test("JSON: versioned, and it decodes back")
    func json() throws {
        let q = try qualify(#"{"level": {"max": "L1"}, "kvmUsable": true}"#)
        let data = try DocumentFile.encodeJSON(q)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["schema"] as? String == "nestprobe.qualification")
        #expect(object["version"] as? Int == 1)
        #expect(object["qualified"] as? Bool == false)
        let back = try JSONDecoder().decode(Qualification.self, from: data)
        #expect(back.results == q.results)
    }

    @Test("JUnit XML is well formed, one test case per rule, and escapes whatever the names hold")
    func junit() throws {
        let hostile = "x<y & \"z\" 'w' \u{1} \u{FFFF} ]]> end"
        let q = try qualify(
            #"""
            {"level": {"max": "L1"}, "kvmUsable": true, "allowSkipped": true,
             "cases": {"hypercall/real": {"p50Cycles": 1}, "mmio-read-user/long64-cpl0": {"p99Cycles": 60000}}}
            """#)
        var named = q
        named.policy.name = hostile
        named.report.cpu = "tab\there\nnewline"
        for document in [q, named] {
            let xml = QualificationJUnit.render(document)
            let checker = QualifyJUnitChecker(Data(xml.utf8))
            #expect(checker.wellFormed, "\(checker.error ?? "")\n\(xml)")
            #expect(checker.testcases == document.results.count)
            #expect(checker.failures == document.failed)
            #expect(checker.skipped == document.skipped)
        }
        let xml = QualificationJUnit.render(q)
        #expect(xml.contains(#"<failure message="level (estimate): measured L2+, limit ≤ L1" type="NotQualified">"#))
        #expect(xml.contains("112,736 cycles is over the limit of 60,000 cycles"))
        #expect(xml.contains(#"<testsuites name="nestprobe qualify" tests="4" failures="2" errors="0" skipped="1""#))
        let hostileXML = QualificationJUnit.render(named)
        #expect(hostileXML.contains("x&lt;y &amp; &quot;z&quot; &apos;w&apos; \u{FFFD} \u{FFFD} ]]&gt; end"))
        #expect(hostileXML.contains("tab&#9;here&#10;newline"))
    }
}
