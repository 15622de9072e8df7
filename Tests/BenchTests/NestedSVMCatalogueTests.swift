// The three-level cases without KVM: their gate and its reason, their counterparts one level down, the
// plan the runner makes, the intercepts a run must account for, the failures a #VMEXIT becomes, the
// mailbox read back, and the table and text they add to a report — which leave the rest of it as it was.

import CGuest
import Foundation
import KVM
import Testing

@testable import Bench

@Suite("Three levels: cases, gates, runner logic and report")
struct NestedSVMCatalogueTests {
    static func environment(_ module: ExitCaseEnvironment.Module, svm: Bool) -> ExitCaseEnvironment {
        ExitCaseEnvironment(
            vendor: .amd, module: module, capabilities: Set(KVMCapability.reported), guestHasRDTSCP: true,
            hostHypervisorRegisters: [0x4b4d_564b, 0x564b_4d56, 0x4d], guestHasSVM: svm)
    }

    static let nested = ExitCase.catalogue.filter { $0.mode.isNestedSVM }

    static func exitCase(_ id: String) throws -> ExitCase {
        try #require(ExitCase.catalogue.first { $0.id == id }, "no case \(id)")
    }

    @Test("the catalogue ends with the three-level cases, each id ending in /svm-inner or /svm-hv")
    func catalogue() {
        #expect(Self.nested.map(\.id) == ExitCase.nestedSVM.map(\.id))
        #expect(Array(ExitCase.catalogue.suffix(Self.nested.count)).map(\.id) == Self.nested.map(\.id))
        // At least these; every other svm-inner case must have its counterpart one level down too.
        let inner = Set(Self.nested.filter { $0.mode == .svmInner }.map(\.name))
        #expect(
            inner.isSuperset(of: [
                "null", "rdtsc", "cpuid-0", "cpuid-hv", "hypercall", "pio-out", "pio-in", "msr-read", "msr-write",
                "hlt",
            ]))
        for exitCase in Self.nested where exitCase.mode == .svmInner {
            #expect(
                ExitCase.catalogue.contains { $0.id == exitCase.counterpart }, "\(exitCase.id) has no counterpart")
        }
        #expect(
            Self.nested.filter { $0.mode == .svmHypervisor }.map(\.name)
                == ["rdtsc", "vmrun", "vmload", "vmsave", "stgi", "clgi"])
        #expect(Self.nested.allSatisfy { $0.cpl == 0 && $0.timedInGuest })
        #expect(Self.nested.filter { $0.exitsTo == .guestHypervisor }.allSatisfy { $0.mode == .svmInner })
    }

    @Test("where SVM is not offered every three-level case is skipped with that reason, and only those")
    func gates() throws {
        for module in [ExitCaseEnvironment.Module.kvmPVM, .kvmAMD, .kvmIntel] {
            let without = Self.environment(module, svm: false)
            #expect(Self.nested.allSatisfy { $0.gate(without) == NestedSVM.notOfferedReason })
        }
        // With SVM offered (and every capability) none is gated: each runs in the guest's guest, the timer too.
        for exitCase in Self.nested {
            #expect(exitCase.gate(Self.environment(.kvmAMD, svm: true)) == nil, "\(exitCase.id)")
        }
        #expect(Self.nested.allSatisfy { $0.notInThisModeReason == nil })
        #expect(
            ExitCase.nestedSVMInterrupts.map(\.id) == ["ipi-self-x2apic/svm-inner", "tsc-deadline/svm-inner"])
        #expect(ExitCase.nestedSVMInterrupts.allSatisfy { $0.optInSet == ExitCase.interruptSet })
        // The self-IPI's relay: the flag that makes the mini-hypervisor inject, and the MSR exits it must see.
        let selfIPI = try Self.exitCase("ipi-self-x2apic/svm-inner")
        #expect(NestedSVMPlan(selfIPI, table: []).injectsSelfIPIs)
        #expect(!NestedSVMPlan(try Self.exitCase("msr-read/svm-inner"), table: []).injectsSelfIPIs)
        #expect(!NestedSVMPlan(selfIPI, table: []).routesTimer)
        // The timer's route: its own flag (not the self-IPI's), and one #VMEXIT INTR per iteration besides the
        // MSR exits (the deadline write and the EOI).
        let timer = try Self.exitCase("tsc-deadline/svm-inner")
        let timerPlan = NestedSVMPlan(timer, table: [])
        #expect(timerPlan.routesTimer && !timerPlan.injectsSelfIPIs && timerPlan.injectsInterrupts)
        #expect(
            CaseRunner.expectedIntercepts(timer, counts: (10, 2)) == [
                SVMExitCode.cpuid.name: 1, SVMExitCode.msr.name: 4 + 2 * 12, SVMExitCode.intr.name: 12,
            ])
        #expect(!NestedSVMPlan.routesTimer(try Self.exitCase("tsc-deadline/long64-cpl0")))
        let noDeadline = ExitCaseEnvironment(
            vendor: .amd, module: .kvmAMD, capabilities: Set(KVMCapability.reported).subtracting([.tscDeadlineTimer]),
            guestHasRDTSCP: true, hostHypervisorRegisters: [0, 0, 0], guestHasSVM: true)
        #expect(timer.gate(noDeadline)?.contains("DEADLINE") == true)
        #expect(
            CaseRunner.expectedIntercepts(selfIPI, counts: (10, 2)) == [
                SVMExitCode.cpuid.name: 1, SVMExitCode.msr.name: 4 + 2 * 12,
            ])
        #expect(
            NestedSVM.notOfferedReason
                == "SVM is not offered to guests (KVM_GET_SUPPORTED_CPUID 0x8000_0001 ECX[2] clear)")
        // The runner never opens the device for a gated case.
        let runner = CaseRunner(devicePath: "/nonexistent", environment: Self.environment(.kvmPVM, svm: false))
        let outcome = runner.run(try Self.exitCase("cpuid-hv/svm-inner"), iterations: 10, warmup: 1)
        #expect(outcome.result.failureKind == .skipped)
        #expect(outcome.guestHypervisor == nil && outcome.attribution == .notApplicable)
        guard case .failure(let failure) = outcome.result else { return }
        #expect(failure.reason == NestedSVM.notOfferedReason)
    }

    @Test("each svm-inner case that exits has its counterpart one level down in the catalogue")
    func counterparts() throws {
        let ids = Set(ExitCase.catalogue.map(\.id))
        for exitCase in Self.nested where exitCase.mode == .svmInner {
            let counterpart = try #require(exitCase.counterpart, "\(exitCase.id)")
            #expect(ids.contains(counterpart), "\(exitCase.id) → \(counterpart)")
            #expect(counterpart.hasSuffix("/long64-cpl0"))
        }
        #expect(ExitCase.counterpartID(ofInner: "pio-out/svm-inner") == "pio-out-user/long64-cpl0")
        #expect(ExitCase.counterpartID(ofInner: "msr-read/svm-inner") == "msr-kernel/long64-cpl0")
        #expect(ExitCase.counterpartID(ofInner: "cpuid-0/long64-cpl0") == nil)
        #expect(try Self.exitCase("vmrun/svm-hv").counterpart == nil)
    }

    @Test("a name selects all three levels, each with its own baseline")
    func selection() {
        let ids = Set(BenchSuite.select(["cpuid-0"], from: ExitCase.catalogue).cases.map(\.id))
        #expect(
            ids.isSuperset(of: ["cpuid-0/long64-cpl0", "cpuid-0/svm-inner", "rdtsc/svm-inner", "rdtsc/long64-cpl0"]))
        let one = Set(BenchSuite.select(["msr-read/svm-inner"], from: ExitCase.catalogue).cases.map(\.id))
        #expect(one == ["msr-read/svm-inner", "rdtsc/svm-inner", "msr-kernel/long64-cpl0", "rdtsc/long64-cpl0"])
        #expect(!ids.contains("rdtsc/svm-hv"))
        let own = Set(BenchSuite.select(["vmrun"], from: ExitCase.catalogue).cases.map(\.id))
        #expect(own == ["vmrun/svm-hv", "rdtsc/svm-hv"])
    }

    @Test("the plan: relay at long64.S or the bounce in its own role; the loop and NRIPS as offered")
    func plans() throws {
        let svm = KVMCPUIDEntry(function: 0x8000_0001, ecx: 1 << 2)
        let nrips = KVMCPUIDEntry(function: 0x8000_000A, edx: 1 << 3)
        let relay = NestedSVMPlan(try Self.exitCase("cpuid-0/svm-inner"), table: [svm])
        #expect(relay.role == .relay && relay.guestRIP == GuestLayout.codeAddress && !relay.resumeByNextRIP)
        let own = NestedSVMPlan(try Self.exitCase("vmrun/svm-hv"), table: [svm, nrips])
        #expect(own.role == .own && own.guestRIP == NestedSVM.bounceAddress && own.resumeByNextRIP)
        #expect(own.vmcb.value(UInt64.self, at: CGUEST_VMCB_RIP) == NestedSVM.bounceAddress)
        let triple = ExitCase("int3", .svmInner, body: .breakpointWithEmptyIDT, exitsTo: .none, mechanism: "int3")
        #expect(NestedSVMPlan(triple, table: [svm]).vmcb.segment(at: CGUEST_VMCB_IDTR).limit == 0)
        let runner = CaseRunner(devicePath: "/nonexistent", environment: Self.environment(.kvmAMD, svm: true))
        #expect(runner.mechanism(of: try Self.exitCase("hypercall/svm-inner")).contains("mini-hypervisor"))
        #expect(
            runner.plan(for: try Self.exitCase("vmload/svm-hv"), counts: (5, 1), cpuid: []).parameters.loop
                == GuestLoop.number(of: "vmload", in: .svm))
        #expect(
            runner.plan(for: try Self.exitCase("msr-read/svm-inner"), counts: (5, 1), cpuid: []).userSpaceMSR == false)
    }

    @Test("the intercepts a run must account for: the canary CPUID, then one per iteration of the body's kind")
    func expectedIntercepts() throws {
        let counts = (iterations: 100, warmup: 10)
        func expected(_ id: String) throws -> [String: Int] {
            CaseRunner.expectedIntercepts(try Self.exitCase(id), counts: counts)
        }
        #expect(try expected("cpuid-0/svm-inner") == ["VMEXIT_CPUID": 111])
        #expect(try expected("hypercall/svm-inner") == ["VMEXIT_CPUID": 1, "VMEXIT_VMMCALL": 110])
        #expect(try expected("pio-in/svm-inner") == ["VMEXIT_CPUID": 1, "VMEXIT_IOIO": 110])
        #expect(try expected("msr-write/svm-inner") == ["VMEXIT_CPUID": 1, "VMEXIT_MSR": 110])
        #expect(try expected("hlt/svm-inner") == ["VMEXIT_CPUID": 1, "VMEXIT_HLT": 110])
        #expect(try expected("null/svm-inner") == ["VMEXIT_CPUID": 1])
        #expect(try expected("vmrun/svm-hv") == ["VMEXIT_VMMCALL": 110])
        #expect(try expected("stgi/svm-hv") == [:])
    }

    @Test("a finished run counts only when every intercept was the mini-hypervisor's and none reached here")
    func unhandled() {
        var facts = GuestHypervisorFacts(
            role: "relay", guestSignature: "NestprobeCan", innerSignature: "NestprobeSVM", exits: 112,
            intercepts: ["VMEXIT_CPUID": 111], expectedIntercepts: ["VMEXIT_CPUID": 111], resumedBy: "length")
        #expect(CaseRunner.unhandled(facts, userExits: 0) == nil)
        #expect(CaseRunner.unhandled(facts, userExits: 3)?.reason.contains("3 of the guest's guest's exits") == true)
        facts.intercepts = ["VMEXIT_CPUID": 1]
        let failure = CaseRunner.unhandled(facts, userExits: 0)
        #expect(failure?.kind == .unexpected)
        #expect(
            failure?.reason == "the mini-hypervisor handled 1 VMEXIT_CPUID, but the loop had to cause 111 VMEXIT_CPUID")
    }

    @Test("a #VMEXIT it stopped on becomes a failure with the exit's code and information")
    func vmexitFailures() {
        func exit(_ code: Int64, intInfo: UInt64 = 0) -> VMCBExit {
            VMCBExit(
                code: code, name: SVMExitCode(code).name, exitInfo1: 0x10, exitInfo2: 0x20, exitIntInfo: intInfo,
                guestRIP: 0x1234, nextRIP: 0)
        }
        let triple = CaseRunner.vmexitFailure(exit(0x7F, intInfo: 0x8000_0B08))
        #expect(triple.kind == .tripleFault && triple.exitReason == "VMEXIT_SHUTDOWN" && triple.guestRIP == 0x1234)
        #expect(
            triple.reason == "the guest's guest triple-faulted: #VMEXIT VMEXIT_SHUTDOWN (0x7f) at RIP 0x1234, "
                + "EXITINFO1 0x10, EXITINFO2 0x20, EXITINTINFO 0x80000b08: delivering vector 8 (#DF)")
        let invalid = CaseRunner.vmexitFailure(exit(-1))
        #expect(invalid.kind == .entryFailed && invalid.exitReason == "VMEXIT_INVALID")
        #expect(invalid.reason.hasPrefix("VMRUN failed its consistency checks") && invalid.reason.contains("(-1)"))
        let other = CaseRunner.vmexitFailure(exit(0x400))
        #expect(other.kind == .unexpected && other.reason.contains("VMEXIT_NPF (0x400)"))
    }

    @Test("the mailbox read back: counts by exit name, the exit it stopped on, whose fault a fault port was")
    func mailbox() throws {
        let memory = try GuestMemory(size: GuestLayout.ramSize(.long64))
        let base = Int(GuestLayout.mailboxAddress)
        try memory.store(UInt32(CGUEST_SVM_STAGE_FINISHED), at: base + Int(CGUEST_SVM_MB_STAGE))
        try memory.store(UInt32(CGUEST_SVM_RESULT_STOPPED), at: base + Int(CGUEST_SVM_MB_RESULT))
        try memory.store(UInt32(5), at: base + Int(CGUEST_SVM_MB_EXITS))
        try memory.store(UInt32(1), at: base + Int(CGUEST_SVM_MB_COUNT_CPUID))
        try memory.store(UInt32(3), at: base + Int(CGUEST_SVM_MB_COUNT_IOIO))
        try memory.store(UInt64(0x7F), at: base + Int(CGUEST_SVM_MB_EXIT_CODE))
        try memory.store(UInt64(0x1ABC), at: base + Int(CGUEST_SVM_MB_EXIT_RIP))
        let svm = try NestedSVMMailbox.read(from: memory)
        #expect(svm.intercepts == ["VMEXIT_CPUID": 1, "VMEXIT_IOIO": 3])
        #expect(svm.stoppedBy?.name == "VMEXIT_SHUTDOWN" && svm.stoppedBy?.guestRIP == 0x1ABC)
        let report = try MailboxReport.read(from: memory)
        #expect(CaseRunner.nestedFault(svm, report: report).kind == .tripleFault)
        try memory.store(UInt32(CGUEST_SVM_RESULT_INNER_FAULT), at: base + Int(CGUEST_SVM_MB_RESULT))
        try memory.store(UInt32(6), at: base + Int(CGUEST_MB_FAULT_VECTOR))
        let inner = CaseRunner.nestedFault(
            try NestedSVMMailbox.read(from: memory), report: try MailboxReport.read(from: memory))
        #expect(inner.kind == .guestException && inner.reason.hasPrefix("the guest's guest: the guest took #UD"))
        try memory.store(UInt32(CGUEST_SVM_RESULT_NONE), at: base + Int(CGUEST_SVM_MB_RESULT))
        let own = CaseRunner.nestedFault(
            try NestedSVMMailbox.read(from: memory), report: try MailboxReport.read(from: memory))
        #expect(own.reason.hasPrefix("the mini-hypervisor: "))
        try memory.store(UInt32(CGUEST_SVM_STAGE_RUNNING), at: base + Int(CGUEST_SVM_MB_STAGE))
        #expect(
            try NestedSVMMailbox.read(from: memory).stageDescription
                == "running, 5 #VMEXITs so far, the latest VMEXIT_SHUTDOWN (0x7f)")
    }
}

extension Result where Failure == CaseFailure {
    /// The failure's kind, nil on success.
    var failureKind: CaseFailure.Kind? {
        if case .failure(let failure) = self { return failure.kind }
        return nil
    }
}
