// GuestMemory: host memory that a guest sees as physical RAM once a VM maps it into a memory slot; and
// HostMapping, the mmap behind it (and behind each vCPU's kvm_run). Every access from Swift is a
// bounds-checked copy; the host address never leaves HostMapping.

import Glibc

/// Anonymous, zero-filled host memory to become guest RAM with `VirtualMachine.setUserMemoryRegion`.
///
/// Reads and writes copy bytes in and out and check their bounds, throwing `KVMError` (EFAULT) when they do
/// not fit. Integers are little-endian, as the x86 guest stores them, and may be unaligned.
///
/// The mapping is released when this value and every VM and vCPU it was given to are gone; until then the
/// guest may change the bytes between any two reads.
public struct GuestMemory: ~Copyable {
    /// The mapping; shared with the VMs and vCPUs that can reach it.
    let mapping: HostMapping

    /// Maps `size` bytes of zeroed memory. `size` must be a positive multiple of the page size (EINVAL
    /// otherwise); see `pageSize`.
    public init(size: Int) throws(KVMError) {
        self.mapping = try HostMapping(anonymousSize: size)
    }

    /// The host's page size, the granularity of `size` and of guest physical addresses in memory slots.
    public static var pageSize: Int { Syscall.pageSize }

    /// The number of bytes.
    public var size: Int { mapping.size }

    /// The host virtual address of the first byte, for KVM_SET_USER_MEMORY_REGION; an integer, never
    /// dereferenced outside HostMapping.
    var hostAddress: UInt64 { mapping.address }

    /// Copies `bytes` to `offset` (a guest code blob, a page table, a descriptor table).
    public func write(_ bytes: [UInt8], at offset: Int) throws(KVMError) {
        try mapping.write("GuestMemory.write", bytes, at: offset)
    }

    /// A copy of `count` bytes at `offset`.
    public func read(at offset: Int, count: Int) throws(KVMError) -> [UInt8] {
        try mapping.copyBytes("GuestMemory.read", at: offset, count: count)
    }

    /// The integer stored at `offset` (`UInt8` through `UInt64`, signed or not).
    public func load<T: FixedWidthInteger & BitwiseCopyable>(_ type: T.Type, at offset: Int) throws(KVMError) -> T {
        try mapping.load("GuestMemory.load(\(T.self))", T.self, at: offset)
    }

    /// `count` consecutive integers starting at `offset` (such as a guest's table of TSC samples).
    public func load<T: FixedWidthInteger & BitwiseCopyable>(
        _ type: T.Type, at offset: Int, count: Int
    ) throws(KVMError) -> [T] {
        try mapping.loadArray("GuestMemory.load([\(T.self)])", T.self, at: offset, count: count)
    }

    /// Stores `value` at `offset`.
    public func store<T: FixedWidthInteger & BitwiseCopyable>(_ value: T, at offset: Int) throws(KVMError) {
        try mapping.store("GuestMemory.store(\(T.self))", value, at: offset)
    }

    /// Sets `count` bytes at `offset` to `byte` (zero by default).
    public func fill(_ byte: UInt8 = 0, at offset: Int, count: Int) throws(KVMError) {
        _ = try mapping.checkedStart("GuestMemory.fill", offset: offset, count: count)
        try mapping.write("GuestMemory.fill", [UInt8](repeating: byte, count: count), at: offset)
    }
}

/// One read-write mmap of `size` bytes: anonymous and private (guest RAM), or a shared map of a vCPU
/// descriptor (`kvm_run`). It unmaps itself when the last owner lets go.
///
/// A class, not a ~Copyable struct, because the mapping must outlive every handle that can make KVM touch
/// it: guest RAM stays mapped while the VM or any of its vCPUs exists (otherwise a guest could write into
/// whatever the host maps at that address next), and `kvm_run` stays mapped while a stop handle on another
/// thread may still set `immediate_exit`.
@safe
final class HostMapping: @unchecked Sendable {
    // @safe: `base` never leaves this class except through the @unsafe `withBaseAddress`; every other access
    // is a bounds-checked copy of integers. @unchecked Sendable: both stored properties are immutable; the
    // bytes behind `base` are shared with the kernel and the guest by design, and are only copied, never
    // borrowed, by Swift code.

    /// The first byte of the mapping.
    private let base: UnsafeMutableRawPointer

    /// The length of the mapping in bytes, a positive multiple of the page size.
    let size: Int

    /// Maps `size` bytes of zeroed anonymous memory (`MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE`).
    convenience init(anonymousSize size: Int) throws(KVMError) {
        try self.init(size: size, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, descriptor: -1)
    }

    /// Maps `size` bytes of `descriptor`, shared, from offset 0 (a vCPU's `kvm_run`).
    convenience init(sharing descriptor: Int32, size: Int) throws(KVMError) {
        try self.init(size: size, flags: MAP_SHARED, descriptor: descriptor)
    }

    private init(size: Int, flags: Int32, descriptor: Int32) throws(KVMError) {
        guard size > 0, size % Syscall.pageSize == 0 else {
            throw KVMError(
                operation: "mmap of \(size) bytes (must be a positive multiple of \(Syscall.pageSize))",
                errno: EINVAL)
        }
        // SAFETY: stores the address of a fresh mapping of `size` bytes that this object alone owns.
        unsafe self.base = try Syscall.mmap(size: size, flags: flags, descriptor: descriptor)
        self.size = size
    }

    deinit {
        // SAFETY: deinit runs when no reference to this object is left, and every view of the bytes
        // (GuestMemory, KVMRunView, VCPUStopHandle, a VM's or vCPU's GuestMappings) holds one.
        unsafe Syscall.munmap(base, size: size)
    }

    /// The mapping's start as an integer: `userspace_addr` for KVM_SET_USER_MEMORY_REGION.
    var address: UInt64 {
        // SAFETY: converts the address to an integer; nothing is dereferenced.
        UInt64(UInt(bitPattern: unsafe base))
    }

    /// Calls `body` with the mapping's first byte. Unsafe: `body` must stay within `size` bytes, must not
    /// let the pointer escape, and must only read types for which every bit pattern is valid.
    @unsafe
    func withBaseAddress<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        // SAFETY: `self` is alive for the call, so `base` is mapped for `size` bytes while body runs.
        try unsafe body(base)
    }

    /// The start of `count` bytes at `offset`, or an EFAULT error naming `what` when they do not all fit.
    func checkedStart(_ what: String, offset: some BinaryInteger, count: Int) throws(KVMError) -> Int {
        guard count >= 0, let start = Int(exactly: offset), start >= 0, start <= size, count <= size - start
        else { throw KVMError.outOfBounds(what, offset: offset, count: count, size: size) }
        return start
    }

    /// A copy of `count` bytes at `offset`.
    func copyBytes(_ what: String, at offset: some BinaryInteger, count: Int) throws(KVMError) -> [UInt8] {
        let start = try checkedStart(what, offset: offset, count: count)
        // SAFETY: checkedStart proved start ..< start + count lies inside the mapping; Array copies it.
        return unsafe Array(UnsafeRawBufferPointer(start: base + start, count: count))
    }

    /// Copies `bytes` to `offset`.
    func write(_ what: String, _ bytes: [UInt8], at offset: some BinaryInteger) throws(KVMError) {
        let start = try checkedStart(what, offset: offset, count: bytes.count)
        // SAFETY: checkedStart proved start ..< start + bytes.count lies inside the mapping; the source is
        // the array's own storage, lent for the closure, and cannot overlap an mmap.
        unsafe bytes.withUnsafeBytes { source in
            unsafe UnsafeMutableRawBufferPointer(start: base + start, count: source.count).copyMemory(from: source)
        }
    }

    /// The integer stored (little-endian, any alignment) at `offset`.
    func load<T: FixedWidthInteger & BitwiseCopyable>(
        _ what: String, _ type: T.Type, at offset: some BinaryInteger
    ) throws(KVMError) -> T {
        let start = try checkedStart(what, offset: offset, count: MemoryLayout<T>.size)
        // SAFETY: in bounds (checkedStart); every bit pattern is a valid fixed-width integer; loadUnaligned
        // has no alignment requirement.
        return unsafe base.loadUnaligned(fromByteOffset: start, as: T.self)
    }

    /// Stores `value` (little-endian, any alignment) at `offset`.
    func store<T: FixedWidthInteger & BitwiseCopyable>(
        _ what: String, _ value: T, at offset: some BinaryInteger
    ) throws(KVMError) {
        let start = try checkedStart(what, offset: offset, count: MemoryLayout<T>.size)
        // SAFETY: in bounds (checkedStart); storeBytes on a raw pointer has no alignment requirement.
        unsafe base.storeBytes(of: value, toByteOffset: start, as: T.self)
    }

    /// `count` consecutive integers starting at `offset`.
    func loadArray<T: FixedWidthInteger & BitwiseCopyable>(
        _ what: String, _ type: T.Type, at offset: some BinaryInteger, count: Int
    ) throws(KVMError) -> [T] {
        let (byteCount, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: max(count, 0))
        guard count >= 0, !overflow else {
            throw KVMError.outOfBounds(what, offset: offset, count: Int.max, size: size)
        }
        let start = try checkedStart(what, offset: offset, count: byteCount)
        // SAFETY: the source range is in bounds (checkedStart); the destination is the new array's storage
        // of exactly `count` elements, all of which are initialized by the copy before count is set.
        return unsafe [T](unsafeUninitializedCapacity: count) { elements, initialized in
            unsafe UnsafeMutableRawBufferPointer(elements).copyMemory(
                from: UnsafeRawBufferPointer(start: base + start, count: byteCount))
            initialized = count
        }
    }
}
