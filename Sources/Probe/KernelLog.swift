// KernelLog: the kernel's own words about CPUs, hypervisors and KVM, from /dev/kmsg.
//
// Reading /dev/kmsg needs CAP_SYSLOG when kernel.dmesg_restrict is 1; without it the log is
// unavailable with that reason. Only lines that matter to nesting are kept, so a snapshot stays small.

/// Reads and filters the kernel log.
public struct KernelLog: Sendable {
    public var reader: SystemReader

    public init(reader: SystemReader = SystemReader()) {
        self.reader = reader
    }

    /// Substrings (lower case) that mark a line worth keeping.
    public static let keywords: [String] = [
        "hypervisor", "kvm", "hyper-v", "vmx", "svm", "pvm", "nested", "tsc:", "dmi:", "virtualization",
        "paravirt", "xen", "vmware", "firecracker", "gvisor", "bhyve", "acrn", "microsoft", "amazon", "google",
        "x86/cpu", "vt-x", "amd-v", "bios", "msr", "memory encryption", "sev:", "sev-", "amd sev", "tdx",
    ]

    /// The kept lines, message text only (the "pri,seq,time,flags;" prefix removed), at most 300.
    public func read() -> Fact<[String]> {
        reader.readRecords("/dev/kmsg").map { records in
            var kept: [String] = []
            for record in records {
                let line = Self.message(of: record)
                let lower = line.lowercased()
                if Self.keywords.contains(where: { lower.contains($0) }) {
                    kept.append(line)
                    if kept.count >= 300 { break }
                }
            }
            return kept
        }
    }

    /// The message of one /dev/kmsg record: the text after the first ';', up to the first line break.
    public static func message(of record: String) -> String {
        let parts = record.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
        let body = parts.count == 2 ? parts[1] : Substring(record)
        return String(body.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmed
    }
}
