// Tests of CPUIDDump against real dumps of an AMD EPYC (Genoa) KVM guest and against broken input.

import CLibCPUID
import Foundation
import Testing

@testable import Probe

/// The real dumps under Fixtures/dumps, taken with `cpuid -r`, `cpuid -r -1` and `cpuid_tool --save`.
enum CPUIDDumpFixture {
    static let cpuidTool = "amd-genoa-kvm.cpuid-r.txt"
    static let cpuidToolOneCPU = "amd-genoa-kvm.cpuid-r-1.txt"
    static let libcpuidRaw = "amd-genoa-kvm.libcpuid-raw.txt"

    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/dumps"))
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: url(name), encoding: .utf8)
    }

    static func dump(_ name: String) throws -> CPUIDDump {
        try CPUIDDump.parse(text(name))
    }
}

extension CPUIDLeaf {
    /// The vendor string of leaf 0, whose registers run EBX, EDX, ECX.
    fileprivate var vendorString: String { CPUIDLeaf.text([ebx, edx, ecx]) }
}

@Suite("CPUIDDump: real dumps")
struct CPUIDDumpFixtureTests {
    @Test("cpuid -r: CPU 0's leaves, both CPUs counted, KVM's signature at 0x40000000")
    func cpuidTool() throws {
        let dump = try CPUIDDumpFixture.dump(CPUIDDumpFixture.cpuidTool)
        #expect(dump.format == .cpuidTool)
        #expect(dump.logicalCPUs == 2)
        #expect(dump.libcpuidVersion == nil)
        #expect(dump.leaves.count == 85)
        let table = dump.table
        #expect(table[0]?.vendorString == "AuthenticAMD")
        #expect(table[0]?.eax == 0x1C)
        #expect(table[1]?.eax == 0x00A1_0F11)
        #expect(table[1]?.ebx == 0x0002_0800, "CPU 0's APIC ID (0), not CPU 1's")
        #expect(table[0x4000_0000]?.signatureEBXECXEDX == "KVMKVMKVM")
        #expect(table[0xD, 0xC]?.eax == 0x18)
        #expect(table[0x8000_001D, 3]?.eax == 0x4163)
        #expect(table[0x8000_0021]?.eax == 0x204)
    }

    @Test("cpuid -r -1: one CPU under a bare `CPU:` header")
    func cpuidToolOneCPU() throws {
        let dump = try CPUIDDumpFixture.dump(CPUIDDumpFixture.cpuidToolOneCPU)
        #expect(dump.format == .cpuidTool)
        #expect(dump.logicalCPUs == 1)
        #expect(dump.table[0]?.vendorString == "AuthenticAMD")
        #expect(dump.table[1]?.ebx == 0x0102_0800, "cpuid -r -1 ran on CPU 1 here")
    }

    @Test("libcpuid raw: version, two logical CPUs, rows past the maximum leaves dropped")
    func libcpuidRaw() throws {
        let dump = try CPUIDDumpFixture.dump(CPUIDDumpFixture.libcpuidRaw)
        #expect(dump.format == .libcpuidRaw)
        #expect(dump.libcpuidVersion == "0.6.2")
        #expect(dump.logicalCPUs == 2)
        #expect(dump.ignoredRowNames.isEmpty)
        let table = dump.table
        #expect(table[0]?.vendorString == "AuthenticAMD")
        #expect(table[1]?.ebx == 0x0002_0800)
        // Leaf 0 EAX is 0x1C: basic_cpuid[29...31] are libcpuid's zero fill, not CPUID answers.
        #expect(table[0x1C] != nil)
        #expect(dump.leaves.allSatisfy { $0.leaf >= 0x8000_0000 || $0.leaf <= 0x1C })
        // 0x8000_0000 EAX is 0x8000_0021, past libcpuid's 32 rows: every ext row is real.
        #expect(table[0x8000_001F] != nil)
        #expect(table[0x8000_001D, 3]?.eax == 0x4163)
        #expect(table[0x4, 7] != nil)
        #expect(table[0xB, 1]?.eax == 5)
        #expect(table[0x4000_0000] == nil, "libcpuid does not record hypervisor leaves")
    }

    @Test("the two dumps of this machine agree on every leaf both hold")
    func formatsAgree() throws {
        let tool = try CPUIDDumpFixture.dump(CPUIDDumpFixture.cpuidTool).table
        let raw = try CPUIDDumpFixture.dump(CPUIDDumpFixture.libcpuidRaw)
        var shared = 0
        for leaf in raw.leaves {
            guard let other = tool[leaf.leaf, leaf.subleaf] else { continue }
            #expect(other == leaf)
            shared += 1
        }
        #expect(shared > 60)
    }

    @Test(
        "detectFormat tells the formats apart from the first non-blank line",
        arguments: [
            (CPUIDDumpFixture.cpuidTool, CPUIDDump.Format.cpuidTool),
            (CPUIDDumpFixture.cpuidToolOneCPU, .cpuidTool),
            (CPUIDDumpFixture.libcpuidRaw, .libcpuidRaw),
        ])
    func detect(name: String, format: CPUIDDump.Format) throws {
        #expect(CPUIDDump.detectFormat(try CPUIDDumpFixture.text(name)) == format)
        #expect(CPUIDDump.detectFormat("\n\n" + (try CPUIDDumpFixture.text(name))) == format)
    }

    @Test("detectFormat says nil for text in neither format")
    func detectNeither() {
        #expect(CPUIDDump.detectFormat("") == nil)
        #expect(CPUIDDump.detectFormat("processor\t: 0\nvendor_id\t: AuthenticAMD") == nil)
        #expect(CPUIDDump.detectFormat("\u{0}\u{1}\u{2}") == nil)
    }
}

@Suite("CPUIDDump: cross-check with libcpuid's own reader")
struct CPUIDDumpLibCPUIDTests {
    /// libcpuid's rows for leaves within the maximum basic and extended leaf, as leaves.
    static func libcpuidLeaves(_ raw: cpu_raw_data_t) -> [CPUIDLeaf] {
        let all = LibCPUIDRaw.leaves(of: raw)
        let table = CPUIDTable(all)
        let basicMax = table[0]?.eax ?? 0
        let extendedMax = table[0x8000_0000]?.eax ?? 0
        return all.filter { $0.leaf < 0x8000_0000 ? $0.leaf <= basicMax : $0.leaf <= extendedMax }
    }

    /// Every basic and extended leaf (subleaf 0) libcpuid holds, compared with the parser's.
    static func expectSameBasicAndExtended(libcpuid: [CPUIDLeaf], parsed: CPUIDDump) {
        let table = parsed.table
        // One row per (leaf, subleaf): intel_fn4[0] repeats basic_cpuid[4], amd_fn8000001dh[0] ext_cpuid[0x1D].
        let rows = CPUIDTable(libcpuid.filter { $0.subleaf == 0 && ($0.leaf < 32 || $0.leaf >= 0x8000_0000) })
            .leaves
        #expect(rows.count == 29 + 32)
        for row in rows {
            #expect(table[row.leaf, row.subleaf] == row, "leaf \(HexWord.format32(row.leaf))")
        }
        let mine = parsed.leaves.filter {
            $0.subleaf == 0 && ($0.leaf < 32 || (0x8000_0000..<0x8000_0020).contains($0.leaf))
        }
        #expect(mine.count == rows.count)
    }

    @Test("cpuid_deserialize_all_raw_data's CPU 0 matches the parser's CPU 0")
    func allRawData() throws {
        let path = try CPUIDDumpFixture.url(CPUIDDumpFixture.libcpuidRaw).path
        // cpu_raw_data_array_t holds a pointer to libcpuid's allocation of one cpu_raw_data_t per CPU.
        var array = unsafe cpu_raw_data_array_t()
        // SAFETY: `array` is a local the call fills; the path is a NUL-terminated copy alive for the call.
        let status = unsafe cpuid_deserialize_all_raw_data(&array, path)
        // SAFETY: frees what the call above allocated, once, after the last use of `array.raw`.
        defer { unsafe cpuid_free_raw_data_array(&array) }
        try #require(status == 0)
        let count = unsafe array.num_raw
        #expect(count == 2)
        // SAFETY: num_raw was checked to be 2, so raw[0] is inside the allocation.
        let first = try #require(unsafe array.raw?.pointee)
        let parsed = try CPUIDDumpFixture.dump(CPUIDDumpFixture.libcpuidRaw)
        Self.expectSameBasicAndExtended(libcpuid: Self.libcpuidLeaves(first), parsed: parsed)
    }

    @Test("cpuid_deserialize_raw_data on a headerless (0.5.x-style) file matches the parser")
    func singleRawData() throws {
        // CPU 0's section without its `Logical CPU` header: the layout libcpuid 0.5.x wrote.
        let text = try CPUIDDumpFixture.text(CPUIDDumpFixture.libcpuidRaw)
        let section =
            text.split(separator: "\n").prefix { !$0.contains("Logical CPU #1") }
            .filter { !$0.contains("Logical CPU") }.joined(separator: "\n") + "\n"
        let parsed = try CPUIDDump.parse(section)
        #expect(parsed.logicalCPUs == 1)
        #expect(parsed.libcpuidVersion == "0.6.2")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-\(UUID()).txt")
        try section.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var raw = cpu_raw_data_t()
        // SAFETY: `raw` is a local the call fills; the path is a NUL-terminated copy alive for the call.
        try #require(unsafe cpuid_deserialize_raw_data(&raw, file.path) == 0)
        Self.expectSameBasicAndExtended(libcpuid: Self.libcpuidLeaves(raw), parsed: parsed)
    }

    @Test("cpuid_deserialize_raw_data on a multi-CPU file keeps the last CPU, not CPU 0 (libcpuid 0.6.2)")
    func singleRawDataKeepsLastCPU() throws {
        let path = try CPUIDDumpFixture.url(CPUIDDumpFixture.libcpuidRaw).path
        var raw = cpu_raw_data_t()
        // SAFETY: as above.
        try #require(unsafe cpuid_deserialize_raw_data(&raw, path) == 0)
        let libcpuid = CPUIDTable(LibCPUIDRaw.leaves(of: raw))
        #expect(libcpuid[1]?.ebx == 0x0102_0800, "APIC ID 1: rows of CPU #1 overwrote CPU #0's")
        #expect(try CPUIDDumpFixture.dump(CPUIDDumpFixture.libcpuidRaw).table[1]?.ebx == 0x0002_0800)
    }
}

@Suite("CPUIDDump: lenient where dumps vary")
struct CPUIDDumpVariantTests {
    static let toolLines = [
        "CPU 0:",
        "   0x00000000 0x00: eax=0x00000001 ebx=0x756e6547 ecx=0x6c65746e edx=0x49656e69",
        "   0x00000001 0x00: eax=0x00050657 ebx=0x00000800 ecx=0x00000000 edx=0x00000000",
    ]

    @Test("CRLF line endings, tabs, blank lines and no final newline")
    func whitespace() throws {
        let text = "\r\n" + Self.toolLines.joined(separator: "\r\n\r\n").replacingOccurrences(of: "   ", with: "\t")
        let dump = try CPUIDDump.parse(text)
        #expect(dump.leaves.count == 2)
        #expect(dump.table[0]?.vendorString == "GenuineIntel")
    }

    @Test("leaf lines without a CPU header are one CPU")
    func headerless() throws {
        let dump = try CPUIDDump.parse(Self.toolLines.dropFirst().joined(separator: "\n"))
        #expect(dump.logicalCPUs == 1)
        #expect(dump.leaves.count == 2)
    }

    @Test("libcpuid: unknown arrays from newer versions are skipped and named; test results are ignored")
    func libcpuidExtras() throws {
        let text = """
            version=0.7.1
            basic_cpuid[0]=00000001 756e6547 6c65746e 49656e69
            basic_cpuid[1]=00050657 00000800 00000000 00000000
            basic_cpuid[2]=00000000 00000000 00000000 00000000
            amd_fn80000026h[0]=00000001 00000002 00000003 00000004
            --------------------------------------------------------------------------------
            this is where libcpuid's test files keep the expected results
            """
        let dump = try CPUIDDump.parse(text)
        #expect(dump.libcpuidVersion == "0.7.1")
        #expect(dump.ignoredRowNames == ["amd_fn80000026h"])
        #expect(dump.leaves.map(\.leaf) == [0, 1], "basic_cpuid[2] is past the maximum leaf 1")
    }

    @Test("libcpuid: registers with 0x prefixes, as libcpuid's %x accepts")
    func libcpuidPrefixes() throws {
        let dump = try CPUIDDump.parse("basic_cpuid[0]=0x00000000 0x756e6547 0x6c65746e 0x49656e69")
        #expect(dump.table[0]?.vendorString == "GenuineIntel")
        #expect(dump.libcpuidVersion == nil)
    }
}

@Suite("CPUIDDump: broken input is a typed error, never a crash")
struct CPUIDDumpErrorTests {
    static let header = "CPU 0:\n"
    static let leaf0 = "   0x00000000 0x00: eax=0x0000001c ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65"

    /// The error `parse` throws for `text`, recording an issue when it does not throw.
    static func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> CPUIDDumpError? {
        #expect(throws: CPUIDDumpError.self, sourceLocation: sourceLocation) { try CPUIDDump.parse(text) }
    }

    @Test("empty and blank text", arguments: ["", "\n", "  \n\t\n\r\n"])
    func empty(text: String) {
        #expect(throws: CPUIDDumpError.empty) { try CPUIDDump.parse(text) }
    }

    @Test("text in neither format")
    func garbage() {
        #expect(throws: CPUIDDumpError.unrecognizedFormat(line: 2, found: "hello world")) {
            try CPUIDDump.parse("\nhello world\nCPU 0:")
        }
    }

    @Test(
        "cpuid -r lines that do not fit name the line and what was expected",
        arguments: [
            // A line cut off after `ebx=0x`.
            (String(leaf0.prefix(38)), 2, "`ebx=0x…`"),
            // A line cut off between registers.
            (String(leaf0.prefix(49)), 2, "`ecx=0x…`"),
            // A non-hex digit.
            (leaf0.replacingOccurrences(of: "eax=0x0000001c", with: "eax=0x0000001g"), 2, "`eax=0x…`"),
            // More than 32 bits.
            (leaf0.replacingOccurrences(of: "eax=0x0000001c", with: "eax=0x10000001c"), 2, "`eax=0x…`"),
            // A subleaf without its colon.
            (leaf0.replacingOccurrences(of: "0x00:", with: "0x00"), 2, "`0x…:`"),
            // Something after edx.
            (leaf0 + " esi=0x0", 2, "the end of the line after edx"),
        ])
    func malformedToolLine(line: String, number: Int, expected: String) {
        let error = Self.failure(Self.header + line)
        guard case .malformed(let at, let what, _) = error else {
            Issue.record("expected a malformed-line error, got \(String(describing: error))")
            return
        }
        #expect(at == number)
        #expect(what == expected)
    }

    @Test("the message names the line, what was expected and what was found")
    func message() throws {
        let error = #expect(throws: CPUIDDumpError.self) {
            try CPUIDDump.parse(Self.header + Self.leaf0.replacingOccurrences(of: "ecx=0x444d4163", with: "ecx=0xZZ"))
        }
        #expect(error?.description == "line 2: expected `ecx=0x…`, found `ecx=0xZZ`")
        #expect(error?.line == 2)
    }

    @Test(
        "truncated dumps",
        arguments: [
            ("CPU 0:\n", 2),  // a header and nothing after it
            ("CPU 0:\n" + leaf0 + "\nCPU 1:\n", 4),  // cut after the next CPU's header
            ("CPU 0:\nCPU 1:\n" + leaf0, 2),  // a CPU with no leaves
            ("CPU 0:\n   0x00000001 0x00: eax=0x00050657 ebx=0x0 ecx=0x0 edx=0x0\n", 3),  // no leaf 0
            ("version=0.6.2\n", 2),  // a version line and no rows
            ("version=0.6.2\n\n_________________ Logical CPU #0 _________________\n", 4),
        ])
    func truncated(text: String, line: Int) {
        #expect(Self.failure(text)?.line == line)
    }

    @Test(
        "a real dump cut mid-register is refused at its last line, never read with a short last value",
        arguments: [CPUIDDumpFixture.cpuidTool, CPUIDDumpFixture.cpuidToolOneCPU, CPUIDDumpFixture.libcpuidRaw])
    func cutMidRegister(fixture: String) throws {
        let whole = try CPUIDDumpFixture.text(fixture)
        let body = whole.hasSuffix("\n") ? String(whole.dropLast()) : whole
        let lastLine = body.split(separator: "\n", omittingEmptySubsequences: false).count
        // Cut 1 to 7 digits off the last register: every cut is refused, naming the last line.
        for cut in 1...7 {
            let error = Self.failure(String(body.dropLast(cut)))
            #expect(error?.line == lastLine, "cut \(cut): \(String(describing: error))")
            #expect(error?.description.contains("mid-register") == true)
        }
        // The whole dump, with or without its final newline, still reads.
        #expect(try CPUIDDump.parse(body).leaves == CPUIDDump.parse(whole).leaves)
    }

    @Test("short register values are still accepted on lines a newline ended (hand-written dumps)")
    func shortValuesInsideTheDump() throws {
        let dump = try CPUIDDump.parse(
            Self.header + Self.leaf0 + "\n   0x00000001 0x00: eax=0x1 ebx=0x0 ecx=0x0 edx=0x0\n")
        #expect(dump.table[1]?.eax == 1)
        let raw = try CPUIDDump.parse("basic_cpuid[0]=00000001 756e6547 6c65746e 49656e69\nbasic_cpuid[1]=1 0 0 0\n")
        #expect(raw.table[1]?.eax == 1)
    }

    @Test(
        "libcpuid lines that do not fit",
        arguments: [
            "basic_cpuid[0]=0000001c 68747541 444d4163",  // three registers
            "basic_cpuid[0]=0000001c 68747541 444d4163 69746e6x",  // a non-hex digit
            "basic_cpuid[x]=0000001c 68747541 444d4163 69746e65",  // a non-numeric index
            "basic_cpuid[0] 0000001c 68747541 444d4163 69746e65",  // no `=`
            "_________________ Logical CPU # _________________",  // a header without its number
            "version=0.6.2",  // a second version line
            "arm_midr=00000000410fd0c0",  // an ARM dump
        ])
    func malformedLibcpuidLine(line: String) {
        let text = "version=0.6.2\nbasic_cpuid[0]=0000001c 68747541 444d4163 69746e65\n" + line + "\n"
        #expect(Self.failure(text)?.line == 3)
    }

    @Test("binary bytes, NULs and stray UTF-8")
    func binary() {
        let bytes: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0xFF, 0xFE, 0x0A, 0x00]
        #expect(throws: CPUIDDumpError.self) { try CPUIDDump.parse(String(decoding: bytes, as: UTF8.self)) }
        #expect(
            Self.failure(Self.header + Self.leaf0 + "\n\u{0}\u{0}\u{0}\n")
                == .malformed(line: 3, expected: "printable ASCII text", found: "\\x00\\x00\\x00"))
        #expect(throws: CPUIDDumpError.self) { try CPUIDDump.parse(Self.header + Self.leaf0 + " ü") }
    }

    @Test("oversized input: too many bytes, too many lines, an over-long line")
    func oversized() {
        let big = String(repeating: "x", count: CPUIDDump.maximumBytes + 1)
        #expect(
            Self.failure(big)
                == .tooLarge("\(CPUIDDump.maximumBytes + 1) bytes, over the limit of \(CPUIDDump.maximumBytes)"))
        let manyLines = Self.header + Self.leaf0 + String(repeating: "\n", count: CPUIDDump.maximumLines)
        #expect(Self.failure(manyLines) == .tooLarge("over \(CPUIDDump.maximumLines) lines"))
        let longLine = Self.header + Self.leaf0 + String(repeating: " ", count: CPUIDDump.maximumLineLength)
        #expect(Self.failure(longLine)?.line == 2)
    }

    @Test("random damage to the real dumps parses or throws, and never traps")
    func fuzz() throws {
        // Documents' seeded generator, so a failing fuzz case can be replayed.
        var random = SplitMix64(seed: 0x6E65_7374_7072_6F62)
        for name in [CPUIDDumpFixture.cpuidTool, CPUIDDumpFixture.libcpuidRaw] {
            let original = Array(try CPUIDDumpFixture.text(name).utf8)
            for _ in 0..<300 {
                var bytes = original
                for _ in 0..<(1 + Int(random.next() % 8)) {
                    let at = Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 4 {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
                    case 1: bytes.remove(at: at)
                    case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next() % 128), at: at)
                    default: bytes.removeSubrange(at..<min(bytes.count, at + Int(random.next() % 200)))
                    }
                    if bytes.isEmpty { bytes = [0x0A] }
                }
                do {
                    let dump = try CPUIDDump.parse(String(decoding: bytes, as: UTF8.self))
                    #expect(!dump.leaves.isEmpty)
                } catch {
                    #expect(!error.description.isEmpty)
                }
            }
        }
    }
}
