// Every C library call the KVM module makes goes through `Syscall`, so there is one place to trace them and
// one place that turns "-1 and errno" into a KVMError.

import CKVM
import Glibc

/// The module's only door to the C library: open, close, ioctl, mmap, munmap, eventfd and its read.
enum Syscall {
    /// Calls `body` until it returns something other than -1 with `EINTR`; -1 with any other errno throws
    /// `KVMError(operation, errno)`. Not for KVM_RUN, where `EINTR` is an answer (see `kvmRun`).
    static func retryingInterrupts(
        _ operation: String, path: String? = nil, _ body: () -> Int32
    ) throws(KVMError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code != EINTR { throw KVMError(operation: operation, errno: code, path: path) }
        }
    }

    /// open(2) with `O_CLOEXEC` added; returns the new descriptor.
    static func open(_ path: String, flags: Int32) throws(KVMError) -> Int32 {
        try retryingInterrupts(KVMError.openOperation, path: path) {
            // SAFETY: withCString lends a NUL-terminated copy of `path` that lives for the closure; open only
            // reads it during the call.
            unsafe path.withCString { unsafe Glibc.open($0, flags | O_CLOEXEC) }
        }
    }

    /// close(2). Errors are ignored: on Linux the descriptor is released even when close fails, and
    /// retrying on EINTR could close a descriptor another thread has just been given.
    static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// An ioctl whose argument is an integer, or unused (`KVM_GET_API_VERSION`, `KVM_CREATE_VCPU`, ...).
    static func ioctl(
        _ descriptor: Int32, _ request: UInt, _ operation: String, value: UInt = 0
    ) throws(KVMError) -> Int32 {
        try retryingInterrupts(operation) { ckvm_ioctl_int(descriptor, request, value) }
    }

    /// An ioctl whose argument is `argument`, passed by address.
    ///
    /// Unsafe because the kernel reads and writes as many bytes as `request` says, not as many as `T` has:
    /// the caller promises that `T` is exactly the struct `request` is defined with.
    @unsafe
    static func ioctl<T: BitwiseCopyable>(
        _ descriptor: Int32, _ request: UInt, _ operation: String, argument: inout T
    ) throws(KVMError) -> Int32 {
        try retryingInterrupts(operation) {
            // SAFETY: the pointer is to `argument`, exclusively borrowed for the call and MemoryLayout<T>.size
            // long; that this is what `request` reads and writes is the caller's promise above.
            unsafe withUnsafeMutableBytes(of: &argument) { bytes in
                unsafe ckvm_ioctl_ptr(descriptor, request, bytes.baseAddress)
            }
        }
    }

    /// An ioctl whose argument is a buffer the caller has laid out (a struct with a flexible array).
    ///
    /// Unsafe because the kernel reads and writes as many bytes as the count inside the buffer says: the
    /// caller promises the buffer is at least that long.
    @unsafe
    static func ioctl(
        _ descriptor: Int32, _ request: UInt, _ operation: String, buffer: UnsafeMutableRawPointer
    ) throws(KVMError) -> Int32 {
        // SAFETY: the buffer's length is the caller's promise above; the kernel uses it only during the call.
        try retryingInterrupts(operation) { unsafe ckvm_ioctl_ptr(descriptor, request, buffer) }
    }

    /// KVM_RUN, once: returns 0, or the errno it failed with. `EINTR` is not retried, because it is how a
    /// signal or `immediate_exit` stops the vCPU.
    static func kvmRun(_ descriptor: Int32) -> Int32 {
        ckvm_ioctl_int(descriptor, CKVM_RUN, 0) == -1 ? errno : 0
    }

    /// mmap(2), read-write, of `size` bytes at an address the kernel picks.
    static func mmap(size: Int, flags: Int32, descriptor: Int32) throws(KVMError) -> UnsafeMutableRawPointer {
        // SAFETY: with a nil hint and no MAP_FIXED the kernel picks fresh addresses, so the new mapping cannot
        // overlap memory Swift already uses.
        let address = unsafe Glibc.mmap(nil, size, PROT_READ | PROT_WRITE, flags, descriptor, 0)
        guard let address = unsafe address, unsafe address != MAP_FAILED else {
            throw KVMError(operation: "mmap", errno: errno)
        }
        return unsafe address
    }

    /// munmap(2). Unsafe: the caller promises that nothing will touch `address ..< address + size` again.
    @unsafe
    static func munmap(_ address: UnsafeMutableRawPointer, size: Int) {
        // SAFETY: the caller's promise above; munmap itself only changes the address space.
        _ = unsafe Glibc.munmap(address, size)
    }

    /// eventfd(2) at 0, close-on-exec and non-blocking; returns the new descriptor.
    static func eventfd() throws(KVMError) -> Int32 {
        try retryingInterrupts("eventfd") { CKVM.eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)) }
    }

    /// read(2) of an eventfd's 8-byte counter, which resets it; 0 when it is 0 (EAGAIN, non-blocking).
    static func readCounter(_ descriptor: Int32) throws(KVMError) -> UInt64 {
        var value: UInt64 = 0
        while true {
            // SAFETY: the buffer is `value`, exclusively borrowed for the call and 8 bytes long, which is all
            // an eventfd read ever writes.
            let count = unsafe withUnsafeMutableBytes(of: &value) { bytes in
                unsafe Glibc.read(descriptor, bytes.baseAddress, 8)
            }
            if count == 8 { return value }
            let code = errno
            if count == -1 && code == EINTR { continue }
            if count == -1 && code == EAGAIN { return 0 }
            throw KVMError(operation: "read(eventfd)", errno: count == -1 ? code : EIO)
        }
    }

    /// The host's page size.
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}
