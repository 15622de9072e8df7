// Large reports: the samples are read straight from the bytes (ReportFile+Samples.swift) rather than by
// JSONDecoder, which needed ~500 MB and seconds for a 64 MiB report. These tests hold the fast path to
// the decoder's answer, sample for sample, and check what it leaves to the decoder.

import Bench
import Foundation
import Probe
import Testing

@testable import Report

@Suite("large reports: samples read apart")
struct LargeReportTests {
    static func realBytes() throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: try CompareFixtures.path(CompareFixtures.realName))))
    }

    @Test("the real report: every sample array taken, and equal to what JSONDecoder reads")
    func sameAsDecoder() throws {
        let bytes = try Self.realBytes()
        let samples = try #require(ReportSamples.extract(bytes))
        let decoded = try DocumentFile.decodeJSON(
            BenchReport.self, bytes, name: "r", schema: BenchReport.schemaID, version: BenchReport.currentVersion)
        #expect(samples.cases.count == decoded.cases.count)
        #expect(samples.hostLevel.count == decoded.hostLevel.count)
        #expect(samples.taken.count == decoded.cases.count + decoded.hostLevel.count)
        let parsed = try ReportFile.parse(bytes, name: "r")
        for (index, entry) in decoded.cases.enumerated() {
            #expect(parsed.cases[index].samplesCycles == entry.samplesCycles, "cases[\(index)]")
        }
        for (index, host) in decoded.hostLevel.enumerated() {
            #expect(parsed.hostLevel[index].samplesCycles == host.samplesCycles, "hostLevel[\(index)]")
        }
    }

    @Test("unusual spellings are left to the decoder: the same result or the same error")
    func unusualSpellings() throws {
        let text = String(decoding: try Self.realBytes(), as: UTF8.self)
        let first = try #require(text.range(of: "\"samplesCycles\" : ["))
        for spelling in ["1e2, 5", "18446744073709551616, 1", "-0, 3", "07", "2.0", " 4 , 5 ", "\"x\""] {
            var edited = text
            edited.replaceSubrange(first.upperBound..<first.upperBound, with: spelling + (spelling.isEmpty ? "" : ", "))
            let bytes = Array(edited.utf8)
            let viaDecoder = Result { () throws(InputError) in
                try DocumentFile.decodeJSON(
                    BenchReport.self, bytes, name: "r", schema: BenchReport.schemaID,
                    version: BenchReport.currentVersion)
            }
            let viaParse = Result { () throws(InputError) in try ReportFile.parse(bytes, name: "r") }
            switch (viaDecoder, viaParse) {
            case (.success(let a), .success(let b)):
                #expect(a.hostLevel.map(\.samplesCycles) == b.hostLevel.map(\.samplesCycles), "\(spelling)")
                #expect(a.cases.map(\.samplesCycles) == b.cases.map(\.samplesCycles), "\(spelling)")
            case (.failure, .failure): break
            case (.success, .failure(let error)):
                // Only ReportFile's own checks may refuse what the decoder reads.
                #expect(error.message.contains("samplesCycles"), "\(spelling): \(error.message)")
            case (.failure(let error), .success):
                Issue.record("\(spelling): the decoder refused (\(error.message)) but parse accepted")
            }
        }
    }

    @Test("a report cut inside a sample array is not valid JSON, as before")
    func truncated() throws {
        let bytes = try Self.realBytes()
        let text = String(decoding: bytes, as: UTF8.self)
        let inside = try #require(text.range(of: "\"samplesCycles\" : [")).upperBound
        let cut = Array(text[..<text.index(inside, offsetBy: 20)].utf8)
        #expect(ReportSamples.extract(cut) == nil)
        #expect { try ReportFile.parse(cut, name: "r") } throws: { error in
            (error as? InputError)?.message.hasPrefix("r: not valid JSON") == true
        }
    }

    @Test("wrapping a megabyte note keeps every word, in lines of at most 80 columns")
    func wrapLongNote() {
        let words = (0..<200_000).map { "w\($0 % 97)" }
        let lines = TextFormat.wrap(words.joined(separator: " "), indent: "  ")
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines.flatMap { $0.split(separator: " ") }.map(String.init) == words)
    }

    @Test("Markdown escaping by byte: CR LF one space, punctuation escaped, other text kept")
    func markdownEscape() {
        #expect(Markup.markdown("a\r\nb\nc\rd") == "a b c d")
        #expect(Markup.markdown("*x*|ü_é") == "\\*x\\*\\|ü\\_é")
    }
}
