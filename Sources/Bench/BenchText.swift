// BenchText: the bench table for people, 80 columns wide, and the one-line progress events.

import Probe

/// Renders a bench report as text.
public enum BenchText {
    /// One line per progress event.
    public static func progressLine(_ event: BenchProgress) -> String {
        switch event {
        case .hostLevel(let host):
            return "this level: \(host.id) \(grouped(host.netMedianCycles)) cycles "
                + "(\(String(format3: host.netMedianNanoseconds / 1000)) µs) median over \(host.statistics.cycles.count) samples"
        case .caseDone(let report, let index, let count):
            let head = "[\(index)/\(count)] \(report.id): "
            switch report.status {
            case .ok:
                let runs = "\(report.sampleCount) samples in \(report.runs) run(s)"
                if let net = report.net, net.belowResolution, !report.id.hasPrefix("rdtsc/") {
                    return head + "below resolution (net \(grouped(net.medianCycles)) cycles), \(runs)"
                }
                let net = report.netMedianCycles.map { grouped($0) } ?? "?"
                return head + "\(net) cycles net, \(runs)"
            case .skipped: return head + "skipped: \(report.reason ?? "")"
            case .failed: return head + "FAILED: \(report.reason ?? "")"
            }
        case .note(let text):
            return text
        }
    }

    static func grouped(_ value: Double) -> String {
        TextFormat.grouped(value)
    }
}
