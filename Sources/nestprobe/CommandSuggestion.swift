// A mistyped subcommand: `nestprobe diagnos` or `nestprobe history ad` says which command was meant, in one
// line, with the usage exit code, rather than ArgumentParser's message about an unexpected argument.

import ArgumentParser

/// Finds the subcommand a mistyped word was meant to be.
enum CommandSuggestion {
    /// The one-line message for `arguments` (without the program name) when a word stands where a
    /// subcommand is expected and names none; nil when the arguments name known subcommands all the way
    /// down, or the first word after them is an option.
    static func message(for arguments: [String]) -> String? {
        var command = Entry(Nestprobe.self)
        var path = [command.name]
        for word in arguments {
            guard !command.subcommands.isEmpty, !word.hasPrefix("-") else { return nil }
            guard let next = command.subcommands.first(where: { $0.names.contains(word) }) else {
                let known = command.subcommands.map(\.name)
                let prefix = path.joined(separator: " ")
                if let meant = closest(to: word, among: known) {
                    return "'\(word)' is not a \(prefix) command; did you mean '\(prefix) \(meant)'?"
                }
                return "'\(word)' is not a \(prefix) command (commands: \(known.joined(separator: ", ")))"
            }
            command = next
            path.append(next.name)
        }
        return nil
    }

    /// A command's name, aliases and subcommands, read once from its type.
    struct Entry {
        let name: String
        let names: [String]
        let types: [any ParsableCommand.Type]

        init<Command: ParsableCommand>(_: Command.Type) {
            name = Command._commandName
            names = [name] + Command.configuration.aliases
            types = Command.configuration.subcommands
        }

        /// The subcommands, as entries.
        var subcommands: [Entry] { types.map { Entry($0) } }
    }

    /// The candidate `word` most likely stands for: one it is a prefix of (when only one is), else the
    /// nearest by edit distance when that is at most a third of the word's length (at least 1), else nil.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        let prefixed = candidates.filter { $0.hasPrefix(lowered) }
        if lowered.count >= 2, prefixed.count == 1 { return prefixed[0] }
        let limit = max(1, lowered.count / 3)
        let scored = candidates.map { (name: $0, distance: editDistance(lowered, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= limit else { return nil }
        // Two candidates equally near: the word does not say which.
        return scored.filter { $0.distance == best.distance }.count == 1 ? best.name : nil
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
