// Runs as the unit, without KVM: the seeded per-run order, per-run figures and the net over runs with its
// interval, "below resolution" where that interval does not keep the net from zero (and the table saying so
// instead of a figure), the report's new fields through JSON, and the --inject-exit-delay parser.

import Foundation
import Probe
import Testing

@testable import Bench
@testable import Report

@Suite("Bench runs without KVM")
struct BenchRunsTests {
    let ids = CaseRunner.catalogue.map(\.id)

    @Test("one seed gives one order per run, every time; other seeds and other runs give other orders")
    func shuffling() {
        let order = RunOrder(seed: 42)
        #expect(order.order(ids, run: 1) == RunOrder(seed: 42).order(ids, run: 1))
        #expect(order.order(ids, run: 1) != RunOrder(seed: 43).order(ids, run: 1))
        #expect(order.order(ids, run: 1) != order.order(ids, run: 2))
        #expect(order.order(ids, run: 1) != ids, "the order is shuffled at all")
        #expect(order.order(ids, run: 3).sorted() == ids.sorted(), "a permutation: nothing lost or doubled")
        #expect(RunOrder(seed: 7).order([String](), run: 1).isEmpty)
        #expect(RunOrder(seed: 7).order(["only"], run: 1) == ["only"])
    }

    @Test("the order is pinned: SplitMix64's first outputs for seed 0 are the published ones")
    func splitMixReference() {
        // Reference values of SplitMix64 (Vigna's splitmix64.c) for seed 0.
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    func outcome(_ cycles: [UInt64], baseline: [UInt64]?, exits: Int = 1) -> CaseOutcome {
        var outcome = CaseOutcome(
            caseID: "cpuid-0/long64-cpl0", mode: .long64, cpl: 0, exitsTo: .kernel, attribution: .thisLevel,
            mechanism: "cpuid",
            result: .success(CaseSamples(cycles: cycles, exitsPerSample: exits, warmup: 2, timedInGuest: true)),
            wallNanoseconds: 1)
        outcome.baselineCycles = baseline
        return outcome
    }

    func exitCase(_ id: String) throws -> ExitCase {
        try #require(CaseRunner.catalogue.first { $0.id == id })
    }

    @Test("per run: median, sample count, same-guest baseline and net; the net is the median of run nets")
    func perRunFigures() throws {
        let runs = [
            outcome([1100, 1100, 1102, 1098, 1100], baseline: [100, 100, 101, 99, 100]),
            outcome([1300, 1300, 1301, 1299, 1300], baseline: [120, 120, 120, 121, 119]),
            outcome([1000, 1001, 1000, 999, 1000], baseline: [100, 100, 100, 100, 100]),
        ]
        let report = CaseAnalysis.report(try exitCase("cpuid-0/long64-cpl0"), runs: runs, hz: 1e9)
        let perRun = try #require(report.perRun)
        #expect(perRun.map(\.medianCycles) == [1100, 1300, 1000])
        #expect(perRun.map(\.baselineMedianCycles) == [100, 120, 100])
        #expect(perRun.map(\.netCycles) == [1000, 1180, 900])
        #expect(perRun.map(\.sampleCount) == [5, 5, 5])
        #expect(report.runs == 3)
        #expect(report.samplesPerRun == [5, 5, 5])
        #expect(report.samplesCycles.count == 15)
        let net = try #require(report.net)
        #expect(net.medianCycles == 1000)
        #expect(net.ci95Cycles[0] <= 900 && net.ci95Cycles[1] >= 1180, "the interval spans the runs")
        #expect(!net.belowResolution)
        #expect(report.netMedianCycles == 1000)
        #expect(report.baselineMedianCycles == 100)
    }

    @Test("each run is thinned to its share of the kept samples, so every run is in the report")
    func thinningPerRun() throws {
        let many = (0..<3000).map { UInt64(1000 + $0 % 7) }
        let runs = [outcome(many, baseline: [10]), outcome(many, baseline: [10])]
        let report = CaseAnalysis.report(try exitCase("cpuid-0/long64-cpl0"), runs: runs, hz: 1e9)
        #expect(report.samplesPerRun == [CaseAnalysis.keptSamples / 2, CaseAnalysis.keptSamples / 2])
        #expect(report.samplesCycles.count == CaseAnalysis.keptSamples)
        #expect(report.sampleCount == 6000)
    }

    @Test("a net that the runs cannot tell from zero is below resolution, and never a tight 0")
    func belowResolution() throws {
        // The exit costs less than the baseline's own run-to-run drift: nets of both signs.
        let runs = [
            outcome([5000, 5010, 4990], baseline: [4900, 4905, 4895]),
            outcome([5100, 5110, 5090], baseline: [5300, 5305, 5295]),
            outcome([4950, 4960, 4940], baseline: [4930, 4935, 4925]),
        ]
        let report = CaseAnalysis.report(try exitCase("cr0-write/long64-cpl0"), runs: runs, hz: 1e9)
        let net = try #require(report.net)
        #expect(net.belowResolution)
        #expect(net.ci95Cycles[0] <= 0 && net.ci95Cycles[1] > 0, "\(net.ci95Cycles)")
        #expect(report.perRun?.compactMap(\.netCycles).contains { $0 < 0 } == true, "a negative run net is kept")
        let table = CaseAnalysis.table([report], host: [], execution: [])
        #expect(table.first?.belowResolution == true)
        #expect(table.first?.note.hasPrefix("below resolution: net") == true, "\(table.first?.note ?? "")")
    }

    @Test("a clear net with a small interval is not below resolution; one smaller than its half-width is")
    func resolutionRule() {
        let clear = NetFigure.of(nets: [1000, 1010, 990, 1005, 995])
        #expect(clear?.belowResolution == false)
        let loose = NetFigure.of(nets: [10, 400, 5, 300, 20])
        #expect(loose?.belowResolution == true, "a net of 20 with an interval 5 … 400")
        #expect(NetFigure.of(nets: []) == nil)
        // One run: its within-run interval is what it has.
        let one = NetFigure.of(nets: [50], runIntervals: [[-10, 110]])
        #expect(one?.belowResolution == true && one?.ci95Cycles == [-10, 110])
    }

    @Test(
        "the order-statistic ranks for the median's 95 % interval",
        arguments: [
            (5, 1, 0.9375), (6, 1, 0.96875), (9, 2, 0.9609375), (10, 2, 0.978515625), (20, 6, 0.9586105346679688),
        ])
    func medianRanks(_ n: Int, _ rank: Int, _ coverage: Double) {
        let got = NetFigure.medianRank(count: n)
        #expect(got.rank == rank)
        #expect(abs(got.coverage - coverage) < 1e-12)
    }

    @Test("the table prints 'below resolution' instead of a figure; a clear row keeps its figure")
    func tableText() throws {
        let below = CaseAnalysis.report(
            try exitCase("cr0-write/long64-cpl0"),
            runs: [
                outcome([5000, 5010], baseline: [4900, 4905]), outcome([5100, 5110], baseline: [5300, 5305]),
                outcome([4950, 4960], baseline: [4930, 4935]),
            ], hz: 1e9)
        let clear = CaseAnalysis.report(
            try exitCase("cpuid-0/long64-cpl0"),
            runs: [outcome([2000, 2001], baseline: [100, 100]), outcome([2010, 2011], baseline: [100, 101])], hz: 1e9)
        let text = RenderText.render(try Self.benchReport(cases: [below, clear]))
        let belowLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("cr0-write/long64-cpl0") })
        #expect(belowLine.contains("below resolution"))
        let clearLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("cpuid-0/long64-cpl0") })
        #expect(clearLine.contains("1,9") && !clearLine.contains("below"))
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    @Test("the new fields survive JSON: runs, seed, injected delay, per-run figures, samplesPerRun, net")
    func roundTrip() throws {
        let runs = [outcome([1100, 1101], baseline: [100, 100]), outcome([1200, 1201], baseline: [110, 110])]
        let report = CaseAnalysis.report(try exitCase("cpuid-0/long64-cpl0"), runs: runs, hz: 1e9)
        var bench = try Self.benchReport(cases: [report])
        bench.context.runs = 2
        bench.context.runOrderSeed = BenchSuite.seedMask
        bench.context.injectedExitDelay = InjectedExitDelay.make(
            requested: "10%", request: .percent(10), hz: 2e9, reference: ("pio-out-user/real", 25_000))
        bench.hostLevel = []
        let data = try DocumentFile.encodeJSON(bench)
        let decoded = try DocumentFile.decodeJSON(
            BenchReport.self, [UInt8](data), name: "round trip", schema: BenchReport.schemaID,
            version: BenchReport.currentVersion)
        #expect(decoded.context.runs == 2)
        #expect(decoded.context.runOrderSeed == BenchSuite.seedMask)
        #expect(decoded.context.injectedExitDelay == bench.context.injectedExitDelay)
        #expect(decoded.context.injectedExitDelay?.delayCycles == 2500)
        #expect(decoded.cases[0].perRun == report.perRun)
        #expect(decoded.cases[0].samplesPerRun == [2, 2])
        #expect(decoded.cases[0].net == report.net)
        // A report from before runs (no such fields) still decodes.
        var old = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var cases = try #require(old["cases"] as? [[String: Any]])
        for key in ["perRun", "samplesPerRun", "net"] { cases[0].removeValue(forKey: key) }
        old["cases"] = cases
        var context = try #require(old["context"] as? [String: Any])
        for key in ["runs", "runOrderSeed", "injectedExitDelay"] { context.removeValue(forKey: key) }
        old["context"] = context
        let oldData = try JSONSerialization.data(withJSONObject: old)
        let oldDecoded = try DocumentFile.decodeJSON(
            BenchReport.self, [UInt8](oldData), name: "old", schema: BenchReport.schemaID,
            version: BenchReport.currentVersion)
        #expect(oldDecoded.cases[0].net == nil && oldDecoded.context.runs == nil)
    }

    @Test(
        "--inject-exit-delay takes durations and shares, and nothing else",
        arguments: [
            ("2us", ExitDelayRequest.nanoseconds(2000)), ("500ns", .nanoseconds(500)), ("1.5µs", .nanoseconds(1500)),
            ("0.01ms", .nanoseconds(10000)), ("10%", .percent(10)), ("2.5%", .percent(2.5)),
        ])
    func delayParsing(_ text: String, _ expected: ExitDelayRequest) {
        #expect(ExitDelayRequest.parse(text) == expected)
    }

    @Test(
        "malformed, zero, signed, hexadecimal, exponent and oversized delays are refused",
        arguments: [
            "", "2", "us", "0us", "-1us", "0x10ns", "1e3ns", "nan%", "inf%", "0%", "1001%", "11ms", "1..2us", ".us",
            "2 us", "10%%",
        ])
    func delayRefused(_ text: String) {
        #expect(ExitDelayRequest.parse(text) == nil)
    }

    @Test("a delay in time becomes cycles at the TSC rate; a share becomes cycles of the reference")
    func delayCycles() {
        let fixed = InjectedExitDelay.make(requested: "2us", request: .nanoseconds(2000), hz: 2.5e9, reference: nil)
        #expect(fixed.delayCycles == 5000 && fixed.delayNanoseconds == 2000)
        #expect(fixed.note.hasPrefix("DELAY INJECTED"))
        let share = InjectedExitDelay.make(
            requested: "10%", request: .percent(10), hz: 2.5e9, reference: ("pio-out-user/real", 30_000))
        #expect(share.delayCycles == 3000 && share.referenceCaseID == "pio-out-user/real")
        let none = InjectedExitDelay.make(requested: "10%", request: .percent(10), hz: 2.5e9, reference: nil)
        #expect(none.delayCycles == 0 && none.note.hasPrefix("NO DELAY INJECTED"))
    }

    /// A bench report around `cases`, with a context made by hand.
    static func benchReport(cases: [CaseReport]) throws -> BenchReport {
        let context = BenchContext(
            kernelRelease: "6.18", cpu: "test CPU", kvmModule: "kvm_amd", kvmParameters: [:], level: "L1",
            levelConfidence: 0.9, levelLowerBound: "L1", hypervisor: nil, guestLevel: "L2",
            tsc: TSCFrequency(hz: 1e9, source: .calibration, detail: "test"), guestTSCkHz: 1_000_000, pinnedCPU: 0,
            emulatedHost: false, budgetSeconds: 60, notes: [], canHost: "yes", guestsCanHost: "no",
            mechanism: "SVM", hypervisors: [])
        return BenchReport(
            schema: BenchReport.schemaID, version: BenchReport.currentVersion, tool: .current, createdAt: "",
            context: context, hostLevel: [], guestExecution: [], cases: cases,
            table: CaseAnalysis.table(cases, host: [], execution: []), wallSeconds: 1)
    }
}
