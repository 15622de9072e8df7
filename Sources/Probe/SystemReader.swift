// SystemReader: reads /proc, /sys and /dev below a root folder, turning every failure into a reason.
//
// The root is "" on a live machine; tests point it at a fixture tree (as swift-nio's Linux.swift does
// with its defaulted paths). Nothing here writes, and nothing here spawns a process.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

import KVM

/// Read-only access to the machine's files, with errno mapped to `UnavailableReason`.
public struct SystemReader: Sendable {
    /// Prefix put before every absolute path ("" on a live machine).
    public var root: String

    public init(root: String = "") {
        self.root = root
    }

    private func resolved(_ path: String) -> String { root + path }

    /// The text of a file, at most `limit` bytes (the rest is cut and said so).
    public func readText(_ path: String, limit: Int = 256 * 1024) -> Fact<String> {
        readBytes(path, limit: limit + 1).map { bytes in
            guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
            return String(decoding: bytes.prefix(limit), as: UTF8.self) + "\n[cut at \(limit) bytes]"
        }
    }

    /// Up to `limit` bytes of a file, read from its start.
    public func readBytes(_ path: String, limit: Int) -> Fact<[UInt8]> {
        // SAFETY: the path becomes a NUL-terminated C string that lives for the call.
        let fd = unsafe open(resolved(path), O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return Self.failure(errno, "open \(path)") }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while result.count < limit {
            let want = min(chunk.count, limit - result.count)
            // SAFETY: the buffer holds chunk.count ≥ want bytes and lives for the call.
            let got = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, want) }
            if got < 0 {
                if errno == EINTR { continue }
                return Self.failure(errno, "read \(path)")
            }
            if got == 0 { break }
            result.append(contentsOf: chunk[0..<got])
        }
        return .available(result)
    }

    /// `count` bytes at `offset` (pread): how /dev/cpu/N/msr is read, the MSR index being the offset.
    public func readBytes(_ path: String, at offset: Int64, count: Int) -> Fact<[UInt8]> {
        // SAFETY: the path becomes a NUL-terminated C string that lives for the call.
        let fd = unsafe open(resolved(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return Self.failure(errno, "open \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        repeat {
            // SAFETY: the buffer holds `count` bytes and lives for the call.
            got = unsafe buffer.withUnsafeMutableBytes { unsafe pread(fd, $0.baseAddress, count, off_t(offset)) }
        } while got < 0 && errno == EINTR
        if got < 0 { return Self.failure(errno, "pread \(path) at \(offset)") }
        if got != count { return .unavailable(.failed, "short read of \(path): \(got) of \(count) bytes") }
        return .available(buffer)
    }

    /// Records from a record device such as /dev/kmsg: one read() returns one record; stops at EAGAIN
    /// (no more records, the descriptor being non-blocking) or after `maxRecords`.
    public func readRecords(_ path: String, maxRecords: Int = 20_000) -> Fact<[String]> {
        // SAFETY: the path becomes a NUL-terminated C string that lives for the call.
        let fd = unsafe open(resolved(path), O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return Self.failure(errno, "open \(path)") }
        defer { close(fd) }
        var records: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while records.count < maxRecords {
            // SAFETY: the buffer holds buffer.count bytes and lives for the call.
            let got = unsafe buffer.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, $0.count) }
            if got > 0 {
                records.append(String(decoding: buffer[0..<got], as: UTF8.self))
                continue
            }
            if got == 0 { break }
            let code = errno
            if code == EINTR || code == EPIPE { continue }  // EPIPE: a record was overwritten; go on
            if code == EAGAIN { break }
            if records.isEmpty { return Self.failure(code, "read \(path)") }
            break
        }
        return .available(records)
    }

    /// The names in a directory, sorted, without "." and "..".
    public func list(_ path: String) -> Fact<[String]> {
        // SAFETY: the path is a C string for the call; the DIR stream is closed once, by the defer, and not
        // used after it.
        guard let dir = unsafe opendir(resolved(path)) else { return Self.failure(errno, "opendir \(path)") }
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
        return .available(names.sorted())
    }

    /// Whether anything exists at the path (a file, folder or device; links followed).
    public func exists(_ path: String) -> Bool {
        // SAFETY: the path becomes a NUL-terminated C string that lives for the call.
        unsafe access(resolved(path), F_OK) == 0
    }

    /// Owner, group and mode of a device node, and whether this process can open it read-write.
    public func deviceNode(_ path: String) -> Fact<DeviceNode> {
        var info = stat()
        // SAFETY: the path is a C string for the call and `info` a local stat that outlives it.
        guard unsafe stat(resolved(path), &info) == 0 else { return Self.failure(errno, "stat \(path)") }
        var node = DeviceNode(
            mode: Self.octalMode(info.st_mode), ownerUID: info.st_uid, groupGID: info.st_gid,
            groupName: groupName(info.st_gid))
        // SAFETY: the path becomes a NUL-terminated C string that lives for the call.
        let fd = unsafe open(resolved(path), O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
        } else {
            let code = errno
            node.openError = UnavailableReason(errno: code)
            node.openErrorDetail = Errno(code).description
        }
        return .available(node)
    }

    /// Permission bits in octal with a leading zero ("0660", "02755").
    static func octalMode(_ mode: mode_t) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return "0" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// The name of group `gid` from /etc/group below the root.
    public func groupName(_ gid: UInt32) -> String? {
        guard let text = readText("/etc/group").value else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 3, UInt32(fields[2]) == gid { return String(fields[0]) }
        }
        return nil
    }

    /// An unavailable fact for errno `code` during `operation`.
    public static func failure<T>(_ code: Int32, _ operation: String) -> Fact<T> {
        .unavailable(UnavailableReason(errno: code), "\(operation): \(Errno(code))")
    }
}
