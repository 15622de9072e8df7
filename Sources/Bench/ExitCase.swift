// ExitCase: one row of the exit-latency table, in the manner of kvm-unit-tests' x86/vmexit.c — a name,
// the guest mode and privilege level it runs in, the body the guest times, where that body's exits go, and
// a validity gate that says why it cannot run on a given host. The rows are in ExitCase+Catalogue.swift.

import CGuest
import KVM

/// One exit-latency case: an instruction (or action) timed in a tiny guest in one mode and privilege level.
public struct ExitCase: Sendable, Hashable, Identifiable {
    /// The case's name, shared by its modes ("cpuid-0").
    public let name: String
    /// The guest mode the loop runs in.
    public let mode: GuestMode
    /// The privilege level of the loop: 0, or 3 (long mode only).
    public let cpl: Int
    /// Where the body's exits go on a host where this level's KVM answers them.
    public let exitsTo: ExitTarget
    /// The instruction or action timed, in words.
    public let mechanism: String
    /// What the guest executes.
    let body: Body
    /// What the host must offer for the case to run.
    let requirements: [Requirement]

    /// The stable identifier: name, then mode and privilege ("cpuid-0/real", "cpuid-0/long64-cpl3"), or
    /// "/host" for a case timed on the host.
    public var id: String {
        if !body.timedInGuest { return "\(name)/host" }
        switch mode {
        case .real: return "\(name)/real"
        case .long64: return "\(name)/long64-cpl\(cpl)"
        case .svmInner: return "\(name)/svm-inner"
        case .svmHypervisor: return "\(name)/svm-hv"
        }
    }

    /// Whether the guest takes the samples (true), or the host around KVM_RUN (false).
    public var timedInGuest: Bool { body.timedInGuest }

    /// Where the case may hang inside KVM_RUN, why (the runner probes it first), or nil.
    public var hangNote: String? {
        for case .probedForHang(let note) in requirements { return note }
        return nil
    }

    /// Why this case cannot run in `environment` (the first unmet requirement), or nil when it can.
    public func gate(_ environment: ExitCaseEnvironment) -> String? {
        for requirement in requirements {
            if let reason = requirement.unmet(in: environment, by: self) { return reason }
        }
        return nil
    }

    init(
        _ name: String, _ mode: GuestMode, cpl: Int = 0, body: Body, exitsTo: ExitTarget, mechanism: String,
        requires requirements: [Requirement] = []
    ) {
        self.name = name
        self.mode = mode
        self.cpl = cpl
        self.body = body
        self.exitsTo = exitsTo
        self.mechanism = mechanism
        self.requirements = requirements
    }
}

extension ExitCase {
    /// What the guest times (or, for `kvmRunFixed`, the host).
    enum Body: Sendable, Hashable {
        /// The empty loop, `batch` iterations per sample: how fast the guest executes at all.
        case null(batch: Int)
        /// The timing pair alone: the overhead every other sample includes.
        case rdtsc
        /// `mov eax, leaf; cpuid` with ECX = subleaf.
        case cpuid(leaf: UInt32, subleaf: UInt32)
        /// `mov eax, nr; vmcall` on Intel hosts, `vmmcall` on AMD ones.
        case hypercall
        /// `out CGUEST_PORT_USER, al`: KVM_EXIT_IO, resumed by the runner.
        case portOutUser
        /// `in al, CGUEST_PORT_USER`: KVM_EXIT_IO, completed by the runner.
        case portInUser
        /// `in al, 0x40`: the in-kernel PIT answers.
        case portInKernel
        /// A 32-bit store to an address no memory slot backs: KVM_EXIT_MMIO.
        case mmioWrite
        /// A 32-bit load from it: KVM_EXIT_MMIO, completed by the runner.
        case mmioRead
        /// `rdmsr` of `index`; to user space when the case exits there (KVM_EXIT_X86_RDMSR).
        case rdmsr(index: UInt32)
        /// `xor edx, edx; wrmsr` to `index`.
        case wrmsr(index: UInt32)
        /// `hlt` without an in-kernel irqchip: KVM_EXIT_HLT, resumed by the runner.
        case hlt
        /// `mov cr0, reg` with CR0's own value.
        case cr0Write
        /// `mov cr4, reg` with CR4's own value.
        case cr4Write
        /// A byte store to the next never-touched 4 KiB page.
        case firstTouch
        /// KVM_RUN with immediate_exit set, timed on the host.
        case kvmRunFixed
        /// The three-level guest's own SVM instruction, timed in the guest (svm64.S).
        case svm(SVMInstruction)
        /// Tests: `ud2`, an exception the payload reports.
        case undefinedOpcode
        /// Tests: `jmp .`, a loop that never ends.
        case spin
        /// Tests: `int3` with an IDT of limit 0 (long mode), a triple fault.
        case breakpointWithEmptyIDT

        /// Whether the guest takes the samples.
        var timedInGuest: Bool { self != .kvmRunFixed }

        /// The payload loop (CGUEST_LOOP_*) for this body on a host of `vendor`.
        func loop(vendor: ExitCaseEnvironment.Vendor) -> Int32 {
            switch self {
            case .null: CGUEST_LOOP_NULL
            case .rdtsc, .kvmRunFixed: CGUEST_LOOP_RDTSC
            case .cpuid: CGUEST_LOOP_CPUID
            case .hypercall: vendor == .intel ? CGUEST_LOOP_VMCALL : CGUEST_LOOP_VMMCALL
            case .portOutUser: CGUEST_LOOP_OUT_USER
            case .portInUser: CGUEST_LOOP_IN_USER
            case .portInKernel: CGUEST_LOOP_IN_KERNEL
            case .mmioWrite: CGUEST_LOOP_MMIO_WRITE
            case .mmioRead: CGUEST_LOOP_MMIO_READ
            case .rdmsr: CGUEST_LOOP_RDMSR
            case .wrmsr: CGUEST_LOOP_WRMSR
            case .hlt: CGUEST_LOOP_HLT
            case .cr0Write: CGUEST_LOOP_CR0_WRITE
            case .cr4Write: CGUEST_LOOP_CR4_WRITE
            case .firstTouch: CGUEST_LOOP_TOUCH
            case .undefinedOpcode: CGUEST_LOOP_UD2
            case .spin: CGUEST_LOOP_SPIN
            case .breakpointWithEmptyIDT: CGUEST_LOOP_INT3
            case .svm(let instruction): instruction.loop
            }
        }

        /// Loop iterations per sample: the batch for the null loop, 1 otherwise.
        var iterationsPerSample: Int {
            if case .null(let batch) = self { return batch }
            return 1
        }
    }

    /// The hypercall number the hypercall case passes in RAX: none that KVM knows, so KVM answers
    /// -KVM_ENOSYS and resumes the guest (arch/x86/kvm/x86.c, kvm_emulate_hypercall).
    static let unknownHypercall: UInt32 = 0xFFFF
}
