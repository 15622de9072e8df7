// The guard against a machine that moved between the two sides: when every row's figure moves by about the
// same factor (this shared machine moves by ±20–40 % between back-to-back invocations), a row whose interval
// does not clear that shift is inconclusive, not regressed; a row that moved on its own beyond the shift of
// the rest is still regressed; and the shift is reported.

import Documents
import Foundation
import Report
import Testing

@Suite("compare: the whole machine's shift")
struct MachineShiftTests {
    static let slowed = "pio-out-user/real"

    @Test("every row 30 % slower: the shift is +30 %, no row regressed, the slowed rows held back, exit 5")
    func machineMoved() throws {
        let base = try RunFixtures.side(10, offset: 0)
        let new = try RunFixtures.side(10, offset: 0.5).map {
            NamedReport(file: $0.file, report: CompareFixtures.scaled($0.report, nil, by: 1.3))
        }
        let report = try RunComparison.compare(base: base, new: new, options: RunFixtures.options())
        let shift = try #require(report.machineShift)
        #expect(abs(shift.percent - 30) < 3)
        #expect(report.summary.regressed == 0)
        #expect(report.summary.exitCode == 5)
        #expect(report.rows.contains { $0.reason == .machineShift })
        #expect(report.notes.contains { $0.contains("the machine as a whole moved") })
    }

    @Test("one case 30 % slower, the rest unchanged: the shift is about 0 and the case is regressed")
    func oneCaseMoved() throws {
        let base = try RunFixtures.side(10, offset: 0)
        let new = try RunFixtures.side(10, offset: 0.5, slowed: [Self.slowed], by: 1.3)
        let report = try RunComparison.compare(base: base, new: new, options: RunFixtures.options())
        let shift = try #require(report.machineShift)
        #expect(abs(shift.percent) < 2)
        let row = try RunFixtures.row(report, Self.slowed)
        #expect(row.verdict == .regressed)
        #expect(report.summary.exitCode == 2)
    }

    @Test("the case 60 % slower while the machine moved 30 %: still regressed, its interval clears the shift")
    func caseBeyondMachine() throws {
        let base = try RunFixtures.side(10, offset: 0)
        let new = try RunFixtures.side(10, offset: 0.5, slowed: [Self.slowed], by: 1.6 / 1.3).map {
            NamedReport(file: $0.file, report: CompareFixtures.scaled($0.report, nil, by: 1.3))
        }
        let report = try RunComparison.compare(base: base, new: new, options: RunFixtures.options())
        #expect(try RunFixtures.row(report, Self.slowed).verdict == .regressed)
        #expect(report.rows.filter { $0.verdict == .regressed }.map(\.id) == [Self.slowed])
    }
}

@Suite("compare: single paths straying from the machine's shift")
struct PathSpreadTests {
    @Test("rows stray ±8 % at random and one case is 12 % slower: held back by the path spread, not regressed")
    func heldBack() throws {
        let real = try CompareFixtures.real()
        let ids = real.cases.filter { $0.status == .ok }.map(\.id).filter { $0 != MachineShiftTests.slowed }
        let up = Set(ids.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        let down = Set(ids).subtracting(up)
        let base = try RunFixtures.side(10, offset: 0)
        let new = try RunFixtures.side(10, offset: 0.5, slowed: [MachineShiftTests.slowed], by: 1.12).map {
            NamedReport(
                file: $0.file,
                report: CompareFixtures.scaled(CompareFixtures.scaled($0.report, up, by: 1.08), down, by: 0.92))
        }
        let report = try RunComparison.compare(base: base, new: new, options: RunFixtures.options())
        let shift = try #require(report.machineShift)
        #expect(shift.pathSpreadPercent > 12)
        let row = try RunFixtures.row(report, MachineShiftTests.slowed)
        #expect(row.verdict == .inconclusive && row.reason == .machineShift)
        #expect(report.summary.regressed == 0)
    }

    @Test("the same case 40 % slower clears the spread: regressed")
    func clears() throws {
        let real = try CompareFixtures.real()
        let ids = real.cases.filter { $0.status == .ok }.map(\.id).filter { $0 != MachineShiftTests.slowed }
        let up = Set(ids.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        let down = Set(ids).subtracting(up)
        let base = try RunFixtures.side(10, offset: 0)
        let new = try RunFixtures.side(10, offset: 0.5, slowed: [MachineShiftTests.slowed], by: 1.4).map {
            NamedReport(
                file: $0.file,
                report: CompareFixtures.scaled(CompareFixtures.scaled($0.report, up, by: 1.08), down, by: 0.92))
        }
        let report = try RunComparison.compare(base: base, new: new, options: RunFixtures.options())
        #expect(try RunFixtures.row(report, MachineShiftTests.slowed).verdict == .regressed)
    }
}
