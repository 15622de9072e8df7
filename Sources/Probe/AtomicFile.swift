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
// Every error is one line naming the path and the errno.

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
        func fail(_ reason: String) -> InputError { InputError(.noInput, "\(path): \(reason)") }
        guard !path.isEmpty else { throw fail("an empty file name") }
        guard !path.hasSuffix("/") else {
            throw fail("names a directory, not a file: \(Errno(EISDIR).description)")
        }
        if let fd = standardDescriptor(path) {
            guard SystemDoor.isOpen(fd) else {
                throw fail("descriptor \(fd) is not open: \(Errno(EBADF).description)")
            }
            do { try SystemDoor.writeAll(fd, bytes) } catch { throw fail("cannot write: \(error.description)") }
            return
        }
        let link: FileStatus
        do { link = try SystemDoor.status(path, followingLinks: false) } catch {
            guard error.rawValue == ENOENT else { throw fail("cannot examine: \(error.description)") }
            try replace(path, with: bytes, keeping: nil)
            return
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
            try replace(resolved, with: bytes, keeping: target, named: path)
        case .characterDevice, .fifo:
            try writeThrough(path, target, bytes)
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
        // Linux's memory devices: major 1, minors 1 (mem), 2 (kmem), 4 (port). Writing a report there harms
        // the machine.
        if status.kind == .characterDevice, status.deviceMajor == 1, [1, 2, 4].contains(status.deviceMinor) {
            throw fail("is a memory device (1,\(status.deviceMinor)); refusing to write to it")
        }
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
            if error.rawValue == ENOENT || error.rawValue == ENOTDIR {
                throw InputError(.noInput, "\(shown): cannot create a file in \(folder): \(error.description)")
            }
            throw InputError(.noInput, "\(shown): cannot write: \(error.description)")
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
