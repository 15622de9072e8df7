// `nestprobe render` end to end: each format on standard output, -o written atomically (no temporary file
// left behind), and bad input as one line naming the file with the documented exit code.

import Foundation
import TestSupport
import Testing

@Suite("Render: command line")
struct RenderCLITests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-render-\(UUID())")

    @Test("each format on standard output, exit 0", arguments: ["text", "markdown", "html", "openmetrics", "junit"])
    func formats(_ format: String) throws {
        let (status, out, err) = try NestprobeRunner.run(["render", try RenderFixture.path(), "--format", format]).parts
        #expect(status == 0, "\(err)")
        #expect(err.isEmpty)
        #expect(out.contains("cpuid-0/long64-cpl3"))
    }

    @Test("-o writes the whole file atomically and leaves no temporary file")
    func outputFile() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("report.html").path
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        let (status, out, err) = try NestprobeRunner.run([
            "render", try RenderFixture.path(), "-f", "html", "-o", target,
        ]).parts
        #expect(status == 0, "\(err)")
        #expect(out.isEmpty)
        let written = try String(contentsOfFile: target, encoding: .utf8)
        #expect(written.hasPrefix("<!DOCTYPE html>") && written.hasSuffix("</html>\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["report.html"])
    }

    @Test("bad input: exit 65 and one line naming the file; missing: 66; unwritable output: 73")
    func badInput() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let garbage = folder.appendingPathComponent("garbage.json").path
        try "{\"schema\": \"nestprobe.bench\", \"version\": 1, \"cases\": 3}".write(
            toFile: garbage, atomically: false, encoding: .utf8)
        let snapshot = folder.appendingPathComponent("snapshot.json").path
        try "{\"schema\": \"nestprobe.snapshot\", \"version\": 1}".write(
            toFile: snapshot, atomically: false, encoding: .utf8)
        for file in [garbage, snapshot, folder.path] {
            let (status, out, err) = try NestprobeRunner.run(["render", file, "-f", "html"]).parts
            #expect(status == 65, "\(file): \(err)")
            #expect(out.isEmpty)
            #expect(err.split(separator: "\n").count == 1 && err.contains(file), "\(err)")
        }
        let missing = folder.appendingPathComponent("missing.json").path
        let (status, _, err) = try NestprobeRunner.run(["render", missing]).parts
        #expect(status == 66 && err.contains(missing))
        let unwritable = folder.appendingPathComponent("no/such/dir/out.prom").path
        let written = try NestprobeRunner.run([
            "render", try RenderFixture.path(), "-f", "openmetrics", "-o", unwritable,
        ]).parts
        #expect(written.status == 73 && written.err.contains(unwritable))
    }

    @Test("an unknown format is a usage error (64)")
    func unknownFormat() throws {
        let (status, _, err) = try NestprobeRunner.run(["render", try RenderFixture.path(), "--format", "pdf"]).parts
        #expect(status == 64)
        #expect(err.contains("pdf"))
    }
}
