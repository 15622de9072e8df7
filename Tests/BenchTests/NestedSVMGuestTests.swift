// The three-level guest on /dev/kvm. Where KVM offers SVM to guests (the SVM test bed: QEMU emulating an
// AMD CPU, kvm_amd nested=1) every three-level case runs, and every svm-inner case proves it ran under the
// mini-hypervisor — its canary came back and it handled each intercept the loop caused; a guest's guest
// that triple-faults, a VMRUN that fails its checks and a guest's guest that hangs are each reported with
// the VMCB's exit. Where SVM is not offered (this project's kvm_pvm machines) the cases are skipped with
// the reason. No test asserts a duration.

import Foundation
import Testing

@testable import Bench

extension Trait where Self == ConditionTrait {
    /// Runs the test only where /dev/kvm offers SVM to its guests.
    static var requiresSVMGuests: Self {
        let runner = GuestKVM.status.runner
        let reason =
            runner == nil ? GuestKVM.status.reason : "three-level tests skipped: \(NestedSVM.notOfferedReason)"
        return .enabled(if: runner?.environment.guestHasSVM == true, Comment(rawValue: reason))
    }

    /// Runs the test only where /dev/kvm works but keeps SVM from its guests.
    static var requiresGuestsWithoutSVM: Self {
        .enabled(
            if: GuestKVM.status.runner.map { !$0.environment.guestHasSVM } ?? false,
            Comment(rawValue: "/dev/kvm offers SVM to guests here, or is not usable"))
    }
}

@Suite("Three levels on /dev/kvm", .serialized)
struct NestedSVMGuestTests {
    @Test(
        "without SVM for guests, every three-level case is skipped with the reason", .requiresGuestsWithoutSVM)
    func skippedHere() {
        for exitCase in ExitCase.nestedSVM {
            let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 10, warmup: 1) }
            print(CaseRunnerTests.line(outcome))
            guard case .failure(let failure) = outcome.result else {
                Issue.record("\(exitCase.id) ran")
                continue
            }
            #expect(failure.kind == .skipped && failure.reason == NestedSVM.notOfferedReason, "\(exitCase.id)")
        }
    }

    @Test(
        "every svm-inner case runs under the mini-hypervisor: its canary, every intercept handled",
        .requiresSVMGuests, arguments: ExitCase.nestedSVMInner)
    func innerCase(_ exitCase: ExitCase) throws {
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 100, warmup: 10) }
        print(CaseRunnerTests.line(outcome))
        let samples = try outcome.result.get()
        #expect(samples.cycles.count == 100 && samples.cycles.allSatisfy { $0 > 0 })
        #expect(
            outcome.guestSignature == NestedSVM.canarySignature,
            "the guest's guest's CPUID was not the mini-hypervisor's")
        #expect(outcome.attribution == .guestHypervisor)
        #expect(outcome.exitsTo == exitCase.exitsTo)
        let facts = try #require(outcome.guestHypervisor)
        #expect(facts.role == "relay")
        #expect(facts.handledEveryIntercept, "\(facts.intercepts) against \(facts.expectedIntercepts)")
        #expect(facts.guestSignature == CPUIDCanary.signature, "this level's KVM did not run the mini-hypervisor")
        #expect(facts.stoppedBy == nil)
    }

    @Test(
        "the mini-hypervisor's own instructions run in the guest this level's KVM answers",
        .requiresSVMGuests, arguments: ExitCase.nestedSVMOwn)
    func ownCase(_ exitCase: ExitCase) throws {
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 100, warmup: 10) }
        print(CaseRunnerTests.line(outcome))
        let samples = try outcome.result.get()
        #expect(samples.cycles.count == 100)
        #expect(outcome.attribution == .thisLevel)
        let facts = try #require(outcome.guestHypervisor)
        #expect(facts.role == "own" && facts.handledEveryIntercept)
    }

    @Test("a guest's guest that triple-faults: #VMEXIT SHUTDOWN, reported with the VMCB's exit", .requiresSVMGuests)
    func innerTripleFault() throws {
        let exitCase = ExitCase(
            "int3", .svmInner, body: .breakpointWithEmptyIDT, exitsTo: .none, mechanism: "int3 with an empty IDT")
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0) }
        print(CaseRunnerTests.line(outcome))
        guard case .failure(let failure) = outcome.result else {
            Issue.record("int3 with an empty IDT produced samples")
            return
        }
        #expect(failure.kind == .tripleFault, "\(failure.reason)")
        #expect(failure.exitReason == "VMEXIT_SHUTDOWN")
        #expect(outcome.guestHypervisor?.stoppedBy?.code == 0x7F)
    }

    @Test("a VMRUN that fails its consistency checks: VMEXIT_INVALID, reported", .requiresSVMGuests)
    func invalidVMRUN() throws {
        let exitCase = try #require(ExitCase.nestedSVMInner.first { $0.name == "cpuid-0" })
        let run = try withGuestSlot { () throws -> GuestRun in
            try GuestKVM.runner.runNestedSVM(
                exitCase, counts: (10, 0), timeout: .seconds(5), pinnedCPU: nil, breakConsistency: true)
        }
        if case .failure(let failure) = run.result {
            print("invalid VMRUN: \(failure.kind.rawValue): \(failure.reason)")
        }
        guard case .failure(let failure) = run.result else {
            Issue.record("a VMCB without EFER.SVME ran")
            return
        }
        #expect(failure.kind == .entryFailed, "\(failure.reason)")
        #expect(failure.exitReason == "VMEXIT_INVALID")
        #expect(run.guestHypervisor?.stoppedBy?.code == -1)
    }

    @Test("a guest's guest that never exits: the watchdog, and where the mini-hypervisor was", .requiresSVMGuests)
    func innerHang() throws {
        let exitCase = ExitCase("spin", .svmInner, body: .spin, exitsTo: .none, mechanism: "jmp .")
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0, timeout: .seconds(1)) }
        print(CaseRunnerTests.line(outcome))
        guard case .failure(let failure) = outcome.result else {
            Issue.record("a spinning guest's guest finished")
            return
        }
        #expect(failure.kind == .timedOut, "\(failure.reason)")
        #expect(failure.reason.contains("the mini-hypervisor was running"), "\(failure.reason)")
    }

    @Test(
        "a guest's guest's exception reaches this process as its own, through the mini-hypervisor", .requiresSVMGuests)
    func innerException() throws {
        let exitCase = ExitCase("ud2", .svmInner, body: .undefinedOpcode, exitsTo: .none, mechanism: "ud2")
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0) }
        print(CaseRunnerTests.line(outcome))
        guard case .failure(let failure) = outcome.result else {
            Issue.record("ud2 produced samples")
            return
        }
        #expect(failure.kind == .guestException)
        #expect(
            failure.reason.hasPrefix("the guest's guest: ") && failure.reason.contains("vector 6"), "\(failure.reason)")
    }
}
