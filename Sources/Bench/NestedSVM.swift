// NestedSVM: three levels in one run. Where KVM offers SVM to its guests, the three-level guest's payload is
// itself a minimal hypervisor (svm64.S): it turns on EFER.SVME, points VM_HSAVE_PA at a page and VMRUNs a
// guest of its own — long64.S at CPL0, the very loops of the one-level cases — answering every intercept the
// loops cause. The guest's guest times its exits with the TSC as the one-level guests do; the mini-
// hypervisor also times its own VMRUN round trip, VMLOAD, VMSAVE, STGI and CLGI. This file holds the layout
// and the facts the rest share; the VMCB is built in NestedSVM+VMCB.swift, the cases are listed in
// NestedSVM+Catalogue.swift, run by NestedSVM+Runner.swift and reported by NestedSVM+Report.swift.

import CGuest
import KVM

/// The three-level guest: where it keeps what, its canary, and how to tell whether SVM is offered.
enum NestedSVM {
    /// The second memory slot: VMCB, host save area, permission maps, register file, stack, payload.
    static let regionAddress = UInt64(CGUEST_SVM_REGION_ADDRESS)
    static let regionSize = Int(CGUEST_SVM_REGION_SIZE)
    /// Slot 0 is low RAM, slot 1 the first-touch region; this one is the third.
    static let regionSlot: UInt32 = 2

    /// The guest's guest's VMCB.
    static let vmcbAddress = UInt64(CGUEST_SVM_VMCB_ADDRESS)
    /// The page VM_HSAVE_PA names.
    static let hostSaveAddress = UInt64(CGUEST_SVM_HSAVE_ADDRESS)
    /// The page the vmload and vmsave loops use.
    static let scratchVMCBAddress = UInt64(CGUEST_SVM_SCRATCH_VMCB_ADDRESS)
    /// The I/O and MSR permission maps (APM vol. 2 §15.10.1, §15.11): 12 and 8 KiB.
    static let ioPermissionMapAddress = UInt64(CGUEST_SVM_IOPM_ADDRESS)
    static let ioPermissionMapSize = Int(CGUEST_SVM_IOPM_SIZE)
    static let msrPermissionMapAddress = UInt64(CGUEST_SVM_MSRPM_ADDRESS)
    static let msrPermissionMapSize = Int(CGUEST_SVM_MSRPM_SIZE)
    /// The guest's guest's general registers while the mini-hypervisor runs.
    static let registerFileAddress = UInt64(CGUEST_SVM_REGS_ADDRESS)
    /// The mini-hypervisor's RSP.
    static let stackTop = UInt64(CGUEST_SVM_STACK_TOP)
    /// Where svm64.S is loaded and starts, and the most bytes it may take.
    static let codeAddress = UInt64(CGUEST_SVM_CODE_ADDRESS)
    static let codeLimit = Int(CGUEST_SVM_CODE_LIMIT)
    /// The guest's guest of the vmrun loop: a vmmcall it never steps over.
    static let bounceAddress = codeAddress + UInt64(CGUEST_SVM_BOUNCE_OFFSET)
    /// The mini-hypervisor's own IDT, where it routes its own timer (the relayed timer case).
    static let idtAddress = UInt64(CGUEST_SVM_IDT_ADDRESS)
    /// Its handler of its own timer's interrupt.
    static let timerHandlerAddress = codeAddress + UInt64(CGUEST_SVM_TIMER_IRQ_OFFSET)

    /// The mini-hypervisor's own IDT: long mode's (the exception stubs report as they do for long64.S), but
    /// the x2APIC vector's gate at its own timer handler, so that the guest's guest's handler — on long mode's
    /// IDT, in the same memory — counts only the interrupts injected into it.
    static func ownIDT() -> [UInt8] {
        var idt = LongModeTables.idt()
        let at = Int(CGUEST_VECTOR_X2APIC) * 16
        idt.replaceSubrange(at..<at + 16, with: LongModeTables.interruptGate(offset: timerHandlerAddress, dpl: 0))
        return idt
    }
    /// The guest's guest's ASID (0 is the host's, and VMRUN refuses it).
    static let guestASID: UInt32 = 1

    /// What the mini-hypervisor answers CPUID with in EBX, ECX, EDX.
    static let canarySignature = "NestprobeSVM"
    static let canaryRegisters = [
        UInt32(CGUEST_SVM_CANARY_EBX), UInt32(CGUEST_SVM_CANARY_ECX), UInt32(CGUEST_SVM_CANARY_EDX),
    ]

    /// SVM in CPUID 0x8000_0001 ECX (APM vol. 3, appendix E).
    static let svmBit: UInt32 = 1 << 2
    /// NRIPS (nRIP saved on #VMEXIT) in CPUID 0x8000_000A EDX (APM vol. 2 §15.7.1).
    static let nextRIPBit: UInt32 = 1 << 3

    /// Why the three-level cases do not run where KVM keeps SVM from its guests.
    static let notOfferedReason = "SVM is not offered to guests (KVM_GET_SUPPORTED_CPUID 0x8000_0001 ECX[2] clear)"

    /// Whether a CPUID table (KVM_GET_SUPPORTED_CPUID's, or a guest's) offers SVM.
    static func offersSVM(_ table: [KVMCPUIDEntry]) -> Bool {
        (table.first { $0.function == 0x8000_0001 }?.ecx ?? 0) & svmBit != 0
    }

    /// Whether it offers NRIPS, so that the mini-hypervisor can resume at the VMCB's nRIP.
    static func offersNextRIP(_ table: [KVMCPUIDEntry]) -> Bool {
        offersSVM(table) && (table.first { $0.function == 0x8000_000A }?.edx ?? 0) & nextRIPBit != 0
    }

    /// Who answered the guest's guest's CPUID 0x4000_0000, which returned `seen` (EBX, ECX, EDX): the
    /// mini-hypervisor, this level's KVM (its canary: the intercept did not run), or the level below.
    static func attribute(seen: [UInt32], host: [UInt32]) -> Attribution {
        if seen == canaryRegisters { return .guestHypervisor }
        return CPUIDCanary.attribute(seen: seen, host: host)
    }

    /// The mini-hypervisor's payload.
    static var payload: [UInt8] { GuestPayload.svm64 }
}

extension GuestMode {
    /// Whether cases of this mode run in the three-level guest.
    var isNestedSVM: Bool { self == .svmInner || self == .svmHypervisor }
}

extension GuestPayload {
    // SAFETY: as for the other payloads — the accessor returns the start and length of svm64.S's bytes, in a
    // read-only section of this binary mapped for the life of the process.

    /// The mini-hypervisor payload.
    static let svm64: [UInt8] = unsafe copySVM(cguest_svm64())

    /// A copy of the payload's bytes. Unsafe: `payload` must describe mapped, readable memory.
    @unsafe
    private static func copySVM(_ payload: cguest_payload) -> [UInt8] {
        // SAFETY: the caller's promise above.
        unsafe Array(UnsafeBufferPointer(start: payload.bytes, count: payload.length))
    }
}

/// One of the mini-hypervisor's own instructions, timed in the three-level guest; its raw value names its loop
/// in CGuestLoops.h's CGUEST_SVM_LOOPS.
enum SVMInstruction: String, Sendable, Hashable, CaseIterable {
    /// VMRUN of a guest's guest that exits at once (vmmcall), and the #VMEXIT back: one round trip.
    case vmrun
    /// VMLOAD of a VMCB holding this level's own FS, GS, TR, LDTR and syscall MSRs.
    case vmload
    /// VMSAVE of them.
    case vmsave
    /// STGI: set the global interrupt flag.
    case stgi
    /// CLGI: clear it.
    case clgi
}

/// A #VMEXIT code (the VMCB's EXITCODE, 64 bits, signed: VMEXIT_INVALID is -1) and its name as APM vol. 2
/// appendix C and Linux's uapi/asm/svm.h spell it.
struct SVMExitCode: Hashable, Sendable, CustomStringConvertible {
    let rawValue: Int64

    init(_ rawValue: Int64) { self.rawValue = rawValue }

    static let intr = SVMExitCode(Int64(CGUEST_SVM_EXIT_INTR))
    static let cpuid = SVMExitCode(Int64(CGUEST_SVM_EXIT_CPUID))
    static let hlt = SVMExitCode(Int64(CGUEST_SVM_EXIT_HLT))
    static let ioio = SVMExitCode(Int64(CGUEST_SVM_EXIT_IOIO))
    static let msr = SVMExitCode(Int64(CGUEST_SVM_EXIT_MSR))
    static let shutdown = SVMExitCode(Int64(CGUEST_SVM_EXIT_SHUTDOWN))
    static let vmrun = SVMExitCode(Int64(CGUEST_SVM_EXIT_VMRUN))
    static let vmmcall = SVMExitCode(Int64(CGUEST_SVM_EXIT_VMMCALL))
    static let nestedPageFault = SVMExitCode(Int64(CGUEST_SVM_EXIT_NPF))
    /// VMRUN failed its consistency checks (APM vol. 2 §15.5.1).
    static let invalid = SVMExitCode(-1)

    /// "VMEXIT_CPUID", "VMEXIT_EXCP6 (#UD)", "VMEXIT_INVALID"; "VMEXIT 0x…" for a code not known here.
    var name: String {
        switch rawValue {
        case 0x00..<0x10: return "VMEXIT_CR\(rawValue)_READ"
        case 0x10..<0x20: return "VMEXIT_CR\(rawValue - 0x10)_WRITE"
        case 0x20..<0x30: return "VMEXIT_DR\(rawValue - 0x20)_READ"
        case 0x30..<0x40: return "VMEXIT_DR\(rawValue - 0x30)_WRITE"
        case 0x40..<0x60:
            let vector = Int(rawValue - 0x40)
            return "VMEXIT_EXCP\(vector) (\(CaseRunner.exceptionNames[vector]))"
        case 0x60..<0x90: return "VMEXIT_" + Self.names[Int(rawValue - 0x60)]
        case 0x90..<0xA0: return "VMEXIT_CR\(rawValue - 0x90)_WRITE_TRAP"
        case 0x400: return "VMEXIT_NPF"
        case 0x401: return "VMEXIT_AVIC_INCOMPLETE_IPI"
        case 0x402: return "VMEXIT_AVIC_NOACCEL"
        case 0x403: return "VMEXIT_VMGEXIT"
        case -1: return "VMEXIT_INVALID"
        case -2: return "VMEXIT_BUSY"
        default: return "VMEXIT " + CaseRunner.hex(UInt64(bitPattern: rawValue))
        }
    }

    /// Codes 0x60–0x8F, in order (the intercepts of VMCB words 3 and 4, APM vol. 2 appendix C).
    static let names = [
        "INTR", "NMI", "SMI", "INIT", "VINTR", "CR0_SEL_WRITE", "IDTR_READ", "GDTR_READ", "LDTR_READ", "TR_READ",
        "IDTR_WRITE", "GDTR_WRITE", "LDTR_WRITE", "TR_WRITE", "RDTSC", "RDPMC", "PUSHF", "POPF", "CPUID", "RSM",
        "IRET", "SWINT", "INVD", "PAUSE", "HLT", "INVLPG", "INVLPGA", "IOIO", "MSR", "TASK_SWITCH", "FERR_FREEZE",
        "SHUTDOWN", "VMRUN", "VMMCALL", "VMLOAD", "VMSAVE", "STGI", "CLGI", "SKINIT", "RDTSCP", "ICEBP", "WBINVD",
        "MONITOR", "MWAIT", "MWAIT_CONDITIONAL", "XSETBV", "RDPRU", "EFER_WRITE_TRAP",
    ]

    /// The name and the code: "VMEXIT_SHUTDOWN (0x7f)", "VMEXIT_INVALID (-1)".
    var description: String {
        "\(name) (\(rawValue < 0 ? String(rawValue) : CaseRunner.hex(rawValue)))"
    }
}
