// The three-level cases. In mode svm-inner the loop runs in the guest's guest and every exit it causes goes
// to the mini-hypervisor, one level up — the same bodies as the one-level cases, so each row has its
// counterpart one level down (`counterpart`). In mode svm-hv the mini-hypervisor times its own SVM
// instructions, each an exit to this level's KVM unless KVM lets the hardware do it (virtual VMLOAD/VMSAVE,
// virtual GIF). Every one of them needs SVM offered to guests; elsewhere they are skipped with that reason.

extension ExitCase {
    /// The three-level cases, in report order.
    static let nestedSVM: [ExitCase] = nestedSVMInner + nestedSVMInstructions + nestedSVMInterrupts + nestedSVMOwn

    /// The interrupt cases in the guest's guest (`--cases interrupts`): the x2APIC self-IPI, which the
    /// mini-hypervisor answers as an APIC would, and the TSC-deadline timer, which it arms as its own and
    /// routes to the guest's guest (#VMEXIT INTR, its own IDT, EVENTINJ).
    static let nestedSVMInterrupts: [ExitCase] = [
        ExitCase(
            "ipi-self-x2apic", .svmInner, body: .x2APICSelfIPI, exitsTo: .guestHypervisor,
            mechanism: "wrmsr 0x830 (x2APIC ICR, self, fixed) in the guest's guest: #VMEXIT MSR to the "
                + "mini-hypervisor, which injects the vector with EVENTINJ on its next VMRUN, timed to the guest's "
                + "guest's handler entry (its EOI, a wrmsr, exits too and is dropped)",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "tsc-deadline", .svmInner, body: .tscDeadline(lead: deadlineLead), exitsTo: .guestHypervisor,
            mechanism: "wrmsr 0x6e0 (IA32_TSC_DEADLINE) \(deadlineLead) cycles ahead in the guest's guest: #VMEXIT "
                + "MSR to the mini-hypervisor, which arms its own (in-kernel LAPIC); the timer's interrupt ends the "
                + "guest's guest's wait as #VMEXIT INTR (INTR intercepted, V_INTR_MASKING), taken on the "
                + "mini-hypervisor's own IDT (STGI; EOI) and injected with EVENTINJ; timed from the deadline to the "
                + "guest's guest's handler entry",
            requires: [.svmOfferedToGuests, .capability(.irqchip), .capability(.tscDeadlineTimer)]),
    ].map { row in
        var row = row
        row.optInSet = interruptSet
        return row
    }

    /// What exits the guest's guest causes, and the mini-hypervisor answers.
    static let nestedSVMInner: [ExitCase] = [
        ExitCase(
            "null", .svmInner, body: .null(batch: nullBatch), exitsTo: .none,
            mechanism: "the empty loop `dec ecx; jnz` in the guest's guest, \(nullBatch) iterations per sample",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "rdtsc", .svmInner, body: .rdtsc, exitsTo: .none,
            mechanism: "the timing pair alone in the guest's guest (rdtsc is not intercepted)",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "cpuid-0", .svmInner, body: .cpuid(leaf: 0, subleaf: 0), exitsTo: .guestHypervisor,
            mechanism: "mov eax, 0; cpuid in the guest's guest: #VMEXIT CPUID to the mini-hypervisor, which answers",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "cpuid-hv", .svmInner, body: .cpuid(leaf: CPUIDCanary.leaf, subleaf: 0), exitsTo: .guestHypervisor,
            mechanism: "mov eax, 0x40000000; cpuid in the guest's guest: the mini-hypervisor answers with its "
                + "canary \"\(NestedSVM.canarySignature)\"",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "hypercall", .svmInner, body: .hypercall, exitsTo: .guestHypervisor,
            mechanism: "mov eax, 0xffff; vmmcall in the guest's guest: #VMEXIT VMMCALL to the mini-hypervisor",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "pio-out", .svmInner, body: .portOutUser, exitsTo: .guestHypervisor,
            mechanism: "out 0xe8, al in the guest's guest: #VMEXIT IOIO (I/O permission map) to the mini-hypervisor",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "pio-in", .svmInner, body: .portInUser, exitsTo: .guestHypervisor,
            mechanism: "in al, 0xe8 in the guest's guest: #VMEXIT IOIO to the mini-hypervisor, which supplies 0",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "msr-read", .svmInner, body: .rdmsr(index: apicBaseMSR), exitsTo: .guestHypervisor,
            mechanism: "rdmsr 0x1b in the guest's guest: #VMEXIT MSR (MSR permission map) to the mini-hypervisor",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "msr-write", .svmInner, body: .wrmsr(index: microcodeRevisionMSR), exitsTo: .guestHypervisor,
            mechanism: "xor edx, edx; wrmsr 0x8b in the guest's guest: #VMEXIT MSR to the mini-hypervisor",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "hlt", .svmInner, body: .hlt, exitsTo: .guestHypervisor,
            mechanism: "hlt in the guest's guest: #VMEXIT HLT to the mini-hypervisor, which steps over it",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "dr7-write", .svmInner, body: dr7Write, exitsTo: .guestHypervisor,
            mechanism: "mov dr7, reg in the guest's guest: #VMEXIT DR7_WRITE (DR intercept) to the "
                + "mini-hypervisor, which steps over it",
            requires: [.svmOfferedToGuests]),
    ]

    /// What the mini-hypervisor times of its own.
    static let nestedSVMOwn: [ExitCase] = [
        ExitCase(
            "rdtsc", .svmHypervisor, body: .rdtsc, exitsTo: .none,
            mechanism: "the timing pair alone in the mini-hypervisor", requires: [.svmOfferedToGuests]),
        ExitCase(
            "vmrun", .svmHypervisor, body: .svm(.vmrun), exitsTo: .kernel,
            mechanism: "mov eax, vmcb; vmrun of a guest whose first instruction is an intercepted vmmcall: this "
                + "level's KVM emulates VMRUN, runs it and reflects its #VMEXIT (one round trip, two exits)",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "vmload", .svmHypervisor, body: .svm(.vmload), exitsTo: .kernel,
            mechanism: "mov eax, vmcb; vmload: emulated by this level's KVM unless it has virtual VMLOAD/VMSAVE "
                + "(kvm_amd vls)",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "vmsave", .svmHypervisor, body: .svm(.vmsave), exitsTo: .kernel,
            mechanism: "mov eax, vmcb; vmsave: emulated by this level's KVM unless it has virtual VMLOAD/VMSAVE "
                + "(kvm_amd vls)",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "stgi", .svmHypervisor, body: .svm(.stgi), exitsTo: .kernel,
            mechanism: "stgi: emulated by this level's KVM unless it has virtual GIF (kvm_amd vgif)",
            requires: [.svmOfferedToGuests]),
        ExitCase(
            "clgi", .svmHypervisor, body: .svm(.clgi), exitsTo: .kernel,
            mechanism: "clgi: emulated by this level's KVM unless it has virtual GIF (kvm_amd vgif)",
            requires: [.svmOfferedToGuests]),
    ]

    /// The one-level case a svm-inner case is compared with: the same instruction in long mode at CPL0, one
    /// level down (nil for the others).
    var counterpart: String? {
        guard mode == .svmInner else { return nil }
        return Self.counterpartID(ofInner: id)
    }

    /// The counterpart of a svm-inner case id ("cpuid-0/svm-inner" → "cpuid-0/long64-cpl0"; the port and MSR
    /// cases are named by where they exit one level down).
    static func counterpartID(ofInner id: String) -> String? {
        guard let name = id.split(separator: "/").first, id.hasSuffix("/" + GuestMode.svmInner.rawValue) else {
            return nil
        }
        let renamed = [
            "pio-out": "pio-out-user", "pio-in": "pio-in-user", "msr-read": "msr-kernel",
            "msr-write": "msr-write-kernel",
        ]
        return "\(renamed[String(name)] ?? String(name))/long64-cpl0"
    }
}
