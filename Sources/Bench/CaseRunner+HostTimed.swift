// The host-timed case: the fixed cost of one KVM_RUN round trip with kvm_run.immediate_exit set — into the
// kernel, through KVM's entry checks, back out with EINTR before the guest runs — timed on this thread with
// the same fenced TSC reads the host's own CPUID timing uses. The VM is built before the clock starts.

import CKVM
import KVM

extension CaseRunner {
    /// Times `counts.iterations` KVM_RUNs with immediate_exit set, after `counts.warmup` untimed ones.
    func runOnHost(
        _ exitCase: ExitCase, counts: (iterations: Int, warmup: Int), timeout: Duration, pinnedCPU: Int?
    ) throws(KVMError) -> GuestRun {
        let device = try KVMDevice(path: devicePath)
        let cpuid = CPUIDCanary.guestTable(from: try device.supportedCPUID(), rdtscp: environment.guestHasRDTSCP)
        let plan = plan(for: exitCase, counts: (1, 0), cpuid: cpuid)
        let machine = try GuestSetup.build(plan, device: device)
        let watchdog = VCPUWatchdog(stopping: machine.cpu.stopHandle, after: timeout)
        defer { watchdog.disarm() }
        machine.cpu.immediateExit = true
        for _ in 0..<counts.warmup {
            let exit = try enter(machine.cpu)
            if exit != .interrupted { return notInterrupted(exit) }
        }
        var cycles: [UInt64] = []
        cycles.reserveCapacity(counts.iterations)
        for _ in 0..<counts.iterations {
            let start = ckvm_tsc_begin()
            let exit = try enter(machine.cpu)
            let end = ckvm_tsc_end()
            if exit != .interrupted { return notInterrupted(exit) }
            if watchdog.hasFired {
                return GuestRun(
                    result: .failure(
                        CaseFailure(
                            kind: .timedOut,
                            reason: "the watchdog fired after \(cycles.count) of \(counts.iterations) runs")))
            }
            cycles.append(end &- start)
        }
        machine.cpu.immediateExit = false
        return GuestRun(
            result: .success(
                CaseSamples(
                    cycles: cycles, exitsPerSample: 1, warmup: counts.warmup, timedInGuest: false, pinnedCPU: pinnedCPU,
                    endedWithRDTSCP: true)))
    }

    /// The failure when KVM_RUN with immediate_exit set returned anything but EINTR.
    private func notInterrupted(_ exit: VCPUExit) -> GuestRun {
        GuestRun(
            result: .failure(
                CaseFailure(
                    kind: .unexpected,
                    reason: "KVM_RUN with immediate_exit set returned \(Self.describe(exit)) instead of EINTR",
                    exitReason: name(of: exit))))
    }
}
