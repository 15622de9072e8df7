// Hypervisors: the signatures at 0x4000_0000 + n·0x100 and the feature leaves behind them.
//
// A hypervisor that emulates another's interface (KVM with Hyper-V enlightenments) puts the emulated
// signature at 0x4000_0000 and its own at 0x4000_0100, so several ranges mean one hypervisor with
// several faces, never nesting by themselves.

extension HypervisorKind {
    /// The 12-byte signatures (EBX, ECX, EDX), NULs dropped; compared with runs of spaces folded.
    static let signatures: [(String, HypervisorKind)] = [
        ("KVMKVMKVM", .kvm), ("Linux KVM Hv", .kvmHyperVInterface), ("Microsoft Hv", .hyperV),
        ("VMwareVMware", .vmware), ("XenVMMXenVMM", .xen), ("TCGTCGTCGTCG", .qemuTCG), ("bhyve bhyve", .bhyve),
        ("ACRNACRNACRN", .acrn), ("QNXQVMBSQG", .qnx), ("VBoxVBoxVBox", .virtualBox), ("lrpepyh vr", .parallels),
        ("LKVMLKVMLKVM", .kvmtool), ("OpenBSDVMM58", .openBSD), ("PVMPVMPVM", .pvm),
        ("EVMMEVMMEVMM", .intelEVMM), ("HAXMHAXMHAXM", .haxm), ("___ NVMM ___", .nvmm), ("Jailhouse", .jailhouse),
        ("SRESRESRESRE", .sre), ("Apple VZ", .appleVZ),
    ]

    /// The kind for a signature text, nil when it is empty or not a signature at all.
    public static func recognise(_ signature: String) -> HypervisorKind? {
        let folded = signature.split(separator: " ").joined(separator: " ")
        guard !folded.isEmpty else { return nil }
        return signatures.first { $0.0 == folded }?.1 ?? .unknown
    }
}

/// One hypervisor range found in CPUID.
public struct HypervisorRange: Codable, Sendable, Equatable {
    /// 0x4000_0000 + n·0x100.
    public var base: String
    public var signature: String
    public var kind: HypervisorKind
    /// The highest leaf of the range (EAX of the base leaf).
    public var maxLeaf: String
    /// Decoded feature bits and facts, in words ("PV_UNHALT", "running nested", ...).
    public var features: [String]

    public init(base: UInt32, signature: String, kind: HypervisorKind, maxLeaf: UInt32, features: [String]) {
        self.base = HexWord.format32(base)
        self.signature = signature
        self.kind = kind
        self.maxLeaf = HexWord.format32(maxLeaf)
        self.features = features
    }
}

/// What the CPUID hypervisor ranges say.
public struct HypervisorFindings: Codable, Sendable, Equatable {
    /// Whether CPUID leaf 1 was there to read: without it the hypervisor bit is unknown, not clear.
    public var leaf1Present: Bool
    /// CPUID.1:ECX[31] (false when leaf 1 is missing; see `leaf1Present`).
    public var hypervisorBit: Bool
    public var ranges: [HypervisorRange]
    /// Hyper-V: 0x4000_0004 EAX[12], this partition runs nested within a Hyper-V partition.
    public var hyperVNested: Bool
    /// Hyper-V: 0x4000_0003 EBX[0] CreatePartitions, this is the root partition (the physical machine).
    public var hyperVRootPartition: Bool
    /// Hyper-V: 0x4000_0004 EAX[14], enlightened VMCS recommended.
    public var hyperVEnlightenedVMCS: Bool
    /// This kernel runs as a PVM guest (either published PVM ABI layout).
    public var pvmGuest: Bool
    /// Intel KGT's evmm answers basic leaf 3 with ECX "EVMM" and EDX "INTC" (ikgt-core, vmm/vmexit/vmexit_cpuid.c:
    /// "if the signature is matched, then evmm is running"); true when it did, nil otherwise.
    public var intelKGTLeaf3: Bool?

    /// The first recognised hypervisor, which is the one this OS talks to.
    public var primary: HypervisorKind? { ranges.first?.kind }

    /// The kinds seen, in range order.
    public var kinds: [HypervisorKind] { ranges.map(\.kind) }
}

/// Reads hypervisor ranges out of a CPUID table.
public enum HypervisorScan {
    /// Ranges scanned: 0x4000_0000 + n·0x100 for n below this (up to 0x4000_FF00).
    static let rangeCount: UInt32 = 256

    /// Scans 0x4000_0000 + n·0x100 for n < 256.
    public static func scan(_ cpuid: CPUIDTable) -> HypervisorFindings {
        let bit = (cpuid[1]?.ecx ?? 0) & (1 << 31) != 0
        var ranges: [HypervisorRange] = []
        var hvNested = false
        var hvRoot = false
        var hvEVMCS = false
        var pvm = false
        for n in UInt32(0)..<rangeCount {
            let base = 0x4000_0000 + n * 0x100
            guard let head = cpuid[base] else { continue }
            let signature = head.signatureEBXECXEDX
            guard let kind = HypervisorKind.recognise(signature) else { continue }
            // Without the hypervisor bit, an unknown "signature" is almost always another leaf's data.
            if kind == .unknown && !bit { continue }
            // A range whose max leaf points outside itself is the CPU echoing another leaf, not a hypervisor.
            let maxLeaf = head.eax == 0 ? base + 1 : head.eax  // KVM before 2.6.33 reported 0
            guard maxLeaf >= base, maxLeaf < base + 0x100 else { continue }
            var features: [String] = []
            var effectiveKind = kind
            switch kind {
            case .kvm:
                features = kvmFeatures(cpuid, base: base)
                // PVM guest ABI: KVM signature with max leaf base+2 and EBX of base+2 = 0x4d5650 ("PVM").
                if maxLeaf >= base + 2, let pvmLeaf = cpuid[base + 2], pvmLeaf.ebx == 0x4d_5650 {
                    pvm = true
                    effectiveKind = .pvm
                    features.append("PVM guest ABI (leaf \(HexWord.format32(base + 2)) EBX = \"PVM\")")
                }
            case .pvm:
                pvm = true
            case .hyperV:
                let hv = hyperVFeatures(cpuid, base: base, maxLeaf: maxLeaf)
                features = hv.features
                hvNested = hvNested || hv.nested
                hvRoot = hvRoot || hv.root
                hvEVMCS = hvEVMCS || hv.evmcs
            default:
                break
            }
            if let interface = interfaceSignature(cpuid, base: base, maxLeaf: maxLeaf), kind != .hyperV {
                features.append("interface \"\(interface)\" (\(HexWord.format32(base + 1)) EAX)")
            }
            ranges.append(
                HypervisorRange(
                    base: base, signature: signature, kind: effectiveKind, maxLeaf: maxLeaf, features: features))
        }
        return HypervisorFindings(
            leaf1Present: cpuid.hasLeaf1, hypervisorBit: bit, ranges: ranges, hyperVNested: hvNested,
            hyperVRootPartition: hvRoot,
            hyperVEnlightenedVMCS: hvEVMCS, pvmGuest: pvm, intelKGTLeaf3: kgtLeaf3(cpuid) ? true : nil)
    }

    /// ECX "EVMM" and EDX "INTC" at basic leaf 3: the signature Intel KGT's evmm writes there (ikgt-core's
    /// EVMM_SIGNATURE_VMM 0x4D4D5645 and EVMM_SIGNATURE_CORP 0x43544E49). Leaf 3 is the processor serial number
    /// of the Pentium III and reserved since, so real CPUs answer zeros (or serial bits) there.
    static func kgtLeaf3(_ cpuid: CPUIDTable) -> Bool {
        guard let leaf = cpuid[3] else { return false }
        return leaf.ecx == 0x4D4D_5645 && leaf.edx == 0x4354_4E49
    }

    /// The interface signature in EAX of base+1, when it is four printable characters ("Hv#1": the Microsoft
    /// hypervisor interface, which KVM, Xen and VirtualBox offer too). KVM and most others put feature bits
    /// there instead, which rarely read as text.
    static func interfaceSignature(_ cpuid: CPUIDTable, base: UInt32, maxLeaf: UInt32) -> String? {
        guard maxLeaf >= base + 1, let leaf = cpuid[base + 1] else { return nil }
        let bytes = (0..<4).map { UInt8((leaf.eax >> UInt32(8 * $0)) & 0xff) }
        guard bytes.allSatisfy({ $0 >= 0x21 && $0 < 0x7f }) else { return nil }
        return CPUIDLeaf.text([leaf.eax])
    }

    /// KVM's feature leaf base+1 (Documentation/virt/kvm/x86/cpuid.rst).
    static func kvmFeatures(_ cpuid: CPUIDTable, base: UInt32) -> [String] {
        guard let leaf = cpuid[base + 1] else { return [] }
        let names: [(Int, String)] = [
            (0, "CLOCKSOURCE"), (1, "NOP_IO_DELAY"), (3, "CLOCKSOURCE2"), (4, "ASYNC_PF"), (5, "STEAL_TIME"),
            (6, "PV_EOI"), (7, "PV_UNHALT"), (9, "PV_TLB_FLUSH"), (10, "ASYNC_PF_VMEXIT"), (11, "PV_SEND_IPI"),
            (12, "POLL_CONTROL"), (13, "PV_SCHED_YIELD"), (14, "ASYNC_PF_INT"), (15, "MSI_EXT_DEST_ID"),
            (16, "HC_MAP_GPA_RANGE"), (17, "MIGRATION_CONTROL"), (24, "CLOCKSOURCE_STABLE_BIT"),
        ]
        var features = names.filter { leaf.eax & (1 << UInt32($0.0)) != 0 }.map(\.1)
        if leaf.edx & 1 != 0 { features.append("REALTIME hint (vCPUs never preempted)") }
        return features
    }

    /// Hyper-V's leaves base+1…base+0xA (Hyper-V Top-Level Functional Specification, §2.4).
    static func hyperVFeatures(_ cpuid: CPUIDTable, base: UInt32, maxLeaf: UInt32)
        -> (features: [String], nested: Bool, root: Bool, evmcs: Bool)
    {
        var features: [String] = []
        if let interface = cpuid[base + 1] {
            features.append("interface \"\(CPUIDLeaf.text([interface.eax]))\"")
        }
        var root = false
        if maxLeaf >= base + 3, let privileges = cpuid[base + 3] {
            root = privileges.ebx & 1 != 0
            if root { features.append("CreatePartitions privilege: root partition") }
        }
        var nested = false
        var evmcs = false
        if maxLeaf >= base + 4, let hints = cpuid[base + 4] {
            nested = hints.eax & (1 << 12) != 0
            evmcs = hints.eax & (1 << 14) != 0
            if nested { features.append("running nested within a Hyper-V partition (0x40000004 EAX[12])") }
            if evmcs { features.append("enlightened VMCS recommended (0x40000004 EAX[14])") }
        }
        if maxLeaf >= base + 0xA, let nestedLeaf = cpuid[base + 0xA], nestedLeaf.eax != 0 {
            let low = nestedLeaf.eax & 0xff
            let high = (nestedLeaf.eax >> 8) & 0xff
            features.append("enlightened VMCS versions \(low)–\(high) (0x4000000A)")
            if nestedLeaf.eax & (1 << 17) != 0 { features.append("nested direct virtual flush") }
            if nestedLeaf.eax & (1 << 19) != 0 { features.append("nested enlightened MSR bitmap") }
        }
        return (features, nested, root, evmcs)
    }
}
