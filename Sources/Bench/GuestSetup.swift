// GuestSetup: builds the VM one case runs in — low RAM with the payload, the mailbox and the mode's tables,
// the first-touch region when the case needs one, the in-kernel irqchip and PIT, user-space MSR exits, an
// ioeventfd or extra CR4 bits when it needs those, and one vCPU with the canary CPUID table, set up for real mode or for long mode at
// CPL0 or CPL3. A fresh VM per case: nothing one case does can leak into the next.

import CGuest
import CKVM
import KVM

/// What a case's guest needs, derived from the case by the runner.
struct GuestPlan: Sendable {
    /// Real mode or long mode.
    var mode: GuestMode
    /// 0 or 3 (long mode only).
    var cpl: Int
    /// The loop and its operands.
    var parameters: MailboxParameters
    /// Fresh pages for the first-touch case (0: no touch region).
    var touchPages = 0
    /// An in-kernel irqchip and i8254 PIT (for the in-kernel port).
    var inKernelPIT = false
    /// An in-kernel irqchip, for its local APIC (the interrupt cases).
    var localAPIC = false
    /// KVM_CAP_X86_USER_SPACE_MSR with KVM_MSR_EXIT_REASON_UNKNOWN | FILTER.
    var userSpaceMSR = false
    /// An IDT (long mode) of limit 0: any exception triple-faults (tests).
    var emptyIDT = false
    /// CR4 bits set on top of the mode's own.
    var cr4Bits: UInt64 = 0
    /// A KVM_IOEVENTFD registration for the body's writes, in this address space.
    var ioEventFD: VirtualMachine.IOSpace? = nil
    /// A second vCPU at long64.S's AP entry (`GuestSetup.secondVCPU`), made once the first has run its
    /// baseline.
    var secondVCPU = false
    /// RFLAGS.IOPL = 3 (port I/O allowed at CPL3).
    var iopl3 = false
    /// The vCPU's CPUID table (the canary installed).
    var cpuid: [KVMCPUIDEntry]
}

/// A guest ready to run: its VM, low RAM (mailbox and samples) and vCPU. The VM keeps every memory slot
/// mapped, the first-touch region included, for as long as it or the vCPU exists.
struct GuestMachine: ~Copyable {
    let vm: VirtualMachine
    let memory: GuestMemory
    let cpu: VirtualCPU
    /// The eventfd behind the plan's KVM_IOEVENTFD registration, when it has one.
    let counter: EventCounter?
}

/// Builds guests.
enum GuestSetup {
    /// KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER (Documentation/virt/kvm/api.rst,
    /// KVM_CAP_X86_USER_SPACE_MSR): MSRs KVM does not know, or a filter denies, exit to user space.
    static let userSpaceMSRReasons = UInt64(KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER)

    /// RFLAGS.IOPL = 3 (bits 13:12; SDM vol. 1 §3.4.3.3).
    static let iopl3: UInt64 = 3 << 12

    /// Makes the VM, its memory and its vCPU for `plan`, on `device`.
    static func build(_ plan: GuestPlan, device: borrowing KVMDevice) throws(KVMError) -> GuestMachine {
        let vm = try device.createVM()
        // Intel hosts without unrestricted guest run real mode through a TSS outside RAM; harmless elsewhere.
        if device.checkExtension(.setTSSAddress) > 0 {
            try vm.setTSSAddress(GuestLayout.realModeTSSAddress)
        }
        if plan.inKernelPIT || plan.localAPIC {
            // KVM_CREATE_PIT2 needs the irqchip, and both must come before the vCPU, which then gets its
            // local APIC in the kernel.
            try vm.createIRQChip()
        }
        if plan.inKernelPIT {
            try vm.createPIT2()
        }
        if plan.userSpaceMSR {
            try vm.enableCapability(.userSpaceMSR, args: [userSpaceMSRReasons])
        }
        var counter: EventCounter? = nil
        if let space = plan.ioEventFD {
            let made = try EventCounter()
            switch space {
            case .port: try vm.assignIOEventFD(made, space: .port, address: UInt64(GuestPort.user), length: 1)
            case .mmio: try vm.assignIOEventFD(made, space: .mmio, address: GuestLayout.mmioAddress, length: 4)
            }
            counter = consume made
        }
        let memory = try GuestMemory(size: GuestLayout.ramSize(plan.mode))
        try vm.setUserMemoryRegion(slot: GuestLayout.ramSlot, guestPhysicalAddress: 0, memory: memory)
        if plan.touchPages > 0 {
            // Never touched by the host: each page's first guest access is the exit being measured.
            let region = try GuestMemory(size: plan.touchPages * GuestLayout.pageSize)
            try vm.setUserMemoryRegion(
                slot: GuestLayout.touchSlot, guestPhysicalAddress: GuestLayout.touchRegion(plan.mode).address,
                memory: region)
        }
        try load(plan, into: memory)
        let cpu = try vm.createVCPU()
        try cpu.setCPUID(plan.cpuid)
        switch plan.mode {
        case .real: try enterRealMode(cpu)
        case .long64, .svmInner, .svmHypervisor: try enterLongMode(cpu, cpl: plan.cpl, emptyIDT: plan.emptyIDT)
        }
        if plan.iopl3 {
            var registers = try cpu.registers()
            registers.rflags |= Self.iopl3
            try cpu.setRegisters(registers)
        }
        if plan.cr4Bits != 0 {
            var sregs = try cpu.specialRegisters()
            sregs.cr4 |= plan.cr4Bits
            try cpu.setSpecialRegisters(sregs)
        }
        return GuestMachine(vm: vm, memory: memory, cpu: cpu, counter: counter)
    }

    /// vCPU 1 of `vm` for the cross-vCPU IPI cases: the plan's CPUID, long mode at CPL0 with RIP at
    /// long64.S's AP entry, its own stack and its own TSS, and KVM_SET_MP_STATE runnable, so that its first
    /// KVM_RUN starts there without INIT and SIPI (an application processor of an in-kernel irqchip waits for
    /// them).
    static func secondVCPU(_ plan: GuestPlan, vm: borrowing VirtualMachine) throws(KVMError) -> VirtualCPU {
        let cpu = try vm.createVCPU(id: 1)
        try cpu.setCPUID(plan.cpuid)
        let sregs = try cpu.specialRegisters()
        try cpu.setSpecialRegisters(
            LongModeTables.specialRegisters(from: sregs, cpl: 0, emptyIDT: false, secondVCPU: true))
        var registers = Registers()
        registers.rip = GuestLayout.secondVCPUEntry
        registers.rsp = GuestLayout.secondVCPUStackTop
        try cpu.setRegisters(registers)
        try cpu.setMPState(.runnable)
        return cpu
    }

    /// Writes the payload, the mode's tables and the mailbox into low RAM.
    static func load(_ plan: GuestPlan, into memory: borrowing GuestMemory) throws(KVMError) {
        let code = GuestPayload.code(for: plan.mode)
        precondition(
            code.count <= GuestLayout.codeLimit, "the \(plan.mode) payload outgrew its \(GuestLayout.codeLimit) bytes")
        try memory.write(code, at: Int(GuestLayout.codeAddress))
        switch plan.mode {
        case .real: try memory.write(realModeIVT(), at: Int(GuestLayout.realModeIVTAddress))
        case .long64, .svmInner, .svmHypervisor: try LongModeTables.write(to: memory)
        }
        try plan.parameters.write(to: memory)
    }

    /// The real-mode IVT: vectors 0–31 to their stubs, every other vector to stub 32 (segment 0).
    static func realModeIVT() -> [UInt8] {
        (0..<256).flatMap { vector -> [UInt8] in
            let offset = UInt16(GuestLayout.stubAddress(.real, slot: min(vector, 32)))
            return [UInt8(offset & 0xFF), UInt8(offset >> 8), 0, 0]
        }
    }

    /// CS:IP = 0000:1000 from the vCPU's reset state (KVM's reset CS is F000 with base FFFF0000).
    static func enterRealMode(_ cpu: borrowing VirtualCPU) throws(KVMError) {
        var sregs = try cpu.specialRegisters()
        sregs.cs = .realMode(selector: 0, isCode: true)
        sregs.idt = DescriptorTable(base: GuestLayout.realModeIVTAddress, limit: 0x3FF)
        try cpu.setSpecialRegisters(sregs)
        var registers = Registers()
        registers.rip = GuestLayout.codeAddress
        registers.rsp = UInt64(CGUEST_REAL16_STACK_TOP)
        try cpu.setRegisters(registers)
    }

    /// 64-bit mode at `cpl`, RIP at the payload, RSP on the stack of that privilege level, interrupts off.
    static func enterLongMode(_ cpu: borrowing VirtualCPU, cpl: Int, emptyIDT: Bool) throws(KVMError) {
        let sregs = try cpu.specialRegisters()
        try cpu.setSpecialRegisters(LongModeTables.specialRegisters(from: sregs, cpl: cpl, emptyIDT: emptyIDT))
        var registers = Registers()
        registers.rip = GuestLayout.codeAddress
        registers.rsp = cpl == 3 ? GuestLayout.userStackTop : GuestLayout.kernelStackTop
        try cpu.setRegisters(registers)
    }
}
