// What a three-level case's report says about the mini-hypervisor: the canaries at both levels, the
// intercepts it handled against those the loop had to cause — the proof that the guest's guest ran under
// it — how it stepped over instructions, and the #VMEXIT that stopped it, if one did. Part of the bench
// report (Reports/schema/bench-v1.schema.json, `guestHypervisor`).

/// The mini-hypervisor's side of one three-level case.
public struct GuestHypervisorFacts: Codable, Sendable, Equatable {
    /// "relay" (the loop ran in the guest's guest) or "own" (in the mini-hypervisor itself).
    public var role: String
    /// What CPUID 0x4000_0000 returned in the mini-hypervisor: this level's canary when this level's KVM
    /// runs it.
    public var guestSignature: String?
    /// What it returned in the guest's guest: the mini-hypervisor's canary when its intercept ran.
    public var innerSignature: String?
    /// Every #VMEXIT the mini-hypervisor took.
    public var exits: Int
    /// The intercepts it handled, by exit name ("VMEXIT_CPUID"), and how many the loop had to cause.
    public var intercepts: [String: Int]
    public var expectedIntercepts: [String: Int]
    /// How it stepped over an intercepted instruction: "nrip" (the VMCB's next RIP, where KVM offers NRIPS)
    /// or "length" (the known instruction lengths; port I/O always by EXITINFO2).
    public var resumedBy: String
    /// The #VMEXIT it stopped on (the guest's guest's triple fault, a failed VMRUN, an exit it does not
    /// handle); nil when it finished.
    public var stoppedBy: VMCBExit?

    public init(
        role: String, guestSignature: String?, innerSignature: String?, exits: Int, intercepts: [String: Int],
        expectedIntercepts: [String: Int], resumedBy: String, stoppedBy: VMCBExit? = nil
    ) {
        self.role = role
        self.guestSignature = guestSignature
        self.innerSignature = innerSignature
        self.exits = exits
        self.intercepts = intercepts
        self.expectedIntercepts = expectedIntercepts
        self.resumedBy = resumedBy
        self.stoppedBy = stoppedBy
    }

    /// Whether it handled exactly the intercepts the loop had to cause.
    public var handledEveryIntercept: Bool { intercepts == expectedIntercepts }
}

/// A #VMEXIT as the VMCB recorded it (APM vol. 2 §15.6, appendix C).
public struct VMCBExit: Codable, Sendable, Equatable {
    /// EXITCODE, signed: -1 is VMEXIT_INVALID.
    public var code: Int64
    /// Its name ("VMEXIT_SHUTDOWN").
    public var name: String
    /// EXITINFO1, EXITINFO2 and EXITINTINFO (the event being delivered when it happened, bit 31 = valid).
    public var exitInfo1: UInt64
    public var exitInfo2: UInt64
    public var exitIntInfo: UInt64
    /// The guest's guest's RIP, and the VMCB's nRIP (0 without NRIPS).
    public var guestRIP: UInt64
    public var nextRIP: UInt64

    public init(
        code: Int64, name: String, exitInfo1: UInt64, exitInfo2: UInt64, exitIntInfo: UInt64, guestRIP: UInt64,
        nextRIP: UInt64
    ) {
        self.code = code
        self.name = name
        self.exitInfo1 = exitInfo1
        self.exitInfo2 = exitInfo2
        self.exitIntInfo = exitIntInfo
        self.guestRIP = guestRIP
        self.nextRIP = nextRIP
    }
}
