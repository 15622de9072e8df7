// Tests of CPUIdentity: libcpuid's identification of recorded leaves, and our codename corrections.

import Foundation
import Testing

@testable import Probe

/// A hand-built Intel leaf set: an AWS Cascade Lake (family 6, model 55h, stepping 7).
enum IntelLeafSet {
    static let brand = "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"

    static var leaves: [CPUIDLeaf] {
        var leaves = [
            CPUIDLeaf(leaf: 0, eax: 0x16, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69),
            CPUIDLeaf(leaf: 1, eax: 0x0005_0657, ebx: 0x0080_0800, ecx: 0x7FFA_3203, edx: 0x178B_FBFF),
            CPUIDLeaf(leaf: 0x8000_0000, eax: 0x8000_0008, ebx: 0, ecx: 0, edx: 0),
        ]
        let words = brandWords(brand)
        for i in 0..<3 {
            leaves.append(
                CPUIDLeaf(
                    leaf: 0x8000_0002 + UInt32(i), eax: words[4 * i], ebx: words[4 * i + 1], ecx: words[4 * i + 2],
                    edx: words[4 * i + 3]))
        }
        return leaves
    }

    /// The 48-byte brand string as twelve little-endian register words.
    static func brandWords(_ text: String) -> [UInt32] {
        var bytes = Array(text.utf8.prefix(47))
        bytes += Array(repeating: 0, count: 48 - bytes.count)
        return stride(from: 0, to: 48, by: 4).map { start in
            var word: UInt32 = 0
            for k in 0..<4 { word |= UInt32(bytes[start + k]) << UInt32(8 * k) }
            return word
        }
    }
}

@Suite("CPUIdentity: the fixture machine, an AMD EPYC Genoa KVM guest")
struct CPUIdentityFixtureTests {
    static func identity(_ name: String) throws -> CPUIdentity {
        let dump = try CPUIDDumpFixture.dump(name)
        let fact = CPUIdentity.identify(dump.leaves, live: false)
        return try #require(fact.value, "\(String(describing: fact.missing))")
    }

    @Test("AMD, family 25 model 17, codename corrected from libcpuid's Milan to Genoa")
    func genoa() throws {
        let id = try Self.identity(CPUIDDumpFixture.cpuidTool)
        #expect(id.vendor == .amd)
        #expect(id.vendorString == "AuthenticAMD")
        #expect(id.brand == "AMD EPYC")
        #expect(id.family == 25)
        #expect(id.model == 17)
        #expect(id.stepping == 1)
        #expect(id.baseFamily == 0xF && id.extendedFamily == 0xA)
        #expect(id.baseModel == 1 && id.extendedModel == 1)
        #expect(id.codename == "Zen 4 (Genoa)")
        #expect(id.libcpuidCodename == "EPYC (Milan)")
        #expect(
            id.codenameCorrection
                == "libcpuid 0.6.2 names family 19h model 11h 'EPYC (Milan)'; family 19h models 10h–1Fh are Zen 4 (Genoa)"
        )
        #expect(id.cores == 2)
        #expect(id.logicalCPUs == 2)
        #expect(id.libcpuidVersion == CPUIdentity.libcpuidVersion)
    }

    @Test("features are libcpuid's names for the flags it sets")
    func features() throws {
        let id = try Self.identity(CPUIDDumpFixture.cpuidTool)
        for name in ["fpu", "sse4_2", "avx2", "sha_ni", "rdseed", "hypervisor", "lm", "constant_tsc"] {
            #expect(id.features.contains(name), "\(name)")
        }
        // libcpuid 0.6.2 decodes AVX-512 only for Intel: this Zen 4 has CPUID.7:EBX[16] set, yet no avx512f.
        #expect(!id.features.contains("avx512f"))
        #expect(!id.features.contains("svm"), "the guest is not offered SVM")
        #expect(Set(id.features).count == id.features.count)
    }

    @Test("both dump formats of the machine identify the same")
    func formatsAgree() throws {
        #expect(try Self.identity(CPUIDDumpFixture.cpuidTool) == Self.identity(CPUIDDumpFixture.libcpuidRaw))
    }

    @Test("for recorded leaves libcpuid's hypervisor guess is unavailable, since it would read this machine")
    func hypervisorNotFromDump() throws {
        let id = try Self.identity(CPUIDDumpFixture.cpuidTool)
        #expect(id.libcpuidHypervisor.missing?.reason == .unsupported)
        #expect(id.libcpuidHypervisor.missing?.detail.contains("0x40000000") == true)
    }

    @Test("JSON round trip")
    func codable() throws {
        let id = try Self.identity(CPUIDDumpFixture.libcpuidRaw)
        let json = try JSONEncoder().encode(id)
        #expect(try JSONDecoder().decode(CPUIdentity.self, from: json) == id)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains(#""vendor":"amd""#))
        #expect(text.contains(#""status":"unavailable""#))
    }
}

@Suite("CPUIdentity: hand-built and broken leaf sets")
struct CPUIdentityLeafSetTests {
    @Test("an Intel Cascade Lake leaf set is Intel family 6 model 55h")
    func intel() throws {
        let id = try #require(CPUIdentity.identify(IntelLeafSet.leaves, live: false).value)
        #expect(id.vendor == .intel)
        #expect(id.vendorString == "GenuineIntel")
        #expect(id.brand == IntelLeafSet.brand)
        #expect(id.family == 6)
        #expect(id.model == 0x55)
        #expect(id.stepping == 7)
        // With only leaves 0, 1 and the brand string, libcpuid 0.6.2 falls back to "P-II Xeon (Drake)".
        if id.libcpuidCodename.contains("Cascade Lake") {
            #expect(id.codename == id.libcpuidCodename)
            #expect(id.codenameCorrection == nil)
        } else {
            #expect(id.codename == "Cascade Lake-SP")
            #expect(
                id.codenameCorrection
                    == "libcpuid \(id.libcpuidVersion) names family 06h model 55h '\(id.libcpuidCodename)'; "
                    + "family 06h model 55h stepping 5–7 are Cascade Lake-SP")
        }
        #expect(id.features.contains("sse4_2"))
        #expect(!id.features.contains("hypervisor"))
    }

    @Test("no leaf 0: cpu_identify fails and says why")
    func noLeaves() {
        let fact = CPUIdentity.identify([], live: false)
        #expect(fact.missing?.reason == .unsupported)
        #expect(fact.missing?.detail.hasPrefix("libcpuid ") == true)
        #expect(fact.missing?.detail.contains("Unsupported processor") == true)
    }

    @Test("a vendor libcpuid does not know is unavailable, not a guess")
    func unknownVendor() {
        let leaves = [CPUIDLeaf(leaf: 0, eax: 1, ebx: 0x6E61_6D65, ecx: 0x6369_7274, edx: 0x7661_6C75)]
        #expect(CPUIdentity.identify(leaves, live: false).missing?.reason == .unsupported)
    }

    @Test("leaves libcpuid has no row for are ignored, not a failure")
    func extraLeaves() throws {
        var leaves = IntelLeafSet.leaves
        leaves.append(CPUIDLeaf(leaf: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4B4D_564B, ecx: 0x564B_4D56, edx: 0x4D))
        leaves.append(CPUIDLeaf(leaf: 0x7, subleaf: 1, eax: 1, ebx: 0, ecx: 0, edx: 0))
        leaves.append(CPUIDLeaf(leaf: 0xB, subleaf: 9, eax: 1, ebx: 0, ecx: 0, edx: 0))
        let id = try #require(CPUIdentity.identify(leaves, live: false).value)
        #expect(id.model == 0x55)
    }

    @Test("the raw data libcpuid gets holds each leaf in its row")
    func rawRoundTrip() throws {
        let dump = try CPUIDDumpFixture.dump(CPUIDDumpFixture.libcpuidRaw)
        let back = CPUIDTable(LibCPUIDRaw.leaves(of: LibCPUIDRaw.make(from: dump.leaves)))
        for leaf in dump.leaves {
            #expect(back[leaf.leaf, leaf.subleaf] == leaf)
        }
        #expect(back[0x1D] == CPUIDLeaf(leaf: 0x1D, eax: 0, ebx: 0, ecx: 0, edx: 0), "past the maximum: zero")
    }
}

@Suite("CPUIdentity: processor signature and codename table")
struct CPUIdentitySignatureTests {
    @Test(
        "displayed family and model (SDM vol. 2A CPUID; APM vol. 3)",
        arguments: [
            (UInt32(0x00A1_0F11), 0x19, 0x11, 1),  // Zen 4 Genoa
            (0x00A0_0F11, 0x19, 0x01, 1),  // Zen 3 Milan
            (0x00B0_0F21, 0x1A, 0x02, 1),  // Zen 5 Turin
            (0x0080_0F12, 0x17, 0x01, 2),  // Zen Naples
            (0x0005_0657, 6, 0x55, 7),  // Cascade Lake
            (0x0008_06F8, 6, 0x8F, 8),  // Sapphire Rapids
            (0x0003_06F2, 6, 0x3F, 2),  // Haswell-EP
            (0x0000_0F41, 0xF, 0x04, 1),  // Pentium 4
            (0x0001_0542, 5, 0x04, 2),  // family 5: the extended model is not part of the model
        ])
    func signature(eax: UInt32, family: Int, model: Int, stepping: Int) {
        let signature = CPUIdentity.Signature(eax: eax)
        #expect(signature.family == family)
        #expect(signature.model == model)
        #expect(signature.stepping == stepping)
    }

    @Test("a name that agrees with the table is kept")
    func agreementKept() {
        let milan = CPUIdentity.Codenames.correct(
            "EPYC (Milan)", vendor: .amd, family: 0x19, model: 0x01, stepping: 1, libcpuidVersion: "0.6.2")
        #expect(milan.codename == "EPYC (Milan)" && milan.correction == nil)
        let icx = CPUIdentity.Codenames.correct(
            "Xeon (Ice Lake-SP)", vendor: .intel, family: 6, model: 0x6A, stepping: 6, libcpuidVersion: "0.6.2")
        #expect(icx.codename == "Xeon (Ice Lake-SP)" && icx.correction == nil)
    }

    @Test("a CPU outside the table keeps libcpuid's name")
    func outsideTable() {
        let name = CPUIdentity.Codenames.correct(
            "Core i7 (Alder Lake-P)", vendor: .intel, family: 6, model: 0x9A, stepping: 3, libcpuidVersion: "0.6.2")
        #expect(name.codename == "Core i7 (Alder Lake-P)" && name.correction == nil)
    }

    @Test("an empty libcpuid name is filled from the table")
    func emptyName() {
        let name = CPUIdentity.Codenames.correct(
            "", vendor: .amd, family: 0x1A, model: 0x02, stepping: 1, libcpuidVersion: "0.6.2")
        #expect(name.codename == "Zen 5 (Turin)")
        #expect(
            name.correction
                == "libcpuid 0.6.2 has no name for family 1Ah model 02h; family 1Ah models 00h–0Fh are Zen 5 (Turin)")
    }

    @Test("table ranges of one vendor and family do not overlap")
    func tableIsConsistent() {
        let table = CPUIdentity.Codenames.table
        for (i, a) in table.enumerated() {
            for b in table[(i + 1)...] where a.vendor == b.vendor && a.family == b.family {
                #expect(!(a.models.overlaps(b.models) && a.steppings.overlaps(b.steppings)), "\(a.name) / \(b.name)")
            }
        }
    }
}
