// Qualification: the verdict of a policy on a bench report — one result per rule with the measured
// value, the limit and why, and "qualified" when no rule failed. Versioned JSON
// (Reports/schema/qualification-v1.schema.json); text in Qualify+Text.swift, JUnit in Qualify+JUnit.swift.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

/// The outcome of `nestprobe qualify`.
public struct Qualification: Codable, Sendable {
    public static let schemaID = "nestprobe.qualification"
    public static let currentVersion = 1

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    /// ISO 8601, UTC.
    public var createdAt: String
    public var policy: PolicyReference
    public var report: ReportReference
    /// True when no rule failed (skipped rules do not count against it).
    public var qualified: Bool
    public var passed: Int
    public var failed: Int
    public var skipped: Int
    public var results: [RuleResult]

    /// Evaluates `policy` on `report`; the file names are recorded as given (nil: measured just now).
    public init(
        policy: Policy, policyFile: String?, report: BenchReport, reportFile: String?, createdAt: String = Self.now()
    ) {
        schema = Self.schemaID
        version = Self.currentVersion
        tool = .current
        self.createdAt = createdAt
        self.policy = PolicyReference(name: policy.name, description: policy.description, file: policyFile)
        self.report = ReportReference(report, file: reportFile)
        results = policy.evaluate(report)
        passed = results.count { $0.outcome == .pass }
        failed = results.count { $0.outcome == .fail }
        skipped = results.count { $0.outcome == .skip }
        qualified = failed == 0
    }

    public static func now() -> String {
        Date().formatted(.iso8601)
    }
}

/// Which policy was applied.
public struct PolicyReference: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    public var file: String?
}

/// Which report was judged, and the context a reader needs beside the verdict.
public struct ReportReference: Codable, Sendable, Equatable {
    /// The report file, or nil when the bench ran as part of this qualification.
    public var file: String?
    public var createdAt: String
    public var cpu: String
    public var level: String
    public var levelLowerBound: String
    public var guestLevel: String
    public var kvmModule: String?
    public var mechanism: String
    public var hypervisors: [String]

    init(_ report: BenchReport, file: String?) {
        let context = report.context
        self.file = file
        createdAt = report.createdAt
        cpu = context.cpu
        level = context.level
        levelLowerBound = context.levelLowerBound
        guestLevel = context.guestLevel
        kvmModule = context.kvmModule
        mechanism = context.mechanism
        hypervisors = context.hypervisors
    }
}

/// One rule's verdict.
public struct RuleResult: Codable, Sendable, Equatable {
    /// Pass, fail, or skip (a case the bench skipped, under allowSkipped): skipped rules neither pass nor fail.
    public enum Outcome: String, Codable, Sendable {
        case pass, fail, skip
    }

    /// The rule's place in the policy ("level.max", "cases.cpuid-0/real.p99Cycles"); the JUnit test name.
    public var rule: String
    /// What was checked, in words.
    public var subject: String
    /// Whose figure a case rule judges: "this level L2+" or "guest L3+".
    public var level: String?
    /// The measured value with its unit; nil when it was not measured.
    public var measured: String?
    /// The limit with its comparison ("≤ 60,000 cycles", "one of KVM, PVM").
    public var limit: String
    /// The measured number, for numeric rules.
    public var measuredValue: Double?
    /// The limit's number, for numeric rules.
    public var limitValue: Double?
    public var outcome: Outcome
    /// Why it passed or failed, or why it was skipped.
    public var detail: String

    public init(
        rule: String, subject: String, level: String? = nil, measured: String?, limit: String,
        measuredValue: Double? = nil, limitValue: Double? = nil, outcome: Outcome, detail: String
    ) {
        self.rule = rule
        self.subject = subject
        self.level = level
        self.measured = measured
        self.limit = limit
        self.measuredValue = measuredValue
        self.limitValue = limitValue
        self.outcome = outcome
        self.detail = detail
    }
}
