// KVM_RUN under a process limit. Since Linux 6.13 the first KVM_RUN of a VM starts a thread in this process
// (kvm-nx-lpage-recovery, a vhost task); where a cgroup's pids.max or RLIMIT_NPROC leaves no room for it,
// KVM_RUN fails with EAGAIN, and KVM tries to start the thread again on the next KVM_RUN. The runner waits a
// little and tries again, a bounded number of times, then reports the case as failed with the reason.

import Glibc
import KVM
import Probe

extension CaseRunner {
    /// How KVM_RUN's EAGAIN is retried: up to `attempts` tries in all, sleeping `firstWait` before the
    /// second and twice as long before each later one.
    public struct AgainPolicy: Sendable, Equatable {
        /// Tries in all, the first included.
        public var attempts: Int
        /// The wait before the second try.
        public var firstWait: Duration

        /// A policy from its parts.
        public init(attempts: Int, firstWait: Duration) {
            self.attempts = attempts
            self.firstWait = firstWait
        }

        /// Six tries over about 60 ms: long enough for a guest that just ended elsewhere in the process
        /// to go away, short enough not to matter next to a case.
        public static let standard = AgainPolicy(attempts: 6, firstWait: .milliseconds(2))

        /// The waits between tries, in order (attempts − 1 of them).
        var waits: [Duration] {
            (0..<max(0, attempts - 1)).map { firstWait * (1 << min($0, 20)) }
        }
    }

    /// KVM_RUN on `cpu`, tried again after EAGAIN as `policy` says.
    func enter(_ cpu: borrowing VirtualCPU) throws(KVMError) -> VCPUExit {
        try Self.retryingAgain(policy: againPolicy) { () throws(KVMError) in try cpu.run() }
    }

    /// Calls `body` until it returns or throws anything but EAGAIN, at most `policy.attempts` times; after
    /// the last EAGAIN it throws a KVMError whose operation says how often and how long it tried.
    static func retryingAgain<T>(
        policy: AgainPolicy, sleep: (Duration) -> Void = CaseRunner.sleep, _ body: () throws(KVMError) -> T
    ) throws(KVMError) -> T {
        var waited = Duration.zero
        for wait in policy.waits + [nil] {
            do {
                return try body()
            } catch  where error.errno == EAGAIN {
                guard let wait else {
                    throw KVMError(
                        operation: "\(error.operation) (\(policy.attempts) tries over \(waited))", errno: EAGAIN)
                }
                sleep(wait)
                waited += wait
            }
        }
        // Not reached: the last element of the loop's sequence is nil, which returns or throws.
        throw KVMError(operation: "KVM_RUN", errno: EAGAIN)
    }

    /// Sleeps the calling thread for `duration` (nanosleep through Probe's door, restarted after a signal).
    static func sleep(_ duration: Duration) {
        HostTimer.sleep(duration)
    }

    /// The failure for a KVM error that ended a run: EAGAIN from KVM_RUN says what limit to look at.
    static func failure(for error: KVMError) -> CaseFailure {
        guard error.errno == EAGAIN, error.operation.hasPrefix("KVM_RUN") else {
            return CaseFailure(kind: .unexpected, reason: "\(error)")
        }
        return CaseFailure(
            kind: .unexpected,
            reason: "\(error): KVM could not start the thread it needs for each VM; a process limit (a cgroup's "
                + "pids.max, ulimit -u) leaves no room for it")
    }
}
