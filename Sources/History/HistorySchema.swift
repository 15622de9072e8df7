// HistorySchema: the tables both stores keep, as versioned migrations. Each migration has one identifier
// and the same tables in either dialect; a store records the identifiers it applied (GRDB's migrator on
// SQLite, schema_migrations on PostgreSQL) and refuses a database that has one it does not know — a
// database written by a newer nestprobe.

import Foundation

/// The SQL dialects the stores speak.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// One schema step.
public struct HistoryMigration: Sendable {
    /// Never changed once released; recorded in the database when applied.
    public var identifier: String
    /// The statements, in order, for `dialect`.
    public var statements: @Sendable (SQLDialect) -> [String]
}

/// The schema, oldest step first.
public enum HistorySchema {
    /// Every migration this nestprobe knows.
    public static let migrations: [HistoryMigration] = [
        HistoryMigration(identifier: "v1-reports-cases-runs") { dialect in
            let id =
                dialect == .sqlite
                ? "id INTEGER PRIMARY KEY AUTOINCREMENT" : "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
            let ref = dialect == .sqlite ? "INTEGER" : "BIGINT"
            let real = dialect == .sqlite ? "REAL" : "DOUBLE PRECISION"
            return [
                """
                CREATE TABLE machines (\(id), fingerprint TEXT NOT NULL, label TEXT NOT NULL, key TEXT NOT NULL,
                  cpu TEXT NOT NULL, kernel TEXT NOT NULL, kvm_module TEXT NOT NULL, kvm_parameters TEXT NOT NULL,
                  level TEXT NOT NULL, guest_level TEXT NOT NULL, hypervisors TEXT NOT NULL,
                  emulated_host INTEGER NOT NULL, UNIQUE (fingerprint, label))
                """,
                """
                CREATE TABLE reports (\(id), digest TEXT NOT NULL UNIQUE,
                  machine_id \(ref) NOT NULL REFERENCES machines (id), created_at TEXT NOT NULL,
                  tool_version TEXT NOT NULL, file TEXT NOT NULL, injected_delay TEXT, added_at TEXT NOT NULL)
                """,
                "CREATE INDEX reports_series ON reports (machine_id, created_at, id)",
                """
                CREATE TABLE cases (report_id \(ref) NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
                  case_id TEXT NOT NULL, level TEXT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL,
                  exits_to TEXT NOT NULL, emulated INTEGER NOT NULL, net_below_resolution INTEGER NOT NULL,
                  gross \(real), net \(real), PRIMARY KEY (report_id, case_id))
                """,
                """
                CREATE TABLE runs (report_id \(ref) NOT NULL, case_id TEXT NOT NULL, run INTEGER NOT NULL,
                  gross \(real) NOT NULL, net \(real), PRIMARY KEY (report_id, case_id, run),
                  FOREIGN KEY (report_id, case_id) REFERENCES cases (report_id, case_id) ON DELETE CASCADE)
                """,
                "CREATE INDEX runs_case ON runs (case_id, report_id, run)",
            ]
        },
        // The machine's level in each run (HistoryRecord's CaseRecord.runLevel) beside the raw figures, and
        // each case's figure with it divided out: the per-run correction compare makes. NULL in reports
        // stored before this step (their series stay uncorrected per run, and the check says how many).
        HistoryMigration(identifier: "v2-run-levels") { dialect in
            let real = dialect == .sqlite ? "REAL" : "DOUBLE PRECISION"
            return [
                "ALTER TABLE runs ADD COLUMN level \(real)",
                "ALTER TABLE cases ADD COLUMN level_gross \(real)",
            ]
        },
    ]

    /// Identifiers in `applied` that this nestprobe does not know: a newer schema.
    public static func unknown(_ applied: some Sequence<String>) -> [String] {
        let known = Set(migrations.map(\.identifier))
        return applied.filter { !known.contains($0) }.sorted()
    }

    /// The message for a database with newer migrations.
    static func newerMessage(_ name: String, _ unknown: [String]) -> String {
        "\(name): the history was written by a newer nestprobe (schema step \(unknown.joined(separator: ", ")) "
            + "is unknown here); use that version or another --db"
    }
}

extension HistoryRecord {
    /// The median of `values` (nil when empty): a case's figure in one report.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Now, as ISO 8601 UTC (2026-12-06T07:53:11Z): when a report was added. FoundationEssentials' format
    /// style, not ISO8601DateFormatter: that one builds an ICU formatter and reads three time-zone files,
    /// 3–4 % of a `history add`'s CPU time here (perf), for the same text.
    static func now() -> String {
        Date().formatted(.iso8601)
    }
}
