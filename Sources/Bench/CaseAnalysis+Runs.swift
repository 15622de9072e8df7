// One case's report from its independent runs: the pooled samples and their statistics as before, and per
// run the median, the baseline timed in the same guest, and the net per exit; the net figure comes from the
// runs (BenchRuns.swift), so between-run noise is inside its interval. Runs that failed are counted and named;
// their good neighbours are kept.

import Probe

extension CaseAnalysis {
    /// The report of `exitCase` from its runs' outcomes, in run order (failed and skipped runs included).
    public static func report(_ exitCase: ExitCase, runs outcomes: [CaseOutcome], hz: Double) -> CaseReport {
        let first = outcomes.first { if case .success = $0.result { true } else { false } } ?? outcomes.first
        var report = emptyReport(exitCase, first)
        let successes = outcomes.compactMap { outcome -> (CaseSamples, [UInt64]?)? in
            guard case .success(let samples) = outcome.result, !samples.cycles.isEmpty else { return nil }
            return (samples, outcome.baselineCycles)
        }
        let failures = outcomes.compactMap { outcome -> CaseFailure? in
            guard case .failure(let failure) = outcome.result else { return nil }
            return failure
        }
        guard let (firstSamples, _) = successes.first else {
            let failure = failures.first { $0.kind != .skipped } ?? failures.first
            report.status = failure?.kind == .skipped ? .skipped : .failed
            report.reason = failure?.reason ?? "not run"
            report.failure = failure?.kind == .skipped ? nil : failure
            report.runs = max(1, outcomes.count)
            return report
        }
        if let failed = failures.first {
            report.reason = "\(failures.count) of \(outcomes.count) runs failed, the others kept: \(failed.reason)"
        }
        let exits = Double(max(1, firstSamples.exitsPerSample))
        let perKeep = max(1, keptSamples / successes.count)
        report.runs = successes.count
        report.exitsPerSample = firstSamples.exitsPerSample
        report.warmupDiscarded = firstSamples.warmup
        report.samplesCycles = successes.flatMap { thin($0.0.cycles, to: perKeep) }
        report.samplesPerRun = successes.map { min($0.0.cycles.count, perKeep) }
        let pooled = successes.flatMap(\.0.cycles)
        report.sampleCount = pooled.count
        report.statistics = dual(pooled, hz: hz)
        if let stats = report.statistics?.cycles, stats.p50 > 0 {
            report.medianCIRelative = (stats.medianCI95[1] - stats.medianCI95[0]) / 2 / stats.p50
        }
        var figures: [RunFigure] = []
        var intervals: [[Double]] = []
        for (samples, baseline) in successes {
            guard let run = SampleStatistics(samples.cycles.map { Double($0) }) else { continue }
            var figure = RunFigure(medianCycles: run.p50, sampleCount: samples.cycles.count)
            var interval = [run.medianCI95[0] / exits, run.medianCI95[1] / exits]
            if let baseline, let base = SampleStatistics(baseline.map { Double($0) }) {
                figure.baselineMedianCycles = base.p50
                interval = [
                    (run.medianCI95[0] - base.medianCI95[1]) / exits, (run.medianCI95[1] - base.medianCI95[0]) / exits,
                ]
                figure.netCycles = (run.p50 - base.p50) / exits
            } else {
                // No baseline (the baseline itself, host-timed cases, or one that could not be timed): gross.
                figure.netCycles = run.p50 / exits
            }
            figures.append(figure)
            intervals.append(interval)
        }
        report.perRun = figures
        let baselines = figures.compactMap(\.baselineMedianCycles).sorted()
        if !baselines.isEmpty {
            report.baselineID = baselineCaseID(exitCase)
            report.baselineMedianCycles = SampleStatistics.median(baselines)
        }
        report.net = NetFigure.of(nets: figures.compactMap(\.netCycles), runIntervals: intervals)
        if let net = report.net {
            // The schema's netMedianCycles is never negative; `net` keeps the signed figure and says whether
            // it is distinguishable from zero.
            report.netMedianCycles = max(0, net.medianCycles)
            report.netMedianNanoseconds = hz > 0 ? max(0, net.medianCycles) / hz * 1e9 : nil
        }
        return report
    }

    /// The id of `exitCase`'s baseline case ("rdtsc/long64-cpl0").
    static func baselineCaseID(_ exitCase: ExitCase) -> String? {
        CaseRunner.catalogue.first { $0.name == "rdtsc" && $0.mode == exitCase.mode && $0.cpl == exitCase.cpl }?.id
    }

    /// A report with the case's identity and nothing measured yet.
    static func emptyReport(_ exitCase: ExitCase, _ outcome: CaseOutcome?) -> CaseReport {
        CaseReport(
            id: exitCase.id, mode: exitCase.mode.rawValue, cpl: exitCase.cpl,
            mechanism: outcome?.mechanism ?? exitCase.mechanism,
            exitsTo: (outcome?.exitsTo ?? exitCase.exitsTo).rawValue,
            attribution: (outcome?.attribution ?? .notApplicable).rawValue,
            timedIn: exitCase.timedInGuest ? "guest" : "host", status: .ok, reason: nil, failure: nil,
            samplesCycles: [], sampleCount: 0, exitsPerSample: 1, warmupDiscarded: 0, runs: 1, statistics: nil,
            baselineID: nil, baselineMedianCycles: nil, netMedianCycles: nil, netMedianNanoseconds: nil,
            medianCIRelative: nil, guestHypervisor: outcome?.guestHypervisor)
    }
}
