// Tests of the per-CPU APIC IDs, the model's documented thread count, the kernel's view of the CPU against this
// process's CPUID, and Intel KGT in the identity line (issue 16). Snapshots are built here: CPUs, packages and
// IDs are chosen so each check has a known answer.

import Foundation
import TestSupport
import Testing

@testable import Probe

#if canImport(Glibc)
    import Glibc
#endif

/// Snapshots with a kernel topology, per-CPU APIC IDs and a brand, for these tests.
enum TopologySnapshot {
    /// The brand string in leaves 0x8000_0002–4 (and 0x8000_0000 reaching them).
    static func brand(_ text: String) -> [CPUIDLeaf] {
        let bytes = Array(text.utf8) + [UInt8](repeating: 0, count: 48 - text.utf8.count)
        var words: [UInt32] = []
        for i in 0..<12 {
            var word: UInt32 = 0
            for j in 0..<4 { word |= UInt32(bytes[4 * i + j]) << UInt32(8 * j) }
            words.append(word)
        }
        var leaves = [CPUIDLeaf(leaf: 0x8000_0000, eax: 0x8000_0004, ebx: 0, ecx: 0, edx: 0)]
        for i in 0..<3 {
            let w = Array(words[(4 * i)..<(4 * i + 4)])
            leaves.append(CPUIDLeaf(leaf: 0x8000_0002 + UInt32(i), eax: w[0], ebx: w[1], ecx: w[2], edx: w[3]))
        }
        return leaves
    }

    /// Leaves 1, 0xB and 0x1F for one CPU: `initial` in leaf 1 EBX[31:24], `x2apic` in 0xB's EDX, `x2apic1F` in
    /// 0x1F's (nil: no 0x1F).
    static func apicLeaves(initial: UInt32, x2apic: UInt32, x2apic1F: UInt32? = nil) -> [CPUIDLeaf] {
        var leaves = [
            CPUIDLeaf(leaf: 1, eax: 0x0008_06F8, ebx: initial << 24 | 0x0020_0800, ecx: 0, edx: 0xBFEB_FBFF),
            CPUIDLeaf(leaf: 0xB, eax: 1, ebx: 2, ecx: 1 << 8, edx: x2apic),
        ]
        if let x2apic1F { leaves.append(CPUIDLeaf(leaf: 0x1F, eax: 1, ebx: 2, ecx: 1 << 8, edx: x2apic1F)) }
        return leaves
    }

    /// A snapshot of `cpus` online CPUs in `packages` packages (cores of two threads), `cpuid` as this process's,
    /// `cpuinfo` as /proc/cpuinfo's first processor and `apic` as the per-CPU IDs.
    static func make(
        cpus: Int, packages: Int = 1, present: Int? = nil, cpuid: [CPUIDLeaf], cpuinfo: String? = nil,
        apic: [CPUAPICIDs]? = nil, log: [String] = []
    ) -> Snapshot {
        var snapshot = Snapshot(origin: Origin(kind: .fixture), cpuid: .available(cpuid))
        let folder = LiveCapture.cpuFolder
        snapshot.files["\(folder)/online"] = .available("0-\(cpus - 1)\n")
        if let present { snapshot.files["\(folder)/present"] = .available("0-\(present - 1)\n") }
        snapshot.directories[folder] = .available((0..<cpus).map { "cpu\($0)" })
        let perPackage = cpus / packages
        for cpu in 0..<cpus {
            let topology = "\(folder)/cpu\(cpu)/topology"
            snapshot.files["\(topology)/physical_package_id"] = .available("\(cpu / perPackage)\n")
            snapshot.files["\(topology)/core_id"] = .available("\((cpu % perPackage) / 2)\n")
            let sibling = cpu ^ 1
            snapshot.files["\(topology)/thread_siblings_list"] =
                .available(perPackage > 1 ? "\(min(cpu, sibling)),\(max(cpu, sibling))\n" : "\(cpu)\n")
        }
        if let cpuinfo { snapshot.files["/proc/cpuinfo"] = .available(cpuinfo) }
        snapshot.apicIDs = apic.map { .available($0) }
        snapshot.kernelLog = .available(log)
        return snapshot
    }

    /// Intel leaves 0 (max 0x1F) and 1 with the hypervisor bit as asked, leaf 0xB of `perPackage`, and a brand.
    static func intel(brand text: String?, perPackage: UInt32, hypervisorBit: Bool = true) -> [CPUIDLeaf] {
        TopologyLeaves.cpuid(
            hypervisorBit: hypervisorBit, extra: TopologyLeaves.leafB(threads: 2, perPackage: perPackage))
            + (text.map(brand) ?? [])
    }
}

@Suite("Per-CPU APIC IDs: CPUID on each CPU against itself and the kernel's IDs")
struct APICIDTests {
    static func reading(_ cpu: Int, initial: UInt32, x2apic: UInt32, x2apic1F: UInt32? = nil, apicid: Int?, boot: Int?)
        -> CPUAPICIDs
    {
        CPUAPICIDs(
            cpu: cpu,
            cpuid: .available(TopologySnapshot.apicLeaves(initial: initial, x2apic: x2apic, x2apic1F: x2apic1F)),
            via: LiveCapture.viaAffinity, cpuinfoAPICID: apicid, cpuinfoInitialAPICID: boot)
    }

    static func diagnose(_ apic: [CPUAPICIDs]) -> Diagnosis {
        Analyzer.diagnose(
            TopologySnapshot.make(
                cpus: apic.count, cpuid: TopologySnapshot.intel(brand: nil, perPackage: UInt32(apic.count)),
                apic: apic))
    }

    @Test("four CPUs whose leaves, boot IDs and APIC IDs all agree are consistent, and discounted")
    func consistent() throws {
        let d = Self.diagnose(
            (0..<4).map { Self.reading($0, initial: UInt32($0), x2apic: UInt32($0), apicid: $0, boot: $0) })
        let apic = try #require(d.topology?.apic)
        #expect(apic.cpusRead == 4 && apic.cpusListed == 4 && apic.cpuinfoRead == 4)
        #expect(apic.x2apicLeaf == "0xB")
        #expect(apic.via == ["sched_setaffinity"])
        #expect(apic.disagreements == [])
        let item = try #require(d.level.evidence.first { $0.id == "apic.consistent" })
        #expect(item.discounted)
    }

    @Test("every CPU answering APIC ID 0 is CPUID not answered per CPU")
    func shared() throws {
        let d = Self.diagnose((0..<4).map { Self.reading($0, initial: 0, x2apic: 0, apicid: $0, boot: $0) })
        let apic = try #require(d.topology?.apic)
        #expect(apic.disagreements.contains { $0.hasPrefix("CPUs 0, 1, 2, 3 all answer APIC ID 0") })
        #expect(apic.disagreements.contains { $0.hasPrefix("the kernel read initial APIC ID 1 on CPU 1 at boot") })
        #expect(apic.disagreements.contains { $0.hasPrefix("the kernel's APIC ID for CPU 1 is 1") })
        let item = try #require(d.level.evidence.first { $0.id == "apic.inconsistent" })
        #expect((item.weights["L0"] ?? 0) < 0 && (item.weights["L0"] ?? 0) > -3, "weak")
        #expect(d.disagreements?.contains { $0.hasPrefix("CPUs 0, 1, 2, 3 all answer") } == true)
    }

    @Test("leaf 1's ID must be the x2APIC ID's low byte, and leaves 0xB and 0x1F must give the same ID")
    func leaves() throws {
        let d = Self.diagnose([
            Self.reading(0, initial: 0, x2apic: 0, x2apic1F: 0, apicid: 0, boot: 0),
            Self.reading(1, initial: 7, x2apic: 2, x2apic1F: 4, apicid: 2, boot: 2),
        ])
        let apic = try #require(d.topology?.apic)
        #expect(apic.x2apicLeaf == "0x1F")
        #expect(
            apic.disagreements.contains {
                $0.hasPrefix("on CPU(s) 1 leaf 1 gives APIC ID 7 but the x2APIC leaf gives 2")
            })
        #expect(
            apic.disagreements.contains { $0.hasPrefix("on CPU(s) 1 leaf 0xB gives x2APIC ID 2 but leaf 0x1F gives 4") }
        )
        #expect(!apic.disagreements.contains { $0.contains("at boot") }, "boot ID 2 is this process's x2APIC ID")
    }

    @Test("an x2APIC ID over 255 keeps its low byte in leaf 1: no disagreement")
    func wide() throws {
        let d = Self.diagnose([
            Self.reading(0, initial: 0x00, x2apic: 0x100, apicid: 0x100, boot: 0x100),
            Self.reading(1, initial: 0x01, x2apic: 0x101, apicid: 0x101, boot: 0x01),
        ])
        #expect(d.topology?.apic?.disagreements == [])
    }

    @Test("CPUs CPUID could not reach are unknown with the reason, never consistent")
    func unknown() throws {
        let refused = "sched_setaffinity to CPU 0: EINVAL (Invalid argument); open /dev/cpu/0/cpuid: EACCES (root only)"
        let d = Self.diagnose([
            CPUAPICIDs(cpu: 0, cpuid: .unavailable(.permissionDenied, refused), cpuinfoAPICID: 0),
            CPUAPICIDs(cpu: 1, cpuid: .unavailable(.permissionDenied, refused), cpuinfoAPICID: 1),
        ])
        let apic = try #require(d.topology?.apic)
        #expect(apic.cpusRead == 0)
        #expect(
            apic.unknown?.hasPrefix("unknown for every CPU: CPUID could not be executed there (permission-denied")
                == true)
        let item = try #require(d.level.evidence.first { $0.id == "apic.unknown" })
        #expect(item.note.contains("EINVAL"))
        #expect(!d.level.evidence.contains { $0.id == "apic.consistent" })
    }

    @Test("the per-CPU IDs survive a snapshot round trip; a snapshot without them decodes with none")
    func roundTrip() throws {
        let snapshot = TopologySnapshot.make(
            cpus: 2, cpuid: TopologySnapshot.intel(brand: nil, perPackage: 2),
            apic: [Self.reading(0, initial: 0, x2apic: 0, apicid: 0, boot: 0)])
        let replayed = try SnapshotFile.parse([UInt8](try DocumentFile.encodeJSON(snapshot)), name: "apic")
        #expect(replayed.apicIDs == snapshot.apicIDs)
        var older = snapshot
        older.apicIDs = nil
        let text = String(decoding: try DocumentFile.encodeJSON(older), as: UTF8.self)
        #expect(!text.contains("apicIDs"))
        #expect(try SnapshotFile.parse(Array(text.utf8), name: "older").apicIDs == nil)
    }

    @Test("/proc/cpuinfo's apicid and initial apicid are read per processor; CPU lists expand")
    func parsing() {
        let text =
            "processor\t: 0\napicid\t\t: 0\ninitial apicid\t: 0\n\nprocessor\t: 1\napicid\t\t: 2\ninitial apicid\t: 2\n\n"
        let ids = LiveCapture.cpuinfoAPICIDs(text)
        #expect(ids[1]?.apicID == 2 && ids[1]?.initial == 2)
        #expect(ids[0]?.apicID == 0)
        #expect(ids[2] == nil)
        #expect(LiveCapture.cpuList("0-2,5\n") == [0, 1, 2, 5])
        #expect(LiveCapture.cpuList("x") == nil)
    }

    @Test("a live capture reads every online CPU's IDs here, unprivileged, through sched_setaffinity")
    func live() throws {
        var capture = LiveCapture()
        capture.timeCPUID = false
        capture.askKVM = false
        let snapshot = capture.capture()
        let cpus = try #require(snapshot.apicIDs?.value)
        let online = try #require(snapshot.text("/sys/devices/system/cpu/online").flatMap(LiveCapture.cpuList))
        #expect(Set(cpus.map(\.cpu)) == online.filter { $0 < LiveCapture.maxTopologyCPUs })
        #expect(cpus.allSatisfy { $0.cpuid.value != nil && $0.via == LiveCapture.viaAffinity })
        let apic = try #require(Analyzer.diagnose(snapshot).topology?.apic)
        #expect(apic.cpusRead == cpus.count)
    }
}

@Suite("The model's documented thread count against the kernel's and the leaves'")
struct ModelThreadTests {
    static func check(brand: String, cpus: Int, packages: Int = 1, leaf: UInt32, present: Int? = nil)
        -> ModelThreadFindings?
    {
        let snapshot = TopologySnapshot.make(
            cpus: cpus, packages: packages, present: present,
            cpuid: TopologySnapshot.intel(brand: brand, perPackage: leaf))
        return Analyzer.diagnose(snapshot).topology?.modelThreads
    }

    @Test("a 2-vCPU VM on a Xeon Platinum 8259CL (24 cores, 48 threads) is fewer: weak, the VM's usual case")
    func fewer() throws {
        let m = try #require(Self.check(brand: "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", cpus: 2, leaf: 2))
        #expect(m.model == "Platinum 8259CL")
        #expect(m.validThreads == [24, 48])
        #expect(m.verdict == .fewer)
        let snapshot = TopologySnapshot.make(
            cpus: 2,
            cpuid: TopologySnapshot.intel(brand: "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", perPackage: 2))
        let item = try #require(Analyzer.diagnose(snapshot).level.evidence.first { $0.id == "model-threads.mismatch" })
        #expect((item.weights["L0"] ?? 0) < 0 && (item.weights["L0"] ?? 0) >= -1, "weak")
    }

    @Test("two sockets of 18 cores with SMT is an E5-2686 v4's own count (i3.metal); with SMT off too")
    func matches() throws {
        let brand = "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz"
        #expect(Self.check(brand: brand, cpus: 72, packages: 2, leaf: 36)?.verdict == .matches)
        #expect(Self.check(brand: brand, cpus: 36, packages: 2, leaf: 18)?.verdict == .matches)
        #expect(Self.check(brand: brand, cpus: 32, packages: 2, leaf: 16)?.verdict == .fewer)
    }

    @Test("CPUs taken offline are no mismatch when the present ones make the model's count")
    func offline() throws {
        let m = try #require(
            Self.check(brand: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", cpus: 4, leaf: 12, present: 12))
        #expect(m.verdict == .matches)
        #expect(m.detail.contains("12 present"))
    }

    @Test("more threads per package than the part has is impossible on its bare metal")
    func more() throws {
        let m = try #require(Self.check(brand: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", cpus: 16, leaf: 16))
        #expect(m.verdict == .more)
        let snapshot = TopologySnapshot.make(
            cpus: 16, cpuid: TopologySnapshot.intel(brand: "Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", perPackage: 16))
        #expect(Analyzer.diagnose(snapshot).level.evidence.contains { $0.id == "model-threads.more" })
    }

    @Test("AMD's brand states its cores: 64-Core allows 64 or 128 per package")
    func amd() throws {
        #expect(ModelThreads.amdCores(vendor: .amd, brand: "AMD EPYC 7763 64-Core Processor") == 64)
        #expect(ModelThreads.amdCores(vendor: .amd, brand: "AMD Ryzen 7 1800X Eight-Core Processor") == 8)
        #expect(ModelThreads.amdCores(vendor: .amd, brand: "AMD EPYC 7R13 Processor") == nil)
        #expect(ModelThreads.amdCores(vendor: .intel, brand: "AMD EPYC 7763 64-Core Processor") == nil)
    }

    @Test("model numbers match as whole words: an i7-8700 is not an i7-8700K, an E5-2670 0 not an E5-2670 v3")
    func keys() {
        #expect(ModelThreads.sku(vendor: .intel, brand: "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz")?.key == "i7-8700")
        #expect(ModelThreads.sku(vendor: .intel, brand: "Intel(R) Xeon(R) CPU E5-2670 v3 @ 2.30GHz")?.cores == 12)
        #expect(ModelThreads.sku(vendor: .intel, brand: "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz")?.cores == 8)
        #expect(ModelThreads.sku(vendor: .intel, brand: "12th Gen Intel(R) Core(TM) i9-12900KS") == nil)
        #expect(ModelThreads.sku(vendor: .amd, brand: "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz") == nil)
    }

    @Test("a brand with no model number falls back to the die's maximum (Sapphire Rapids: 120)")
    func die() throws {
        let within = try #require(Self.check(brand: "Intel(R) Xeon(R) CPU @ 2.20GHz", cpus: 8, leaf: 8))
        #expect(within.model?.contains("Sapphire Rapids") == true)
        #expect(within.verdict == .withinMaximum)
        #expect(Self.check(brand: "Intel(R) Xeon(R) CPU @ 2.20GHz", cpus: 128, leaf: 128)?.verdict == .more)
    }

    @Test("a model in no table says so: unknown, model not in table")
    func unknown() throws {
        var leaves = TopologySnapshot.intel(brand: "QEMU Virtual CPU version 2.5+", perPackage: 4)
        let index = leaves.firstIndex { $0.leaf == 1 }!
        leaves[index].eax = 0x0000_0663  // family 6 model 6 stepping 3: QEMU's qemu64 signature
        let d = Analyzer.diagnose(TopologySnapshot.make(cpus: 4, cpuid: leaves))
        let m = try #require(d.topology?.modelThreads)
        #expect(m.verdict == .unknown)
        #expect(m.detail.hasPrefix("unknown: model not in table (\"QEMU Virtual CPU version 2.5+\""))
        let item = try #require(d.level.evidence.first { $0.id == "model-threads.unknown" })
        #expect(item.discounted)
    }
}

@Suite("The kernel's view of the CPU against this process's CPUID")
struct CrossSourceTests {
    static let flags = "flags\t\t: fpu sse2 pni ssse3 sse4_1 sse4_2 avx avx2 hypervisor\n"

    static func diagnose(cpuid: [CPUIDLeaf], cpuinfo: String, log: [String] = []) -> Diagnosis {
        Analyzer.diagnose(TopologySnapshot.make(cpus: 2, cpuid: cpuid, cpuinfo: cpuinfo, log: log))
    }

    @Test("flags the kernel saw at boot that this process's CPUID lacks are named")
    func flagsLost() throws {
        var leaves = TopologySnapshot.intel(brand: nil, perPackage: 2)
        leaves.append(CPUIDLeaf(leaf: 7, eax: 0, ebx: 0, ecx: 0, edx: 0))
        let index = leaves.firstIndex { $0.leaf == 1 }!
        leaves[index].ecx |= 1 << 28 | 1 << 20 | 1 << 19 | 1 << 9 | 1
        let d = Self.diagnose(cpuid: leaves, cpuinfo: "processor\t: 0\n" + Self.flags)
        #expect(
            d.disagreements?.contains { $0.hasPrefix("the kernel's flags list avx2, which this process's CPUID lacks") }
                == true)
        leaves[leaves.firstIndex { $0.leaf == 7 }!].ebx = 1 << 5
        let agreeing = Self.diagnose(cpuid: leaves, cpuinfo: "processor\t: 0\n" + Self.flags)
        #expect(agreeing.disagreements?.contains { $0.contains("flags list") } != true)
    }

    @Test("the kernel's hypervisor flag without this process's bit is CPUID masked for user space")
    func hiddenBit() throws {
        let leaves = TopologySnapshot.intel(brand: nil, perPackage: 2, hypervisorBit: false)
        let d = Self.diagnose(cpuid: leaves, cpuinfo: "processor\t: 0\nflags\t\t: fpu hypervisor\n")
        #expect(d.disagreements?.contains { $0.hasPrefix("the kernel's flags have the hypervisor bit but") } == true)
    }

    @Test("the kernel log's hypervisor against this process's CPUID signature")
    func kernelLog() throws {
        let leaves = TopologySnapshot.intel(brand: nil, perPackage: 2)
        let cpuinfo = "processor\t: 0\nflags\t\t: fpu hypervisor\n"
        let d = Self.diagnose(cpuid: leaves, cpuinfo: cpuinfo, log: ["Hypervisor detected: VMware"])
        #expect(
            d.disagreements?.contains { $0.hasPrefix("the kernel log says \"Hypervisor detected: VMware\" but") }
                == true)
        let same = Self.diagnose(cpuid: leaves, cpuinfo: cpuinfo, log: ["Hypervisor detected: KVM"])
        #expect(same.disagreements?.contains { $0.contains("Hypervisor detected") } != true)
    }

    @Test("CPUID's brand against the kernel's model name, white space aside")
    func brand() throws {
        let leaves = TopologySnapshot.intel(brand: "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", perPackage: 2)
        let other = Self.diagnose(
            cpuid: leaves,
            cpuinfo: "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\nflags\t\t: fpu\n")
        #expect(other.disagreements?.contains { $0.hasPrefix("CPUID's brand is \"Intel(R) Xeon(R) Gold 6148") } == true)
        let same = Self.diagnose(
            cpuid: leaves,
            cpuinfo: "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6148  CPU @ 2.40GHz\nflags\t\t: fpu\n")
        #expect(same.disagreements?.contains { $0.hasPrefix("CPUID's brand") } != true)
    }
}

@Suite("Intel KGT in the identity line")
struct KGTIdentityTests {
    static let kgt = CPUIDLeaf(leaf: 3, eax: 0, ebx: 0, ecx: 0x4D4D_5645, edx: 0x4354_4E49)

    @Test("KGT's leaf 3 alone names Intel KGT (evmm) in the identity, in text and JSON")
    func alone() throws {
        let leaves = PlatformTree.cpuid(signature: nil, hypervisorBit: true) + [Self.kgt]
        let d = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(leaves)))
        #expect(d.identity.word == "evmm")
        #expect(d.identity.name == "Intel KGT (evmm)")
        #expect(d.identity.basis.contains("CPUID leaf 3"))
        #expect(DiagnosisText(width: 400).render(d).contains("hypervisor: evmm — Intel KGT (evmm)"))
        let json = String(decoding: try DocumentFile.encodeJSON(d), as: UTF8.self)
        #expect(json.contains("Intel KGT (evmm)"))
    }

    @Test("under another hypervisor's signature the identity names both and says why")
    func beside() throws {
        let leaves = PlatformTree.cpuid(signature: "KVMKVMKVM", hypervisorBit: true) + [Self.kgt]
        let d = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(leaves)))
        #expect(d.identity.word == "kvm")
        #expect(d.identity.name == "KVM, with Intel KGT (evmm)")
        #expect(d.identity.reconciliation?.contains("Intel KGT's evmm") == true)
        let plain = Analyzer.diagnose(
            Snapshot(
                origin: Origin(kind: .fixture),
                cpuid: .available(PlatformTree.cpuid(signature: "KVMKVMKVM", hypervisorBit: true))))
        #expect(plain.identity.name == "KVM")
    }
}

@Suite("Hyper-V isolated VMs as confidential guests")
struct HyperVIsolationTests {
    static func leaves(type: UInt32, isolation: Bool = true, paravisor: Bool = true) -> [CPUIDLeaf] {
        PlatformTree.cpuid(signature: nil, hypervisorBit: true) + [
            PlatformTree.text(0x4000_0000, eax: 0x4000_000C, "Microsoft Hv"),
            CPUIDLeaf(leaf: 0x4000_0001, eax: 0x3123_7648, ebx: 0, ecx: 0, edx: 0),
            CPUIDLeaf(leaf: 0x4000_0003, eax: 0, ebx: isolation ? 1 << 22 : 0, ecx: 0, edx: 0),
            CPUIDLeaf(leaf: 0x4000_000C, eax: paravisor ? 1 : 0, ebx: type, ecx: 0, edx: 0),
        ]
    }

    @Test("isolation type SNP (2) or TDX (3) is a confidential guest; the paravisor is said; VBS (1) is not counted")
    func isolation() throws {
        let snp = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(Self.leaves(type: 2))))
        #expect(snp.confidential?.guest == "AMD SEV-SNP")
        #expect(snp.confidential?.proof.first?.contains("a paravisor present") == true)
        let tdx = Analyzer.diagnose(
            Snapshot(origin: Origin(kind: .fixture), cpuid: .available(Self.leaves(type: 3, paravisor: false))))
        #expect(tdx.confidential?.guest == "Intel TDX")
        #expect(tdx.confidential?.proof.first?.contains("paravisor") == false)
        let vbs = Analyzer.diagnose(Snapshot(origin: Origin(kind: .fixture), cpuid: .available(Self.leaves(type: 1))))
        #expect(vbs.confidential == nil)
        let off = Analyzer.diagnose(
            Snapshot(origin: Origin(kind: .fixture), cpuid: .available(Self.leaves(type: 2, isolation: false))))
        #expect(off.confidential == nil, "without 0x40000003 EBX[22] the isolation leaf is not read")
    }
}

@Suite("A KVM guest whose VMM copied one CPUID template to every vCPU (fixture kvm-apic-template)")
struct APICTemplateFixtureTests {
    @Test("shared APIC IDs against the local APICs, and 4 vCPUs of a 48-thread Xeon, both said and weighed weakly")
    func template() throws {
        let d = try diagnose("kvm-apic-template")
        let apic = try #require(d.topology?.apic)
        #expect(apic.cpusRead == 4 && apic.via == ["sched_setaffinity"])
        #expect(apic.disagreements.count == 3, "shared ID, boot IDs, local APIC IDs")
        #expect(d.level.evidence.contains { $0.id == "apic.inconsistent" })
        let model = try #require(d.topology?.modelThreads)
        #expect(model.model == "Platinum 8259CL" && model.verdict == .fewer)
        #expect(d.level.evidence.contains { $0.id == "model-threads.mismatch" })
        #expect(d.identity.word == "kvm")
        #expect(d.level.level == .l1)
    }
}

@Suite("diagnose and capture as an unprivileged user")
struct UnprivilegedRunTests {
    /// Dropping to nobody needs root and setpriv(1); run as any other user, the whole suite is unprivileged.
    static var setprivUsable: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
            && NestprobeRunner.binary.map { othersCanRun($0.path) } == true
    }

    /// Whether a user other than the owner may reach and execute `path`: o+x on the file and every folder above it
    /// (a checkout in a 0700 home folder is not, and the test would fail for that, not for nestprobe).
    static func othersCanRun(_ path: String) -> Bool {
        var url = URL(fileURLWithPath: path)
        while url.path != "/" {
            let mode = (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions]) as? Int
            guard let mode, mode & 0o001 != 0 else { return false }
            url.deleteLastPathComponent()
        }
        return true
    }

    static func asNobody(_ arguments: [String]) throws -> NestprobeRunner.Result {
        let binary = try #require(NestprobeRunner.binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments =
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", binary.path]
            + arguments
        return try NestprobeRunner.wait(process, in: "/")
    }

    @Test(
        "as nobody (setpriv: uid and gid 65534, no groups, no capabilities) diagnose exits 0 and every CPU's IDs are read",
        .enabled(
            if: setprivUsable,
            "needs root, setpriv and a binary others may run; as another user every test is unprivileged"))
    func nobody() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: scratch.path)
        let capture = try Self.asNobody(["capture", "-o", scratch.path("live.json")])
        #expect(capture.status == 0 && !capture.signalled, "capture as nobody: \(capture.err)")
        let snapshot = try SnapshotFile.load(scratch.path("live.json"))
        #expect(snapshot.process.value?.euid == 65534)
        let ids = try #require(snapshot.apicIDs?.value)
        #expect(!ids.isEmpty && ids.allSatisfy { $0.via == LiveCapture.viaAffinity }, "no root needed: \(ids)")
        let diagnose = try Self.asNobody(["diagnose", "--json"])
        #expect(diagnose.status == 0 && !diagnose.signalled, "diagnose as nobody: \(diagnose.err)")
        let d = try JSONDecoder().decode(Diagnosis.self, from: Data(diagnose.out.utf8))
        #expect(d.topology?.apic?.cpusRead == ids.count)
        #expect(d.topology?.modelThreads != nil)
    }
}
