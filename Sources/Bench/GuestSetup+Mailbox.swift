// The mailbox: the one page the host and a tiny guest share. The host writes which loop to run and its
// operands before the first KVM_RUN; the guest writes how far it got, the canary CPUID result and, when it
// takes an exception, the vector, error code, RIP and CR2. Offsets are CGuest.h's CGUEST_MB_*.

import CGuest
import KVM

/// What the host tells the guest: the loop, its operands and how many iterations.
struct MailboxParameters: Equatable, Sendable {
    /// Which timed loop (CGUEST_LOOP_*).
    var loop: Int32
    /// End each timed region with `rdtscp; lfence` rather than `lfence; rdtsc`.
    var useRDTSCP: Bool
    /// Samples to store after the warm-up.
    var iterations: Int
    /// Iterations to run first, unstored.
    var warmup: Int
    /// CPUID leaf, MSR index, hypercall number or null-loop batch.
    var operandA: UInt32 = 0
    /// CPUID subleaf.
    var operandB: UInt32 = 0
    /// Long mode: the MMIO or first-touch address.
    var address: UInt64 = 0
    /// Real mode: the MMIO or first-touch segment.
    var segment: UInt16 = 0

    /// Writes the parameters into the mailbox of `memory` (low RAM, guest-physical 0 at offset 0).
    func write(to memory: borrowing GuestMemory) throws(KVMError) {
        let base = Int(GuestLayout.mailboxAddress)
        try memory.fill(at: base, count: Int(CGUEST_MB_SIZE))
        try memory.store(UInt32(loop), at: base + Int(CGUEST_MB_LOOP))
        try memory.store(UInt32(useRDTSCP ? CGUEST_FLAG_RDTSCP : 0), at: base + Int(CGUEST_MB_FLAGS))
        try memory.store(UInt32(iterations), at: base + Int(CGUEST_MB_ITERATIONS))
        try memory.store(UInt32(warmup), at: base + Int(CGUEST_MB_WARMUP))
        try memory.store(operandA, at: base + Int(CGUEST_MB_OPERAND_A))
        try memory.store(operandB, at: base + Int(CGUEST_MB_OPERAND_B))
        try memory.store(address, at: base + Int(CGUEST_MB_ADDRESS))
        try memory.store(segment, at: base + Int(CGUEST_MB_SEGMENT))
    }
}

/// What the guest left in the mailbox.
struct MailboxReport: Equatable, Sendable {
    /// How far it got (CGUEST_STAGE_*; 0 if it never ran an instruction of the payload).
    var stage: UInt32
    /// Whether the loop finished.
    var done: Bool
    /// Samples stored.
    var stored: Int
    /// The exception, when the guest reported one.
    var faultVector: UInt32
    var faultErrorCode: UInt64
    var faultRIP: UInt64
    var faultCR2: UInt64
    /// EAX, EBX, ECX, EDX of CPUID 0x4000_0000, run before the loop (zero until the guest gets there).
    var canary: [UInt32]
    /// Interrupts the APIC handlers took, and the iterations of the interrupt-window loop whose self-IPI
    /// was not taken in its `sti; nop` window (missed) or not at all (lost).
    var interrupts: UInt32 = 0
    var windowMissed: UInt32 = 0
    var windowLost: UInt32 = 0
    /// 1 once the second vCPU (the cross-vCPU IPI cases) has its x2APIC on and waits for the IPI.
    var secondVCPUStage: UInt32 = 0
    /// Page faults the #PF handler resumed (the CPL3 page-fault loop).
    var faultsResumed: UInt32 = 0

    /// Reads the mailbox of `memory`.
    static func read(from memory: borrowing GuestMemory) throws(KVMError) -> MailboxReport {
        let base = Int(GuestLayout.mailboxAddress)
        return MailboxReport(
            stage: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_STAGE)),
            done: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_DONE)) != 0,
            stored: Int(try memory.load(UInt32.self, at: base + Int(CGUEST_MB_STORED))),
            faultVector: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_FAULT_VECTOR)),
            faultErrorCode: try memory.load(UInt64.self, at: base + Int(CGUEST_MB_FAULT_ERROR)),
            faultRIP: try memory.load(UInt64.self, at: base + Int(CGUEST_MB_FAULT_RIP)),
            faultCR2: try memory.load(UInt64.self, at: base + Int(CGUEST_MB_FAULT_CR2)),
            canary: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_CANARY), count: 4),
            interrupts: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_IRQ_COUNT)),
            windowMissed: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_WINDOW_MISSED)),
            windowLost: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_WINDOW_LOST)),
            secondVCPUStage: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_AP_STAGE)),
            faultsResumed: try memory.load(UInt32.self, at: base + Int(CGUEST_MB_FAULTS_RESUMED)))
    }

    /// The stage in words, for failure reasons.
    var stageDescription: String {
        switch Int32(stage) {
        case CGUEST_STAGE_ENTERED: "entered, before the canary CPUID"
        case CGUEST_STAGE_CANARY_READ: "after the canary CPUID, before the loop"
        case CGUEST_STAGE_LOOPING: "in its loop, \(stored) samples stored"
        default: "never reached its first store"
        }
    }

    /// The canary's EBX, ECX, EDX, once the guest has stored them.
    var canarySignatureRegisters: [UInt32]? {
        stage >= UInt32(CGUEST_STAGE_CANARY_READ) ? Array(canary.dropFirst()) : nil
    }
}
