// The CPL3-only cases (syscall, the guest's own page fault, port I/O with IOPL 3): their rows, where their
// exits go per module, their plans without KVM; and the cases booted for real on /dev/kvm, where each
// succeeds with its samples and its exits counted, or (port I/O where the host does not honour the guest's
// IOPL) is skipped naming the fault's vector. No test asserts a duration.

import CGuest
import Testing

@testable import Bench

@Suite("CPL3 cases: rows, attribution and plans")
struct CPL3CatalogueTests {
    static let ids = [
        "syscall/long64-cpl3", "syscall-iret/long64-cpl3", "page-fault-guest/long64-cpl3", "pio-out-user/long64-cpl3",
        "pio-in-user/long64-cpl3", "pio-kernel/long64-cpl3",
    ]

    @Test("each runs at CPL3 only, outside the default suite, ungated on kvm_intel, kvm_amd and kvm_pvm")
    func rows() throws {
        for id in Self.ids {
            let exitCase = try ExitCaseCatalogueTests.exitCase(id)
            #expect(!exitCase.inDefaultSuite && exitCase.optInSet == nil, "\(id)")
            for module in [ExitCaseEnvironment.Module.kvmIntel, .kvmAMD, .kvmPVM] {
                #expect(exitCase.gate(ExitCaseCatalogueTests.environment(module)) == nil, "\(id) on \(module)")
            }
        }
        #expect(!ExitCase.catalogue.contains { $0.name == "syscall" && $0.cpl == 0 })
        #expect(!ExitCase.catalogue.contains { $0.name == "page-fault-guest" && $0.cpl == 0 })
    }

    @Test("syscall and the guest's page fault exit nowhere under VMX and SVM, and to the kernel under kvm_pvm")
    func attribution() throws {
        for id in ["syscall/long64-cpl3", "syscall-iret/long64-cpl3", "page-fault-guest/long64-cpl3"] {
            let exitCase = try ExitCaseCatalogueTests.exitCase(id)
            #expect(exitCase.exitsTo(in: ExitCaseCatalogueTests.environment(.kvmAMD)) == .none)
            #expect(exitCase.exitsTo(in: ExitCaseCatalogueTests.environment(.kvmIntel)) == .none)
            #expect(exitCase.exitsTo(in: ExitCaseCatalogueTests.environment(.kvmPVM)) == .kernel)
        }
        let out = try ExitCaseCatalogueTests.exitCase("pio-out-user/long64-cpl3")
        #expect(out.exitsTo(in: ExitCaseCatalogueTests.environment(.kvmPVM)) == .userSpace)
        let cpuid = try ExitCaseCatalogueTests.exitCase("cpuid-0/long64-cpl3")
        #expect(cpuid.exitsTo(in: ExitCaseCatalogueTests.environment(.kvmPVM)) == .kernel)
    }

    @Test("the port cases ask for IOPL 3 and call a fault unavailability; the page fault gets the unmapped address")
    func plans() throws {
        let runner = CaseRunner(devicePath: "/nonexistent", environment: ExitCaseCatalogueTests.environment(.kvmAMD))
        for id in ["pio-out-user/long64-cpl3", "pio-in-user/long64-cpl3", "pio-kernel/long64-cpl3"] {
            let exitCase = try ExitCaseCatalogueTests.exitCase(id)
            #expect(runner.plan(for: exitCase, counts: (10, 1), cpuid: []).iopl3, "\(id)")
            #expect(exitCase.body.faultMeansUnavailable == ExitCase.Body.iopl3Unavailable)
        }
        #expect(
            try !runner.plan(
                for: ExitCaseCatalogueTests.exitCase("pio-out-user/long64-cpl0"), counts: (10, 1), cpuid: []
            ).iopl3)
        #expect(
            try runner.plan(for: ExitCaseCatalogueTests.exitCase("pio-kernel/long64-cpl3"), counts: (10, 1), cpuid: [])
                .inKernelPIT)
        let fault = runner.plan(
            for: try ExitCaseCatalogueTests.exitCase("page-fault-guest/long64-cpl3"), counts: (10, 1), cpuid: [])
        #expect(fault.parameters.address == GuestLayout.unmappedAddress)
        #expect(fault.touchPages == 0)
        // Unmapped: beyond the first GiB the page tables map, and below the APIC's GiB.
        #expect(GuestLayout.unmappedAddress >= 1 << 30 && GuestLayout.unmappedAddress < 3 << 30)
        #expect(GuestSetup.iopl3 == 0x3000)
    }
}

@Suite("CPL3 cases on /dev/kvm", .requiresKVMGuests, .serialized)
struct CPL3GuestTests {
    /// syscall and the guest's page fault, booted: the samples asked for, the page faults resumed once per
    /// iteration (the runner checks the handler's count), and the exits attributed as this module's row says.
    /// Under kvm_pvm `syscall` (its entry returns with sysretq) is skipped, naming the #GP; `syscall-iret` runs.
    @Test(
        "syscall and the guest's own page fault run at CPL3, handled at CPL0",
        arguments: ["syscall", "syscall-iret", "page-fault-guest"])
    func handledInTheGuest(_ name: String) throws {
        let exitCase = try ExitCaseCatalogueTests.exitCase("\(name)/long64-cpl3")
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 40, warmup: 4) }
        print(CaseRunnerTests.line(outcome))
        if GuestKVM.isPVM, name == "syscall", case .failure(let failure) = outcome.result {
            #expect(failure.kind == .skipped)
            #expect(failure.reason.hasPrefix(ExitCase.Body.sysretUnavailable))
            #expect(failure.reason.contains("#GP (vector 13)"))
            return
        }
        guard case .success(let samples) = outcome.result else {
            Issue.record("\(exitCase.id): \(outcome.result)")
            return
        }
        #expect(samples.cycles.count == 40)
        #expect(outcome.exitsTo == (GuestKVM.isPVM ? .kernel : .none))
    }

    /// Port I/O at CPL3 with IOPL 3: to user space once per iteration (the runner counts the KVM_EXIT_IOs), or
    /// where the host does not honour the guest's IOPL a skip that names the #GP.
    @Test(
        "port I/O at CPL3 with IOPL 3 exits once per iteration, or is skipped naming the #GP",
        arguments: ["pio-out-user", "pio-in-user", "pio-kernel"])
    func portIO(_ name: String) throws {
        let exitCase = try ExitCaseCatalogueTests.exitCase("\(name)/long64-cpl3")
        try #require(exitCase.gate(GuestKVM.runner.environment) == nil)
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 40, warmup: 4) }
        print(CaseRunnerTests.line(outcome))
        switch outcome.result {
        case .success(let samples):
            #expect(samples.cycles.count == 40)
        case .failure(let failure):
            #expect(failure.kind == .skipped, "\(failure.kind): \(failure.reason)")
            #expect(failure.reason.hasPrefix(ExitCase.Body.iopl3Unavailable))
            #expect(failure.reason.contains("#GP (vector 13)"))
        }
    }
}
