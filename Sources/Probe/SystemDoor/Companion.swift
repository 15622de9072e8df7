// Companion: running another nestprobe program in place of this one (`nestprobe history …` is served by
// nestprobe-history, which carries the history store and its libraries, so the core binary stays small), and
// writing to the standard streams without full Foundation's FileHandle. Part of Probe's door to the operating
// system (SystemDoor.swift): its unsafe code is execv(2)'s argument vector.

import KVM

#if canImport(Glibc)
    import Glibc
#endif

/// Finds and runs a companion program of this one.
public enum Companion {
    /// Where `program` is: in the folder of this process's executable (/proc/self/exe), then on `PATH`.
    /// `suffix` is what follows "nestprobe" in this executable's name ("-0.1.0-linux-x86_64" for the portable
    /// binary): `program` + suffix is tried before `program` in each folder. Nil when it is nowhere.
    public static func locate(
        _ program: String, path: String?, executable: String = "/proc/self/exe", ownName: String = "nestprobe"
    ) -> String? {
        var folders: [String] = []
        var suffix = ""
        if let own = try? SystemDoor.resolve(executable) {
            let slash = own.lastIndex(of: "/")
            let folder = slash.map { String(own[..<$0]) } ?? "."
            let name = slash.map { String(own[own.index(after: $0)...]) } ?? own
            if name.hasPrefix(ownName) { suffix = String(name.dropFirst(ownName.count)) }
            folders.append(folder.isEmpty ? "/" : folder)
        }
        folders += (path ?? "").split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        let names = suffix.isEmpty ? [program] : [program + suffix, program]
        for folder in folders {
            for name in names {
                let candidate = folder.hasSuffix("/") ? folder + name : folder + "/" + name
                if isExecutableFile(candidate) { return candidate }
            }
        }
        return nil
    }

    /// A regular file this process may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        guard let status = try? SystemDoor.status(path, followingLinks: true), status.kind == .regular else {
            return false
        }
        // SAFETY: `path` becomes a NUL-terminated C string that lives for the call; access only reads it.
        return unsafe access(path, X_OK) == 0
    }

    /// Replaces this process with `program`, its argv[0] being `name` and then `arguments`; returns only when
    /// execv(2) fails, with its errno. Standard output is flushed first, so nothing printed is lost.
    public static func replaceProcess(with program: String, name: String, arguments: [String]) -> Errno {
        // Everything buffered goes out before the process image is replaced.
        _ = fflush(nil)
        let vector = [name] + arguments
        // Each string is copied into a NUL-terminated C buffer that stays alive until execv returns (or the
        // process image is gone); the vector ends with the NULL that execv expects.
        // SAFETY: strdup copies each string into a buffer of its own, freed below.
        let copies = unsafe vector.map { unsafe strdup($0) }
        // SAFETY: each copy is freed once, after execv returned.
        defer { unsafe copies.forEach { unsafe free($0) } }
        var argv = unsafe copies + [nil]
        // SAFETY: `argv` holds NUL-terminated copies and a final nil, all alive during the call; execv only
        // reads them, and returns only on failure.
        _ = unsafe argv.withUnsafeMutableBufferPointer { unsafe execv(program, $0.baseAddress!) }
        return .current
    }

    /// Writes `bytes` to standard output (fd 1) or standard error (fd 2), all of them; a closed or broken
    /// stream (EPIPE) ends the write quietly, as a pipe to `head` should.
    public static func write(_ bytes: [UInt8], to fd: Int32) {
        // Every stream flushed, so what print() buffered goes out before these bytes.
        _ = fflush(nil)
        try? SystemDoor.writeAll(fd, bytes)
    }
}
