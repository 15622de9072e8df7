// The guests' memory map, payload layout, long-mode tables and mailbox, checked without KVM: descriptor
// encodings against the SDM's bit layouts, stub offsets against the payload bytes, the mailbox against raw
// offsets in a plain GuestMemory.

import CGuest
import KVM
import Testing

@testable import Bench

@Suite("Guest layout, payloads and tables")
struct GuestLayoutTests {
    /// The little-endian u64 at `offset` of `bytes`.
    func word(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    @Test("both payloads fit below the mailbox and start by jumping over their stubs")
    func payloadSizes() {
        for mode in [GuestMode.real, .long64] {
            let code = GuestPayload.code(for: mode)
            #expect(code.count > Int(CGUEST_STUBS_OFFSET), "\(mode)")
            #expect(code.count <= GuestLayout.codeLimit, "\(mode)")
            #expect([0xE9, 0xEB].contains(code[0]), "\(mode) does not start with a jmp")
        }
        #expect(GuestLayout.codeAddress + UInt64(GuestLayout.codeLimit) <= GuestLayout.mailboxAddress)
    }

    @Test("real-mode stubs sit at their fixed offsets and push their vector")
    func realModeStubs() {
        let code = GuestPayload.real16
        for slot in 0..<Int(CGUEST_REAL16_STUB_COUNT) {
            let offset = Int(GuestLayout.stubAddress(.real, slot: slot) - GuestLayout.codeAddress)
            if slot < 32 {
                #expect(Array(code[offset..<offset + 2]) == [0x6A, UInt8(slot)], "stub \(slot)")
            } else {
                #expect(Array(code[offset..<offset + 3]) == [0x68, 0x00, 0x01], "stub 32 pushes 0x100")
            }
        }
    }

    @Test("long-mode stubs push a zero where the CPU pushes no error code, then their vector")
    func longModeStubs() {
        let code = GuestPayload.long64
        let withErrorCode: Set<Int> = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]
        for vector in 0..<Int(CGUEST_LONG64_STUB_COUNT) {
            let offset = Int(GuestLayout.stubAddress(.long64, slot: vector) - GuestLayout.codeAddress)
            let expected: [UInt8] =
                withErrorCode.contains(vector) ? [0x6A, UInt8(vector)] : [0x6A, 0, 0x6A, UInt8(vector)]
            #expect(Array(code[offset..<offset + expected.count]) == expected, "stub \(vector)")
        }
    }

    @Test("the GDT holds flat 64-bit code and data at DPL0 and DPL3, and a busy TSS at 0x4100")
    func gdt() {
        let gdt = LongModeTables.gdt()
        #expect(gdt.count == Int(LongModeTables.gdtLimit) + 1)
        #expect(word(gdt, at: 0) == 0)
        #expect(word(gdt, at: Int(Selector.kernelCode)) == 0x00AF_9B00_0000_FFFF)
        #expect(word(gdt, at: Int(Selector.kernelData)) == 0x00CF_9300_0000_FFFF)
        #expect(word(gdt, at: Int(Selector.userCode & ~3)) == 0x00AF_FB00_0000_FFFF)
        #expect(word(gdt, at: Int(Selector.userData & ~3)) == 0x00CF_F300_0000_FFFF)
        let low = word(gdt, at: Int(Selector.tss))
        let high = word(gdt, at: Int(Selector.tss) + 8)
        #expect(low & 0xFFFF == 103)
        #expect((low >> 16 & 0xFF_FFFF) | (low >> 56) << 24 | high << 32 == GuestLayout.tssAddress)
        #expect(low >> 40 & 0xFF == 0x8B)
        // After the TSS, data then code64 at DPL3, where 64-bit SYSRET's SS and CS point.
        #expect(Selector.sysretData & ~3 == Selector.tss + 16 && Selector.sysretCode == Selector.sysretData + 8)
        #expect(word(gdt, at: Int(Selector.sysretData & ~3)) == 0x00CF_F300_0000_FFFF)
        #expect(word(gdt, at: Int(Selector.sysretCode & ~3)) == 0x00AF_FB00_0000_FFFF)
        // The second vCPU's TSS after them, at its own address.
        let secondLow = word(gdt, at: Int(Selector.secondTSS))
        let secondHigh = word(gdt, at: Int(Selector.secondTSS) + 8)
        #expect(Selector.secondTSS == Selector.sysretCode & ~3 + 8)
        #expect(
            (secondLow >> 16 & 0xFF_FFFF) | (secondLow >> 56) << 24 | secondHigh << 32 == GuestLayout.secondTSSAddress)
        #expect(secondLow >> 40 & 0xFF == 0x8B && secondLow & 0xFFFF == 103)
        #expect(gdt.count <= Int(GuestLayout.tssAddress - GuestLayout.gdtAddress))
        #expect(GuestLayout.tssAddress + UInt64(LongModeTables.tssSize) <= GuestLayout.secondTSSAddress)
        #expect(GuestLayout.secondTSSAddress + UInt64(LongModeTables.tssSize) <= GuestLayout.mailboxAddress)
        // The mailbox follows the GDT and TSS in their page, the three-level guest's fields included.
        #expect(GuestLayout.tssAddress + UInt64(LongModeTables.tssSize) <= GuestLayout.mailboxAddress)
        #expect(GuestLayout.mailboxAddress + UInt64(CGUEST_SVM_MB_END) <= GuestLayout.idtAddress)
    }

    @Test("the TSS gives CPL3 exceptions the CPL0 stack and allows no port")
    func tss() {
        let tss = LongModeTables.tss()
        #expect(tss.count == 104)
        #expect(word(tss, at: 4) == GuestLayout.kernelStackTop)
        #expect(tss[0x66] == 104 && tss[0x67] == 0)
        // The second vCPU's: its own CPL0 stack, above its CPL3 one.
        let second = LongModeTables.tss(rsp0: GuestLayout.secondVCPUStackTop)
        #expect(word(second, at: 4) == GuestLayout.secondVCPUStackTop)
        #expect(UInt64(CGUEST_LONG64_AP_USER_STACK_TOP) < GuestLayout.secondVCPUStackTop)
    }

    @Test("the IDT's 32 interrupt gates point at the stubs; only #BP may be raised from CPL3")
    func idt() {
        let idt = LongModeTables.idt()
        #expect(idt.count == Int(LongModeTables.idtLimit) + 1)
        for vector in 0..<32 {
            let low = word(idt, at: vector * 16)
            let high = word(idt, at: vector * 16 + 8)
            let offset = low & 0xFFFF | (low >> 48) << 16 | high << 32
            #expect(offset == GuestLayout.stubAddress(.long64, slot: vector), "gate \(vector)")
            #expect(low >> 16 & 0xFFFF == UInt64(Selector.kernelCode))
            #expect(low >> 40 & 0xFF == (vector == 3 ? 0xEE : 0x8E), "gate \(vector)")
        }
    }

    @Test("the two APIC vectors' gates point at long64.S's handlers; the vectors between are not present")
    func interruptGates() {
        let idt = LongModeTables.idt()
        #expect(idt.count == Int(CGUEST_LONG64_IDT_GATES) * 16)
        for vector in 32..<Int(CGUEST_LONG64_IDT_GATES) {
            let low = word(idt, at: vector * 16)
            let high = word(idt, at: vector * 16 + 8)
            guard vector == Int(CGUEST_VECTOR_X2APIC) || vector == Int(CGUEST_VECTOR_XAPIC) else {
                #expect(low == 0 && high == 0, "gate \(vector)")
                continue
            }
            let offset = low & 0xFFFF | (low >> 48) << 16 | high << 32
            #expect(offset == GuestLayout.interruptHandlerAddress(vector: vector), "gate \(vector)")
            #expect(low >> 40 & 0xFF == 0x8E, "gate \(vector)")
        }
        #expect(
            GuestLayout.interruptHandlerAddress(vector: Int(CGUEST_VECTOR_XAPIC))
                == GuestLayout.interruptHandlerAddress(vector: Int(CGUEST_VECTOR_X2APIC)) + 0x40)
        // The handlers come after the 32 exception stubs.
        #expect(
            GuestLayout.interruptHandlerAddress(vector: Int(CGUEST_VECTOR_X2APIC))
                >= GuestLayout.stubAddress(.long64, slot: 32))
    }

    @Test("the page tables identity-map the first GiB with user-accessible 2 MiB pages")
    func pageTables() {
        let tables = LongModeTables.pageTables()
        #expect(tables.pml4.count == 4096 && tables.pdpt.count == 4096 && tables.pageDirectory.count == 4096)
        #expect(word(tables.pml4, at: 0) == GuestLayout.pdptAddress | 0x7)
        #expect(word(tables.pml4, at: 8) == 0)
        #expect(word(tables.pdpt, at: 0) == GuestLayout.pageDirectoryAddress | 0x7)
        #expect(word(tables.pageDirectory, at: 0) == 0x87)
        #expect(word(tables.pageDirectory, at: 511 * 8) == 511 << 21 | 0x87)
        // The fourth GiB: only the local APIC's 2 MiB page, uncached.
        #expect(word(tables.pdpt, at: 8) == 0 && word(tables.pdpt, at: 16) == 0)
        #expect(word(tables.pdpt, at: 24) == GuestLayout.apicPageDirectoryAddress | 0x7)
        let apicEntry = Int(GuestLayout.apicBase - 0xC000_0000) >> 21
        #expect(apicEntry == 503)
        #expect(word(tables.apicDirectory, at: apicEntry * 8) == 0xFEE0_0000 | 0x97)
        #expect((0..<512).filter { word(tables.apicDirectory, at: $0 * 8) != 0 } == [apicEntry])
        let touch = GuestLayout.touchRegion(.long64)
        #expect(touch.address + UInt64(touch.maximumPages * GuestLayout.pageSize) <= 1 << 30)
    }

    @Test("long mode is entered with paging, PAE, LME|LMA and a 64-bit code segment at the asked CPL")
    func longModeRegisters() {
        for cpl in [0, 3] {
            let sregs = LongModeTables.specialRegisters(from: SpecialRegisters(), cpl: cpl, emptyIDT: false)
            #expect(sregs.cs.l && !sregs.cs.db)
            #expect(sregs.cs.dpl == UInt8(cpl) && sregs.ss.dpl == UInt8(cpl))
            #expect(sregs.cs.selector == (cpl == 3 ? Selector.userCode : Selector.kernelCode))
            #expect(sregs.ss.selector == (cpl == 3 ? Selector.userData : Selector.kernelData))
            #expect(sregs.cr0 & SpecialRegisters.cr0Paging != 0 && sregs.cr0 & 1 != 0)
            #expect(sregs.cr4 & SpecialRegisters.cr4PAE != 0)
            #expect(sregs.efer == SpecialRegisters.eferLME | SpecialRegisters.eferLMA)
            #expect(sregs.cr3 == GuestLayout.pml4Address)
            #expect(sregs.tr.selector == Selector.tss && sregs.tr.type == 0xB && !sregs.tr.s)
            #expect(sregs.idt.limit == LongModeTables.idtLimit)
        }
        #expect(LongModeTables.specialRegisters(from: SpecialRegisters(), cpl: 0, emptyIDT: true).idt.limit == 0)
    }

    @Test("the real-mode IVT sends vectors 0–31 to their stubs and every other vector to stub 32")
    func realModeIVT() {
        let ivt = GuestSetup.realModeIVT()
        #expect(ivt.count == 1024)
        func entry(_ vector: Int) -> (offset: UInt16, segment: UInt16) {
            (
                UInt16(ivt[vector * 4]) | UInt16(ivt[vector * 4 + 1]) << 8,
                UInt16(ivt[vector * 4 + 2]) | UInt16(ivt[vector * 4 + 3]) << 8
            )
        }
        #expect(entry(6).offset == UInt16(GuestLayout.stubAddress(.real, slot: 6)))
        #expect(entry(6).segment == 0)
        #expect(entry(200).offset == UInt16(GuestLayout.stubAddress(.real, slot: 32)))
    }

    @Test("the regions of each mode do not overlap, and the MMIO address is backed by nothing")
    func regions() {
        for mode in [GuestMode.real, .long64] {
            let ram = UInt64(GuestLayout.ramSize(mode))
            let samplesEnd = GuestLayout.samplesAddress + UInt64(GuestLayout.sampleCapacity(mode) * 4)
            #expect(samplesEnd <= ram, "\(mode)")
            let touch = GuestLayout.touchRegion(mode)
            #expect(touch.address >= ram, "\(mode)")
            let touchEnd = touch.address + UInt64(touch.maximumPages * GuestLayout.pageSize)
            #expect(!(touch.address..<touchEnd).contains(GuestLayout.mmioAddress), "\(mode)")
            #expect(GuestLayout.mmioAddress >= ram, "\(mode)")
        }
        #expect(GuestLayout.sampleCapacity(.real) == 16384)
        // The payload ends below the GDT; the mailbox follows the TSS in that page (checked with the GDT).
        #expect(GuestLayout.codeAddress + UInt64(GuestLayout.codeLimit) <= GuestLayout.gdtAddress)
        #expect(GuestLayout.mailboxAddress + UInt64(CGUEST_MB_SIZE) <= GuestLayout.idtAddress)
        #expect(GuestLayout.mmioAddress < 0x100000, "real mode must reach it")
    }

    @Test("the mailbox parameters land at CGuest.h's offsets, and the report reads them back")
    func mailbox() throws {
        let memory = try GuestMemory(size: GuestLayout.ramSize(.real))
        let parameters = MailboxParameters(
            loop: 2, useRDTSCP: true, iterations: 1234, warmup: 56, operandA: 0x4000_0000,
            operandB: 7, address: 0x1_2345_6789, segment: 0xE000)
        try parameters.write(to: memory)
        let base = Int(GuestLayout.mailboxAddress)
        #expect(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_LOOP)) == 2)
        #expect(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_FLAGS)) == UInt32(CGUEST_FLAG_RDTSCP))
        #expect(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_ITERATIONS)) == 1234)
        #expect(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_WARMUP)) == 56)
        #expect(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_OPERAND_A)) == 0x4000_0000)
        #expect(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_OPERAND_B)) == 7)
        #expect(try memory.load(UInt64.self, at: base + Int(CGUEST_MB_ADDRESS)) == 0x1_2345_6789)
        #expect(try memory.load(UInt16.self, at: base + Int(CGUEST_MB_SEGMENT)) == 0xE000)

        // What a guest that took #GP at 0x1234 after the canary would leave behind.
        try memory.store(UInt32(CGUEST_STAGE_LOOPING), at: base + Int(CGUEST_MB_STAGE))
        try memory.store(UInt32(3), at: base + Int(CGUEST_MB_STORED))
        try memory.store(UInt32(13), at: base + Int(CGUEST_MB_FAULT_VECTOR))
        try memory.store(UInt64(0x18), at: base + Int(CGUEST_MB_FAULT_ERROR))
        try memory.store(UInt64(0x1234), at: base + Int(CGUEST_MB_FAULT_RIP))
        for (index, value) in ([0x4000_0001] + CPUIDCanary.registers).enumerated() {
            try memory.store(UInt32(value), at: base + Int(CGUEST_MB_CANARY) + 4 * index)
        }
        let report = try MailboxReport.read(from: memory)
        #expect(!report.done && report.stored == 3)
        #expect(report.stageDescription == "in its loop, 3 samples stored")
        #expect(report.canarySignatureRegisters.map(CPUIDCanary.text) == CPUIDCanary.signature)
        let failure = CaseRunner.exceptionFailure(report)
        #expect(failure.kind == .guestException && failure.guestRIP == 0x1234)
        #expect(failure.reason == "the guest took #GP (vector 13), error code 0x18, at RIP 0x1234")
    }
}
