// The fleet matrix: grouping by fingerprint and the folding of several reports per host, the outlier rule
// against an independent NumPy computation (Fixtures/fleet-outliers, made by its make_expected.py), no
// outliers among reports of one machine, and every output format of the matrix.

import Documents
import Foundation
import Report
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite("fleet matrix")
struct FleetTests {
    static func machine(kernel: String = "6.1.0", module: String = "kvm_amd") -> MachineFingerprint {
        MachineFingerprint(
            cpu: "AMD EPYC", kernel: kernel, kvmModule: module, kvmParameters: ["nested": "1"], level: "L0",
            guestLevel: "L1", hypervisors: [], emulatedHost: false)
    }

    static func bench(_ host: String, label: String = "", kernel: String = "6.1.0", pio: Double) -> FleetEntry {
        FleetEntry(
            host: host, label: label, kind: .bench, fingerprint: machine(kernel: kernel), canHost: "yes",
            guestsCanHost: "yes",
            exits: [
                "cpuid-0/long64-cpl0": FleetFigure(cycles: 1000, nanoseconds: 400),
                "pio-out-user/long64-cpl0": FleetFigure(cycles: pio, nanoseconds: pio / 2.5),
            ])
    }

    @Test("hosts group by fingerprint; a host's reports fold into one row with the median of its figures")
    func grouping() throws {
        var accumulator = FleetAccumulator()
        for pio in [5000.0, 5400, 5100] { accumulator.add(Self.bench("a", label: "m5", pio: pio)) }
        accumulator.add(Self.bench("b", label: "m5", pio: 5200))
        accumulator.add(Self.bench("a", label: "m6", pio: 9000))
        accumulator.add(Self.bench("c", kernel: "6.12.0", pio: 4800))
        accumulator.add(
            FleetEntry(
                host: "a", label: "m5", kind: .qualification,
                fingerprint: MachineFingerprint(
                    cpu: "AMD EPYC", kernel: nil, kvmModule: "kvm_amd", kvmParameters: nil, level: "L0",
                    guestLevel: "L1", hypervisors: [], emulatedHost: false),
                policy: "fast-exits", qualified: false))
        accumulator.add(
            FleetEntry(
                host: "d", label: "", kind: .diagnosis, fingerprint: Self.machine(kernel: "6.12.0"), canHost: "yes",
                guestsCanHost: "no"))
        accumulator.add(FleetFileError(file: "x.json", message: "x.json: not valid JSON"))
        let matrix = FleetMatrix(accumulator)
        #expect(matrix.reportCount == 8)
        #expect(matrix.groups.count == 2)
        #expect(matrix.rows.count == 5)
        let old = try #require(matrix.groups.first { $0.fingerprint.kernel == "6.1.0" })
        #expect(old.rows.map { "\($0.host.host)/\($0.host.label)" } == ["a/m5", "a/m6", "b/m5"])
        let a = try #require(old.rows.first)
        #expect(a.host.reports[.bench] == 3 && a.host.reports[.qualification] == 1)
        #expect(a.figures["pio-out-user/long64-cpl0"]?.cycles == 5100)
        #expect(a.host.qualificationFailed)
        #expect(a.host.verdict == "fast-exits: NOT qualified")
        #expect(old.medians["pio-out-user/long64-cpl0"]?.cycles == 5200)
        #expect(old.judged.isEmpty, "three hosts are too few to judge")
        let new = try #require(matrix.groups.first { $0.fingerprint.kernel == "6.12.0" })
        #expect(new.rows.map(\.host.host) == ["c", "d"])
        #expect(new.rows[1].host.verdict == "can host: yes; nested: no")
        #expect(new.rows[1].figures.isEmpty)
        #expect(matrix.notQualifiedCount == 1)
        #expect(matrix.errors == [FleetFileError(file: "x.json", message: "x.json: not valid JSON")])
        #expect(old.key == Self.machine().key && old.key.count == 16)
    }

    @Test("the fingerprint's key is the SHA-256 prefix the history has always stored for a bench report")
    func fingerprintKey() throws {
        let fingerprint = MachineFingerprint(try CompareFixtures.real().context)
        // Python: hashlib.sha256("cpu=AMD EPYC (family 19h …)\nkernel=6.18.44-fc-v669\n…".encode()).hexdigest()[:16]
        #expect(fingerprint.key == "3e0f98c6be729b7f")
        #expect(fingerprint.summary.hasSuffix("· kvm_pvm · L2+→L3+ · under KVM"))
    }

    struct OracleInput: Decodable {
        var k: Double
        var minimumRatio: Double
        var minimumGroup: Int
        var groups: [[Double]]
    }

    struct OracleExpected: Decodable {
        var groups: [[FleetOutlierRule.Judgement]?]
    }

    @Test("the outlier rule agrees with NumPy's computation of it, group by group and host by host")
    func outlierOracle() throws {
        let input = try JSONDecoder().decode(
            OracleInput.self,
            from: Data(contentsOf: URL(fileURLWithPath: CompareFixtures.path("fleet-outliers/input.json"))))
        let expected = try JSONDecoder().decode(
            OracleExpected.self,
            from: Data(contentsOf: URL(fileURLWithPath: CompareFixtures.path("fleet-outliers/expected.json"))))
        let rule = FleetOutlierRule(k: input.k, minimumRatio: input.minimumRatio, minimumGroup: input.minimumGroup)
        #expect(rule == .standard, "the oracle checks the rule nestprobe applies")
        #expect(input.groups.count == expected.groups.count)
        var outliers = 0
        for (values, want) in zip(input.groups, expected.groups) {
            let got = rule.judge(values)
            guard let want else {
                #expect(got == nil)
                continue
            }
            let judgements = try #require(got)
            #expect(judgements.count == want.count)
            for (g, w) in zip(judgements, want) {
                #expect(g.outlier == w.outlier)
                #expect(abs(g.logRatio - w.logRatio) <= 1e-12)
                #expect((g.score == nil) == (w.score == nil))
                if let gs = g.score, let ws = w.score { #expect(abs(gs - ws) <= 1e-9 * max(1, abs(ws))) }
                outliers += g.outlier ? 1 : 0
            }
        }
        #expect(outliers == 4)
    }

    @Test("reports of one machine (A/A) give no outlier: identical figures, and 2 % noise; twice as slow is one")
    func sameMachine() {
        var accumulator = FleetAccumulator()
        for (index, noise) in [1.0, 1.02, 0.98, 1.01, 0.99, 1.0, 1.015, 0.985].enumerated() {
            accumulator.add(Self.bench("h\(index)", pio: 6000 * noise))
        }
        let matrix = FleetMatrix(accumulator)
        #expect(matrix.groups.count == 1)
        #expect(matrix.groups[0].judged == ["cpuid-0/long64-cpl0", "pio-out-user/long64-cpl0"])
        #expect(matrix.outlierCount == 0)
        accumulator.add(Self.bench("slow", pio: 6000 * 2))
        let flagged = FleetMatrix(accumulator)
        #expect(flagged.rows.filter(\.outlier).map(\.host.host) == ["slow"])
        #expect(flagged.rows.first { $0.host.host == "slow" }?.outlierExits == ["pio-out-user/long64-cpl0"])
    }

    static func sample() -> FleetMatrix {
        var accumulator = FleetAccumulator()
        for (index, pio) in [6000.0, 6100, 5900, 6050, 11000].enumerated() {
            accumulator.add(Self.bench("h\(index)", label: index == 0 ? "a|b<c>&\"d\"" : "", pio: pio))
        }
        accumulator.add(
            FleetEntry(
                host: "=cmd", label: "", kind: .qualification, fingerprint: Self.machine(kernel: "5.10"),
                policy: "nested-ready", qualified: false))
        accumulator.add(FleetFileError(file: "bad\n.json", message: "bad .json: not valid JSON"))
        return FleetMatrix(accumulator)
    }

    @Test("text and Markdown: one table per group, the outlier marked, the errors listed, names escaped")
    func textFormats() throws {
        let matrix = Self.sample()
        let text = try FleetFormat.text.render(matrix)
        #expect(text.contains("6 hosts in 2 machine groups from 6 reports"))
        #expect(text.contains("11,000 !"))
        #expect(text.contains("OUTLIER h4: pio-out-user/long64-cpl0 +82 %"))
        #expect(text.contains("bad\\n.json: bad .json: not valid JSON"))
        #expect(text.hasSuffix("result: 1 outlier, 1 host not qualified, 1 file not read\n"))
        let markdown = try FleetFormat.markdown.render(matrix)
        #expect(markdown.contains("**11,000 (4.40)**"))
        #expect(markdown.contains("a\\|b\\<c\\>\\&\"d\""))
        #expect(markdown.contains("| *group median* |"))
    }

    @Test("CSV: a header, one line per host and per file not read, fields quoted and formulas defused")
    func csv() throws {
        let csv = try FleetFormat.csv.render(Self.sample())
        let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 1 + 6 + 1)
        #expect(lines[0].hasPrefix("status,machine,host,label,level,hypervisor,KVM_module,verdict,qualified,outlier,"))
        let columns = lines[0].split(separator: ",").count
        #expect(columns == 10 + 3 * FleetExits.ids.count + 1)
        #expect(csv.contains("\"'=cmd\""))
        #expect(csv.contains("\"a|b<c>&\"\"d\"\"\""))
        #expect(csv.contains("\r\nerror,,\"bad\n.json\","))
        #expect(lines.contains { $0.contains(",h4,") && $0.contains(",true,") })
    }

    @Test("HTML and JUnit are well-formed XML; JUnit fails the outlier and the host not qualified")
    func markupFormats() throws {
        let matrix = Self.sample()
        let html = try FleetFormat.html.render(matrix)
        #expect(XMLParser(data: Data(html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "").utf8)).parse())
        #expect(html.contains("a|b&lt;c&gt;&amp;&quot;d&quot;"))
        let junit = try FleetFormat.junit.render(matrix)
        let checker = QualifyJUnitChecker(Data(junit.utf8))
        #expect(checker.wellFormed)
        #expect(checker.testcases == 7)
        #expect(checker.failures == 2)
        #expect(
            junit.contains(
                #"<failure type="outlier" message="outlier on pio-out-user/long64-cpl0: +82 % from the group median"/>"#
            ))
        #expect(junit.contains(#"<failure type="not-qualified" message="not qualified under nested-ready"/>"#))
        #expect(junit.contains(#"<error type="bad-input" message="bad .json: not valid JSON"/>"#))
    }

    @Test("JSON: the versioned document decodes back with the same groups and standings")
    func json() throws {
        let text = try FleetFormat.json.render(Self.sample())
        let document = try JSONDecoder().decode(FleetDocument.self, from: Data(text.utf8))
        #expect(document.schema == "nestprobe.fleet" && document.version == 1)
        #expect(document.hosts == 6 && document.outliers == 1 && document.notQualified == 1)
        #expect(document.groups.flatMap(\.hosts).filter(\.outlier).map(\.host) == ["h4"])
        #expect(document.errors.count == 1)
        #expect(document.exits == FleetExits.ids)
    }
}
