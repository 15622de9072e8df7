// KernelView: what the kernel itself saw, set against what this process's CPUID says — the Xen domain
// (/sys/hypervisor, /proc/xen/capabilities), the CPU of /proc/cpuinfo, and the user-mode emulator that
// shows when the two disagree.
//
// A process's CPUID and the kernel's can differ for two documented reasons: a Xen PV guest's user space
// runs CPUID natively (no trap without CPUID faulting), while its kernel asks Xen through the forced
// emulation prefix and sees the hypervisor bit; and under a user-mode emulator (qemu-x86_64) CPUID is the
// emulator's model while /proc/cpuinfo, read through the real kernel, is the machine's.

/// The Xen domain this OS runs in.
public struct XenFindings: Codable, Sendable, Equatable {
    /// Which domain: dom0 (the privileged domain that manages the host), a guest, or not shown.
    public enum Role: String, Codable, Sendable {
        case dom0
        case guest = "domU"
        case unknown
    }

    public var role: Role
    /// "PV", "PVH" or "HVM", when /sys/hypervisor/guest_type or the boot log said; nil when nothing did.
    public var guestType: String?
    /// What showed Xen, in words.
    public var evidence: [String]

    /// A paravirtualized domain: CPUID is not trapped, and VMX/SVM cannot be used inside it.
    public var isPV: Bool { guestType == "PV" }

    /// Reads the Xen facts of a snapshot; nil when nothing shows Xen.
    static func analyse(_ snapshot: Snapshot, sysHypervisorType: String?, log: [String]) -> XenFindings? {
        var evidence: [String] = []
        if sysHypervisorType?.lowercased() == "xen" { evidence.append("/sys/hypervisor/type is xen") }
        var role = Role.unknown
        if let capabilities = snapshot.text("/proc/xen/capabilities") {
            // xenfs writes "control_d" in dom0 only (Linux drivers/xen/xenfs/super.c).
            role = capabilities.contains("control_d") ? .dom0 : .guest
            evidence.append("/proc/xen/capabilities: \"\(capabilities)\"")
        }
        var guestType = snapshot.text("/sys/hypervisor/guest_type").flatMap { $0.isEmpty ? nil : $0.uppercased() }
        if let guestType { evidence.append("/sys/hypervisor/guest_type is \(guestType)") }
        for line in log where line.contains("Booting paravirtualized kernel on Xen") || line.contains("Xen version") {
            if guestType == nil, line.contains("Booting paravirtualized kernel on Xen") {
                guestType = line.contains("PVH") ? "PVH" : line.contains("HVM") ? "HVM" : "PV"
            }
            evidence.append("kernel: \(line)")
        }
        guard !evidence.isEmpty else { return nil }
        return XenFindings(role: role, guestType: guestType, evidence: evidence)
    }
}

/// The CPU as the kernel reported it in /proc/cpuinfo (its first processor).
public struct KernelCPUView: Codable, Sendable, Equatable {
    /// vendor_id ("GenuineIntel").
    public var vendor: String?
    /// "cpu family", in decimal as the kernel prints it.
    public var family: Int?
    /// "model", in decimal.
    public var model: Int?
    /// "model name".
    public var modelName: String?
    /// Whether the flags line was there.
    public var flagsRead: Bool
    /// The flags that concern virtualization (hypervisor, vmx, svm), when the flags line was there.
    public var virtualizationFlags: [String]

    /// Reads /proc/cpuinfo from a snapshot; nil when it was not captured or holds no x86 processor.
    init?(_ snapshot: Snapshot) {
        guard let text = snapshot.text("/proc/cpuinfo") else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmed
            if fields[key] == nil { fields[key] = parts[1].trimmed }
        }
        guard fields["vendor_id"] != nil || fields["flags"] != nil else { return nil }
        vendor = fields["vendor_id"]
        family = fields["cpu family"].flatMap { Int($0) }
        model = fields["model"].flatMap { Int($0) }
        modelName = fields["model name"]
        let flags = fields["flags"].map { Set($0.split(separator: " ").map(String.init)) }
        flagsRead = flags != nil
        virtualizationFlags = ["hypervisor", "vmx", "svm"].filter { flags?.contains($0) == true }
    }

    /// Whether the kernel sees a hypervisor (its "hypervisor" flag); nil without a flags line.
    public var seesHypervisor: Bool? { flagsRead ? virtualizationFlags.contains("hypervisor") : nil }
}

/// This process's CPUID belongs to a CPU emulator, not to the machine the kernel runs on.
public struct EmulationFinding: Codable, Sendable, Equatable {
    /// The emulator, as far as the evidence names it.
    public var emulator: String
    /// Each disagreement between CPUID and the kernel's /proc/cpuinfo.
    public var conflicts: [String]

    /// Compares CPUID with the kernel's view; nil when they agree or there is nothing to compare.
    ///
    /// Vendor, family and model are compared: the kernel takes them from CPUID at boot and never rewrites
    /// them, so a difference means the CPUID this process executed was answered by something else. Flags
    /// are not, because the kernel clears vmx/svm when firmware disables them and a Xen PV kernel sees a
    /// hypervisor bit its user space does not.
    static func detect(cpuid: CPUIDTable, kernel: KernelCPUView?) -> EmulationFinding? {
        guard let kernel, let leaf0 = cpuid[0], cpuid.hasLeaf1, let leaf1 = cpuid[1] else { return nil }
        var conflicts: [String] = []
        let vendor = CPUIDLeaf.text([leaf0.ebx, leaf0.edx, leaf0.ecx])
        if let kernelVendor = kernel.vendor, !kernelVendor.isEmpty, kernelVendor != vendor {
            conflicts.append("CPUID vendor \"\(vendor)\", the kernel's \"\(kernelVendor)\"")
        }
        let signature = CPUIdentity.Signature(eax: leaf1.eax)
        if let family = kernel.family, family != signature.family {
            conflicts.append("CPUID family \(signature.family), the kernel's \(family)")
        }
        if let model = kernel.model, kernel.family == signature.family, model != signature.model {
            conflicts.append("CPUID model \(signature.model), the kernel's \(model)")
        }
        guard !conflicts.isEmpty else { return nil }
        let brand = CPUIDTable.brand(cpuid)
        if let name = kernel.modelName, !brand.isEmpty, name != brand {
            conflicts.append("CPUID brand \"\(brand)\", the kernel's \"\(name)\"")
        }
        let emulator = brand.contains("QEMU") ? "QEMU's user-mode emulator (qemu-x86_64)" : "a user-mode CPU emulator"
        return EmulationFinding(emulator: emulator, conflicts: conflicts)
    }
}

extension CPUIDTable {
    /// Whether leaf 1 is there with any bit set: libcpuid raw files write missing leaves as zeros, and no
    /// CPU answers leaf 1 with four zero registers (EDX carries at least FPU).
    var hasLeaf1: Bool {
        guard let leaf = self[1] else { return false }
        return leaf.eax | leaf.ebx | leaf.ecx | leaf.edx != 0
    }

    /// The brand string of leaves 0x8000_0002–4, NULs and surrounding spaces removed ("" without them).
    static func brand(_ table: CPUIDTable) -> String {
        let words = (UInt32(0x8000_0002)...0x8000_0004).flatMap { leaf -> [UInt32] in
            guard let l = table[leaf] else { return [] }
            return [l.eax, l.ebx, l.ecx, l.edx]
        }
        return CPUIDLeaf.text(words).trimmed
    }
}
