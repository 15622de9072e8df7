// The statistics behind compare, checked against an independent implementation: SciPy's Mann–Whitney U
// and bootstrap (Fixtures/compare/expected.json, made by make_expected.py beside it), a textbook
// resampling bootstrap written here, and the percentiles.

import Foundation
import Report
import Testing

/// One pair of sample sets with SciPy's figures for it.
struct SciPyCase: Decodable {
    var name: String
    var x: [Double]
    var y: [Double]
    var u: Double
    var p: Double
    var medianX: Double
    var medianY: Double
    var bootstrapRatioCI95: [Double]

    static func all() throws -> [SciPyCase] {
        struct Document: Decodable { var cases: [SciPyCase] }
        let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/compare/expected.json"))
        return try JSONDecoder().decode(Document.self, from: Data(contentsOf: url)).cases
    }
}

/// |a − b| within `relative` of |b|, or both below `absolute` (p-values that underflow towards 0).
func close(_ a: Double, _ b: Double, relative: Double = 1e-9, absolute: Double = 1e-300) -> Bool {
    abs(a - b) <= relative * abs(b) || (abs(a) < absolute && abs(b) < absolute)
}

@Suite("compare statistics")
struct CompareStatisticsTests {
    @Test("Mann–Whitney U and p agree with scipy.stats.mannwhitneyu to 1e-9")
    func mannWhitneyMatchesSciPy() throws {
        let cases = try SciPyCase.all()
        #expect(cases.count >= 8)
        for expected in cases {
            let result = try #require(MannWhitney.test(expected.x, expected.y))
            #expect(close(result.u, expected.u), "\(expected.name): U \(result.u), SciPy \(expected.u)")
            #expect(close(result.p, expected.p), "\(expected.name): p \(result.p), SciPy \(expected.p)")
            let pairs = Double(expected.x.count * expected.y.count)
            #expect(close(result.probabilityYGreater, 1 - expected.u / pairs, relative: 1e-12, absolute: 1e-12))
        }
    }

    @Test("medians agree with numpy.median")
    func mediansMatchNumPy() throws {
        for expected in try SciPyCase.all() {
            #expect(Self.median(expected.x) == expected.medianX, "\(expected.name)")
            #expect(Self.median(expected.y) == expected.medianY, "\(expected.name)")
        }
    }

    @Test("identical sets: U at its mean, p = 1, no effect")
    func identicalSets() throws {
        let x: [Double] = [5, 5, 6, 7, 7, 7, 9, 12]
        let result = try #require(MannWhitney.test(x, x))
        #expect(result.p == 1)
        #expect(result.u == Double(x.count * x.count) / 2)
        #expect(result.rankBiserial == 0)
        #expect(MannWhitney.test([], x) == nil)
    }

    @Test("the bootstrap interval of the ratio of medians agrees with scipy.stats.bootstrap to 0.005")
    func bootstrapMatchesSciPy() throws {
        // SciPy draws with another generator, so only sets large enough for a stable interval are held
        // to a tolerance; its endpoints move by about 0.001 from seed to seed at these sizes.
        for expected in try SciPyCase.all() where expected.x.count >= 200 {
            let interval = try #require(Bootstrap.ratioOfMedians(base: expected.x, new: expected.y))
            #expect(abs(interval[0] - expected.bootstrapRatioCI95[0]) < 0.005, "\(expected.name): \(interval)")
            #expect(abs(interval[1] - expected.bootstrapRatioCI95[1]) < 0.005, "\(expected.name): \(interval)")
        }
    }

    @Test("drawing resampled medians directly matches resampling value by value")
    func bootstrapMatchesTextbookResampling() throws {
        // Odd and even sizes, heavy ties, a skewed tail; small enough for the slow way.
        let cases = try SciPyCase.all().filter { (30...300).contains($0.x.count) }
        #expect(cases.count >= 3)
        for expected in cases {
            let fast = try #require(Bootstrap.ratioOfMedians(base: expected.x, new: expected.y, resamples: 20_000))
            let slow = Self.textbookInterval(expected.x, expected.y, resamples: 4_000)
            let width = max(slow[1] - slow[0], 1e-9)
            #expect(abs(fast[0] - slow[0]) <= 0.1 * width + 1e-9, "\(expected.name): \(fast) vs \(slow)")
            #expect(abs(fast[1] - slow[1]) <= 0.1 * width + 1e-9, "\(expected.name): \(fast) vs \(slow)")
        }
    }

    @Test("the bootstrap is deterministic: same input and seed, same interval; seeds per row differ")
    func bootstrapIsDeterministic() throws {
        let cases = try SciPyCase.all()
        let sample = try #require(cases.first { $0.name.hasPrefix("lognormal") })
        let first = Bootstrap.ratioOfMedians(base: sample.x, new: sample.y)
        let again = Bootstrap.ratioOfMedians(base: sample.x, new: sample.y)
        #expect(first == again)
        let other = Bootstrap.ratioOfMedians(base: sample.x, new: sample.y, seed: Bootstrap.seed(for: "cpuid-0/real"))
        #expect(other != first)
        #expect(Bootstrap.seed(for: "cpuid-0/real") != Bootstrap.seed(for: "cpuid-0/long64-cpl0"))
        #expect(Bootstrap.seed(for: "x") == Bootstrap.seed(for: "x"))
        // A base that can resample to a median of 0 has no ratio.
        #expect(Bootstrap.ratioOfMedians(base: [0, 0, 1], new: [1, 2, 3]) == nil)
        #expect(Bootstrap.ratioOfMedians(base: [], new: [1]) == nil)
    }

    @Test("percentiles interpolate between order statistics as numpy.percentile")
    func quantile() {
        #expect(Bootstrap.quantile([1, 2, 3, 4], 0.5) == 2.5)
        #expect(Bootstrap.quantile([1, 2, 3, 4], 0) == 1)
        #expect(Bootstrap.quantile([1, 2, 3, 4], 1) == 4)
        #expect(abs(Bootstrap.quantile([10, 20, 30, 40, 50], 0.025) - 11) < 1e-12)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// The textbook percentile bootstrap: n draws with replacement per sample, the medians' ratio, the
    /// 2.5th and 97.5th percentiles. Its own generator (SplitMix64), so it shares nothing with Report's.
    static func textbookInterval(_ x: [Double], _ y: [Double], resamples: Int) -> [Double] {
        var state: UInt64 = 0x5eed
        func next(_ bound: Int) -> Int {
            state = state &+ 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        var ratios: [Double] = []
        for _ in 0..<resamples {
            let a = median((0..<x.count).map { _ in x[next(x.count)] })
            let b = median((0..<y.count).map { _ in y[next(y.count)] })
            ratios.append(b / a)
        }
        ratios.sort()
        return [Bootstrap.quantile(ratios, 0.025), Bootstrap.quantile(ratios, 0.975)]
    }
}
