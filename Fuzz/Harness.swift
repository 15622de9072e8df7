// libFuzzer entry point for nestprobe's input decoders: snapshots and CPUID dumps (SnapshotFile.parse),
// bench reports (ReportFile.parse) and policies (PolicyFile.parse). Whatever the bytes, each must return
// a value or throw InputError, never trap. A decoded report or policy is also qualified and rendered
// (text, JSON, JUnit), so the code that reads a decoded document is fuzzed as well.
//
// The decoder is chosen by NESTPROBE_FUZZ_TARGET (snapshot, report, policy); Fuzz/run.sh sets it.

import Bench
import Foundation
import Probe
import Report

enum FuzzTarget: String {
    case snapshot, report, policy

    static let current: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["NESTPROBE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set NESTPROBE_FUZZ_TARGET to snapshot, report or policy\n".utf8))
            exit(64)
        }
        return target
    }()
}

/// The real report and an example policy, to pair with whatever a policy or report input decodes to.
enum FuzzFixtures {
    static let root = ProcessInfo.processInfo.environment["NESTPROBE_ROOT"] ?? "."

    static let report: BenchReport = {
        do { return try ReportFile.load("\(root)/Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json") } catch {
            fatalError("fixture report: \(error)")
        }
    }()

    static let policy: Policy = {
        do { return try PolicyFile.load("\(root)/Reports/policies/fast-exits.json") } catch {
            fatalError("example policy: \(error)")
        }
    }()
}

func exercise(_ policy: Policy, _ report: BenchReport) {
    let qualification = Qualification(
        policy: policy, policyFile: "fuzz", report: report, reportFile: "fuzz",
        createdAt: "2026-01-01T00:00:00Z")
    _ = QualificationText().render(qualification)
    _ = QualificationJUnit.render(qualification)
    _ = try? SnapshotFile.encodeJSON(qualification)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    switch FuzzTarget.current {
    case .snapshot:
        if let snapshot = try? SnapshotFile.parse(bytes, name: "fuzz") {
            let diagnosis = Analyzer.diagnose(snapshot)
            _ = DiagnosisText(width: 80, colour: false).render(diagnosis)
            _ = try? SnapshotFile.encodeJSON(diagnosis)
        }
    case .report:
        if let report = try? ReportFile.parse(bytes, name: "fuzz") {
            exercise(FuzzFixtures.policy, report)
        }
    case .policy:
        if let policy = try? PolicyFile.parse(bytes, name: "fuzz") {
            exercise(policy, FuzzFixtures.report)
        }
    }
    return 0
}
