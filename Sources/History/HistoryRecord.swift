// History: regression tracking over time. Bench reports go into a store (SQLite embedded, or PostgreSQL
// shared by a team), grouped by the machine they were taken on; each case becomes a series of run
// figures, in which change-point detection (E-divisive means with a permutation test) finds when a case
// changed and by how much. Depends on the report documents and Report's run extraction, never on KVM.
//
// HistoryRecord: what one bench report contributes to the history — its identity (a SHA-256 of the file,
// so the same report is stored once), the machine's fingerprint and the user's label, and per case its
// runs' figures as compare judges them (RunExtraction), with the machine's level in each run (Report's
// MachineLevel.runLevels, the correction compare makes before it takes a report's figure) kept beside the
// raw figures. The fingerprint is Documents' MachineFingerprint, shared with `nestprobe fleet`.

import Documents
import Foundation
import Report

/// One case of one report: its runs, as compare reads them.
public struct CaseRecord: Sendable, Equatable {
    public var id: String
    /// The level the figure belongs to (this level for host-level rows, the guests' for cases).
    public var level: String
    /// "host-level" or "case".
    public var source: String
    /// ok, skipped or failed.
    public var status: String
    /// kernel, user-space, none, level-below.
    public var exitsTo: String
    /// Whether the case ran in a guest mode the hypervisor emulates instruction by instruction.
    public var emulated: Bool
    /// Whether the report's net figure for the case is below resolution.
    public var netBelowResolution: Bool
    /// Per run: gross cycles per exit (the timed loop as it is).
    public var gross: [Double]
    /// Per run: net cycles per exit (less the same guest's timing baseline); nil where there is no baseline.
    public var net: [Double?]
    /// Per run: the machine's level in that run of the report, as a factor (1 = the report's usual; the
    /// figures above are raw, divide by it for the corrected ones); nil where the report could not be
    /// corrected (one run, too few rows in every run) or the case lacks a run.
    public var runLevel: [Double?]

    /// The median of the runs' gross figures each divided by its run's level; nil unless every run has one.
    public var levelCorrectedGross: Double? {
        let levels = runLevel.compactMap { $0 }
        guard !gross.isEmpty, levels.count == gross.count else { return nil }
        return HistoryRecord.median(zip(gross, levels).map { $0 / $1 })
    }
}

/// What one bench report adds to the history.
public struct HistoryRecord: Sendable {
    /// SHA-256 of the report file's bytes, hex: the same file is stored once.
    public var digest: String
    public var fingerprint: MachineFingerprint
    /// The user's label (instance type, host group); empty when none was given.
    public var label: String
    /// The report's own time (createdAt, ISO 8601 UTC).
    public var createdAt: String
    /// "nestprobe 0.1.0 (abc1234)".
    public var toolVersion: String
    /// The path the report was added from, as given.
    public var file: String
    /// The injected exit delay the report was taken with, as the user gave it; nil for a plain report.
    public var injectedDelay: String?
    public var cases: [CaseRecord]

    /// The record of `report`, whose file (at `file`) has the SHA-256 `digest`.
    public init(report: BenchReport, digest: String, file: String, label: String) {
        self.digest = digest
        fingerprint = MachineFingerprint(report.context)
        self.label = label
        createdAt = report.createdAt
        toolVersion =
            "\(report.tool.name) \(report.tool.version)" + (report.tool.gitRevision.map { " (\($0))" } ?? "")
        self.file = file
        injectedDelay = report.context.injectedExitDelay.map { "\($0.requested)" }
        let rows = RunExtraction.rows(report)
        // The machine's level per run, as compare corrects each run by (a factor per run).
        let levels = MachineLevel.runLevels(rows)?.map { Foundation.exp($0) }
        cases = rows.map { row in
            // Net runs line up with gross runs; a run whose net could not be formed has none.
            let net: [Double?] =
                row.net.count == row.gross.count ? row.net.map { $0.median } : row.gross.map { _ in nil }
            let runLevel: [Double?] =
                row.status == "ok" && levels?.count == row.gross.count
                ? (levels ?? []).map { Optional($0) } : row.gross.map { _ in nil }
            return CaseRecord(
                id: row.id, level: row.level, source: row.source, status: row.status, exitsTo: row.exitsTo,
                emulated: row.emulated, netBelowResolution: row.netBelowResolution,
                gross: row.gross.map(\.median), net: net, runLevel: runLevel)
        }
    }

    /// Reads, checks and records the bench report at `path`: exit 66 when it cannot be read, 65 when it is
    /// not a valid report (ReportFile's checks).
    public static func load(_ path: String, label: String) throws(InputError) -> HistoryRecord {
        let bytes = try DocumentFile.readInput(path)
        let digest = sha256(bytes)
        let report = try ReportFile.parse(bytes, name: path)
        return HistoryRecord(report: report, digest: digest, file: path, label: label)
    }

    /// Lower-case hex SHA-256 of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> String {
        MachineFingerprint.sha256Hex(bytes)
    }
}
