// compare on a real bench report from this machine (AMD EPYC Genoa under kvm_pvm) and on reports
// crafted from it by scaling samples: no change against itself, a regression or an improvement exactly
// where samples were scaled, small changes below the threshold, and refusal of other machines.

import Bench
import Foundation
import Probe
import Report
import Testing

/// The real report and reports crafted from it.
enum CompareFixtures {
    static let realName = "pvm-host-genoa.bench.json"

    static func path(_ relative: String) throws -> String {
        try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(relative)")).path
    }

    /// Loaded once for all tests.
    static let loaded: Result<BenchReport, InputError> = {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/\(realName)") else {
            return .failure(InputError(.noInput, "the test bundle has no resources"))
        }
        return Result { () throws(InputError) in try ReportFile.load(url.path) }
    }()

    static func real() throws -> BenchReport {
        try loaded.get()
    }

    /// `report` as a run in which the named cases (all when nil), host level included, took `factor`
    /// times as long: samples scaled and every figure derived from them recomputed. A guest case's
    /// baseline median follows its baseline case, so scaling a case alone scales its raw samples while
    /// the timing overhead stays as it was.
    static func scaled(_ report: BenchReport, _ ids: Set<String>?, by factor: Double) -> BenchReport {
        var out = report
        let hz = report.context.tsc.hz
        func scale(_ samples: [UInt64]) -> [UInt64] { samples.map { UInt64((Double($0) * factor).rounded()) } }
        for index in out.hostLevel.indices where ids?.contains(out.hostLevel[index].id) ?? true {
            out.hostLevel[index].samplesCycles = scale(out.hostLevel[index].samplesCycles)
            out.hostLevel[index].statistics = CaseAnalysis.dual(out.hostLevel[index].samplesCycles, hz: hz)!
            // The timing overhead scales with the rest, so the net figure does too.
            out.hostLevel[index].netMedianCycles *= factor
            out.hostLevel[index].netMedianNanoseconds *= factor
        }
        for index in out.cases.indices
        where out.cases[index].status == .ok && (ids?.contains(out.cases[index].id) ?? true) {
            out.cases[index].samplesCycles = scale(out.cases[index].samplesCycles)
            out.cases[index].statistics = CaseAnalysis.dual(out.cases[index].samplesCycles, hz: hz)
        }
        let medians = Dictionary(out.cases.compactMap { c in c.statistics.map { (c.id, $0.cycles.p50) } }) { a, _ in a }
        for index in out.cases.indices where out.cases[index].status == .ok {
            var entry = out.cases[index]
            guard let stats = entry.statistics?.cycles else { continue }
            if let id = entry.baselineID, let median = medians[id] { entry.baselineMedianCycles = median }
            let net = max(0, stats.p50 - (entry.baselineMedianCycles ?? 0)) / Double(entry.exitsPerSample)
            entry.netMedianCycles = net
            entry.netMedianNanoseconds = hz > 0 ? net / hz * 1e9 : nil
            entry.medianCIRelative = stats.p50 > 0 ? (stats.medianCI95[1] - stats.medianCI95[0]) / 2 / stats.p50 : nil
            out.cases[index] = entry
        }
        return out
    }

    static func compare(_ base: BenchReport, _ new: BenchReport, options: CompareOptions = CompareOptions())
        throws(InputError) -> CompareReport
    {
        try Comparison.compare(base: base, new: new, baseFile: "base.json", newFile: "new.json", options: options)
    }
}

@Suite("compare bench reports")
struct CompareTests {
    @Test("the real report against itself: every row unchanged, exit 0")
    func sameReport() throws {
        let report = try CompareFixtures.real()
        let result = try CompareFixtures.compare(report, report)
        let okCases = report.cases.filter { $0.status == .ok }.count
        #expect(result.rows.count == report.hostLevel.count + okCases)
        #expect(result.rows.allSatisfy { $0.verdict == .unchanged && $0.changePercent ?? 0 == 0 && $0.pValue == 1 })
        #expect(result.summary.exitCode == 0)
        #expect(result.summary.verdict == .unchanged)
        #expect(result.differences.isEmpty)
        #expect(!result.forced)
        // The skipped hypercall cases are listed with their status, not dropped.
        let skipped = report.cases.filter { $0.status != .ok }.map(\.id)
        #expect(result.unpaired.map(\.id) == skipped)
        #expect(result.unpaired.allSatisfy { $0.change == "not-compared" && $0.baseStatus == "skipped" })
    }

    @Test("rows compare cycles per exit: the report's own net medians")
    func rowsAreNetPerExit() throws {
        let report = try CompareFixtures.real()
        let result = try CompareFixtures.compare(report, report)
        for entry in report.cases where entry.status == .ok {
            let row = try #require(result.rows.first { $0.id == entry.id })
            let net = try #require(entry.netMedianCycles)
            #expect(abs(max(0, row.baseMedian) - net) < 1e-9, "\(entry.id)")
            #expect(row.level == report.context.guestLevel)
        }
        let host = try #require(result.rows.first { $0.id == "cpuid-0/host" })
        #expect(abs(host.baseMedian - report.hostLevel[0].netMedianCycles) < 1e-9)
        #expect(host.source == "host-level")
        #expect(host.level == report.context.level)
    }

    @Test("one case 1.2× slower: a regression on that case only, exit 2")
    func regression() throws {
        let report = try CompareFixtures.real()
        let slower = CompareFixtures.scaled(report, ["cpuid-0/real"], by: 1.2)
        let result = try CompareFixtures.compare(report, slower)
        let row = try #require(result.rows.first { $0.id == "cpuid-0/real" })
        #expect(row.verdict == .regression)
        #expect(row.reason == .significant)
        // Raw samples 20 % slower over a fixed 4,576-cycle rdtsc baseline: the exit itself ~50 % slower.
        let change = try #require(row.changePercent)
        #expect(change > 45 && change < 55)
        let interval = try #require(row.changeCI95Percent)
        #expect(interval[0] <= change && change <= interval[1])
        #expect(row.pValue < 1e-100)
        #expect(row.newSlowerProbability > 0.9)
        #expect(result.rows.filter { $0.verdict != .unchanged }.map(\.id) == ["cpuid-0/real"])
        #expect(result.summary.exitCode == 2)
        #expect(result.summary.regressions == 1)
    }

    @Test("one case 0.8×: an improvement, exit 4; a regression anywhere else wins")
    func improvement() throws {
        let report = try CompareFixtures.real()
        let faster = CompareFixtures.scaled(report, ["cpuid-0/real"], by: 0.8)
        let result = try CompareFixtures.compare(report, faster)
        #expect(result.rows.first { $0.id == "cpuid-0/real" }?.verdict == .improvement)
        #expect(result.summary.exitCode == 4)
        #expect(result.summary.verdict == .improvement)
        let mixed = CompareFixtures.scaled(faster, ["hlt/real"], by: 1.3)
        let both = try CompareFixtures.compare(report, mixed)
        #expect(both.summary.regressions == 1 && both.summary.improvements == 1)
        #expect(both.summary.exitCode == 2)
    }

    @Test("everything 2 % slower: significant, but below the 5 % threshold — exit 0")
    func belowThreshold() throws {
        let report = try CompareFixtures.real()
        let slower = CompareFixtures.scaled(report, nil, by: 1.02)
        let result = try CompareFixtures.compare(report, slower)
        #expect(result.summary.exitCode == 0)
        #expect(result.rows.allSatisfy { $0.verdict == .unchanged })
        let host = try #require(result.rows.first { $0.id == "cpuid-0/host" })
        #expect(host.reason == .belowThreshold)
        #expect(host.pValue < 0.05)
        #expect(abs((host.changePercent ?? 0) - 2) < 0.5)
    }

    @Test("a per-case threshold: 1 % on cpuid-0/host turns the same 2 % into a regression")
    func perCaseThreshold() throws {
        let report = try CompareFixtures.real()
        let slower = CompareFixtures.scaled(report, nil, by: 1.02)
        var options = CompareOptions()
        options.thresholds = Thresholds(defaultPercent: 5, cases: ["cpuid-0/host": 1, "no-such/case": 3])
        let result = try CompareFixtures.compare(report, slower, options: options)
        let host = try #require(result.rows.first { $0.id == "cpuid-0/host" })
        #expect(host.thresholdPercent == 1)
        #expect(host.verdict == .regression, "\(host)")
        #expect(result.rows.filter { $0.verdict == .regression }.map(\.id) == ["cpuid-0/host"])
        #expect(result.notes == ["a threshold is given for no-such/case, which neither report has"])
        // A higher threshold silences the crafted 1.2× regression.
        options.thresholds = Thresholds(defaultPercent: 5, cases: ["cpuid-0/real": 60])
        let quiet = try CompareFixtures.compare(
            report, CompareFixtures.scaled(report, ["cpuid-0/real"], by: 1.2),
            options: options)
        #expect(quiet.summary.exitCode == 0)
        #expect(quiet.rows.first { $0.id == "cpuid-0/real" }?.reason == .belowThreshold)
    }

    @Test("the noise floor: a change within one timer step is not a verdict")
    func noiseFloor() throws {
        let report = try CompareFixtures.real()
        // The empty loop at CPL3 costs under a cycle per iteration net, and its samples move in steps of
        // 26 cycles: 10 % more raw cycles is ~20 % net, still inside one step.
        let result = try CompareFixtures.compare(report, CompareFixtures.scaled(report, ["null/long64-cpl3"], by: 1.1))
        let row = try #require(result.rows.first { $0.id == "null/long64-cpl3" })
        #expect(row.verdict == .unchanged)
        #expect(row.reason == .withinNoise, "\(row)")
        let floor = try #require(row.noiseFloorPercent)
        #expect(floor > abs(row.changePercent ?? 0))
        for row in result.rows { #expect((row.noiseFloorPercent ?? 1) >= 1) }
    }

    @Test("another CPU, kernel or level is refused with one line naming what differs; --force compares")
    func refusesOtherMachines() throws {
        let report = try CompareFixtures.real()
        var other = report
        other.context.cpu = "Intel(R) Xeon(R) Platinum 8269CY (family 6h model 55h, Cascade Lake)"
        other.context.kernelRelease = "6.1.0"
        do {
            _ = try CompareFixtures.compare(report, other)
            Issue.record("compared reports from different CPUs")
        } catch {
            #expect(error.kind == .badData)
            #expect(error.message.contains("base.json") && error.message.contains("new.json"))
            #expect(error.message.contains("context.cpu") && error.message.contains("context.kernelRelease"))
            #expect(error.message.contains("--force"))
            #expect(!error.message.contains("\n"))
        }
        for change in [
            { (r: inout BenchReport) in r.context.level = "L1" },
            { (r: inout BenchReport) in r.context.guestLevel = "L2" },
            { (r: inout BenchReport) in r.context.kvmModule = "kvm_amd" },
        ] {
            var changed = report
            change(&changed)
            #expect(throws: InputError.self) { try CompareFixtures.compare(report, changed) }
        }
        var options = CompareOptions()
        options.force = true
        let forced = try CompareFixtures.compare(report, other, options: options)
        #expect(forced.forced)
        #expect(
            forced.differences.filter { $0.severity == .refuse }.map(\.field)
                == ["context.cpu", "context.kernelRelease"])
        #expect(forced.summary.exitCode == 0)
        #expect(CompareText.render(forced).contains("WARNING: context.cpu"))
    }

    @Test("another TSC source or KVM parameter warns but compares")
    func warnings() throws {
        let report = try CompareFixtures.real()
        var other = report
        other.context.tsc.source = .calibration
        other.context.kvmParameters["pvm_emul_batch"] = "1"
        let result = try CompareFixtures.compare(report, other)
        #expect(!result.forced)
        #expect(result.differences.map(\.field) == ["context.tsc.source", "context.kvmParameters.pvm_emul_batch"])
        #expect(result.differences.allSatisfy { $0.severity == .warn })
        #expect(CompareText.render(result).contains("warning: context.tsc.source"))
    }

    @Test("cases in one report only are added or removed; a failed case is listed, not judged")
    func unpaired() throws {
        let report = try CompareFixtures.real()
        var other = report
        let removed = try #require(
            other.cases.firstIndex { $0.id == "cpuid-hv/real" }.map { other.cases.remove(at: $0) })
        let failingIndex = try #require(other.cases.firstIndex { $0.id == "pio-kernel/real" })
        other.cases[failingIndex].status = .failed
        other.cases[failingIndex].reason = "guest triple fault"
        let failing = other.cases[failingIndex]
        var added = try #require(other.cases.first { $0.id == "msr-kernel/real" })
        added.id = "cpuid-new/real"
        other.cases.append(added)
        let result = try CompareFixtures.compare(report, other)
        #expect(
            result.unpaired.contains(
                UnpairedCase(
                    id: removed.id, baseStatus: "ok", newStatus: "absent",
                    change: "removed", reason: nil)))
        #expect(
            result.unpaired.contains {
                $0.id == failing.id && $0.newStatus == "failed" && $0.change == "not-compared"
                    && $0.reason == "new: guest triple fault"
            })
        #expect(result.unpaired.contains { $0.id == "cpuid-new/real" && $0.change == "added" })
        #expect(result.summary.added == 1 && result.summary.removed == 1 && result.summary.notCompared == 3)
        #expect(!result.rows.contains { [removed.id, failing.id, "cpuid-new/real"].contains($0.id) })
        #expect(result.summary.exitCode == 0)
    }

    @Test("the JSON document is versioned and round-trips")
    func json() throws {
        let report = try CompareFixtures.real()
        let result = try CompareFixtures.compare(report, CompareFixtures.scaled(report, ["hlt/real"], by: 1.25))
        let data = try SnapshotFile.encodeJSON(result)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["schema"] as? String == "nestprobe.compare")
        #expect(object["version"] as? Int == 1)
        let decoded = try JSONDecoder().decode(CompareReport.self, from: data)
        #expect(decoded.rows == result.rows)
        #expect(decoded.summary.exitCode == 2)
        #expect(decoded.method.bootstrapSeed == Bootstrap.defaultSeed)
    }

    @Test("the text fits 80 columns and ends with the summary line")
    func text() throws {
        let report = try CompareFixtures.real()
        let result = try CompareFixtures.compare(report, CompareFixtures.scaled(report, ["pio-kernel/real"], by: 1.5))
        let text = CompareText.render(result)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { #expect(line.count <= 80, "\(line)") }
        #expect(text.contains("REGRESSED"))
        #expect(lines.dropLast().last?.contains("exit 2: regression") == true)
    }
}
