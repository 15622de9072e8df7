// A report made with `bench --inject-exit-delay` is slowed on purpose: compare says so in a note (the gate's
// own power check is what such reports are for), and qualify refuses it (exit 65) — a machine must never be
// admitted or rejected on a slowdown nestprobe added itself.

import Bench
import Foundation
import Probe
import TestSupport
import Testing

@testable import Report

@Suite("Reports made with an injected exit delay")
struct InjectedDelayTests {
    /// The real report, marked as bench marks a report made with `--inject-exit-delay 10%`.
    static func delayed() throws -> BenchReport {
        var report = try RenderFixture.report()
        report.context.injectedExitDelay = try JSONDecoder().decode(
            InjectedExitDelay.self,
            from: Data(
                (#"{"requested": "10%", "referenceCaseID": "pio-out-user/real", "referenceCycles": 24284, "#
                    + #""delayCycles": 2428, "delayNanoseconds": 935, "note": "DELAY INJECTED"}"#).utf8))
        return report
    }

    @Test("compare notes which side was slowed on purpose, and by how much")
    func compareNotes() throws {
        let plain = try RenderFixture.report()
        let result = try RunComparison.compare(
            base: [NamedReport(file: "base.json", report: plain)],
            new: [NamedReport(file: "new.json", report: try Self.delayed())])
        let note = try #require(result.notes.first { $0.contains("--inject-exit-delay") })
        #expect(note.contains("new new.json"))
        #expect(note.contains("2428 cycles"))
        #expect(!result.notes.contains { $0.contains("base base.json") })
    }

    @Test("qualify refuses the report with exit 65 and one line naming it")
    func qualifyRefuses() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-delay-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("delayed.bench.json").path
        try DocumentFile.encodeJSON(try Self.delayed()).write(to: URL(fileURLWithPath: path))
        // The repository's example policy: Tests/ReportTests/ThisFile.swift → ../../Reports/policies.
        let policyPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Reports/policies/pvm-host.json").path
        let run = try NestprobeRunner.run(["qualify", "--policy", policyPath, path]).parts
        #expect(run.status == 65)
        #expect(run.err.contains("--inject-exit-delay 10%"))
        #expect(run.err.split(separator: "\n").count == 1)
    }
}
