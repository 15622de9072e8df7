// Real guests on /dev/kvm: every case of the catalogue runs or is skipped with a reason; the canary tells
// who answered CPUID; user-space exits are counted; a guest that faults, spins or triple-faults ends the
// way it should. No test asserts a duration.

import Foundation
import Testing

@testable import Bench

@Suite("Exit cases on /dev/kvm", .requiresKVMGuests, .serialized)
struct CaseRunnerTests {
    /// Every case of the catalogue runs or is skipped; one that runs stores the samples asked for, with the
    /// exits per sample its body causes. The runner itself fails a run whose exits differ from the body's: a
    /// user-space exit the body does not cause, a count of its own user-space exits other than one per
    /// iteration, or (three levels) intercepts other than the body's, which is also checked here.
    @Test("every case of the catalogue runs, or is skipped with its reason", arguments: ExitCase.catalogue)
    func everyCase(_ exitCase: ExitCase) throws {
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 200, warmup: 20) }
        print(CaseRunnerTests.line(outcome))
        switch outcome.result {
        case .success(let samples):
            #expect(samples.cycles.count == CaseRunner.sampleCounts(exitCase, iterations: 200, warmup: 20).iterations)
            #expect(samples.cycles.allSatisfy { $0 > 0 }, "a sample of 0 cycles")
            #expect(samples.timedInGuest == exitCase.timedInGuest)
            #expect(samples.exitsPerSample == exitCase.body.iterationsPerSample)
            if let facts = outcome.guestHypervisor {
                #expect(facts.intercepts == facts.expectedIntercepts)
                // One of the body's own intercepts per iteration, warm-up included (cpuid: and the canary).
                if let code = exitCase.body.intercept?.code { #expect(facts.intercepts[code.name, default: 0] >= 220) }
            }
        case .failure(let failure) where failure.kind == .skipped:
            #expect(!failure.reason.isEmpty)
        case .failure(let failure):
            Issue.record("\(exitCase.id) failed: \(failure.kind.rawValue): \(failure.reason)")
        }
    }

    @Test("cpuid-hv at CPL0 (real and long mode) returns the canary: this level's KVM answered")
    func canaryAtCPL0() throws {
        // The three-level cpuid-hv has its own canary (NestedSVMGuestTests).
        for exitCase in ExitCase.catalogue
        where exitCase.name == "cpuid-hv" && exitCase.cpl == 0 && !exitCase.mode.isNestedSVM {
            let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 20, warmup: 2) }
            #expect(outcome.guestSignature == CPUIDCanary.signature, "\(exitCase.id)")
            #expect(outcome.attribution == .thisLevel, "\(exitCase.id)")
            #expect(outcome.exitsTo == .kernel, "\(exitCase.id)")
        }
    }

    @Test("cpuid-hv at CPL3: the attribution follows the signature the guest saw (kvm_pvm versions differ)")
    func canaryAtCPL3() throws {
        let exitCase = try #require(ExitCase.catalogue.first { $0.id == "cpuid-hv/long64-cpl3" })
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 20, warmup: 2) }
        // Some kvm_pvm builds let a CPL3 guest's CPUID reach the hypervisor below (the host's own signature
        // comes back); others trap it to this level's KVM (the canary). Either way the attribution must say
        // which one answered; elsewhere only this level may answer.
        if GuestKVM.isPVM, outcome.guestSignature == GuestKVM.runner.environment.hostHypervisorSignature {
            #expect(outcome.attribution == .levelBelow)
            #expect(outcome.exitsTo == .levelBelow)
        } else {
            #expect(outcome.guestSignature == CPUIDCanary.signature)
            #expect(outcome.attribution == .thisLevel)
            #expect(outcome.exitsTo == .kernel)
        }
    }

    @Test("pio-out-user gives exactly the samples asked for, each above zero", arguments: [GuestMode.real, .long64])
    func portOutSamples(_ mode: GuestMode) throws {
        let exitCase = try #require(ExitCase.catalogue.first { $0.name == "pio-out-user" && $0.mode == mode })
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 137, warmup: 11) }
        let samples = try outcome.result.get()
        #expect(samples.cycles.count == 137)
        #expect(samples.cycles.allSatisfy { $0 > 0 })
        #expect(samples.warmup == 11)
        #expect(samples.pinnedCPU != nil, "the vCPU thread was not pinned")
        #expect(outcome.exitsTo == .userSpace)
    }

    @Test("a guest that executes ud2 is reported as #UD (vector 6) at the ud2", arguments: [GuestMode.real, .long64])
    func undefinedOpcode(_ mode: GuestMode) throws {
        let exitCase = ExitCase("ud2", mode, body: .undefinedOpcode, exitsTo: .none, mechanism: "ud2")
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0) }
        guard case .failure(let failure) = outcome.result else {
            Issue.record("ud2 produced samples")
            return
        }
        #expect(failure.kind == .guestException, "\(failure.reason)")
        #expect(failure.reason.contains("vector 6"), "\(failure.reason)")
        let rip = try #require(failure.guestRIP)
        let payload = GuestPayload.code(for: mode)
        let offset = Int(rip) - Int(GuestLayout.codeAddress)
        try #require(offset >= 0 && offset + 2 <= payload.count, "RIP \(rip) is outside the payload")
        #expect(Array(payload[offset..<offset + 2]) == [0x0F, 0x0B], "RIP does not point at a ud2")
    }

    @Test(
        "a guest that never finishes is stopped by the watchdog and reported as timed out",
        arguments: [(GuestMode.real, 0), (.long64, 0), (.long64, 3)])
    func spinning(_ mode: GuestMode, _ cpl: Int) throws {
        let exitCase = ExitCase("spin", mode, cpl: cpl, body: .spin, exitsTo: .none, mechanism: "jmp .")
        let outcome = withGuestSlot {
            GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0, timeout: .milliseconds(200))
        }
        guard case .failure(let failure) = outcome.result else {
            Issue.record("a spinning guest produced samples")
            return
        }
        #expect(failure.kind == .timedOut, "\(failure.reason)")
        #expect(failure.reason.contains("in its loop"), "\(failure.reason)")
    }

    @Test("int3 with an IDT of limit 0 in long mode is a triple fault (KVM_EXIT_SHUTDOWN)", arguments: [0, 3])
    func tripleFault(cpl: Int) throws {
        let exitCase = ExitCase(
            "triple-fault", .long64, cpl: cpl, body: .breakpointWithEmptyIDT, exitsTo: .none,
            mechanism: "int3, IDT limit 0")
        let outcome = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 1, warmup: 0) }
        guard case .failure(let failure) = outcome.result else {
            Issue.record("the guest produced samples")
            return
        }
        print("int3 with an empty long-mode IDT at CPL\(cpl): \(failure.kind.rawValue): \(failure.reason)")
        withKnownIssue(
            Comment(
                rawValue: "kvm_pvm emulates CPL0, and its emulator gives up on an exception it cannot deliver: "
                    + "KVM_EXIT_INTERNAL_ERROR (emulation failure at the int3) instead of KVM_EXIT_SHUTDOWN")
        ) {
            #expect(failure.kind == .tripleFault, "\(failure.reason)")
            #expect(failure.exitReason == "KVM_EXIT_SHUTDOWN")
        } when: {
            GuestKVM.isPVM && cpl == 0
        }
    }

    @Test(
        "with RDTSCP in the guests' CPUID, every case ends its timed regions with rdtscp; lfence",
        .enabled(
            if: GuestKVM.status.runner.map { $0.environment.guestHasRDTSCP || $0.environment.module == .kvmPVM }
                ?? false,
            "KVM offers guests no RDTSCP here"))
    func rdtscpEnding() throws {
        // Under kvm_pvm KVM offers no RDTSCP, but CPL3 runs natively, where the CPU executes it anyway; the
        // emulated modes are the next test's.
        let runner = Self.runnerWithRDTSCP()
        let original = GuestKVM.runner.environment
        for exitCase in ExitCase.catalogue where exitCase.timedInGuest {
            if !original.guestHasRDTSCP && original.isEmulated(exitCase.mode, cpl: exitCase.cpl) { continue }
            let outcome = withGuestSlot { runner.run(exitCase, iterations: 20, warmup: 2) }
            print("rdtscp: " + CaseRunnerTests.line(outcome))
            switch outcome.result {
            case .success(let samples):
                #expect(samples.endedWithRDTSCP)
                #expect(samples.cycles.allSatisfy { $0 > 0 })
            case .failure(let failure):
                #expect(failure.kind == .skipped, "\(exitCase.id): \(failure.reason)")
            }
        }
    }

    @Test(
        "kvm_pvm's emulator (CPL0, real mode) cannot run the rdtscp ending, which is why it is not offered",
        .enabled(if: GuestKVM.isPVM, "not under kvm_pvm"), arguments: ["rdtsc/real", "rdtsc/long64-cpl0"])
    func rdtscpUnderPVMEmulator(_ id: String) throws {
        let exitCase = try #require(ExitCase.catalogue.first { $0.id == id })
        let outcome = withGuestSlot { Self.runnerWithRDTSCP().run(exitCase, iterations: 20, warmup: 2) }
        print("rdtscp, emulated: " + CaseRunnerTests.line(outcome))
        try withKnownIssue(
            Comment(
                rawValue: "kvm_pvm's instruction emulator has no RDTSCP: KVM_INTERNAL_ERROR_EMULATION at the "
                    + "rdtscp; KVM_GET_SUPPORTED_CPUID does not offer RDTSCP there, so the suite never uses it")
        ) {
            _ = try outcome.result.get()
        } when: {
            !GuestKVM.runner.environment.guestHasRDTSCP
        }
    }

    /// This machine's runner, with RDTSCP forced into the guests' CPUID and the loops' ending.
    static func runnerWithRDTSCP() -> CaseRunner {
        var environment = GuestKVM.runner.environment
        environment.guestHasRDTSCP = true
        return CaseRunner(devicePath: GuestKVM.runner.devicePath, environment: environment)
    }

    @Test("the whole catalogue at its default sampling: runs, and prints per-case medians and run times")
    func defaultSampling() throws {
        let runner = GuestKVM.runner
        var total: UInt64 = 0
        let started = ContinuousClock.now
        for exitCase in ExitCase.catalogue {
            let sampling = exitCase.defaultSampling(in: runner.environment)
            let outcome = withGuestSlot {
                runner.run(exitCase, iterations: sampling.iterations, warmup: sampling.warmup)
            }
            total += outcome.wallNanoseconds
            print("default: " + CaseRunnerTests.line(outcome))
            if case .failure(let failure) = outcome.result {
                #expect(failure.kind == .skipped, "\(exitCase.id): \(failure.reason)")
            }
        }
        print(
            "default: whole catalogue \(Double(total) / 1e6) ms in the runner, \(ContinuousClock.now - started) in all")
    }

    /// One printable line per outcome: id, result, median, samples and wall time.
    static func line(_ outcome: CaseOutcome) -> String {
        let wall = String(format: "%.1f ms", Double(outcome.wallNanoseconds) / 1e6)
        switch outcome.result {
        case .success(let samples):
            let median = CaseOutcome.median(samples.cycles) ?? 0
            return "\(outcome.caseID): median \(Int(median)) cycles, \(samples.cycles.count) samples, "
                + "exits to \(outcome.exitsTo.rawValue), \(outcome.attribution.rawValue), "
                + "signature \"\(outcome.guestSignature ?? "-")\", \(wall)"
        case .failure(let failure):
            return "\(outcome.caseID): \(failure.kind.rawValue): \(failure.reason), \(wall)"
        }
    }
}

extension ExitCase: CustomTestStringConvertible {
    public var testDescription: String { id }
}
