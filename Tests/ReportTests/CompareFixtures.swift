// The real bench report from this machine (AMD EPYC Genoa under kvm_pvm) and reports crafted from it by
// scaling samples, for the compare, render and bound tests.

import Bench
import Foundation
import Probe
import Report
import Testing

/// The real report and reports crafted from it.
enum CompareFixtures {
    static let realName = "pvm-host-genoa.bench.json"

    static func path(_ relative: String) throws -> String {
        try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(relative)")).path
    }

    /// Loaded once for all tests.
    static let loaded: Result<BenchReport, InputError> = {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(realName)") else {
            return .failure(InputError(.noInput, "the test bundle has no resources"))
        }
        return Result { () throws(InputError) in try ReportFile.load(url.path) }
    }()

    static func real() throws -> BenchReport {
        try loaded.get()
    }

    /// `report` as a run in which the named cases (all when nil), host level included, took `factor`
    /// times as long: samples scaled and every figure derived from them recomputed. A guest case's
    /// baseline median follows its baseline case, so scaling a case alone scales its raw samples while
    /// the timing overhead stays as it was.
    static func scaled(_ report: BenchReport, _ ids: Set<String>?, by factor: Double) -> BenchReport {
        var out = report
        let hz = report.context.tsc.hz
        func scale(_ samples: [UInt64]) -> [UInt64] { samples.map { UInt64((Double($0) * factor).rounded()) } }
        for index in out.hostLevel.indices where ids?.contains(out.hostLevel[index].id) ?? true {
            out.hostLevel[index].samplesCycles = scale(out.hostLevel[index].samplesCycles)
            out.hostLevel[index].statistics = CaseAnalysis.dual(out.hostLevel[index].samplesCycles, hz: hz)!
            // The timing overhead scales with the rest, so the net figure does too.
            out.hostLevel[index].netMedianCycles *= factor
            out.hostLevel[index].netMedianNanoseconds *= factor
        }
        for index in out.cases.indices
        where out.cases[index].status == .ok && (ids?.contains(out.cases[index].id) ?? true) {
            out.cases[index].samplesCycles = scale(out.cases[index].samplesCycles)
            out.cases[index].statistics = CaseAnalysis.dual(out.cases[index].samplesCycles, hz: hz)
        }
        let medians = Dictionary(out.cases.compactMap { c in c.statistics.map { (c.id, $0.cycles.p50) } }) { a, _ in a }
        for index in out.cases.indices where out.cases[index].status == .ok {
            var entry = out.cases[index]
            guard let stats = entry.statistics?.cycles else { continue }
            if let id = entry.baselineID, let median = medians[id] { entry.baselineMedianCycles = median }
            let net = max(0, stats.p50 - (entry.baselineMedianCycles ?? 0)) / Double(entry.exitsPerSample)
            entry.netMedianCycles = net
            entry.netMedianNanoseconds = hz > 0 ? net / hz * 1e9 : nil
            entry.medianCIRelative = stats.p50 > 0 ? (stats.medianCI95[1] - stats.medianCI95[0]) / 2 / stats.p50 : nil
            out.cases[index] = entry
        }
        return out
    }
}

extension PolicyVocabulary {
    /// The case ids of this build's catalogue, as the CLI checks a policy against them.
    static let catalogue = PolicyVocabulary(caseIDs: ExitCase.catalogue.map(\.id))
}
