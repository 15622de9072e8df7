// ModelThreads: the number of logical processors a CPU model ships with, from its maker's documentation, against
// the number the OS sees per package and the number the topology leaves claim (issue 16; VMAware's
// THREAD_MISMATCH asks the same question with a table of its own).
//
// The table is written here from public specification pages, facts only, and kept honest: an entry is a single
// SKU (brand-string model number) with its documented cores and threads, so both counts are valid (SMT can be
// off in firmware or with `nosmt`); AMD's brand strings since Zen state the core count themselves ("64-Core");
// where only the die is known (family and model), only its largest SKU's thread count is used, as a maximum.
// A VM with fewer vCPUs than its host's CPU has threads is the normal case, so fewer is weak evidence; more
// than the part can have is impossible on bare metal.

/// A CPU model's documented thread count against the OS's and the topology leaves'.
public struct ModelThreadFindings: Codable, Sendable, Equatable {
    /// How the answer compares.
    public enum Verdict: String, Codable, Sendable {
        /// The OS sees one of the model's valid counts per package.
        case matches
        /// Fewer per package than the model has: a VM with fewer vCPUs, or CPUs disabled on bare metal.
        case fewer
        /// A count the model never ships between its valid ones (a VM's vCPU count, or CPUs disabled).
        case between
        /// More per package than the model can have: not possible on that CPU's bare metal.
        case more
        /// Not over the die's maximum, and no SKU to compare with.
        case withinMaximum = "within-maximum"
        /// Model not in the table, or the OS's count unknown.
        case unknown
    }

    /// What identified the model ("Xeon Gold 6148", "brand: 64-Core", "family 6 model 0x6A (Ice Lake-SP)");
    /// nil when it is not in the table.
    public var model: String?
    /// The model's valid logical processors per package (threads with SMT, and cores without); nil for a die
    /// known only by its maximum.
    public var validThreads: [Int]?
    /// The most logical processors any package of this model or die has.
    public var maximumThreads: Int?
    /// Online CPUs per package, as the kernel sees them.
    public var kernelPerPackage: Int?
    /// Present CPUs per package (offline ones included), when /sys/devices/system/cpu/present was read.
    public var presentPerPackage: Int?
    /// Logical processors per package by leaf 0xB / 0x1F.
    public var leafPerPackage: Int?
    public var verdict: Verdict
    /// The comparison in one sentence ("unknown: model not in table (...)" when unknown).
    public var detail: String
}

/// The table and the comparison.
public enum ModelThreads {
    /// One SKU: the brand-string words that name it, its cores and threads per package.
    struct SKU {
        var vendor: CPUVendor
        var key: String
        var cores: Int
        var threads: Int
    }

    /// A die known by family and model, and the most threads per package any of its SKUs has.
    struct Die {
        var vendor: CPUVendor
        var family: Int
        var models: ClosedRange<Int>
        var name: String
        var maximumThreads: Int
    }

    static func intel(_ rows: [(String, Int, Int)]) -> [SKU] {
        rows.map { SKU(vendor: .intel, key: $0.0, cores: $0.1, threads: $0.2) }
    }

    /// Single SKUs, keyed by the model number as it stands in the brand string (after "Intel(R)", "Core(TM)" and
    /// the like lose their marks). Cores and threads per package.
    static let skus: [SKU] =
        // Intel desktop Core, 2nd to 14th generation and Core Ultra 200S: Intel ARK product specifications
        // ("Total Cores", "Total Threads"); the hybrid parts' totals count P- and E-cores.
        intel([
            ("i7-2600K", 4, 8), ("i7-2600", 4, 8), ("i5-2500K", 4, 4), ("i7-3770K", 4, 8), ("i7-3770", 4, 8),
            ("i5-3570K", 4, 4), ("i7-4770K", 4, 8), ("i7-4790K", 4, 8), ("i5-4690K", 4, 4), ("i7-6700K", 4, 8),
            ("i7-6700", 4, 8), ("i5-6600K", 4, 4), ("i5-6500", 4, 4), ("i7-7700K", 4, 8), ("i7-7700", 4, 8),
            ("i5-7600K", 4, 4), ("i7-8700K", 6, 12), ("i7-8700", 6, 12), ("i5-8600K", 6, 6), ("i5-8400", 6, 6),
            ("i3-8100", 4, 4), ("i9-9900K", 8, 16), ("i9-9900KF", 8, 16), ("i7-9700K", 8, 8), ("i7-9700", 8, 8),
            ("i5-9600K", 6, 6), ("i5-9400F", 6, 6), ("i3-9100", 4, 4), ("i9-10900K", 10, 20), ("i9-10900", 10, 20),
            ("i7-10700K", 8, 16), ("i7-10700", 8, 16), ("i5-10600K", 6, 12), ("i5-10400", 6, 12),
            ("i3-10100", 4, 8), ("i9-11900K", 8, 16), ("i7-11700K", 8, 16), ("i5-11600K", 6, 12),
            ("i5-11400", 6, 12), ("i9-12900K", 16, 24), ("i7-12700K", 12, 20), ("i5-12600K", 10, 16),
            ("i5-12400", 6, 12), ("i3-12100", 4, 8), ("i9-13900K", 24, 32), ("i7-13700K", 16, 24),
            ("i5-13600K", 14, 20), ("i5-13400", 10, 16), ("i9-14900K", 24, 32), ("i7-14700K", 20, 28),
            ("i5-14600K", 14, 20), ("i5-14400", 10, 16), ("Ultra 9 285K", 24, 24), ("Ultra 7 265K", 20, 20),
            ("Ultra 5 245K", 14, 14),
        ])
        // Intel mobile Core (U and P series, 8th to 13th generation): Intel ARK.
        + intel([
            ("i5-8250U", 4, 8), ("i7-8550U", 4, 8), ("i7-8650U", 4, 8), ("i5-8265U", 4, 8), ("i7-8565U", 4, 8),
            ("i5-10210U", 4, 8), ("i7-10510U", 4, 8), ("i7-10710U", 6, 12), ("i5-1135G7", 4, 8),
            ("i7-1165G7", 4, 8), ("i7-1185G7", 4, 8), ("i5-1240P", 12, 16), ("i7-1260P", 12, 16),
            ("i5-1235U", 10, 12), ("i7-1255U", 10, 12), ("i7-1355U", 10, 12), ("i7-1365U", 10, 12),
            ("i7-1360P", 12, 16),
        ])
        // Intel Xeon E3 / E (single socket) and E5 v1–v4 (two sockets): Intel ARK. E5 v1 parts carry a "0"
        // where later ones carry "v2", "v3", "v4", so the key holds that word too.
        + intel([
            ("E3-1230 v5", 4, 8), ("E3-1240 v5", 4, 8), ("E3-1230 v6", 4, 8), ("E3-1270 v6", 4, 8),
            ("E-2136", 6, 12), ("E-2236", 6, 12), ("E-2278G", 8, 16), ("E-2288G", 8, 16), ("E-2378G", 8, 16),
            ("E-2388G", 8, 16), ("E5-2620 0", 6, 12), ("E5-2650 0", 8, 16), ("E5-2670 0", 8, 16),
            ("E5-2680 0", 8, 16), ("E5-2690 0", 8, 16), ("E5-2620 v2", 6, 12), ("E5-2650 v2", 8, 16),
            ("E5-2670 v2", 10, 20), ("E5-2680 v2", 10, 20), ("E5-2690 v2", 10, 20), ("E5-2697 v2", 12, 24),
            ("E5-2620 v3", 6, 12), ("E5-2630 v3", 8, 16), ("E5-2640 v3", 8, 16), ("E5-2650 v3", 10, 20),
            ("E5-2660 v3", 10, 20), ("E5-2670 v3", 12, 24), ("E5-2680 v3", 12, 24), ("E5-2690 v3", 12, 24),
            ("E5-2697 v3", 14, 28), ("E5-2698 v3", 16, 32), ("E5-2699 v3", 18, 36), ("E5-2620 v4", 8, 16),
            ("E5-2630 v4", 10, 20), ("E5-2640 v4", 10, 20), ("E5-2650 v4", 12, 24), ("E5-2660 v4", 14, 28),
            ("E5-2667 v4", 8, 16), ("E5-2680 v4", 14, 28), ("E5-2683 v4", 16, 32), ("E5-2690 v4", 14, 28),
            ("E5-2695 v4", 18, 36), ("E5-2697 v4", 18, 36), ("E5-2698 v4", 20, 40), ("E5-2699 v4", 22, 44),
        ])
        // Intel Xeon Scalable, 1st to 5th generation (Skylake-SP, Cascade Lake, Ice Lake-SP, Sapphire Rapids,
        // Emerald Rapids): Intel ARK.
        + intel([
            ("Platinum 8180", 28, 56), ("Platinum 8176", 28, 56), ("Platinum 8170", 26, 52),
            ("Platinum 8168", 24, 48), ("Platinum 8160", 24, 48), ("Platinum 8153", 16, 32),
            ("Gold 6154", 18, 36), ("Gold 6152", 22, 44), ("Gold 6150", 18, 36), ("Gold 6148", 20, 40),
            ("Gold 6140", 18, 36), ("Gold 6138", 20, 40), ("Gold 6136", 12, 24), ("Gold 6134", 8, 16),
            ("Gold 6132", 14, 28), ("Gold 6130", 16, 32), ("Gold 6126", 12, 24), ("Gold 5120", 14, 28),
            ("Gold 5118", 12, 24), ("Silver 4116", 12, 24), ("Silver 4114", 10, 20), ("Silver 4110", 8, 16),
            ("Silver 4108", 8, 16), ("Bronze 3106", 8, 8), ("Bronze 3104", 6, 6),
            ("Platinum 9282", 56, 112), ("Platinum 8280", 28, 56), ("Platinum 8276", 28, 56),
            ("Platinum 8270", 26, 52), ("Platinum 8268", 24, 48), ("Platinum 8260", 24, 48),
            ("Platinum 8253", 16, 32), ("Gold 6258R", 28, 56), ("Gold 6248R", 24, 48), ("Gold 6248", 20, 40),
            ("Gold 6246", 12, 24), ("Gold 6242", 16, 32), ("Gold 6240", 18, 36), ("Gold 6238", 22, 44),
            ("Gold 6230", 20, 40), ("Gold 6226R", 16, 32), ("Gold 5220", 18, 36), ("Gold 5218", 16, 32),
            ("Gold 5217", 8, 16), ("Silver 4216", 16, 32), ("Silver 4215", 8, 16), ("Silver 4214", 12, 24),
            ("Silver 4210", 10, 20), ("Silver 4208", 8, 16), ("Bronze 3204", 6, 6),
            ("Platinum 8380", 40, 80), ("Platinum 8368", 38, 76), ("Platinum 8360Y", 36, 72),
            ("Platinum 8358", 32, 64), ("Platinum 8352Y", 32, 64), ("Gold 6348", 28, 56), ("Gold 6338", 32, 64),
            ("Gold 6330", 28, 56), ("Gold 6354", 18, 36), ("Gold 5320", 26, 52), ("Gold 5318Y", 24, 48),
            ("Silver 4316", 20, 40), ("Silver 4314", 16, 32), ("Silver 4310", 12, 24),
            ("Platinum 8490H", 60, 120), ("Platinum 8480+", 56, 112), ("Platinum 8468", 48, 96),
            ("Platinum 8460Y+", 40, 80), ("Platinum 8462Y+", 32, 64), ("Gold 6430", 32, 64),
            ("Gold 6448Y", 32, 64), ("Silver 4410Y", 12, 24),
            ("Platinum 8592+", 64, 128), ("Platinum 8580", 60, 120), ("Gold 6548Y+", 32, 64),
        ])
        // AWS's custom Xeons, which ARK does not list: AWS's instance-type pages (the metal size's or largest
        // size's vCPUs over its two sockets): i3 (E5-2686 v4), m5/r5 (8175M, 8259CL), c5 (8124M, 8275CL), z1d
        // (8151), m5zn (8252C), m6i (8375C), m7i (8488C).
        + intel([
            ("E5-2686 v4", 18, 36),
            ("Platinum 8175M", 24, 48), ("Platinum 8259CL", 24, 48), ("Platinum 8124M", 18, 36),
            ("Platinum 8275CL", 24, 48), ("Platinum 8151", 12, 24), ("Platinum 8252C", 12, 24),
            ("Platinum 8375C", 32, 64), ("Platinum 8488C", 48, 96),
        ])

    /// Dies by family and model, with their largest SKU's threads per package: Intel SDM vol. 4 §2 (the
    /// DisplayFamily_DisplayModel table) with ARK's top SKU of each; AMD's processor programming references and
    /// product pages (EPYC 7601, 7742, 7763, 9654, 9754; Threadripper 2990WX, 7995WX; Ryzen 9 3950X, 5950X, 7950X).
    static let dies: [Die] = [
        Die(vendor: .intel, family: 6, models: 0x2A...0x2A, name: "Sandy Bridge", maximumThreads: 8),
        Die(vendor: .intel, family: 6, models: 0x2D...0x2D, name: "Sandy Bridge-EP", maximumThreads: 16),
        Die(vendor: .intel, family: 6, models: 0x3A...0x3A, name: "Ivy Bridge", maximumThreads: 8),
        Die(vendor: .intel, family: 6, models: 0x3E...0x3E, name: "Ivy Bridge-EP/EX", maximumThreads: 30),
        Die(vendor: .intel, family: 6, models: 0x3C...0x3C, name: "Haswell", maximumThreads: 8),
        Die(vendor: .intel, family: 6, models: 0x3F...0x3F, name: "Haswell-EP/EX", maximumThreads: 36),
        Die(vendor: .intel, family: 6, models: 0x4F...0x4F, name: "Broadwell-EP/EX", maximumThreads: 48),
        Die(vendor: .intel, family: 6, models: 0x56...0x56, name: "Broadwell-DE", maximumThreads: 32),
        Die(vendor: .intel, family: 6, models: 0x5E...0x5E, name: "Skylake-S", maximumThreads: 8),
        Die(vendor: .intel, family: 6, models: 0x55...0x55, name: "Skylake-SP/Cascade Lake", maximumThreads: 112),
        Die(vendor: .intel, family: 6, models: 0x9E...0x9E, name: "Kaby Lake/Coffee Lake-S", maximumThreads: 16),
        Die(vendor: .intel, family: 6, models: 0xA5...0xA5, name: "Comet Lake-S", maximumThreads: 20),
        Die(vendor: .intel, family: 6, models: 0xA7...0xA7, name: "Rocket Lake-S", maximumThreads: 16),
        Die(vendor: .intel, family: 6, models: 0x6A...0x6A, name: "Ice Lake-SP", maximumThreads: 80),
        Die(vendor: .intel, family: 6, models: 0x6C...0x6C, name: "Ice Lake-D", maximumThreads: 40),
        Die(vendor: .intel, family: 6, models: 0x97...0x97, name: "Alder Lake-S", maximumThreads: 24),
        Die(vendor: .intel, family: 6, models: 0xB7...0xB7, name: "Raptor Lake-S", maximumThreads: 32),
        Die(vendor: .intel, family: 6, models: 0xBF...0xBF, name: "Raptor Lake-S", maximumThreads: 32),
        Die(vendor: .intel, family: 6, models: 0xC6...0xC6, name: "Arrow Lake-S", maximumThreads: 24),
        Die(vendor: .intel, family: 6, models: 0x8F...0x8F, name: "Sapphire Rapids", maximumThreads: 120),
        Die(vendor: .intel, family: 6, models: 0xCF...0xCF, name: "Emerald Rapids", maximumThreads: 128),
        Die(vendor: .intel, family: 6, models: 0xAD...0xAD, name: "Granite Rapids", maximumThreads: 256),
        Die(vendor: .amd, family: 0x17, models: 0x01...0x01, name: "Zen (Naples, Summit Ridge)", maximumThreads: 64),
        Die(vendor: .amd, family: 0x17, models: 0x08...0x08, name: "Zen+ (Pinnacle Ridge, Colfax)", maximumThreads: 64),
        Die(vendor: .amd, family: 0x17, models: 0x31...0x31, name: "Zen 2 (Rome, Castle Peak)", maximumThreads: 128),
        Die(vendor: .amd, family: 0x17, models: 0x71...0x71, name: "Zen 2 (Matisse)", maximumThreads: 32),
        Die(vendor: .amd, family: 0x19, models: 0x01...0x01, name: "Zen 3 (Milan)", maximumThreads: 128),
        Die(vendor: .amd, family: 0x19, models: 0x08...0x08, name: "Zen 3 (Chagall)", maximumThreads: 128),
        Die(vendor: .amd, family: 0x19, models: 0x11...0x11, name: "Zen 4 (Genoa)", maximumThreads: 192),
        Die(vendor: .amd, family: 0x19, models: 0x18...0x18, name: "Zen 4 (Storm Peak)", maximumThreads: 192),
        Die(vendor: .amd, family: 0x19, models: 0x21...0x21, name: "Zen 3 (Vermeer)", maximumThreads: 32),
        Die(vendor: .amd, family: 0x19, models: 0x61...0x61, name: "Zen 4 (Raphael)", maximumThreads: 32),
        Die(vendor: .amd, family: 0x19, models: 0xA0...0xAF, name: "Zen 4c (Bergamo, Siena)", maximumThreads: 256),
    ]

    /// Core counts AMD spells out in its older brand strings ("Eight-Core Processor").
    static let spelled: [String: Int] = ["Dual": 2, "Quad": 4, "Six": 6, "Eight": 8, "Twelve": 12, "Sixteen": 16]

    /// The brand's words with the trademark marks dropped ("Intel(R) Core(TM) i7-8700K" → Intel Core i7-8700K).
    static func words(_ brand: String) -> [String] {
        brand.replacing("(R)", with: "").replacing("(TM)", with: "")
            .replacing("(tm)", with: "").split(separator: " ").map(String.init)
    }

    /// The SKU whose key stands in the brand as whole consecutive words.
    static func sku(vendor: CPUVendor, brand: String) -> SKU? {
        let brandWords = words(brand)
        return skus.first { sku in
            guard sku.vendor == vendor else { return false }
            let key = sku.key.split(separator: " ").map(String.init)
            guard brandWords.count >= key.count else { return false }
            return (0...(brandWords.count - key.count)).contains { Array(brandWords[$0..<($0 + key.count)]) == key }
        }
    }

    /// AMD's "N-Core Processor" (or "Eight-Core"): the cores of the package, whatever the SKU.
    static func amdCores(vendor: CPUVendor, brand: String) -> Int? {
        guard vendor == .amd else { return nil }
        for word in words(brand) where word.hasSuffix("-Core") {
            let count = String(word.dropLast(5))
            if let n = Int(count) ?? spelled[count], n > 0 { return n }
        }
        return nil
    }

    /// Compares the model's counts with the kernel's and the leaves'.
    static func analyse(_ t: TopologyFindings, cpuid: CPUIDTable, brand: String, present: Int?) -> ModelThreadFindings {
        let vendor = CPUVendor(cpuid)
        var result = ModelThreadFindings(
            model: nil, validThreads: nil, maximumThreads: nil, kernelPerPackage: nil, presentPerPackage: nil,
            leafPerPackage: t.logicalPerPackage, verdict: .unknown, detail: "")
        if let packages = t.kernelPackages, packages > 0 {
            result.kernelPerPackage = t.kernelOnline.map { $0 / packages }
            result.presentPerPackage = present.map { $0 / packages }
        }
        if let sku = sku(vendor: vendor, brand: brand) {
            result.model = sku.key
            result.validThreads = Array(Set([sku.cores, sku.threads])).sorted()
            result.maximumThreads = sku.threads
        } else if let cores = amdCores(vendor: vendor, brand: brand) {
            result.model = "brand: \(cores)-Core"
            result.validThreads = [cores, 2 * cores]
            result.maximumThreads = 2 * cores
        } else if let leaf1 = cpuid[1], cpuid.hasLeaf1 {
            let signature = CPUIdentity.Signature(eax: leaf1.eax)
            if let die = dies.first(where: {
                $0.vendor == vendor && $0.family == signature.family && $0.models.contains(signature.model)
            }) {
                result.model =
                    "family \(CPUCaveats.hex(signature.family))h model \(CPUCaveats.hex(signature.model))h (\(die.name))"
                result.maximumThreads = die.maximumThreads
            }
        }
        result.verdict = verdict(result)
        result.detail = detail(result, brand: brand, cpuid: cpuid)
        return result
    }

    static func verdict(_ r: ModelThreadFindings) -> ModelThreadFindings.Verdict {
        guard r.model != nil, let maximum = r.maximumThreads else { return .unknown }
        let counts = [r.kernelPerPackage, r.leafPerPackage].compactMap { $0 }
        guard !counts.isEmpty else { return .unknown }
        if counts.contains(where: { $0 > maximum }) { return .more }
        guard let valid = r.validThreads else { return .withinMaximum }
        if counts.allSatisfy(valid.contains) { return .matches }
        if let present = r.presentPerPackage, valid.contains(present), r.leafPerPackage.map(valid.contains) != false {
            return .matches  // CPUs taken offline (`maxcpus=`, hotplug): the package itself is complete
        }
        return counts.contains { $0 < (valid.min() ?? 0) } ? .fewer : .between
    }

    static func detail(_ r: ModelThreadFindings, brand: String, cpuid: CPUIDTable) -> String {
        guard let model = r.model, let maximum = r.maximumThreads else {
            let signature = cpuid[1].map { CPUIdentity.Signature(eax: $0.eax) }
            let id =
                signature.map { "family \(CPUCaveats.hex($0.family))h model \(CPUCaveats.hex($0.model))h" }
                ?? "no leaf 1"
            return "unknown: model not in table (\(brand.isEmpty ? "no brand string" : "\"\(brand)\""), \(id))"
        }
        let shipped =
            r.validThreads.map { "\($0.map(String.init).joined(separator: " or ")) logical processors per package" }
            ?? "at most \(maximum) logical processors per package"
        var seen: [String] = []
        if let kernel = r.kernelPerPackage { seen.append("the kernel sees \(kernel) online per package") }
        if let present = r.presentPerPackage, present != r.kernelPerPackage { seen.append("\(present) present") }
        if let leaf = r.leafPerPackage { seen.append("the x2APIC leaf counts \(leaf)") }
        let observed = seen.isEmpty ? "the OS's count is unknown" : seen.joined(separator: ", ")
        return "\(model) ships with \(shipped); \(observed)"
    }
}
