// SQLiteHistoryStore: the embedded history, one SQLite file through GRDB. Migrations run through GRDB's
// DatabaseMigrator with the shared HistorySchema steps; a file with a step this nestprobe does not know is
// refused before anything is written. Each add is one immediate transaction, so two `history add` at once
// wait for each other (busy timeout) and never interleave.

import Foundation
import GRDB

/// The history in one SQLite file.
public final class SQLiteHistoryStore: HistoryStore {
    public let name: String
    private let queue: DatabaseQueue

    /// The default file: $XDG_DATA_HOME/nestprobe/history.sqlite, else ~/.local/share/nestprobe/history.sqlite.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.local/share")
        return base + "/nestprobe/history.sqlite"
    }

    /// Opens (creating it and its folder if needed) the history at `path` and brings its schema up to date.
    public init(path: String) throws(HistoryError) {
        name = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw HistoryError(.unavailable, "\(path): cannot create its folder: \(error.localizedDescription)")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.foreignKeysEnabled = true
        // Write-ahead logging with synchronous=NORMAL: a commit appends to the log and does not wait for the
        // disk (the default rollback journal waited for four syncs, 30–60 ms of the 85 ms an add took here);
        // the file stays consistent after a crash or power loss, which may lose only the last adds.
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw HistoryError(.unavailable, "\(path): cannot open: \(Self.describe(error))")
        }
        try migrate()
    }

    private func migrate() throws(HistoryError) {
        var migrator = DatabaseMigrator()
        for step in HistorySchema.migrations {
            migrator.registerMigration(step.identifier) { db in
                for statement in step.statements(.sqlite) { try db.execute(sql: statement) }
            }
        }
        do {
            let unknown = try queue.read { db in try HistorySchema.unknown(migrator.appliedIdentifiers(db)) }
            guard unknown.isEmpty else { throw HistoryError(.badData, HistorySchema.newerMessage(name, unknown)) }
            try migrator.migrate(queue)
        } catch let error as HistoryError {
            throw error
        } catch {
            throw HistoryError(.badData, "\(name): not a nestprobe history: \(Self.describe(error))")
        }
    }

    public func add(_ record: HistoryRecord) throws(HistoryError) -> AddOutcome {
        try perform {
            try queue.write { db -> AddOutcome in
                let fingerprint = record.fingerprint
                try db.execute(
                    sql: """
                        INSERT INTO machines (fingerprint, label, key, cpu, kernel, kvm_module, kvm_parameters, level,
                          guest_level, hypervisors, emulated_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (fingerprint, label) DO NOTHING
                        """,
                    arguments: [
                        fingerprint.canonical, record.label, fingerprint.key, fingerprint.cpu, fingerprint.kernel,
                        fingerprint.kvmModule, fingerprint.kvmParameters, fingerprint.level, fingerprint.guestLevel,
                        fingerprint.hypervisors, fingerprint.emulatedHost ? 1 : 0,
                    ])
                let machine = try Int64.fetchOne(
                    db, sql: "SELECT id FROM machines WHERE fingerprint = ? AND label = ?",
                    arguments: [fingerprint.canonical, record.label])!
                if let existing = try Int64.fetchOne(
                    db, sql: "SELECT id FROM reports WHERE digest = ?", arguments: [record.digest])
                {
                    return .duplicate(existing)
                }
                try db.execute(
                    sql: """
                        INSERT INTO reports (digest, machine_id, created_at, tool_version, file, injected_delay, added_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        record.digest, machine, record.createdAt, record.toolVersion, record.file,
                        record.injectedDelay, HistoryRecord.now(),
                    ])
                let report = db.lastInsertedRowID
                let caseStatement = try db.makeStatement(
                    sql: """
                        INSERT INTO cases (report_id, case_id, level, source, status, exits_to, emulated,
                          net_below_resolution, gross, net, level_gross) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """)
                let runStatement = try db.makeStatement(
                    sql: "INSERT INTO runs (report_id, case_id, run, gross, net, level) VALUES (?, ?, ?, ?, ?, ?)")
                for entry in record.cases {
                    try caseStatement.execute(arguments: [
                        report, entry.id, entry.level, entry.source, entry.status, entry.exitsTo,
                        entry.emulated ? 1 : 0, entry.netBelowResolution ? 1 : 0,
                        HistoryRecord.median(entry.gross), HistoryRecord.median(entry.net.compactMap { $0 }),
                        entry.levelCorrectedGross,
                    ])
                    for (run, gross) in entry.gross.enumerated() {
                        try runStatement.execute(arguments: [
                            report, entry.id, run, gross, entry.net[run], entry.runLevel[run],
                        ])
                    }
                }
                return .added(report)
            }
        }
    }

    public func machines() throws(HistoryError) -> [StoredMachine] {
        try perform {
            try queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT m.id, m.key, m.label, m.cpu, m.kernel, m.kvm_module, m.level, m.guest_level,
                          m.hypervisors, COUNT(r.id) AS n, MIN(r.created_at) AS first, MAX(r.created_at) AS last
                        FROM machines m LEFT JOIN reports r ON r.machine_id = m.id
                        GROUP BY m.id ORDER BY m.key, m.label
                        """
                ).map { row in
                    StoredMachine(
                        id: row["id"], key: row["key"], label: row["label"],
                        summary: Self.summary(
                            cpu: row["cpu"], kernel: row["kernel"], module: row["kvm_module"], level: row["level"],
                            guestLevel: row["guest_level"], hypervisors: row["hypervisors"]),
                        reports: row["n"], first: row["first"] ?? "", last: row["last"] ?? "")
                }
            }
        }
    }

    public func reports(machine: Int64) throws(HistoryError) -> [StoredReport] {
        try perform {
            try queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, created_at, file, digest, tool_version, injected_delay FROM reports
                        WHERE machine_id = ? ORDER BY created_at, id
                        """, arguments: [machine]
                ).map { row in
                    StoredReport(
                        id: row["id"], createdAt: row["created_at"], file: row["file"], digest: row["digest"],
                        toolVersion: row["tool_version"], injectedDelay: row["injected_delay"])
                }
            }
        }
    }

    public func cases(machine: Int64) throws(HistoryError) -> [StoredCase] {
        try perform {
            try queue.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.case_id, c.exits_to, c.emulated FROM cases c
                        JOIN reports r ON r.id = c.report_id
                        WHERE r.machine_id = ? AND c.status = 'ok'
                        AND r.id = (SELECT r2.id FROM reports r2 JOIN cases c2 ON c2.report_id = r2.id
                          WHERE r2.machine_id = r.machine_id AND c2.case_id = c.case_id AND c2.status = 'ok'
                          ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1)
                        ORDER BY c.case_id
                        """, arguments: [machine]
                ).map { row in
                    StoredCase(id: row["case_id"], exitsTo: row["exits_to"], emulated: (row["emulated"] as Int) != 0)
                }
            }
        }
    }

    public func runs(machine: Int64, caseID: String) throws(HistoryError) -> [SeriesRun] {
        try perform {
            try queue.read { db in
                var out: [SeriesRun] = []
                let cursor = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT u.report_id, u.gross, u.net, u.level FROM runs u JOIN reports r ON r.id = u.report_id
                        WHERE r.machine_id = ? AND u.case_id = ? ORDER BY r.created_at, r.id, u.run
                        """, arguments: [machine, caseID])
                while let row = try cursor.next() {
                    out.append(SeriesRun(reportID: row[0], gross: row[1], net: row[2], level: row[3]))
                }
                return out
            }
        }
    }

    public func reportFigures(machine: Int64, runLevels: Bool) throws(HistoryError) -> [Int64: [String: Double]] {
        let figure = runLevels ? "COALESCE(c.level_gross, c.gross)" : "c.gross"
        return try perform {
            try queue.read { db in
                var out: [Int64: [String: Double]] = [:]
                let cursor = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT c.report_id, c.case_id, \(figure) FROM cases c JOIN reports r ON r.id = c.report_id
                        WHERE r.machine_id = ? AND c.status = 'ok' AND c.gross IS NOT NULL
                        """, arguments: [machine])
                while let row = try cursor.next() {
                    out[row[0], default: [:]][row[1] as String] = row[2] as Double
                }
                return out
            }
        }
    }

    public func close() {
        try? queue.close()
    }

    /// Runs `body`, turning GRDB's errors into one line naming the file.
    private func perform<T>(_ body: () throws -> T) throws(HistoryError) -> T {
        do {
            return try body()
        } catch let error as HistoryError {
            throw error
        } catch {
            throw HistoryError(.failure, "\(name): \(Self.describe(error))")
        }
    }

    /// GRDB's message for `error`, on one line.
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "\(error.resultCode)"
        }
        return "\(error)"
    }

    /// The fingerprint's summary from its stored parts.
    static func summary(
        cpu: String, kernel: String, module: String, level: String, guestLevel: String, hypervisors: String
    ) -> String {
        "\(cpu) · \(kernel) · \(module) · \(level)→\(guestLevel)"
            + (hypervisors.isEmpty ? "" : " · under \(hypervisors)")
    }
}
