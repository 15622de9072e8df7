// KVMRunView: the one place that reads and writes a vCPU's kvm_run (the page KVM_RUN reports through, and
// the data pages after it). Decoding an exit and completing one (I/O in, MMIO read, user-space MSR) both go
// through it, so both can be tested on a hand-filled mapping without KVM.

import CKVM

/// A view of one `kvm_run` mapping: the struct at offset 0 and the data area (port I/O bytes) after it.
struct KVMRunView: Sendable {
    /// The mapping: a vCPU's (KVM_GET_VCPU_MMAP_SIZE bytes of its descriptor), or an anonymous one in tests.
    let mapping: HostMapping

    /// A view of `mapping`, which must be at least one `kvm_run` long (it is page-aligned by construction).
    init(_ mapping: HostMapping) {
        precondition(mapping.size >= MemoryLayout<kvm_run>.size, "mapping smaller than struct kvm_run")
        self.mapping = mapping
    }

    /// Calls `body` with the mapping's start as a `kvm_run` pointer. Unsafe: the pointer must not escape.
    @unsafe
    private func withRunPointer<R, E: Error>(_ body: (UnsafeMutablePointer<kvm_run>) throws(E) -> R) throws(E) -> R {
        // SAFETY: the mapping is page-aligned, at least sizeof(kvm_run) long (checked in init) and alive for
        // the call; kvm_run is a C struct of integers, so whatever bytes KVM or a test left there form a
        // valid value, and binding the untyped mmap'ed memory to it is allowed.
        try unsafe mapping.withBaseAddress { base throws(E) in
            try unsafe body(base.bindMemory(to: kvm_run.self, capacity: 1))
        }
    }

    /// Calls `body` with in-place access to the `kvm_run` at the start of the mapping.
    func withRun<R, E: Error>(_ body: (inout kvm_run) throws(E) -> R) throws(E) -> R {
        // SAFETY: the reference lives only as long as `body`; see withRunPointer.
        try unsafe withRunPointer { run throws(E) in try unsafe body(&run.pointee) }
    }

    /// kvm_run.exit_reason (KVM_EXIT_*).
    var exitReason: UInt32 { withRun { $0.exit_reason } }

    /// kvm_run.immediate_exit, read and written atomically: a stop request on another thread sets it, and
    /// KVM reads it on entry to KVM_RUN.
    var immediateExit: Bool {
        // SAFETY (both): the pointer is used only for the call; the C helpers access the one byte atomically.
        get { unsafe withRunPointer { unsafe ckvm_run_load_immediate_exit($0) } != 0 }
        nonmutating set { unsafe withRunPointer { unsafe ckvm_run_store_immediate_exit($0, newValue ? 1 : 0) } }
    }

    /// A copy of `count` bytes of the data area at `offset` from the start of kvm_run (io.data_offset).
    func dataBytes(_ what: String, at offset: UInt64, count: Int) throws(KVMError) -> [UInt8] {
        try mapping.copyBytes(what, at: offset, count: count)
    }

    // MARK: completing an exit before the next KVM_RUN

    /// Fills the bytes an `in` instruction receives: `bytes.count` must be size × count of the pending
    /// KVM_EXIT_IO in (EINVAL otherwise, or when no `in` is pending).
    func completeIn(_ bytes: [UInt8]) throws(KVMError) {
        let io = withRun { $0.io }
        guard exitReason == UInt32(KVM_EXIT_IO), io.direction == UInt8(KVM_EXIT_IO_IN) else {
            throw KVMError.invalid("completeIn without a pending KVM_EXIT_IO in")
        }
        let length = Int(io.size) * Int(io.count)
        guard bytes.count == length else {
            throw KVMError.invalid("completeIn with \(bytes.count) bytes for an in of \(io.count) × \(io.size)")
        }
        try mapping.write("KVM_EXIT_IO data", bytes, at: io.data_offset)
    }

    /// Fills the bytes an MMIO read receives: `bytes.count` must be the pending KVM_EXIT_MMIO read's length.
    func completeMMIORead(_ bytes: [UInt8]) throws(KVMError) {
        try withRun { run throws(KVMError) in
            guard run.exit_reason == UInt32(KVM_EXIT_MMIO), run.mmio.is_write == 0 else {
                throw KVMError.invalid("completeMMIORead without a pending KVM_EXIT_MMIO read")
            }
            guard bytes.count == Int(run.mmio.len), bytes.count <= 8 else {
                throw KVMError.invalid("completeMMIORead with \(bytes.count) bytes for a read of \(run.mmio.len)")
            }
            let padded = bytes + [UInt8](repeating: 0, count: 8 - bytes.count)
            run.mmio.data = (padded[0], padded[1], padded[2], padded[3], padded[4], padded[5], padded[6], padded[7])
        }
    }

    /// Answers a pending KVM_EXIT_X86_RDMSR with `value`.
    func completeMSRRead(_ value: UInt64) throws(KVMError) {
        try withRun { run throws(KVMError) in
            guard run.exit_reason == UInt32(KVM_EXIT_X86_RDMSR) else {
                throw KVMError.invalid("completeMSRRead without a pending KVM_EXIT_X86_RDMSR")
            }
            run.msr.data = value
            run.msr.error = 0
        }
    }

    /// Makes a pending KVM_EXIT_X86_RDMSR or KVM_EXIT_X86_WRMSR fail: the guest gets #GP.
    func failMSRAccess() throws(KVMError) {
        try withRun { run throws(KVMError) in
            guard run.exit_reason == UInt32(KVM_EXIT_X86_RDMSR) || run.exit_reason == UInt32(KVM_EXIT_X86_WRMSR)
            else { throw KVMError.invalid("failMSRAccess without a pending user-space MSR exit") }
            run.msr.error = 1
        }
    }
}
