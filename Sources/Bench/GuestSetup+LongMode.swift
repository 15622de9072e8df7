// Long mode without boot code: the host writes a GDT, a 64-bit TSS, an IDT pointing at the payload's
// exception stubs and an identity map of the first GiB, then sets the vCPU's special registers as if the
// guest had switched itself (CR0.PE|PG, CR4.PAE, EFER.LME|LMA, CS.L = 1; Intel SDM vol. 3A §10.8.5).
// CPL3 is entered the same way: CS and SS hold the DPL3 selectors from the first instruction on.

import CGuest
import KVM

/// The bytes of long mode's tables and the register values that go with them.
enum LongModeTables {
    /// CR0: PE, MP, ET, NE, WP and PG.
    static let cr0: UInt64 =
        SpecialRegisters.cr0ProtectionEnable | 1 << 1 | SpecialRegisters.cr0ExtensionType | 1 << 5 | 1 << 16
        | SpecialRegisters.cr0Paging
    /// CR4: PAE only.
    static let cr4: UInt64 = SpecialRegisters.cr4PAE
    /// EFER: LME and LMA.
    static let efer: UInt64 = SpecialRegisters.eferLME | SpecialRegisters.eferLMA

    /// A flat code or data descriptor (SDM vol. 3A §3.4.5): limit 0xFFFFF, base 0, the access byte (P, DPL,
    /// S, type with the accessed bit already set) and the flags nibble (G, D/B, L, AVL).
    static func segmentDescriptor(access: UInt8, flags: UInt8) -> UInt64 {
        0xFFFF | UInt64(access) << 40 | UInt64(flags << 4 | 0xF) << 48
    }

    /// The GDT: null, code64 DPL0, data DPL0, code64 DPL3, data DPL3, the TSS descriptor (two slots), then
    /// data DPL3 and code64 DPL3 again, in the order 64-bit SYSRET loads them (SS = STAR[63:48] + 8, CS = + 16),
    /// then the second vCPU's TSS descriptor (two slots).
    static func gdt() -> [UInt8] {
        let descriptors: [UInt64] =
            [
                0,
                segmentDescriptor(access: 0x9B, flags: 0xA),  // code64, DPL0: G, L
                segmentDescriptor(access: 0x93, flags: 0xC),  // data, DPL0: G, D/B
                segmentDescriptor(access: 0xFB, flags: 0xA),  // code64, DPL3
                segmentDescriptor(access: 0xF3, flags: 0xC),  // data, DPL3
            ] + tssDescriptor(base: GuestLayout.tssAddress)
            + [
                segmentDescriptor(access: 0xF3, flags: 0xC),  // data, DPL3: SYSRET's SS
                segmentDescriptor(access: 0xFB, flags: 0xA),  // code64, DPL3: SYSRET's CS
            ] + tssDescriptor(base: GuestLayout.secondTSSAddress)
        return descriptors.flatMap(littleEndianBytes)
    }

    /// The two slots of a busy 64-bit TSS's descriptor (type 0xB), present, DPL0 (SDM vol. 3A §8.2.3).
    static func tssDescriptor(base: UInt64) -> [UInt64] {
        let limit = UInt64(tssSize - 1)
        let low =
            limit & 0xFFFF | (base & 0xFF_FFFF) << 16 | UInt64(0x8B) << 40 | (limit >> 16 & 0xF) << 48
            | (base >> 24 & 0xFF) << 56
        return [low, base >> 32]
    }

    /// The GDT's limit (bytes − 1).
    static let gdtLimit = UInt16(11 * 8 - 1)

    /// The TSS's size: the 104-byte 64-bit TSS without an I/O permission bitmap.
    static let tssSize = 104

    /// A 64-bit TSS: RSP0 (offset 4) is the stack a CPL3 exception or interrupt switches to (`rsp0`; the first
    /// vCPU's is the CPL0 stack); the I/O map base (offset 0x66) points past the end, so no port is allowed at
    /// CPL3.
    static func tss(rsp0: UInt64 = GuestLayout.kernelStackTop) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: tssSize)
        bytes.replaceSubrange(4..<12, with: littleEndianBytes(rsp0))
        bytes[0x66] = UInt8(tssSize)
        return bytes
    }

    /// A 64-bit interrupt gate (type 0xE) to `offset` in the DPL0 code segment; `dpl` is who may raise it
    /// with an `int` instruction (SDM vol. 3A §7.14.1).
    static func interruptGate(offset: UInt64, dpl: UInt8) -> [UInt8] {
        let typeAttributes = UInt64(0x80 | dpl << 5 | 0xE)
        let low =
            offset & 0xFFFF | UInt64(Selector.kernelCode) << 16 | typeAttributes << 40
            | (offset >> 16 & 0xFFFF) << 48
        return littleEndianBytes(low) + littleEndianBytes(offset >> 32)
    }

    /// The IDT: vectors 0–31, each to its stub; #BP (3) is DPL3 so that a CPL3 guest can say "done" with int3.
    /// Then not-present gates up to the two APIC vectors, each to its handler.
    static func idt() -> [UInt8] {
        (0..<Int(CGUEST_LONG64_IDT_GATES)).flatMap { vector -> [UInt8] in
            if vector < Int(CGUEST_LONG64_STUB_COUNT) {
                return interruptGate(offset: GuestLayout.stubAddress(.long64, slot: vector), dpl: vector == 3 ? 3 : 0)
            }
            if vector == Int(CGUEST_VECTOR_X2APIC) || vector == Int(CGUEST_VECTOR_XAPIC) {
                return interruptGate(offset: GuestLayout.interruptHandlerAddress(vector: vector), dpl: 0)
            }

            return [UInt8](repeating: 0, count: 16)
        }
    }

    /// The IDT's limit (bytes − 1).
    static let idtLimit = UInt16(Int(CGUEST_LONG64_IDT_GATES) * 16 - 1)

    /// Present, writable, user (U/S = 1 everywhere, so CPL3 reaches the mailbox and the samples).
    static let pageFlags: UInt64 = 0x7
    /// PS: a 2 MiB page in a page-directory entry.
    static let largePage: UInt64 = 1 << 7

    /// PCD: the APIC page is not cached.
    static let cacheDisable: UInt64 = 1 << 4

    /// PML4, PDPT and page directories: the first GiB identity-mapped with 2 MiB pages, and in the fourth
    /// GiB only the 2 MiB page holding the local APIC's registers (identity-mapped, uncached).
    static func pageTables() -> (pml4: [UInt8], pdpt: [UInt8], pageDirectory: [UInt8], apicDirectory: [UInt8]) {
        let pml4 = littleEndianBytes(GuestLayout.pdptAddress | pageFlags) + [UInt8](repeating: 0, count: 4088)
        var pdpt = [UInt8](repeating: 0, count: 4096)
        pdpt.replaceSubrange(0..<8, with: littleEndianBytes(GuestLayout.pageDirectoryAddress | pageFlags))
        pdpt.replaceSubrange(24..<32, with: littleEndianBytes(GuestLayout.apicPageDirectoryAddress | pageFlags))
        let pageDirectory = (0..<512).flatMap { index in
            littleEndianBytes(UInt64(index) << 21 | pageFlags | largePage)
        }
        var apicDirectory = [UInt8](repeating: 0, count: 4096)
        let apicIndex = Int(GuestLayout.apicBase >> 21 & 0x1FF)
        apicDirectory.replaceSubrange(
            apicIndex * 8..<apicIndex * 8 + 8,
            with: littleEndianBytes(GuestLayout.apicBase | pageFlags | largePage | cacheDisable))
        return (pml4, pdpt, pageDirectory, apicDirectory)
    }

    /// Writes every table into low RAM.
    static func write(to memory: borrowing GuestMemory) throws(KVMError) {
        try memory.write(gdt(), at: Int(GuestLayout.gdtAddress))
        try memory.write(tss(), at: Int(GuestLayout.tssAddress))
        try memory.write(tss(rsp0: GuestLayout.secondVCPUStackTop), at: Int(GuestLayout.secondTSSAddress))
        try memory.write(idt(), at: Int(GuestLayout.idtAddress))
        let tables = pageTables()
        try memory.write(tables.pml4, at: Int(GuestLayout.pml4Address))
        try memory.write(tables.pdpt, at: Int(GuestLayout.pdptAddress))
        try memory.write(tables.pageDirectory, at: Int(GuestLayout.pageDirectoryAddress))
        try memory.write(tables.apicDirectory, at: Int(GuestLayout.apicPageDirectoryAddress))
    }

    /// `sregs` (the vCPU's own, so what is not set here keeps KVM's reset values) switched to 64-bit mode at
    /// `cpl` (0 or 3). With `emptyIDT` the IDT limit is 0, so any exception becomes a triple fault. With
    /// `secondVCPU`, TR is the second vCPU's TSS (its own RSP0, so that its CPL3 interrupts never share the
    /// first's stack).
    static func specialRegisters(
        from sregs: SpecialRegisters, cpl: Int, emptyIDT: Bool, secondVCPU: Bool = false
    ) -> SpecialRegisters {
        var result = sregs
        let dpl = UInt8(cpl)
        result.cs = .longModeCode(selector: cpl == 3 ? Selector.userCode : Selector.kernelCode, dpl: dpl)
        let data = Segment.flatData(selector: cpl == 3 ? Selector.userData : Selector.kernelData, dpl: dpl)
        (result.ds, result.es, result.fs, result.gs, result.ss) = (data, data, data, data, data)
        var tr = Segment()
        tr.base = secondVCPU ? GuestLayout.secondTSSAddress : GuestLayout.tssAddress
        tr.limit = UInt32(tssSize - 1)
        tr.selector = secondVCPU ? Selector.secondTSS : Selector.tss
        tr.type = 0xB
        tr.s = false
        result.tr = tr
        result.gdt = DescriptorTable(base: GuestLayout.gdtAddress, limit: gdtLimit)
        result.idt = DescriptorTable(base: GuestLayout.idtAddress, limit: emptyIDT ? 0 : idtLimit)
        result.cr0 = cr0
        result.cr3 = GuestLayout.pml4Address
        result.cr4 = cr4
        result.efer = efer
        return result
    }

    /// The eight little-endian bytes of `value`.
    static func littleEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
