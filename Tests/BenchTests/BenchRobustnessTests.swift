// What keeps a bench honest without KVM: KVM_RUN's EAGAIN is retried a bounded number of times and then
// named; a failed run never throws away the good runs' samples; `--cases` can force or exclude; a device that is not
// KVM is said to be one, not run 38 times.

import Foundation
import Glibc
import KVM
import Testing

@testable import Bench

@Suite("Bench robustness without KVM")
struct BenchRobustnessTests {
    /// Records the sleeps `retryingAgain` asks for instead of sleeping.
    final class Sleeps: @unchecked Sendable {
        var waits: [Duration] = []
    }

    @Test("EAGAIN is tried again with doubling waits, and the first answer that is not EAGAIN is returned")
    func againThenSuccess() throws {
        let sleeps = Sleeps()
        var calls = 0
        let value = try CaseRunner.retryingAgain(
            policy: .standard, sleep: { sleeps.waits.append($0) }
        ) { () throws(KVMError) -> Int in
            calls += 1
            if calls < 3 { throw KVMError(operation: "KVM_RUN", errno: EAGAIN) }
            return 42
        }
        #expect(value == 42)
        #expect(calls == 3)
        #expect(sleeps.waits == [.milliseconds(2), .milliseconds(4)])
    }

    @Test("EAGAIN every time: bounded tries, then an error that says how often and how long")
    func againEveryTime() {
        let sleeps = Sleeps()
        var calls = 0
        let policy = CaseRunner.AgainPolicy(attempts: 4, firstWait: .milliseconds(1))
        #expect {
            try CaseRunner.retryingAgain(policy: policy, sleep: { sleeps.waits.append($0) }) {
                () throws(KVMError) -> Int in
                calls += 1
                throw KVMError(operation: "KVM_RUN", errno: EAGAIN)
            }
        } throws: { error in
            guard let error = error as? KVMError else { return false }
            return error.errno == EAGAIN && error.operation.contains("4 tries")
        }
        #expect(calls == 4)
        #expect(sleeps.waits == [.milliseconds(1), .milliseconds(2), .milliseconds(4)])
    }

    @Test("any other error is not retried")
    func otherErrors() {
        let sleeps = Sleeps()
        var calls = 0
        #expect(throws: KVMError(operation: "KVM_RUN", errno: EFAULT)) {
            try CaseRunner.retryingAgain(policy: .standard, sleep: { sleeps.waits.append($0) }) {
                () throws(KVMError) -> Int in
                calls += 1
                throw KVMError(operation: "KVM_RUN", errno: EFAULT)
            }
        }
        #expect(calls == 1 && sleeps.waits.isEmpty)
    }

    @Test("a case that ran out of EAGAIN tries names the process limit; other errors stay as they are")
    func againFailure() {
        let again = CaseRunner.failure(for: KVMError(operation: "KVM_RUN (6 tries over 62 ms)", errno: EAGAIN))
        #expect(again.kind == .unexpected)
        #expect(again.reason.contains("EAGAIN") && again.reason.contains("pids.max"), "\(again.reason)")
        let other = CaseRunner.failure(for: KVMError(operation: "KVM_CREATE_VM", errno: ENOMEM))
        #expect(!other.reason.contains("pids.max"))
    }

    func outcome(_ result: Result<CaseSamples, CaseFailure>) -> CaseOutcome {
        CaseOutcome(
            caseID: "cpuid-0/long64-cpl0", mode: .long64, cpl: 0, exitsTo: .kernel, attribution: .thisLevel,
            mechanism: "cpuid", result: result, wallNanoseconds: 10)
    }

    @Test("a failed run between good ones keeps the good runs' samples, and the report says how many failed")
    func failedRunKeepsGoodSamples() throws {
        let exitCase = try #require(CaseRunner.catalogue.first { $0.id == "cpuid-0/long64-cpl0" })
        var good = outcome(
            .success(CaseSamples(cycles: [100, 101, 102], exitsPerSample: 1, warmup: 1, timedInGuest: true)))
        good.baselineCycles = [10, 10, 11]
        let bad = outcome(.failure(CaseFailure(kind: .unexpected, reason: "KVM_RUN failed: EAGAIN")))
        let report = CaseAnalysis.report(exitCase, runs: [good, bad, good], hz: 1e9)
        #expect(report.status == .ok)
        #expect(report.runs == 2)
        #expect(report.samplesCycles == [100, 101, 102, 100, 101, 102])
        #expect(report.reason?.hasPrefix("1 of 3 runs failed") == true, "\(report.reason ?? "")")
        let onlyBad = CaseAnalysis.report(exitCase, runs: [bad, bad], hz: 1e9)
        #expect(onlyBad.status == .failed && onlyBad.failure?.reason == "KVM_RUN failed: EAGAIN")
    }

    @Test("NAME! forces, -NAME excludes, all selects everything, and an exclusion alone starts from all")
    func forceAndExclude() {
        let catalogue = CaseRunner.catalogue
        let forced = BenchSuite.selection(["hypercall!"], from: catalogue)
        #expect(forced.unknown.isEmpty)
        #expect(forced.forced.isSuperset(of: ["hypercall/real", "hypercall/long64-cpl0"]))
        #expect(!forced.forced.contains("rdtsc/real"), "a baseline that comes along is not forced")
        #expect(forced.cases.contains { $0.id == "rdtsc/real" })
        let excluded = BenchSuite.selection(["-hypercall"], from: catalogue)
        #expect(!excluded.cases.contains { $0.name == "hypercall" })
        // Exclusions alone start from the default suite, which leaves the opt-in sets out.
        let suite = catalogue.filter { $0.inDefaultSuite && $0.optInSet == nil }
        #expect(excluded.cases.count == suite.count - suite.filter { $0.name == "hypercall" }.count)
        let both = BenchSuite.selection(["all", "hypercall/real!", "-mmio-read-user"], from: catalogue)
        #expect(both.forced == ["hypercall/real"])
        #expect(both.cases.count == catalogue.count - catalogue.filter { $0.name == "mmio-read-user" }.count)
        #expect(BenchSuite.selection(["-warp-drive", "nope!"], from: catalogue).unknown == ["-warp-drive", "nope!"])
        #expect(BenchSuite.selection([], from: catalogue).forced.isEmpty)
    }

    @Test("only the CPL0 hypercalls are probed for a hang, and no module name gates them")
    func hypercallsAreProbed() {
        let probed = CaseRunner.catalogue.filter { $0.hangNote != nil }.map(\.id)
        #expect(probed == ["hypercall/real", "hypercall/long64-cpl0"])
    }

    @Test("a file that is not KVM is refused when opened, naming the file and the errno")
    func notKVM() {
        #expect {
            _ = try KVMDevice(verifying: "/dev/null")
        } throws: { error in
            guard let error = error as? KVMError else { return false }
            return error.isNotKVM && error.errno == ENOTTY
                && error.description.hasPrefix("/dev/null is not a KVM device")
        }
    }

    @Test("bench on /dev/null: no guest case is run, and the KVM error says why")
    func benchOnDevNull() throws {
        var options = BenchOptions()
        options.cases = ["cpuid-0"]
        options.devicePath = "/dev/null"
        let (report, kvmError) = BenchSuite(options: options).run()
        let error = try #require(kvmError)
        #expect(error.isNotKVM)
        #expect(report.cases.isEmpty)
        #expect(report.context.notes.contains { $0.contains("/dev/null is not a KVM device") })
    }
}
