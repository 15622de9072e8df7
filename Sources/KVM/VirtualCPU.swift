// VirtualCPU: one vCPU descriptor and its kvm_run mapping: running the guest, reading and setting its
// registers, CPUID and MSRs, and completing the exits that wait for user space.

import CKVM
import Glibc

/// A virtual CPU (the descriptor KVM_CREATE_VCPU returns, and its mmap'ed `kvm_run`). Made only by
/// `VirtualMachine.createVCPU`; the descriptor is closed when the value goes away.
///
/// Run it on one thread; stop it from another with `stopHandle`. It is Sendable, so that a guest's second
/// vCPU can be moved to a thread of its own; being noncopyable, it is on one thread at a time.
public struct VirtualCPU: ~Copyable, Sendable {
    /// The vCPU descriptor.
    let descriptor: Int32

    /// The vCPU's `kvm_run`.
    let runArea: KVMRunView

    /// The VM's guest memory, kept mapped while this vCPU can run.
    let guestMappings: GuestMappings

    /// The APIC ID it was created with.
    public let id: UInt32

    /// Stops `run()` from another thread (see `VCPUStopHandle`); share it freely.
    public let stopHandle: VCPUStopHandle

    init(descriptor: Int32, id: UInt32, runArea: HostMapping, guestMappings: GuestMappings) {
        self.descriptor = descriptor
        self.id = id
        self.runArea = KVMRunView(runArea)
        self.guestMappings = guestMappings
        self.stopHandle = VCPUStopHandle(runArea: self.runArea)
    }

    deinit {
        Syscall.close(descriptor)
    }

    /// KVM_RUN: runs the guest until it exits to user space, and returns why, copied out of `kvm_run`.
    ///
    /// A stop request (`stopHandle.requestStop()`, or `immediateExit` set) or a signal ends it with
    /// `.interrupted`, not an error; KVM_RUN's EINTR is reported, not retried. The one exception: an EINTR
    /// caused only by a leftover kick, one meant for an earlier run on this thread while no stop is
    /// requested for this vCPU, is dropped and the guest run again (see `VCPUStopHandle`). Any other
    /// failure throws `KVMError` with operation `KVM_RUN`.
    public func run() throws(KVMError) -> VCPUExit {
        for _ in 0..<Self.maximumLeftoverKicks {
            stopHandle.enterRun()
            let code = Syscall.kvmRun(descriptor)
            stopHandle.leaveRun()
            if code == 0 { return try VCPUExit(decoding: runArea) }
            if code != EINTR { throw KVMError(operation: "KVM_RUN", errno: code) }
            let leftoverKicks = VCPUStopHandle.consumePendingKicks()
            if immediateExit || leftoverKicks == 0 { return .interrupted }
        }
        return .interrupted
    }

    /// How many EINTRs caused by leftover kicks one `run()` absorbs before it reports `.interrupted` anyway.
    static let maximumLeftoverKicks = 16

    /// kvm_run.immediate_exit: while true, KVM_RUN returns EINTR (`.interrupted`) without entering the
    /// guest. `stopHandle.requestStop()` sets it; set it back to false to run again.
    public var immediateExit: Bool {
        get { runArea.immediateExit }
        nonmutating set { runArea.immediateExit = newValue }
    }

    // MARK: registers

    /// KVM_GET_REGS.
    public func registers() throws(KVMError) -> Registers {
        var raw = kvm_regs()
        // SAFETY: KVM_GET_REGS writes one struct kvm_regs, which `raw` is.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_GET_REGS, "KVM_GET_REGS", argument: &raw)
        return Registers(raw)
    }

    /// KVM_SET_REGS.
    public func setRegisters(_ registers: Registers) throws(KVMError) {
        var raw = registers.raw
        // SAFETY: KVM_SET_REGS reads one struct kvm_regs, which `raw` is.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_SET_REGS, "KVM_SET_REGS", argument: &raw)
    }

    /// KVM_GET_SREGS.
    public func specialRegisters() throws(KVMError) -> SpecialRegisters {
        var raw = kvm_sregs()
        // SAFETY: KVM_GET_SREGS writes one struct kvm_sregs, which `raw` is.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_GET_SREGS, "KVM_GET_SREGS", argument: &raw)
        return SpecialRegisters(raw)
    }

    /// KVM_SET_SREGS.
    public func setSpecialRegisters(_ registers: SpecialRegisters) throws(KVMError) {
        var raw = registers.raw
        // SAFETY: KVM_SET_SREGS reads one struct kvm_sregs, which `raw` is.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_SET_SREGS, "KVM_SET_SREGS", argument: &raw)
    }

    // MARK: multiprocessing state

    /// The vCPU's multiprocessing state (KVM_GET_MP_STATE / KVM_SET_MP_STATE, with an in-kernel irqchip).
    public enum MPState: UInt32, Sendable, Hashable {
        /// KVM_MP_STATE_RUNNABLE: runs when KVM_RUN is called (the BSP's state at creation).
        case runnable = 0
        /// KVM_MP_STATE_UNINITIALIZED: an application processor waiting for INIT.
        case uninitialized = 1
        /// KVM_MP_STATE_INIT_RECEIVED: an application processor that took INIT, waiting for SIPI.
        case initReceived = 2
        /// KVM_MP_STATE_HALTED: halted, waiting for an interrupt.
        case halted = 3
        /// KVM_MP_STATE_SIPI_RECEIVED: took SIPI, about to start.
        case sipiReceived = 4
    }

    /// KVM_GET_MP_STATE (needs an in-kernel irqchip). Throws EINVAL for a state this type does not name.
    public func mpState() throws(KVMError) -> MPState {
        var raw = kvm_mp_state()
        // SAFETY: KVM_GET_MP_STATE writes one struct kvm_mp_state, which `raw` is.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_GET_MP_STATE, "KVM_GET_MP_STATE", argument: &raw)
        guard let state = MPState(rawValue: raw.mp_state) else {
            throw KVMError.invalid("KVM_GET_MP_STATE answered \(raw.mp_state)")
        }
        return state
    }

    /// KVM_SET_MP_STATE (needs an in-kernel irqchip): `.runnable` makes an application processor run from
    /// the registers set on it at its next KVM_RUN, without INIT and SIPI.
    public func setMPState(_ state: MPState) throws(KVMError) {
        var raw = kvm_mp_state(mp_state: state.rawValue)
        // SAFETY: KVM_SET_MP_STATE reads one struct kvm_mp_state, which `raw` is.
        _ = try unsafe Syscall.ioctl(descriptor, CKVM_SET_MP_STATE, "KVM_SET_MP_STATE", argument: &raw)
    }

    // MARK: CPUID, TSC, MSRs

    /// KVM_SET_CPUID2: what CPUID returns in the guest (usually `KVMDevice.supportedCPUID()`, edited).
    /// Set it before the first run; KVM refuses changes after that on recent kernels.
    public func setCPUID(_ entries: [KVMCPUIDEntry]) throws(KVMError) {
        var array = FlexibleArray(headerSize: CKVM_CPUID2_ENTRIES_OFFSET, elements: entries.map(\.raw))
        // SAFETY: KVM_SET_CPUID2 takes a kvm_cpuid2 (entries at CKVM_CPUID2_ENTRIES_OFFSET) and reads
        // exactly nent = entries.count entries, which the array holds.
        _ = try unsafe array.ioctl(descriptor, CKVM_SET_CPUID2, "KVM_SET_CPUID2")
    }

    /// KVM_GET_TSC_KHZ: the guest's TSC frequency in kHz (needs `KVMCapability.getTSCKHz`).
    public func tscKHz() throws(KVMError) -> UInt32 {
        UInt32(truncatingIfNeeded: try Syscall.ioctl(descriptor, CKVM_GET_TSC_KHZ, "KVM_GET_TSC_KHZ"))
    }

    /// KVM_GET_MSRS on the vCPU: the guest's values of `indices`, in order; KVM stops at the first MSR it
    /// cannot read, so the answer has only the MSRs before that one.
    public func getMSRs(_ indices: [UInt32]) throws(KVMError) -> [UInt32: UInt64] {
        try MSRIoctls.get(descriptor, indices)
    }

    /// KVM_SET_MSRS on the vCPU: sets `entries` in order and returns how many KVM set before the first it
    /// refused (all of them on success).
    @discardableResult
    public func setMSRs(_ entries: [MSREntry]) throws(KVMError) -> Int {
        try MSRIoctls.set(descriptor, entries)
    }

    // MARK: completing exits (before the next run)

    /// Supplies the bytes a pending `.io(direction: .in, ...)` exit reads: exactly size × count bytes,
    /// written into the kvm_run data area. Throws EINVAL when no `in` is pending or the length is wrong.
    public func completeIn(bytes: [UInt8]) throws(KVMError) {
        try runArea.completeIn(bytes)
    }

    /// Supplies the value of a pending `.mmio(isWrite: false, ...)` exit: exactly `length` bytes,
    /// little-endian. Throws EINVAL when no MMIO read is pending or the length is wrong.
    public func completeMMIORead(bytes: [UInt8]) throws(KVMError) {
        try runArea.completeMMIORead(bytes)
    }

    /// Answers a pending `.x86RDMSR` exit with `value`. Throws EINVAL when none is pending.
    public func completeMSRRead(value: UInt64) throws(KVMError) {
        try runArea.completeMSRRead(value)
    }

    /// Makes a pending `.x86RDMSR` or `.x86WRMSR` exit inject #GP into the guest. Throws EINVAL when none is
    /// pending.
    public func failMSRAccess() throws(KVMError) {
        try runArea.failMSRAccess()
    }
}
