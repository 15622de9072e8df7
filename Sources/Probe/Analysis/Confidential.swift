// Confidential: whether this OS is a confidential guest (AMD SEV, SEV-ES, SEV-SNP; Intel TDX), which bounds
// its level: such a guest runs on the hypervisor that owns the physical CPU's memory encryption (the
// PSP's ASIDs, the TDX module in SEAM), so there is a VM below it and, in the usual case, only that one.
// The documented exception is a paravisor inside the confidential VM (Azure's VMPL0 or TD-partitioning L1),
// which adds a level inside the same guest.
//
// Proof of a guest: SEV_STATUS (MSR 0xC001_0131, APM vol. 2 §15.34.10, root only), the TDX leaf 0x21
// signature "IntelTDX    " (answered only inside a TD), the kernel's cpuinfo flag tdx_guest, the guest
// drivers' /dev/sev-guest and /dev/tdx_guest, the kernel's boot line "Memory Encryption Features
// active: AMD SEV …" / "Intel TDX", and Hyper-V's isolation type (an Azure confidential VM, whose paravisor
// may hide the SEV and TDX leaves from the guest's kernel). CPUID 0x8000_001F and the cpuinfo flags sev, sev_es, sev_snp say only
// that the CPU can do it: a host shows them as well.

/// What shows a confidential guest, or a host able to run them.
public struct ConfidentialFindings: Codable, Sendable, Equatable {
    /// The technology active in this guest ("AMD SEV-SNP", "Intel TDX"), nil when nothing proves one.
    public var guest: String?
    /// What proves it, each in words.
    public var proof: [String]
    /// Capability-only signs (CPUID 0x8000_001F, host flags, /dev/sev), which prove no guest.
    public var capability: [String]
}

/// Derives the confidential-guest findings from a snapshot.
public enum ConfidentialAnalysis {
    public static func analyse(_ snapshot: Snapshot, cpuid: CPUIDTable) -> ConfidentialFindings? {
        var proof: [String] = []
        var capability: [String] = []
        var guest: String?
        func claim(_ name: String, _ why: String) {
            if guest == nil || name.count > (guest?.count ?? 0) { guest = name }
            proof.append(why)
        }
        // TDX: leaf 0x21 EBX, EDX, ECX = "IntelTDX    " (Linux arch/x86/coco/tdx: tdx_early_init).
        if let leaf = cpuid[0x21], CPUIDLeaf.text([leaf.ebx, leaf.edx, leaf.ecx]).trimmed == "IntelTDX" {
            claim("Intel TDX", "CPUID 0x21 reads \"IntelTDX    \" (only the TDX module answers it, inside a TD)")
        }
        if let isolation = hyperVIsolation(cpuid) { claim(isolation.guest, isolation.text) }
        if let msr = snapshot.msrs.value?.first(where: { $0.index == 0xC001_0131 }), let value = msr.value.value?.value
        {
            if value & 0b100 != 0 {
                claim("AMD SEV-SNP", "SEV_STATUS = \(HexWord.format64(value)): SNP active")
            } else if value & 0b10 != 0 {
                claim("AMD SEV-ES", "SEV_STATUS = \(HexWord.format64(value)): SEV-ES active")
            } else if value & 1 != 0 {
                claim("AMD SEV", "SEV_STATUS = \(HexWord.format64(value)): SEV active")
            }
        }
        let flags = cpuinfoFlags(snapshot)
        if flags.contains("tdx_guest") { claim("Intel TDX", "/proc/cpuinfo has the tdx_guest flag") }
        let devices = snapshot.directory("/dev").value ?? []
        if devices.contains("sev-guest") { claim("AMD SEV-SNP", "/dev/sev-guest exists (the SNP guest driver)") }
        if devices.contains("tdx_guest") || devices.contains("tdx-guest") {
            claim("Intel TDX", "/dev/tdx_guest exists (the TDX guest driver)")
        }
        for line in snapshot.kernelLog.value ?? [] {
            if let range = line.firstRange(of: "Memory Encryption Features active:") {
                let words = line[range.upperBound...].trimmed
                if words.contains("SEV-SNP") {
                    claim("AMD SEV-SNP", "kernel: \(line)")
                } else if words.contains("SEV-ES") {
                    claim("AMD SEV-ES", "kernel: \(line)")
                } else if words.contains("SEV") {
                    claim("AMD SEV", "kernel: \(line)")
                } else if words.contains("TDX") {
                    claim("Intel TDX", "kernel: \(line)")
                } else if words.contains("SME") {
                    capability.append("kernel: \(line) (host memory encryption, not a guest)")
                }
            } else if line.hasPrefix("tdx: Guest detected") {
                claim("Intel TDX", "kernel: \(line)")
            }
        }
        if let leaf = cpuid[0x8000_001F], leaf.eax & 0b1_1010 != 0 {
            let names = [(1, "SEV"), (3, "SEV-ES"), (4, "SEV-SNP")].filter { leaf.eax & (1 << UInt32($0.0)) != 0 }.map(
                \.1)
            capability.append("CPUID 0x8000001F offers \(names.joined(separator: ", "))")
        }
        let hostFlags = ["sev", "sev_es", "sev_snp"].filter(flags.contains)
        if !hostFlags.isEmpty { capability.append("/proc/cpuinfo flags \(hostFlags.joined(separator: " "))") }
        if devices.contains("sev") { capability.append("/dev/sev exists (the PSP driver of an SEV host)") }
        guard guest != nil || !capability.isEmpty else { return nil }
        return ConfidentialFindings(guest: guest, proof: proof, capability: capability)
    }

    /// Hyper-V's isolated VMs, as systemd-detect-virt --cvm and Linux's ms_hyperv_init_platform read them
    /// (Hyper-V TLFS; Linux hyperv-tlfs.h): 0x4000_0003 EBX[22] "isolation", and 0x4000_000C, EBX[3:0] the
    /// isolation type (1 VBS, 2 SNP, 3 TDX), EAX[0] a paravisor present. An SNP or TDX isolated VM is a confidential
    /// guest whose own kernel may not see the SEV or TDX leaves (the paravisor handles them); VBS (type 1) is
    /// Hyper-V's software isolation, not a hardware-encrypted guest, and is not counted here.
    static func hyperVIsolation(_ cpuid: CPUIDTable) -> (guest: String, text: String)? {
        guard let head = cpuid[0x4000_0000], head.signatureEBXECXEDX == "Microsoft Hv", head.eax >= 0x4000_000C,
            let privileges = cpuid[0x4000_0003], privileges.ebx & (1 << 22) != 0, let config = cpuid[0x4000_000C]
        else { return nil }
        let paravisor =
            config.eax & 1 != 0 ? ", a paravisor present (0x4000000C EAX[0]: one more level inside this VM)" : ""
        switch config.ebx & 0xF {
        case 2: return ("AMD SEV-SNP", "Hyper-V isolation type SNP (0x4000000C EBX[3:0] = 2)\(paravisor)")
        case 3: return ("Intel TDX", "Hyper-V isolation type TDX (0x4000000C EBX[3:0] = 3)\(paravisor)")
        default: return nil
        }
    }

    /// The flags of /proc/cpuinfo's first processor.
    static func cpuinfoFlags(_ snapshot: Snapshot) -> Set<String> {
        guard let text = snapshot.text("/proc/cpuinfo") else { return [] }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmed == "flags" {
                return Set(parts[1].split(separator: " ").map(String.init))
            }
        }
        return []
    }
}
