// Tests of SystemReader and MSRReader against the sysroot fixture tree and files made at test time.
//
// Fixtures/sysroot is a small Intel KVM host as the probe sees it: /proc/cmdline, the kernel release,
// kvm_intel's parameters (nested, ept, enable_shadow_vmcs), two DMI strings, /.dockerenv, an
// /etc/group with a kvm line and a one-record /dev/kmsg. It holds regular files only (git keeps no
// device nodes), and no /dev/kvm or /dev/cpu, so those read as absent.

import Foundation
import KVM
import Testing

@testable import Probe

/// The sysroot fixture tree, copied into the test bundle's resources.
enum SysrootFixture {
    /// The folder to use as a SystemReader root.
    static var root: String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/sysroot").path
    }

    static var reader: SystemReader { SystemReader(root: root) }
}

/// A temporary folder for files a test makes at run time; call `remove()` in a `defer`.
struct ScratchFolder {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nestprobe-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    /// The absolute path of `relative` inside the folder.
    func path(_ relative: String) -> String { path + "/" + relative }

    /// Writes `bytes` to `relative`, making the folders above it; returns the absolute path.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8], permissions: Int = 0o644) throws -> String {
        let target = path(relative)
        let folder = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: target, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: target)
        return target
    }

    /// Writes UTF-8 `text` to `relative`; returns the absolute path.
    @discardableResult
    func write(_ relative: String, text: String, permissions: Int = 0o644) throws -> String {
        try write(relative, Array(text.utf8), permissions: permissions)
    }

    /// Makes the folder `relative` (and those above it); returns the absolute path.
    @discardableResult
    func makeFolder(_ relative: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
        return path(relative)
    }

    /// The names in the folder (or in `relative` below it), sorted, hidden ones included.
    func names(_ relative: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: relative.isEmpty ? path : path(relative)).sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

@Suite("SystemReader: reading files of the sysroot fixture")
struct SystemReaderFileTests {
    let reader = SysrootFixture.reader

    @Test("readText returns a file's whole text")
    func readsText() {
        #expect(reader.readText("/proc/sys/kernel/osrelease") == .available("6.8.0-45-generic\n"))
        #expect(reader.readText("/sys/module/kvm_intel/parameters/nested") == .available("Y\n"))
        #expect(reader.readText("/sys/class/dmi/id/sys_vendor") == .available("Dell Inc.\n"))
    }

    @Test("an empty file is available and empty, not missing")
    func emptyFile() {
        #expect(reader.readText("/.dockerenv") == .available(""))
    }

    @Test("a missing file is absent; the detail names the machine path and ENOENT")
    func missingFile() throws {
        let missing = try #require(reader.readText("/proc/sys/kernel/no_such_file").missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("ENOENT"))
        #expect(missing.detail.contains("open /proc/sys/kernel/no_such_file"))
        #expect(!missing.detail.contains(SysrootFixture.root), "the detail shows the path on the machine")
    }

    @Test("a path through a regular file (ENOTDIR) is absent")
    func pathThroughAFile() throws {
        let missing = try #require(reader.readText("/proc/cmdline/extra").missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("ENOTDIR"))
    }

    @Test("a directory read as a file is unavailable (EISDIR), not a crash")
    func directoryAsFile() throws {
        let missing = try #require(reader.readText("/sys/module/kvm_intel/parameters").missing)
        #expect(missing.reason == .failed)
        #expect(missing.detail.contains("EISDIR"))
    }

    @Test("a file over the limit is cut and says so; one under it is not")
    func limitCutMarker() {
        #expect(reader.readText("/proc/sys/kernel/osrelease", limit: 5) == .available("6.8.0\n[cut at 5 bytes]"))
        #expect(reader.readText("/proc/sys/kernel/osrelease", limit: 100) == .available("6.8.0-45-generic\n"))
    }

    @Test("a file of exactly `limit` bytes is whole, so it carries no cut marker")
    func limitExactlyFileSize() {
        #expect(reader.readText("/proc/sys/kernel/osrelease", limit: 17) == .available("6.8.0-45-generic\n"))
    }

    @Test("readBytes(limit:) reads past its 16 KiB chunk and stops at the limit")
    func readBytesAcrossChunks() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let content = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        try scratch.write("big", content)
        let reader = SystemReader(root: scratch.path)
        #expect(reader.readBytes("/big", limit: 100_000) == .available(content))
        #expect(reader.readBytes("/big", limit: 20_000) == .available(Array(content.prefix(20_000))))
        #expect(reader.readBytes("/big", limit: 40_000) == .available(content))
    }

    @Test("readBytes(at:count:) reads at an offset")
    func positionedRead() {
        // "6.8.0-45-generic\n": bytes 6 and 7 are "45".
        #expect(reader.readBytes("/proc/sys/kernel/osrelease", at: 6, count: 2) == .available(Array("45".utf8)))
    }

    @Test("readBytes(at:count:) short of `count` bytes is failed, with the counts in the detail")
    func shortPositionedRead() throws {
        let short = try #require(reader.readBytes("/proc/sys/kernel/osrelease", at: 0, count: 64).missing)
        #expect(short.reason == .failed)
        #expect(short.detail == "short read of /proc/sys/kernel/osrelease: 17 of 64 bytes")
        let pastEnd = try #require(reader.readBytes("/proc/sys/kernel/osrelease", at: 4096, count: 8).missing)
        #expect(pastEnd.reason == .failed)
        #expect(pastEnd.detail.contains("0 of 8 bytes"))
    }

    @Test("readBytes(at:count:) of a missing file is absent")
    func positionedReadOfMissingFile() {
        #expect(reader.readBytes("/dev/cpu/0/msr", at: 0x3A, count: 8).missing?.reason == .absent)
    }

    @Test("exists follows files, folders and empty files, and is false for what is not there")
    func exists() {
        #expect(reader.exists("/.dockerenv"))
        #expect(reader.exists("/sys/module/kvm_intel"))
        #expect(!reader.exists("/dev/kvm"))
        #expect(!reader.exists("/run/.containerenv"))
    }

    @Test("a regular file read as records comes back as one record (the fixture is not a record device)")
    func recordsFromARegularFile() throws {
        let records = try #require(reader.readRecords("/dev/kmsg").value)
        #expect(records.count == 1)
        #expect(records.first?.hasPrefix("6,1204,5123456,-;kvm: nested virtualization is enabled\n") == true)
        #expect(reader.readRecords("/dev/no_such_device").missing?.reason == .absent)
    }
}

@Suite("SystemReader: listing folders")
struct SystemReaderListTests {
    let reader = SysrootFixture.reader

    @Test("list is sorted, keeps hidden names and drops . and ..")
    func listRoot() {
        #expect(reader.list("/") == .available([".dockerenv", "dev", "etc", "proc", "sys"]))
        #expect(
            reader.list("/sys/module/kvm_intel/parameters") == .available(["enable_shadow_vmcs", "ept", "nested"]))
    }

    @Test("list of a missing folder is absent, with ENOENT")
    func listMissingFolder() throws {
        let missing = try #require(reader.list("/sys/bus/vmbus/devices").missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("ENOENT"))
        #expect(missing.detail.contains("opendir /sys/bus/vmbus/devices"))
    }

    @Test("list of a regular file is absent (ENOTDIR)")
    func listAFile() throws {
        let missing = try #require(reader.list("/proc/cmdline").missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("ENOTDIR"))
    }

    @Test("list of an empty folder is an empty list")
    func listEmptyFolder() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.makeFolder("sys/hypervisor")
        #expect(SystemReader(root: scratch.path).list("/sys/hypervisor") == .available([]))
    }
}

@Suite("SystemReader: device nodes, groups and errno")
struct SystemReaderDeviceTests {
    @Test("groupName finds a gid in /etc/group below the root")
    func groupNames() {
        let reader = SysrootFixture.reader
        #expect(reader.groupName(993) == "kvm")
        #expect(reader.groupName(0) == "root")
        #expect(reader.groupName(4242) == nil)
        #expect(SystemReader(root: "/nonexistent-nestprobe-root").groupName(0) == nil)
    }

    @Test("deviceNode of a missing /dev/kvm is absent with ENOENT")
    func missingDeviceNode() throws {
        let missing = try #require(SysrootFixture.reader.deviceNode("/dev/kvm").missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("stat /dev/kvm"))
        #expect(missing.detail.contains("ENOENT"))
    }

    @Test("deviceNode reports mode, owner and group name (a regular file stands in for the node)")
    func deviceNodeFields() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let node = try scratch.write("dev/kvm", [], permissions: 0o660)
        let attributes = try FileManager.default.attributesOfItem(atPath: node)
        let gid = try #require((attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value)
        try scratch.write("etc/group", text: "root:x:0:\nwheel:x:10:\nkvm:x:\(gid):alice\n")
        let reader = SystemReader(root: scratch.path)
        let device = try #require(reader.deviceNode("/dev/kvm").value)
        #expect(device.mode == "0660")
        #expect(device.ownerUID == geteuid())
        #expect(device.groupGID == gid)
        #expect(device.groupName == (gid == 0 ? "root" : gid == 10 ? "wheel" : "kvm"))
        #expect(device.openError == nil, "the owner may open a 0660 file read-write")
        #expect(device.openErrorDetail == nil)
    }

    @Test("deviceNode writes the mode as four octal digits, as documented (\"0660\")")
    func modeDigits() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.write("dev/none", [], permissions: 0)
        try scratch.write("dev/others", [], permissions: 0o066)
        try scratch.write("dev/setgid", [], permissions: 0o2755)
        let reader = SystemReader(root: scratch.path)
        #expect(reader.deviceNode("/dev/setgid").value?.mode == "02755")
        #expect(reader.deviceNode("/dev/none").value?.mode == "0000")
        #expect(reader.deviceNode("/dev/others").value?.mode == "0066")
    }

    @Test(
        "a file with mode 000 is permission-denied, with EACCES",
        .enabled(if: geteuid() != 0, "root bypasses file modes"))
    func permissionDenied() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try scratch.write("proc/locked", text: "secret\n", permissions: 0)
        let reader = SystemReader(root: scratch.path)
        let missing = try #require(reader.readText("/proc/locked").missing)
        #expect(missing.reason == .permissionDenied)
        #expect(missing.detail.contains("EACCES"))
        let device = try #require(reader.deviceNode("/proc/locked").value)
        #expect(device.openError == .permissionDenied)
        #expect(device.openErrorDetail?.contains("EACCES") == true)
    }

    @Test(
        "errno maps to a reason",
        arguments: [
            (ENOENT, UnavailableReason.absent), (ENXIO, .absent), (ENODEV, .absent), (ENOTDIR, .absent),
            (EPERM, .permissionDenied), (EACCES, .permissionDenied), (EIO, .unsupported), (EINVAL, .unsupported),
            (ENOTTY, .unsupported), (EOPNOTSUPP, .unsupported), (EISDIR, .failed), (EBUSY, .failed),
            (EAGAIN, .failed),
        ])
    func errnoReasons(code: Int32, reason: UnavailableReason) {
        #expect(UnavailableReason(errno: code) == reason)
    }

    @Test("describe gives the errno name and the strerror text")
    func describeErrno() {
        #expect(Errno(ENOENT).description == "ENOENT (No such file or directory)")
        #expect(Errno(EACCES).description.hasPrefix("EACCES ("))
        #expect(Errno(4242).name == "errno 4242")
        let failure: Fact<Int> = SystemReader.failure(EIO, "pread /dev/cpu/0/msr")
        #expect(failure.missing?.reason == .unsupported)
        #expect(failure.missing?.detail.hasPrefix("pread /dev/cpu/0/msr: EIO (") == true)
    }
}

@Suite("MSRReader on a fake /dev/cpu/0/msr")
struct MSRReaderTests {
    /// IA32_FEATURE_CONTROL: lock (bit 0) and VMX outside SMX (bit 2).
    static let featureControl: UInt64 = 0x5
    /// IA32_VMX_BASIC as an Ice Lake server reports it: revision 4, VMCS size 0x400, memory type WB.
    static let vmxBasic: UInt64 = 0x00DA_0400_0000_0004

    /// A temporary root whose dev/cpu/0/msr is a sparse regular file holding two MSRs at their offsets.
    static func fakeDevice() throws -> ScratchFolder {
        let scratch = try ScratchFolder()
        let path = try scratch.write("dev/cpu/0/msr", [])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        for (offset, value) in [(UInt64(0x3A), featureControl), (0x480, vmxBasic)] {
            try handle.seek(toOffset: offset)
            try handle.write(contentsOf: Data((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }))
        }
        // Offsets up to 0x1000 hold zeros; the AMD and EFER offsets (0xC000_0000 and up) lie past the end.
        try handle.truncate(atOffset: 0x1000)
        return scratch
    }

    @Test("values decode little-endian at the MSR index as offset")
    func decodesValues() throws {
        let scratch = try Self.fakeDevice()
        defer { scratch.remove() }
        let msr = MSRReader(reader: SystemReader(root: scratch.path))
        #expect(msr.devicePath == "/dev/cpu/0/msr")
        #expect(msr.read(0x3A) == .available(UInt64Hex(Self.featureControl)))
        #expect(msr.read(0x480) == .available(UInt64Hex(Self.vmxBasic)))
        #expect(msr.read(0x48C) == .available(0), "a hole in the sparse file reads as zeros")
    }

    @Test("an index past the end of the file is a failed short read, not a crash")
    func indexPastTheEnd() throws {
        let scratch = try Self.fakeDevice()
        defer { scratch.remove() }
        let value = MSRReader(reader: SystemReader(root: scratch.path)).read(0xC000_0080)
        let missing = try #require(value.missing)
        #expect(missing.reason == .failed)
        #expect(missing.detail.contains("short read"))
        #expect(missing.detail.contains("0 of 8 bytes"))
    }

    @Test("readCatalogue reads the vendor's MSRs and EFER, keeping each failure as that MSR's value")
    func catalogue() throws {
        let scratch = try Self.fakeDevice()
        defer { scratch.remove() }
        let msr = MSRReader(reader: SystemReader(root: scratch.path))
        let intel = try #require(msr.readCatalogue(vendor: .intel).value)
        #expect(intel.count == 11)
        #expect(intel.map(\.index).contains(0xC001_0114) == false)
        #expect(intel.first { $0.name == "IA32_FEATURE_CONTROL" }?.value == .available(UInt64Hex(Self.featureControl)))
        #expect(intel.first { $0.name == "IA32_VMX_BASIC" }?.value == .available(UInt64Hex(Self.vmxBasic)))
        #expect(intel.first { $0.name == "EFER" }?.value.missing?.reason == .failed)
        #expect(intel.allSatisfy { $0.cpu == 0 })
        let amd = try #require(msr.readCatalogue(vendor: .amd).value)
        #expect(amd.map(\.name) == ["EFER", "VM_CR", "VM_HSAVE_PA"])
        #expect(try #require(msr.readCatalogue(vendor: .any).value).count == MSRDefinition.catalogue.count)
    }

    @Test("a missing msr device is absent, saying nestprobe never loads the driver")
    func missingDevice() throws {
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        let msr = MSRReader(reader: SystemReader(root: scratch.path), cpu: 3)
        let missing = try #require(msr.readCatalogue(vendor: .intel).missing)
        #expect(missing.reason == .absent)
        #expect(missing.detail.contains("/dev/cpu/3/msr does not exist"))
        #expect(missing.detail.contains("never loads it"))
        #expect(msr.read(0x3A).missing?.reason == .absent)
    }

    @Test(
        "an unreadable msr device is permission-denied as a whole, saying what is needed",
        .enabled(if: geteuid() != 0, "root bypasses file modes"))
    func unreadableDevice() throws {
        let scratch = try Self.fakeDevice()
        defer { scratch.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: scratch.path("dev/cpu/0/msr"))
        let missing = try #require(
            MSRReader(reader: SystemReader(root: scratch.path)).readCatalogue(vendor: .intel).missing)
        #expect(missing.reason == .permissionDenied)
        #expect(missing.detail.contains("CAP_SYS_RAWIO"))
    }
}
