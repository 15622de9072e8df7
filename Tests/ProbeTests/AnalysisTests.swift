// The analysis on snapshot fixtures: one machine per test, checking the level, the hosting verdict
// and the reasons a person would act on. Fixtures: Fixtures/snapshots/make_fixtures.py.

import Foundation
import Testing

@testable import Probe

/// Loads a fixture snapshot through the same loader `diagnose --snapshot` uses.
func fixtureSnapshot(_ name: String) throws -> Snapshot {
    let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/snapshots/\(name).json"))
    return try SnapshotFile.load(url.path)
}

func diagnose(_ name: String) throws -> Diagnosis {
    Analyzer.diagnose(try fixtureSnapshot(name))
}

@Suite("Level and hosting analysis on fixtures")
struct AnalysisTests {
    @Test func bareMetalIntelWithNestedVMX() throws {
        let d = try diagnose("bare-metal-intel-vmx-nested")
        #expect(d.level.level == .l0)
        #expect(d.level.lowerBound == .l0)
        #expect(d.level.confidence > 0.9)
        #expect(d.hypervisors.ranges.isEmpty, "Intel's echo of the top basic leaf is not a hypervisor")
        #expect(d.hosting.canHost == .yes)
        #expect(d.hosting.mechanism == .vmx)
        #expect(d.hosting.guestsCanHost == .yes)
        #expect(d.hosting.blockers.isEmpty)
        #expect(d.hosting.vmxFeatures.contains("EPT"))
        #expect(d.hosting.vmxFeatures.contains("VMCS shadowing"))
        #expect(d.hosting.parameters.contains { $0.name == "enable_shadow_vmcs" && !$0.meaning.isEmpty })
        #expect(d.platform.container == nil)
    }

    @Test func bareMetalAMDWithSVMLockedOffByFirmware() throws {
        let d = try diagnose("bare-metal-amd-svm-locked")
        #expect(d.level.level == .l0)
        #expect(d.hosting.cpuSVM)
        #expect(d.hosting.canHost == .no)
        let blocker = try #require(d.hosting.blockers.first)
        #expect(blocker.problem.contains("SVMDIS"))
        #expect(blocker.fix.contains("SVM Mode"))
        #expect(d.msrs.value?.contains { $0.contains("SVMDIS=1") } == true)
    }

    @Test func kvmGuestWithNestedVMXOffered() throws {
        let d = try diagnose("kvm-l1-nested-offered")
        #expect(d.level.level == .l1)
        #expect(d.level.lowerBound == .l1)
        #expect(d.hypervisors.primary == .kvm)
        #expect(
            d.platform.dmi.cloud == "Google Compute Engine", "a cloud's name, which its bare-metal instances carry too")
        #expect(d.platform.dmi.virtualPlatform == nil)
        #expect(d.hosting.canHost == .yes)
        #expect(d.hosting.mechanism == .vmx)
        #expect(d.hosting.guestsCanHost == .yes)
        #expect(d.hosting.guestSignature == "KVMKVMKVM")
        let timing = try #require(d.level.evidence.first { $0.id == "timing.host-cpuid" })
        #expect((timing.weights["L1"] ?? 0) > 0, "1.4 k cycles is one hardware exit")
    }

    @Test func hyperVGuest() throws {
        let d = try diagnose("hyperv-l1")
        #expect(d.level.level == .l1)
        #expect(d.hypervisors.primary == .hyperV)
        #expect(!d.hypervisors.hyperVNested)
        #expect(d.hosting.canHost == .no)
        let blocker = try #require(d.hosting.blockers.first)
        #expect(blocker.problem.contains("does not expose nested virtualization"))
        #expect(blocker.fix.contains("Azure"))
    }

    @Test func hyperVGuestReportingNested() throws {
        let d = try diagnose("hyperv-nested")
        #expect(d.hypervisors.hyperVNested)
        #expect(d.hypervisors.hyperVEnlightenedVMCS)
        #expect(d.level.level == .l2OrDeeper)
        #expect(d.level.lowerBound == .l2OrDeeper)
        #expect(d.level.confidence > 0.9)
        #expect(d.platform.kernelSaysNested)
    }

    @Test func hyperVRootPartitionIsTheMachineItself() throws {
        let d = try diagnose("hyperv-root-partition")
        #expect(d.hypervisors.hyperVRootPartition)
        #expect(d.level.level == .l0)
    }

    @Test func vmwareGuest() throws {
        let d = try diagnose("vmware-guest")
        #expect(d.level.level == .l1)
        #expect(d.hypervisors.primary == .vmware)
        #expect(d.platform.dmi.virtualPlatform == "VMware")
        #expect(d.hostExitCost.value?.tsc.source == .hypervisorLeaf)
    }

    @Test func gVisorSandboxDiscountsTiming() throws {
        let d = try diagnose("gvisor")
        #expect(d.platform.sandbox == "gVisor")
        #expect(d.level.confidence <= 0.5)
        let timing = try #require(d.level.evidence.first { $0.id == "timing.host-cpuid" })
        #expect(timing.discounted)
        #expect(timing.note.contains("gVisor"))
        #expect(d.hosting.canHost == .no)
    }

    @Test func noDevKVMOnACloudVMWithoutNesting() throws {
        let d = try diagnose("no-dev-kvm")
        #expect(d.level.level == .l1)
        #expect(d.platform.dmi.cloud == "Amazon EC2")
        #expect(!d.platform.dmi.bareMetalInstance)
        #expect(d.hosting.canHost == .no)
        #expect(d.hosting.kvmDevice == "absent")
        #expect(d.hosting.blockers.first?.fix.contains("AWS") == true)
    }

    @Test func devKVMNotAccessible() throws {
        let d = try diagnose("kvm-not-accessible")
        #expect(d.hosting.canHost == .no)
        let blocker = try #require(d.hosting.blockers.first)
        #expect(blocker.fix.contains("usermod -aG kvm"))
        #expect(d.msrs.missing?.reason == .permissionDenied)
        #expect(d.missing.contains { $0.fact == "MSRs" && $0.reason == .permissionDenied })
    }

    @Test func kvmIntelWithNestedOff() throws {
        let d = try diagnose("kvm-intel-nested-off")
        #expect(d.hosting.canHost == .yes)
        #expect(d.hosting.guestsCanHost == .no)
        let blocker = try #require(d.hosting.blockers.first)
        #expect(blocker.problem.contains("nested=N"))
        #expect(blocker.fix.contains("modprobe kvm_intel nested=1"))
    }

    @Test func qemuTCGDiscountsTheCheapCPUID() throws {
        let d = try diagnose("qemu-tcg-svm")
        #expect(d.level.level == .l1)
        #expect(d.hypervisors.kinds.contains(.qemuTCG))
        let timing = try #require(d.level.evidence.first { $0.id == "timing.host-cpuid" })
        #expect(timing.discounted)
        #expect(timing.note.contains("TCG"))
        #expect(d.hosting.mechanism == .svm)
        #expect(d.hosting.guestsCanHost == .yes)
        #expect(d.hosting.parameters.contains { $0.module == "kvm_amd" && $0.name == "nrips" && $0.value == "0" })
    }

    @Test("the SVM test bed, from a real capture inside it: QEMU TCG, kvm_amd nested=1, timing discounted")
    func svmBedRealCapture() throws {
        let d = try diagnose("qemu-tcg-svm-bed")
        #expect(d.origin.kind == .live)
        #expect(d.level.level == .l1)
        #expect(d.hypervisors.primary == .qemuTCG)
        #expect(d.level.evidence.first { $0.id == "timing.host-cpuid" }?.discounted == true)
        #expect(d.hosting.kvmModule == "kvm_amd")
        #expect(d.hosting.mechanism == .svm)
        #expect(d.hosting.guestsCanHost == .yes)
        #expect(d.hosting.parameters.contains { $0.module == "kvm_amd" && $0.name == "nested" && $0.value == "1" })
    }
}
