// Strict decoding of a policy: an unknown key anywhere, a value of the wrong type, an unknown level,
// hypervisor, mechanism or case, and a limit that cannot be meant (zero, negative, a median limit above
// the tail limit, a minimum level above the maximum) are each a DecodingError whose coding path names the
// field, so DocumentFile.describe turns it into "rules.cases.cpuid-0/real.p50Cyles: unknown key …".

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

/// Any key of a JSON object, so that every key present can be checked against the known ones.
struct PolicyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// What decoding checks names against. The case ids come from the caller (the CLI passes this build's
/// catalogue, Bench's `ExitCase.catalogue`), so that Report needs only the documents.
public struct PolicyVocabulary: Sendable {
    /// Case ids a limit or requirement may name: the catalogue's and this level's own.
    public var caseIDs: Set<String>

    /// The vocabulary of a build whose exit cases have `caseIDs`.
    public init(caseIDs: some Sequence<String>) {
        self.caseIDs = Set(caseIDs).union(Self.thisLevelIDs)
    }

    /// This level's own measurements (BenchReport.hostLevel); the bench names its only one "cpuid-0/host".
    static let thisLevelIDs = ["cpuid-0/host"]

    /// Where `Policy.init(from:)` finds the vocabulary among the decoder's user info.
    static let userInfoKey = CodingUserInfoKey(rawValue: "nestprobe.policy-vocabulary")!

    /// Hypervisor names as CPUID gives them (Probe's HypervisorKind).
    static let hypervisors = HypervisorKind.allCases.map(\.rawValue)
    static let mechanisms = ["VMX", "SVM", "PVM", "none"]
    static let levels = Level.allCases.map(\.rawValue)
}

typealias PolicyContainer = KeyedDecodingContainer<PolicyKey>

extension PolicyContainer {
    /// Throws for the first key that is not one of `known`, with a suggestion when one is close.
    func rejectUnknownKeys(_ known: [String]) throws {
        for key in allKeys where !known.contains(key.stringValue) {
            let hint =
                PolicyContainer.closest(key.stringValue, in: known).map { "; did you mean \"\($0)\"?" }
                ?? " (known keys: \(known.joined(separator: ", ")))"
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath + [key], debugDescription: "unknown key\(hint)"))
        }
    }

    /// A value of type T under `key`, with a plain-words message when the JSON holds another type.
    func value<T: Decodable>(_ type: T.Type, _ key: String, expected: String) throws -> T? {
        let codingKey = PolicyKey(key)
        guard contains(codingKey) else { return nil }
        do {
            if try decodeNil(forKey: codingKey) { throw typeMismatch(key, expected: expected) }
            return try decode(T.self, forKey: codingKey)
        } catch DecodingError.typeMismatch {
            throw typeMismatch(key, expected: expected)
        }
    }

    func required<T: Decodable>(_ type: T.Type, _ key: String, expected: String) throws -> T {
        guard let value = try value(type, key, expected: expected) else {
            throw DecodingError.keyNotFound(
                PolicyKey(key),
                DecodingError.Context(codingPath: codingPath, debugDescription: "required field missing"))
        }
        return value
    }

    /// A nested object under `key`, as a container of its own keys.
    func object(_ key: String) throws -> PolicyContainer? {
        let codingKey = PolicyKey(key)
        guard contains(codingKey) else { return nil }
        do {
            return try nestedContainer(keyedBy: PolicyKey.self, forKey: codingKey)
        } catch DecodingError.typeMismatch {
            throw typeMismatch(key, expected: "an object")
        } catch DecodingError.valueNotFound {
            throw typeMismatch(key, expected: "an object")
        }
    }

    func typeMismatch(_ key: String, expected: String) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(codingPath: codingPath + [PolicyKey(key)], debugDescription: "expected \(expected)"))
    }

    func invalid(_ key: String?, _ message: String) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: codingPath + (key.map { [PolicyKey($0)] } ?? []), debugDescription: message))
    }

    /// A limit: a finite number above zero.
    func limit(_ key: String) throws -> Double? {
        guard let number = try value(Double.self, key, expected: "a number") else { return nil }
        guard number.isFinite, number > 0 else {
            throw invalid(key, "\(PolicyText.number(number)) is not a usable limit (it must be above zero)")
        }
        return number
    }

    /// The known key nearest to `key` (case aside, or at most two edits away), if any.
    static func closest(_ key: String, in known: [String]) -> String? {
        if let same = known.first(where: { $0.lowercased() == key.lowercased() }) { return same }
        let scored = known.map { ($0, editDistance(Array(key.lowercased()), Array($0.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return nil }
        return best.0
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        // Policy keys are short; a key from a hostile file is compared only if it is short too.
        guard a.count <= 64, b.count <= 64 else { return Int.max }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Policy: Decodable {
    static let keys = ["schema", "version", "name", "description", "rules"]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: PolicyKey.self)
        try container.rejectUnknownKeys(Self.keys)
        // schema and version are checked by DocumentFile.decodeJSON before this runs.
        name = try container.required(String.self, "name", expected: "a string")
        guard !name.allSatisfy(\.isWhitespace) else {
            throw container.invalid("name", "must not be empty")
        }
        description = try container.value(String.self, "description", expected: "a string")
        guard let rules = try container.object("rules") else {
            throw DecodingError.keyNotFound(
                PolicyKey("rules"),
                DecodingError.Context(codingPath: container.codingPath, debugDescription: "required field missing"))
        }
        guard let vocabulary = decoder.userInfo[PolicyVocabulary.userInfoKey] as? PolicyVocabulary else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: [], debugDescription: "no case vocabulary to check the policy by"))
        }
        self.rules = try PolicyRules(rules, vocabulary: vocabulary)
    }
}

extension PolicyRules {
    static let keys = [
        "level", "kvmUsable", "nestingOffered", "hypervisors", "mechanism", "requireCases", "allowSkipped", "cases",
        "multipliers",
    ]

    init(_ container: PolicyContainer, vocabulary: PolicyVocabulary) throws {
        try container.rejectUnknownKeys(Self.keys)
        self.init()
        if let level = try container.object("level") { self.level = try LevelRule(level) }
        kvmUsable = try container.value(Bool.self, "kvmUsable", expected: "true or false")
        nestingOffered = try container.value(Bool.self, "nestingOffered", expected: "true or false")
        if let names = try container.object("hypervisors") {
            hypervisors = try NameRule(names, vocabulary: PolicyVocabulary.hypervisors, what: "hypervisor")
        }
        if let names = try container.object("mechanism") {
            mechanism = try NameRule(names, vocabulary: PolicyVocabulary.mechanisms, what: "mechanism")
        }
        requireCases = try container.value([String].self, "requireCases", expected: "an array of case ids") ?? []
        var seen = Set<String>()
        for (index, id) in requireCases.enumerated() {
            let path = "requireCases[\(index)]"
            guard vocabulary.caseIDs.contains(id) else {
                throw container.invalid(path, Self.unknownCase(id, vocabulary))
            }
            guard seen.insert(id).inserted else { throw container.invalid(path, "\"\(id)\" is listed twice") }
        }
        allowSkipped = try container.value(Bool.self, "allowSkipped", expected: "true or false") ?? false
        if let cases = try container.object("cases") {
            for key in cases.allKeys {
                guard vocabulary.caseIDs.contains(key.stringValue) else {
                    throw cases.invalid(key.stringValue, Self.unknownCase(key.stringValue, vocabulary))
                }
                guard let limits = try cases.object(key.stringValue) else { continue }
                self.cases[key.stringValue] = try CaseLimits(limits)
            }
        }
        if let multipliers = try container.object("multipliers") {
            for key in multipliers.allKeys {
                guard vocabulary.caseIDs.contains(key.stringValue) else {
                    throw multipliers.invalid(key.stringValue, Self.unknownCase(key.stringValue, vocabulary))
                }
                guard let limit = try multipliers.object(key.stringValue) else { continue }
                self.multipliers[key.stringValue] = try MultiplierLimit(limit)
            }
        }
        guard !isEmpty else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: container.codingPath,
                    debugDescription: "no rules: a policy must check something (see docs/policy.md)"))
        }
    }

    static func unknownCase(_ id: String, _ vocabulary: PolicyVocabulary) -> String {
        let near = PolicyContainer.closest(id, in: Array(vocabulary.caseIDs).sorted())
        return "no case \"\(id)\" in this nestprobe"
            + (near.map { "; did you mean \"\($0)\"?" } ?? " (see nestprobe bench --list)")
    }
}

extension LevelRule {
    static let keys = ["min", "max", "by"]

    init(_ container: PolicyContainer) throws {
        try container.rejectUnknownKeys(Self.keys)
        func level(_ key: String) throws -> Level? {
            guard let name = try container.value(String.self, key, expected: "a level name (L0, L1, L2+)") else {
                return nil
            }
            guard let level = Level(rawValue: name) else {
                let hint =
                    PolicyContainer.closest(name, in: PolicyVocabulary.levels).map { "; did you mean \"\($0)\"?" }
                    ?? " (one of \(PolicyVocabulary.levels.joined(separator: ", ")))"
                throw container.invalid(key, "unknown level \"\(name)\"\(hint)")
            }
            return level
        }
        let min = try level("min")
        let max = try level("max")
        var by = Basis.estimate
        if let name = try container.value(String.self, "by", expected: "\"estimate\" or \"lowerBound\"") {
            guard let basis = Basis(rawValue: name) else {
                throw container.invalid("by", "unknown basis \"\(name)\" (\"estimate\" or \"lowerBound\")")
            }
            by = basis
        }
        guard min != nil || max != nil else { throw container.invalid(nil, "give min, max or both") }
        if let min, let max, min.depth > max.depth {
            throw container.invalid("min", "\(min.rawValue) is above max \(max.rawValue): no level can meet both")
        }
        self.init(min: min, max: max, by: by)
    }
}

extension NameRule {
    init(_ container: PolicyContainer, vocabulary: [String], what: String) throws {
        try container.rejectUnknownKeys(["allow", "deny"])
        let allow = try container.value([String].self, "allow", expected: "an array of \(what) names")
        let deny = try container.value([String].self, "deny", expected: "an array of \(what) names")
        func canonical(_ names: [String], _ key: String) throws -> [String] {
            try names.enumerated().map { index, name in
                guard vocabulary.contains(name) else {
                    let hint =
                        PolicyContainer.closest(name, in: vocabulary).map { "; did you mean \"\($0)\"?" }
                        ?? " (one of \(vocabulary.joined(separator: ", ")))"
                    throw container.invalid("\(key)[\(index)]", "unknown \(what) \"\(name)\"\(hint)")
                }
                return name
            }
        }
        switch (allow, deny) {
        case (let allow?, nil): self = .allow(try canonical(allow, "allow"))
        case (nil, let deny?): self = .deny(try canonical(deny, "deny"))
        case (.some, .some): throw container.invalid(nil, "give allow or deny, not both")
        case (nil, nil): throw container.invalid(nil, "give allow or deny")
        }
    }
}

extension CaseLimits {
    init(_ container: PolicyContainer) throws {
        try container.rejectUnknownKeys(CaseMetric.allCases.map(\.rawValue) + ["allowSkipped"])
        var limits: [CaseMetric: Double] = [:]
        for metric in CaseMetric.allCases {
            if let value = try container.limit(metric.rawValue) { limits[metric] = value }
        }
        for (lower, upper) in CaseMetric.ordered {
            if let low = limits[lower], let high = limits[upper], low > high {
                throw container.invalid(
                    lower.rawValue,
                    "\(PolicyText.number(low)) is above \(upper.rawValue) \(PolicyText.number(high)): "
                        + "a \(lower.words) can never exceed the \(upper.words), so one of the two is a mistake")
            }
        }
        let allowSkipped = try container.value(Bool.self, "allowSkipped", expected: "true or false")
        guard !limits.isEmpty else {
            throw container.invalid(
                nil, "no limits (give one or more of \(CaseMetric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(limits, allowSkipped: allowSkipped)
    }
}

extension MultiplierLimit {
    init(_ container: PolicyContainer) throws {
        try container.rejectUnknownKeys(["max", "allowSkipped"])
        guard let max = try container.limit("max") else {
            throw DecodingError.keyNotFound(
                PolicyKey("max"),
                DecodingError.Context(codingPath: container.codingPath, debugDescription: "required field missing"))
        }
        self.init(max: max, allowSkipped: try container.value(Bool.self, "allowSkipped", expected: "true or false"))
    }
}
