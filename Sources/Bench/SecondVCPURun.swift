// The second vCPU of the cross-vCPU IPI cases: made by GuestSetup.secondVCPU, it runs long64.S's AP entry
// on a thread of its own while the runner drives the first vCPU on the calling thread, and is stopped however
// the case ends (done, fault, watchdog, or an error thrown on the way), so neither vCPU outlives the case.

import Dispatch
import KVM
import Probe
import Synchronization

/// vCPU 1 of a guest, running on its own thread from `start()` until `stop()`.
///
/// Its KVM_RUN loop goes on while the vCPU only waits (spinning or in `hlt` in the in-kernel LAPIC) and ends
/// at the stop request or at the first exit to user space, which the AP entry never causes on purpose.
final class SecondVCPURun: Sendable {
    /// How the thread's KVM_RUN loop ended.
    enum Ending: Sendable, Equatable {
        /// Stopped by `stop()`, as meant.
        case stopped
        /// It exited to user space (named): the second vCPU stopped running before the case ended.
        case exited(String)
        /// KVM_RUN failed with this error.
        case failed(String)
        /// It did not come back within `stopTimeout` of the stop request; the thread keeps the vCPU.
        case unresponsive

        /// The ending in words, for failure reasons.
        var description: String {
            switch self {
            case .stopped: "stopped by the runner"
            case .exited(let exit): "it exited to user space with \(exit)"
            case .failed(let error): "its KVM_RUN failed: \(error)"
            case .unresponsive: "it did not stop within \(SecondVCPURun.stopTimeout) of the stop request"
            }
        }
    }

    /// How long `stop()` waits for the thread once the stop is requested.
    static let stopTimeout = Duration.seconds(2)

    /// The vCPU until the thread takes it.
    private let pending: Mutex<VirtualCPU?>
    /// Stops the vCPU's KVM_RUN from the runner's thread.
    private let stopHandle: VCPUStopHandle
    /// The thread's ending, once it has one; `stop()` caches its answer here too.
    private let ending = Mutex<Ending?>(nil)
    /// Signalled once by the thread when its loop has ended.
    private let finished = DispatchSemaphore(value: 0)

    /// Takes `cpu` (set up and runnable) to run it on a thread of its own.
    init(_ cpu: consuming VirtualCPU) {
        stopHandle = cpu.stopHandle
        pending = Mutex(cpu)
    }

    /// Starts the thread, kept off `avoiding` (the first vCPU's pinned CPU) where another CPU is allowed.
    func start(avoiding cpu: Int?) {
        // A thread of its own, not a pool's: its affinity changes, and its KVM_RUN loop runs until stopped.
        let started = DetachedThread.start { [self] in
            // Inherited, the runner's pinning would put both vCPUs on one CPU, and the spinning case would
            // time the scheduler's slices; refused (one CPU allowed), they share it.
            if let cpu { _ = CPUAffinity.avoid(cpu) }
            let result = runOnThread()
            ending.withLock { $0 = $0 ?? result }
            finished.signal()
        }
        if case .failure(let errno) = started {
            ending.withLock { $0 = $0 ?? .failed("no thread for vCPU 1: pthread_create: \(errno)") }
            finished.signal()
        }
    }

    /// The thread's work: KVM_RUN until the stop request or an exit to user space.
    private func runOnThread() -> Ending {
        guard let cpu = pending.withLock({ $0.take() }) else { return .stopped }
        do {
            while true {
                let exit = try cpu.run()
                guard case .interrupted = exit else { return .exited(CaseRunner.describe(exit)) }
                // A signal other than the stop's kick (see VCPUStopHandle): run on.
                if stopHandle.isStopRequested { return .stopped }
            }
        } catch {
            return .failed(String(describing: error))
        }
    }

    /// Stops the vCPU and waits up to `stopTimeout` for its thread; how its loop ended. Call it only after
    /// `start()`; later calls answer at once.
    @discardableResult
    func stop() -> Ending {
        stopHandle.requestStop()
        let (seconds, attoseconds) = Self.stopTimeout.components
        let nanoseconds = Int(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if finished.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success {
            finished.signal()  // so that a later call finds it at once
        }
        return ending.withLock { stored -> Ending in
            if let stored { return stored }
            stored = .unresponsive
            return .unresponsive
        }
    }
}
