// Rendering and the pieces behind it: sparklines, CSV quoting, JUnit, the JSON document, the machine's
// level, the newest report's own test and its adjustment across cases, and the fingerprint.

import Foundation
import Report
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
                Self.change("pio-out-user/real", -12, inWindow: true),
                Self.change("cpuid-0/long64-cpl3", 7, inWindow: true),
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

    @Test func machineLevelIsTheShorthOverCasesInEveryReport() throws {
        // Report 2 moves three of four cases by 20 %: the shorth stays with them (compare's report shift).
        var figures: [Int64: [String: Double]] = [
            1: ["a": 100, "b": 200, "c": 300, "d": 400],
            2: ["a": 120, "b": 240, "c": 360, "d": 400],
            3: ["a": 100, "b": 200, "c": 300, "d": 400, "e": 50],
        ]
        let level = SeriesBuilder.shifts(figures)
        #expect(abs(try #require(level[2]) / (try #require(level[1])) - 1.2) < 1e-9)
        #expect(abs(try #require(level[3]) - (try #require(level[1]))) < 1e-12)
        // "e" is not in every report and does not count; with two cases in every report nothing is divided.
        figures[4] = ["a": 100, "b": 200]
        #expect(SeriesBuilder.shifts(figures).isEmpty)
    }

    @Test func benjaminiHochbergAsStatsmodels() {
        // statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.005], method="fdr_bh")[1]
        let adjusted = BenjaminiHochberg.adjust([0.01, 0.04, 0.03, 0.005])
        for (ours, theirs) in zip(adjusted, [0.02, 0.04, 0.04, 0.02]) { #expect(abs(ours - theirs) < 1e-12) }
        #expect(BenjaminiHochberg.adjust([]).isEmpty)
        #expect(BenjaminiHochberg.adjust([.nan, 0.5]) == [1, 1])
    }

    /// 30 reports of 3 runs at 1,000 cycles and 3 % noise, then a newest report `factor` times that.
    static func runsSeries(_ random: inout SplitMix64, factor: Double) -> CaseSeries {
        var values: [Double] = []
        var index: [Int] = []
        for report in 0..<31 {
            for _ in 0..<3 {
                // The sum of four uniforms: near enough to Gaussian, sd 3 %.
                let u = (0..<4).map { _ in Double(random.next() % 1_000_000) / 1_000_000 - 0.5 }.reduce(0, +)
                values.append(1000 * (report == 30 ? factor : 1) * (1 + 0.03 * u * 3.0.squareRoot()))
                index.append(report)
            }
        }
        return CaseSeries(caseID: "x", values: values, reportIndex: index)
    }

    static let thirtyOneReports = (0..<31).map {
        StoredReport(id: Int64($0), createdAt: "\($0)", file: "r\($0)", digest: "", toolVersion: "", injectedDelay: nil)
    }

    @Test func newestReportTestsAreAdjustedAcrossCases() {
        // 60 cases; only the first six are 20 % slower in the newest report. Adjusted across the cases, the
        // six are flagged and none of the others, though some flat ones have raw p-values below the level.
        var random = SplitMix64(seed: 23)
        var checks = (0..<60).map { k in
            var series = Self.runsSeries(&random, factor: k < 6 ? 1.2 : 1)
            series.caseID = "case-\(k)"
            return HistoryCheck.analyse(series, reports: Self.thirtyOneReports, options: CheckOptions())
        }
        HistoryCheck.decideNewest(&checks, options: CheckOptions())
        // The raw p-values against the pooled null, known once every case is in.
        let flatRaw = checks.dropFirst(6).filter { ($0.newest?.pValue ?? 1) <= CheckOptions().newestAlpha }
        let flagged = checks.filter { !$0.changes.isEmpty }.map(\.caseID)
        #expect(flagged == (0..<6).map { "case-\($0)" })
        #expect(checks.flatMap(\.changes).allSatisfy { $0.reportIndex == 30 && $0.isRegression })
        #expect(!flatRaw.isEmpty, "no flat case with a raw p-value below the level: the test shows nothing")
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
            StoredReport(
                id: Int64($0), createdAt: "\($0)", file: "r\($0)", digest: "", toolVersion: "", injectedDelay: nil)
        }
        let check = HistoryCheck.check(
            CaseSeries(caseID: "x", values: values, reportIndex: index), reports: reports, options: CheckOptions())
        #expect(check.changes.map(\.reportIndex) == [30])
        #expect(check.changes.first?.inWindow == true)
        // Without the newest report the series is flat.
        let earlier = HistoryCheck.check(
            CaseSeries(caseID: "x", values: Array(values.prefix(90)), reportIndex: Array(index.prefix(90))),
            reports: Array(reports.prefix(30)), options: CheckOptions())
        #expect(earlier.changes.isEmpty)
    }

    @Test func recordMeasuresTheMachineLevelPerRun() throws {
        // Divided by its run's level, the cases that ran in every run have the same shorth of log figures
        // about their own mean in every run: the level is what every case shares (MachineLevel.runLevels).
        let record = try TestStores.baseRecord()
        let complete = record.cases.filter {
            $0.status == "ok" && $0.gross.count == 3 && $0.gross.allSatisfy { $0 > 0 }
        }
        #expect(complete.count >= 3)
        #expect(complete.allSatisfy { $0.runLevel.allSatisfy { $0 != nil } })
        let logs = complete.map { entry in zip(entry.gross, entry.runLevel).map { Foundation.log($0 / $1!) } }
        let centres = try (0..<3).map { run in
            try #require(MachineLevel.shorth(logs.map { $0[run] - $0.reduce(0, +) / 3 }))
        }
        #expect(centres.allSatisfy { abs($0 - centres[0]) < 1e-9 })
        // Before, the runs differed (the fixture's machine moved between them).
        let rawLogs = complete.map { $0.gross.map { Foundation.log($0) } }
        let rawCentres = try (0..<3).map { run in
            try #require(MachineLevel.shorth(rawLogs.map { $0[run] - $0.reduce(0, +) / 3 }))
        }
        #expect(rawCentres.contains { abs($0 - rawCentres[0]) > 1e-4 })
        // The raw figures are kept as the report gave them.
        #expect(complete[0].levelCorrectedGross != HistoryRecord.median(complete[0].gross))
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
