// DurationText: durations with units, whole nanoseconds, no trap on any input; and --budget using it.

import Foundation
import TestSupport
import Testing

@testable import Probe

@Suite("DurationText")
struct DurationTextTests {
    @Test(
        "accepted forms, in nanoseconds",
        arguments: [
            ("4", 4_000_000_000), ("4s", 4_000_000_000), ("1.5s", 1_500_000_000), ("4000ms", 4_000_000_000),
            ("500us", 500_000), ("500µs", 500_000), ("2us", 2_000), ("250ns", 250), (".5s", 500_000_000),
            ("0.000000001s", 1), ("1.250ms", 1_250_000), ("4S", 4_000_000_000), ("3600s", 3_600_000_000_000),
        ] as [(String, Int64)])
    func accepted(text: String, nanoseconds: Int64) throws {
        #expect(try DurationText.parse(text) == .nanoseconds(nanoseconds))
    }

    @Test(
        "refused forms: hex, signs, exponents, NaN, infinity, spaces, empty, no digits",
        arguments: [
            "0x10", "-1", "+1", "1e3", "nan", "inf", "infinity", "4 s", " 4", "", "s", "ms", ".", "1.", "1..2",
            "1,5s", "٣s", "4h", "99999999999999999999", "9223372036854775807s",
        ])
    func refused(text: String) {
        #expect(throws: DurationText.Failure.notADuration) { try DurationText.parse(text) }
    }

    @Test("bounds: zero and over the maximum are refused; a fraction of a nanosecond is refused")
    func bounds() throws {
        #expect(throws: DurationText.Failure.tooSmall(minimum: .nanoseconds(1))) { try DurationText.parse("0") }
        #expect(throws: DurationText.Failure.tooSmall(minimum: .nanoseconds(1))) { try DurationText.parse("0.0ms") }
        #expect(throws: DurationText.Failure.tooLarge(maximum: .seconds(3600))) { try DurationText.parse("3601s") }
        #expect(throws: DurationText.Failure.tooLarge(maximum: .seconds(3600))) {
            try DurationText.parse("3600000001us")
        }
        #expect(throws: DurationText.Failure.finerThanNanoseconds) { try DurationText.parse("1.5ns") }
        #expect(throws: DurationText.Failure.finerThanNanoseconds) { try DurationText.parse("0.0000000001s") }
        #expect(try DurationText.parse("2us", maximum: .microseconds(2)) == .microseconds(2))
    }

    @Test("describe and seconds")
    func describe() {
        #expect(DurationText.describe(.seconds(3600)) == "3600s")
        #expect(DurationText.describe(.milliseconds(1500)) == "1500ms")
        #expect(DurationText.describe(.microseconds(2)) == "2us")
        #expect(DurationText.describe(.nanoseconds(7)) == "7ns")
        #expect(DurationText.seconds(.milliseconds(1500)) == 1.5)
    }

    static let snapshot = "snapshots/vmware-guest.json"

    @Test("--budget: durations with units are accepted, hex, signs, zero, NaN and over an hour are usage errors (64)")
    func budget() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        for text in [
            "0x10", "-1", "0", "0s", "nan", "inf", "1e3", "2h", "3601s", "4 s", "1.5ns", "9223372036854775808",
        ] {
            let result = try NestprobeRunner.run(["bench", "--budget=\(text)", "--list"], in: scratch.path)
            #expect(result.status == 64, "\(text): \(result.err)")
            #expect(result.err.split(separator: "\n").count == 1)
            #expect(result.err.contains("4000ms"), "the message says the accepted forms")
        }
        for text in ["4", "4s", "4000ms", "1.5s", "500us", "500µs", "3600s"] {
            let result = try NestprobeRunner.run(["bench", "--budget=\(text)", "--list"], in: scratch.path)
            #expect(result.status == 0, "\(text): \(result.err)")
        }
    }
}
