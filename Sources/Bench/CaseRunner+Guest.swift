// Running a guest-timed case: the plan (loop, operands, what the VM needs), building the machine, the
// KVM_RUN loop, and reading the samples and the canary back out of the mailbox.

import KVM

extension CaseRunner {
    /// The guest for `exitCase` with `counts` iterations and warm-up on this host.
    func plan(for exitCase: ExitCase, counts: (iterations: Int, warmup: Int), cpuid: [KVMCPUIDEntry]) -> GuestPlan {
        let body = exitCase.body
        var parameters = MailboxParameters(
            loop: body.loop(vendor: environment.vendor, mode: exitCase.mode), useRDTSCP: environment.guestHasRDTSCP,
            iterations: counts.iterations, warmup: counts.warmup)
        (parameters.operandA, parameters.operandB) = (body.operandA, body.operandB)
        var plan = GuestPlan(mode: exitCase.mode, cpl: exitCase.cpl, parameters: parameters, cpuid: cpuid)
        switch body.target {
        case .none:
            break
        case .mmio:
            parameters.address = GuestLayout.mmioAddress
            parameters.segment = UInt16(GuestLayout.mmioAddress >> 4)
        case .firstTouch:
            let region = GuestLayout.touchRegion(exitCase.mode).address
            parameters.address = region
            parameters.segment = UInt16(truncatingIfNeeded: region >> 4)
            plan.touchPages = counts.iterations + counts.warmup
        case .unmapped:
            parameters.address = GuestLayout.unmappedAddress
        }
        if case .msrRead = body.completion { plan.userSpaceMSR = exitCase.exitsTo == .userSpace }
        plan.inKernelPIT = body.needs.contains(.inKernelPIT)
        plan.emptyIDT = body.needs.contains(.emptyIDT)
        for need in body.needs {
            switch need {
            case .cr4(let bits): plan.cr4Bits |= bits
            case .ioEventFD(let space): plan.ioEventFD = space
            case .localAPIC:
                plan.localAPIC = true
                plan.cpuid = CPUIDCanary.withLocalAPIC(plan.cpuid, tscDeadline: environment.has(.tscDeadlineTimer))
            case .secondVCPU: plan.secondVCPU = true
            case .iopl3: plan.iopl3 = true
            case .inKernelPIT, .emptyIDT: break
            }
        }
        plan.parameters = parameters
        return plan
    }

    /// Builds the guest, runs it to the end and reads its samples. With `baseline`, the same guest first runs
    /// the rdtsc loop of its mode and privilege with those counts, then starts over (registers and special
    /// registers as built) with the case's own loop: the baseline is timed in the same VM, just before.
    func runInGuest(
        _ exitCase: ExitCase, counts: (iterations: Int, warmup: Int), timeout: Duration, pinnedCPU: Int?,
        baseline: (iterations: Int, warmup: Int)? = nil
    ) throws(KVMError) -> GuestRun {
        let device = try KVMDevice(path: devicePath)
        let cpuid = CPUIDCanary.guestTable(from: try device.supportedCPUID(), rdtscp: environment.guestHasRDTSCP)
        let plan = plan(for: exitCase, counts: counts, cpuid: cpuid)
        let machine = try GuestSetup.build(plan, device: device)
        let watchdog = VCPUWatchdog(stopping: machine.cpu.stopHandle, after: timeout)
        var baselineCycles: [UInt64]?
        if let baseline, let baselineCase = baselineCase(for: exitCase), !plan.emptyIDT {
            switch try runBaseline(baselineCase, in: machine, plan: plan, counts: baseline, watchdog: watchdog) {
            case .success(let cycles): baselineCycles = cycles
            case .failure(let failure): return GuestRun(result: .failure(failure))
            }
        }
        // The cross-vCPU IPI cases' second vCPU, made after the baseline (which rewrites the mailbox it
        // reports in) and stopped however this ends: the watchdog bounds `drive`, `stop()` the rest.
        var secondRun: SecondVCPURun? = nil
        if plan.secondVCPU {
            let second: VirtualCPU
            do {
                second = try GuestSetup.secondVCPU(plan, vm: machine.vm)
            } catch {
                return GuestRun(result: .failure(Self.secondVCPUSetupFailure(error)))
            }
            let run = SecondVCPURun(second)
            run.start(avoiding: pinnedCPU)
            secondRun = run
        }
        defer { secondRun?.stop() }
        let ending = try drive(machine.cpu, exitCase: exitCase, plan: plan, watchdog: watchdog)
        let secondEnding = secondRun?.stop()
        watchdog.disarm()
        let report = try MailboxReport.read(from: machine.memory)
        var result: Result<CaseSamples, CaseFailure>
        switch ending.end {
        case .failed(var failure):
            let rip = try? machine.cpu.registers().rip
            if failure.guestRIP == nil { failure.guestRIP = rip }
            if failure.kind == .timedOut { failure.reason += " (the guest was \(report.stageDescription))" }
            if failure.kind == .unexpected, let rip { failure.reason += " (RIP \(Self.hex(rip)))" }
            result = .failure(failure)
        case .faulted:
            result = .failure(Self.exceptionFailure(report))
        case .done:
            result = try samples(
                exitCase, report: report, memory: machine.memory, counts: counts, userExits: ending.userExits,
                pinnedCPU: pinnedCPU)
            if case .success = result, let signals = try machine.counter?.take(),
                signals != UInt64(counts.iterations + counts.warmup)
            {
                result = .failure(
                    CaseFailure(
                        kind: .unexpected,
                        reason: "expected \(counts.iterations + counts.warmup) eventfd signals from KVM_IOEVENTFD, "
                            + "saw \(signals)"))
            }
        }
        if let secondEnding,
            let failure = Self.secondVCPUFailure(
                report, end: ending.end, second: secondEnding, expected: counts.iterations + counts.warmup)
        {
            result = .failure(failure)
        }
        return GuestRun(
            result: result, signatureRegisters: report.canarySignatureRegisters, baselineCycles: baselineCycles)
    }

    /// The rdtsc case of `exitCase`'s mode and privilege, when `exitCase` is timed in the guest and is not it.
    func baselineCase(for exitCase: ExitCase) -> ExitCase? {
        guard exitCase.timedInGuest, exitCase.body != .rdtsc, !exitCase.mode.isNestedSVM else { return nil }
        return Self.catalogue.first { $0.body == .rdtsc && $0.mode == exitCase.mode && $0.cpl == exitCase.cpl }
    }

    /// Runs `baselineCase`'s loop in `machine` (built for another case), reads its samples, and puts the
    /// machine back as built: registers, special registers and the case's own mailbox parameters.
    func runBaseline(
        _ baselineCase: ExitCase, in machine: borrowing GuestMachine, plan: GuestPlan,
        counts: (iterations: Int, warmup: Int), watchdog: borrowing VCPUWatchdog
    ) throws(KVMError) -> Result<[UInt64], CaseFailure> {
        let registers = try machine.cpu.registers()
        let special = try machine.cpu.specialRegisters()
        let counts = Self.sampleCounts(baselineCase, iterations: counts.iterations, warmup: counts.warmup)
        let parameters = MailboxParameters(
            loop: baselineCase.body.loop(vendor: environment.vendor, mode: baselineCase.mode),
            useRDTSCP: environment.guestHasRDTSCP,
            iterations: counts.iterations, warmup: counts.warmup)
        try parameters.write(to: machine.memory)
        let ending = try drive(machine.cpu, exitCase: baselineCase, plan: plan, watchdog: watchdog)
        let report = try MailboxReport.read(from: machine.memory)
        guard case .done = ending.end, report.stored == counts.iterations else {
            var failure: CaseFailure
            switch ending.end {
            case .failed(let ended): failure = ended
            case .faulted: failure = Self.exceptionFailure(report)
            case .done:
                failure = CaseFailure(
                    kind: .unexpected, reason: "stored \(report.stored) samples, not \(counts.iterations)")
            }
            failure.reason = "its baseline (\(baselineCase.id), timed first in the same guest): " + failure.reason
            return .failure(failure)
        }
        let deltas = try machine.memory.load(
            UInt32.self, at: Int(GuestLayout.samplesAddress), count: counts.iterations)
        try machine.cpu.setRegisters(registers)
        try machine.cpu.setSpecialRegisters(special)
        try plan.parameters.write(to: machine.memory)
        return .success(deltas.map(UInt64.init))
    }

    /// The samples of a guest that said done, checked against what was asked and what exited.
    func samples(
        _ exitCase: ExitCase, report: MailboxReport, memory: borrowing GuestMemory,
        counts: (iterations: Int, warmup: Int), userExits: Int, pinnedCPU: Int?
    ) throws(KVMError) -> Result<CaseSamples, CaseFailure> {
        guard report.stored == counts.iterations else {
            return .failure(
                CaseFailure(
                    kind: .unexpected, reason: "the guest stored \(report.stored) samples, not \(counts.iterations)"))
        }
        let expectedExits = counts.iterations + counts.warmup
        if exitCase.exitsTo == .userSpace && userExits != expectedExits {
            return .failure(
                CaseFailure(
                    kind: .unexpected,
                    reason: "expected \(expectedExits) exits to user space, saw \(userExits): "
                        + "this host handles \(exitCase.name) elsewhere"))
        }
        if exitCase.body.target == .unmapped, Int(report.faultsResumed) != expectedExits {
            return .failure(
                CaseFailure(
                    kind: .unexpected,
                    reason: "the guest's #PF handler resumed \(report.faultsResumed) page faults, not \(expectedExits)")
            )
        }
        if exitCase.body.needs.contains(.localAPIC),
            let failure = Self.interruptFailure(
                report, perIteration: exitCase.body.interruptsPerIteration, counts: counts)
        {
            return .failure(failure)
        }
        let deltas = try memory.load(UInt32.self, at: Int(GuestLayout.samplesAddress), count: counts.iterations)
        return .success(
            CaseSamples(
                cycles: deltas.map(UInt64.init), exitsPerSample: exitCase.body.iterationsPerSample,
                warmup: counts.warmup, timedInGuest: true, pinnedCPU: pinnedCPU,
                endedWithRDTSCP: environment.guestHasRDTSCP))
    }

    /// The failure for an exception the guest reported through the fault port.
    static func exceptionFailure(_ report: MailboxReport) -> CaseFailure {
        let vector = report.faultVector
        let name = vector < exceptionNames.count ? exceptionNames[Int(vector)] : "an interrupt"
        var reason =
            "the guest took \(name) (vector \(vector)), error code \(hex(report.faultErrorCode)), "
            + "at RIP \(hex(report.faultRIP))"
        if vector == 14 { reason += ", CR2 \(hex(report.faultCR2))" }
        return CaseFailure(
            kind: .guestException, reason: reason, exitReason: VCPUExit.name(ofReason: 2), guestRIP: report.faultRIP)
    }

    /// The exception mnemonics for vectors 0–31 (SDM vol. 3A §7.15, APM vol. 2 §8.2).
    static let exceptionNames = [
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coprocessor segment overrun", "#TS",
        "#NP", "#SS", "#GP", "#PF", "reserved vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
        "reserved vector 22", "reserved vector 23", "reserved vector 24", "reserved vector 25",
        "reserved vector 26", "reserved vector 27", "#HV", "#VC", "#SX", "reserved vector 31",
    ]

    /// `value` as 0x-prefixed hexadecimal.
    static func hex(_ value: some BinaryInteger) -> String { "0x" + String(value, radix: 16) }
}
