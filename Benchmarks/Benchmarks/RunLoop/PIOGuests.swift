// The one guest both sides of the run-loop comparison run, and its two hosts: nestprobe's KVM module and the
// minimal C VMM. Each host makes its VM once (in the benchmark's setup); a benchmark iteration is then one
// round trip: KVM_RUN enters the guest, the guest's `out` exits to user space, the host checks the exit.

import CReferenceVMM
import Foundation
import KVM

/// The guest: 16-bit real mode, 64 KiB of RAM at guest physical 0, code at 0000:1000 that writes AL to port
/// 0x510 forever. No in-kernel device claims the port (there is no irqchip or PIT), so every `out` is a
/// KVM_EXIT_IO to user space.
enum PIOGuest {
    /// The port the guest writes (QEMU's fw_cfg selector; here nothing behind it).
    static let port: UInt16 = 0x510

    /// Where the code goes, and CS:IP = 0000:codeAddress.
    static let codeAddress = 0x1000

    /// Guest RAM, from guest physical 0.
    static let memorySize = 0x10000

    /// `mov dx, 0x510` / `l: out dx, al` / `jmp l`
    static let code: [UInt8] = [0xba, 0x10, 0x05, 0xee, 0xeb, 0xfd]

    /// Why the run-loop benchmarks cannot run here, or nil when /dev/kvm opens, speaks API 12 and makes a
    /// VM. NESTPROBE_SKIP_KVM_BENCHMARKS=1 skips them on purpose.
    static func unavailableReason() -> String? {
        if ProcessInfo.processInfo.environment["NESTPROBE_SKIP_KVM_BENCHMARKS"] == "1" {
            return "NESTPROBE_SKIP_KVM_BENCHMARKS=1"
        }
        do {
            let device = try KVMDevice()
            let version = try device.apiVersion()
            guard version == KVMDevice.expectedAPIVersion else {
                return "/dev/kvm speaks API version \(version), not \(KVMDevice.expectedAPIVersion)"
            }
            _ = try device.createVM()
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// What went wrong while setting up or running a guest.
struct PIOGuestError: Error, CustomStringConvertible {
    var description: String
}

/// The guest on nestprobe's KVM module: the same calls as the KVM tests' real-mode guest.
final class SwiftKVMHost {
    let device: KVMDevice
    let vm: VirtualMachine
    let memory: GuestMemory
    let cpu: VirtualCPU

    init() throws(KVMError) {
        // Locals first: every stored property is ~Copyable and must be set exactly once.
        let device = try KVMDevice()
        let vm = try device.createVM()
        if device.checkExtension(.setTSSAddress) > 0 {
            try vm.setTSSAddress(0xfffb_d000)
        }
        let memory = try GuestMemory(size: PIOGuest.memorySize)
        try memory.write(PIOGuest.code, at: PIOGuest.codeAddress)
        try vm.setUserMemoryRegion(slot: 0, guestPhysicalAddress: 0, memory: memory)
        let cpu = try vm.createVCPU()
        var sregs = try cpu.specialRegisters()
        sregs.cs.base = 0
        sregs.cs.selector = 0
        try cpu.setSpecialRegisters(sregs)
        var registers = Registers()
        registers.rip = UInt64(PIOGuest.codeAddress)
        registers.rsp = 0x8000
        try cpu.setRegisters(registers)
        self.device = device
        self.vm = vm
        self.memory = memory
        self.cpu = cpu
    }

    /// One round trip: `run()` must return the guest's one-byte `out` to the port.
    @inline(__always)
    func roundTrip() throws {
        let exit = try cpu.run()
        guard case .io(direction: .out, port: PIOGuest.port, size: 1, count: 1, data: _) = exit else {
            throw PIOGuestError(description: "expected an out to port 0x510, got \(exit)")
        }
    }
}

/// The guest on the C reference VMM.
@safe
final class CReferenceHost {
    // @safe: the handle is made in init, closed in deinit, and never leaves this class.

    /// The C handle; closed in deinit.
    private let handle: OpaquePointer

    /// Makes the VM; with `signalMask`, the vCPU also gets the KVM signal mask nestprobe's KVM module gives
    /// every vCPU (see `ref_vmm_set_signal_mask`).
    init(signalMask: Bool = false) throws {
        // SAFETY: a zeroed C struct of a pointer and an int.
        var failure = unsafe ref_vmm_failure()
        // SAFETY: the path and code pointers are valid for the call (Swift passes a temporary C string and
        // the array's storage); ref_vmm_open copies the code into guest memory and keeps neither pointer.
        // `failure` is a local it writes only on failure.
        let handle = unsafe PIOGuest.code.withUnsafeBufferPointer { code in
            unsafe ref_vmm_open(
                KVMDevice.defaultPath, PIOGuest.memorySize, code.baseAddress, code.count,
                UInt64(PIOGuest.codeAddress), &failure)
        }
        guard let handle = unsafe handle else {
            // SAFETY: ref_vmm_open points `step` at a string literal.
            let step = unsafe failure.step.map { unsafe String(cString: $0) } ?? "?"
            throw PIOGuestError(description: "C reference VMM: \(step) failed: \(errnoText(unsafe failure.error))")
        }
        unsafe self.handle = handle
        if signalMask {
            // SAFETY: the handle was just opened.
            let result = unsafe ref_vmm_set_signal_mask(handle, VCPUStopHandle.kickSignal)
            guard result == 0 else {
                throw PIOGuestError(description: "C reference VMM: KVM_SET_SIGNAL_MASK failed: \(errnoText(-result))")
            }
        }
    }

    deinit {
        // SAFETY: the handle came from ref_vmm_open and is closed only here, once.
        unsafe ref_vmm_close(handle)
    }

    /// One round trip: KVM_RUN must end in the guest's one-byte `out` to the port.
    @inline(__always)
    func roundTrip() throws {
        // SAFETY: the handle is open for the lifetime of self.
        let result = unsafe ref_vmm_run_expecting_out(handle, PIOGuest.port)
        guard result == 0 else {
            let what =
                result < 0
                ? "KVM_RUN failed: \(errnoText(-result))"
                : "exit \(VCPUExit.name(ofReason: UInt32(result - REF_VMM_UNEXPECTED_EXIT)))"
            throw PIOGuestError(description: "C reference VMM: expected an out to port 0x510, got \(what)")
        }
    }
}

/// strerror's text for an errno value.
func errnoText(_ code: Int32) -> String {
    // SAFETY: strerror returns a NUL-terminated string that stays valid until the next strerror call on this
    // thread; it is copied at once.
    unsafe String(cString: strerror(code))
}
