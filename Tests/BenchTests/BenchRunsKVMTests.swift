// Runs as the unit on this machine's /dev/kvm: every case that ran has one figure per run with the baseline
// timed in its own guest, this level's cpuid per run, a recorded seed; and the injected exit delay slows the
// user-space exits and not the in-kernel ones. Directions only, never a duration.

import Foundation
import Probe
import Testing

@testable import Bench
@testable import Report

@Suite("Bench runs on /dev/kvm", .requiresKVMGuests, .serialized)
struct BenchRunsKVMTests {
    @Test("three runs: per-run figures with same-guest baselines, host cpuid per run, the seed recorded")
    func threeRuns() throws {
        var options = BenchOptions()
        options.cases = ["cpuid-0/long64-cpl0", "pio-out-user/real"]
        options.runs = 3
        options.runOrderSeed = 12345
        let (report, kvmError) = withGuestSlot { BenchSuite(options: options).run() }
        #expect(kvmError == nil)
        #expect(report.context.runs == 3 && report.context.runOrderSeed == 12345)
        #expect(report.hostLevel.first?.perRunNetMedianCycles?.count == 3)
        for id in ["cpuid-0/long64-cpl0", "pio-out-user/real"] {
            let row = try #require(report.cases.first { $0.id == id })
            #expect(row.status == .ok, "\(id): \(row.reason ?? "")")
            #expect(row.runs == 3)
            let perRun = try #require(row.perRun)
            #expect(perRun.count == 3)
            #expect(perRun.allSatisfy { $0.baselineMedianCycles != nil && $0.netCycles != nil }, "\(id)")
            #expect(row.samplesPerRun?.count == 3)
            #expect(row.samplesPerRun?.reduce(0, +) == row.samplesCycles.count)
            #expect(row.net != nil)
        }
    }

    @Test("a baseline timed in the case's own guest is the rdtsc loop's: close to the rdtsc case's own median")
    func sameGuestBaseline() throws {
        let exitCase = try #require(CaseRunner.catalogue.first { $0.id == "cpuid-0/long64-cpl3" })
        let rdtsc = try #require(CaseRunner.catalogue.first { $0.id == "rdtsc/long64-cpl3" })
        let (outcome, alone) = withGuestSlot {
            (
                GuestKVM.runner.run(exitCase, iterations: 200, warmup: 20, baseline: true),
                GuestKVM.runner.run(rdtsc, iterations: 200, warmup: 20)
            )
        }
        let baseline = try #require(outcome.baselineCycles)
        #expect(baseline.count == 200)
        let median = try #require(SampleStatistics(baseline.map { Double($0) })).p50
        let aloneMedian = try #require(SampleStatistics(try alone.result.get().cycles.map { Double($0) })).p50
        let caseMedian = try #require(SampleStatistics(try outcome.result.get().cycles.map { Double($0) })).p50
        // The same loop: its median is far closer to the rdtsc case's than to the cpuid case's.
        #expect(abs(median - aloneMedian) < abs(caseMedian - aloneMedian), "\(median) \(aloneMedian) \(caseMedian)")
    }

    @Test("an injected delay slows a user-space exit, and leaves an in-kernel exit alone")
    func injectedDelay() throws {
        // About 20 µs at 2.5 GHz: far above either exit's run-to-run noise.
        let delay: UInt64 = 50_000
        var delayed = GuestKVM.runner
        delayed.injectedExitDelayCycles = delay
        for (id, slowed) in [("pio-out-user/long64-cpl0", true), ("msr-kernel/long64-cpl0", false)] {
            let exitCase = try #require(CaseRunner.catalogue.first { $0.id == id })
            let (plain, slow) = withGuestSlot {
                (
                    GuestKVM.runner.run(exitCase, iterations: 100, warmup: 10),
                    delayed.run(exitCase, iterations: 100, warmup: 10)
                )
            }
            let before = try #require(SampleStatistics(try plain.result.get().cycles.map { Double($0) })).p50
            let after = try #require(SampleStatistics(try slow.result.get().cycles.map { Double($0) })).p50
            if slowed {
                #expect(after - before > Double(delay) / 2, "\(id): \(before) → \(after)")
            } else {
                #expect(abs(after - before) < Double(delay) / 2, "\(id): \(before) → \(after)")
            }
        }
    }

    @Test("a share of the user-space exit cost is calibrated first, and the report says loudly it was injected")
    func injectedShare() throws {
        var options = BenchOptions()
        options.cases = ["pio-out-user/real"]
        options.runs = 1
        options.exitDelay = ("50%", .percent(50))
        let (report, _) = withGuestSlot { BenchSuite(options: options).run() }
        let injected = try #require(report.context.injectedExitDelay)
        #expect(injected.requested == "50%")
        // MMIO at CPL3 first (no hypervisor emulates it), else the port exit (BenchSuite.calibrate).
        let referenceID = try #require(injected.referenceCaseID)
        #expect(referenceID == "mmio-write-user/long64-cpl3" || referenceID.hasPrefix("pio-out-user/"))
        let reference = try #require(injected.referenceCycles)
        #expect(injected.delayCycles == (reference / 2).rounded())
        #expect(report.context.notes.first?.hasPrefix("DELAY INJECTED") == true)
        #expect(RenderText.render(report).contains("DELAY INJECTED"))
    }
}
