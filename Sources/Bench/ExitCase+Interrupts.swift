// The interrupt cases: the local APIC as a real VMM sets it up (KVM_CREATE_IRQCHIP, the guest enabling its
// APIC and taking interrupts through an IDT gate whose handler takes the TSC and EOIs), timed in the guest
// from the event — the IPI's send, the timer's deadline — to the handler's first instruction. They run in
// long mode at CPL0; at CPL3 those that need no privilege once set up (the xAPIC's self-IPI, EOI and the IPI to
// the second vCPU, stores to its page, and the timer, armed through a service call to the guest's CPL0: int3
// with the service in EAX) run with the interrupt arriving at CPL3, handled at CPL0 (IDT, the TSS's RSP0); every
// other row says why not.
//
// The handler counts itself in the mailbox; the runner checks that count against the iterations run, so a
// case that succeeds took exactly one interrupt per iteration (or none, for the EOI and arm cases).
//
// `ipi` and `ipi-halt` send the IPI to a second vCPU (APIC ID 1, started at long64.S's AP entry with
// KVM_SET_MP_STATE runnable, KVM_RUN on a thread of its own: SecondVCPURun), whose x2APIC handler counts it;
// they are timed as a round trip on the sending vCPU (send → the other's handler → its count seen here), so
// no sample compares two vCPUs' TSCs. At CPL3 the sender writes the xAPIC ICR on its page (a user page), and
// vCPU 1, its xAPIC on, spins at CPL3 (its own TSS) or halts at CPL0: under kvm_pvm, which runs CPL3 natively,
// this is where its own IPI path shows. Where the host never runs vCPU 1, or never delivers the IPI, they are
// skipped with that reason.
//
// They are an opt-in set (`--cases interrupts`), not in the default suite: where interrupts reach a guest
// only at the host's next tick (kvm_pvm at CPL0: ~1.2 M cycles, 0.57 ms, per self-IPI or timer here, half a
// 1 ms tick; more under load), the set takes ~1.5 s of five runs by itself, which would push the default
// suite past its 3 s.

import CGuest
import KVM

extension ExitCase.Body {
    /// x2APIC self-IPI: `wrmsr` to the ICR (MSR 0x830, shorthand self), then a wait for the handler.
    static let x2APICSelfIPI = Self(loop: "x2apic_self_ipi", needs: [.localAPIC], interruptsPerIteration: 1)

    /// xAPIC self-IPI: a store to the ICR's low half at 0xFEE00300, then a wait for the handler.
    static let xAPICSelfIPI = Self(loop: "xapic_self_ipi", needs: [.localAPIC], interruptsPerIteration: 1)

    /// x2APIC EOI: `wrmsr` 0 to MSR 0x80B, nothing in service.
    static let x2APICEOI = Self(loop: "x2apic_eoi", needs: [.localAPIC])

    /// xAPIC EOI: a store to 0xFEE000B0, nothing in service.
    static let xAPICEOI = Self(loop: "xapic_eoi", needs: [.localAPIC])

    /// TSC-deadline timer: arm `lead` cycles ahead, wait for the handler; the sample is deadline → entry.
    static func tscDeadline(lead: UInt32) -> Self {
        Self(loop: "tsc_deadline", operandA: lead, needs: [.localAPIC], interruptsPerIteration: 1)
    }

    /// TSC-deadline timer, arming alone: a deadline minutes away, rewritten each iteration.
    static let tscDeadlineArm = Self(loop: "tsc_deadline_arm", needs: [.localAPIC])

    /// A self-IPI sent with interrupts off, then `sti; hlt`: the halt ends at once and the interrupt is taken.
    static let stiHalt = Self(loop: "sti_hlt", needs: [.localAPIC], interruptsPerIteration: 1)

    /// Cross-vCPU IPI: `wrmsr` to the x2APIC ICR, fixed, destination APIC ID 1, a second vCPU spinning with
    /// interrupts on; the sample is the round trip to its handler's count.
    static let ipi = Self(loop: "ipi", needs: [.localAPIC, .secondVCPU], interruptsPerIteration: 1)

    /// The same with the second vCPU halted (`hlt`, interrupts on): the IPI wakes it.
    static let ipiHalt = Self(loop: "ipi_halt", needs: [.localAPIC, .secondVCPU], interruptsPerIteration: 1)

    /// Interrupt window: a self-IPI sent with interrupts off, taken after `sti; nop`.
    static let interruptWindow = Self(loop: "sti_window", needs: [.localAPIC], interruptsPerIteration: 1)

    /// The xAPIC self-IPI at CPL3: the APIC enabled and interrupts on through a service call to the guest's CPL0.
    static let xAPICSelfIPIAtCPL3 = Self(
        loop: "xapic_self_ipi_user", needs: [.localAPIC], interruptsPerIteration: 1)

    /// The xAPIC EOI at CPL3, nothing in service.
    static let xAPICEOIAtCPL3 = Self(loop: "xapic_eoi_user", needs: [.localAPIC])

    /// The TSC-deadline timer at CPL3: each deadline set `lead` cycles ahead through a service call, the wait
    /// at CPL3; the sample is deadline → entry.
    static func tscDeadlineAtCPL3(lead: UInt32) -> Self {
        Self(loop: "tsc_deadline_user", operandA: lead, needs: [.localAPIC], interruptsPerIteration: 1)
    }

    /// Why a fault in a CPL3 cross-vCPU IPI loop means the host does not offer it, not a broken case: the two
    /// ICR stores are the loop's only accesses a host could refuse a user mode (the xAPIC page mapped user).
    static let apicPageAtCPL3Unavailable =
        "a store to the xAPIC's ICR (0xfee00310, 0xfee00300) through the APIC page mapped user faulted at CPL3: "
        + "this host does not let the guest's user mode reach its local APIC's page"

    /// Cross-vCPU IPI from CPL3: the xAPIC ICR written through the APIC page (a user page), high half
    /// (destination APIC ID 1) then low half (fixed, physical, the xAPIC vector); the second vCPU, its xAPIC
    /// on, spins at CPL3 with interrupts on. The sample is the round trip to its handler's count.
    static let ipiAtCPL3 = Self(
        loop: "ipi_user", needs: [.localAPIC, .secondVCPU], interruptsPerIteration: 1,
        faultMeansUnavailable: apicPageAtCPL3Unavailable)

    /// The same with the second vCPU halted at CPL0 (`hlt` faults at CPL3): the IPI wakes it.
    static let ipiHaltAtCPL3 = Self(
        loop: "ipi_halt_user", needs: [.localAPIC, .secondVCPU], interruptsPerIteration: 1,
        faultMeansUnavailable: apicPageAtCPL3Unavailable)
}

extension ExitCase {
    /// How far ahead the TSC-deadline case arms its timer: far enough that arming (an exit, even a nested
    /// one) is over before the deadline, so the sample is the timer's own latency. Where arming takes
    /// longer, the timer is already due when the guest resumes and the sample is that resumption's delay.
    static let deadlineLead: UInt32 = 20_000

    /// Why the interrupt cases run only in long mode at CPL0, by mode.
    static let interruptsRealModeNote =
        "the real-mode payload has no interrupt handler for the APIC's vectors (its IVT sends every vector "
        + "above 31 to the fault stub): run in long mode at CPL0"
    static let interruptsCPL3Note =
        "the body uses sti, cli or hlt, which fault at CPL3 (IOPL 0): run in long mode at CPL0"
    static let x2APICAtCPL3Note =
        "the x2APIC's registers are MSRs and wrmsr faults at CPL3: the xAPIC rows at CPL3 time the same through "
        + "the APIC page"
    // Arming at CPL3 has no row that runs, by decision: WRMSR is privileged (#GP at CPL3, SDM vol. 2B WRMSR),
    // so a CPL3 program arms its timer only through its kernel. Timed through the service call, the sample
    // would be int3, the handler's dispatch, the wrmsr and iretq: the first, second and fourth are the
    // user/kernel round trip that `syscall-iret` and `page-fault-guest` at CPL3 already time, and the wrmsr
    // runs at CPL0, where `tsc-deadline-arm/long64-cpl0` times it alone. Under kvm_pvm, the module where CPL3
    // differs, the handler runs in its emulator (~1,000 cycles an instruction), so the call's cost would be
    // mostly the emulated dispatch, which says nothing of the timer. The sum adds no exit of its own.
    static let deadlineArmAtCPL3Note =
        "arming is a wrmsr, privileged at CPL3 (#GP); through a service call to the guest's CPL0 the sample would "
        + "be that call's round trip (timed by syscall-iret and page-fault-guest at CPL3) plus the wrmsr at "
        + "CPL0 (timed by tsc-deadline-arm/long64-cpl0): run in long mode at CPL0"

    /// How far ahead the CPL3 timer case sets its deadline: the service call's round trip (`int3`, wrmsr,
    /// `iretq`) comes before it, which under kvm_pvm runs in its emulator (~1,000 cycles an instruction).
    static let deadlineLeadAtCPL3: UInt32 = 100_000

    /// The opt-in set's name.
    public static let interruptSet = "interrupts"

    /// The interrupt cases: long mode at CPL0, and a row in real mode and at CPL3 that says why not.
    static let interrupts: [ExitCase] =
        (interruptRows(.long64, cpl: 0, requires: [])
        + interruptRows(.real, cpl: 0, requires: [.notInThisMode(interruptsRealModeNote)])
        + interruptRowsAtCPL3()).map { row in
            var row = row
            row.optInSet = interruptSet
            return row
        }

    /// The interrupt cases at CPL3: the xAPIC self-IPI and EOI, the timer and the cross-vCPU IPIs (over the
    /// xAPIC's ICR) run, the interrupt arriving at CPL3 (or at the halted second vCPU's CPL0); the other rows
    /// say why not.
    static func interruptRowsAtCPL3() -> [ExitCase] {
        let apic: [Requirement] = [.capability(.irqchip)]
        let setUp =
            "the xAPIC software-enabled and interrupts on by a service call to the guest's CPL0 (int3), untimed"
        let runs = [
            ExitCase(
                "ipi-self-xapic", .long64, cpl: 3, body: .xAPICSelfIPIAtCPL3, exitsTo: .kernel,
                mechanism: "mov dword [0xfee00300], 0x40041 (xAPIC ICR, self, fixed) at CPL3, the APIC page a user "
                    + "page, timed to the handler's entry at CPL0 (IDT, the TSS's RSP0); \(setUp); in-kernel LAPIC",
                requires: apic),
            ExitCase(
                "eoi-xapic", .long64, cpl: 3, body: .xAPICEOIAtCPL3, exitsTo: .kernel,
                mechanism: "mov [0xfee000b0], eax (xAPIC EOI, nothing in service) at CPL3; \(setUp)", requires: apic),
            ExitCase(
                "tsc-deadline", .long64, cpl: 3, body: .tscDeadlineAtCPL3(lead: deadlineLeadAtCPL3), exitsTo: .kernel,
                mechanism: "IA32_TSC_DEADLINE set \(deadlineLeadAtCPL3) cycles ahead through a service call to the "
                    + "guest's CPL0 (x2APIC on, interrupts on at CPL3), the wait at CPL3, timed from the deadline to "
                    + "the handler's entry at CPL0 (a call slower than the lead shows as a late entry)",
                requires: apic + [.capability(.tscDeadlineTimer)]),
            ExitCase(
                "ipi", .long64, cpl: 3, body: .ipiAtCPL3, exitsTo: .kernel,
                mechanism: "mov [0xfee00310], 1 << 24 then mov [0xfee00300], 0x41 (xAPIC ICR: destination APIC ID "
                    + "1, then fixed, physical) at CPL3, the APIC page a user page, to a second vCPU spinning at CPL3 "
                    + "with interrupts on (its xAPIC on, its own TSS's RSP0 for the handler; its thread kept off this "
                    + "vCPU's CPU), timed as a round trip: until this vCPU sees the other's handler count it; \(setUp)",
                requires: apic),
            ExitCase(
                "ipi-halt", .long64, cpl: 3, body: .ipiHaltAtCPL3, exitsTo: .kernel,
                mechanism: "mov [0xfee00310], 1 << 24 then mov [0xfee00300], 0x41 (xAPIC ICR: destination APIC ID "
                    + "1, then fixed, physical) at CPL3, the APIC page a user page, to a second vCPU halted at CPL0 "
                    + "(hlt faults at CPL3) with interrupts on, timed as a round trip: the wake-up, its handler's "
                    + "count seen here; \(setUp)",
                requires: apic),
        ]
        let reasons = [
            "ipi-self-x2apic": x2APICAtCPL3Note, "eoi-x2apic": x2APICAtCPL3Note,
            "tsc-deadline-arm": deadlineArmAtCPL3Note,
        ]
        return interruptRows(.long64, cpl: 3, requires: []).map { row in
            if let running = runs.first(where: { $0.name == row.name }) { return running }
            let reason = reasons[row.name] ?? interruptsCPL3Note
            return ExitCase(
                row.name, row.mode, cpl: row.cpl, body: row.body, exitsTo: row.exitsTo, mechanism: row.mechanism,
                requires: [.notInThisMode(reason)], inDefaultSuite: row.inDefaultSuite)
        }
    }

    /// The interrupt cases in `mode` at `cpl`, each gated on `requires` besides what it needs of KVM.
    static func interruptRows(_ mode: GuestMode, cpl: Int, requires: [Requirement]) -> [ExitCase] {
        let apic: [Requirement] = requires + [.capability(.irqchip)]
        return [
            ExitCase(
                "ipi-self-x2apic", mode, cpl: cpl, body: .x2APICSelfIPI, exitsTo: .kernel,
                mechanism: "wrmsr 0x830 (x2APIC ICR, self, fixed), timed to the handler's entry; in-kernel LAPIC",
                requires: apic),
            ExitCase(
                "ipi-self-xapic", mode, cpl: cpl, body: .xAPICSelfIPI, exitsTo: .kernel,
                mechanism: "mov dword [0xfee00300], 0x40041 (xAPIC ICR, self, fixed), timed to the handler's "
                    + "entry; in-kernel LAPIC",
                requires: apic),
            ExitCase(
                "eoi-x2apic", mode, cpl: cpl, body: .x2APICEOI, exitsTo: .kernel,
                mechanism: "wrmsr 0x80b, 0 (x2APIC EOI, nothing in service)", requires: apic),
            ExitCase(
                "eoi-xapic", mode, cpl: cpl, body: .xAPICEOI, exitsTo: .kernel,
                mechanism: "mov [0xfee000b0], eax (xAPIC EOI, nothing in service)", requires: apic),
            ExitCase(
                "tsc-deadline", mode, cpl: cpl, body: .tscDeadline(lead: deadlineLead), exitsTo: .kernel,
                mechanism: "wrmsr 0x6e0 (IA32_TSC_DEADLINE) \(deadlineLead) cycles ahead, timed from the deadline "
                    + "to the handler's entry",
                requires: apic + [.capability(.tscDeadlineTimer)]),
            ExitCase(
                "tsc-deadline-arm", mode, cpl: cpl, body: .tscDeadlineArm, exitsTo: .kernel,
                mechanism: "wrmsr 0x6e0 (IA32_TSC_DEADLINE) with a deadline 2^40 cycles away: arming alone",
                requires: apic + [.capability(.tscDeadlineTimer)]),
            ExitCase(
                "interrupt-window", mode, cpl: cpl, body: .interruptWindow, exitsTo: .kernel,
                mechanism: "cli; wrmsr 0x830 (x2APIC self-IPI); sti; nop: the interrupt taken after STI's shadow "
                    + "(an interrupt-window exit, or virtual interrupt delivery)",
                requires: apic),
            ExitCase(
                "ipi-self-sti-hlt", mode, cpl: cpl, body: .stiHalt, exitsTo: .kernel,
                mechanism: "cli; wrmsr 0x830 (x2APIC self-IPI); sti; hlt: the halt woken at once by the pending "
                    + "interrupt (HLT handled by the in-kernel LAPIC)",
                requires: apic),
            ExitCase(
                "ipi", mode, cpl: cpl, body: .ipi, exitsTo: .kernel,
                mechanism: "wrmsr 0x830 (x2APIC ICR, fixed, destination APIC ID 1) to a second vCPU spinning with "
                    + "interrupts on (its thread kept off this vCPU's CPU), timed as a round trip: until this vCPU "
                    + "sees the other's handler count it",
                requires: apic),
            ExitCase(
                "ipi-halt", mode, cpl: cpl, body: .ipiHalt, exitsTo: .kernel,
                mechanism: "wrmsr 0x830 (x2APIC ICR, fixed, destination APIC ID 1) to a second vCPU halted with "
                    + "interrupts on (hlt in the in-kernel LAPIC; its thread kept off this vCPU's CPU), timed as "
                    + "a round trip: the wake-up, its "
                    + "handler's count seen here",
                requires: apic),
        ]
    }
}

extension CaseRunner {
    /// Why a guest that said done did not take the interrupts its body asks for (`perIteration` per
    /// iteration, warm-up included), or nil when it took exactly those. A self-IPI that missed the
    /// interrupt-window loop's `sti; nop` is a divergence of this host's interrupt delivery, reported as a
    /// skip with its reason rather than as samples of something else.
    static func interruptFailure(
        _ report: MailboxReport, perIteration: Int, counts: (iterations: Int, warmup: Int)
    ) -> CaseFailure? {
        let iterations = counts.iterations + counts.warmup
        if report.windowMissed > 0 {
            var reason =
                "interrupt delivery diverges here: \(report.windowMissed) of \(iterations) self-IPIs were not "
                + "taken in the sti; nop window they were due in"
            if report.windowLost > 0 {
                reason += ", and \(report.windowLost) not at all while the guest waited with interrupts on"
            } else {
                reason += " (each was taken later, with interrupts on)"
            }
            return CaseFailure(kind: .skipped, reason: reason)
        }
        let expected = iterations * perIteration
        guard Int(report.interrupts) != expected else { return nil }
        return CaseFailure(
            kind: .unexpected,
            reason: "the guest's interrupt handler ran \(report.interrupts) times, not \(expected)")
    }

    /// A host that refuses the second vCPU (KVM_CREATE_VCPU with APIC ID 1, its registers, or
    /// KVM_SET_MP_STATE) cannot run the cross-vCPU cases: a skip that names the refusal.
    static func secondVCPUSetupFailure(_ error: KVMError) -> CaseFailure {
        CaseFailure(kind: .skipped, reason: "this host did not set up a second vCPU (APIC ID 1): \(error)")
    }

    /// Why a cross-vCPU IPI case has no samples to show, or nil when the run stands as it ended. A second
    /// vCPU that never reached its entry's first store (the host did not run it), or an IPI the first vCPU
    /// waited for until the watchdog stopped it (of `expected`, too few arrived in time), is a skip with that
    /// reason: this host cannot run the case, which is not a fault of the guest.
    static func secondVCPUFailure(
        _ report: MailboxReport, end: RunEnd, second: SecondVCPURun.Ending, expected: Int
    ) -> CaseFailure? {
        let timedOut: Bool
        switch end {
        case .done: timedOut = false
        case .failed(let failure) where failure.kind == .timedOut: timedOut = true
        case .failed, .faulted: return nil
        }
        if report.secondVCPUStage == 0 {
            return CaseFailure(
                kind: .skipped,
                reason: "the second vCPU (APIC ID 1, KVM_SET_MP_STATE runnable, KVM_RUN on a thread of its own) "
                    + "never reached its entry's first store: this host did not run it (vCPU 1: "
                    + "\(second.description))")
        }
        guard timedOut else { return nil }
        // vCPU 0 did not fault (it timed out), so an exception in the mailbox is vCPU 1's (the CPL3 spin, say).
        let fault =
            report.faultRIP != 0 ? "; \(exceptionFailure(report).reason.replacing("the guest", with: "vCPU 1"))" : ""
        return CaseFailure(
            kind: .skipped,
            reason: "the IPIs to the second vCPU did not all arrive in time: its handler ran \(report.interrupts) of "
                + "\(expected) times before the watchdog stopped vCPU 0, which waited for the next (lost, or slow: "
                + "where both vCPUs share one host CPU each IPI waits for the scheduler; vCPU 1: "
                + "\(second.description)\(fault))")
    }
}
