// AtomicFile: writing output files so an interrupted run never leaves a half-written file behind
// (temporary file, fsync, rename).

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a file atomically: a temporary file beside it, fsync, then rename over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws(InputError) {
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        var template = Array("\(folder)/.\((path as NSString).lastPathComponent).XXXXXX".utf8CString)
        let fd = unsafe template.withUnsafeMutableBufferPointer { unsafe mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw InputError(.noInput, "\(path): cannot create a file in \(folder): \(SystemReader.describe(errno))") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var ok = true
        var offset = 0
        let bytes = [UInt8](data)
        while offset < bytes.count {
            // SAFETY: the range offset..<count lies inside `bytes`, which lives for the call.
            let wrote = unsafe bytes.withUnsafeBytes { unsafe Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if wrote < 0 {
                if errno == EINTR { continue }
                ok = false
                break
            }
            offset += wrote
        }
        ok = ok && fsync(fd) == 0 && fchmod(fd, 0o644) == 0
        let code = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let detail = SystemReader.describe(ok ? errno : code)
            unlink(temporary)
            throw InputError(.noInput, "\(path): cannot write: \(detail)")
        }
    }
}
