// Running a three-level case: the case's ordinary long-mode plan, the mini-hypervisor installed on top, the
// same KVM_RUN loop as every guest case, and then what only this case can say — whose trouble a fault port
// was (the guest's guest's exception, a #VMEXIT the mini-hypervisor stopped on, or its own exception),
// and whether the mini-hypervisor handled every intercept the loop had to cause (the proof that the loop
// ran in its guest, with the canary its CPUID answer left there).

import CGuest
import KVM

extension CaseRunner {
    /// Builds the three-level guest for `exitCase`, runs it to the end and reads its samples and facts.
    func runNestedSVM(
        _ exitCase: ExitCase, counts: (iterations: Int, warmup: Int), timeout: Duration, pinnedCPU: Int?,
        breakConsistency: Bool = false
    ) throws(KVMError) -> GuestRun {
        let device = try KVMDevice(path: devicePath)
        let cpuid = CPUIDCanary.guestTable(from: try device.supportedCPUID(), rdtscp: environment.guestHasRDTSCP)
        var plan = plan(for: exitCase, counts: counts, cpuid: cpuid)
        // The empty IDT is the guest's guest's (its VMCB's); the mini-hypervisor keeps long mode's own.
        plan.emptyIDT = false
        var svmPlan = NestedSVMPlan(exitCase, table: cpuid)
        svmPlan.breakConsistency = breakConsistency
        let machine = try GuestSetup.build(plan, device: device)
        try NestedSVMSetup.install(svmPlan, on: machine)
        let watchdog = VCPUWatchdog(stopping: machine.cpu.stopHandle, after: timeout)
        let ending = try drive(machine.cpu, exitCase: exitCase, plan: plan, watchdog: watchdog)
        watchdog.disarm()
        let report = try MailboxReport.read(from: machine.memory)
        let svm = try NestedSVMMailbox.read(from: machine.memory)
        var facts = Self.facts(exitCase, svmPlan, svm: svm, report: report, counts: counts)
        var result: Result<CaseSamples, CaseFailure>
        switch ending.end {
        case .failed(var failure):
            if failure.guestRIP == nil { failure.guestRIP = try? machine.cpu.registers().rip }
            failure.reason += " (the mini-hypervisor was \(svm.stageDescription)"
            failure.reason += svmPlan.role == .relay ? "; the guest's guest was \(report.stageDescription))" : ")"
            result = .failure(failure)
        case .faulted:
            result = .failure(Self.nestedFault(svm, report: report))
        case .done:
            result = try samples(
                exitCase, report: report, memory: machine.memory, counts: counts, userExits: ending.userExits,
                pinnedCPU: pinnedCPU)
            if case .success = result, let failure = Self.unhandled(facts, userExits: ending.userExits) {
                result = .failure(failure)
            }
            let interrupts = (counts.iterations + counts.warmup) * exitCase.body.interruptsPerIteration
            if case .success = result, svmPlan.injectsInterrupts, svm.injected != interrupts {
                let what = svmPlan.routesTimer ? "timer interrupts" : "self-IPIs"
                result = .failure(
                    CaseFailure(
                        kind: .unexpected,
                        reason: "the mini-hypervisor injected \(svm.injected) \(what), not \(interrupts)"))
            }
        }
        facts.stoppedBy = svm.stoppedBy
        return nestedRun(exitCase, result: result, facts: facts, svm: svm, report: report)
    }

    /// The run, with who handled its exits: in the relay role, the guest's guest's canary and the intercept
    /// count say whether the mini-hypervisor did; in its own role, its canary says this level's KVM ran it.
    private func nestedRun(
        _ exitCase: ExitCase, result: Result<CaseSamples, CaseFailure>, facts: GuestHypervisorFacts,
        svm: NestedSVMMailbox, report: MailboxReport
    ) -> GuestRun {
        let host = environment.hostHypervisorRegisters
        var run = GuestRun(result: result, guestHypervisor: facts)
        if exitCase.mode == .svmInner {
            run.signatureRegisters = report.canarySignatureRegisters
            if let seen = report.canarySignatureRegisters {
                let attribution = NestedSVM.attribute(seen: seen, host: host)
                run.attribution =
                    attribution == .guestHypervisor && !facts.handledEveryIntercept
                    ? .notApplicable : attribution
                // Exits the mini-hypervisor did not answer went elsewhere; the case failed on that already.
                if exitCase.exitsTo == .guestHypervisor, attribution == .thisLevel { run.exitsTo = .kernel }
                if exitCase.exitsTo == .guestHypervisor, attribution == .levelBelow { run.exitsTo = .levelBelow }
            }
        } else if svm.stage >= UInt32(CGUEST_SVM_STAGE_SVME) {
            let own = Array(svm.canary.dropFirst())
            run.signatureRegisters = own
            run.attribution = CPUIDCanary.attribute(seen: own, host: host)
        }
        return run
    }

    /// The mini-hypervisor's side of the run, with the intercepts the loop had to cause.
    static func facts(
        _ exitCase: ExitCase, _ plan: NestedSVMPlan, svm: NestedSVMMailbox, report: MailboxReport,
        counts: (iterations: Int, warmup: Int)
    ) -> GuestHypervisorFacts {
        let ownCanary = svm.stage >= UInt32(CGUEST_SVM_STAGE_SVME) ? Array(svm.canary.dropFirst()) : nil
        return GuestHypervisorFacts(
            role: plan.role == .relay ? "relay" : "own", guestSignature: ownCanary.map(CPUIDCanary.text),
            innerSignature: plan.role == .relay ? report.canarySignatureRegisters.map(CPUIDCanary.text) : nil,
            exits: svm.exits, intercepts: svm.intercepts,
            expectedIntercepts: expectedIntercepts(exitCase, counts: counts),
            resumedBy: plan.resumeByNextRIP ? "nrip" : "length")
    }

    /// The intercepts a finished run must have handled, by exit name: in the guest's guest, its canary CPUID
    /// and one exit per loop iteration (warm-up included) of the body's intercept; in the mini-hypervisor's
    /// own loops, one per iteration of the body's intercept (vmrun: its bounce guest's vmmcall). Port I/O
    /// leaves out the done port.
    static func expectedIntercepts(_ exitCase: ExitCase, counts: (iterations: Int, warmup: Int)) -> [String: Int] {
        let iterations = counts.iterations + counts.warmup
        var expected = exitCase.mode == .svmInner ? [SVMExitCode.cpuid.name: 1] : [:]
        if let code = exitCase.body.intercept?.code { expected[code.name, default: 0] += iterations }
        if exitCase.mode == .svmInner, exitCase.body.interruptsPerIteration > 0 {
            // X2APIC_INIT's rdmsr and three wrmsrs, then per iteration the ICR (or deadline) write and the
            // handler's EOI.
            expected[SVMExitCode.msr.name, default: 0] += 4 + 2 * iterations
            // The timer's interrupt, once per iteration: #VMEXIT INTR to the mini-hypervisor, which injects it.
            if NestedSVMPlan.routesTimer(exitCase) { expected[SVMExitCode.intr.name, default: 0] += iterations }
        }
        return expected
    }

    /// Why a run that finished cannot count as the mini-hypervisor's: an exit reached this process, or the
    /// intercepts it handled are not those the loop had to cause.
    static func unhandled(_ facts: GuestHypervisorFacts, userExits: Int) -> CaseFailure? {
        if userExits > 0 {
            return CaseFailure(
                kind: .unexpected,
                reason: "\(userExits) of the guest's guest's exits reached this process: the mini-hypervisor's "
                    + "intercept did not run")
        }
        guard !facts.handledEveryIntercept else { return nil }
        func list(_ counts: [String: Int]) -> String {
            counts.isEmpty
                ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        }
        return CaseFailure(
            kind: .unexpected,
            reason: "the mini-hypervisor handled \(list(facts.intercepts)), but the loop had to cause "
                + "\(list(facts.expectedIntercepts))")
    }

    /// The failure behind a fault port: the guest's guest's exception, a #VMEXIT the mini-hypervisor stopped
    /// on (the guest's guest's triple fault, a VMRUN that failed its checks, another exit), or the
    /// mini-hypervisor's own exception.
    static func nestedFault(_ svm: NestedSVMMailbox, report: MailboxReport) -> CaseFailure {
        if let exit = svm.stoppedBy { return vmexitFailure(exit) }
        var failure = exceptionFailure(report)
        let whose = svm.result == UInt32(CGUEST_SVM_RESULT_INNER_FAULT) ? "the guest's guest" : "the mini-hypervisor"
        failure.reason = "\(whose): " + failure.reason
        return failure
    }

    /// The failure for a #VMEXIT the mini-hypervisor stopped on, with the VMCB's code and information.
    static func vmexitFailure(_ exit: VMCBExit) -> CaseFailure {
        let code = SVMExitCode(exit.code)
        let (kind, what): (CaseFailure.Kind, String) =
            switch code {
            case .shutdown: (.tripleFault, "the guest's guest triple-faulted")
            case .invalid: (.entryFailed, "VMRUN failed its consistency checks (APM vol. 2 §15.5.1)")
            default: (.unexpected, "the guest's guest caused an exit the mini-hypervisor does not handle")
            }
        return CaseFailure(
            kind: kind, reason: "\(what): \(exit.summary)", exitReason: code.name, guestRIP: exit.guestRIP)
    }
}
