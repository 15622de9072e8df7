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
///
/// Three details make this hold on any thread, Dispatch and Swift concurrency workers included (they block
/// nearly every signal): each vCPU runs with a KVM signal mask that lets the kick through
/// (`setKickSignalMask`); after an EINTR, `run()` takes back kicks still pending on its thread, as QEMU's
/// kvm_eat_signals does, since the thread's own mask keeps them from being delivered once KVM_RUN returns;
/// and an EINTR that only such a leftover kick caused (no stop requested for this vCPU) is run again
/// rather than reported.
public final class VCPUStopHandle: Sendable {
    /// The vCPU's kvm_run, kept mapped by this handle.
    let runArea: KVMRunView

    /// The thread inside `run()` right now, if any. Held while signalling, so that thread cannot leave
    /// `run()` (and perhaps exit) between being looked up and being signalled.
    private let runningThread = Mutex<pthread_t?>(nil)

    /// The signal that kicks a vCPU thread out of KVM_RUN: SIGRTMIN, as Firecracker uses. This module
    /// installs a do-nothing handler for it when the first vCPU is made.
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

    /// Takes back kicks still pending on the calling thread and returns how many. A kick that ended
    /// KVM_RUN stays pending when the thread's own mask blocks the signal, and would end the next KVM_RUN
    /// on this thread, whichever vCPU that is. Kicks are real-time signals and queue, so this takes up to 64.
    static func consumePendingKicks() -> Int {
        var set = kickSet
        var noWait = timespec(tv_sec: 0, tv_nsec: 0)
        for consumed in 0..<64 {
            // SAFETY: both pointers are to locals alive for the call; siginfo is not asked for (nil).
            if unsafe sigtimedwait(&set, nil, &noWait) == -1 { return consumed }
        }
        return 64
    }

    /// A signal set holding only the kick signal.
    private static let kickSet: sigset_t = {
        var set = sigset_t()
        // SAFETY: the pointer is to a local alive for the calls.
        unsafe sigemptyset(&set)
        _ = unsafe sigaddset(&set, kickSignal)
        return set
    }()

    /// Installs the do-nothing kick handler once per process: without a handler, SIGRTMIN would terminate
    /// the process. SA_RESTART is on: KVM_RUN returns EINTR to user space regardless (KVM returns -EINTR,
    /// which is never restarted), and a late kick on a thread that does not block the signal then leaves
    /// that thread's other system calls alone.
    private static let kickHandlerInstalled: Bool = {
        var action = sigaction()
        // SAFETY: sa_handler is the active member of the handler union because SA_SIGINFO is not set. The
        // handler touches nothing, so it is async-signal-safe.
        unsafe action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = SA_RESTART
        // SAFETY: both pointers are to locals alive for the calls.
        unsafe sigemptyset(&action.sa_mask)
        return unsafe sigaction(kickSignal, &action, nil) == 0
    }()
}

extension VirtualCPU {
    /// KVM_SET_SIGNAL_MASK: while this vCPU is in KVM_RUN, block what the calling thread blocks now, except
    /// `kickSignal`. `VirtualMachine.createVCPU` sets it, so it is the creating thread's mask.
    ///
    /// Without it a kick could not end KVM_RUN on a thread that blocks the signal, as Dispatch and Swift
    /// concurrency workers do: it would stay pending and the guest would keep running. Every other signal
    /// behaves as the creating thread would have it: Ctrl-C still reaches a vCPU created on the main thread.
    func setKickSignalMask() throws(KVMError) {
        var current = sigset_t()
        // SAFETY: with a nil new set, pthread_sigmask only writes the current mask into the local `current`.
        _ = unsafe pthread_sigmask(SIG_BLOCK, nil, &current)
        // The kernel's sigset_t on x86-64 is 64 bits, the first word of glibc's; signal n is bit n - 1.
        let blocked = UInt64(current.__val.0) & ~(UInt64(1) << UInt64(VCPUStopHandle.kickSignal - 1))
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: blocked >> (8 * $0)) }
        var mask = FlexibleArray<UInt8>(headerSize: CKVM_SIGNAL_MASK_SIGSET_OFFSET, elements: bytes)
        // SAFETY: KVM_SET_SIGNAL_MASK takes a kvm_signal_mask (sigset at CKVM_SIGNAL_MASK_SIGSET_OFFSET) and
        // reads len = 8 bytes of sigset, which the array holds.
        _ = try unsafe mask.ioctl(descriptor, CKVM_SET_SIGNAL_MASK, "KVM_SET_SIGNAL_MASK")
    }
}

/// Stops a vCPU if it is still running a given time after the watchdog was armed: a timer on a private
/// Dispatch queue that calls `VCPUStopHandle.requestStop()`. Disarm it (or let it go away) once the run is done.
///
/// Disarming lets go of the stop handle at once. Dispatch keeps a cancelled timer's closure until its
/// deadline, so the closure holds only the shared state, never the handle: otherwise the handle's `kvm_run`
/// mapping would keep the vCPU, its VM and KVM's per-VM thread alive until the timeout passed, long after
/// the run had ended (with a 2 s timeout, every finished guest lingered for up to 2 s).
public struct VCPUWatchdog: ~Copyable {
    private let state: WatchdogState
    private let item: DispatchWorkItem

    /// Arms a watchdog that stops `handle`'s vCPU after `timeout`.
    public init(stopping handle: VCPUStopHandle, after timeout: Duration) {
        let state = WatchdogState(handle)
        let item = DispatchWorkItem { state.fire() }
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        Self.queue.asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds)), execute: item)
        self.state = state
        self.item = item
    }

    /// The watchdogs' timer queue. A private serial queue runs on Dispatch's overcommit pool, which adds a
    /// thread when the others are busy; the global concurrent queues stop at one thread per CPU, and those
    /// threads may all be vCPU threads blocked in KVM_RUN, waiting for this very timer.
    private static let queue = DispatchQueue(label: "nestprobe.kvm.watchdog")

    /// Whether the timeout passed and the stop was requested.
    public var hasFired: Bool { state.hasFired }

    /// Cancels the watchdog and lets go of the stop handle. Once this returns, it will not request a stop.
    public func disarm() {
        state.disarm()
        item.cancel()
    }

    deinit {
        disarm()
    }
}

/// A watchdog's state, shared with its timer: the handle to stop while armed, and whether it fired.
private final class WatchdogState: Sendable {
    private let armed: Mutex<(handle: VCPUStopHandle?, hasFired: Bool)>

    init(_ handle: VCPUStopHandle) {
        armed = Mutex((handle: handle, hasFired: false))
    }

    /// The timer's work: stops the vCPU if still armed, then lets go of the handle.
    func fire() {
        armed.withLock { armed in
            guard let handle = armed.handle else { return }
            handle.requestStop()
            armed = (handle: nil, hasFired: true)
        }
    }

    /// Lets go of the handle without stopping anything.
    func disarm() {
        armed.withLock { $0.handle = nil }
    }

    var hasFired: Bool { armed.withLock { $0.hasFired } }
}
