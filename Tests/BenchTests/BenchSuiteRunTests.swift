// The whole suite on this machine's /dev/kvm, for a few cases: the report carries the host level, a net
// figure per case, attribution, the table and the context, and survives JSON. No durations asserted.

import Foundation
import KVM
import Probe
import Testing

@testable import Bench
@testable import Report

@Suite("Bench suite on /dev/kvm", .requiresKVMGuests, .serialized)
struct BenchSuiteRunTests {
    @Test("cpuid and port I/O in every mode: host level, baselines, nets, multipliers, attribution")
    func smallSuite() throws {
        var options = BenchOptions()
        options.cases = ["cpuid-hv", "pio-out-user"]
        options.budgetSeconds = 2
        let events = EventLog()
        let (report, kvmError) = BenchSuite(options: options).run { events.append($0) }
        #expect(kvmError == nil)
        let host = try #require(report.hostLevel.first { $0.id == "cpuid-0/host" })
        #expect(host.netMedianCycles > 0)
        #expect(!host.samplesCycles.isEmpty && host.samplesCycles.count <= CaseAnalysis.keptSamples)
        let ids = Set(report.cases.map(\.id))
        #expect(
            ids.isSuperset(of: [
                "cpuid-hv/real", "cpuid-hv/long64-cpl0", "cpuid-hv/long64-cpl3",
                "pio-out-user/real", "pio-out-user/long64-cpl0", "rdtsc/real", "rdtsc/long64-cpl3",
            ]))
        for report in report.cases {
            // cpuid-hv/svm-inner comes along by name: it runs only where SVM is offered to guests.
            if RenderWords.isThreeLevel(report.id), !GuestKVM.runner.environment.guestHasSVM {
                #expect(report.status == .skipped && report.reason == NestedSVM.notOfferedReason, "\(report.id)")
                continue
            }
            // pio-out-user at CPL3 (IOPL 3) comes along by name too: skipped where the host faults the port
            // access (kvm_pvm), with the reason its body gives.
            let unavailable = ExitCase.catalogue.first { $0.id == report.id }?.body.faultMeansUnavailable
            if report.status == .skipped, let unavailable, report.reason?.hasPrefix(unavailable) == true { continue }
            #expect(report.status == .ok, "\(report.id): \(report.reason ?? "")")
            #expect(report.netMedianCycles != nil, "\(report.id) has no net figure")
            #expect(report.sampleCount >= report.samplesCycles.count)
        }
        let cpl0 = try #require(report.cases.first { $0.id == "cpuid-hv/long64-cpl0" })
        #expect(cpl0.attribution == "this-level")
        #expect(cpl0.baselineID == "rdtsc/long64-cpl0")
        let cpl3 = try #require(report.cases.first { $0.id == "cpuid-hv/long64-cpl3" })
        // kvm_pvm builds differ in who answers a CPL3 CPUID (CaseRunnerTests.canaryAtCPL3); elsewhere this level.
        #expect(
            GuestKVM.isPVM
                ? ["level-below", "this-level"].contains(cpl3.attribution) : cpl3.attribution == "this-level")
        let pio = try #require(report.cases.first { $0.id == "pio-out-user/real" })
        #expect(pio.exitsTo == "user-space")
        let row = try #require(report.table.first { $0.caseID == "cpuid-hv/long64-cpl0" })
        #expect(row.thisLevelCycles == host.netMedianCycles)
        #expect(row.multiplier != nil)
        #expect(report.context.guestTSCkHz ?? 0 > 0)
        #expect(report.context.canHost == "yes")
        // One progress line for the host level and one per case (pass notes aside).
        #expect(events.reports == 1 + report.cases.count)
        let data = try DocumentFile.encodeJSON(report)
        let decoded = try DocumentFile.decodeJSON(
            BenchReport.self, [UInt8](data), name: "round trip",
            schema: BenchReport.schemaID, version: BenchReport.currentVersion)
        #expect(decoded.cases.count == report.cases.count)
        let text = RenderText.render(report)
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 }, "the table fits 80 columns")
    }

    @Test("a device that does not exist: the report keeps this level's figures and says why")
    func missingDevice() throws {
        var options = BenchOptions()
        options.cases = ["cpuid-0"]
        options.devicePath = "/nonexistent/kvm"
        let (report, kvmError) = BenchSuite(options: options).run()
        let error = try #require(kvmError)
        #expect(error.isDeviceMissing)
        #expect(report.cases.isEmpty)
        #expect(!report.hostLevel.isEmpty)
        #expect(report.context.notes.contains { $0.hasPrefix("no guest cases:") })
    }

    @Test("--device: the facts the context is made of come from the device named, not from /dev/kvm")
    func probedDevice() throws {
        var options = BenchOptions()
        options.devicePath = "/nonexistent/kvm"
        let machine = BenchSuite(options: options).probeMachine()
        // This machine's /dev/kvm is usable (the suite's condition); the named device does not exist.
        #expect(machine.snapshot.devices["/dev/kvm"]?.value == nil)
        guard case .unavailable(_, let detail) = machine.snapshot.kvm else {
            Issue.record("KVM was asked although the named device does not exist")
            return
        }
        #expect(detail.contains("/nonexistent/kvm"), "\(detail)")
        options.devicePath = KVMDevice.defaultPath
        #expect(BenchSuite(options: options).probeMachine().snapshot.kvm.value != nil)
    }
}

/// Collects progress events from the suite's callback.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [BenchProgress] = []

    func append(_ event: BenchProgress) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    /// Host-level and per-case events; pass notes are not counted.
    var reports: Int {
        lock.lock()
        defer { lock.unlock() }
        return events.filter { if case .note = $0 { return false } else { return true } }.count
    }
}
