// Tests of LiveCapture: on the sysroot fixture (files, folders and devices read from the tree, what the
// tree lacks marked absent), and once on this machine with timing on, checking only the snapshot's
// shape. Neither opens /dev/kvm (askKVM is off), and no test asserts a duration.

import Foundation
import Testing

@testable import Probe

@Suite("LiveCapture on the sysroot fixture")
struct LiveCaptureFixtureTests {
    /// One capture of the fixture tree, without timing and without asking /dev/kvm.
    static func capture() -> Snapshot {
        var capture = LiveCapture(reader: SysrootFixture.reader)
        capture.timeCPUID = false
        capture.askKVM = false
        return capture.capture()
    }

    @Test("files of the tree are read into snapshot.files")
    func filesRead() {
        let snapshot = Self.capture()
        #expect(snapshot.file("/proc/sys/kernel/osrelease") == .available("6.8.0-45-generic\n"))
        #expect(snapshot.text("/proc/cmdline")?.hasSuffix("kvm-intel.nested=1") == true)
        #expect(snapshot.text("/sys/class/dmi/id/sys_vendor") == "Dell Inc.")
        #expect(snapshot.text("/sys/class/dmi/id/product_name") == "PowerEdge R650")
        #expect(snapshot.text("/sys/devices/system/clocksource/clocksource0/current_clocksource") == "tsc")
        #expect(snapshot.file("/.dockerenv") == .available(""), "present and empty, as Docker leaves it")
        #expect(snapshot.origin.kind == .live)
        #expect(snapshot.origin.detail == "fixture-host")
    }

    @Test("paths the tree lacks are absent, each with its own reason, not a crash")
    func missingPathsAbsent() {
        let snapshot = Self.capture()
        for path in ["/sys/hypervisor/type", "/run/.containerenv", "/proc/1/cgroup", "/sys/class/dmi/id/bios_vendor"] {
            #expect(snapshot.file(path).missing?.reason == .absent, "\(path)")
            #expect(snapshot.file(path).missing?.detail.contains("ENOENT") == true, "\(path)")
        }
        for folder in ["/sys/hypervisor", "/sys/bus/vmbus/devices", "/sys/bus/xen/devices", "/dev/cpu"] {
            #expect(snapshot.directory(folder).missing?.reason == .absent, "\(folder)")
        }
        #expect(snapshot.file("/proc/1/environ").missing?.reason == .absent)
    }

    @Test("every plain file and listed folder has an entry, read or not")
    func everyPathRecorded() {
        let snapshot = Self.capture()
        for path in LiveCapture.plainFiles {
            #expect(snapshot.files[path] != nil, "\(path)")
        }
        for folder in LiveCapture.listedFolders {
            #expect(snapshot.directories[folder] != nil, "\(folder)")
        }
    }

    @Test("/sys/module keeps the virtualization modules, and the kvm modules' parameters are listed and read")
    func moduleParameters() {
        let snapshot = Self.capture()
        #expect(snapshot.directory("/sys/module") == .available(["kvm", "kvm_intel"]), "ext4 is left out")
        #expect(
            snapshot.directory("/sys/module/kvm_intel/parameters")
                == .available(["enable_shadow_vmcs", "ept", "nested"]))
        #expect(snapshot.text("/sys/module/kvm_intel/parameters/nested") == "Y")
        #expect(snapshot.text("/sys/module/kvm_intel/parameters/ept") == "Y")
        #expect(snapshot.text("/sys/module/kvm_intel/parameters/enable_shadow_vmcs") == "Y")
        #expect(snapshot.directory("/sys/module/kvm/parameters") == .available(["ignore_msrs"]))
        #expect(snapshot.text("/sys/module/kvm/parameters/ignore_msrs") == "N")
    }

    @Test("/proc/cpuinfo keeps its first processor; /proc/modules keeps the virtualization lines")
    func filteredFiles() throws {
        let snapshot = Self.capture()
        let cpuinfo = try #require(snapshot.file("/proc/cpuinfo").value)
        #expect(cpuinfo.hasPrefix("processor\t: 0"))
        #expect(!cpuinfo.contains("processor\t: 1"))
        let modules = try #require(snapshot.file("/proc/modules").value)
        let names = modules.split(separator: "\n").map { $0.split(separator: " ").first ?? "" }
        #expect(names == ["kvm_intel", "kvm", "irqbypass"], "ext4 is left out")
    }

    @Test("/dev/kvm and the msr device, absent in the tree, are absent in the snapshot")
    func devicesAbsent() {
        let snapshot = Self.capture()
        #expect(snapshot.devices["/dev/kvm"]?.missing?.reason == .absent)
        #expect(snapshot.msrs.missing?.reason == .absent)
        #expect(snapshot.msrs.missing?.detail.contains("never loads it") == true)
    }

    @Test("the kernel log comes from the tree's kmsg; timing and KVM are not captured when switched off")
    func switchedOff() {
        let snapshot = Self.capture()
        #expect(snapshot.kernelLog == .available(["kvm: nested virtualization is enabled"]))
        #expect(snapshot.hostTiming.missing?.reason == .notCaptured)
        #expect(snapshot.kvm.missing?.reason == .notCaptured)
        #expect(snapshot.process.value?.euid == geteuid())
        #expect(snapshot.process.value?.effectiveCapabilities == nil, "no /proc/self/status in the tree")
    }

    @Test("askKVM with no /dev/kvm in the tree marks KVM absent without opening anything")
    func askKVMWithoutDevice() {
        var capture = LiveCapture(reader: SysrootFixture.reader)
        capture.timeCPUID = false
        let snapshot = capture.capture()
        #expect(snapshot.kvm.missing?.reason == .absent)
    }

    @Test("a fixture capture survives a JSON round trip")
    func roundTrip() throws {
        let snapshot = Self.capture()
        let data = try DocumentFile.encodeJSON(snapshot)
        #expect(try SnapshotFile.parse([UInt8](data), name: "capture") == snapshot)
    }

    @Test("containerVariables keeps only container=; firstProcessor keeps the first stanza")
    func helpers() {
        #expect(LiveCapture.containerVariables("HOME=/root\0container=podman\0PATH=/bin\0") == "container=podman")
        #expect(LiveCapture.containerVariables("HOME=/root\0") == "")
        #expect(LiveCapture.firstProcessor("processor : 0\na : b\n\nprocessor : 1\n") == "processor : 0\na : b")
        #expect(LiveCapture.isVirtualizationModule("kvm_amd"))
        #expect(LiveCapture.isVirtualizationModule("hv_vmbus"))
        #expect(!LiveCapture.isVirtualizationModule("ext4"))
    }
}

@Suite("LiveCapture and HostTimer on this machine (structure only)")
struct LiveCaptureMachineTests {
    @Test("a live capture with timing: CPUID leaf 0, samples, a TSC frequency, and a JSON round trip")
    func liveCapture() throws {
        var capture = LiveCapture()
        capture.askKVM = false
        let snapshot = capture.capture()
        #expect(snapshot.isLive)
        #expect(snapshot.capturedAt != nil)
        let leaves = try #require(snapshot.cpuid.value)
        let table = CPUIDTable(leaves)
        #expect(table[0] != nil, "leaf 0 is always there")
        let vendor = CPUIDLeaf.text([table[0]?.ebx ?? 0, table[0]?.edx ?? 0, table[0]?.ecx ?? 0])
        #expect(vendor.count == 12, "a 12-character vendor string: \(vendor)")
        let timing = try #require(snapshot.hostTiming.value)
        #expect(!timing.samplesCycles.isEmpty)
        #expect(!timing.overheadCycles.isEmpty)
        #expect(timing.tsc.hz > 0)
        #expect(!timing.tsc.detail.isEmpty)
        let cost = try #require(HostExitCost(timing))
        // The statistics are of the cycle counts themselves (whole numbers), not of their bit patterns.
        #expect(cost.rawCycles.min == Double(try #require(timing.samplesCycles.min())))
        #expect(cost.overheadCycles.max == Double(try #require(timing.overheadCycles.max())))
        #expect(cost.rawCycles.count == timing.samplesCycles.count)
        #expect(snapshot.kvm.missing?.reason == .notCaptured)
        #expect(snapshot.process.value?.euid == geteuid())
        #expect(snapshot.files["/proc/sys/kernel/osrelease"]?.value?.isEmpty == false)
        let data = try DocumentFile.encodeJSON(snapshot)
        #expect(try SnapshotFile.parse([UInt8](data), name: "live") == snapshot)
    }

    @Test("HostTimer keeps whole batches of 32 up to maxSamples, and every overhead sample")
    func hostTimerShape() {
        var timer = HostTimer()
        timer.warmup = 10
        timer.maxSamples = 64
        timer.overheadSamples = 50
        let tsc = TSCFrequency(hz: 1e9, source: .calibration, detail: "test")
        let timing = timer.measure(tsc: tsc)
        #expect(timing.samplesCycles.count == 32 || timing.samplesCycles.count == 64)
        #expect(timing.overheadCycles.count == 50)
        #expect(timing.warmup == 10)
        #expect(timing.leaf == 0 && timing.subleaf == 0)
        #expect(timing.tsc == tsc)
    }

    @Test("calibration against the clock gives a positive frequency and says how")
    func calibration() {
        let tsc = TSCFrequencyFinder.calibrateAgainstClock()
        #expect(tsc.hz > 0)
        #expect(tsc.source == .calibration)
        #expect(tsc.detail.contains("CLOCK_MONOTONIC_RAW"))
    }
}
