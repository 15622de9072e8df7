// The same behaviour from both stores: idempotent add, one transaction per report, series in the reports'
// order, machines by fingerprint and label, concurrent writers, a newer schema refused, and `check` and
// `baseline` on a stored series with a known step. Each test runs on a fresh SQLite file and, where the
// test run started a PostgreSQL server, on a fresh database there.

import Foundation
import GRDB
import Testing

@testable import History

/// The contract, written once.
enum StoreContract {
    static func addIsIdempotent(_ kind: StoreKind) throws {
        let (store, _) = try TestStores.fresh(kind)
        defer { store.close() }
        let base = try TestStores.baseRecord()
        let first = try store.add(base)
        guard case .added(let id) = first else {
            Issue.record("first add: \(first)")
            return
        }
        #expect(try store.add(base) == .duplicate(id))
        let machines = try store.machines()
        #expect(machines.count == 1)
        #expect(machines.first?.reports == 1)
        #expect(machines.first?.key == base.fingerprint.key)
        let reports = try store.reports(machine: machines[0].id)
        #expect(reports.map(\.digest) == [base.digest])
        // Every ok case's runs are there, as recorded.
        let ok = base.cases.filter { $0.status == "ok" && !$0.gross.isEmpty }
        #expect(try store.cases(machine: machines[0].id).map(\.id) == ok.map(\.id).sorted())
        let entry = try #require(ok.first { $0.net.contains { $0 != nil } })
        let runs = try store.runs(machine: machines[0].id, caseID: entry.id)
        #expect(runs.map(\.gross) == entry.gross)
        #expect(runs.map(\.net) == entry.net)
    }

    static func failedAddStoresNothing(_ kind: StoreKind) throws {
        let (store, _) = try TestStores.fresh(kind)
        defer { store.close() }
        let base = try TestStores.baseRecord()
        _ = try store.add(TestStores.variant(base, index: 0))
        // Two cases with one id break the cases table's key half-way through the report.
        var broken = TestStores.variant(base, index: 1)
        broken.cases.append(broken.cases[broken.cases.count - 1])
        #expect(throws: HistoryError.self) { try store.add(broken) }
        let machines = try store.machines()
        #expect(machines.map(\.reports) == [1])
        #expect(try store.reports(machine: machines[0].id).map(\.file) == ["report-0.json"])
        // The store is still usable, and the fixed report goes in.
        #expect(throws: Never.self) { try store.add(TestStores.variant(base, index: 1)) }
        #expect(try store.machines().map(\.reports) == [2])
    }

    static func seriesFollowTheReportsTime(_ kind: StoreKind) throws {
        let (store, _) = try TestStores.fresh(kind)
        defer { store.close() }
        let base = try TestStores.baseRecord()
        // Added out of order; the series follows createdAt.
        for index in [3, 0, 2, 1] {
            _ = try store.add(TestStores.variant(base, index: index, factor: { _ in Double(index + 1) }))
        }
        // Another label is another series.
        _ = try store.add(TestStores.variant(base, index: 7, label: "c7i.metal"))
        let machines = try store.machines()
        #expect(machines.map(\.label).sorted() == ["", "c7i.metal"])
        let plain = try #require(machines.first { $0.label.isEmpty })
        #expect(try store.reports(machine: plain.id).map(\.file) == (0...3).map { "report-\($0).json" })
        let entry = try #require(base.cases.first { $0.status == "ok" && !$0.gross.isEmpty })
        let builder = try SeriesBuilder(store: store, machine: plain.id, figure: .gross, normalize: false)
        let medians = try builder.series(entry.id).reportMedians.map(\.value)
        #expect(medians.count == 4)
        #expect(medians == medians.sorted())
        // Every case scaled alike: the machine's shift takes it all out.
        let shifted = try SeriesBuilder(store: store, machine: plain.id, figure: .gross, normalize: true)
        let flat = try shifted.series(entry.id).reportMedians.map(\.value)
        #expect(flat.max()! / flat.min()! < 1.05)
        #expect(try store.machines(matching: String(plain.key.prefix(6)), label: "").map(\.id) == [plain.id])
        #expect(throws: HistoryError.self) { try store.machines(matching: "ffffffff", label: nil) }
    }

    static func runLevelsAreKeptBesideTheRawFigures(_ kind: StoreKind) throws {
        let (store, _) = try TestStores.fresh(kind)
        defer { store.close() }
        let base = try TestStores.baseRecord()
        // The record measured the machine's level in each of the fixture's runs (compare's correction).
        let entry = try #require(base.cases.first { $0.status == "ok" && $0.gross.count == 3 })
        let levels = entry.runLevel.compactMap { $0 }
        #expect(levels.count == 3)
        // Reports whose every case's run r is `swing[r]` times the fixture's: the level moves the same.
        let swing = [1.0, 1.3, 0.8]
        for index in 0..<4 {
            var record = TestStores.variant(base, index: index)
            record.cases = record.cases.map { entry in
                var entry = entry
                entry.gross = entry.gross.enumerated().map { run, value in value * swing[run % 3] }
                entry.runLevel = entry.runLevel.enumerated().map { run, level in level.map { $0 * swing[run % 3] } }
                return entry
            }
            _ = try store.add(record)
        }
        let machine = try #require(try store.machines().first)
        // Raw figures and the levels come back as stored.
        let runs = try store.runs(machine: machine.id, caseID: entry.id)
        #expect(runs.count == 12)
        for (k, run) in runs.prefix(3).enumerated() {
            #expect(abs(try #require(run.level) / (levels[k] * swing[k]) - 1) < 1e-12)
        }
        #expect(abs(runs[1].gross / runs[0].gross - swing[1] / swing[0] * entry.gross[1] / entry.gross[0]) < 0.05)
        // The report figure with the levels divided out is the corrected median; without, the raw one.
        let corrected = try store.reportFigures(machine: machine.id, runLevels: true)
        let raw = try store.reportFigures(machine: machine.id, runLevels: false)
        let first = try #require(corrected.keys.min())
        let expected = try #require(
            HistoryRecord.median(zip(runs.prefix(3).map(\.gross), runs.prefix(3).map { $0.level! }).map { $0 / $1 }))
        #expect(abs(try #require(corrected[first]?[entry.id]) / expected - 1) < 1e-12)
        #expect(
            abs(try #require(raw[first]?[entry.id]) / HistoryRecord.median(runs.prefix(3).map(\.gross))! - 1) < 1e-12)
        // The series divides each run by its level: the runs' swing is gone, and without it is back.
        let levelled = try SeriesBuilder(store: store, machine: machine.id, figure: .gross, normalize: false)
        let kept = try SeriesBuilder(
            store: store, machine: machine.id, figure: .gross, normalize: false, runLevels: false)
        let even = try levelled.series(entry.id)
        let swung = try kept.series(entry.id)
        #expect(even.runLevelReports == 4)
        #expect(swung.runLevelReports == 0)
        let moved = levels[1] * swing[1] / (levels[0] * swing[0])
        #expect(abs(swung.values[1] / swung.values[0] / (even.values[1] / even.values[0]) / moved - 1) < 1e-9)
    }

    static func olderHistoryGainsRunLevels(_ kind: StoreKind) throws {
        // A history of the first schema step only, as an earlier nestprobe left it, with one report.
        let location = try TestStores.freshLocation(kind)
        let first = try #require(HistorySchema.migrations.first)
        let old = try TestStores.baseRecord()
        var statements = first.statements(kind == .sqlite ? .sqlite : .postgres)
        statements += [
            """
            INSERT INTO machines (fingerprint, label, key, cpu, kernel, kvm_module, kvm_parameters, level, guest_level,
              hypervisors, emulated_host) VALUES ('old', '', 'oldoldoldoldold0', 'cpu', 'k', 'kvm', '', 'L1', 'L2', '', 0)
            """,
            """
            INSERT INTO reports (digest, machine_id, created_at, tool_version, file, injected_delay, added_at)
              VALUES ('old', 1, '2025-01-01T00:00:00Z', 'old', 'old.json', NULL, 'then')
            """,
            "INSERT INTO cases VALUES (1, 'x', 'L2', 'case', 'ok', 'kernel', 0, 0, 100, 90)",
            "INSERT INTO runs VALUES (1, 'x', 0, 100, 90)",
        ]
        switch kind {
        case .sqlite:
            let queue = try DatabaseQueue(path: location)
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('\(first.identifier)')")
                for statement in statements { try db.execute(sql: statement) }
            }
            try queue.close()
        case .postgres:
            try TestStores.adminQuery(
                location, "CREATE TABLE schema_migrations (identifier TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            try TestStores.adminQuery(
                location, "INSERT INTO schema_migrations VALUES ('\(first.identifier)', 'then')")
            for statement in statements { try TestStores.adminQuery(location, statement) }
        }
        // Opened by this nestprobe: the next step is applied, the old run keeps no level, new ones get theirs.
        let store = try HistoryDatabase.open(location)
        defer { store.close() }
        #expect(try store.runs(machine: 1, caseID: "x").map(\.level) == [nil])
        #expect(try store.reportFigures(machine: 1, runLevels: true)[1]?["x"] == 100)
        _ = try store.add(old)
        let machine = try #require(try store.machines().first { $0.key == old.fingerprint.key })
        let entry = try #require(old.cases.first { $0.status == "ok" && $0.gross.count == 3 })
        #expect(try store.runs(machine: machine.id, caseID: entry.id).allSatisfy { $0.level != nil })
    }

    static func concurrentWritersLoseNothing(_ kind: StoreKind) throws {
        let location = try TestStores.freshLocation(kind)
        // Create the schema first, then two writers with overlapping reports at once.
        try HistoryDatabase.open(location).close()
        let base = try TestStores.baseRecord()
        let records = (0..<12).map { TestStores.variant(base, index: $0) }
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: 2) { writer in
            do {
                let store = try HistoryDatabase.open(location)
                defer { store.close() }
                // Writer 0 adds 0–8, writer 1 adds 4–11 backwards: 4–8 race.
                let mine = writer == 0 ? Array(records[0...8]) : Array(records[4...11].reversed())
                for record in mine { _ = try store.add(record) }
            } catch {
                errors.append("\(error)")
            }
        }
        #expect(errors.items.isEmpty, "\(errors.items)")
        let store = try HistoryDatabase.open(location)
        defer { store.close() }
        let machines = try store.machines()
        #expect(machines.count == 1)
        let reports = try store.reports(machine: machines[0].id)
        #expect(reports.map(\.file) == (0..<12).map { "report-\($0).json" })
        let entry = try #require(base.cases.first { $0.status == "ok" && !$0.gross.isEmpty })
        #expect(try store.runs(machine: machines[0].id, caseID: entry.id).count == 12 * entry.gross.count)
    }

    static func newerSchemaIsRefused(_ kind: StoreKind) throws {
        let location = try TestStores.freshLocation(kind)
        try HistoryDatabase.open(location).close()
        switch kind {
        case .sqlite:
            let queue = try DatabaseQueue(path: location)
            try queue.write {
                try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
            }
            try queue.close()
        case .postgres:
            try TestStores.adminQuery(
                location, "INSERT INTO schema_migrations (identifier, applied_at) VALUES ('v9-from-the-future', 'x')")
        }
        do {
            _ = try HistoryDatabase.open(location)
            Issue.record("a database with a newer schema step was opened")
        } catch {
            #expect(error.kind == .badData)
            #expect(error.message.contains("newer nestprobe"))
            #expect(error.message.contains("v9-from-the-future"))
        }
    }

    static func checkFindsTheStepAndTheBaseline(_ kind: StoreKind) throws {
        let (store, _) = try TestStores.fresh(kind)
        defer { store.close() }
        let base = try TestStores.baseRecord()
        let user = base.cases.filter { $0.exitsTo == "user-space" && $0.status == "ok" }.map(\.id)
        #expect(user.count >= 4)
        // 24 reports; from report 18 on the user-space exits are 15 % slower; every report also moves the
        // whole machine by up to ±20 %, which the check divides out.
        for index in 0..<24 {
            let machine = 1 + 0.2 * sin(Double(index) * 1.7)
            _ = try store.add(
                TestStores.variant(base, index: index) { id in
                    machine * (index >= 18 && user.contains(id) ? 1.15 : 1)
                })
        }
        let machine = try #require(try store.machines().first)
        var options = CheckOptions()
        options.window = 8
        let result = try HistoryCheck.run(store: store, machine: machine, options: options)
        let changed = Set(result.cases.filter { !$0.changes.isEmpty }.map(\.caseID))
        #expect(changed == Set(user))
        for change in result.cases.flatMap(\.changes) {
            #expect(change.reportIndex == 18)
            #expect(change.isRegression)
            #expect(abs(change.changePercent - 15) < 4)
        }
        #expect(result.exitCode == 2)
        let baseline = HistoryCheck.baseline(
            result, reports: try store.reports(machine: machine.id), limit: 100)
        #expect(baseline.map(\.file) == (18..<23).map { "report-\($0).json" })
        // A narrower window no longer holds the change point: exit 0.
        options.window = 3
        #expect(try HistoryCheck.run(store: store, machine: machine, options: options).exitCode == 0)
        // Faster instead: improvements only.
        let (faster, _) = try TestStores.fresh(kind)
        defer { faster.close() }
        for index in 0..<24 {
            _ = try faster.add(
                TestStores.variant(base, index: index) { id in index >= 20 && user.contains(id) ? 0.85 : 1 })
        }
        options.window = 5
        let improved = try HistoryCheck.run(
            store: faster, machine: try #require(try faster.machines().first), options: options)
        #expect(improved.exitCode == 4)
    }
}

/// Errors collected from several threads.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ item: String) { lock.withLock { stored.append(item) } }
    var items: [String] { lock.withLock { stored } }
}

@Suite("History on SQLite") struct SQLiteStoreTests {
    @Test func addIsIdempotent() throws { try StoreContract.addIsIdempotent(.sqlite) }
    @Test func failedAddStoresNothing() throws { try StoreContract.failedAddStoresNothing(.sqlite) }
    @Test func seriesFollowTheReportsTime() throws { try StoreContract.seriesFollowTheReportsTime(.sqlite) }
    @Test func runLevelsAreKeptBesideTheRawFigures() throws {
        try StoreContract.runLevelsAreKeptBesideTheRawFigures(.sqlite)
    }
    @Test func olderHistoryGainsRunLevels() throws { try StoreContract.olderHistoryGainsRunLevels(.sqlite) }
    @Test func concurrentWritersLoseNothing() throws { try StoreContract.concurrentWritersLoseNothing(.sqlite) }
    @Test func newerSchemaIsRefused() throws { try StoreContract.newerSchemaIsRefused(.sqlite) }
    @Test func checkFindsTheStepAndTheBaseline() throws { try StoreContract.checkFindsTheStepAndTheBaseline(.sqlite) }
}

@Suite(
    "History on PostgreSQL", .enabled(if: TestStores.postgresURL != nil, Comment(rawValue: TestStores.postgresMissing)))
struct PostgresStoreTests {
    @Test func addIsIdempotent() throws { try StoreContract.addIsIdempotent(.postgres) }
    @Test func failedAddStoresNothing() throws { try StoreContract.failedAddStoresNothing(.postgres) }
    @Test func seriesFollowTheReportsTime() throws { try StoreContract.seriesFollowTheReportsTime(.postgres) }
    @Test func runLevelsAreKeptBesideTheRawFigures() throws {
        try StoreContract.runLevelsAreKeptBesideTheRawFigures(.postgres)
    }
    @Test func olderHistoryGainsRunLevels() throws { try StoreContract.olderHistoryGainsRunLevels(.postgres) }
    @Test func concurrentWritersLoseNothing() throws { try StoreContract.concurrentWritersLoseNothing(.postgres) }
    @Test func newerSchemaIsRefused() throws { try StoreContract.newerSchemaIsRefused(.postgres) }
    @Test func checkFindsTheStepAndTheBaseline() throws { try StoreContract.checkFindsTheStepAndTheBaseline(.postgres) }
}

@Suite struct PostgresConnectionTests {
    @Test func unreachableServerIsOneLineNamingTheHost() throws {
        // A port on loopback where nothing listens: refused, one line naming the host.
        do {
            _ = try PostgresHistoryStore(url: "postgres://nobody@127.0.0.1:1/none", connectTimeout: 2)
            Issue.record("connected to port 1")
        } catch {
            #expect(error.kind == .unavailable)
            #expect(error.message.contains("127.0.0.1:1"))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func badURLIsBadData() {
        #expect(throws: HistoryError(.badData, "postgres:///nohost: not a postgres://user@host:port/database URL")) {
            try PostgresHistoryStore(url: "postgres:///nohost")
        }
    }
}
