// CPUIDDump: the CPUID text dumps support engineers receive from customers, read into CPUID leaves.
//
// Two formats: Debian's `cpuid -r` (Todd Allen's cpuid, one `0xLEAF 0xSUB: eax=… ebx=… ecx=… edx=…` line
// per leaf under a `CPU n:` header) and libcpuid's raw file (`cpuid_tool --save=FILE`, fixed arrays such as
// `basic_cpuid[i]=eax ebx ecx edx`). The parser works on bytes, bounds its input, and reports the first
// line it cannot read as a typed error; it never traps on what a customer pastes.

/// A CPUID dump read from text: CPU 0's leaves, and how many logical CPUs the dump held.
public struct CPUIDDump: Sendable, Equatable, Codable {
    /// The text formats a dump can come in.
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// Debian's `cpuid -r` or `cpuid -r -1` (package `cpuid`).
        case cpuidTool = "cpuid-r"
        /// libcpuid's raw file, written by `cpuid_tool --save=FILE` (0.5.x without CPU headers, 0.6.x with).
        case libcpuidRaw = "libcpuid-raw"
    }

    /// The format the text was in.
    public var format: Format
    /// CPU 0's leaves, in the order the dump lists them, one per (leaf, subleaf).
    public var leaves: [CPUIDLeaf]
    /// How many logical CPUs the dump held (1 for `cpuid -r -1` and headerless libcpuid files).
    public var logicalCPUs: Int
    /// The libcpuid version in a raw file's `version=` line; nil for `cpuid -r`.
    public var libcpuidVersion: String?
    /// Row names of a libcpuid file this parser does not know (from a newer libcpuid), which it skipped.
    public var ignoredRowNames: [String]

    public init(
        format: Format, leaves: [CPUIDLeaf], logicalCPUs: Int, libcpuidVersion: String? = nil,
        ignoredRowNames: [String] = []
    ) {
        self.format = format
        self.leaves = leaves
        self.logicalCPUs = logicalCPUs
        self.libcpuidVersion = libcpuidVersion
        self.ignoredRowNames = ignoredRowNames
    }

    /// CPU 0's leaves with lookup by (leaf, subleaf).
    public var table: CPUIDTable { CPUIDTable(leaves) }

    /// The largest dump accepted, in bytes. `cpuid -r` of a 1024-thread server is about 12 MiB.
    public static let maximumBytes = 32 << 20
    /// The most lines accepted.
    public static let maximumLines = 500_000
    /// The longest line accepted, in bytes; real lines are under 100.
    public static let maximumLineLength = 512

    /// The format of `text`, judged from its first non-blank line; nil when it is neither.
    public static func detectFormat(_ text: String) -> Format? {
        var lines = DumpLines(Array(text.utf8.prefix(4 * maximumLineLength)))
        while let line = lines.next() {
            if line.isBlank || line.isDisclaimer { continue }
            return detectFormat(line: line)
        }
        return nil
    }

    /// Parses a `cpuid -r` or libcpuid raw dump.
    ///
    /// Throws `CPUIDDumpError` naming the first line that does not fit, for empty, binary, truncated or
    /// oversized input.
    public static func parse(_ text: String) throws(CPUIDDumpError) -> CPUIDDump {
        let size = text.utf8.count
        guard size <= maximumBytes else {
            throw .tooLarge("\(size) bytes, over the limit of \(maximumBytes)")
        }
        var lines = DumpLines(Array(text.utf8))
        var first: DumpLine?
        while let line = lines.next() {
            try line.checkText()
            // cpuid (20230406 on) begins its output with a "Disclaimer: …" line; transcripts keep it.
            if !line.isBlank && !line.isDisclaimer {
                first = line
                break
            }
        }
        guard let first else { throw .empty }
        switch detectFormat(line: first) {
        case .cpuidTool:
            var parser = CPUIDToolParser()
            try parser.read(first, rest: &lines)
            return try parser.dump(endLine: lines.lineNumber)
        case .libcpuidRaw:
            var parser = LibCPUIDRawParser()
            try parser.read(first, rest: &lines)
            return try parser.dump(endLine: lines.lineNumber)
        case nil:
            throw .unrecognizedFormat(line: first.number, found: first.excerpt)
        }
    }

    fileprivate static func detectFormat(line: DumpLine) -> Format? {
        let text = line.trimmed
        if text.starts(with: ascii("CPU")) || text.starts(with: ascii("0x")) { return .cpuidTool }
        if text.starts(with: ascii("version=")) || text.starts(with: ascii("_")) { return .libcpuidRaw }
        if LibCPUIDRawParser.rowName(text) != nil { return .libcpuidRaw }
        return nil
    }
}

/// Why a CPUID dump could not be read.
public enum CPUIDDumpError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text has no non-blank line.
    case empty
    /// The text is over `CPUIDDump.maximumBytes` or `CPUIDDump.maximumLines`.
    case tooLarge(String)
    /// The first non-blank line belongs to neither format.
    case unrecognizedFormat(line: Int, found: String)
    /// A line does not fit the format; `expected` says what would have.
    case malformed(line: Int, expected: String, found: String)

    /// The 1-based line the error is about, when there is one.
    public var line: Int? {
        switch self {
        case .empty, .tooLarge: return nil
        case .unrecognizedFormat(let line, _), .malformed(let line, _, _): return line
        }
    }

    /// One line naming the line number, what was expected there and what was found.
    public var description: String {
        switch self {
        case .empty:
            return "the dump is empty: expected the output of `cpuid -r` or a `cpuid_tool --save` file"
        case .tooLarge(let detail):
            return "the dump is too large (\(detail)); a CPUID dump of even a 1024-thread server is under 16 MiB"
        case .malformed(let line, let expected, ""):
            return "line \(line): expected \(expected), found the end of the dump"
        case .unrecognizedFormat(let line, let found):
            return "line \(line): expected `CPU 0:` (cpuid -r) or `version=` / `basic_cpuid[0]=` "
                + "(cpuid_tool --save), found `\(found)`"
        case .malformed(let line, let expected, let found):
            return "line \(line): expected \(expected), found `\(found)`"
        }
    }
}

// MARK: - cpuid -r

/// Reads `cpuid -r`: `CPU n:` (or `CPU:` with -1) headers, each followed by leaf lines.
private struct CPUIDToolParser {
    private var table = CPUIDTable([])
    private var cpus = 0
    private var leavesInCPU = 0
    private var lastHeaderLine = 0

    mutating func read(_ first: DumpLine, rest: inout DumpLines) throws(CPUIDDumpError) {
        try take(first)
        while let line = rest.next() {
            try line.checkText()
            if !line.isBlank { try take(line) }
        }
    }

    func dump(endLine: Int) throws(CPUIDDumpError) -> CPUIDDump {
        guard leavesInCPU > 0 else {
            throw .malformed(line: endLine + 1, expected: "leaf lines after `CPU` on line \(lastHeaderLine)", found: "")
        }
        guard table[0] != nil else {
            throw .malformed(line: endLine + 1, expected: "leaf 0x00000000 among CPU 0's leaves", found: "")
        }
        return CPUIDDump(format: .cpuidTool, leaves: table.leaves, logicalCPUs: cpus)
    }

    private mutating func take(_ line: DumpLine) throws(CPUIDDumpError) {
        let text = line.trimmed
        if text.starts(with: ascii("CPU")) {
            guard Self.isHeader(text) else {
                throw .malformed(line: line.number, expected: "`CPU:` or `CPU <n>:`", found: line.excerpt)
            }
            if cpus > 0 && leavesInCPU == 0 {
                throw .malformed(
                    line: line.number, expected: "leaf lines before the next CPU header", found: line.excerpt)
            }
            cpus += 1
            leavesInCPU = 0
            lastHeaderLine = line.number
            return
        }
        let leaf = try Self.leaf(line)
        if cpus == 0 { cpus = 1 }  // leaf lines with no header: one CPU
        leavesInCPU += 1
        if cpus == 1 { table.insert(leaf) }
    }

    /// `CPU:` or `CPU <decimal>:`.
    static func isHeader(_ text: ArraySlice<UInt8>) -> Bool {
        guard text.last == UInt8(ascii: ":") else { return false }
        let middle = text.dropFirst(3).dropLast()
        if middle.isEmpty { return true }
        guard middle.first == UInt8(ascii: " ") else { return false }
        let digits = middle.dropFirst()
        return !digits.isEmpty && digits.count <= 6 && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// `0x00000000 0x00: eax=0x0000001c ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65`.
    static func leaf(_ line: DumpLine) throws(CPUIDDumpError) -> CPUIDLeaf {
        let tokens = line.tokens
        func token(_ index: Int, _ prefix: String, _ suffix: String = "") throws(CPUIDDumpError) -> UInt32 {
            let expected = "`\(prefix)…\(suffix)`"
            guard index < tokens.count else {
                throw .malformed(line: line.number, expected: expected, found: line.excerpt)
            }
            let token = tokens[index]
            let head = ascii(prefix), tail = ascii(suffix)
            guard token.starts(with: head), token.reversed().starts(with: tail.reversed()),
                token.count > head.count + tail.count,
                let value = parseHex32(token.dropFirst(head.count).dropLast(tail.count))
            else {
                throw .malformed(line: line.number, expected: expected, found: DumpLine.excerpt(token))
            }
            return value
        }
        let leaf = try token(0, "0x")
        let subleaf = try token(1, "0x", ":")
        let eax = try token(2, "eax=0x")
        let ebx = try token(3, "ebx=0x")
        let ecx = try token(4, "ecx=0x")
        let edx = try token(5, "edx=0x")
        guard tokens.count == 6 else {
            throw .malformed(
                line: line.number, expected: "the end of the line after edx", found: DumpLine.excerpt(tokens[6]))
        }
        for (index, name) in ["eax", "ebx", "ecx", "edx"].enumerated() {
            try line.checkComplete(tokens[index + 2].dropFirst(6), register: name)
        }
        return CPUIDLeaf(leaf: leaf, subleaf: subleaf, eax: eax, ebx: ebx, ecx: ecx, edx: edx)
    }
}

// MARK: - libcpuid raw

/// Reads libcpuid's raw file: `version=`, optional `Logical CPU #n` headers, and fixed-size register arrays.
private struct LibCPUIDRawParser {
    /// The arrays `cpuid_serialize_raw_data` writes: row i is leaf `base + i` (subleaf 0), or, for the
    /// subleaf arrays, leaf `base` subleaf i.
    static let arrays: [String: (base: UInt32, bySubleaf: Bool)] = [
        "basic_cpuid": (0, false),
        "ext_cpuid": (0x8000_0000, false),
        "intel_fn4": (0x4, true),
        "intel_fn11": (0xB, true),
        "intel_fn12h": (0x12, true),
        "intel_fn14h": (0x14, true),
        "amd_fn8000001dh": (0x8000_001D, true),
    ]
    /// libcpuid's test files put expected results after this line; libcpuid stops reading there too.
    static let resultsSeparator = ascii(String(repeating: "-", count: 80))

    private var rows: [CPUIDLeaf] = []
    private var cpus = 0
    private var rowsInCPU = 0
    private var headerless = false
    private var lastHeaderLine = 0
    private var version: String?
    private var ignored: Set<String> = []

    mutating func read(_ first: DumpLine, rest: inout DumpLines) throws(CPUIDDumpError) {
        try take(first)
        while let line = rest.next() {
            try line.checkText()
            if line.trimmed.elementsEqual(Self.resultsSeparator) { break }
            if !line.isBlank { try take(line) }
        }
    }

    func dump(endLine: Int) throws(CPUIDDumpError) -> CPUIDDump {
        guard rowsInCPU > 0 else {
            let after = cpus == 0 ? "`version=`" : "`Logical CPU` on line \(lastHeaderLine)"
            throw .malformed(line: endLine + 1, expected: "`basic_cpuid[0]=…` rows after \(after)", found: "")
        }
        let table = CPUIDTable(rows)
        guard let basic = table[0] else {
            throw .malformed(line: endLine + 1, expected: "a `basic_cpuid[0]` row for CPU 0", found: "")
        }
        // libcpuid fills every array row, all zero past the CPU's maximum leaves (leaf 0 / 0x8000_0000 EAX);
        // those rows are not CPUID answers, so they are dropped rather than kept as zero leaves.
        let extendedMax = table[0x8000_0000]?.eax ?? 0
        let kept = table.leaves.filter { row in
            if row.leaf == 0 || row.leaf == 0x8000_0000 { return true }
            if row.leaf < 0x8000_0000 { return row.leaf <= basic.eax }
            return extendedMax >= 0x8000_0000 && row.leaf <= extendedMax
        }
        return CPUIDDump(
            format: .libcpuidRaw, leaves: kept, logicalCPUs: cpus, libcpuidVersion: version,
            ignoredRowNames: ignored.sorted())
    }

    private mutating func take(_ line: DumpLine) throws(CPUIDDumpError) {
        let text = line.trimmed
        if text.starts(with: ascii("version=")) {
            guard cpus == 0 && rowsInCPU == 0 && version == nil else {
                throw .malformed(
                    line: line.number, expected: "`version=` only once, before the rows", found: line.excerpt)
            }
            let value = text.dropFirst(8)
            guard !value.isEmpty, value.count <= 32, !value.contains(UInt8(ascii: " ")) else {
                throw .malformed(line: line.number, expected: "`version=<libcpuid version>`", found: line.excerpt)
            }
            version = String(decoding: value, as: UTF8.self)
            return
        }
        if text.first == UInt8(ascii: "_") {
            try header(line)
            return
        }
        guard let (name, index, registers) = Self.row(text) else {
            throw .malformed(
                line: line.number, expected: "`basic_cpuid[i]=eax ebx ecx edx` (8-digit hex)", found: line.excerpt)
        }
        if !line.ended, let last = text.split(whereSeparator: DumpLine.isSpace).last {
            try line.checkComplete(last.starts(with: ascii("0x")) ? last.dropFirst(2) : last, register: "edx")
        }
        if cpus == 0 {
            cpus = 1
            headerless = true
        }
        rowsInCPU += 1
        guard let array = Self.arrays[name] else {
            ignored.insert(name)
            return
        }
        guard cpus == 1 else { return }
        let (leaf, subleaf) = array.bySubleaf ? (array.base, index) : (array.base + index, 0)
        rows.append(
            CPUIDLeaf(
                leaf: leaf, subleaf: subleaf, eax: registers[0], ebx: registers[1], ecx: registers[2], edx: registers[3]
            ))
    }

    /// `_________________ Logical CPU #0 _________________`.
    private mutating func header(_ line: DumpLine) throws(CPUIDDumpError) {
        let underscore = UInt8(ascii: "_"), space = UInt8(ascii: " ")
        var body = line.trimmed
        while let first = body.first, first == underscore || first == space { body = body.dropFirst() }
        while let last = body.last, last == underscore || last == space { body = body.dropLast() }
        let prefix = ascii("Logical CPU #")
        let digits = body.dropFirst(prefix.count)
        guard body.starts(with: prefix), !digits.isEmpty, digits.count <= 6,
            digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else {
            throw .malformed(
                line: line.number, expected: "`_________________ Logical CPU #<n> _________________`",
                found: line.excerpt)
        }
        guard !headerless else {
            throw .malformed(
                line: line.number, expected: "no `Logical CPU` header after headerless rows", found: line.excerpt)
        }
        if cpus > 0 && rowsInCPU == 0 {
            throw .malformed(
                line: line.number, expected: "rows before the next `Logical CPU` header", found: line.excerpt)
        }
        cpus += 1
        rowsInCPU = 0
        lastHeaderLine = line.number
    }

    /// The array name of a `name[i]=` row, or nil when the text does not start like one.
    static func rowName(_ text: ArraySlice<UInt8>) -> String? {
        guard let open = text.firstIndex(of: UInt8(ascii: "[")), open > text.startIndex, open - text.startIndex <= 32
        else { return nil }
        let name = text[..<open]
        guard name.allSatisfy({ isIdentifierByte($0) }) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    /// `name[i]=eax ebx ecx edx`, registers in hex with or without 0x (libcpuid reads them with `%x`).
    static func row(_ text: ArraySlice<UInt8>) -> (name: String, index: UInt32, registers: [UInt32])? {
        guard let name = rowName(text) else { return nil }
        let afterName = text.dropFirst(name.utf8.count + 1)
        guard let close = afterName.firstIndex(of: UInt8(ascii: "]")) else { return nil }
        let digits = afterName[..<close]
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let index = UInt32(String(decoding: digits, as: UTF8.self))
        else { return nil }
        let rest = afterName[(close + 1)...]
        guard rest.first == UInt8(ascii: "=") else { return nil }
        let tokens = rest.dropFirst().split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
        guard tokens.count == 4 else { return nil }
        var registers: [UInt32] = []
        for token in tokens {
            let hex = token.starts(with: ascii("0x")) ? token.dropFirst(2) : token
            guard let value = parseHex32(hex) else { return nil }
            registers.append(value)
        }
        return (name, index, registers)
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_")
    }
}

// MARK: - Lines and bytes

/// One line of a dump: its 1-based number and bytes without the line break.
private struct DumpLine {
    let number: Int
    let bytes: ArraySlice<UInt8>
    /// Whether a line break ended the line; false only for the last line of a dump without a final newline,
    /// which is where a dump cut short ends.
    var ended = true

    /// The line without leading and trailing spaces, tabs and a carriage return.
    var trimmed: ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, Self.isSpace(first) { slice = slice.dropFirst() }
        while let last = slice.last, Self.isSpace(last) || last == 0x0D { slice = slice.dropLast() }
        return slice
    }

    var isBlank: Bool { trimmed.isEmpty }

    /// A `Disclaimer: …` line, which newer releases of cpuid print before the first CPU.
    var isDisclaimer: Bool { trimmed.starts(with: ascii("Disclaimer:")) }

    /// The whitespace-separated tokens of the line.
    var tokens: [ArraySlice<UInt8>] { trimmed.split(whereSeparator: Self.isSpace) }

    /// Up to 40 characters of the line for an error message, bytes outside printable ASCII as `\xNN`.
    var excerpt: String { Self.excerpt(trimmed) }

    /// Rejects lines past the line limit, over-long lines, and bytes that are not printable ASCII (binary data, NULs, stray UTF-8).
    func checkText() throws(CPUIDDumpError) {
        guard number <= CPUIDDump.maximumLines else {
            throw .tooLarge("over \(CPUIDDump.maximumLines) lines")
        }
        guard bytes.count <= CPUIDDump.maximumLineLength else {
            throw .malformed(
                line: number, expected: "a line of at most \(CPUIDDump.maximumLineLength) bytes",
                found: Self.excerpt(bytes.prefix(40)) + "…")
        }
        for byte in bytes where !(byte >= 0x20 && byte < 0x7F) && byte != 0x09 && byte != 0x0D {
            throw .malformed(line: number, expected: "printable ASCII text", found: excerpt)
        }
    }

    static func excerpt(_ bytes: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in bytes.prefix(40) {
            if byte >= 0x20 && byte < 0x7F {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count < 2 ? "0" : "") + hex
            }
        }
        return bytes.count > 40 ? text + "…" : text
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Refuses a register value of fewer than 8 hex digits on a last line that no newline ended: both
    /// `cpuid -r` and libcpuid write every register as `%08x`, so that is a dump cut mid-register, whose last
    /// value would otherwise be read short (`edx=0x6974` for `edx=0x69746e65`).
    func checkComplete(_ digits: ArraySlice<UInt8>, register: String) throws(CPUIDDumpError) {
        guard !ended, digits.count < 8 else { return }
        throw .malformed(
            line: number, expected: "8 hex digits for \(register) (the dump ends mid-register: cut short?)",
            found: excerpt)
    }
}

/// Splits bytes into lines at `\n`, counting them and stopping with an error past `maximumLines`.
private struct DumpLines {
    private let bytes: [UInt8]
    private var position = 0
    private(set) var lineNumber = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func next() -> DumpLine? {
        guard position < bytes.count else { return nil }
        let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.count
        let line = DumpLine(number: lineNumber + 1, bytes: bytes[position..<end], ended: end < bytes.count)
        position = end + 1
        lineNumber += 1
        return line
    }
}

/// 1 to 8 hexadecimal digits, nothing else.
private func parseHex32(_ digits: ArraySlice<UInt8>) -> UInt32? {
    guard !digits.isEmpty, digits.count <= 8 else { return nil }
    var value: UInt32 = 0
    for byte in digits {
        let nibble: UInt8
        switch byte {
        case 0x30...0x39: nibble = byte - 0x30
        case 0x41...0x46: nibble = byte - 0x41 + 10
        case 0x61...0x66: nibble = byte - 0x61 + 10
        default: return nil
        }
        value = value << 4 | UInt32(nibble)
    }
    return value
}

/// The UTF-8 bytes of `text`, for comparisons against line slices.
private func ascii(_ text: String) -> ArraySlice<UInt8> { ArraySlice(text.utf8) }
