// The program that wrote a document: every snapshot, bench report, comparison and qualification names it.

/// The program that wrote a snapshot or a report.
public struct ToolInfo: Codable, Sendable, Equatable {
    /// The program's name ("nestprobe").
    public var name: String
    /// Its version (`NestprobeVersion.string`).
    public var version: String
    /// The short git revision it was built from, when the build knew it.
    public var gitRevision: String?

    /// Every field, as a document holds it.
    public init(name: String, version: String, gitRevision: String?) {
        self.name = name
        self.version = version
        self.gitRevision = gitRevision
    }

    /// This build of nestprobe.
    public static var current: ToolInfo {
        ToolInfo(name: "nestprobe", version: NestprobeVersion.string, gitRevision: NestprobeVersion.gitRevision)
    }
}
