// TopologyCapture: the kernel's view of the CPU topology and the machine's temperature sensors, read into the
// snapshot so that `--snapshot` replays them (issue 16). CPUID's own topology leaves (1, 0xB, 0x1F) are in the
// CPUID dump already.
//
// Per CPU only the topology files that count packages, cores and threads are read, for at most
// `maxTopologyCPUs` CPUs; per sensor only its name. All are world-readable sysfs files: no root, no process.

extension LiveCapture {
    /// Where the kernel lists its CPUs (cpu0, cpu1, ..., and other entries that are not CPUs).
    static let cpuFolder = "/sys/devices/system/cpu"
    /// The files of cpuN/topology read for each CPU.
    static let topologyFiles = ["physical_package_id", "core_id", "thread_siblings_list"]
    /// The thermal class: thermal_zoneN (with a `type`) and cooling_deviceN.
    static let thermalFolder = "/sys/class/thermal"
    /// The hardware-monitoring class: hwmonN, each with a `name` (coretemp, k10temp, acpitz, ...).
    static let hwmonFolder = "/sys/class/hwmon"
    /// Caps that keep a snapshot small on a machine with very many CPUs or sensors.
    static let maxTopologyCPUs = 256
    static let maxSensors = 32

    /// Reads the kernel's CPU topology and the sensor names into `snapshot`.
    func captureTopologyAndSensors(into snapshot: inout Snapshot) {
        for list in ["online", "present"] {
            snapshot.files["\(Self.cpuFolder)/\(list)"] = reader.readText("\(Self.cpuFolder)/\(list)", limit: 4096)
        }
        let cpus = reader.list(Self.cpuFolder).map { names in
            Array(names.compactMap(Self.cpuNumber).sorted().prefix(Self.maxTopologyCPUs).map { "cpu\($0)" })
        }
        snapshot.directories[Self.cpuFolder] = cpus
        for cpu in cpus.value ?? [] {
            for file in Self.topologyFiles {
                let path = "\(Self.cpuFolder)/\(cpu)/topology/\(file)"
                snapshot.files[path] = reader.readText(path, limit: 4096)
            }
        }
        let zones = reader.list(Self.thermalFolder).map { names in
            Array(names.filter { $0.hasPrefix("thermal_zone") }.sorted().prefix(Self.maxSensors))
        }
        snapshot.directories[Self.thermalFolder] = zones
        for zone in zones.value ?? [] {
            let path = "\(Self.thermalFolder)/\(zone)/type"
            snapshot.files[path] = reader.readText(path, limit: 64)
        }
        let monitors = reader.list(Self.hwmonFolder).map { Array($0.sorted().prefix(Self.maxSensors)) }
        snapshot.directories[Self.hwmonFolder] = monitors
        for monitor in monitors.value ?? [] {
            let path = "\(Self.hwmonFolder)/\(monitor)/name"
            snapshot.files[path] = reader.readText(path, limit: 64)
        }
    }

    /// N for a "cpuN" entry; nil for the other entries of the CPU folder (cpufreq, cpuidle, online, ...).
    static func cpuNumber(_ name: String) -> Int? {
        guard name.hasPrefix("cpu") else { return nil }
        let digits = name.dropFirst(3)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }
}
