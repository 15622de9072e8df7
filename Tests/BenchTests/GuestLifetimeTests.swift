// A guest's whole life fits inside CaseRunner.run: when it returns, the VM and vCPU descriptors are closed and
// KVM's per-VM thread (kvm-nx-lpage-recovery, a thread of this process since Linux 6.13) is gone, so the next
// case, or a process limit the size of one guest, finds nothing left over. Counted in /proc/self, with the
// guest slot held so no other test's guest runs meanwhile.

import Foundation
import Testing

@testable import Bench

@Suite("Guests go away when their run returns", .requiresKVMGuests, .serialized)
struct GuestLifetimeTests {
    @Test(
        "after run returns, no KVM descriptor and no KVM thread of the guest is left",
        arguments: ["pio-out-user/long64-cpl0", "cpuid-0/real", "kvm-run-fixed/host"])
    func teardownIsSynchronous(_ id: String) throws {
        let exitCase = try #require(ExitCase.catalogue.first { $0.id == id })
        try withGuestSlot {
            // One run first, so that Dispatch's watchdog thread exists before the census.
            _ = GuestKVM.runner.run(exitCase, iterations: 20, warmup: 2)
            let before = try KVMCensus.now()
            for _ in 0..<3 {
                let outcome = GuestKVM.runner.run(exitCase, iterations: 20, warmup: 2)
                if case .failure(let failure) = outcome.result { Issue.record("\(id): \(failure.reason)") }
                let after = try KVMCensus.now()
                #expect(after.descriptors == before.descriptors, "\(id): KVM descriptors left open")
                #expect(after.threads == before.threads, "\(id): KVM threads left running")
            }
        }
    }

    @Test("a guest the watchdog stopped goes away as well")
    func teardownAfterTimeout() throws {
        let spin = ExitCase("spin", .long64, body: .spin, exitsTo: .none, mechanism: "jmp $")
        try withGuestSlot {
            _ = GuestKVM.runner.run(spin, iterations: 1, warmup: 0, timeout: .milliseconds(50))
            let before = try KVMCensus.now()
            let outcome = GuestKVM.runner.run(spin, iterations: 1, warmup: 0, timeout: .milliseconds(50))
            guard case .failure(let failure) = outcome.result else {
                Issue.record("a spinning guest produced samples")
                return
            }
            #expect(failure.kind == .timedOut)
            let after = try KVMCensus.now()
            #expect(after.descriptors == before.descriptors)
            #expect(after.threads == before.threads)
        }
    }
}

/// What of KVM this process holds right now: descriptors of VMs and vCPUs, and threads KVM made for a VM.
struct KVMCensus: Equatable {
    /// Descriptors that are KVM anonymous inodes ("anon_inode:kvm-vm", "anon_inode:kvm-vcpu:0").
    var descriptors: [String]
    /// Names of this process's threads that KVM started ("kvm-nx-lpage-re").
    var threads: [String]

    static func now(proc: String = "/proc/self") throws -> KVMCensus {
        let files = FileManager.default
        let descriptors = try files.contentsOfDirectory(atPath: "\(proc)/fd").compactMap { name in
            try? files.destinationOfSymbolicLink(atPath: "\(proc)/fd/\(name)")
        }.filter { $0.hasPrefix("anon_inode:kvm") }
        let threads = try files.contentsOfDirectory(atPath: "\(proc)/task").compactMap { task in
            (try? String(contentsOfFile: "\(proc)/task/\(task)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }.filter { $0.hasPrefix("kvm") }
        return KVMCensus(descriptors: descriptors.sorted(), threads: threads.sorted())
    }
}
