// CPUIDLeaf: one CPUID result, the unit every CPUID source (live, KVM's supported table, dumps) shares.

/// The registers one CPUID (leaf, subleaf) returned.
public struct CPUIDLeaf: Sendable, Equatable, Hashable {
    public var leaf: UInt32
    public var subleaf: UInt32
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32

    public init(leaf: UInt32, subleaf: UInt32 = 0, eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.leaf = leaf
        self.subleaf = subleaf
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }

    /// The 12 bytes of EBX, ECX, EDX as text (vendor strings, hypervisor signatures), NULs dropped.
    public var signatureEBXECXEDX: String { Self.text([ebx, ecx, edx]) }

    /// Little-endian bytes of the registers as printable ASCII; NUL and non-printable bytes are dropped.
    public static func text(_ registers: [UInt32]) -> String {
        var scalars = String.UnicodeScalarView()
        for register in registers {
            for shift in stride(from: 0, to: 32, by: 8) {
                let byte = UInt8((register >> UInt32(shift)) & 0xff)
                if byte >= 0x20 && byte < 0x7f { scalars.append(Unicode.Scalar(byte)) }
            }
        }
        return String(scalars)
    }
}

/// A set of CPUID leaves with lookup by (leaf, subleaf).
public struct CPUIDTable: Sendable, Equatable {
    public private(set) var leaves: [CPUIDLeaf]
    private var index: [UInt64: Int]

    public init(_ leaves: [CPUIDLeaf]) {
        self.leaves = []
        self.index = [:]
        for leaf in leaves { insert(leaf) }
    }

    /// Adds a leaf, replacing an earlier one with the same (leaf, subleaf).
    public mutating func insert(_ leaf: CPUIDLeaf) {
        let key = UInt64(leaf.leaf) << 32 | UInt64(leaf.subleaf)
        if let at = index[key] {
            leaves[at] = leaf
        } else {
            index[key] = leaves.count
            leaves.append(leaf)
        }
    }

    /// The leaf (leaf, subleaf), if the table holds it.
    public subscript(leaf: UInt32, subleaf: UInt32 = 0) -> CPUIDLeaf? {
        index[UInt64(leaf) << 32 | UInt64(subleaf)].map { leaves[$0] }
    }

    /// Whether the table holds any leaf at all.
    public var isEmpty: Bool { leaves.isEmpty }

    public static func == (lhs: CPUIDTable, rhs: CPUIDTable) -> Bool { lhs.leaves == rhs.leaves }
}

extension CPUIDLeaf: Codable {
    private enum CodingKeys: String, CodingKey { case leaf, subleaf, eax, ebx, ecx, edx }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func hex(_ key: CodingKeys) throws -> UInt32 {
            let text = try c.decode(String.self, forKey: key)
            guard let value = HexWord.parse32(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "expected a hex string such as 0x4000_0000, got \(text)")
            }
            return value
        }
        self.init(
            leaf: try hex(.leaf), subleaf: try hex(.subleaf),
            eax: try hex(.eax), ebx: try hex(.ebx), ecx: try hex(.ecx), edx: try hex(.edx))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(HexWord.format32(leaf), forKey: .leaf)
        try c.encode(HexWord.format32(subleaf), forKey: .subleaf)
        try c.encode(HexWord.format32(eax), forKey: .eax)
        try c.encode(HexWord.format32(ebx), forKey: .ebx)
        try c.encode(HexWord.format32(ecx), forKey: .ecx)
        try c.encode(HexWord.format32(edx), forKey: .edx)
    }
}

/// Hexadecimal text for register and MSR values in snapshots ("0x0000001c").
public enum HexWord {
    public static func format32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    public static func format64(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// Parses "0x1c", "1c" or "0x4000_0000"; nil for anything else or a value over 32 bits.
    public static func parse32(_ text: String) -> UInt32? {
        parse64(text).flatMap { $0 <= UInt64(UInt32.max) ? UInt32($0) : nil }
    }

    /// Parses a hexadecimal value of up to 64 bits, with or without 0x and underscores.
    public static func parse64(_ text: String) -> UInt64? {
        var body = Substring(text.trimmed)
        if body.hasPrefix("0x") || body.hasPrefix("0X") { body = body.dropFirst(2) }
        let digits = body.filter { $0 != "_" }
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        return UInt64(digits, radix: 16)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    public var trimmed: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
