// Our own codename table, to catch libcpuid naming a CPU it does not know after the nearest one it does.
//
// libcpuid picks the best-scoring entry of its database, so a model newer than the database gets an older
// neighbour's name: 0.6.2 calls family 19h model 11h (Zen 4, Genoa) "EPYC (Milan)". The table below holds
// only family/model ranges we are sure of (AMD's per-family model ranges, Intel's server model numbers);
// a name is corrected only when libcpuid's names none of the codenames the range allows.

extension CPUIdentity {
    /// A family/model (and optionally stepping) range and the codenames CPUs in it carry.
    struct CodenameRange: Sendable {
        let vendor: Vendor
        let family: Int
        let models: ClosedRange<Int>
        let steppings: ClosedRange<Int>
        /// What we report when libcpuid's name disagrees.
        let name: String
        /// Codenames that count as agreeing when libcpuid's name contains one of them.
        let accepts: [String]

        init(
            _ vendor: Vendor, family: Int, models: ClosedRange<Int>, steppings: ClosedRange<Int> = 0...0xF,
            _ name: String, accepts: [String]
        ) {
            self.vendor = vendor
            self.family = family
            self.models = models
            self.steppings = steppings
            self.name = name
            self.accepts = accepts
        }

        func contains(vendor: Vendor, family: Int, model: Int, stepping: Int) -> Bool {
            self.vendor == vendor && self.family == family && models.contains(model) && steppings.contains(stepping)
        }
    }

    enum Codenames {
        /// AMD: model ranges per family from AMD's revision guides and PPRs; Zen families number models in
        /// blocks of 16 per product line. Intel: family 6 server models from the SDM vol. 4 table 2-1.
        static let table: [CodenameRange] = [
            // Family 17h: Zen, Zen+, Zen 2.
            CodenameRange(
                .amd, family: 0x17, models: 0x00...0x0F, "Zen / Zen+ (Naples, Summit Ridge, Pinnacle Ridge)",
                accepts: ["Naples", "Summit Ridge", "Pinnacle Ridge", "Whitehaven", "Colfax", "Snowy Owl"]),
            CodenameRange(
                .amd, family: 0x17, models: 0x30...0x3F, "Zen 2 (Rome)", accepts: ["Rome", "Castle Peak"]),
            CodenameRange(.amd, family: 0x17, models: 0x70...0x7F, "Zen 2 (Matisse)", accepts: ["Matisse"]),
            // Family 19h: Zen 3, Zen 4.
            CodenameRange(.amd, family: 0x19, models: 0x00...0x0F, "Zen 3 (Milan)", accepts: ["Milan", "Chagall"]),
            CodenameRange(
                .amd, family: 0x19, models: 0x10...0x1F, "Zen 4 (Genoa)", accepts: ["Genoa", "Storm Peak"]),
            CodenameRange(.amd, family: 0x19, models: 0x20...0x2F, "Zen 3 (Vermeer)", accepts: ["Vermeer"]),
            CodenameRange(.amd, family: 0x19, models: 0x40...0x4F, "Zen 3+ (Rembrandt)", accepts: ["Rembrandt"]),
            CodenameRange(.amd, family: 0x19, models: 0x50...0x5F, "Zen 3 (Cezanne)", accepts: ["Cezanne", "Barcelo"]),
            CodenameRange(.amd, family: 0x19, models: 0x60...0x6F, "Zen 4 (Raphael)", accepts: ["Raphael"]),
            CodenameRange(
                .amd, family: 0x19, models: 0x70...0x7F, "Zen 4 (Phoenix)", accepts: ["Phoenix", "Hawk Point"]),
            CodenameRange(
                .amd, family: 0x19, models: 0xA0...0xAF, "Zen 4c (Bergamo / Siena)", accepts: ["Bergamo", "Siena"]),
            // Family 1Ah: Zen 5.
            CodenameRange(.amd, family: 0x1A, models: 0x00...0x0F, "Zen 5 (Turin)", accepts: ["Turin"]),
            CodenameRange(.amd, family: 0x1A, models: 0x10...0x1F, "Zen 5c (Turin Dense)", accepts: ["Turin"]),
            CodenameRange(.amd, family: 0x1A, models: 0x20...0x2F, "Zen 5 (Strix Point)", accepts: ["Strix"]),
            CodenameRange(.amd, family: 0x1A, models: 0x40...0x4F, "Zen 5 (Granite Ridge)", accepts: ["Granite Ridge"]),
            // Intel family 6 servers.
            CodenameRange(.intel, family: 6, models: 0x2D...0x2D, "Sandy Bridge-EP", accepts: ["Sandy Bridge"]),
            CodenameRange(.intel, family: 6, models: 0x3E...0x3E, "Ivy Bridge-EP", accepts: ["Ivy Bridge"]),
            CodenameRange(.intel, family: 6, models: 0x3F...0x3F, "Haswell-EP", accepts: ["Haswell"]),
            CodenameRange(.intel, family: 6, models: 0x4F...0x4F, "Broadwell-EP", accepts: ["Broadwell"]),
            CodenameRange(.intel, family: 6, models: 0x56...0x56, "Broadwell-DE", accepts: ["Broadwell"]),
            CodenameRange(
                .intel, family: 6, models: 0x55...0x55, steppings: 0...4, "Skylake-SP", accepts: ["Skylake"]),
            CodenameRange(
                .intel, family: 6, models: 0x55...0x55, steppings: 5...7, "Cascade Lake-SP",
                accepts: ["Cascade Lake"]),
            CodenameRange(
                .intel, family: 6, models: 0x55...0x55, steppings: 0xA...0xB, "Cooper Lake-SP",
                accepts: ["Cooper Lake"]),
            CodenameRange(.intel, family: 6, models: 0x6A...0x6A, "Ice Lake-SP", accepts: ["Ice Lake"]),
            CodenameRange(.intel, family: 6, models: 0x6C...0x6C, "Ice Lake-D", accepts: ["Ice Lake"]),
            CodenameRange(.intel, family: 6, models: 0x8F...0x8F, "Sapphire Rapids", accepts: ["Sapphire Rapids"]),
            CodenameRange(.intel, family: 6, models: 0xCF...0xCF, "Emerald Rapids", accepts: ["Emerald Rapids"]),
            CodenameRange(.intel, family: 6, models: 0xAD...0xAE, "Granite Rapids", accepts: ["Granite Rapids"]),
            CodenameRange(.intel, family: 6, models: 0xAF...0xAF, "Sierra Forest", accepts: ["Sierra Forest"]),
        ]

        /// Our range for a CPU, when the table has one.
        static func range(vendor: Vendor, family: Int, model: Int, stepping: Int) -> CodenameRange? {
            table.first { $0.contains(vendor: vendor, family: family, model: model, stepping: stepping) }
        }

        /// The codename to report, and why it differs from libcpuid's when it does.
        static func correct(
            _ libcpuid: String, vendor: Vendor, family: Int, model: Int, stepping: Int, libcpuidVersion: String
        ) -> (codename: String, correction: String?) {
            guard let range = range(vendor: vendor, family: family, model: model, stepping: stepping) else {
                return (libcpuid, nil)
            }
            let said = normalized(libcpuid)
            if range.accepts.contains(where: { said.contains(normalized($0)) }) { return (libcpuid, nil) }
            let steppingNote = range.steppings == 0...0xF ? "" : " stepping \(range.steppings.description(hex: false))"
            let what = libcpuid.isEmpty ? "has no name for" : "names"
            let quoted = libcpuid.isEmpty ? "" : " '\(libcpuid)'"
            let correction =
                "libcpuid \(libcpuidVersion) \(what) family \(hex(family)) model \(hex(model))\(quoted); "
                + "family \(hex(family)) \(range.models.count == 1 ? "model" : "models") "
                + "\(range.models.description(hex: true))\(steppingNote) "
                + "are \(range.name)"
            return (range.name, correction)
        }

        /// Lower-case letters and digits only, so "Cascade Lake", "CascadeLake" and "Cascade-Lake" agree.
        static func normalized(_ text: String) -> String {
            String(
                text.lowercased().unicodeScalars.filter { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") }
                    .map(Character.init))
        }

        /// "19h", "06h": the way the SDM and APM write family and model numbers.
        static func hex(_ value: Int) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return (digits.count < 2 ? "0" : "") + digits + "h"
        }
    }
}

extension ClosedRange where Bound == Int {
    /// "10h–1Fh", "55h", "5–7".
    fileprivate func description(hex: Bool) -> String {
        func format(_ value: Int) -> String { hex ? CPUIdentity.Codenames.hex(value) : String(value) }
        return lowerBound == upperBound ? format(lowerBound) : "\(format(lowerBound))–\(format(upperBound))"
    }
}
