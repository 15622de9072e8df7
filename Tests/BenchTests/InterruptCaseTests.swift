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
        "interrupt-window", "ipi-self-sti-hlt", "ipi", "ipi-halt",
    ]

    @Test("each interrupt case runs in long mode at CPL0, and at CPL3 where no privilege is needed; else says why")
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
            #expect(cpl3.optInSet == ExitCase.interruptSet)
            if Self.atCPL3.contains(name) {
                #expect(cpl3.gate(environment) == nil, "\(name)")
                #expect(cpl3.body.needs.contains(.localAPIC) && cpl3.body.loop.hasSuffix("_user"), "\(name)")
            } else {
                let reason = try #require(cpl3.notInThisModeReason, "\(name)")
                #expect(cpl3.gate(environment) == reason)
                #expect(reason.contains("CPL3"))
            }
        }
        #expect(
            try ExitCaseCatalogueTests.exitCase("ipi-self-sti-hlt/long64-cpl3").gate(environment)?.contains("sti")
                == true)
        #expect(
            try ExitCaseCatalogueTests.exitCase("eoi-x2apic/long64-cpl3").gate(environment)?.contains("wrmsr") == true)
        // Arming at CPL3 is a decision, not a gap: the reason names the two rows that time its parts.
        let arm = try #require(try ExitCaseCatalogueTests.exitCase("tsc-deadline-arm/long64-cpl3").notInThisModeReason)
        #expect(arm.contains("#GP") && arm.contains("syscall-iret") && arm.contains("tsc-deadline-arm/long64-cpl0"))
    }

    /// The interrupt cases that run at CPL3 too.
    static let atCPL3: Set = ["ipi-self-xapic", "eoi-xapic", "tsc-deadline", "ipi", "ipi-halt"]

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

    @Test("the cross-vCPU IPI cases ask for a second vCPU and the irqchip; the others for neither vCPU")
    func secondVCPUPlan() throws {
        let runner = CaseRunner(devicePath: "/nonexistent", environment: ExitCaseCatalogueTests.environment(.kvmAMD))
        let table = [KVMCPUIDEntry(function: 1, ecx: 0)]
        for id in ["ipi/long64-cpl0", "ipi-halt/long64-cpl0"] {
            let exitCase = try ExitCaseCatalogueTests.exitCase(id)
            let plan = runner.plan(for: exitCase, counts: (10, 1), cpuid: table)
            #expect(plan.secondVCPU && plan.localAPIC, "\(id)")
            #expect(exitCase.body.interruptsPerIteration == 1)
        }
        let halted = try ExitCaseCatalogueTests.exitCase("ipi-halt/long64-cpl0")
        #expect(halted.body.loop(vendor: .amd, mode: .long64) == CGUEST_LOOP_IPI_HALT)
        // At CPL3 the second vCPU's entry picks its xAPIC, and spinning at CPL3 or halting, by these numbers.
        for (id, loop) in [
            ("ipi/long64-cpl3", CGUEST_LOOP_IPI_USER), ("ipi-halt/long64-cpl3", CGUEST_LOOP_IPI_HALT_USER),
        ] {
            let exitCase = try ExitCaseCatalogueTests.exitCase(id)
            let plan = runner.plan(for: exitCase, counts: (10, 1), cpuid: table)
            #expect(plan.secondVCPU && plan.localAPIC && plan.cpl == 3, "\(id)")
            #expect(exitCase.body.loop(vendor: .intel, mode: .long64) == loop, "\(id)")
            #expect(exitCase.body.interruptsPerIteration == 1)
            #expect(exitCase.body.faultMeansUnavailable == ExitCase.Body.apicPageAtCPL3Unavailable)
            #expect(exitCase.exitsTo(in: ExitCaseCatalogueTests.environment(.kvmPVM)) == .kernel)
        }
        let selfIPI = runner.plan(
            for: try ExitCaseCatalogueTests.exitCase("ipi-self-x2apic/long64-cpl0"), counts: (10, 1), cpuid: table)
        #expect(!selfIPI.secondVCPU)
    }

    @Test("a second vCPU that never started, or an IPI never delivered, is a skip with its reason")
    func secondVCPUFailures() throws {
        var notStarted = Self.report(interrupts: 0)
        notStarted.stored = 0
        let never = try #require(CaseRunner.secondVCPUFailure(notStarted, end: .done, second: .stopped, expected: 12))
        #expect(never.kind == .skipped)
        #expect(never.reason.contains("never reached") && never.reason.contains("stopped by the runner"))

        var started = Self.report(interrupts: 3)
        started.secondVCPUStage = 1
        let watchdog = CaseFailure(kind: .timedOut, reason: "the watchdog stopped the guest")
        let lost = try #require(
            CaseRunner.secondVCPUFailure(started, end: .failed(watchdog), second: .exited("KVM_EXIT_HLT"), expected: 12)
        )
        #expect(lost.kind == .skipped)
        #expect(lost.reason.contains("did not all arrive") && lost.reason.contains("ran 3 of 12 times"))
        #expect(lost.reason.contains("KVM_EXIT_HLT"))

        // A run that ended well, or failed for another reason, stands as it ended.
        #expect(CaseRunner.secondVCPUFailure(started, end: .done, second: .stopped, expected: 12) == nil)
        #expect(CaseRunner.secondVCPUFailure(started, end: .faulted, second: .stopped, expected: 12) == nil)
        #expect(CaseRunner.secondVCPUFailure(notStarted, end: .faulted, second: .stopped, expected: 12) == nil)
        let refused = CaseRunner.secondVCPUSetupFailure(KVMError(operation: "KVM_CREATE_VCPU", errno: EINVAL))
        #expect(refused.kind == .skipped && refused.reason.contains("KVM_CREATE_VCPU"))
        // An exception in the mailbox while vCPU 0 timed out is vCPU 1's, and the reason names it.
        var faulted = started
        (faulted.faultVector, faulted.faultErrorCode, faulted.faultRIP) = (13, 0, 0x12ab)
        let spinFault = try #require(
            CaseRunner.secondVCPUFailure(
                faulted, end: .failed(watchdog), second: .exited("KVM_EXIT_IO"), expected: 12))
        #expect(spinFault.kind == .skipped && spinFault.reason.contains("vCPU 1 took #GP (vector 13)"))
        #expect(!lost.reason.contains("took"))
        let shutdown = CaseFailure(kind: .tripleFault, reason: "the guest triple-faulted")
        #expect(CaseRunner.secondVCPUFailure(started, end: .failed(shutdown), second: .stopped, expected: 12) == nil)
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
        "each interrupt case at CPL0 and CPL3 takes exactly its interrupts, or is skipped with its reason",
        arguments: ExitCase.interrupts.filter { $0.mode == .long64 && $0.notInThisModeReason == nil })
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
            // Only the interrupt window may diverge, and the cross-vCPU IPIs find no second vCPU or no delivery;
            // the others are skipped only by their gates.
            if let unavailable = exitCase.body.faultMeansUnavailable, failure.reason.hasPrefix(unavailable) {
                // A CPL3 store to the APIC page this host refuses: the skip names the vector.
                #expect(failure.reason.contains("(vector "))
            } else if exitCase.body.needs.contains(.secondVCPU) && exitCase.gate(GuestKVM.runner.environment) == nil {
                #expect(failure.reason.contains("second vCPU"))
            } else if exitCase.name != "interrupt-window" || exitCase.gate(GuestKVM.runner.environment) != nil {
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

    /// The second vCPU is stopped however the case ends; here, stopped by hand while it waits (spinning, then
    /// halted), and its thread says so. Where this host does not run it, the test says why and stops.
    @Test(
        "a second vCPU waiting for the IPI, spinning (at CPL0 or CPL3) or halted, stops when asked",
        arguments: ["ipi/long64-cpl0", "ipi-halt/long64-cpl0", "ipi/long64-cpl3", "ipi-halt/long64-cpl3"])
    func secondVCPUStops(_ name: String) throws {
        let exitCase = try ExitCaseCatalogueTests.exitCase(name)
        let runner = GuestKVM.runner
        try #require(exitCase.gate(runner.environment) == nil, "gated here: \(exitCase.gate(runner.environment) ?? "")")
        try withGuestSlot { () throws in
            let device = try KVMDevice(path: runner.devicePath)
            let cpuid = CPUIDCanary.guestTable(from: try device.supportedCPUID(), rdtscp: false)
            let plan = runner.plan(for: exitCase, counts: (10, 1), cpuid: cpuid)
            let machine = try GuestSetup.build(plan, device: device)
            let second = try GuestSetup.secondVCPU(plan, vm: machine.vm)
            #expect(try second.mpState() == .runnable)
            // Its own TSS, so that an interrupt it takes at CPL3 never lands on the first vCPU's CPL0 stack.
            let tr = try second.specialRegisters().tr
            #expect(tr.base == GuestLayout.secondTSSAddress && tr.selector == Selector.secondTSS)
            let run = SecondVCPURun(second)
            run.start(avoiding: nil)
            // Wait (bounded) for its entry's first store; it never ends by itself.
            let deadline = ContinuousClock.now + .seconds(5)
            var stage: UInt32 = 0
            while stage == 0 && ContinuousClock.now < deadline {
                stage = try MailboxReport.read(from: machine.memory).secondVCPUStage
                if stage == 0 { Thread.sleep(forTimeInterval: 0.001) }
            }
            let ending = run.stop()
            #expect(ending == .stopped, "\(ending.description)")
            #expect(run.stop() == ending)  // answers again at once
            if stage == 0 { print("\(name): vCPU 1 never reached its entry's first store on this host") }
        }
    }

    /// Where vCPU 1 never runs, the sender gives up waiting for it on its own and the case is a skip: here
    /// vCPU 1 is never made, the rest as the runner does it.
    @Test("without a running second vCPU the IPI case ends on its own and is skipped, saying why")
    func secondVCPUNeverRuns() throws {
        let exitCase = try ExitCaseCatalogueTests.exitCase("ipi/long64-cpl0")
        let runner = GuestKVM.runner
        try #require(exitCase.gate(runner.environment) == nil, "gated here: \(exitCase.gate(runner.environment) ?? "")")
        try withGuestSlot { () throws in
            let device = try KVMDevice(path: runner.devicePath)
            let cpuid = CPUIDCanary.guestTable(from: try device.supportedCPUID(), rdtscp: false)
            let plan = runner.plan(for: exitCase, counts: (10, 1), cpuid: cpuid)
            let machine = try GuestSetup.build(plan, device: device)
            let watchdog = VCPUWatchdog(stopping: machine.cpu.stopHandle, after: .seconds(10))
            let ending = try runner.drive(machine.cpu, exitCase: exitCase, plan: plan, watchdog: watchdog)
            watchdog.disarm()
            let report = try MailboxReport.read(from: machine.memory)
            #expect(report.secondVCPUStage == 0 && report.stored == 0 && report.interrupts == 0)
            if case .done = ending.end {} else { Issue.record("the guest did not end on its own: \(ending.end)") }
            let failure = try #require(
                CaseRunner.secondVCPUFailure(report, end: ending.end, second: .stopped, expected: 12))
            #expect(failure.kind == .skipped && failure.reason.contains("never reached"))
        }
    }
}
