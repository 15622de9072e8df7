// The third level in the report, without KVM: a three-level row takes the guest level's figure from its
// counterpart and puts its own under the guest's guest, with both multipliers and who handled the exits;
// the text gains one section — a single line where every three-level case was skipped — and the rest of the
// table is as it was; the facts survive JSON.

import Foundation
import Probe
import Testing

@testable import Bench
@testable import Report

@Suite("Three levels: table, text and JSON")
struct NestedSVMReportTests {
    static func exitCase(_ id: String) throws -> ExitCase {
        try #require(ExitCase.catalogue.first { $0.id == id }, "no case \(id)")
    }

    static func report(
        _ id: String, _ cycles: [UInt64], attribution: Attribution = .thisLevel, facts: GuestHypervisorFacts? = nil
    ) throws -> CaseReport {
        let exitCase = try exitCase(id)
        let outcome = CaseOutcome(
            caseID: id, mode: exitCase.mode, cpl: 0, exitsTo: exitCase.exitsTo, attribution: attribution,
            mechanism: exitCase.mechanism,
            result: .success(CaseSamples(cycles: cycles, exitsPerSample: 1, warmup: 10, timedInGuest: true)),
            wallNanoseconds: 1000, guestHypervisor: facts)
        return CaseAnalysis.report(exitCase, outcome, runs: 1, baseline: nil, hz: 1e9)
    }

    static func skipped(_ exitCase: ExitCase) -> CaseReport {
        let outcome = CaseOutcome(
            caseID: exitCase.id, mode: exitCase.mode, cpl: exitCase.cpl, exitsTo: exitCase.exitsTo,
            attribution: .notApplicable, mechanism: exitCase.mechanism,
            result: .failure(CaseFailure(kind: .skipped, reason: NestedSVM.notOfferedReason)), wallNanoseconds: 0)
        return CaseAnalysis.report(exitCase, outcome, runs: 1, baseline: nil, hz: 1e9)
    }

    static let host = HostLevelCase(
        id: "cpuid-0/host", mechanism: "cpuid", samplesCycles: [2000], warmupDiscarded: 0,
        statistics: CaseAnalysis.dual([2000], hz: 1e9)!, netMedianCycles: 2000, netMedianNanoseconds: 2000)

    static let facts = GuestHypervisorFacts(
        role: "relay", guestSignature: "NestprobeCan", innerSignature: "NestprobeSVM", exits: 2202,
        intercepts: ["VMEXIT_CPUID": 2201], expectedIntercepts: ["VMEXIT_CPUID": 2201], resumedBy: "length")

    static func benchReport(_ cases: [CaseReport]) -> BenchReport {
        let context = BenchContext(
            kernelRelease: "6.1", cpu: "test", kvmModule: "kvm_amd", kvmParameters: [:], level: "L1",
            levelConfidence: 0.9, levelLowerBound: "L1", hypervisor: nil, guestLevel: "L2",
            tsc: TSCFrequency(hz: 1e9, source: .calibration, detail: "test"), guestTSCkHz: 1_000_000, pinnedCPU: 0,
            emulatedHost: false, budgetSeconds: 4, notes: [], canHost: "yes", guestsCanHost: "yes", mechanism: "SVM",
            hypervisors: [])
        return BenchReport(
            schema: BenchReport.schemaID, version: BenchReport.currentVersion, tool: .current, createdAt: "",
            context: context, hostLevel: [host], guestExecution: [], cases: cases,
            table: CaseAnalysis.table(cases, host: [host], execution: []), wallSeconds: 1)
    }

    @Test("a three-level row: this level, the counterpart as the guest level, its own figure, both multipliers")
    func threeLevelRow() throws {
        let guest = try Self.report("cpuid-0/long64-cpl0", [30_000])
        let inner = try Self.report("cpuid-0/svm-inner", [600_000], attribution: .guestHypervisor, facts: Self.facts)
        let rows = CaseAnalysis.table([guest, inner], host: [Self.host], execution: [])
        #expect(rows[0].innerGuestCycles == nil && rows[0].multiplier == 15, "the one-level row is unchanged")
        let row = rows[1]
        #expect(row.thisLevelCycles == 2000)
        #expect(row.guestLevelCaseID == "cpuid-0/long64-cpl0")
        #expect(row.guestLevelCycles == 30_000 && row.guestLevelNanoseconds == 30_000)
        #expect(row.innerGuestCycles == 600_000 && row.innerGuestNanoseconds == 600_000)
        #expect(row.multiplier == 15 && row.innerMultiplier == 20)
        #expect(row.exitsTo == "guest-hypervisor")
        #expect(row.note.contains("handled by the mini-hypervisor: 2,201 of 2,201 intercepts"))
        #expect(row.note.contains("\"NestprobeSVM\""))
        // Without the counterpart: the guest's guest alone.
        let alone = CaseAnalysis.table([inner], host: [Self.host], execution: [])[0]
        #expect(alone.guestLevelCycles == nil && alone.multiplier == nil && alone.innerMultiplier == nil)
        #expect(alone.innerGuestCycles == 600_000)
    }

    @Test("the mini-hypervisor's own rows are guest-level figures")
    func ownRow() throws {
        let vmrun = try Self.report("vmrun/svm-hv", [90_000])
        let row = CaseAnalysis.table([vmrun], host: [Self.host], execution: [])[0]
        #expect(row.guestLevelCycles == 90_000 && row.innerGuestCycles == nil && row.exitsTo == "kernel")
    }

    @Test("every three-level case skipped: one line of text, and the rest of the table as before")
    func skippedText() throws {
        let oneLevel = [try Self.report("cpuid-0/long64-cpl0", [30_000]), try Self.report("hlt/real", [9000])]
        let skipped = ExitCase.nestedSVM.map(Self.skipped)
        let before = RenderText.render(Self.benchReport(oneLevel))
        let withSkipped = Self.benchReport(oneLevel + skipped)
        let after = RenderText.render(withSkipped)
        let section = RenderText.threeLevelSection(withSkipped)
        #expect(section.first == "" && section.count <= 4, "a blank line and the wrapped reason: \(section)")
        #expect(section.joined(separator: " ").contains("Three levels"))
        #expect(section.joined(separator: " ").contains("skipped, SVM is not offered to"))
        let wall = "\n\n  wall time"
        #expect(after == before.replacingOccurrences(of: wall, with: "\n" + section.joined(separator: "\n") + wall))
        #expect(after.split(separator: "\n").allSatisfy { $0.count <= 80 })
        #expect(!after.contains("svm-inner"))
    }

    @Test("three-level cases that ran: their own section, 80 columns, both multipliers")
    func sectionText() throws {
        let cases = [
            try Self.report("cpuid-0/long64-cpl0", [30_000]),
            try Self.report("cpuid-0/svm-inner", [600_000], attribution: .guestHypervisor, facts: Self.facts),
            try Self.report("vmrun/svm-hv", [90_000]),
            Self.skipped(try Self.exitCase("hlt/svm-inner")),
        ]
        let text = RenderText.render(Self.benchReport(cases))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(lines.filter { $0.count > 80 })")
        let header = try #require(lines.firstIndex { $0.hasPrefix("Three levels:") })
        let row = try #require(lines.first { $0.hasPrefix("cpuid-0/svm-inner") })
        #expect(lines.firstIndex(of: row)! > header)
        #expect(row.contains("2,000") && row.contains("30,000") && row.contains("600,000"))
        #expect(row.contains("15.0×") && row.contains("20.0×") && row.hasSuffix("guest-hypervisor"))
        #expect(lines.contains { $0.hasPrefix("vmrun/svm-hv") && $0.contains("90,000") })
        #expect(lines.contains { $0.contains("skipped: SVM is not offered") })
    }

    @Test("the facts and the new row fields survive JSON; reports without them decode as before")
    func json() throws {
        var facts = Self.facts
        facts.stoppedBy = VMCBExit(
            code: -1, name: "VMEXIT_INVALID", exitInfo1: 0, exitInfo2: 0, exitIntInfo: 0, guestRIP: 0x1000, nextRIP: 0)
        let cases = [
            try Self.report("cpuid-0/long64-cpl0", [30_000]),
            try Self.report("cpuid-0/svm-inner", [600_000], attribution: .guestHypervisor, facts: facts),
        ]
        let report = Self.benchReport(cases)
        let data = try DocumentFile.encodeJSON(report)
        let decoded = try DocumentFile.decodeJSON(
            BenchReport.self, [UInt8](data), name: "round trip", schema: BenchReport.schemaID,
            version: BenchReport.currentVersion)
        #expect(decoded.cases[1].guestHypervisor == facts)
        #expect(decoded.cases[1].mode == "svm-inner" && decoded.cases[1].attribution == "guest-hypervisor")
        #expect(decoded.table[1].innerMultiplier == 20 && decoded.table[1].guestLevelCaseID == "cpuid-0/long64-cpl0")
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"code\" : -1") || text.contains("\"code\":-1"))
        // A one-level row says nothing of a third level.
        let plain = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(decoded.table[0])) as? [String: Any]
        #expect(plain?["innerGuestCycles"] == nil && plain?["guestLevelCaseID"] == nil)
        let plainCase =
            try JSONSerialization.jsonObject(with: try JSONEncoder().encode(decoded.cases[0])) as? [String: Any]
        #expect(plainCase?["guestHypervisor"] == nil)
    }
}
