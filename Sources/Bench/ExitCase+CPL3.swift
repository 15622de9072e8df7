// The cases only CPL3 has: what a guest's user mode does that its own kernel answers — a `syscall` and a page
// fault, each handled at CPL0 in the guest (long64.S's entry and #PF handler) — and port I/O with RFLAGS.IOPL
// = 3. Under kvm_intel and kvm_amd the first two never leave the guest (VMX and SVM do not intercept SYSCALL,
// SYSRET or IRET, and with EPT/NPT a guest's own #PF neither), so their rows say "no exit"; under kvm_pvm,
// which runs CPL3 natively and the guest's CPL0 in its emulator, each is a switch through kvm_pvm: PVM's
// native-path cost, visible only from here.
//
// None is in the default suite (`--cases` names them, or `all`): under kvm_pvm each iteration runs the
// guest's CPL0 code in the emulator.

import CGuest

extension ExitCase.Body {
    /// Why a fault in the syscall round trip means the host does not run it, not a broken case.
    static let sysretUnavailable =
        "the syscall round trip faulted: where the fault is at the entry's sysretq, this host does not execute "
        + "SYSRET at the guest's CPL0 (kvm_pvm's emulator of CPL0 has no SYSRET; syscall-iret returns with iretq)"

    /// `syscall` to the guest's CPL0 entry, which returns with `sysretq`; set up once through a service call.
    static let syscall = Self(loop: "syscall", operandA: 0, faultMeansUnavailable: sysretUnavailable)

    /// The same, the entry returning with `iretq` from a frame it builds.
    static let syscallIRET = Self(loop: "syscall", operandA: 1)

    /// A load from an unmapped address at CPL3: #PF, handled at CPL0 by the guest, which resumes after the load.
    static let guestPageFault = Self(loop: "user_fault", target: .unmapped)

    /// Why a port access at CPL3 with IOPL 3 that faulted means the host does not offer it, not a broken case.
    static let iopl3Unavailable =
        "the port access at CPL3 with RFLAGS.IOPL 3 faulted: this host does not let the guest's user mode do port "
        + "I/O (kvm_pvm runs CPL3 under the hardware's IOPL 0, not the guest's)"

    /// `out 0xe8, al` at CPL3 with IOPL 3: KVM_EXIT_IO, resumed by the runner.
    static let portOutUserIOPL3 = Self(
        loop: "out_user", needs: [.iopl3], completion: .portOut(GuestPort.user),
        faultMeansUnavailable: iopl3Unavailable)

    /// `in al, 0xe8` at CPL3 with IOPL 3: KVM_EXIT_IO, completed by the runner.
    static let portInUserIOPL3 = Self(
        loop: "in_user", needs: [.iopl3], completion: .portIn(GuestPort.user), faultMeansUnavailable: iopl3Unavailable)

    /// `in al, 0x40` at CPL3 with IOPL 3: the in-kernel PIT answers.
    static let portInKernelIOPL3 = Self(
        loop: "in_kernel", needs: [.inKernelPIT, .iopl3], faultMeansUnavailable: iopl3Unavailable)
}

extension ExitCase {
    /// The CPL3-only cases, in report order.
    static let cpl3Only: [ExitCase] = [
        ExitCase(
            "syscall", .long64, cpl: 3, body: .syscall, exitsTo: .none, exitsToUnderPVM: .kernel,
            mechanism: "syscall at CPL3 to the guest's CPL0 entry, which returns with sysretq (EFER.SCE, STAR, "
                + "LSTAR and SFMASK set by the guest itself through a service call, untimed): no exit under VMX or SVM; under kvm_pvm a "
                + "switch to the guest's CPL0 through kvm_pvm, whose emulator runs the entry",
            inDefaultSuite: false),
        ExitCase(
            "syscall-iret", .long64, cpl: 3, body: .syscallIRET, exitsTo: .none, exitsToUnderPVM: .kernel,
            mechanism: "syscall at CPL3 to the guest's CPL0 entry, which returns with iretq from a frame it "
                + "builds (as a kernel does where SYSRET will not serve): no exit under VMX or SVM; under kvm_pvm "
                + "through kvm_pvm, whose emulator runs the entry",
            inDefaultSuite: false),
        ExitCase(
            "page-fault-guest", .long64, cpl: 3, body: .guestPageFault, exitsTo: .none, exitsToUnderPVM: .kernel,
            mechanism: "a load at CPL3 from an address the guest's page tables leave unmapped: #PF to the guest's "
                + "CPL0 handler (IDT, the TSS's RSP0), which resumes after the load with iretq: no exit under VMX "
                + "with EPT or SVM with NPT; under kvm_pvm the shadow paging's fault, reflected into the guest "
                + "and its handler emulated",
            inDefaultSuite: false),
        ExitCase(
            "pio-out-user", .long64, cpl: 3, body: .portOutUserIOPL3, exitsTo: .userSpace,
            mechanism: "out 0xe8, al at CPL3 with RFLAGS.IOPL 3: KVM_EXIT_IO to this process, which resumes the "
                + "guest (where the host does not honour the guest's IOPL, #GP: skipped, naming the vector)",
            inDefaultSuite: false),
        ExitCase(
            "pio-in-user", .long64, cpl: 3, body: .portInUserIOPL3, exitsTo: .userSpace,
            mechanism: "in al, 0xe8 at CPL3 with RFLAGS.IOPL 3: KVM_EXIT_IO to this process, which supplies the "
                + "byte (#GP where the host does not honour the guest's IOPL: skipped)",
            inDefaultSuite: false),
        ExitCase(
            "pio-kernel", .long64, cpl: 3, body: .portInKernelIOPL3, exitsTo: .kernel,
            mechanism: "in al, 0x40 at CPL3 with RFLAGS.IOPL 3: channel 0 of KVM's in-kernel i8254 PIT (#GP where "
                + "the host does not honour the guest's IOPL: skipped)",
            requires: [.capability(.irqchip), .capability(.pit2)], inDefaultSuite: false),
    ]
}
