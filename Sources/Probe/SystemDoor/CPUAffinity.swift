// CPUAffinity: the scheduler calls behind pinning the timing thread (sched_getaffinity, sched_setaffinity),
// part of Probe's door to the operating system (SystemDoor.swift).

import CKVM
import KVM

#if canImport(Glibc)
    import Glibc
#endif

/// Pins the calling thread to the CPU it is on, so every sample is taken on one CPU.
public enum CPUAffinity {
    /// Where the thread was pinned and the mask to restore.
    public struct Pinned {
        public var cpu: Int
        var previous: ckvm_cpu_mask
    }

    /// Pins to the current CPU; nil when the kernel refuses (a restricted container, say).
    public static func pinToCurrentCPU() -> Pinned? {
        let cpu = ckvm_current_cpu()
        guard cpu >= 0 else { return nil }
        var previous = ckvm_cpu_mask()
        // SAFETY: `previous` is a local cpu mask that outlives the call, which writes only that struct.
        guard unsafe ckvm_save_affinity(&previous) == 0, ckvm_pin_thread(cpu) == 0 else { return nil }
        return Pinned(cpu: Int(cpu), previous: previous)
    }

    /// Lets the calling thread run anywhere but on `cpu` (a second vCPU's thread, kept off the first's
    /// pinned CPU); false when the kernel refuses (no other CPU is allowed), and the thread stays as it was.
    public static func avoid(_ cpu: Int) -> Bool {
        ckvm_pin_thread_except(Int32(cpu)) == 0
    }

    /// Runs `body` on `cpu` (this thread moved there by sched_setaffinity) and gives the thread its affinity back;
    /// the refusal's errno when the kernel would not move it there (a CPU outside this process's cpuset gives
    /// EINVAL), or when the thread is elsewhere after the call.
    public static func run<T>(on cpu: Int, _ body: () -> T) -> Result<T, Errno> {
        var previous = ckvm_cpu_mask()
        // SAFETY: `previous` is a local cpu mask that outlives the call, which writes only that struct.
        guard unsafe ckvm_save_affinity(&previous) == 0 else { return .failure(.current) }
        // SAFETY: `previous` is the mask saved above, a local that outlives the call, which only reads it.
        defer { _ = unsafe ckvm_restore_affinity(&previous) }
        guard ckvm_pin_thread(Int32(cpu)) == 0 else { return .failure(.current) }
        // sched_setaffinity moves the calling thread before it returns (the kernel's migration stopper), so the
        // thread is on `cpu` now; checked all the same, since CPUID read elsewhere would describe another CPU.
        guard ckvm_current_cpu() == Int32(cpu) else { return .failure(Errno(EAGAIN)) }
        return .success(body())
    }

    /// Gives the thread back the affinity it had before `pinToCurrentCPU`.
    public static func restore(_ pinned: Pinned) {
        var mask = pinned.previous
        // SAFETY: `mask` is a local copy of the saved mask that outlives the call, which only reads it.
        _ = unsafe ckvm_restore_affinity(&mask)
    }
}
