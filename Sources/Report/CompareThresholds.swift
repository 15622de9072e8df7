// CompareThresholds: how large a change of the median must be, in percent, before compare calls it a
// regression or an improvement — one default and any number of per-case values, from the command line
// (`--threshold 10`, `--threshold cpuid-0/real=3`) or a file, in the spirit of package-benchmark's
// threshold files:
//
//     {"default": 5, "cases": {"cpuid-0/real": 3, "hlt/real": 15}}
//
// Both keys are optional; any other key, a value that is not a number, or a value outside 0…1000 is
// refused with one line naming the file and the field (exit 65).

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

/// Thresholds in percent of the base median.
public struct Thresholds: Sendable, Equatable {
    /// The default when nothing else is given, as package-benchmark's.
    public static let standardPercent = 5.0
    /// Larger values are refused as mistakes (1000 % is an elevenfold change).
    public static let maximumPercent = 1000.0

    public var defaultPercent: Double
    /// Per case id.
    public var cases: [String: Double]

    public init(defaultPercent: Double = standardPercent, cases: [String: Double] = [:]) {
        self.defaultPercent = defaultPercent
        self.cases = cases
    }

    /// The threshold for one row.
    public func percent(for id: String) -> Double { cases[id] ?? defaultPercent }

    /// These thresholds with others laid over them: `newDefault` if given, and `more` added to the
    /// cases, replacing any with the same id.
    public func overlaid(default newDefault: Double?, cases more: [String: Double]) -> Thresholds {
        Thresholds(defaultPercent: newDefault ?? defaultPercent, cases: cases.merging(more) { _, new in new })
    }

    /// Nil when `percent` is a sensible threshold, else what is wrong with it.
    public static func problem(_ percent: Double) -> String? {
        guard percent.isFinite else { return "not a finite number" }
        guard percent >= 0 else { return "\(percent) is negative; a threshold is a size of change, in percent" }
        guard percent <= maximumPercent else {
            return "\(percent) % is over the \(Int(maximumPercent)) % limit (a threshold is in percent, not a factor)"
        }
        return nil
    }

    /// Parses one command-line threshold: "10", "10%", "cpuid-0/real=3" or "cpuid-0/real=3%". Returns
    /// the case id (nil for the default) and the percent, or a message.
    public static func parseArgument(_ text: String) -> Result<(id: String?, percent: Double), ThresholdError> {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let id = parts.count == 2 ? String(parts[0]) : nil
        if let id, id.isEmpty { return .failure(ThresholdError("\(text): the case id before = is empty")) }
        var number = String(parts[parts.count - 1])
        if number.hasSuffix("%") { number.removeLast() }
        guard let percent = Double(number) else {
            return .failure(ThresholdError("\(text): expected a percent such as 5 or a case such as cpuid-0/real=3"))
        }
        if let problem = problem(percent) { return .failure(ThresholdError("\(text): \(problem)")) }
        return .success((id, percent))
    }

    /// Refuses thresholds for case ids that neither report has — a misspelt id would otherwise leave its
    /// case at the default without a word; `source` names where they were given (a file, --threshold).
    public static func refuseUnknown(
        _ ids: some Sequence<String>, in reports: [BenchReport], source: String
    ) throws(InputError) {
        var known = Set<String>()
        for report in reports {
            known.formUnion(report.hostLevel.map(\.id))
            known.formUnion(report.cases.map(\.id))
        }
        let unknown = ids.filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        throw InputError(
            .badData,
            "\(source): cases: " + unknown.map { "\"\($0)\"" }.joined(separator: ", ")
                + (unknown.count == 1 ? " is not a case" : " are not cases") + " of either report")
    }

    /// Reads a threshold file.
    public static func load(_ path: String) throws(InputError) -> (defaultPercent: Double?, cases: [String: Double]) {
        try parse(DocumentFile.readInput(path), name: path)
    }

    /// Parses threshold-file bytes; `name` is used in messages.
    public static func parse(_ bytes: [UInt8], name: String) throws(InputError)
        -> (defaultPercent: Double?, cases: [String: Double])
    {
        let object: JSONValue
        do { object = try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) } catch {
            throw InputError(.badData, "\(name): not valid JSON: \(DocumentFile.describe(error))")
        }
        try DocumentFile.refuseDuplicateKeys(bytes, name: name)
        guard case .object(let top) = object else {
            throw InputError(
                .badData, "\(name): expected an object such as {\"default\": 5, \"cases\": {\"cpuid-0/real\": 3}}")
        }
        if let unknown = top.keys.sorted().first(where: { $0 != "default" && $0 != "cases" }) {
            throw InputError(
                .badData, "\(name): \(unknown): unknown key (a threshold file has \"default\" and \"cases\")")
        }
        var defaultPercent: Double?
        if let value = top["default"] { defaultPercent = try percent(value, field: "default", name: name) }
        var cases: [String: Double] = [:]
        if let value = top["cases"] {
            guard case .object(let entries) = value else {
                throw InputError(.badData, "\(name): cases: expected an object of case id to percent")
            }
            // In key order, so that of two bad entries the same one is named whatever the hash seed.
            for (id, entry) in entries.sorted(by: { $0.key < $1.key }) {
                guard !id.isEmpty else { throw InputError(.badData, "\(name): cases: an empty case id") }
                cases[id] = try percent(entry, field: "cases.\(id)", name: name)
            }
        }
        return (defaultPercent, cases)
    }

    private static func percent(_ value: JSONValue, field: String, name: String) throws(InputError) -> Double {
        guard case .number(let percent) = value else {
            throw InputError(.badData, "\(name): \(field): expected a number of percent, got \(value.kind)")
        }
        if let problem = problem(percent) { throw InputError(.badData, "\(name): \(field): \(problem)") }
        return percent
    }
}

/// A threshold given on the command line that cannot be used.
public struct ThresholdError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Any JSON value, to check a small document key by key with messages that name the key.
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before Double: JSONDecoder refuses to read a number as a Bool and true as a number.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// What kind of value this is, for messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "the string \"\(value)\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}
