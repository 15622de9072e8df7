// RunCompareReport: the versioned JSON document of `nestprobe compare` on runs
// (Reports/schema/compare-v3.schema.json; v2 had no replicate test): the reports on each side, how they differ, the method, one row
// per case and level with the figure it judged (or why it was not judged), its runs, change, interval,
// p, detectable change and verdict; the cases that could not be paired; the summary with the exit code.

import Documents

/// The result of comparing bench reports on their runs.
public struct RunCompareReport: Codable, Sendable {
    public static let schemaID = "nestprobe.compare"
    public static let currentVersion = 3

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    /// The reports pooled on each side, in the order given.
    public var base: [ReportIdentity]
    public var new: [ReportIdentity]
    /// Whether --force made compare go on although contexts differ in a way that refuses.
    public var forced: Bool
    /// Every way another report's context differs from the first base report's.
    public var differences: [ContextDifference]
    public var method: RunCompareMethod
    public var rows: [RunCompareRow]
    /// Cases added in the new reports, or not ok on both sides: listed, never judged.
    public var unpaired: [UnpairedCase]
    public var notes: [String]
    public var summary: RunCompareSummary
    /// How far the machine as a whole moved between the two sides; nil with fewer than three rows to tell.
    public var machineShift: MachineShift? = nil
    /// With at least two reports a side: the replicate-level test's figures (ReplicateJudge).
    public var replication: ReplicateSummary? = nil
}

/// How the machine moved between the two sides, seen over every row compared (judged or not): the median
/// change of the rows' gross figures (its shift), and how far single rows strayed from that shift (its path
/// spread). This shared machine moves by −16 to +41 % between back-to-back bench invocations, and single
/// paths stray from that by ±10–15 % on their own, which the runs of one invocation cannot show; a row is
/// called regressed or improved only when it clears both.
public struct MachineShift: Codable, Sendable, Equatable {
    /// Median change of the rows' gross figures, percent.
    public var percent: Double
    /// Rows it was taken over.
    public var rows: Int
    /// Two robust standard deviations (1.4826 × MAD) of the rows' log changes about the shift, as a percent
    /// change: how far a row moves with no change of its own, between invocations. A row's change relative
    /// to the shift must be past it.
    public var pathSpreadPercent: Double = 0
}

/// How the rows were judged.
public struct RunCompareMethod: Codable, Sendable, Equatable {
    /// What a row's values are.
    public var figure: String
    public var test: String
    public var multipleTesting: String
    public var interval: String
    public var detectableChange: String
    public var alpha: Double
    public var confidence: Double
    public var power: Double
    public var bootstrapResamples: Int
    public var bootstrapSeed: UInt64
    public var defaultThresholdPercent: Double
    /// --cases patterns; empty: every case.
    public var cases: [String]
    /// --exclude patterns.
    public var exclude: [String]
    /// Whether rows the reports mark untrustworthy were judged too (--judge-all).
    public var judgeAll: Bool
    /// Whether cases lost in the new reports leave the verdict alone (--allow-missing).
    public var allowMissing: Bool
}

/// A row's verdict.
public enum RowVerdict: String, Codable, Sendable {
    case regressed, improved, inconclusive, same
    /// In the base reports, absent or not ok in the new ones.
    case missing
    /// Shown, not judged: chosen away, or a figure the report marks untrustworthy.
    case notJudged = "not-judged"

    init(_ verdict: RunVerdict) {
        switch verdict {
        case .regressed: self = .regressed
        case .improved: self = .improved
        case .inconclusive: self = .inconclusive
        case .same: self = .same
        }
    }
}

/// Why a row has its verdict: RunVerdictReason's values, and those of rows not judged or missing.
public enum RowReason: String, Codable, Sendable {
    case significant
    case belowThreshold = "below-threshold"
    case notSignificant = "not-significant"
    case intervalIncludesZero = "interval-includes-zero"
    case tooFewRuns = "too-few-runs"
    case noBaseFigure = "no-base-figure"
    /// Left out by --cases or --exclude.
    case notSelected = "not-selected"
    /// An in-kernel exit of an emulated guest: the figure is the emulator's, not the exit's.
    case emulatedInKernel = "emulated-in-kernel"
    /// In the base reports, absent from the new ones.
    case absentInNew = "absent-in-new"
    /// In the base reports, skipped or failed in the new ones.
    case notOkInNew = "not-ok-in-new"
    /// Significant and past the threshold, but its interval does not clear the shift of the whole machine
    /// between the sides: the change may be the machine's, not the case's.
    case machineShift = "machine-shift"

    init(_ reason: RunVerdictReason) { self = RowReason(rawValue: reason.rawValue) ?? .noBaseFigure }
}

/// One case at one level.
public struct RunCompareRow: Codable, Sendable, Equatable {
    public var id: String
    public var level: String
    /// "host-level" or "case".
    public var source: String
    /// "net" (less the timing baseline) or "gross" (net below resolution on a side, or no baseline).
    public var figure: String
    /// Why the gross figure, when it is.
    public var figureNote: String?
    /// Whether the case ran in an emulated guest mode.
    public var emulated: Bool
    public var exitsTo: String
    public var baseRuns: Int
    public var newRuns: Int
    /// Median of the runs' figures, cycles per exit; nil for a side without runs.
    public var baseMedian: Double?
    public var newMedian: Double?
    public var changePercent: Double?
    /// The two-stage bootstrap interval of the change, percent.
    public var changeCI95Percent: [Double]?
    public var u: Double?
    public var pValue: Double?
    /// exact or asymptotic.
    public var test: String?
    /// Holm-adjusted over the judged rows.
    public var adjustedP: Double?
    /// The smallest change detectable at 80 % power; nil when none is (too few runs) or unknown.
    public var detectableChangePercent: Double?
    /// "percent", "none" (too few runs for any change) or "unknown" (no spread to tell).
    public var detectable: String
    public var thresholdPercent: Double
    public var verdict: RowVerdict
    public var reason: RowReason
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
public struct RunCompareSummary: Codable, Sendable, Equatable {
    public var regressed: Int
    public var improved: Int
    public var inconclusive: Int
    public var same: Int
    public var missing: Int
    public var notJudged: Int
    public var added: Int
    public var notCompared: Int
    /// regressed, inconclusive, improved or same: the worst that applies, in that order.
    public var verdict: String
    /// 2 a regression; 5 inconclusive (or missing cases without --allow-missing, or no row judged); 4
    /// improvements only;
    /// 0 the same.
    public var exitCode: Int
}
