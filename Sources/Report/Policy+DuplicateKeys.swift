// Duplicate keys in a policy. JSONDecoder keeps the first of two equal keys in an object and drops the
// other without a word, so a case pasted twice with different limits would be judged by the first alone.
// This scan walks the JSON once more after it decoded, and names the first key that appears twice.

/// Finds the first key that appears twice within one JSON object.
struct JSONDuplicateKeys {
    private let bytes: [UInt8]
    private var index = 0
    /// Deeper documents are left to JSONDecoder's own nesting limit.
    private static let maximumDepth = 512

    private struct Malformed: Error {}

    /// The path of the first duplicated key ("rules.cases.cpuid-0/real"), or nil when every key is unique
    /// or the bytes are not JSON at all.
    static func first(in bytes: [UInt8]) -> String? {
        var scan = JSONDuplicateKeys(bytes: bytes)
        return (try? scan.value(path: "", depth: 0)) ?? nil
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func value(path: String, depth: Int) throws -> String? {
        guard depth < Self.maximumDepth else { throw Malformed() }
        skipSpace()
        guard index < bytes.count else { throw Malformed() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(path: path, depth: depth)
        case UInt8(ascii: "["): return try array(path: path, depth: depth)
        case UInt8(ascii: "\""):
            _ = try string()
            return nil
        default:
            // A number, true, false or null: everything up to the next delimiter.
            let start = index
            while index < bytes.count, !Array(",]} \t\r\n".utf8).contains(bytes[index]) { index += 1 }
            guard index > start else { throw Malformed() }
            return nil
        }
    }

    private mutating func object(path: String, depth: Int) throws -> String? {
        index += 1
        var keys = Set<String>()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed() }
            let key = try string()
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard keys.insert(key).inserted else { return keyPath }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Malformed() }
            index += 1
            if let duplicate = try value(path: keyPath, depth: depth + 1) { return duplicate }
            skipSpace()
            guard index < bytes.count else { throw Malformed() }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return nil
            }
            guard bytes[index] == UInt8(ascii: ",") else { throw Malformed() }
            index += 1
        }
    }

    private mutating func array(path: String, depth: Int) throws -> String? {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return nil
        }
        var element = 0
        while true {
            if let duplicate = try value(path: "\(path)[\(element)]", depth: depth + 1) { return duplicate }
            element += 1
            skipSpace()
            guard index < bytes.count else { throw Malformed() }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return nil
            }
            guard bytes[index] == UInt8(ascii: ",") else { throw Malformed() }
            index += 1
        }
    }

    /// A string's text with its escapes resolved, so "\u0061" and "a" are the same key, as for JSONDecoder.
    private mutating func string() throws -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                guard index < bytes.count else { throw Malformed() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        let low = try hex4()
                        code =
                            (0xDC00..<0xE000).contains(low)
                            ? 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                default: scalars.append(Unicode.Scalar(escape))
                }
            default:
                raw.append(byte)
            }
        }
        throw Malformed()
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw Malformed() }
        var code: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { throw Malformed() }
            code = code << 4 | UInt32(digit)
        }
        index += 4
        return code
    }
}
