// ErrnoText: an errno under a file error, by name and in the C library's words, without full Foundation
// (whose NSError gave the words) and without unsafe code (strerror returns a C pointer; KVM's Errno reads it,
// but documents never depend on KVM). The table holds what opening and reading a file can return.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Errno names and glibc's messages for the errors a file read can meet.
public enum ErrnoText {
    /// "ENOENT (No such file or directory)"; the name alone for a number not in the table, "errno N" when
    /// the C library has no name for it either.
    public static func describe(_ code: POSIXErrorCode) -> String {
        guard let entry = table[code.rawValue] else { return "\(code)" }
        return "\(entry.name) (\(entry.text))"
    }

    /// glibc's names and strerror texts (the C locale's).
    static let table: [Int32: (name: String, text: String)] = [
        EPERM: ("EPERM", "Operation not permitted"),
        ENOENT: ("ENOENT", "No such file or directory"),
        EINTR: ("EINTR", "Interrupted system call"),
        EIO: ("EIO", "Input/output error"),
        ENXIO: ("ENXIO", "No such device or address"),
        EBADF: ("EBADF", "Bad file descriptor"),
        EAGAIN: ("EAGAIN", "Resource temporarily unavailable"),
        ENOMEM: ("ENOMEM", "Cannot allocate memory"),
        EACCES: ("EACCES", "Permission denied"),
        EFAULT: ("EFAULT", "Bad address"),
        EBUSY: ("EBUSY", "Device or resource busy"),
        ENODEV: ("ENODEV", "No such device"),
        ENOTDIR: ("ENOTDIR", "Not a directory"),
        EISDIR: ("EISDIR", "Is a directory"),
        EINVAL: ("EINVAL", "Invalid argument"),
        ENFILE: ("ENFILE", "Too many open files in system"),
        EMFILE: ("EMFILE", "Too many open files"),
        ETXTBSY: ("ETXTBSY", "Text file busy"),
        EFBIG: ("EFBIG", "File too large"),
        ENOSPC: ("ENOSPC", "No space left on device"),
        EROFS: ("EROFS", "Read-only file system"),
        ENAMETOOLONG: ("ENAMETOOLONG", "File name too long"),
        ELOOP: ("ELOOP", "Too many levels of symbolic links"),
        EOVERFLOW: ("EOVERFLOW", "Value too large for defined data type"),
        ESTALE: ("ESTALE", "Stale file handle"),
    ]
}
