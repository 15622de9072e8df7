// Compare: two bench reports, case by case and level by level, to a verdict — regression, improvement
// or unchanged — that a CI job can act on through the exit code (0, 2, 4, as package-benchmark).
//
// What a row compares: the figure the bench table shows, cycles per exit. For a guest case each kept
// sample becomes (sample − the case's baseline median) / exitsPerSample, with the baseline median that
// report recorded; for this level's own cases, sample − the timing overhead's median (the report's
// median less its net median). Subtracting a constant keeps every sample's rank within its report, so
// the test still sees the measured distribution; but the change is then the change of the exit cost,
// not diluted by the timing overhead (in real mode under kvm_pvm the rdtsc pair alone is ~60 % of a
// cpuid sample).
//
// A row is a regression when all three hold: the change of the median is above its threshold (default
// 5 %), above the noise floor, and the two-sided Mann–Whitney p is below alpha (0.05); an improvement
// likewise below −threshold. The noise floor is the largest of 1 %; the sum of both reports' relative
// half-widths of the 95 % interval of the net median (the case's interval plus its baseline's, on the
// kept samples); and one step of the timer (the smallest gap between distinct samples) relative to the
// base median. A change smaller than the medians' own uncertainty, or than one tick of a quantized
// clock, is not believed, however small p is — with thousands of samples p is tiny for any shift.

import Bench
import Probe

/// How to compare.
public struct CompareOptions: Sendable {
    public var thresholds = Thresholds()
    public var alpha = 0.05
    public var noiseFloorMinimumPercent = 1.0
    public var resamples = Bootstrap.defaultResamples
    public var seed = Bootstrap.defaultSeed
    /// Compare even when the contexts differ in a way that refuses.
    public var force = false
    /// Fewer samples on either side give no verdict (Google Benchmark's compare.py warns below 9).
    public var minimumSamples = 9

    public init() {}
}

/// Compares bench reports.
public enum Comparison {
    /// Compares `new` against `base`; `baseFile` and `newFile` name them in the document and messages.
    /// Throws `.badData` (exit 65), one line listing what differs, when the contexts differ in a way that
    /// refuses and `options.force` is off.
    public static func compare(
        base: BenchReport, new: BenchReport, baseFile: String, newFile: String,
        options: CompareOptions = CompareOptions()
    ) throws(InputError) -> CompareReport {
        let differences = ContextDifference.between(base.context, new.context)
        let refusing = differences.filter { $0.severity == .refuse }
        if !refusing.isEmpty && !options.force {
            throw InputError(
                .badData,
                "\(baseFile) and \(newFile) are not comparable: "
                    + refusing.map(\.line).joined(separator: "; ") + " (--force compares them anyway, with warnings)")
        }
        var rows: [CompareRow] = []
        var unpaired: [UnpairedCase] = []
        for side in pairs(base, new) {
            switch side {
            case .row(let id, let level, let source, let a, let b):
                rows.append(row(id: id, level: level, source: source, base: a, new: b, options: options))
            case .unpaired(let entry):
                unpaired.append(entry)
            }
        }
        let known = Set(base.hostLevel.map(\.id) + base.cases.map(\.id) + new.hostLevel.map(\.id) + new.cases.map(\.id))
        let notes = options.thresholds.cases.keys.sorted().filter { !known.contains($0) }.map {
            "a threshold is given for \($0), which neither report has"
        }
        return CompareReport(
            schema: CompareReport.schemaID, version: CompareReport.currentVersion, tool: .current,
            base: ReportIdentity(base, file: baseFile), new: ReportIdentity(new, file: newFile),
            forced: !refusing.isEmpty, differences: differences, method: method(options), rows: rows,
            unpaired: unpaired, notes: notes, summary: summary(rows, unpaired))
    }

    /// The values a row compares, per report: per-exit cycles, and the half-width of the net median's
    /// 95 % interval in the same unit.
    struct Values {
        var values: [Double]
        var halfWidth: Double
        /// The timer's step in the same unit: the smallest gap between two distinct samples.
        var step: Double
    }

    enum Pairing {
        case row(id: String, level: String, source: String, base: Values, new: Values)
        case unpaired(UnpairedCase)
    }

    /// Host-level rows first, then cases, each in the base report's order followed by the new report's
    /// additions.
    static func pairs(_ base: BenchReport, _ new: BenchReport) -> [Pairing] {
        var out: [Pairing] = []
        let newHost = Dictionary(new.hostLevel.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for host in base.hostLevel {
            if let other = newHost[host.id] {
                out.append(
                    .row(
                        id: host.id, level: base.context.level, source: "host-level",
                        base: values(host), new: values(other)))
            } else {
                out.append(
                    .unpaired(UnpairedCase(id: host.id, baseStatus: "ok", newStatus: "absent", change: "removed")))
            }
        }
        let baseHostIDs = Set(base.hostLevel.map(\.id))
        for host in new.hostLevel where !baseHostIDs.contains(host.id) {
            out.append(.unpaired(UnpairedCase(id: host.id, baseStatus: "absent", newStatus: "ok", change: "added")))
        }
        let newCases = Dictionary(new.cases.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for entry in base.cases {
            guard let other = newCases[entry.id] else {
                out.append(
                    .unpaired(
                        UnpairedCase(
                            id: entry.id, baseStatus: entry.status.rawValue, newStatus: "absent",
                            change: "removed", reason: entry.reason)))
                continue
            }
            guard entry.status == .ok, other.status == .ok else {
                // One reason when both reports give the same one.
                let reasons =
                    entry.reason == other.reason
                    ? [entry.reason].compactMap { $0 }
                    : [entry.reason.map { "base: \($0)" }, other.reason.map { "new: \($0)" }].compactMap { $0 }
                out.append(
                    .unpaired(
                        UnpairedCase(
                            id: entry.id, baseStatus: entry.status.rawValue,
                            newStatus: other.status.rawValue, change: "not-compared",
                            reason: reasons.isEmpty ? nil : reasons.joined(separator: "; "))))
                continue
            }
            out.append(
                .row(
                    id: entry.id, level: base.context.guestLevel, source: "case",
                    base: values(entry, in: base), new: values(other, in: new)))
        }
        let baseCaseIDs = Set(base.cases.map(\.id))
        for entry in new.cases where !baseCaseIDs.contains(entry.id) {
            out.append(
                .unpaired(
                    UnpairedCase(
                        id: entry.id, baseStatus: "absent", newStatus: entry.status.rawValue,
                        change: "added", reason: entry.reason)))
        }
        return out
    }

    /// This level's samples less the timing overhead's median (the report keeps that median only as
    /// median − net median).
    static func values(_ host: HostLevelCase) -> Values {
        let overhead = host.statistics.cycles.p50 - host.netMedianCycles
        // Sorted once here: the values keep the order (subtracting a constant is monotonic), and every
        // later sort (the row's, the test's, the bootstrap's) then finds one run, in linear time.
        let sorted = host.samplesCycles.sorted()
        return Values(
            values: sorted.map { Double($0) - overhead }, halfWidth: halfWidth(sorted), step: step(sorted))
    }

    /// A case's samples less its baseline median, per exit, in ascending order; the interval's half-width adds the
    /// baseline's (from the baseline case's kept samples in the same report, where it is there).
    static func values(_ entry: CaseReport, in report: BenchReport) -> Values {
        let offset = entry.baselineMedianCycles ?? 0
        let exits = Double(max(1, entry.exitsPerSample))
        let baseline = entry.baselineID.flatMap { id in report.cases.first { $0.id == id && $0.status == .ok } }
        let sorted = entry.samplesCycles.sorted()
        let width = halfWidth(sorted) + (baseline.map { halfWidth($0.samplesCycles) } ?? 0)
        return Values(
            values: sorted.map { (Double($0) - offset) / exits }, halfWidth: width / exits, step: step(sorted) / exits)
    }

    /// The smallest gap between distinct samples: the timer's resolution where readings are quantized
    /// (under kvm_pvm the guests' TSC moves in steps of 26 cycles); 0 when all samples are equal.
    static func step(_ samples: [UInt64]) -> Double {
        let sorted = samples.sorted()
        var smallest: UInt64 = 0
        for (a, b) in zip(sorted, sorted.dropFirst()) where b > a && (smallest == 0 || b - a < smallest) {
            smallest = b - a
        }
        return Double(smallest)
    }

    /// Half the width of the distribution-free 95 % interval of the median (SampleStatistics's).
    static func halfWidth(_ samples: [UInt64]) -> Double {
        guard !samples.isEmpty else { return 0 }
        let interval = SampleStatistics.medianInterval(samples.map { Double($0) }.sorted(), z: 1.959964)
        return (interval[1] - interval[0]) / 2
    }
}
