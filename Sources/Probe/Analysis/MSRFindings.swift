// MSRFindings: what the virtualization MSRs say, decoded (Intel SDM vol. 3D appendix A; vol. 4 §2.1;
// AMD APM vol. 2 §15.30.1).

/// Decoded virtualization MSRs.
public struct MSRFindings: Sendable, Equatable {
    /// A firmware lock that keeps VMX or SVM off, in words; nil when none is seen.
    public var firmwareLock: String?
    /// VMX features the capability MSRs allow (EPT, VPID, unrestricted guest, VMCS shadowing, ...).
    public var vmxFeatures: [String]
    /// Each MSR read, in words.
    public var decoded: [String]

    public init(_ readings: [MSRReading]) {
        var lock: String?
        var features: [String] = []
        var decoded: [String] = []
        for reading in readings {
            guard let value = reading.value.value?.value else {
                decoded.append("\(reading.name): \(reading.value.missing?.detail ?? "unreadable")")
                continue
            }
            switch reading.index {
            case 0x3A:
                let locked = value & 1 != 0
                let vmxOutsideSMX = value & (1 << 2) != 0
                decoded.append(
                    "IA32_FEATURE_CONTROL \(HexWord.format64(value)): lock=\(locked ? 1 : 0), "
                        + "VMX outside SMX=\(vmxOutsideSMX ? 1 : 0)")
                if locked && !vmxOutsideSMX {
                    lock =
                        "IA32_FEATURE_CONTROL is locked with VMX disabled (bit 0 = 1, bit 2 = 0): the firmware turned VT-x off"
                }
            case 0x480:
                let revision = value & 0x7fff_ffff
                let size = (value >> 32) & 0x1fff
                let trueControls = value & (1 << 55) != 0
                decoded.append(
                    "IA32_VMX_BASIC \(HexWord.format64(value)): VMCS revision \(revision), region \(size) bytes, "
                        + "true controls \(trueControls ? "yes" : "no")")
            case 0x48B:
                let allowed = value >> 32
                let names: [(Int, String)] = [
                    (1, "EPT"), (5, "VPID"), (7, "unrestricted guest"), (8, "APIC-register virtualization"),
                    (9, "virtual-interrupt delivery"), (13, "VM functions"), (14, "VMCS shadowing"), (17, "PML"),
                    (20, "XSAVES"), (25, "TSC scaling"),
                ]
                features += names.filter { allowed & (1 << UInt64($0.0)) != 0 }.map(\.1)
                decoded.append("IA32_VMX_PROCBASED_CTLS2 allowed-1 \(HexWord.format32(UInt32(allowed)))")
            case 0xC001_0114:
                let locked = value & (1 << 3) != 0
                let disabled = value & (1 << 4) != 0
                decoded.append(
                    "VM_CR \(HexWord.format64(value)): LOCK=\(locked ? 1 : 0), SVMDIS=\(disabled ? 1 : 0)")
                if disabled {
                    lock = "VM_CR.SVMDIS = 1\(locked ? " and VM_CR.LOCK = 1" : ""): the firmware turned SVM off"
                }
            case 0xC000_0080:
                decoded.append(
                    "EFER \(HexWord.format64(value)): SVME=\(value & (1 << 12) != 0 ? 1 : 0), "
                        + "LMA=\(value & (1 << 10) != 0 ? 1 : 0)")
            default:
                decoded.append("\(reading.name) \(HexWord.format64(value))")
            }
        }
        self.firmwareLock = lock
        self.vmxFeatures = features
        self.decoded = decoded
    }
}
