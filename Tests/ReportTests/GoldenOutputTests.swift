// The render formats of the committed reports against the golden files in Tests/Golden, byte for byte.
// scripts/golden-outputs.sh wrote those files with the CLI (and checks every other output there: compare,
// qualify, diagnose); this suite checks the same render outputs from the library, inside `swift test`.

import Foundation
import Report
import Testing

@Suite("Golden outputs: every render format of the committed reports, byte for byte")
struct GoldenOutputTests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The reports the golden files were made from, relative to the root.
    static let reports = [
        "Reports/pvm-host-genoa/bench.json", "Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json",
        "Fuzz/seeds/report/small.json",
    ]

    @Test("each format renders each report to its golden bytes", arguments: reports, RenderFormat.allCases)
    func render(report: String, format: RenderFormat) throws {
        let path = Self.root.appendingPathComponent(report).path
        let name = report.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".json", with: "")
        let golden = Self.root.appendingPathComponent("Tests/Golden/render.\(name).\(format.rawValue)")
        let expected = try String(contentsOf: golden, encoding: .utf8)
        let rendered = format.render(try ReportFile.load(path))
        #expect(rendered == expected, "\(report) as \(format.rawValue) differs from \(golden.lastPathComponent)")
    }
}
