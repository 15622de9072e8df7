// The record of `bench --inject-exit-delay D` in a bench report's context: what was asked, what it came
// to in cycles and nanoseconds, and the note that says so loudly (Bench's InjectedExitDelay.swift makes it).

/// The delay a bench injected, as its report records it.
public struct InjectedExitDelay: Codable, Sendable, Equatable {
    /// As given on the command line ("2us", "10%").
    public var requested: String
    /// For a percentage: the case whose net cost per exit it is a share of, and that cost in cycles.
    public var referenceCaseID: String?
    public var referenceCycles: Double?
    /// The busy-wait added to every user-space exit, TSC cycles, and nanoseconds at this level's TSC rate.
    public var delayCycles: Double
    public var delayNanoseconds: Double
    /// One sentence for the report's notes and the table.
    public var note: String

    /// A delay record; `make` in Bench works out the figures.
    public init(
        requested: String, referenceCaseID: String?, referenceCycles: Double?, delayCycles: Double,
        delayNanoseconds: Double, note: String
    ) {
        self.requested = requested
        self.referenceCaseID = referenceCaseID
        self.referenceCycles = referenceCycles
        self.delayCycles = delayCycles
        self.delayNanoseconds = delayNanoseconds
        self.note = note
    }
}
