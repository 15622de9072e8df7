// Cases that hang on some hosts (a hypercall at CPL0 under kvm_pvm: a long-mode guest never gets past it and
// KVM_RUN keeps running; a real-mode one takes #UD) are not ruled out by a module name. Before such a case's
// first run the runner runs it once with two iterations under a short watchdog; where that probe does not
// end by itself, or takes #UD, the case is skipped with the reason, and `--cases ID!` runs it anyway. The
// watchdog does end such a KVM_RUN: its signal interrupts kvm_pvm's loop like any guest code (HangProbeTests).

import Probe
import Synchronization

extension CaseRunner {
    /// How long the probe run of a case that may hang gets: far more than two iterations and the guest's
    /// setup need even when every instruction is emulated (a few milliseconds here), far less than a run.
    public static let defaultHangProbeTimeout: Duration = .milliseconds(150)

    /// Iterations of the probe run.
    static let hangProbeIterations = 2

    /// Why `exitCase` is skipped after its probe run did not end by itself, or took #UD (KVM does not take
    /// the instruction in this mode), or nil when it ended otherwise (a failure then shows in the real run).
    /// Probes once per case and runner; the caller holds the guest slot.
    func hangReason(_ exitCase: ExitCase) -> String? {
        guard let note = exitCase.hangNote else { return nil }
        if let known = hangProbes.answer(for: exitCase.id) { return known }
        let probe = runPinned(exitCase, counts: (Self.hangProbeIterations, 0), timeout: hangProbeTimeout)
        var reason: String?
        if case .failure(let failure) = probe.result {
            let force = "; --cases \(exitCase.id)! runs it anyway"
            if failure.kind == .timedOut {
                let milliseconds = hangProbeTimeout / .milliseconds(1)
                reason =
                    "hangs on this host: a probe run of \(Self.hangProbeIterations) iterations did not end within "
                    + "\(Int(milliseconds.rounded())) ms and the watchdog stopped it (\(note))" + force
            } else if failure.kind == .guestException, failure.reason.hasPrefix(Self.undefinedOpcodePrefix) {
                reason = "KVM raises #UD on it in this mode here (probe run: \(failure.reason); \(note))" + force
            }
        }
        hangProbes.record(reason, for: exitCase.id)
        return reason
    }

    /// How `exceptionFailure` starts the reason of a #UD.
    static let undefinedOpcodePrefix = "the guest took #UD "
}

/// The probe answers of one runner (and its copies): case id → the skip reason, or none when the probe ended.
final class HangProbes: Sendable {
    private let answers = Mutex<[String: String?]>([:])

    /// The recorded answer: nil when not probed yet, .some(nil) when the probe ended.
    func answer(for id: String) -> String?? {
        answers.withLock { $0[id] }
    }

    func record(_ reason: String?, for id: String) {
        answers.withLock { $0[id] = .some(reason) }
    }
}
