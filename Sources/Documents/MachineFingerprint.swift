// MachineFingerprint: the machine a report was taken on, as far as its exits are concerned. The history
// groups its series by it and `nestprobe fleet` groups hosts by it, so both name a machine the same way;
// its short key (a SHA-256 prefix) is computed in Report, the layer that may use a hash library.

/// The machine a report was taken on, as far as its exits are concerned: what compare refuses to compare
/// across (CPU, kernel, KVM module, level, hypervisors, emulation) plus the KVM parameters.
public struct MachineFingerprint: Sendable, Equatable, Hashable {
    /// The CPU as a bench report's context names it: brand, family, model and codename.
    public var cpu: String
    /// The kernel release; "unknown" when the report lacks it.
    public var kernel: String
    /// kvm_intel, kvm_amd, kvm_pvm; "unknown" when the report lacks it.
    public var kvmModule: String
    /// The KVM module's parameters as `key=value`, sorted, comma-separated.
    public var kvmParameters: String
    /// This level (L0, L1, L2+).
    public var level: String
    /// The guests' level (this level + 1).
    public var guestLevel: String
    /// Every hypervisor kind CPUID names, comma-separated, in range order.
    public var hypervisors: String
    /// Whether an emulator (QEMU TCG) is below: then the exits say nothing about hardware.
    public var emulatedHost: Bool

    /// The fingerprint of the machine `context` describes; facts the report lacks read "unknown".
    public init(_ context: BenchContext) {
        self.init(
            cpu: context.cpu, kernel: context.kernelRelease, kvmModule: context.kvmModule,
            kvmParameters: context.kvmParameters, level: context.level, guestLevel: context.guestLevel,
            hypervisors: context.hypervisors, emulatedHost: context.emulatedHost)
    }

    /// A fingerprint from its facts, for documents other than a bench report (a diagnosis, a
    /// qualification); a fact given as nil reads "unknown".
    public init(
        cpu: String, kernel: String?, kvmModule: String?, kvmParameters: [String: String]?, level: String,
        guestLevel: String, hypervisors: [String], emulatedHost: Bool
    ) {
        self.cpu = cpu
        self.kernel = kernel ?? "unknown"
        self.kvmModule = kvmModule ?? "unknown"
        self.kvmParameters =
            kvmParameters.map { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
            ?? "unknown"
        self.level = level
        self.guestLevel = guestLevel
        self.hypervisors = hypervisors.joined(separator: ",")
        self.emulatedHost = emulatedHost
    }

    /// Every part, in a fixed order, one `name=value` a line: what the fingerprint's key is made of.
    public var canonical: String {
        [
            "cpu=\(cpu)", "kernel=\(kernel)", "kvmModule=\(kvmModule)", "kvmParameters=\(kvmParameters)",
            "level=\(level)", "guestLevel=\(guestLevel)", "hypervisors=\(hypervisors)",
            "emulatedHost=\(emulatedHost)",
        ].joined(separator: "\n")
    }

    /// One line for people: "Intel … · 6.1.0 · kvm_pvm · L1→L2".
    public var summary: String {
        "\(cpu) · \(kernel) · \(kvmModule) · \(level)→\(guestLevel)"
            + (hypervisors.isEmpty ? "" : " · under \(hypervisors)")
    }
}
