// FileStatus: what stat(2) says stands at a path, as Swift values (SystemDoor.status).

#if canImport(Glibc)
    import Glibc
#endif

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
