// compare on runs, on the real report from this machine and run sets crafted from it: one report a side
// is inconclusive; ten runs a side find a 20 % regression on the one case slowed and nothing else; cases
// lost in the new reports are missing; patterns choose the rows; net below resolution falls back to gross;
// and every format renders.

import Bench
import Foundation
import Probe
import Report
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Run sets made from the real report: run i of a side is the whole report scaled by a small, fixed
/// factor (between-run noise of ±1 %), the chosen cases scaled further.
enum RunFixtures {
    static func side(_ count: Int, offset: Double, slowed: Set<String> = [], by factor: Double = 1) throws
        -> [NamedReport]
    {
        let real = try CompareFixtures.real()
        return (0..<count).map { index in
            let jitter = 1 + 0.01 * (Double(index) + offset - Double(count - 1) / 2) / Double(count)
            var report = CompareFixtures.scaled(real, nil, by: jitter)
            if !slowed.isEmpty { report = CompareFixtures.scaled(report, slowed, by: factor) }
            return NamedReport(file: "run\(index)-\(offset).json", report: report)
        }
    }

    static func options(_ change: (inout RunCompareOptions) -> Void = { _ in }) -> RunCompareOptions {
        var options = RunCompareOptions()
        options.resamples = 2000
        // These suites test the pooled-runs judgement; ReplicateCompareTests tests reports as replicates.
        options.replicates = false
        change(&options)
        return options
    }

    static func row(_ report: RunCompareReport, _ id: String) throws -> RunCompareRow {
        try #require(report.rows.first { $0.id == id }, "no row \(id)")
    }
}

@Suite("compare on runs")
struct RunCompareTests {
    @Test("one report a side: every judged row inconclusive for too few runs, exit 5; emulated in-kernel not judged")
    func oneRunEach() throws {
        let real = try CompareFixtures.real()
        let named = [NamedReport(file: "a.json", report: real)]
        let report = try RunComparison.compare(base: named, new: named, options: RunFixtures.options())
        #expect(report.summary.exitCode == 5)
        #expect(report.summary.regressed == 0)
        let judged = report.rows.filter { $0.verdict != .notJudged }
        #expect(!judged.isEmpty)
        #expect(
            judged.allSatisfy { $0.verdict == .inconclusive && $0.reason == .tooFewRuns && $0.detectable == "none" })
        let cpuid = try RunFixtures.row(report, "cpuid-0/real")
        #expect(cpuid.verdict == .notJudged && cpuid.reason == .emulatedInKernel)
        let pio = try RunFixtures.row(report, "pio-out-user/real")
        #expect(pio.verdict == .inconclusive && pio.emulated)
        #expect(try RunFixtures.row(report, "cpuid-0/long64-cpl3").verdict == .inconclusive)
    }

    @Test("ten runs a side: the same → exit 0; one case 1.2× → regressed there only, exit 2; 0.8× → exit 4")
    func tenRunsEach() throws {
        let base = try RunFixtures.side(10, offset: 0)
        let same = try RunComparison.compare(
            base: base, new: try RunFixtures.side(10, offset: 0.3), options: RunFixtures.options())
        #expect(same.summary.exitCode == 0, "\(RunCompareText.render(same))")
        #expect(same.rows.allSatisfy { $0.verdict == .same || $0.verdict == .notJudged })
        let judged = same.rows.filter { $0.verdict == .same }
        // A quantized row (every run on one TSC step, as rdtsc at CPL3) has no spread to tell: "unknown".
        #expect(
            judged.allSatisfy {
                $0.detectable == "unknown" || ($0.detectableChangePercent.map { $0 > 0 && $0 < 5 } ?? false)
            })
        #expect(judged.contains { $0.detectable == "percent" })

        let id = "pio-out-user/long64-cpl0"
        let slower = try RunComparison.compare(
            base: base, new: try RunFixtures.side(10, offset: 0.3, slowed: [id], by: 1.2),
            options: RunFixtures.options())
        #expect(slower.summary.exitCode == 2)
        #expect(slower.rows.filter { $0.verdict == .regressed }.map(\.id) == [id])
        let row = try RunFixtures.row(slower, id)
        #expect(row.test == "exact")
        #expect(row.changeCI95Percent.map { $0[0] > 0 } == true)
        #expect((row.adjustedP ?? 1) < 0.05)

        let faster = try RunComparison.compare(
            base: base, new: try RunFixtures.side(10, offset: 0.3, slowed: [id], by: 0.8),
            options: RunFixtures.options())
        #expect(faster.summary.exitCode == 4)
        #expect(faster.rows.filter { $0.verdict == .improved }.map(\.id) == [id])
    }

    @Test("a case lost in the new reports is MISSING: exit 5, --allow-missing: 0; cases: [] loses them all")
    func missingCases() throws {
        let base = try RunFixtures.side(10, offset: 0)
        var lost = try RunFixtures.side(10, offset: 0.3)
        for index in lost.indices {
            lost[index].report.cases.removeAll { $0.id == "hlt/long64-cpl3" || $0.id == "cpuid-0/long64-cpl3" }
        }
        let report = try RunComparison.compare(base: base, new: lost, options: RunFixtures.options())
        #expect(report.summary.missing == 1)
        #expect(try RunFixtures.row(report, "cpuid-0/long64-cpl3").verdict == .missing)
        #expect(report.summary.exitCode == 5)
        let allowed = try RunComparison.compare(
            base: base, new: lost, options: RunFixtures.options { $0.allowMissing = true })
        #expect(allowed.summary.exitCode == 0)
        // Left out by pattern, a lost case is no longer missing.
        let excluded = try RunComparison.compare(
            base: base, new: lost, options: RunFixtures.options { $0.selection.exclude = ["cpuid-0/*"] })
        #expect(excluded.summary.missing == 0)
        #expect(excluded.summary.exitCode == 0)

        var empty = lost
        for index in empty.indices { empty[index].report.cases = [] }
        let none = try RunComparison.compare(base: base, new: empty, options: RunFixtures.options())
        #expect(none.summary.exitCode == 5)
        #expect(none.summary.missing == base[0].report.cases.filter { $0.status == .ok }.count)
    }

    @Test("--cases, --exclude and --judge-all choose the judged rows")
    func selection() throws {
        let named = [NamedReport(file: "a.json", report: try CompareFixtures.real())]
        let chosen = try RunComparison.compare(
            base: named, new: named,
            options: RunFixtures.options { $0.selection = RowSelection(cases: ["*-user/*"], exclude: ["hlt/*"]) })
        let judged = Set(chosen.rows.filter { $0.verdict != .notJudged }.map(\.id))
        #expect(judged.count == 10)
        #expect(judged.allSatisfy { $0.contains("-user/") })
        let all = try RunComparison.compare(
            base: named, new: named, options: RunFixtures.options { $0.selection.judgeAll = true })
        #expect(try RunFixtures.row(all, "cpuid-0/real").verdict == .inconclusive)
        #expect(all.rows.allSatisfy { $0.verdict != .notJudged })
    }

    @Test("glob patterns: *, ?, sets, ranges and negation")
    func globs() {
        #expect(Glob.matches("cpuid-*", "cpuid-0/real"))
        #expect(Glob.matches("*/real", "pio-out-user/real"))
        #expect(!Glob.matches("*/real", "pio-out-user/long64-cpl0"))
        #expect(Glob.matches("cpuid-?/*", "cpuid-0/real"))
        #expect(!Glob.matches("cpuid-?/*", "cpuid-hv/real"))
        #expect(Glob.matches("*-cpl[03]", "msr-user/long64-cpl3"))
        #expect(Glob.matches("*-cpl[!3]", "msr-user/long64-cpl0"))
        #expect(Glob.matches("cr[0-4]-write/*", "cr4-write/real"))
        #expect(Glob.matches("a*b*c", "aXXbYYbZc"))
        #expect(!Glob.matches("a*b*c", "aXXbYY"))
        #expect(Glob.matches("*", ""))
        #expect(!Glob.matches("?", ""))
    }

    @Test("runs from per-run slices: samples split, a median-only run, per-run baselines")
    func extraction() {
        let (gross, net) = RunExtraction.caseRuns(
            samples: [10, 12, 14, 20, 22, 24], samplesPerRun: [3, 0, 3], runMedians: [12, 16, 22],
            runBaselines: [2, 4, nil], baseline: 6, exitsPerSample: 2)
        #expect(gross.map(\.median) == [6, 8, 11])
        #expect(net.map(\.median) == [5, 6, 8])
        #expect(gross[1].samples.isEmpty)
        // Counts that do not add up: all samples one run.
        let one = RunExtraction.caseRuns(samples: [1, 2, 3], samplesPerRun: [1, 1], baseline: nil, exitsPerSample: 1)
        #expect(one.gross.count == 1 && one.net.isEmpty)
    }

    @Test("a net below resolution on a side judges the gross figure, and says so")
    func belowResolution() throws {
        var base = try RunFixtures.side(10, offset: 0)
        let new = try RunFixtures.side(10, offset: 0.3)
        let id = "msr-user/long64-cpl0"
        for index in base.indices {
            let at = try #require(base[index].report.cases.firstIndex { $0.id == id })
            base[index].report.cases[at].netMedianCycles = 0
        }
        let report = try RunComparison.compare(base: base, new: new, options: RunFixtures.options())
        let row = try RunFixtures.row(report, id)
        #expect(row.figure == "gross")
        #expect(row.figureNote == "net below resolution in base")
        #expect(try RunFixtures.row(report, "msr-user/real").figure == "net")
    }

    @Test("text in 80 columns, Markdown, JUnit (one testcase per judged row) and JSON that round-trips")
    func formats() throws {
        let id = "pio-out-user/long64-cpl0"
        var new = try RunFixtures.side(10, offset: 0.3, slowed: [id], by: 1.2)
        new[0].report.cases.removeAll { $0.id == "hlt/long64-cpl3" || $0.id == "cpuid-0/long64-cpl3" }
        let report = try RunComparison.compare(
            base: try RunFixtures.side(10, offset: 0), new: new, options: RunFixtures.options())
        let text = RunCompareText.render(report)
        for line in text.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
        #expect(text.contains("REGRESSED"))
        #expect(text.hasSuffix("— exit 2: regression\n"))
        let markdown = RunCompareMarkdown.render(report)
        #expect(markdown.contains("| `\(id)` | net | 10 / 10 |"))
        let (xml, error) = RenderXMLSummary.parse(RunCompareJUnit.render(report))
        let parsed = try #require(xml, "\(error ?? "")")
        let judged = report.rows.filter { $0.verdict != .notJudged }
        #expect(parsed.named("testcase").count == judged.count)
        #expect(parsed.named("failure").map { $0["type"] } == ["regressed"])
        let json = try CompareFormat.json.render(report)
        let decoded = try JSONDecoder().decode(RunCompareReport.self, from: json)
        #expect(decoded.rows == report.rows)
        #expect(decoded.summary == report.summary)
        #expect(decoded.version == RunCompareReport.currentVersion)
    }
}
