// KVMParameters: /sys/module/kvm*/parameters, read and interpreted where a value matters for
// running guests or nested guests (Documentation/admin-guide/kernel-parameters.txt, kvm_intel/kvm_amd).

extension HostingAnalysis {
    /// Meanings of the parameters that matter, by module and name; `values` describes notable values.
    static let meanings: [String: [String: String]] = [
        "kvm_intel": [
            "nested": "nested VMX: guests may be offered VMX and run their own guests",
            "ept": "EPT (hardware two-level paging); off means shadow paging and far costlier page faults",
            "enable_shadow_vmcs": "VMCS shadowing: L2 exits need fewer L1↔L0 trips (VMREAD/VMWRITE not trapped)",
            "enable_apicv": "APIC virtualization: fewer exits for interrupts",
            "vpid": "VPID: no TLB flush on every VM entry and exit",
            "unrestricted_guest": "unrestricted guest: real-mode guest code runs without emulation",
            "eptad": "EPT accessed/dirty bits",
            "pml": "page-modification logging",
            "preemption_timer": "VMX preemption timer",
            "vmentry_l1d_flush": "L1D flush on VM entry (L1TF mitigation), costly on every entry",
            "enlightened_vmcs": "enlightened VMCS for Hyper-V guests",
            "enable_ipiv": "IPI virtualization",
        ],
        "kvm_amd": [
            "nested": "nested SVM: guests may be offered SVM and run their own guests",
            "npt": "nested page tables (hardware two-level paging); off means shadow paging",
            "nrips": "next-RIP save: L1 hypervisors skip intercepted instructions without decoding them",
            "vls": "virtual VMLOAD/VMSAVE: nested hypervisors' VMLOAD/VMSAVE run without exits",
            "vgif": "virtual GIF: nested hypervisors' STGI/CLGI run without exits",
            "lbrv": "LBR virtualization",
            "avic": "AVIC: interrupt delivery without exits",
            "tsc_scaling": "TSC ratio MSR for guests",
            "vnmi": "virtual NMI",
            "sev": "SEV encrypted guests",
            "pause_filter_count": "PAUSE-loop exiting threshold",
        ],
        // kvm_pvm's knobs are not documented upstream (the RFC has none of these); what is said here is what
        // the module's own load line ("kvm-pvm: loaded (native=1 … emul_batch=1024 …)") confirms.
        "kvm_pvm": [
            "pvm_native": "kvm_pvm's native mode (logged at load as native=…); not documented upstream",
            "pvm_emul_batch":
                "kvm_pvm's emulation batch size (logged at load as emul_batch=…); not documented upstream",
        ],
        "kvm": [
            "tdp_mmu": "TDP MMU (scalable EPT/NPT management)",
            "ignore_msrs": "unknown guest MSR accesses ignored instead of #GP",
            "halt_poll_ns": "how long a halted vCPU polls before sleeping",
            "nx_huge_pages": "iTLB multihit mitigation: executable huge pages split",
            "enable_vmware_backdoor": "VMware backdoor I/O ports emulated",
            "enable_pmu": "virtual PMU for guests",
        ],
    ]

    /// Every parameter of every loaded kvm* module, with a meaning where one is known.
    static func interpretParameters(_ snapshot: Snapshot) -> [ParameterFinding] {
        var findings: [ParameterFinding] = []
        for module in ["kvm", "kvm_intel", "kvm_amd", "kvm_pvm"] {
            let folder = "/sys/module/\(module)/parameters"
            guard let names = snapshot.directory(folder).value else { continue }
            for name in names {
                let value: String
                switch snapshot.file("\(folder)/\(name)") {
                case .available(let text): value = text.trimmed
                case .unavailable(let reason, _): value = "(\(reason.rawValue))"
                }
                findings.append(
                    ParameterFinding(
                        module: module, name: name, value: value, meaning: meanings[module]?[name] ?? ""))
            }
        }
        return findings
    }
}
