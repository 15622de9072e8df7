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

    /// The stamp's marker; scripts/dist.py finds it in the linked portable binary.
    static let stampMarker = "@(#)nestprobe-git-revision="
    /// The marker and 40 spaces, one literal, so that its bytes lie together in the executable: scripts/dist.py
    /// writes the revision (or "unknown" when the tree has no git) over the spaces of the portable binary. A
    /// build that no one stamped keeps the spaces.
    static let stamp = "@(#)nestprobe-git-revision=                                        "

    /// The revision stamped into this executable by scripts/dist.py ("1a2b3c4", "1a2b3c4-dirty", "unknown"),
    /// nil when it was not stamped.
    public static var stampedRevision: String? { revision(fromStamp: stamp) }

    /// The revision a stamp holds, nil for an unstamped one (read byte by byte, so that the optimiser cannot
    /// fold the literal away before dist.py writes over it).
    static func revision(fromStamp stamp: String) -> String? {
        let bytes = Array(stamp.utf8)
        let marker = Array(stampMarker.utf8)
        guard bytes.count >= marker.count, Array(bytes.prefix(marker.count)) == marker else { return nil }
        var value = Array(bytes.dropFirst(marker.count))
        while value.last == UInt8(ascii: " ") || value.last == 0 { value.removeLast() }
        return value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
    }

    /// The git revision reports carry: the stamped one, else NESTPROBE_GIT_REVISION at run time (the Makefile
    /// sets it), else nil.
    public static var gitRevision: String? {
        if let stamped = stampedRevision, stamped != "unknown" { return stamped }
        guard let value = ProcessInfo.processInfo.environment["NESTPROBE_GIT_REVISION"] else { return nil }
        return value.isEmpty ? nil : value
    }

    /// What `--version` shows in parentheses: the stamped revision ("unknown" included), else the
    /// environment's, else nil.
    public static var revisionText: String? {
        stampedRevision ?? gitRevision
    }
}
