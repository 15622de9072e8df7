// DocumentFile: reading nestprobe's JSON documents from files with the checks every input gets, and
// writing them (pretty, key-sorted, one trailing newline); every problem is one InputError line naming the
// file and the field. Probe's AtomicFile puts the bytes on disk.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Bad input: a one-line message naming the file and what is wrong.
public struct InputError: Error, CustomStringConvertible, Equatable {
    /// Which of the two documented exit codes the error maps to.
    public enum Kind: Sendable, Equatable {
        /// The file does not exist or cannot be read (sysexits EX_NOINPUT, 66).
        case noInput
        /// The content is not what it should be (sysexits EX_DATAERR, 65).
        case badData
    }

    /// Missing or unreadable, or readable but wrong.
    public var kind: Kind
    /// One line naming the file and what is wrong, as the CLI prints it.
    public var message: String

    /// An error of `kind` saying `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Reads and writes nestprobe's JSON documents (snapshot, bench report, comparison, policy, thresholds).
public enum DocumentFile {
    /// Larger inputs are refused rather than read.
    public static let maximumBytes = 64 << 20

    /// Reads a whole input file with the checks every input gets: exists, is a regular file (so that a FIFO
    /// or a device cannot block the read), not empty, not over the size limit.
    public static func readInput(_ path: String) throws(InputError) -> [UInt8] {
        // FileManager's attributes describe a link itself: the file it points to is what is read.
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: target.path) } catch {
            // The attributes' error carries no errno; opening names it (the path is no FIFO: it is not there).
            throw InputError(.noInput, "\(path): \(openFailure(path) ?? describe(error))")
        }
        let type = attributes[.type] as? FileAttributeType
        if type == .typeSymbolicLink {
            // A link still there after resolving points at nothing (or loops): what open(2) says of it.
            throw InputError(.noInput, "\(path): \(openFailure(path) ?? "a link that points at nothing")")
        }
        if type == .typeDirectory { throw InputError(.badData, "\(path): is a directory, not a file") }
        guard type == .typeRegular else { throw InputError(.badData, "\(path): not a regular file") }
        let size = fileSize(attributes[.size])
        guard size > 0 else { throw InputError(.badData, "\(path): the file is empty") }
        guard size <= maximumBytes else {
            throw InputError(.badData, "\(path): \(size) bytes, over the \(maximumBytes >> 20) MiB limit")
        }
        do {
            // The size was checked above; a file that grew since is cut at the limit, as a read would be.
            let data = try Data(contentsOf: target)
            return [UInt8](data.prefix(maximumBytes))
        } catch {
            let permission = (error as? CocoaError)?.code == .fileReadNoPermission
            throw InputError(permission ? .noInput : .badData, "\(path): \(posixDescription(error) ?? describe(error))")
        }
    }

    /// The size FileManager reports: an unsigned integer from FoundationEssentials, an NSNumber from full
    /// Foundation (both convert); 0 when it is missing.
    private static func fileSize(_ value: Any?) -> Int64 {
        if let size = value as? UInt { return Int64(clamping: size) }
        if let size = value as? Int64 { return size }
        if let size = value as? Int { return Int64(size) }
        return 0
    }

    /// Why opening `path` for reading fails, as "ENOENT (No such file or directory)"; nil when it opens.
    private static func openFailure(_ path: String) -> String? {
        // Reading stops at the first byte: only whether open(2) succeeds matters here.
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            return nil
        } catch {
            return posixDescription(error) ?? describe(error)
        }
    }

    /// The errno under a Foundation file error, by name and in words; nil when it carries none.
    private static func posixDescription(_ error: any Error) -> String? {
        let posix = (error as? CocoaError)?.underlying as? POSIXError ?? error as? POSIXError
        guard let code = posix?.code else { return nil }
        return ErrnoText.describe(code)
    }

    /// Decodes a versioned JSON document, refusing another schema or version by name, and any object
    /// that holds one key twice.
    /// `userInfo` reaches the document's `init(from:)` (a policy finds the case ids it may name there).
    public static func decodeJSON<T: Decodable>(
        _ type: T.Type, _ bytes: [UInt8], name: String, schema: String, version: Int,
        userInfo: [CodingUserInfoKey: any Sendable] = [:]
    ) throws(InputError) -> T {
        // A copy: Data cannot borrow the array's storage without unsafe code, and a 64 MiB copy is cheap
        // beside the decoding.
        let document = try decodeChecked(
            T.self, Data(bytes), name: name, schema: schema, version: version, userInfo: userInfo)
        try refuseDuplicateKeys(bytes, name: name)
        return document
    }

    /// The header checks, then the whole document.
    private static func decodeChecked<T: Decodable>(
        _ type: T.Type, _ data: Data, name: String, schema: String, version: Int,
        userInfo: [CodingUserInfoKey: any Sendable]
    ) throws(InputError) -> T {
        let header: DocumentHeader
        do { header = try JSONDecoder().decode(DocumentHeader.self, from: data) } catch {
            throw InputError(.badData, "\(name): not valid JSON: \(describe(error))")
        }
        guard header.schema == schema else {
            throw InputError(
                .badData,
                "\(name): schema is \(header.schema.map { "\"\($0)\"" } ?? "missing"), expected \"\(schema)\"")
        }
        guard header.version == version else {
            let seen = header.version.map(String.init) ?? "missing"
            let hint = (header.version ?? 0) > version ? "written by a newer nestprobe" : "an older or unknown version"
            throw InputError(
                .badData,
                "\(name): \(schema) version \(seen) is not supported (this nestprobe reads version \(version); \(hint))"
            )
        }
        let decoder = JSONDecoder()
        decoder.userInfo = userInfo
        do { return try decoder.decode(T.self, from: data) } catch {
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
            // The parser's own error under it names a character index only; the context's text is the message.
            return "\(path(context.codingPath)): \(context.debugDescription)"
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
