// SnapshotFile: reading a snapshot from a file (nestprobe's JSON, `cpuid -r`, libcpuid raw) and
// encoding JSON documents; AtomicFile.swift writes them.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Bad input: a one-line message naming the file and what is wrong.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file does not exist or cannot be read (sysexits EX_NOINPUT, 66).
        case noInput
        /// The content is not what it should be (sysexits EX_DATAERR, 65).
        case badData
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Loads and saves snapshot and report files.
public enum SnapshotFile {
    /// Larger inputs are refused rather than read.
    public static let maximumBytes = 64 << 20

    /// Reads a whole input file with the checks every input gets: exists, is a regular file, not empty,
    /// not over the size limit.
    public static func readInput(_ path: String, reader: SystemReader = SystemReader()) throws(InputError) -> [UInt8] {
        var info = stat()
        guard unsafe stat(path, &info) == 0 else {
            throw InputError(.noInput, "\(path): \(SystemReader.describe(errno))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw InputError(.badData, "\(path): is a directory, not a file") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw InputError(.badData, "\(path): not a regular file") }
        guard info.st_size > 0 else { throw InputError(.badData, "\(path): the file is empty") }
        guard info.st_size <= maximumBytes else {
            throw InputError(.badData, "\(path): \(info.st_size) bytes, over the \(maximumBytes >> 20) MiB limit")
        }
        switch reader.readBytes(path, limit: maximumBytes) {
        case .available(let bytes): return bytes
        case .unavailable(let reason, let detail):
            throw InputError(reason == .absent || reason == .permissionDenied ? .noInput : .badData, detail)
        }
    }

    /// A snapshot from nestprobe JSON, `cpuid -r` text or a libcpuid raw file, chosen by content.
    public static func load(_ path: String) throws(InputError) -> Snapshot {
        let bytes = try readInput(path)
        return try parse(bytes, name: path)
    }

    /// Parses snapshot bytes; `name` is used in messages.
    public static func parse(_ bytes: [UInt8], name: String) throws(InputError) -> Snapshot {
        let first = bytes.first { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }
        if first == UInt8(ascii: "{") {
            let snapshot = try decodeJSON(Snapshot.self, bytes, name: name, schema: Snapshot.schemaID,
                version: Snapshot.currentVersion)
            try checkBounds(snapshot, name: name)
            return snapshot
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let dump: CPUIDDump
        do { dump = try CPUIDDump.parse(text) } catch {
            if case .unrecognizedFormat = error {
                throw InputError(.badData,
                    "\(name): not a nestprobe snapshot (JSON), `cpuid -r` output or a libcpuid raw file "
                        + "(`cpuid_tool --save`): \(error)")
            }
            throw InputError(.badData, "\(name): \(error)")
        }
        let origin = Origin(kind: dump.format == .cpuidTool ? .cpuidTool : .libcpuidRaw,
            detail: "\(name), \(dump.logicalCPUs) logical CPU(s)")
        let missing = "a CPUID dump (\(dump.format.rawValue)) carries CPUID only"
        var snapshot = Snapshot(capturedAt: nil, origin: origin, cpuid: .available(dump.leaves))
        snapshot.msrs = .unavailable(.notCaptured, missing)
        snapshot.kvm = .unavailable(.notCaptured, missing)
        snapshot.kernelLog = .unavailable(.notCaptured, missing)
        snapshot.hostTiming = .unavailable(.notCaptured, missing)
        snapshot.process = .unavailable(.notCaptured, missing)
        snapshot.devices["/dev/kvm"] = .unavailable(.notCaptured, missing)
        snapshot.directories["/sys/class/dmi/id"] = .unavailable(.notCaptured, missing)
        return snapshot
    }

    /// Decodes a versioned JSON document, refusing another schema or version by name, and any object
    /// that holds one key twice.
    public static func decodeJSON<T: Decodable>(
        _ type: T.Type, _ bytes: [UInt8], name: String, schema: String, version: Int
    ) throws(InputError) -> T {
        let document = try withData(bytes) { data throws(InputError) in
            try decodeChecked(T.self, data, name: name, schema: schema, version: version)
        }
        try refuseDuplicateKeys(bytes, name: name)
        return document
    }

    /// `body` on `bytes` as Data, without copying them (a report may be 64 MiB).
    private static func withData<R>(_ bytes: [UInt8], _ body: (Data) throws(InputError) -> R) throws(InputError) -> R {
        guard !bytes.isEmpty else { return try body(Data()) }
        let result = unsafe bytes.withUnsafeBytes { buffer in
            // SAFETY: the Data borrows the array's storage, which `bytes` keeps alive and unchanged for the
            // whole closure; the Data does not outlive it (JSONDecoder copies what it keeps), and with
            // .none it never frees the storage.
            let data = unsafe Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: buffer.baseAddress!), count: buffer.count,
                deallocator: .none)
            return Result { () throws(InputError) in try body(data) }
        }
        return try result.get()
    }

    /// The header checks, then the whole document.
    private static func decodeChecked<T: Decodable>(
        _ type: T.Type, _ data: Data, name: String, schema: String, version: Int
    ) throws(InputError) -> T {
        let header: DocumentHeader
        do { header = try JSONDecoder().decode(DocumentHeader.self, from: data) } catch {
            throw InputError(.badData, "\(name): not valid JSON: \(describe(error))")
        }
        guard header.schema == schema else {
            throw InputError(.badData,
                "\(name): schema is \(header.schema.map { "\"\($0)\"" } ?? "missing"), expected \"\(schema)\"")
        }
        guard header.version == version else {
            let seen = header.version.map(String.init) ?? "missing"
            let hint = (header.version ?? 0) > version ? "written by a newer nestprobe" : "an older or unknown version"
            throw InputError(.badData,
                "\(name): \(schema) version \(seen) is not supported (this nestprobe reads version \(version); \(hint))")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw InputError(.badData, "\(name): \(describe(error))")
        }
    }

    /// Refuses JSON in which one object holds the same key twice (JSONDecoder would keep one silently),
    /// naming the first such key's path.
    public static func refuseDuplicateKeys(_ bytes: [UInt8], name: String) throws(InputError) {
        if let path = JSONDuplicateKeys.first(in: bytes) {
            throw InputError(.badData, "\(name): \(path): the key appears twice in one object (JSON keeps only one)")
        }
    }

    /// One line for a DecodingError (or an EncodingError): the field path and what was wrong.
    public static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "top level" : String(text.drop { $0 == "." })
        }
        if case .invalidValue(let value, let context) = error as? EncodingError {
            return "\(path(context.codingPath)): \(value) cannot be written as JSON"
        }
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): missing \(type) value"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field missing"
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            return "\(path(context.codingPath)): \(underlying ?? context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// `encodeJSON(value)`, a failure (a number JSON cannot hold) being bad input data from `inputs`,
    /// named with the field.
    public static func encodeJSON<T: Encodable>(_ value: T, from inputs: String) throws(InputError) -> Data {
        do { return try encodeJSON(value) } catch {
            throw InputError(.badData, "\(inputs): the result cannot be written as JSON: \(describe(error))")
        }
    }

    /// Pretty, key-sorted JSON with a trailing newline.
    public static func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0a)
        return data
    }
}

/// The two fields every nestprobe JSON document starts with.
struct DocumentHeader: Decodable {
    var schema: String?
    var version: Int?
}
