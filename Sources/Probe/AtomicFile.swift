// AtomicFile: writing an output file (`-o`, `--junit`) without harming what stands at the path.
//
// - A regular file, or nothing yet: a temporary file beside it, written whole, fsync'd, renamed over the
//   target, then the folder fsync'd. An existing file keeps its permissions (and, when we are root, its
//   owner); a new one gets 0666 less the umask. An interrupted write leaves the old file or the new one,
//   never a mixture, and SIGINT/SIGTERM/SIGHUP remove the temporary file (TemporaryFileCleanup.swift).
// - A symbolic link: followed, like cp(1) does; its final target is written as above, the link stays.
// - A character device or a FIFO (/dev/null, a terminal, a named pipe): written through, never replaced;
//   a FIFO with no reader is an error rather than a wait. The memory devices (/dev/mem, /dev/kmem,
//   /dev/port) are refused. /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N are the open
//   descriptor itself, as in a shell redirection.
// - A directory, a socket, a block device: refused.
// Every error is one line naming the path and the errno. `preflight` gives the same line before a long run
// (a bench), for what can be seen without writing: the file's folder and what stands at the path.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

import KVM

/// Writes output files safely: atomically over regular files, through devices and FIFOs, never replacing
/// a device, a FIFO or a symbolic link.
public enum AtomicFile {
    /// Writes `data` to `path` as the file comment describes. Throws `InputError(.noInput, …)` with one
    /// line naming the path and the reason; the CLI turns it into exit 73.
    public static func write(_ data: Data, to path: String) throws(InputError) {
        let bytes = [UInt8](data)
        switch try plan(path) {
        case .descriptor(let fd):
            do { try SystemDoor.writeAll(fd, bytes) } catch {
                throw InputError(.noInput, "\(path): cannot write: \(error.description)")
            }
        case .create:
            try replace(path, with: bytes, keeping: nil)
        case .replace(let resolved, let existing):
            try replace(resolved, with: bytes, keeping: existing, named: path)
        case .writeThrough(let status):
            try writeThrough(path, status, bytes)
        }
    }

    /// Checks, before a long run, that `write` could put its file at `path`, creating, opening and changing
    /// nothing there. What `write` refuses (a directory, a block device, a socket, a memory device, a dangling
    /// link, a closed descriptor) is refused with the same line. Where it would make a temporary file (nothing
    /// at the path yet, or a regular file), the folder must exist, be a folder, and let this process create
    /// files in it (faccessat with AT_EACCESS: no permission and a read-only file system fail here), with the
    /// line `write` gives for that errno. A device or a FIFO must be writable by this process; it is not
    /// opened, since opening a FIFO or a terminal has effects of its own. What only the write can find (a full
    /// disk, a FIFO without a reader) is left to it.
    public static func preflight(_ path: String) throws(InputError) {
        switch try plan(path) {
        case .descriptor:
            return
        case .create:
            try checkFolder(of: path, named: path)
        case .replace(let resolved, _):
            try checkFolder(of: resolved, named: path)
        case .writeThrough:
            do { try SystemDoor.checkAccess(path, W_OK) } catch {
                throw InputError(.noInput, "\(path): cannot open: \(error.description)")
            }
        }
    }

    /// What `write` does at a path, from what stands there now.
    private enum Plan {
        /// /dev/stdout and its kin: the open descriptor.
        case descriptor(Int32)
        /// Nothing there yet: a new file.
        case create
        /// A regular file, at `resolved` once links are followed: replaced, keeping `existing`'s mode.
        case replace(resolved: String, existing: FileStatus)
        /// A character device (not a memory device) or a FIFO: written through.
        case writeThrough(FileStatus)
    }

    /// Looks at `path` (lstat, then stat through a link) and says what `write` does there, or throws the one
    /// line that refuses it.
    private static func plan(_ path: String) throws(InputError) -> Plan {
        func fail(_ reason: String) -> InputError { InputError(.noInput, "\(path): \(reason)") }
        guard !path.isEmpty else { throw fail("an empty file name") }
        guard !path.hasSuffix("/") else {
            throw fail("names a directory, not a file: \(Errno(EISDIR).description)")
        }
        if let fd = standardDescriptor(path) {
            guard SystemDoor.isOpen(fd) else {
                throw fail("descriptor \(fd) is not open: \(Errno(EBADF).description)")
            }
            return .descriptor(fd)
        }
        let link: FileStatus
        do { link = try SystemDoor.status(path, followingLinks: false) } catch {
            guard error.rawValue == ENOENT else { throw fail("cannot examine: \(error.description)") }
            return .create
        }
        var target = link
        if link.kind == .symbolicLink {
            do { target = try SystemDoor.status(path, followingLinks: true) } catch {
                throw fail("a symbolic link that cannot be followed: \(error.description)")
            }
        }
        switch target.kind {
        case .regular:
            var resolved = path
            if link.kind == .symbolicLink {
                do { resolved = try SystemDoor.resolve(path) } catch {
                    throw fail("cannot resolve the link: \(error.description)")
                }
            }
            return .replace(resolved: resolved, existing: target)
        case .characterDevice:
            // Linux's memory devices: major 1, minors 1 (mem), 2 (kmem), 4 (port). Writing a report there
            // harms the machine.
            if target.deviceMajor == 1, [1, 2, 4].contains(target.deviceMinor) {
                throw fail("is a memory device (1,\(target.deviceMinor)); refusing to write to it")
            }
            return .writeThrough(target)
        case .fifo:
            return .writeThrough(target)
        case .directory:
            throw fail("is a directory, not a file: \(Errno(EISDIR).description)")
        case .blockDevice:
            throw fail("is a block device; refusing to write a report over it")
        case .socket:
            throw fail("is a socket; refusing to write to it")
        case .symbolicLink, .unknown:
            throw fail("is not a file, a device or a FIFO; refusing to write to it")
        }
    }

    /// Whether a temporary file could be made beside `path`: its folder exists, is a folder, and this process
    /// may create files in it. The error is the line `replace` gives for that errno.
    private static func checkFolder(of path: String, named shown: String) throws(InputError) {
        let folder = split(path).folder
        do throws(Errno) {
            guard try SystemDoor.status(folder, followingLinks: true).kind == .directory else {
                throw Errno(ENOTDIR)
            }
            try SystemDoor.checkAccess(folder, W_OK | X_OK)
        } catch {
            throw replaceFailure(error, named: shown, folder: folder)
        }
    }

    /// The line for a failure to make, write or rename the temporary file in `folder`.
    private static func replaceFailure(_ error: Errno, named shown: String, folder: String) -> InputError {
        if error.rawValue == ENOENT || error.rawValue == ENOTDIR {
            return InputError(.noInput, "\(shown): cannot create a file in \(folder): \(error.description)")
        }
        return InputError(.noInput, "\(shown): cannot write: \(error.description)")
    }

    /// The descriptor `path` names when it is /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N.
    static func standardDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                let digits = path.dropFirst(prefix.count)
                guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                    return nil
                }
                return Int32(digits)
            }
            return nil
        }
    }

    /// Writes through a character device or a FIFO with open(O_WRONLY), without truncating or replacing it.
    private static func writeThrough(_ path: String, _ status: FileStatus, _ bytes: [UInt8]) throws(InputError) {
        func fail(_ reason: String) -> InputError { InputError(.noInput, "\(path): \(reason)") }
        let fd: Int32
        // O_NONBLOCK: a FIFO without a reader fails with ENXIO instead of blocking the open for ever.
        do { fd = try SystemDoor.open(path, flags: O_WRONLY | O_NONBLOCK) } catch {
            if error.rawValue == ENXIO && status.kind == .fifo {
                throw fail("a FIFO with no reader: \(error.description)")
            }
            throw fail("cannot open: \(error.description)")
        }
        do {
            let opened = try SystemDoor.status(fd)
            guard opened.kind == .characterDevice || opened.kind == .fifo else {
                _ = try? SystemDoor.close(fd)
                throw fail("changed while it was being opened; not written")
            }
            try SystemDoor.clearNonBlocking(fd)
            try SystemDoor.writeAll(fd, bytes)
            try SystemDoor.close(fd)
        } catch let error as Errno {
            _ = try? SystemDoor.close(fd)
            throw fail("cannot write: \(error.description)")
        } catch let error as InputError {
            throw error
        } catch {
            throw fail("cannot write: \(error)")
        }
    }

    /// Writes `bytes` to a temporary file beside `path` and renames it over `path`; `existing` is the
    /// file being replaced (its permissions and owner are kept), nil for a new file. `named` is the path
    /// the user gave, for messages.
    private static func replace(
        _ path: String, with bytes: [UInt8], keeping existing: FileStatus?, named: String? = nil
    ) throws(InputError) {
        let shown = named ?? path
        let (folder, name) = split(path)
        do throws(Errno) {
            try TemporaryFileCleanup.guarding { () throws(Errno) in
                let (fd, temporary) = try TemporaryFileCleanup.makeTemporary(template(folder: folder, name: name))
                do throws(Errno) {
                    if let existing {
                        if SystemDoor.isRoot {
                            try SystemDoor.setOwner(fd, owner: existing.owner, group: existing.group)
                        }
                        try SystemDoor.setPermissions(fd, existing.permissions)
                    } else {
                        try SystemDoor.setPermissions(fd, 0o666 & ~SystemDoor.fileCreationMask)
                    }
                    try SystemDoor.writeAll(fd, bytes)
                    try SystemDoor.sync(fd)
                    try SystemDoor.close(fd)
                } catch {
                    _ = try? SystemDoor.close(fd)
                    try? TemporaryFileCleanup.finish { () throws(Errno) in SystemDoor.unlink(temporary) }
                    throw error
                }
                try TemporaryFileCleanup.finish { () throws(Errno) in
                    do throws(Errno) { try SystemDoor.rename(temporary, to: path) } catch {
                        SystemDoor.unlink(temporary)
                        throw error
                    }
                }
            }
        } catch {
            throw replaceFailure(error, named: shown, folder: folder)
        }
        // The rename is durable only once the folder is on disk; filesystems that cannot sync a folder
        // say EINVAL, which leaves nothing to do.
        do throws(Errno) {
            let fd = try SystemDoor.open(folder, flags: O_RDONLY | O_DIRECTORY)
            defer { _ = try? SystemDoor.close(fd) }
            do { try SystemDoor.sync(fd) } catch  where error.rawValue == EINVAL {}
        } catch {
            throw InputError(
                .noInput, "\(shown): written, but syncing the folder \(folder) failed: \(error.description)")
        }
    }

    /// The folder and the last component of a path that does not end in `/`, by bytes: `x` is (".", "x"),
    /// `/x` is ("/", "x"), `a/b/x` is ("a/b", "x").
    static func split(_ path: String) -> (folder: String, name: String) {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let folder = slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
        return (folder, String(decoding: bytes[(slash + 1)...], as: UTF8.self))
    }

    /// `folder/.name.XXXXXX` as a C string, the name cut to 200 bytes (at a character boundary) so that the
    /// temporary name stays under NAME_MAX however long the target's name is.
    static func template(folder: String, name: String) -> [CChar] {
        var cut = Array(name.utf8)
        if cut.count > 200 {
            var end = 200
            while end > 0 && cut[end] & 0xC0 == 0x80 { end -= 1 }
            cut = Array(cut[..<end])
        }
        let bytes = Array(folder.utf8) + Array("/.".utf8) + cut + Array(".XXXXXX".utf8) + [0]
        return bytes.map { CChar(bitPattern: $0) }
    }
}
