// What AtomicFile does with each kind of thing at the output path: regular files keep their mode and are
// replaced whole, symbolic links are followed and kept, devices and FIFOs are written through and kept,
// directories, block devices and memory devices are refused. Device nodes are made with mknod(1) in a
// scratch folder, so these tests need root (they say so when skipped); none is aimed at the real /dev
// nodes, which a broken AtomicFile would replace for the whole machine.

import Foundation
import Testing

@testable import Probe

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a tool such as mknod and says whether it succeeded.
private func runTool(_ path: String, _ arguments: [String]) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}

/// lstat(2) of a path, as AtomicFile sees it.
private func kind(_ path: String) throws -> FileStatus {
    try SystemDoor.status(path, followingLinks: false)
}

@Suite("AtomicFile: what stands at the output path")
struct AtomicFileTargetTests {
    static let isRoot = getuid() == 0

    @Test("a rewritten file keeps its mode 0600 (it does not become 0644, world-readable)")
    func keepsMode() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.write("secret.json", text: "old\n", permissions: 0o600)
        try AtomicFile.write(Data("new\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        #expect(try kind(path).permissions == 0o600)
        #expect(try scratch.names() == ["secret.json"])
    }

    @Test("a symbolic link to a regular file: the target is updated, the link stays a link")
    func followsLink() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let target = try scratch.write("real.json", text: "old\n", permissions: 0o640)
        let link = scratch.path("link.json")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.json")
        try AtomicFile.write(Data("new\n".utf8), to: link)
        #expect(try kind(link).kind == .symbolicLink)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "real.json")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new\n")
        #expect(try kind(target).permissions == 0o640)
        #expect(try scratch.names() == ["link.json", "real.json"])
    }

    @Test("a dangling symbolic link is refused and kept")
    func danglingLink() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let link = scratch.path("link.json")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "missing/nothing.json")
        let error = #expect(throws: InputError.self) { try AtomicFile.write(Data("x".utf8), to: link) }
        #expect(error?.message.hasPrefix(link + ": ") == true)
        #expect(error?.message.contains("ENOENT") == true)
        #expect(try kind(link).kind == .symbolicLink)
    }

    @Test("a directory, or a name ending in /, is refused with EISDIR")
    func directory() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let folder = try scratch.makeFolder("out")
        for path in [folder, folder + "/", scratch.path("new/"), scratch.path(".")] {
            let error = #expect(throws: InputError.self) { try AtomicFile.write(Data("x".utf8), to: path) }
            #expect(error?.kind == .noInput)
            #expect(error?.message.contains("EISDIR") == true, "\(path): \(String(describing: error))")
        }
        #expect(try scratch.names() == ["out"])
        #expect(try scratch.names("out").isEmpty)
    }

    @Test("a name of 255 bytes is written (the temporary name is cut to stay under NAME_MAX)")
    func longName() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let name = String(repeating: "n", count: 250) + ".json"
        try AtomicFile.write(Data("x\n".utf8), to: scratch.path(name))
        #expect(try scratch.names() == [name])
    }

    @Test("paths split by bytes, one-character names included (NSString path handling trapped on them)")
    func split() {
        #expect(AtomicFile.split("x") == (".", "x"))
        #expect(AtomicFile.split("/x") == ("/", "x"))
        #expect(AtomicFile.split("a/b/x") == ("a/b", "x"))
        #expect(AtomicFile.split("é") == (".", "é"))
        let template = AtomicFile.template(folder: ".", name: String(repeating: "é", count: 150))
        #expect(template.count == 1 + 2 + 200 + 7 + 1, "the name is cut at 200 bytes, on a character boundary")
    }

    @Test(
        "a character device node (1,3: null) is written through and is still a device",
        .enabled(if: isRoot, "mknod needs root"))
    func characterDevice() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path("fakenull")
        try #require(try runTool("/usr/bin/mknod", ["-m", "666", path, "c", "1", "3"]))
        try AtomicFile.write(Data(String(repeating: "report\n", count: 1000).utf8), to: path)
        let after = try kind(path)
        #expect(after.kind == .characterDevice)
        #expect(after.deviceMajor == 1 && after.deviceMinor == 3)
        #expect(after.permissions == 0o666)
        #expect(try scratch.names() == ["fakenull"])
        // A (1,7) node is /dev/full: ENOSPC proves the bytes went to the device, not to a file in its place.
        let full = scratch.path("fakefull")
        try #require(try runTool("/usr/bin/mknod", [full, "c", "1", "7"]))
        let error = #expect(throws: InputError.self) { try AtomicFile.write(Data("x".utf8), to: full) }
        #expect(error?.message.contains("ENOSPC") == true)
        #expect(try kind(full).kind == .characterDevice)
    }

    @Test(
        "memory devices (/dev/mem, /dev/port) and block devices are refused and left alone",
        .enabled(if: isRoot, "mknod needs root"))
    func refusedDevices() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        for (name, type, minor) in [("mem", "c", "1"), ("port", "c", "4"), ("loop", "b", "0")] {
            let path = scratch.path(name)
            try #require(try runTool("/usr/bin/mknod", [path, type, type == "b" ? "7" : "1", minor]))
            let error = #expect(throws: InputError.self) { try AtomicFile.write(Data("x".utf8), to: path) }
            #expect(error?.message.hasPrefix(path + ": ") == true)
            #expect(error?.message.contains("refusing") == true, "\(String(describing: error))")
            #expect(try kind(path).kind == (type == "b" ? .blockDevice : .characterDevice))
        }
    }

    @Test("a FIFO with a reader gets the bytes and stays a FIFO; without a reader it is an error, not a wait")
    func fifo() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path("pipe")
        // SAFETY: the String becomes a NUL-terminated C string for the call.
        try #require(unsafe mkfifo(path, 0o600) == 0)
        let lonely = #expect(throws: InputError.self) { try AtomicFile.write(Data("x".utf8), to: path) }
        #expect(lonely?.message.contains("ENXIO") == true)
        // SAFETY: as above; O_NONBLOCK opens the read end without waiting for a writer.
        let reader = unsafe open(path, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        defer { close(reader) }
        let content = Data(String(repeating: "through the pipe\n", count: 100).utf8)
        try AtomicFile.write(content, to: path)
        var buffer = [UInt8](repeating: 0, count: 65536)
        // SAFETY: reads at most buffer.count bytes into the local buffer.
        let got = unsafe buffer.withUnsafeMutableBytes { unsafe read(reader, $0.baseAddress!, $0.count) }
        #expect(got == content.count)
        #expect(Data(buffer.prefix(max(got, 0))) == content)
        #expect(try kind(path).kind == .fifo)
        #expect(try scratch.names() == ["pipe"])
    }
}
