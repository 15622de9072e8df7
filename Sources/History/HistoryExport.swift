// HistoryExport: every stored run as CSV, machine by machine and case by case, for other tools (Apache
// Otava reads CSV; so do spreadsheets and pandas).

/// Writes the whole history out.
public enum HistoryExport {
    /// One row per run: machine key, label, report index, time, file, case id, run, gross, net (raw), and
    /// the machine's level in that run (divide the figures by it for the per-run corrected ones; empty where
    /// the report has none).
    public static func csv(_ store: any HistoryStore) throws(HistoryError) -> String {
        var out = "machine,label,report_index,created_at,file,case,run,gross_cycles,net_cycles,run_level\n"
        for machine in try store.machines() {
            let reports = try store.reports(machine: machine.id)
            var position: [Int64: Int] = [:]
            for (index, report) in reports.enumerated() { position[report.id] = index }
            for entry in try store.cases(machine: machine.id) {
                var run = 0
                var last: Int64 = -1
                for point in try store.runs(machine: machine.id, caseID: entry.id) {
                    run = point.reportID == last ? run + 1 : 0
                    last = point.reportID
                    guard let index = position[point.reportID] else { continue }
                    let report = reports[index]
                    out +=
                        [
                            machine.key, machine.label, String(index), report.createdAt, report.file, entry.id,
                            String(run),
                            String(point.gross), point.net.map { String($0) } ?? "",
                            point.level.map { String($0) } ?? "",
                        ].map(HistoryText.csvField).joined(separator: ",") + "\n"
                }
            }
        }
        return out
    }
}
