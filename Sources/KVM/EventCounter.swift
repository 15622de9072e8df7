// EventCounter: an eventfd (eventfd(2)) — the counter a KVM_IOEVENTFD registration adds 1 to on every guest
// write it matches, as virtio's notify registers do. The VM signals it in the kernel; this process only
// reads how many writes came, so a guest's notification never becomes an exit to user space.

import CKVM
import Glibc

/// A non-blocking eventfd counter, made at 0. Made by `init()`, handed by borrow to
/// `VirtualMachine.assignIOEventFD`; the descriptor is closed when the value goes away (KVM keeps its own
/// reference for as long as the registration lasts).
public struct EventCounter: ~Copyable {
    /// The eventfd descriptor.
    let descriptor: Int32

    /// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
    public init() throws(KVMError) {
        descriptor = try Syscall.eventfd()
    }

    deinit {
        Syscall.close(descriptor)
    }

    /// Reads the counter and resets it to 0 (eventfd's read); 0 when nothing was signalled since the last take.
    public func take() throws(KVMError) -> UInt64 {
        try Syscall.readCounter(descriptor)
    }
}
