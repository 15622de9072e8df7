// DocumentFile.readInput, the one reader of every input document: a link is followed to the file it names,
// and anything but a regular file is refused before it is opened, so a FIFO cannot block the read.

import Documents
import Foundation
import Report
import Testing

@Suite("DocumentFile: reading input files")
struct DocumentFileTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-document-\(UUID())")

    init() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    @Test("a symbolic link to a report reads as the report")
    func link() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try RenderFixture.path()
        let link = folder.appendingPathComponent("report.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: report)
        #expect(try DocumentFile.readInput(link) == [UInt8](try Data(contentsOf: URL(fileURLWithPath: report))))
        #expect(try ReportFile.load(link).cases.count == ReportFile.load(report).cases.count)
    }

    @Test("a FIFO is refused as not a regular file, without waiting for a writer")
    func fifo() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("pipe").path
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/mkfifo")
        make.arguments = [path]
        try make.run()
        make.waitUntilExit()
        try #require(make.terminationStatus == 0)
        let error = #expect(throws: InputError.self) { try DocumentFile.readInput(path) }
        #expect(error == InputError(.badData, "\(path): not a regular file"))
    }

    @Test("a missing file is noInput, with ENOENT; a dangling link likewise")
    func missing() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("absent.json").path
        let error = #expect(throws: InputError.self) { try DocumentFile.readInput(path) }
        #expect(error?.kind == .noInput)
        #expect(error?.message == "\(path): ENOENT (No such file or directory)")
        let link = folder.appendingPathComponent("dangling.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        let dangling = #expect(throws: InputError.self) { try DocumentFile.readInput(link) }
        #expect(dangling?.kind == .noInput)
        #expect(dangling?.message.contains("ENOENT") == true)
    }
}
