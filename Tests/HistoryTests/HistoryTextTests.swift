// Rendering and the pieces behind it: sparklines, CSV quoting, JUnit, the JSON document, the machine's
// shift, the newest report's own test, and the fingerprint.

import Foundation
import Testing

@testable import History

@Suite struct HistoryTextTests {
    @Test func sparklineSpansTheBlocks() {
        #expect(HistoryText.sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█")
        #expect(HistoryText.sparkline([5, 5, 5]) == "▄▄▄")
        #expect(HistoryText.sparkline([]) == "")
    }

    @Test func csvFieldsAreQuotedWhenTheyMustBe() {
        #expect(HistoryText.csvField("plain") == "plain")
        #expect(HistoryText.csvField("a,b") == "\"a,b\"")
        #expect(HistoryText.csvField("say \"x\"") == "\"say \"\"x\"\"\"")
        #expect(HistoryText.csvField("two\nlines") == "\"two\nlines\"")
    }

    static func result(_ changes: [CaseChange], window: Int = 5) -> CheckResult {
        var options = CheckOptions()
        options.window = window
        let machine = StoredMachine(id: 1, key: "abcd", label: "", summary: "cpu", reports: 10, first: "", last: "")
        let series = CaseSeries(caseID: "x", values: [], reportIndex: [])
        let cases = ["pio-out-user/real", "cpuid-0/long64-cpl3"].map { id in
            CaseCheck(
                caseID: id, points: 30, reportsWithPoints: 10, changes: changes.filter { $0.caseID == id }, splits: [],
                series: series)
        }
        return CheckResult(machine: machine, reportCount: 10, cases: cases, options: options)
    }

    static func change(_ id: String, _ percent: Double, inWindow: Bool) -> CaseChange {
        CaseChange(
            caseID: id, reportIndex: 9, createdAt: "t", file: "r<9>.json", before: 100, after: 100 + percent,
            changePercent: percent, pValue: 0.005, inWindow: inWindow)
    }

    @Test func exitCodesFollowTheNewestWindow() {
        #expect(Self.result([]).exitCode == 0)
        #expect(Self.result([Self.change("pio-out-user/real", 12, inWindow: true)]).exitCode == 2)
        #expect(Self.result([Self.change("pio-out-user/real", -12, inWindow: true)]).exitCode == 4)
        #expect(Self.result([Self.change("pio-out-user/real", 12, inWindow: false)]).exitCode == 0)
        #expect(
            Self.result([
                Self.change("pio-out-user/real", -12, inWindow: true), Self.change("cpuid-0/long64-cpl3", 7, inWindow: true),
            ]).exitCode == 2)
    }

    @Test func junitFailsTheRegressedCaseOnly() {
        let xml = HistoryText.check(
            Self.result([Self.change("pio-out-user/real", 12, inWindow: true)]), format: .junit)
        #expect(xml.contains("tests=\"2\" failures=\"1\""))
        #expect(xml.components(separatedBy: "<failure").count == 2)
        #expect(xml.contains("r&lt;9&gt;.json"))
        #expect(!xml.contains("r<9>"))
    }

    @Test func jsonDocumentCarriesTheVerdictAndTheWorstExitCode() throws {
        let regressed = Self.result([Self.change("pio-out-user/real", 12, inWindow: true)])
        let improved = Self.result([Self.change("cpuid-0/long64-cpl3", -8, inWindow: true)])
        let document = HistoryCheckDocument([improved, regressed], options: regressed.options)
        #expect(document.schema == "nestprobe.history-check" && document.version == 1)
        #expect(document.machines.map(\.verdict) == ["improvement", "regression"])
        #expect(document.machines.map(\.exitCode) == [4, 2])
        #expect(document.exitCode == 2)
        #expect(document.machines[1].changes.map(\.direction) == ["slower"])
        #expect(HistoryCheckDocument([improved], options: improved.options).exitCode == 4)
        #expect(HistoryCheckDocument([], options: CheckOptions()).exitCode == 0)
        let decoded = try JSONDecoder().decode(HistoryCheckDocument.self, from: JSONEncoder().encode(document))
        #expect(decoded == document)
    }

    @Test func machineShiftIsTheMedianRatio() {
        let figures: [Int64: [String: Double]] = [
            1: ["a": 100, "b": 200, "c": 300, "d": 400],
            2: ["a": 120, "b": 240, "c": 360, "d": 400],
            3: ["a": 100, "b": 200, "c": 300],
            4: ["a": 100, "b": 200],
        ]
        let shift = SeriesBuilder.shifts(figures)
        #expect(shift[3] == 1)
        #expect(shift[4] == 1)  // two cases: too few to tell a shift
        #expect(shift[2]! > 1.1 && shift[2]! <= 1.2)
    }

    @Test func newestReportIsTestedOnItsOwn() {
        // 30 reports of 3 runs, flat with noise, and a newest report 15 % higher: E-divisive alone cannot
        // split off the last report, the tail test does.
        var random = SplitMix64(seed: 11)
        var values: [Double] = []
        var index: [Int] = []
        for report in 0..<31 {
            for _ in 0..<3 {
                let noise = Double(random.next() % 1000) / 1000 * 0.04 - 0.02
                values.append(1000 * (report == 30 ? 1.15 : 1) * (1 + noise))
                index.append(report)
            }
        }
        let reports = (0..<31).map {
            StoredReport(id: Int64($0), createdAt: "\($0)", file: "r\($0)", digest: "", toolVersion: "", injectedDelay: nil)
        }
        let check = HistoryCheck.analyse(
            CaseSeries(caseID: "x", values: values, reportIndex: index), reports: reports, options: CheckOptions())
        #expect(check.changes.map(\.reportIndex) == [30])
        #expect(check.changes.first?.inWindow == true)
        // Without the newest report the series is flat.
        let earlier = HistoryCheck.analyse(
            CaseSeries(caseID: "x", values: Array(values.prefix(90)), reportIndex: Array(index.prefix(90))),
            reports: Array(reports.prefix(30)), options: CheckOptions())
        #expect(earlier.changes.isEmpty)
    }

    @Test func fingerprintIgnoresParameterOrderButNotTheirValues() throws {
        let record = try TestStores.baseRecord()
        let fingerprint = record.fingerprint
        #expect(fingerprint.key.count == 16)
        #expect(fingerprint.canonical.contains("kvmModule=kvm_pvm"))
        var other = fingerprint
        other.kvmParameters += ",extra=1"
        #expect(other.key != fingerprint.key)
    }
}
