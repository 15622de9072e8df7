// The values that travel in KVM's counted arrays (CPUID entries, MSR entries and indices), and
// `FlexibleArray`, which lays out the kernel structs that carry them: a u32 count followed by a flexible
// array member (kvm_cpuid2, kvm_msrs, kvm_msr_list), which Swift cannot import as such.

import CKVM

/// One CPUID leaf as KVM reports it (KVM_GET_SUPPORTED_CPUID) or takes it (KVM_SET_CPUID2):
/// `struct kvm_cpuid_entry2`.
public struct KVMCPUIDEntry: Hashable, Sendable, Codable {
    /// The leaf (EAX input).
    public var function: UInt32
    /// The subleaf (ECX input); meaningful when `flags` has `significantIndex`.
    public var index: UInt32
    /// `KVM_CPUID_FLAG_*` bits.
    public var flags: UInt32
    /// EAX output.
    public var eax: UInt32
    /// EBX output.
    public var ebx: UInt32
    /// ECX output.
    public var ecx: UInt32
    /// EDX output.
    public var edx: UInt32

    /// KVM_CPUID_FLAG_SIGNIFCANT_INDEX (sic): the entry applies only to subleaf `index`.
    public static let significantIndex: UInt32 = 1 << 0

    /// An entry with the given leaf, subleaf, flags and outputs.
    public init(
        function: UInt32, index: UInt32 = 0, flags: UInt32 = 0,
        eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0
    ) {
        self.function = function
        self.index = index
        self.flags = flags
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }

    init(_ raw: kvm_cpuid_entry2) {
        self.init(
            function: raw.function, index: raw.index, flags: raw.flags,
            eax: raw.eax, ebx: raw.ebx, ecx: raw.ecx, edx: raw.edx)
    }

    var raw: kvm_cpuid_entry2 {
        var raw = kvm_cpuid_entry2()
        raw.function = function
        raw.index = index
        raw.flags = flags
        raw.eax = eax
        raw.ebx = ebx
        raw.ecx = ecx
        raw.edx = edx
        return raw
    }
}

/// One model-specific register and its value: `struct kvm_msr_entry`, for KVM_SET_MSRS.
public struct MSREntry: Hashable, Sendable, Codable {
    /// The MSR's index (ECX of RDMSR/WRMSR).
    public var index: UInt32
    /// The 64-bit value.
    public var value: UInt64

    /// An MSR index and value.
    public init(index: UInt32, value: UInt64) {
        self.index = index
        self.value = value
    }

    var raw: kvm_msr_entry {
        var raw = kvm_msr_entry()
        raw.index = index
        raw.data = value
        return raw
    }
}

/// A kernel struct made of a u32 count and a flexible array of `Element` at `headerSize` bytes
/// (kvm_cpuid2, kvm_msrs, kvm_msr_list), in 8-byte-aligned storage that Swift owns and frees.
///
/// `Element` must be a C struct of integers or an integer: loading one from bytes the kernel wrote is
/// sound only because every bit pattern is a valid value of such a type.
struct FlexibleArray<Element: BitwiseCopyable> {
    private var words: [UInt64]
    private let headerSize: Int

    /// How many elements the storage has room for.
    let capacity: Int

    /// Storage for `capacity` zeroed elements, with the count set to `capacity`.
    init(headerSize: Int, capacity: Int) {
        precondition(capacity >= 0 && capacity <= Int(UInt32.max), "flexible array capacity out of range")
        precondition(headerSize >= MemoryLayout<UInt32>.size && headerSize % MemoryLayout<Element>.alignment == 0)
        precondition(MemoryLayout<Element>.alignment <= MemoryLayout<UInt64>.alignment)
        let bytes = headerSize + capacity * MemoryLayout<Element>.stride
        self.words = [UInt64](repeating: 0, count: (bytes + 7) / 8)
        self.headerSize = headerSize
        self.capacity = capacity
        self.count = UInt32(capacity)
    }

    /// Storage holding `elements`, with the count set to `elements.count`.
    init(headerSize: Int, elements: [Element]) {
        self.init(headerSize: headerSize, capacity: elements.count)
        let offset = headerSize
        unsafe words.withUnsafeMutableBytes { storage in
            for (position, element) in elements.enumerated() {
                // SAFETY: init(headerSize:capacity:) sized the storage for elements.count elements after the
                // header; the offset is aligned for Element (header and stride are multiples of its alignment).
                unsafe storage.storeBytes(
                    of: element, toByteOffset: offset + position * MemoryLayout<Element>.stride, as: Element.self)
            }
        }
    }

    /// The count in the header (`nent`, `nmsrs`): what the caller asks for, then what the kernel answered.
    var count: UInt32 {
        // SAFETY (both): the storage is at least headerSize >= 4 bytes long and 8-byte aligned.
        get { unsafe words.withUnsafeBytes { unsafe $0.load(fromByteOffset: 0, as: UInt32.self) } }
        set { unsafe words.withUnsafeMutableBytes { unsafe $0.storeBytes(of: newValue, as: UInt32.self) } }
    }

    /// The first `min(count, capacity)` elements.
    var elements: [Element] {
        let valid = min(Int(count), capacity)
        return unsafe words.withUnsafeBytes { storage in
            (0..<valid).map { position in
                // SAFETY: position < capacity, so the element lies inside the storage; the offset is aligned
                // for Element; Element is a C struct of integers, valid for any bits the kernel wrote.
                unsafe storage.load(
                    fromByteOffset: headerSize + position * MemoryLayout<Element>.stride, as: Element.self)
            }
        }
    }

    /// Issues `request` on `descriptor` with this struct as the argument; returns what the ioctl returns.
    ///
    /// Unsafe: the caller promises that `request` takes this struct (kvm_cpuid2, kvm_msrs, kvm_msr_list)
    /// with this header size and element type, and that KVM touches no more elements than the count says
    /// (or, for a count that only limits, than `capacity`).
    @unsafe
    mutating func ioctl(_ descriptor: Int32, _ request: UInt, _ operation: String) throws(KVMError) -> Int32 {
        // SAFETY: `words` is non-empty (it holds at least the header), so baseAddress is not nil, and it is
        // exclusively borrowed for the call; its length is the caller's promise above.
        let result: Result<Int32, KVMError> = unsafe words.withUnsafeMutableBytes { storage in
            do throws(KVMError) {
                return .success(try unsafe Syscall.ioctl(descriptor, request, operation, buffer: storage.baseAddress!))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// KVM_GET_MSRS and KVM_SET_MSRS, shared by the system descriptor (feature MSRs) and vCPU descriptors.
enum MSRIoctls {
    /// The most entries KVM takes in one call (MAX_IO_MSRS in arch/x86/kvm/x86.c); longer lists go in chunks.
    static let chunkSize = 256

    /// KVM_GET_MSRS for `indices`, in order; stops at the first MSR KVM cannot read.
    static func get(_ descriptor: Int32, _ indices: [UInt32]) throws(KVMError) -> [UInt32: UInt64] {
        var values: [UInt32: UInt64] = [:]
        for start in stride(from: 0, to: indices.count, by: chunkSize) {
            let chunk = indices[start..<min(start + chunkSize, indices.count)]
            var array = FlexibleArray(
                headerSize: CKVM_MSRS_ENTRIES_OFFSET, elements: chunk.map { MSREntry(index: $0, value: 0).raw })
            // SAFETY: KVM_GET_MSRS takes a kvm_msrs (entries at CKVM_MSRS_ENTRIES_OFFSET) and reads and writes
            // exactly nmsrs = chunk.count entries, which the array holds.
            let read = try unsafe array.ioctl(descriptor, CKVM_GET_MSRS, "KVM_GET_MSRS")
            for entry in array.elements.prefix(Int(read)) {
                values[entry.index] = entry.data
            }
            if read < chunk.count { break }
        }
        return values
    }

    /// KVM_SET_MSRS for `entries`, in order; returns how many KVM set before the first it refused.
    static func set(_ descriptor: Int32, _ entries: [MSREntry]) throws(KVMError) -> Int {
        var written = 0
        for start in stride(from: 0, to: entries.count, by: chunkSize) {
            let chunk = entries[start..<min(start + chunkSize, entries.count)]
            var array = FlexibleArray(headerSize: CKVM_MSRS_ENTRIES_OFFSET, elements: chunk.map(\.raw))
            // SAFETY: KVM_SET_MSRS takes a kvm_msrs and reads exactly nmsrs = chunk.count entries, which the
            // array holds.
            let count = try unsafe array.ioctl(descriptor, CKVM_SET_MSRS, "KVM_SET_MSRS")
            written += Int(count)
            if count < chunk.count { break }
        }
        return written
    }
}
