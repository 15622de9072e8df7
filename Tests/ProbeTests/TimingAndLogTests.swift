// Tests of TSCFrequencyFinder (CPUID 0x15, the hypervisor timing leaf, the kernel log, calibration as a
// last resort), String(format3:) and KernelLog's record parsing and filtering. No clock is read here
// except where a test says so; no test asserts a duration.

import Foundation
import Testing

@testable import Probe

/// CPUID tables for the TSC sources.
private enum TSCTables {
    /// Leaf 0 with `maxBasic` as its EAX ("GenuineIntel").
    static func leaf0(maxBasic: UInt32) -> CPUIDLeaf {
        CPUIDLeaf(leaf: 0, eax: maxBasic, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69)
    }

    /// Leaf 0x15 with a 24 MHz crystal and a 176/2 ratio: 2.112 GHz.
    static func leaf15(eax: UInt32 = 2, ebx: UInt32 = 176, ecx: UInt32 = 24_000_000) -> CPUIDLeaf {
        CPUIDLeaf(leaf: 0x15, eax: eax, ebx: ebx, ecx: ecx, edx: 0)
    }

    /// A hypervisor range at 0x4000_0000 reaching `maxLeaf`, with the timing leaf's EAX in kHz.
    static func hypervisor(maxLeaf: UInt32, kHz: UInt32) -> [CPUIDLeaf] {
        [
            CPUIDLeaf(leaf: 0x4000_0000, eax: maxLeaf, ebx: 0x6177_4D56, ecx: 0x4D56_6572, edx: 0x6572_6177),
            CPUIDLeaf(leaf: 0x4000_0010, eax: kHz, ebx: 1_000_000, ecx: 0, edx: 0),
        ]
    }
}

@Suite("TSCFrequencyFinder: each source, and the order they are tried in")
struct TSCFrequencyFinderTests {
    @Test("CPUID 0x15: crystal × EBX / EAX (24 MHz × 176 / 2 = 2.112 GHz)")
    func fromLeaf15() throws {
        let table = CPUIDTable([TSCTables.leaf0(maxBasic: 0x1B), TSCTables.leaf15()])
        let tsc = try #require(TSCFrequencyFinder.fromCPUID15(table))
        #expect(tsc.hz == 2_112_000_000)
        #expect(tsc.source == .cpuid15)
        #expect(tsc.detail.contains("24000000"))
    }

    @Test("CPUID 0x15 is ignored above the max basic leaf, or without leaf 0")
    func leaf15OutOfRange() {
        #expect(
            TSCFrequencyFinder.fromCPUID15(CPUIDTable([TSCTables.leaf0(maxBasic: 0x14), TSCTables.leaf15()])) == nil)
        #expect(TSCFrequencyFinder.fromCPUID15(CPUIDTable([TSCTables.leaf15()])) == nil)
        #expect(TSCFrequencyFinder.fromCPUID15(CPUIDTable([TSCTables.leaf0(maxBasic: 0x20)])) == nil)
    }

    @Test(
        "CPUID 0x15 with a zero field gives no frequency (no crystal: Skylake client, most VMs)",
        arguments: [(UInt32(0), UInt32(176), UInt32(24_000_000)), (2, 0, 24_000_000), (2, 176, 0), (0, 0, 0)])
    func leaf15ZeroFields(eax: UInt32, ebx: UInt32, ecx: UInt32) {
        let table = CPUIDTable([TSCTables.leaf0(maxBasic: 0x1B), TSCTables.leaf15(eax: eax, ebx: ebx, ecx: ecx)])
        #expect(TSCFrequencyFinder.fromCPUID15(table) == nil)
    }

    @Test("the hypervisor timing leaf 0x40000010 EAX is in kHz")
    func fromHypervisorLeaf() throws {
        let tsc = try #require(
            TSCFrequencyFinder.fromHypervisorLeaf(
                CPUIDTable(TSCTables.hypervisor(maxLeaf: 0x4000_0010, kHz: 2_112_000))))
        #expect(tsc.hz == 2_112_000_000)
        #expect(tsc.source == .hypervisorLeaf)
    }

    @Test("the timing leaf counts only when 0x40000000 EAX reaches it, inside the first range, and is not zero")
    func hypervisorLeafGates() {
        func hz(maxLeaf: UInt32, kHz: UInt32) -> Double? {
            TSCFrequencyFinder.fromHypervisorLeaf(CPUIDTable(TSCTables.hypervisor(maxLeaf: maxLeaf, kHz: kHz)))?.hz
        }
        #expect(hz(maxLeaf: 0x4000_000F, kHz: 2_112_000) == nil)
        #expect(hz(maxLeaf: 0x4000_0100, kHz: 2_112_000) == nil)
        #expect(hz(maxLeaf: 0x4000_0010, kHz: 0) == nil)
        #expect(hz(maxLeaf: 0x4000_00FF, kHz: 3_000_000) == 3_000_000_000)
        #expect(TSCFrequencyFinder.fromHypervisorLeaf(CPUIDTable([])) == nil)
    }

    @Test("the kernel log: the refined calibration wins over the boot-time detection")
    func fromKernelLog() throws {
        let lines = [
            "tsc: Fast TSC calibration using PIT",
            "tsc: Refined TSC clocksource calibration: 2596.140 MHz",
            "tsc: Detected 2595.000 MHz processor",
        ]
        let tsc = try #require(TSCFrequencyFinder.fromKernelLog(lines))
        #expect(tsc.hz == 2_596_140_000)
        #expect(tsc.source == .kernel)
        #expect(tsc.detail == "kernel log: tsc: Refined TSC clocksource calibration: 2596.140 MHz")
    }

    @Test("the kernel log: detection alone, and the last of several lines")
    func kernelLogFallbacks() {
        #expect(TSCFrequencyFinder.fromKernelLog(["tsc: Detected 2595.000 MHz processor"])?.hz == 2_595_000_000)
        let twice = ["tsc: Detected 1000.000 MHz processor", "tsc: Detected 2000.500 MHz processor"]
        #expect(TSCFrequencyFinder.fromKernelLog(twice)?.hz == 2_000_500_000)
        #expect(TSCFrequencyFinder.fromKernelLog(["tsc: Detected garbage MHz processor"]) == nil)
        #expect(TSCFrequencyFinder.fromKernelLog(["tsc: Detected 0.000 MHz processor"]) == nil)
        #expect(TSCFrequencyFinder.fromKernelLog(["kvm: nested virtualization is enabled"]) == nil)
        #expect(TSCFrequencyFinder.fromKernelLog([]) == nil)
    }

    @Test("find takes CPUID 0x15 first and never calibrates when a source answers")
    func findPrefersLeaf15() {
        var calibrated = false
        let table = CPUIDTable(
            [TSCTables.leaf0(maxBasic: 0x1B), TSCTables.leaf15()]
                + TSCTables.hypervisor(maxLeaf: 0x4000_0010, kHz: 3_000_000))
        let tsc = TSCFrequencyFinder.find(cpuid: table, kernelLog: ["tsc: Detected 2595.000 MHz processor"]) {
            calibrated = true
            return TSCFrequency(hz: 1, source: .calibration, detail: "stub")
        }
        #expect(tsc.source == .cpuid15)
        #expect(!calibrated)
    }

    @Test("find takes the hypervisor leaf before the kernel log, and the kernel log before calibrating")
    func findOrder() {
        let stub = { TSCFrequency(hz: 1, source: .calibration, detail: "stub") }
        let log = ["tsc: Detected 2595.000 MHz processor"]
        let hypervisor = CPUIDTable(TSCTables.hypervisor(maxLeaf: 0x4000_0010, kHz: 3_000_000))
        #expect(TSCFrequencyFinder.find(cpuid: hypervisor, kernelLog: log, calibrate: stub).source == .hypervisorLeaf)
        #expect(TSCFrequencyFinder.find(cpuid: CPUIDTable([]), kernelLog: log, calibrate: stub).source == .kernel)
    }

    @Test("find falls back to the calibrate closure when nothing else answers")
    func findCalibrates() {
        var calls = 0
        let tsc = TSCFrequencyFinder.find(cpuid: CPUIDTable([TSCTables.leaf0(maxBasic: 0x0D)]), kernelLog: nil) {
            calls += 1
            return TSCFrequency(hz: 1_234_000_000, source: .calibration, detail: "stub")
        }
        #expect(calls == 1)
        #expect(tsc == TSCFrequency(hz: 1_234_000_000, source: .calibration, detail: "stub"))
        let unhelpfulLog = TSCFrequencyFinder.find(cpuid: CPUIDTable([]), kernelLog: ["nothing here"]) {
            TSCFrequency(hz: 5, source: .calibration, detail: "stub")
        }
        #expect(unhelpfulLog.hz == 5)
    }
}

@Suite("String(format3:)")
struct Format3Tests {
    @Test(
        "up to three decimals, trailing zeros dropped",
        arguments: [
            (1.5, "1.5"), (2.0, "2"), (0.125, "0.125"), (-0.5, "-0.5"), (1234.5678, "1234.568"), (0.05, "0.05"),
            (0, "0"), (-1.25, "-1.25"), (1.9999, "2"), (0.0004, "0"), (100, "100"), (-42, "-42"), (0.001, "0.001"),
        ])
    func formats(value: Double, text: String) {
        #expect(String(format3: value) == text)
    }
}

@Suite("KernelLog: /dev/kmsg records")
struct KernelLogTests {
    @Test(
        "message(of:) keeps the text after the first ';' up to the first line break",
        arguments: [
            ("6,123,456789,-;kvm: something\n SUBSYSTEM=cpu\n DEVICE=+cpu:0\n", "kvm: something"),
            ("4,1,2,c;x86/cpu: VMX (outside TXT) disabled by BIOS\n", "x86/cpu: VMX (outside TXT) disabled by BIOS"),
            ("6,2,3,-;Hypervisor detected: KVM; nested\n", "Hypervisor detected: KVM; nested"),
            ("6,4,5,-;  padded message  \n", "padded message"),
            ("no prefix at all\nsecond line", "no prefix at all"),
            ("", ""),
        ])
    func message(record: String, text: String) {
        #expect(KernelLog.message(of: record) == text)
    }

    @Test("an empty message is empty, not the record's prefix or its first dictionary line")
    func emptyMessage() {
        #expect(KernelLog.message(of: "6,4,5,-;\n SUBSYSTEM=kvm\n") == "")
        #expect(KernelLog.message(of: "6,4,5,-;") == "")
    }

    @Test("read() on the fixture's one-record kmsg keeps the kvm line")
    func readFixture() {
        #expect(
            KernelLog(reader: SysrootFixture.reader).read() == .available(["kvm: nested virtualization is enabled"]))
    }

    @Test("read() drops a record no keyword matches")
    func readUnrelated() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.write("dev/kmsg", text: "6,9,10,-;usb 1-1: new high-speed USB device number 2\n")
        #expect(KernelLog(reader: SystemReader(root: scratch.path)).read() == .available([]))
    }

    @Test("keywords match regardless of case")
    func caseInsensitive() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.write("dev/kmsg", text: "6,9,10,-;DMI: Microsoft Corporation Virtual Machine/Virtual Machine\n")
        #expect(
            KernelLog(reader: SystemReader(root: scratch.path)).read()
                == .available(["DMI: Microsoft Corporation Virtual Machine/Virtual Machine"]))
    }

    @Test("read() without /dev/kmsg is absent")
    func readMissing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        #expect(KernelLog(reader: SystemReader(root: scratch.path)).read().missing?.reason == .absent)
    }

    @Test("every keyword is lower case, since lines are lowered before matching")
    func keywordsLowerCase() {
        #expect(KernelLog.keywords.allSatisfy { $0 == $0.lowercased() })
    }
}
