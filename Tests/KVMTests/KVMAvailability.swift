// The one gate for tests that need a working /dev/kvm, and the small real-mode guest they boot.

import Foundation
import Testing

@testable import KVM

/// Whether this machine has a KVM the tests can drive, and why not when it has none.
enum KVMAvailability {
    /// Opens /dev/kvm, checks the API version and makes a VM: the least every KVM test needs.
    /// NESTPROBE_SKIP_KVM_TESTS=1 turns the KVM tests off on purpose.
    static let status: (usable: Bool, reason: String) = {
        let status = probe()
        FileHandle.standardError.write(Data("KVMTests: \(status.reason)\n".utf8))
        return status
    }()

    private static func probe() -> (usable: Bool, reason: String) {
        if ProcessInfo.processInfo.environment["NESTPROBE_SKIP_KVM_TESTS"] == "1" {
            return (false, "KVM tests skipped: NESTPROBE_SKIP_KVM_TESTS=1")
        }
        do {
            let device = try KVMDevice()
            let version = try device.apiVersion()
            guard version == KVMDevice.expectedAPIVersion else {
                return (false, "KVM tests skipped: /dev/kvm speaks API version \(version), not 12")
            }
            _ = try device.createVM()
            return (true, "/dev/kvm is usable; running the KVM tests")
        } catch {
            return (false, "KVM tests skipped: \(error)")
        }
    }

    /// True when /dev/kvm opens, speaks API 12 and makes a VM.
    static var usable: Bool { status.usable }

    /// True when /dev/kvm works and offers `capability`.
    static func has(_ capability: KVMCapability) -> Bool {
        guard usable, let device = try? KVMDevice() else { return false }
        return device.checkExtension(capability) > 0
    }

    /// True when /dev/kvm is served by kvm_pvm, the software hypervisor, which differs from VMX and SVM in
    /// a few corners the tests mark as known issues.
    static var isPVM: Bool { FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") }

    /// Why the KVM tests run or are skipped.
    static var reason: Comment { Comment(rawValue: status.reason) }
}

/// One guest that spins forever at a time in the whole test process (the Bench runner and its tests take the
/// same slot): on kvm_pvm a spinning guest keeps its CPU inside KVM_RUN, and two of them on a 2-CPU machine
/// can starve the thread that is meant to stop them.
func withSpinningGuestSlot<R>(_ body: () throws -> R) rethrows -> R {
    try GuestExclusivity.withSlot(body)
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only where /dev/kvm works, and says why it was skipped otherwise.
    static var requiresKVM: Self { .enabled(if: KVMAvailability.usable, KVMAvailability.reason) }
}

/// A 16-bit real-mode guest: 64 KiB of RAM at guest physical 0, `code` at 0x1000, CS:IP = 0000:1000.
struct RealModeGuest: ~Copyable {
    let device: KVMDevice
    let vm: VirtualMachine
    let memory: GuestMemory
    let cpu: VirtualCPU

    /// Where the code goes, and where execution starts.
    static let codeAddress = 0x1000

    /// The RAM size: addresses from here up are MMIO.
    static let memorySize = 0x10000

    init(code: [UInt8]) throws {
        // Locals first: a throwing init cannot leave a ~Copyable struct half-initialized.
        let device = try KVMDevice()
        let vm = try device.createVM()
        // Intel hosts without unrestricted guest run real mode through a TSS; harmless elsewhere.
        if device.checkExtension(.setTSSAddress) > 0 {
            try vm.setTSSAddress(0xfffb_d000)
        }
        let memory = try GuestMemory(size: Self.memorySize)
        try memory.write(code, at: Self.codeAddress)
        try vm.setUserMemoryRegion(slot: 0, guestPhysicalAddress: 0, memory: memory)
        let cpu = try vm.createVCPU()
        // From the reset state, only move CS from F000:FFF0 to 0000 (as the LWN "Using the KVM API" guest).
        var sregs = try cpu.specialRegisters()
        sregs.cs.base = 0
        sregs.cs.selector = 0
        try cpu.setSpecialRegisters(sregs)
        var registers = Registers()
        registers.rip = UInt64(Self.codeAddress)
        registers.rsp = 0x8000
        try cpu.setRegisters(registers)
        self.device = device
        self.vm = vm
        self.memory = memory
        self.cpu = cpu
    }
}

/// Real-mode machine code, spelled out so each test shows its guest.
enum Code {
    static let hlt: [UInt8] = [0xf4]
    /// `jmp $`: spins until something stops the vCPU.
    static let spin: [UInt8] = [0xeb, 0xfe]
    /// `mov dx, imm16`
    static func movDX(_ value: UInt16) -> [UInt8] { [0xba, UInt8(value & 0xff), UInt8(value >> 8)] }
    /// `mov al, imm8`
    static func movAL(_ value: UInt8) -> [UInt8] { [0xb0, value] }
    /// `mov ax, imm16`
    static func movAX(_ value: UInt16) -> [UInt8] { [0xb8, UInt8(value & 0xff), UInt8(value >> 8)] }
    /// `mov ds, ax`
    static let movDSAX: [UInt8] = [0x8e, 0xd8]
    /// `out dx, al`
    static let outDXAL: [UInt8] = [0xee]
    /// `in al, dx`
    static let inALDX: [UInt8] = [0xec]
    /// `mov byte [disp16], imm8`
    static func storeByte(_ value: UInt8, at displacement: UInt16) -> [UInt8] {
        [0xc6, 0x06, UInt8(displacement & 0xff), UInt8(displacement >> 8), value]
    }
    /// `mov dword [disp16], imm32` (operand-size prefix)
    static func storeDword(_ value: UInt32, at displacement: UInt16) -> [UInt8] {
        [0x66, 0xc7, 0x06, UInt8(displacement & 0xff), UInt8(displacement >> 8)]
            + (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    /// `mov al, [disp16]`
    static func loadAL(from displacement: UInt16) -> [UInt8] {
        [0xa0, UInt8(displacement & 0xff), UInt8(displacement >> 8)]
    }
    /// `mov ecx, imm32`
    static func movECX(_ value: UInt32) -> [UInt8] {
        [0x66, 0xb9] + (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    /// `rdmsr` and `wrmsr`
    static let rdmsr: [UInt8] = [0x0f, 0x32]
    static let wrmsr: [UInt8] = [0x0f, 0x30]
}
