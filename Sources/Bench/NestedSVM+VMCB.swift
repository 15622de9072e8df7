// The VMCB the mini-hypervisor runs its guest with, built here in Swift before the first KVM_RUN (the
// payload only reads and patches RIP, RAX and the exit fields): which instructions exit to it, where its
// permission maps are, and the guest's guest's state — 64-bit mode at CPL0 on the very GDT, IDT and page
// tables of the level above, without nested paging. Offsets are CGuestSVM.h's (APM vol. 2 appendix B).

import CGuest

/// One VMCB page, little-endian, with typed stores at the APM's offsets.
struct VMCB: Equatable, Sendable {
    /// A VMCB is one 4 KiB page.
    static let size = 4096

    private(set) var bytes = [UInt8](repeating: 0, count: VMCB.size)

    /// Stores `value` at `offset` (a CGUEST_VMCB_* constant), little-endian.
    mutating func set<T: FixedWidthInteger>(_ value: T, at offset: Int32) {
        let start = Int(offset)
        for index in 0..<(T.bitWidth / 8) {
            bytes[start + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }

    /// The `T` at `offset`.
    func value<T: FixedWidthInteger>(_: T.Type, at offset: Int32) -> T {
        let start = Int(offset)
        return (0..<(T.bitWidth / 8)).reduce(T.zero) { value, index in
            value | T(truncatingIfNeeded: bytes[start + index]) << (8 * index)
        }
    }

    /// Stores a segment register at `offset` (CGUEST_VMCB_ES, _CS, …, _TR).
    mutating func set(_ segment: VMCBSegment, at offset: Int32) {
        set(segment.selector, at: offset)
        set(segment.attributes, at: offset + 2)
        set(segment.limit, at: offset + 4)
        set(segment.base, at: offset + 8)
    }

    /// The segment register at `offset`.
    func segment(at offset: Int32) -> VMCBSegment {
        VMCBSegment(
            selector: value(UInt16.self, at: offset), attributes: value(UInt16.self, at: offset + 2),
            limit: value(UInt32.self, at: offset + 4), base: value(UInt64.self, at: offset + 8))
    }
}

/// A segment register as the VMCB holds it (APM vol. 2 §15.5.1, "VMCB segment format").
struct VMCBSegment: Equatable, Sendable {
    var selector: UInt16 = 0
    /// Type (3:0), S (4), DPL (6:5), P (7), AVL (8), L (9), D/B (10), G (11): the descriptor's access byte
    /// and flags nibble side by side, without the limit bits between them.
    var attributes: UInt16 = 0
    /// The limit in bytes (G already applied).
    var limit: UInt32 = 0
    var base: UInt64 = 0

    /// The attributes packed from their fields.
    static func attributes(
        type: UInt8, system: Bool = false, dpl: UInt8, present: Bool = true, available: Bool = false,
        long: Bool = false, defaultBig: Bool = false, granularity: Bool = false
    ) -> UInt16 {
        var value = UInt16(type & 0xF) | UInt16(dpl & 3) << 5
        if !system { value |= 1 << 4 }
        if present { value |= 1 << 7 }
        if available { value |= 1 << 8 }
        if long { value |= 1 << 9 }
        if defaultBig { value |= 1 << 10 }
        if granularity { value |= 1 << 11 }
        return value
    }

    /// The attributes of a GDT descriptor: its access byte (bits 47:40) and flags nibble (bits 55:52).
    static func attributes(descriptor: UInt64) -> UInt16 {
        UInt16(descriptor >> 40 & 0xFF) | UInt16(descriptor >> 52 & 0xF) << 8
    }

    /// A flat segment with the selector and descriptor of long mode's GDT (LongModeTables.gdt()).
    static func flat(selector: UInt16, descriptor: UInt64) -> VMCBSegment {
        VMCBSegment(
            selector: selector, attributes: attributes(descriptor: descriptor), limit: 0xFFFF_FFFF, base: 0)
    }
}

/// The intercept bits the mini-hypervisor sets (VMCB words 3 and 4; APM vol. 2 §15.9, appendix B).
enum SVMIntercept {
    /// Word 3, offset 0x0C. A physical interrupt (the timer's route).
    static let intr: UInt32 = 1 << 0
    static let cpuid: UInt32 = 1 << 18
    static let hlt: UInt32 = 1 << 24
    /// Port I/O, through the I/O permission map.
    static let ioio: UInt32 = 1 << 27
    /// rdmsr and wrmsr, through the MSR permission map.
    static let msr: UInt32 = 1 << 28
    /// The guest's triple fault, instead of the shutdown of the whole level above.
    static let shutdown: UInt32 = 1 << 31
    /// Word 4, offset 0x10. VMRUN must be intercepted, or VMRUN fails its consistency checks.
    static let vmrun: UInt32 = 1 << 0
    static let vmmcall: UInt32 = 1 << 1
    static let vmload: UInt32 = 1 << 2
    static let vmsave: UInt32 = 1 << 3
    static let stgi: UInt32 = 1 << 4
    static let clgi: UInt32 = 1 << 5
    static let skinit: UInt32 = 1 << 6

    /// Word 3 of the mini-hypervisor's VMCB.
    static let word3 = cpuid | hlt | ioio | msr | shutdown
    /// Word 4: every SVM instruction, so the guest's guest cannot host a level of its own.
    static let word4 = vmrun | vmmcall | vmload | vmsave | stgi | clgi | skinit
}

/// The #VMEXIT a body causes in the guest's guest: its code, the intercept bit that makes it exit (in the VMCB
/// word at `word`, a CGUEST_VMCB_INTERCEPT_* offset), and — for a code svm64.S has no handler of its own for —
/// the length of the instruction the mini-hypervisor steps over (mailbox STEP_CODE and STEP_LENGTH).
struct SVMInterception: Sendable, Hashable {
    var code: SVMExitCode
    var word: Int32
    var bit: UInt32
    /// 0 where svm64.S answers the code itself (CPUID, VMMCALL, IOIO, MSR, HLT).
    var stepLength = 0

    static let cpuid = SVMInterception(code: .cpuid, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: SVMIntercept.cpuid)
    static let hlt = SVMInterception(code: .hlt, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: SVMIntercept.hlt)
    static let ioio = SVMInterception(code: .ioio, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: SVMIntercept.ioio)
    static let msr = SVMInterception(code: .msr, word: CGUEST_VMCB_INTERCEPT_MISC1, bit: SVMIntercept.msr)
    static let vmmcall = SVMInterception(
        code: .vmmcall, word: CGUEST_VMCB_INTERCEPT_MISC2, bit: SVMIntercept.vmmcall)
}

extension VMCB {
    /// EFER.SVME: the guest's EFER must have it, or VMRUN fails its consistency checks (APM vol. 2 §15.5.1).
    static let eferSVME = UInt64(CGUEST_EFER_SVME)
    /// DR6 and DR7 as after reset (SDM vol. 3B §18.2.3).
    static let resetDR6: UInt64 = 0xFFFF_0FF0
    static let resetDR7: UInt64 = 0x400
    /// RFLAGS with only the always-one bit 1: interrupts off.
    static let resetRFLAGS: UInt64 = 0x2
    /// The PAT after reset (used only with nested paging, checked by VMRUN all the same).
    static let resetPAT: UInt64 = 0x0007_0406_0007_0406
    /// V_INTR_MASKING (VMCB offset 0x60, bit 24): the guest's RFLAGS.IF masks only virtual interrupts, the
    /// host's (saved by VMRUN) physical ones (APM vol. 2 §15.21.1).
    static let virtualInterruptMasking: UInt32 = 1 << 24

    /// The VMCB of the guest's guest: 64-bit mode at CPL0 at `rip` with `rsp`, on long mode's GDT, IDT (of
    /// limit 0 with `emptyIDT`, so its first exception is a triple fault) and page tables, without nested
    /// paging; every intercept of SVMIntercept and the case's own `interception`, every port and MSR through
    /// the maps. With `routesTimer`, INTR is intercepted and V_INTR_MASKING set (the mini-hypervisor's own
    /// timer interrupt ends the guest's guest's run). With `breakConsistency`
    /// EFER.SVME is left out, so that VMRUN fails its consistency checks (tests).
    static func guestsGuest(
        rip: UInt64, rsp: UInt64, emptyIDT: Bool = false, breakConsistency: Bool = false,
        interception: SVMInterception? = nil, routesTimer: Bool = false
    ) -> VMCB {
        var vmcb = VMCB()
        vmcb.set(SVMIntercept.word3 | (routesTimer ? SVMIntercept.intr : 0), at: CGUEST_VMCB_INTERCEPT_MISC1)
        if routesTimer { vmcb.set(virtualInterruptMasking, at: CGUEST_VMCB_INT_CTL) }
        vmcb.set(SVMIntercept.word4, at: CGUEST_VMCB_INTERCEPT_MISC2)
        if let interception {
            vmcb.set(vmcb.value(UInt32.self, at: interception.word) | interception.bit, at: interception.word)
        }
        vmcb.set(NestedSVM.ioPermissionMapAddress, at: CGUEST_VMCB_IOPM_BASE)
        vmcb.set(NestedSVM.msrPermissionMapAddress, at: CGUEST_VMCB_MSRPM_BASE)
        vmcb.set(NestedSVM.guestASID, at: CGUEST_VMCB_ASID)
        // TSC offset 0: the guest's guest reads the TSC this level reads. TLB control 0, no virtual
        // interrupts, no nested paging, no event to inject, no clean bits: all zero already (but INT_CTL above).

        let gdt = LongModeTables.gdt()
        func descriptor(_ selector: UInt16) -> UInt64 {
            let at = Int(selector & ~7)
            return (0..<8).reduce(UInt64(0)) { $0 | UInt64(gdt[at + $1]) << (8 * $1) }
        }
        let code = VMCBSegment.flat(selector: Selector.kernelCode, descriptor: descriptor(Selector.kernelCode))
        let data = VMCBSegment.flat(selector: Selector.kernelData, descriptor: descriptor(Selector.kernelData))
        vmcb.set(code, at: CGUEST_VMCB_CS)
        for offset in [CGUEST_VMCB_ES, CGUEST_VMCB_SS, CGUEST_VMCB_DS, CGUEST_VMCB_FS, CGUEST_VMCB_GS] {
            vmcb.set(data, at: offset)
        }
        // TR and LDTR are VMLOAD's, not VMRUN's: written for completeness, as the level above has them.
        let tr = VMCBSegment(
            selector: Selector.tss, attributes: VMCBSegment.attributes(type: 0xB, system: true, dpl: 0),
            limit: UInt32(LongModeTables.tssSize - 1), base: GuestLayout.tssAddress)
        vmcb.set(tr, at: CGUEST_VMCB_TR)
        vmcb.set(
            VMCBSegment(limit: UInt32(LongModeTables.gdtLimit), base: GuestLayout.gdtAddress), at: CGUEST_VMCB_GDTR)
        vmcb.set(
            VMCBSegment(limit: emptyIDT ? 0 : UInt32(LongModeTables.idtLimit), base: GuestLayout.idtAddress),
            at: CGUEST_VMCB_IDTR)

        vmcb.set(UInt8(0), at: CGUEST_VMCB_CPL)
        vmcb.set(breakConsistency ? LongModeTables.efer : LongModeTables.efer | eferSVME, at: CGUEST_VMCB_EFER)
        vmcb.set(LongModeTables.cr0, at: CGUEST_VMCB_CR0)
        vmcb.set(GuestLayout.pml4Address, at: CGUEST_VMCB_CR3)
        vmcb.set(LongModeTables.cr4, at: CGUEST_VMCB_CR4)
        vmcb.set(resetDR6, at: CGUEST_VMCB_DR6)
        vmcb.set(resetDR7, at: CGUEST_VMCB_DR7)
        vmcb.set(resetRFLAGS, at: CGUEST_VMCB_RFLAGS)
        vmcb.set(rip, at: CGUEST_VMCB_RIP)
        vmcb.set(rsp, at: CGUEST_VMCB_RSP)
        vmcb.set(resetPAT, at: CGUEST_VMCB_G_PAT)
        return vmcb
    }
}
