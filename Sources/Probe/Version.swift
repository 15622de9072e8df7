// The version of nestprobe, stamped into every snapshot and report.

#if canImport(Glibc)
    import Glibc
#endif

/// nestprobe's version and, when the build recorded it, its git revision.
public enum NestprobeVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
    /// The git revision, from NESTPROBE_GIT_REVISION at run time (the Makefile sets it) or nil.
    public static var gitRevision: String? {
        guard let raw = unsafe getenv("NESTPROBE_GIT_REVISION") else { return nil }
        let value = unsafe String(cString: raw)
        return value.isEmpty ? nil : value
    }
}
