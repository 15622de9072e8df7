// Issue 13: machines the probe had not met, one defect class per suite, most harmful first. Fixtures:
// Fixtures/snapshots/make_unmet_fixtures.py (from each platform's public documentation), and
// qemu-user-real-capture.json, a real `nestprobe capture` run under qemu-x86_64 on a Firecracker VM.

import Documents
import Foundation
import TestSupport
import Testing

@testable import Probe

func diagnoseDump(_ name: String) throws -> Diagnosis {
    Analyzer.diagnose(try SnapshotFile.load(try CPUIDDumpFixture.url(name).path))
}

@Suite("1. bare metal in a cloud; KVM clouds' DMI")
struct CloudDMITests {
    @Test("an i3.metal instance (DMI Amazon EC2, no hypervisor bit or leaves) is L0, not a VM")
    func awsMetalIsBareMetal() throws {
        let d = try diagnose("aws-i3-metal")
        #expect(d.level.level == .l0)
        #expect(d.level.lowerBound == .l0)
        #expect(!d.level.undetermined)
        #expect(d.platform.dmi.cloud == "Amazon EC2")
        #expect(d.platform.dmi.bareMetalInstance)
        #expect(d.platform.dmi.virtualPlatform == nil, "a cloud's name is not a virtual platform's")
        #expect(d.identity.word == "none")
        #expect(d.summary[0].hasPrefix("Level: L0 (bare metal)"))
    }

    @Test("Nutanix AHV's DMI is a virtual platform's, not physical hardware")
    func nutanixIsVirtual() throws {
        let d = try diagnose("nutanix-ahv")
        #expect(d.platform.dmi.virtualPlatform == "Nutanix AHV (KVM)")
        #expect(d.level.evidence.contains { $0.id == "dmi.virtual" })
        #expect(!d.level.evidence.contains { $0.id == "dmi.physical" })
        #expect(d.identity.word == "kvm")
    }

    @Test("a RHEV guest that hides KVM from CPUID is still a VM: DMI proves it")
    func rhevHiddenIsAVM() throws {
        let d = try diagnose("rhev-kvm-hidden")
        #expect(d.level.lowerBound == .l1)
        #expect(d.level.level == .l1)
        #expect(d.identity.word == "kvm")
        #expect(d.identity.reconciliation?.contains("hiding itself") == true)
    }

    @Test("UpCloud's DMI (\"UpCloud\" / \"Cloud Server\") names a KVM platform")
    func upCloudIsVirtual() throws {
        var snapshot = try fixtureSnapshot("aws-i3-metal")
        snapshot.files["/sys/class/dmi/id/sys_vendor"] = .available("UpCloud\n")
        snapshot.files["/sys/class/dmi/id/product_name"] = .available("Cloud Server\n")
        snapshot.files["/sys/class/dmi/id/bios_vendor"] = .available("SeaBIOS\n")
        let d = Analyzer.diagnose(snapshot)
        #expect(d.platform.dmi.virtualPlatform == "UpCloud (KVM)")
        #expect(d.level.lowerBound == .l1)
    }
}

@Suite("2. Xen dom0 and PV")
struct XenTests {
    @Test("dom0 (control_d) is L0 under Xen, with Xen named and no KVM advice")
    func dom0() throws {
        let d = try diagnose("xen-dom0-pv")
        #expect(d.platform.xen?.role == .dom0)
        #expect(d.platform.xen?.guestType == "PV")
        #expect(d.level.level == .l0)
        #expect(d.level.lowerBound == .l0)
        #expect(d.identity.word == "xen")
        #expect(d.summary.contains { $0.hasPrefix("Runs on: Xen, this OS being dom0") })
        let blocker = try #require(d.hosting.blockers.first)
        #expect(blocker.problem.contains("dom0"))
        #expect(!blocker.fix.contains("modprobe"))
    }

    @Test("a PV guest is an L1 Xen guest, not a microVM, and is never told to modprobe kvm_intel")
    func pvGuest() throws {
        let d = try diagnose("xen-pv-domu")
        #expect(d.platform.xen?.role == .guest)
        #expect(d.platform.microVM == nil)
        #expect(d.level.level == .l1)
        #expect(d.level.lowerBound == .l1)
        #expect(d.identity.word == "xen")
        #expect(d.hosting.cpuVMX, "PV CPUID shows the host's VMX")
        #expect(d.hosting.canHost == .no)
        #expect(d.hosting.blockers.allSatisfy { !$0.fix.contains("modprobe kvm_intel") })
        #expect(d.hosting.blockers.first?.problem.contains("Xen PV") == true)
        let bit = try #require(d.level.evidence.first { $0.id == "cpuid.hypervisor-bit" })
        #expect(bit.discounted, "a clear bit in a PV domain is the hardware's")
        let timing = try #require(d.level.evidence.first { $0.id == "timing.host-cpuid" })
        #expect(timing.discounted)
    }
}

@Suite("3. a confidence coherent with the verdict")
struct ConfidenceTests {
    @Test(
        "VMware with the bit hidden: the bound raises the level, and the confidence is that level's share given the bound"
    )
    func boundRaisesLevel() throws {
        let d = try diagnose("vmware-bit-hidden")
        #expect(d.level.lowerBound == .l1)
        #expect(d.level.level == .l1)
        #expect(d.level.confidence == d.level.probabilities["L1"])
        #expect(d.level.confidence > 0.5, "the verdict must be the most likely level, not a 12 % one")
        #expect(d.level.probabilities["L0"] == 0, "the proven bound rules L0 out")
    }

    @Test("on every fixture the verdict is the largest share and the confidence is its share (gVisor capped at 0.5)")
    func coherentEverywhere() throws {
        let folder = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/snapshots"))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(names.count > 20)
        for name in names {
            let d = try diagnose(String(name.dropLast(5)))
            let share = d.level.probabilities[d.level.level.rawValue] ?? -1
            let top = d.level.probabilities.values.max() ?? 0
            #expect(share == top, "\(name)")
            #expect(d.level.confidence == min(share, d.platform.sandbox == "gVisor" ? 0.5 : 0.99), "\(name)")
        }
    }
}

@Suite("4. unknown, never no, for what was not examined")
struct UnknownNotNoTests {
    @Test("a bare-metal CPUID dump with VMX: hosting and nesting unknown, modules and DMI unknown")
    func dumpSaysUnknown() throws {
        let d = try diagnoseDump("intel-spr-bare-metal.cpuid-1-r-disclaimer.txt")
        #expect(d.hosting.canHost == .unknown)
        #expect(d.hosting.guestsCanHost == .unknown)
        #expect(!d.hosting.modulesCaptured)
        #expect(!d.platform.dmi.captured)
        let text = DiagnosisText().render(d)
        #expect(!text.contains("this level cannot host guests"))
        #expect(!text.contains("none loaded"))
        #expect(text.contains("KVM module: unknown (modules not captured)"))
        #expect(!text.contains("no DMI"))
        #expect(d.summary.contains { $0.hasPrefix("Its guests can host VMs: unknown") })
        #expect(d.summary.contains { $0.hasPrefix("Can host VMs: unknown") && $0.contains("the CPU offers VMX") })
    }

    @Test("a KVM guest dump offered nested VMX: guests can host is unknown, not no")
    func guestDumpSaysUnknown() throws {
        let d = try diagnoseDump(CPUIDDumpFixture.cpuidTool)
        #expect(d.hosting.guestsCanHost == .unknown)
        #expect(d.level.evidence.contains { $0.id == "dmi.not-captured" && $0.discounted })
    }
}

@Suite("5. look-alike signatures reconciled with DMI")
struct LookAlikeTests {
    @Test("VirtualBox's KVM provider: \"KVMKVMKVM\" in CPUID, VirtualBox in DMI, named VirtualBox and said so")
    func virtualBox() throws {
        let d = try diagnose("virtualbox-kvm-interface")
        #expect(d.hypervisors.primary == .kvm)
        #expect(d.identity.word == "oracle")
        let note = try #require(d.identity.reconciliation)
        #expect(note.contains("KVMKVMKVM") && note.contains("VirtualBox"))
        #expect(d.summary.contains { $0.hasPrefix("Reconciled:") })
    }

    @Test("Parallels presenting KVM is named Parallels")
    func parallels() throws {
        let d = try diagnose("parallels-kvm-interface")
        #expect(d.identity.word == "parallels")
        #expect(d.identity.reconciliation?.contains("Parallels") == true)
    }

    @Test("QEMU's DMI over KVM's signature is KVM, with nothing to reconcile")
    func qemuOverKVM() throws {
        let d = try diagnose("qemu-virtual-cpu")
        #expect(d.identity.word == "kvm")
        #expect(d.identity.reconciliation == nil)
    }
}

@Suite("6. a user-mode emulator is not a VM level (a real qemu-x86_64 capture)")
struct EmulatorTests {
    @Test("CPUID is the emulator's: the kernel's view sets the level, SVM is not claimed, hosting is unknown")
    func qemuUser() throws {
        let d = try diagnose("qemu-user-real-capture")
        let emulation = try #require(d.emulation)
        #expect(emulation.emulator.contains("qemu-x86_64"))
        #expect(emulation.conflicts.contains { $0.contains("AuthenticAMD") && $0.contains("GenuineIntel") })
        #expect(d.hypervisors.kinds.contains(.qemuTCG), "the emulator's signature is still listed")
        #expect(d.level.level == .l1, "the kernel says KVM: the emulator adds no level")
        #expect(d.identity.word == "kvm")
        #expect(!d.hosting.cpuSVM, "SVM was the emulator's CPUID, not this machine's")
        #expect(d.hosting.cpuFlagsSource.hasPrefix("/proc/cpuinfo"))
        #expect(d.hosting.canHost == .unknown)
        #expect(d.level.evidence.first { $0.id == "timing.host-cpuid" }?.discounted == true)
        #expect(!d.level.evidence.contains { $0.id == "cpuid.signature" })
    }
}

@Suite("7. no decoded value traps the analysis")
struct NoTrapTests {
    @Test(
        "a CPUID timing median of 2^63 cycles and of 2^64 − 1: an estimate, no trap",
        arguments: [
            UInt64(1) << 63, UInt64.max,
        ])
    func hugeMedian(cycles: UInt64) throws {
        var snapshot = try fixtureSnapshot("aws-i3-metal")
        var timing = try #require(snapshot.hostTiming.value)
        timing.samplesCycles = timing.samplesCycles.map { _ in cycles }
        snapshot.hostTiming = .available(timing)
        let d = Analyzer.diagnose(snapshot)
        #expect(d.level.evidence.contains { $0.id == "timing.host-cpuid" && $0.observation.contains("e+") })
        for field in DiagnosisField.allCases { #expect(!field.answer(d).isEmpty) }
        _ = try DocumentFile.encodeJSON(d)
    }
}

@Suite("8. real dumps accepted, a missing leaf 1 unknown")
struct DumpInputTests {
    @Test("`cpuid -1 -r` with cpuid's Disclaimer line first is read")
    func disclaimer() throws {
        let dump = try CPUIDDumpFixture.dump("intel-spr-bare-metal.cpuid-1-r-disclaimer.txt")
        #expect(dump.format == .cpuidTool)
        #expect(dump.table[1] != nil)
        #expect(
            CPUIDDump.detectFormat(try CPUIDDumpFixture.text("intel-spr-bare-metal.cpuid-1-r-disclaimer.txt"))
                == .cpuidTool)
    }

    @Test("a dump without leaf 1: the bit is unknown, not clear; libcpuid is not asked to name it")
    func noLeaf1() throws {
        let d = try diagnoseDump("intel-no-leaf1.cpuid-r.txt")
        #expect(!d.hypervisors.leaf1Present)
        #expect(!d.level.evidence.contains { $0.id == "cpuid.hypervisor-bit" })
        #expect(d.level.evidence.contains { $0.id == "cpuid.leaf1-missing" && $0.discounted })
        #expect(d.cpu.value == nil)
        #expect(d.cpu.missing?.detail.contains("leaf 1") == true)
        #expect(d.missing.contains { $0.fact == "CPUID leaf 1" })
        #expect(d.hosting.cpuFlagsSource.hasPrefix("unknown"))
        #expect(DiagnosisText().render(d).contains("CPUID hypervisor bit: unknown"))
    }
}

extension DumpInputTests {
    @Test("a leaf 1 of four zero registers counts as missing: libcpuid is not asked to name it")
    func zeroedLeaf1() throws {
        var snapshot = try fixtureSnapshot("aws-i3-metal")
        snapshot.cpuid = .available(
            (snapshot.cpuid.value ?? []).map {
                $0.leaf == 1 ? CPUIDLeaf(leaf: 1, subleaf: 0, eax: 0, ebx: 0, ecx: 0, edx: 0) : $0
            })
        let d = Analyzer.diagnose(snapshot)
        #expect(!d.hypervisors.leaf1Present)
        #expect(d.cpu.value == nil)
        #expect(d.cpuCaveats.isEmpty)
    }
}

@Suite("9. CPU identity caveats")
struct CPUCaveatTests {
    @Test("AMD with family 6 in leaf 1 and Genoa's signature in 0x80000001 is flagged")
    func amdTemplate() throws {
        let d = try diagnose("amd-template-family6")
        #expect(d.cpuCaveats.contains { $0.contains("0x80000001") && $0.contains("family 19h") })
        #expect(d.cpuCaveats.contains { $0.contains("long mode") })
        #expect(d.summary.contains { $0.hasPrefix("CPU caveat:") })
    }

    @Test("QEMU's synthetic model gets a caveat on libcpuid's name for it")
    func qemuModel() throws {
        let d = try diagnose("qemu-virtual-cpu")
        #expect(d.cpuCaveats.contains { $0.contains("QEMU Virtual CPU") && $0.contains("synthetic") })
    }

    @Test("a real CPU gets no caveat")
    func realCPU() throws {
        #expect(try diagnose("aws-i3-metal").cpuCaveats.isEmpty)
        #expect(try diagnose("pvm-host-genoa").cpuCaveats.isEmpty)
    }
}

@Suite("10. no CPUID at all; Linux-VServer")
struct NoCPUIDTests {
    @Test("a container-only description is undetermined, not a 33 % L0")
    func containerOnly() throws {
        let d = try diagnose("container-only")
        #expect(d.level.undetermined)
        #expect(d.summary[0].hasPrefix("Level: undetermined"))
        #expect(DiagnosisField.level.answer(d) == "undetermined")
        #expect(DiagnosisQuestion.vm.answer(d) == .unknown)
        #expect(DiagnosisQuestion.container.answer(d) == .yes)
        #expect(d.identity.word == "unknown")
    }

    @Test("a Linux-VServer guest context (VxID ≠ 0) is a container")
    func vserver() throws {
        let d = try diagnose("linux-vserver-guest")
        #expect(d.platform.container?.kind == "linux-vserver")
        #expect(d.level.level == .l0, "a VServer context shares the host's kernel")
    }
}

/// qemu-x86_64 (Debian's qemu-user, installed by `scripts/setup.sh --test`), when this machine has it.
let qemuUser = ["/usr/bin/qemu-x86_64", "/usr/local/bin/qemu-x86_64"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

@Suite("6. the emulator, live: nestprobe run under qemu-x86_64 on this machine")
struct LiveEmulatorTests {
    /// Runs the built nestprobe under qemu-x86_64 with `arguments`; returns exit status and stdout.
    static func underQEMU(_ arguments: [String]) throws -> (Int32, String) {
        let binary = try #require(NestprobeRunner.binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(qemuUser))
        process.arguments = [binary.path] + arguments
        let result = try NestprobeRunner.wait(process, in: FileManager.default.temporaryDirectory.path)
        return (result.status, result.out)
    }

    @Test(
        "the emulator is seen and adds no level: the same level and hypervisor as natively (no timing either side: under the emulator it is discounted)",
        .enabled(if: qemuUser != nil, "qemu-x86_64 is not installed (scripts/setup.sh --test installs qemu-user)"))
    func sameAsNative() throws {
        let (status, emulated) = try Self.underQEMU(["diagnose", "--no-kvm", "--no-timing", "--json"])
        #expect(status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(emulated.utf8)) as? [String: Any])
        let emulation = try #require(json["emulation"] as? [String: Any], "CPUID under qemu-x86_64 is QEMU's")
        #expect((emulation["conflicts"] as? [String])?.isEmpty == false)
        let (_, nativeLevel, _) = try NestprobeRunner.outputs([
            "diagnose", "--no-kvm", "--no-timing", "--print", "level",
        ])
        let (_, nativeHypervisor, _) = try NestprobeRunner.outputs([
            "diagnose", "--no-kvm", "--no-timing", "--print", "hypervisor",
        ])
        let level = (json["level"] as? [String: Any])?["level"] as? String
        let undetermined = (json["level"] as? [String: Any])?["undetermined"] as? Bool == true
        let word = (json["identity"] as? [String: Any])?["word"] as? String
        #expect((undetermined ? "undetermined" : level) == nativeLevel.trimmed, "an emulator is not a VM level")
        #expect(word == nativeHypervisor.trimmed)
        #expect(word != "qemu")
    }
}

@Suite("6. the emulator's CPU model is said to be the emulator's")
struct EmulatorCPULineTests {
    @Test func cpuLineNamesTheKernelsCPU() throws {
        let d = try diagnose("qemu-user-real-capture")
        let line = try #require(d.summary.first { $0.hasPrefix("CPU: ") })
        #expect(line.contains("the emulator's model; the kernel's CPU: Intel(R) Xeon(R) Processor"))
    }
}
