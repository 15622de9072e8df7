// Duplicate keys in a JSON input. JSONDecoder keeps one of two equal keys in an object and drops the
// other without a word, so a case pasted twice into a policy with different limits, or a field written
// twice into a report by hand, would be read as one of them. This scan walks the JSON once more after it
// decoded and names the first key that appears twice; DocumentFile.decodeJSON runs it on every nestprobe
// document (snapshot, bench report, policy) and the threshold file reader on its own.
//
// The scan touches each byte once and allocates only for object keys: the path to the current value is
// a stack of keys and indices, turned into text only when a duplicate is found.

/// Finds the first key that appears twice within one JSON object.
struct JSONDuplicateKeys {
    private let bytes: [UInt8]
    private var index = 0
    /// Where the scan is: object keys and array indices from the top.
    private var path: [Component] = []
    /// Deeper documents are left to JSONDecoder's own nesting limit.
    private static let maximumDepth = 512

    private enum Component {
        case key(String)
        case element(Int)
    }

    private struct Malformed: Error {}
    private struct Found: Error { var path: String }

    /// The path of the first duplicated key ("rules.cases.cpuid-0/real", "cases[3].id"), or nil when every
    /// key is unique or the bytes are not JSON at all.
    static func first(in bytes: [UInt8]) -> String? {
        var scan = JSONDuplicateKeys(bytes: bytes)
        do {
            try scan.value()
            return nil
        } catch let found as Found {
            return found.path
        } catch {
            return nil
        }
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func describe(_ components: [Component]) -> String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .element(let element): text += "[\(element)]"
            }
        }
        return text
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Whether `byte` ends a number, true, false or null.
    private static func isDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D: true
        default: false
        }
    }

    private mutating func value() throws {
        guard path.count < Self.maximumDepth else { throw Malformed() }
        skipSpace()
        guard index < bytes.count else { throw Malformed() }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object()
        case UInt8(ascii: "["): try array()
        case UInt8(ascii: "\""): try skipString()
        default:
            let start = index
            while index < bytes.count, !Self.isDelimiter(bytes[index]) { index += 1 }
            guard index > start else { throw Malformed() }
        }
    }

    private mutating func object() throws {
        index += 1
        var keys = Set<String>()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed() }
            let key = try string()
            path.append(.key(key))
            guard keys.insert(key).inserted else { throw Found(path: describe(path)) }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Malformed() }
            index += 1
            try value()
            path.removeLast()
            skipSpace()
            guard index < bytes.count else { throw Malformed() }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            guard bytes[index] == UInt8(ascii: ",") else { throw Malformed() }
            index += 1
        }
    }

    private mutating func array() throws {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        var element = 0
        while true {
            path.append(.element(element))
            try value()
            path.removeLast()
            element += 1
            skipSpace()
            guard index < bytes.count else { throw Malformed() }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            guard bytes[index] == UInt8(ascii: ",") else { throw Malformed() }
            index += 1
        }
    }

    /// Moves past a string value without building it.
    private mutating func skipString() throws {
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"): index += 2
            default: index += 1
            }
        }
        throw Malformed()
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
