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
    /// Where they go under kvm_pvm instead, where that differs: a CPL3 `syscall` or page fault handled by the
    /// guest itself is no exit under VMX or SVM (with EPT/NPT), and one to kvm_pvm, which switches the guest
    /// to its CPL0 and shadows its page tables.
    public let exitsToUnderPVM: ExitTarget?
    /// The instruction or action timed, in words.
    public let mechanism: String
    /// What the guest executes.
    let body: Body
    /// What the host must offer for the case to run.
    let requirements: [Requirement]
    /// The opt-in set the case belongs to ("interrupts"), run only when `--cases` names it, the case, or
    /// `all`; nil for the default suite's cases.
    public internal(set) var optInSet: String? = nil
    /// Whether a bench without `--cases` runs it (false: only when named, or with `--cases all`).
    public let inDefaultSuite: Bool

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

    /// Why the case has no meaning in its mode or privilege level, when its row is only there to say so.
    var notInThisModeReason: String? {
        for case .notInThisMode(let reason) in requirements { return reason }
        return nil
    }

    /// Where the body's exits go in `environment`.
    public func exitsTo(in environment: ExitCaseEnvironment) -> ExitTarget {
        exitsTo(under: environment.module)
    }

    /// Where the body's exits go under `module`: `exitsToUnderPVM` under kvm_pvm where set, else `exitsTo`
    /// (also for an unknown module).
    public func exitsTo(under module: ExitCaseEnvironment.Module) -> ExitTarget {
        module == .kvmPVM ? exitsToUnderPVM ?? exitsTo : exitsTo
    }

    /// Why this case cannot run in `environment` (the first unmet requirement), or nil when it can.
    public func gate(_ environment: ExitCaseEnvironment) -> String? {
        for requirement in requirements {
            if let reason = requirement.unmet(in: environment, by: self) { return reason }
        }
        return nil
    }

    init(
        _ name: String, _ mode: GuestMode, cpl: Int = 0, body: Body, exitsTo: ExitTarget,
        exitsToUnderPVM: ExitTarget? = nil, mechanism: String, requires requirements: [Requirement] = [],
        inDefaultSuite: Bool = true
    ) {
        self.name = name
        self.mode = mode
        self.cpl = cpl
        self.body = body
        self.exitsTo = exitsTo
        self.exitsToUnderPVM = exitsToUnderPVM
        self.mechanism = mechanism
        self.requirements = requirements
        self.inDefaultSuite = inDefaultSuite
    }
}

extension ExitCase {
    /// What a case's guest runs and what the runner does about it, all in one value: the payload loop (by its
    /// name in CGuestLoops.h), the operands the loop reads from the mailbox, what the VM must have, the exits
    /// the body causes in user space on purpose and how the runner completes them, and the #VMEXIT it causes
    /// in the three-level guest. The catalogue's bodies are in ExitCase+Bodies.swift; a new case declares its
    /// own beside its rows.
    struct Body: Sendable, Hashable {
        /// The loop's name in CGuestLoops.h (on AMD hosts and in the guest's guest, where they differ).
        var loop: String
        /// The loop on Intel hosts, where it differs (vmcall for vmmcall).
        var intelLoop: String? = nil
        /// The mailbox's OPERAND_A and OPERAND_B (CPUID leaf and subleaf, MSR index, hypercall number, batch).
        var operandA: UInt32 = 0
        var operandB: UInt32 = 0
        /// Loop iterations per sample: the null loop's batch, 1 otherwise.
        var iterationsPerSample = 1
        /// The address the body accesses.
        var target: Target = .none
        /// What the VM must have besides long mode's or real mode's usual setup.
        var needs: Set<Need> = []
        /// The exit to user space the body causes on purpose, which the runner completes and resumes; nil
        /// when it causes none there.
        var completion: Completion? = nil
        /// The #VMEXIT the body causes in the guest's guest (or, for vmrun, in the mini-hypervisor's bounce
        /// guest), which the mini-hypervisor answers and counts; nil when it causes none.
        var intercept: SVMInterception? = nil
        /// Interrupts the guest's APIC handlers must take per iteration, warm-up included (0 or 1); the runner
        /// checks the handlers' count.
        var interruptsPerIteration = 0
        /// Whether the guest takes the samples (false: the host, around KVM_RUN).
        var timedInGuest = true
        /// Where an exception in the loop means that the host does not offer the instruction's resource (an
        /// RDPMC counter without a virtual PMU): why, and the case is then skipped with it; nil: a fault fails.
        var faultMeansUnavailable: String? = nil

        /// Where the body's memory access goes; the runner fills the mailbox's ADDRESS and SEGMENT with it.
        enum Target: Sendable, Hashable {
            case none
            /// An address no memory slot backs (GuestLayout.mmioAddress): KVM_EXIT_MMIO.
            case mmio
            /// The first-touch region, one fresh page per iteration.
            case firstTouch
            /// An address long mode's page tables do not map (GuestLayout.unmappedAddress): a guest #PF.
            case unmapped
        }

        /// What the VM must have for the body.
        enum Need: Sendable, Hashable {
            /// KVM's in-kernel irqchip and i8254 PIT (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2).
            case inKernelPIT
            /// An IDT of limit 0, so that the first exception is a triple fault (tests).
            case emptyIDT
            /// KVM's in-kernel irqchip (KVM_CREATE_IRQCHIP: a local APIC per vCPU) and x2APIC and the
            /// TSC-deadline timer in the guest's CPUID.
            case localAPIC
            /// CR4 bits set before the guest starts (CR4.OSXSAVE for XSETBV, CR4.PCE for RDPMC at CPL3).
            case cr4(UInt64)
            /// A KVM_IOEVENTFD registration on the body's own address (GuestPort.user for a port, the MMIO
            /// address for MMIO) with an eventfd: each write completes in the kernel and is counted there.
            case ioEventFD(VirtualMachine.IOSpace)
            /// A second vCPU (APIC ID 1) started at long64.S's AP entry (CGUEST_LONG64_AP_OFFSET) with
            /// KVM_SET_MP_STATE runnable, run on a thread of its own until the case ends (the cross-vCPU
            /// IPI cases; needs `localAPIC` too).
            case secondVCPU
            /// RFLAGS.IOPL = 3 from the first instruction on, so that CPL3 may use `in` and `out`.
            case iopl3
        }

        /// An exit to user space the body causes on purpose, and how the runner answers it.
        enum Completion: Sendable, Hashable {
            /// KVM_EXIT_IO, an `out` to `port`: resumed.
            case portOut(UInt16)
            /// KVM_EXIT_IO, an `in` from `port`: completed with zeros.
            case portIn(UInt16)
            /// KVM_EXIT_MMIO, a write to GuestLayout.mmioAddress: resumed.
            case mmioWrite
            /// KVM_EXIT_MMIO, a read from it: completed with zeros.
            case mmioRead
            /// KVM_EXIT_HLT: resumed.
            case hlt
            /// KVM_EXIT_X86_RDMSR of `index`, where the case exits to user space: completed with 0.
            case msrRead(UInt32)
        }

        /// The payload loop number (CGuestLoops.h) for this body in `mode` on a host of `vendor`; -1 when no
        /// list of that mode's payload has it (the guest then reports #UD; ExitCaseCatalogueTests keeps
        /// every case's loop in its list).
        func loop(vendor: ExitCaseEnvironment.Vendor, mode: GuestMode) -> Int32 {
            let name = vendor == .intel && mode != .svmInner ? intelLoop ?? loop : loop
            return GuestLoop.number(of: name, in: GuestLoop.List(mode)) ?? -1
        }
    }

    /// The hypercall number the hypercall case passes in RAX: none that KVM knows, so KVM answers
    /// -KVM_ENOSYS and resumes the guest (arch/x86/kvm/x86.c, kvm_emulate_hypercall).
    static let unknownHypercall: UInt32 = 0xFFFF
}
