// compare with several reports a side, each report one replicate: A/A sets with per-row noise and a
// machine that moves between reports stay clean; a slowdown of some rows is caught on those rows only;
// a machine that moved as a whole between the sides is inconclusive, not same; --pool turns it off.

import Documents
import Foundation
import Testing

@testable import Report

enum ReplicateFixtures {
    /// A side of `count` reports made from the real report: each report's machine level is drawn from
    /// ±`level`, each row's own noise from N(0, `noise`) (log scale), and the `slowed` rows take `factor`.
    static func side(
        _ count: Int, seed: UInt64, level: Double = 0.08, noise: Double = 0.03, slowed: Set<String> = [],
        by factor: Double = 1, machine: Double = 1
    ) throws -> [NamedReport] {
        let real = try CompareFixtures.real()
        var generator = SplitMix64(seed: seed)
        let ids = real.hostLevel.map(\.id) + real.cases.filter { $0.status == .ok }.map(\.id)
        return (0..<count).map { index in
            var report = CompareFixtures.scaled(real, nil, by: machine * (1 + level * (2 * generator.unit() - 1)))
            for id in ids {
                let own = Foundation.exp(noise * generator.normal()) * (slowed.contains(id) ? factor : 1)
                report = CompareFixtures.scaled(report, [id], by: own)
            }
            return NamedReport(file: "seed\(seed)-\(index).json", report: report)
        }
    }

    static func options() -> RunCompareOptions {
        var options = RunCompareOptions()
        options.resamples = 200
        // The empty loop and the timing pair are a few cycles of integer samples at CPL3: scaling them by a
        // random factor and rounding makes jumps of whole cycles that no real run shows.
        options.selection.exclude = ["null/*", "rdtsc/*"]
        return options
    }
}

/// Draws for the fixtures from Documents' seeded generator, so they are the same on every run.
extension SplitMix64 {
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// A standard normal draw (Box–Muller).
    mutating func normal() -> Double {
        let (u, v) = (max(unit(), 1e-300), unit())
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
    }
}

@Suite("compare: reports as replicates")
struct ReplicateCompareTests {
    static let slowed: Set<String> = [
        "pio-out-user/real", "pio-in-user/real", "mmio-write-user/long64-cpl0", "hlt/real",
    ]

    @Test("A/A: four reports a side, rows ±3 %, machine ±8 % per report: nothing regressed or improved")
    func aa() throws {
        for seed in UInt64(1)...4 {
            let base = try ReplicateFixtures.side(4, seed: seed)
            let new = try ReplicateFixtures.side(4, seed: seed + 100)
            let report = try RunComparison.compare(base: base, new: new, options: ReplicateFixtures.options())
            let replication = try #require(report.replication)
            #expect(replication.baseReports == 4 && replication.newReports == 4)
            #expect(report.rows.contains { $0.test == "moderated-t" })
            #expect(report.summary.regressed == 0 && report.summary.improved == 0, "seed \(seed)")
            #expect([0, 5].contains(report.summary.exitCode))
        }
    }

    @Test("four rows 20 % slower while the machine moves: those rows regressed, no other, exit 2")
    func slowedRows() throws {
        let base = try ReplicateFixtures.side(4, seed: 7)
        let new = try ReplicateFixtures.side(4, seed: 8, slowed: Self.slowed, by: 1.2)
        let report = try RunComparison.compare(base: base, new: new, options: ReplicateFixtures.options())
        let regressed = Set(report.rows.filter { $0.verdict == .regressed }.map(\.id))
        #expect(!regressed.isEmpty)
        #expect(regressed.isSubset(of: Self.slowed))
        #expect(
            report.summary.improved == 0,
            "\(report.rows.filter { $0.verdict == .improved }.map { "\($0.id) \($0.changePercent ?? 0) \($0.changeCI95Percent ?? []) \($0.adjustedP ?? 1)" })"
        )
        #expect(report.summary.exitCode == 2)
        for id in regressed {
            let row = try RunFixtures.row(report, id)
            #expect(try #require(row.changeCI95Percent)[0] > 0)
            #expect(row.detectable == "percent")
        }
    }

    @Test("every row 30 % slower on the new side: the machine moved, unmoved rows inconclusive, exit 5")
    func machineMoved() throws {
        let base = try ReplicateFixtures.side(4, seed: 11, level: 0.03)
        let new = try ReplicateFixtures.side(4, seed: 12, level: 0.03, machine: 1.3)
        let report = try RunComparison.compare(base: base, new: new, options: ReplicateFixtures.options())
        let replication = try #require(report.replication)
        #expect(replication.machineMoved)
        #expect(abs(try #require(report.machineShift).percent - 30) < 4)
        #expect(report.summary.regressed == 0)
        #expect(report.summary.exitCode == 5)
        #expect(report.rows.contains { $0.reason == .machineShift })
        #expect(report.notes.contains { $0.contains("the machine as a whole moved") })
    }

    @Test("--pool (replicates off) judges the pooled runs, with no replicate summary")
    func pooled() throws {
        var options = ReplicateFixtures.options()
        options.replicates = false
        let report = try RunComparison.compare(
            base: try ReplicateFixtures.side(3, seed: 21), new: try ReplicateFixtures.side(3, seed: 22),
            options: options)
        #expect(report.replication == nil)
        #expect(!report.rows.contains { $0.test == "moderated-t" })
    }

    @Test("one report a side: no replicate test, and a note says why to take more")
    func oneReport() throws {
        let report = try RunComparison.compare(
            base: try ReplicateFixtures.side(1, seed: 31), new: try ReplicateFixtures.side(1, seed: 32),
            options: ReplicateFixtures.options())
        #expect(report.replication == nil)
        #expect(report.notes.contains { $0.contains("one report a side") })
    }
}
