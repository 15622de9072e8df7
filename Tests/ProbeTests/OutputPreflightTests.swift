// Output paths checked before the work: AtomicFile.preflight refuses what AtomicFile.write refuses, with the
// same line, and makes nothing; `qualify`, `bench`, `compare`, `fleet` and `history` check their output files
// before they bench or read, so a bad path costs no bench run. Device nodes are made with mknod(1) in a
// scratch folder, never aimed at the real /dev. The commands run in a private mount namespace (unshare) whose
// /dev/kvm is an empty file: a qualify that benched in spite of a bad path would find no KVM to boot guests
// on, and print progress lines the tests would see. The read-only file system is a tmpfs mounted there.

import Foundation
import TestSupport
import Testing

@testable import Probe

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool such as mknod(1) or mkfifo(1); whether it succeeded.
private func runTool(_ path: String, _ arguments: [String]) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// mknod(1) in a scratch folder; whether it succeeded.
private func makeNode(_ path: String, _ type: String, _ major: Int, _ minor: Int) throws -> Bool {
    try runTool("/usr/bin/mknod", [path, type, String(major), String(minor)])
}

@Suite("AtomicFile.preflight: the writer's refusals, before the work")
struct AtomicFilePreflightTests {
    static let isRoot = getuid() == 0

    /// The line `write` throws at `path`, or nil when it wrote.
    static func writeError(_ path: String) -> String? {
        do { try AtomicFile.write(Data("x\n".utf8), to: path) } catch { return error.message }
        return nil
    }

    /// The line `preflight` throws at `path`, or nil when it passed.
    static func preflightError(_ path: String) -> String? {
        do { try AtomicFile.preflight(path) } catch { return error.message }
        return nil
    }

    @Test("a missing folder, a file as a folder, a directory, a name ending in /, a dangling link: the writer's line")
    func sameLines() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.write("file", text: "kept\n")
        try scratch.makeFolder("sub")
        try FileManager.default.createSymbolicLink(atPath: scratch.path("dangling"), withDestinationPath: "nowhere/x")
        let before = try scratch.names()
        for name in ["missing/out.json", "file/out.json", "sub", "out/", "dangling", "sub/deeper/out.json"] {
            let path = scratch.path(name)
            let early = Self.preflightError(path)
            #expect(early != nil, "\(name): preflight passed")
            #expect(early == Self.writeError(path), "\(name)")
        }
        #expect(try scratch.names() == before)
        #expect(try String(contentsOfFile: scratch.path("file"), encoding: .utf8) == "kept\n")
        #expect(
            Self.preflightError(scratch.path("missing/out.json"))?.hasSuffix(
                "cannot create a file in "
                    + scratch.path("missing") + ": ENOENT (No such file or directory)") == true)
        #expect(Self.preflightError(scratch.path("file/out.json"))?.contains(": ENOTDIR (") == true)
    }

    @Test("a new file, an existing file, a link to one, a FIFO without a reader: preflight passes, touches nothing")
    func passes() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let existing = try scratch.write("old.json", text: "old\n", permissions: 0o444)
        try FileManager.default.createSymbolicLink(atPath: scratch.path("link.json"), withDestinationPath: "old.json")
        try #require(try runTool("/usr/bin/mkfifo", ["-m", "600", scratch.path("fifo")]))
        let before = try scratch.names()
        for name in ["new.json", "old.json", "link.json", "fifo"] {
            #expect(Self.preflightError(scratch.path(name)) == nil, "\(name)")
        }
        // A FIFO opened for writing without a reader would fail (ENXIO) or block; preflight does not open it.
        #expect(try scratch.names() == before)
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "old\n")
        #expect(try SystemDoor.status(existing, followingLinks: false).permissions == 0o444)
        #expect(Self.preflightError("/proc/self/fd/1") == nil)
        #expect(Self.preflightError("/proc/self/fd/987654")?.contains("EBADF") == true)
    }

    @Test(
        "a block device, a memory device: refused with the writer's line; a null-like device passes",
        .enabled(if: isRoot, "mknod needs root"))
    func devices() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try #require(try makeNode(scratch.path("loop"), "b", 7, 200))
        try #require(try makeNode(scratch.path("mem"), "c", 1, 1))
        try #require(try makeNode(scratch.path("null"), "c", 1, 3))
        for name in ["loop", "mem"] {
            let early = Self.preflightError(scratch.path(name))
            #expect(early != nil && early == Self.writeError(scratch.path(name)), "\(name): \(early ?? "passed")")
        }
        #expect(Self.preflightError(scratch.path("null")) == nil)
        for name in ["loop", "mem", "null"] {
            let kind = try SystemDoor.status(scratch.path(name), followingLinks: false).kind
            #expect(kind == (name == "loop" ? .blockDevice : .characterDevice), "\(name)")
        }
    }
}

@Suite("output paths checked before the bench and the reading")
struct OutputPreflightCLITests {
    /// unshare, mount and setpriv need root; the namespace keeps every mount to the test.
    static var usable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    /// Runs nestprobe in `directory` inside a private mount namespace where /dev/kvm (when there is one) is an
    /// empty file. `readOnly`: a tmpfs is mounted at that folder, `seed` is written into it as r.json, and the
    /// tmpfs is made read-only before nestprobe runs; afterwards its names and r.json are printed on standard
    /// output after a "--- after" line. `nobody`: run as uid and gid 65534 with no capabilities.
    static func run(
        _ arguments: [String], in directory: String, readOnly: String? = nil, seed: String = "old\n",
        nobody: Bool = false
    ) throws -> NestprobeRunner.Result {
        let binary = try #require(NestprobeRunner.binary)
        let empty = directory + "/.no-kvm"
        try #require(FileManager.default.createFile(atPath: empty, contents: nil))
        var script = "[ ! -e /dev/kvm ] || mount --bind \"$EMPTY\" /dev/kvm || exit 99\n"
        if readOnly != nil {
            script += """
                mount -t tmpfs -o size=64k nestprobe-preflight "$RO" || exit 99
                printf %s "$SEED" >"$RO/r.json" && mount -o remount,ro "$RO" || exit 99

                """
        }
        script += nobody ? "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \"$@\"\n" : "\"$@\"\n"
        script += "rc=$?\n"
        if readOnly != nil { script += "echo '--- after'; ls -A \"$RO\"; cat \"$RO/r.json\"\n" }
        script += "exit $rc\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments =
            ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", binary.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment["EMPTY"] = empty
        environment["RO"] = readOnly ?? ""
        environment["SEED"] = seed
        process.environment = environment
        defer { try? FileManager.default.removeItem(atPath: empty) }
        return try NestprobeRunner.wait(process, in: directory, timeout: .seconds(120))
    }

    /// Exit 73 and exactly `line` on standard error: the writer's line, and no bench progress before it.
    static func expectRefused(_ result: NestprobeRunner.Result, _ line: String, _ what: String) {
        #expect(result.status == 73 && !result.signalled, "\(what): exit \(result.status): \(result.err)")
        #expect(result.err == "nestprobe: \(line)\n", "\(what)")
    }

    @Test(
        "qualify --report-out, --junit, -o: a missing folder, a directory, a file as a folder, devices: exit 73 before the bench",
        .enabled(if: usable, "needs root for unshare and mknod"))
    func qualifyRefusesEarly() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.makeFolder("sub")
        try scratch.write("file", text: "kept\n")
        try #require(try makeNode(scratch.path("loop"), "b", 7, 200))
        try #require(try makeNode(scratch.path("mem"), "c", 1, 1))
        let before = try scratch.names()
        let cases: [(String, String)] = [
            ("missing/r.json", "missing/r.json: cannot create a file in missing: ENOENT (No such file or directory)"),
            ("sub", "sub: is a directory, not a file: EISDIR (Is a directory)"),
            ("file/r.json", "file/r.json: cannot examine: ENOTDIR (Not a directory)"),
            ("loop", "loop: is a block device; refusing to write a report over it"),
            ("mem", "mem: is a memory device (1,1); refusing to write to it"),
        ]
        for (path, line) in cases {
            let result = try Self.run(["qualify", "--policy", "nested-ready", "--report-out", path], in: scratch.path)
            Self.expectRefused(result, line, "--report-out \(path)")
            // The same check for --junit and -o.
            let junit = try Self.run(["qualify", "--policy", "nested-ready", "--junit", path], in: scratch.path)
            Self.expectRefused(junit, line, "--junit \(path)")
            let output = try Self.run(["qualify", "--policy", "nested-ready", "-o", path], in: scratch.path)
            Self.expectRefused(output, line, "-o \(path)")
        }
        #expect(try scratch.names() == before)
        #expect(try String(contentsOfFile: scratch.path("file"), encoding: .utf8) == "kept\n")
        #expect(try SystemDoor.status(scratch.path("loop"), followingLinks: false).kind == .blockDevice)
    }

    @Test(
        "qualify --report-out on a read-only file system: exit 73 (EROFS) before the bench, the old file kept",
        .enabled(if: usable, "needs root for unshare and mount"))
    func readOnlyFileSystem() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.makeFolder("ro")
        for target in ["ro/r.json", "ro/new.json"] {
            let result = try Self.run(
                ["qualify", "--policy", "nested-ready", "--report-out", target], in: scratch.path,
                readOnly: scratch.path("ro"))
            #expect(result.status == 73, "\(target): \(result.err)")
            #expect(result.err == "nestprobe: \(target): cannot write: EROFS (Read-only file system)\n", "\(target)")
            // Only the seed is there, unchanged: no temporary file, no new file.
            #expect(result.out.hasSuffix("--- after\nr.json\nold\n"), "\(target): \(result.out)")
        }
        let bench = try Self.run(
            ["bench", "--device", scratch.path("no-kvm"), "-o", "ro/r.json"], in: scratch.path,
            readOnly: scratch.path("ro"))
        Self.expectRefused(bench, "ro/r.json: cannot write: EROFS (Read-only file system)", "bench -o")
        #expect(bench.out.hasSuffix("--- after\nr.json\nold\n"), "\(bench.out)")
    }

    @Test(
        "qualify --report-out in a folder nobody may write: exit 73 (EACCES) before the bench, nothing made",
        .enabled(
            if: usable && UnprivilegedRunTests.setprivUsable,
            "needs root, setpriv and a binary others may run"))
    func noPermission() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path)
        try scratch.makeFolder("locked")
        try scratch.write("locked/r.json", text: "old\n")
        for target in ["locked/r.json", "locked/new.json"] {
            let result = try Self.run(
                ["qualify", "--policy", "nested-ready", "--report-out", target], in: scratch.path, nobody: true)
            Self.expectRefused(result, "\(target): cannot write: EACCES (Permission denied)", "\(target)")
        }
        #expect(try scratch.names("locked") == ["r.json"])
        #expect(try String(contentsOfFile: scratch.path("locked/r.json"), encoding: .utf8) == "old\n")
    }

    @Test(
        "bench -o a missing folder: exit 73 with no progress line, nothing made",
        .enabled(if: usable, "needs root for unshare"))
    func benchRefusesEarly() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        // --device names nothing: without the early check bench would time this level's cases, print their
        // progress and then fail.
        let result = try Self.run(["bench", "--device", scratch.path("no-kvm"), "-o", "none/b.json"], in: scratch.path)
        Self.expectRefused(
            result, "none/b.json: cannot create a file in none: ENOENT (No such file or directory)", "bench -o")
        #expect(try scratch.names() == [])
    }

    @Test(
        "compare, fleet, history check and export -o a missing folder: exit 73 before their inputs are read",
        .enabled(if: usable, "needs root for unshare"))
    func readersRefuseEarly() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let line = "none/out: cannot create a file in none: ENOENT (No such file or directory)"
        // Inputs that do not exist: read first, they would be exit 66.
        for arguments in [
            ["compare", "a.json", "b.json", "-o", "none/out"], ["fleet", "reports", "-o", "none/out"],
            ["history", "check", "--db", "h.sqlite", "-o", "none/out"],
            ["history", "export", "--db", "h.sqlite", "-o", "none/out"],
        ] {
            Self.expectRefused(try Self.run(arguments, in: scratch.path), line, arguments.joined(separator: " "))
        }
        // No history store was made.
        #expect(try scratch.names() == [])
        // "-" is standard output, not a file: it passes, and the missing inputs are then the error.
        let dash = try Self.run(["compare", "a.json", "b.json", "-o", "-"], in: scratch.path)
        #expect(dash.status == 66, "\(dash.err)")
    }
}
