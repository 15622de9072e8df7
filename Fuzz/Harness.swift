// libFuzzer entry point for nestprobe's inputs, driving each decoded document through the work done on
// it, not only the decoder: whatever the bytes, every step must return or throw InputError, never trap,
// and every JSON output must be writable (a number JSON cannot hold is a crash here, on purpose).
//
//   snapshot  SnapshotFile.parse → Analyzer.diagnose → the diagnosis as text and JSON, every --print and
//             --check answer, and the level estimate's coherence (the verdict is the largest share
//             allowed by the lower bound and the confidence is that share)
//   report    ReportFile.parse → every render format, qualified against every committed policy
//   compare   ReportFile.parse → RunComparison against itself and a small committed report, both ways,
//             one and several reports a side, in every compare format
//   policy    PolicyFile.parse → evaluated on the committed report, as text, JUnit and JSON
//
// The target is chosen by NESTPROBE_FUZZ_TARGET; Fuzz/run.sh sets it.

import Bench
import Foundation
import Probe
import Report

enum FuzzTarget: String {
    case snapshot, report, compare, policy

    static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["NESTPROBE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(
                Data("set NESTPROBE_FUZZ_TARGET to snapshot, report, compare or policy\n".utf8))
            exit(64)
        }
        return target
    }()
}

/// The committed report and policies, to pair with whatever an input decodes to.
enum FuzzFixtures {
    static let root = ProcessInfo.processInfo.environment["NESTPROBE_ROOT"] ?? "."

    static let report: BenchReport = {
        do { return try ReportFile.load("\(root)/Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json") } catch {
            fatalError("fixture report: \(error)")
        }
    }()

    /// A small committed report (Fuzz/seeds/report/small.json) for compare to pair with an input: the whole
    /// fixture would make each input take a second under AddressSanitizer.
    static let smallReport: BenchReport = {
        do { return try ReportFile.load("\(root)/Fuzz/seeds/report/small.json") } catch {
            fatalError("small report: \(error)")
        }
    }()

    /// The case ids a policy may name: this build's catalogue.
    static let vocabulary = PolicyVocabulary(caseIDs: ExitCase.catalogue.map(\.id))

    static let policies: [Policy] = {
        let folder = "\(root)/Reports/policies"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let policies = names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            do { return try PolicyFile.load("\(folder)/\(name)", vocabulary: vocabulary) } catch {
                fatalError("policy \(name): \(error)")
            }
        }
        if policies.isEmpty { fatalError("no policies in \(folder)") }
        return policies
    }()

    /// Compare options for fuzzing: the full method, with a few bootstrap resamples so an input takes
    /// milliseconds (the arithmetic is the same for 10,000), every row judged (the emulated in-kernel rows
    /// too), and contexts that differ compared anyway.
    static let compareOptions: RunCompareOptions = {
        var options = RunCompareOptions()
        options.resamples = 64
        options.force = true
        options.selection = RowSelection(judgeAll: true)
        return options
    }()
}

/// Every `diagnose --print` answer is one word, and every `--check` question has an answer.
func checkScripting(_ diagnosis: Diagnosis) {
    for field in DiagnosisField.allCases {
        let word = field.answer(diagnosis)
        if word.isEmpty || word.contains(where: { $0 == " " || $0 == "\n" }) {
            fatalError("--print \(field.rawValue) answered \"\(word)\", not one word")
        }
    }
    for question in DiagnosisQuestion.allCases { _ = question.answer(diagnosis) }
}

/// The verdict is the largest share at or above the lower bound, its confidence is that share (gVisor: at
/// most 0.5), and the shares are numbers that sum to 1.
func checkCoherence(_ level: LevelEstimate, gVisor: Bool) {
    let shares = Level.allCases.map { level.probabilities[$0.rawValue] ?? .nan }
    let sum = shares.reduce(0, +)
    guard shares.allSatisfy({ $0.isFinite && $0 >= 0 }), abs(sum - 1) < 1e-9 else {
        fatalError("level shares \(shares) are not a distribution")
    }
    let share = level.probabilities[level.level.rawValue] ?? -1
    guard share == shares.max(), level.confidence == min(share, gVisor ? 0.5 : 0.99) else {
        fatalError("verdict \(level.level.rawValue) at \(level.confidence) is not the largest share of \(shares)")
    }
    let below = Level.allCases.prefix { $0 != level.lowerBound }
    guard below.allSatisfy({ level.probabilities[$0.rawValue] == 0 }) else {
        fatalError("a level below the proven bound \(level.lowerBound.rawValue) kept a share: \(shares)")
    }
}

/// Writes `value` as JSON; a failure means a step produced a number JSON cannot hold.
func mustEncode<T: Encodable>(_ value: T, _ what: String) {
    do { _ = try DocumentFile.encodeJSON(value) } catch { fatalError("\(what) cannot be written as JSON: \(error)") }
}

func qualify(_ policy: Policy, _ report: BenchReport) {
    let qualification = Qualification(
        policy: policy, policyFile: "fuzz", report: report, reportFile: "fuzz",
        createdAt: "2026-01-01T00:00:00Z")
    _ = QualificationText().render(qualification)
    _ = QualificationJUnit.render(qualification)
    mustEncode(qualification, "qualification")
}

/// Compares the `base` reports with the `new` ones and renders the result in every format (text, Markdown,
/// JUnit, JSON); a format that throws, such as JSON meeting a number it cannot hold, is a crash.
func compare(_ base: [BenchReport], _ new: [BenchReport]) {
    func named(_ reports: [BenchReport], _ side: String) -> [NamedReport] {
        reports.enumerated().map { NamedReport(file: "\(side)\($0.offset).json", report: $0.element) }
    }
    // Refusal (contexts that differ, without --force) is an answer too; force is on, so it is rare.
    guard
        let document = try? RunComparison.compare(
            base: named(base, "base"), new: named(new, "new"), options: FuzzFixtures.compareOptions)
    else { return }
    for format in CompareFormat.allCases {
        do { _ = try format.render(document) } catch {
            fatalError("comparison as \(format.rawValue) cannot be written: \(error)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    switch FuzzTarget.current {
    case .snapshot:
        if let snapshot = try? SnapshotFile.parse(bytes, name: "fuzz") {
            let diagnosis = Analyzer.diagnose(snapshot)
            _ = DiagnosisText(width: 80, colour: false).render(diagnosis)
            mustEncode(diagnosis, "diagnosis")
            checkScripting(diagnosis)
            checkCoherence(diagnosis.level, gVisor: diagnosis.platform.sandbox == "gVisor")
        }
    case .report:
        if let report = try? ReportFile.parse(bytes, name: "fuzz") {
            for format in RenderFormat.allCases { _ = format.render(report) }
            for policy in FuzzFixtures.policies { qualify(policy, report) }
        }
    case .compare:
        if let report = try? ReportFile.parse(bytes, name: "fuzz") {
            let small = FuzzFixtures.smallReport
            compare([report], [report])
            compare([report, report], [report])
            compare([report], [small])
            compare([small], [report, report])
            compare([report, small], [small, report])
        }
    case .policy:
        if let policy = try? PolicyFile.parse(bytes, name: "fuzz", vocabulary: FuzzFixtures.vocabulary) {
            qualify(policy, FuzzFixtures.report)
        }
    }
    return 0
}
