// `nestprobe fleet` end to end on the fleet fixture (Fixtures/fleet, made by its make_fleet.py): hosts and
// labels from the paths, label files and fleet-labels.json; the outlier and the failed qualification; the
// malformed files as error rows with exit 65; missing paths and empty folders 66; every format written.

import Foundation
import Report
import TestSupport
import Testing

@Suite("nestprobe fleet command line")
struct FleetCLITests {
    let fixture: String

    init() throws {
        fixture = try CompareFixtures.path("fleet")
    }

    @Test("the fixture folder: six hosts of one machine, a diagnosed one, one down; one outlier, two files not read")
    func folder() throws {
        let (status, out, err) = try NestprobeRunner.run(["fleet", fixture, "--json"]).parts
        #expect(status == 65, "\(err)")
        #expect(err == "nestprobe: 2 files could not be read as a report (listed in the output)\n")
        let document = try JSONDecoder().decode(FleetDocument.self, from: Data(out.utf8))
        #expect(document.reports == 10 && document.ignored == 1 && document.hosts == 8)
        #expect(document.groups.count == 3)
        let down = try #require(document.groups.flatMap(\.hosts).first { $0.host == "down-z" })
        #expect(down.status == "down" && down.qualified == false && down.label == "pvm.metal")
        #expect(down.verdict == "down: ssh: connect to host 10.215.3.4 port 22: Connection refused")
        #expect(document.notQualified == 2)
        let genoa = try #require(document.groups.first { $0.fingerprint.kvmModule == "kvm_pvm" })
        #expect(
            genoa.hosts.map { "\($0.host)/\($0.label)" } == [
                "genoa-a/pvm.metal", "genoa-b/pvm.metal", "genoa-c/pvm.metal", "genoa-d/pvm.metal-24xl",
                "genoa-e/pvm.metal",
                "genoa-f/pvm.spot",
            ])
        #expect(genoa.judged == FleetExits.ids)
        #expect(genoa.hosts.filter(\.outlier).map(\.host) == ["genoa-e"])
        #expect(genoa.hosts.first { $0.host == "genoa-e" }?.judgements["pio-out-user/long64-cpl0"]?.outlier == true)
        #expect(genoa.hosts.first { $0.host == "genoa-a" }?.reports == ["bench": 2, "qualification": 1])
        #expect(genoa.hosts.first { $0.host == "genoa-a" }?.qualified == true)
        #expect(genoa.hosts.first { $0.host == "genoa-b" }?.qualified == false)
        let intel = try #require(document.groups.first { $0.fingerprint.kvmModule == "kvm_intel" })
        #expect(intel.hosts.map(\.host) == ["intel-x"])
        #expect(intel.hosts[0].reports == ["diagnosis": 1] && intel.hosts[0].canHost != nil)
        #expect(
            document.errors.map { URL(fileURLWithPath: $0.file).lastPathComponent } == [
                "no-schema.json", "truncated.json",
            ])
        #expect(document.errors.allSatisfy { !$0.message.contains("\n") })
        let lenient = try NestprobeRunner.run(["fleet", fixture, "--json", "--min-ratio", "2.5"])
        let relaxed = try JSONDecoder().decode(FleetDocument.self, from: Data(lenient.out.utf8))
        #expect(relaxed.outliers == 0 && relaxed.rule.minimumRatio == 2.5)
    }

    @Test("reports named one by one: the folder names the host, a label file beside it the label; exit 3")
    func files() throws {
        let files = ["genoa-a/bench-0.json", "genoa-b/bench-0.json", "genoa-b/qualification.json"].map {
            "\(fixture)/\($0)"
        }
        let (status, out, err) = try NestprobeRunner.run(["fleet"] + files).parts
        #expect(status == 3, "\(err)")
        #expect(out.contains("\n  genoa-a ") && out.contains(" pvm.metal "))
        #expect(out.contains("pvm-host: NOT qualified"))
        #expect(out.hasSuffix("result: 0 outliers, 1 host not qualified, 0 files not read\n"))
    }

    @Test("every format, written atomically with -o")
    func formats() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for format in FleetFormat.allCases {
            let path = folder.appendingPathComponent("fleet.\(format.rawValue)").path
            let result = try NestprobeRunner.run(["fleet", fixture, "--format", format.rawValue, "-o", path])
            #expect(result.status == 65, "\(format): \(result.err)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            switch format {
            case .text: #expect(text.contains("OUTLIER genoa-e: pio-out-user/long64-cpl0 +"))
            case .markdown: #expect(text.hasPrefix("# nestprobe fleet\n"))
            case .csv: #expect(text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 1 + 8 + 2)
            case .html: #expect(text.hasPrefix("<!DOCTYPE html>") && text.contains("genoa-e"))
            case .junit: #expect(QualifyJUnitChecker(Data(text.utf8)).failures == 3)
            case .json: #expect(text.contains("\"schema\" : \"nestprobe.fleet\""))
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).count == FleetFormat.allCases.count)
    }

    @Test("bad input: a missing path and an empty folder 66, a malformed fleet-labels.json 65, one line each")
    func badInput() throws {
        let folder = try QualifyFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = try NestprobeRunner.run(["fleet", folder.appendingPathComponent("nothing").path])
        #expect(missing.status == 66)
        #expect(missing.err.hasSuffix("nothing: no such file or folder\n"))
        let empty = try NestprobeRunner.run(["fleet", folder.path])
        #expect(empty.status == 66)
        #expect(empty.err.contains("no bench, diagnosis or qualification report in"))
        try Data(#"{"a": 1}"#.utf8).write(to: folder.appendingPathComponent("fleet-labels.json"))
        let labels = try NestprobeRunner.run(["fleet", folder.path])
        #expect(labels.status == 65)
        #expect(labels.err.contains("fleet-labels.json: expected one JSON object of host names to labels"))
        #expect(labels.err.split(separator: "\n").count == 1)
        let usage = try NestprobeRunner.run(["fleet"])
        #expect(usage.status == 64)
        let ratio = try NestprobeRunner.run(["fleet", fixture, "--min-ratio", "1"])
        #expect(ratio.status == 64)
        #expect(ratio.err.contains("--min-ratio: expected a ratio above 1, got 1.0"))
    }
}
