// The run-level statistics behind compare, checked against an independent implementation: SciPy's exact
// and asymptotic Mann–Whitney U, a NumPy Holm adjustment, SciPy's normal quantiles, the detectable change
// and a NumPy two-stage bootstrap (Fixtures/compare-runs/expected.json, made by make_expected.py beside
// it); and the exact distribution against brute-force enumeration.

import Foundation
import Report
import Testing

/// The oracle document.
struct RunOracle: Decodable {
    struct MannWhitneyCase: Decodable {
        var name: String
        var x: [Double]
        var y: [Double]
        var method: String
        var u: Double
        var p: Double
        var smallestP: Double
    }
    struct HolmCase: Decodable {
        var p: [Double]
        var adjusted: [Double]
    }
    struct QuantileCase: Decodable {
        var p: Double
        var z: Double
    }
    struct DetectableCase: Decodable {
        var name: String
        var x: [Double]
        var y: [Double]
        var level: Double
        var spread: Double
        var percent: Double?
    }
    struct Run: Decodable {
        var median: Double
        var samples: [Double]
        var values: RunValues? { samples.isEmpty ? RunValues(median: median) : RunValues(samples: samples) }
    }
    struct BootstrapCase: Decodable {
        var name: String
        var base: [Run]
        var new: [Run]
        var ratioCI95: [Double]
        var tolerance: [Double]
        var pooledRatioCI95: [Double]
    }

    var resamples: Int
    var mannWhitney: [MannWhitneyCase]
    var holm: [HolmCase]
    var normalQuantiles: [QuantileCase]
    var detectable: [DetectableCase]
    var bootstrap: [BootstrapCase]

    static func load() throws -> RunOracle {
        let url = try #require(
            Bundle.module.resourceURL?.appendingPathComponent("Fixtures/compare-runs/expected.json"))
        return try JSONDecoder().decode(RunOracle.self, from: Data(contentsOf: url))
    }
}

@Suite("run statistics against SciPy and NumPy")
struct RunStatisticsOracleTests {
    @Test("Mann–Whitney on run figures: method, U and p as scipy.stats.mannwhitneyu, to 1e-12")
    func mannWhitneyMatchesSciPy() throws {
        let oracle = try RunOracle.load()
        #expect(oracle.mannWhitney.filter { $0.method == "exact" }.count >= 8)
        var tests = RunMannWhitney()
        var worst = 0.0
        for expected in oracle.mannWhitney {
            let tested = tests.test(expected.x, expected.y)
            let (result, method) = try #require(tested)
            #expect(method.rawValue == expected.method, "\(expected.name)")
            #expect(result.u == expected.u, "\(expected.name): U \(result.u), SciPy \(expected.u)")
            #expect(
                close(result.p, expected.p, relative: 1e-12), "\(expected.name): p \(result.p), SciPy \(expected.p)")
            worst = max(worst, abs(result.p - expected.p) / expected.p)
            let smallest = ExactMannWhitney.smallestP(n: expected.x.count, m: expected.y.count)
            #expect(close(smallest, expected.smallestP, relative: 1e-12), "\(expected.name): \(smallest)")
        }
        print("Mann–Whitney: largest relative difference of p from SciPy \(worst)")
    }

    @Test("Holm adjusted p-values as the NumPy step-down, to 1e-15")
    func holmMatchesNumPy() throws {
        for expected in try RunOracle.load().holm {
            let adjusted = Holm.adjust(expected.p)
            #expect(adjusted.count == expected.adjusted.count)
            for (a, b) in zip(adjusted, expected.adjusted) { #expect(abs(a - b) <= 1e-15, "\(expected.p)") }
        }
    }

    @Test("normal quantiles as scipy.stats.norm.ppf, to 1e-14 relative")
    func normalQuantilesMatchSciPy() throws {
        for expected in try RunOracle.load().normalQuantiles {
            let z = NormalQuantile.z(expected.p)
            #expect(abs(z - expected.z) <= 1e-14 * max(1, abs(expected.z)), "p \(expected.p): \(z) vs \(expected.z)")
        }
        #expect(NormalQuantile.z(0) == -.infinity)
        #expect(NormalQuantile.z(1) == .infinity)
        #expect(NormalQuantile.z(1.5).isNaN)
    }

    @Test("the pooled log spread and the detectable change as NumPy and SciPy compute them, to 1e-9")
    func detectableMatchesPython() throws {
        for expected in try RunOracle.load().detectable {
            let spread = try #require(RunStatistics.pooledLogSpread(expected.x, expected.y))
            #expect(close(spread, expected.spread, relative: 1e-12), "\(expected.name)")
            let found = DetectableChange.of(
                spread: spread, baseRuns: expected.x.count, newRuns: expected.y.count, level: expected.level)
            if let percent = expected.percent {
                guard case .percent(let value) = found else {
                    Issue.record("\(expected.name): \(found), expected \(percent) %")
                    continue
                }
                #expect(close(value, percent, relative: 1e-9), "\(expected.name): \(value) vs \(percent)")
            } else {
                #expect(found == Detectability.none, "\(expected.name) at \(expected.level)")
            }
        }
    }

    @Test("the two-stage bootstrap interval agrees with NumPy's within the measured Monte Carlo error")
    func hierarchicalBootstrapMatchesNumPy() throws {
        let oracle = try RunOracle.load()
        #expect(oracle.resamples == Bootstrap.defaultResamples)
        var worst = 0.0
        for expected in oracle.bootstrap {
            let base = try expected.base.map { try #require($0.values) }
            let new = try expected.new.map { try #require($0.values) }
            let interval = try #require(
                Bootstrap.hierarchicalRatio(base: base, new: new, seed: Bootstrap.seed(for: expected.name)))
            for end in 0..<2 {
                let difference = abs(interval[end] - expected.ratioCI95[end])
                worst = max(worst, difference)
                let tolerance = expected.tolerance[end]
                #expect(
                    difference <= tolerance,
                    "\(expected.name) end \(end): \(interval[end]) vs \(expected.ratioCI95[end]) ± \(tolerance)")
            }
            // The pooled (one-stage) interval lies outside that tolerance at one end at least, so the
            // check above would catch a bootstrap that ignored the runs.
            let pooledDistance = (0..<2).map {
                abs(expected.pooledRatioCI95[$0] - expected.ratioCI95[$0]) - expected.tolerance[$0]
            }
            #expect(pooledDistance.max()! > 0, "\(expected.name): the tolerance cannot tell the pooled bootstrap apart")
        }
        print("two-stage bootstrap: largest difference of an interval end from NumPy's \(worst) (ratio)")
    }

    @Test("the exact distribution matches brute-force enumeration of every arrangement")
    func exactMatchesEnumeration() throws {
        for (n, m) in [(1, 1), (2, 3), (4, 4), (3, 7), (6, 5)] {
            let table = try #require(ExactMannWhitney(n: n, m: m))
            // Every choice of n positions among n + m for the first side: U = Σ over its members of the
            // number of the other side's values below them.
            var counts = [Int](repeating: 0, count: n * m + 1)
            for mask in 0..<(1 << (n + m)) where mask.nonzeroBitCount == n {
                var u = 0
                var seen = 0
                for position in 0..<(n + m) {
                    if mask & (1 << position) != 0 { u += seen } else { seen += 1 }
                }
                counts[u] += 1
            }
            let total = Double(counts.reduce(0, +))
            for observed in 0...(n * m) {
                let larger = max(observed, n * m - observed)
                let tail = Double(counts[larger...].reduce(0, +)) / total
                let expected = min(1, 2 * tail)
                #expect(
                    close(table.pValue(u1: Double(observed)), expected, relative: 1e-12), "n \(n) m \(m) U \(observed)")
            }
        }
        #expect(ExactMannWhitney(n: 51, m: 3) == nil)
        #expect(ExactMannWhitney(n: 0, m: 3) == nil)
    }
}
