// HistoryStore: what the CLI asks of a history, whichever database holds it. Two stores implement it with
// the same schema (HistorySchema) and the same behaviour: SQLiteHistoryStore (GRDB, one file, the default)
// and PostgresHistoryStore (postgres-nio, shared by many machines). Adding is one transaction per report,
// idempotent on the report's digest; series come back ordered by the reports' own time.

import Foundation

/// Why the history could not do what was asked; `kind` picks the exit code.
public struct HistoryError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The input (a report, the database's schema) is not what it must be: exit 65.
        case badData
        /// The database cannot be reached or opened: exit 69.
        case unavailable
        /// Anything else the database answered: exit 1.
        case failure
    }

    public var kind: Kind
    /// One line naming the database or file and what went wrong.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// What adding a report did.
public enum AddOutcome: Sendable, Equatable {
    /// Stored under this report id.
    case added(Int64)
    /// The same report (same digest) was already stored, under this id; nothing changed.
    case duplicate(Int64)
}

/// A series group: one machine fingerprint with one label.
public struct StoredMachine: Sendable, Equatable {
    public var id: Int64
    /// The fingerprint's short key (16 hex digits).
    public var key: String
    public var label: String
    /// The fingerprint's parts, one line for people.
    public var summary: String
    /// How many reports it holds, and the first and last report time.
    public var reports: Int
    public var first: String
    public var last: String
}

/// One stored report, as listed.
public struct StoredReport: Sendable, Equatable {
    public var id: Int64
    public var createdAt: String
    public var file: String
    public var digest: String
    public var toolVersion: String
    public var injectedDelay: String?
}

/// One case of a machine's history, with what its latest report says about it.
public struct StoredCase: Sendable, Equatable {
    public var id: String
    public var exitsTo: String
    public var emulated: Bool
}

/// One run of one case in one report: a point of a series.
public struct SeriesRun: Sendable, Equatable {
    public var reportID: Int64
    public var gross: Double
    public var net: Double?
    /// The machine's level in this run of its report (a factor; divide the figures by it), as compare
    /// corrects each run; nil where it could not be measured or the report was stored before it was kept.
    public var level: Double?

    public init(reportID: Int64, gross: Double, net: Double?, level: Double? = nil) {
        self.reportID = reportID
        self.gross = gross
        self.net = net
        self.level = level
    }
}

/// The operations both stores offer.
public protocol HistoryStore: AnyObject {
    /// A name for messages: the file, or the PostgreSQL host and database.
    var name: String { get }
    /// Stores `record` in one transaction (its machine, the report, its cases and runs), or nothing.
    func add(_ record: HistoryRecord) throws(HistoryError) -> AddOutcome
    /// Every series group, by fingerprint key and label.
    func machines() throws(HistoryError) -> [StoredMachine]
    /// The machine's reports, oldest first (by their own time, then by when they were added).
    func reports(machine: Int64) throws(HistoryError) -> [StoredReport]
    /// The cases the machine's reports ran (status ok), by id.
    func cases(machine: Int64) throws(HistoryError) -> [StoredCase]
    /// Every run of `caseID` on the machine, in report order (as `reports`), then run order.
    func runs(machine: Int64, caseID: String) throws(HistoryError) -> [SeriesRun]
    /// Per report, every ok case's figure (median of its runs' gross cycles; with `runLevels`, of its runs
    /// each divided by the run's machine level where the report has them): for the machine's level.
    func reportFigures(machine: Int64, runLevels: Bool) throws(HistoryError) -> [Int64: [String: Double]]
    /// Releases the connection.
    func close()
}

extension HistoryStore {
    /// The group whose key (or a prefix of it, at least 4 digits) and label match; every group when `key` is
    /// nil. Fails with a line naming the choices when a key matches none or several.
    public func machines(matching key: String?, label: String?) throws(HistoryError) -> [StoredMachine] {
        let all = try machines().filter { label == nil || $0.label == label }
        guard let key else { return all }
        let found = all.filter { $0.key.hasPrefix(key.lowercased()) && key.count >= 4 }
        guard !found.isEmpty else {
            let known = all.map(\.key).joined(separator: ", ")
            throw HistoryError(.badData, "\(name): no machine \"\(key)\" (known: \(known.isEmpty ? "none" : known))")
        }
        return found
    }
}
