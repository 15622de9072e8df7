// RunExtraction: a bench report's rows as compare judges them — per case (and per measurement of this
// level) its independent runs, each as a run figure with the kept samples behind it, in cycles per exit,
// both gross (the timed loop per exit) and net (less the timing baseline's median), and whether the
// report's net figure is below resolution.
//
// Reports without per-run data (every report before `bench --runs`): the report is one run, whose
// samples are its kept samples and whose baseline is the case's recorded baseline median. Reports with
// per-run data (samplesPerRun, perRun with each run's median and same-guest baseline, net with its verdict
// on resolution; this level's per-run net medians) give one run each.

import Documents

/// One row of one report, as runs.
public struct ReportRowRuns: Sendable {
    public var id: String
    /// The level the figure belongs to: this level for host-level rows, the guests' level for cases.
    public var level: String
    /// "host-level" or "case".
    public var source: String
    /// ok, skipped or failed.
    public var status: String
    public var reason: String?
    /// kernel, user-space, none, level-below (bench's ExitTarget).
    public var exitsTo: String
    /// Whether the case ran in a guest mode the hypervisor emulates instruction by instruction.
    public var emulated: Bool
    /// Per run: cycles per exit, the timed loop as it is.
    public var gross: [RunValues]
    /// Per run: cycles per exit less the timing baseline; empty when the case has no baseline.
    public var net: [RunValues]
    /// Whether the report's net figure is not distinguishable from zero (or there is none).
    public var netBelowResolution: Bool
}

/// Reads run sets out of bench reports.
public enum RunExtraction {
    /// Every row of `report`: this level's measurements first, then the cases, in the report's order.
    public static func rows(_ report: BenchReport) -> [ReportRowRuns] {
        let hosts = report.hostLevel.map { host in
            let overhead = host.statistics.cycles.p50 - host.netMedianCycles
            var runs = caseRuns(samples: host.samplesCycles, baseline: overhead, exitsPerSample: 1)
            // Timed again in every run: each run is known by its net median (its samples are pooled in the
            // report), and its gross median is that plus the overhead.
            if let perRun = host.perRunNetMedianCycles, perRun.count > 1 {
                runs.net = perRun.compactMap { RunValues(median: $0) }
                runs.gross = perRun.compactMap { RunValues(median: $0 + overhead) }
            }
            let width = halfWidth(host.samplesCycles)
            return ReportRowRuns(
                id: host.id, level: report.context.level, source: "host-level", status: "ok", reason: nil,
                exitsTo: "level-below", emulated: false, gross: runs.gross, net: runs.net,
                netBelowResolution: !(host.netMedianCycles > 0 && host.netMedianCycles >= width))
        }
        return hosts
            + report.cases.map { entry in
                let runs = runs(of: entry, in: report)
                let mode = report.guestExecution.first { $0.mode == entry.mode && $0.cpl == entry.cpl }
                return ReportRowRuns(
                    id: entry.id, level: report.context.guestLevel, source: "case", status: entry.status.rawValue,
                    reason: entry.reason, exitsTo: entry.exitsTo, emulated: mode?.emulated ?? false,
                    gross: runs.gross, net: runs.net, netBelowResolution: netBelowResolution(entry, in: report))
            }
    }

    /// A case's runs: per run its kept samples (samplesPerRun), its median and its own baseline (perRun), where
    /// the report has them; else the whole report is one run.
    static func runs(of entry: CaseReport, in report: BenchReport) -> (gross: [RunValues], net: [RunValues]) {
        guard entry.status == .ok else { return ([], []) }
        return caseRuns(
            samples: entry.samplesCycles, samplesPerRun: entry.samplesPerRun,
            runMedians: entry.perRun?.map(\.medianCycles), runBaselines: entry.perRun?.map(\.baselineMedianCycles),
            baseline: entry.baselineMedianCycles, exitsPerSample: entry.exitsPerSample)
    }

    /// Whether the case's net figure is below resolution. With the report's own verdict (net.belowResolution)
    /// that is returned instead; without it, the design's rule on the one run there is: the net is not
    /// positive, or smaller than the half-width of its 95 % interval (the case's distribution-free interval
    /// of the median plus its baseline's, per exit).
    static func netBelowResolution(_ entry: CaseReport, in report: BenchReport) -> Bool {
        if let net = entry.net { return net.belowResolution }
        guard entry.status == .ok, let net = entry.netMedianCycles, entry.baselineMedianCycles != nil else {
            return true
        }
        let baseline = entry.baselineID.flatMap { id in report.cases.first { $0.id == id && $0.status == .ok } }
        let width =
            (halfWidth(entry.samplesCycles) + (baseline.map { halfWidth($0.samplesCycles) } ?? 0))
            / Double(Swift.max(1, entry.exitsPerSample))
        return !(net > 0 && net >= width)
    }

    /// Splits kept samples into runs and turns them into per-exit figures. `samplesPerRun` (how many of
    /// the samples, in order, belong to each run) must add up to the sample count, else all samples are
    /// one run; a run with no kept samples is known by `runMedians[i]` alone. `runBaselines[i]`, where
    /// given, is that run's own baseline median; else `baseline` is used; no baseline at all gives no net.
    public static func caseRuns(
        samples: [UInt64], samplesPerRun: [Int]? = nil, runMedians: [Double]? = nil, runBaselines: [Double?]? = nil,
        baseline: Double?, exitsPerSample: Int
    ) -> (gross: [RunValues], net: [RunValues]) {
        let exits = Double(Swift.max(1, exitsPerSample))
        var slices: [ArraySlice<UInt64>] = [samples[...]]
        if let counts = samplesPerRun, counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) == samples.count,
            !counts.isEmpty
        {
            var start = 0
            slices = counts.map { count in
                defer { start += count }
                return samples[start..<(start + count)]
            }
        }
        var gross: [RunValues] = []
        var net: [RunValues] = []
        for (index, slice) in slices.enumerated() {
            let runBaseline = runBaselines.flatMap { index < $0.count ? $0[index] : nil } ?? baseline
            if slice.isEmpty {
                guard let median = runMedians.flatMap({ index < $0.count ? $0[index] : nil }) else { continue }
                RunValues(median: median / exits).map { gross.append($0) }
                if let runBaseline { RunValues(median: (median - runBaseline) / exits).map { net.append($0) } }
                continue
            }
            RunValues(samples: slice.map { Double($0) / exits }).map { gross.append($0) }
            if let runBaseline {
                RunValues(samples: slice.map { (Double($0) - runBaseline) / exits }).map { net.append($0) }
            }
        }
        return (gross, net)
    }

    /// Half the width of the distribution-free 95 % interval of the median of `samples`.
    static func halfWidth(_ samples: [UInt64]) -> Double {
        guard !samples.isEmpty else { return 0 }
        let interval = SampleStatistics.medianInterval(samples.map { Double($0) }.sorted(), z: 1.959964)
        return (interval[1] - interval[0]) / 2
    }
}
