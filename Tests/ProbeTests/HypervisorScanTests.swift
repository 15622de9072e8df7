// Tests of HypervisorScan on CPUID tables made by hand: one hypervisor, one with another's interface,
// bare metal echoing a basic leaf, the PVM guest ABI, Hyper-V's hint bits and every signature the scan
// knows, spaces included.

import Testing

@testable import Probe

/// Builders for the CPUID leaves a hypervisor scan reads.
private enum HV {
    /// Leaf 1 with or without the hypervisor bit (ECX[31]).
    static func leaf1(hypervisorBit: Bool) -> CPUIDLeaf {
        CPUIDLeaf(
            leaf: 1, eax: 0x0006_06A6, ebx: 0x0020_0800, ecx: 0x7EDA_3203 | (hypervisorBit ? 1 << 31 : 0),
            edx: 0xBFEB_FBFF)
    }

    /// A range head: EAX the max leaf, EBX:ECX:EDX the signature (NUL-padded to 12 bytes).
    static func head(_ leaf: UInt32, maxLeaf: UInt32, _ signature: String) -> CPUIDLeaf {
        let bytes = Array(signature.utf8) + [UInt8](repeating: 0, count: max(0, 12 - signature.utf8.count))
        func word(_ i: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << UInt32(8 * $1) }
        }
        return CPUIDLeaf(leaf: leaf, eax: maxLeaf, ebx: word(0), ecx: word(1), edx: word(2))
    }

    static func leaf(_ leaf: UInt32, eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) -> CPUIDLeaf {
        CPUIDLeaf(leaf: leaf, eax: eax, ebx: ebx, ecx: ecx, edx: edx)
    }

    /// "Hv#1", Hyper-V's interface id in 0x4000_0001 EAX.
    static let hvInterface: UInt32 = 0x3123_7648

    static func scan(_ leaves: [CPUIDLeaf]) -> HypervisorFindings {
        HypervisorScan.scan(CPUIDTable(leaves))
    }
}

@Suite("HypervisorScan: KVM, Hyper-V and bare metal")
struct HypervisorScanTests {
    @Test("KVM at 0x40000000 with its feature leaf decoded")
    func kvmWithFeatures() throws {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, "KVMKVMKVM"),
            HV.leaf(0x4000_0001, eax: 1 << 0 | 1 << 3 | 1 << 7 | 1 << 24, edx: 1),
        ])
        #expect(findings.hypervisorBit)
        #expect(findings.primary == .kvm)
        let range = try #require(findings.ranges.first)
        #expect(findings.ranges.count == 1)
        #expect(range.base == "0x40000000")
        #expect(range.maxLeaf == "0x40000001")
        #expect(range.signature == "KVMKVMKVM")
        #expect(
            range.features == [
                "CLOCKSOURCE", "CLOCKSOURCE2", "PV_UNHALT", "CLOCKSOURCE_STABLE_BIT",
                "REALTIME hint (vCPUs never preempted)",
            ])
        #expect(!findings.pvmGuest)
        #expect(!findings.hyperVNested && !findings.hyperVRootPartition && !findings.hyperVEnlightenedVMCS)
    }

    @Test("KVM before 2.6.33 reported max leaf 0: read as base + 1")
    func oldKVMMaxLeafZero() throws {
        let findings = HV.scan([HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0, "KVMKVMKVM")])
        let range = try #require(findings.ranges.first)
        #expect(range.kind == .kvm)
        #expect(range.maxLeaf == "0x40000001")
        #expect(range.features.isEmpty, "no feature leaf in the table")
    }

    @Test("KVM with Hyper-V enlightenments: two ranges, Hyper-V's first and primary")
    func kvmWithHyperVInterface() throws {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_000B, "Microsoft Hv"),
            HV.leaf(0x4000_0001, eax: HV.hvInterface), HV.head(0x4000_0100, maxLeaf: 0x4000_0101, "KVMKVMKVM"),
            HV.leaf(0x4000_0101, eax: 1 << 7),
        ])
        #expect(findings.kinds == [.hyperV, .kvm])
        #expect(findings.primary == .hyperV)
        #expect(findings.ranges.map(\.base) == ["0x40000000", "0x40000100"])
        #expect(findings.ranges[0].features.contains("interface \"Hv#1\""))
        #expect(findings.ranges[1].features == ["PV_UNHALT"])
        #expect(!findings.hyperVNested)
    }

    @Test("Intel bare metal echoing its top basic leaf at 0x40000000 (hypervisor bit clear): no range")
    func intelEcho() {
        // Intel returns the highest basic leaf's data for leaves above it (SDM vol. 2A, CPUID).
        let garbage = HV.leaf(0x4000_0000, eax: 1, ebx: 0x4142_4344, ecx: 0x0000_0064, edx: 0x2020_3132)
        let findings = HV.scan([HV.leaf1(hypervisorBit: false), garbage])
        #expect(!findings.hypervisorBit)
        #expect(findings.ranges.isEmpty)
        #expect(findings.primary == nil)
        let zeros = HV.scan([HV.leaf1(hypervisorBit: false), HV.leaf(0x4000_0000, eax: 1)])
        #expect(zeros.ranges.isEmpty)
    }

    @Test("a known signature whose max leaf points outside its range is an echo, even with the hypervisor bit")
    func maxLeafOutsideRange() {
        let below = HV.scan([HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 1, "KVMKVMKVM")])
        #expect(below.ranges.isEmpty)
        let above = HV.scan([HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0100, "KVMKVMKVM")])
        #expect(above.ranges.isEmpty)
    }

    @Test("an unknown signature counts only with the hypervisor bit set")
    func unknownSignature() throws {
        let head = HV.head(0x4000_0000, maxLeaf: 0x4000_0005, "NewVisorNext")
        let withBit = HV.scan([HV.leaf1(hypervisorBit: true), head])
        let range = try #require(withBit.ranges.first)
        #expect(range.kind == .unknown)
        #expect(range.signature == "NewVisorNext")
        #expect(HV.scan([HV.leaf1(hypervisorBit: false), head]).ranges.isEmpty)
    }

    @Test("no leaf 1 and no hypervisor leaves: nothing found")
    func emptyTable() {
        let findings = HV.scan([])
        #expect(!findings.hypervisorBit)
        #expect(findings.ranges.isEmpty)
        #expect(!findings.pvmGuest)
    }

    @Test("ranges are scanned at every 0x100 stride up to 0x4000FF00 and no further")
    func everyStride() {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0F00, maxLeaf: 0x4000_0F01, "KVMKVMKVM"),
            HV.head(0x4000_1000, maxLeaf: 0x4000_1001, "XenVMMXenVMM"),
            HV.head(0x4001_0000, maxLeaf: 0x4001_0001, "VMwareVMware"),
        ])
        #expect(findings.kinds == [.kvm, .xen])
        #expect(findings.ranges.map(\.base) == ["0x40000f00", "0x40001000"])
    }

    @Test("the real AMD Genoa KVM dump: one KVM range")
    func genoaDump() throws {
        let snapshot = try SnapshotFile.load(SnapshotFileFixture.dumpPath("amd-genoa-kvm.cpuid-r.txt"))
        let findings = HypervisorScan.scan(CPUIDTable(try #require(snapshot.cpuid.value)))
        #expect(findings.hypervisorBit)
        #expect(findings.primary == .kvm)
        #expect(!findings.pvmGuest)
    }
}

@Suite("HypervisorScan: PVM")
struct HypervisorScanPVMTests {
    @Test("the PVM guest ABI: KVM's signature, max leaf base + 2, EBX of base + 2 = \"PVM\"")
    func pvmGuestABI() throws {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0002, "KVMKVMKVM"),
            HV.leaf(0x4000_0001, eax: 1 << 3), HV.leaf(0x4000_0002, ebx: 0x4D_5650),
        ])
        #expect(findings.pvmGuest)
        #expect(findings.primary == .pvm)
        let range = try #require(findings.ranges.first)
        #expect(range.signature == "KVMKVMKVM")
        #expect(range.features == ["CLOCKSOURCE2", "PVM guest ABI (leaf 0x40000002 EBX = \"PVM\")"])
    }

    @Test("the PVM leaf does not count when the max leaf stops short of it, or its EBX is not \"PVM\"")
    func pvmLeafGates() {
        let shortRange = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, "KVMKVMKVM"),
            HV.leaf(0x4000_0002, ebx: 0x4D_5650),
        ])
        #expect(!shortRange.pvmGuest)
        #expect(shortRange.primary == .kvm)
        let otherEBX = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0002, "KVMKVMKVM"),
            HV.leaf(0x4000_0002, ebx: 0x4D_5651),
        ])
        #expect(!otherEBX.pvmGuest)
        #expect(otherEBX.primary == .kvm)
    }

    @Test("\"PVMPVMPVM\" at 0x40000200 behind KVM: a PVM range and a PVM guest")
    func pvmSignatureRange() {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, "KVMKVMKVM"),
            HV.head(0x4000_0200, maxLeaf: 0x4000_0201, "PVMPVMPVM"),
        ])
        #expect(findings.kinds == [.kvm, .pvm])
        #expect(findings.ranges.map(\.base) == ["0x40000000", "0x40000200"])
        #expect(findings.pvmGuest)
        #expect(findings.primary == .kvm)
    }
}

@Suite("HypervisorScan: Hyper-V hints")
struct HypervisorScanHyperVTests {
    @Test("nested within Hyper-V (0x40000004 EAX[12]), enlightened VMCS (EAX[14]) and the 0x4000000A leaf")
    func nestedHyperV() throws {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_000A, "Microsoft Hv"),
            HV.leaf(0x4000_0001, eax: HV.hvInterface), HV.leaf(0x4000_0003, ebx: 0x2E7F & ~1),
            HV.leaf(0x4000_0004, eax: 1 << 12 | 1 << 14), HV.leaf(0x4000_000A, eax: 0x0101 | 1 << 17 | 1 << 19),
        ])
        #expect(findings.primary == .hyperV)
        #expect(findings.hyperVNested)
        #expect(findings.hyperVEnlightenedVMCS)
        #expect(!findings.hyperVRootPartition)
        let features = try #require(findings.ranges.first?.features)
        #expect(features.contains("running nested within a Hyper-V partition (0x40000004 EAX[12])"))
        #expect(features.contains("enlightened VMCS recommended (0x40000004 EAX[14])"))
        #expect(features.contains("enlightened VMCS versions 1–1 (0x4000000A)"))
        #expect(features.contains("nested direct virtual flush"))
        #expect(features.contains("nested enlightened MSR bitmap"))
    }

    @Test("the root partition: CreatePartitions (0x40000003 EBX[0])")
    func rootPartition() throws {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0006, "Microsoft Hv"),
            HV.leaf(0x4000_0001, eax: HV.hvInterface), HV.leaf(0x4000_0003, ebx: 0x2BFF | 1),
            HV.leaf(0x4000_0004, eax: 0),
        ])
        #expect(findings.hyperVRootPartition)
        #expect(!findings.hyperVNested)
        #expect(!findings.hyperVEnlightenedVMCS)
        #expect(findings.ranges.first?.features.contains("CreatePartitions privilege: root partition") == true)
    }

    @Test("hint leaves beyond the max leaf are not read")
    func hintsBeyondMaxLeaf() {
        let findings = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0002, "Microsoft Hv"),
            HV.leaf(0x4000_0003, ebx: 1), HV.leaf(0x4000_0004, eax: 1 << 12 | 1 << 14),
            HV.leaf(0x4000_000A, eax: 0x0101),
        ])
        #expect(findings.primary == .hyperV)
        #expect(!findings.hyperVRootPartition)
        #expect(!findings.hyperVNested)
        #expect(!findings.hyperVEnlightenedVMCS)
        #expect(findings.ranges.first?.features.isEmpty == true, "no interface leaf and no hints read")
    }
}

@Suite("HypervisorScan: signatures")
struct HypervisorSignatureTests {
    @Test(
        "every known signature is recognised at 0x40000000, spaces and NUL padding included",
        arguments: [
            ("KVMKVMKVM", HypervisorKind.kvm), ("Linux KVM Hv", .kvmHyperVInterface), ("Microsoft Hv", .hyperV),
            ("VMwareVMware", .vmware), ("XenVMMXenVMM", .xen), ("TCGTCGTCGTCG", .qemuTCG), ("bhyve bhyve ", .bhyve),
            ("ACRNACRNACRN", .acrn), ("QNXQVMBSQG", .qnx), ("VBoxVBoxVBox", .virtualBox), (" lrpepyh  vr", .parallels),
            ("LKVMLKVMLKVM", .kvmtool), ("OpenBSDVMM58", .openBSD), ("PVMPVMPVM", .pvm),
        ])
    func recognised(signature: String, kind: HypervisorKind) throws {
        let findings = HV.scan([HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, signature)])
        let range = try #require(findings.ranges.first)
        #expect(range.kind == kind)
        #expect(range.signature == signature, "the signature is kept as the CPU gave it")
    }

    @Test("recognise folds runs of spaces; blank text is no signature; other text is unknown")
    func recogniseText() {
        #expect(HypervisorKind.recognise("bhyve  bhyve") == .bhyve)
        #expect(HypervisorKind.recognise("  lrpepyh vr  ") == .parallels)
        #expect(HypervisorKind.recognise("") == nil)
        #expect(HypervisorKind.recognise("    ") == nil)
        #expect(HypervisorKind.recognise("GenuineIntel") == .unknown)
    }
}

@Suite("HypervisorScan: every 0x100 stride up to 0x4000_FF00, and interface signatures")
struct HypervisorStrideTests {
    @Test("a signature at the last stride (0x4000_FF00) is found, as at the first")
    func lastStride() {
        let found = HV.scan([HV.leaf1(hypervisorBit: true), HV.head(0x4000_FF00, maxLeaf: 0x4000_FF01, "Jailhouse")])
        #expect(found.ranges.map(\.base) == ["0x4000ff00"])
        #expect(found.primary == .jailhouse)
    }

    @Test("the newer signatures are recognised: evmm, HAXM, NVMM, Jailhouse, SRE, Apple VZ")
    func newSignatures() {
        let cases: [(String, HypervisorKind)] = [
            ("EVMMEVMMEVMM", .intelEVMM), ("HAXMHAXMHAXM", .haxm), ("___ NVMM ___", .nvmm), ("Jailhouse", .jailhouse),
            ("SRESRESRESRE", .sre), ("Apple VZ", .appleVZ), ("Linux KVM Hv", .kvmHyperVInterface),
            ("LKVMLKVMLKVM", .kvmtool), ("ACRNACRNACRN", .acrn),
        ]
        for (signature, kind) in cases {
            let found = HV.scan([HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, signature)])
            #expect(found.primary == kind, "\(signature)")
        }
    }

    @Test("a printable base+1 EAX is reported as the interface signature; KVM's feature bits are not")
    func interfaceSignature() {
        let hv = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, "Linux KVM Hv"),
            HV.leaf(0x4000_0001, eax: HV.hvInterface),
        ])
        #expect(hv.ranges.first?.features.contains("interface \"Hv#1\" (0x40000001 EAX)") == true)
        let kvm = HV.scan([
            HV.leaf1(hypervisorBit: true), HV.head(0x4000_0000, maxLeaf: 0x4000_0001, "KVMKVMKVM"),
            HV.leaf(0x4000_0001, eax: 0x0100_7AFB),
        ])
        #expect(kvm.ranges.first?.features.contains { $0.hasPrefix("interface") } == false)
    }
}
