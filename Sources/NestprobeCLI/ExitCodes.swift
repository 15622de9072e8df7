// Exit codes, sysexits-style, documented in the README and in `nestprobe --help`; shared by nestprobe and
// nestprobe-history (NestprobeCLI is what both executables share: exit codes, output, `history`'s arguments).

import ArgumentParser
import Documents
import Probe

/// nestprobe's documented exit codes.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let failure: Int32 = 1
    /// compare: at least one case regressed.
    public static let regression: Int32 = 2
    /// qualify: a rule of the policy failed; fleet: a host's qualification failed.
    public static let notQualified: Int32 = 3
    /// compare: some cases improved and none regressed.
    public static let improvementOnly: Int32 = 4
    /// compare: no regression, but a judged case the runs cannot decide, a case missing from the new
    /// reports, or nothing judged.
    public static let inconclusive: Int32 = 5
    /// diagnose --check: the answer to the question is no.
    public static let answerNo: Int32 = 8
    /// diagnose --check: what was read cannot answer the question (a fact missing, or the evidence ties).
    public static let answerUnknown: Int32 = 9
    public static let usage: Int32 = 64
    public static let badInput: Int32 = 65
    public static let noInput: Int32 = 66
    public static let unavailable: Int32 = 69
    /// bench: guest cases that should have run failed (skipped cases, with their reason, do not count).
    public static let guestCasesFailed: Int32 = 70
    public static let cannotWrite: Int32 = 73
    public static let permissionDenied: Int32 = 77

    public static let documentation = """
        Exit codes: 0 ok; 1 failure; 2 regression (compare); 3 not qualified (qualify, fleet); 4 improvements only
        (compare); 5 inconclusive (compare: too few runs, a change not established, or cases missing);
        diagnose --check: 0 yes, 8 no, 9 unknown; 64 usage error; 65 bad input data (malformed snapshot or dump);
        66 input file missing or unreadable; 69 /dev/kvm unavailable or not KVM (bench); 70 guest cases failed
        (bench); 73 output file cannot be written;
        77 permission denied on /dev/kvm (bench).
        """

    /// Prints `error` as one line on stderr and exits with its code.
    public static func fail(_ error: InputError, writing: Bool = false) -> ExitCode {
        printError(error.message)
        switch error.kind {
        case .noInput: return ExitCode(writing ? cannotWrite : noInput)
        case .badData: return ExitCode(badInput)
        }
    }
}

/// Writes one line to standard error, prefixed with the program name. Control characters in `message`
/// (a newline or an escape sequence in a file name or an option value) are shown as visible escapes, so
/// the message stays one line and nothing from the input reaches the terminal as a command.
public func printError(_ message: String) {
    var stderr = StandardError()
    print("nestprobe: \(MessageText.oneLine(message))", to: &stderr)
}

public struct StandardError: TextOutputStream {
    /// A stream for `print(…, to:)`.
    public init() {}

    /// Writes `string` to standard error.
    public mutating func write(_ string: String) {
        FileOutput.write(string, to: 2)
    }
}

/// The version `--version` prints: "0.1.0", with the git revision when the build or the environment names it.
public enum NestprobeVersionText {
    /// "0.1.0 (1a2b3c4)", "0.1.0 (unknown)" for a portable binary built without git, or "0.1.0".
    public static var value: String {
        NestprobeVersion.string + (NestprobeVersion.revisionText.map { " (\($0))" } ?? "")
    }
}
