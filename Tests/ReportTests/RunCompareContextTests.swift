// compare on runs across contexts and case lists: reports from another machine are refused with one line
// naming both files — whichever report of either side differs — unless forced, and then compared with a
// WARNING; a TSC source or KVM parameter that differs only warns; cases added, failed or skipped are
// listed, not judged; and a result JSON cannot hold is a one-line error naming the inputs.

import Bench
import Foundation
import Probe
import Report
import Testing

@Suite("compare on runs: contexts and cases")
struct RunCompareContextTests {
    static func compare(_ base: [BenchReport], _ new: [BenchReport], force: Bool = false) throws(InputError)
        -> RunCompareReport
    {
        func named(_ reports: [BenchReport], _ side: String) -> [NamedReport] {
            reports.enumerated().map { NamedReport(file: "\(side)\($0.offset).json", report: $0.element) }
        }
        let options = RunFixtures.options { $0.force = force }
        return try RunComparison.compare(base: named(base, "base"), new: named(new, "new"), options: options)
    }

    @Test("another CPU and kernel: refused in one line naming both files, what differs and --force")
    func refusesOtherMachine() throws {
        let report = try CompareFixtures.real()
        var other = report
        other.context.cpu = "Intel(R) Xeon(R) Platinum 8269CY (family 6h model 55h, Cascade Lake)"
        other.context.kernelRelease = "6.1.0"
        let error = try #require(#expect(throws: InputError.self) { try Self.compare([report], [other]) })
        #expect(error.kind == .badData)
        #expect(error.message.hasPrefix("base0.json and new0.json are not comparable: context.cpu: "))
        #expect(error.message.contains("context.kernelRelease"))
        #expect(error.message.hasSuffix("(--force compares them anyway, with warnings)"))
        #expect(!error.message.contains("\n"))
    }

    @Test("another level, guest level or KVM module is refused, in a second base report or a later new one too")
    func refusesEveryReport() throws {
        let report = try CompareFixtures.real()
        let changes: [(String, (inout BenchReport) -> Void)] = [
            ("context.level", { $0.context.level = "L1" }),
            ("context.guestLevel", { $0.context.guestLevel = "L2" }),
            ("context.kvmModule", { $0.context.kvmModule = "kvm_amd" }),
        ]
        for (field, change) in changes {
            var changed = report
            change(&changed)
            for (base, new, named) in [
                ([report], [changed], "new0.json"), ([report, changed], [report], "base1.json"),
                ([report], [report, report, changed], "new2.json"),
            ] {
                let error = #expect(throws: InputError.self, "\(field) in \(named)") { try Self.compare(base, new) }
                #expect(error?.message.hasPrefix("base0.json and \(named) are not comparable: \(field):") == true)
            }
        }
    }

    @Test("--force compares them: forced, the refusing differences first, a WARNING in the text")
    func forced() throws {
        let report = try CompareFixtures.real()
        var other = report
        other.context.cpu = "Intel(R) Xeon(R) Platinum 8269CY"
        other.context.kernelRelease = "6.1.0"
        other.context.tsc.source = .calibration
        let result = try Self.compare([report], [other, report], force: true)
        #expect(result.forced)
        #expect(result.differences.map(\.field) == ["context.cpu", "context.kernelRelease", "context.tsc.source"])
        #expect(result.differences.map(\.severity) == [.refuse, .refuse, .warn])
        #expect(result.base.map(\.file) == ["base0.json"] && result.new.map(\.file) == ["new0.json", "new1.json"])
        let text = RunCompareText.render(result)
        #expect(text.contains("WARNING: context.cpu"))
        #expect(text.contains("warning: context.tsc.source"))
    }

    @Test("another TSC source or KVM parameter warns but compares, without --force")
    func warnings() throws {
        let report = try CompareFixtures.real()
        var other = report
        other.context.tsc.source = .calibration
        other.context.kvmParameters["pvm_emul_batch"] = "1"
        let result = try Self.compare([report], [other])
        #expect(!result.forced)
        #expect(result.differences.map(\.field) == ["context.tsc.source", "context.kvmParameters.pvm_emul_batch"])
        #expect(result.differences.allSatisfy { $0.severity == .warn })
        #expect(RunCompareText.render(result).contains("warning: context.tsc.source"))
    }

    @Test("a case only in the new reports is added, one failed there is missing, skipped in both not compared")
    func unpaired() throws {
        let report = try CompareFixtures.real()
        var other = report
        let failingIndex = try #require(other.cases.firstIndex { $0.id == "pio-kernel/real" })
        other.cases[failingIndex].status = .failed
        other.cases[failingIndex].reason = "guest triple fault"
        var added = try #require(other.cases.first { $0.id == "msr-kernel/real" })
        added.id = "cpuid-new/real"
        other.cases.append(added)
        let result = try Self.compare([report], [other])
        let failed = try RunFixtures.row(result, "pio-kernel/real")
        #expect(failed.verdict == .missing && failed.reason == .notOkInNew)
        #expect(failed.figureNote == "guest triple fault")
        #expect(
            result.unpaired.contains(
                UnpairedCase(id: "cpuid-new/real", baseStatus: "absent", newStatus: "ok", change: "added")))
        #expect(!result.rows.contains { $0.id == "cpuid-new/real" })
        let skipped = report.cases.filter { $0.status == .skipped }.map(\.id)
        #expect(!skipped.isEmpty)
        for id in skipped {
            #expect(
                result.unpaired.contains { $0.id == id && $0.change == "not-compared" && $0.baseStatus == "skipped" })
        }
        #expect(result.summary.added == 1 && result.summary.missing == 1)
        #expect(result.summary.notCompared == skipped.count)
        #expect(result.summary.exitCode == 5)
    }

    @Test("a result JSON cannot hold is .badData naming the inputs, in one line")
    func unwritableResult() throws {
        let report = try CompareFixtures.real()
        var result = try Self.compare([report], [report])
        result.rows[0].baseMedian = .infinity
        let error = try #require(
            #expect(throws: InputError.self) {
                try DocumentFile.encodeJSON(result, from: "a.bench.json, b.bench.json")
            })
        #expect(error.kind == .badData)
        #expect(error.message.hasPrefix("a.bench.json, b.bench.json: the result cannot be written as JSON: "))
        #expect(error.message.contains("baseMedian"), "\(error.message)")
        #expect(!error.message.contains("\n"))
        #expect(throws: (any Error).self) { try CompareFormat.json.render(result) }
    }
}
