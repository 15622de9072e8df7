// The nestprobe binary writing its output: one-character names, /dev/fd/1, device nodes, the umask, and a
// signal in the write window.

import Foundation
import TestSupport
import Testing

@testable import Probe

#if canImport(Glibc)
    import Glibc
#endif

@Suite("nestprobe -o: output targets")
struct OutputCLITests {
    static let snapshot = "snapshots/vmware-guest.json"

    @Test("one-character names work (they trapped with SIGILL): -o x writes x; -o . and -o x/ are exit 73")
    func oneCharacterNames() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let snapshot = try fixturePath(Self.snapshot)
        let written = try NestprobeRunner.run(
            ["diagnose", "--snapshot", snapshot, "--json", "-o", "x"], in: scratch.path)
        #expect(written.status == 0, "\(written.err)")
        #expect(!written.signalled)
        #expect(try scratch.names() == ["x"])
        for name in [".", "x/", "y/", "./"] {
            let refused = try NestprobeRunner.run(["diagnose", "--snapshot", snapshot, "-o", name], in: scratch.path)
            #expect(refused.status == 73, "\(name): \(refused.err)")
            #expect(refused.err.split(separator: "\n").count == 1)
            #expect(refused.err.contains("EISDIR"))
        }
        #expect(try scratch.names() == ["x"])
    }

    static let isRoot = getuid() == 0

    // Never aimed at the real /dev/null, /dev/full or /dev/stdout: a nestprobe that replaces its target (as
    // the first versions did) would replace those for the whole machine. Device nodes are made in a scratch
    // folder instead, and the descriptor names used are the ones under /proc, which cannot be replaced.
    @Test("-o /dev/fd/1 and /proc/self/fd/1 write to standard output")
    func standardOutput() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let snapshot = try fixturePath(Self.snapshot)
        for path in ["/dev/fd/1", "/proc/self/fd/1"] {
            let result = try NestprobeRunner.run(
                ["diagnose", "--snapshot", snapshot, "--json", "-o", path], in: scratch.path)
            #expect(result.status == 0, "\(path): \(result.err)")
            #expect(result.out.contains("\"schema\" : \"nestprobe.diagnosis\""), "\(path)")
        }
        #expect(AtomicFile.standardDescriptor("/dev/stdout") == 1)
        #expect(AtomicFile.standardDescriptor("/dev/stderr") == 2)
        #expect(AtomicFile.standardDescriptor("/dev/fd/x") == nil)
    }

    @Test(
        "-o to a null device node succeeds and leaves it a device; to a full one it is exit 73 (ENOSPC)",
        .enabled(if: isRoot, "mknod needs root"))
    func deviceNodes() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let snapshot = try fixturePath(Self.snapshot)
        for (name, minor) in [("fakenull", "3"), ("fakefull", "7")] {
            let make = Process()
            make.executableURL = URL(fileURLWithPath: "/usr/bin/mknod")
            make.arguments = ["-m", "666", scratch.path(name), "c", "1", minor]
            try make.run()
            make.waitUntilExit()
            try #require(make.terminationStatus == 0)
        }
        let toNull = try NestprobeRunner.run(["diagnose", "--snapshot", snapshot, "-o", "fakenull"], in: scratch.path)
        #expect(toNull.status == 0, "\(toNull.err)")
        let toFull = try NestprobeRunner.run(["diagnose", "--snapshot", snapshot, "-o", "fakefull"], in: scratch.path)
        #expect(toFull.status == 73)
        #expect(toFull.err == "nestprobe: fakefull: cannot write: ENOSPC (No space left on device)\n")
        for name in ["fakenull", "fakefull"] {
            #expect(try SystemDoor.status(scratch.path(name), followingLinks: false).kind == .characterDevice)
        }
        #expect(try scratch.names() == ["fakefull", "fakenull"])
    }

    @Test("a new file gets 0666 less the umask", arguments: [("077", 0o600), ("002", 0o664), ("022", 0o644)])
    func umask(mask: String, expected: Int) throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let result = try NestprobeRunner.run(
            ["diagnose", "--snapshot", try fixturePath(Self.snapshot), "-o", "new.txt"], in: scratch.path, umask: mask)
        #expect(result.status == 0, "\(result.err)")
        #expect(try SystemDoor.status(scratch.path("new.txt"), followingLinks: false).permissions == mode_t(expected))
    }

    static var straceUsable: Bool {
        ["/usr/bin/strace", "/usr/bin/perl", "/usr/bin/pgrep"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    @Test(
        "SIGTERM in the write window removes the temporary file and still ends the process by the signal",
        .enabled(
            if: straceUsable, "strace holds the process inside the write window; it, perl or pgrep is not installed"))
    func signalInWriteWindow() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let work = try scratch.makeFolder("work")
        let binary = try #require(NestprobeRunner.binary)
        let process = Process()
        // The test runner's threads block most signals and a spawned process inherits that mask; perl clears
        // it before running strace, so SIGTERM reaches nestprobe as it would from a shell.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
        // Delay the first fsync (the temporary file's, before the rename) by 3 s: the process sits in the window.
        process.arguments = [
            "-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV or die",
            "/usr/bin/strace", "-f", "-qq", "-o", scratch.path("trace.txt"), "-e", "trace=fsync,unlink", "-e",
            "inject=fsync:delay_enter=3000000:when=1",
            binary.path, "diagnose", "--snapshot", try fixturePath(Self.snapshot), "-o", "report.txt",
        ]
        var sawTemporary = false
        let result = try NestprobeRunner.wait(process, in: work) { tracer in
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, !sawTemporary {
                sawTemporary = (try? scratch.names("work"))?.contains { $0.hasPrefix(".report.txt.") } ?? false
                if !sawTemporary { usleep(20_000) }
            }
            guard sawTemporary, let child = Self.child(of: tracer.processIdentifier) else { return }
            kill(child, SIGTERM)
        }
        try #require(sawTemporary, "the temporary file never appeared: \(result.err)")
        #expect(try scratch.names("work").isEmpty, "no .report.txt.XXXXXX left behind, and no half report")
        let trace = try String(contentsOfFile: scratch.path("trace.txt"), encoding: .utf8)
        #expect(trace.contains("unlink(\"./.report.txt."), "the handler removed it: \(trace)")
        #expect(trace.contains("+++ killed by SIGTERM +++"), "the process still ends by the signal")
    }

    /// The live diagnosis reads everything itself: under strace it makes no process (no execve past its own,
    /// no fork, vfork or clone without CLONE_THREAD), unlike detectors that run systemd-detect-virt or dmesg.
    @Test(
        "diagnose, live, spawns no process",
        .enabled(if: straceUsable, "strace, perl or pgrep is not installed (scripts/setup.sh --test installs strace)"))
    func diagnoseSpawnsNoProcess() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let binary = try #require(NestprobeRunner.binary)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        process.arguments = [
            "-f", "-qq", "-o", scratch.path("trace.txt"), "-e", "trace=execve,fork,vfork,clone,clone3",
            binary.path, "diagnose", "--json", "-o", scratch.path("diagnosis.json"),
        ]
        let result = try NestprobeRunner.wait(process, in: scratch.path)
        #expect(result.status == 0 && !result.signalled, "diagnose under strace: \(result.err)")
        let trace = try String(contentsOfFile: scratch.path("trace.txt"), encoding: .utf8)
        let calls = trace.split(separator: "\n").filter { !$0.contains("resumed>") }
        let execs = calls.filter { $0.contains("execve(") }
        #expect(execs.count == 1, "only nestprobe's own execve: \(execs)")
        let spawns = calls.filter { line in
            (line.contains("fork(") || line.contains("clone(") || line.contains("clone3("))
                && !line.contains("CLONE_THREAD")
        }
        #expect(spawns.isEmpty, "no process made: \(spawns)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("diagnosis.json")))
    }

    /// The first child process of `parent`, as pgrep(1) finds it.
    static func child(of parent: Int32) -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        process.arguments = ["-P", "\(parent)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.flatMap { Int32($0) }
    }
}
