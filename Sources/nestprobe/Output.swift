// Output: where text and JSON go, and whether colour is wanted (a terminal, and NO_COLOR unset).

import Foundation
import Probe

enum FileOutput {
    /// Writes a string to a descriptor, all of it.
    static func write(_ text: String, to fd: Int32) {
        FileHandle(fileDescriptor: fd, closeOnDealloc: false).write(Data(text.utf8))
    }

    /// Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org).
    static var colourWanted: Bool {
        isatty(1) == 1 && Foundation.ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            && Foundation.ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// The terminal width, 80 when it cannot be told.
    static var width: Int { 80 }

    /// Checks an output file before a long run (AtomicFile.preflight): a path the writer would refuse
    /// fails now, with the writer's own line and exit 73, and nothing is made there. `dash` says whether
    /// "-" means standard output (as for `emit`); nil passes.
    static func preflight(_ path: String?, dash: Bool = true) throws {
        guard let path, !(dash && path == "-") else { return }
        do { try AtomicFile.preflight(path) } catch { throw ExitStatus.fail(error, writing: true) }
    }

    /// JSON to stdout, or atomically to a file.
    static func emit(_ data: Data, to path: String?) throws(InputError) {
        if let path, path != "-" {
            try AtomicFile.write(data, to: path)
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}
