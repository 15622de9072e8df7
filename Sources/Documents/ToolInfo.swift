// The program that wrote a document: every snapshot, bench report, comparison and qualification names it.

/// The program that wrote a snapshot or a report.
public struct ToolInfo: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var gitRevision: String?

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
