// The three-level rows of the summary table. A svm-inner case's own figure is the guest's guest's; beside
// it go the same instruction one level down (its counterpart, long mode at CPL0 in the ordinary guest) and,
// for CPUID, this level's own — so one row reads this level | guest level | the guest's guest, with a
// multiplier between each pair. Its note says who handled the exits, as the mini-hypervisor counted them.

/// Builds the three-level rows.
enum NestedSVMAnalysis {
    /// `row` as CaseAnalysis.table made it for `report`, made a three-level row when the case is svm-inner.
    static func threeLevel(_ row: TableRow, _ report: CaseReport, among reports: [CaseReport]) -> TableRow {
        guard report.mode == GuestMode.svmInner.rawValue else { return row }
        var row = row
        row.innerGuestCycles = report.netMedianCycles
        row.innerGuestNanoseconds = report.netMedianNanoseconds
        (row.guestLevelCycles, row.guestLevelNanoseconds, row.multiplier) = (nil, nil, nil)
        if let id = ExitCase.counterpartID(ofInner: report.id),
            let counterpart = reports.first(where: { $0.id == id && $0.status == .ok })
        {
            row.guestLevelCaseID = id
            row.guestLevelCycles = counterpart.netMedianCycles
            row.guestLevelNanoseconds = counterpart.netMedianNanoseconds
        }
        if let this = row.thisLevelCycles, this > 0, let guest = row.guestLevelCycles {
            row.multiplier = guest / this
        }
        // Between two exits, not two baselines.
        if report.status == .ok, report.exitsTo != ExitTarget.none.rawValue, let guest = row.guestLevelCycles,
            guest > 0, let inner = row.innerGuestCycles
        {
            row.innerMultiplier = inner / guest
        }
        if let note = handledNote(report) {
            row.note = row.note.isEmpty ? note : row.note + "; " + note
        }
        return row
    }

    /// Who handled the guest's guest's exits, in words, for a case that ran.
    static func handledNote(_ report: CaseReport) -> String? {
        guard report.status == .ok, let facts = report.guestHypervisor else { return nil }
        let handled = BenchText.grouped(Double(facts.intercepts.values.reduce(0, +)))
        switch report.attribution {
        case Attribution.guestHypervisor.rawValue where report.exitsTo == ExitTarget.none.rawValue:
            return "ran under the mini-hypervisor (canary \"\(facts.innerSignature ?? "")\")"
        case Attribution.guestHypervisor.rawValue:
            return "handled by the mini-hypervisor: \(handled) of \(handled) intercepts, canary "
                + "\"\(facts.innerSignature ?? "")\""
        case Attribution.thisLevel.rawValue:
            return "this level's KVM answered the guest's guest, not the mini-hypervisor"
        case Attribution.levelBelow.rawValue:
            return "the level below answered the guest's guest, not the mini-hypervisor"
        default:
            return nil
        }
    }
}
