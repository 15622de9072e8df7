// Reading a large report's samples without Foundation's decoder. JSONDecoder first maps every value of
// the document (a few words per number), then decodes: for a 64 MiB report of eight million samples
// that map alone is ~200 MB, and the decoding a good part of the time. The samples are nearly all of a
// report, and they sit in one place — `samplesCycles` of each element of the top-level `hostLevel` and
// `cases` arrays — so they are read here straight from the bytes into [UInt64], and the decoder gets
// the document with those arrays blanked in place (`[` spaces `]`, still valid JSON and the same size,
// so no second copy of a large document is made).
//
// Only plain arrays of decimal digits are taken; anything else (a negative or fractional number, a
// string, an exponent) is left in place, so the decoder and ReportFile's checks name it as before.

import Documents

/// The kept samples of a report's host-level cases and cases, taken out of its JSON.
struct ReportSamples {
    /// The byte ranges of the taken arrays, from `[` to `]`.
    var taken: [Range<Int>] = []
    /// hostLevel[i].samplesCycles, by i.
    var hostLevel: [Int: [UInt64]] = [:]
    /// cases[i].samplesCycles, by i.
    var cases: [Int: [UInt64]] = [:]

    private struct Malformed: Error {}

    /// The samples of `bytes`, or nil when the document is not a JSON object of the expected shape; then
    /// the decoder reads it all and says what is wrong.
    static func extract(_ bytes: [UInt8]) -> ReportSamples? {
        var scan = Scanner(bytes: bytes)
        return try? scan.document()
    }

    /// Overwrites every taken array in `bytes` with an empty one of the same length.
    func blank(_ bytes: inout [UInt8]) {
        for range in taken {
            bytes[range.lowerBound] = UInt8(ascii: "[")
            for index in range.lowerBound + 1..<range.upperBound - 1 { bytes[index] = 0x20 }
            bytes[range.upperBound - 1] = UInt8(ascii: "]")
        }
    }

    /// Puts the samples back into the decoded report (a duplicated array key leaves an index without an
    /// element; the duplicate-key check refuses that document anyway).
    func restore(into report: inout BenchReport) {
        for (index, samples) in hostLevel where index < report.hostLevel.count {
            report.hostLevel[index].samplesCycles = samples
        }
        for (index, samples) in cases where index < report.cases.count {
            report.cases[index].samplesCycles = samples
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var taken: [Range<Int>] = []

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func document() throws -> ReportSamples {
            var result = ReportSamples()
            skipSpace()
            try expect(UInt8(ascii: "{"))
            try members { scanner, key in
                switch key {
                case "hostLevel":
                    try scanner.elements { scanner, element in
                        try scanner.caseObject { result.hostLevel[element] = $0 }
                    }
                case "cases":
                    try scanner.elements { scanner, element in
                        try scanner.caseObject { result.cases[element] = $0 }
                    }
                default: try scanner.skipValue(depth: 1)
                }
            }
            result.taken = taken
            return result
        }

        /// One element of hostLevel or cases: an object whose samplesCycles is taken when it is plain.
        mutating func caseObject(_ found: ([UInt64]) -> Void) throws {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return try skipValue(depth: 2) }
            index += 1
            try members { scanner, key in
                guard key == "samplesCycles" else { return try scanner.skipValue(depth: 3) }
                scanner.skipSpace()
                let start = scanner.index
                if let samples = try scanner.plainNumbers() {
                    scanner.taken.append(start..<scanner.index)
                    found(samples)
                } else {
                    scanner.index = start
                    try scanner.skipValue(depth: 3)
                }
            }
        }

        /// `[d, d, …]` of decimal digits that fit UInt64, or nil (index then undefined) for anything else.
        mutating func plainNumbers() throws -> [UInt64]? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
            index += 1
            var samples: [UInt64] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return samples
            }
            while true {
                skipSpace()
                var value: UInt64 = 0
                let start = index
                while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                    let (times, over1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, over2) = times.addingReportingOverflow(UInt64(bytes[index] &- UInt8(ascii: "0")))
                    guard !over1, !over2 else { return nil }
                    value = sum
                    index += 1
                }
                // No digits, or a leading zero JSON does not allow ("07"): the decoder's to judge.
                guard index > start, bytes[start] != UInt8(ascii: "0") || index == start + 1 else { return nil }
                samples.append(value)
                skipSpace()
                guard index < bytes.count else { throw Malformed() }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return samples
                }
                guard bytes[index] == UInt8(ascii: ",") else { return nil }
                index += 1
            }
        }

        /// The members of the object whose `{` was just read; `body` reads each value.
        mutating func members(_ body: (inout Scanner, String) throws -> Void) throws {
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpace()
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                try body(&self, key)
                skipSpace()
                guard index < bytes.count else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "}") { return }
                guard byte == UInt8(ascii: ",") else { throw Malformed() }
            }
        }

        /// The elements of an array value; `body` reads each, given its index.
        mutating func elements(_ body: (inout Scanner, Int) throws -> Void) throws {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return try skipValue(depth: 1) }
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            var element = 0
            while true {
                try body(&self, element)
                element += 1
                skipSpace()
                guard index < bytes.count else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "]") { return }
                guard byte == UInt8(ascii: ",") else { throw Malformed() }
            }
        }

        /// Moves past one value of any kind.
        mutating func skipValue(depth: Int) throws {
            guard depth < 512 else { throw Malformed() }
            skipSpace()
            guard index < bytes.count else { throw Malformed() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                try members { scanner, _ in try scanner.skipValue(depth: depth + 1) }
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return
                }
                while true {
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    guard index < bytes.count else { throw Malformed() }
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "]") { return }
                    guard byte == UInt8(ascii: ",") else { throw Malformed() }
                }
            case UInt8(ascii: "\""): _ = try string()
            default:
                let start = index
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D: break
                    default:
                        index += 1
                        continue
                    }
                    break
                }
                guard index > start else { throw Malformed() }
            }
        }

        /// A string; keys that matter here are plain ASCII, so escapes are kept as written (an escaped key
        /// then simply does not match, and its value is left to the decoder).
        mutating func string() throws -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed() }
            index += 1
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(decoding: bytes[start..<index - 1], as: UTF8.self)
                case UInt8(ascii: "\\"): index += 2
                default: index += 1
                }
            }
            throw Malformed()
        }

        mutating func expect(_ byte: UInt8) throws {
            guard index < bytes.count, bytes[index] == byte else { throw Malformed() }
            index += 1
        }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }
    }
}
