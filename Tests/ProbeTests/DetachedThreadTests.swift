// DetachedThread, which runs the second vCPU's KVM_RUN loop: the body runs once, on a thread other than the
// caller's, and changing that thread's CPU affinity leaves the caller's as it was.

import Dispatch
import Glibc
import Synchronization
import Testing

@testable import Probe

@Suite("DetachedThread")
struct DetachedThreadTests {
    @Test("the body runs once on a new thread, and its affinity is its own")
    func runsOnItsOwnThread() throws {
        let caller = UInt(pthread_self())
        let before = CPUAffinity.run(on: 0) { true }
        let seen = Mutex<[UInt]>([])
        let done = DispatchSemaphore(value: 0)
        let started = DetachedThread.start {
            _ = CPUAffinity.avoid(0)
            seen.withLock { $0.append(UInt(pthread_self())) }
            done.signal()
        }
        #expect((try? started.get()) != nil)
        #expect(done.wait(timeout: .now() + .seconds(10)) == .success)
        let threads = seen.withLock { $0 }
        #expect(threads.count == 1)
        #expect(threads.first != caller)
        // The caller runs on CPU 0 exactly when it could before: avoid() changed only the new thread.
        #expect(CPUAffinity.run(on: 0) { true } == before)
    }
}
