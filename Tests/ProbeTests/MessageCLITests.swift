// The nestprobe binary's messages: one line, control characters escaped.

import Foundation
import TestSupport
import Testing

@Suite("nestprobe messages")
struct MessageCLITests {
    static let snapshot = "snapshots/vmware-guest.json"

    @Test("a file name with a newline and an escape sequence: one line, both shown escaped")
    func controlCharactersInMessages() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let name = "bad\nname\u{1b}[2J.json"
        let missing = try NestprobeRunner.run(["diagnose", "--snapshot", name], in: scratch.path)
        #expect(missing.status == 66)
        #expect(missing.err == "nestprobe: bad\\nname\\u{1b}[2J.json: ENOENT (No such file or directory)\n")
        let unwritable = try NestprobeRunner.run(
            ["diagnose", "--snapshot", try fixturePath(Self.snapshot), "-o", "no/such/\(name)"], in: scratch.path)
        #expect(unwritable.status == 73)
        #expect(unwritable.err.split(separator: "\n").count == 1)
        #expect(!unwritable.err.contains("\u{1b}"))
        let usage = try NestprobeRunner.run(["diagnose", "--no-such\u{1b}[31m-option\nx"], in: scratch.path)
        #expect(usage.status == 64)
        #expect(usage.err.split(separator: "\n").count == 1, "\(usage.err)")
        #expect(usage.err.contains("--no-such\\u{1b}[31m-option\\nx"))
    }
}
