// CaseOutcome's parts as they go into a report: failures keep their kind, exit and RIP through JSON.

import Foundation
import Testing

@testable import Bench

@Suite("Case outcome values")
struct CaseOutcomeTests {
    @Test("a failure keeps its kind, exit reason and guest RIP through JSON")
    func failureRoundTrip() throws {
        let failure = CaseFailure(
            kind: .tripleFault, reason: "the guest triple-faulted", exitReason: "KVM_EXIT_SHUTDOWN", guestRIP: 0x1004)
        let data = try JSONEncoder().encode(failure)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"triple-fault\""))
        #expect(try JSONDecoder().decode(CaseFailure.self, from: data) == failure)
    }

    @Test("exit targets and attributions encode as the schema's words")
    func wireNames() throws {
        let encoded = try JSONEncoder().encode([ExitTarget.userSpace, .levelBelow, .kernel, .none])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["user-space","level-below","kernel","none"]"#)
        let attribution = try JSONEncoder().encode([Attribution.thisLevel, .levelBelow, .notApplicable])
        #expect(String(decoding: attribution, as: UTF8.self) == #"["this-level","level-below","not-applicable"]"#)
    }
}
