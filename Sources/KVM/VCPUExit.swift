// VCPUExit: why KVM_RUN returned, with the exit's data copied out of kvm_run, so the value stays valid
// after the next KVM_RUN. A reason this layer does not decode is a value (`.unknown(reason:)`), never an
// error.

import CKVM

/// Why a vCPU left KVM_RUN (`kvm_run.exit_reason` and its part of the exit union, copied).
public enum VCPUExit: Hashable, Sendable {
    /// The direction of a port I/O exit.
    public enum IODirection: Hashable, Sendable {
        /// `in`/`ins`: the guest reads; fill its bytes with `VirtualCPU.completeIn(bytes:)`.
        case `in`
        /// `out`/`outs`: the guest wrote `data`.
        case out
    }

    /// KVM_EXIT_IO: port I/O no in-kernel device handled. `size` is the access width in bytes, `count` the
    /// repetitions (string I/O); for `.out`, `data` is the size × count bytes written; for `.in` it is
    /// empty until completed.
    case io(direction: IODirection, port: UInt16, size: Int, count: Int, data: [UInt8])

    /// KVM_EXIT_MMIO: an access to guest physical memory no slot backs. For a write, `data` holds the
    /// `length` bytes written; for a read it is empty, and `VirtualCPU.completeMMIORead(bytes:)` supplies
    /// the value.
    case mmio(address: UInt64, isWrite: Bool, length: Int, data: [UInt8])

    /// KVM_EXIT_HLT: the guest halted and there is no in-kernel local APIC to wait for an interrupt.
    case hlt

    /// KVM_EXIT_SHUTDOWN: the guest triple-faulted (or otherwise shut down); its state is undefined.
    case shutdown

    /// KVM_EXIT_FAIL_ENTRY: the hardware refused to enter the guest (an invalid guest state);
    /// `hardwareReason` is the VMX/SVM exit code.
    case failEntry(hardwareReason: UInt64, cpu: UInt32)

    /// KVM_EXIT_INTERNAL_ERROR: KVM could not go on (`suberror` is KVM_INTERNAL_ERROR_*, such as 1 for an
    /// instruction it could not emulate), with up to 16 words of extra data.
    case internalError(suberror: UInt32, data: [UInt64])

    /// KVM_RUN returned EINTR (a signal, or `immediate_exit` was set), or KVM_EXIT_INTR.
    case interrupted

    /// KVM_EXIT_SYSTEM_EVENT: the guest asked for a shutdown, reset or crash (KVM_SYSTEM_EVENT_*).
    case systemEvent(type: UInt32)

    /// KVM_EXIT_DEBUG: a debug exception while guest debugging is enabled.
    case debug

    /// KVM_EXIT_X86_RDMSR: the guest read an MSR sent to user space (`KVMCapability.userSpaceMSR`); answer
    /// with `VirtualCPU.completeMSRRead(value:)` or `failMSRAccess()`.
    case x86RDMSR(index: UInt32)

    /// KVM_EXIT_X86_WRMSR: the guest wrote `data` to an MSR sent to user space; it is accepted unless
    /// `VirtualCPU.failMSRAccess()` is called before the next run.
    case x86WRMSR(index: UInt32, data: UInt64)

    /// Any other exit reason (KVM_EXIT_*), left for the caller to name.
    case unknown(reason: UInt32)

    /// The KVM_EXIT_* number (KVM_EXIT_INTR for `.interrupted`).
    public var reason: UInt32 {
        let number: Int32 =
            switch self {
            case .io: KVM_EXIT_IO
            case .mmio: KVM_EXIT_MMIO
            case .hlt: KVM_EXIT_HLT
            case .shutdown: KVM_EXIT_SHUTDOWN
            case .failEntry: KVM_EXIT_FAIL_ENTRY
            case .internalError: KVM_EXIT_INTERNAL_ERROR
            case .interrupted: KVM_EXIT_INTR
            case .systemEvent: KVM_EXIT_SYSTEM_EVENT
            case .debug: KVM_EXIT_DEBUG
            case .x86RDMSR: KVM_EXIT_X86_RDMSR
            case .x86WRMSR: KVM_EXIT_X86_WRMSR
            case .unknown(let reason): Int32(bitPattern: reason)
            }
        return UInt32(bitPattern: number)
    }

    /// The uapi name of an exit reason number ("KVM_EXIT_IO"), or "exit reason N".
    public static func name(ofReason reason: UInt32) -> String {
        let names = [
            "UNKNOWN", "EXCEPTION", "IO", "HYPERCALL", "DEBUG", "HLT", "MMIO", "IRQ_WINDOW_OPEN", "SHUTDOWN",
            "FAIL_ENTRY", "INTR", "SET_TPR", "TPR_ACCESS", "S390_SIEIC", "S390_RESET", "DCR", "NMI",
            "INTERNAL_ERROR", "OSI", "PAPR_HCALL", "S390_UCONTROL", "WATCHDOG", "S390_TSCH", "EPR",
            "SYSTEM_EVENT", "S390_STSI", "IOAPIC_EOI", "HYPERV", "ARM_NISV", "X86_RDMSR", "X86_WRMSR",
            "DIRTY_RING_FULL", "AP_RESET_HOLD", "X86_BUS_LOCK", "XEN", "RISCV_SBI", "RISCV_CSR", "NOTIFY",
            "LOONGARCH_IOCSR", "MEMORY_FAULT",
        ]
        return reason < names.count ? "KVM_EXIT_\(names[Int(reason)])" : "exit reason \(reason)"
    }
}

extension VCPUExit {
    /// Decodes the exit KVM left in `run` after a successful KVM_RUN. Throws only when kvm_run points
    /// outside its own mapping (an I/O data offset past the end), which a correct kernel never does.
    init(decoding run: KVMRunView) throws(KVMError) {
        switch Int32(bitPattern: run.exitReason) {
        case KVM_EXIT_IO:
            let io = run.withRun { $0.io }
            let (size, count) = (Int(io.size), Int(io.count))
            if io.direction == UInt8(KVM_EXIT_IO_OUT) {
                let data = try run.dataBytes("KVM_EXIT_IO data", at: io.data_offset, count: size * count)
                self = .io(direction: .out, port: io.port, size: size, count: count, data: data)
            } else {
                self = .io(direction: .in, port: io.port, size: size, count: count, data: [])
            }
        case KVM_EXIT_MMIO:
            let mmio = run.withRun { $0.mmio }
            let bytes = mmio.data
            let all = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5, bytes.6, bytes.7]
            let isWrite = mmio.is_write != 0
            let data = isWrite ? Array(all.prefix(Int(mmio.len))) : []
            self = .mmio(address: mmio.phys_addr, isWrite: isWrite, length: Int(mmio.len), data: data)
        case KVM_EXIT_HLT:
            self = .hlt
        case KVM_EXIT_SHUTDOWN:
            self = .shutdown
        case KVM_EXIT_FAIL_ENTRY:
            let failure = run.withRun { $0.fail_entry }
            self = .failEntry(hardwareReason: failure.hardware_entry_failure_reason, cpu: failure.cpu)
        case KVM_EXIT_INTERNAL_ERROR:
            let error = run.withRun { $0.internal }
            let d = error.data
            let all = [d.0, d.1, d.2, d.3, d.4, d.5, d.6, d.7, d.8, d.9, d.10, d.11, d.12, d.13, d.14, d.15]
            self = .internalError(suberror: error.suberror, data: Array(all.prefix(Int(error.ndata))))
        case KVM_EXIT_INTR:
            self = .interrupted
        case KVM_EXIT_SYSTEM_EVENT:
            self = .systemEvent(type: run.withRun { $0.system_event.type })
        case KVM_EXIT_DEBUG:
            self = .debug
        case KVM_EXIT_X86_RDMSR:
            self = .x86RDMSR(index: run.withRun { $0.msr.index })
        case KVM_EXIT_X86_WRMSR:
            let msr = run.withRun { $0.msr }
            self = .x86WRMSR(index: msr.index, data: msr.data)
        default:
            self = .unknown(reason: run.exitReason)
        }
    }
}
