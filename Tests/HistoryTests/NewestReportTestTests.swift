// The newest-report test (NewestReportTest) against NumPy: the robust z-scores, the leave-one-out scores of
// the earlier reports and the pooled p-values that Fixtures/newestreport/make_expected.py computed, and the
// test's place in a check: a report is one point, however many runs it has.

import Foundation
import Testing

@testable import History

@Suite struct NewestReportTestTests {
    struct Oracle: Decodable {
        struct Case: Decodable {
            var past: [Double]
            var newest: Double
            var deviation: Number
            var pastDeviations: [Number]
            var tail: Double?
            var pastTails: [Double]?
            var pValue: Double?
        }
        var cases: [Case]
        var edges: [Case]
    }

    /// A number, or "inf" / "-inf" as JSON has no infinity.
    struct Number: Decodable {
        var value: Double
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                value = text == "inf" ? .infinity : text == "-inf" ? -.infinity : .nan
            } else {
                value = try container.decode(Double.self)
            }
        }
    }

    static func oracle() throws -> Oracle {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/newestreport/expected", withExtension: "json"))
        return try JSONDecoder().decode(Oracle.self, from: Data(contentsOf: url))
    }

    static func close(_ a: Double, _ b: Double) -> Bool {
        if a.isInfinite || b.isInfinite { return a == b }
        return abs(a - b) <= 1e-9 * max(1, abs(b))
    }

    @Test func scoresAndPooledPValuesMatchNumPy() throws {
        let oracle = try Self.oracle()
        var scored: [NewestReportTest.Scores] = []
        for (k, expected) in (oracle.cases + oracle.edges).enumerated() {
            let result = try #require(NewestReportTest.scores(newest: expected.newest, past: expected.past))
            #expect(Self.close(result.newest, expected.deviation.value), "case \(k): \(result.newest)")
            #expect(result.past.count == expected.pastDeviations.count)
            for (mine, theirs) in zip(result.past, expected.pastDeviations) {
                #expect(Self.close(mine, theirs.value), "case \(k): \(mine) against \(theirs.value)")
            }
            // The tails by SciPy's t, to the incomplete beta function's accuracy.
            if let tail = expected.tail, let tails = expected.pastTails {
                #expect(abs(result.newestTail - tail) <= 1e-7 * max(tail, 1e-300) + 1e-14, "case \(k)")
                for (mine, theirs) in zip(result.pastTails, tails) {
                    #expect(abs(mine - theirs) <= 1e-7 * max(theirs, 1e-300) + 1e-14, "case \(k): \(mine) \(theirs)")
                }
            }
            if k < oracle.cases.count { scored.append(result) }
        }
        let null = NewestReportTest.Null(scored.flatMap(\.pastTails))
        for (result, expected) in zip(scored, oracle.cases) {
            #expect(Self.close(null.pValue(result.newestTail), try #require(expected.pValue)))
        }
        // The oracle holds small and large p-values alike, so the comparison shows something.
        let pValues = oracle.cases.compactMap(\.pValue)
        #expect(pValues.contains { $0 < 0.01 } && pValues.contains { $0 > 0.5 })
    }

    @Test func refusesWhatItCannotScore() {
        #expect(NewestReportTest.deviations(newest: 0, past: [1, 2, 3]) == nil)
        #expect(NewestReportTest.deviations(newest: 1, past: [1, -2, 3]) == nil)
        #expect(NewestReportTest.deviations(newest: 1, past: [1, 2]) == nil)
        #expect(NewestReportTest.Null([0.01, 0.2, 0.7]).pValue(.nan) == 1)
        #expect(NewestReportTest.Null([]).pValue(0.001) == 1)
        #expect(NewestReportTest.Null([0.01, 0.2, 0.7]).pValue(0.001) == 0.25)
        #expect(NewestReportTest.Null([0.01, 0.2, 0.7]).pValue(0.2) == 0.75)
        // A wider tail from fewer reports: the same z is less extreme from 10 reports than from 100.
        #expect(NewestReportTest.tail(4, reports: 10) > NewestReportTest.tail(4, reports: 100))
    }

    @Test func aReportIsOnePointHoweverManyRunsItHas() {
        // Five runs a report that agree closely within each report while reports differ by 3 %: a newest
        // report 4 % off sits inside the reports' own spread. Counting its runs as five independent points
        // would make it stand out; as one report it does not.
        var random = SplitMix64(seed: 5)
        var values: [Double] = []
        var index: [Int] = []
        for report in 0..<31 {
            let unit = Double(random.next() % 1_000_000) / 1_000_000
            let level = report == 30 ? 1.04 : 1 + 0.03 * (2 * unit - 1) * 3.0.squareRoot()
            for _ in 0..<5 {
                values.append(1000 * level * (1 + 0.001 * (Double(random.next() % 1000) / 1000 - 0.5)))
                index.append(report)
            }
        }
        let series = CaseSeries(caseID: "x", values: values, reportIndex: index)
        let points = NewestReportTest.reportPoints(series)
        #expect(points.medians.count == 31 && points.starts == (0..<31).map { $0 * 5 })
        let check = HistoryCheck.check(series, reports: HistoryTextTests.thirtyOneReports, options: CheckOptions())
        #expect(check.newest != nil)
        #expect(check.changes.isEmpty, "\(check.changes)")
        // The same series 20 % higher in the newest report is flagged there.
        var stepped = series
        for i in 150..<155 { stepped.values[i] *= 1.2 / 1.04 }
        let flagged = HistoryCheck.check(stepped, reports: HistoryTextTests.thirtyOneReports, options: CheckOptions())
        #expect(flagged.changes.map(\.reportIndex) == [30])
    }

    @Test func tooFewEarlierReportsMeansNoTest() {
        let values = (0..<7).map { Double(1000 + $0) } + [1500]
        let series = CaseSeries(caseID: "x", values: values, reportIndex: Array(0..<8))
        let reports = Array(HistoryTextTests.thirtyOneReports.prefix(8))
        #expect(HistoryCheck.check(series, reports: reports, options: CheckOptions()).newest == nil)
    }
}
