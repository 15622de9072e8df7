// HistoryDatabase: which store a `--db` value names — a postgres:// (or postgresql://) URL for the shared
// PostgreSQL history, anything else a SQLite file — and the default file when none is given.

import Foundation

/// Opens history stores.
public enum HistoryDatabase {
    /// The store `spec` names: PostgreSQL for postgres:// and postgresql:// URLs, else the SQLite file at
    /// that path; the default SQLite file (SQLiteHistoryStore.defaultPath) when nil. NESTPROBE_HISTORY_DB
    /// stands in for a missing `spec`.
    public static func open(
        _ spec: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        connectTimeout: Double = 10
    ) throws(HistoryError) -> any HistoryStore {
        let chosen = spec ?? environment["NESTPROBE_HISTORY_DB"].flatMap { $0.isEmpty ? nil : $0 }
        guard let chosen else {
            return try SQLiteHistoryStore(path: SQLiteHistoryStore.defaultPath(environment: environment))
        }
        if chosen.hasPrefix("postgres://") || chosen.hasPrefix("postgresql://") {
            return try PostgresHistoryStore(url: chosen, connectTimeout: connectTimeout)
        }
        return try SQLiteHistoryStore(path: chosen)
    }
}
