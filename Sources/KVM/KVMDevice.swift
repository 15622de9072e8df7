// KVM: typed handles over the /dev/kvm ioctl API; the only Swift module that calls ioctl or mmap.
//
// What it owns: KVMDevice (the system descriptor) makes VirtualMachine, which makes VirtualCPU; GuestMemory
// is the anonymous mapping a guest sees as RAM. Each handle is ~Copyable and releases what it owns in
// deinit; a handle can only be made by its parent. Every failure is a KVMError naming the operation and
// errno. Exits are the VCPUExit enum, copied out of kvm_run; an exit reason this layer does not know is a
// value, not an error. Unsafe code lives here and only here, each use with a comment saying why it is sound.

import CKVM
import Glibc

/// An open KVM system descriptor (`/dev/kvm`): what the host's KVM offers, and the maker of virtual machines.
///
/// The descriptor is closed when the value goes away. Ask `checkExtension` before relying on a capability.
public struct KVMDevice: ~Copyable {
    /// The system descriptor.
    let descriptor: Int32

    /// Where KVM lives on Linux.
    public static let defaultPath = "/dev/kvm"

    /// The only KVM_GET_API_VERSION answer this layer (and every KVM since Linux 2.6.22) speaks.
    public static let expectedAPIVersion: Int32 = 12

    /// The most CPUID entries `supportedCPUID` asks for before giving up on E2BIG.
    public static let maximumCPUIDEntries = 4096

    /// The most MSR indices `msrIndexList` and `msrFeatureIndexList` accept before giving up on E2BIG.
    public static let maximumMSRIndices = 65536

    /// Opens `path` read-write and close-on-exec. Throws `KVMError` with operation `open`; its description
    /// says what to do when the device is missing (ENOENT) or not permitted (EACCES, EPERM).
    public init(path: String = KVMDevice.defaultPath) throws(KVMError) {
        self.descriptor = try Syscall.open(path, flags: O_RDWR)
    }

    /// Opens `path` as `init(path:)` does, then checks that KVM answers there: KVM_GET_API_VERSION must say
    /// `expectedAPIVersion`. A file that is not KVM (`/dev/null`) throws `KVMError` with operation
    /// `KVMError.notKVMOperation`, the path, and the errno (ENOTTY), or EPROTO for another API version.
    public init(verifying path: String) throws(KVMError) {
        let descriptor = try Syscall.open(path, flags: O_RDWR)
        let version: Int32
        do {
            version = try Syscall.ioctl(descriptor, CKVM_GET_API_VERSION, "KVM_GET_API_VERSION")
        } catch {
            Syscall.close(descriptor)
            throw KVMError(operation: KVMError.notKVMOperation, errno: error.errno, path: path)
        }
        guard version == Self.expectedAPIVersion else {
            Syscall.close(descriptor)
            throw KVMError(operation: KVMError.notKVMOperation, errno: EPROTO, path: path)
        }
        self.descriptor = descriptor
    }

    /// Takes ownership of `descriptor` (closed when this value goes away). For tests: adopting -1 or a
    /// descriptor of a file that is not KVM exercises the error paths without KVM.
    public init(adoptingDescriptor descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        Syscall.close(descriptor)
    }

    /// KVM_GET_API_VERSION: 12 on every KVM this layer can drive (see `expectedAPIVersion`).
    public func apiVersion() throws(KVMError) -> Int32 {
        try Syscall.ioctl(descriptor, CKVM_GET_API_VERSION, "KVM_GET_API_VERSION")
    }

    /// KVM_CHECK_EXTENSION: 0 when `capability` is not supported, otherwise 1 or a capability-specific
    /// number (a count, a mask). An ioctl error also reads as 0, "not supported", as the API documents.
    public func checkExtension(_ capability: KVMCapability) -> Int32 {
        let request = UInt(truncatingIfNeeded: capability.number)
        return (try? Syscall.ioctl(descriptor, CKVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION", value: request)) ?? 0
    }

    /// KVM_GET_VCPU_MMAP_SIZE: the length of each vCPU's `kvm_run` mapping (and the pages after it).
    public func vcpuMmapSize() throws(KVMError) -> Int {
        Int(try Syscall.ioctl(descriptor, CKVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE"))
    }

    /// KVM_GET_SUPPORTED_CPUID: the CPUID leaves KVM can present to a guest on this host (what a guest
    /// here could see, such as VMX or SVM for its own guests). Starts with room for 128 entries and doubles
    /// on E2BIG up to `maximumCPUIDEntries`.
    public func supportedCPUID() throws(KVMError) -> [KVMCPUIDEntry] {
        var capacity = 128
        while true {
            var array = FlexibleArray<kvm_cpuid_entry2>(headerSize: CKVM_CPUID2_ENTRIES_OFFSET, capacity: capacity)
            do {
                // SAFETY: KVM_GET_SUPPORTED_CPUID takes a kvm_cpuid2 (entries at CKVM_CPUID2_ENTRIES_OFFSET);
                // it writes at most nent = capacity entries, then lowers nent to the number written.
                _ = try unsafe array.ioctl(descriptor, CKVM_GET_SUPPORTED_CPUID, "KVM_GET_SUPPORTED_CPUID")
                return array.elements.map(KVMCPUIDEntry.init)
            } catch  where error.errno == E2BIG && capacity < Self.maximumCPUIDEntries {
                capacity *= 2
            }
        }
    }

    /// KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a guest (guest-visible MSRs).
    public func msrIndexList() throws(KVMError) -> [UInt32] {
        try indexList(CKVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST")
    }

    /// KVM_GET_MSR_FEATURE_INDEX_LIST: the feature MSRs (such as IA32_ARCH_CAPABILITIES, the VMX
    /// capability MSRs) whose host values `featureMSRs` can read. Needs `KVMCapability.msrFeatures`.
    public func msrFeatureIndexList() throws(KVMError) -> [UInt32] {
        try indexList(CKVM_GET_MSR_FEATURE_INDEX_LIST, "KVM_GET_MSR_FEATURE_INDEX_LIST")
    }

    /// KVM_GET_MSRS on the system descriptor: the values KVM would offer guests for these feature MSRs.
    /// KVM stops at the first MSR it cannot read; only the MSRs before that one are in the answer.
    public func featureMSRs(_ indices: [UInt32]) throws(KVMError) -> [UInt32: UInt64] {
        try MSRIoctls.get(descriptor, indices)
    }

    /// KVM_CREATE_VM with machine `type` (0: the default x86 VM). The VM keeps what it needs from this
    /// device (the `kvm_run` size), so the device may go away before it.
    public func createVM(type: UInt = 0) throws(KVMError) -> VirtualMachine {
        let runSize = try vcpuMmapSize()
        let vmDescriptor = try Syscall.ioctl(descriptor, CKVM_CREATE_VM, "KVM_CREATE_VM", value: type)
        return VirtualMachine(descriptor: vmDescriptor, runMappingSize: runSize)
    }

    /// A kvm_msr_list ioctl: asks with room for 256 indices, and on E2BIG again with the count KVM
    /// reported, up to `maximumMSRIndices`.
    private func indexList(_ request: UInt, _ operation: String) throws(KVMError) -> [UInt32] {
        var capacity = 256
        while true {
            var list = FlexibleArray<UInt32>(headerSize: CKVM_MSR_LIST_INDICES_OFFSET, capacity: capacity)
            do {
                // SAFETY: both requests take a kvm_msr_list (indices at CKVM_MSR_LIST_INDICES_OFFSET); KVM
                // writes the indices only when nmsrs = capacity is enough for all, and always updates nmsrs.
                _ = try unsafe list.ioctl(descriptor, request, operation)
                return list.elements
            } catch  where error.errno == E2BIG && capacity < Self.maximumMSRIndices {
                capacity = min(max(Int(list.count), capacity * 2), Self.maximumMSRIndices)
            }
        }
    }
}
