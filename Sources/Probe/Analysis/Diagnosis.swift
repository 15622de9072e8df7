// Diagnosis: the analysis of one snapshot — level, hypervisors, platform, hosting, the host exit
// cost — with the few lines a person reads first. Schema: Reports/schema/diagnosis-v2.schema.json.

/// A fact the probe could not read, and why.
public struct MissingFact: Codable, Sendable, Equatable {
    public var fact: String
    public var reason: UnavailableReason
    public var detail: String
}

/// The analysis of one snapshot.
public struct Diagnosis: Codable, Sendable {
    public static let schemaID = "nestprobe.diagnosis"
    public static let currentVersion = 2

    public var schema: String
    public var version: Int
    public var tool: ToolInfo
    public var origin: Origin
    public var capturedAt: String?
    /// The conclusions in a few lines, as printed at the top of the text output.
    public var summary: [String]
    public var level: LevelEstimate
    public var cpu: Fact<CPUIdentity>
    /// What is odd about the CPU identity: a signature no real CPU has, a hypervisor's synthetic model.
    public var cpuCaveats: [String]
    /// Microcode revision from /proc/cpuinfo (CPUID does not carry it).
    public var microcode: String?
    public var hypervisors: HypervisorFindings
    /// The hypervisor below, named once, with how conflicting evidence was settled.
    public var identity: HypervisorIdentity
    /// This process's CPUID came from a user-mode emulator, not from the machine: nil when it did not.
    public var emulation: EmulationFinding?
    public var platform: PlatformFindings
    public var hosting: HostingVerdict
    public var hostExitCost: Fact<HostExitCost>
    /// The virtualization MSRs, decoded, or why they could not be read.
    public var msrs: Fact<[String]>
    /// Everything the probe could not read, with the reason.
    public var missing: [MissingFact]
    /// ACPI table headers, the SMBIOS virtual-machine bit, QEMU's fw_cfg: nil when none was captured.
    public var firmware: FirmwareFindings?
    /// PCI functions and network cards: nil when neither was captured.
    public var devices: DeviceFindings?
    /// Confidential-guest state or capability: nil when nothing shows either.
    public var confidential: ConfidentialFindings?
    /// Where the sources disagree and what that implies: nil when they agree.
    public var disagreements: [String]?
    /// CPUID's and the kernel's CPU topology and where they disagree: nil when the kernel's was not captured.
    public var topology: TopologyFindings?
    /// The thermal zones and hwmon devices: nil when neither class was captured.
    public var sensors: SensorFindings?
}

/// Runs every analysis over a snapshot.
public enum Analyzer {
    /// Analyses `snapshot`. Pass `readHere: true` only when this process read the snapshot's CPUID
    /// itself: libcpuid's hypervisor guess executes CPUID on the running CPU, so for a saved snapshot it
    /// would describe the machine doing the analysis.
    public static func diagnose(_ snapshot: Snapshot, readHere: Bool = false) -> Diagnosis {
        let leaves = snapshot.cpuid.value ?? []
        let table = CPUIDTable(leaves)
        let hypervisors = HypervisorScan.scan(table)
        var platform = PlatformAnalysis.analyse(snapshot)
        let emulation = EmulationFinding.detect(cpuid: table, kernel: platform.kernelCPU)
        let cost = snapshot.hostTiming.value.flatMap(HostExitCost.init)
        let machine = machineEvidence(snapshot, cpuid: table)
        if platform.xen == nil,
            platform.microVM != nil || machine.firmware?.acpiVMM == "Firecracker"
                || machine.devices?.virtualFunctions.contains(where: { $0.vendor == 0x8086 && $0.device == 0x0D57 })
                    == true
        {
            platform.microVM = PlatformAnalysis.microVM(snapshot, dmi: platform.dmi, machine: machine)
        }
        let level = LevelAnalysis.estimate(
            hypervisors: hypervisors, platform: platform, cost: cost, timing: snapshot.hostTiming,
            cpuidCaptured: !leaves.isEmpty, emulation: emulation, machine: machine)
        let cpu: Fact<CPUIdentity>
        if leaves.isEmpty {
            cpu = snapshot.cpuid.missingOr(.unavailable(.notCaptured, "the snapshot holds no CPUID leaves"))
        } else if !table.hasLeaf1 {
            // libcpuid would name the zeroed signature ("i486", "K5"): family and model are unknown.
            cpu = .unavailable(
                .notCaptured, "the snapshot holds no CPUID leaf 1 (or only zeros): family, model and features unknown")
        } else {
            cpu = CPUIdentity.identify(leaves, live: readHere && snapshot.isLive)
        }
        let hosting = HostingAnalysis.analyse(
            snapshot, cpuid: table, container: platform.container, platform: platform, emulation: emulation)
        let exitCost: Fact<HostExitCost> =
            cost.map { .available($0) }
            ?? snapshot.hostTiming.missingOr(.unavailable(.failed, "the timing holds no samples"))
        let msrs = snapshot.msrs.map { MSRFindings($0).decoded }
        let identity = HypervisorIdentity.reconcile(
            hypervisors: hypervisors, platform: platform, emulation: emulation, cpuidCaptured: !leaves.isEmpty)
        var missing = missingFacts(snapshot)
        if !leaves.isEmpty && !table.hasLeaf1 {
            missing.append(
                MissingFact(
                    fact: "CPUID leaf 1", reason: .notCaptured,
                    detail: "the dump has no leaf 1: the hypervisor bit, VMX/SVM and the CPU signature are unknown"))
        }
        var diagnosis = Diagnosis(
            schema: Diagnosis.schemaID, version: Diagnosis.currentVersion, tool: .current, origin: snapshot.origin,
            capturedAt: snapshot.capturedAt, summary: [], level: level, cpu: cpu, cpuCaveats: CPUCaveats.check(table),
            microcode: cpuinfoField(snapshot, "microcode"), hypervisors: hypervisors, identity: identity,
            emulation: emulation, platform: platform, hosting: hosting, hostExitCost: exitCost, msrs: msrs,
            missing: missing, firmware: machine.firmware, devices: machine.devices, confidential: machine.confidential)
        var disagreements = SourceDisagreement.find(
            hypervisors: hypervisors, platform: platform, emulation: emulation, machine: machine)
        disagreements += SourceDisagreement.kernelAgainstCPUID(
            snapshot, cpuid: table, hypervisors: hypervisors, platform: platform, emulation: emulation)
        disagreements += machine.topology?.apic?.disagreements ?? []
        if !LevelAnalysis.cpuidTimingDiscounted(hypervisors: hypervisors, platform: platform, emulation: emulation),
            let clocks = LevelAnalysis.clockDisagreement(cost)
        {
            disagreements.append(clocks)
        }
        diagnosis.topology = machine.topology
        diagnosis.sensors = machine.sensors
        diagnosis.disagreements = disagreements.isEmpty ? nil : disagreements
        diagnosis.summary = Summary.lines(diagnosis)
        return diagnosis
    }

    /// The firmware, device and confidential-guest findings; each nil when none of its sources was captured.
    static func machineEvidence(_ snapshot: Snapshot, cpuid: CPUIDTable) -> MachineEvidence {
        let firmwareCaptured =
            [LiveCapture.acpiTablesFolder, LiveCapture.fwCfgFolder]
            .contains { snapshot.directory($0).isCaptured } || snapshot.file(LiveCapture.smbiosType0Path).isCaptured
        let devicesCaptured = [LiveCapture.pciFolder, LiveCapture.netFolder].contains {
            snapshot.directory($0).isCaptured
        }
        return MachineEvidence(
            firmware: firmwareCaptured ? FirmwareAnalysis.analyse(snapshot) : nil,
            devices: devicesCaptured ? DeviceAnalysis.analyse(snapshot) : nil,
            confidential: ConfidentialAnalysis.analyse(snapshot, cpuid: cpuid),
            topology: TopologyAnalysis.captured(snapshot) ? TopologyAnalysis.analyse(snapshot, cpuid: cpuid) : nil,
            sensors: SensorAnalysis.captured(snapshot) ? SensorAnalysis.analyse(snapshot) : nil)
    }

    /// A field of the first processor in /proc/cpuinfo.
    static func cpuinfoField(_ snapshot: Snapshot, _ name: String) -> String? {
        guard let text = snapshot.text("/proc/cpuinfo") else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmed == name { return parts[1].trimmed }
        }
        return nil
    }

    /// The facts that are unavailable, for the "could not read" section.
    static func missingFacts(_ snapshot: Snapshot) -> [MissingFact] {
        var missing: [MissingFact] = []
        func add<T>(_ name: String, _ fact: Fact<T>) {
            if let (reason, detail) = fact.missing {
                missing.append(MissingFact(fact: name, reason: reason, detail: detail))
            }
        }
        add("CPUID", snapshot.cpuid)
        add("MSRs", snapshot.msrs)
        add("KVM (/dev/kvm ioctls)", snapshot.kvm)
        if let kvm = snapshot.kvm.value {
            add("KVM_GET_SUPPORTED_CPUID", kvm.supportedCPUID)
            add("KVM feature MSRs", kvm.featureMSRs)
            add("guest TSC frequency", kvm.guestTSCkHz)
        }
        add("kernel log", snapshot.kernelLog)
        add("host CPUID timing", snapshot.hostTiming)
        add("DMI", snapshot.directory("/sys/class/dmi/id"))
        for (name, path) in [("ACPI tables", LiveCapture.acpiTablesFolder), ("PCI devices", LiveCapture.pciFolder)] {
            if case .unavailable(let reason, let detail) = snapshot.directory(path), reason != .notCaptured,
                reason != .absent
            {
                missing.append(MissingFact(fact: name, reason: reason, detail: detail))
            }
        }
        if let tables = snapshot.directory(LiveCapture.acpiTablesFolder).value,
            let denied = tables.first(where: {
                snapshot.file("\(LiveCapture.acpiTablesFolder)/\($0)").missing?.reason == .permissionDenied
            })
        {
            missing.append(
                MissingFact(
                    fact: "ACPI table headers", reason: .permissionDenied,
                    detail: "\(LiveCapture.acpiTablesFolder)/\(denied) and the others are readable by root only"))
        }
        if let smbios = snapshot.file(LiveCapture.smbiosType0Path).missing, smbios.reason == .permissionDenied {
            missing.append(
                MissingFact(
                    fact: "SMBIOS BIOS information (virtual-machine bit)", reason: smbios.reason,
                    detail: "\(smbios.detail); readable by root only"))
        }
        for (path, device) in snapshot.devices.sorted(by: { $0.key < $1.key }) { add(path, device) }
        return missing
    }
}

extension Fact {
    /// `fallback` when this fact is available, else this fact's reason carried over to type T.
    func missingOr<T>(_ fallback: Fact<T>) -> Fact<T> {
        if let (reason, detail) = missing { return .unavailable(reason, detail) }
        return fallback
    }
}
