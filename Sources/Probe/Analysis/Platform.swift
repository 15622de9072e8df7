// Platform: what the firmware tables, the kernel and the file system say about the machine around
// this OS — DMI, /sys/hypervisor, sandboxes (gVisor, WSL, UML), microVMs, and containers, which are
// reported apart from virtualization because they add no hypervisor level.

/// DMI facts and what they name.
public struct DMIFindings: Codable, Sendable, Equatable {
    /// sys_vendor, product_name, board_vendor, bios_vendor, ... as read.
    public var fields: [String: String]
    /// The virtual platform DMI names (QEMU, VMware, Hyper-V, RHEV, Nutanix AHV, ...): firmware tables only a
    /// hypervisor writes.
    public var virtualPlatform: String?
    /// The cloud DMI names (Amazon EC2, Google Compute Engine, ...). Clouds write their name on VMs and on
    /// bare-metal instances alike, so it proves no hypervisor by itself.
    public var cloud: String?
    /// The product name is a cloud's bare-metal instance type ("i3.metal", "c3-standard-192-metal").
    public var bareMetalInstance: Bool
    /// Why DMI is not there, if it is not.
    public var missing: String?
    /// Whether DMI was examined at all (false for a CPUID dump, whose DMI is unknown, not absent).
    public var captured: Bool
}

/// A container this process runs in, with what showed it.
public struct ContainerFinding: Codable, Sendable, Equatable {
    public var kind: String
    public var evidence: [String]
}

/// The platform around this OS.
public struct PlatformFindings: Codable, Sendable, Equatable {
    public var dmi: DMIFindings
    /// /sys/hypervisor/type (Xen).
    public var sysHypervisorType: String?
    /// The Xen domain this OS is, when Xen shows itself (dom0 or a guest, PV, PVH or HVM).
    public var xen: XenFindings?
    /// What the kernel itself saw of the CPU (/proc/cpuinfo), when captured.
    public var kernelCPU: KernelCPUView?
    /// A sandbox that emulates the kernel interface: gVisor, WSL 1, User-Mode Linux.
    public var sandbox: String?
    /// WSL 2 (a Hyper-V utility VM).
    public var wsl2: Bool
    /// A microVM such as Firecracker: a KVM guest without DMI tables, on virtio-mmio.
    public var microVM: String?
    public var container: ContainerFinding?
    /// Whether any container marker was examined (PID 1's cgroup or environment, /.dockerenv, ...): without
    /// them "no container" is unknown.
    public var containerChecked: Bool
    /// Hypervisor names from the kernel log ("Hypervisor detected: KVM").
    public var kernelHypervisor: String?
    /// The kernel log says it runs on a nested hypervisor (Hyper-V's "running on a nested hypervisor").
    public var kernelSaysNested: Bool
    public var kernelRelease: String?
    /// The clock source the kernel uses (tsc, kvm-clock, hyperv_clocksource_tsc_page, ...).
    public var clocksource: String?
}

/// Derives platform findings from a snapshot.
public enum PlatformAnalysis {
    static let dmiFields = [
        "sys_vendor", "product_name", "product_version", "product_family", "board_vendor", "board_name",
        "bios_vendor", "bios_version", "chassis_vendor", "chassis_asset_tag",
    ]

    /// DMI strings (lower case, in any of the vendor and product fields) that only a hypervisor writes, and
    /// the platform reported. Red Hat (RHEV, oVirt, RHEL's KVM), Nutanix (AHV) and UpCloud sell no hardware:
    /// their name in DMI is their KVM's firmware.
    static let virtualDMI: [(String, String)] = [
        ("qemu", "QEMU"), ("kvm", "KVM"), ("vmware", "VMware"), ("virtualbox", "VirtualBox"),
        ("innotek", "VirtualBox"), ("xen", "Xen"), ("bochs", "Bochs"), ("parallels", "Parallels"),
        ("bhyve", "bhyve"), ("openstack", "OpenStack"), ("cloud hypervisor", "Cloud Hypervisor"),
        ("virtual machine", "Hyper-V"), ("acrn", "ACRN"), ("rhev", "RHEV (KVM)"), ("ovirt", "oVirt (KVM)"),
        ("red hat", "Red Hat KVM"), ("nutanix", "Nutanix AHV (KVM)"), ("upcloud", "UpCloud (KVM)"),
        ("apple virtualization", "Apple Virtualization"),
    ]

    /// DMI strings that name a cloud, which sells VMs and bare-metal instances under one name.
    static let cloudDMI: [(String, String)] = [
        ("amazon ec2", "Amazon EC2"), ("google compute engine", "Google Compute Engine"), ("google", "Google Cloud"),
        ("alibaba cloud", "Alibaba Cloud"), ("oraclecloud", "Oracle Cloud"), ("tencent cloud", "Tencent Cloud"),
    ]

    public static func analyse(_ snapshot: Snapshot) -> PlatformFindings {
        let log = snapshot.kernelLog.value ?? []
        let dmi = dmiFindings(snapshot)
        let release = snapshot.text("/proc/sys/kernel/osrelease")
        let version = snapshot.text("/proc/version") ?? ""
        let cpuinfo = snapshot.text("/proc/cpuinfo") ?? ""
        var sandbox: String?
        if log.contains(where: { $0.contains("Starting gVisor") }) || version.contains("gVisor") {
            sandbox = "gVisor"
        } else if let release, release.lowercased().contains("microsoft"), !release.contains("WSL2") {
            sandbox = release.contains("-standard") ? nil : "WSL 1"
        } else if cpuinfo.contains("User Mode Linux") || (snapshot.text("/proc/cmdline") ?? "").contains("ubd0=") {
            sandbox = "User-Mode Linux"
        }
        let wsl2 = release.map { $0.contains("WSL2") || $0.lowercased().contains("microsoft-standard") } ?? false
        let detected = log.lazy.compactMap { line -> String? in
            guard let range = line.firstRange(of: "Hypervisor detected:") else { return nil }
            return line[range.upperBound...].trimmed
        }.first
        let nestedLog = log.contains { $0.contains("running on a nested hypervisor") }
        let sysHypervisor = snapshot.text("/sys/hypervisor/type").flatMap { $0.isEmpty ? nil : $0 }
        let xen = XenFindings.analyse(snapshot, sysHypervisorType: sysHypervisor, log: log)
        return PlatformFindings(
            dmi: dmi, sysHypervisorType: sysHypervisor, xen: xen, kernelCPU: KernelCPUView(snapshot),
            sandbox: sandbox, wsl2: wsl2,
            microVM: xen == nil ? microVM(snapshot, dmi: dmi) : nil, container: container(snapshot),
            containerChecked: [
                "/proc/1/cgroup", "/proc/1/environ", "/.dockerenv", "/run/.containerenv", "/proc/self/status",
                "/run/host/container-manager", "/run/systemd/container",
            ]
            .contains { snapshot.file($0).isCaptured } || snapshot.directory("/proc/vz").isCaptured,
            kernelHypervisor: detected,
            kernelSaysNested: nestedLog, kernelRelease: release,
            clocksource: snapshot.text("/sys/devices/system/clocksource/clocksource0/current_clocksource"))
    }

    static func dmiFindings(_ snapshot: Snapshot) -> DMIFindings {
        var fields: [String: String] = [:]
        for name in dmiFields {
            if let value = snapshot.text("/sys/class/dmi/id/\(name)"), !value.isEmpty { fields[name] = value }
        }
        var missing: String?
        if fields.isEmpty {
            switch snapshot.directory("/sys/class/dmi/id") {
            case .unavailable(.absent, _):
                missing =
                    "/sys/class/dmi/id does not exist: the firmware gave no SMBIOS/DMI tables "
                    + "(microVMs such as Firecracker have none)"
            case .unavailable(.notCaptured, let detail):
                missing = "unknown: DMI was not captured (\(detail))"
            case .unavailable(let reason, let detail):
                missing = "\(reason.rawValue): \(detail)"
            case .available:
                missing = "DMI fields unreadable or empty"
            }
        }
        let names = ["sys_vendor", "product_name", "product_family", "bios_vendor", "board_vendor"]
            .compactMap { fields[$0]?.lowercased() }
        let platform = virtualDMI.first { rule in names.contains { $0.contains(rule.0) } }?.1
        let cloud = cloudDMI.first { rule in names.contains { $0.contains(rule.0) } }?.1
        let product = fields["product_name"]?.lowercased() ?? ""
        // AWS: "i3.metal", "m7i.metal-24xl"; Google: "c3-standard-192-metal"; Alibaba: "ecs.ebm…" (elastic bare metal).
        let metal = product.contains(".metal") || product.hasSuffix("-metal") || product.contains(".ebm")
        let captured = snapshot.directory("/sys/class/dmi/id").isCaptured || !fields.isEmpty
        return DMIFindings(
            fields: fields, virtualPlatform: platform, cloud: cloud, bareMetalInstance: cloud != nil && metal,
            missing: missing, captured: captured)
    }

    static func microVM(_ snapshot: Snapshot, dmi: DMIFindings, machine: MachineEvidence = MachineEvidence()) -> String?
    {
        let cmdline = snapshot.text("/proc/cmdline") ?? ""
        // Firecracker is named by its ACPI tables (root only), its PCI bus (8086:0d57, which Cloud Hypervisor
        // shares, with virtio functions) and, when its init put it there, the command line; each source is said.
        let acpi = machine.firmware?.acpiVMM == "Firecracker"
        let virtual = machine.devices?.virtualFunctions ?? []
        let bridge = virtual.contains { $0.vendor == 0x8086 && $0.device == 0x0D57 }
        let virtio = virtual.filter { $0.vendor == 0x1AF4 }.count
        let named = cmdline.contains("firecracker")
        if acpi || (named && bridge) {
            var sources: [String] = []
            if acpi { sources.append("ACPI \(machine.firmware?.acpiBasis ?? "")") }
            if bridge {
                sources.append(
                    "PCI: the virtual host bridge 8086:0d57" + (virtio > 0 ? " and \(virtio) virtio functions" : ""))
            }
            if !acpi, let missing = machine.firmware?.acpiMissing { sources.append("ACPI \(missing)") }
            if named { sources.append((acpi ? "also " : "") + "named on the kernel command line") }
            return "Firecracker (" + sources.joined(separator: "; ") + ")"
        }
        if named { return "Firecracker (named on the kernel command line)" }
        if bridge && dmi.fields.isEmpty {
            return
                "Firecracker or Cloud Hypervisor (PCI: the virtual host bridge 8086:0d57 and \(virtio) virtio functions, no DMI)"
        }
        guard dmi.fields.isEmpty, dmi.missing?.hasPrefix("/sys/class/dmi/id does not exist") == true else {
            return nil
        }
        if cmdline.contains("virtio_mmio.device=") {
            return "a microVM (no DMI tables, virtio-mmio devices on the command line: Firecracker-style)"
        }
        return "a microVM or minimal VMM (no DMI tables)"
    }

    static func container(_ snapshot: Snapshot) -> ContainerFinding? {
        var evidence: [String] = []
        var kind: String?
        if snapshot.file("/.dockerenv").value != nil {
            kind = "docker"
            evidence.append("/.dockerenv exists")
        }
        if snapshot.file("/run/.containerenv").value != nil {
            kind = kind ?? "podman"
            evidence.append("/run/.containerenv exists")
        }
        // The container manager's own files (systemd's detect_container reads them first): the manager writes its
        // name to /run/host/container-manager, and systemd copies PID 1's container= to /run/systemd/container.
        for path in ["/run/host/container-manager", "/run/systemd/container"] {
            if let name = snapshot.text(path), !name.isEmpty, !name.contains("\n"), name.count <= 64 {
                kind = kind ?? name
                evidence.append("\(path) says \(name)")
            }
        }
        // OpenVZ/Virtuozzo: /proc/vz exists in its containers and on its hosts, /proc/bc only on hosts (systemd).
        if snapshot.directory("/proc/vz").value != nil, case .unavailable(.absent, _) = snapshot.directory("/proc/bc") {
            kind = kind ?? "openvz"
            evidence.append("/proc/vz exists without /proc/bc (an OpenVZ container, not its host)")
        }
        if let environ = snapshot.text("/proc/1/environ") {
            for entry in environ.split(whereSeparator: { $0 == "\0" || $0 == "\n" }) where entry.hasPrefix("container=")
            {
                kind = kind ?? String(entry.dropFirst("container=".count))
                evidence.append("PID 1 environment has \(entry)")
            }
        }
        // Linux-VServer: the kernel adds "VxID:" to /proc/self/status; 0 is the host context (virt-what).
        if let status = snapshot.text("/proc/self/status") {
            for line in status.split(separator: "\n") where line.hasPrefix("VxID:") {
                let context = line.dropFirst("VxID:".count).trimmed
                if context != "0" && !context.isEmpty {
                    kind = kind ?? "linux-vserver"
                    evidence.append("/proc/self/status has VxID \(context) (a Linux-VServer guest context)")
                }
            }
        }
        if let cgroup = snapshot.text("/proc/1/cgroup") {
            for (marker, name) in [
                ("kubepods", "kubernetes"), ("docker", "docker"), ("lxc", "lxc"),
                ("libpod", "podman"), ("containerd", "containerd"),
            ] where cgroup.contains(marker) {
                kind = kind ?? name
                evidence.append("/proc/1/cgroup mentions \(marker)")
            }
        }
        guard let kind else { return nil }
        return ContainerFinding(kind: kind, evidence: evidence)
    }
}
