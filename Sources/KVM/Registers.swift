// Registers and SpecialRegisters: Swift values for struct kvm_regs and struct kvm_sregs, enough to put a
// vCPU in real mode or 64-bit long mode. Conversions to and from the kernel structs copy every field, so a
// get-modify-set round trip leaves what the caller did not touch as it was.

import CKVM

/// The general-purpose registers, RIP and RFLAGS (`struct kvm_regs`, KVM_GET_REGS / KVM_SET_REGS).
public struct Registers: Hashable, Sendable {
    /// RAX, RBX, RCX, RDX (in real mode the low 16 bits are AX, BX, CX, DX).
    public var rax: UInt64 = 0, rbx: UInt64 = 0, rcx: UInt64 = 0, rdx: UInt64 = 0
    /// RSI, RDI, RSP (the stack pointer) and RBP.
    public var rsi: UInt64 = 0, rdi: UInt64 = 0, rsp: UInt64 = 0, rbp: UInt64 = 0
    /// R8 to R11.
    public var r8: UInt64 = 0, r9: UInt64 = 0, r10: UInt64 = 0, r11: UInt64 = 0
    /// R12 to R15.
    public var r12: UInt64 = 0, r13: UInt64 = 0, r14: UInt64 = 0, r15: UInt64 = 0
    /// The instruction pointer (in real mode, the offset into CS).
    public var rip: UInt64 = 0
    /// RFLAGS; bit 1 is reserved and must be set, which the initial value does.
    public var rflags: UInt64 = Registers.reservedFlag

    /// RFLAGS bit 1, which always reads as 1.
    public static let reservedFlag: UInt64 = 1 << 1

    /// All registers zero, RFLAGS = 0x2.
    public init() {}

    init(_ raw: kvm_regs) {
        (rax, rbx, rcx, rdx) = (raw.rax, raw.rbx, raw.rcx, raw.rdx)
        (rsi, rdi, rsp, rbp) = (raw.rsi, raw.rdi, raw.rsp, raw.rbp)
        (r8, r9, r10, r11) = (raw.r8, raw.r9, raw.r10, raw.r11)
        (r12, r13, r14, r15) = (raw.r12, raw.r13, raw.r14, raw.r15)
        (rip, rflags) = (raw.rip, raw.rflags)
    }

    var raw: kvm_regs {
        kvm_regs(
            rax: rax, rbx: rbx, rcx: rcx, rdx: rdx, rsi: rsi, rdi: rdi, rsp: rsp, rbp: rbp,
            r8: r8, r9: r9, r10: r10, r11: r11, r12: r12, r13: r13, r14: r14, r15: r15,
            rip: rip, rflags: rflags)
    }
}

/// One segment register as KVM exposes it: the selector and the hidden descriptor cache
/// (`struct kvm_segment`). Field names follow the descriptor bits in the Intel SDM vol. 3A §3.4.5.
public struct Segment: Hashable, Sendable {
    /// The segment base address.
    public var base: UInt64 = 0
    /// The segment limit in bytes (already scaled by the granularity bit).
    public var limit: UInt32 = 0xffff
    /// The selector.
    public var selector: UInt16 = 0
    /// The 4-bit type (for code/data: bit 3 code, bit 1 readable/writable, bit 0 accessed; 11 for a TSS busy).
    public var type: UInt8 = 0
    /// P: the segment is present.
    public var present: Bool = true
    /// DPL: the descriptor privilege level, 0–3.
    public var dpl: UInt8 = 0
    /// D/B: 32-bit default operand size (must be clear for a 64-bit code segment).
    public var db: Bool = false
    /// S: a code or data segment (clear for system segments such as a TSS or LDT).
    public var s: Bool = true
    /// L: a 64-bit code segment.
    public var l: Bool = false
    /// G: the limit counts 4 KiB pages.
    public var g: Bool = false
    /// AVL: the bit available to software.
    public var avl: Bool = false
    /// The segment is unusable (a null selector loaded in protected mode).
    public var unusable: Bool = false

    /// A zero-based 64 KiB segment with present set: fill in the fields that matter.
    public init() {}

    /// A real-mode segment: base = selector × 16, 64 KiB limit, read/write data or execute/read code.
    public static func realMode(selector: UInt16, isCode: Bool) -> Segment {
        var segment = Segment()
        segment.selector = selector
        segment.base = UInt64(selector) << 4
        segment.type = isCode ? 0xb : 0x3
        return segment
    }

    /// A flat 64-bit code segment (L set, D/B clear) at privilege level `dpl`.
    public static func longModeCode(selector: UInt16, dpl: UInt8 = 0) -> Segment {
        var segment = flat(selector: selector, type: 0xb, dpl: dpl)
        segment.l = true
        return segment
    }

    /// A flat 4 GiB read/write data segment at privilege level `dpl`.
    public static func flatData(selector: UInt16, dpl: UInt8 = 0) -> Segment {
        var segment = flat(selector: selector, type: 0x3, dpl: dpl)
        segment.db = true
        return segment
    }

    private static func flat(selector: UInt16, type: UInt8, dpl: UInt8) -> Segment {
        var segment = Segment()
        segment.selector = selector
        segment.limit = 0xffff_ffff
        segment.type = type
        segment.dpl = dpl
        segment.g = true
        return segment
    }

    init(_ raw: kvm_segment) {
        (base, limit, selector, type) = (raw.base, raw.limit, raw.selector, raw.type)
        (present, dpl, db, s) = (raw.present != 0, raw.dpl, raw.db != 0, raw.s != 0)
        (l, g, avl, unusable) = (raw.l != 0, raw.g != 0, raw.avl != 0, raw.unusable != 0)
    }

    var raw: kvm_segment {
        kvm_segment(
            base: base, limit: limit, selector: selector, type: type, present: present ? 1 : 0, dpl: dpl,
            db: db ? 1 : 0, s: s ? 1 : 0, l: l ? 1 : 0, g: g ? 1 : 0, avl: avl ? 1 : 0,
            unusable: unusable ? 1 : 0, padding: 0)
    }
}

/// The GDTR or IDTR: base and limit of a descriptor table (`struct kvm_dtable`).
public struct DescriptorTable: Hashable, Sendable {
    /// The table's linear address.
    public var base: UInt64
    /// The table's size in bytes minus one.
    public var limit: UInt16

    /// A table at `base` whose last byte is at base + limit.
    public init(base: UInt64 = 0, limit: UInt16 = 0xffff) {
        self.base = base
        self.limit = limit
    }

    init(_ raw: kvm_dtable) {
        self.init(base: raw.base, limit: raw.limit)
    }

    var raw: kvm_dtable {
        kvm_dtable(base: base, limit: limit, padding: (0, 0, 0))
    }
}

/// The segment, descriptor-table and control registers, EFER and the APIC base (`struct kvm_sregs`,
/// KVM_GET_SREGS / KVM_SET_SREGS). Get them, change what the mode needs, and set them back.
public struct SpecialRegisters: Hashable, Sendable {
    /// The code, data, extra, FS, GS and stack segment registers.
    public var cs = Segment(), ds = Segment(), es = Segment(), fs = Segment(), gs = Segment(), ss = Segment()
    /// The task register (a busy TSS for protected and long mode).
    public var tr = Segment()
    /// The local descriptor table register.
    public var ldt = Segment()
    /// The global descriptor table register.
    public var gdt = DescriptorTable()
    /// The interrupt descriptor table register.
    public var idt = DescriptorTable()
    /// The control registers: CR0 (PE, PG, ...), CR2 (the last page-fault address), CR3 (the page-table
    /// root), CR4 (PAE, ...) and CR8 (the task priority).
    public var cr0: UInt64 = 0, cr2: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, cr8: UInt64 = 0
    /// IA32_EFER.
    public var efer: UInt64 = 0
    /// IA32_APIC_BASE.
    public var apicBase: UInt64 = 0
    /// Pending external interrupts, one bit per vector (256 bits as four words).
    public var interruptBitmap: [UInt64] = [0, 0, 0, 0]

    /// CR0.PE: protected mode.
    public static let cr0ProtectionEnable: UInt64 = 1 << 0
    /// CR0.ET: extension type, hard-wired to 1 on modern processors.
    public static let cr0ExtensionType: UInt64 = 1 << 4
    /// CR0.PG: paging.
    public static let cr0Paging: UInt64 = 1 << 31
    /// CR4.PAE: physical address extension, required for long mode.
    public static let cr4PAE: UInt64 = 1 << 5
    /// EFER.SCE: SYSCALL/SYSRET.
    public static let eferSCE: UInt64 = 1 << 0
    /// EFER.LME: long mode enable.
    public static let eferLME: UInt64 = 1 << 8
    /// EFER.LMA: long mode active (set together with LME when setting up a 64-bit vCPU directly).
    public static let eferLMA: UInt64 = 1 << 10

    /// All zero; start from `VirtualCPU.specialRegisters()` instead when the vCPU's reset state matters.
    public init() {}

    init(_ raw: kvm_sregs) {
        (cs, ds, es) = (Segment(raw.cs), Segment(raw.ds), Segment(raw.es))
        (fs, gs, ss) = (Segment(raw.fs), Segment(raw.gs), Segment(raw.ss))
        (tr, ldt) = (Segment(raw.tr), Segment(raw.ldt))
        (gdt, idt) = (DescriptorTable(raw.gdt), DescriptorTable(raw.idt))
        (cr0, cr2, cr3, cr4, cr8) = (raw.cr0, raw.cr2, raw.cr3, raw.cr4, raw.cr8)
        (efer, apicBase) = (raw.efer, raw.apic_base)
        let bitmap = raw.interrupt_bitmap
        interruptBitmap = [bitmap.0, bitmap.1, bitmap.2, bitmap.3]
    }

    var raw: kvm_sregs {
        var raw = kvm_sregs()
        (raw.cs, raw.ds, raw.es, raw.fs, raw.gs, raw.ss) = (cs.raw, ds.raw, es.raw, fs.raw, gs.raw, ss.raw)
        (raw.tr, raw.ldt, raw.gdt, raw.idt) = (tr.raw, ldt.raw, gdt.raw, idt.raw)
        (raw.cr0, raw.cr2, raw.cr3, raw.cr4, raw.cr8) = (cr0, cr2, cr3, cr4, cr8)
        (raw.efer, raw.apic_base) = (efer, apicBase)
        let bitmap = interruptBitmap + [UInt64](repeating: 0, count: max(0, 4 - interruptBitmap.count))
        raw.interrupt_bitmap = (bitmap[0], bitmap[1], bitmap[2], bitmap[3])
        return raw
    }
}
