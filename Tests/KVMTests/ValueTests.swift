// GuestMemory's bounds checks and the conversions between Swift values and kernel structs: no KVM needed.

import CKVM
import Glibc
import Testing

@testable import KVM

@Suite("GuestMemory without KVM")
struct GuestMemoryTests {
    let page = GuestMemory.pageSize

    @Test("sizes that are not positive whole pages are refused with EINVAL")
    func badSizes() {
        for size in [0, -4096, 1, GuestMemory.pageSize + 1] {
            #expect(throws: KVMError.self, "size \(size)") { _ = try GuestMemory(size: size) }
            #expect((try? GuestMemory(size: size)) == nil)
        }
    }

    @Test("new memory reads as zero")
    func zeroFilled() throws {
        let memory = try GuestMemory(size: 2 * page)
        #expect(memory.size == 2 * page)
        #expect(try memory.read(at: 0, count: 2 * page).allSatisfy { $0 == 0 })
    }

    @Test("bytes and integers round-trip, little-endian and unaligned")
    func roundTrip() throws {
        let memory = try GuestMemory(size: page)
        try memory.write([0xba, 0xf8, 0x03], at: 0x10)
        #expect(try memory.read(at: 0x10, count: 3) == [0xba, 0xf8, 0x03])
        try memory.store(UInt64(0x1122_3344_5566_7788), at: 0x21)
        #expect(try memory.load(UInt64.self, at: 0x21) == 0x1122_3344_5566_7788)
        #expect(try memory.read(at: 0x21, count: 2) == [0x88, 0x77])
        try memory.store(UInt32(0xdead_beef), at: page - 4)
        #expect(try memory.load(UInt32.self, at: page - 4) == 0xdead_beef)
        try memory.store(UInt64(1), at: 0x100)
        try memory.store(UInt64(2), at: 0x108)
        #expect(try memory.load(UInt64.self, at: 0x100, count: 2) == [1, 2])
        try memory.fill(0xff, at: 0x100, count: 16)
        #expect(try memory.load(UInt64.self, at: 0x100, count: 2) == [.max, .max])
    }

    @Test("every access out of bounds throws EFAULT and touches nothing")
    func bounds() throws {
        let memory = try GuestMemory(size: page)
        expectEFAULT { try memory.write([1, 2], at: page - 1) }
        expectEFAULT { try memory.write([1], at: -1) }
        expectEFAULT { _ = try memory.read(at: page, count: 1) }
        expectEFAULT { _ = try memory.read(at: 0, count: -1) }
        expectEFAULT { _ = try memory.read(at: Int.max, count: 2) }
        expectEFAULT { _ = try memory.load(UInt64.self, at: page - 7) }
        expectEFAULT { try memory.store(UInt32(1), at: page - 3) }
        expectEFAULT { _ = try memory.load(UInt64.self, at: 0, count: page / 8 + 1) }
        expectEFAULT { _ = try memory.load(UInt64.self, at: 0, count: Int.max / 4) }
        expectEFAULT { try memory.fill(at: 1, count: page) }
        #expect(try memory.read(at: page - 1, count: 1) == [0])
        // The empty access at the very end is in bounds.
        #expect(try memory.read(at: page, count: 0) == [])
    }
}

/// Expects `body` to throw a KVMError with EFAULT.
func expectEFAULT(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
    let error = #expect(throws: KVMError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.errno == EFAULT, sourceLocation: sourceLocation)
}

@Suite("Kernel struct conversions")
struct ConversionTests {
    @Test("Registers round-trip through kvm_regs")
    func registers() {
        var registers = Registers()
        #expect(registers.rflags == 0x2)
        registers.rax = 1
        registers.r15 = 15
        registers.rip = 0x1000
        registers.rsp = 0x8000
        let raw = registers.raw
        #expect(raw.rax == 1 && raw.r15 == 15 && raw.rip == 0x1000 && raw.rsp == 0x8000 && raw.rflags == 2)
        #expect(Registers(raw) == registers)
    }

    @Test("SpecialRegisters round-trip through kvm_sregs, every segment bit included")
    func specialRegisters() {
        var sregs = SpecialRegisters()
        sregs.cs = .longModeCode(selector: 0x8)
        sregs.ds = .flatData(selector: 0x10, dpl: 3)
        sregs.tr.unusable = true
        sregs.tr.avl = true
        sregs.gdt = DescriptorTable(base: 0x500, limit: 0x17)
        sregs.cr0 = SpecialRegisters.cr0ProtectionEnable | SpecialRegisters.cr0Paging
        sregs.cr4 = SpecialRegisters.cr4PAE
        sregs.efer = SpecialRegisters.eferLME | SpecialRegisters.eferLMA
        sregs.interruptBitmap = [1, 2, 3, 4]
        let raw = sregs.raw
        #expect(raw.cs.l == 1 && raw.cs.db == 0 && raw.cs.g == 1 && raw.cs.type == 0xb && raw.cs.selector == 8)
        #expect(raw.ds.dpl == 3 && raw.ds.db == 1 && raw.ds.limit == 0xffff_ffff)
        #expect(raw.gdt.base == 0x500 && raw.gdt.limit == 0x17)
        #expect(raw.efer == 0x500 && raw.cr0 == 0x8000_0001)
        #expect(SpecialRegisters(raw) == sregs)
    }

    @Test("a real-mode segment's base is the selector times 16")
    func realModeSegment() {
        let segment = Segment.realMode(selector: 0x2000, isCode: false)
        #expect(segment.base == 0x20000 && segment.limit == 0xffff && segment.type == 3 && segment.present)
        #expect(Segment.realMode(selector: 0, isCode: true).type == 0xb)
    }

    @Test("CPUID entries round-trip through kvm_cpuid2 storage")
    func cpuidArray() {
        let entries = (0..<5).map { KVMCPUIDEntry(function: $0, index: 1, flags: 1, eax: $0 * 2, edx: 7) }
        let array = FlexibleArray(headerSize: CKVM_CPUID2_ENTRIES_OFFSET, elements: entries.map(\.raw))
        #expect(array.count == 5)
        #expect(array.elements.map(KVMCPUIDEntry.init) == entries)
    }

    @Test("a count the kernel lowered limits the elements; one above the capacity does not overflow")
    func flexibleArrayCount() {
        var list = FlexibleArray<UInt32>(headerSize: CKVM_MSR_LIST_INDICES_OFFSET, capacity: 4)
        #expect(list.count == 4 && list.elements == [0, 0, 0, 0])
        list.count = 2
        #expect(list.elements == [0, 0])
        list.count = 1000
        #expect(list.elements.count == 4)
    }

    @Test("every reported capability has a distinct KVM_CAP name and number")
    func capabilityTable() {
        let reported = KVMCapability.reported
        #expect(reported.count == 27)
        #expect(Set(reported.map(\.number)).count == reported.count)
        #expect(reported.allSatisfy { $0.name.hasPrefix("KVM_CAP_") && $0.number >= 0 })
        #expect(KVMCapability.irqchip.number == 0 && KVMCapability.userMemory.number == 3)
        #expect(KVMCapability.vmTypes.number == 235)
        #expect(KVMCapability.tscDeadlineTimer.number == 72)
    }
}
