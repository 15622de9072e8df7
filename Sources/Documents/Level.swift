// The levels of the hypervisor stack a diagnosis estimates and a policy names: L0, L1 and L2 or deeper.

/// A virtualization level.
public enum Level: String, Codable, Sendable, CaseIterable {
    case l0 = "L0"
    case l1 = "L1"
    case l2OrDeeper = "L2+"

    /// The level in words.
    public var words: String {
        switch self {
        case .l0: return "L0 (bare metal)"
        case .l1: return "L1 (a VM on bare metal)"
        case .l2OrDeeper: return "L2 or deeper (a nested VM)"
        }
    }
}
