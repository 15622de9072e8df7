// The interrupt cases: their rows and gates, the runner's check of the handler's count (without KVM), and
// the cases booted for real on /dev/kvm, where a case that succeeds took exactly one interrupt per iteration
// (the runner fails it otherwise). No test asserts a duration.

import CGuest
import Foundation
import KVM
import Testing

@testable import Bench

@Suite("Interrupt cases: rows, gates and the handler count")
struct InterruptCatalogueTests {
    static let names = [
        "ipi-self-x2apic", "ipi-self-xapic", "eoi-x2apic", "eoi-xapic", "tsc-deadline", "tsc-deadline-arm",
        "interrupt-window", "ipi-self-sti-hlt",
    ]

    @Test("each interrupt case runs in long mode at CPL0 and says why not in real mode and at CPL3")
    func rows() throws {
        let environment = ExitCaseCatalogueTests.environment(.kvmIntel)
        for name in Self.names {
            let cpl0 = try ExitCaseCatalogueTests.exitCase("\(name)/long64-cpl0")
            #expect(cpl0.gate(environment) == nil, "\(name)")
            #expect(cpl0.body.needs.contains(.localAPIC))
            #expect(cpl0.exitsTo == .kernel)
            let real = try ExitCaseCatalogueTests.exitCase("\(name)/real")
            #expect(real.gate(environment) == ExitCase.interruptsRealModeNote)
            let cpl3 = try ExitCaseCatalogueTests.exitCase("\(name)/long64-cpl3")
            #expect(cpl3.gate(environment) == ExitCase.interruptsCPL3Note)
        }
    }

    @Test("without an in-kernel irqchip, or without the TSC-deadline timer, the cases that need it are skipped")
    func gates() throws {
        var noIRQChip = ExitCaseCatalogueTests.everyCapability
        noIRQChip.remove(.irqchip)
        let bare = ExitCaseCatalogueTests.environment(.kvmAMD, capabilities: noIRQChip)
        let selfIPI = try ExitCaseCatalogueTests.exitCase("ipi-self-x2apic/long64-cpl0")
        #expect(selfIPI.gate(bare)?.contains("KVM_CAP_IRQCHIP") == true)
        var noDeadline = ExitCaseCatalogueTests.everyCapability
        noDeadline.remove(.tscDeadlineTimer)
        let old = ExitCaseCatalogueTests.environment(.kvmAMD, capabilities: noDeadline)
        #expect(try ExitCaseCatalogueTests.exitCase("tsc-deadline/long64-cpl0").gate(old)?.contains("DEADLINE") == true)
        #expect(try ExitCaseCatalogueTests.exitCase("tsc-deadline-arm/long64-cpl0").gate(old) != nil)
        #expect(selfIPI.gate(old) == nil)
    }

    @Test("the plan asks for an irqchip and puts x2APIC (and the TSC-deadline timer where offered) in CPUID")
    func plan() throws {
        let runner = CaseRunner(devicePath: "/nonexistent", environment: ExitCaseCatalogueTests.environment(.kvmAMD))
        let table = [KVMCPUIDEntry(function: 1, ecx: 0), KVMCPUIDEntry(function: 0x4000_0000)]
        let apic = runner.plan(
            for: try ExitCaseCatalogueTests.exitCase("tsc-deadline/long64-cpl0"), counts: (10, 1), cpuid: table)
        #expect(apic.localAPIC && !apic.inKernelPIT)
        let leaf1 = try #require(apic.cpuid.first { $0.function == 1 })
        #expect(leaf1.ecx == CPUIDCanary.x2APICBit | CPUIDCanary.tscDeadlineBit)
        #expect(apic.parameters.operandA == ExitCase.deadlineLead)
        let plain = runner.plan(
            for: try ExitCaseCatalogueTests.exitCase("cpuid-0/long64-cpl0"), counts: (10, 1), cpuid: table)
        #expect(!plain.localAPIC)
        #expect(plain.cpuid.first { $0.function == 1 }?.ecx == 0)
        let withoutDeadline = CPUIDCanary.withLocalAPIC(table, tscDeadline: false)
        #expect(withoutDeadline.first { $0.function == 1 }?.ecx == CPUIDCanary.x2APICBit)
    }

    @Test("emulated, the latency cases sample less (each waits for a host tick); the EOIs and arming do not")
    func sampling() throws {
        let pvm = ExitCaseCatalogueTests.environment(.kvmPVM)
        let amd = ExitCaseCatalogueTests.environment(.kvmAMD)
        let selfIPI = try ExitCaseCatalogueTests.exitCase("ipi-self-x2apic/long64-cpl0")
        #expect(selfIPI.defaultSampling(in: pvm) == (250, 25))
        #expect(selfIPI.runSampling(in: pvm) == (50, 10))
        #expect(selfIPI.defaultSampling(in: amd) == (2000, 200))
        let eoi = try ExitCaseCatalogueTests.exitCase("eoi-x2apic/long64-cpl0")
        #expect(eoi.defaultSampling(in: pvm) == (1000, 100))
    }

    /// A mailbox as a finished guest leaves it, with the handler's counts.
    static func report(interrupts: UInt32, missed: UInt32 = 0, lost: UInt32 = 0) -> MailboxReport {
        MailboxReport(
            stage: UInt32(CGUEST_STAGE_LOOPING), done: true, stored: 10, faultVector: 0, faultErrorCode: 0,
            faultRIP: 0, faultCR2: 0, canary: [0, 0, 0, 0], interrupts: interrupts, windowMissed: missed,
            windowLost: lost)
    }

    @Test("the handler must have run once per iteration, warm-up included; none for the EOI and arm loops")
    func handlerCount() throws {
        let counts = (iterations: 10, warmup: 2)
        #expect(CaseRunner.interruptFailure(Self.report(interrupts: 12), perIteration: 1, counts: counts) == nil)
        let short = try #require(
            CaseRunner.interruptFailure(Self.report(interrupts: 11), perIteration: 1, counts: counts))
        #expect(short.kind == .unexpected)
        #expect(short.reason.contains("ran 11 times, not 12"))
        #expect(CaseRunner.interruptFailure(Self.report(interrupts: 0), perIteration: 0, counts: counts) == nil)
        #expect(CaseRunner.interruptFailure(Self.report(interrupts: 1), perIteration: 0, counts: counts) != nil)
    }

    @Test("a self-IPI not taken in the sti; nop window is a named divergence, skipped with its reason")
    func windowDivergence() throws {
        let counts = (iterations: 10, warmup: 2)
        let late = try #require(
            CaseRunner.interruptFailure(Self.report(interrupts: 12, missed: 12), perIteration: 1, counts: counts))
        #expect(late.kind == .skipped)
        #expect(late.reason.contains("diverges") && late.reason.contains("12 of 12"))
        #expect(late.reason.contains("taken later"))
        let lost = try #require(
            CaseRunner.interruptFailure(
                Self.report(interrupts: 9, missed: 12, lost: 3), perIteration: 1, counts: counts))
        #expect(lost.kind == .skipped)
        #expect(lost.reason.contains("3 not at all"))
    }
}

@Suite("Interrupt cases on /dev/kvm", .requiresKVMGuests, .serialized)
struct InterruptGuestTests {
    /// The long-mode CPL0 rows, booted for real: each succeeds with the samples asked for (so its handler ran
    /// once per iteration: the runner checks the count), or is skipped with its reason (the interrupt-window
    /// divergence, a missing capability), never fails or hangs.
    @Test(
        "each interrupt case at CPL0 takes exactly its interrupts, or is skipped with its reason",
        arguments: ExitCase.interrupts.filter { $0.mode == .long64 && $0.cpl == 0 })
    func boots(_ exitCase: ExitCase) throws {
        // Few iterations: under kvm_pvm at CPL0 each interrupt waits for the host's next tick.
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 40, warmup: 4) }
        print(CaseRunnerTests.line(outcome))
        switch outcome.result {
        case .success(let samples):
            #expect(samples.cycles.count == 40)
            #expect(samples.exitsPerSample == 1)
            #expect(outcome.exitsTo == .kernel)
        case .failure(let failure) where failure.kind == .skipped:
            #expect(!failure.reason.isEmpty)
            // Only the interrupt window may diverge; the others are skipped only by their gates.
            if exitCase.name != "interrupt-window" || exitCase.gate(GuestKVM.runner.environment) != nil {
                #expect(exitCase.gate(GuestKVM.runner.environment) == failure.reason)
            } else {
                #expect(failure.reason.contains("diverges"))
            }
        case .failure(let failure):
            Issue.record("\(exitCase.id) failed: \(failure.kind.rawValue): \(failure.reason)")
        }
    }

    /// The self-IPI and the timer need an in-kernel irqchip; where KVM offers one they must run.
    @Test("where KVM offers an irqchip, the self-IPIs and the EOIs run (no gate skips them)")
    func selfIPIRuns() throws {
        let environment = GuestKVM.runner.environment
        try #require(environment.has(.irqchip), "KVM offers no in-kernel irqchip here")
        for id in ["ipi-self-x2apic/long64-cpl0", "ipi-self-xapic/long64-cpl0", "eoi-x2apic/long64-cpl0"] {
            let exitCase = try ExitCaseCatalogueTests.exitCase(id)
            let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 20, warmup: 2) }
            guard case .success(let samples) = outcome.result else {
                Issue.record("\(id): \(outcome.result)")
                continue
            }
            #expect(samples.cycles.count == 20)
        }
    }
}
