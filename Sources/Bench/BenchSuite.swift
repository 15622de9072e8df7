// BenchSuite: what to run (options, the `--cases` selection) and the suite itself: N independent runs of
// the selected cases (BenchSuite+Runs.swift), each case's baseline timed in its own guest, and this level's
// own CPUID next to the guests' to give the multiplier — one bench, two levels.

import KVM
import Probe

/// What to run and for how long.
public struct BenchOptions: Sendable {
    /// Case names or ids to run ("cpuid-0", "cpuid", "pio-out-user/real"); empty = all.
    public var cases: [String] = []
    /// Wall-clock cap, seconds: no run starts once the previous one suggests it would end past it (the
    /// first run always happens).
    public var budgetSeconds: Double = 60
    /// Independent runs: each runs every selected case once, in its own shuffled order, each case in a fresh
    /// guest with its baseline timed in the same guest.
    public var runs = BenchOptions.defaultRuns
    /// The seed of the per-run order; nil picks one (recorded in the report).
    public var runOrderSeed: UInt64? = nil
    /// `--inject-exit-delay`: the text as given and what it asks.
    public var exitDelay: (text: String, request: ExitDelayRequest)? = nil
    /// Watchdog per guest run.
    public var guestTimeout: Duration = CaseRunner.defaultTimeout
    /// The KVM device.
    public var devicePath = "/dev/kvm"

    /// The default number of runs: five keep the default bench within about 3 s on the kvm_pvm machine the
    /// project is built on; a regression gate takes four such reports of 4 runs a side (README).
    public static let defaultRuns = 5

    /// The most runs accepted.
    public static let maximumRuns = 1000

    public init() {}
}

/// What a `--cases` list chose (`BenchSuite.selection`).
public struct CaseSelection: Sendable, Equatable {
    /// The cases to run, in catalogue order.
    public var cases: [ExitCase]
    /// Entries that matched no case.
    public var unknown: [String]
    /// Ids of the cases to run without probing them for a hang first (`NAME!`).
    public var forced: Set<String>
}

/// One progress event, for the CLI's stderr.
public enum BenchProgress: Sendable {
    case hostLevel(HostLevelCase)
    case caseDone(CaseReport, index: Int, of: Int)
    case note(String)
}

/// Runs the suite.
public struct BenchSuite: Sendable {
    public var options: BenchOptions

    public init(options: BenchOptions) {
        self.options = options
    }

    /// The cases `options.cases` selects, in catalogue order; unknown names are returned apart.
    public static func select(_ names: [String], from catalogue: [ExitCase]) -> (cases: [ExitCase], unknown: [String]) {
        let chosen = selection(names, from: catalogue)
        return (chosen.cases, chosen.unknown)
    }

    /// The cases a `--cases` list selects, in catalogue order. Each entry is a case id ("hypercall/real"), a
    /// name ("cpuid-0"), a family prefix ("cpuid"), an opt-in set ("interrupts") or `all` (every case, the
    /// opt-in sets' too); `NAME!` selects and forces (runs a case that may hang without probing it first);
    /// `-NAME` excludes. An empty list, or one of exclusions alone, starts from the default suite: every case
    /// in it (`ExitCase.inDefaultSuite`) outside the opt-in sets.
    /// The rdtsc baselines and three-level counterparts of what is chosen always come along.
    public static func selection(_ names: [String], from catalogue: [ExitCase]) -> CaseSelection {
        var unknown: [String] = []
        var chosen = Set<String>()
        var forced = Set<String>()
        var excluded = Set<String>()
        var included = false
        for entry in names {
            var name = Substring(entry)
            let excludes = name.hasPrefix("-")
            let forces = !excludes && name.hasSuffix("!")
            if excludes { name = name.dropFirst() }
            if forces { name = name.dropLast() }
            let matches = catalogue.filter { exitCase in
                name == "all" || exitCase.id == name || exitCase.name == name || exitCase.name.hasPrefix(name + "-")
                    || exitCase.optInSet == String(name)
            }.map(\.id)
            if matches.isEmpty { unknown.append(entry) }
            if excludes {
                excluded.formUnion(matches)
                continue
            }
            included = true
            chosen.formUnion(matches)
            if forces { forced.formUnion(matches) }
        }
        if !included { chosen = Set(catalogue.filter { $0.inDefaultSuite && $0.optInSet == nil }.map(\.id)) }
        chosen.subtract(excluded)
        // A three-level case's counterpart one level down goes along: its row sets the two side by side.
        chosen.formUnion(catalogue.filter { chosen.contains($0.id) }.compactMap(\.counterpart))
        // Baselines go along: net figures need the rdtsc case of the same mode and privilege.
        let needed = catalogue.filter { chosen.contains($0.id) && $0.timedInGuest }
        for exitCase in needed {
            if let baseline = catalogue.first(where: {
                $0.name == "rdtsc" && $0.mode == exitCase.mode && $0.cpl == exitCase.cpl
            }) {
                chosen.insert(baseline.id)
            }
        }
        return CaseSelection(
            cases: catalogue.filter { chosen.contains($0.id) }, unknown: unknown, forced: forced.intersection(chosen))
    }
}
