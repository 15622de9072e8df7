// LevelEstimate+Devices: the firmware, device and confidential-guest evidence, and where the sources
// disagree (issue 16).
//
// Documented bits (the SMBIOS "virtual machine" bit, a proven confidential guest) and tables that only a VMM
// signs (ACPI headers, as DMI strings already do) feed the lower bound; devices and network cards, which
// passthrough, vDPA silicon and software-chosen addresses can fake or hide, only shift the shares.

/// The firmware, device and confidential-guest findings the estimate reads.
public struct MachineEvidence: Sendable, Equatable {
    public var firmware: FirmwareFindings?
    public var devices: DeviceFindings?
    public var confidential: ConfidentialFindings?
    /// CPUID's and the kernel's CPU topology and where they disagree.
    public var topology: TopologyFindings?
    /// The temperature sensors the kernel offers.
    public var sensors: SensorFindings?

    public init(
        firmware: FirmwareFindings? = nil, devices: DeviceFindings? = nil, confidential: ConfidentialFindings? = nil,
        topology: TopologyFindings? = nil, sensors: SensorFindings? = nil
    ) {
        self.firmware = firmware
        self.devices = devices
        self.confidential = confidential
        self.topology = topology
        self.sensors = sensors
    }

    /// The VMM the firmware and the emulated devices name, with the sources, for the "Runs on" line.
    public var vmmNamed: (name: String, basis: [String])? {
        var basis: [String] = []
        var name: String?
        if let vmm = firmware?.acpiVMM {
            name = vmm
            basis.append("ACPI \(firmware?.acpiBasis ?? "")")
        }
        if let devices, !devices.virtualFunctions.isEmpty {
            let counts = Dictionary(grouping: devices.virtualFunctions, by: { $0.platform ?? "" })
                .sorted { $0.key < $1.key }
                .map { platform, functions in
                    "\(functions.count) \(platform) (\(Set(functions.map(DeviceAnalysis.ids)).sorted().joined(separator: ", ")))"
                }
            basis.append("PCI: " + counts.joined(separator: "; "))
            if name == nil, let emulated = devices.emulatedPlatform { name = emulated }
        }
        if firmware?.fwCfg == true {
            name = name ?? "QEMU"
            basis.append("QEMU fw_cfg device")
        }
        guard let name else { return nil }
        return (name, basis)
    }
}

extension LevelAnalysis {
    /// Evidence from the firmware, the PCI functions, the network cards and confidential computing.
    static func machineEvidence(_ machine: MachineEvidence, root: Bool) -> [Evidence] {
        var evidence: [Evidence] = []
        if let firmware = machine.firmware {
            evidence += firmwareEvidence(firmware, root: root)
        }
        if let devices = machine.devices {
            evidence += deviceEvidence(devices, root: root)
        }
        evidence += topologyEvidence(machine)
        if let confidential = machine.confidential {
            if let guest = confidential.guest {
                evidence.append(
                    Evidence(
                        "confidential.guest", source: "SEV/TDX guest state",
                        observation: "\(guest): " + confidential.proof.joined(separator: "; "),
                        l0: -10, l1: 3, l2: -3,
                        note:
                            "a confidential guest runs on the hypervisor that owns the CPU's memory encryption, so a VM "
                            + "is below and, unless a paravisor runs inside the same guest (Azure's VMPL0 or TD partitioning), "
                            + "only that one"))
            } else {
                evidence.append(
                    Evidence(
                        "confidential.capability", source: "CPUID 0x8000001F, /proc/cpuinfo, /dev",
                        observation: confidential.capability.joined(separator: "; "), l0: 0, l1: 0, l2: 0,
                        note:
                            "discounted: these say the CPU can run confidential guests, which hosts show too; no guest state is active"
                    ))
            }
        }
        return evidence
    }

    static func firmwareEvidence(_ firmware: FirmwareFindings, root: Bool) -> [Evidence] {
        var evidence: [Evidence] = []
        let source = "/sys/firmware/acpi/tables headers"
        if let vmm = firmware.acpiVMM {
            evidence.append(
                Evidence(
                    "acpi.vmm", source: source, observation: "signed by \(vmm): \(firmware.acpiBasis ?? "")",
                    l0: root ? 0 : -3, l1: 0.5, l2: 0,
                    note: "the ACPI tables are built by a VMM, which writes its name in every header"))
        } else if let cloud = firmware.acpiCloud {
            evidence.append(
                Evidence(
                    "acpi.cloud", source: source, observation: "signed by \(cloud)",
                    l0: -0.5, l1: 0.3, l2: 0,
                    note:
                        "a cloud's firmware signs its VMs and its bare-metal instances alike, so it leans to a VM without proving one"
                ))
        } else if !firmware.acpiTables.isEmpty {
            let oems = Set(firmware.acpiTables.values.map(\.oemID)).sorted().joined(separator: ", ")
            evidence.append(
                Evidence(
                    "acpi.physical", source: source,
                    observation: "\(firmware.acpiTables.count) tables, OEM \(oems)", l0: 0.5, l1: -0.3, l2: -0.3,
                    note:
                        "no VMM's signature; a VMM that copies host tables or signs as a vendor would escape this, so weak"
                ))
        } else if let missing = firmware.acpiMissing {
            evidence.append(
                Evidence(
                    "acpi.unknown", source: source, observation: "unknown", l0: 0, l1: 0, l2: 0,
                    note: missing))
        }
        switch firmware.smbiosVMBit {
        case true?:
            evidence.append(
                Evidence(
                    "smbios.vm-bit", source: "SMBIOS type 0, Extension Byte 2 bit 4",
                    observation: "set", l0: root ? 0 : -8, l1: 0, l2: 0,
                    note: "the firmware declares a virtual machine (DSP0134 §7.1.2.2): a hypervisor runs below this OS")
            )
        case false?:
            evidence.append(
                Evidence(
                    "smbios.vm-bit", source: "SMBIOS type 0, Extension Byte 2 bit 4",
                    observation: "clear", l0: 0, l1: 0, l2: 0,
                    note: "discounted: many VMMs leave it clear (QEMU with SeaBIOS), so clear does not mean bare metal")
            )
        case nil:
            if let detail = firmware.smbiosDetail {
                evidence.append(
                    Evidence(
                        "smbios.vm-bit", source: "SMBIOS type 0, Extension Byte 2 bit 4",
                        observation: "unknown", l0: 0, l1: 0, l2: 0, note: detail))
            }
        }
        if firmware.fwCfg == true {
            evidence.append(
                Evidence(
                    "qemu.fw-cfg", source: "/sys/firmware/qemu_fw_cfg", observation: "present",
                    l0: root ? 0 : -3, l1: 0.5, l2: 0,
                    note: "QEMU's firmware configuration device exists only in QEMU machines"))
        }
        return evidence
    }

    static func deviceEvidence(_ devices: DeviceFindings, root: Bool) -> [Evidence] {
        var evidence: [Evidence] = []
        let virtual = devices.virtualFunctions
        let emulated = virtual.filter { $0.grade == "emulated" }
        let paravirtual = virtual.filter { $0.grade == "paravirtual" }
        func listed(_ functions: [PCIFunction]) -> String {
            let groups = Dictionary(grouping: functions, by: { $0.platform ?? "" }).sorted { $0.key < $1.key }
            return groups.map { "\($0.value.count) \($0.key)" }.joined(separator: ", ")
        }
        if let pci = devices.pci {
            if !emulated.isEmpty {
                evidence.append(
                    Evidence(
                        "pci.emulated", source: "/sys/bus/pci/devices IDs",
                        observation: listed(emulated) + (paravirtual.isEmpty ? "" : "; also \(listed(paravirtual))"),
                        l0: root ? 0 : -3, l1: 0.5, l2: 0,
                        note:
                            "devices that exist only as a VMM's emulation; a passed-through function cannot be one of them"
                    ))
            } else if !paravirtual.isEmpty {
                evidence.append(
                    Evidence(
                        "pci.paravirtual", source: "/sys/bus/pci/devices IDs", observation: listed(paravirtual),
                        l0: root ? 0 : -1, l1: 0.3, l2: 0,
                        note:
                            "paravirtual devices are mostly a VM's, but vDPA SmartNICs build virtio in silicon and Azure "
                            + "passes its MANA card through, so weak"))
            } else if virtual.contains(where: { $0.grade == "cloud" }) {
                evidence.append(
                    Evidence(
                        "pci.cloud", source: "/sys/bus/pci/devices IDs",
                        observation: listed(virtual), l0: 0, l1: 0, l2: 0,
                        note: "discounted: a cloud's own cards (Nitro) sit in its bare-metal instances as in its VMs"))
            } else if !pci.isEmpty {
                evidence.append(
                    Evidence(
                        "pci.physical", source: "/sys/bus/pci/devices IDs",
                        observation: "\(pci.count) functions, none a virtual platform's", l0: 0.3, l1: -0.2, l2: -0.2,
                        note:
                            "weak: a VMM that emulates real hardware models and passes devices through shows none either"
                    ))
            }
        } else if let missing = devices.pciMissing {
            evidence.append(
                Evidence(
                    "pci.unknown", source: "/sys/bus/pci/devices", observation: "unknown",
                    l0: 0, l1: 0, l2: 0, note: missing))
        }
        if !devices.nics.isEmpty {
            let seen = devices.nics.map { "\($0.interface) \($0.oui) (\($0.platform))" }.joined(separator: ", ")
            evidence.append(
                Evidence(
                    "nic.oui", source: "/sys/class/net/*/address", observation: seen,
                    l0: root ? 0 : -1, l1: 0.3, l2: 0,
                    note: "a virtual platform's registered OUI; anyone may set an address, so weak"))
        }
        return evidence
    }

    /// The lower bound the firmware and confidential computing prove, when they prove one.
    static func machineLowerBound(_ machine: MachineEvidence) -> (level: Level, reason: String)? {
        if let guest = machine.confidential?.guest {
            return (.l1, "a confidential guest (\(guest)) runs on a hypervisor")
        }
        if machine.firmware?.smbiosVMBit == true {
            return (.l1, "the SMBIOS \"virtual machine\" bit is set")
        }
        return nil
    }

    /// The lower bound the ACPI headers prove (graded as DMI's virtual platform), when they prove one.
    static func acpiLowerBound(_ machine: MachineEvidence) -> (level: Level, reason: String)? {
        guard let vmm = machine.firmware?.acpiVMM else { return nil }
        return (.l1, "the ACPI tables are signed by \(vmm)")
    }
}

/// Where CPUID, DMI, the ACPI tables and the devices disagree, and what each disagreement implies.
public enum SourceDisagreement {
    /// KVM-family names: the CPUID signature is KVM's (or PVM's), the firmware its VMM's.
    static let kvmVMMs: Set<String> = ["Firecracker", "Cloud Hypervisor", "QEMU", "libkrun"]

    public static func find(
        hypervisors: HypervisorFindings, platform: PlatformFindings, emulation: EmulationFinding?,
        machine: MachineEvidence
    ) -> [String] {
        var found: [String] = []
        var firmwareSays: [String] = []
        if let vmm = machine.firmware?.acpiVMM { firmwareSays.append("the ACPI tables (\(vmm))") }
        if machine.firmware?.smbiosVMBit == true { firmwareSays.append("the SMBIOS virtual-machine bit") }
        if let emulated = machine.devices?.emulatedPlatform {
            firmwareSays.append("emulated PCI devices (\(emulated))")
        }
        if machine.firmware?.fwCfg == true { firmwareSays.append("QEMU's fw_cfg device") }
        if machine.confidential?.guest != nil { firmwareSays.append("the confidential-guest state") }
        let rootDomain = LevelAnalysis.isRootDomain(hypervisors, platform)
        if emulation == nil, hypervisors.leaf1Present, !hypervisors.hypervisorBit, platform.xen == nil,
            platform.kernelCPU?.seesHypervisor != true, !firmwareSays.isEmpty, !rootDomain
        {
            found.append(
                "CPUID shows no hypervisor, but \(firmwareSays.joined(separator: ", ")) do: a hypervisor "
                    + "hiding its CPUID bit (KVM's hidden state, a hardened VMM); firmware and devices are harder to hide"
            )
        }
        if let vmm = machine.firmware?.acpiVMM, let dmi = platform.dmi.virtualPlatform,
            family(vmm) != family(dmi)
        {
            found.append(
                "the ACPI tables are \(vmm)'s but DMI names \(dmi): one set of tables was copied from "
                    + "another VMM or the host, so neither names the hypervisor alone")
        }
        if emulation == nil, let own = HypervisorIdentity.ownRange(hypervisors), own.kind != .unknown,
            let vmm = machine.firmware?.acpiVMM
        {
            let cpuidFamily = family(own.kind.rawValue)
            let interfaces: Set<HypervisorKind> = [.kvm, .hyperV, .kvmHyperVInterface]
            if cpuidFamily != family(vmm) && !interfaces.contains(own.kind) {
                found.append(
                    "CPUID names \(own.kind.rawValue) but the ACPI tables are \(vmm)'s: firmware of one VMM "
                        + "under another's hypervisor, or a VMM presenting another's interface")
            } else if cpuidFamily != family(vmm) {
                found.append(
                    "CPUID answers \"\(own.signature)\" (\(own.kind.rawValue)) but the ACPI tables are "
                        + "\(vmm)'s: \(vmm) presents that paravirtual interface, and its tables name it")
            }
        }
        if machine.firmware?.smbiosVMBit == true, platform.dmi.virtualPlatform == nil,
            let vendor = platform.dmi.fields["sys_vendor"],
            platform.dmi.cloud == nil
        {
            found.append(
                "the SMBIOS virtual-machine bit is set but DMI names \(vendor): host DMI strings passed through to a VM"
            )
        }
        return found
    }

    /// One word per hypervisor family, so a VMM and its hypervisor compare equal (Firecracker and KVM).
    static func family(_ name: String) -> String {
        let lower = name.lowercased()
        if kvmVMMs.contains(name) || lower.contains("kvm") || lower.contains("qemu") || lower.contains("pvm")
            || lower.contains("firecracker") || lower.contains("cloud hypervisor") || lower.contains("openstack")
            || lower.contains("nutanix") || lower.contains("rhev") || lower.contains("ovirt")
            || lower.contains("red hat")
        {
            return "kvm"
        }
        return HypervisorIdentity.word(platform: name)
    }
}
