// VirtualMachine: one KVM VM descriptor; its memory slots, its in-kernel devices and I/O event registrations,
// and the maker of vCPUs.

import CKVM
import Glibc
import Synchronization

/// A KVM virtual machine (the descriptor KVM_CREATE_VM returns). Made only by `KVMDevice.createVM`; the
/// descriptor is closed when the value goes away.
///
/// Guest memory registered with `setUserMemoryRegion` stays mapped while this VM or any of its vCPUs
/// exists, even if the `GuestMemory` value is dropped first, so a guest can never reach host memory that
/// has been unmapped and reused.
public struct VirtualMachine: ~Copyable {
    /// The VM descriptor.
    let descriptor: Int32

    /// KVM_GET_VCPU_MMAP_SIZE, read when the VM was made.
    let runMappingSize: Int

    /// The host mappings behind the memory slots, shared with every vCPU of this VM.
    let guestMappings = GuestMappings()

    init(descriptor: Int32, runMappingSize: Int) {
        self.descriptor = descriptor
        self.runMappingSize = runMappingSize
    }

    deinit {
        Syscall.close(descriptor)
    }

    /// Flags of a memory slot (`KVM_MEM_*`).
    public struct MemoryRegionFlags: OptionSet, Hashable, Sendable {
        /// The bits, as KVM_SET_USER_MEMORY_REGION takes them.
        public let rawValue: UInt32

        /// Flags from their KVM_MEM_* bits.
        public init(rawValue: UInt32) {
            self.rawValue = rawValue
        }

        /// KVM_MEM_LOG_DIRTY_PAGES: track writes for KVM_GET_DIRTY_LOG.
        public static let logDirtyPages = MemoryRegionFlags(rawValue: 1 << 0)
        /// KVM_MEM_READONLY: guest writes become MMIO exits (needs `KVMCapability.readOnlyMemory`).
        public static let readOnly = MemoryRegionFlags(rawValue: 1 << 1)
    }

    /// KVM_SET_USER_MEMORY_REGION: makes `memory` the guest's physical memory at `guestPhysicalAddress`
    /// in `slot` (replacing what the slot held). The address must be page-aligned.
    ///
    /// The VM keeps the mapping alive for as long as it or any of its vCPUs exists.
    public func setUserMemoryRegion(
        slot: UInt32, guestPhysicalAddress: UInt64, memory: borrowing GuestMemory,
        flags: MemoryRegionFlags = []
    ) throws(KVMError) {
        try setRegion(slot: slot, guestPhysicalAddress: guestPhysicalAddress, mapping: memory.mapping, flags: flags)
    }

    /// KVM_SET_USER_MEMORY_REGION with size 0: deletes `slot`. The VM then lets go of the slot's mapping.
    public func removeUserMemoryRegion(slot: UInt32) throws(KVMError) {
        try setRegion(slot: slot, guestPhysicalAddress: 0, mapping: nil, flags: [])
    }

    private func setRegion(
        slot: UInt32, guestPhysicalAddress: UInt64, mapping: HostMapping?, flags: MemoryRegionFlags
    ) throws(KVMError) {
        var region = kvm_userspace_memory_region(
            slot: slot, flags: flags.rawValue, guest_phys_addr: guestPhysicalAddress,
            memory_size: UInt64(mapping?.size ?? 0), userspace_addr: mapping?.address ?? 0)
        // SAFETY: `region` is a kvm_userspace_memory_region, the struct this ioctl is defined with. The
        // host range it names stays mapped: `guestMappings` holds the mapping from here on.
        _ = try unsafe Syscall.ioctl(
            descriptor, CKVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", argument: &region)
        // Only after success: KVM has stopped using the slot's old range once the ioctl returns.
        guestMappings.replace(slot: slot, with: mapping)
    }

    /// KVM_SET_TSS_ADDR: three pages of guest physical address space (outside RAM) that Intel hosts
    /// without unrestricted guest use to run real mode. Call before the first KVM_RUN.
    public func setTSSAddress(_ address: UInt64) throws(KVMError) {
        _ = try Syscall.ioctl(descriptor, CKVM_SET_TSS_ADDR, "KVM_SET_TSS_ADDR", value: UInt(address))
    }

    /// KVM_SET_IDENTITY_MAP_ADDR: one page of guest physical address space (outside RAM) for the identity
    /// page table Intel hosts without unrestricted guest need. Call before creating vCPUs.
    public func setIdentityMapAddress(_ address: UInt64) throws(KVMError) {
        var value = address
        // SAFETY: the ioctl reads one __u64, which `value` is.
        _ = try unsafe Syscall.ioctl(
            descriptor, CKVM_SET_IDENTITY_MAP_ADDR, "KVM_SET_IDENTITY_MAP_ADDR", argument: &value)
    }

    /// KVM_CREATE_IRQCHIP: an in-kernel PIC, IOAPIC and local APICs. With it, HLT waits in the kernel for an
    /// interrupt instead of exiting to user space.
    public func createIRQChip() throws(KVMError) {
        _ = try Syscall.ioctl(descriptor, CKVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP")
    }

    /// KVM_CREATE_PIT2: an in-kernel i8254 timer (needs the irqchip first).
    public func createPIT2() throws(KVMError) {
        var config = kvm_pit_config()
        // SAFETY: `config` is a kvm_pit_config, the struct this ioctl is defined with.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_CREATE_PIT2, "KVM_CREATE_PIT2", argument: &config)
    }

    /// Where a KVM_IOEVENTFD registration listens: the port or MMIO address space.
    public enum IOSpace: Sendable, Hashable {
        /// Port I/O (`out`): KVM_IOEVENTFD_FLAG_PIO.
        case port
        /// Memory-mapped I/O (a store to an address no memory slot backs).
        case mmio
    }

    /// KVM_IOEVENTFD: from now on a guest write of `length` bytes (1, 2, 4 or 8) to `address` in `space`
    /// adds 1 to `counter` in the kernel and resumes the guest, without an exit to user space (needs
    /// `KVMCapability.ioeventfd`). Any value matches (no datamatch). KVM drops the registration with the VM.
    public func assignIOEventFD(
        _ counter: borrowing EventCounter, space: IOSpace, address: UInt64, length: UInt32
    ) throws(KVMError) {
        var request = kvm_ioeventfd()
        request.addr = address
        request.len = length
        request.fd = counter.descriptor
        request.flags = space == .port ? CKVM_IOEVENTFD_FLAG_PIO : 0
        // SAFETY: `request` is a kvm_ioeventfd, the struct this ioctl is defined with; the eventfd it names
        // is open for the call, and KVM takes its own reference to it.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_IOEVENTFD, "KVM_IOEVENTFD", argument: &request)
    }

    /// KVM_CHECK_EXTENSION on the VM: like `KVMDevice.checkExtension`, but for this VM's type (needs
    /// `KVMCapability.checkExtensionVM`). 0 means not supported, as does an ioctl error.
    public func checkExtension(_ capability: KVMCapability) -> Int32 {
        let request = UInt(truncatingIfNeeded: capability.number)
        return (try? Syscall.ioctl(descriptor, CKVM_CHECK_EXTENSION, "KVM_CHECK_EXTENSION", value: request)) ?? 0
    }

    /// KVM_ENABLE_CAP on the VM: turns on `capability` with up to four arguments (such as
    /// `KVMCapability.userSpaceMSR` with a mask of KVM_MSR_EXIT_REASON_*). More than four throws EINVAL.
    public func enableCapability(_ capability: KVMCapability, args: [UInt64] = [], flags: UInt32 = 0)
        throws(KVMError)
    {
        guard args.count <= 4 else { throw KVMError.invalid("KVM_ENABLE_CAP with \(args.count) arguments") }
        var request = kvm_enable_cap()
        request.cap = UInt32(truncatingIfNeeded: capability.number)
        request.flags = flags
        let padded = args + [UInt64](repeating: 0, count: 4 - args.count)
        request.args = (padded[0], padded[1], padded[2], padded[3])
        // SAFETY: `request` is a kvm_enable_cap, the struct this ioctl is defined with.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_ENABLE_CAP, "KVM_ENABLE_CAP", argument: &request)
    }

    /// KVM_CREATE_VCPU with APIC ID `id`, then mmap of its `kvm_run` and KVM_SET_SIGNAL_MASK (the calling
    /// thread's signal mask, less the kick signal) so that `VCPUStopHandle` can kick it. The vCPU keeps this VM's guest memory mapped for as long as it exists.
    public func createVCPU(id: UInt32 = 0) throws(KVMError) -> VirtualCPU {
        let vcpuDescriptor = try Syscall.ioctl(descriptor, CKVM_CREATE_VCPU, "KVM_CREATE_VCPU", value: UInt(id))
        let runArea: HostMapping
        do {
            runArea = try HostMapping(sharing: vcpuDescriptor, size: runMappingSize)
        } catch {
            Syscall.close(vcpuDescriptor)
            throw error
        }
        let cpu = VirtualCPU(descriptor: vcpuDescriptor, id: id, runArea: runArea, guestMappings: guestMappings)
        try cpu.setKickSignalMask()
        return cpu
    }
}

/// The host mappings behind a VM's memory slots, shared by the VM and its vCPUs so that the memory lives
/// as long as anything that can run the guest. Sendable (behind a lock), so that a vCPU, which holds a
/// reference, may be handed to a thread of its own.
final class GuestMappings: Sendable {
    private let slots = Mutex<[UInt32: HostMapping]>([:])

    /// Records `mapping` as the memory behind `slot`; nil drops what the slot held.
    func replace(slot: UInt32, with mapping: HostMapping?) {
        slots.withLock { $0[slot] = mapping }
    }
}
