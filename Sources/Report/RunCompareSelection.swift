// RunCompareSelection: which rows compare judges. By default every row whose figure means what it says:
// not the in-kernel exits of a guest the hypervisor emulates instruction by instruction (kvm_pvm at CPL0
// and in real mode), whose figure is the emulator's work, which moves by large factors between runs,
// rather than an exit. User-space exits of such a guest are judged: their round trip through this
// process is real (a note says emulation is included). `--cases` and `--exclude` choose by glob patterns
// on the id; `--judge-all` judges the untrustworthy rows too. Rows that time no exit (the empty loop, the
// timing baseline: exits to "none") are shown, not judged, unless `--judge-all`.

/// Which rows to judge.
public struct RowSelection: Sendable, Equatable {
    /// Glob patterns; a row is chosen when it matches one (every row when empty).
    public var cases: [String]
    /// Glob patterns; a row that matches one is left out.
    public var exclude: [String]
    /// Judge the rows the reports mark untrustworthy too.
    public var judgeAll: Bool

    public init(cases: [String] = [], exclude: [String] = [], judgeAll: Bool = false) {
        self.cases = cases
        self.exclude = exclude
        self.judgeAll = judgeAll
    }

    /// Whether the patterns choose `id`.
    public func chooses(_ id: String) -> Bool {
        (cases.isEmpty || cases.contains { Glob.matches($0, id) }) && !exclude.contains { Glob.matches($0, id) }
    }

    /// Nil when a row with these traits is judged, else why not.
    func notJudgedReason(id: String, emulated: Bool, exitsTo: String) -> RowReason? {
        guard chooses(id) else { return .notSelected }
        if emulated && exitsTo != "user-space" && !judgeAll { return .emulatedInKernel }
        // The empty loop and the timing baseline time no exit: they calibrate the others. Their figures are
        // a few cycles, quantized, and a gate on exits has nothing to learn from them (an A/A pair here
        // was called regressed on the empty CPL3 loop alone).
        if exitsTo == "none" && !judgeAll { return .notAnExit }
        return nil
    }
}

/// Shell-style patterns: `*` any run of characters (also "/"), `?` one character, `[abc]` or `[a-z]` one
/// of a set (`[!…]` none of it); anything else stands for itself.
public enum Glob {
    /// Whether `pattern` matches all of `text`.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        matches(Array(pattern), 0, Array(text), 0)
    }

    private static func matches(_ p: [Character], _ pi: Int, _ t: [Character], _ ti: Int) -> Bool {
        var pi = pi
        var ti = ti
        // The last * seen and where in the text it was tried, to backtrack to (linear in practice).
        var star: (pattern: Int, text: Int)?
        while ti < t.count {
            if pi < p.count, p[pi] == "*" {
                star = (pi, ti)
                pi += 1
                continue
            }
            if pi < p.count, let (matched, next) = single(p, pi, t[ti]), matched {
                pi = next
                ti += 1
                continue
            }
            guard let last = star else { return false }
            pi = last.pattern + 1
            ti = last.text + 1
            star = (last.pattern, last.text + 1)
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// Whether the pattern element at `pi` (not a *) matches `c`, and the index after the element.
    private static func single(_ p: [Character], _ pi: Int, _ c: Character) -> (Bool, Int)? {
        switch p[pi] {
        case "?": return (true, pi + 1)
        case "[":
            guard let close = p[(pi + 1)...].dropFirst().firstIndex(of: "]") else { return (c == "[", pi + 1) }
            var members = Array(p[(pi + 1)..<close])
            let negated = members.first == "!"
            if negated { members.removeFirst() }
            var found = false
            var i = 0
            while i < members.count {
                if i + 2 < members.count, members[i + 1] == "-" {
                    found = found || (members[i] <= c && c <= members[i + 2])
                    i += 3
                } else {
                    found = found || members[i] == c
                    i += 1
                }
            }
            return (found != negated, close + 1)
        default: return (p[pi] == c, pi + 1)
        }
    }
}
