// `bench --inject-exit-delay D`: a slowdown of known size, for checking that a regression gate catches one.
// D is a duration (`2us`, `500ns`) or a share of this machine's user-space exit cost (`10%`), measured first
// with a short calibration run (its baseline timed in the same guest) of MMIO at CPL3, which no hypervisor
// emulates, or else of pio-out-user in the first mode that runs here (BenchSuite.calibrate). The delay is a busy-wait on the TSC in this process's handling of every user-space exit
// (CaseRunner.injectedExitDelayCycles); in-kernel exits are untouched. The report's context says it loudly.
//
// The duration parser here is a small one of its own (decimal number, unit ns/us/µs/ms/s); the CLI's
// `--budget` parser may replace it once both are merged.

import Probe

/// What `--inject-exit-delay` asked for.
public enum ExitDelayRequest: Sendable, Equatable {
    /// A fixed delay.
    case nanoseconds(Double)
    /// A share of the measured user-space exit cost, percent.
    case percent(Double)

    /// The largest delay accepted: 10 ms per exit.
    public static let maximumNanoseconds = 10_000_000.0
    /// The largest share accepted: 1000 %.
    public static let maximumPercent = 1000.0

    /// Parses `2us`, `500ns`, `1.5µs`, `0.01ms` or `10%`; nil for anything else, zero, or over the maxima.
    /// Decimal digits and one point only: no sign, exponent, hexadecimal, NaN or infinity.
    public static func parse(_ text: String) -> ExitDelayRequest? {
        var number = Substring(text.lowercased())
        if number.hasSuffix("%") {
            guard let value = decimal(number.dropLast()), value > 0, value <= maximumPercent else { return nil }
            return .percent(value)
        }
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9)]
        guard let (suffix, scale) = units.first(where: { number.hasSuffix($0.0) }) else { return nil }
        number = number.dropLast(suffix.count)
        guard let value = decimal(number), value > 0, value * scale <= maximumNanoseconds else { return nil }
        return .nanoseconds(value * scale)
    }

    /// A non-negative decimal number of at most 20 characters, or nil.
    static func decimal(_ text: Substring) -> Double? {
        guard !text.isEmpty, text.count <= 20, text.filter({ $0 == "." }).count <= 1,
            text.allSatisfy({ $0 == "." || ("0"..."9").contains($0) }), text != "."
        else { return nil }
        return Double(text)
    }
}

extension InjectedExitDelay {
    /// The delay for `request` at `hz` (this level's TSC), with `reference` the calibration (case id and net
    /// cycles per exit) for a percentage. Nil delay cycles when it cannot be worked out; the note says why.
    static func make(
        requested: String, request: ExitDelayRequest, hz: Double, reference: (id: String, cycles: Double)?
    ) -> InjectedExitDelay {
        var delay = InjectedExitDelay(
            requested: requested, referenceCaseID: reference?.id, referenceCycles: reference?.cycles,
            delayCycles: 0, delayNanoseconds: 0, note: "")
        switch request {
        case .nanoseconds(let nanoseconds):
            guard hz > 0 else {
                delay.note =
                    "NO DELAY INJECTED: --inject-exit-delay \(requested) needs this level's TSC rate, unknown here"
                return delay
            }
            delay.delayCycles = (nanoseconds * hz / 1e9).rounded()
        case .percent(let percent):
            guard let reference, reference.cycles > 0 else {
                delay.note =
                    "NO DELAY INJECTED: --inject-exit-delay \(requested) needs the user-space exit cost, and the "
                    + "calibration run (mmio-write-user at CPL3, else pio-out-user) did not give one"
                return delay
            }
            delay.delayCycles = (reference.cycles * percent / 100).rounded()
        }
        delay.delayNanoseconds = hz > 0 ? delay.delayCycles / hz * 1e9 : 0
        let of = reference.map { " (\(requested) of \($0.id)'s \(Int($0.cycles.rounded())) cycles per exit)" } ?? ""
        delay.note =
            "DELAY INJECTED: every exit to user space waited \(Int(delay.delayCycles)) extra cycles "
            + "(\(String(format3: delay.delayNanoseconds)) ns)\(of) in nestprobe's own exit handling; "
            + "user-space figures are slower on purpose, in-kernel ones untouched"
        return delay
    }
}
