// The gate for the Bench tests that boot real guests on /dev/kvm, and the one lock they share; plus a check
// that the environment this machine reports is self-consistent.

import Foundation
import KVM
import Testing

@testable import Bench

/// Whether this machine can run the tiny guests, and why not when it cannot.
enum GuestKVM {
    /// Opens /dev/kvm, reads the environment and makes a VM. NESTPROBE_SKIP_KVM_TESTS=1 turns the tests off.
    static let status: (runner: CaseRunner?, reason: String) = {
        let status = probe()
        FileHandle.standardError.write(Data("BenchTests: \(status.reason)\n".utf8))
        return status
    }()

    private static func probe() -> (runner: CaseRunner?, reason: String) {
        if ProcessInfo.processInfo.environment["NESTPROBE_SKIP_KVM_TESTS"] == "1" {
            return (nil, "guest tests skipped: NESTPROBE_SKIP_KVM_TESTS=1")
        }
        do {
            let runner = try CaseRunner()
            _ = try KVMDevice().createVM()
            let environment = runner.environment
            return (
                runner,
                "/dev/kvm is usable (\(environment.module.rawValue), \(environment.vendor.rawValue), "
                    + "below: \"\(environment.hostHypervisorSignature)\"); running the guest tests"
            )
        } catch {
            return (nil, "guest tests skipped: \(error)")
        }
    }

    /// The runner on this machine's /dev/kvm; only call from tests behind `.requiresKVMGuests`.
    static var runner: CaseRunner { status.runner! }

    /// True when the guests run under kvm_pvm (where CPL0 and real mode are emulated, and CPL3 CPUID is
    /// answered below).
    static var isPVM: Bool { status.runner?.environment.module == .kvmPVM }
}

/// One looping guest at a time in the whole test process (KVMTests take the same slot): on kvm_pvm a guest
/// in KVM_RUN keeps its CPU, and two on a 2-CPU machine can starve the thread meant to stop them.
func withGuestSlot<R>(_ body: () throws -> R) rethrows -> R {
    try GuestExclusivity.withSlot(body)
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where /dev/kvm can run the tiny guests, and says why it was skipped otherwise.
    static var requiresKVMGuests: Self {
        .enabled(if: GuestKVM.status.runner != nil, Comment(rawValue: GuestKVM.status.reason))
    }
}

@Suite("The environment the runner reads from this host", .requiresKVMGuests)
struct GuestKVMAvailabilityTests {
    @Test("the vendor module, vendor and capabilities agree with the machine")
    func environment() {
        let environment = GuestKVM.runner.environment
        #expect(environment.module != .unknown, "no kvm_intel, kvm_amd or kvm_pvm under /sys/module")
        #expect(environment.has(.userMemory))
        #expect(environment.vendor != .other)
        if environment.module == .kvmAMD { #expect(environment.vendor == .amd) }
        if environment.module == .kvmIntel { #expect(environment.vendor == .intel) }
    }
}
