// The exit-case table. Every case that needs privilege exists in real mode and in long mode at CPL0; the
// ones that do not (the baselines, CPUID, first touch, and the MMIO exits to user space: every page is a
// user page) exist at CPL3 too, where kvm_pvm runs the guest natively: only there is its exit path timed
// without its emulator. A case a host cannot run stays in the table and is reported as skipped with its
// gate's reason.
// The three-level cases (modes svm-inner and svm-hv) follow at the end; they are in NestedSVM+Catalogue.swift.

import CGuest
import KVM

extension ExitCase {
    /// The null loop's iterations per sample.
    static let nullBatch = 64

    /// MSR_IA32_APICBASE: KVM handles it in the kernel with or without an irqchip, and neither VMX nor SVM
    /// lets a guest read it without an exit (it is in no pass-through list).
    static let apicBaseMSR: UInt32 = 0x1B

    /// IA32_BIOS_SIGN_ID (AMD: PATCH_LEVEL): KVM takes a guest's write in the kernel and drops it
    /// (kvm_set_msr_common keeps only host-initiated writes), on every vendor, and neither VMX nor SVM passes
    /// it through. The write Intel documents before reading the microcode revision, so harmless by design.
    static let microcodeRevisionMSR: UInt32 = 0x8B

    /// An MSR index no CPU and no KVM defines ("NP" in the high half), so with KVM_CAP_X86_USER_SPACE_MSR
    /// and KVM_MSR_EXIT_REASON_UNKNOWN its reads exit to user space.
    static let unknownMSR: UInt32 = 0x4E50_0001

    /// Why a hypercall at CPL0 is probed before it is run: under kvm_pvm a long-mode guest never gets past it
    /// (KVM_RUN keeps running until a signal ends it) and a real-mode one takes #UD (CaseRunner+HangProbe.swift).
    static let hypercallHangNote =
        "under kvm_pvm a hypercall at CPL0 in long mode never completes, KVM_RUN running until a signal ends it, "
        + "and one in real mode raises #UD"

    /// `mov dr7, reg` with DR7's own value; in the guest's guest, #VMEXIT DR7_WRITE (0x37: APM vol. 2
    /// appendix C), which the mini-hypervisor steps over (`mov dr7, rbx` is 0f 23 fb, 3 bytes).
    static let dr7Write = Body(
        loop: "dr7_write",
        intercept: SVMInterception(
            code: SVMExitCode(0x37), word: CGUEST_VMCB_INTERCEPT_DR, bit: 1 << (16 + 7), stepLength: 3))

    /// The cases every host gets, in report order.
    public static let catalogue: [ExitCase] =
        [GuestMode.real, .long64].flatMap { mode in privileged(mode) + instructionCases(mode) }
        + unprivileged(.long64, cpl: 3) + unprivilegedInstructionCases(.long64, cpl: 3) + cpl3Only
        + interrupts
        + [
            ExitCase(
                "kvm-run-fixed", .real, body: .kvmRunFixed, exitsTo: .none,
                mechanism: "KVM_RUN with kvm_run.immediate_exit set, timed around the ioctl on the host "
                    + "(returns EINTR before entering the guest; VirtualCPU.run() adds one sigtimedwait)",
                requires: [.capability(.immediateExit)])
        ]
        + nestedSVM

    /// The cases that do not need privilege, at `cpl`.
    static func unprivileged(_ mode: GuestMode, cpl: Int) -> [ExitCase] {
        [
            ExitCase(
                "null", mode, cpl: cpl, body: .null(batch: nullBatch), exitsTo: .none,
                mechanism: "the empty loop `dec ecx; jnz`, \(nullBatch) iterations per sample"),
            ExitCase(
                "rdtsc", mode, cpl: cpl, body: .rdtsc, exitsTo: .none,
                mechanism: "the timing pair alone: lfence; rdtsc; lfence; mov … lfence; rdtsc (or rdtscp; lfence)"),
            ExitCase(
                "cpuid-0", mode, cpl: cpl, body: .cpuid(leaf: 0, subleaf: 0), exitsTo: .kernel,
                mechanism: "mov eax, 0; cpuid"),
            ExitCase(
                "cpuid-hv", mode, cpl: cpl, body: .cpuid(leaf: CPUIDCanary.leaf, subleaf: 0), exitsTo: .kernel,
                mechanism: "mov eax, 0x40000000; cpuid"),
            ExitCase(
                "page-fault-first-touch", mode, cpl: cpl, body: .firstTouch, exitsTo: .kernel,
                mechanism: "a byte store to a never-touched 4 KiB page (EPT/NPT violation or shadow-paging fault, "
                    + "plus the host's own page fault)"),
            ExitCase(
                "mmio-write-user", mode, cpl: cpl, body: .mmioWrite, exitsTo: .userSpace,
                mechanism: "a 32-bit store to unbacked guest-physical 0xe0000: KVM_EXIT_MMIO"),
            ExitCase(
                "mmio-read-user", mode, cpl: cpl, body: .mmioRead, exitsTo: .userSpace,
                mechanism: "a 32-bit load from unbacked guest-physical 0xe0000: KVM_EXIT_MMIO, completed here"),
        ]
    }

    /// Every case, for a mode at CPL0.
    static func privileged(_ mode: GuestMode) -> [ExitCase] {
        unprivileged(mode, cpl: 0) + [
            ExitCase(
                "hypercall", mode, body: .hypercall, exitsTo: .kernel,
                mechanism:
                    "mov eax, 0xffff; vmcall (Intel) or vmmcall (AMD): an unknown hypercall, KVM returns -ENOSYS",
                requires: [.knownVendor, .probedForHang(hypercallHangNote)]),
            ExitCase(
                "pio-out-user", mode, body: .portOutUser, exitsTo: .userSpace,
                mechanism: "out 0xe8, al: KVM_EXIT_IO to this process, which resumes the guest"),
            ExitCase(
                "pio-in-user", mode, body: .portInUser, exitsTo: .userSpace,
                mechanism: "in al, 0xe8: KVM_EXIT_IO to this process, which supplies the byte"),
            ExitCase(
                "pio-kernel", mode, body: .portInKernel, exitsTo: .kernel,
                mechanism: "in al, 0x40: channel 0 of KVM's in-kernel i8254 PIT (KVM_CREATE_PIT2)",
                requires: [.capability(.irqchip), .capability(.pit2)]),
            ExitCase(
                "msr-kernel", mode, body: .rdmsr(index: apicBaseMSR), exitsTo: .kernel,
                mechanism: "rdmsr 0x1b (IA32_APIC_BASE), answered by KVM"),
            ExitCase(
                "msr-user", mode, body: .rdmsr(index: unknownMSR), exitsTo: .userSpace,
                mechanism: "rdmsr 0x4e500001 (defined by nobody): KVM_EXIT_X86_RDMSR, completed here",
                requires: [.capability(.userSpaceMSR)]),
            ExitCase(
                "msr-write-kernel", mode, body: .wrmsr(index: microcodeRevisionMSR), exitsTo: .kernel,
                mechanism: "xor edx, edx; wrmsr 0x8b (IA32_BIOS_SIGN_ID), taken and dropped by KVM"),
            ExitCase(
                "hlt", mode, body: .hlt, exitsTo: .userSpace,
                mechanism: "hlt without an in-kernel irqchip: KVM_EXIT_HLT, resumed here"),
            ExitCase(
                "cr0-write", mode, body: .cr0Write, exitsTo: .kernel,
                mechanism: "mov cr0, reg with CR0's own value (may not exit: VMX exits only on a change to "
                    + "host-owned bits, SVM with NPT does not intercept it)"),
            ExitCase(
                "cr4-write", mode, body: .cr4Write, exitsTo: .kernel,
                mechanism: "mov cr4, reg with CR4's own value (may not exit: VMX exits only on a change to "
                    + "host-owned bits)"),
            ExitCase(
                "dr7-write", mode, body: dr7Write, exitsTo: .kernel,
                mechanism: "mov dr7, reg with DR7's own value (may exit only now and then: once the guest uses the "
                    + "debug registers and no host debugger does, KVM stops intercepting them until its next exit)"),
        ]
    }
}
