// The KVM_RUN loop of one case: exits the case causes on purpose are completed and the guest resumed; the
// done port ends the run, the fault port reports the guest's exception; everything else ends the run with
// a failure that names the exit and where the guest was.

import CKVM
import KVM

extension CaseRunner {
    /// How a run ended.
    enum RunEnd {
        /// The guest said done: the samples are in place.
        case done
        /// The guest reported an exception through the fault port; the mailbox has the details.
        case faulted
        /// Anything else.
        case failed(CaseFailure)
    }

    /// Runs `cpu` until the guest is done, faults, or something else ends it; returns how, and how many of
    /// the case's own exits reached user space on the way.
    func drive(
        _ cpu: borrowing VirtualCPU, exitCase: ExitCase, plan: GuestPlan, watchdog: borrowing VCPUWatchdog
    ) throws(KVMError) -> (end: RunEnd, userExits: Int) {
        var userExits = 0
        while true {
            let exit = try enter(cpu)
            switch exit {
            case .io(direction: .out, port: GuestPort.done, size: _, count: _, data: _):
                return (.done, userExits)
            case .io(direction: .out, port: GuestPort.fault, size: _, count: _, data: _):
                return (.faulted, userExits)
            case .interrupted:
                // A signal other than the watchdog's kick: run on; the watchdog still bounds the run.
                guard watchdog.hasFired else { continue }
                return (
                    .failed(
                        CaseFailure(
                            kind: .timedOut, reason: "the watchdog stopped the guest", exitReason: name(of: exit))),
                    userExits
                )
            case .shutdown:
                return (
                    .failed(
                        CaseFailure(
                            kind: .tripleFault, reason: "the guest triple-faulted (or shut down)",
                            exitReason: name(of: exit))),
                    userExits
                )
            case .failEntry(let hardwareReason, let cpuNumber):
                return (
                    .failed(
                        CaseFailure(
                            kind: .entryFailed,
                            reason: "KVM could not enter the guest on CPU \(cpuNumber): hardware entry failure reason "
                                + Self.hex(hardwareReason),
                            exitReason: name(of: exit))), userExits
                )
            case .internalError(let suberror, let data):
                return (
                    .failed(
                        CaseFailure(
                            kind: .internalError, reason: Self.describeInternalError(suberror, data: data),
                            exitReason: name(of: exit))), userExits
                )
            default:
                if try complete(exit, on: cpu, body: exitCase.body, plan: plan) {
                    userExits += 1
                    if injectedExitDelayCycles > 0 { Self.busyWait(cycles: injectedExitDelayCycles) }
                    continue
                }
                return (
                    .failed(
                        CaseFailure(
                            kind: .unexpected, reason: "\(Self.describe(exit)), which \(exitCase.name) does not cause",
                            exitReason: name(of: exit))), userExits
                )
            }
        }
    }

    /// Completes `exit` when it is the one the case's body causes on purpose (its `completion`), and says
    /// whether it was.
    func complete(
        _ exit: VCPUExit, on cpu: borrowing VirtualCPU, body: ExitCase.Body, plan: GuestPlan
    ) throws(KVMError) -> Bool {
        guard let completion = body.completion else { return false }
        switch (completion, exit) {
        case (.portOut(let port), .io(direction: .out, let seen, size: _, count: _, data: _)) where seen == port:
            return true
        case (.portIn(let port), .io(direction: .in, let seen, let size, let count, data: _)) where seen == port:
            try cpu.completeIn(bytes: [UInt8](repeating: 0, count: size * count))
            return true
        case (.mmioWrite, .mmio(address: GuestLayout.mmioAddress, isWrite: true, length: _, data: _)):
            return true
        case (.mmioRead, .mmio(address: GuestLayout.mmioAddress, isWrite: false, let length, data: _)):
            try cpu.completeMMIORead(bytes: [UInt8](repeating: 0, count: length))
            return true
        case (.hlt, .hlt):
            return true
        case (.msrRead(let index), .x86RDMSR(let seen)) where plan.userSpaceMSR && seen == index:
            try cpu.completeMSRRead(value: 0)
            return true
        default:
            return false
        }
    }

    /// Spins on the TSC for `cycles` (the injected exit delay): a fixed cost, not a sleep, so it is the same
    /// on every exit whatever the scheduler does.
    static func busyWait(cycles: UInt64) {
        let start = ckvm_tsc_begin()
        while ckvm_tsc_begin() &- start < cycles {}
    }

    /// The uapi name of `exit`'s reason.
    func name(of exit: VCPUExit) -> String { VCPUExit.name(ofReason: exit.reason) }

    /// An exit in words, with what matters for telling why it came.
    static func describe(_ exit: VCPUExit) -> String {
        let name = VCPUExit.name(ofReason: exit.reason)
        switch exit {
        case .io(let direction, let port, let size, _, _):
            let hint = port == GuestPort.kernel ? " (no in-kernel device took it)" : ""
            return "\(name): \(direction == .in ? "in from" : "out to") port \(hex(port)), \(size) bytes\(hint)"
        case .mmio(let address, let isWrite, let length, _):
            return "\(name): \(isWrite ? "write to" : "read from") \(hex(address)), \(length) bytes"
        case .x86RDMSR(let index):
            return "\(name): rdmsr \(hex(index))"
        case .x86WRMSR(let index, let data):
            return "\(name): wrmsr \(hex(index)) = \(hex(data))"
        case .systemEvent(let type):
            return "\(name): type \(type)"
        default:
            return name
        }
    }

    /// An internal error in words: the suberror, and for an emulation failure that carries them
    /// (KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) the bytes KVM could not emulate, else the raw data.
    static func describeInternalError(_ suberror: UInt32, data: [UInt64]) -> String {
        let text = "KVM internal error \(suberror) (\(internalErrorName(suberror)))"
        // kvm_run.emulation_failure: flags, then insn_size and up to 15 instruction bytes.
        if suberror == 1, data.count >= 3, data[0] & 1 != 0 {
            let bytes = data[1...2].flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
            let instruction = bytes.dropFirst().prefix(min(Int(bytes[0]), 15))
            return text + " at instruction bytes " + instruction.map { hexByte($0) }.joined(separator: " ")
        }
        return text + ", data [\(data.map { hex($0) }.joined(separator: ", "))]"
    }

    /// Two hexadecimal digits.
    static func hexByte(_ byte: UInt8) -> String {
        (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
    }

    /// KVM_INTERNAL_ERROR_* in words (include/uapi/linux/kvm.h).
    static func internalErrorName(_ suberror: UInt32) -> String {
        switch suberror {
        case 1: "emulation failure: KVM could not emulate an instruction"
        case 2: "an exception while delivering an exception"
        case 3: "an exit while delivering an event"
        case 4: "an exit reason KVM did not expect"
        default: "unknown suberror"
        }
    }
}
