// The version of nestprobe, stamped into every snapshot and report.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// nestprobe's version and, when the build recorded it, its git revision.
public enum NestprobeVersion {
    /// Semantic version of this build.
    public static let string = "0.1.0"
    /// The git revision, from NESTPROBE_GIT_REVISION at run time (the Makefile sets it) or nil.
    public static var gitRevision: String? {
        guard let value = ProcessInfo.processInfo.environment["NESTPROBE_GIT_REVISION"] else { return nil }
        return value.isEmpty ? nil : value
    }
}
