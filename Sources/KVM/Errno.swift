// Errno: the C library's error numbers as one typed value with one name table, shared by the KVM layer
// (KVMError) and Probe's readers (SystemReader, AtomicFile), so an errno reads the same everywhere:
// "ENOENT (No such file or directory)".

import Glibc

/// An errno value, with its symbolic name and the C library's text.
public struct Errno: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The number, as `errno` held it.
    public let rawValue: Int32

    /// The errno numbered `rawValue`.
    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// This thread's errno now: read it right after the call that failed.
    public static var current: Errno { Errno(errno) }

    /// The symbolic name ("ENOENT"), or "errno N" for a number not in the table.
    public var name: String {
        Self.names[rawValue] ?? "errno \(rawValue)"
    }

    /// The C library's message ("No such file or directory").
    public var text: String {
        // SAFETY: strerror returns a pointer to a NUL-terminated string that stays valid at least until the
        // next strerror call on this thread; String(cString:) copies it before anything else can run here.
        unsafe String(cString: strerror(rawValue))
    }

    /// Name and message: "ENOENT (No such file or directory)".
    public var description: String { "\(name) (\(text))" }

    /// The errno values KVM, the file system and the device nodes return.
    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO", E2BIG: "E2BIG",
        EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
        EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL",
        ENFILE: "ENFILE", EMFILE: "EMFILE", ENOTTY: "ENOTTY", EFBIG: "EFBIG", ENOSPC: "ENOSPC", EROFS: "EROFS",
        EPIPE: "EPIPE", ERANGE: "ERANGE", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ELOOP: "ELOOP",
        EOPNOTSUPP: "EOPNOTSUPP", EOVERFLOW: "EOVERFLOW", EPROTO: "EPROTO", EDQUOT: "EDQUOT",
    ]
}
