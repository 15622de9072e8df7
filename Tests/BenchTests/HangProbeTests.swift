// Cases that may hang are probed on the real KVM under a short watchdog: one that never ends is skipped with
// "hangs on this host", forcing it runs it (the watchdog ends it as a failure), and one that ends runs as
// usual. The CPL0 hypercalls end one way or another on every host: a hang inside KVM_RUN is always
// interrupted. Plus the CLI's exit codes for failed guest cases (70) and a device that is not KVM (69).
// No test asserts a duration.

import Foundation
import TestSupport
import Testing

@testable import Bench

@Suite("Probing the cases that may hang, on /dev/kvm", .requiresKVMGuests, .serialized)
struct HangProbeTests {
    /// A guest that spins forever, marked as one that may hang.
    let spin = ExitCase(
        "spin", .long64, body: .spin, exitsTo: .none, mechanism: "jmp $", requires: [.probedForHang("test")])

    @Test("a case whose probe never ends is skipped, saying it hangs here and how to force it")
    func spinningIsSkipped() throws {
        let outcome = withGuestSlot { GuestKVM.runner.run(spin, iterations: 10, warmup: 0) }
        guard case .failure(let failure) = outcome.result else {
            Issue.record("a spinning guest produced samples")
            return
        }
        #expect(failure.kind == .skipped)
        #expect(failure.reason.hasPrefix("hangs on this host"), "\(failure.reason)")
        #expect(failure.reason.contains("--cases spin/long64-cpl0!"))
    }

    @Test("forced, the same case runs and the watchdog ends it as a failure")
    func forcedSpinTimesOut() throws {
        let outcome = withGuestSlot {
            GuestKVM.runner.run(spin, iterations: 10, warmup: 0, timeout: .milliseconds(100), forced: true)
        }
        guard case .failure(let failure) = outcome.result else {
            Issue.record("a spinning guest produced samples")
            return
        }
        #expect(failure.kind == .timedOut, "\(failure.reason)")
    }

    @Test("a case marked as one that may hang but that ends runs as usual")
    func endingCaseRuns() throws {
        let out = ExitCase(
            "pio-out-user", .long64, body: .portOutUser, exitsTo: .userSpace, mechanism: "out",
            requires: [.probedForHang("test")])
        let outcome = withGuestSlot { GuestKVM.runner.run(out, iterations: 50, warmup: 5) }
        #expect(try outcome.result.get().cycles.count == 50)
    }

    @Test("the CPL0 hypercalls, forced under a short watchdog, end: with samples, an exception or the watchdog")
    func hypercallsEnd() throws {
        for exitCase in ExitCase.catalogue where exitCase.hangNote != nil {
            let outcome = withGuestSlot {
                GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0, timeout: .milliseconds(200), forced: true)
            }
            switch outcome.result {
            case .success(let samples): #expect(samples.cycles.count == 10)
            case .failure(let failure):
                #expect([.timedOut, .guestException].contains(failure.kind), "\(exitCase.id): \(failure.reason)")
            }
            // Unforced, it runs or is skipped with the probe's reason; never failed.
            let probed = withGuestSlot { GuestKVM.runner.run(exitCase, iterations: 10, warmup: 0) }
            if case .failure(let failure) = probed.result {
                #expect(failure.kind == .skipped, "\(exitCase.id): \(failure.reason)")
            }
        }
    }

    @Test("bench exits 70 when a guest case failed and 0 when none did, saying which")
    func exitCodeForFailedCases() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-\(getpid())-70")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("report.json").path
        // Forced, the hypercalls fail where they hang (kvm_pvm); elsewhere they run.
        let (status, _, stderr) = try withGuestSlot {
            try NestprobeRunner.run(["bench", "--cases", "hypercall!", "--budget", "1s", "--quiet", "-o", path]).parts
        }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let cases = try #require((report as? [String: Any])?["cases"] as? [[String: Any]])
        let failed = cases.filter { $0["status"] as? String == "failed" }.compactMap { $0["id"] as? String }
        #expect(status == (failed.isEmpty ? 0 : 70), "\(stderr)")
        for id in failed { #expect(stderr.contains(id)) }
    }
}

@Suite("bench's exit code for a device that is not KVM")
struct BenchDeviceExitTests {
    @Test("bench --device /dev/null exits 69 and says /dev/null is not a KVM device")
    func devNull() throws {
        let (status, _, stderr) = try NestprobeRunner.run([
            "bench", "--device", "/dev/null", "--cases", "cpuid-0", "--quiet",
        ]).parts
        #expect(status == 69)
        #expect(stderr.contains("/dev/null is not a KVM device"), "\(stderr)")
    }
}
