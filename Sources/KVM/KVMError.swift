// KVMError: the module's one error type. It names the operation and the errno and, where this layer knows,
// tells the user what to do (load a KVM module, join the kvm group).

import Glibc

/// A failed KVM operation: which operation (an ioctl name such as `KVM_CREATE_VM`, or `open`) and the errno
/// it failed with.
///
/// Errors opening the device carry the path, and their `description` says what to do (load a KVM module,
/// join the `kvm` group); other errors describe themselves with the C library's text for the errno.
public struct KVMError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The operation that failed: an ioctl name (`KVM_GET_API_VERSION`), `open`, `mmap`, or a
    /// `GuestMemory`/`kvm_run` access that was out of bounds or out of order.
    public let operation: String

    /// The errno the operation failed with (`EBADF`, `ENOTTY`, `ENOENT`, ...).
    public let errno: Int32

    /// The path that was being opened, for `open`; `nil` for everything else.
    public let path: String?

    /// The operation name used for errors opening the KVM device.
    public static let openOperation = "open"

    /// Makes an error for `operation` failing with `errno`; `path` only for errors opening a device.
    public init(operation: String, errno: Int32, path: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.path = path
    }

    /// The operation of the error `KVMDevice(verifying:)` throws for a file that does not answer as KVM.
    public static let notKVMOperation = "KVM_GET_API_VERSION"

    /// True when the device opened but is not KVM (`KVMDevice(verifying:)`): the CLI's exit code 69.
    public var isNotKVM: Bool {
        operation == Self.notKVMOperation && path != nil
    }

    /// True when opening the device failed because there is no KVM there (no node, or no driver behind
    /// it): the CLI's "unavailable" exit code (69).
    public var isDeviceMissing: Bool {
        operation == Self.openOperation && [ENOENT, ENODEV, ENXIO].contains(errno)
    }

    /// True when opening the device was refused for lack of permission: the CLI's exit code 77.
    public var isPermissionDenied: Bool {
        operation == Self.openOperation && (errno == EACCES || errno == EPERM)
    }

    /// What went wrong and, where this layer knows, what to do about it.
    public var description: String {
        let device = path ?? "/dev/kvm"
        if operation == Self.openOperation {
            switch errno {
            case ENOENT:
                return "\(device) does not exist: load kvm_intel, kvm_amd or kvm_pvm, "
                    + "or enable virtualization for this VM"
            case ENODEV, ENXIO:
                return "\(device) has no KVM driver behind it: load kvm_intel, kvm_amd or kvm_pvm, "
                    + "or enable virtualization for this VM"
            case EACCES, EPERM:
                return "permission denied on \(device): add the user to the kvm group (or run as root)"
            default:
                return "open \(device) failed: \(Errno(errno))"
            }
        }
        if isNotKVM, let path {
            let answer =
                errno == EPROTO ? "an API version other than \(KVMDevice.expectedAPIVersion)" : Errno(errno).name
            return "\(path) is not a KVM device (\(operation) answered \(answer)): point --device at /dev/kvm"
        }
        return "\(operation) failed: \(Errno(errno))"
    }
}

extension KVMError {
    /// An access of `count` bytes at `offset` into a region of `size` bytes that does not fit (EFAULT).
    static func outOfBounds(_ what: String, offset: some BinaryInteger, count: Int, size: Int) -> KVMError {
        KVMError(operation: "\(what) of \(count) bytes at offset \(offset) in \(size) bytes", errno: EFAULT)
    }

    /// A call that does not fit the state it was made in, such as completing an exit that did not happen
    /// (EINVAL).
    static func invalid(_ what: String) -> KVMError {
        KVMError(operation: what, errno: EINVAL)
    }
}
