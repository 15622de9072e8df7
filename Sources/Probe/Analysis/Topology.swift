// Topology: whether CPUID's topology (leaf 1, leaf 0xB / 0x1F) agrees with itself and with the kernel's view
// (/sys/devices/system/cpu), and the temperature sensors the machine shows (issue 16).
//
// Real x86 CPUs describe one package consistently: leaf 1's HTT bit and logical-processor field (SDM vol. 2A,
// CPUID leaf 01H EBX[23:16], EDX bit 28), the x2APIC levels of leaf 0xB / 0x1F (SDM vol. 2A, leaf 0BH: ECX[15:8]
// the level type, 1 = SMT, 2 = core; EBX[15:0] the logical processors at that level and below), and the
// packages, cores and threads the kernel builds from them. A VMM writes these leaves itself, and a hand-written
// topology is often impossible: HTT clear with several CPUs in one package, leaf 0xB empty on an Intel CPU,
// more siblings than the package holds, or many sockets of one core each (QEMU's default for `-smp N`). Each is
// weak: a kernel booted with `nosmt` or with CPUs offline looks odd too, so these only shift the shares.
//
// Sensors: CPU temperature drivers (coretemp, k10temp, zenpower, the x86_pkg_temp zone) read the package's
// thermal MSRs or SMN registers, which hypervisors do not emulate; VMMs rarely offer any sensor at all. A kernel
// built without the drivers shows none either, and a VM given the MSRs shows them, so this is weak as well.

/// CPUID's and the kernel's view of the CPU topology, and where they disagree.
public struct TopologyFindings: Codable, Sendable, Equatable {
    /// Leaf 1 EDX bit 28 (more than one logical processor per package); nil without leaf 1.
    public var htt: Bool?
    /// Leaf 1 EBX[23:16]: addressable logical processor IDs per package; nil without leaf 1.
    public var leaf1Logical: Int?
    /// The leaf the x2APIC topology was read from ("0x1F" or "0xB"); nil when neither is offered.
    public var x2apicLeaf: String?
    /// Logical processors per core (the SMT level), from that leaf.
    public var threadsPerCore: Int?
    /// Logical processors per package (the top level's count), from that leaf.
    public var logicalPerPackage: Int?
    /// Why the x2APIC topology is unknown, when it is.
    public var x2apicUnknown: String?
    /// Leaf 0xB is within the basic range and was read, but its first level is empty; nil when not so.
    public var x2apicEmpty: Bool?
    /// CPUs online, from /sys/devices/system/cpu/online.
    public var kernelOnline: Int?
    /// Distinct physical_package_id among the CPUs read.
    public var kernelPackages: Int?
    /// Siblings of cpu0's thread (thread_siblings_list), cpu0 included.
    public var kernelThreadsPerCore: Int?
    /// Distinct core_id in cpu0's package.
    public var kernelCoresPerPackage: Int?
    /// Why the kernel's view is unknown, when it is.
    public var kernelUnknown: String?
    /// What does not fit, one sentence each; empty when everything read agrees.
    public var inconsistencies: [String]
    /// Each CPU's APIC IDs from CPUID on that CPU and from /proc/cpuinfo; nil when the snapshot has none.
    public var apic: APICFindings?
    /// The CPU model's documented thread count against the kernel's and the leaves'.
    public var modelThreads: ModelThreadFindings?
}

/// The temperature sensors the kernel offers.
public struct SensorFindings: Codable, Sendable, Equatable {
    /// The `type` of each thermal zone; nil when the thermal class could not be read.
    public var thermalZones: [String]?
    /// The `name` of each hwmon device; nil when the hwmon class could not be read.
    public var hwmon: [String]?
    /// Sensors that read the CPU package itself (coretemp, k10temp, ...).
    public var cpuSensors: [String]
    /// Why a class could not be read, when one could not ("absent" classes count as empty).
    public var unknown: String?
}

/// Derives topology and sensor findings from a snapshot.
public enum TopologyAnalysis {
    /// Whether the snapshot holds any of the kernel's topology (so a dump without it gives no findings).
    static func captured(_ snapshot: Snapshot) -> Bool {
        snapshot.directory(LiveCapture.cpuFolder).isCaptured
            || snapshot.file("\(LiveCapture.cpuFolder)/online").isCaptured || snapshot.apicIDs != nil
    }

    public static func analyse(_ snapshot: Snapshot, cpuid: CPUIDTable) -> TopologyFindings {
        var findings = TopologyFindings(inconsistencies: [])
        if let leaf1 = cpuid[1], cpuid.hasLeaf1 {
            findings.htt = leaf1.edx & (1 << 28) != 0
            findings.leaf1Logical = Int((leaf1.ebx >> 16) & 0xFF)
        }
        readX2APIC(cpuid, into: &findings)
        readKernel(snapshot, into: &findings)
        findings.inconsistencies = inconsistencies(findings, vendor: CPUVendor(cpuid), cpuid: cpuid)
        findings.apic = APICAnalysis.analyse(snapshot)
        if cpuid.hasLeaf1 {
            let brand = CPUIDTable.brand(cpuid)
            findings.modelThreads = ModelThreads.analyse(
                findings, cpuid: cpuid, brand: brand.isEmpty ? KernelCPUView(snapshot)?.modelName ?? "" : brand,
                present: snapshot.text("\(LiveCapture.cpuFolder)/present").flatMap(cpuListCount))
        }
        return findings
    }

    /// Leaf 0x1F where offered, else 0xB: the SMT level's count and the top level's.
    static func readX2APIC(_ cpuid: CPUIDTable, into findings: inout TopologyFindings) {
        guard let maxBasic = cpuid[0]?.eax else {
            findings.x2apicUnknown = "unknown: no CPUID leaf 0"
            return
        }
        for leaf: UInt32 in [0x1F, 0xB] where maxBasic >= leaf {
            var levels: [(type: UInt32, count: Int)] = []
            for subleaf: UInt32 in 0..<8 {
                guard let entry = cpuid[leaf, subleaf] else { break }
                let type = (entry.ecx >> 8) & 0xFF
                guard type != 0, entry.ebx & 0xFFFF != 0 else { break }
                levels.append((type, Int(entry.ebx & 0xFFFF)))
            }
            guard let top = levels.last else { continue }
            findings.x2apicLeaf = leaf == 0x1F ? "0x1F" : "0xB"
            findings.threadsPerCore = levels.first { $0.type == 1 }?.count ?? 1
            findings.logicalPerPackage = top.count
            return
        }
        if maxBasic < 0xB {
            findings.x2apicUnknown =
                "unknown: leaf 0xB is not offered (maximum basic leaf \(HexWord.format32(maxBasic)))"
        } else if cpuid[0xB] == nil {
            findings.x2apicUnknown = "unknown: leaf 0xB is offered but not in the snapshot"
        } else {
            findings.x2apicEmpty = true
            findings.x2apicUnknown = "unknown: leaf 0xB (and 0x1F) are offered but empty"
        }
    }

    /// The kernel's online count, packages, cpu0's thread siblings and its package's cores.
    static func readKernel(_ snapshot: Snapshot, into findings: inout TopologyFindings) {
        let folder = LiveCapture.cpuFolder
        findings.kernelOnline = snapshot.text("\(folder)/online").flatMap(cpuListCount)
        let cpus: [String]
        switch snapshot.directory(folder) {
        case .available(let names): cpus = names
        case .unavailable(let reason, let detail):
            findings.kernelUnknown = "unknown (\(reason.rawValue)): \(detail)"
            return
        }
        var packageOf: [String: String] = [:]
        var coresByPackage: [String: Set<String>] = [:]
        for cpu in cpus {
            guard let package = snapshot.text("\(folder)/\(cpu)/topology/physical_package_id"),
                let core = snapshot.text("\(folder)/\(cpu)/topology/core_id")
            else { continue }
            packageOf[cpu] = package
            coresByPackage[package, default: []].insert(core)
        }
        guard !packageOf.isEmpty else {
            findings.kernelUnknown = "unknown: no CPU's topology files could be read"
            return
        }
        findings.kernelPackages = coresByPackage.count
        let first = cpus.first { packageOf[$0] != nil } ?? "cpu0"
        findings.kernelCoresPerPackage = packageOf[first].flatMap { coresByPackage[$0]?.count }
        findings.kernelThreadsPerCore = snapshot.text("\(folder)/\(first)/topology/thread_siblings_list")
            .flatMap(cpuListCount)
    }

    /// How many CPUs a kernel CPU list names ("0-3,6,8-9" → 7); nil when it is not one.
    static func cpuListCount(_ text: String) -> Int? {
        var count = 0
        for part in text.trimmed.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, Int(bounds[0]) != nil {
                count += 1
            } else if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high {
                count += high - low + 1
            } else {
                return nil
            }
        }
        return count > 0 ? count : nil
    }

    static func inconsistencies(_ t: TopologyFindings, vendor: CPUVendor, cpuid: CPUIDTable) -> [String] {
        var found: [String] = []
        let maxBasic = cpuid[0]?.eax ?? 0
        let kernelPerPackage: Int? = {
            guard let online = t.kernelOnline, let packages = t.kernelPackages, packages > 0 else { return nil }
            return online / packages
        }()
        if vendor == .intel, maxBasic >= 0xB, t.x2apicEmpty == true,
            let many = [t.leaf1Logical, t.kernelOnline].compactMap({ $0 }).first(where: { $0 > 1 })
        {
            found.append(
                "leaf 0xB is in the basic range but empty while \(many) logical processors are counted: every Intel "
                    + "CPU since Nehalem describes its x2APIC topology there")
        }
        if t.htt == false, let perPackage = kernelPerPackage, perPackage > 1 {
            found.append(
                "leaf 1's HTT bit is clear (one logical processor per package) but the kernel counts \(perPackage) "
                    + "CPUs per package")
        }
        if t.htt == true, t.logicalPerPackage == 1 {
            found.append(
                "leaf 1's HTT bit is set (several logical processors per package) but leaf \(t.x2apicLeaf ?? "0xB") "
                    + "counts one logical processor per package")
        }
        if let leaf1 = t.leaf1Logical, t.htt == true, let package = t.logicalPerPackage, package <= 255, leaf1 < package
        {
            found.append(
                "leaf 1 addresses \(leaf1) logical processors per package, fewer than the \(package) of leaf "
                    + "\(t.x2apicLeaf ?? "0xB")")
        }
        if let kernel = t.kernelThreadsPerCore, let cpuid = t.threadsPerCore, kernel > cpuid {
            found.append("the kernel sees \(kernel) threads in cpu0's core, but CPUID allows \(cpuid)")
        }
        if let perPackage = kernelPerPackage, let package = t.logicalPerPackage, perPackage > package {
            found.append(
                "the kernel puts \(perPackage) CPUs in each package, but leaf \(t.x2apicLeaf ?? "0xB") says a "
                    + "package holds \(package)")
        }
        if let packages = t.kernelPackages, packages > 1, t.kernelCoresPerPackage == 1, t.kernelThreadsPerCore == 1 {
            found.append(
                "\(packages) sockets of one single-threaded core each: a VMM's default (QEMU's -smp \(packages)); "
                    + "no x86 server of this century ships single-core sockets")
        }
        return found
    }
}

/// Derives the sensor findings.
public enum SensorAnalysis {
    /// hwmon names and thermal zone types that read the CPU package's own sensors.
    static let cpuSensorNames: Set<String> = [
        "coretemp", "k10temp", "k8temp", "zenpower", "fam15h_power", "amd_energy", "x86_pkg_temp", "via_cputemp",
    ]

    /// Whether the snapshot holds either sensor class.
    static func captured(_ snapshot: Snapshot) -> Bool {
        snapshot.directory(LiveCapture.thermalFolder).isCaptured
            || snapshot.directory(LiveCapture.hwmonFolder).isCaptured
    }

    public static func analyse(_ snapshot: Snapshot) -> SensorFindings {
        var unknown: [String] = []
        func names(_ folder: String, _ file: String) -> [String]? {
            switch snapshot.directory(folder) {
            case .available(let entries):
                return entries.map { snapshot.text("\(folder)/\($0)/\(file)") ?? "?" }
            case .unavailable(.absent, _):
                return []  // the kernel has no such class: no sensor of that kind
            case .unavailable(let reason, let detail):
                if reason != .notCaptured { unknown.append("\(folder): \(reason.rawValue), \(detail)") }
                return nil
            }
        }
        let zones = names(LiveCapture.thermalFolder, "type")
        let monitors = names(LiveCapture.hwmonFolder, "name")
        let cpu = ((zones ?? []) + (monitors ?? [])).filter(cpuSensorNames.contains)
        return SensorFindings(
            thermalZones: zones, hwmon: monitors, cpuSensors: Array(Set(cpu)).sorted(),
            unknown: unknown.isEmpty ? nil : "unknown: " + unknown.joined(separator: "; "))
    }
}
