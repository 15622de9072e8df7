// Tests of SnapshotFile (loading snapshots and CPUID dumps, refusing bad input with a one-line
// InputError) and of AtomicFile (whole file or nothing). Bad inputs are made at test time in a scratch
// folder; good ones are the fixture snapshots and dumps.

import Foundation
import Testing

@testable import Probe

/// The fixture snapshots and dumps, by path.
enum SnapshotFileFixture {
    static var folder: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    /// Names of the fixture snapshots, without ".json".
    static var snapshotNames: [String] {
        let snapshots = folder.appendingPathComponent("snapshots").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func snapshotPath(_ name: String) -> String {
        folder.appendingPathComponent("snapshots/\(name).json").path
    }

    static func dumpPath(_ name: String) -> String {
        folder.appendingPathComponent("dumps/\(name)").path
    }

    static func snapshotBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: snapshotPath(name))))
    }

    /// A fixture snapshot with one top-level field replaced, as JSON bytes.
    static func snapshotBytes(_ name: String, setting key: String, to value: Any) throws -> [UInt8] {
        let object = try JSONSerialization.jsonObject(with: Data(snapshotBytes(name)))
        var document = try #require(object as? [String: Any])
        document[key] = value
        return [UInt8](try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]))
    }
}

/// Loads `path` and returns the InputError it must throw; records an issue when it does not throw.
private func loadError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> InputError? {
    do {
        let snapshot = try SnapshotFile.load(path)
        Issue.record("loaded \(path) as a snapshot of origin \(snapshot.origin.kind)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("SnapshotFile: bad input is an InputError naming the file")
struct SnapshotFileBadInputTests {
    /// Writes `bytes` as `name` in a scratch folder and loads it.
    private func loadWritten(_ bytes: [UInt8], name: String = "input.json") throws -> (InputError?, String) {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.write(name, bytes)
        return (loadError(path), path)
    }

    /// Checks the kind, the file name and that the message is one line.
    private func check(
        _ error: InputError?, _ path: String, kind: InputError.Kind, saying words: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let error = try #require(error, sourceLocation: sourceLocation)
        #expect(error.kind == kind, sourceLocation: sourceLocation)
        #expect(
            error.message.hasPrefix(path + ": "), "the message starts with the file", sourceLocation: sourceLocation)
        #expect(!error.message.contains("\n"), "one line: \(error.message)", sourceLocation: sourceLocation)
        #expect(error.description == error.message, sourceLocation: sourceLocation)
        for word in words {
            #expect(error.message.contains(word), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test("a missing file is noInput, with ENOENT")
    func missingFile() throws {
        let path = "/nonexistent-nestprobe-dir/snapshot.json"
        try check(loadError(path), path, kind: .noInput, saying: ["ENOENT"])
    }

    @Test("a directory is badData: \"is a directory\"")
    func directory() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.makeFolder("snapshot.json")
        try check(loadError(path), path, kind: .badData, saying: ["is a directory"])
    }

    @Test("a FIFO is badData: not a regular file (and loading it does not block)")
    func fifo() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path("pipe.json")
        // SAFETY: the String becomes a NUL-terminated C string that lives for the call.
        let made = unsafe mkfifo(path, 0o600)
        try #require(made == 0)
        try check(loadError(path), path, kind: .badData, saying: ["not a regular file"])
    }

    @Test("an empty file is badData")
    func emptyFile() throws {
        let (error, path) = try loadWritten([])
        try check(error, path, kind: .badData, saying: ["empty"])
    }

    @Test("a file of only white space is badData")
    func blankFile() throws {
        let (error, path) = try loadWritten(Array(" \n\t\r\n".utf8))
        try check(error, path, kind: .badData, saying: ["empty"])
    }

    @Test("random binary bytes are badData")
    func binaryBytes() throws {
        // A fixed linear congruential sequence, so the test reads the same bytes every run.
        var state: UInt32 = 0x1234_5678
        let bytes = (0..<4096).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        let (error, path) = try loadWritten([0x00, 0xFF, 0x7F] + bytes, name: "random.bin")
        try check(error, path, kind: .badData, saying: [])
    }

    @Test("a real snapshot cut in half is badData: not valid JSON")
    func truncatedJSON() throws {
        let whole = try SnapshotFileFixture.snapshotBytes("hyperv-l1")
        let (error, path) = try loadWritten(Array(whole.prefix(whole.count / 2)))
        try check(error, path, kind: .badData, saying: ["not valid JSON"])
    }

    @Test("\"version\": \"one\" is badData naming the field")
    func wrongTypeInHeader() throws {
        let bytes = try SnapshotFileFixture.snapshotBytes("hyperv-l1", setting: "version", to: "one")
        let (error, path) = try loadWritten(bytes)
        try check(error, path, kind: .badData, saying: ["version"])
    }

    @Test("a wrong type in a body field is badData naming the field")
    func wrongTypeInBody() throws {
        let bytes = try SnapshotFileFixture.snapshotBytes("hyperv-l1", setting: "capturedAt", to: 5)
        let (error, path) = try loadWritten(bytes)
        try check(error, path, kind: .badData, saying: ["capturedAt"])
    }

    @Test("a missing required field is badData naming the field")
    func missingBodyField() throws {
        let object = try JSONSerialization.jsonObject(with: Data(SnapshotFileFixture.snapshotBytes("hyperv-l1")))
        var document = try #require(object as? [String: Any])
        document["origin"] = nil
        let (error, path) = try loadWritten([UInt8](try JSONSerialization.data(withJSONObject: document)))
        try check(error, path, kind: .badData, saying: ["origin", "required field missing"])
    }

    @Test("another schema is badData naming both schemas")
    func unknownSchema() throws {
        let bytes = try SnapshotFileFixture.snapshotBytes("hyperv-l1", setting: "schema", to: "nestprobe.report")
        let (error, path) = try loadWritten(bytes)
        try check(error, path, kind: .badData, saying: ["\"nestprobe.report\"", "\"nestprobe.snapshot\""])
    }

    @Test("a JSON object without schema is badData: schema is missing")
    func missingSchema() throws {
        let (error, path) = try loadWritten(Array(#"{"version": 1}"#.utf8))
        try check(error, path, kind: .badData, saying: ["schema is missing"])
    }

    @Test("version 2 is badData: not supported, written by a newer nestprobe")
    func newerVersion() throws {
        let bytes = try SnapshotFileFixture.snapshotBytes("hyperv-l1", setting: "version", to: 2)
        let (error, path) = try loadWritten(bytes)
        try check(error, path, kind: .badData, saying: ["version 2", "not supported", "newer"])
    }

    @Test("version 0 is badData: not supported, not called newer")
    func olderVersion() throws {
        let bytes = try SnapshotFileFixture.snapshotBytes("hyperv-l1", setting: "version", to: 0)
        let (error, path) = try loadWritten(bytes)
        try check(error, path, kind: .badData, saying: ["version 0", "not supported"])
        #expect(error?.message.contains("newer") == false)
    }

    @Test("a JSON array at top level is badData")
    func topLevelArray() throws {
        let whole = try SnapshotFileFixture.snapshotBytes("hyperv-l1")
        let (error, path) = try loadWritten(Array("[".utf8) + whole + Array("]".utf8))
        try check(error, path, kind: .badData, saying: ["not a nestprobe snapshot"])
    }

    @Test("a file over 64 MiB is refused before it is read (a sparse file of 65 MiB)")
    func overTheLimit() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.write("huge.json", Array("{".utf8))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 65 << 20)
        try handle.close()
        try check(loadError(path), path, kind: .badData, saying: ["68157440 bytes", "64 MiB limit"])
    }

    @Test("an unreadable file is noInput", .enabled(if: geteuid() != 0, "root bypasses file modes"))
    func unreadableFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.write("locked.json", SnapshotFileFixture.snapshotBytes("hyperv-l1"), permissions: 0)
        let error = try #require(loadError(path))
        #expect(error.kind == .noInput)
        #expect(error.message.contains("EACCES"))
    }
}

@Suite("SnapshotFile: fixtures load and round-trip")
struct SnapshotFileRoundTripTests {
    @Test(
        "every fixture snapshot loads, and encodeJSON then parse gives it back",
        arguments: SnapshotFileFixture.snapshotNames)
    func roundTrip(name: String) throws {
        let snapshot = try SnapshotFile.load(SnapshotFileFixture.snapshotPath(name))
        #expect(snapshot.schema == Snapshot.schemaID)
        #expect(snapshot.version == Snapshot.currentVersion)
        // Hand-made fixtures say so; real captures (this machine, the SVM bed) keep their live origin.
        #expect(
            snapshot.origin.kind
                == (["pvm-host-genoa", "qemu-tcg-svm-bed", "qemu-user-real-capture"].contains(name) ? .live : .fixture))
        let data = try DocumentFile.encodeJSON(snapshot)
        #expect(data.last == 0x0A, "a trailing newline")
        #expect(try SnapshotFile.parse([UInt8](data), name: name) == snapshot)
    }

    @Test("there are fixture snapshots to round-trip")
    func fixturesFound() {
        #expect(SnapshotFileFixture.snapshotNames.count >= 10)
        #expect(SnapshotFileFixture.snapshotNames.contains("hyperv-l1"))
    }

    @Test("encodeJSON writes sorted keys and unescaped slashes")
    func encodingShape() throws {
        let snapshot = Snapshot(
            capturedAt: "2026-01-01T00:00:00Z", origin: Origin(kind: .fixture, detail: "unit test"),
            files: ["/proc/cmdline": .available("ro quiet\n")])
        let text = String(decoding: try DocumentFile.encodeJSON(snapshot), as: UTF8.self)
        #expect(text.contains(#""/proc/cmdline""#))
        let capturedAt = try #require(text.range(of: "\"capturedAt\""))
        let version = try #require(text.range(of: "\"version\" : 1"))
        #expect(capturedAt.lowerBound < version.lowerBound)
    }

    @Test(
        "a CPUID dump loads as CPUID only; the rest is not captured",
        arguments: [
            ("amd-genoa-kvm.cpuid-r.txt", Origin.Kind.cpuidTool), ("amd-genoa-kvm.cpuid-r-1.txt", .cpuidTool),
            ("amd-genoa-kvm.libcpuid-raw.txt", .libcpuidRaw),
        ])
    func dumpLoads(file: String, kind: Origin.Kind) throws {
        let path = SnapshotFileFixture.dumpPath(file)
        let snapshot = try SnapshotFile.load(path)
        #expect(snapshot.origin.kind == kind)
        #expect(snapshot.origin.detail?.hasPrefix(path) == true)
        #expect(!snapshot.isLive)
        let leaves = try #require(snapshot.cpuid.value)
        // Leaf 0 of the Genoa: max basic leaf 0x1C, "AuthenticAMD" (EBX "Auth").
        #expect(CPUIDTable(leaves)[0]?.eax == 0x1C)
        #expect(CPUIDTable(leaves)[0]?.ebx == 0x6874_7541)
        #expect(snapshot.msrs.missing?.reason == .notCaptured)
        #expect(snapshot.kvm.missing?.reason == .notCaptured)
        #expect(snapshot.kernelLog.missing?.reason == .notCaptured)
        #expect(snapshot.hostTiming.missing?.reason == .notCaptured)
        #expect(snapshot.devices["/dev/kvm"]?.missing?.reason == .notCaptured)
        #expect(snapshot.file("/proc/cmdline").missing?.reason == .notCaptured)
        let data = try DocumentFile.encodeJSON(snapshot)
        #expect(try SnapshotFile.parse([UInt8](data), name: file) == snapshot)
    }

    @Test("a broken CPUID dump is badData naming the file and the line")
    func brokenDump() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.write("broken.txt", text: "CPU 0:\n   0x00000000 0x00: eax=0x0000001c ebx=zzz\n")
        let error = try #require(loadError(path))
        #expect(error.kind == .badData)
        #expect(error.message.hasPrefix(path + ": "))
        #expect(error.message.contains("line 2"))
    }
}

@Suite("AtomicFile: the whole file or nothing")
struct AtomicFileTests {
    @Test("write leaves the content at the path, mode 0644, and no temporary file")
    func writes() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path("report.json")
        let content = Data("{\"schema\": \"x\"}\n".utf8)
        try AtomicFile.write(content, to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
        #expect(try scratch.names() == ["report.json"])
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o644)
    }

    @Test("write replaces an existing file whole")
    func replaces() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = try scratch.write("report.json", text: String(repeating: "old content ", count: 1000))
        try AtomicFile.write(Data("new\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        #expect(try scratch.names() == ["report.json"])
    }

    @Test("write of an empty document makes an empty file")
    func writesEmpty() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path("empty.json")
        try AtomicFile.write(Data(), to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
    }

    @Test("writing into a missing folder throws noInput naming the path, and leaves no file")
    func missingFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let path = scratch.path("missing/report.json")
        let error = #expect(throws: InputError.self) {
            try AtomicFile.write(Data("x".utf8), to: path)
        }
        #expect(error?.kind == .noInput)
        #expect(error?.message.hasPrefix(path + ": ") == true)
        #expect(error?.message.contains("ENOENT") == true)
        #expect(try scratch.names().isEmpty)
    }

    @Test("a rename that fails (the target is a folder) throws and removes the temporary file")
    func renameFails() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.write("report.json/inside", text: "keep\n")
        let path = scratch.path("report.json")
        let error = #expect(throws: InputError.self) {
            try AtomicFile.write(Data("x".utf8), to: path)
        }
        #expect(error?.kind == .noInput)
        #expect(error?.message.contains("EISDIR") == true)
        #expect(try scratch.names() == ["report.json"], "no .report.json.XXXXXX left behind")
        #expect(try scratch.names("report.json") == ["inside"])
    }

    @Test("a round trip through AtomicFile and load gives the snapshot back")
    func saveAndLoad() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let snapshot = try SnapshotFile.load(SnapshotFileFixture.snapshotPath("kvm-l1-nested-offered"))
        let path = scratch.path("saved.json")
        try AtomicFile.write(try DocumentFile.encodeJSON(snapshot), to: path)
        #expect(try SnapshotFile.load(path) == snapshot)
    }

    @Test("a key written twice in a snapshot is refused with its path")
    func duplicateKeyInSnapshot() throws {
        let snapshot = Snapshot(capturedAt: nil, origin: Origin(kind: .live, detail: "test"), cpuid: .available([]))
        let text = String(decoding: try DocumentFile.encodeJSON(snapshot), as: UTF8.self)
        let doubled = text.replacingOccurrences(
            of: "\"detail\" : \"test\"", with: "\"detail\" : \"test\", \"detail\" : \"other\"")
        #expect(doubled != text)
        #expect(
            throws: InputError(
                .badData, "s.json: origin.detail: the key appears twice in one object (JSON keeps only one)")
        ) {
            try SnapshotFile.parse(Array(doubled.utf8), name: "s.json")
        }
        #expect(throws: Never.self) { try SnapshotFile.parse(Array(text.utf8), name: "s.json") }
    }
}
