// TemporaryFileCleanup: while AtomicFile has a temporary file beside its target, SIGINT, SIGTERM and SIGHUP
// remove that file before the process dies of the signal, so Ctrl-C or `kill` never leaves a `.NAME.XXXXXX`
// behind. The handler is installed only around the write (and only where the signal's action was the
// default: a signal the parent set to be ignored, as nohup does, stays ignored), and it does only
// async-signal-safe things: unlink(2) of a path kept in a buffer allocated in advance, then raise(3) of the
// same signal with the default action back in place, so the exit status still says which signal it was.
// Part of Probe's door to the operating system (SystemDoor.swift): its unsafe code is the signal handling.

import KVM
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The temporary file of the write in progress, removed if a terminating signal arrives.
enum TemporaryFileCleanup {
    /// The signals whose default action ends the process and that a user or a supervisor sends.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Room for any path the kernel accepts (PATH_MAX, with its NUL).
    static let capacity = Int(PATH_MAX)

    // SAFETY: allocated once and never freed, so the handler can read it at any time; written only by
    // `arm` (below) with the signals blocked on the writing thread and under `lock`, so no two writes race.
    nonisolated(unsafe) static let path: UnsafeMutablePointer<CChar> = {
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        // SAFETY: a fresh allocation of `capacity` characters, initialised once here before any use.
        unsafe buffer.initialize(repeating: 0, count: capacity)
        return unsafe buffer
    }()
    // SAFETY: as `path`; 1 while `path` names a temporary file that the handler must remove.
    nonisolated(unsafe) static let armed: UnsafeMutablePointer<sig_atomic_t> = {
        let flag = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        // SAFETY: a fresh allocation of one flag, initialised once here before any use.
        unsafe flag.initialize(to: 0)
        return unsafe flag
    }()
    /// One write with a temporary file at a time in this process.
    static let lock = Mutex(())

    /// Runs `body` with the handlers installed and restores the previous actions afterwards.
    static func guarding<T: Sendable>(_ body: () throws(Errno) -> T) throws(Errno) -> T {
        try lock.withLock { _ throws(Errno) -> T in try guardingHeld(body) }
    }

    /// `guarding`, with `lock` held.
    private static func guardingHeld<T>(_ body: () throws(Errno) -> T) throws(Errno) -> T {
        // Touch the buffers now, so the handler never runs their one-time initialisation.
        // SAFETY: both buffers are allocated and initialised; no handler is installed yet, and `lock` is held.
        unsafe path.pointee = 0
        unsafe armed.pointee = 0
        var previous: [(Int32, sigaction)] = []
        for signal in signals {
            var old = sigaction()
            // SAFETY: a nil new action only reads the current one into the local `old`.
            guard unsafe sigaction(signal, nil, &old) == 0, isDefault(old) else { continue }
            var action = sigaction()
            // SAFETY: writes the handler member of a local union; the handler is a @convention(c) function.
            unsafe action.__sigaction_handler.sa_handler = cleanupHandler
            // Back to the default on entry, and not blocked while handled: raise() then ends the process.
            action.sa_flags = Int32(
                truncatingIfNeeded: UInt32(truncatingIfNeeded: SA_RESETHAND) | UInt32(truncatingIfNeeded: SA_NODEFER))
            // SAFETY: clears the mask of the local `action`.
            unsafe sigemptyset(&action.sa_mask)
            // SAFETY: both structures are locals for the call.
            if unsafe sigaction(signal, &action, nil) == 0 { previous.append((signal, old)) }
        }
        defer {
            for (signal, old) in previous {
                var old = old
                // SAFETY: restores the action saved above from a local.
                _ = unsafe sigaction(signal, &old, nil)
            }
        }
        return try body()
    }

    /// mkstemp(3) on `template` (ending in XXXXXX) with the signals blocked, then arms the handler with the
    /// name it made. Returns the descriptor and the name.
    static func makeTemporary(_ template: [CChar]) throws(Errno) -> (fd: Int32, path: String) {
        guard template.count <= capacity, template.last == 0 else { throw Errno(ENAMETOOLONG) }
        return try blockingSignals { () throws(Errno) -> (fd: Int32, path: String) in
            // SAFETY: `template` (NUL included) fits the buffer, checked above.
            unsafe template.withUnsafeBufferPointer { unsafe path.update(from: $0.baseAddress!, count: $0.count) }
            // SAFETY: the buffer holds a NUL-terminated template that mkstemp rewrites in place.
            let fd = try SystemDoor.retryingInterrupts { unsafe mkstemp(path) }
            // SAFETY: the signals are blocked, so the handler cannot read the flag or the name while they change;
            // the String copies the NUL-terminated name mkstemp wrote.
            unsafe armed.pointee = 1
            return (fd, unsafe String(cString: path))
        }
    }

    /// Runs `body` (the rename, or the removal after a failure) with the signals blocked, then disarms.
    static func finish<T>(_ body: () throws(Errno) -> T) throws(Errno) -> T {
        try blockingSignals { () throws(Errno) -> T in
            // SAFETY: the signals are blocked here, so the handler cannot read the flag while it changes.
            defer { unsafe armed.pointee = 0 }
            return try body()
        }
    }

    private static func blockingSignals<T>(_ body: () throws(Errno) -> T) throws(Errno) -> T {
        var set = sigset_t()
        var old = sigset_t()
        // SAFETY: both calls change only the local `set`.
        unsafe sigemptyset(&set)
        for signal in signals { unsafe sigaddset(&set, signal) }
        // SAFETY: both sets are locals; a pending signal is delivered when the old mask comes back.
        unsafe pthread_sigmask(SIG_BLOCK, &set, &old)
        // SAFETY: restores the saved mask from the local `old`.
        defer { unsafe pthread_sigmask(SIG_SETMASK, &old, nil) }
        return try body()
    }

    private static func isDefault(_ action: sigaction) -> Bool {
        // SAFETY: reads the handler member of a local; SIG_DFL is the null handler.
        unsafe action.__sigaction_handler.sa_handler == nil
            && action.sa_flags & Int32(truncatingIfNeeded: SA_SIGINFO) == 0
    }
}

/// The handler: async-signal-safe calls only (unlink, raise, _exit), no allocation, no locks.
private let cleanupHandler: @convention(c) (Int32) -> Void = { signal in
    // SAFETY: both buffers were allocated and touched before the handler was installed and are never freed.
    if unsafe TemporaryFileCleanup.armed.pointee == 1 {
        _ = unsafe unlink(TemporaryFileCleanup.path)
    }
    // SA_RESETHAND put the default action back and SA_NODEFER leaves the signal unblocked: this ends us.
    raise(signal)
    _exit(128 + signal)
}
