// Reconcile: one name for the hypervisor below, settled from CPUID signatures, DMI, Xen and the kernel when
// they disagree, and the caveats on the CPU identity CPUID gives.
//
// Several hypervisors present another's interface: VirtualBox's and Parallels' KVM paravirtualization
// providers answer "KVMKVMKVM", KVM and VirtualBox answer "Microsoft Hv" with Hyper-V enlightenments. The
// signature then names the interface, and DMI, which only the hypervisor itself writes, names the
// hypervisor. Each settled disagreement is said, never silently resolved.

/// The hypervisor this OS runs on, named once.
public struct HypervisorIdentity: Codable, Sendable, Equatable {
    /// One word for scripts (`diagnose --print hypervisor`), systemd-detect-virt's where it has one: none,
    /// kvm, qemu, xen, microsoft, vmware, oracle (VirtualBox), parallels, bhyve, acrn, qnx, bochs, apple,
    /// pvm, vmm (OpenBSD), unknown (a hypervisor is seen but not named, or nothing was captured to tell).
    public var word: String
    /// The name in words.
    public var name: String
    /// What named it.
    public var basis: String
    /// Where the evidence disagreed, and how it was settled; nil when it agreed.
    public var reconciliation: String?

    /// The word for a CPUID signature's hypervisor.
    static func word(_ kind: HypervisorKind) -> String {
        switch kind {
        case .kvm, .kvmHyperVInterface, .kvmtool: return "kvm"
        case .hyperV: return "microsoft"
        case .vmware: return "vmware"
        case .xen: return "xen"
        case .qemuTCG: return "qemu"
        case .bhyve: return "bhyve"
        case .acrn: return "acrn"
        case .qnx: return "qnx"
        case .virtualBox: return "oracle"
        case .parallels: return "parallels"
        case .openBSD: return "vmm"
        case .pvm: return "pvm"
        case .intelEVMM: return "evmm"
        case .haxm: return "haxm"
        case .nvmm: return "nvmm"
        case .jailhouse: return "jailhouse"
        case .sre: return "sre"
        case .appleVZ: return "apple"
        case .unknown: return "unknown"
        }
    }

    /// The word for a platform name from DMI, the kernel log or /sys/hypervisor.
    static func word(platform: String) -> String {
        let lower = platform.lowercased()
        let table: [(String, String)] = [
            ("virtualbox", "oracle"), ("parallels", "parallels"), ("vmware", "vmware"), ("hyper-v", "microsoft"),
            ("microsoft", "microsoft"), ("xen", "xen"), ("bochs", "bochs"), ("bhyve", "bhyve"), ("acrn", "acrn"),
            ("apple", "apple"), ("qemu", "qemu"), ("kvm", "kvm"), ("openstack", "kvm"), ("cloud hypervisor", "kvm"),
            ("firecracker", "kvm"), ("libkrun", "kvm"),
            ("jailhouse", "jailhouse"),
        ]
        return table.first { lower.contains($0.0) }?.1 ?? "unknown"
    }

    /// Settles the name from everything the analysis found; Intel KGT's leaf-3 signature, when seen, is named in
    /// the result whichever source named the hypervisor.
    static func reconcile(
        hypervisors: HypervisorFindings, platform: PlatformFindings, emulation: EmulationFinding?,
        cpuidCaptured: Bool
    ) -> HypervisorIdentity {
        let settled = settle(
            hypervisors: hypervisors, platform: platform, emulation: emulation, cpuidCaptured: cpuidCaptured)
        guard emulation == nil, hypervisors.intelKGTLeaf3 == true else { return settled }
        return namingKGT(settled)
    }

    /// The signature Intel KGT's evmm writes at basic leaf 3, in words.
    static let kgtLeaf3Basis = "CPUID leaf 3 ECX, EDX \"EVMM\" \"INTC\""

    /// Names Intel KGT in an identity settled without it. KGT's evmm answers leaf 3 with its signature and, in
    /// ikgt-core, no 0x4000_0000 range: with nothing else named (or only its own "EVMMEVMMEVMM" range, or an
    /// unrecognised one) it is the hypervisor; under another's name, KGT signed leaf 3 too, so the line says both.
    static func namingKGT(_ settled: HypervisorIdentity) -> HypervisorIdentity {
        let kgt = "Intel KGT (evmm)"
        if ["none", "unknown", "evmm"].contains(settled.word) {
            let basis = settled.word == "evmm" ? "\(kgtLeaf3Basis); \(settled.basis)" : kgtLeaf3Basis
            return HypervisorIdentity(word: "evmm", name: kgt, basis: basis, reconciliation: settled.reconciliation)
        }
        let note =
            "\(settled.basis) names \(settled.name), but \(kgtLeaf3Basis) is Intel KGT's evmm: KGT runs below "
            + "\(settled.name) (or hosts it), which passes leaf 3 through"
        return HypervisorIdentity(
            word: settled.word, name: "\(settled.name), with \(kgt)", basis: "\(settled.basis); \(kgtLeaf3Basis)",
            reconciliation: settled.reconciliation.map { "\($0); \(note)" } ?? note)
    }

    /// The name from the signatures, DMI, Xen and the kernel, before Intel KGT's leaf 3 is considered.
    static func settle(
        hypervisors: HypervisorFindings, platform: PlatformFindings, emulation: EmulationFinding?,
        cpuidCaptured: Bool
    ) -> HypervisorIdentity {
        if let emulation {
            let kernel = fromKernel(platform)
            return HypervisorIdentity(
                word: kernel?.word ?? (platform.kernelCPU?.seesHypervisor == true ? "unknown" : "none"),
                name: kernel?.name ?? (platform.kernelCPU?.seesHypervisor == true ? "an unnamed hypervisor" : "none"),
                basis: kernel?.basis ?? "the kernel's /proc/cpuinfo flags",
                reconciliation: "CPUID was answered by \(emulation.emulator); its signatures are the emulator's, "
                    + "so the kernel's view names what is below")
        }
        if let xen = platform.xen {
            let role = xen.role == .dom0 ? "dom0" : xen.role == .guest ? "a guest domain" : "a domain"
            let type = xen.guestType.map { " (\($0))" } ?? ""
            return HypervisorIdentity(
                word: "xen", name: "Xen, this OS being \(role)\(type)", basis: xen.evidence.joined(separator: "; "),
                reconciliation: xen.isPV && !hypervisors.hypervisorBit
                    ? "CPUID shows no hypervisor because a Xen PV domain's CPUID is not trapped" : nil)
        }
        let dmiWord = platform.dmi.virtualPlatform.map { word(platform: $0) }
        if let own = ownRange(hypervisors) {
            let signatureWord = word(own.kind)
            let interfaces: Set<HypervisorKind> = [.kvm, .hyperV, .kvmHyperVInterface]
            if let dmi = platform.dmi.virtualPlatform, let dmiWord, dmiWord != "unknown", dmiWord != signatureWord,
                interfaces.contains(own.kind), !(dmiWord == "qemu" && signatureWord == "kvm")
            {
                // QEMU's DMI over KVM's signature is KVM with QEMU as its VMM: no disagreement.
                return HypervisorIdentity(
                    word: dmiWord == "qemu" ? "kvm" : dmiWord, name: dmi, basis: "DMI (\(dmi))",
                    reconciliation: "CPUID says \"\(own.signature)\" (\(own.kind.rawValue)) but DMI names \(dmi): "
                        + "\(dmi) presents that paravirtual interface, and DMI names the hypervisor itself")
            }
            return HypervisorIdentity(
                word: signatureWord, name: own.kind.rawValue,
                basis: "CPUID \(own.base) \"\(own.signature)\"", reconciliation: nil)
        }
        if let dmi = platform.dmi.virtualPlatform, let dmiWord {
            return HypervisorIdentity(
                word: dmiWord, name: dmi, basis: "DMI (\(dmi))",
                reconciliation: hypervisors.leaf1Present && !hypervisors.hypervisorBit
                    ? "DMI names \(dmi) but CPUID shows no hypervisor: one hiding itself (KVM hidden=on), "
                        + "or host DMI passed through" : nil)
        }
        if let kernel = fromKernel(platform) {
            return HypervisorIdentity(word: kernel.word, name: kernel.name, basis: kernel.basis, reconciliation: nil)
        }
        if hypervisors.hypervisorBit || platform.kernelCPU?.seesHypervisor == true || platform.wsl2 {
            let wsl = platform.wsl2
            return HypervisorIdentity(
                word: wsl ? "microsoft" : "unknown", name: wsl ? "Hyper-V (WSL 2)" : "an unnamed hypervisor",
                basis: wsl ? "the WSL 2 kernel" : "the hypervisor bit, with no signature", reconciliation: nil)
        }
        guard cpuidCaptured && hypervisors.leaf1Present else {
            return HypervisorIdentity(
                word: "unknown", name: "unknown",
                basis: cpuidCaptured ? "the snapshot has no CPUID leaf 1" : "the snapshot has no CPUID",
                reconciliation: nil)
        }
        return HypervisorIdentity(
            word: "none", name: "none", basis: "no hypervisor bit, signature, DMI or kernel sign",
            reconciliation: nil)
    }

    /// The range of the hypervisor itself: where several interfaces are offered, the one that is not
    /// Hyper-V's (KVM with enlightenments puts "Microsoft Hv" first and "KVMKVMKVM" at 0x4000_0100).
    static func ownRange(_ hypervisors: HypervisorFindings) -> HypervisorRange? {
        let ranges = hypervisors.ranges.filter { $0.kind != .unknown }
        if ranges.count > 1, let other = ranges.first(where: { $0.kind != .hyperV }) { return other }
        return ranges.first ?? hypervisors.ranges.first
    }

    /// The hypervisor the kernel named (boot log, /sys/hypervisor), if any.
    static func fromKernel(_ platform: PlatformFindings) -> (word: String, name: String, basis: String)? {
        if let name = platform.kernelHypervisor {
            return (word(platform: name), name, "kernel log: Hypervisor detected: \(name)")
        }
        if let type = platform.sysHypervisorType {
            return (word(platform: type), type, "/sys/hypervisor/type: \(type)")
        }
        if let dmi = platform.dmi.virtualPlatform { return (word(platform: dmi), dmi, "DMI (\(dmi))") }
        return nil
    }
}

/// Caveats on the CPU identity CPUID gives: signatures no real CPU has, and hypervisors' synthetic models.
public enum CPUCaveats {
    /// Families each vendor has shipped (Intel SDM vol. 2A "Processor Signature"; AMD's family list).
    static let intelFamilies: Set<Int> = [4, 5, 6, 7, 0xF, 0x12, 0x13]
    static let amdFamilies: Set<Int> = [4, 5, 6, 0xF, 0x10, 0x11, 0x12, 0x14, 0x15, 0x16, 0x17, 0x19, 0x1A]

    /// The caveats for a CPUID table, each one sentence.
    public static func check(_ cpuid: CPUIDTable) -> [String] {
        guard let leaf0 = cpuid[0], cpuid.hasLeaf1, let leaf1 = cpuid[1] else { return [] }
        var caveats: [String] = []
        let vendor = CPUIDLeaf.text([leaf0.ebx, leaf0.edx, leaf0.ecx])
        let signature = CPUIdentity.Signature(eax: leaf1.eax)
        let family = signature.family
        let longMode = (cpuid[0x8000_0001]?.edx ?? 0) & (1 << 29) != 0
        let amdLike = vendor == "AuthenticAMD" || vendor == "HygonGenuine"
        if vendor == "GenuineIntel" && !intelFamilies.contains(family) {
            caveats.append(
                "Intel never shipped family \(hex(family))h: a hypervisor's CPU template or a forged signature")
        }
        if vendor == "AuthenticAMD" && !amdFamilies.contains(family) {
            caveats.append(
                "AMD never shipped family \(hex(family))h: a hypervisor's CPU template or a forged signature")
        }
        if amdLike && family < 0xF && longMode {
            caveats.append(
                "an \(vendor) CPU of family \(hex(family))h (K7 or older) with 64-bit long mode does not exist: "
                    + "the signature is a hypervisor's CPU template")
        }
        // AMD repeats the signature in 0x8000_0001 EAX (APM vol. 3, E.4.2); Intel leaves it 0.
        if amdLike, let extended = cpuid[0x8000_0001]?.eax, extended != 0, extended != leaf1.eax {
            let real = CPUIdentity.Signature(eax: extended)
            caveats.append(
                "leaf 1 says family \(hex(family))h model \(hex(signature.model))h but 0x80000001 says "
                    + "family \(hex(real.family))h model \(hex(real.model))h: a CPU template rewrote leaf 1 only; "
                    + "the CPU underneath is likely the latter")
        }
        let brand = CPUIDTable.brand(cpuid)
        let synthetic = ["QEMU Virtual CPU", "QEMU TCG CPU", "Common KVM processor", "Common 32-bit KVM processor"]
        if let model = synthetic.first(where: { brand.contains($0) }) {
            caveats.append(
                "\"\(model)\" is a synthetic model of QEMU (qemu64, kvm64 and the like): the codename is "
                    + "libcpuid's match for its made-up family and model, not the host's CPU")
        }
        return caveats
    }

    static func hex(_ value: Int) -> String { String(value, radix: 16, uppercase: true) }
}
