// The loop lists of CGuestLoops.h against the Swift catalogue: every loop a payload has is run by some case
// (or by a test's case), every case's loop is in the list of the payload its mode runs, and the numbers the
// mailbox carries are what the lists say.

import CGuest
import Testing

@testable import Bench

@Suite("Guest loops")
struct GuestLoopTests {
    /// Every body a case in `mode` runs, with the loops it may select (both vendors' for the hypercall).
    static func loopNames(_ body: ExitCase.Body, mode: GuestMode) -> [String] {
        mode == .svmInner ? [body.loop] : [body.loop] + (body.intelLoop.map { [$0] } ?? [])
    }

    /// The cases tests build besides the catalogue: the test bodies in every mode they are run in.
    static let testCases: [ExitCase] = ExitCase.Body.testBodies.flatMap { body in
        [GuestMode.real, .long64, .svmInner].map { mode in
            ExitCase("test", mode, body: body, exitsTo: .none, mechanism: "test")
        }
    }

    @Test("the table has both lists, with unique numbers and names in each")
    func table() {
        for list in [GuestLoop.List.guest, .svm] {
            let rows = GuestLoop.all.filter { $0.list == list }
            #expect(!rows.isEmpty)
            #expect(Set(rows.map(\.number)).count == rows.count, "a number twice in \(list)")
            #expect(Set(rows.map(\.name)).count == rows.count, "a name twice in \(list)")
        }
        // A loop in both lists (rdtsc) has one number, so the rdtsc case selects it in every payload.
        for row in GuestLoop.all where row.list == .svm {
            if let other = GuestLoop.number(of: row.name, in: .guest) { #expect(other == row.number, "\(row.name)") }
        }
        #expect(GuestLoop.number(of: "no-such-loop", in: .guest) == nil)
    }

    @Test("every case's loop exists in the list of the payload its mode runs")
    func everyCaseHasItsLoop() {
        for exitCase in ExitCase.catalogue + Self.testCases {
            for name in Self.loopNames(exitCase.body, mode: exitCase.mode) {
                #expect(
                    GuestLoop.number(of: name, in: GuestLoop.List(exitCase.mode)) != nil,
                    "\(exitCase.id) names loop \"\(name)\", which CGuestLoops.h's list for \(exitCase.mode) lacks")
            }
        }
    }

    @Test("every loop of CGuestLoops.h is run by some case")
    func everyLoopIsUsed() {
        var used = Set<String>()
        for exitCase in ExitCase.catalogue + Self.testCases {
            for name in Self.loopNames(exitCase.body, mode: exitCase.mode) {
                used.insert("\(GuestLoop.List(exitCase.mode))/\(name)")
            }
        }
        for row in GuestLoop.all {
            #expect(used.contains("\(row.list)/\(row.name)"), "loop \(row.name) (\(row.list)) is run by no case")
        }
    }

    @Test("the plan carries the loop's number, for the vendor and the payload")
    func planNumbers() throws {
        let environment = ExitCaseEnvironment(
            vendor: .intel, module: .kvmIntel, capabilities: [], guestHasRDTSCP: false, hostHypervisorRegisters: [])
        let runner = CaseRunner(devicePath: "/nonexistent", environment: environment)
        for exitCase in ExitCase.catalogue where exitCase.timedInGuest {
            let number = runner.plan(for: exitCase, counts: (4, 1), cpuid: []).parameters.loop
            let name = exitCase.mode == .svmInner ? exitCase.body.loop : exitCase.body.intelLoop ?? exitCase.body.loop
            #expect(number == GuestLoop.number(of: name, in: GuestLoop.List(exitCase.mode)), "\(exitCase.id)")
            #expect(number >= 0, "\(exitCase.id)")
        }
    }
}
