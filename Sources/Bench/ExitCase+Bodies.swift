// The bodies of the catalogue's rows: for each, its loop in CGuestLoops.h, its operands, what the VM needs,
// the user-space exit it causes on purpose (and how the runner completes it), and the #VMEXIT it causes in
// the three-level guest. A row names one of these; a new case may declare its own beside its rows.

import CGuest

extension ExitCase.Body {
    /// The empty loop, `batch` iterations per sample: how fast the guest executes at all.
    static func null(batch: Int) -> Self {
        Self(loop: "null", operandA: UInt32(batch), iterationsPerSample: batch)
    }

    /// The timing pair alone: the overhead every other sample includes.
    static let rdtsc = Self(loop: "rdtsc")

    /// The CPUID loop's name: a case running it says who answered (the canary's attribution).
    static let cpuidLoop = "cpuid"

    /// `mov eax, leaf; cpuid` with ECX = subleaf.
    static func cpuid(leaf: UInt32, subleaf: UInt32) -> Self {
        Self(loop: cpuidLoop, operandA: leaf, operandB: subleaf, intercept: .cpuid)
    }

    /// `mov eax, 0xffff; vmcall` on Intel hosts, `vmmcall` on AMD ones (and always in the guest's guest).
    static let hypercall = Self(
        loop: "vmmcall", intelLoop: "vmcall", operandA: ExitCase.unknownHypercall, intercept: .vmmcall)

    /// `out CGUEST_PORT_USER, al`: KVM_EXIT_IO, resumed by the runner.
    static let portOutUser = Self(loop: "out_user", completion: .portOut(GuestPort.user), intercept: .ioio)

    /// `in al, CGUEST_PORT_USER`: KVM_EXIT_IO, completed by the runner.
    static let portInUser = Self(loop: "in_user", completion: .portIn(GuestPort.user), intercept: .ioio)

    /// `in al, 0x40`: the in-kernel PIT answers.
    static let portInKernel = Self(loop: "in_kernel", needs: [.inKernelPIT], intercept: .ioio)

    /// A 32-bit store to an address no memory slot backs: KVM_EXIT_MMIO.
    static let mmioWrite = Self(loop: "mmio_write", target: .mmio, completion: .mmioWrite)

    /// A 32-bit load from it: KVM_EXIT_MMIO, completed by the runner.
    static let mmioRead = Self(loop: "mmio_read", target: .mmio, completion: .mmioRead)

    /// `rdmsr` of `index`; completed by the runner where the case exits to user space (KVM_EXIT_X86_RDMSR).
    static func rdmsr(index: UInt32) -> Self {
        Self(loop: "rdmsr", operandA: index, completion: .msrRead(index), intercept: .msr)
    }

    /// `xor edx, edx; wrmsr` to `index`.
    static func wrmsr(index: UInt32) -> Self { Self(loop: "wrmsr", operandA: index, intercept: .msr) }

    /// `hlt` without an in-kernel irqchip: KVM_EXIT_HLT, resumed by the runner.
    static let hlt = Self(loop: "hlt", completion: .hlt, intercept: .hlt)

    /// `mov cr0, reg` with CR0's own value.
    static let cr0Write = Self(loop: "cr0_write")

    /// `mov cr4, reg` with CR4's own value.
    static let cr4Write = Self(loop: "cr4_write")

    /// A byte store to the next never-touched 4 KiB page.
    static let firstTouch = Self(loop: "touch", target: .firstTouch)

    /// KVM_RUN with immediate_exit set, timed on the host (the guest is never entered; its loop is rdtsc's).
    static let kvmRunFixed = Self(loop: "rdtsc", timedInGuest: false)

    /// The three-level guest's own SVM instruction, timed in the mini-hypervisor (CGUEST_SVM_LOOPS). Its
    /// vmrun runs a bounce guest whose vmmcall the mini-hypervisor answers once per VMRUN.
    static func svm(_ instruction: SVMInstruction) -> Self {
        Self(loop: instruction.rawValue, intercept: instruction == .vmrun ? .vmmcall : nil)
    }

    /// Tests: `ud2`, an exception the payload reports.
    static let undefinedOpcode = Self(loop: "ud2")

    /// Tests: `jmp .`, a loop that never ends.
    static let spin = Self(loop: "spin")

    /// Tests: `int3` with an IDT of limit 0 (long mode), a triple fault.
    static let breakpointWithEmptyIDT = Self(loop: "int3", needs: [.emptyIDT])

    /// The bodies only tests run (their loops are in CGuestLoops.h for them).
    static let testBodies: [Self] = [undefinedOpcode, spin, breakpointWithEmptyIDT]
}
