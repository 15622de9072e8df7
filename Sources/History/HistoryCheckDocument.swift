// HistoryCheckDocument: `history check --format json` — the method, and per machine its verdict and every
// reported change point, as one document (Reports/schema/history-check-v1.schema.json).

import Documents
import Foundation

/// The JSON document of one `history check` over one or more machines.
public struct HistoryCheckDocument: Codable, Sendable, Equatable {
    /// The document's `schema` value.
    public static let schemaID = "nestprobe.history-check"
    /// The document's version.
    public static let currentVersion = 1

    /// How the series were judged: the same for every machine of the document.
    public struct Method: Codable, Sendable, Equatable {
        /// "e-divisive" (E-divisive means with a permutation test).
        public var detector: String
        /// The permutation test's level, permutations per test and their seed. Where `splitCorrection` is
        /// present, pValue is the level across all the judged cases of a machine, and permutations the least
        /// per test (machine.splitPValue and machine.splitPermutations say what each case ran).
        public var pValue: Double
        public var permutations: Int
        public var seed: UInt64
        /// The smallest change reported, percent of the median before.
        public var thresholdPercent: Double
        /// The newest this many reports decide the exit code.
        public var window: Int
        /// "net" or "gross" cycles per exit.
        public var figure: String
        /// Whether the machine's level in each report was divided out.
        public var machineShiftRemoved: Bool
        /// Whether each run was first divided by the machine's level in that run (where the report has it).
        /// Absent in documents from before it was kept (their series were per-report corrected only).
        public var runLevelsRemoved: Bool?
        /// The series judged, for people: "gross cycles per exit, the machine's level divided out per run
        /// and per report" (raw figures: `--keep-run-levels --keep-shift`).
        public var series: String?
        /// The newest report's own test and its adjustment across the cases.
        public var newestReport: NewestReport?
        /// "benjamini-bogomolov": each case's first split kept by Benjamini–Hochberg at pValue across the
        /// cases judged, later splits only in the kept cases at pValue · kept / judged (HistoryCheck's
        /// header). Absent in documents from before: there each split of each case was tested at pValue.
        public var splitCorrection: String?
    }

    /// How the newest report is tested on its own.
    public struct NewestReport: Codable, Sendable, Equatable {
        /// "pooled-robust-z": the newest report's robust z-score ranked among the earlier reports' of every
        /// judged case (NewestReportTest); "energy-permutation" in documents of earlier versions, which
        /// permuted the runs.
        public var test: String
        /// "benjamini-hochberg": the adjustment across the judged cases.
        public var correction: String
        /// The false discovery rate an adjusted p-value must reach.
        public var alpha: Double
        /// The permutations of the earlier test; absent for pooled-robust-z.
        public var permutations: Int?
        /// The fewest earlier reports a newest-report test needs.
        public var minimumReports: Int?
    }

    /// One reported change point.
    public struct Change: Codable, Sendable, Equatable {
        /// The case's id.
        public var caseID: String
        /// The first report after the change: its index among the machine's reports, oldest first, its time
        /// and the file it was added from.
        public var reportIndex: Int
        public var createdAt: String
        public var file: String
        /// Medians of the segments before and after, in the series' unit.
        public var before: Double
        public var after: Double
        /// (after / before − 1) × 100.
        public var changePercent: Double
        /// "slower" (a regression: more cycles) or "faster".
        public var direction: String
        /// The permutation test's p-value for the split.
        public var pValue: Double
        /// "e-divisive" (a split E-divisive kept) or "newest-report" (the newest report's own test).
        public var test: String?
        /// For the newest-report test, its p-value adjusted across the judged cases.
        public var adjustedP: Double?
        /// Whether the report lies in the newest window (and so counts for the exit code).
        public var inWindow: Bool
    }

    /// One machine (fingerprint and label) and what its check found.
    public struct Machine: Codable, Sendable, Equatable {
        /// The fingerprint's 16-digit key, the label ("" for none) and the fingerprint for people.
        public var key: String
        public var label: String
        public var summary: String
        /// Reports stored for the machine, and cases judged.
        public var reports: Int
        public var casesJudged: Int
        /// "regression", "improvement" or "none": what the newest window holds.
        public var verdict: String
        /// 2, 4 or 0, as `verdict`.
        public var exitCode: Int32
        /// Every reported change point, oldest report first.
        public var changes: [Change]
        /// Reports whose runs were each divided by the machine's level in that run.
        public var runLevelReports: Int?
        /// Whether each report was divided by the machine's level in it (three cases in every report).
        public var reportLevelsRemoved: Bool?
        /// Cases whose first split was kept across the cases, and the level each later split of theirs was
        /// tested at (method.pValue · splitCasesKept / casesJudged; absent when no case was kept).
        public var splitCasesKept: Int?
        public var splitPValue: Double?
    }

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    public var method: Method
    public var machines: [Machine]
    /// The command's exit code: 2 when any machine's newest window holds a regression, else 4 when any holds
    /// improvements, else 0.
    public var exitCode: Int32

    /// The document of `results`, all judged with `options`.
    public init(_ results: [CheckResult], options: CheckOptions, tool: ToolInfo = .current) {
        schema = Self.schemaID
        version = Self.currentVersion
        self.tool = tool
        method = Method(
            detector: "e-divisive", pValue: options.detector.pValue, permutations: options.detector.permutations,
            seed: options.detector.seed, thresholdPercent: options.thresholdPercent, window: options.window,
            figure: options.figure.rawValue, machineShiftRemoved: options.normalize,
            runLevelsRemoved: options.runLevels, series: options.seriesDescription,
            newestReport: NewestReport(
                test: "pooled-robust-z", correction: "benjamini-hochberg", alpha: options.newestAlpha,
                permutations: nil, minimumReports: options.newestMinimumReports),
            splitCorrection: "benjamini-bogomolov")
        machines = results.map(Self.machine)
        exitCode = HistoryCheck.combinedExitCode(results.map(\.exitCode))
    }

    static func machine(_ result: CheckResult) -> Machine {
        let changes = result.cases.flatMap(\.changes)
            .sorted { ($0.reportIndex, $0.caseID) < ($1.reportIndex, $1.caseID) }
            .map { c in
                Change(
                    caseID: c.caseID, reportIndex: c.reportIndex, createdAt: c.createdAt, file: c.file,
                    before: c.before, after: c.after, changePercent: c.changePercent,
                    direction: c.isRegression ? "slower" : "faster", pValue: c.pValue,
                    test: c.adjustedP == nil ? "e-divisive" : "newest-report", adjustedP: c.adjustedP,
                    inWindow: c.inWindow)
            }
        let code = result.exitCode
        return Machine(
            key: result.machine.key, label: result.machine.label, summary: result.machine.summary,
            reports: result.reportCount, casesJudged: result.cases.count,
            verdict: code == 2 ? "regression" : code == 4 ? "improvement" : "none", exitCode: code,
            changes: changes, runLevelReports: result.runLevelReports,
            reportLevelsRemoved: result.reportLevels, splitCasesKept: result.splitCasesKept,
            splitPValue: result.splitCasesKept > 0 ? result.splitLevel : nil)
    }
}
