// Run-level judgement: the verdict rules one by one, and two properties on simulated run sets — with
// nothing changed, one compare of 30 rows calls any row regressed at most about alpha of the time
// (family-wise), and a 10 % slowdown under small noise is caught.

import Foundation
import Report
import Testing

/// SplitMix64: the tests' own seeded generator, apart from the one under test.
struct SimulationGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &+ 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func normal() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let v = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// `count` runs of `samples` samples: each run's level is lognormal around `center` (spread
    /// `between`), its samples lognormal around the level (spread `within`).
    mutating func runs(_ count: Int, samples: Int, center: Double, between: Double, within: Double) -> [RunValues] {
        (0..<count).map { _ in
            let level = center * exp(between * normal())
            return RunValues(samples: (0..<samples).map { _ in level * exp(within * normal()) })!
        }
    }
}

@Suite("run judgement")
struct RunJudgementTests {
    @Test("verdict rules: runs, threshold, significance and interval, in that order")
    func verdictRules() {
        func judge(_ change: Double?, _ interval: [Double]?, p: Double = 0.001, reachable: Bool = true) -> String {
            let (verdict, reason) = RunVerdict.judge(
                change: change, interval: interval, adjustedP: p, alpha: 0.05, threshold: 5, reachable: reachable)
            return "\(verdict.rawValue) \(reason.rawValue)"
        }
        #expect(judge(12, [8, 16]) == "regressed significant")
        #expect(judge(-12, [-16, -8]) == "improved significant")
        #expect(judge(12, [8, 16], reachable: false) == "inconclusive too-few-runs")
        #expect(judge(1, [0, 2], reachable: false) == "inconclusive too-few-runs")
        #expect(judge(3, [1, 5]) == "same below-threshold")
        #expect(judge(-5, [-9, -1]) == "same below-threshold")
        #expect(judge(12, [8, 16], p: 0.05) == "inconclusive not-significant")
        #expect(judge(12, [-1, 16]) == "inconclusive interval-includes-zero")
        #expect(judge(-12, [-16, 0]) == "inconclusive interval-includes-zero")
        #expect(judge(12, nil) == "inconclusive interval-includes-zero")
        #expect(judge(nil, nil) == "inconclusive no-base-figure")
        #expect(judge(.infinity, nil) == "inconclusive no-base-figure")
    }

    @Test("Holm: step-down with a running maximum, NaN as 1, empty stays empty")
    func holmRules() {
        #expect(Holm.adjust([]) == [])
        #expect(Holm.adjust([0.01, 0.04, 0.03, 0.005]) == [0.03, 0.06, 0.06, 0.02])
        #expect(Holm.adjust([.nan, 0.01]) == [1, 0.02])
        #expect(Holm.firstStepLevel(alpha: 0.05, rows: 0) == 0.05)
    }

    @Test("too few runs for 30 rows: 5 against 5 cannot reach alpha/30, 10 against 10 can")
    func reachability() {
        #expect(!DetectableChange.reachable(baseRuns: 5, newRuns: 5, level: 0.05 / 30))
        #expect(DetectableChange.reachable(baseRuns: 5, newRuns: 5, level: 0.05))
        #expect(DetectableChange.reachable(baseRuns: 10, newRuns: 10, level: 0.05 / 30))
        #expect(!DetectableChange.reachable(baseRuns: 1, newRuns: 1, level: 0.05))
        #expect(DetectableChange.of(spread: 0.05, baseRuns: 5, newRuns: 5, level: 0.05 / 30) == .none)
        #expect(DetectableChange.of(spread: nil, baseRuns: 10, newRuns: 10, level: 0.05) == .unknown)
        // Zero spread is a quantized figure (every run on one TSC step): the smallest change it shows is a step,
        // which the spread cannot tell, so the detectable change is unknown rather than ±0 %.
        #expect(DetectableChange.of(spread: 0, baseRuns: 10, newRuns: 10, level: 0.05) == .unknown)
    }

    @Test("one run per side is inconclusive however large the change")
    func oneRunEach() throws {
        let rows = [
            RunRowInput(
                id: "a", base: [RunValues(median: 100)!], new: [RunValues(median: 300)!], thresholdPercent: 5)
        ]
        let row = try #require(RunJudge.judge(rows).first)
        #expect(row.verdict == .inconclusive)
        #expect(row.reason == .tooFewRuns)
        #expect(row.changePercent == 200)
        #expect(row.detectable == .none)
    }

    @Test("A/A: 400 compares of 30 unchanged rows, threshold 0: family-wise false calls at most 2·alpha")
    func falseRegressionRateIsControlled() {
        var generator = SimulationGenerator(state: 2025)
        let compares = 400
        var falseCalls = 0
        var naiveCalls = 0
        var options = RunJudgeOptions()
        // The interval only vetoes calls the test already made; few resamples keep the test quick.
        options.resamples = 40
        for _ in 0..<compares {
            let rows = (0..<30).map { index in
                let center = 200 + 150 * Double(index)
                return RunRowInput(
                    id: "case-\(index)",
                    base: generator.runs(10, samples: 9, center: center, between: 0.08, within: 0.03),
                    new: generator.runs(10, samples: 9, center: center, between: 0.08, within: 0.03),
                    thresholdPercent: 0)
            }
            let judged = RunJudge.judge(rows, options: options)
            if judged.contains(where: { $0.verdict == .regressed || $0.verdict == .improved }) { falseCalls += 1 }
            // The pseudo-replicated test this replaces: every sample as independent, no adjustment.
            let naive = rows.contains { row in
                let p = MannWhitney.test(row.base.flatMap(\.samples), row.new.flatMap(\.samples))?.p ?? 1
                return p < 0.05
            }
            if naive { naiveCalls += 1 }
        }
        let rate = Double(falseCalls) / Double(compares)
        print("A/A: \(falseCalls) of \(compares) compares called a change; the naive sample test \(naiveCalls)")
        #expect(rate <= 2 * 0.05, "family-wise false-call rate \(rate)")
        // The simulation is one where the old way fails: it is not too gentle to catch a broken gate.
        #expect(Double(naiveCalls) / Double(compares) > 0.5)
    }

    @Test("power: a 10 % slowdown of 3 rows in 30, small noise, 10 runs a side, is caught, nothing else")
    func tenPercentIsDetected() {
        var generator = SimulationGenerator(state: 611)
        let compares = 20
        var caught = 0
        var wrong = 0
        var options = RunJudgeOptions()
        options.resamples = 300
        for _ in 0..<compares {
            let rows = (0..<30).map { index in
                let center = 1000.0 + 10 * Double(index)
                let factor = index % 10 == 3 ? 1.1 : 1
                return RunRowInput(
                    id: "case-\(index)",
                    base: generator.runs(10, samples: 15, center: center, between: 0.02, within: 0.01),
                    new: generator.runs(10, samples: 15, center: center * factor, between: 0.02, within: 0.01),
                    thresholdPercent: 5)
            }
            for (index, row) in RunJudge.judge(rows, options: options).enumerated() {
                if index % 10 == 3 {
                    if row.verdict == .regressed { caught += 1 }
                } else if row.verdict != .same {
                    wrong += 1
                }
            }
        }
        print("power: \(caught) of \(compares * 3) slowed rows caught; \(wrong) other rows not same")
        #expect(caught >= compares * 3 * 95 / 100)
        #expect(wrong == 0)
    }
}
