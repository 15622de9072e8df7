// NewestReportTest: is the newest report of a case unlike the reports before it? The report is the unit:
// its runs share the machine's state for a second or two, so they are one draw of the report-to-report
// variation, not several (HistoryCheck's header has the A/A figures that decided this).
//
// Each report is one number, the median of its runs' figures in the judged series, on a log scale (changes
// are relative). The newest report's robust z-score is its distance from the median of the earlier
// reports of its segment in units of their scaled MAD (1.4826 × MAD, which estimates a normal standard
// deviation; Rousseeuw & Croux 1993). Each earlier report gets the same score about the others (leave one
// out), so it is scored as the newest is: from reports it is not part of.
//
// A score from few reports is wider-tailed than one from many (the MAD of 10 reports is a rough scale), so
// each score becomes a tail probability first: for Gaussian reports, z / √(1 + π / 2m) from m reports
// follows Student's t with about 0.4 m degrees of freedom (the MAD's 37 % efficiency; fitted here by
// simulation at m = 8…200, the 90th–99.9th percentiles within 4 %). The tail probabilities of every judged
// case's earlier reports form the null: the p-value of a case is (1 + how many pooled tails are at most
// its own) / (pool + 1), the rank p-value of a permutation test (Phipson & Smyth 2010), valid when the
// newest report is exchangeable with the pooled ones. The t only puts segments of different lengths on one
// scale; the ranking among this machine's own reports supplies the tails, one-report blips included.
//
// Past 200 reports the earlier reports are scored about the median and MAD of them all instead of leaving
// each out (a difference of order 1/n, and it keeps a check of 1,000 reports × 60 cases linear).

import Foundation
import Report

/// The newest report's own test (HistoryCheck.analyse and decideNewest).
public enum NewestReportTest {
    /// Above this many earlier reports, their scores use the centre and scale of all of them.
    static let leaveOneOutLimit = 200

    /// The median of each report's points in `series.values[start..<end]`, oldest first.
    public static func reportMedians(_ series: CaseSeries, from start: Int, to end: Int) -> [Double] {
        reportPoints(series, from: start, to: end).medians
    }

    /// The median of each report's points in `series.values[start..<end]` and the index of the report's
    /// first point, oldest first (the series E-divisive splits: HistoryCheck.analyse).
    public static func reportPoints(_ series: CaseSeries, from start: Int = 0, to end: Int? = nil)
        -> (medians: [Double], starts: [Int])
    {
        let end = end ?? series.values.count
        var medians: [Double] = []
        var starts: [Int] = []
        var first = start
        while first < end {
            var next = first + 1
            while next < end, series.reportIndex[next] == series.reportIndex[first] { next += 1 }
            let points = series.values[first..<next].sorted()
            let mid = points.count / 2
            medians.append(points.count % 2 == 1 ? points[mid] : (points[mid - 1] + points[mid]) / 2)
            starts.append(first)
            first = next
        }
        return (medians, starts)
    }

    /// The degrees of freedom of Student's t that a robust z-score from `reports` reports follows.
    static func degrees(_ reports: Int) -> Double { 0.4 * Double(reports) }

    /// P(|T| ≥ |z| / √(1 + π / 2m)) for a robust z-score from m reports: comparable whatever m.
    public static func tail(_ z: Double, reports: Int) -> Double {
        guard !z.isNaN, reports >= 3 else { return 1 }
        let inflation = (1 + Double.pi / (2 * Double(reports))).squareRoot()
        return StudentT.twoSidedP(z / inflation, degrees: degrees(reports))
    }

    /// The newest report's score and the earlier reports' (NewestTest).
    public struct Scores: Sendable {
        /// The newest report's signed robust z-score, and its tail probability.
        public var newest: Double
        public var newestTail: Double
        /// The earlier reports' absolute scores (each left out of its own centre and scale), and their tails.
        public var past: [Double]
        public var pastTails: [Double]
    }

    /// The scores of the newest report and the earlier ones, all on a log scale; nil when a figure is not
    /// positive or fewer than 3 earlier reports.
    public static func scores(newest: Double, past: [Double]) -> Scores? {
        guard let (z, pastZ) = deviations(newest: newest, past: past) else { return nil }
        let leftOut = past.count > leaveOneOutLimit ? past.count : past.count - 1
        return Scores(
            newest: z, newestTail: tail(z, reports: past.count), past: pastZ,
            pastTails: pastZ.map { tail($0, reports: leftOut) })
    }

    /// The newest report's signed robust z-score and the earlier reports' absolute ones (each left out of its
    /// own centre and scale), all on a log scale; nil when a figure is not positive.
    public static func deviations(newest: Double, past: [Double]) -> (newest: Double, past: [Double])? {
        guard newest > 0, past.count >= 3, past.allSatisfy({ $0 > 0 && $0.isFinite }), newest.isFinite else {
            return nil
        }
        let logs = past.map { Foundation.log($0) }
        let all = Spread(logs)
        let newestScore = all.score(Foundation.log(newest))
        var scores: [Double] = []
        scores.reserveCapacity(logs.count)
        if logs.count > leaveOneOutLimit {
            for value in logs { scores.append(abs(all.score(value))) }
        } else {
            var others = logs
            for i in logs.indices {
                others.remove(at: i)
                scores.append(abs(Spread(others).score(logs[i])))
                others.insert(logs[i], at: i)
            }
        }
        return (newestScore, scores)
    }

    /// A centre (median) and scale (1.4826 × MAD, else the mean absolute deviation × √(π/2), both normal
    /// standard deviations) of log figures.
    struct Spread {
        var centre: Double
        var scale: Double

        init(_ values: [Double]) {
            let middle = Self.median(values)
            let distances = values.map { abs($0 - middle) }
            let mad = 1.4826 * Self.median(distances)
            let mean = distances.reduce(0, +) / Double(max(1, distances.count)) * (Double.pi / 2).squareRoot()
            centre = middle
            scale = mad > 0 ? mad : mean
        }

        /// The signed score of `value`: 0 at the centre; ±infinity off it when the reports never varied.
        func score(_ value: Double) -> Double {
            let distance = value - centre
            if scale > 0 { return distance / scale }
            return distance == 0 ? 0 : (distance > 0 ? .infinity : -.infinity)
        }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return .nan }
            let mid = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        }
    }

    /// The pooled null of the cases judged together: their earlier reports' tail probabilities.
    public struct Null: Sendable {
        /// The pooled tails, ascending.
        public let tails: [Double]

        public init(_ tails: [Double]) {
            self.tails = tails.filter { !$0.isNaN }.sorted()
        }

        /// (1 + pooled tails at most `tail`) / (pool + 1); 1 for a tail that is not a number.
        public func pValue(_ tail: Double) -> Double {
            guard !tail.isNaN else { return 1 }
            var low = 0
            var high = tails.count
            while low < high {
                let mid = (low + high) / 2
                if tails[mid] <= tail { low = mid + 1 } else { high = mid }
            }
            return Double(1 + low) / Double(tails.count + 1)
        }
    }
}
