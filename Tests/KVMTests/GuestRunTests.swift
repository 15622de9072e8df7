// Booting tiny real-mode guests on /dev/kvm: port I/O out and in, MMIO write and read, HLT, and every way
// of stopping a vCPU (immediate_exit, a stop request from another thread, the watchdog).

import CKVM
import Dispatch
import Glibc
import Synchronization
import Testing

@testable import KVM

@Suite("Real-mode guests on /dev/kvm", .requiresKVM)
struct GuestRunTests {
    @Test("out, then in completed with a byte, then hlt")
    func portIO() throws {
        let guest = try RealModeGuest(
            code: Code.movDX(0x3f8) + Code.movAL(0x41) + Code.outDXAL + Code.inALDX + Code.hlt)
        #expect(try guest.cpu.run() == .io(direction: .out, port: 0x3f8, size: 1, count: 1, data: [0x41]))
        #expect(try guest.cpu.run() == .io(direction: .in, port: 0x3f8, size: 1, count: 1, data: []))
        try guest.cpu.completeIn(bytes: [0x5a])
        let exit = try guest.cpu.run()
        print("HLT without an irqchip exits as: \(exit) (\(VCPUExit.name(ofReason: exit.reason)))")
        #expect(exit == .hlt)
        let registers = try guest.cpu.registers()
        #expect(registers.rax & 0xff == 0x5a)
        #expect(registers.rip == UInt64(RealModeGuest.codeAddress + 9))
    }

    @Test("completing an in with the wrong length is refused before the guest sees it")
    func portInWrongLength() throws {
        let guest = try RealModeGuest(code: Code.movDX(0x60) + Code.inALDX + Code.hlt)
        #expect(try guest.cpu.run() == .io(direction: .in, port: 0x60, size: 1, count: 1, data: []))
        let error = #expect(throws: KVMError.self) { try guest.cpu.completeIn(bytes: [1, 2]) }
        #expect(error?.errno == EINVAL)
    }

    @Test("writes and reads outside RAM are MMIO exits; a read is completed with bytes")
    func mmio() throws {
        let guest = try RealModeGuest(
            code: Code.movAX(0x2000) + Code.movDSAX + Code.storeByte(0x42, at: 0x10)
                + Code.storeDword(0x1234_5678, at: 0x20) + Code.loadAL(from: 0x10) + Code.hlt)
        #expect(try guest.cpu.run() == .mmio(address: 0x20010, isWrite: true, length: 1, data: [0x42]))
        #expect(
            try guest.cpu.run() == .mmio(address: 0x20020, isWrite: true, length: 4, data: [0x78, 0x56, 0x34, 0x12]))
        #expect(try guest.cpu.run() == .mmio(address: 0x20010, isWrite: false, length: 1, data: []))
        try guest.cpu.completeMMIORead(bytes: [0x99])
        #expect(try guest.cpu.run() == .hlt)
        #expect(try guest.cpu.registers().rax & 0xff == 0x99)
    }

    @Test("the guest's writes to RAM are visible in GuestMemory")
    func guestWritesMemory() throws {
        let guest = try RealModeGuest(code: Code.storeByte(0x77, at: 0x3000) + Code.hlt)
        #expect(try guest.cpu.run() == .hlt)
        #expect(try guest.memory.load(UInt8.self, at: 0x3000) == 0x77)
    }

    @Test("immediate_exit set makes run() return .interrupted at once, without running the guest")
    func immediateExit() throws {
        let guest = try RealModeGuest(code: Code.hlt)
        guest.cpu.immediateExit = true
        #expect(try guest.cpu.run() == .interrupted)
        #expect(try guest.cpu.run() == .interrupted)
        #expect(try guest.cpu.registers().rip == UInt64(RealModeGuest.codeAddress))
        guest.cpu.immediateExit = false
        #expect(try guest.cpu.run() == .hlt)
    }

    @Test("a stop requested from another thread interrupts a guest that spins forever")
    func stopFromAnotherThread() throws {
        let guest = try RealModeGuest(code: Code.spin)
        let handle = guest.cpu.stopHandle
        let safetyNet = SafetyNet(stopping: handle)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) {
            handle.requestStop()
        }
        let exit = try guest.cpu.run()
        #expect(exit == .interrupted)
        #expect(!safetyNet.disarm(), "the single stop request was lost; the safety net had to stop the guest")
        let stillStopped = guest.cpu.immediateExit
        #expect(stillStopped, "a stop request stays in force until immediateExit is cleared")
        #expect(try guest.cpu.registers().rip == UInt64(RealModeGuest.codeAddress))
    }

    @Test("the watchdog stops a spinning guest, and says it fired")
    func watchdog() throws {
        let guest = try RealModeGuest(code: Code.spin)
        let safetyNet = SafetyNet(stopping: guest.cpu.stopHandle)
        let watchdog = VCPUWatchdog(stopping: guest.cpu.stopHandle, after: .milliseconds(20))
        #expect(try guest.cpu.run() == .interrupted)
        let fired = watchdog.hasFired
        #expect(fired)
        #expect(!safetyNet.disarm(), "the watchdog did not stop the guest; the safety net had to")
        guest.cpu.immediateExit = false
    }

    @Test("a disarmed watchdog never requests a stop")
    func disarmedWatchdog() throws {
        let guest = try RealModeGuest(code: Code.hlt)
        let watchdog = VCPUWatchdog(stopping: guest.cpu.stopHandle, after: .seconds(3600))
        watchdog.disarm()
        let fired = watchdog.hasFired
        #expect(!fired)
        #expect(try guest.cpu.run() == .hlt)
        #expect(!guest.cpu.stopHandle.isStopRequested)
    }
}

/// A hang guard, not a timing check: if a test's own stop mechanism fails, this keeps requesting stops
/// after 10 s so the test fails instead of hanging. `disarm()` reports whether it had to step in.
final class SafetyNet: Sendable {
    private let state = Mutex((armed: true, fired: false))

    init(stopping handle: VCPUStopHandle) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(10)) { [self] in
            while state.withLock({ state in
                if state.armed { state.fired = true }
                return state.armed
            }) {
                handle.requestStop()
                usleep(10_000)
            }
        }
    }

    /// Stops the guard; true if it had to stop the guest.
    func disarm() -> Bool {
        state.withLock { state in
            state.armed = false
            return state.fired
        }
    }
}
