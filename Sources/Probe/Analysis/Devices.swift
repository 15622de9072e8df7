// Devices: the PCI functions and network cards this OS sees, and the virtual ones among them (issue 16).
//
// PCI vendor IDs come from the PCI-SIG registry (pci.ids): an emulated device of QEMU, VMware, VirtualBox,
// Parallels or Xen exists only inside that VMM, so it leans hard towards a VM. Paravirtual devices do not:
// virtio functions are also built in silicon (vDPA SmartNICs), Hyper-V's vendor ID also marks Azure's MANA
// card passed through, and Amazon's Nitro cards sit in its bare-metal instances as well. Network addresses
// count only when universally administered (bit 1 of the first octet clear): QEMU's 52:54:00 and
// Firecracker's 02:… are locally administered, so anyone may choose them.

/// One PCI function's identity, as sysfs gives it.
public struct PCIFunction: Codable, Sendable, Equatable {
    public var address: String
    public var vendor: UInt16
    public var device: UInt16
    public var subsystemVendor: UInt16?
    public var subsystemDevice: UInt16?
    /// What the IDs name, when they are a virtual platform's ("QEMU", "virtio", ...).
    public var platform: String?
    /// How strongly the function says "VM": "emulated" (only a VMM has it), "paravirtual" (VMs mostly, some
    /// hardware too), "cloud" (a cloud's hardware, in its VMs and bare-metal instances alike).
    public var grade: String?
}

/// A network card's OUI that a virtual platform registered.
public struct NICFinding: Codable, Sendable, Equatable {
    public var interface: String
    public var oui: String
    public var platform: String
}

/// What the devices say.
public struct DeviceFindings: Codable, Sendable, Equatable {
    /// Every PCI function read; nil when the PCI bus was not captured.
    public var pci: [PCIFunction]?
    /// Why the PCI bus could not be read, when it could not.
    public var pciMissing: String?
    /// Network cards whose universally administered OUI names a virtual platform.
    public var nics: [NICFinding]
    /// Interfaces whose address is locally administered (chosen by software, so not counted).
    public var locallyAdministered: [String]
    /// Whether network interfaces were captured at all.
    public var nicsCaptured: Bool

    /// The virtual functions, strongest grade first.
    public var virtualFunctions: [PCIFunction] { (pci ?? []).filter { $0.platform != nil } }

    /// The platform the emulated functions name, if any; else nil.
    public var emulatedPlatform: String? {
        let names = virtualFunctions.filter { $0.grade == "emulated" }.compactMap(\.platform)
        return Dictionary(grouping: names, by: { $0 }).max { $0.value.count < $1.value.count }?.key
    }
}

/// Derives device findings from a snapshot.
public enum DeviceAnalysis {
    /// Vendor (and, where it matters, device) IDs of virtual platforms.
    static func classify(vendor: UInt16, device: UInt16, subsystemVendor: UInt16?, subsystemDevice: UInt16?)
        -> (platform: String, grade: String)?
    {
        switch (vendor, device) {
        case (0x8086, 0x0D57): return ("virtual PCIe host bridge (Firecracker, Cloud Hypervisor)", "emulated")
        case (0x1234, 0x1111): return ("QEMU (Bochs display)", "emulated")
        case (0x1B36, _): return ("QEMU", "emulated")
        case (0x15AD, _): return ("VMware", "emulated")
        case (0x80EE, _): return ("VirtualBox", "emulated")
        case (0x1AB8, _): return ("Parallels", "emulated")
        case (0x5853, _): return ("Xen", "emulated")
        case (0x1AF4, _): return ("virtio", "paravirtual")
        case (0x1414, _): return ("Microsoft Hyper-V", "paravirtual")
        case (0x1D0F, _): return ("Amazon (Nitro)", "cloud")
        default: break
        }
        // QEMU gives the real-hardware models it emulates (e1000, i440FX, PIIX, ...) the subsystem 1af4:1100.
        if subsystemVendor == 0x1AF4 && subsystemDevice == 0x1100 {
            return ("QEMU (emulated hardware model)", "emulated")
        }
        if subsystemVendor == 0x15AD { return ("VMware (emulated hardware model)", "emulated") }
        return nil
    }

    /// OUIs (IEEE registry) that virtual platforms hand their virtual NICs.
    static let ouis: [String: String] = [
        "00:50:56": "VMware", "00:0c:29": "VMware", "00:05:69": "VMware", "00:1c:14": "VMware",
        "08:00:27": "VirtualBox", "00:1c:42": "Parallels", "00:16:3e": "Xen", "00:15:5d": "Hyper-V",
        "00:03:ff": "Microsoft Virtual PC",
    ]

    public static func analyse(_ snapshot: Snapshot) -> DeviceFindings {
        var pci: [PCIFunction]?
        var pciMissing: String?
        switch snapshot.directory(LiveCapture.pciFolder) {
        case .available(let functions):
            pci = functions.compactMap { function(snapshot, $0) }
        case .unavailable(.notCaptured, _):
            break
        case .unavailable(.absent, _):
            pciMissing = "unknown, absent: \(LiveCapture.pciFolder) does not exist (no PCI bus: virtio-mmio microVMs)"
            pci = []
        case .unavailable(let reason, let detail):
            pciMissing = "unknown (\(reason.rawValue)): \(detail)"
        }
        var nics: [NICFinding] = []
        var local: [String] = []
        let interfaces = snapshot.directory(LiveCapture.netFolder)
        for interface in interfaces.value ?? [] {
            guard let oui = snapshot.text("\(LiveCapture.netFolder)/\(interface)/address")?.lowercased(),
                let first = UInt8(oui.prefix(2), radix: 16), oui != "00:00:00"
            else { continue }
            if first & 0x02 != 0 {
                local.append(interface)
            } else if let platform = ouis[oui] {
                nics.append(NICFinding(interface: interface, oui: oui, platform: platform))
            }
        }
        return DeviceFindings(
            pci: pci, pciMissing: pciMissing, nics: nics, locallyAdministered: local,
            nicsCaptured: interfaces.isCaptured)
    }

    static func function(_ snapshot: Snapshot, _ address: String) -> PCIFunction? {
        func id(_ file: String) -> UInt16? {
            guard let text = snapshot.text("\(LiveCapture.pciFolder)/\(address)/\(file)") else { return nil }
            return UInt16(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16)
        }
        guard let vendor = id("vendor"), let device = id("device") else { return nil }
        let subVendor = id("subsystem_vendor")
        let subDevice = id("subsystem_device")
        let named = classify(vendor: vendor, device: device, subsystemVendor: subVendor, subsystemDevice: subDevice)
        return PCIFunction(
            address: address, vendor: vendor, device: device, subsystemVendor: subVendor, subsystemDevice: subDevice,
            platform: named?.platform, grade: named?.grade)
    }

    /// "8086:0d57" for a function.
    static func ids(_ function: PCIFunction) -> String {
        hex4(function.vendor) + ":" + hex4(function.device)
    }
}

extension DeviceAnalysis {
    /// A 16-bit value as four lower-case hex digits.
    static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
