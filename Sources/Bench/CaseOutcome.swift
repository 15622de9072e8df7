// CaseOutcome: what running one exit case in a tiny guest produced — the raw per-exit samples and
// everything needed to say what they measure. The runner (CaseRunner) produces it; the suite, the
// statistics and the report consume it.

import Probe

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
