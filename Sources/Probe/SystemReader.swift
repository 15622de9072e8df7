// SystemReader: reads /proc, /sys and /dev below a root folder, turning every failure into a reason.
//
// The root is "" on a live machine; tests point it at a fixture tree (as swift-nio's Linux.swift does
// with its defaulted paths). Nothing here writes, and nothing here spawns a process. Every call to the C
// library goes through SystemDoor, so this file holds no unsafe code.

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
        let fd: Int32
        do { fd = try SystemDoor.open(resolved(path), flags: O_RDONLY | O_NONBLOCK) } catch {
            return Self.failure(error, "open \(path)")
        }
        defer { _ = try? SystemDoor.close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while result.count < limit {
            let got: Int
            do { got = try SystemDoor.read(fd, into: &chunk, count: limit - result.count) } catch {
                return Self.failure(error, "read \(path)")
            }
            if got == 0 { break }
            result.append(contentsOf: chunk[0..<got])
        }
        return .available(result)
    }

    /// `count` bytes at `offset` (pread): how /dev/cpu/N/msr is read, the MSR index being the offset.
    public func readBytes(_ path: String, at offset: Int64, count: Int) -> Fact<[UInt8]> {
        let fd: Int32
        do { fd = try SystemDoor.open(resolved(path), flags: O_RDONLY) } catch {
            return Self.failure(error, "open \(path)")
        }
        defer { _ = try? SystemDoor.close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let got: Int
        do { got = try SystemDoor.read(fd, into: &buffer, at: offset) } catch {
            return Self.failure(error, "pread \(path) at \(offset)")
        }
        if got != count { return .unavailable(.failed, "short read of \(path): \(got) of \(count) bytes") }
        return .available(buffer)
    }

    /// Records from a record device such as /dev/kmsg: one read() returns one record; stops at EAGAIN
    /// (no more records, the descriptor being non-blocking) or after `maxRecords`.
    public func readRecords(_ path: String, maxRecords: Int = 20_000) -> Fact<[String]> {
        let fd: Int32
        do { fd = try SystemDoor.open(resolved(path), flags: O_RDONLY | O_NONBLOCK) } catch {
            return Self.failure(error, "open \(path)")
        }
        defer { _ = try? SystemDoor.close(fd) }
        var records: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while records.count < maxRecords {
            do {
                let got = try SystemDoor.read(fd, into: &buffer, count: buffer.count)
                if got == 0 { break }
                records.append(String(decoding: buffer[0..<got], as: UTF8.self))
            } catch {
                if error.rawValue == EPIPE { continue }  // a record was overwritten; go on
                if error.rawValue == EAGAIN { break }
                if records.isEmpty { return Self.failure(error, "read \(path)") }
                break
            }
        }
        return .available(records)
    }

    /// The names in a directory, sorted, without "." and "..".
    public func list(_ path: String) -> Fact<[String]> {
        do { return .available(try SystemDoor.directoryEntries(resolved(path)).sorted()) } catch {
            return Self.failure(error, "opendir \(path)")
        }
    }

    /// Whether anything exists at the path (a file, folder or device; links followed).
    public func exists(_ path: String) -> Bool {
        SystemDoor.exists(resolved(path))
    }

    /// Owner, group and mode of a device node, and whether this process can open it read-write.
    public func deviceNode(_ path: String) -> Fact<DeviceNode> {
        let info: FileStatus
        do { info = try SystemDoor.status(resolved(path), followingLinks: true) } catch {
            return Self.failure(error, "stat \(path)")
        }
        var node = DeviceNode(
            mode: Self.octalMode(info.permissions), ownerUID: info.owner, groupGID: info.group,
            groupName: groupName(info.group))
        do {
            let fd = try SystemDoor.open(resolved(path), flags: O_RDWR)
            _ = try? SystemDoor.close(fd)
        } catch {
            node.openError = UnavailableReason(errno: error.rawValue)
            node.openErrorDetail = error.description
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
        failure(Errno(code), operation)
    }

    /// An unavailable fact for `error` during `operation`: "open /dev/kvm: EACCES (Permission denied)".
    public static func failure<T>(_ error: Errno, _ operation: String) -> Fact<T> {
        .unavailable(UnavailableReason(errno: error.rawValue), "\(operation): \(error)")
    }
}
