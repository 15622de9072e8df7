// FleetDocument: the fleet matrix as versioned JSON (Reports/schema/fleet-v1.schema.json) — the rule, the
// groups with their fingerprint and medians, per host its verdicts, figures and standing, and the files
// that could not be read.

import Documents
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The JSON output of `nestprobe fleet --json`.
public struct FleetDocument: Codable, Sendable {
    public static let schemaID = "nestprobe.fleet"
    public static let currentVersion = 1

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    /// The key exits, in column order.
    public var exits: [String]
    public var rule: FleetOutlierRule
    public var reports: Int
    /// Files of another nestprobe schema left out.
    public var ignored: Int
    public var hosts: Int
    public var outliers: Int
    public var notQualified: Int
    public var groups: [Group]
    public var errors: [FleetFileError]

    /// One machine group.
    public struct Group: Codable, Sendable {
        public var key: String
        public var fingerprint: Fingerprint
        public var summary: String
        public var judged: [String]
        public var medians: [String: FleetFigure]
        public var hosts: [Host]
    }

    /// The fingerprint's parts.
    public struct Fingerprint: Codable, Sendable {
        public var cpu, kernel, kvmModule, kvmParameters, level, guestLevel, hypervisors: String
        public var emulatedHost: Bool
    }

    /// One host row.
    public struct Host: Codable, Sendable {
        public var host: String
        public var label: String
        public var reports: [String: Int]
        public var canHost: String?
        public var guestsCanHost: String?
        public var policies: [FleetPolicyVerdict]
        public var verdict: String
        /// host.json's outcome and why.
        public var status: String?
        public var detail: String?
        public var qualified: Bool?
        public var outlier: Bool
        public var fingerprintsDiffer: Bool
        public var exits: [String: FleetFigure]
        public var judgements: [String: FleetOutlierRule.Judgement]
    }

    /// The document of `matrix`.
    public init(_ matrix: FleetMatrix) {
        schema = Self.schemaID
        version = Self.currentVersion
        tool = .current
        exits = FleetExits.ids
        rule = matrix.rule
        reports = matrix.reportCount
        ignored = matrix.ignored
        hosts = matrix.rows.count
        outliers = matrix.outlierCount
        notQualified = matrix.notQualifiedCount
        errors = matrix.errors
        groups = matrix.groups.map { group in
            let f = group.fingerprint
            return Group(
                key: group.key,
                fingerprint: Fingerprint(
                    cpu: f.cpu, kernel: f.kernel, kvmModule: f.kvmModule, kvmParameters: f.kvmParameters,
                    level: f.level, guestLevel: f.guestLevel, hypervisors: f.hypervisors, emulatedHost: f.emulatedHost),
                summary: f.summary, judged: group.judged, medians: group.medians,
                hosts: group.rows.map { row in
                    let h = row.host
                    return Host(
                        host: h.host, label: h.label,
                        reports: Dictionary(uniqueKeysWithValues: h.reports.map { ($0.key.rawValue, $0.value) }),
                        canHost: h.canHost, guestsCanHost: h.guestsCanHost, policies: h.policies, verdict: h.verdict,
                        status: h.status, detail: h.detail,
                        qualified: h.policies.isEmpty && h.status == nil ? nil : !h.qualificationFailed,
                        outlier: row.outlier,
                        fingerprintsDiffer: h.fingerprintsDiffer, exits: row.figures, judgements: row.judgements)
                })
        }
    }
}

extension FleetFormat {
    /// `matrix` in this format; JSON through DocumentFile's encoder (sorted keys, the house layout).
    public func render(_ matrix: FleetMatrix) throws -> String {
        switch self {
        case .text: FleetText.text(matrix)
        case .markdown: FleetText.markdown(matrix)
        case .csv: FleetText.csv(matrix)
        case .html: FleetMarkup.html(matrix)
        case .junit: FleetMarkup.junit(matrix)
        case .json: try Self.json(matrix)
        }
    }

    /// The versioned JSON document, with its trailing newline.
    static func json(_ matrix: FleetMatrix) throws -> String {
        String(decoding: try DocumentFile.encodeJSON(FleetDocument(matrix)), as: UTF8.self)
    }
}
