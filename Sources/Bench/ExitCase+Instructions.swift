// Issue 12's instruction exits and in-kernel I/O paths: the bodies of the cases kvm-unit-tests' x86/vmexit
// measures beyond the first set (CR8, the CR0/CR4 toggles, INVD, WBINVD, PAUSE, the MSRs) and a few more
// (XSETBV, INVLPG, RDPMC), an `out` that KVM's in-kernel PIC answers, and the writes KVM_IOEVENTFD completes
// in the kernel, as virtio's notifications are. Their rows are in instructionCases(_:) and the CPL3 and
// three-level lists below; each row is gated on the CPU feature or capability its instruction needs.

import CGuest
import KVM

extension ExitCase {
    /// IA32_KERNEL_GS_BASE: the SWAPGS shadow, present wherever long mode is.
    static let kernelGSBaseMSR: UInt32 = 0xC000_0102
    /// IA32_TSC_ADJUST: written with 0, its value in a fresh guest (any other value would move the TSC).
    static let tscAdjustMSR: UInt32 = 0x3B
    /// IA32_SPEC_CTRL: written with 0 (IBRS, STIBP, SSBD off).
    static let specCtrlMSR: UInt32 = 0x48
    /// IA32_PRED_CMD: written with 1 (IBPB, an indirect branch prediction barrier).
    static let predCmdMSR: UInt32 = 0x49

    /// PAUSEs per sample of the pause case: a spin-wait long enough for pause-loop exiting to see a loop.
    static let pauseBatch = 128

    /// CR4.OSXSAVE (bit 18) and CR4.PCE (bit 8).
    static let cr4OSXSAVE: UInt64 = 1 << 18
    static let cr4PCE: UInt64 = 1 << 8

    /// The issue-12 cases of `mode` at CPL0 (real mode, long mode), in report order. None is in the default
    /// suite (`--cases` picks them): under kvm_pvm every one of them is emulated at CPL0 and in real mode,
    /// ~10–20 ms a run each, and the default bench must stay within about 3 s there. The one issue-12 case
    /// in the default suite is the ioeventfd MMIO write at CPL3, which kvm_pvm runs natively.
    static func instructionCases(_ mode: GuestMode) -> [ExitCase] {
        var rows: [ExitCase] = []
        if mode == .long64 {
            rows += [
                ExitCase(
                    "cr8-read", mode, body: .cr8Read, exitsTo: .kernel,
                    mechanism: "mov reg, cr8 (the TPR) without an in-kernel local APIC: CR8 exiting, answered by "
                        + "KVM (64-bit mode only)", inDefaultSuite: false),
                ExitCase(
                    "cr8-write", mode, body: .cr8Write, exitsTo: .kernel,
                    mechanism: "mov cr8, reg with CR8's own value (0) without an in-kernel local APIC: answered by "
                        + "KVM (no KVM_EXIT_SET_TPR: the TPR does not drop; 64-bit mode only)",
                    inDefaultSuite: false),
            ]
        }
        rows += [
            ExitCase(
                "cr0-toggle", mode, body: .cr0Toggle, exitsTo: .kernel,
                mechanism: "mov cr0, reg with CR0.WP flipped each iteration (kvm-unit-tests' toggle_cr0_wp; VMX "
                    + "with EPT may leave WP to the guest, SVM takes it as a selective CR0 write)",
                inDefaultSuite: false),
            ExitCase(
                "cr4-toggle", mode, body: .cr4Toggle, exitsTo: .kernel,
                mechanism: "mov cr4, reg with CR4.PGE flipped each iteration, a full TLB flush "
                    + "(kvm-unit-tests' toggle_cr4_pge; VMX with EPT may leave PGE to the guest)",
                inDefaultSuite: false),
            ExitCase(
                "invd", mode, body: .invd, exitsTo: .kernel,
                mechanism: "invd: always intercepted, KVM skips it", inDefaultSuite: false),
            ExitCase(
                "wbinvd", mode, body: .wbinvd, exitsTo: .kernel,
                mechanism: "wbinvd: intercepted, KVM flushes only for a VM with non-coherent DMA (none here)",
                inDefaultSuite: false),
            ExitCase(
                "pause", mode, body: .pause, exitsTo: .kernel,
                mechanism: "\(pauseBatch) × pause per sample, figures per pause: pause-loop exiting (VMX PLE, SVM "
                    + "pause filter) exits only once a spin outlasts its window, so most pauses may not exit",
                inDefaultSuite: false),
            ExitCase(
                "xsetbv", mode, body: .xsetbv, exitsTo: .kernel,
                mechanism: "xsetbv of XCR0 with 1 (x87 only, as after reset), CR4.OSXSAVE set: always intercepted",
                requires: [.guestFeature(.xsave)], inDefaultSuite: false),
            ExitCase(
                "invlpg", mode, body: .invlpg, exitsTo: .kernel,
                mechanism: "invlpg of the mailbox page (exits only under shadow paging: VMX with EPT and SVM with "
                    + "NPT let the guest run it)", inDefaultSuite: false),
            ExitCase(
                "rdpmc", mode, body: .rdpmc, exitsTo: .kernel,
                mechanism: "rdpmc of general-purpose counter 0, emulated by KVM's virtual PMU",
                inDefaultSuite: false),
            ExitCase(
                "msr-kernel-gs-base-write", mode, body: .wrmsrValue(index: kernelGSBaseMSR, value: 0),
                exitsTo: .kernel,
                mechanism: "wrmsr 0xc0000102 (IA32_KERNEL_GS_BASE) = 0 (kvm-unit-tests' wr_kernel_gs_base; VMX "
                    + "passes it through to a 64-bit guest, so there it may not exit)",
                requires: [.guestFeature(.longMode)], inDefaultSuite: false),
            ExitCase(
                "msr-tsc-adjust-read", mode, body: .rdmsr(index: tscAdjustMSR), exitsTo: .kernel,
                mechanism: "rdmsr 0x3b (IA32_TSC_ADJUST), answered by KVM", requires: [.guestFeature(.tscAdjust)],
                inDefaultSuite: false),
            ExitCase(
                "msr-tsc-adjust-write", mode, body: .wrmsrValue(index: tscAdjustMSR, value: 0), exitsTo: .kernel,
                mechanism: "wrmsr 0x3b (IA32_TSC_ADJUST) = 0, its value: taken by KVM, the TSC unchanged",
                requires: [.guestFeature(.tscAdjust)], inDefaultSuite: false),
            ExitCase(
                "msr-spec-ctrl-write", mode, body: .wrmsrValue(index: specCtrlMSR, value: 0), exitsTo: .kernel,
                mechanism: "wrmsr 0x48 (IA32_SPEC_CTRL) = 0: KVM intercepts it until the guest first writes a "
                    + "nonzero value", requires: [.guestFeature(.specCtrl)], inDefaultSuite: false),
            ExitCase(
                "msr-pred-cmd-write", mode, body: .wrmsrValue(index: predCmdMSR, value: 1), exitsTo: .kernel,
                mechanism: "wrmsr 0x49 (IA32_PRED_CMD) = 1: an IBPB, passed to the CPU by KVM (or let through)",
                requires: [.guestFeature(.predCmd)], inDefaultSuite: false),
            ExitCase(
                "pio-out-kernel", mode, body: .portOutKernel, exitsTo: .kernel,
                mechanism: "out 0x4d0, al (0): the in-kernel PIC's ELCR (KVM_CREATE_IRQCHIP), kvm-unit-tests' "
                    + "outl_to_kernel", requires: [.capability(.irqchip), .capability(.pit2)],
                inDefaultSuite: false),
            ExitCase(
                "pio-out-ioeventfd", mode, body: .portOutEventFD, exitsTo: .kernel,
                mechanism: "out 0xe8, al with a KVM_IOEVENTFD on the port: KVM signals an eventfd and resumes the "
                    + "guest (how a virtio PIO notify completes)", requires: [.capability(.ioeventfd)],
                inDefaultSuite: false),
        ]
        return rows + unprivilegedInstructionCases(mode, cpl: 0)
    }

    /// The issue-12 cases that may run at CPL3 too (long mode): PAUSE and RDPMC (with CR4.PCE) need no
    /// privilege, and an MMIO write is a user page's store (in the default suite at CPL3 only).
    static func unprivilegedInstructionCases(_ mode: GuestMode, cpl: Int) -> [ExitCase] {
        var rows = [
            ExitCase(
                "mmio-write-ioeventfd", mode, cpl: cpl, body: .mmioWriteEventFD, exitsTo: .kernel,
                mechanism: "a 32-bit store to unbacked 0xe0000 with a KVM_IOEVENTFD on it: KVM signals an eventfd "
                    + "and resumes the guest (how a virtio MMIO notify completes)",
                requires: [.capability(.ioeventfd)], inDefaultSuite: cpl == 3)
        ]
        if cpl == 3 {
            rows += [
                ExitCase(
                    "pause", mode, cpl: cpl, body: .pause, exitsTo: .kernel,
                    mechanism: "\(pauseBatch) × pause per sample at CPL3, figures per pause (pause-loop exiting "
                        + "as at CPL0)", inDefaultSuite: false),
                ExitCase(
                    "rdpmc", mode, cpl: cpl, body: .rdpmcAtCPL3, exitsTo: .kernel,
                    mechanism: "rdpmc of counter 0 at CPL3, CR4.PCE set: emulated by KVM's virtual PMU",
                    inDefaultSuite: false),
            ]
        }
        return rows
    }

    /// The issue-12 cases of the guest's guest: each instruction intercepted by the mini-hypervisor, which
    /// steps over it. Not here: PAUSE (KVM applies its own pause filter count to the guest's guest where it
    /// does not pass the filter through, so not every PAUSE reaches the mini-hypervisor), XSETBV (the guest's
    /// guest has no CR4.OSXSAVE), and the MSRs (msr-read and msr-write already time the MSR intercept).
    static let nestedSVMInstructions: [ExitCase] = [
        ExitCase(
            "cr8-read", .svmInner, body: .cr8Read, exitsTo: .guestHypervisor,
            mechanism:
                "mov reg, cr8 in the guest's guest: #VMEXIT CR8_READ to the mini-hypervisor, which steps over it",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "cr8-write", .svmInner, body: .cr8Write, exitsTo: .guestHypervisor,
            mechanism: "mov cr8, reg in the guest's guest: #VMEXIT CR8_WRITE to the mini-hypervisor",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "cr0-toggle", .svmInner, body: .cr0Toggle, exitsTo: .guestHypervisor,
            mechanism: "mov cr0, reg (WP flipped) in the guest's guest: #VMEXIT CR0_WRITE to the mini-hypervisor",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "cr4-toggle", .svmInner, body: .cr4Toggle, exitsTo: .guestHypervisor,
            mechanism: "mov cr4, reg (PGE flipped) in the guest's guest: #VMEXIT CR4_WRITE to the mini-hypervisor",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "invd", .svmInner, body: .invd, exitsTo: .guestHypervisor,
            mechanism: "invd in the guest's guest: #VMEXIT INVD to the mini-hypervisor (QEMU's TCG checks INVD "
                + "against the WBINVD intercept, so under the SVM test bed it never arrives and the case fails)",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "wbinvd", .svmInner, body: .wbinvd, exitsTo: .guestHypervisor,
            mechanism: "wbinvd in the guest's guest: #VMEXIT WBINVD to the mini-hypervisor",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "invlpg", .svmInner, body: .invlpg, exitsTo: .guestHypervisor,
            mechanism: "invlpg in the guest's guest: #VMEXIT INVLPG to the mini-hypervisor",
            requires: [.svmOfferedToGuests], inDefaultSuite: false),
        ExitCase(
            "rdpmc", .svmInner, body: .rdpmc, exitsTo: .guestHypervisor,
            mechanism: "rdpmc in the guest's guest: #VMEXIT RDPMC to the mini-hypervisor (the intercept comes "
                + "before the counter is checked)", requires: [.svmOfferedToGuests], inDefaultSuite: false),
    ]
}

extension ExitCase.Body {
    /// A stepped-over intercept of the guest's guest: `code`, its bit in the VMCB word at `word`, and the
    /// instruction's length (APM vol. 2 appendix C for the codes, §15.9–15.15 and the VMCB layout for the bits).
    static func stepped(_ code: Int64, word: Int32, bit: UInt32, length: Int) -> SVMInterception {
        SVMInterception(code: SVMExitCode(code), word: word, bit: bit, stepLength: length)
    }

    /// `mov rbx, cr8` (44 0f 20 c3): #VMEXIT CR8_READ (0x08), CR read bit 8.
    static let cr8Read = Self(
        loop: "cr8_read", intercept: stepped(0x08, word: CGUEST_VMCB_INTERCEPT_CR, bit: 1 << 8, length: 4))

    /// `mov cr8, rbx` (44 0f 22 c3): #VMEXIT CR8_WRITE (0x18), CR write bit 8.
    static let cr8Write = Self(
        loop: "cr8_write", intercept: stepped(0x18, word: CGUEST_VMCB_INTERCEPT_CR, bit: 1 << (16 + 8), length: 4))

    /// `mov cr0, rbx` (0f 22 c3) with WP flipped: #VMEXIT CR0_WRITE (0x10), CR write bit 0.
    static let cr0Toggle = Self(
        loop: "cr0_toggle", intercept: stepped(0x10, word: CGUEST_VMCB_INTERCEPT_CR, bit: 1 << 16, length: 3))

    /// `mov cr4, rbx` (0f 22 e3) with PGE flipped: #VMEXIT CR4_WRITE (0x14), CR write bit 4.
    static let cr4Toggle = Self(
        loop: "cr4_toggle", intercept: stepped(0x14, word: CGUEST_VMCB_INTERCEPT_CR, bit: 1 << (16 + 4), length: 3))

    /// `invd` (0f 08): #VMEXIT INVD (0x76), word 3 bit 22.
    static let invd = Self(
        loop: "invd", intercept: stepped(0x76, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: 1 << 22, length: 2))

    /// `wbinvd` (0f 09): #VMEXIT WBINVD (0x89), word 4 bit 9.
    static let wbinvd = Self(
        loop: "wbinvd", intercept: stepped(0x89, word: CGUEST_VMCB_INTERCEPT_MISC2, bit: 1 << 9, length: 2))

    /// `pause`, `ExitCase.pauseBatch` of them per sample.
    static let pause = Self(
        loop: "pause", operandA: UInt32(ExitCase.pauseBatch), iterationsPerSample: ExitCase.pauseBatch)

    /// `xsetbv` of XCR0 = 1, with CR4.OSXSAVE set.
    static let xsetbv = Self(loop: "xsetbv", needs: [.cr4(ExitCase.cr4OSXSAVE)])

    /// `invlpg [mailbox]` (0f 01 3c 25 + disp32): #VMEXIT INVLPG (0x79), word 3 bit 25.
    static let invlpg = Self(
        loop: "invlpg", intercept: stepped(0x79, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: 1 << 25, length: 8))

    /// Why a fault in RDPMC means the host offers no counter rather than a broken case.
    static let rdpmcUnavailable = "rdpmc of counter 0 faulted: KVM offers this guest no virtual PMU counter"

    /// `rdpmc` (0f 33) of counter 0: #VMEXIT RDPMC (0x6f), word 3 bit 15.
    static let rdpmc = Self(
        loop: "rdpmc", operandA: 0,
        intercept: stepped(0x6F, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: 1 << 15, length: 2),
        faultMeansUnavailable: rdpmcUnavailable)

    /// `rdpmc` of counter 0 at CPL3, CR4.PCE set.
    static let rdpmcAtCPL3 = Self(
        loop: "rdpmc", operandA: 0, needs: [.cr4(ExitCase.cr4PCE)], faultMeansUnavailable: rdpmcUnavailable)

    /// `mov eax, value; xor edx, edx; wrmsr` to `index`.
    static func wrmsrValue(index: UInt32, value: UInt32) -> Self {
        Self(loop: "wrmsr_value", operandA: index, operandB: value, intercept: .msr)
    }

    /// `out 0x4d0, al` with 0: the in-kernel PIC's ELCR.
    static let portOutKernel = Self(loop: "out_kernel", needs: [.inKernelPIT], intercept: .ioio)

    /// `out 0xe8, al` with a KVM_IOEVENTFD on port 0xe8: completed in the kernel.
    static let portOutEventFD = Self(loop: "out_user", needs: [.ioEventFD(.port)], intercept: .ioio)

    /// A 32-bit store to the MMIO address with a KVM_IOEVENTFD on it: completed in the kernel.
    static let mmioWriteEventFD = Self(loop: "mmio_write", target: .mmio, needs: [.ioEventFD(.mmio)])
}
