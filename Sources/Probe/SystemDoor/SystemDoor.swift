// SystemDoor: Probe's one door to the C library. Every file-system and process call Probe makes (the readers
// of /proc, /sys and /dev in SystemReader, the output writing of AtomicFile, the process's groups) goes through
// here, as apple/swift-system does it: "-1 and errno" becomes a thrown `Errno` (the KVM layer's type, so an
// errno reads the same in both layers), and EINTR is retried in one place, `retryingInterrupts`. The unsafe
// code of these calls lives in this folder only (with TemporaryFileCleanup.swift for the signal handler and
// CPUAffinity.swift for the scheduler), each use with its reason; the CPUID readers (CPUIdentity.swift) are
// the only other unsafe code of the module.

#if canImport(Glibc)
    import Glibc
#endif

import KVM

/// The system calls of Probe: each small, EINTR retried where the call can be interrupted, failures thrown
/// as the `Errno` the call failed with.
enum SystemDoor {
    /// Calls `body` until it returns something other than -1 with `EINTR`; -1 with any other errno throws it.
    static func retryingInterrupts<Result: BinaryInteger>(_ body: () -> Result) throws(Errno) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = Errno.current
            if code.rawValue != EINTR { throw code }
        }
    }

    // MARK: Reading

    /// open(2), always with O_CLOEXEC and O_NOCTTY added; returns the new descriptor.
    static func open(_ path: String, flags: Int32) throws(Errno) -> Int32 {
        try retryingInterrupts {
            // SAFETY: `path` becomes a NUL-terminated C string that lives for the call; open only reads it.
            unsafe Glibc.open(path, flags | O_CLOEXEC | O_NOCTTY)
        }
    }

    /// read(2) of up to `count` bytes into the start of `buffer`; returns how many came (0 at the end).
    static func read(_ fd: Int32, into buffer: inout [UInt8], count: Int) throws(Errno) -> Int {
        let count = min(count, buffer.count)
        return try retryingInterrupts {
            // SAFETY: the buffer holds at least `count` bytes (clamped above) and is exclusively borrowed for
            // the call, which writes at most `count` of them.
            unsafe buffer.withUnsafeMutableBytes { unsafe Glibc.read(fd, $0.baseAddress, count) }
        }
    }

    /// pread(2) of up to `buffer.count` bytes at `offset`; returns how many came.
    static func read(_ fd: Int32, into buffer: inout [UInt8], at offset: Int64) throws(Errno) -> Int {
        try retryingInterrupts {
            // SAFETY: the buffer is exclusively borrowed for the call, which writes at most its count bytes.
            unsafe buffer.withUnsafeMutableBytes { unsafe pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        }
    }

    /// The names in a directory (opendir, readdir, closedir), unsorted, "." and ".." left out.
    static func directoryEntries(_ path: String) throws(Errno) -> [String] {
        // SAFETY: the path is a C string for the call; the DIR stream is closed once, by the defer, and not
        // used after it.
        guard let dir = unsafe opendir(path) else { throw .current }
        defer { unsafe closedir(dir) }
        var names: [String] = []
        // SAFETY: readdir returns nil or a dirent owned by the open stream `dir`, read before the next call.
        while let entry = unsafe readdir(dir) {
            // SAFETY: d_name is a NUL-terminated array inside the dirent readdir returned, valid until the
            // next readdir on this stream; the String copies it before then.
            let name = unsafe withUnsafeBytes(of: entry.pointee.d_name) { raw in
                unsafe String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// access(2) with F_OK: whether anything exists at the path (links followed).
    static func exists(_ path: String) -> Bool {
        // SAFETY: `path` becomes a NUL-terminated C string that lives for the call.
        unsafe access(path, F_OK) == 0
    }

    /// faccessat(2) with AT_EACCESS: whether this process, by its effective IDs, may use the path in `mode`
    /// (W_OK, X_OK, …); EACCES, EROFS, ENOENT or ENOTDIR otherwise. Nothing is opened.
    static func checkAccess(_ path: String, _ mode: Int32) throws(Errno) {
        // SAFETY: `path` becomes a NUL-terminated C string that lives for the call, which only reads it.
        _ = try retryingInterrupts { unsafe faccessat(AT_FDCWD, path, mode, AT_EACCESS) }
    }

    /// lstat(2) (`followingLinks` false) or stat(2).
    static func status(_ path: String, followingLinks: Bool) throws(Errno) -> FileStatus {
        var info = stat()
        // SAFETY: `path` becomes a NUL-terminated C string for the call; `info` is a local the call fills.
        _ = try retryingInterrupts { unsafe followingLinks ? stat(path, &info) : lstat(path, &info) }
        return FileStatus(info)
    }

    /// fstat(2) of an open descriptor.
    static func status(_ fd: Int32) throws(Errno) -> FileStatus {
        var info = stat()
        // SAFETY: `info` is a local the call fills.
        _ = try retryingInterrupts { unsafe fstat(fd, &info) }
        return FileStatus(info)
    }

    /// realpath(3): the absolute path with every symbolic link resolved.
    static func resolve(_ path: String) throws(Errno) -> String {
        // SAFETY: with a nil buffer realpath allocates the result, which is copied and then freed here.
        guard let resolved = unsafe realpath(path, nil) else { throw .current }
        defer { unsafe free(resolved) }
        return unsafe String(cString: resolved)
    }

    // MARK: Writing

    /// Writes all of `bytes`, retrying EINTR and short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            offset += try retryingInterrupts {
                // SAFETY: offset < bytes.count, so offset..<count lies inside `bytes`, alive for the call.
                unsafe bytes.withUnsafeBytes { unsafe Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
        }
    }

    /// fsync(2).
    static func sync(_ fd: Int32) throws(Errno) {
        _ = try retryingInterrupts { fsync(fd) }
    }

    /// close(2); an error there can be the first report of a failed write (NFS, quotas). EINTR is not
    /// retried: on Linux the descriptor is released anyway, and a second close could hit a descriptor
    /// another thread has just been given.
    static func close(_ fd: Int32) throws(Errno) {
        guard Glibc.close(fd) == 0 || errno == EINTR else { throw .current }
    }

    /// rename(2).
    static func rename(_ from: String, to: String) throws(Errno) {
        // SAFETY: both Strings become NUL-terminated C strings for the call.
        _ = try retryingInterrupts { unsafe Glibc.rename(from, to) }
    }

    /// unlink(2), errors ignored (it cleans up after another failure).
    static func unlink(_ path: String) {
        // SAFETY: `path` becomes a NUL-terminated C string for the call.
        _ = unsafe Glibc.unlink(path)
    }

    /// fchmod(2).
    static func setPermissions(_ fd: Int32, _ permissions: mode_t) throws(Errno) {
        _ = try retryingInterrupts { fchmod(fd, permissions) }
    }

    /// fchown(2).
    static func setOwner(_ fd: Int32, owner: uid_t, group: gid_t) throws(Errno) {
        _ = try retryingInterrupts { fchown(fd, owner, group) }
    }

    /// Clears O_NONBLOCK, set only to open a FIFO without waiting for a reader.
    static func clearNonBlocking(_ fd: Int32) throws(Errno) {
        let flags = try retryingInterrupts { fcntl(fd, F_GETFL) }
        _ = try retryingInterrupts { fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }

    /// Whether `fd` is an open descriptor of this process.
    static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    // MARK: The process

    /// The effective user ID.
    static var effectiveUserID: uid_t { geteuid() }

    /// The effective user is root.
    static var isRoot: Bool { geteuid() == 0 }

    /// The supplementary groups of this process (getgroups(2)), at most 256 of them; empty when the call fails.
    static func groups() -> [gid_t] {
        var groups = [gid_t](repeating: 0, count: 256)
        // SAFETY: getgroups writes at most `groups.count` gids into the array, which outlives the call.
        let count = unsafe getgroups(Int32(groups.count), &groups)
        return Array(groups.prefix(max(0, Int(count))))
    }

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

    /// nanosleep(2) for `duration`, restarted with the time remaining after a signal.
    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        // SAFETY: both pointers are to locals alive for the call.
        while unsafe nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }

    /// CLOCK_MONOTONIC_RAW in nanoseconds.
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        // SAFETY: `spec` is a local timespec that outlives the call; clock_gettime writes only that struct.
        _ = unsafe clock_gettime(CLOCK_MONOTONIC_RAW, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
