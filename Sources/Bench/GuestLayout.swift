// GuestLayout: where the tiny guests keep their code, mailbox, tables, stacks and samples, in guest-physical
// addresses. What the payloads read is defined once in CGuest.h and re-exported here with Swift types; what
// only the host builds (long mode's descriptor tables and page tables, the memory slots) is defined here.
//
// Low memory, both modes:
//   0x0000  real mode: the IVT (256 × 4 bytes)
//   0x1000  the payload (CS:IP 0000:1000, or RIP 0x1000), at most 12 KiB
//   0x4000  long mode: GDT, then the TSS at 0x4100
//   0x4800  the mailbox (the three-level guest's fields from 0x4900)
//   0x5000  long mode: IDT (66 gates: the exceptions, then the two APIC vectors 0x40 and 0x41)
//   0x6000  long mode: PML4, PDPT (0x7000), PD (0x8000): the first GiB identity-mapped with 2 MiB pages, U/S=1
//   0x9000  long mode: CPL0 stack (top 0xC000, the TSS's RSP0; the second vCPU's below 0xA000); CPL3 stack
//           0xC000–0xF000
//   0xF000  long mode: the page directory of the fourth GiB, which maps only the local APIC (0xFEE00000)
//   0xF000  real mode: stack top
//   0x10000 samples (real mode: the 64 KiB segment 0x1000; long mode: up to the end of low RAM)
// RAM ends at 0x20000 (real) or 0xA0000 (long); 0xE0000 is never backed (the MMIO cases' address). The
// first-touch case adds a slot of fresh pages: at 0x20000 (real, up to 0xA0000) or 0x1000_0000 (long).

import CGuest
import KVM

/// The guest-physical map of the tiny guests.
enum GuestLayout {
    /// Where the payload is loaded and starts.
    static let codeAddress = UInt64(CGUEST_CODE_ADDRESS)
    /// The most bytes a payload may take.
    static let codeLimit = Int(CGUEST_CODE_LIMIT)
    /// The mailbox page.
    static let mailboxAddress = UInt64(CGUEST_MAILBOX_ADDRESS)
    /// The first sample.
    static let samplesAddress = UInt64(CGUEST_SAMPLES_ADDRESS)
    /// The real-mode IVT.
    static let realModeIVTAddress: UInt64 = 0

    /// Long mode's GDT: null, code64 DPL0, data DPL0, code64 DPL3, data DPL3, the 16-byte TSS descriptor.
    static let gdtAddress: UInt64 = 0x4000
    /// Long mode's 64-bit TSS (only RSP0 matters: the stack a CPL3 exception switches to).
    static let tssAddress: UInt64 = 0x4100
    /// The second vCPU's TSS (the cross-vCPU IPI cases), its RSP0 the second vCPU's CPL0 stack.
    static let secondTSSAddress: UInt64 = 0x4180
    /// Long mode's IDT.
    static let idtAddress: UInt64 = 0x5000
    /// The page-table root (CR3).
    static let pml4Address: UInt64 = 0x6000
    /// The page-directory-pointer table under PML4[0].
    static let pdptAddress: UInt64 = 0x7000
    /// The page directory under PDPT[0]: 512 × 2 MiB pages.
    static let pageDirectoryAddress: UInt64 = 0x8000
    /// RSP at CPL0, and the TSS's RSP0.
    static let kernelStackTop: UInt64 = 0xC000
    /// RSP at CPL3.
    static let userStackTop: UInt64 = 0xF000

    /// The address the MMIO cases read and write: in the hole between low RAM and 1 MiB, reachable from
    /// real mode (segment 0xE000), and inside long mode's identity map.
    static let mmioAddress: UInt64 = 0xE0000

    /// Bytes of RAM in slot 0 for `mode`.
    static func ramSize(_ mode: GuestMode) -> Int {
        switch mode {
        case .real: 0x20000
        case .long64, .svmInner, .svmHypervisor: 0xA0000
        }
    }

    /// How many 32-bit samples fit: one 64 KiB segment in real mode; the rest of low RAM in long mode.
    static func sampleCapacity(_ mode: GuestMode) -> Int {
        switch mode {
        case .real: 0x10000 / 4
        case .long64, .svmInner, .svmHypervisor: (ramSize(.long64) - Int(samplesAddress)) / 4
        }
    }

    /// Where the first-touch case's fresh pages start, and how many it may have at most.
    static func touchRegion(_ mode: GuestMode) -> (address: UInt64, maximumPages: Int) {
        switch mode {
        case .real: (0x20000, (0xA0000 - 0x20000) / pageSize)
        case .long64, .svmInner, .svmHypervisor: (0x1000_0000, 0x1000_0000 / pageSize)
        }
    }

    /// The page the first-touch case touches once each.
    static let pageSize = 4096

    /// The memory slot of low RAM, and of the first-touch region.
    static let ramSlot: UInt32 = 0
    static let touchSlot: UInt32 = 1

    /// Real mode on Intel hosts without unrestricted guest needs three pages for a TSS outside RAM.
    static let realModeTSSAddress: UInt64 = 0xfffb_d000

    /// Long mode's page directory for the fourth GiB (PDPT entry 3): one 2 MiB page, the local APIC's.
    static let apicPageDirectoryAddress: UInt64 = 0xF000

    /// The local APIC's xAPIC register page (KVM's default IA32_APIC_BASE).
    static let apicBase = UInt64(CGUEST_APIC_BASE)

    /// Where the second vCPU of the cross-vCPU IPI cases starts (long64.S's AP entry).
    static let secondVCPUEntry = codeAddress + UInt64(CGUEST_LONG64_AP_OFFSET)

    /// The second vCPU's stack top, below the first's CPL0 stack.
    static let secondVCPUStackTop = UInt64(CGUEST_LONG64_AP_STACK_TOP)

    /// The address of long64.S's handler for `vector` (CGUEST_VECTOR_X2APIC or CGUEST_VECTOR_XAPIC).
    static func interruptHandlerAddress(vector: Int) -> UInt64 {
        let slot = vector == Int(CGUEST_VECTOR_X2APIC) ? 0 : 1
        return codeAddress + UInt64(Int(CGUEST_LONG64_IRQ_OFFSET) + slot * Int(CGUEST_LONG64_IRQ_STRIDE))
    }

    /// An address long mode's page tables leave unmapped (PDPT entry 1 is not present): a load from it takes
    /// #PF, which the guest itself handles (the CPL3 page-fault case).
    static let unmappedAddress: UInt64 = 0x4000_0000

    /// The offset of exception stub `slot` from the payload's start.
    static func stubAddress(_ mode: GuestMode, slot: Int) -> UInt64 {
        let stride =
            switch mode {
            case .real: Int(CGUEST_REAL16_STUB_STRIDE)
            case .long64, .svmInner, .svmHypervisor: Int(CGUEST_LONG64_STUB_STRIDE)
            }
        return codeAddress + UInt64(Int(CGUEST_STUBS_OFFSET) + slot * stride)
    }
}

/// Long mode's GDT selectors.
enum Selector {
    static let kernelCode: UInt16 = 0x08
    static let kernelData: UInt16 = 0x10
    static let userCode = UInt16(CGUEST_SELECTOR_USER_CODE)
    static let userData = UInt16(CGUEST_SELECTOR_USER_DATA)
    static let tss: UInt16 = 0x28
    /// The second vCPU's TSS, after SYSRET's two selectors.
    static let secondTSS: UInt16 = 0x48
    /// What 64-bit SYSRET loads (CGUEST_SYSRET_BASE + 8 and + 16, RPL 3).
    static let sysretData: UInt16 = UInt16(CGUEST_SYSRET_BASE + 8) | 3
    static let sysretCode: UInt16 = UInt16(CGUEST_SYSRET_BASE + 16) | 3
}

/// The ports and loop numbers the payloads use (CGuest.h).
enum GuestPort {
    /// The loop finished.
    static let done = UInt16(CGUEST_PORT_DONE)
    /// The guest took an exception; the mailbox says which.
    static let fault = UInt16(CGUEST_PORT_FAULT)
    /// The user-space port of the port I/O cases.
    static let user = UInt16(CGUEST_PORT_USER)
    /// The in-kernel PIT's channel 0.
    static let kernel = UInt16(CGUEST_PORT_KERNEL)
}

/// The payloads' machine code, copied out of the CGuest target.
enum GuestPayload {
    // SAFETY (both): each accessor returns the start and length of its payload, taken from the payload's
    // start and end symbols in one read-only section of this binary (real16.S, long64.S), mapped for the
    // life of the process; `copy` only reads those bytes.

    /// The 16-bit real-mode payload.
    static let real16: [UInt8] = unsafe copy(cguest_real16())
    /// The 64-bit long-mode payload.
    static let long64: [UInt8] = unsafe copy(cguest_long64())

    /// The payload for `mode`.
    static func code(for mode: GuestMode) -> [UInt8] {
        switch mode {
        case .real: real16
        // The three-level guest's guest runs long64.S; the mini-hypervisor's own payload is NestedSVM's.
        case .long64, .svmInner, .svmHypervisor: long64
        }
    }

    /// A copy of the payload's bytes. Unsafe: `payload` must describe mapped, readable memory.
    @unsafe
    private static func copy(_ payload: cguest_payload) -> [UInt8] {
        // SAFETY: the caller's promise above.
        unsafe Array(UnsafeBufferPointer(start: payload.bytes, count: payload.length))
    }
}
