// Tests of the CPU topology's consistency, the temperature sensors and the second clock (issue 16): the
// platform trees (Fixtures/platforms) give the kernel's topology and sensors, the tests give each platform's
// CPUID topology leaves; the second clock is checked on made-up timings whose ratio is known.

import Foundation
import Testing

@testable import Probe

/// CPUID topology leaves as the SDM lays them out.
enum TopologyLeaves {
    /// Leaf 0xB: an SMT level of `threads` and a core level of `perPackage`, then the empty level that ends it.
    static func leafB(threads: UInt32, perPackage: UInt32) -> [CPUIDLeaf] {
        [
            CPUIDLeaf(leaf: 0xB, subleaf: 0, eax: 1, ebx: threads, ecx: 1 << 8, edx: 0),
            CPUIDLeaf(leaf: 0xB, subleaf: 1, eax: 4, ebx: perPackage, ecx: 2 << 8 | 1, edx: 0),
            CPUIDLeaf(leaf: 0xB, subleaf: 2, eax: 0, ebx: 0, ecx: 2, edx: 0),
        ]
    }

    /// Leaves 0 (max 0x1F), 1 (HTT and the logical-processor field as asked) and `extra`.
    static func cpuid(htt: Bool = true, logical: UInt32 = 0x20, hypervisorBit: Bool, extra: [CPUIDLeaf]) -> [CPUIDLeaf]
    {
        var leaves = PlatformTree.cpuid(signature: hypervisorBit ? "KVMKVMKVM" : nil, hypervisorBit: hypervisorBit)
        let index = leaves.firstIndex { $0.leaf == 1 }!
        leaves[index].ebx = (leaves[index].ebx & ~0x00FF_0000) | (logical << 16)
        leaves[index].edx = htt ? leaves[index].edx | (1 << 28) : leaves[index].edx & ~(1 << 28)
        return leaves + extra
    }
}

@Suite("Topology and sensors: CPUID's topology against the kernel's, and the temperature sensors")
struct TopologySensorTests {
    @Test("a kernel CPU list counts its ranges and single CPUs; other text is no list")
    func cpuLists() {
        #expect(TopologyAnalysis.cpuListCount("0-3,6,8-9\n") == 7)
        #expect(TopologyAnalysis.cpuListCount("0") == 1)
        #expect(TopologyAnalysis.cpuListCount("3-1") == nil)
        #expect(TopologyAnalysis.cpuListCount("") == nil)
        #expect(TopologyAnalysis.cpuListCount("a-b") == nil)
        #expect(LiveCapture.cpuNumber("cpu12") == 12)
        #expect(LiveCapture.cpuNumber("cpufreq") == nil)
        #expect(LiveCapture.cpuNumber("cpu") == nil)
    }

    @Test("bare metal: 2 sockets × 2 cores × 2 threads agree with leaf 0xB; coretemp leans to hardware")
    func bareMetal() throws {
        let cpuid = TopologyLeaves.cpuid(hypervisorBit: false, extra: TopologyLeaves.leafB(threads: 2, perPackage: 4))
        let (_, d) = PlatformTree.diagnose("bare-metal-server", cpuid: cpuid)
        let t = try #require(d.topology)
        #expect(t.x2apicLeaf == "0xB")
        #expect(t.threadsPerCore == 2)
        #expect(t.logicalPerPackage == 4)
        #expect(t.kernelOnline == 8)
        #expect(t.kernelPackages == 2)
        #expect(t.kernelCoresPerPackage == 2)
        #expect(t.kernelThreadsPerCore == 2)
        #expect(t.inconsistencies == [])
        let consistent = try #require(d.level.evidence.first { $0.id == "topology.consistent" })
        #expect(consistent.discounted, "a careful VMM writes a consistent topology too")
        let sensors = try #require(d.sensors)
        #expect(sensors.cpuSensors == ["coretemp", "x86_pkg_temp"])
        let cpu = try #require(d.level.evidence.first { $0.id == "sensors.cpu" })
        #expect((cpu.weights["L0"] ?? 0) > 0 && (cpu.weights["L1"] ?? 0) < 0)
        #expect(d.level.level == .l0)
    }

    @Test("QEMU -smp 4: four sockets of one core are flagged, and no sensor at all leans to a VM, weakly")
    func qemuSockets() throws {
        let cpuid = TopologyLeaves.cpuid(hypervisorBit: true, extra: TopologyLeaves.leafB(threads: 1, perPackage: 1))
        let (_, d) = PlatformTree.diagnose("qemu-kvm-q35", cpuid: cpuid)
        let t = try #require(d.topology)
        #expect(t.kernelPackages == 4)
        #expect(t.inconsistencies.contains { $0.hasPrefix("4 sockets of one single-threaded core") })
        #expect(t.inconsistencies.contains { $0.hasPrefix("leaf 1's HTT bit is set") }, "HTT set, one per package")
        let item = try #require(d.level.evidence.first { $0.id == "topology.inconsistent" })
        #expect((item.weights["L0"] ?? 0) < 0)
        #expect((item.weights["L0"] ?? 0) > -3, "weak: it only shifts the shares")
        let sensors = try #require(d.sensors)
        #expect(sensors.thermalZones == [] && sensors.hwmon == [], "absent classes: no sensor")
        #expect(d.level.evidence.contains { $0.id == "sensors.none" })
    }

    @Test("Firecracker with leaf 0xB emptied: an Intel CPU that counts 2 CPUs and describes no x2APIC level")
    func emptyLeafB() throws {
        let empty = CPUIDLeaf(leaf: 0xB, subleaf: 0, eax: 0, ebx: 0, ecx: 0, edx: 0)
        let cpuid = TopologyLeaves.cpuid(logical: 2, hypervisorBit: true, extra: [empty])
        let (_, d) = PlatformTree.diagnose("firecracker", cpuid: cpuid)
        let t = try #require(d.topology)
        #expect(t.x2apicLeaf == nil)
        #expect(t.x2apicEmpty == true)
        #expect(t.x2apicUnknown?.hasPrefix("unknown") == true)
        #expect(t.inconsistencies.contains { $0.hasPrefix("leaf 0xB is in the basic range but empty") })
    }

    @Test("HTT clear while the kernel puts 2 CPUs in one package; the kernel's extra siblings are caught")
    func httClearAndSiblings() throws {
        let cpuid = TopologyLeaves.cpuid(
            htt: false, logical: 1, hypervisorBit: true, extra: TopologyLeaves.leafB(threads: 1, perPackage: 2))
        let (_, d) = PlatformTree.diagnose("firecracker", cpuid: cpuid)
        let t = try #require(d.topology)
        #expect(t.inconsistencies.contains { $0.hasPrefix("leaf 1's HTT bit is clear") })
        let (_, metal) = PlatformTree.diagnose(
            "bare-metal-server",
            cpuid: TopologyLeaves.cpuid(hypervisorBit: false, extra: TopologyLeaves.leafB(threads: 1, perPackage: 2)))
        let m = try #require(metal.topology)
        #expect(
            m.inconsistencies.contains { $0.hasPrefix("the kernel sees 2 threads in cpu0's core, but CPUID allows 1") })
        #expect(m.inconsistencies.contains { $0.hasPrefix("the kernel puts 4 CPUs in each package") })
    }

    @Test("without leaf 0xB in range, or without the kernel's view, the topology is unknown, not consistent")
    func unknowns() throws {
        var leaves = PlatformTree.cpuid(signature: nil, hypervisorBit: false)
        leaves[0].eax = 0xA
        var findings = TopologyFindings(inconsistencies: [])
        TopologyAnalysis.readX2APIC(CPUIDTable(leaves), into: &findings)
        #expect(findings.x2apicUnknown == "unknown: leaf 0xB is not offered (maximum basic leaf 0x0000000a)")
        let (_, d) = PlatformTree.diagnose("hyperv-gen2", cpuid: leaves)
        let t = try #require(d.topology, "the CPU folder was examined: absent in this tree")
        #expect(t.kernelUnknown?.hasPrefix("unknown (absent)") == true)
        #expect(d.level.evidence.contains { $0.id == "topology.unknown" })
        let dump = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(leaves)))
        #expect(dump.topology == nil && dump.sensors == nil, "a CPUID dump holds neither")
    }

    @Test("topology and sensors replay from a saved snapshot")
    func replay() throws {
        let cpuid = TopologyLeaves.cpuid(hypervisorBit: false, extra: TopologyLeaves.leafB(threads: 2, perPackage: 4))
        let (snapshot, d) = PlatformTree.diagnose("bare-metal-server", cpuid: cpuid)
        let replayed = try SnapshotFile.parse([UInt8](try DocumentFile.encodeJSON(snapshot)), name: "bare-metal")
        let again = Analyzer.diagnose(replayed)
        #expect(again.topology == d.topology)
        #expect(again.sensors == d.sensors)
        #expect(again.topology?.kernelOnline == 8)
    }
}

@Suite("Second clock: CPUID's cost over an LFENCE chain's on the same counter")
struct SecondClockTests {
    /// CPUID samples of `cpuid` cycles, overhead 30, chains of 16 LFENCEs of `fence` cycles each.
    static func timing(cpuid: UInt64, fence: Double, chain: Bool = true) -> HostTiming {
        HostTiming(
            leaf: 0, subleaf: 0, warmup: 0, samplesCycles: Array(repeating: cpuid, count: 9),
            overheadCycles: Array(repeating: 30, count: 9), pinnedCPU: nil,
            tsc: TSCFrequency(hz: 2e9, source: .cpuid15, detail: "test"),
            lfenceChainLength: chain ? 16 : nil,
            lfenceChainCycles: chain ? Array(repeating: 30 + UInt64(16 * fence), count: 9) : nil)
    }

    static func diagnose(_ timing: HostTiming, hypervisorBit: Bool) -> Diagnosis {
        Analyzer.diagnose(
            Snapshot(
                origin: Origin(kind: .fixture),
                cpuid: .available(
                    PlatformTree.cpuid(signature: hypervisorBit ? "KVMKVMKVM" : nil, hypervisorBit: hypervisorBit)),
                hostTiming: .available(timing)))
    }

    @Test("one LFENCE's cost is the chain's median net of the overhead over its length; the ratio divides")
    func ratio() throws {
        let cost = try #require(HostExitCost(Self.timing(cpuid: 1780, fence: 7)))
        #expect(cost.lfenceCycles == 7)
        #expect(cost.cpuidPerLFENCE == 250)
    }

    @Test("a CPUID of hundreds of LFENCEs traps; one of a few ran on the CPU; old snapshots have no ratio")
    func evidence() throws {
        let trapping = Self.diagnose(Self.timing(cpuid: 1780, fence: 7), hypervisorBit: true)
        let item = try #require(trapping.level.evidence.first { $0.id == "timing.second-clock" })
        #expect((item.weights["L0"] ?? 0) < 0)
        #expect(item.observation.hasPrefix("CPUID = 250 × one LFENCE"))
        let native = Self.diagnose(Self.timing(cpuid: 130, fence: 7), hypervisorBit: false)
        let nativeItem = try #require(native.level.evidence.first { $0.id == "timing.second-clock" })
        #expect((nativeItem.weights["L0"] ?? 0) > 0)
        let old = Self.diagnose(Self.timing(cpuid: 1780, fence: 7, chain: false), hypervisorBit: true)
        #expect(old.hostExitCost.value?.cpuidPerLFENCE == nil)
        #expect(!old.level.evidence.contains { $0.id == "timing.second-clock" })
    }

    @Test("a TSC slowed to hide the exit: few cycles but hundreds of LFENCEs is reported as a disagreement")
    func scaledTSC() throws {
        // A TSC running at 1/8 speed: CPUID 230 cycles net (under the no-trap band), LFENCE 0.5 cycles.
        let d = Self.diagnose(Self.timing(cpuid: 260, fence: 0.5), hypervisorBit: true)
        #expect(d.hostExitCost.value?.cpuidPerLFENCE == 460)
        let text = try #require(d.disagreements?.first { $0.hasPrefix("the TSC says CPUID costs 230 cycles") })
        #expect(text.contains("scaled or trapped"))
    }

    @Test("under QEMU TCG CPUID never traps: neither clock is judged, and no disagreement is claimed")
    func tcgDiscounted() throws {
        let d = Analyzer.diagnose(
            Snapshot(
                origin: Origin(kind: .fixture), cpuid: .available(PlatformTree.cpuid(signature: "TCGTCGTCGTCG")),
                hostTiming: .available(Self.timing(cpuid: 260, fence: 0.5))))
        let item = try #require(d.level.evidence.first { $0.id == "timing.second-clock" })
        #expect(item.discounted)
        #expect(d.disagreements?.contains { $0.hasPrefix("the TSC says") } != true)
    }

    @Test("a chain lost in the noise gives no ratio rather than an infinite one")
    func noise() throws {
        let cost = try #require(HostExitCost(Self.timing(cpuid: 1780, fence: 0)))
        #expect(cost.lfenceCycles == nil && cost.cpuidPerLFENCE == nil)
    }

    @Test("the probe times an LFENCE chain beside CPUID and a snapshot keeps it")
    func liveChain() throws {
        var timer = HostTimer()
        timer.maxSamples = 64
        timer.lfenceChainSamples = 50
        let timing = timer.measure(tsc: TSCFrequency(hz: 1e9, source: .calibration, detail: "test"))
        #expect(timing.lfenceChainLength == 16)
        #expect(timing.lfenceChainCycles?.count == 50)
        var snapshot = Snapshot(origin: Origin(kind: .fixture))
        snapshot.hostTiming = .available(timing)
        let replayed = try SnapshotFile.parse([UInt8](try DocumentFile.encodeJSON(snapshot)), name: "timing")
        #expect(replayed.hostTiming.value?.lfenceChainCycles == timing.lfenceChainCycles)
    }
}

@Suite("Intel KGT's leaf 3 and the container managers' own files")
struct KGTAndContainerFileTests {
    @Test("ECX \"EVMM\", EDX \"INTC\" at leaf 3 is KGT's evmm; zeros there are every other CPU")
    func kgt() throws {
        var leaves = PlatformTree.cpuid(signature: nil, hypervisorBit: true)
        leaves.append(CPUIDLeaf(leaf: 3, eax: 0, ebx: 0, ecx: 0x4D4D_5645, edx: 0x4354_4E49))
        let d = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(leaves)))
        #expect(d.hypervisors.intelKGTLeaf3 == true)
        let item = try #require(d.level.evidence.first { $0.id == "cpuid.kgt-leaf3" })
        #expect((item.weights["L0"] ?? 0) < 0)
        var plain = PlatformTree.cpuid(signature: nil, hypervisorBit: false)
        plain.append(CPUIDLeaf(leaf: 3, eax: 0, ebx: 0, ecx: 0, edx: 0))
        let metal = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(plain)))
        #expect(metal.hypervisors.intelKGTLeaf3 == nil)
        #expect(!metal.level.evidence.contains { $0.id == "cpuid.kgt-leaf3" })
    }

    static func container(files: [String: Fact<String>], directories: [String: Fact<[String]>] = [:])
        -> ContainerFinding?
    {
        PlatformAnalysis.container(Snapshot(origin: Origin(kind: .fixture), files: files, directories: directories))
    }

    @Test("/run/host/container-manager and /run/systemd/container name the manager, as systemd reads them")
    func managerFiles() throws {
        let nspawn = try #require(
            Self.container(files: ["/run/host/container-manager": .available("systemd-nspawn\n")]))
        #expect(nspawn.kind == "systemd-nspawn")
        #expect(nspawn.evidence == ["/run/host/container-manager says systemd-nspawn"])
        let lxc = try #require(Self.container(files: ["/run/systemd/container": .available("lxc\n")]))
        #expect(lxc.kind == "lxc")
        #expect(Self.container(files: ["/run/systemd/container": .unavailable(.absent, "no such file")]) == nil)
    }

    @Test("/proc/vz without /proc/bc is an OpenVZ container; with /proc/bc it is the OpenVZ host")
    func openVZ() throws {
        let guest = try #require(
            Self.container(
                files: [:],
                directories: ["/proc/vz": .available(["veinfo"]), "/proc/bc": .unavailable(.absent, "no such file")]))
        #expect(guest.kind == "openvz")
        let host = Self.container(
            files: [:], directories: ["/proc/vz": .available(["veinfo"]), "/proc/bc": .available(["0"])])
        #expect(host == nil)
    }
}
