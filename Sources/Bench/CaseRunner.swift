// CaseRunner: runs one exit case — a fresh VM with the case's guest, one vCPU on a pinned thread, the
// KVM_RUN loop until the guest says done (or faults, or the watchdog stops it) — and returns its samples as
// a CaseOutcome. One guest runs at a time in the whole process: on kvm_pvm a guest spinning inside KVM_RUN
// keeps its CPU, and two of them on a 2-CPU machine could starve the watchdog meant to stop them.

import KVM
import Probe

/// Runs exit cases on one host's /dev/kvm.
public struct CaseRunner: Sendable {
    /// The KVM device every run opens.
    public let devicePath: String
    /// What the gates and the runner know about the host.
    public let environment: ExitCaseEnvironment

    /// How long the probe run of a case that may hang gets (CaseRunner+HangProbe.swift).
    public var hangProbeTimeout = CaseRunner.defaultHangProbeTimeout

    /// The answers of the hang probes so far, shared by copies of this runner.
    let hangProbes = HangProbes()

    /// A busy-wait of this many TSC cycles in this process's handling of every user-space exit a case causes
    /// (PIO, MMIO, MSR, HLT), before the guest is resumed: `bench --inject-exit-delay`, a slowdown of known
    /// size for checking that compare catches one. In-kernel exits are untouched. 0: none.
    public var injectedExitDelayCycles: UInt64 = 0

    /// How often KVM_RUN is tried again after EAGAIN (a process limit; CaseRunner+Retry.swift).
    public var againPolicy = AgainPolicy.standard

    /// How long a run may take before its watchdog stops the guest, unless the caller says otherwise.
    public static let defaultTimeout: Duration = .seconds(2)

    /// The cases every host gets (`ExitCase.catalogue`).
    public static var catalogue: [ExitCase] { ExitCase.catalogue }

    /// A runner for the KVM at `devicePath`, with the environment read from this host. Throws when the device
    /// cannot be opened.
    public init(devicePath: String = KVMDevice.defaultPath) throws(KVMError) {
        self.init(devicePath: devicePath, environment: try ExitCaseEnvironment.detect(devicePath: devicePath))
    }

    /// A runner with a given environment (tests).
    public init(devicePath: String, environment: ExitCaseEnvironment) {
        self.devicePath = devicePath
        self.environment = environment
    }

    /// Runs `exitCase` once: `warmup` iterations, then `iterations` samples (capped by the mode's sample
    /// buffer — 16 Ki in real mode, 144 Ki in long mode — and, for first touch in real mode, by the 128
    /// fresh pages below 640 KiB, a quarter of them at most for the warm-up). The watchdog stops the guest
    /// after `timeout`. A case that may hang here is probed first (`hangReason`) and skipped if the probe did
    /// not end, unless `forced`. With `baseline`, a case timed in the guest first runs the rdtsc loop of its
    /// mode and privilege in the same guest, with the same counts (`CaseOutcome.baselineCycles`). Never
    /// throws: a gate, a fault or a KVM error is the outcome's failure.
    public func run(
        _ exitCase: ExitCase, iterations: Int, warmup: Int, timeout: Duration = CaseRunner.defaultTimeout,
        forced: Bool = false, baseline: Bool = false
    ) -> CaseOutcome {
        let notRun = CaseFailure(kind: .skipped, reason: "not run")
        var outcome = CaseOutcome(
            caseID: exitCase.id, mode: exitCase.mode, cpl: exitCase.cpl, exitsTo: exitCase.exitsTo(in: environment),
            attribution: .notApplicable, mechanism: mechanism(of: exitCase), result: .failure(notRun),
            wallNanoseconds: 0)
        if let reason = exitCase.gate(environment) {
            outcome.result = .failure(CaseFailure(kind: .skipped, reason: reason))
            return outcome
        }
        if !forced, let reason = GuestExclusivity.withSlot({ hangReason(exitCase) }) {
            outcome.result = .failure(CaseFailure(kind: .skipped, reason: reason))
            return outcome
        }
        let counts = Self.sampleCounts(exitCase, iterations: iterations, warmup: warmup)
        let (run, wall) = GuestExclusivity.withSlot {
            let start = HostTimer.monotonicNanoseconds()
            let run = runPinned(exitCase, counts: counts, timeout: timeout, baseline: baseline ? counts : nil)
            return (run, HostTimer.monotonicNanoseconds() - start)
        }
        outcome.result = run.result
        if case .failure(let failure) = run.result, failure.kind == .guestException,
            let unavailable = exitCase.body.faultMeansUnavailable
        {
            outcome.result = .failure(CaseFailure(kind: .skipped, reason: "\(unavailable): \(failure.reason)"))
        }
        outcome.baselineCycles = run.baselineCycles
        outcome.guestSignature = run.signature
        if exitCase.body.loop == ExitCase.Body.cpuidLoop, let signature = run.signatureRegisters {
            outcome.attribution = CPUIDCanary.attribute(seen: signature, host: environment.hostHypervisorRegisters)
            if outcome.attribution == .levelBelow { outcome.exitsTo = .levelBelow }
        }
        // The three-level runner says itself who handled the exits (NestedSVM+Runner.swift).
        if let attribution = run.attribution { outcome.attribution = attribution }
        if let exitsTo = run.exitsTo { outcome.exitsTo = exitsTo }
        outcome.guestHypervisor = run.guestHypervisor
        outcome.wallNanoseconds = wall
        return outcome
    }

    /// Runs the case on this thread, pinned to the CPU it is on, and gives the thread its affinity back.
    func runPinned(
        _ exitCase: ExitCase, counts: (iterations: Int, warmup: Int), timeout: Duration,
        baseline: (iterations: Int, warmup: Int)? = nil
    ) -> GuestRun {
        let pinned = CPUAffinity.pinToCurrentCPU()
        defer { if let pinned { CPUAffinity.restore(pinned) } }
        do {
            if exitCase.mode.isNestedSVM {
                return try runNestedSVM(exitCase, counts: counts, timeout: timeout, pinnedCPU: pinned?.cpu)
            }
            return exitCase.timedInGuest
                ? try runInGuest(
                    exitCase, counts: counts, timeout: timeout, pinnedCPU: pinned?.cpu, baseline: baseline)
                : try runOnHost(exitCase, counts: counts, timeout: timeout, pinnedCPU: pinned?.cpu)
        } catch {
            return GuestRun(result: .failure(Self.failure(for: error)))
        }
    }

    /// The iterations and warm-up a run really does for what was asked.
    static func sampleCounts(_ exitCase: ExitCase, iterations: Int, warmup: Int) -> (iterations: Int, warmup: Int) {
        var iterations = max(1, min(iterations, GuestLayout.sampleCapacity(exitCase.mode)))
        var warmup = max(0, min(warmup, Int(Int32.max)))
        if exitCase.body.target == .firstTouch {
            let pages = GuestLayout.touchRegion(exitCase.mode).maximumPages
            warmup = min(warmup, pages / 4)
            iterations = min(iterations, pages - warmup)
        }
        return (iterations, warmup)
    }

    /// The mechanism as run here: the hypercall case names the instruction this host's vendor gets.
    func mechanism(of exitCase: ExitCase) -> String {
        // The three-level hypercall is always vmmcall, and the mini-hypervisor's to answer.
        guard exitCase.body == .hypercall, !exitCase.mode.isNestedSVM else { return exitCase.mechanism }
        let instruction = environment.vendor == .intel ? "vmcall" : "vmmcall"
        return "mov eax, 0xffff; \(instruction): an unknown hypercall, KVM returns -ENOSYS"
    }
}

/// What one run produced, before it becomes a CaseOutcome.
struct GuestRun {
    var result: Result<CaseSamples, CaseFailure>
    /// EBX, ECX, EDX of the guest's canary CPUID, if it got that far.
    var signatureRegisters: [UInt32]? = nil
    /// Who handled the exits and where they went, when the runner knows better than the case's gate
    /// (the three-level cases); nil keeps the case's own.
    var attribution: Attribution? = nil
    var exitsTo: ExitTarget? = nil
    /// What the three-level guest's mini-hypervisor saw and handled.
    var guestHypervisor: GuestHypervisorFacts? = nil

    /// The samples of the baseline timed in the same guest just before the case, when asked for.
    var baselineCycles: [UInt64]? = nil

    /// The canary registers as text.
    var signature: String? { signatureRegisters.map(CPUIDCanary.text) }
}
