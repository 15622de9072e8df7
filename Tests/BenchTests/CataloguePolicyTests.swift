// The example policies against this build's catalogue, as `nestprobe qualify` checks them. ReportTests cannot
// (Report's tests do not build Bench, where the catalogue lives beside the guests), so it is done here.

import Foundation
import Report
import Testing

@testable import Bench

@Suite("Example policies and the catalogue")
struct CataloguePolicyTests {
    @Test("every example policy in Reports/policies names only case ids of the catalogue")
    func examplePoliciesNameCatalogueCases() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = root.appendingPathComponent("Reports/policies")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(!files.isEmpty)
        let vocabulary = PolicyVocabulary(caseIDs: ExitCase.catalogue.map(\.id))
        for file in files.sorted() {
            #expect(throws: Never.self, "\(file)") {
                try PolicyFile.load(folder.appendingPathComponent(file).path, vocabulary: vocabulary)
            }
        }
    }

    @Test("a case id the catalogue does not have is refused")
    func unknownCaseRefused() throws {
        let vocabulary = PolicyVocabulary(caseIDs: ExitCase.catalogue.map(\.id))
        let text =
            #"{"schema": "nestprobe.policy", "version": 1, "name": "x", "rules": {"requireCases": ["no-such/case"]}}"#
        #expect(throws: InputError.self) {
            try PolicyFile.parse(Array(text.utf8), name: "p.json", vocabulary: vocabulary)
        }
    }
}
