// `nestprobe capture`: every raw fact the probe reads, as a snapshot to analyse elsewhere.

import ArgumentParser
import NestprobeCLI
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Probe

extension Nestprobe {
    struct Capture: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write every raw fact the probe reads (CPUID, sysfs, KVM, MSRs, timing samples) as a snapshot.",
            discussion: "Analyse it anywhere with `nestprobe diagnose --snapshot FILE`.")

        @Option(
            name: .shortAndLong, help: "The snapshot file to write (atomically); - for standard output.",
            completion: .file())
        var output: String = "-"

        @OptionGroup var probe: ProbeOptions

        func run() throws {
            let snapshot = probe.capture()
            let data = try DocumentFile.encodeJSON(snapshot)
            do { try FileOutput.emit(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
        }
    }
}
