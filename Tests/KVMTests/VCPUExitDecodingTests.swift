// Decoding VCPUExit from, and completing exits in, a hand-filled kvm_run: an anonymous mapping laid out as
// KVM lays out a vCPU's (struct kvm_run, then the port I/O data page). No KVM needed.

import CKVM
import Glibc
import Testing

@testable import KVM

/// A kvm_run mapping of three pages, zeroed, as KVM_GET_VCPU_MMAP_SIZE usually reports.
func makeRunView() throws -> KVMRunView {
    KVMRunView(try HostMapping(anonymousSize: 3 * Syscall.pageSize))
}

/// Where KVM puts port I/O data: the page after struct kvm_run (KVM_PIO_PAGE_OFFSET = 1).
let ioDataOffset = UInt64(Syscall.pageSize)

@Suite("VCPUExit decoding from a hand-filled kvm_run")
struct VCPUExitDecodingTests {
    @Test("KVM_EXIT_IO out copies size × count bytes from the data area")
    func ioOut() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_IO)
            run.io.direction = UInt8(KVM_EXIT_IO_OUT)
            run.io.size = 2
            run.io.port = 0x3f8
            run.io.count = 2
            run.io.data_offset = ioDataOffset
        }
        try run.mapping.write("test", [0x41, 0x42, 0x43, 0x44, 0x45], at: ioDataOffset)
        let exit = try VCPUExit(decoding: run)
        #expect(exit == .io(direction: .out, port: 0x3f8, size: 2, count: 2, data: [0x41, 0x42, 0x43, 0x44]))
        #expect(exit.reason == UInt32(KVM_EXIT_IO))
    }

    @Test("KVM_EXIT_IO in has no data until completed, and completion writes the data area")
    func ioIn() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_IO)
            run.io.direction = UInt8(KVM_EXIT_IO_IN)
            run.io.size = 4
            run.io.port = 0x60
            run.io.count = 1
            run.io.data_offset = ioDataOffset
        }
        #expect(try VCPUExit(decoding: run) == .io(direction: .in, port: 0x60, size: 4, count: 1, data: []))
        #expect(throws: KVMError.self) { try run.completeIn([1, 2, 3]) }
        try run.completeIn([1, 2, 3, 4])
        #expect(try run.mapping.copyBytes("test", at: ioDataOffset, count: 5) == [1, 2, 3, 4, 0])
    }

    @Test("an I/O data offset outside the mapping throws instead of reading past it")
    func ioOutOfBounds() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_IO)
            run.io.direction = UInt8(KVM_EXIT_IO_OUT)
            run.io.size = 4
            run.io.count = 1
            run.io.data_offset = UInt64(3 * Syscall.pageSize - 2)
        }
        let error = #expect(throws: KVMError.self) { try VCPUExit(decoding: run) }
        #expect(error?.errno == EFAULT)
        run.withRun { $0.io.data_offset = .max }
        #expect(throws: KVMError.self) { try VCPUExit(decoding: run) }
    }

    @Test("KVM_EXIT_MMIO: a write carries length bytes; a read is completed in place")
    func mmio() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_MMIO)
            run.mmio.phys_addr = 0xfee0_0000
            run.mmio.data = (0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff)
            run.mmio.len = 4
            run.mmio.is_write = 1
        }
        #expect(
            try VCPUExit(decoding: run)
                == .mmio(address: 0xfee0_0000, isWrite: true, length: 4, data: [0x78, 0x56, 0x34, 0x12]))
        #expect(throws: KVMError.self) { try run.completeMMIORead([1, 2, 3, 4]) }

        run.withRun { run in
            run.mmio.is_write = 0
            run.mmio.len = 2
        }
        #expect(try VCPUExit(decoding: run) == .mmio(address: 0xfee0_0000, isWrite: false, length: 2, data: []))
        #expect(throws: KVMError.self) { try run.completeMMIORead([1]) }
        try run.completeMMIORead([0xaa, 0xbb])
        let data = run.withRun { $0.mmio.data }
        #expect([data.0, data.1, data.2] == [0xaa, 0xbb, 0])
    }

    @Test("exits without data, and KVM_EXIT_INTR, decode to their cases")
    func simpleExits() throws {
        let run = try makeRunView()
        let cases: [(Int32, VCPUExit)] = [
            (KVM_EXIT_HLT, .hlt), (KVM_EXIT_SHUTDOWN, .shutdown), (KVM_EXIT_INTR, .interrupted),
            (KVM_EXIT_DEBUG, .debug),
        ]
        for (reason, expected) in cases {
            run.withRun { $0.exit_reason = UInt32(reason) }
            #expect(try VCPUExit(decoding: run) == expected)
            #expect(expected.reason == UInt32(reason))
        }
    }

    @Test("KVM_EXIT_FAIL_ENTRY carries the hardware reason and the CPU")
    func failEntry() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_FAIL_ENTRY)
            run.fail_entry.hardware_entry_failure_reason = 0x8000_0021
            run.fail_entry.cpu = 3
        }
        #expect(try VCPUExit(decoding: run) == .failEntry(hardwareReason: 0x8000_0021, cpu: 3))
    }

    @Test("KVM_EXIT_INTERNAL_ERROR copies ndata words, never more than 16")
    func internalError() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_INTERNAL_ERROR)
            run.internal.suberror = UInt32(KVM_INTERNAL_ERROR_EMULATION)
            run.internal.ndata = 2
            run.internal.data.0 = 0xaa
            run.internal.data.1 = 0xbb
            run.internal.data.2 = 0xcc
        }
        #expect(try VCPUExit(decoding: run) == .internalError(suberror: 1, data: [0xaa, 0xbb]))
        run.withRun { $0.internal.ndata = 1000 }
        guard case .internalError(_, let data) = try VCPUExit(decoding: run) else {
            Issue.record("expected an internal error")
            return
        }
        #expect(data.count == 16)
    }

    @Test("KVM_EXIT_SYSTEM_EVENT carries its type")
    func systemEvent() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_SYSTEM_EVENT)
            run.system_event.type = UInt32(KVM_SYSTEM_EVENT_RESET)
        }
        #expect(try VCPUExit(decoding: run) == .systemEvent(type: 2))
    }

    @Test("user-space MSR exits decode, and completing them sets data and error")
    func msrExits() throws {
        let run = try makeRunView()
        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_X86_RDMSR)
            run.msr.index = 0xc000_0080
        }
        #expect(try VCPUExit(decoding: run) == .x86RDMSR(index: 0xc000_0080))
        try run.completeMSRRead(0x1234)
        #expect(run.withRun { ($0.msr.data, $0.msr.error) } == (0x1234, 0))
        try run.failMSRAccess()
        #expect(run.withRun { $0.msr.error } == 1)

        run.withRun { run in
            run.exit_reason = UInt32(KVM_EXIT_X86_WRMSR)
            run.msr.index = 0x174
            run.msr.data = 0x10
        }
        #expect(try VCPUExit(decoding: run) == .x86WRMSR(index: 0x174, data: 0x10))
        #expect(throws: KVMError.self) { try run.completeMSRRead(1) }
    }

    @Test("a reason this layer does not decode is a value, not an error")
    func unknownReasons() throws {
        let run = try makeRunView()
        for reason: UInt32 in [0, 1, 3, 7, 37, 9999] {
            run.withRun { $0.exit_reason = reason }
            #expect(try VCPUExit(decoding: run) == .unknown(reason: reason))
        }
        #expect(VCPUExit.name(ofReason: 2) == "KVM_EXIT_IO")
        #expect(VCPUExit.name(ofReason: 30) == "KVM_EXIT_X86_WRMSR")
        #expect(VCPUExit.name(ofReason: 9999) == "exit reason 9999")
    }

    @Test("completing an exit that is not pending throws EINVAL")
    func completionsNeedTheirExit() throws {
        let run = try makeRunView()
        run.withRun { $0.exit_reason = UInt32(KVM_EXIT_HLT) }
        let completions: [() throws -> Void] = [
            { try run.completeIn([0]) }, { try run.completeMMIORead([0]) }, { try run.completeMSRRead(0) },
            { try run.failMSRAccess() },
        ]
        for complete in completions {
            let error = #expect(throws: KVMError.self) { try complete() }
            #expect(error?.errno == EINVAL)
        }
    }

    @Test("immediate_exit is read and written through kvm_run, and a stop request sets it")
    func immediateExit() throws {
        let run = try makeRunView()
        #expect(!run.immediateExit)
        run.immediateExit = true
        #expect(run.withRun { $0.immediate_exit } == 1)
        run.immediateExit = false
        #expect(run.withRun { $0.immediate_exit } == 0)

        let handle = VCPUStopHandle(runArea: run)
        #expect(!handle.isStopRequested)
        handle.requestStop()  // no thread is in run(), so this only sets the flag
        #expect(handle.isStopRequested && run.immediateExit)
    }
}
