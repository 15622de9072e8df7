// GuestMemory: host memory that a guest sees as physical RAM once a VM maps it into a memory slot. Every
// access from Swift is a bounds-checked copy; the host address never leaves this module.

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
