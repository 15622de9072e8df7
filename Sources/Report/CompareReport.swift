// CompareReport: the versioned JSON document of `nestprobe compare` (Reports/schema/compare-v1.schema.json):
// which reports were compared, whether their contexts differ, how the statistics were made, one row per
// case and level with its verdict, the cases that could not be paired, and the summary with the exit code.

import Probe

/// The result of comparing two bench reports.
public struct CompareReport: Codable, Sendable {
    public static let schemaID = "nestprobe.compare"
    public static let currentVersion = 1

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    public var base: ReportIdentity
    public var new: ReportIdentity
    /// Whether --force made compare go on although the contexts differ in a way that refuses.
    public var forced: Bool
    /// Every way the two contexts differ; those that refuse a comparison unless forced, and warnings.
    public var differences: [ContextDifference]
    public var method: CompareMethod
    public var rows: [CompareRow]
    /// Cases present in one report only, or not ok in one of them: listed, never given a verdict.
    public var unpaired: [UnpairedCase]
    /// Remarks, such as a threshold given for a case neither report has.
    public var notes: [String]
    public var summary: CompareSummary
}

/// Which report, made where.
public struct ReportIdentity: Codable, Sendable, Equatable {
    /// The path as given on the command line.
    public var file: String
    public var createdAt: String
    public var cpu: String
    public var kernelRelease: String?
    public var kvmModule: String?
    public var level: String
    public var guestLevel: String
    public var tscHz: Double
    public var tscSource: String
}

/// One way two reports' contexts differ.
public struct ContextDifference: Codable, Sendable, Equatable {
    public enum Severity: String, Codable, Sendable {
        /// Not compared unless forced: another CPU, kernel, hypervisor or level.
        case refuse
        /// Compared, with a warning.
        case warn
    }

    /// The field, as its JSON path in the bench report (context.cpu).
    public var field: String
    public var base: String
    public var new: String
    public var severity: Severity
}

/// How the rows were computed.
public struct CompareMethod: Codable, Sendable, Equatable {
    /// What each row's samples are.
    public var compared: String
    public var test: String
    public var alpha: Double
    public var interval: String
    public var bootstrapResamples: Int
    public var bootstrapSeed: UInt64
    public var confidence: Double
    public var noiseFloor: String
    public var noiseFloorMinimumPercent: Double
    public var defaultThresholdPercent: Double
    /// Rows need at least this many samples on each side for a verdict.
    public var minimumSamples: Int
}

/// The overall or per-row verdict.
public enum Verdict: String, Codable, Sendable {
    case regression, improvement, unchanged
}

/// Why a row has its verdict.
public enum VerdictReason: String, Codable, Sendable {
    /// The change is past the threshold and the noise floor, and significant.
    case significant
    /// |change| is within the threshold.
    case belowThreshold = "below-threshold"
    /// |change| is within the noise floor (the medians' own uncertainty).
    case withinNoise = "within-noise"
    /// p is not below alpha.
    case notSignificant = "not-significant"
    /// Fewer samples on a side than the minimum.
    case tooFewSamples = "too-few-samples"
    /// The base median is not positive, so a relative change means nothing.
    case noBaseFigure = "no-base-figure"
}

/// One case at one level, compared.
public struct CompareRow: Codable, Sendable, Equatable {
    public var id: String
    /// The level the figure belongs to (this level for hostLevel rows, the guests' level for cases).
    public var level: String
    /// "host-level" (the report's hostLevel) or "case".
    public var source: String
    public var baseCount: Int
    public var newCount: Int
    /// Medians of the compared values: cycles per exit.
    public var baseMedian: Double
    public var newMedian: Double
    /// 100 · (new / base − 1); nil when the base median is not positive.
    public var changePercent: Double?
    /// Bootstrap interval of the change, percent; nil when undefined.
    public var changeCI95Percent: [Double]?
    public var u: Double
    public var pValue: Double
    /// P(new > base) + ½ P(equal): above 0.5 the new samples tend to be slower.
    public var newSlowerProbability: Double
    public var rankBiserial: Double
    public var thresholdPercent: Double
    /// nil when it cannot be told (no positive median).
    public var noiseFloorPercent: Double?
    public var verdict: Verdict
    public var reason: VerdictReason
}

/// A case that could not be compared.
public struct UnpairedCase: Codable, Sendable, Equatable {
    public var id: String
    /// ok, skipped, failed, or absent.
    public var baseStatus: String
    public var newStatus: String
    /// added, removed, or not-compared.
    public var change: String
    /// The reasons the reports give, if any.
    public var reason: String?

    public init(id: String, baseStatus: String, newStatus: String, change: String, reason: String? = nil) {
        self.id = id
        self.baseStatus = baseStatus
        self.newStatus = newStatus
        self.change = change
        self.reason = reason
    }
}

/// Counts and the overall verdict.
public struct CompareSummary: Codable, Sendable, Equatable {
    public var regressions: Int
    public var improvements: Int
    public var unchanged: Int
    public var added: Int
    public var removed: Int
    public var notCompared: Int
    public var verdict: Verdict
    /// 0 no change, 2 a regression, 4 improvements only.
    public var exitCode: Int
}
