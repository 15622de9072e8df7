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
// 0. Within each report, first the same for its runs: the machine's level moves between the runs of one
//    invocation too (here by up to ±18 %, the state lasting a fraction of a second), and a row's runs differ
//    from each other after that level is taken out no more than the reports do (measured: the share of a
//    row's variance between reports, beyond its runs, near 0). So each run's figures are divided by that
//    run's level (the shorth over the rows run in every run) before the report's figure — the median of
//    its runs — is taken; on this machine that cut a judged row's spread between reports by about a
//    quarter (median 4.0 % to 2.8 %, 12 reports of 4 runs; scripts/run-noise.py levels).
// 1. c[j] is the shorth (mean of the shortest half; Andrews et al. 1972) of the report's gross figures
//    less each row's mean over all reports: a robust centre that stays with the unchanged rows even when
//    a third or more of the rows moved (a median would be dragged along). Every row's figure of report j
//    is corrected by c[j], so the change left between the sides is relative to the machine's own shift.
// 2. Each judged row's variance is pooled within the sides (nb + nn − 2 degrees of freedom) and moderated
//    towards a prior fitted to all judged rows' variances by empirical Bayes (Smyth 2004, limma's
//    fitFDist: a scaled inverse χ² prior by the method of moments on log variances). With two to five
//    reports a side a row's own variance is too rough to test on; the prior lends it the other rows'
//    strength while a noisy row keeps a larger variance of its own.
// 2a. With six reports or more in all, the machine's level c[j] is also a covariate of each row (analysis
//    of covariance, one slope per row shared by both sides): rows do not follow the machine exactly in
//    proportion (measured here, slope of a judged row's figure on the level 0.75–1.03), so when the
//    sides were taken at different levels a fixed correction leaves part of the level in the change. The
//    slope costs a degree of freedom and widens the change's variance by (Δc)²/Sxx: where the sides'
//    levels differ, a row's change and its scaling with the machine cannot be told apart as well, and the
//    verdict says so. Seen here before: an A/A pair whose sides stood 22 % apart was called regressed on one
//    row (+5.4 %, adjusted p 0.03) with the fixed correction alone.
// 3. A moderated t (d0 + d degrees of freedom) per row, Holm across the judged rows, the interval of the
//    change from the same t, and the change detectable with 80 % power at alpha / rows. The verdict is
//    RunVerdict.judge on these, as for runs.
// scripts/check-oracles.py recomputes a fixed replicate set with NumPy and SciPy.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

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
    /// Reports whose runs were each first corrected by that run's own machine level (reports of two or more
    /// runs that share at least three rows run in every one of them).
    public var runLevelReports: Int
    /// Whether each row got its own slope on the machine's level (analysis of covariance; six reports or
    /// more in all): a row that follows the machine more or less than in proportion is not then called
    /// changed because the sides were taken at different levels.
    public var levelSlope: Bool
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
        let logs = variances.filter { $0 > 0 && $0.isFinite }.map { Glibc.log($0) }
        guard logs.count >= 3, d > 0 else { return nil }
        let e = logs.map { $0 - Polygamma.digamma(d / 2) + Glibc.log(d / 2) }
        let mean = e.reduce(0, +) / Double(e.count)
        let scatter = e.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(e.count - 1)
        let excess = scatter - Polygamma.trigamma(d / 2)
        if excess > 0 {
            let d0 = 2 * Polygamma.trigammaInverse(excess)
            let s0 = Glibc.exp(mean + Polygamma.digamma(d0 / 2) - Glibc.log(d0 / 2))
            guard d0.isFinite, s0.isFinite, s0 > 0 else { return nil }
            return VariancePrior(degrees: d0, variance: s0)
        }
        return VariancePrior(degrees: .infinity, variance: Glibc.exp(mean))
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
        for start in 0...(sorted.count - h)
        where sorted[start + h - 1] - sorted[start] < sorted[best + h - 1] - sorted[best] {
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

    /// The machine's level in each run of one report, in logarithms: the shorth, over the ok rows with a
    /// positive gross figure in every run, of their log figures about the row's mean. Nil unless the report
    /// has two or more runs and three such rows.
    static func runLevels(_ rows: some Collection<ReportRowRuns>) -> [Double]? {
        let ok = rows.filter { $0.status == "ok" }
        guard let runs = ok.map(\.gross.count).max(), runs >= 2 else { return nil }
        // Sorted ids: the level must not depend on the rows' order.
        let complete = ok.filter { row in row.gross.count == runs && row.gross.allSatisfy { $0.median > 0 } }
            .sorted { $0.id < $1.id }
        guard complete.count >= 3 else { return nil }
        return reportShifts(complete.map { $0.gross.map { Glibc.log($0.median) } })
    }

    /// Divides every run figure of the rows of one report by that run's machine level (`runLevels`).
    /// Rows that lack a run are left as they are (their runs cannot be matched to the levels). Returns
    /// whether the report was corrected: it needs two or more runs and three such rows.
    static func correctRunLevels(_ rows: inout [String: ReportRowRuns]) -> Bool {
        guard let levels = runLevels(rows.values) else { return false }
        let runs = levels.count
        let scales = levels.map { Glibc.exp(-$0) }
        for id in rows.keys {
            guard var row = rows[id], row.status == "ok", row.gross.count == runs else { continue }
            row.gross = zip(row.gross, scales).compactMap { RunValues(median: $0.median * $1) }
            if row.net.count == runs {
                row.net = zip(row.net, scales).compactMap { RunValues(median: $0.median * $1) }
            }
            rows[id] = row
        }
        return true
    }

    /// The least reports in all for the machine's level to be a covariate: it costs each row one degree of
    /// freedom, and with five reports or fewer too few would be left.
    static let covariateReports = 6

    /// One row's fit: the change between the sides (log), its variance factor (the standard error is
    /// √(σ² · factor)), the residual variance and its degrees of freedom.
    struct RowFit {
        var difference: Double
        var factor: Double
        var variance: Double
        var degrees: Double
    }

    /// Fits one row: without a covariate, the difference of the side means with the variance pooled within
    /// the sides; with `covariate` (one value per report, base then new: the machine's level), the analysis
    /// of covariance with one slope shared by both sides — the change is the difference of the side means
    /// less slope × the difference of the sides' levels, and its variance grows by (Δlevel)² / Sxx.
    static func fit(_ row: ReplicateRow, covariate: [Double]?) -> RowFit {
        let (nb, nn) = (Double(row.base.count), Double(row.new.count))
        let raw = mean(row.new) - mean(row.base)
        guard let covariate, covariate.count == row.base.count + row.new.count else {
            return RowFit(
                difference: raw, factor: 1 / nb + 1 / nn, variance: pooledVariance(row.base, row.new),
                degrees: nb + nn - 2)
        }
        let (cb, cn) = (Array(covariate[..<row.base.count]), Array(covariate[row.base.count...]))
        let (mcb, mcn, myb, myn) = (mean(cb), mean(cn), mean(row.base), mean(row.new))
        var sxx = 0.0
        var sxy = 0.0
        for (c, y) in zip(cb, row.base) { sxx += (c - mcb) * (c - mcb); sxy += (c - mcb) * (y - myb) }
        for (c, y) in zip(cn, row.new) { sxx += (c - mcn) * (c - mcn); sxy += (c - mcn) * (y - myn) }
        let d = nb + nn - 3
        guard sxx > 1e-12, d > 0 else {
            return RowFit(
                difference: raw, factor: 1 / nb + 1 / nn, variance: pooledVariance(row.base, row.new),
                degrees: nb + nn - 2)
        }
        let slope = sxy / sxx
        var residual = 0.0
        for (c, y) in zip(cb, row.base) { residual += pow(y - myb - slope * (c - mcb), 2) }
        for (c, y) in zip(cn, row.new) { residual += pow(y - myn - slope * (c - mcn), 2) }
        let shift = mcn - mcb
        return RowFit(
            difference: raw - slope * shift, factor: 1 / nb + 1 / nn + shift * shift / sxx,
            variance: residual / d, degrees: d)
    }

    /// Judges `rows` (figures already corrected by the report shifts) at `alpha`; with `covariate` (the
    /// report shifts, base then new) each row also gets its own slope on the machine's level.
    static func judge(
        _ rows: [ReplicateRow], covariate: [Double]? = nil, alpha: Double
    ) -> (results: [ReplicateResult], prior: VariancePrior?) {
        guard let first = rows.first else { return ([], nil) }
        let fits = rows.map { fit($0, covariate: covariate) }
        // Every row has the same reports, so the same degrees of freedom (a row whose covariate fit could
        // not be made has one more; the prior takes the common one).
        let d = fits.map(\.degrees).min() ?? Double(first.base.count + first.new.count - 2)
        let variances = fits.map(\.variance)
        let prior = VariancePrior.fit(variances, degrees: d)
        let level = Holm.firstStepLevel(alpha: alpha, rows: rows.count)
        var results: [ReplicateResult] = rows.indices.map { index in
            let difference = fits[index].difference
            let (variance, degrees) =
                prior?.moderate(variances[index], degrees: fits[index].degrees) ?? (
                    variances[index], fits[index].degrees
                )
            let standardError = (variance * fits[index].factor).squareRoot()
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
    static func percent(_ logChange: Double) -> Double { (Glibc.exp(logChange) - 1) * 100 }
}

/// The machine's level as compare measures it (ReplicateJudge), for other modules that follow the same
/// reports over time (the history): the machine moves every exit at once between runs and between
/// invocations, which is not a change of any one row.
public enum MachineLevel {
    /// The mean of the shortest half of `values` (⌊n/2⌋ + 1 of them; Andrews et al. 1972); nil when empty.
    public static func shorth(_ values: [Double]) -> Double? { ReplicateJudge.shorth(values) }

    /// Each report's (or run's) machine level, in logarithms, from the log figures of rows present in every
    /// one (`logs[row][report]`): the shorth of each column about the rows' means. Nil under three rows.
    public static func levels(_ logs: [[Double]]) -> [Double]? { ReplicateJudge.reportShifts(logs) }

    /// The machine's level in each run of one report, in logarithms, as compare divides each run's figures
    /// by before it takes the report's figure; nil for a report of one run or under three rows in every run.
    public static func runLevels(_ rows: [ReportRowRuns]) -> [Double]? { ReplicateJudge.runLevels(rows) }
}
