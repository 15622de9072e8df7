// SnapshotFile: reading a snapshot from a file (nestprobe's JSON, `cpuid -r`, libcpuid raw); DocumentFile
// does the file checks and the JSON, AtomicFile.swift writes it.

/// Loads snapshot files.
public enum SnapshotFile {
    /// A snapshot from nestprobe JSON, `cpuid -r` text or a libcpuid raw file, chosen by content.
    public static func load(_ path: String) throws(InputError) -> Snapshot {
        let bytes = try DocumentFile.readInput(path)
        return try parse(bytes, name: path)
    }

    /// Parses snapshot bytes; `name` is used in messages.
    public static func parse(_ bytes: [UInt8], name: String) throws(InputError) -> Snapshot {
        let first = bytes.first { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }
        if first == UInt8(ascii: "{") {
            let snapshot = try DocumentFile.decodeJSON(
                Snapshot.self, bytes, name: name, schema: Snapshot.schemaID,
                version: Snapshot.currentVersion)
            try checkBounds(snapshot, name: name)
            return snapshot
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let dump: CPUIDDump
        do { dump = try CPUIDDump.parse(text) } catch {
            if case .unrecognizedFormat = error {
                throw InputError(
                    .badData,
                    "\(name): not a nestprobe snapshot (JSON), `cpuid -r` output or a libcpuid raw file "
                        + "(`cpuid_tool --save`): \(error)")
            }
            throw InputError(.badData, "\(name): \(error)")
        }
        let origin = Origin(
            kind: dump.format == .cpuidTool ? .cpuidTool : .libcpuidRaw,
            detail: "\(name), \(dump.logicalCPUs) logical CPU(s)")
        let missing = "a CPUID dump (\(dump.format.rawValue)) carries CPUID only"
        var snapshot = Snapshot(capturedAt: nil, origin: origin, cpuid: .available(dump.leaves))
        snapshot.msrs = .unavailable(.notCaptured, missing)
        snapshot.kvm = .unavailable(.notCaptured, missing)
        snapshot.kernelLog = .unavailable(.notCaptured, missing)
        snapshot.hostTiming = .unavailable(.notCaptured, missing)
        snapshot.process = .unavailable(.notCaptured, missing)
        snapshot.devices["/dev/kvm"] = .unavailable(.notCaptured, missing)
        snapshot.directories["/sys/class/dmi/id"] = .unavailable(.notCaptured, missing)
        return snapshot
    }
}
