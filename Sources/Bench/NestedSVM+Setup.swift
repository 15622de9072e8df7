// Building the three-level guest on top of a long-mode CPL0 machine (GuestSetup.build): the second memory
// slot with the mini-hypervisor's payload, its guest's VMCB and the two permission maps, every bit set; the
// mailbox fields the payload reads; and the vCPU started at the payload on its own stack. Then reading
// back what the mini-hypervisor left in the mailbox.

import CGuest
import KVM

/// What the mini-hypervisor is asked to do.
struct NestedSVMPlan: Equatable, Sendable {
    /// Relay a guest's guest's loop, or time its own.
    enum Role: UInt32, Sendable {
        case relay = 0
        case own = 1
    }

    var role: Role
    /// Resume at the VMCB's nRIP (KVM offers NRIPS to the guest), rather than by instruction length.
    var resumeByNextRIP: Bool
    /// Where the guest's guest starts: long64.S, or the bounce of the vmrun loop.
    var guestRIP: UInt64
    /// The guest's guest's IDT has limit 0: its first exception is a triple fault (tests).
    var emptyGuestIDT = false
    /// The guest's guest's VMCB lacks EFER.SVME: VMRUN fails its consistency checks (tests).
    var breakConsistency = false
    /// The #VMEXIT the relayed loop causes (nil in the own role, and for loops that cause none).
    var interception: SVMInterception?
    /// Answer the guest's guest's x2APIC self-IPIs by injecting their vector (the relayed self-IPI case).
    var injectsSelfIPIs = false
    /// Route the mini-hypervisor's own TSC-deadline timer to the guest's guest (the relayed timer case).
    var routesTimer = false

    /// The plan for `exitCase` on a vCPU whose CPUID table is `table`.
    init(_ exitCase: ExitCase, table: [KVMCPUIDEntry]) {
        role = exitCase.mode == .svmHypervisor ? .own : .relay
        resumeByNextRIP = NestedSVM.offersNextRIP(table)
        guestRIP = exitCase.body == .svm(.vmrun) ? NestedSVM.bounceAddress : GuestLayout.codeAddress
        emptyGuestIDT = exitCase.body.needs.contains(.emptyIDT)
        interception = role == .relay ? exitCase.body.intercept : nil
        routesTimer = Self.routesTimer(exitCase)
        injectsSelfIPIs = role == .relay && exitCase.body.interruptsPerIteration > 0 && !routesTimer
    }

    /// Whether the mini-hypervisor routes its own timer to `exitCase`'s guest's guest: the relayed timer case.
    static func routesTimer(_ exitCase: ExitCase) -> Bool {
        exitCase.mode == .svmInner && exitCase.body.loop == ExitCase.Body.tscDeadline(lead: 0).loop
    }

    /// Whether it injects interrupts at all (either route); the runner checks their count.
    var injectsInterrupts: Bool { injectsSelfIPIs || routesTimer }

    /// The guest's guest's VMCB.
    var vmcb: VMCB {
        VMCB.guestsGuest(
            rip: guestRIP, rsp: GuestLayout.kernelStackTop, emptyIDT: emptyGuestIDT,
            breakConsistency: breakConsistency, interception: interception, routesTimer: routesTimer)
    }
}

enum NestedSVMSetup {
    /// Adds the mini-hypervisor's slot to `machine`, fills it and its mailbox fields in, and points the vCPU
    /// at the payload. The VM keeps the slot's memory mapped for as long as it exists.
    static func install(_ plan: NestedSVMPlan, on machine: borrowing GuestMachine) throws(KVMError) {
        let region = try GuestMemory(size: NestedSVM.regionSize)
        func offset(_ address: UInt64) -> Int { Int(address - NestedSVM.regionAddress) }
        let payload = NestedSVM.payload
        precondition(payload.count <= NestedSVM.codeLimit, "svm64.S outgrew its \(NestedSVM.codeLimit) bytes")
        try region.write(payload, at: offset(NestedSVM.codeAddress))
        try region.write(plan.vmcb.bytes, at: offset(NestedSVM.vmcbAddress))
        try region.fill(0xFF, at: offset(NestedSVM.ioPermissionMapAddress), count: NestedSVM.ioPermissionMapSize)
        try region.fill(0xFF, at: offset(NestedSVM.msrPermissionMapAddress), count: NestedSVM.msrPermissionMapSize)
        if plan.routesTimer { try region.write(NestedSVM.ownIDT(), at: offset(NestedSVM.idtAddress)) }
        try machine.vm.setUserMemoryRegion(
            slot: NestedSVM.regionSlot, guestPhysicalAddress: NestedSVM.regionAddress, memory: region)

        let mailbox = Int(GuestLayout.mailboxAddress)
        try machine.memory.fill(
            at: mailbox + Int(CGUEST_SVM_MB_ROLE), count: Int(CGUEST_SVM_MB_END - CGUEST_SVM_MB_ROLE))
        try machine.memory.store(plan.role.rawValue, at: mailbox + Int(CGUEST_SVM_MB_ROLE))
        let flags =
            (plan.resumeByNextRIP ? CGUEST_SVM_FLAG_NRIPS : 0) | (plan.injectsSelfIPIs ? CGUEST_SVM_FLAG_SELF_IPI : 0)
            | (plan.routesTimer ? CGUEST_SVM_FLAG_TIMER : 0)
        try machine.memory.store(UInt32(flags), at: mailbox + Int(CGUEST_SVM_MB_FLAGS))
        if let interception = plan.interception, interception.stepLength > 0 {
            try machine.memory.store(
                UInt64(bitPattern: interception.code.rawValue), at: mailbox + Int(CGUEST_SVM_MB_STEP_CODE))
            try machine.memory.store(UInt32(interception.stepLength), at: mailbox + Int(CGUEST_SVM_MB_STEP_LENGTH))
        }

        var registers = try machine.cpu.registers()
        registers.rip = NestedSVM.codeAddress
        registers.rsp = NestedSVM.stackTop
        try machine.cpu.setRegisters(registers)
    }
}

/// What the mini-hypervisor left in the mailbox.
struct NestedSVMMailbox: Equatable, Sendable {
    /// CGUEST_SVM_STAGE_* and CGUEST_SVM_RESULT_*.
    var stage: UInt32
    var result: UInt32
    /// EAX, EBX, ECX, EDX of its own CPUID 0x4000_0000.
    var canary: [UInt32]
    /// Every #VMEXIT, then those handled of each kind.
    var exits: Int
    var cpuid: Int
    var vmmcall: Int
    var hlt: Int
    var ioio: Int
    var msr: Int
    /// The latest exit's code, and — when it stopped on one — the rest of it.
    var exitCode: Int64
    var exitInfo1: UInt64
    var exitInfo2: UInt64
    var exitIntInfo: UInt64
    var exitRIP: UInt64
    var exitNextRIP: UInt64
    /// The exit code of the case's own intercept (STEP_CODE), and how many it stepped over.
    var stepCode: Int64 = 0
    var stepped = 0
    /// The interrupts it injected into the guest's guest (self-IPIs, or its own timer's).
    var injected = 0
    /// The #VMEXIT INTRs it handled (its own timer's route).
    var intr = 0

    /// Reads the mini-hypervisor's fields of the mailbox in `memory`.
    static func read(from memory: borrowing GuestMemory) throws(KVMError) -> NestedSVMMailbox {
        let base = Int(GuestLayout.mailboxAddress)
        func u32(_ field: Int32) throws(KVMError) -> UInt32 { try memory.load(UInt32.self, at: base + Int(field)) }
        func u64(_ field: Int32) throws(KVMError) -> UInt64 { try memory.load(UInt64.self, at: base + Int(field)) }
        return NestedSVMMailbox(
            stage: try u32(CGUEST_SVM_MB_STAGE), result: try u32(CGUEST_SVM_MB_RESULT),
            canary: try memory.load(UInt32.self, at: base + Int(CGUEST_SVM_MB_CANARY), count: 4),
            exits: Int(try u32(CGUEST_SVM_MB_EXITS)), cpuid: Int(try u32(CGUEST_SVM_MB_COUNT_CPUID)),
            vmmcall: Int(try u32(CGUEST_SVM_MB_COUNT_VMMCALL)), hlt: Int(try u32(CGUEST_SVM_MB_COUNT_HLT)),
            ioio: Int(try u32(CGUEST_SVM_MB_COUNT_IOIO)), msr: Int(try u32(CGUEST_SVM_MB_COUNT_MSR)),
            exitCode: Int64(bitPattern: try u64(CGUEST_SVM_MB_EXIT_CODE)),
            exitInfo1: try u64(CGUEST_SVM_MB_EXIT_INFO1), exitInfo2: try u64(CGUEST_SVM_MB_EXIT_INFO2),
            exitIntInfo: try u64(CGUEST_SVM_MB_EXIT_INT_INFO), exitRIP: try u64(CGUEST_SVM_MB_EXIT_RIP),
            exitNextRIP: try u64(CGUEST_SVM_MB_EXIT_NEXT_RIP),
            stepCode: Int64(bitPattern: try u64(CGUEST_SVM_MB_STEP_CODE)),
            stepped: Int(try u32(CGUEST_SVM_MB_COUNT_STEP)), injected: Int(try u32(CGUEST_SVM_MB_COUNT_INJECTED)),
            intr: Int(try u32(CGUEST_SVM_MB_COUNT_INTR)))
    }

    /// The intercepts handled, by exit name, leaving out kinds it never saw.
    var intercepts: [String: Int] {
        let counts: [(SVMExitCode, Int)] = [
            (.cpuid, cpuid), (.vmmcall, vmmcall), (.hlt, hlt), (.ioio, ioio), (.msr, msr), (.intr, intr),
            (SVMExitCode(stepCode), stepped),
        ]
        return Dictionary(counts.filter { $0.1 > 0 }.map { ($0.0.name, $0.1) }, uniquingKeysWith: +)
    }

    /// The exit it stopped on, when it stopped on one.
    var stoppedBy: VMCBExit? {
        guard result == UInt32(CGUEST_SVM_RESULT_STOPPED) else { return nil }
        return VMCBExit(
            code: exitCode, name: SVMExitCode(exitCode).name, exitInfo1: exitInfo1, exitInfo2: exitInfo2,
            exitIntInfo: exitIntInfo, guestRIP: exitRIP, nextRIP: exitNextRIP)
    }

    /// Its stage in words, for a failure's reason.
    var stageDescription: String {
        switch Int32(stage) {
        case CGUEST_SVM_STAGE_ENTERED: return "entered, before setting EFER.SVME"
        case CGUEST_SVM_STAGE_SVME: return "after setting EFER.SVME, before VM_HSAVE_PA"
        case CGUEST_SVM_STAGE_HSAVE: return "after VM_HSAVE_PA"
        case CGUEST_SVM_STAGE_RUNNING:
            let latest = exits > 0 ? ", the latest \(SVMExitCode(exitCode))" : ""
            return "running, \(exits) #VMEXITs so far\(latest)"
        case CGUEST_SVM_STAGE_FINISHED: return "finished"
        default: return "never reached its first store"
        }
    }
}
