// Tests of the firmware, PCI, network and confidential-guest evidence (issue 16) on one sysfs tree per
// platform (Fixtures/platforms, written by make_platform_trees.py from each platform's public documentation):
// each tree is captured through SystemReader as a live machine would be, given the CPUID its platform
// shows, diagnosed, and checked for what names the platform and what bounds the level.

import Foundation
import Testing

@testable import Probe

/// The platform trees and the CPUID each platform answers.
enum PlatformTree {
    static func root(_ name: String) -> String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/platforms/\(name)").path
    }

    /// A range head or vendor leaf: EAX as given, EBX:ECX:EDX the 12 characters.
    static func text(_ leaf: UInt32, eax: UInt32, _ text: String, order: [Int] = [0, 1, 2]) -> CPUIDLeaf {
        let bytes = Array(text.utf8) + [UInt8](repeating: 0, count: max(0, 12 - text.utf8.count))
        let words = (0..<3).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << UInt32(8 * $1) } }
        // order: which text word goes to EBX, ECX, EDX.
        return CPUIDLeaf(leaf: leaf, eax: eax, ebx: words[order[0]], ecx: words[order[1]], edx: words[order[2]])
    }

    /// Leaves 0 and 1 (hypervisor bit as asked) and, when given, one hypervisor range with its feature leaf.
    static func cpuid(signature: String?, hypervisorBit: Bool = true, extra: [CPUIDLeaf] = []) -> [CPUIDLeaf] {
        var leaves = [
            text(0, eax: 0x1F, "GenuineIntel", order: [0, 2, 1]),
            CPUIDLeaf(
                leaf: 1, eax: 0x0008_06F8, ebx: 0x0020_0800, ecx: 0x7EDA_3203 | (hypervisorBit ? 1 << 31 : 0),
                edx: 0xBFEB_FBFF),
        ]
        if let signature {
            leaves += [
                text(0x4000_0000, eax: 0x4000_0001, signature),
                CPUIDLeaf(leaf: 0x4000_0001, eax: 0x0100_7AFB, ebx: 0, ecx: 0, edx: 0),
            ]
        }
        return leaves + extra
    }

    /// Captures the tree (no timing, no /dev/kvm), replaces CPUID with `cpuid`, and diagnoses it. `hidden`
    /// removes the kernel's hypervisor flag too, as a hypervisor that hides its CPUID bit (KVM's hidden
    /// state) hides it from the kernel as well.
    static func diagnose(_ name: String, cpuid: [CPUIDLeaf], hidden: Bool = false) -> (Snapshot, Diagnosis) {
        var capture = LiveCapture(reader: SystemReader(root: root(name)))
        capture.timeCPUID = false
        capture.askKVM = false
        var snapshot = capture.capture()
        snapshot.cpuid = .available(cpuid)
        if hidden, let cpuinfo = snapshot.file("/proc/cpuinfo").value {
            snapshot.files["/proc/cpuinfo"] = .available(cpuinfo.replacingOccurrences(of: " hypervisor", with: ""))
        }
        return (snapshot, Analyzer.diagnose(snapshot))
    }

    static func ids(_ d: Diagnosis) -> [String] { d.level.evidence.map(\.id) }
}

@Suite("Platform trees: firmware, PCI, NICs and confidential guests name the platform")
struct PlatformTreeTests {
    @Test("Firecracker is named from its ACPI tables and PCI bus, with no help from the command line")
    func firecracker() throws {
        let (snapshot, d) = PlatformTree.diagnose("firecracker", cpuid: PlatformTree.cpuid(signature: "KVMKVMKVM"))
        #expect(
            snapshot.text("/proc/cmdline")?.contains("firecracker") == false, "the tree's command line names nothing")
        let firmware = try #require(d.firmware)
        #expect(firmware.acpiVMM == "Firecracker")
        #expect(firmware.acpiTables["DSDT"]?.oemTableID == "FCVMDSDT")
        #expect(firmware.acpiTables["DSDT"]?.creatorID == "FCAT")
        #expect(firmware.smbiosVMBit == nil, "Firecracker has no SMBIOS: unknown, not clear")
        #expect(firmware.smbiosDetail?.hasPrefix("unknown, absent") == true)
        let microVM = try #require(d.platform.microVM)
        #expect(microVM.hasPrefix("Firecracker (ACPI"))
        #expect(microVM.contains("8086:0d57"))
        #expect(microVM.contains("2 virtio functions"))
        #expect(!microVM.contains("command line"))
        #expect(PlatformTree.ids(d).contains("acpi.vmm"))
        #expect(PlatformTree.ids(d).contains("pci.emulated"))
        #expect(d.devices?.locallyAdministered == ["eth0"], "02:fc:… is locally administered, so not counted")
        #expect(d.devices?.nics.isEmpty == true)
        #expect(d.disagreements == nil, "KVM below Firecracker is one story")
    }

    @Test("QEMU/KVM q35: QEMU's tables, the SMBIOS VM bit, fw_cfg and QEMU's PCI IDs")
    func qemu() throws {
        let (_, d) = PlatformTree.diagnose("qemu-kvm-q35", cpuid: PlatformTree.cpuid(signature: "KVMKVMKVM"))
        let firmware = try #require(d.firmware)
        #expect(firmware.acpiVMM == "QEMU")
        #expect(firmware.acpiBasis?.contains("OEM ID BOCHS") == true)
        #expect(firmware.smbiosVMBit == true)
        #expect(firmware.fwCfg == true)
        #expect(d.devices?.emulatedPlatform?.hasPrefix("QEMU") == true)
        let ids = PlatformTree.ids(d)
        for id in ["acpi.vmm", "smbios.vm-bit", "qemu.fw-cfg", "pci.emulated"] { #expect(ids.contains(id), "\(id)") }
        #expect(d.identity.word == "kvm")
        #expect(d.disagreements == nil)
    }

    @Test(
        "The SMBIOS VM bit and the ACPI tables bound the level when CPUID hides the hypervisor, and the disagreement is said"
    )
    func hiddenHypervisor() throws {
        let (_, d) = PlatformTree.diagnose(
            "qemu-kvm-q35", cpuid: PlatformTree.cpuid(signature: nil, hypervisorBit: false), hidden: true)
        #expect(d.level.lowerBound == .l1)
        #expect(d.level.lowerBoundReason.contains("SMBIOS"))
        let disagreement = try #require(d.disagreements?.first)
        #expect(disagreement.hasPrefix("CPUID shows no hypervisor"))
        #expect(disagreement.contains("SMBIOS"))
        #expect(d.summary.contains { $0.hasPrefix("Sources disagree: CPUID shows no hypervisor") })
    }

    @Test("VMware: its own tables among Phoenix's, VMware PCI IDs and OUI; a clear SMBIOS bit is discounted")
    func vmware() throws {
        let (_, d) = PlatformTree.diagnose("vmware", cpuid: PlatformTree.cpuid(signature: "VMwareVMware"))
        #expect(d.firmware?.acpiVMM == "VMware")
        #expect(d.firmware?.acpiBasis?.contains("SRAT") == true)
        #expect(d.firmware?.smbiosVMBit == false)
        let bit = try #require(d.level.evidence.first { $0.id == "smbios.vm-bit" })
        #expect(bit.discounted, "clear does not mean bare metal")
        #expect(d.devices?.emulatedPlatform?.hasPrefix("VMware") == true)
        #expect(d.devices?.nics.first?.platform == "VMware")
        #expect(d.identity.word == "vmware")
    }

    @Test("Hyper-V generation 2: VRTUAL/MICROSFT tables, Microsoft's OUI, no PCI bus")
    func hyperV() throws {
        let (_, d) = PlatformTree.diagnose("hyperv-gen2", cpuid: PlatformTree.cpuid(signature: "Microsoft Hv"))
        #expect(d.firmware?.acpiVMM == "Hyper-V")
        #expect(d.devices?.pci == [])
        #expect(d.devices?.pciMissing?.contains("does not exist") == true)
        #expect(d.devices?.nics.first?.platform == "Hyper-V")
        #expect(d.identity.word == "microsoft")
    }

    @Test("Xen HVM: hvmloader's tables and the Xen platform PCI device")
    func xen() throws {
        let (_, d) = PlatformTree.diagnose("xen-hvm", cpuid: PlatformTree.cpuid(signature: "XenVMMXenVMM"))
        #expect(d.firmware?.acpiVMM == "Xen HVM")
        #expect(d.devices?.virtualFunctions.contains { $0.platform == "Xen" } == true)
        #expect(d.devices?.nics.first?.platform == "Xen")
        #expect(d.identity.word == "xen")
    }

    @Test("VirtualBox behind KVM's interface: the tables and devices name VirtualBox, and the difference is explained")
    func virtualBox() throws {
        let (_, d) = PlatformTree.diagnose("virtualbox", cpuid: PlatformTree.cpuid(signature: "KVMKVMKVM"))
        #expect(d.firmware?.acpiVMM == "VirtualBox")
        #expect(d.devices?.emulatedPlatform == "VirtualBox")
        #expect(d.devices?.nics.first?.platform == "VirtualBox")
        #expect(d.identity.word == "oracle", "DMI names VirtualBox over KVM's interface")
        let said = try #require(d.disagreements)
        #expect(said.contains { $0.contains("VirtualBox presents that paravirtual interface") })
    }

    @Test("An SEV-SNP guest is proven by the guest driver and the kernel, which bounds the level")
    func sevSNP() throws {
        let sev = [
            CPUIDLeaf(leaf: 0x8000_0000, eax: 0x8000_001F, ebx: 0, ecx: 0, edx: 0),
            CPUIDLeaf(leaf: 0x8000_001F, eax: 0x0001_001B, ebx: 0x33, ecx: 0, edx: 0),
        ]
        let (_, d) = PlatformTree.diagnose(
            "sev-snp-guest", cpuid: PlatformTree.cpuid(signature: "KVMKVMKVM", extra: sev))
        let confidential = try #require(d.confidential)
        #expect(confidential.guest == "AMD SEV-SNP")
        #expect(confidential.proof.contains { $0.contains("/dev/sev-guest") })
        #expect(confidential.proof.contains { $0.contains("Memory Encryption Features active") })
        #expect(confidential.capability.contains { $0.contains("0x8000001F offers SEV, SEV-ES, SEV-SNP") })
        let item = try #require(d.level.evidence.first { $0.id == "confidential.guest" })
        #expect((item.weights["L2+"] ?? 0) < 0, "such a guest runs on the hardware's own hypervisor")
        #expect(d.level.level == .l1)
        #expect(d.summary.contains { $0.hasPrefix("Confidential guest: AMD SEV-SNP") })
    }

    @Test(
        "A TDX guest is proven by the leaf 0x21 signature, the tdx_guest flag and its driver; a bare CPUID bit is enough to bound it"
    )
    func tdx() throws {
        let tdxLeaf = PlatformTree.text(0x21, eax: 0, "IntelTDX    ", order: [0, 2, 1])
        let (_, d) = PlatformTree.diagnose(
            "tdx-guest", cpuid: PlatformTree.cpuid(signature: "KVMKVMKVM", extra: [tdxLeaf]))
        let confidential = try #require(d.confidential)
        #expect(confidential.guest == "Intel TDX")
        #expect(confidential.proof.count == 4, "leaf 0x21, tdx_guest, /dev/tdx_guest, the boot line")
        // Without the hypervisor bit and signature, the TD proves the VM by itself.
        let (_, hidden) = PlatformTree.diagnose(
            "tdx-guest", cpuid: PlatformTree.cpuid(signature: nil, hypervisorBit: false, extra: [tdxLeaf]), hidden: true
        )
        #expect(hidden.level.lowerBound == .l1)
        #expect(hidden.level.lowerBoundReason.contains("Intel TDX"))
    }

    @Test(
        "Bare metal: the vendor's tables, a clear SMBIOS bit, Intel functions and OUI lean to L0 and prove nothing virtual"
    )
    func bareMetal() throws {
        let (_, d) = PlatformTree.diagnose(
            "bare-metal-server", cpuid: PlatformTree.cpuid(signature: nil, hypervisorBit: false))
        #expect(d.firmware?.acpiVMM == nil)
        #expect(d.firmware?.smbiosVMBit == false)
        #expect(d.devices?.virtualFunctions.isEmpty == true)
        #expect(d.devices?.nics.isEmpty == true)
        #expect(d.confidential == nil)
        let ids = PlatformTree.ids(d)
        #expect(ids.contains("acpi.physical"))
        #expect(ids.contains("pci.physical"))
        #expect(d.level.lowerBound == .l0)
        #expect(d.level.level == .l0)
        #expect(d.disagreements == nil)
    }

    @Test("Every platform's capture survives a snapshot round trip and diagnoses the same afterwards")
    func replay() throws {
        for name in [
            "firecracker", "qemu-kvm-q35", "vmware", "hyperv-gen2", "xen-hvm", "virtualbox", "sev-snp-guest",
            "tdx-guest",
        ] {
            let (snapshot, d) = PlatformTree.diagnose(name, cpuid: PlatformTree.cpuid(signature: "KVMKVMKVM"))
            let data = try DocumentFile.encodeJSON(snapshot)
            let replayed = try SnapshotFile.parse([UInt8](data), name: name)
            #expect(replayed == snapshot, "\(name)")
            let again = Analyzer.diagnose(replayed)
            #expect(again.firmware == d.firmware, "\(name)")
            #expect(again.devices == d.devices, "\(name)")
            #expect(again.level.evidence == d.level.evidence, "\(name)")
        }
    }
}

@Suite("Firmware and device readers: headers, the SMBIOS bit, OUIs, unreadable sources")
struct FirmwareReaderTests {
    @Test("an ACPI header is parsed field by field, not searched; short input is no header")
    func header() throws {
        let bytes = Array("APICH\0\0\0\u{06}VFIRECKFCVMMADT\0\0\0\0FCAT\u{19}\u{01}$ ".utf8)
        let header = try #require(ACPITableHeader(bytes))
        #expect(header.signature == "APIC")
        #expect(header.length == 0x48)
        #expect(header.revision == 6)
        #expect(header.oemID == "FIRECK")
        #expect(header.oemTableID == "FCVMMADT")
        #expect(header.creatorID == "FCAT")
        #expect(header.creatorRevision == 0x2024_0119)
        #expect(ACPITableHeader(Array(bytes.prefix(35))) == nil)
        // A name inside the body (past the header) names nothing.
        var tables: [String: ACPITableHeader] = [:]
        tables["SSDT"] = ACPITableHeader(Array("SSDT\0\u{01}\0\0\u{01}\0DELL  PE_SC3  \0\0\0\0INTL\0\0\0\0FIRECK".utf8))
        #expect(FirmwareAnalysis.name(tables, rules: FirmwareAnalysis.vmmRules) == nil)
    }

    @Test("the SMBIOS bit: set, clear, too short (before 2.4), and unreadable without root")
    func smbiosBit() {
        var raw = [UInt8](repeating: 0, count: 0x18)
        raw[1] = 0x18
        raw[0x13] = 0x10
        #expect(FirmwareAnalysis.smbiosBit(.available(LiveCapture.hex(raw))).0 == true)
        raw[0x13] = 0x0C
        #expect(FirmwareAnalysis.smbiosBit(.available(LiveCapture.hex(raw))).0 == false)
        raw[1] = 0x13
        let short = FirmwareAnalysis.smbiosBit(.available(LiveCapture.hex(raw)))
        #expect(short.0 == nil)
        #expect(short.1?.contains("before 2.4") == true)
        let denied = FirmwareAnalysis.smbiosBit(.unavailable(.permissionDenied, "open: EACCES"))
        #expect(denied.0 == nil)
        #expect(denied.1?.hasPrefix("unknown, needs root") == true)
    }

    @Test("unreadable ACPI tables are unknown and say root is needed, never 'no VMM'")
    func acpiDenied() {
        var snapshot = Snapshot(origin: Origin(kind: .fixture))
        snapshot.directories[LiveCapture.acpiTablesFolder] = .available(["DSDT", "FACP"])
        for name in ["DSDT", "FACP"] {
            snapshot.files["\(LiveCapture.acpiTablesFolder)/\(name)"] = .unavailable(.permissionDenied, "open: EACCES")
        }
        let firmware = FirmwareAnalysis.analyse(snapshot)
        #expect(firmware.acpiVMM == nil)
        #expect(firmware.acpiMissing?.hasPrefix("unknown, needs root") == true)
        let evidence = LevelAnalysis.firmwareEvidence(firmware, root: false)
        #expect(evidence.first?.id == "acpi.unknown")
        #expect(evidence.first?.discounted == true)
        let missing = Analyzer.missingFacts(snapshot)
        #expect(missing.contains { $0.fact == "ACPI table headers" && $0.reason == .permissionDenied })
    }

    @Test("addresses keep their OUI only; locally administered ones are set apart")
    func ouis() {
        #expect(LiveCapture.oui("00:50:56:9a:0b:1c\n") == "00:50:56")
        #expect(LiveCapture.oui("garbage") == "garbage")
        var snapshot = Snapshot(origin: Origin(kind: .fixture))
        snapshot.directories[LiveCapture.netFolder] = .available(["eth0", "eth1", "lo"])
        snapshot.files["/sys/class/net/eth0/address"] = .available("52:54:00")
        snapshot.files["/sys/class/net/eth1/address"] = .available("00:16:3e")
        snapshot.files["/sys/class/net/lo/address"] = .available("00:00:00")
        let devices = DeviceAnalysis.analyse(snapshot)
        #expect(devices.locallyAdministered == ["eth0"])
        #expect(devices.nics == [NICFinding(interface: "eth1", oui: "00:16:3e", platform: "Xen")])
    }

    @Test("a snapshot without these sources keeps its diagnosis: no firmware, devices or disagreements")
    func notCaptured() {
        let d = Analyzer.diagnose(
            Snapshot(origin: Origin(kind: .fixture), cpuid: .available(PlatformTree.cpuid(signature: "KVMKVMKVM"))))
        #expect(d.firmware == nil)
        #expect(d.devices == nil)
        #expect(d.confidential == nil)
        #expect(d.disagreements == nil)
        #expect(
            !d.level.evidence.contains {
                $0.id.hasPrefix("acpi") || $0.id.hasPrefix("pci") || $0.id.hasPrefix("smbios")
            })
    }
}
