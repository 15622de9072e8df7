// The helpers that replaced full Foundation in the core binary (docs/PORTABLE.md), checked against what full
// Foundation gave: CFormat against String(format:) (glibc's printf), ErrnoText against strerror, the version
// stamp's reading, and ReportFile's integer-field check without JSONSerialization.

import Foundation
import Testing

@testable import Documents
@testable import Report

@Suite("FoundationEssentials helpers against full Foundation")
struct EssentialsHelperTests {
    /// Values where printf's exact rounding differs from rounding the shortest decimal text, and others.
    static let values: [Double] = [
        0, -0.0, 0.125, 0.375, 2.675, 1.005, 0.05, 0.15, 0.25, 0.35, 9.9995, 9.9996, 99.95, 999.5, 0.000123456,
        1.5e-5, 1e-7, 123.456, 87.94, -0.04, -2.5, 3.14159265358979, 1e15, 1.234567e15, 9.9995e15, 1e300,
        .leastNonzeroMagnitude,
        2.2250738585072014e-308, 1.7976931348623157e308, 4503599627370495.5, 0.1, 0.2, 0.3, 12345.678901234,
    ]

    @Test("CFormat.fixed matches %.Nf", arguments: [0, 1, 2, 3, 9])
    func fixed(decimals: Int) {
        var generator = SplitMix64(seed: 15 + UInt64(decimals))
        let random = (0..<2000).map { _ in Self.randomDouble(&generator) }
        for value in Self.values + random {
            #expect(CFormat.fixed(value, decimals: decimals) == String(format: "%.\(decimals)f", value), "\(value)")
        }
    }

    @Test("CFormat.scientific matches %.Ne", arguments: [0, 1, 3, 6])
    func scientific(decimals: Int) {
        var generator = SplitMix64(seed: 150 + UInt64(decimals))
        let random = (0..<2000).map { _ in Self.randomDouble(&generator) }
        for value in Self.values + random {
            #expect(
                CFormat.scientific(value, decimals: decimals) == String(format: "%.\(decimals)e", value), "\(value)")
        }
    }

    @Test("CFormat.general matches %.Pg", arguments: [1, 3, 6])
    func general(precision: Int) {
        var generator = SplitMix64(seed: 1500 + UInt64(precision))
        let random = (0..<2000).map { _ in Self.randomDouble(&generator) }
        for value in Self.values + random {
            #expect(
                CFormat.general(value, precision: precision) == String(format: "%.\(precision)g", value), "\(value)")
        }
    }

    @Test("infinities and NaN are written as printf writes them")
    func special() {
        #expect(CFormat.fixed(.infinity, decimals: 1) == String(format: "%.1f", Double.infinity))
        #expect(CFormat.fixed(-.infinity, decimals: 1) == String(format: "%.1f", -Double.infinity))
        #expect(CFormat.general(.nan, precision: 3) == String(format: "%.3g", Double.nan))
    }

    /// Doubles of every magnitude from 1e-12 to 1e20, both signs, some rounded to few digits (ties).
    static func randomDouble(_ generator: inout SplitMix64) -> Double {
        let exponent = Double(generator.next() % 33) - 12
        let mantissa = Double(generator.next() % 1_000_000) / 100_000
        let value = mantissa * pow(10, exponent)
        let tied = generator.next() % 3 == 0 ? (value * 1000).rounded() / 1000 + 0.0005 : value
        return generator.next() % 2 == 0 ? tied : -tied
    }

    @Test("ErrnoText has glibc's name and text for each errno in its table")
    func errno() {
        for (code, entry) in ErrnoText.table {
            // SAFETY: strerror's text is copied at once, before another call could change it.
            let text = unsafe String(cString: strerror(code))
            #expect(entry.text == text, "\(entry.name)")
            #expect(ErrnoText.describe(POSIXErrorCode(rawValue: code)!) == "\(entry.name) (\(entry.text))")
        }
        #expect(ErrnoText.describe(.ENOENT) == "ENOENT (No such file or directory)")
    }

    @Test("the version stamp: unstamped is nil, stamped is the revision")
    func stamp() {
        #expect(NestprobeVersion.revision(fromStamp: NestprobeVersion.stamp) == nil)
        let marker = NestprobeVersion.stampMarker
        #expect(NestprobeVersion.stamp.utf8.count == marker.utf8.count + 40)
        let stamped = marker + "1a2b3c4-dirty" + String(repeating: " ", count: 27)
        #expect(NestprobeVersion.revision(fromStamp: stamped) == "1a2b3c4-dirty")
        #expect(
            NestprobeVersion.revision(fromStamp: marker + "unknown" + String(repeating: " ", count: 33)) == "unknown")
        #expect(NestprobeVersion.revision(fromStamp: "something else") == nil)
    }

    @Test("a number that does not fit its integer field is named with its path")
    func misfitNumbers() {
        func misfit(_ json: String) -> String? { ReportFile.misfitNumber(Array(json.utf8)) }
        #expect(
            misfit(#"{"cases":[{"samplesCycles":[1,-5]}]}"#)
                == "cases[0].samplesCycles[1]: -5 is not a whole number ≥ 0 of cycles")
        #expect(misfit(#"{"runs":1.5}"#) == "runs: 1.5 is not a whole number")
        #expect(misfit(#"{"runs":1e19}"#) == "runs: 1e+19 is not a whole number")
        #expect(misfit(#"{"runs":true,"name":"x","cpl":null,"version":3}"#) == nil)
        #expect(misfit("not json") == nil)
    }
}
