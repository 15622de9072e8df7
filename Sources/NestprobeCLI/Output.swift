// Output: where text and JSON go, and whether colour is wanted (a terminal, and NO_COLOR unset).

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents
import Probe

#if canImport(Glibc)
    import Glibc
#endif

/// Where the CLI's output goes.
public enum FileOutput {
    /// Writes a string to a descriptor, all of it.
    public static func write(_ text: String, to fd: Int32) {
        Companion.write(Array(text.utf8), to: fd)
    }

    /// Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org).
    public static var colourWanted: Bool {
        isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// The terminal width, 80 when it cannot be told.
    public static var width: Int { 80 }

    /// Checks an output file before a long run (AtomicFile.preflight): a path the writer would refuse
    /// fails now, with the writer's own line and exit 73, and nothing is made there. `dash` says whether
    /// "-" means standard output (as for `emit`); nil passes.
    public static func preflight(_ path: String?, dash: Bool = true) throws {
        guard let path, !(dash && path == "-") else { return }
        do { try AtomicFile.preflight(path) } catch { throw ExitStatus.fail(error, writing: true) }
    }

    /// JSON to stdout, or atomically to a file.
    public static func emit(_ data: Data, to path: String?) throws(InputError) {
        if let path, path != "-" {
            try AtomicFile.write(data, to: path)
        } else {
            Companion.write([UInt8](data), to: 1)
        }
    }
}
