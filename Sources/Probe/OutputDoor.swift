// OutputDoor: the libc calls behind AtomicFile, each small, each retrying EINTR where the call can be
// interrupted and returning the errno it failed with. The only unsafe code of output writing lives here and
// in TemporaryFileCleanup.swift.

#if canImport(Glibc)
    import Glibc
#endif

import KVM

/// A failed system call: its errno.
struct SystemError: Error, Equatable {
    var code: Int32

    /// `ENOENT (No such file or directory)`.
    var text: String { Errno(code).description }

    /// The current errno.
    static var current: SystemError { SystemError(code: errno) }
}

/// What stands at a path, from lstat(2) or stat(2).
struct FileStatus: Equatable {
    /// The file types of `st_mode`.
    enum Kind: Equatable {
        case regular, directory, symbolicLink, characterDevice, blockDevice, fifo, socket, unknown
    }

    var kind: Kind
    /// The permission bits, set-id and sticky bits included (`st_mode & 07777`).
    var permissions: mode_t
    var owner: uid_t
    var group: gid_t
    /// The device number of a device node (`st_rdev`).
    var device: UInt64

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        default: kind = .unknown
        }
        permissions = info.st_mode & 0o7777
        owner = info.st_uid
        group = info.st_gid
        device = UInt64(info.st_rdev)
    }

    /// The major number of a device node (glibc's `gnu_dev_major` encoding).
    var deviceMajor: UInt64 { ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff) }
    /// The minor number of a device node.
    var deviceMinor: UInt64 { (device & 0xff) | ((device >> 12) & ~0xff) }
}

/// The system calls of output writing.
enum OutputDoor {
    /// lstat(2) (`followingLinks` false) or stat(2).
    static func status(_ path: String, followingLinks: Bool) throws(SystemError) -> FileStatus {
        var info = stat()
        // SAFETY: `path` becomes a NUL-terminated C string for the call; `info` is a local the call fills.
        let result = unsafe followingLinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { throw .current }
        return FileStatus(info)
    }

    /// fstat(2) of an open descriptor.
    static func status(_ fd: Int32) throws(SystemError) -> FileStatus {
        var info = stat()
        // SAFETY: `info` is a local the call fills.
        guard unsafe fstat(fd, &info) == 0 else { throw .current }
        return FileStatus(info)
    }

    /// realpath(3): the absolute path with every symbolic link resolved.
    static func resolve(_ path: String) throws(SystemError) -> String {
        // SAFETY: with a nil buffer realpath allocates the result, which is copied and then freed here.
        guard let resolved = unsafe realpath(path, nil) else { throw .current }
        defer { unsafe free(resolved) }
        return unsafe String(cString: resolved)
    }

    /// open(2), retried on EINTR; always with O_CLOEXEC and O_NOCTTY.
    static func open(_ path: String, flags: Int32) throws(SystemError) -> Int32 {
        while true {
            // SAFETY: `path` becomes a NUL-terminated C string for the call.
            let fd = unsafe Glibc.open(path, flags | O_CLOEXEC | O_NOCTTY)
            if fd >= 0 { return fd }
            if errno != EINTR { throw .current }
        }
    }

    /// Writes all of `bytes`, retrying EINTR and short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            // SAFETY: offset < bytes.count, so the range offset..<count lies inside `bytes`, alive for the call.
            let wrote = unsafe bytes.withUnsafeBytes {
                unsafe Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset)
            }
            if wrote < 0 {
                if errno == EINTR { continue }
                throw .current
            }
            offset += wrote
        }
    }

    /// fsync(2).
    static func sync(_ fd: Int32) throws(SystemError) {
        guard fsync(fd) == 0 else { throw .current }
    }

    /// close(2); an error there can be the first report of a failed write (NFS, quotas).
    static func close(_ fd: Int32) throws(SystemError) {
        guard Glibc.close(fd) == 0 || errno == EINTR else { throw .current }
    }

    /// rename(2).
    static func rename(_ from: String, to: String) throws(SystemError) {
        // SAFETY: both Strings become NUL-terminated C strings for the call.
        guard unsafe Glibc.rename(from, to) == 0 else { throw .current }
    }

    /// unlink(2), errors ignored (it cleans up after another failure).
    static func unlink(_ path: String) {
        // SAFETY: `path` becomes a NUL-terminated C string for the call.
        _ = unsafe Glibc.unlink(path)
    }

    /// fchmod(2).
    static func setPermissions(_ fd: Int32, _ permissions: mode_t) throws(SystemError) {
        guard fchmod(fd, permissions) == 0 else { throw .current }
    }

    /// fchown(2).
    static func setOwner(_ fd: Int32, owner: uid_t, group: gid_t) throws(SystemError) {
        guard fchown(fd, owner, group) == 0 else { throw .current }
    }

    /// Clears O_NONBLOCK, set only to open a FIFO without waiting for a reader.
    static func clearNonBlocking(_ fd: Int32) throws(SystemError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else { throw .current }
    }

    /// Whether `fd` is an open descriptor of this process.
    static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    /// The effective user is root.
    static var isRoot: Bool { geteuid() == 0 }

    /// The process's umask, from /proc/self/status (Linux 4.7 and later), else by setting and restoring it.
    static var fileCreationMask: mode_t {
        if case .available(let text) = SystemReader().readText("/proc/self/status"),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }),
            let mask = mode_t(line.dropFirst(6).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 8)
        {
            return mask & 0o777
        }
        let mask = umask(0o022)
        umask(mask)
        return mask
    }
}
