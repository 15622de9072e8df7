// DeviceCapture: the firmware tables, PCI functions, network cards and confidential-guest devices of this
// machine, read into the snapshot through the same SystemReader as every other file (issue 16).
//
// Binary sources are kept as hex text of their first bytes only, so a snapshot stays small and replays
// them byte for byte: an ACPI table's 36-byte header (ACPI 6.5 §5.2.6), the SMBIOS type 0 structure.
// Network addresses are cut to their OUI (the first three octets): the rest identifies the machine and
// says nothing of the hypervisor. Nothing here spawns a process or needs root; what root alone may read
// (ACPI tables and SMBIOS entries are mode 0400) is recorded as permission-denied, with that reason.

extension LiveCapture {
    /// Where the ACPI tables are (one file per table; `data` and `dynamic` are folders of other tables).
    static let acpiTablesFolder = "/sys/firmware/acpi/tables"
    /// The SMBIOS BIOS Information structure (type 0, first instance).
    static let smbiosType0Path = "/sys/firmware/dmi/entries/0-0/raw"
    /// QEMU's firmware configuration device, as the qemu_fw_cfg driver exposes it.
    static let fwCfgFolder = "/sys/firmware/qemu_fw_cfg"
    static let pciFolder = "/sys/bus/pci/devices"
    static let netFolder = "/sys/class/net"
    /// The files of one PCI function that identify it.
    static let pciFiles = ["vendor", "device", "subsystem_vendor", "subsystem_device", "class"]
    /// Device nodes under /dev that only confidential guests (sev-guest, tdx_guest) or SEV hosts (sev) have.
    static let confidentialDeviceNames: Set<String> = ["sev-guest", "tdx_guest", "tdx-guest", "sev"]
    /// Caps that keep a snapshot small on a machine with very many tables, functions or interfaces.
    static let maxACPITables = 64
    static let maxPCIFunctions = 256
    static let maxInterfaces = 64

    /// Reads the firmware, PCI, network and confidential-guest facts into `snapshot`.
    func captureDevices(into snapshot: inout Snapshot) {
        let tables = reader.list(Self.acpiTablesFolder).map { names in
            Array(names.filter { $0 != "data" && $0 != "dynamic" }.prefix(Self.maxACPITables))
        }
        snapshot.directories[Self.acpiTablesFolder] = tables
        for name in tables.value ?? [] {
            let path = "\(Self.acpiTablesFolder)/\(name)"
            snapshot.files[path] = reader.readBytes(path, limit: ACPITableHeader.size).map(Self.hex)
        }
        snapshot.files[Self.smbiosType0Path] = reader.readBytes(Self.smbiosType0Path, limit: 64).map(Self.hex)
        snapshot.directories[Self.fwCfgFolder] = reader.list(Self.fwCfgFolder)

        let functions = reader.list(Self.pciFolder).map { Array($0.prefix(Self.maxPCIFunctions)) }
        snapshot.directories[Self.pciFolder] = functions
        for function in functions.value ?? [] {
            for file in Self.pciFiles {
                let path = "\(Self.pciFolder)/\(function)/\(file)"
                snapshot.files[path] = reader.readText(path, limit: 64)
            }
        }

        let interfaces = reader.list(Self.netFolder).map { Array($0.prefix(Self.maxInterfaces)) }
        snapshot.directories[Self.netFolder] = interfaces
        for interface in interfaces.value ?? [] {
            let address = "\(Self.netFolder)/\(interface)/address"
            snapshot.files[address] = reader.readText(address, limit: 64).map(Self.oui)
            let assigned = "\(Self.netFolder)/\(interface)/addr_assign_type"
            snapshot.files[assigned] = reader.readText(assigned, limit: 16)
        }
        snapshot.directories["/dev"] = reader.list("/dev").map { $0.filter(Self.confidentialDeviceNames.contains) }
    }

    /// Bytes as lower-case hex, two digits each, no separator.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return text
    }

    /// The OUI of a MAC address text ("02:fc:00:00:00:01\n" → "02:fc:00"); other text is kept trimmed.
    static func oui(_ text: String) -> String {
        let octets = text.trimmed.split(separator: ":")
        guard octets.count == 6 else { return text.trimmed }
        return octets.prefix(3).joined(separator: ":")
    }
}
