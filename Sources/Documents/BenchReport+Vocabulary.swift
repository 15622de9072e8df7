// The words a bench report uses for a case: where its exit goes, the guest mode, who answered its CPUID,
// and why it produced no samples. Bench's runner produces them; reports, policies and renderers read them.

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
