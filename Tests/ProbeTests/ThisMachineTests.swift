// The diagnosis of this project's own development machine, from a real capture committed as a fixture
// (Fixtures/snapshots/pvm-host-genoa.json, `nestprobe capture` on 2026-11-26): a Firecracker KVM guest on
// AMD EPYC Zen 4, serving /dev/kvm through kvm_pvm, inside a docker container, without the msr driver.

import Testing

@testable import Probe

@Suite("Diagnosis of the PVM development machine (real capture)")
struct ThisMachineTests {
    let d: Diagnosis

    init() throws {
        d = Analyzer.diagnose(try fixtureSnapshot("pvm-host-genoa"))
    }

    @Test func aKVMGuestWithoutDMI() {
        #expect(d.hypervisors.hypervisorBit)
        #expect(d.hypervisors.primary == .kvm)
        #expect(d.platform.dmi.fields.isEmpty)
        #expect(d.platform.microVM?.contains("Firecracker") == true)
    }

    @Test func zen4CorrectedFromLibcpuidsMilan() throws {
        let cpu = try #require(d.cpu.value)
        #expect(cpu.vendor == .amd)
        #expect(cpu.family == 0x19 && cpu.model == 0x11)
        #expect(cpu.libcpuidCodename.contains("Milan"))
        #expect(cpu.codename.contains("Genoa"))
        #expect(cpu.codenameCorrection != nil)
    }

    @Test func dockerReportedApartFromVirtualization() throws {
        let container = try #require(d.platform.container)
        #expect(container.kind == "docker")
        #expect(d.summary.contains { $0.hasPrefix("Container: docker") && $0.contains("adds no hypervisor level") })
    }

    @Test func atLeastL1WithTheEvidence() {
        #expect(d.level.lowerBound == .l1)
        #expect(d.level.level != .l0)
        #expect(d.level.evidence.contains { $0.id == "cpuid.hypervisor-bit" && $0.observation == "set" })
        let timing = d.level.evidence.first { $0.id == "timing.host-cpuid" }
        #expect(timing?.discounted == false, "a trapping cpuid of ~9 k cycles is evidence, not noise")
        #expect(d.summary[0].hasPrefix("Level: at least L1"))
    }

    @Test func hostsThroughPVMWithoutVMXOrSVM() {
        #expect(d.hosting.canHost == .yes)
        #expect(d.hosting.mechanism == .pvm)
        #expect(d.hosting.kvmModule == "kvm_pvm")
        #expect(!d.hosting.cpuVMX && !d.hosting.cpuSVM)
        #expect(d.summary.contains { $0.hasPrefix("Can host VMs: yes, through kvm_pvm") })
    }

    @Test func guestsCannotHostTheirOwn() {
        #expect(d.hosting.guestsCanHost == .no)
        #expect(d.hosting.guestsCanHostReason.contains("neither VMX nor SVM"))
    }

    @Test func msrsUnavailableWithTheReason() throws {
        let missing = try #require(d.msrs.missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("/dev/cpu/0/msr"))
        #expect(missing.detail.contains("never loads it"))
    }

    @Test func textFitsEightyColumnsWithoutColour() {
        let text = DiagnosisText(width: 80, colour: false).render(d)
        let long = text.split(separator: "\n").filter { $0.count > 80 }
        #expect(long.isEmpty, "lines over 80 columns: \(long)")
        #expect(!text.contains("\u{1B}["))
    }
}
