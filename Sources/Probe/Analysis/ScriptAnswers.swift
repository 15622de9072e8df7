// ScriptAnswers: the diagnosis as one word (`diagnose --print FIELD`) or as a yes/no/unknown answer for an
// exit code (`diagnose --check QUESTION`), for scripts that would otherwise parse the text, as
// systemd-detect-virt's users do. An answer the snapshot cannot support is "unknown", never "no".

/// A field `diagnose --print` prints as one word.
public enum DiagnosisField: String, CaseIterable, Sendable {
    /// L0, L1, L2+, or undetermined.
    case level
    /// The hypervisor below (`HypervisorIdentity.word`): none, kvm, xen, microsoft, ..., unknown.
    case hypervisor
    /// The level's confidence, 0.00–0.99.
    case confidence
    /// The container kind (docker, lxc, linux-vserver, ...), none, or unknown.
    case container
    /// yes, no or unknown: can this level run KVM guests?
    case canHost = "can-host"
    /// yes, no or unknown: would those guests be offered VMX or SVM?
    case guestsCanHost = "guests-can-host"
    /// vmx, svm, pvm or none: how KVM runs guests here.
    case mechanism

    /// The one-word answer.
    public func answer(_ d: Diagnosis) -> String {
        switch self {
        case .level: return d.level.undetermined ? "undetermined" : d.level.level.rawValue
        case .hypervisor: return d.identity.word
        case .confidence:
            return d.level.undetermined ? "undetermined" : String(format2: d.level.confidence)
        case .container:
            if let container = d.platform.container { return container.kind }
            return d.platform.containerChecked ? "none" : "unknown"
        case .canHost: return d.hosting.canHost.rawValue
        case .guestsCanHost: return d.hosting.guestsCanHost.rawValue
        case .mechanism: return d.hosting.mechanism.rawValue.lowercased()
        }
    }
}

/// A question `diagnose --check` answers with its exit code alone.
public enum DiagnosisQuestion: String, CaseIterable, Sendable {
    /// Does this OS run in a VM (level L1 or deeper)?
    case vm
    /// Does it run on bare metal (L0, a root domain included)?
    case bareMetal = "bare-metal"
    /// Does it run in a nested VM (L2 or deeper)?
    case nested
    /// Does it run in a container?
    case container
    /// Can this level run KVM guests?
    case canHost = "can-host"
    /// Would its guests be offered VMX or SVM?
    case guestsCanHost = "guests-can-host"

    /// yes, no, or unknown when the snapshot does not hold what the answer needs (or the evidence ties).
    public func answer(_ d: Diagnosis) -> Verdict {
        let level = d.level
        switch self {
        case .vm:
            if level.lowerBound != .l0 { return .yes }
            if level.undetermined { return .unknown }
            return level.level == .l0 ? .no : .yes
        case .bareMetal:
            if level.lowerBound != .l0 { return .no }
            if level.undetermined { return .unknown }
            return level.level == .l0 ? .yes : .no
        case .nested:
            if level.lowerBound == .l2OrDeeper { return .yes }
            if level.undetermined { return (level.probabilities[Level.l2OrDeeper.rawValue] ?? 0) > 0 ? .unknown : .no }
            return level.level == .l2OrDeeper ? .yes : .no
        case .container:
            if d.platform.container != nil { return .yes }
            return d.platform.containerChecked ? .no : .unknown
        case .canHost: return d.hosting.canHost
        case .guestsCanHost: return d.hosting.guestsCanHost
        }
    }
}

extension String {
    /// A number with two decimals ("0.97"), without Foundation.
    init(format2 value: Double) {
        let hundredths = CheckedNumber.clamped(value * 100, to: 0...100)
        self = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}
