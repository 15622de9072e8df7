// MSRReader: model-specific registers through /dev/cpu/N/msr, read-only.
//
// The msr driver maps a pread at offset INDEX to RDMSR INDEX on CPU N; EIO means the CPU raised #GP
// (the MSR does not exist here). nestprobe never writes an MSR and never loads the msr module.

/// An MSR worth reading for virtualization, with the vendor it belongs to.
public struct MSRDefinition: Sendable, Equatable {
    public enum Vendor: String, Sendable { case intel, amd, any }
    public var index: UInt32
    public var name: String
    public var vendor: Vendor

    public init(_ index: UInt32, _ name: String, _ vendor: Vendor) {
        self.index = index
        self.name = name
        self.vendor = vendor
    }

    /// Intel SDM vol. 4 (IA32_FEATURE_CONTROL, the VMX capability MSRs) and AMD APM vol. 2 §15.30 (VM_CR).
    public static let catalogue: [MSRDefinition] = [
        MSRDefinition(0x3A, "IA32_FEATURE_CONTROL", .intel),
        MSRDefinition(0x480, "IA32_VMX_BASIC", .intel),
        MSRDefinition(0x481, "IA32_VMX_PINBASED_CTLS", .intel),
        MSRDefinition(0x482, "IA32_VMX_PROCBASED_CTLS", .intel),
        MSRDefinition(0x483, "IA32_VMX_EXIT_CTLS", .intel),
        MSRDefinition(0x484, "IA32_VMX_ENTRY_CTLS", .intel),
        MSRDefinition(0x485, "IA32_VMX_MISC", .intel),
        MSRDefinition(0x48B, "IA32_VMX_PROCBASED_CTLS2", .intel),
        MSRDefinition(0x48C, "IA32_VMX_EPT_VPID_CAP", .intel),
        MSRDefinition(0x491, "IA32_VMX_VMFUNC", .intel),
        MSRDefinition(0xC000_0080, "EFER", .any),
        MSRDefinition(0xC001_0114, "VM_CR", .amd),
        MSRDefinition(0xC001_0117, "VM_HSAVE_PA", .amd),
        // APM vol. 2 §15.34.10: which of SEV, SEV-ES and SEV-SNP are active in this guest (0 on a host).
        MSRDefinition(0xC001_0131, "SEV_STATUS", .amd),
    ]
}

/// Reads MSRs of one CPU through the msr driver.
public struct MSRReader: Sendable {
    public var reader: SystemReader
    public var cpu: Int

    public init(reader: SystemReader = SystemReader(), cpu: Int = 0) {
        self.reader = reader
        self.cpu = cpu
    }

    /// The device path for this CPU.
    public var devicePath: String { "/dev/cpu/\(cpu)/msr" }

    /// Reads the catalogue's MSRs for `vendor`; unavailable as a whole when the device cannot be opened.
    public func readCatalogue(vendor: MSRDefinition.Vendor) -> Fact<[MSRReading]> {
        let wanted = MSRDefinition.catalogue.filter { $0.vendor == .any || $0.vendor == vendor || vendor == .any }
        guard reader.exists(devicePath) else {
            return .unavailable(
                .absent,
                "\(devicePath) does not exist: the msr driver is not loaded (nestprobe never loads it; "
                    + "`modprobe msr` as root would)")
        }
        var readings: [MSRReading] = []
        for definition in wanted {
            let value = read(definition.index)
            if case .unavailable(let reason, let detail) = value, reason == .permissionDenied || reason == .absent {
                return .unavailable(
                    reason,
                    reason == .permissionDenied
                        ? "\(detail); reading MSRs needs root (CAP_SYS_RAWIO)" : detail)
            }
            readings.append(MSRReading(cpu: cpu, index: definition.index, name: definition.name, value: value))
        }
        return .available(readings)
    }

    /// One MSR: its value, or why it could not be read (EIO: the CPU does not implement it).
    public func read(_ index: UInt32) -> Fact<UInt64Hex> {
        switch reader.readBytes(devicePath, at: Int64(index), count: 8) {
        case .available(let bytes):
            var value: UInt64 = 0
            for (i, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
            return .available(UInt64Hex(value))
        case .unavailable(let reason, let detail):
            if reason == .unsupported {
                return .unavailable(.unsupported, "RDMSR \(HexWord.format32(index)) faulted (#GP): \(detail)")
            }
            return .unavailable(reason, detail)
        }
    }
}
