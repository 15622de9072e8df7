// RunCompare+Summary: the method description, the notes, and the summary with the exit code.

import Documents

extension RunComparison {
    static func method(_ options: RunCompareOptions) -> RunCompareMethod {
        RunCompareMethod(
            figure: "per independent run, the median cycles per exit: net (less the timing baseline's median) unless "
                + "the net is below resolution on either side, then gross; a report without per-run data is one run",
            test: "Mann–Whitney U, two-sided, on the run figures: exact distribution without ties and at most "
                + "\(ExactMannWhitney.maximumExactSize) runs a side (as scipy.stats.mannwhitneyu method=\"exact\"), "
                + "else the normal approximation with tie and continuity correction",
            multipleTesting: "Holm–Bonferroni over the judged rows (family-wise error at most alpha)",
            interval: "two-stage percentile bootstrap of the ratio new / base: runs drawn with replacement, then "
                + "samples within each drawn run; a side's figure is the median of the resampled runs' medians",
            detectableChange:
                "the change caught with 80 % power at alpha / judged rows: (exp((z(1 − α′/2) + z(0.8)) · σ · "
                + "√(1/nb + 1/nn) · √(π/3)) − 1) · 100, σ the pooled robust SD (1.4826 · MAD) of the log run figures; "
                + "none when no data with so few runs can reach α′",
            alpha: options.alpha, confidence: 0.95, power: DetectableChange.power,
            bootstrapResamples: options.resamples, bootstrapSeed: options.seed,
            defaultThresholdPercent: options.thresholds.defaultPercent, cases: options.selection.cases,
            exclude: options.selection.exclude, judgeAll: options.selection.judgeAll,
            allowMissing: options.allowMissing)
    }

    static func notes(_ rows: [RunCompareRow], base: [NamedReport], new: [NamedReport], options: RunCompareOptions)
        -> [String]
    {
        var notes: [String] = []
        // A report made with `bench --inject-exit-delay` carries a slowdown put there on purpose.
        for (side, reports) in [("base", base), ("new", new)] {
            for named in reports {
                guard let delay = named.report.context.injectedExitDelay else { continue }
                notes.append(
                    "\(side) \(named.file) was made with --inject-exit-delay \(delay.requested) ("
                        + "\(CheckedNumber.wholeText(delay.delayCycles)) cycles added to every exit to user space): "
                        + "a diagnostic slowdown, not a measurement of this machine")
            }
        }
        let judged = rows.filter { $0.verdict != .notJudged && $0.verdict != .missing }
        let tooFew = judged.filter { $0.reason == .tooFewRuns }
        if !tooFew.isEmpty {
            let fewest = tooFew.map { min($0.baseRuns, $0.newRuns) }.min() ?? 0
            notes.append(
                "\(tooFew.count) rows inconclusive, too few runs to reach the level whatever the data (\(fewest) on the "
                    + "smaller side): take `bench --runs 10` a side, or give several reports per side "
                    + "(compare B1 B2 … -- N1 N2 …); a report from before --runs counts as one run")
        }
        if judged.contains(where: { $0.emulated }) {
            notes.append(
                "user-space exits of emulated guest modes are judged; their figures include the emulation of the "
                    + "guest's own instructions")
        }
        let emulatedLeft = rows.filter { $0.reason == .emulatedInKernel }.count
        if emulatedLeft > 0 {
            notes.append(
                "\(emulatedLeft) in-kernel exits of emulated guest modes not judged (the figure is the emulator's); "
                    + "--judge-all judges them")
        }
        if judged.isEmpty {
            notes.append("no row was judged: a gate that judges nothing passes nothing (exit 5)")
        }
        let known = Set(rows.map(\.id))
        for id in options.thresholds.cases.keys.sorted() where !known.contains(id) {
            notes.append("a threshold is given for \(id), which no compared report has")
        }
        return notes
    }

    static func summary(_ rows: [RunCompareRow], _ unpaired: [UnpairedCase], allowMissing: Bool)
        -> RunCompareSummary
    {
        func count(_ verdict: RowVerdict) -> Int { rows.filter { $0.verdict == verdict }.count }
        let missing = count(.missing)
        let judged = rows.count - missing - count(.notJudged)
        let outcome: (String, Int)
        if count(.regressed) > 0 {
            outcome = ("regressed", 2)
        } else if count(.inconclusive) > 0 || (missing > 0 && !allowMissing) || judged == 0 {
            outcome = ("inconclusive", 5)
        } else if count(.improved) > 0 {
            outcome = ("improved", 4)
        } else {
            outcome = ("same", 0)
        }
        return RunCompareSummary(
            regressed: count(.regressed), improved: count(.improved), inconclusive: count(.inconclusive),
            same: count(.same), missing: missing, notJudged: count(.notJudged),
            added: unpaired.filter { $0.change == "added" }.count,
            notCompared: unpaired.filter { $0.change != "added" }.count, verdict: outcome.0, exitCode: outcome.1)
    }
}
