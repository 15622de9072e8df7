// The VMCB the mini-hypervisor runs on, without KVM: its offsets derived again from the APM's field list
// (vol. 2, appendix B) and compared with CGuestSVM.h, the intercept bits against the exit codes they
// produce, segment attributes packed two ways, the guest's guest's VMCB field by field, the layout of the
// second memory slot, and the payload's bounce instruction.

import CGuest
import KVM
import Testing

@testable import Bench

@Suite("Three levels: the VMCB and the mini-hypervisor's layout")
struct NestedSVMVMCBTests {
    /// Offsets from a list of (name, size) fields laid end to end from `start`.
    static func offsets(_ fields: [(String, Int)], from start: Int = 0) -> [String: Int] {
        var offset = start
        var result: [String: Int] = [:]
        for (name, size) in fields {
            result[name] = offset
            offset += size
        }
        return result
    }

    @Test("control-area offsets: the APM's field list laid end to end gives CGuestSVM.h's")
    func controlArea() {
        let control = Self.offsets([
            ("interceptCR", 4), ("interceptDR", 4), ("interceptExceptions", 4), ("misc1", 4), ("misc2", 4),
            ("misc3", 4), ("reserved", 36), ("pauseThreshold", 2), ("pauseCount", 2), ("iopm", 8), ("msrpm", 8),
            ("tscOffset", 8), ("asid", 4), ("tlbControl", 1), ("reserved2", 3), ("intCtl", 4), ("intVector", 4),
            ("intState", 4), ("reserved3", 4), ("exitCode", 8), ("exitInfo1", 8), ("exitInfo2", 8),
            ("exitIntInfo", 8), ("nestedControl", 8), ("avicBar", 8), ("ghcb", 8), ("eventInjection", 8),
            ("nestedCR3", 8), ("virtualExtensions", 8), ("clean", 4), ("reserved5", 4), ("nextRIP", 8),
        ])
        #expect(control["interceptCR"] == Int(CGUEST_VMCB_INTERCEPT_CR))
        #expect(control["interceptDR"] == Int(CGUEST_VMCB_INTERCEPT_DR))
        #expect(control["interceptExceptions"] == Int(CGUEST_VMCB_INTERCEPT_EXCEPTIONS))
        #expect(control["misc1"] == Int(CGUEST_VMCB_INTERCEPT_MISC1))
        #expect(control["misc2"] == Int(CGUEST_VMCB_INTERCEPT_MISC2))
        #expect(control["iopm"] == Int(CGUEST_VMCB_IOPM_BASE))
        #expect(control["msrpm"] == Int(CGUEST_VMCB_MSRPM_BASE))
        #expect(control["tscOffset"] == Int(CGUEST_VMCB_TSC_OFFSET))
        #expect(control["asid"] == Int(CGUEST_VMCB_ASID))
        #expect(control["tlbControl"] == Int(CGUEST_VMCB_TLB_CONTROL))
        #expect(control["intCtl"] == Int(CGUEST_VMCB_INT_CTL))
        #expect(control["exitCode"] == Int(CGUEST_VMCB_EXIT_CODE))
        #expect(control["exitInfo1"] == Int(CGUEST_VMCB_EXIT_INFO1))
        #expect(control["exitInfo2"] == Int(CGUEST_VMCB_EXIT_INFO2))
        #expect(control["exitIntInfo"] == Int(CGUEST_VMCB_EXIT_INT_INFO))
        #expect(control["nestedControl"] == Int(CGUEST_VMCB_NESTED_CONTROL))
        #expect(control["eventInjection"] == Int(CGUEST_VMCB_EVENT_INJECTION))
        #expect(control["clean"] == Int(CGUEST_VMCB_CLEAN_BITS))
        #expect(control["nextRIP"] == Int(CGUEST_VMCB_NEXT_RIP))
    }

    @Test("save-area offsets: ten segments, then CPL, EFER, the control registers, RIP, RSP, RAX, CR2, PAT")
    func saveArea() {
        let segments = ["es", "cs", "ss", "ds", "fs", "gs", "gdtr", "ldtr", "idtr", "tr"].map { ($0, 16) }
        let save = Self.offsets(
            segments + [
                ("reserved", 42), ("vmpl", 1), ("cpl", 1), ("reserved2", 4), ("efer", 8), ("reserved3", 112),
                ("cr4", 8), ("cr3", 8), ("cr0", 8), ("dr7", 8), ("dr6", 8), ("rflags", 8), ("rip", 8),
                ("reserved4", 88), ("rsp", 8), ("sCET", 8), ("ssp", 8), ("isst", 8), ("rax", 8), ("star", 8),
                ("lstar", 8), ("cstar", 8), ("sfmask", 8), ("kernelGSBase", 8), ("sysenterCS", 8),
                ("sysenterESP", 8), ("sysenterEIP", 8), ("cr2", 8), ("reserved5", 32), ("gPAT", 8),
            ], from: Int(CGUEST_VMCB_SAVE_AREA))
        #expect(CGUEST_VMCB_SAVE_AREA == 0x400)
        let header: [(String, Int32)] = [
            ("es", CGUEST_VMCB_ES), ("cs", CGUEST_VMCB_CS), ("ss", CGUEST_VMCB_SS), ("ds", CGUEST_VMCB_DS),
            ("fs", CGUEST_VMCB_FS), ("gs", CGUEST_VMCB_GS), ("gdtr", CGUEST_VMCB_GDTR), ("ldtr", CGUEST_VMCB_LDTR),
            ("idtr", CGUEST_VMCB_IDTR), ("tr", CGUEST_VMCB_TR), ("cpl", CGUEST_VMCB_CPL), ("efer", CGUEST_VMCB_EFER),
            ("cr4", CGUEST_VMCB_CR4), ("cr3", CGUEST_VMCB_CR3), ("cr0", CGUEST_VMCB_CR0), ("dr7", CGUEST_VMCB_DR7),
            ("dr6", CGUEST_VMCB_DR6), ("rflags", CGUEST_VMCB_RFLAGS), ("rip", CGUEST_VMCB_RIP),
            ("rsp", CGUEST_VMCB_RSP), ("rax", CGUEST_VMCB_RAX), ("cr2", CGUEST_VMCB_CR2), ("gPAT", CGUEST_VMCB_G_PAT),
        ]
        for (name, offset) in header {
            #expect(save[name] == Int(offset), "\(name)")
        }
        // The figures the APM's table prints, for the ones the payload patches.
        #expect(
            [CGUEST_VMCB_EFER, CGUEST_VMCB_RFLAGS, CGUEST_VMCB_RIP, CGUEST_VMCB_RSP, CGUEST_VMCB_RAX]
                == [0x4D0, 0x570, 0x578, 0x5D8, 0x5F8])
    }

    @Test("each intercept bit is the bit whose #VMEXIT code names that instruction (0x60 + bit, 0x80 + bit)")
    func interceptBits() {
        let word3: [(UInt32, String)] = [
            (SVMIntercept.cpuid, "VMEXIT_CPUID"), (SVMIntercept.hlt, "VMEXIT_HLT"), (SVMIntercept.ioio, "VMEXIT_IOIO"),
            (SVMIntercept.msr, "VMEXIT_MSR"), (SVMIntercept.shutdown, "VMEXIT_SHUTDOWN"),
            (SVMIntercept.intr, "VMEXIT_INTR"),
        ]
        for (bit, name) in word3 {
            #expect(bit.nonzeroBitCount == 1)
            #expect(SVMExitCode(0x60 + Int64(bit.trailingZeroBitCount)).name == name)
        }
        let word4: [(UInt32, String)] = [
            (SVMIntercept.vmrun, "VMEXIT_VMRUN"), (SVMIntercept.vmmcall, "VMEXIT_VMMCALL"),
            (SVMIntercept.vmload, "VMEXIT_VMLOAD"), (SVMIntercept.vmsave, "VMEXIT_VMSAVE"),
            (SVMIntercept.stgi, "VMEXIT_STGI"), (SVMIntercept.clgi, "VMEXIT_CLGI"),
            (SVMIntercept.skinit, "VMEXIT_SKINIT"),
        ]
        for (bit, name) in word4 {
            #expect(SVMExitCode(0x80 + Int64(bit.trailingZeroBitCount)).name == name)
        }
        #expect(SVMIntercept.word3 == 0x9904_0000)
        #expect(SVMIntercept.word4 == 0x7F)
    }

    @Test("exit codes: the header's, the ranges, VMEXIT_INVALID and unknown codes")
    func exitCodes() {
        #expect(SVMExitCode.names.count == 0x90 - 0x60)
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_CPUID)).name == "VMEXIT_CPUID")
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_IOIO)).name == "VMEXIT_IOIO")
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_MSR)).name == "VMEXIT_MSR")
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_HLT)).name == "VMEXIT_HLT")
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_SHUTDOWN)).name == "VMEXIT_SHUTDOWN")
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_VMMCALL)).name == "VMEXIT_VMMCALL")
        #expect(SVMExitCode(Int64(CGUEST_SVM_EXIT_NPF)).name == "VMEXIT_NPF")
        #expect(SVMExitCode(0x8D).name == "VMEXIT_XSETBV")
        #expect(SVMExitCode(0x46).name == "VMEXIT_EXCP6 (#UD)")
        #expect(SVMExitCode(0x0E).name == "VMEXIT_CR14_READ")
        #expect(SVMExitCode(0x13).name == "VMEXIT_CR3_WRITE")
        #expect(SVMExitCode(0x37).name == "VMEXIT_DR7_WRITE")
        #expect(SVMExitCode(-1) == .invalid && SVMExitCode.invalid.description == "VMEXIT_INVALID (-1)")
        #expect(SVMExitCode.shutdown.description == "VMEXIT_SHUTDOWN (0x7f)")
        #expect(SVMExitCode(0x1234).name == "VMEXIT 0x1234")
    }

    @Test("segment attributes: the descriptor's access byte and flags side by side, as the fields pack them")
    func segmentAttributes() {
        let code = LongModeTables.segmentDescriptor(access: 0x9B, flags: 0xA)
        let data = LongModeTables.segmentDescriptor(access: 0x93, flags: 0xC)
        #expect(VMCBSegment.attributes(descriptor: code) == 0xA9B)
        #expect(
            VMCBSegment.attributes(descriptor: code)
                == VMCBSegment.attributes(type: 0xB, dpl: 0, long: true, granularity: true))
        #expect(VMCBSegment.attributes(descriptor: data) == 0xC93)
        #expect(
            VMCBSegment.attributes(descriptor: data)
                == VMCBSegment.attributes(type: 0x3, dpl: 0, defaultBig: true, granularity: true))
        #expect(VMCBSegment.attributes(type: 0xB, system: true, dpl: 0) == 0x8B)
        #expect(VMCBSegment.attributes(type: 0x3, dpl: 3, present: false, available: true) == 0x173)
        var vmcb = VMCB()
        let segment = VMCBSegment(selector: 0x1234, attributes: 0xA9B, limit: 0xDEAD_BEEF, base: 0x0102_0304_0506_0708)
        vmcb.set(segment, at: CGUEST_VMCB_CS)
        #expect(vmcb.segment(at: CGUEST_VMCB_CS) == segment)
        #expect(
            Array(vmcb.bytes[0x410..<0x420])
                == [0x34, 0x12, 0x9B, 0x0A, 0xEF, 0xBE, 0xAD, 0xDE, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01])
    }

    @Test("the guest's guest's VMCB: intercepts, maps, ASID, long mode at CPL0 with SVME, no nested paging")
    func guestsGuest() {
        let vmcb = VMCB.guestsGuest(rip: 0x1000, rsp: 0xC000)
        #expect(vmcb.bytes.count == 4096)
        #expect(vmcb.value(UInt32.self, at: CGUEST_VMCB_INTERCEPT_MISC1) == SVMIntercept.word3)
        #expect(vmcb.value(UInt32.self, at: CGUEST_VMCB_INTERCEPT_MISC2) & SVMIntercept.vmrun != 0)
        #expect(vmcb.value(UInt32.self, at: CGUEST_VMCB_INTERCEPT_EXCEPTIONS) == 0)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_IOPM_BASE) == NestedSVM.ioPermissionMapAddress)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_MSRPM_BASE) == NestedSVM.msrPermissionMapAddress)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_TSC_OFFSET) == 0)
        #expect(vmcb.value(UInt32.self, at: CGUEST_VMCB_ASID) == 1)
        #expect(vmcb.value(UInt8.self, at: CGUEST_VMCB_TLB_CONTROL) == 0)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_NESTED_CONTROL) == 0)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_EXIT_CODE) == 0)
        let efer = vmcb.value(UInt64.self, at: CGUEST_VMCB_EFER)
        #expect(efer == 0x1500, "LME | LMA | SVME")
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_CR0) == LongModeTables.cr0)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_CR3) == GuestLayout.pml4Address)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_CR4) == LongModeTables.cr4)
        #expect(vmcb.value(UInt8.self, at: CGUEST_VMCB_CPL) == 0)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_RIP) == 0x1000)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_RSP) == 0xC000)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_RFLAGS) == 0x2)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_DR6) == 0xFFFF_0FF0)
        #expect(vmcb.value(UInt64.self, at: CGUEST_VMCB_DR7) == 0x400)
        // Only the timer's route intercepts INTR, with V_INTR_MASKING; the others leave INT_CTL 0.
        #expect(vmcb.value(UInt32.self, at: CGUEST_VMCB_INT_CTL) == 0)
        let timer = VMCB.guestsGuest(rip: 0x1000, rsp: 0xC000, routesTimer: true)
        #expect(timer.value(UInt32.self, at: CGUEST_VMCB_INTERCEPT_MISC1) == SVMIntercept.word3 | SVMIntercept.intr)
        #expect(timer.value(UInt32.self, at: CGUEST_VMCB_INT_CTL) == 1 << 24)
        // Its own IDT: long mode's, but the x2APIC vector's gate at its timer handler.
        let own = NestedSVM.ownIDT()
        let long = LongModeTables.idt()
        let at = Int(CGUEST_VECTOR_X2APIC) * 16
        #expect(own.count == long.count)
        #expect(Array(own[..<at]) == Array(long[..<at]) && Array(own[(at + 16)...]) == Array(long[(at + 16)...]))
        #expect(Array(own[at..<at + 16]) == LongModeTables.interruptGate(offset: NestedSVM.timerHandlerAddress, dpl: 0))
        #expect(NestedSVM.idtAddress + UInt64(own.count) <= NestedSVM.codeAddress)
        #expect(NestedSVM.idtAddress >= NestedSVM.stackTop)
        #expect(vmcb.segment(at: CGUEST_VMCB_CS) == VMCBSegment(selector: 0x08, attributes: 0xA9B, limit: 0xFFFF_FFFF))
        #expect(vmcb.segment(at: CGUEST_VMCB_SS) == VMCBSegment(selector: 0x10, attributes: 0xC93, limit: 0xFFFF_FFFF))
        // Eleven slots: the second vCPU's TSS descriptor after SYSRET's selectors.
        #expect(vmcb.segment(at: CGUEST_VMCB_GDTR) == VMCBSegment(limit: 87, base: GuestLayout.gdtAddress))
        // The ordinary guest's IDT: 66 gates (the exceptions, then the two APIC vectors).
        #expect(vmcb.segment(at: CGUEST_VMCB_IDTR) == VMCBSegment(limit: 66 * 16 - 1, base: GuestLayout.idtAddress))
        #expect(VMCB.guestsGuest(rip: 0, rsp: 0, emptyIDT: true).segment(at: CGUEST_VMCB_IDTR).limit == 0)
        #expect(
            VMCB.guestsGuest(rip: 0, rsp: 0, breakConsistency: true).value(UInt64.self, at: CGUEST_VMCB_EFER) == 0x500)
    }

    @Test("the second slot: page-aligned VMCB, save area and maps inside it, clear of low RAM and the MMIO hole")
    func layout() {
        let region = NestedSVM.regionAddress..<(NestedSVM.regionAddress + UInt64(NestedSVM.regionSize))
        #expect(
            region.lowerBound >= UInt64(GuestLayout.ramSize(.long64)) && region.lowerBound > GuestLayout.mmioAddress)
        #expect(NestedSVM.regionSize % GuestLayout.pageSize == 0)
        let pages: [(UInt64, Int)] = [
            (NestedSVM.vmcbAddress, VMCB.size), (NestedSVM.hostSaveAddress, 4096), (NestedSVM.scratchVMCBAddress, 4096),
            (NestedSVM.ioPermissionMapAddress, NestedSVM.ioPermissionMapSize),
            (NestedSVM.msrPermissionMapAddress, NestedSVM.msrPermissionMapSize),
            (NestedSVM.registerFileAddress, 14 * 8),
            (NestedSVM.codeAddress, NestedSVM.codeLimit),
        ]
        for (index, (address, size)) in pages.enumerated() {
            #expect(address % 4096 == 0)
            #expect(region.contains(address) && region.contains(address + UInt64(size) - 1))
            for (other, otherSize) in pages[(index + 1)...] {
                #expect(address + UInt64(size) <= other || other + UInt64(otherSize) <= address, "overlap")
            }
        }
        #expect(NestedSVM.ioPermissionMapSize == 3 * 4096 && NestedSVM.msrPermissionMapSize == 2 * 4096)
        #expect(
            NestedSVM.stackTop > NestedSVM.registerFileAddress + 14 * 8 && NestedSVM.stackTop <= NestedSVM.codeAddress)
        #expect(CGUEST_SVM_MB_ROLE >= CGUEST_MB_SIZE && CGUEST_SVM_MB_END <= 0x1000)
    }

    @Test("the payload fits, and its bounce is a vmmcall (0f 01 d9) with a jump back to it")
    func payload() {
        let code = GuestPayload.svm64
        #expect(!code.isEmpty && code.count <= NestedSVM.codeLimit)
        let bounce = Int(CGUEST_SVM_BOUNCE_OFFSET)
        #expect(Array(code[bounce..<bounce + 5]) == [0x0F, 0x01, 0xD9, 0xEB, 0xFB])
        // vmrun rax (0f 01 d8) appears in both roles' code.
        let vmrun: [UInt8] = [0x0F, 0x01, 0xD8]
        let count = (0..<(code.count - 2)).filter { Array(code[$0..<$0 + 3]) == vmrun }.count
        #expect(count >= 3, "the relay and both copies of the vmrun loop")
    }

    @Test("the canary spells NestprobeSVM and tells the mini-hypervisor from this level and the level below")
    func canary() {
        #expect(CPUIDCanary.text(NestedSVM.canaryRegisters) == NestedSVM.canarySignature)
        let host: [UInt32] = [0x4b4d_564b, 0x564b_4d56, 0x4d]
        #expect(NestedSVM.attribute(seen: NestedSVM.canaryRegisters, host: host) == .guestHypervisor)
        #expect(NestedSVM.attribute(seen: CPUIDCanary.registers, host: host) == .thisLevel)
        #expect(NestedSVM.attribute(seen: host, host: host) == .levelBelow)
        #expect(NestedSVM.attribute(seen: [0, 0, 0], host: host) == .notApplicable)
    }

    @Test("SVM and NRIPS are read from KVM_GET_SUPPORTED_CPUID's table")
    func offers() {
        let svm = KVMCPUIDEntry(function: 0x8000_0001, ecx: 1 << 2)
        let nrips = KVMCPUIDEntry(function: 0x8000_000A, edx: 1 << 3)
        #expect(NestedSVM.offersSVM([svm]) && !NestedSVM.offersSVM([KVMCPUIDEntry(function: 0x8000_0001, ecx: 1)]))
        #expect(!NestedSVM.offersSVM([]))
        #expect(
            NestedSVM.offersNextRIP([svm, nrips]) && !NestedSVM.offersNextRIP([svm])
                && !NestedSVM.offersNextRIP([nrips]))
    }
}
