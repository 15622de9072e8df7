// Stopping a vCPU from another thread: VCPUStopHandle sets kvm_run.immediate_exit and kicks the vCPU
// thread with a signal; VCPUWatchdog does that after a timeout. The pattern is the one
// Documentation/virt/kvm/api.rst gives for immediate_exit: set the flag, then signal the thread, so a stop
// cannot be lost whether the thread is in the guest, entering KVM_RUN, or between two runs.

import CKVM
import Dispatch
import Glibc
import Synchronization

/// Stops one vCPU's `run()` from any thread. Get it from `VirtualCPU.stopHandle`; it may outlive the vCPU.
///
/// `requestStop()` sets `kvm_run.immediate_exit` (so the next KVM_RUN returns at once) and, when the vCPU
/// is inside `run()`, sends its thread `kickSignal`, whose handler does nothing, so that KVM_RUN returns
/// EINTR. Either way `run()` returns `.interrupted`, and keeps doing so until the vCPU's `immediateExit`
/// is set back to false.
public final class VCPUStopHandle: Sendable {
    /// The vCPU's kvm_run, kept mapped by this handle.
    let runArea: KVMRunView

    /// The thread inside `run()` right now, if any. Held while signalling, so that thread cannot leave
    /// `run()` (and perhaps exit) between being looked up and being signalled.
    private let runningThread = Mutex<pthread_t?>(nil)

    /// The signal that kicks a vCPU thread out of KVM_RUN: SIGRTMIN, as Firecracker uses. This module
    /// installs a do-nothing handler for it, without SA_RESTART, when the first vCPU is made.
    public static let kickSignal: Int32 = ckvm_sigrtmin()

    init(runArea: KVMRunView) {
        self.runArea = runArea
        _ = Self.kickHandlerInstalled
    }

    /// Asks the vCPU to stop: safe from any thread, at any time, any number of times.
    public func requestStop() {
        runArea.immediateExit = true
        runningThread.withLock { thread in
            // The handle's own lock keeps `thread` inside run(), so it is alive while it is signalled.
            if let thread { _ = pthread_kill(thread, Self.kickSignal) }
        }
    }

    /// Whether a stop has been requested and not yet cleared (kvm_run.immediate_exit).
    public var isStopRequested: Bool { runArea.immediateExit }

    /// Records the calling thread as the one in KVM_RUN; `run()` calls it just before the ioctl.
    func enterRun() {
        let current = pthread_self()
        runningThread.withLock { $0 = current }
    }

    /// Clears the record; `run()` calls it as soon as the ioctl returns.
    func leaveRun() {
        runningThread.withLock { $0 = nil }
    }

    /// Installs the do-nothing kick handler once per process. Its only job is to make a blocked KVM_RUN
    /// return EINTR; without a handler, SIGRTMIN would terminate the process.
    private static let kickHandlerInstalled: Bool = {
        var action = sigaction()
        // SAFETY: sa_handler is the active member of the handler union when SA_SIGINFO is not set (it is
        // not: sa_flags is 0, which also leaves SA_RESTART off). The handler touches nothing, so it is
        // async-signal-safe.
        unsafe action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = 0
        // SAFETY: both pointers are to locals alive for the calls.
        unsafe sigemptyset(&action.sa_mask)
        return unsafe sigaction(kickSignal, &action, nil) == 0
    }()
}

/// Stops a vCPU if it is still running a given time after the watchdog was armed: a timer on a Dispatch
/// queue that calls `VCPUStopHandle.requestStop()`. Disarm it (or let it go away) once the run is done.
public struct VCPUWatchdog: ~Copyable {
    private let state: WatchdogState
    private let item: DispatchWorkItem

    /// Arms a watchdog that stops `handle`'s vCPU after `timeout`.
    public init(stopping handle: VCPUStopHandle, after timeout: Duration) {
        let state = WatchdogState()
        let item = DispatchWorkItem {
            state.armed.withLock { armed in
                guard armed.isArmed else { return }
                handle.requestStop()
                armed = (isArmed: false, hasFired: true)
            }
        }
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds)), execute: item)
        self.state = state
        self.item = item
    }

    /// Whether the timeout passed and the stop was requested.
    public var hasFired: Bool { state.armed.withLock { $0.hasFired } }

    /// Cancels the watchdog. Once this returns, it will not request a stop.
    public func disarm() {
        state.armed.withLock { $0.isArmed = false }
        item.cancel()
    }

    deinit {
        disarm()
    }
}

/// A watchdog's state, shared with its timer.
private final class WatchdogState: Sendable {
    let armed = Mutex((isArmed: true, hasFired: false))
}
