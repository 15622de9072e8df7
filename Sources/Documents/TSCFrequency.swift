// The TSC frequency a snapshot or bench report converts cycles with, and where it came from; decoding
// refuses a frequency no TSC has.

/// The TSC frequency and its source.
public struct TSCFrequency: Codable, Sendable, Equatable {
    /// Where a frequency was read or how it was measured, in the order of trust.
    public enum Source: String, Codable, Sendable {
        /// CPUID 0x15 (TSC/crystal ratio times the crystal clock, Intel SDM vol. 3 §19.7.3).
        case cpuid15 = "cpuid-0x15"
        /// CPUID 0x4000_0010 EAX, the hypervisor timing leaf (VMware, and KVM when configured).
        case hypervisorLeaf = "cpuid-0x40000010"
        /// The kernel's calibrated value (dmesg "tsc: Refined TSC clocksource calibration" or tsc_khz).
        case kernel
        /// Measured here against CLOCK_MONOTONIC_RAW.
        case calibration
        /// KVM_GET_TSC_KHZ of a vCPU.
        case kvmGetTSCkHz = "kvm-get-tsc-khz"
    }

    /// Hertz.
    public var hz: Double
    /// Where it came from.
    public var source: Source
    /// How it was derived, in words.
    public var detail: String

    /// Every field, as a document holds it.
    public init(hz: Double, source: Source, detail: String) {
        self.hz = hz
        self.source = source
        self.detail = detail
    }

    private enum CodingKeys: String, CodingKey { case hz, source, detail }

    /// Decodes and refuses a frequency no TSC has (outside 1 MHz…100 GHz, or not a number), so that a
    /// crafted snapshot cannot turn cycles into infinite nanoseconds.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let hz = try c.decode(Double.self, forKey: .hz)
        guard hz.isFinite, hz >= 1e6, hz <= 1e11 else {
            throw DecodingError.dataCorruptedError(
                forKey: .hz, in: c, debugDescription: "a TSC frequency must lie between 1 MHz and 100 GHz, not \(hz) Hz"
            )
        }
        self.init(
            hz: hz, source: try c.decode(Source.self, forKey: .source),
            detail: try c.decode(String.self, forKey: .detail))
    }
}
