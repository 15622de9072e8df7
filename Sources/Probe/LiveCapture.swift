// LiveCapture: reads every fact of this machine into a Snapshot. The only place the probe touches
// the live system; everything after it works on the Snapshot alone.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Captures a snapshot of the running machine.
public struct LiveCapture: Sendable {
    public var reader: SystemReader
    /// Whether to time this process's CPUID (tens of milliseconds).
    public var timeCPUID = true
    /// Whether to open the KVM device and ask it (creates and destroys one empty VM).
    public var askKVM = true
    /// The KVM device to examine and ask (`bench --device`). Its facts are recorded as the snapshot's KVM
    /// device, under the key "/dev/kvm", whatever its path: they are what the analysis reads as "the KVM device".
    public var kvmDevicePath = "/dev/kvm"

    public init(reader: SystemReader = SystemReader()) {
        self.reader = reader
    }

    /// Text files read as they are.
    static let plainFiles =
        [
            "/proc/cmdline", "/proc/version", "/proc/sys/kernel/osrelease", "/proc/sys/kernel/dmesg_restrict",
            "/sys/hypervisor/type", "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            "/sys/devices/system/clocksource/clocksource0/available_clocksource", "/proc/1/cgroup", "/proc/self/cgroup",
            "/.dockerenv", "/run/.containerenv", "/proc/sys/fs/binfmt_misc/WSLInterop",
            "/proc/xen/capabilities", "/sys/hypervisor/guest_type", "/run/host/container-manager",
            "/run/systemd/container",
        ] + PlatformAnalysis.dmiFields.map { "/sys/class/dmi/id/\($0)" }

    /// Folders listed; /sys/module only for the modules that concern virtualization.
    static let listedFolders = [
        "/sys/class/dmi/id", "/sys/hypervisor", "/sys/bus/vmbus/devices", "/sys/bus/xen/devices",
        "/sys/bus/virtio/devices", "/dev/cpu", "/proc/vz", "/proc/bc",
    ]

    /// Module names worth recording from /sys/module.
    static func isVirtualizationModule(_ name: String) -> Bool {
        [
            "kvm", "msr", "vhost", "hv_", "hyperv", "xen", "vmw", "vbox", "virtio", "irqbypass", "ccp", "qemu_fw_cfg",
            "sev", "tdx",
        ]
        .contains { name.hasPrefix($0) }
    }

    /// Reads everything.
    public func capture() -> Snapshot {
        var snapshot = Snapshot(capturedAt: Self.now(), origin: Origin(kind: .live, detail: hostName()))
        let leaves = LiveCPUID.readAll()
        snapshot.cpuid = .available(leaves)
        for path in Self.plainFiles { snapshot.files[path] = reader.readText(path) }
        let cpuinfo = reader.readText("/proc/cpuinfo")
        snapshot.files["/proc/cpuinfo"] = cpuinfo.map(Self.firstProcessor)
        snapshot.files["/proc/1/environ"] = reader.readText("/proc/1/environ").map(Self.containerVariables)
        snapshot.files["/proc/self/status"] = reader.readText("/proc/self/status").map(Self.contextLines)
        snapshot.files["/proc/modules"] = reader.readText("/proc/modules").map { text in
            text.split(separator: "\n").filter { Self.isVirtualizationModule(String($0)) }.joined(separator: "\n")
        }
        for folder in Self.listedFolders { snapshot.directories[folder] = reader.list(folder) }
        captureDevices(into: &snapshot)
        captureTopologyAndSensors(into: &snapshot)
        captureAPICIDs(into: &snapshot, cpus: snapshot.directory(Self.cpuFolder), cpuinfo: cpuinfo)
        let modules = reader.list("/sys/module").map { $0.filter(Self.isVirtualizationModule) }
        snapshot.directories["/sys/module"] = modules
        for module in modules.value ?? [] where module.hasPrefix("kvm") {
            let folder = "/sys/module/\(module)/parameters"
            let names = reader.list(folder)
            snapshot.directories[folder] = names
            for name in names.value ?? [] { snapshot.files["\(folder)/\(name)"] = reader.readText("\(folder)/\(name)") }
        }
        snapshot.devices["/dev/kvm"] = reader.deviceNode(kvmDevicePath)
        let log = KernelLog(reader: reader).read()
        snapshot.kernelLog = log
        let vendor = CPUVendor(CPUIDTable(leaves))
        snapshot.msrs = MSRReader(reader: reader).readCatalogue(
            vendor: vendor == .intel ? .intel : (vendor == .amd || vendor == .hygon) ? .amd : .any)
        switch snapshot.devices["/dev/kvm"] {
        case _ where !askKVM:
            snapshot.kvm = .unavailable(.notCaptured, "not asked (--no-kvm)")
        case .available(let node)?:
            if let reason = node.openError {
                snapshot.kvm = .unavailable(
                    reason, "\(kvmDevicePath) cannot be opened: \(node.openErrorDetail ?? reason.rawValue)")
            } else {
                snapshot.kvm = KVMCapture.capture(path: reader.root + kvmDevicePath)
            }
        case .unavailable(let reason, let detail)?:
            snapshot.kvm = .unavailable(reason, detail)
        case nil:
            snapshot.kvm = .unavailable(.absent, "\(kvmDevicePath) was not examined")
        }
        if timeCPUID {
            let tsc = TSCFrequencyFinder.find(cpuid: CPUIDTable(leaves), kernelLog: log.value)
            snapshot.hostTiming = .available(HostTimer().measure(tsc: tsc))
        } else {
            snapshot.hostTiming = .unavailable(.notCaptured, "timing skipped (--no-timing)")
        }
        snapshot.process = .available(processInfo())
        return snapshot
    }

    /// The first "processor" stanza of /proc/cpuinfo (the others repeat it).
    static func firstProcessor(_ text: String) -> String {
        text.components(separatedBy: "\n\n").first ?? text
    }

    /// Only the Linux-VServer context lines (VxID, NxID) of /proc/self/status; the rest says nothing of the level.
    static func contextLines(_ text: String) -> String {
        text.split(separator: "\n").filter { $0.hasPrefix("VxID:") || $0.hasPrefix("NxID:") }.joined(separator: "\n")
    }

    /// Only the container= entry of a NUL-separated environment (the rest is private).
    static func containerVariables(_ text: String) -> String {
        text.split(separator: "\0").filter { $0.hasPrefix("container=") }.joined(separator: "\n")
    }

    func processInfo() -> ProcessInfo {
        let capabilities = reader.readText("/proc/self/status").value.flatMap { status in
            status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }.map { $0.dropFirst(7).trimmed }
        }
        return ProcessInfo(
            euid: SystemDoor.effectiveUserID, groups: SystemDoor.groups(),
            effectiveCapabilities: capabilities)
    }

    func hostName() -> String? {
        reader.readText("/proc/sys/kernel/hostname").value?.trimmed
    }

    static func now() -> String {
        Date().formatted(.iso8601)
    }
}
