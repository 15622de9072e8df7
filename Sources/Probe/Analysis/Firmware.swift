// Firmware: what the ACPI table headers, the SMBIOS "virtual machine" bit and QEMU's fw_cfg device say
// about the machine around this OS (issue 16).
//
// Every VMM that builds its own ACPI tables signs them: the OEM ID, OEM table ID and creator ID of the
// 36-byte header (ACPI 6.5 §5.2.6) name it ("FIRECK"/"FCAT" for Firecracker, "BOCHS "/"BXPC" for QEMU,
// "VRTUAL"/"MICROSFT" for Hyper-V, ...). The header's fields are compared, never the table's body, so a DSDT
// that merely mentions a name does not count. SMBIOS 2.4+ BIOS Characteristics Extension Byte 2 bit 4 (DSP0134
// §7.1.2.2) is a documented "this is a virtual machine" bit, graded like the CPUID hypervisor bit.

/// The 36-byte header every ACPI system description table starts with (ACPI 6.5 §5.2.6).
public struct ACPITableHeader: Codable, Sendable, Equatable {
    /// Bytes in a header; the capture keeps no more of a table than this.
    public static let size = 36

    /// Table signature ("DSDT", "FACP", "APIC", ...).
    public var signature: String
    /// Length of the whole table in bytes, header included.
    public var length: UInt32
    public var revision: UInt8
    /// OEM ID (6 characters, trailing spaces removed).
    public var oemID: String
    /// OEM table ID (8 characters, trailing spaces removed).
    public var oemTableID: String
    public var oemRevision: UInt32
    /// Creator ID: the vendor of the tool that built the table (4 characters, trailing spaces removed).
    public var creatorID: String
    public var creatorRevision: UInt32

    /// Parses a header; nil when fewer than 36 bytes are given.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        func text(_ range: Range<Int>) -> String {
            let scalars = bytes[range].map { $0 >= 0x20 && $0 < 0x7f ? Character(Unicode.Scalar($0)) : " " }
            return String(scalars).trimmingTrailingSpaces
        }
        func word(_ at: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << UInt32(8 * $1) }
        }
        signature = text(0..<4)
        length = word(4)
        revision = bytes[8]
        oemID = text(10..<16)
        oemTableID = text(16..<24)
        oemRevision = word(24)
        creatorID = text(28..<32)
        creatorRevision = word(32)
    }
}

/// What the firmware says.
public struct FirmwareFindings: Codable, Sendable, Equatable {
    /// The ACPI table headers read, by table file name.
    public var acpiTables: [String: ACPITableHeader]
    /// Why the ACPI tables could not be read ("unknown, needs root"), nil when they were or were not captured.
    public var acpiMissing: String?
    /// The VMM the ACPI headers name, nil when none does.
    public var acpiVMM: String?
    /// The header fields that named it ("OEM ID FIRECK, creator FCAT in DSDT, FACP").
    public var acpiBasis: String?
    /// A cloud the ACPI headers name (its VMs and its bare-metal instances alike), nil when none does.
    public var acpiCloud: String?
    /// SMBIOS BIOS Characteristics Extension Byte 2 bit 4: true set, false clear, nil unknown.
    public var smbiosVMBit: Bool?
    /// How the SMBIOS bit was read, or why it is unknown.
    public var smbiosDetail: String?
    /// Whether /sys/firmware/qemu_fw_cfg exists: nil when not captured.
    public var fwCfg: Bool?
}

/// Derives firmware findings from a snapshot.
public enum FirmwareAnalysis {
    /// A header rule: the field it reads, the value (exact, or a prefix when it ends in "*"), the VMM named.
    struct Rule {
        enum Field: String { case oemID = "OEM ID", oemTableID = "OEM table ID", creatorID = "creator ID" }
        var field: Field
        var value: String
        var vmm: String

        func matches(_ header: ACPITableHeader) -> Bool {
            let seen: String
            switch field {
            case .oemID: seen = header.oemID
            case .oemTableID: seen = header.oemTableID
            case .creatorID: seen = header.creatorID
            }
            return value.hasSuffix("*") ? seen.hasPrefix(String(value.dropLast())) : seen == value
        }
    }

    /// Header values only a VMM's table builder writes, from each VMM's source or its guests' boot logs
    /// ("ACPI: DSDT ... (v02 BOCHS  BXPC ...)"). Creator IDs such as "MSFT" or "INTL" are compilers that real
    /// firmware uses too, so they name nothing here.
    static let vmmRules: [Rule] = [
        Rule(field: .oemID, value: "FIRECK", vmm: "Firecracker"),
        Rule(field: .creatorID, value: "FCAT", vmm: "Firecracker"),
        Rule(field: .oemID, value: "CLOUDH", vmm: "Cloud Hypervisor"),
        Rule(field: .creatorID, value: "RVAT", vmm: "Cloud Hypervisor"),
        Rule(field: .oemID, value: "BOCHS", vmm: "QEMU"), Rule(field: .creatorID, value: "BXPC", vmm: "QEMU"),
        Rule(field: .oemTableID, value: "BXPC*", vmm: "QEMU"),
        Rule(field: .oemID, value: "VMWARE", vmm: "VMware"), Rule(field: .creatorID, value: "VMW", vmm: "VMware"),
        Rule(field: .oemID, value: "VRTUAL", vmm: "Hyper-V"),
        Rule(field: .oemTableID, value: "MICROSFT", vmm: "Hyper-V"),
        Rule(field: .oemID, value: "Xen", vmm: "Xen HVM"), Rule(field: .creatorID, value: "HVML", vmm: "Xen HVM"),
        Rule(field: .oemID, value: "VBOX", vmm: "VirtualBox"),
        Rule(field: .oemTableID, value: "VBOX*", vmm: "VirtualBox"),
        Rule(field: .oemID, value: "PRLS", vmm: "Parallels"), Rule(field: .oemID, value: "BHYVE", vmm: "bhyve"),
        Rule(field: .oemID, value: "LIBKRN", vmm: "libkrun"),
    ]

    /// Header values of clouds, whose firmware signs VMs and bare-metal instances alike.
    static let cloudRules: [Rule] = [
        Rule(field: .oemID, value: "AMAZON", vmm: "Amazon EC2"),
        Rule(field: .oemID, value: "Google", vmm: "Google Cloud"),
        Rule(field: .oemID, value: "GOOGLE", vmm: "Google Cloud"),
    ]

    public static func analyse(_ snapshot: Snapshot) -> FirmwareFindings {
        var tables: [String: ACPITableHeader] = [:]
        var missing: String?
        let folder = LiveCapture.acpiTablesFolder
        switch snapshot.directory(folder) {
        case .available(let names):
            var denied: [String] = []
            for name in names {
                switch snapshot.file("\(folder)/\(name)") {
                case .available(let hex):
                    if let header = ACPITableHeader(bytes(hex: hex)) { tables[name] = header }
                case .unavailable(.permissionDenied, _):
                    denied.append(name)
                case .unavailable:
                    break
                }
            }
            if tables.isEmpty && !denied.isEmpty {
                missing =
                    "unknown, needs root: \(folder)/* are readable by root only (\(denied.count) tables: "
                    + denied.prefix(6).joined(separator: ", ") + (denied.count > 6 ? ", …" : "") + ")"
            }
        case .unavailable(.notCaptured, _):
            break
        case .unavailable(.absent, _):
            missing = "unknown, absent: \(folder) does not exist (no ACPI, or a kernel without it)"
        case .unavailable(let reason, let detail):
            missing = "unknown (\(reason.rawValue)): \(detail)"
        }
        let named = name(tables, rules: vmmRules)
        let cloud = name(tables, rules: cloudRules)
        let (bit, bitDetail) = smbiosBit(snapshot.file(LiveCapture.smbiosType0Path))
        var fwCfg: Bool?
        switch snapshot.directory(LiveCapture.fwCfgFolder) {
        case .available: fwCfg = true
        case .unavailable(.absent, _): fwCfg = false
        default: fwCfg = nil
        }
        return FirmwareFindings(
            acpiTables: tables, acpiMissing: missing, acpiVMM: named?.name, acpiBasis: named?.basis,
            acpiCloud: cloud?.name, smbiosVMBit: bit, smbiosDetail: bitDetail, fwCfg: fwCfg)
    }

    /// The first VMM the rules find, with every header field that named it.
    static func name(_ tables: [String: ACPITableHeader], rules: [Rule]) -> (name: String, basis: String)? {
        var hits: [String: [String: Set<String>]] = [:]  // vmm → "field value" → tables
        var order: [String] = []
        for (table, header) in tables.sorted(by: { $0.key < $1.key }) {
            for rule in rules where rule.matches(header) {
                // A prefix rule is reported once, as the prefix ("BXPC…"), not once per table.
                let seen: String
                switch rule.field {
                case _ where rule.value.hasSuffix("*"): seen = rule.value.dropLast() + "…"
                case .oemID: seen = header.oemID
                case .oemTableID: seen = header.oemTableID
                case .creatorID: seen = header.creatorID
                }
                if hits[rule.vmm] == nil { order.append(rule.vmm) }
                hits[rule.vmm, default: [:]]["\(rule.field.rawValue) \(seen)", default: []].insert(table)
            }
        }
        // The VMM most tables name; ties go to the first seen.
        guard
            let best = order.max(by: { a, b in
                (hits[a]?.values.map(\.count).max() ?? 0) < (hits[b]?.values.map(\.count).max() ?? 0)
            }), let fields = hits[best]
        else { return nil }
        let basis = fields.sorted { $0.key < $1.key }.map { field, names in
            "\(field) in \(names.sorted().joined(separator: ", "))"
        }.joined(separator: "; ")
        return (best, basis)
    }

    /// SMBIOS type 0: byte 1 is the formatted length; Extension Byte 2 is at offset 0x13 when the length is at
    /// least 0x14 (SMBIOS 2.4+), and its bit 4 says "this is a virtual machine".
    static func smbiosBit(_ fact: Fact<String>) -> (Bool?, String?) {
        switch fact {
        case .available(let hex):
            let raw = bytes(hex: hex)
            guard raw.count >= 2, raw[0] == 0 else {
                return (nil, "unknown: \(LiveCapture.smbiosType0Path) is not an SMBIOS type 0 structure")
            }
            guard raw[1] >= 0x14, raw.count > 0x13 else {
                return (
                    nil,
                    "unknown: the BIOS Information structure is \(raw[1]) bytes, too short for Extension Byte 2 "
                        + "(SMBIOS before 2.4)"
                )
            }
            let set = raw[0x13] & (1 << 4) != 0
            return (
                set,
                "BIOS Characteristics Extension Byte 2 = 0x\(String(raw[0x13], radix: 16)): bit 4 "
                    + (set ? "set (a virtual machine)" : "clear")
            )
        case .unavailable(.notCaptured, _):
            return (nil, nil)
        case .unavailable(.permissionDenied, _):
            return (nil, "unknown, needs root: \(LiveCapture.smbiosType0Path) is readable by root only")
        case .unavailable(.absent, _):
            return (nil, "unknown, absent: no SMBIOS type 0 entry (no SMBIOS tables, as in microVMs)")
        case .unavailable(let reason, let detail):
            return (nil, "unknown (\(reason.rawValue)): \(detail)")
        }
    }

    /// Bytes from the capture's hex text; stops at the first character that is not a hex digit pair.
    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for scalar in hex.unicodeScalars {
            guard let digit = UInt8(String(scalar), radix: 16) else { break }
            if let h = high {
                out.append(h << 4 | digit)
                high = nil
            } else {
                high = digit
            }
        }
        return out
    }
}

extension String {
    /// The text with trailing spaces removed.
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
