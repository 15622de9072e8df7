// CaseOutcome: what running one exit case in a tiny guest produced — the raw per-exit samples and
// everything needed to say what they measure. The runner (CaseRunner) produces it; the suite, the
// statistics and the report consume it.

import Probe

/// Where an exit is handled.
public enum ExitTarget: String, Codable, Sendable {
    /// Handled inside the kernel's KVM (cpuid, hypercall, in-kernel MSRs and devices, page faults).
    case kernel
    /// Handled by this process, the VMM (port I/O and MMIO to user space, user-space MSRs, HLT without
    /// an in-kernel irqchip).
    case userSpace = "user-space"
    /// No exit: a baseline (null loop, rdtsc).
    case none
    /// Answered by the hypervisor below this level, not by this level's KVM (kvm_pvm at CPL3).
    case levelBelow = "level-below"
    /// Intercepted by the guest's own hypervisor (the three-level cases' mini-hypervisor), one level up.
    case guestHypervisor = "guest-hypervisor"
}

/// The guest's execution mode.
public enum GuestMode: String, Codable, Sendable {
    case real = "real"
    case long64 = "long64"
    /// The guest's guest: long mode at CPL0 under the three-level guest's mini-hypervisor (NestedSVM.swift).
    case svmInner = "svm-inner"
    /// The three-level guest itself, long mode at CPL0, timing its own SVM instructions.
    case svmHypervisor = "svm-hv"
}

/// Who answered a CPUID the guest executed, told by a canary leaf set through KVM_SET_CPUID2.
public enum Attribution: String, Codable, Sendable {
    /// The canary came back: this level's KVM answered.
    case thisLevel = "this-level"
    /// The host's own values came back: the hypervisor below answered (kvm_pvm at CPL3).
    case levelBelow = "level-below"
    /// The guest's guest got the mini-hypervisor's canary, and the mini-hypervisor handled every intercept.
    case guestHypervisor = "guest-hypervisor"
    /// The case does not execute CPUID, or the canary check was not possible.
    case notApplicable = "not-applicable"
}

/// Why a case did not produce samples.
public struct CaseFailure: Codable, Sendable, Equatable, Error {
    public enum Kind: String, Codable, Sendable {
        /// Not run, by its validity gate (wrong vendor, capability missing, known to hang here).
        case skipped
        /// The watchdog stopped the guest.
        case timedOut = "timed-out"
        /// KVM_EXIT_SHUTDOWN.
        case tripleFault = "triple-fault"
        /// KVM_EXIT_FAIL_ENTRY.
        case entryFailed = "entry-failed"
        /// KVM_EXIT_INTERNAL_ERROR.
        case internalError = "internal-error"
        /// The guest took an exception its payload reports (vector, error code, RIP).
        case guestException = "guest-exception"
        /// An exit the run loop did not expect, or a KVM ioctl failure.
        case unexpected
    }

    public var kind: Kind
    /// One line a person can act on.
    public var reason: String
    /// The KVM exit that ended the run, if any ("KVM_EXIT_SHUTDOWN").
    public var exitReason: String?
    /// The guest RIP when it stopped, if read.
    public var guestRIP: UInt64?

    public init(kind: Kind, reason: String, exitReason: String? = nil, guestRIP: UInt64? = nil) {
        self.kind = kind
        self.reason = reason
        self.exitReason = exitReason
        self.guestRIP = guestRIP
    }
}

/// The samples of one case, as the guest (or the host, for host-timed cases) took them.
public struct CaseSamples: Sendable, Equatable {
    /// One value per exit (or per fixed batch), TSC cycles between fenced reads, warm-up excluded.
    public var cycles: [UInt64]
    /// Exits per sample (1, or the batch size when exits are timed in batches).
    public var exitsPerSample: Int
    /// Iterations run and discarded before sampling.
    public var warmup: Int
    /// Whether the guest took them (true) or the host around KVM_RUN (false).
    public var timedInGuest: Bool
    /// The host CPU the vCPU thread was pinned to while they were taken; nil when pinning was refused.
    public var pinnedCPU: Int?
    /// Whether each timed region ended with `rdtscp; lfence` (true) or `lfence; rdtsc` (false).
    public var endedWithRDTSCP: Bool

    public init(
        cycles: [UInt64], exitsPerSample: Int, warmup: Int, timedInGuest: Bool, pinnedCPU: Int? = nil,
        endedWithRDTSCP: Bool = false
    ) {
        self.cycles = cycles
        self.exitsPerSample = exitsPerSample
        self.warmup = warmup
        self.timedInGuest = timedInGuest
        self.pinnedCPU = pinnedCPU
        self.endedWithRDTSCP = endedWithRDTSCP
    }
}

/// The result of one case run.
public struct CaseOutcome: Sendable {
    public var caseID: String
    public var mode: GuestMode
    /// The guest's privilege level while it ran the loop.
    public var cpl: Int
    /// Where the exits went, as observed (a CPUID answered below says `.levelBelow`).
    public var exitsTo: ExitTarget
    public var attribution: Attribution
    /// The instruction or action under test, in words ("cpuid leaf 0", "out 0x510, al").
    public var mechanism: String
    public var result: Result<CaseSamples, CaseFailure>
    /// Guest run wall time, nanoseconds, for progress and budget.
    public var wallNanoseconds: UInt64
    /// What CPUID 0x4000_0000 returned in the guest (EBX, ECX, EDX as text), run once before the loop at the
    /// loop's CPL: the canary when this level's KVM answered, the level below's signature otherwise. Nil
    /// when the guest did not get that far, or did not run (skipped, host-timed).
    public var guestSignature: String?
    /// Three-level cases: what the mini-hypervisor saw and handled (NestedSVM+Report.swift); nil otherwise.
    public var guestHypervisor: GuestHypervisorFacts?
    /// The samples of the timing baseline (the rdtsc loop of the same mode and privilege) timed in the same
    /// guest just before the case, when the run was asked for one.
    public var baselineCycles: [UInt64]? = nil

    public init(
        caseID: String, mode: GuestMode, cpl: Int, exitsTo: ExitTarget, attribution: Attribution, mechanism: String,
        result: Result<CaseSamples, CaseFailure>, wallNanoseconds: UInt64, guestSignature: String? = nil,
        guestHypervisor: GuestHypervisorFacts? = nil
    ) {
        self.caseID = caseID
        self.mode = mode
        self.cpl = cpl
        self.exitsTo = exitsTo
        self.attribution = attribution
        self.mechanism = mechanism
        self.result = result
        self.wallNanoseconds = wallNanoseconds
        self.guestSignature = guestSignature
        self.guestHypervisor = guestHypervisor
    }
}
