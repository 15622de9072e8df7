// Tests of SampleStatistics and HostExitCost on small hand-made sample sets.
//
// Every expected number was computed once with NumPy 1.x / SciPy and pasted here:
//   median           numpy.median(x)
//   p90, p99         numpy.percentile(x, p, method="inverted_cdf")   (nearest rank)
//   mean             numpy.mean(x)
//   stddev           numpy.std(x, ddof=1)
//   mad              scipy.stats.median_abs_deviation(x)              (unscaled, scale=1.0)
//   median CI        sorted(x)[lo-1], sorted(x)[hi-1] with h = 1.959964·√n/2,
//                    lo = max(1, floor(n/2 − h)), hi = min(n, ceil(n/2 + h) + 1)   (1-based ranks)

import Foundation
import Testing

@testable import Probe

@Suite("SampleStatistics against NumPy and SciPy")
struct SampleStatisticsTests {
    @Test("1…10 (even n): the median is the mean of the middle two")
    func oneToTen() throws {
        let s = try #require(SampleStatistics([7, 3, 10, 1, 5, 9, 2, 8, 4, 6]))
        #expect(s.count == 10)
        #expect(s.min == 1)
        #expect(s.max == 10)
        #expect(s.p50 == 5.5)
        #expect(s.p90 == 9)
        #expect(s.p99 == 10)
        #expect(s.mean == 5.5)
        #expect(abs(s.stddev - 3.0276503540974917) < 1e-12)
        #expect(s.mad == 2.5)
        // n = 10: h = 3.099, ranks 1 and 10.
        #expect(s.medianCI95 == [1, 10])
    }

    @Test("an outlier (odd n) moves the mean and stddev, not the median or the MAD")
    func outlier() throws {
        let s = try #require(SampleStatistics([10, 12, 11, 13, 12, 11, 10, 12, 250]))
        #expect(s.count == 9)
        #expect(s.min == 10)
        #expect(s.max == 250)
        #expect(s.p50 == 12)
        #expect(s.p90 == 250, "nearest rank ⌈0.9·9⌉ = 9")
        #expect(s.p99 == 250)
        #expect(abs(s.mean - 37.888888888888886) < 1e-12)
        #expect(abs(s.stddev - 79.54785422065834) < 1e-9)
        #expect(s.mad == 1)
        #expect(s.medianCI95 == [10, 250])
    }

    @Test("32 digits of π: nearest-rank percentiles and a median interval inside the range")
    func piDigits() throws {
        let digits: [Double] = [
            3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5,
        ]
        let s = try #require(SampleStatistics(digits))
        #expect(s.count == 32)
        #expect(s.min == 1)
        #expect(s.max == 9)
        #expect(s.p50 == 4.5)
        #expect(s.p90 == 9)
        #expect(s.p99 == 9)
        #expect(s.mean == 4.84375)
        #expect(abs(s.stddev - 2.541391224278291) < 1e-12)
        #expect(s.mad == 1.5)
        // n = 32: h = 5.544, ranks 10 and 23.
        #expect(s.medianCI95 == [3, 6])
    }

    @Test("100…1 (given in descending order): ranks 40 and 61 for the median interval")
    func hundred() throws {
        let s = try #require(SampleStatistics((1...100).reversed().map(Double.init)))
        #expect(s.min == 1)
        #expect(s.max == 100)
        #expect(s.p50 == 50.5)
        #expect(s.p90 == 90)
        #expect(s.p99 == 99)
        #expect(s.mean == 50.5)
        #expect(abs(s.stddev - 29.011491975882016) < 1e-12)
        #expect(s.mad == 25)
        #expect(s.medianCI95 == [40, 61])
    }

    @Test("one sample: everything is that sample, the spread is zero")
    func single() throws {
        let s = try #require(SampleStatistics([42]))
        #expect(s.count == 1)
        #expect([s.min, s.p50, s.p90, s.p99, s.max, s.mean] == [42, 42, 42, 42, 42, 42])
        #expect(s.stddev == 0)
        #expect(s.mad == 0)
        #expect(s.medianCI95 == [42, 42])
    }

    @Test("no samples: nil")
    func empty() {
        #expect(SampleStatistics([]) == nil)
    }

    @Test("percentile is nearest rank: the smallest value with at least p % at or below it")
    func nearestRank() {
        let sorted: [Double] = [97, 98, 99, 100, 101, 102, 103, 104]
        // numpy.percentile(x, p, method="inverted_cdf") for p = 0, 12.5, 13, 50, 90, 100.
        #expect(SampleStatistics.percentile(sorted, 0) == 97)
        #expect(SampleStatistics.percentile(sorted, 12.5) == 97)
        #expect(SampleStatistics.percentile(sorted, 13) == 98)
        #expect(SampleStatistics.percentile(sorted, 50) == 100)
        #expect(SampleStatistics.percentile(sorted, 90) == 104)
        #expect(SampleStatistics.percentile(sorted, 100) == 104)
        #expect(SampleStatistics.median(sorted) == 100.5)
        #expect(SampleStatistics.median([1, 2, 3]) == 2)
    }

    @Test("statistics survive a JSON round trip")
    func codable() throws {
        let s = try #require(SampleStatistics([10, 12, 11, 13, 12, 11, 10, 12, 250]))
        let data = try DocumentFile.encodeJSON(s)
        #expect(try JSONDecoder().decode(SampleStatistics.self, from: data) == s)
    }
}

@Suite("HostExitCost: net median in cycles and nanoseconds")
struct HostExitCostTests {
    static func timing(samples: [UInt64], overhead: [UInt64], hz: Double) -> HostTiming {
        HostTiming(
            leaf: 0, subleaf: 0, warmup: 200, samplesCycles: samples, overheadCycles: overhead, pinnedCPU: 3,
            tsc: TSCFrequency(hz: hz, source: .cpuid15, detail: "test"))
    }

    @Test("net median = raw p50 − overhead p50; ns = cycles / Hz · 1e9")
    func netCost() throws {
        let timing = Self.timing(samples: [140, 100, 120, 130, 110], overhead: [24, 20, 22], hz: 2e9)
        let cost = try #require(HostExitCost(timing))
        #expect(cost.rawCycles.p50 == 120)
        #expect(cost.overheadCycles.p50 == 22)
        #expect(cost.netMedianCycles == 98)
        #expect(cost.netMedianNanoseconds == 49)
        #expect(cost.warmupDiscarded == 200)
        #expect(cost.pinnedCPU == 3)
        #expect(cost.tsc.hz == 2e9)
    }

    @Test("a 2.112 GHz TSC: 1056 net cycles are 500 ns")
    func oddFrequency() throws {
        let timing = Self.timing(samples: [1100, 1100, 1100, 1100], overhead: [40, 44, 44, 50], hz: 2.112e9)
        let cost = try #require(HostExitCost(timing))
        #expect(cost.netMedianCycles == 1056)
        #expect(abs(cost.netMedianNanoseconds - 500) < 1e-9)
    }

    @Test("overhead above the raw median clamps the net cost at zero")
    func clampsAtZero() throws {
        let cost = try #require(HostExitCost(Self.timing(samples: [30, 31, 32], overhead: [40, 41, 42], hz: 3e9)))
        #expect(cost.netMedianCycles == 0)
        #expect(cost.netMedianNanoseconds == 0)
    }

    @Test("an unknown TSC frequency (0 Hz) gives 0 ns, not infinity")
    func zeroFrequency() throws {
        let cost = try #require(HostExitCost(Self.timing(samples: [100], overhead: [20], hz: 0)))
        #expect(cost.netMedianCycles == 80)
        #expect(cost.netMedianNanoseconds == 0)
    }

    @Test("no samples or no overhead samples: nil")
    func noSamples() {
        #expect(HostExitCost(Self.timing(samples: [], overhead: [20], hz: 2e9)) == nil)
        #expect(HostExitCost(Self.timing(samples: [100], overhead: [], hz: 2e9)) == nil)
    }
}
