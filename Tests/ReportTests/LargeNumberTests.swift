// Numbers at the edge of what the schema allows — a baseline of 1e19 cycles, samples of 2^64 − 1, a
// multiplier of 1.7976931348623157e308, a confidence of 1e17 — through compare, every render format and
// JSON output. Each of these stopped the program (SIGILL, exit 132) before arithmetic went through
// CheckedNumber; now each gives an answer or a one-line input error.

import Documents
import Foundation
@testable import Report
import TestSupport
import Testing

@Suite("large numbers: no traps")
struct LargeNumberTests {
    /// The real report with `edit` applied, written to `name` in `folder`; returns its path.
    static func write(_ name: String, in folder: URL, _ edit: (inout BenchReport) -> Void) throws -> String {
        var report = try CompareFixtures.real()
        edit(&report)
        let path = folder.appendingPathComponent(name).path
        try DocumentFile.encodeJSON(report).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// compare's verdicts: the same, a regression, improvements only, inconclusive (one report a side is).
    static let verdictCodes: Set<Int32> = [0, 2, 4, 5]

    /// Whether compare's output says it exits with `status`: the text's summary line, or the JSON's
    /// summary (which must parse).
    static func statesExit(_ status: Int32, _ out: String, json: Bool) throws -> Bool {
        guard json else { return out.contains("exit \(status): ") }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        return (object["summary"] as? [String: Any])?["exitCode"] as? Int == Int(status)
    }

    /// The index of the first ok case with a baseline and one exit per sample (so an offset is not divided).
    static func plainCase(_ report: BenchReport) throws -> Int {
        try #require(
            report.cases.firstIndex {
                $0.status == .ok && $0.baselineMedianCycles != nil && $0.exitsPerSample == 1
                    && $0.samplesCycles.count > 9
            })
    }

    @Test("compare with a baseline median of 1e19 cycles on either side: a verdict, not a crash")
    func hugeBaseline() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let real = try CompareFixtures.path(CompareFixtures.realName)
        let huge = try Self.write("huge.bench.json", in: folder) { report in
            for index in report.cases.indices where report.cases[index].baselineMedianCycles != nil {
                report.cases[index].baselineMedianCycles = 1e19
            }
        }
        for (base, new) in [(real, huge), (huge, real), (huge, huge)] {
            for json in [false, true] {
                let (status, out, err) = try NestprobeRunner.run(["compare", base, new] + (json ? ["--json"] : []))
                    .parts
                #expect(Self.verdictCodes.contains(status), "\(status): \(err)")
                #expect(try Self.statesExit(status, out, json: json), "\(out)")
            }
        }
    }

    @Test("compare with samples of 2^64 − 1: a verdict, not a crash")
    func largestSamples() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let real = try CompareFixtures.path(CompareFixtures.realName)
        let huge = try Self.write("max.bench.json", in: folder) { report in
            for index in report.cases.indices where report.cases[index].status == .ok {
                report.cases[index].samplesCycles = report.cases[index].samplesCycles.map { _ in UInt64.max }
            }
            for index in report.hostLevel.indices {
                report.hostLevel[index].samplesCycles = report.hostLevel[index].samplesCycles.map { _ in .max }
            }
        }
        for (base, new) in [(real, huge), (huge, real)] {
            let (status, out, err) = try NestprobeRunner.run(["compare", base, new]).parts
            #expect(Self.verdictCodes.contains(status), "\(status): \(err)")
            #expect(out.contains("cpuid-0"))
            #expect(try Self.statesExit(status, out, json: false), "\(out)")
        }
    }

    @Test("compare --json with a baseline of the largest Double: every number finite, a verdict's exit")
    func largestBaseline() throws {
        let folder = try compareScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let real = try CompareFixtures.path(CompareFixtures.realName)
        let index = try Self.plainCase(try CompareFixtures.real())
        let huge = try Self.write("largest.bench.json", in: folder) { report in
            report.cases[index].baselineMedianCycles = .greatestFiniteMagnitude
            report.hostLevel[0].statistics.cycles.p50 = .greatestFiniteMagnitude
        }
        for (base, new) in [(huge, real), (real, huge), (huge, huge)] {
            let (status, out, err) = try NestprobeRunner.run(["compare", "--json", base, new]).parts
            #expect(Self.verdictCodes.contains(status), "\(status): \(err)")
            #expect(err.isEmpty || !err.contains("EncodingError"), "\(err)")
            #expect(try Self.statesExit(status, out, json: true), "\(out)")
        }
    }

    @Test("every render format of a report with figures near Double's limits")
    func renderExtremes() throws {
        var report = try CompareFixtures.real()
        let index = try Self.plainCase(report)
        report.cases[index].netMedianNanoseconds = 1e19
        report.cases[index].netMedianCycles = .greatestFiniteMagnitude
        report.cases[index].statistics?.nanoseconds.p50 = 1e19
        report.hostLevel[0].netMedianNanoseconds = .greatestFiniteMagnitude
        report.cases[index].samplesCycles = report.cases[index].samplesCycles.map { _ in UInt64.max }
        let row = try #require(report.table.firstIndex { $0.multiplier != nil })
        report.table[row].multiplier = .greatestFiniteMagnitude
        report.table[row].guestLevelNanoseconds = 1e19
        report.wallSeconds = 1e300
        for format in RenderFormat.allCases {
            let text = format.render(report)
            #expect(!text.isEmpty, "\(format)")
        }
        #expect(RenderFormat.junit.render(report).contains("10000000000.000000000"))
    }

    @Test("a level confidence of 1e17 renders as what it is in every format (it is refused when read)")
    func confidenceOutOfRange() throws {
        var report = try CompareFixtures.real()
        report.context.levelConfidence = 1e17
        #expect(RenderFormat.markdown.render(report).contains("1e+19 %"))
        #expect(RenderFormat.html.render(report).contains("1e+19 %"))
        for format in RenderFormat.allCases { #expect(!format.render(report).isEmpty) }
    }

    @Test("junit seconds past Int's range are written in full, without an exponent")
    func junitSeconds() {
        #expect(RenderJUnit.seconds(1e19) == "10000000000.000000000")
        #expect(RenderJUnit.seconds(1182) == "0.000001182")
        #expect(!RenderJUnit.seconds(.greatestFiniteMagnitude).contains("e"))
    }
}
