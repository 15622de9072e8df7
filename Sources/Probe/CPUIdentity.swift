// CPUIdentity: who made this CPU and what it is, decoded by libcpuid from a set of CPUID leaves.
//
// It works the same on live leaves (LiveCPUID) and on CPU 0 of a customer's dump (CPUIDDump), because it
// hands libcpuid a filled `cpu_raw_data_t` and never asks it to read the CPU: no `cpuid_get_raw_data`, no
// MSR driver (which would run modprobe). libcpuid 0.6.2 has three live dependencies this type works
// around: `cpuid_get_hypervisor` executes CPUID 0x4000_0000 on the CPU it runs on whatever raw data it is
// given (so it is only asked about live leaves), `cpu_id_t.total_logical_cpus` is this machine's
// sysconf(_SC_NPROCESSORS_ONLN) (so it is not reported), and passing NULL as its `data` argument crashes.

internal import CLibCPUID

/// A CPU's vendor, family, model, codename and feature flags, as libcpuid decodes its CPUID leaves.
public struct CPUIdentity: Sendable, Equatable, Codable {
    /// The vendors the probe tells apart.
    public enum Vendor: String, Sendable, Codable, CaseIterable {
        case intel, amd, hygon, other
    }

    /// libcpuid's guess at the hypervisor (`hypervisor_vendor_t` of libcpuid 0.6.2).
    public enum Hypervisor: String, Sendable, Codable, CaseIterable {
        case none, bhyve, hyperV = "hyper-v", kvm, parallels, qemu, virtualBox = "virtualbox", vmware, xen, unknown
    }

    /// The 12-character vendor string of leaf 0 ("AuthenticAMD", "GenuineIntel").
    public var vendorString: String
    /// The vendor, from libcpuid's reading of the vendor string.
    public var vendor: Vendor
    /// The brand string of leaves 0x8000_0002–4, leading spaces removed (what the vendor or hypervisor set).
    public var brand: String
    /// The displayed family: base family, plus the extended family when the base is 0xF (SDM vol. 2A CPUID
    /// "Processor Signature"; APM vol. 3 E.3.2).
    public var family: Int
    /// The displayed model: (extended model << 4) + base model when the base family is 6 or 0xF, else the
    /// base model.
    public var model: Int
    /// The stepping, CPUID.1:EAX[3:0].
    public var stepping: Int
    /// CPUID.1:EAX[11:8].
    public var baseFamily: Int
    /// CPUID.1:EAX[7:4].
    public var baseModel: Int
    /// CPUID.1:EAX[27:20].
    public var extendedFamily: Int
    /// CPUID.1:EAX[19:16].
    public var extendedModel: Int
    /// The codename: libcpuid's, or ours where our family/model table disagrees with it.
    public var codename: String
    /// The codename exactly as libcpuid gave it (`cpu_id_t.cpu_codename`).
    public var libcpuidCodename: String
    /// What libcpuid said and why `codename` differs from it; nil when libcpuid's name was kept.
    public var codenameCorrection: String?
    /// Cores per processor, as libcpuid counts them from the topology leaves (`num_cores`).
    public var cores: Int
    /// Logical CPUs per processor, as libcpuid counts them from the topology leaves (`num_logical_cpus`).
    public var logicalCPUs: Int
    /// The names of the feature flags libcpuid set (`cpu_feature_str`), in libcpuid's order.
    public var features: [String]
    /// libcpuid's hypervisor guess; only for leaves read on this machine, since libcpuid 0.6.2 executes
    /// CPUID 0x4000_0000 itself instead of reading the leaves it is given.
    public var libcpuidHypervisor: Fact<Hypervisor>
    /// The libcpuid version that decoded the leaves (`cpuid_lib_version()`).
    public var libcpuidVersion: String

    public init(
        vendorString: String, vendor: Vendor, brand: String, family: Int, model: Int, stepping: Int,
        baseFamily: Int, baseModel: Int, extendedFamily: Int, extendedModel: Int, codename: String,
        libcpuidCodename: String, codenameCorrection: String?, cores: Int, logicalCPUs: Int, features: [String],
        libcpuidHypervisor: Fact<Hypervisor>, libcpuidVersion: String
    ) {
        self.vendorString = vendorString
        self.vendor = vendor
        self.brand = brand
        self.family = family
        self.model = model
        self.stepping = stepping
        self.baseFamily = baseFamily
        self.baseModel = baseModel
        self.extendedFamily = extendedFamily
        self.extendedModel = extendedModel
        self.codename = codename
        self.libcpuidCodename = libcpuidCodename
        self.codenameCorrection = codenameCorrection
        self.cores = cores
        self.logicalCPUs = logicalCPUs
        self.features = features
        self.libcpuidHypervisor = libcpuidHypervisor
        self.libcpuidVersion = libcpuidVersion
    }

    /// Identifies the CPU that answered `leaves`, through libcpuid's `cpu_identify`.
    ///
    /// - Parameters:
    ///   - leaves: leaf 0 is required; leaves 1, 4, 0xB, 0x8000_0000–0x8000_001F are used where present.
    ///   - live: whether this process read the leaves from the CPU it runs on. Only then is libcpuid's
    ///     hypervisor guess taken, because libcpuid reads leaf 0x4000_0000 from the CPU it runs on; pass
    ///     false for any file (a dump, or a snapshot captured live but analysed later or elsewhere).
    /// - Returns: the identity, or `.unavailable` with libcpuid's error text when `cpu_identify` fails
    ///   (no leaf 0, a vendor libcpuid does not know).
    public static func identify(_ leaves: [CPUIDLeaf], live: Bool) -> Fact<CPUIdentity> {
        var raw = LibCPUIDRaw.make(from: leaves)
        var id = cpu_id_t()
        // SAFETY: `raw` and `id` are initialized locals of the struct types libcpuid 0.6.2 was built with
        // (the header we compile against); cpu_identify reads `raw` and writes only `id` and a thread-local
        // error code. With a non-NULL `raw` it executes no CPUID instruction (cpu_ident_internal).
        let status = unsafe cpu_identify(&raw, &id)
        guard status == 0 else {
            let reason: UnavailableReason = status == ERR_CPU_UNKN.rawValue ? .unsupported : .failed
            return .unavailable(reason, "libcpuid \(libcpuidVersion) cpu_identify: \(LibCPUIDRaw.lastError)")
        }
        let signature = Signature(eax: leaves.first { $0.leaf == 1 && $0.subleaf == 0 }?.eax ?? 0)
        let vendor = Vendor(libcpuid: id.vendor)
        let libcpuidCodename = LibCPUIDRaw.string(id.cpu_codename)
        let corrected = Codenames.correct(
            libcpuidCodename, vendor: vendor, family: signature.family, model: signature.model,
            stepping: signature.stepping, libcpuidVersion: libcpuidVersion)
        let hypervisor: Fact<Hypervisor>
        if live {
            // SAFETY: as above; `id` is the filled result of cpu_identify for `raw`, never NULL (0.6.2
            // passes a NULL `data` on to cpu_identify and crashes).
            hypervisor = .available(Hypervisor(libcpuid: unsafe cpuid_get_hypervisor(&raw, &id)))
        } else {
            hypervisor = .unavailable(
                .unsupported,
                "libcpuid \(libcpuidVersion) executes CPUID 0x40000000 on the machine it runs on instead of "
                    + "reading recorded leaves; read the recorded 0x40000000 leaves instead")
        }
        return .available(
            CPUIdentity(
                vendorString: LibCPUIDRaw.string(id.vendor_str), vendor: vendor,
                brand: LibCPUIDRaw.string(id.brand_str), family: signature.family, model: signature.model,
                stepping: signature.stepping, baseFamily: signature.baseFamily, baseModel: signature.baseModel,
                extendedFamily: signature.extendedFamily, extendedModel: signature.extendedModel,
                codename: corrected.codename, libcpuidCodename: libcpuidCodename,
                codenameCorrection: corrected.correction, cores: Int(id.num_cores),
                logicalCPUs: Int(id.num_logical_cpus), features: LibCPUIDRaw.featureNames(id.flags),
                libcpuidHypervisor: hypervisor, libcpuidVersion: libcpuidVersion))
    }

    /// The version of the libcpuid this program is linked with (`cpuid_lib_version()`).
    public static var libcpuidVersion: String {
        // SAFETY: cpuid_lib_version returns a pointer to a static NUL-terminated string.
        unsafe String(cString: cpuid_lib_version())
    }
}

// MARK: - Processor signature

extension CPUIdentity {
    /// The fields of CPUID.1:EAX and the displayed family and model computed from them.
    struct Signature: Equatable {
        var stepping, baseModel, baseFamily, extendedModel, extendedFamily: Int

        init(eax: UInt32) {
            stepping = Int(eax & 0xF)
            baseModel = Int(eax >> 4 & 0xF)
            baseFamily = Int(eax >> 8 & 0xF)
            extendedModel = Int(eax >> 16 & 0xF)
            extendedFamily = Int(eax >> 20 & 0xFF)
        }

        /// SDM vol. 2A, CPUID: DisplayFamily = Family_ID + Extended_Family_ID only when Family_ID is 0FH.
        var family: Int { baseFamily == 0xF ? baseFamily + extendedFamily : baseFamily }

        /// DisplayModel = (Extended_Model_ID << 4) + Model_ID when Family_ID is 06H or 0FH. libcpuid adds the
        /// extended model for every family, which differs only for families whose extended model is 0 anyway.
        var model: Int { baseFamily == 0x6 || baseFamily == 0xF ? extendedModel << 4 + baseModel : baseModel }
    }
}

extension CPUIdentity.Vendor {
    init(libcpuid vendor: cpu_vendor_t) {
        switch vendor {
        case VENDOR_INTEL: self = .intel
        case VENDOR_AMD: self = .amd
        case VENDOR_HYGON: self = .hygon
        default: self = .other
        }
    }
}

extension CPUIdentity.Hypervisor {
    init(libcpuid hypervisor: hypervisor_vendor_t) {
        switch hypervisor {
        case HYPERVISOR_NONE: self = .none
        case HYPERVISOR_BHYVE: self = .bhyve
        case HYPERVISOR_HYPERV: self = .hyperV
        case HYPERVISOR_KVM: self = .kvm
        case HYPERVISOR_PARALLELS: self = .parallels
        case HYPERVISOR_QEMU: self = .qemu
        case HYPERVISOR_VIRTUALBOX: self = .virtualBox
        case HYPERVISOR_VMWARE: self = .vmware
        case HYPERVISOR_XEN: self = .xen
        default: self = .unknown
        }
    }
}

// MARK: - libcpuid's raw data

/// Conversions between `CPUIDLeaf` and libcpuid's `cpu_raw_data_t` / `cpu_id_t` fields.
enum LibCPUIDRaw {
    /// One `uint32_t[rows][4]` array of `cpu_raw_data_t`: its byte offset, row count, and which leaves fill it.
    struct RawArray {
        let offset: Int
        let rows: Int
        /// Row i holds leaf `base + i` subleaf 0, or, when `bySubleaf`, leaf `base` subleaf i.
        let base: UInt32
        let bySubleaf: Bool

        func row(for leaf: CPUIDLeaf) -> Int? {
            let index: UInt32
            if bySubleaf {
                guard leaf.leaf == base else { return nil }
                index = leaf.subleaf
            } else {
                guard leaf.subleaf == 0, leaf.leaf >= base else { return nil }
                index = leaf.leaf - base
            }
            return index < rows ? Int(index) : nil
        }
    }

    static let arrays: [RawArray] = [
        RawArray(offset: offset(\.basic_cpuid), rows: Int(MAX_CPUID_LEVEL), base: 0, bySubleaf: false),
        RawArray(offset: offset(\.ext_cpuid), rows: Int(MAX_EXT_CPUID_LEVEL), base: 0x8000_0000, bySubleaf: false),
        RawArray(offset: offset(\.intel_fn4), rows: Int(MAX_INTELFN4_LEVEL), base: 0x4, bySubleaf: true),
        RawArray(offset: offset(\.intel_fn11), rows: Int(MAX_INTELFN11_LEVEL), base: 0xB, bySubleaf: true),
        RawArray(offset: offset(\.intel_fn12h), rows: Int(MAX_INTELFN12H_LEVEL), base: 0x12, bySubleaf: true),
        RawArray(offset: offset(\.intel_fn14h), rows: Int(MAX_INTELFN14H_LEVEL), base: 0x14, bySubleaf: true),
        RawArray(
            offset: offset(\.amd_fn8000001dh), rows: Int(MAX_AMDFN8000001DH_LEVEL), base: 0x8000_001D,
            bySubleaf: true),
    ]

    /// The byte offset of a stored field of `cpu_raw_data_t` (all of them are stored C fields).
    private static func offset<T>(_ field: KeyPath<cpu_raw_data_t, T>) -> Int {
        MemoryLayout<cpu_raw_data_t>.offset(of: field) ?? 0
    }

    /// libcpuid's raw data filled from `leaves`; rows no leaf fills stay zero, as for leaves past the maximum.
    static func make(from leaves: [CPUIDLeaf]) -> cpu_raw_data_t {
        var raw = cpu_raw_data_t()
        for leaf in leaves {
            for array in arrays {
                guard let row = array.row(for: leaf) else { continue }
                let registers = [leaf.eax, leaf.ebx, leaf.ecx, leaf.edx]
                // SAFETY: `array.offset` is MemoryLayout's offset of a `uint32_t[rows][4]` field and
                // `row < rows`, so bytes offset + 16·row ..< offset + 16·row + 16 lie inside that field
                // of `raw` (checked again below); the offset is a multiple of 4, the alignment of UInt32.
                unsafe withUnsafeMutableBytes(of: &raw) { bytes in
                    let start = array.offset + 16 * row
                    precondition(start >= 0 && start + 16 <= bytes.count && start % 4 == 0)
                    for (i, register) in registers.enumerated() {
                        unsafe bytes.storeBytes(of: register, toByteOffset: start + 4 * i, as: UInt32.self)
                    }
                }
            }
        }
        return raw
    }

    /// The leaves held in libcpuid's raw data, every row of every array (zero rows included).
    static func leaves(of raw: cpu_raw_data_t) -> [CPUIDLeaf] {
        var leaves: [CPUIDLeaf] = []
        // SAFETY: reads 16-byte rows inside the same fields as `make` writes, under the same bounds check.
        unsafe withUnsafeBytes(of: raw) { bytes in
            for array in arrays {
                for row in 0..<array.rows {
                    let start = array.offset + 16 * row
                    precondition(start >= 0 && start + 16 <= bytes.count && start % 4 == 0)
                    let r = (0..<4).map { unsafe bytes.load(fromByteOffset: start + 4 * $0, as: UInt32.self) }
                    let (leaf, subleaf) = array.bySubleaf ? (array.base, UInt32(row)) : (array.base + UInt32(row), 0)
                    leaves.append(CPUIDLeaf(leaf: leaf, subleaf: subleaf, eax: r[0], ebx: r[1], ecx: r[2], edx: r[3]))
                }
            }
        }
        return leaves
    }

    /// A C `char[N]` field (imported as a tuple) up to its first NUL, or all of it when it has none.
    static func string<T>(_ field: T) -> String {
        // SAFETY: the buffer covers exactly the bytes of the `field` copy and is read only inside the closure.
        unsafe withUnsafeBytes(of: field) { bytes in
            unsafe String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// `cpu_feature_str` of each flag set in `cpu_id_t.flags`.
    static func featureNames<T>(_ flags: T) -> [String] {
        // SAFETY: as in `string`: the bytes of the `flags` copy, read inside the closure.
        let set = unsafe withUnsafeBytes(of: flags) { unsafe Array($0) }
        let count = min(Int(NUM_CPU_FEATURES.rawValue), set.count)
        return (0..<count).compactMap { index in
            guard set[index] != 0 else { return nil }
            let feature = cpu_feature_t(rawValue: numericCast(index))
            // SAFETY: cpu_feature_str returns a pointer to a static NUL-terminated string ("" when unknown).
            let name = unsafe String(cString: cpu_feature_str(feature))
            return name.isEmpty ? nil : name
        }
    }

    /// libcpuid's text for the last error on this thread (`cpuid_error()`).
    static var lastError: String {
        // SAFETY: cpuid_error returns a pointer to a static NUL-terminated string.
        unsafe String(cString: cpuid_error())
    }
}
