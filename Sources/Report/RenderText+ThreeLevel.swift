// The three-level section of the bench table: case | this level | guest | the guest's guest | the two
// multipliers | what the exits went to — or one line when every three-level case was skipped for the same
// reason (no SVM for guests here), so that the rest of the table reads as it always did.

import Documents

extension RenderText {
    /// Whether a row or case id belongs to the three-level section.
    static func isThreeLevel(_ id: String) -> Bool {
        id.hasSuffix("/" + GuestMode.svmInner.rawValue) || id.hasSuffix("/" + GuestMode.svmHypervisor.rawValue)
    }

    /// The section's lines, starting with a blank one; none when the report has no three-level case.
    static func threeLevelSection(_ report: BenchReport) -> [String] {
        let rows = report.table.filter { isThreeLevel($0.caseID) }
        let cases = report.cases.filter { isThreeLevel($0.id) }
        guard !rows.isEmpty else { return [] }
        let title = "Three levels: the guest is a minimal SVM hypervisor, its guest runs the loops"
        let reasons = Set(cases.map { $0.status == .skipped ? $0.reason ?? "" : "" })
        if cases.allSatisfy({ $0.status == .skipped }), reasons.count == 1, let reason = reasons.first {
            return [""] + wrap("Three levels (a guest that is an SVM hypervisor): skipped, \(reason)", indent: "")
        }
        var out = ["", title]
        if report.context.emulatedHost {
            out += wrap("(QEMU TCG below this level: every figure is emulation, not hardware)", indent: "  ")
        }
        out.append(
            pad("case", 22) + lpad("this lvl", 9) + lpad("guest", 9) + lpad("guest's g", 10) + lpad("×", 6)
                + lpad("×", 6) + "  exits to")
        func cycles(_ value: Double?) -> String { value.map { grouped($0) } ?? "—" }
        func times(_ value: Double?) -> String { value.map { String(format3: ($0 * 10).rounded() / 10) + "×" } ?? "" }
        for row in rows {
            out.append(
                pad(row.caseID, 22) + lpad(cycles(row.thisLevelCycles), 9) + lpad(cycles(row.guestLevelCycles), 9)
                    + lpad(row.caseID.hasSuffix(GuestMode.svmInner.rawValue) ? cycles(row.innerGuestCycles) : "", 10)
                    + lpad(times(row.multiplier), 6) + lpad(times(row.innerMultiplier), 6) + "  " + row.exitsTo)
            if !row.note.isEmpty { out += wrap(row.note, indent: "    ") }
        }
        return out
    }
}
