// Snapshot: every raw fact the probe read on one machine, in a versioned, replayable document.
//
// `nestprobe capture` writes one; `nestprobe diagnose --snapshot` analyses one offline. The analysis
// never reads the machine itself: it reads a Snapshot, so live runs, saved captures, CPUID dumps and
// test fixtures all take the same path.

/// Every raw fact read on one machine. Schema: Reports/schema/snapshot-v1.schema.json.
public struct Snapshot: Codable, Sendable, Equatable {
    /// The schema identifier every snapshot carries.
    public static let schemaID = "nestprobe.snapshot"
    /// The schema version this build writes and reads.
    public static let currentVersion = 1

    public var schema: String
    public var version: Int
    /// The program that captured it.
    public var tool: ToolInfo
    /// When it was captured (ISO 8601, UTC), if known.
    public var capturedAt: String?
    /// Where the facts came from.
    public var origin: Origin
    /// CPUID leaves as this process saw them (through libcpuid, plus raw hypervisor and SVM leaves).
    public var cpuid: Fact<[CPUIDLeaf]>
    /// Text files from /proc and /sys, by absolute path.
    public var files: [String: Fact<String>]
    /// Directory listings (module parameters, bus devices), by absolute path.
    public var directories: [String: Fact<[String]>]
    /// Device nodes (/dev/kvm, /dev/cpu/0/msr): owner, mode, and whether this user could open them.
    public var devices: [String: Fact<DeviceNode>]
    /// Model-specific registers read through /dev/cpu/N/msr.
    public var msrs: Fact<[MSRReading]>
    /// What /dev/kvm answered.
    public var kvm: Fact<KVMFacts>
    /// Kernel log lines about CPUs, hypervisors and KVM.
    public var kernelLog: Fact<[String]>
    /// Timing of this process's own CPUID instruction.
    public var hostTiming: Fact<HostTiming>
    /// The identity this process ran with.
    public var process: Fact<ProcessInfo>
    /// Each online CPU's APIC IDs from CPUID executed on it and from /proc/cpuinfo (issue 16); nil in snapshots
    /// taken before they were captured.
    public var apicIDs: Fact<[CPUAPICIDs]>? = nil

    public init(
        tool: ToolInfo = .current, capturedAt: String? = nil, origin: Origin,
        cpuid: Fact<[CPUIDLeaf]> = .notCaptured, files: [String: Fact<String>] = [:],
        directories: [String: Fact<[String]>] = [:], devices: [String: Fact<DeviceNode>] = [:],
        msrs: Fact<[MSRReading]> = .notCaptured, kvm: Fact<KVMFacts> = .notCaptured,
        kernelLog: Fact<[String]> = .notCaptured, hostTiming: Fact<HostTiming> = .notCaptured,
        process: Fact<ProcessInfo> = .notCaptured
    ) {
        self.schema = Self.schemaID
        self.version = Self.currentVersion
        self.tool = tool
        self.capturedAt = capturedAt
        self.origin = origin
        self.cpuid = cpuid
        self.files = files
        self.directories = directories
        self.devices = devices
        self.msrs = msrs
        self.kvm = kvm
        self.kernelLog = kernelLog
        self.hostTiming = hostTiming
        self.process = process
    }

    /// The file at `path`: its content, the reason it could not be read, or not captured.
    public func file(_ path: String) -> Fact<String> { files[path] ?? .notCaptured }

    /// A file's content with surrounding white space removed, when it was read.
    public func text(_ path: String) -> String? {
        file(path).value.map { $0.trimmed }
    }

    /// The listing of `path`, or why there is none.
    public func directory(_ path: String) -> Fact<[String]> { directories[path] ?? .notCaptured }

    /// Whether the snapshot was taken from a live machine (as opposed to a CPUID dump).
    public var isLive: Bool { origin.kind == .live }
}

/// Where a snapshot's facts came from.
public struct Origin: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Read on a running machine by `nestprobe capture` or `diagnose`.
        case live
        /// Converted from Debian's `cpuid -r` output.
        case cpuidTool = "cpuid-r"
        /// Converted from libcpuid's `cpuid_tool --save` raw file.
        case libcpuidRaw = "libcpuid-raw"
        /// Written by hand or by a test.
        case fixture
    }

    public var kind: Kind
    /// A file name, a host description or a fixture name.
    public var detail: String?

    public init(kind: Kind, detail: String? = nil) {
        self.kind = kind
        self.detail = detail
    }
}

/// A device node's ownership and whether this process could open it.
public struct DeviceNode: Codable, Sendable, Equatable {
    /// Permission bits, as an octal string ("0660").
    public var mode: String
    public var ownerUID: UInt32
    public var groupGID: UInt32
    /// Group name from /etc/group, when found.
    public var groupName: String?
    /// Opening it read-write: nil if it opened, else why not.
    public var openError: UnavailableReason?
    /// The errno text of the failed open.
    public var openErrorDetail: String?

    public init(
        mode: String, ownerUID: UInt32, groupGID: UInt32, groupName: String? = nil,
        openError: UnavailableReason? = nil, openErrorDetail: String? = nil
    ) {
        self.mode = mode
        self.ownerUID = ownerUID
        self.groupGID = groupGID
        self.groupName = groupName
        self.openError = openError
        self.openErrorDetail = openErrorDetail
    }
}

/// One MSR on one CPU, read through /dev/cpu/N/msr (never written).
public struct MSRReading: Codable, Sendable, Equatable {
    public var cpu: Int
    public var index: UInt32
    public var name: String
    public var value: Fact<UInt64Hex>

    public init(cpu: Int, index: UInt32, name: String, value: Fact<UInt64Hex>) {
        self.cpu = cpu
        self.index = index
        self.name = name
        self.value = value
    }

    private enum CodingKeys: String, CodingKey { case cpu, index, name, value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpu = try c.decode(Int.self, forKey: .cpu)
        index = try c.decode(UInt64Hex.self, forKey: .index).value32(codingPath: c.codingPath)
        name = try c.decode(String.self, forKey: .name)
        value = try c.decode(Fact<UInt64Hex>.self, forKey: .value)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cpu, forKey: .cpu)
        try c.encode(HexWord.format32(index), forKey: .index)
        try c.encode(name, forKey: .name)
        try c.encode(value, forKey: .value)
    }
}

/// A 64-bit value written as a hex string in JSON (JSON numbers lose precision past 2^53).
public struct UInt64Hex: Codable, Sendable, Equatable, Hashable, ExpressibleByIntegerLiteral {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }
    public init(integerLiteral value: UInt64) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let value = HexWord.parse64(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a hex string, got \(text)")
        }
        self.value = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(HexWord.format64(value))
    }

    func value32(codingPath: [any CodingKey]) throws -> UInt32 {
        guard value <= UInt64(UInt32.max) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "index over 32 bits"))
        }
        return UInt32(value)
    }
}

/// What /dev/kvm answered.
public struct KVMFacts: Codable, Sendable, Equatable {
    /// KVM_GET_API_VERSION (12 on every kernel since 2.6.22).
    public var apiVersion: Int32
    /// KVM_CHECK_EXTENSION results by capability name (0 = not supported).
    public var capabilities: [String: Int32]
    /// KVM_GET_SUPPORTED_CPUID: what guests started here may be offered.
    public var supportedCPUID: Fact<[CPUIDLeaf]>
    /// KVM_GET_MSR_FEATURE_INDEX_LIST + KVM_GET_MSRS on /dev/kvm: feature MSRs offered to guests.
    public var featureMSRs: Fact<[String: UInt64Hex]>
    /// Creating a VM and reading a vCPU's TSC frequency (KVM_GET_TSC_KHZ), if that worked.
    public var guestTSCkHz: Fact<UInt32>

    public init(
        apiVersion: Int32, capabilities: [String: Int32], supportedCPUID: Fact<[CPUIDLeaf]>,
        featureMSRs: Fact<[String: UInt64Hex]>, guestTSCkHz: Fact<UInt32>
    ) {
        self.apiVersion = apiVersion
        self.capabilities = capabilities
        self.supportedCPUID = supportedCPUID
        self.featureMSRs = featureMSRs
        self.guestTSCkHz = guestTSCkHz
    }
}

/// The cost of this process's own CPUID instruction: at level ≥ 1 under VT-x (and under AMD-V where
/// intercepted), each one is a VM exit to the level below.
public struct HostTiming: Codable, Sendable, Equatable {
    /// CPUID leaf and subleaf that were timed.
    public var leaf: UInt32
    public var subleaf: UInt32
    /// Iterations run and thrown away before sampling.
    public var warmup: Int
    /// One sample per CPUID, cycles between fenced TSC reads, fence overhead included.
    public var samplesCycles: [UInt64]
    /// Samples of the fenced TSC pair with nothing between: the overhead.
    public var overheadCycles: [UInt64]
    /// The CPU the thread was pinned to, if pinning worked.
    public var pinnedCPU: Int?
    /// TSC frequency and where it came from.
    public var tsc: TSCFrequency
    /// LFENCEs in each second-clock sample; nil in snapshots taken before the second clock (issue 16).
    public var lfenceChainLength: Int?
    /// One sample per chain of `lfenceChainLength` LFENCEs between the same fenced TSC reads, overhead included:
    /// a sequence that never traps, on the same counter as the CPUID samples.
    public var lfenceChainCycles: [UInt64]?

    public init(
        leaf: UInt32, subleaf: UInt32, warmup: Int, samplesCycles: [UInt64], overheadCycles: [UInt64],
        pinnedCPU: Int?, tsc: TSCFrequency, lfenceChainLength: Int? = nil, lfenceChainCycles: [UInt64]? = nil
    ) {
        self.lfenceChainLength = lfenceChainLength
        self.lfenceChainCycles = lfenceChainCycles
        self.leaf = leaf
        self.subleaf = subleaf
        self.warmup = warmup
        self.samplesCycles = samplesCycles
        self.overheadCycles = overheadCycles
        self.pinnedCPU = pinnedCPU
        self.tsc = tsc
    }
}

/// The identity the probe ran with: what it could read depends on it.
public struct ProcessInfo: Codable, Sendable, Equatable {
    public var euid: UInt32
    public var groups: [UInt32]
    /// CapEff from /proc/self/status, hex.
    public var effectiveCapabilities: String?

    public init(euid: UInt32, groups: [UInt32], effectiveCapabilities: String?) {
        self.euid = euid
        self.groups = groups
        self.effectiveCapabilities = effectiveCapabilities
    }
}

/// One logical CPU's APIC IDs, from CPUID executed on that CPU and from the kernel's /proc/cpuinfo (issue 16).
public struct CPUAPICIDs: Codable, Sendable, Equatable {
    /// The kernel's number for the CPU (cpuN, /proc/cpuinfo's "processor").
    public var cpu: Int
    /// Leaf 1 and, where the maximum basic leaf reaches them, leaves 0xB and 0x1F (subleaf 0), as executed on this
    /// CPU; or why they could not be.
    public var cpuid: Fact<[CPUIDLeaf]>
    /// How CPUID reached this CPU: "sched_setaffinity" (this thread moved there) or "/dev/cpu/N/cpuid" (the
    /// cpuid driver ran it there); nil when it did not.
    public var via: String?
    /// /proc/cpuinfo's "apicid": the APIC ID the kernel uses for this CPU (from its APIC and the firmware's MADT).
    public var cpuinfoAPICID: Int?
    /// /proc/cpuinfo's "initial apicid": the ID the kernel read from CPUID on this CPU at boot.
    public var cpuinfoInitialAPICID: Int?

    public init(
        cpu: Int, cpuid: Fact<[CPUIDLeaf]>, via: String? = nil, cpuinfoAPICID: Int? = nil,
        cpuinfoInitialAPICID: Int? = nil
    ) {
        self.cpu = cpu
        self.cpuid = cpuid
        self.via = via
        self.cpuinfoAPICID = cpuinfoAPICID
        self.cpuinfoInitialAPICID = cpuinfoInitialAPICID
    }
}
