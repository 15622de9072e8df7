// The offline analysis of snapshots whose timing samples sit at the top of their range: 1e19 cycles per
// CPUID, a TSC of a billionth of a hertz. `diagnose --snapshot` stopped with SIGILL (exit 132) on the
// first; both now give a diagnosis, in text and in JSON.

import Foundation
import TestSupport
import Testing

@testable import Probe

@Suite("large numbers in snapshots: no traps")
struct LargeNumberDiagnoseTests {
    /// The PVM fixture with its host timing samples replaced, written to a scratch file; returns its path.
    static func write(samples: UInt64, hz: Double? = nil) throws -> (folder: URL, path: String) {
        var snapshot = try fixtureSnapshot("pvm-host-genoa")
        var timing = try #require(snapshot.hostTiming.value)
        timing.samplesCycles = timing.samplesCycles.map { _ in samples }
        if let hz { timing.tsc.hz = hz }
        snapshot.hostTiming = .available(timing)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-large-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("snapshot.json").path
        try DocumentFile.encodeJSON(snapshot).write(to: URL(fileURLWithPath: path))
        return (folder, path)
    }

    @Test("diagnose --snapshot with timing samples of 1e19 cycles: exit 0, the median named as it is")
    func hugeSamples() throws {
        let (folder, path) = try Self.write(samples: 10_000_000_000_000_000_000)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (status, out, err) = try NestprobeRunner.run(
            ["diagnose", "--snapshot", path], environment: ["NO_COLOR": "1"]
        ).parts
        #expect(status == 0, "\(err)")
        #expect(out.contains("median 1e+19 cycles"))
        let (jsonStatus, json, jsonErr) = try NestprobeRunner.run(["diagnose", "--json", "--snapshot", path]).parts
        #expect(jsonStatus == 0, "\(jsonErr)")
        #expect(try JSONSerialization.jsonObject(with: Data(json.utf8)) is [String: Any])
    }

    @Test("samples of 2^64 − 1 at the slowest TSC a snapshot may claim: JSON written")
    func largestSamples() throws {
        let (folder, path) = try Self.write(samples: .max, hz: 1e6)
        defer { try? FileManager.default.removeItem(at: folder) }
        let diagnosis = Analyzer.diagnose(try SnapshotFile.load(path))
        #expect(!DiagnosisText(width: 80, colour: false).render(diagnosis).isEmpty)
        #expect(throws: Never.self) { try DocumentFile.encodeJSON(diagnosis) }
    }

    @Test("a host exit cost at a frequency so small the nanoseconds overflow stays finite")
    func tinyFrequency() throws {
        var timing = try #require(try fixtureSnapshot("pvm-host-genoa").hostTiming.value)
        timing.samplesCycles = timing.samplesCycles.map { _ in .max }
        timing.tsc.hz = 1e-300
        let cost = try #require(HostExitCost(timing))
        #expect(cost.netMedianNanoseconds.isFinite)
    }

    @Test("a negative warm-up count in a snapshot is refused with its path (exit 65)")
    func negativeWarmup() throws {
        var snapshot = try fixtureSnapshot("pvm-host-genoa")
        var timing = try #require(snapshot.hostTiming.value)
        timing.warmup = -1
        snapshot.hostTiming = .available(timing)
        let bytes = [UInt8](try DocumentFile.encodeJSON(snapshot))
        #expect(throws: InputError(.badData, "s.json: hostTiming.value.warmup: -1 is below the minimum 0")) {
            try SnapshotFile.parse(bytes, name: "s.json")
        }
    }

    @Test("CheckedNumber: Int conversions at and past Int's range")
    func checkedNumber() {
        #expect(CheckedNumber.int(1e19) == nil)
        #expect(CheckedNumber.int(.nan) == nil)
        #expect(CheckedNumber.int(2.5) == 3)
        #expect(CheckedNumber.clamped(1e300, to: 0...79) == 79)
        #expect(CheckedNumber.clamped(-.infinity, to: 0...79) == 0)
        #expect(CheckedNumber.clamped(.nan, to: 3...9) == 3)
        #expect(CheckedNumber.clamped(9.3e18, to: 0...Int.max) == Int.max)
        #expect(CheckedNumber.wholeText(2115.4) == "2115")
        #expect(CheckedNumber.wholeText(1e19) == "1e+19")
        #expect(CheckedNumber.midpoint(.greatestFiniteMagnitude, .greatestFiniteMagnitude) == .greatestFiniteMagnitude)
        #expect(CheckedNumber.midpoint(3, 4) == 3.5)
    }
}
