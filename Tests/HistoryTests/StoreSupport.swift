// Stores for the tests: a SQLite file in a fresh temporary folder, or a fresh database on the PostgreSQL
// server that `make test` starts on loopback (scripts/with-postgres.sh sets NESTPROBE_TEST_POSTGRES to a
// URL of its admin database). Records are made from one real report, varied.

import Foundation
import PostgresNIO
import Testing

@testable import History

/// Where the contract tests run.
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}

enum TestStores {
    /// The PostgreSQL server's admin URL, when one was started for the tests.
    static let postgresURL: String? = ProcessInfo.processInfo.environment["NESTPROBE_TEST_POSTGRES"].flatMap {
        $0.isEmpty ? nil : $0
    }

    /// The skip reason for the PostgreSQL suite.
    static let postgresMissing =
        "no PostgreSQL server for the tests: NESTPROBE_TEST_POSTGRES is unset (make test starts one through scripts/with-postgres.sh)"

    /// A location for a new, empty history of `kind`: a file path or a postgres:// URL.
    static func freshLocation(_ kind: StoreKind) throws -> String {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return folder.appendingPathComponent("history.sqlite").path
        case .postgres:
            let admin = try #require(postgresURL)
            let name = "h_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try adminQuery(admin, "CREATE DATABASE \(name)")
            var parts = try #require(URLComponents(string: admin))
            parts.path = "/\(name)"
            return try #require(parts.string)
        }
    }

    /// A new, empty store of `kind`.
    static func fresh(_ kind: StoreKind) throws -> (store: any HistoryStore, location: String) {
        let location = try freshLocation(kind)
        return (try HistoryDatabase.open(location), location)
    }

    /// Runs one statement on the admin database.
    static func adminQuery(_ url: String, _ sql: String) throws {
        let parts = try #require(URLComponents(string: url))
        let configuration = PostgresConnection.Configuration(
            host: parts.host ?? "127.0.0.1", port: parts.port ?? 5432, username: parts.user ?? "postgres",
            password: parts.password, database: String(parts.path.dropFirst()), tls: .disable)
        var logger = Logger(label: "history-tests")
        logger.logLevel = .critical
        let connection = try PostgresConnection.connect(
            on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration, id: 9, logger: logger
        ).wait()
        defer { try? connection.close().wait() }
        _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
    }

    /// The fixture report's record.
    static func baseRecord() throws -> HistoryRecord {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/small.bench", withExtension: "json"))
        return try HistoryRecord.load(url.path, label: "")
    }

    /// The fixture's record as the `index`-th report of a series: its own digest and time (a minute apart),
    /// every run scaled by `factor(caseID)` and by a small deterministic wobble.
    static func variant(
        _ base: HistoryRecord, index: Int, label: String = "", factor: (String) -> Double = { _ in 1 }
    ) -> HistoryRecord {
        var record = base
        record.digest = "test-\(index)-" + base.digest
        record.label = label
        record.file = "report-\(index).json"
        let minute = index % 60
        let hour = index / 60
        record.createdAt = String(format: "2026-01-%02dT%02d:%02d:00Z", 1 + hour / 24, hour % 24, minute)
        var random = SplitMix64(seed: UInt64(index + 1))
        record.cases = base.cases.map { entry in
            var entry = entry
            let scale = factor(entry.id)
            entry.gross = entry.gross.map { $0 * scale * (1 + Double(random.next() % 2001) / 1e5 - 0.01) }
            entry.net = entry.net.map { $0.map { $0 * scale } }
            return entry
        }
        return record
    }
}
