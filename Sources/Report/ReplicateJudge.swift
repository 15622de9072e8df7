// ReplicateJudge: compare with the report (one bench invocation) as the replicate, when each side has at
// least two reports.
//
// Why: on a shared or nested machine the noise that decides a verdict lies between invocations, not only
// between the runs of one. Measured here (scripts/gate-power.py, scripts/run-noise.py): the machine as a
// whole moves by −16 … +41 % between two invocations, and single rows stray from that by ±3–10 % more,
// while the runs of one invocation agree far more closely (the host's fast and slow states last
// seconds). A test on pooled runs cannot see that; a test on invocations can, once there are several.
//
// The model, in log space, for row r and report j: F[r,j] = μ[r, side] + c[j] + ε, with c[j] the machine's
// level during report j (shared by every row) and ε the row's own between-invocation noise.
// 1. c[j] is the shorth (mean of the shortest half; Andrews et al. 1972) of the report's gross figures
//    less each row's mean over all reports: a robust centre that stays with the unchanged rows even when
//    a third or more of the rows moved (a median would be dragged along). Every row's figure of report j
//    is corrected by c[j], so the change left between the sides is relative to the machine's own shift.
// 2. Each judged row's variance is pooled within the sides (nb + nn − 2 degrees of freedom) and moderated
//    towards a prior fitted to all judged rows' variances by empirical Bayes (Smyth 2004, limma's
//    fitFDist: a scaled inverse χ² prior by the method of moments on log variances). With two to five
//    reports a side a row's own variance is too rough to test on; the prior lends it the other rows'
//    strength while a noisy row keeps a larger variance of its own.
// 3. A moderated t (d0 + d degrees of freedom) per row, Holm across the judged rows, the interval of the
//    change from the same t, and the change detectable with 80 % power at alpha / rows. The verdict is
//    RunVerdict.judge on these, as for runs.
// scripts/check-oracles.py recomputes a fixed replicate set with NumPy and SciPy.

import Foundation

/// The replicate-level statistics of one compare.
public struct ReplicateSummary: Codable, Sendable, Equatable {
    /// Reports on each side.
    public var baseReports: Int
    public var newReports: Int
    /// Within-side degrees of freedom of a row's variance: base + new − 2.
    public var degreesOfFreedom: Int
    /// The prior's degrees of freedom; nil when infinite (every row's variance is the prior's).
    public var priorDegreesOfFreedom: Double?
    /// The prior's standard deviation of a row's log figure between invocations, as a percent.
    public var priorSDPercent: Double
    /// The machine's level per report relative to the mean of all, percent (base reports, then new).
    public var reportShiftPercent: [Double]
    /// Rows the machine's level was taken over.
    public var shiftRows: Int
    /// The two-sided t-test p that the machine's level differs between the sides (reports as replicates).
    public var machineMovedP: Double
    /// Whether it did, past the default threshold: rows that moved only with it are inconclusive, not same.
    public var machineMoved: Bool
}

/// One judged row's figures per report, already in logarithms.
struct ReplicateRow {
    var id: String
    var base: [Double]
    var new: [Double]
    var thresholdPercent: Double
}

/// One judged row's replicate-level result.
struct ReplicateResult: Equatable {
    var changePercent: Double?
    var interval: [Double]?
    var t: Double
    var degrees: Double
    var pValue: Double
    var adjustedP: Double
    var detectable: Detectability
    var verdict: RunVerdict
    var reason: RunVerdictReason
}

/// The empirical-Bayes prior of a set of sample variances with the same degrees of freedom.
struct VariancePrior: Equatable {
    /// Degrees of freedom; infinity when the variances scatter no more than sampling alone explains.
    var degrees: Double
    var variance: Double

    /// Smyth's method of moments on log variances (limma's fitFDist without covariates); rows with a zero
    /// or non-finite variance do not count. Nil with fewer than three usable variances.
    static func fit(_ variances: [Double], degrees d: Double) -> VariancePrior? {
        let logs = variances.filter { $0 > 0 && $0.isFinite }.map { Foundation.log($0) }
        guard logs.count >= 3, d > 0 else { return nil }
        let e = logs.map { $0 - Polygamma.digamma(d / 2) + Foundation.log(d / 2) }
        let mean = e.reduce(0, +) / Double(e.count)
        let scatter = e.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(e.count - 1)
        let excess = scatter - Polygamma.trigamma(d / 2)
        if excess > 0 {
            let d0 = 2 * Polygamma.trigammaInverse(excess)
            let s0 = Foundation.exp(mean + Polygamma.digamma(d0 / 2) - Foundation.log(d0 / 2))
            guard d0.isFinite, s0.isFinite, s0 > 0 else { return nil }
            return VariancePrior(degrees: d0, variance: s0)
        }
        return VariancePrior(degrees: .infinity, variance: Foundation.exp(mean))
    }

    /// A row's variance moderated towards the prior, and its degrees of freedom.
    func moderate(_ variance: Double, degrees d: Double) -> (variance: Double, degrees: Double) {
        guard degrees.isFinite else { return (self.variance, .infinity) }
        return ((degrees * self.variance + d * variance) / (degrees + d), degrees + d)
    }
}

enum ReplicateJudge {
    /// The mean of the shortest half of `values` (⌊n/2⌋ + 1 of them); nil when empty.
    static func shorth(_ values: [Double]) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let h = sorted.count / 2 + 1
        var best = 0
        for start in 0...(sorted.count - h) where sorted[start + h - 1] - sorted[start] < sorted[best + h - 1] - sorted[best] {
            best = start
        }
        return sorted[best..<(best + h)].reduce(0, +) / Double(h)
    }

    /// Each report's machine level c[j] from the log gross figures of the rows every report has
    /// (`grossLogs[row][report]`); nil under three such rows.
    static func reportShifts(_ grossLogs: [[Double]]) -> [Double]? {
        let complete = grossLogs.filter { $0.allSatisfy(\.isFinite) }
        guard complete.count >= 3, let reports = complete.first?.count, reports > 0 else { return nil }
        let means = complete.map { $0.reduce(0, +) / Double(reports) }
        var shifts: [Double] = []
        for j in 0..<reports {
            guard let center = shorth(zip(complete, means).map { $0[j] - $1 }) else { return nil }
            shifts.append(center)
        }
        return shifts
    }

    /// Judges `rows` (figures already corrected by the report shifts) at `alpha`.
    static func judge(_ rows: [ReplicateRow], alpha: Double) -> (results: [ReplicateResult], prior: VariancePrior?) {
        guard let first = rows.first else { return ([], nil) }
        let (nb, nn) = (Double(first.base.count), Double(first.new.count))
        let d = nb + nn - 2
        let variances = rows.map { pooledVariance($0.base, $0.new) }
        let prior = VariancePrior.fit(variances, degrees: d)
        let level = Holm.firstStepLevel(alpha: alpha, rows: rows.count)
        var results: [ReplicateResult] = rows.indices.map { index in
            let row = rows[index]
            let difference = mean(row.new) - mean(row.base)
            let (variance, degrees) = prior?.moderate(variances[index], degrees: d) ?? (variances[index], d)
            let standardError = (variance * (1 / nb + 1 / nn)).squareRoot()
            let t = standardError > 0 ? difference / standardError : (difference == 0 ? 0 : .infinity)
            let p = degrees > 0 ? StudentT.twoSidedP(t, degrees: degrees) : 1
            var result = ReplicateResult(
                changePercent: percent(difference), interval: nil, t: t.isFinite ? t : 0, degrees: degrees,
                pValue: p.isNaN ? 1 : p, adjustedP: 1, detectable: .unknown, verdict: .inconclusive,
                reason: .tooFewRuns)
            if degrees > 0, standardError > 0 {
                let half = StudentT.twoSidedQuantile(0.05, degrees: degrees) * standardError
                let interval = [percent(difference - half), percent(difference + half)]
                result.interval = interval.allSatisfy(\.isFinite) ? interval : nil
                let detect =
                    (StudentT.twoSidedQuantile(level, degrees: degrees)
                        + StudentT.twoSidedQuantile(2 * (1 - DetectableChange.power), degrees: degrees))
                    * standardError
                result.detectable = detect.isFinite ? .percent(percent(detect)) : .unknown
            }
            return result
        }
        let adjusted = Holm.adjust(results.map(\.pValue))
        for index in results.indices {
            results[index].adjustedP = adjusted[index]
            (results[index].verdict, results[index].reason) = RunVerdict.judge(
                change: results[index].changePercent, interval: results[index].interval, adjustedP: adjusted[index],
                alpha: alpha, threshold: rows[index].thresholdPercent, reachable: d > 0)
        }
        return (results, prior)
    }

    /// The within-side variance of both sides pooled: Σ (x − x̄_side)² / (nb + nn − 2); 0 without freedom.
    static func pooledVariance(_ base: [Double], _ new: [Double]) -> Double {
        let d = base.count + new.count - 2
        guard d > 0 else { return 0 }
        let (mb, mn) = (mean(base), mean(new))
        let sum = base.reduce(0) { $0 + ($1 - mb) * ($1 - mb) } + new.reduce(0) { $0 + ($1 - mn) * ($1 - mn) }
        return sum / Double(d)
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// A log difference as a percent change.
    static func percent(_ logChange: Double) -> Double { (Foundation.exp(logChange) - 1) * 100 }
}
