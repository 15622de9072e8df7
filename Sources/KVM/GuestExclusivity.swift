// GuestExclusivity: one busy guest at a time in this process.
//
// On kvm_pvm a vCPU that loops inside KVM_RUN keeps its CPU in the kernel; two of them on a 2-CPU machine
// can starve the very thread (a watchdog, a test's safety net) that is meant to stop them. Everything that
// runs a looping guest — the benchmark runner, the tests — takes this one lock. It is recursive, so a test
// that holds it may call code that takes it again on the same thread.

import Foundation

/// The process-wide slot for a guest that may run for long inside KVM_RUN.
public enum GuestExclusivity {
    private static let lock = NSRecursiveLock()

    /// Runs `body` while this thread holds the slot.
    public static func withSlot<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
