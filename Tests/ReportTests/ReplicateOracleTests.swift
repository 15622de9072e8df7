// The replicate test behind compare with several reports a side, checked against SciPy and NumPy
// (Fixtures/compare-replicates/expected.json, made by make_expected.py beside it): the special functions,
// Student's t, the shorth, the empirical-Bayes prior, the report shifts and a whole judgement.

import Foundation
import Testing

@testable import Report

struct ReplicateOracle: Decodable {
    struct PolygammaCase: Decodable {
        var x: Double
        var digamma: Double
        var trigamma: Double
        var tetragamma: Double
    }
    struct InverseCase: Decodable {
        var y: Double
        var x: Double
    }
    struct TCase: Decodable {
        var t: Double
        var degrees: Double
        var p: Double
    }
    struct QuantileCase: Decodable {
        var p: Double
        var degrees: Double
        var t: Double
    }
    struct BetaCase: Decodable {
        var x: Double
        var a: Double
        var b: Double
        var value: Double
    }
    struct ShorthCase: Decodable {
        var values: [Double]
        var shorth: Double
    }
    struct PriorCase: Decodable {
        struct Result: Decodable {
            var d0: Double?
            var s0: Double
        }
        var variances: [Double]
        var degrees: Double
        var result: Result
    }
    struct Row: Decodable {
        var id: String
        var base: [Double]
        var new: [Double]
        var thresholdPercent: Double
    }
    struct RowResult: Decodable {
        var id: String
        var change: Double
        var interval: [Double]
        var t: Double
        var degrees: Double?
        var p: Double
        var adjustedP: Double
        var detectable: Double
    }
    struct Judgement: Decodable {
        struct Result: Decodable {
            var priorDegrees: Double?
            var priorVariance: Double
            var rows: [RowResult]
        }
        var alpha: Double
        var rows: [Row]
        var covariate: [Double]?
        var result: Result
    }
    struct Shifts: Decodable {
        var raw: [[Double]]
        var shifts: [Double]
    }

    var polygamma: [PolygammaCase]
    var trigammaInverse: [InverseCase]
    var tTwoSided: [TCase]
    var tQuantile: [QuantileCase]
    var incompleteBeta: [BetaCase]
    var shorth: [ShorthCase]
    var prior: [PriorCase]
    var judgement: Judgement
    var judgementWithLevel: Judgement
    var reportShifts: Shifts
    var runLevels: RunLevels

    struct RunLevels: Decodable {
        struct Row: Decodable {
            var id: String
            var gross: [Double]
            var net: [Double]
        }
        struct Figure: Decodable {
            var id: String
            var gross: Double
            var net: Double
        }
        var rows: [Row]
        var levels: [Double]
        var figures: [Figure]
    }

    static func load() throws -> ReplicateOracle {
        let url = try #require(
            Bundle.module.resourceURL?.appendingPathComponent("Fixtures/compare-replicates/expected.json"))
        return try JSONDecoder().decode(ReplicateOracle.self, from: Data(contentsOf: url))
    }
}

/// |a − b| within `relative` of b (or 1e-12 absolute near zero).
func close(_ a: Double, _ b: Double, _ relative: Double) -> Bool {
    abs(a - b) <= max(1e-12, relative * abs(b))
}

@Suite struct ReplicateOracleTests {
    @Test func polygammaAgreesWithSciPy() throws {
        for c in try ReplicateOracle.load().polygamma {
            #expect(close(Polygamma.digamma(c.x), c.digamma, 1e-10), "digamma(\(c.x))")
            #expect(close(Polygamma.trigamma(c.x), c.trigamma, 1e-10), "trigamma(\(c.x))")
            #expect(close(Polygamma.tetragamma(c.x), c.tetragamma, 1e-9), "tetragamma(\(c.x))")
        }
    }

    @Test func trigammaInverseAgreesWithRootFinding() throws {
        for c in try ReplicateOracle.load().trigammaInverse {
            #expect(close(Polygamma.trigammaInverse(c.y), c.x, 1e-6), "trigammaInverse(\(c.y))")
        }
    }

    @Test func studentTAgreesWithSciPy() throws {
        let oracle = try ReplicateOracle.load()
        for c in oracle.tTwoSided {
            #expect(close(StudentT.twoSidedP(c.t, degrees: c.degrees), c.p, 1e-9), "p(t=\(c.t), df=\(c.degrees))")
        }
        for c in oracle.tQuantile {
            #expect(
                close(StudentT.twoSidedQuantile(c.p, degrees: c.degrees), c.t, 1e-8), "t(p=\(c.p), df=\(c.degrees))")
        }
        for c in oracle.incompleteBeta {
            #expect(close(IncompleteBeta.regularized(c.x, a: c.a, b: c.b), c.value, 1e-10), "I(\(c.x); \(c.a), \(c.b))")
        }
    }

    @Test func undefinedArgumentsGiveNaNNotATrap() {
        #expect(Polygamma.digamma(0).isNaN)
        #expect(Polygamma.digamma(-3).isNaN)
        #expect(Polygamma.trigammaInverse(0).isNaN)
        #expect(StudentT.twoSidedP(.nan, degrees: 3).isNaN)
        #expect(StudentT.twoSidedP(2, degrees: 0).isNaN)
        #expect(StudentT.twoSidedP(.infinity, degrees: 3) == 0)
        #expect(StudentT.twoSidedQuantile(0, degrees: 3).isNaN)
        #expect(IncompleteBeta.regularized(1.5, a: 1, b: 1).isNaN)
    }

    @Test func shorthAgreesAndStaysWithTheUnmovedRows() throws {
        for c in try ReplicateOracle.load().shorth {
            let value = try #require(ReplicateJudge.shorth(c.values))
            #expect(close(value, c.shorth, 1e-12), "\(c.values)")
        }
        #expect(ReplicateJudge.shorth([]) == nil)
        // A third of the rows up by 20 %: the median moves towards them, the shorth does not.
        let rows = [Double](repeating: 0.2, count: 10) + (0..<20).map { Double($0 % 5 - 2) * 0.002 }
        #expect(abs(try #require(ReplicateJudge.shorth(rows))) < 0.005)
    }

    @Test func priorAgreesWithTheMethodOfMoments() throws {
        for c in try ReplicateOracle.load().prior {
            let fitted = try #require(VariancePrior.fit(c.variances, degrees: c.degrees))
            if let d0 = c.result.d0 {
                #expect(close(fitted.degrees, d0, 1e-6))
            } else {
                #expect(fitted.degrees.isInfinite)
            }
            #expect(close(fitted.variance, c.result.s0, 1e-6))
        }
        #expect(VariancePrior.fit([0.1, 0.2], degrees: 4) == nil)
        // Variances that scatter less than sampling alone would: every row takes the prior.
        let even = try #require(VariancePrior.fit([0.01, 0.0101, 0.0099, 0.01], degrees: 6))
        #expect(even.degrees.isInfinite)
    }

    @Test func reportShiftsAgreeWithNumPy() throws {
        let shifts = try ReplicateOracle.load().reportShifts
        let ours = try #require(ReplicateJudge.reportShifts(shifts.raw))
        #expect(ours.count == shifts.shifts.count)
        for (a, b) in zip(ours, shifts.shifts) { #expect(close(a, b, 1e-10)) }
    }

    @Test func runLevelsAgreeWithNumPy() throws {
        let oracle = try ReplicateOracle.load().runLevels
        var rows = Dictionary(
            uniqueKeysWithValues: oracle.rows.map { row in
                (
                    row.id,
                    ReportRowRuns(
                        id: row.id, level: "L2", source: "case", status: "ok", reason: nil, exitsTo: "kernel",
                        emulated: false, gross: row.gross.compactMap { RunValues(median: $0) },
                        net: row.net.compactMap { RunValues(median: $0) }, netBelowResolution: false)
                )
            })
        #expect(ReplicateJudge.correctRunLevels(&rows))
        for expected in oracle.figures {
            let row = try #require(rows[expected.id])
            #expect(close(try #require(RunStatistics.figure(row.gross)), expected.gross, 1e-9), "\(expected.id)")
            #expect(close(try #require(RunStatistics.figure(row.net)), expected.net, 1e-9), "\(expected.id) net")
        }
        // One run, or fewer than three rows run in every run: nothing to correct.
        var first = try #require(rows["run-row-00"])
        first.gross = Array(first.gross.prefix(1))
        var single = ["a": first]
        #expect(!ReplicateJudge.correctRunLevels(&single))
    }

    @Test(arguments: [false, true]) func judgementAgreesWithSciPy(withLevel: Bool) throws {
        let loaded = try ReplicateOracle.load()
        let oracle = withLevel ? loaded.judgementWithLevel : loaded.judgement
        #expect((oracle.covariate != nil) == withLevel)
        let rows = oracle.rows.map {
            ReplicateRow(id: $0.id, base: $0.base, new: $0.new, thresholdPercent: $0.thresholdPercent)
        }
        let (results, prior) = ReplicateJudge.judge(rows, covariate: oracle.covariate, alpha: oracle.alpha)
        let fitted = try #require(prior)
        if let d0 = oracle.result.priorDegrees { #expect(close(fitted.degrees, d0, 1e-6)) }
        #expect(close(fitted.variance, oracle.result.priorVariance, 1e-6))
        for (ours, expected) in zip(results, oracle.result.rows) {
            #expect(close(try #require(ours.changePercent), expected.change, 1e-9), "\(expected.id)")
            #expect(close(ours.pValue, expected.p, 1e-6), "\(expected.id) p")
            #expect(close(ours.adjustedP, expected.adjustedP, 1e-6), "\(expected.id) adjusted p")
            let interval = try #require(ours.interval)
            #expect(close(interval[0], expected.interval[0], 1e-6) && close(interval[1], expected.interval[1], 1e-6))
            guard case .percent(let detect) = ours.detectable else {
                Issue.record("\(expected.id): no detectable change")
                continue
            }
            #expect(close(detect, expected.detectable, 1e-6), "\(expected.id) detectable")
        }
        // The rows slowed by 12 % that the data establishes are regressed, and no unmoved row is.
        for (result, row) in zip(results, oracle.result.rows) {
            let moved = Int(row.id.dropFirst(4))! < 6
            if !moved { #expect(result.verdict != .regressed && result.verdict != .improved, "\(row.id)") }
            if result.verdict == .regressed { #expect(moved) }
        }
        #expect(results.filter { $0.verdict == .regressed }.count >= (withLevel ? 1 : 3))
    }

    /// An A/A pair whose sides were taken at different machine levels, with one row that follows the
    /// machine less than in proportion (slope 0.75): the fixed correction alone calls it regressed; with the
    /// level as a covariate the row's slope is fitted, its change is near 0, and no row is called changed.
    @Test func levelCovariateKeepsAnUnderproportionalRowSame() {
        let levels = [0.30, 0.25, 0.10, 0.20, -0.10, -0.05, 0.0, -0.08]
        // Fixed pseudo-random noise within ±0.8 % (a hash of the row and report, not smooth in either).
        func noise(_ r: Int, _ j: Int) -> Double {
            let x = sin(12.9898 * Double(r) + 78.233 * Double(j) + 1) * 43758.5453
            return 0.008 * (2 * (x - x.rounded(.down)) - 1)
        }
        let rows = (0..<12).map { r -> ReplicateRow in
            let slope = r == 0 ? 0.75 : 1.0
            let figures = levels.indices.map { j in
                // After the report's level is taken out, what is left is (slope − 1) · level and noise.
                (slope - 1) * levels[j] + noise(r, j)
            }
            return ReplicateRow(
                id: "row-\(r)", base: Array(figures[..<4]), new: Array(figures[4...]), thresholdPercent: 5)
        }
        let fixed = ReplicateJudge.judge(rows, alpha: 0.05).results
        #expect(fixed[0].verdict == .regressed)
        let sloped = ReplicateJudge.judge(rows, covariate: levels, alpha: 0.05).results
        #expect(sloped.allSatisfy { $0.verdict != .regressed && $0.verdict != .improved })
        #expect(abs(sloped[0].changePercent ?? 100) < 2)
    }
}
