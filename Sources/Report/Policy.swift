// Policy: what a machine must show to qualify — its level, whether KVM is usable here and nesting is
// offered to guests, which hypervisors and hosting mechanisms are acceptable, and limits on the exit
// latencies of this level and of its guests. A versioned JSON document (Reports/schema/policy-v1.schema.json,
// docs/policy.md); decoding is strict (Policy+Decoding.swift), evaluation is in Qualify+Evaluate.swift.

import Documents

/// A qualification policy.
public struct Policy: Sendable, Equatable {
    public static let schemaID = "nestprobe.policy"
    public static let currentVersion = 1

    /// A short name, shown in the output and used as the JUnit suite name.
    public var name: String
    /// What the policy is for, in words.
    public var description: String?
    public var rules: PolicyRules

    public init(name: String, description: String? = nil, rules: PolicyRules) {
        self.name = name
        self.description = description
        self.rules = rules
    }
}

/// The rules of a policy; each one that is present is checked, each one that is absent is not.
public struct PolicyRules: Sendable, Equatable {
    /// The level this machine must be at.
    public var level: LevelRule?
    /// Whether this level must be able to run KVM guests (the report's `canHost` is "yes").
    public var kvmUsable: Bool?
    /// Whether the guests started here must be offered VMX or SVM (the report's `guestsCanHost` is "yes").
    public var nestingOffered: Bool?
    /// Which hypervisors may be below this level, by the names CPUID gives them.
    public var hypervisors: NameRule?
    /// Which hosting mechanisms are acceptable (VMX, SVM, PVM, none).
    public var mechanism: NameRule?
    /// Cases that must have run (status ok).
    public var requireCases: [String]
    /// Whether a case the bench skipped (with its reason) counts as skipped rather than failed.
    public var allowSkipped: Bool
    /// Limits on the statistics of a case, by case id.
    public var cases: [String: CaseLimits]
    /// Limits on the multiplier (guest level over this level) of a table row, by case id.
    public var multipliers: [String: MultiplierLimit]

    public init(
        level: LevelRule? = nil, kvmUsable: Bool? = nil, nestingOffered: Bool? = nil, hypervisors: NameRule? = nil,
        mechanism: NameRule? = nil, requireCases: [String] = [], allowSkipped: Bool = false,
        cases: [String: CaseLimits] = [:], multipliers: [String: MultiplierLimit] = [:]
    ) {
        self.level = level
        self.kvmUsable = kvmUsable
        self.nestingOffered = nestingOffered
        self.hypervisors = hypervisors
        self.mechanism = mechanism
        self.requireCases = requireCases
        self.allowSkipped = allowSkipped
        self.cases = cases
        self.multipliers = multipliers
    }

    /// Whether the policy checks nothing at all.
    public var isEmpty: Bool {
        level == nil && kvmUsable == nil && nestingOffered == nil && hypervisors == nil && mechanism == nil
            && requireCases.isEmpty && cases.isEmpty && multipliers.isEmpty
    }
}

/// Bounds on the level, taken from the estimate or from what definitive evidence proves.
public struct LevelRule: Sendable, Equatable {
    /// Which of the report's two levels is compared.
    public enum Basis: String, Sendable, Equatable, CaseIterable {
        /// The probe's most likely level (`context.level`).
        case estimate
        /// The level definitive evidence proves at least (`context.levelLowerBound`); lenient for `max`.
        case lowerBound
    }

    public var min: Level?
    public var max: Level?
    public var by: Basis

    public init(min: Level? = nil, max: Level? = nil, by: Basis = .estimate) {
        self.min = min
        self.max = max
        self.by = by
    }
}

/// An allow list or a deny list of names.
public enum NameRule: Sendable, Equatable {
    /// Every name seen must be on the list (an empty list allows none).
    case allow([String])
    /// No name seen may be on the list.
    case deny([String])
}

/// One statistic a case limit can bound.
public enum CaseMetric: String, Sendable, Equatable, CaseIterable, Comparable {
    case netMedianCycles, p50Cycles, p90Cycles, p99Cycles
    case netMedianNanoseconds, p50Nanoseconds, p90Nanoseconds, p99Nanoseconds

    /// The unit the limit is in.
    public var unit: String {
        switch self {
        case .p50Cycles, .p90Cycles, .p99Cycles, .netMedianCycles: return "cycles"
        case .p50Nanoseconds, .p90Nanoseconds, .p99Nanoseconds, .netMedianNanoseconds: return "ns"
        }
    }

    /// The statistic in words.
    public var words: String {
        switch self {
        case .p50Cycles, .p50Nanoseconds: return "median"
        case .p90Cycles, .p90Nanoseconds: return "p90"
        case .p99Cycles, .p99Nanoseconds: return "p99"
        case .netMedianCycles, .netMedianNanoseconds: return "net median per exit"
        }
    }

    public static func < (a: CaseMetric, b: CaseMetric) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Pairs of metrics in the same unit whose limits must not be inverted (p50 ≤ p90 ≤ p99).
    static let ordered: [(CaseMetric, CaseMetric)] = [
        (.p50Cycles, .p90Cycles), (.p90Cycles, .p99Cycles), (.p50Cycles, .p99Cycles),
        (.p50Nanoseconds, .p90Nanoseconds), (.p90Nanoseconds, .p99Nanoseconds), (.p50Nanoseconds, .p99Nanoseconds),
    ]
}

/// Limits on one case's statistics.
public struct CaseLimits: Sendable, Equatable {
    /// Upper limits: the measured statistic must be at most this.
    public var limits: [CaseMetric: Double]
    /// Overrides the policy's `allowSkipped` for this case.
    public var allowSkipped: Bool?

    public init(_ limits: [CaseMetric: Double], allowSkipped: Bool? = nil) {
        self.limits = limits
        self.allowSkipped = allowSkipped
    }
}

/// A limit on a table row's multiplier (guest level's net cycles over this level's).
public struct MultiplierLimit: Sendable, Equatable {
    public var max: Double
    /// Overrides the policy's `allowSkipped` for this row.
    public var allowSkipped: Bool?

    public init(max: Double, allowSkipped: Bool? = nil) {
        self.max = max
        self.allowSkipped = allowSkipped
    }
}

extension Level {
    /// The depth for comparisons: L0 < L1 < L2+.
    var depth: Int {
        switch self {
        case .l0: return 0
        case .l1: return 1
        case .l2OrDeeper: return 2
        }
    }
}
