// DetachedThread: a thread of its own for work that must not run on a shared pool (a second vCPU's KVM_RUN
// loop, which also changes its thread's CPU affinity), without full Foundation's Thread. Part of Probe's door
// to the operating system (SystemDoor.swift): its unsafe code is handing the closure to pthread_create(3).

import KVM

#if canImport(Glibc)
    import Glibc
#endif

/// Starts detached POSIX threads.
public enum DetachedThread {
    /// The closure a new thread runs, boxed so that one pointer carries it through pthread_create.
    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Runs `body` on a new detached thread; the errno of pthread_create when no thread could be made
    /// (EAGAIN: out of threads or memory).
    public static func start(_ body: @escaping @Sendable () -> Void) -> Result<Void, Errno> {
        // SAFETY: one retain, released by the thread that takes it over, or below when none is made.
        let work = unsafe Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        // SAFETY: `work` holds one retain that the new thread takes over (takeRetainedValue) and releases when
        // its body returns; `thread` is a local the call writes. The start routine captures nothing.
        let created = unsafe pthread_create(
            &thread, nil,
            { context in
                // SAFETY: `context` is the `work` pointer passed below, retained once for this thread.
                guard let context = unsafe context else { return nil }
                let work = unsafe Unmanaged<Work>.fromOpaque(context).takeRetainedValue()
                work.body()
                return nil
            }, work)
        guard created == 0 else {
            // SAFETY: no thread was made, so the retain taken above is still this function's to release.
            unsafe Unmanaged<Work>.fromOpaque(work).release()
            return .failure(Errno(created))
        }
        _ = pthread_detach(thread)
        return .success(())
    }
}
