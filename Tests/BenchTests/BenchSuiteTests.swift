// The suite's own logic, without KVM: which cases a --cases list selects, how outcomes become report
// rows (baseline subtracted, samples thinned, emulation detected), and the L-versus-L+1 table.

import Foundation
import Probe
import Testing

@testable import Bench

@Suite("Bench suite logic")
struct BenchSuiteTests {
    let catalogue = CaseRunner.catalogue

    func outcome(_ id: String, _ cycles: [UInt64], exitsPerSample: Int = 1, attribution: Attribution = .thisLevel)
        -> CaseOutcome
    {
        CaseOutcome(
            caseID: id, mode: .long64, cpl: 0, exitsTo: .kernel, attribution: attribution, mechanism: "test",
            result: .success(
                CaseSamples(cycles: cycles, exitsPerSample: exitsPerSample, warmup: 10, timedInGuest: true)),
            wallNanoseconds: 1000)
    }

    func exitCase(_ id: String) throws -> ExitCase {
        try #require(catalogue.first { $0.id == id })
    }

    @Test("a name selects every mode of it, and its baselines come along")
    func selectByName() {
        let (cases, unknown) = BenchSuite.select(["cpuid-0"], from: catalogue)
        #expect(unknown.isEmpty)
        let ids = Set(cases.map(\.id))
        #expect(
            ids.contains("cpuid-0/real") && ids.contains("cpuid-0/long64-cpl0") && ids.contains("cpuid-0/long64-cpl3"))
        #expect(ids.contains("rdtsc/real") && ids.contains("rdtsc/long64-cpl3"), "net figures need their baselines")
        #expect(!ids.contains("hlt/real"))
    }

    @Test("a prefix selects its family, an id selects one case, an unknown name is reported")
    func selectVariants() {
        #expect(BenchSuite.select(["cpuid"], from: catalogue).cases.contains { $0.name == "cpuid-hv" })
        let one = BenchSuite.select(["pio-out-user/real"], from: catalogue).cases.map(\.id)
        #expect(one.contains("pio-out-user/real") && !one.contains("pio-out-user/long64-cpl0"))
        #expect(BenchSuite.select(["warp-drive"], from: catalogue).unknown == ["warp-drive"])
        // The default suite leaves the opt-in sets out; `all` and the set's name bring them in.
        let optIn = catalogue.filter { $0.optInSet != nil }
        #expect(!optIn.isEmpty && optIn.allSatisfy { $0.optInSet == ExitCase.interruptSet })
        #expect(BenchSuite.select(["all"], from: catalogue).cases.count == catalogue.count)
        let interrupts = BenchSuite.select(["interrupts"], from: catalogue).cases.map(\.id)
        let baselines: Set = ["rdtsc/real", "rdtsc/long64-cpl0", "rdtsc/long64-cpl3", "rdtsc/svm-inner"]
        #expect(Set(interrupts) == Set(optIn.map(\.id)).union(baselines))
        let single = BenchSuite.select(["ipi-self-x2apic/long64-cpl0"], from: catalogue).cases.map(\.id)
        #expect(single == ["rdtsc/long64-cpl0", "ipi-self-x2apic/long64-cpl0"])
    }

    @Test("no list runs the default suite; a case outside it runs when named, or with all")
    func defaultSuite() {
        let byDefault = Set(BenchSuite.select([], from: catalogue).cases.map(\.id))
        #expect(byDefault == Set(catalogue.filter { $0.inDefaultSuite && $0.optInSet == nil }.map(\.id)))
        #expect(!byDefault.contains("xsetbv/long64-cpl0") && byDefault.contains("cpuid-0/real"))
        #expect(!byDefault.contains("ipi-self-x2apic/long64-cpl0"))
        #expect(!byDefault.contains("pio-out-kernel/real") && byDefault.contains("mmio-write-ioeventfd/long64-cpl3"))
        // Exclusions alone start from the default suite too.
        let lessOne = Set(BenchSuite.select(["-cpuid-0"], from: catalogue).cases.map(\.id))
        let cpuid0 = ["cpuid-0/real", "cpuid-0/long64-cpl0", "cpuid-0/long64-cpl3", "cpuid-0/svm-inner"]
        #expect(lessOne == byDefault.subtracting(cpuid0))
        let named = BenchSuite.select(["xsetbv"], from: catalogue).cases.map(\.id)
        #expect(named.contains("xsetbv/real") && named.contains("xsetbv/long64-cpl0"))
        #expect(named.contains("rdtsc/real"), "its baseline comes along")
    }

    @Test("thinning keeps the first sample, the order, and at most the cap")
    func thinning() {
        let samples = (0..<10_000).map { UInt64($0) }
        let kept = CaseAnalysis.thin(samples, to: 4096)
        #expect(kept.count == 4096)
        #expect(kept.first == 0)
        #expect(kept == kept.sorted())
        #expect(CaseAnalysis.thin([1, 2, 3], to: 4096) == [1, 2, 3])
    }

    @Test("net per exit is (median − baseline median) / exits per sample, in cycles and ns")
    func netOfBaseline() throws {
        let baseline = outcome("rdtsc/long64-cpl0", [100, 100, 101, 99, 100])
        let report = CaseAnalysis.report(
            try exitCase("cpuid-0/long64-cpl0"), outcome("cpuid-0/long64-cpl0", [1100, 1100, 1090, 1110, 1100]),
            runs: 1, baseline: baseline, hz: 2e9)
        #expect(report.status == .ok)
        #expect(report.baselineID == "rdtsc/long64-cpl0")
        #expect(report.baselineMedianCycles == 100)
        #expect(report.netMedianCycles == 1000)
        #expect(report.netMedianNanoseconds == 500)
        #expect(report.statistics?.nanoseconds.p50 == 550)
        let batched = CaseAnalysis.report(
            try exitCase("null/long64-cpl0"), outcome("null/long64-cpl0", [1100, 1100, 1100], exitsPerSample: 100),
            runs: 1, baseline: baseline, hz: 2e9)
        #expect(batched.netMedianCycles == 10)
    }

    @Test("skips and failures keep their reason; a failure keeps its kind")
    func failures() throws {
        let skipped = CaseOutcome(
            caseID: "hypercall/real", mode: .real, cpl: 0, exitsTo: .kernel, attribution: .notApplicable,
            mechanism: "vmcall", result: .failure(CaseFailure(kind: .skipped, reason: "gated")), wallNanoseconds: 0)
        let report = CaseAnalysis.report(try exitCase("hypercall/real"), skipped, runs: 1, baseline: nil, hz: 1e9)
        #expect(report.status == .skipped && report.reason == "gated" && report.failure == nil)
        var failed = skipped
        failed.result = .failure(CaseFailure(kind: .timedOut, reason: "watchdog", exitReason: "KVM_EXIT_INTR"))
        let failure = CaseAnalysis.report(try exitCase("hypercall/real"), failed, runs: 1, baseline: nil, hz: 1e9)
        #expect(failure.status == .failed && failure.failure?.kind == .timedOut)
    }

    @Test("the null loop says whether a mode is emulated")
    func emulationDetection() throws {
        let base = outcome("rdtsc/long64-cpl0", [50])
        let native = CaseAnalysis.report(
            try exitCase("null/long64-cpl3"), outcome("null/long64-cpl3", [250], exitsPerSample: 100),
            runs: 1, baseline: base, hz: 1e9)
        let emulated = CaseAnalysis.report(
            try exitCase("null/real"), outcome("null/real", [200_050], exitsPerSample: 100),
            runs: 1, baseline: base, hz: 1e9)
        let execution = CaseAnalysis.guestExecution([native, emulated])
        #expect(execution.first { $0.mode == "long64" }?.emulated == false)
        #expect(execution.first { $0.mode == "real" }?.emulated == true)
    }

    @Test("cpuid rows get this level's figure and the multiplier; others get neither")
    func table() throws {
        let host = HostLevelCase(
            id: "cpuid-0/host", mechanism: "cpuid", samplesCycles: [2000], warmupDiscarded: 0,
            statistics: try #require(CaseAnalysis.dual([2000], hz: 1e9)), netMedianCycles: 2000,
            netMedianNanoseconds: 2000)
        let cpuid = CaseAnalysis.report(
            try exitCase("cpuid-0/long64-cpl0"), outcome("cpuid-0/long64-cpl0", [30_000]), runs: 1, baseline: nil,
            hz: 1e9)
        let pio = CaseAnalysis.report(
            try exitCase("pio-out-user/real"), outcome("pio-out-user/real", [9000]), runs: 1, baseline: nil, hz: 1e9)
        let rows = CaseAnalysis.table([cpuid, pio], host: [host], execution: [])
        #expect(rows[0].thisLevelCycles == 2000)
        #expect(rows[0].multiplier == 15)
        #expect(rows[1].thisLevelCycles == nil && rows[1].multiplier == nil)
    }

    @Test("a CPUID answered below is said so in the table")
    func levelBelowNote() throws {
        let below = CaseAnalysis.report(
            try exitCase("cpuid-0/long64-cpl3"), outcome("cpuid-0/long64-cpl3", [9000], attribution: .levelBelow),
            runs: 1, baseline: nil, hz: 1e9)
        let rows = CaseAnalysis.table([below], host: [], execution: [])
        #expect(rows[0].note.contains("level below"))
    }
}
