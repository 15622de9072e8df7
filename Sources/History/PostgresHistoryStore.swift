// PostgresHistoryStore: the shared history in PostgreSQL through postgres-nio, with HistorySchema's tables.
// Many machines add at once: the machine row and the report row are inserted with ON CONFLICT DO NOTHING on
// their unique keys (fingerprint + label, digest), inside one transaction per report, so two writers of the
// same report store it once and writers of different reports never lose each other's rows. Migrations run
// under a transaction-scoped advisory lock, so two first-time users do not race. The connection attempt
// has a deadline (connectTimeout): an unreachable server gives one line naming the host, never a hang.
//
// The store is synchronous like the CLI: each query's future is waited on, off the event loop.

import Foundation
import PostgresNIO

/// The history in a PostgreSQL database.
public final class PostgresHistoryStore: HistoryStore {
    public let name: String
    private let connection: PostgresConnection
    private let logger: Logger

    /// Connects to `url` (postgres://user[:password]@host[:port]/database[?sslmode=disable|require]) and
    /// brings the schema up to date. `connectTimeout` seconds bound the whole connection attempt.
    public init(url: String, connectTimeout: Double = 10) throws(HistoryError) {
        guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty else {
            throw HistoryError(.badData, "\(Self.redacted(url)): not a postgres://user@host:port/database URL")
        }
        let port = parts.port ?? 5432
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        let user = parts.user ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        name = "postgres://\(user)@\(host):\(port)/\(database)"
        let sslmode = parts.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        var tls: PostgresConnection.Configuration.TLS = .disable
        if sslmode == "require" || sslmode == "prefer" {
            do {
                let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                tls = sslmode == "require" ? .require(context) : .prefer(context)
            } catch {
                throw HistoryError(.unavailable, "\(name): cannot set up TLS: \(error)")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: parts.password,
            database: database.isEmpty ? nil : database,
            tls: tls)
        let timeout = TimeAmount.milliseconds(Int64(max(0.1, connectTimeout) * 1000))
        configuration.options.connectTimeout = timeout
        var logger = Logger(label: "nestprobe.history")
        logger.logLevel = .critical
        self.logger = logger
        let loop = PostgresConnection.defaultEventLoopGroup.any()
        // The deadline covers the whole attempt (TCP, TLS, startup, authentication), not only the TCP connect.
        let promise = loop.makePromise(of: PostgresConnection.self)
        let attempt = PostgresConnection.connect(on: loop, configuration: configuration, id: 1, logger: logger)
        attempt.cascade(to: promise)
        let deadline = loop.scheduleTask(in: timeout) {
            promise.fail(HistoryError(.unavailable, "no answer within \(connectTimeout) s"))
        }
        attempt.whenComplete { _ in deadline.cancel() }
        do {
            connection = try promise.futureResult.wait()
        } catch {
            attempt.whenSuccess { late in let _: EventLoopFuture<Void> = late.close() }
            throw HistoryError(.unavailable, "\(name): cannot connect to \(host):\(port): \(Self.describe(error))")
        }
        do {
            try migrate()
        } catch {
            close()
            throw error
        }
    }

    private func migrate() throws(HistoryError) {
        try perform {
            try run("BEGIN")
            do {
                // One migrator at a time across all clients; the lock ends with the transaction.
                try run("SELECT pg_advisory_xact_lock(7254920451)")
                try run(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                let applied = try connection.query("SELECT identifier FROM schema_migrations", logger: logger).wait()
                    .rows.map { try $0.decode(String.self) }
                let unknown = HistorySchema.unknown(applied)
                guard unknown.isEmpty else { throw HistoryError(.badData, HistorySchema.newerMessage(name, unknown)) }
                for step in HistorySchema.migrations where !applied.contains(step.identifier) {
                    for statement in step.statements(.postgres) { try run(statement) }
                    let now = HistoryRecord.now()
                    _ = try connection.query(
                        "INSERT INTO schema_migrations (identifier, applied_at) VALUES (\(step.identifier), \(now))",
                        logger: logger
                    ).wait()
                }
                try run("COMMIT")
            } catch {
                _ = try? run("ROLLBACK")
                throw error
            }
        }
    }

    public func add(_ record: HistoryRecord) throws(HistoryError) -> AddOutcome {
        try perform {
            try run("BEGIN")
            do {
                let outcome = try insert(record)
                if case .duplicate = outcome { try run("ROLLBACK") } else { try run("COMMIT") }
                return outcome
            } catch {
                _ = try? run("ROLLBACK")
                throw error
            }
        }
    }

    /// The inserts of one report, inside the caller's transaction.
    private func insert(_ record: HistoryRecord) throws -> AddOutcome {
        let f = record.fingerprint
        let canonical = f.canonical
        let emulatedHost = f.emulatedHost ? 1 : 0
        _ = try connection.query(
            """
            INSERT INTO machines (fingerprint, label, key, cpu, kernel, kvm_module, kvm_parameters, level, guest_level,
              hypervisors, emulated_host)
            VALUES (\(canonical), \(record.label), \(f.key), \(f.cpu), \(f.kernel), \(f.kvmModule), \(f.kvmParameters),
              \(f.level), \(f.guestLevel), \(f.hypervisors), \(emulatedHost))
            ON CONFLICT (fingerprint, label) DO NOTHING
            """, logger: logger
        ).wait()
        let machine = try connection.query(
            "SELECT id FROM machines WHERE fingerprint = \(canonical) AND label = \(record.label)", logger: logger
        ).wait().rows.first!.decode(Int64.self)
        let now = HistoryRecord.now()
        let inserted = try connection.query(
            """
            INSERT INTO reports (digest, machine_id, created_at, tool_version, file, injected_delay, added_at)
            VALUES (\(record.digest), \(machine), \(record.createdAt), \(record.toolVersion), \(record.file),
              \(record.injectedDelay), \(now))
            ON CONFLICT (digest) DO NOTHING RETURNING id
            """, logger: logger
        ).wait().rows
        guard let row = inserted.first else {
            let existing = try connection.query(
                "SELECT id FROM reports WHERE digest = \(record.digest)", logger: logger
            ).wait().rows.first!.decode(Int64.self)
            return .duplicate(existing)
        }
        let report = try row.decode(Int64.self)
        // All cases in one statement and all runs in another; NaN stands for a missing figure.
        let cases = record.cases
        let ids = cases.map(\.id)
        let levels = cases.map(\.level)
        let sources = cases.map(\.source)
        let statuses = cases.map(\.status)
        let exits = cases.map(\.exitsTo)
        let emulated = cases.map { $0.emulated ? 1 : 0 }
        let below = cases.map { $0.netBelowResolution ? 1 : 0 }
        let gross = cases.map { HistoryRecord.median($0.gross) ?? .nan }
        let net = cases.map { HistoryRecord.median($0.net.compactMap { $0 }) ?? .nan }
        let corrected = cases.map { $0.levelCorrectedGross ?? .nan }
        _ = try connection.query(
            """
            INSERT INTO cases (report_id, case_id, level, source, status, exits_to, emulated, net_below_resolution,
              gross, net, level_gross)
            SELECT \(report), i, l, s, st, e, em, b, NULLIF(g, 'NaN'::float8), NULLIF(n, 'NaN'::float8),
              NULLIF(lg, 'NaN'::float8)
            FROM unnest(\(ids)::text[], \(levels)::text[], \(sources)::text[], \(statuses)::text[], \(exits)::text[],
              \(emulated)::int8[], \(below)::int8[], \(gross)::float8[], \(net)::float8[], \(corrected)::float8[])
              AS t(i, l, s, st, e, em, b, g, n, lg)
            """, logger: logger
        ).wait()
        var runCase: [String] = []
        var runIndex: [Int] = []
        var runGross: [Double] = []
        var runNet: [Double] = []
        var runLevel: [Double] = []
        for entry in cases {
            for (run, value) in entry.gross.enumerated() {
                runCase.append(entry.id)
                runIndex.append(run)
                runGross.append(value)
                runNet.append(entry.net[run] ?? .nan)
                runLevel.append(entry.runLevel[run] ?? .nan)
            }
        }
        if !runCase.isEmpty {
            _ = try connection.query(
                """
                INSERT INTO runs (report_id, case_id, run, gross, net, level)
                SELECT \(report), c, r, g, NULLIF(n, 'NaN'::float8), NULLIF(lv, 'NaN'::float8)
                FROM unnest(\(runCase)::text[], \(runIndex)::int8[], \(runGross)::float8[], \(runNet)::float8[],
                  \(runLevel)::float8[]) AS t(c, r, g, n, lv)
                """, logger: logger
            ).wait()
        }
        return .added(report)
    }

    public func machines() throws(HistoryError) -> [StoredMachine] {
        try perform {
            try connection.query(
                """
                SELECT m.id, m.key, m.label, m.cpu, m.kernel, m.kvm_module, m.level, m.guest_level, m.hypervisors,
                  COUNT(r.id), COALESCE(MIN(r.created_at), ''), COALESCE(MAX(r.created_at), '')
                FROM machines m LEFT JOIN reports r ON r.machine_id = m.id
                GROUP BY m.id ORDER BY m.key, m.label
                """, logger: logger
            ).wait().rows.map { row in
                let (id, key, label, cpu, kernel, module, level, guestLevel, hypervisors, count, first, last) =
                    try row.decode(
                        (Int64, String, String, String, String, String, String, String, String, Int64, String, String)
                            .self)
                return StoredMachine(
                    id: id, key: key, label: label,
                    summary: SQLiteHistoryStore.summary(
                        cpu: cpu, kernel: kernel, module: module, level: level, guestLevel: guestLevel,
                        hypervisors: hypervisors),
                    reports: Int(count), first: first, last: last)
            }
        }
    }

    public func reports(machine: Int64) throws(HistoryError) -> [StoredReport] {
        try perform {
            try connection.query(
                """
                SELECT id, created_at, file, digest, tool_version, injected_delay FROM reports
                WHERE machine_id = \(machine) ORDER BY created_at, id
                """, logger: logger
            ).wait().rows.map { row in
                let (id, created, file, digest, tool, delay) =
                    try row.decode((Int64, String, String, String, String, String?).self)
                return StoredReport(
                    id: id, createdAt: created, file: file, digest: digest, toolVersion: tool, injectedDelay: delay)
            }
        }
    }

    public func cases(machine: Int64) throws(HistoryError) -> [StoredCase] {
        try perform {
            try connection.query(
                """
                SELECT DISTINCT ON (c.case_id) c.case_id, c.exits_to, c.emulated FROM cases c
                JOIN reports r ON r.id = c.report_id
                WHERE r.machine_id = \(machine) AND c.status = 'ok'
                ORDER BY c.case_id, r.created_at DESC, r.id DESC
                """, logger: logger
            ).wait().rows.map { row in
                let (id, exits, emulated) = try row.decode((String, String, Int32).self)
                return StoredCase(id: id, exitsTo: exits, emulated: emulated != 0)
            }
        }
    }

    public func runs(machine: Int64, caseID: String) throws(HistoryError) -> [SeriesRun] {
        try perform {
            try connection.query(
                """
                SELECT u.report_id, u.gross, u.net, u.level FROM runs u JOIN reports r ON r.id = u.report_id
                WHERE r.machine_id = \(machine) AND u.case_id = \(caseID) ORDER BY r.created_at, r.id, u.run
                """, logger: logger
            ).wait().rows.map { row in
                let (report, gross, net, level) = try row.decode((Int64, Double, Double?, Double?).self)
                return SeriesRun(reportID: report, gross: gross, net: net, level: level)
            }
        }
    }

    public func reportFigures(machine: Int64, runLevels: Bool) throws(HistoryError) -> [Int64: [String: Double]] {
        try perform {
            var out: [Int64: [String: Double]] = [:]
            for row in try connection.query(
                """
                SELECT c.report_id, c.case_id,
                  CASE WHEN \(runLevels) THEN COALESCE(c.level_gross, c.gross) ELSE c.gross END
                FROM cases c JOIN reports r ON r.id = c.report_id
                WHERE r.machine_id = \(machine) AND c.status = 'ok' AND c.gross IS NOT NULL
                """, logger: logger
            ).wait().rows {
                let (report, id, gross) = try row.decode((Int64, String, Double).self)
                out[report, default: [:]][id] = gross
            }
            return out
        }
    }

    public func close() {
        let closing: EventLoopFuture<Void> = connection.close()
        try? closing.wait()
    }

    /// Runs SQL that takes no parameters.
    private func run(_ sql: String) throws {
        _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
    }

    /// Runs `body`, turning the driver's errors into one line naming the database.
    private func perform<T>(_ body: () throws -> T) throws(HistoryError) -> T {
        do {
            return try body()
        } catch let error as HistoryError {
            throw error
        } catch {
            throw HistoryError(.failure, "\(name): \(Self.describe(error))")
        }
    }

    /// The server's message where there is one (PSQLError hides it from its description), else the error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HistoryError { return error.message }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = "…"
        return parts.string ?? "postgres://…"
    }
}
