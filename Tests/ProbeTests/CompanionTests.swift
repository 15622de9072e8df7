// `nestprobe history …` runs nestprobe-history: Companion.locate finds it beside this executable (with the
// portable binary's suffix first) and then on PATH; the core binary, copied alone, says what is missing in
// one line with exit 69, and with the companion beside it the history runs.

import Foundation
import TestSupport
import Testing

@testable import Probe

@Suite("nestprobe-history beside nestprobe")
struct CompanionTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-companion-\(UUID())").path

    init() throws {
        try FileManager.default.createDirectory(atPath: folder + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/path", withIntermediateDirectories: true)
    }

    /// An executable (or, with `mode` 0o644, a plain) file at `path`.
    func file(_ path: String, mode: Int = 0o755) throws {
        _ = FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test("beside the executable first, the suffixed name before the plain one, then PATH")
    func order() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let own = folder + "/bin/nestprobe-0.1.0-linux-x86_64"
        try file(own)
        #expect(Companion.locate("nestprobe-history", path: folder + "/path", executable: own) == nil)
        try file(folder + "/path/nestprobe-history")
        #expect(
            Companion.locate("nestprobe-history", path: "/nonexistent:" + folder + "/path", executable: own)
                == folder + "/path/nestprobe-history")
        try file(folder + "/bin/nestprobe-history")
        #expect(
            Companion.locate("nestprobe-history", path: folder + "/path", executable: own)
                == folder + "/bin/nestprobe-history")
        try file(folder + "/bin/nestprobe-history-0.1.0-linux-x86_64")
        #expect(
            Companion.locate("nestprobe-history", path: folder + "/path", executable: own)
                == folder + "/bin/nestprobe-history-0.1.0-linux-x86_64")
    }

    @Test("a file that is not executable, or a folder, is passed over")
    func notExecutable() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let own = folder + "/bin/nestprobe"
        try file(own)
        try file(folder + "/bin/nestprobe-history", mode: 0o644)
        try FileManager.default.createDirectory(
            atPath: folder + "/path/nestprobe-history", withIntermediateDirectories: true)
        #expect(Companion.locate("nestprobe-history", path: folder + "/path", executable: own) == nil)
    }

    @Test("the core binary alone: history names what is missing, exit 69; with the companion it runs")
    func forwarding() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let built = try #require(NestprobeRunner.binary)
        let copy = folder + "/bin/nestprobe"
        try FileManager.default.copyItem(atPath: built.path, toPath: copy)
        let alone = Process()
        alone.executableURL = URL(fileURLWithPath: copy)
        alone.arguments = ["history", "list", "--db", folder + "/h.sqlite"]
        alone.environment = ["PATH": folder + "/path", "NO_COLOR": "1"]
        let missing = try NestprobeRunner.wait(alone).parts
        #expect(missing.status == 69)
        #expect(
            missing.err
                == "nestprobe: history needs nestprobe-history, which is neither beside this nestprobe nor on PATH (install both binaries; README, Install)\n"
        )
        #expect(!FileManager.default.fileExists(atPath: folder + "/h.sqlite"))
        // Beside the built nestprobe, its companion serves the same command.
        let companion = built.deletingLastPathComponent().appendingPathComponent("nestprobe-history").path
        try #require(FileManager.default.isExecutableFile(atPath: companion))
        let served = try NestprobeRunner.run(["history", "list", "--db", folder + "/h.sqlite"]).parts
        #expect(served.status == 0, "\(served.err)")
        #expect(FileManager.default.fileExists(atPath: folder + "/h.sqlite"))
    }
}
