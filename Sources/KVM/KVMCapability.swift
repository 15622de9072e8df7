// KVMCapability: the KVM_CAP_* numbers a nesting probe and an exit-latency benchmark ask about, by name.
// The numbers come from <linux/kvm.h> through CKVM (which adds the ones newer than some distributions'
// headers); KVMDevice.checkExtension and VirtualMachine.checkExtension ask the kernel about them.

import CKVM

/// One KVM capability: its uapi name (`KVM_CAP_IRQCHIP`) and number, the argument of KVM_CHECK_EXTENSION
/// and KVM_ENABLE_CAP.
public struct KVMCapability: Hashable, Sendable, CustomStringConvertible {
    /// The name in <linux/kvm.h>, such as `KVM_CAP_NR_VCPUS`.
    public let name: String

    /// The capability number passed to KVM_CHECK_EXTENSION / KVM_ENABLE_CAP.
    public let number: Int32

    /// A capability by name and number, for those this table does not list.
    public init(name: String, number: Int32) {
        self.name = name
        self.number = number
    }

    /// The capability's uapi name.
    public var description: String { name }
}

extension KVMCapability {
    /// An in-kernel interrupt controller (KVM_CREATE_IRQCHIP).
    public static let irqchip = KVMCapability(name: "KVM_CAP_IRQCHIP", number: KVM_CAP_IRQCHIP)
    /// KVM_SET_USER_MEMORY_REGION; every usable KVM has it.
    public static let userMemory = KVMCapability(name: "KVM_CAP_USER_MEMORY", number: KVM_CAP_USER_MEMORY)
    /// KVM_SET_TSS_ADDR (needed for real mode on Intel hosts without unrestricted guest).
    public static let setTSSAddress = KVMCapability(name: "KVM_CAP_SET_TSS_ADDR", number: KVM_CAP_SET_TSS_ADDR)
    /// KVM_GET_SUPPORTED_CPUID and KVM_SET_CPUID2.
    public static let extendedCPUID = KVMCapability(name: "KVM_CAP_EXT_CPUID", number: KVM_CAP_EXT_CPUID)
    /// The recommended maximum number of vCPUs (the answer is the number).
    public static let recommendedVCPUs = KVMCapability(name: "KVM_CAP_NR_VCPUS", number: KVM_CAP_NR_VCPUS)
    /// The maximum number of vCPUs (the answer is the number).
    public static let maximumVCPUs = KVMCapability(name: "KVM_CAP_MAX_VCPUS", number: KVM_CAP_MAX_VCPUS)
    /// The number of memory slots (the answer is the number).
    public static let memorySlots = KVMCapability(name: "KVM_CAP_NR_MEMSLOTS", number: KVM_CAP_NR_MEMSLOTS)
    /// kvm_run.immediate_exit, which VirtualCPU's stop request relies on.
    public static let immediateExit = KVMCapability(
        name: "KVM_CAP_IMMEDIATE_EXIT", number: KVM_CAP_IMMEDIATE_EXIT)
    /// KVM_GET_TSC_KHZ / KVM_SET_TSC_KHZ.
    public static let getTSCKHz = KVMCapability(name: "KVM_CAP_GET_TSC_KHZ", number: KVM_CAP_GET_TSC_KHZ)
    /// Per-VM TSC frequency control (TSC scaling).
    public static let tscControl = KVMCapability(name: "KVM_CAP_TSC_CONTROL", number: KVM_CAP_TSC_CONTROL)
    /// MSR accesses the kernel does not handle exit to user space (KVM_EXIT_X86_RDMSR / WRMSR).
    public static let userSpaceMSR = KVMCapability(
        name: "KVM_CAP_X86_USER_SPACE_MSR", number: KVM_CAP_X86_USER_SPACE_MSR)
    /// KVM_X86_SET_MSR_FILTER: chosen MSRs exit to user space.
    public static let msrFilter = KVMCapability(name: "KVM_CAP_X86_MSR_FILTER", number: KVM_CAP_X86_MSR_FILTER)
    /// KVM_GET/SET_NESTED_STATE: the vCPUs can run their own guests (the answer is the state size).
    public static let nestedState = KVMCapability(name: "KVM_CAP_NESTED_STATE", number: KVM_CAP_NESTED_STATE)
    /// KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the system descriptor.
    public static let msrFeatures = KVMCapability(
        name: "KVM_CAP_GET_MSR_FEATURES", number: KVM_CAP_GET_MSR_FEATURES)
    /// Hyper-V enlightenments for guests.
    public static let hyperV = KVMCapability(name: "KVM_CAP_HYPERV", number: KVM_CAP_HYPERV)
    /// Hyper-V enlightened VMCS, for nested guests on Intel.
    public static let hyperVEnlightenedVMCS = KVMCapability(
        name: "KVM_CAP_HYPERV_ENLIGHTENED_VMCS", number: KVM_CAP_HYPERV_ENLIGHTENED_VMCS)
    /// Exits that can be disabled per VM (the answer is a mask of KVM_X86_DISABLE_EXITS_*).
    public static let disableExits = KVMCapability(
        name: "KVM_CAP_X86_DISABLE_EXITS", number: KVM_CAP_X86_DISABLE_EXITS)
    /// Registers shared through kvm_run instead of KVM_GET/SET_REGS (the answer is a mask).
    public static let syncRegisters = KVMCapability(name: "KVM_CAP_SYNC_REGS", number: KVM_CAP_SYNC_REGS)
    /// KVM_GET/SET_CLOCK for the kvmclock (the answer is a mask of supported flags).
    public static let adjustClock = KVMCapability(name: "KVM_CAP_ADJUST_CLOCK", number: KVM_CAP_ADJUST_CLOCK)
    /// x2APIC API extensions (32-bit APIC IDs).
    public static let x2APICAPI = KVMCapability(name: "KVM_CAP_X2APIC_API", number: KVM_CAP_X2APIC_API)
    /// A triple fault reported as an event user space can inject and read.
    public static let tripleFaultEvent = KVMCapability(
        name: "KVM_CAP_X86_TRIPLE_FAULT_EVENT", number: KVM_CAP_X86_TRIPLE_FAULT_EVENT)
    /// The VM types KVM_CREATE_VM accepts (the answer is a mask; Linux 6.10 and later).
    public static let vmTypes = KVMCapability(name: "KVM_CAP_VM_TYPES", number: KVM_CAP_VM_TYPES)
    /// KVM_CREATE_PIT2: an in-kernel i8254 timer.
    public static let pit2 = KVMCapability(name: "KVM_CAP_PIT2", number: KVM_CAP_PIT2)
    /// KVM_IOEVENTFD: guest port or MMIO writes signal an eventfd without exiting to user space.
    public static let ioeventfd = KVMCapability(name: "KVM_CAP_IOEVENTFD", number: KVM_CAP_IOEVENTFD)
    /// Read-only memory slots (KVM_MEM_READONLY).
    public static let readOnlyMemory = KVMCapability(name: "KVM_CAP_READONLY_MEM", number: KVM_CAP_READONLY_MEM)
    /// KVM_EXIT_NOTIFY when the CPU makes no progress inside the guest for too long, such as an instruction
    /// that keeps faulting on its own microcode assist (Intel notify VM exits).
    public static let notifyVMExit = KVMCapability(
        name: "KVM_CAP_X86_NOTIFY_VMEXIT", number: KVM_CAP_X86_NOTIFY_VMEXIT)
    /// The local APIC's TSC-deadline timer mode (IA32_TSC_DEADLINE), emulated by KVM's in-kernel APIC; KVM
    /// leaves its CPUID bit (leaf 1 ECX[24]) to user space.
    public static let tscDeadlineTimer = KVMCapability(
        name: "KVM_CAP_TSC_DEADLINE_TIMER", number: KVM_CAP_TSC_DEADLINE_TIMER)
    /// KVM_CHECK_EXTENSION works on VM descriptors too.
    public static let checkExtensionVM = KVMCapability(
        name: "KVM_CAP_CHECK_EXTENSION_VM", number: KVM_CAP_CHECK_EXTENSION_VM)

    /// The capabilities a nesting probe and an exit-latency benchmark report, in a stable order.
    public static let reported: [KVMCapability] = [
        .irqchip, .userMemory, .setTSSAddress, .extendedCPUID, .recommendedVCPUs, .maximumVCPUs, .memorySlots,
        .immediateExit, .getTSCKHz, .tscControl, .userSpaceMSR, .msrFilter, .nestedState, .msrFeatures, .hyperV,
        .hyperVEnlightenedVMCS, .disableExits, .syncRegisters, .adjustClock, .x2APICAPI, .tripleFaultEvent,
        .vmTypes, .pit2, .ioeventfd, .readOnlyMemory, .notifyVMExit, .tscDeadlineTimer,
    ]
}
