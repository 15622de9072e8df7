// CrossSource: where this process's CPUID and the kernel's own view of the CPU disagree (issue 16).
//
// The kernel reads CPUID on each CPU at boot and keeps what it saw: the flags and model name of /proc/cpuinfo,
// and the hypervisor it detected ("Hypervisor detected: KVM" in its log). This process executes CPUID now. The two
// agree on any machine where CPUID is answered the same way for the kernel and for user space, which is every
// hardware CPU and every hypervisor that traps CPUID for the whole guest. They disagree when something answers
// this process's CPUID alone (a user-mode emulator such as qemu-x86_64, a sandbox that traps CPUID through CPUID
// faulting), when the guest was live-migrated to a CPU that lacks what the kernel saw, or in a Xen PV domain
// (whose kernel asks Xen while user space runs CPUID natively). The vendor, family and model are compared by
// EmulationFinding; the flags, the brand and the hypervisor are compared here.

extension SourceDisagreement {
    /// A CPUID output register.
    enum Register: Sendable {
        case ebx, ecx, edx

        func value(in leaf: CPUIDLeaf) -> UInt32 {
            switch self {
            case .ebx: return leaf.ebx
            case .ecx: return leaf.ecx
            case .edx: return leaf.edx
            }
        }
    }

    /// Kernel flag names and the CPUID bit each stands for (leaf, register, bit): Linux's
    /// arch/x86/include/asm/cpufeatures.h names, for bits the kernel takes from CPUID without inventing them.
    static let flagBits: [(flag: String, leaf: UInt32, register: Register, bit: Int)] = [
        ("pni", 1, .ecx, 0), ("pclmulqdq", 1, .ecx, 1), ("ssse3", 1, .ecx, 9), ("fma", 1, .ecx, 12),
        ("cx16", 1, .ecx, 13), ("sse4_1", 1, .ecx, 19), ("sse4_2", 1, .ecx, 20), ("movbe", 1, .ecx, 22),
        ("popcnt", 1, .ecx, 23), ("aes", 1, .ecx, 25), ("xsave", 1, .ecx, 26), ("avx", 1, .ecx, 28),
        ("f16c", 1, .ecx, 29), ("rdrand", 1, .ecx, 30), ("sse2", 1, .edx, 26), ("fsgsbase", 7, .ebx, 0),
        ("bmi1", 7, .ebx, 3), ("avx2", 7, .ebx, 5), ("smep", 7, .ebx, 7), ("bmi2", 7, .ebx, 8),
        ("avx512f", 7, .ebx, 16), ("rdseed", 7, .ebx, 18), ("adx", 7, .ebx, 19), ("smap", 7, .ebx, 20),
        ("sha_ni", 7, .ebx, 29), ("avx512bw", 7, .ebx, 30), ("avx512vl", 7, .ebx, 31),
        ("lahf_lm", 0x8000_0001, .ecx, 0), ("rdtscp", 0x8000_0001, .edx, 27), ("lm", 0x8000_0001, .edx, 29),
    ]

    /// The kernel's view (flags, model name, the hypervisor it detected) against this process's CPUID.
    static func kernelAgainstCPUID(
        _ snapshot: Snapshot, cpuid: CPUIDTable, hypervisors: HypervisorFindings, platform: PlatformFindings,
        emulation: EmulationFinding?
    ) -> [String] {
        // Under an emulator the disagreement is already named (EmulationFinding); a Xen PV domain's is expected.
        guard emulation == nil, cpuid.hasLeaf1, platform.xen?.isPV != true else { return [] }
        var found: [String] = []
        let flags = kernelFlags(snapshot)
        if let flags {
            let lacking = flagBits.filter { entry in
                guard flags.contains(entry.flag), let leaf = cpuid[entry.leaf] else { return false }
                return entry.register.value(in: leaf) & (1 << UInt32(entry.bit)) == 0
            }.map(\.flag)
            if !lacking.isEmpty {
                found.append(
                    "the kernel's flags list \(lacking.joined(separator: ", ")), which this process's CPUID lacks: "
                        + "the kernel read CPUID at boot, so CPUID is answered differently for this process (a "
                        + "sandbox trapping it through CPUID faulting, a user-mode emulator) or the VM was moved to "
                        + "a CPU without them")
            }
            if hypervisors.hypervisorBit, !flags.contains("hypervisor") {
                found.append(
                    "this process's CPUID sets the hypervisor bit but the kernel's flags lack it: a kernel booted "
                        + "with clearcpuid=hypervisor, or CPUID answered for this process by something that adds the "
                        + "bit (a sandbox)")
            }
            if !hypervisors.hypervisorBit, flags.contains("hypervisor"),
                !LevelAnalysis.isRootDomain(hypervisors, platform)
            {
                found.append(
                    "the kernel's flags have the hypervisor bit but this process's CPUID does not: CPUID is masked for "
                        + "user space (CPUID faulting, a hardened hypervisor hiding itself from applications only); the "
                        + "kernel's view is the one to trust")
            }
        }
        let brand = fold(CPUIDTable.brand(cpuid))
        if let name = platform.kernelCPU?.modelName.map(fold), !brand.isEmpty, !name.isEmpty, name != brand {
            found.append(
                "CPUID's brand is \"\(brand)\" but the kernel's model name is \"\(name)\": the kernel read the brand "
                    + "at boot, so the CPU this process's CPUID describes is not the one the kernel booted on (a "
                    + "migration between CPU models, or CPUID answered for this process alone)")
        }
        if let kernel = platform.kernelHypervisor, platform.xen == nil {
            let kernelFamily = family(kernel)
            let cpuidFamilies = Set(hypervisors.ranges.filter { $0.kind != .unknown }.map { family($0.kind.rawValue) })
            if hypervisors.ranges.isEmpty, !hypervisors.hypervisorBit {
                found.append(
                    "the kernel log says \"Hypervisor detected: \(kernel)\" but this process's CPUID shows no "
                        + "hypervisor: the hypervisor hides itself from user space only, or CPUID is answered for this "
                        + "process by a sandbox")
            } else if kernelFamily != "unknown", !cpuidFamilies.isEmpty, !cpuidFamilies.contains(kernelFamily) {
                let names = hypervisors.ranges.map { "\"\($0.signature)\"" }.joined(separator: ", ")
                found.append(
                    "the kernel log says \"Hypervisor detected: \(kernel)\" but this process's CPUID answers "
                        + "\(names): the kernel saw another hypervisor's CPUID at boot than this process sees now "
                        + "(CPUID answered for this process alone, or a hypervisor changed below a running guest)")
            }
        }
        return found
    }

    /// The flags of /proc/cpuinfo's first processor; nil without a flags line.
    static func kernelFlags(_ snapshot: Snapshot) -> Set<String>? {
        guard let text = snapshot.text("/proc/cpuinfo") else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmed == "flags" {
                return Set(parts[1].split(separator: " ").map(String.init))
            }
        }
        return nil
    }

    /// Runs of white space folded to one space, ends trimmed (the kernel and CPUID pad the brand differently).
    static func fold(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
