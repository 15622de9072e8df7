// GuestExclusivity: one busy guest at a time in this process.
//
// On kvm_pvm a vCPU that loops inside KVM_RUN keeps its CPU in the kernel; two of them on a 2-CPU machine
// can starve the very thread (a watchdog, a test's safety net) that is meant to stop them. Everything that
// runs a looping guest — the benchmark runner, the tests — takes this one lock. It is recursive, so a test
// that holds it may call code that takes it again on the same thread.

import Glibc
import Synchronization

/// The process-wide slot for a guest that may run for long inside KVM_RUN.
public enum GuestExclusivity {
    // A Mutex is not recursive: the thread that holds it is recorded, and a call from that thread while it
    // holds it runs at once. Only the holder writes its own id there, so reading it back is never a race
    // with another thread's id.
    private static let slot = Mutex(())
    private static let holder = Atomic<UInt>(0)

    /// Runs `body` while this thread holds the slot.
    public static func withSlot<R>(_ body: () throws -> R) rethrows -> R {
        let me = UInt(pthread_self())
        if holder.load(ordering: .acquiring) == me { return try body() }
        return try slot.withLock { _ in
            holder.store(me, ordering: .releasing)
            defer { holder.store(0, ordering: .releasing) }
            return try body()
        }
    }
}
