// Error paths that need no KVM: descriptors that are not KVM, paths that do not exist, and the messages
// KVMError gives the user.

import CKVM
import Glibc
import Testing

@testable import KVM

@Suite("KVM error paths without KVM")
struct KVMErrorTests {
    @Test("an invalid descriptor fails KVM_GET_API_VERSION with EBADF")
    func invalidDescriptor() {
        let device = KVMDevice(adoptingDescriptor: -1)
        #expect(throws: KVMError(operation: "KVM_GET_API_VERSION", errno: EBADF)) {
            try device.apiVersion()
        }
    }

    @Test("a descriptor of /dev/null fails every KVM ioctl with ENOTTY")
    func notKVM() throws {
        let descriptor = try Syscall.open("/dev/null", flags: O_RDWR)
        let device = KVMDevice(adoptingDescriptor: descriptor)
        #expect(throws: KVMError(operation: "KVM_GET_API_VERSION", errno: ENOTTY)) { try device.apiVersion() }
        #expect(throws: KVMError(operation: "KVM_GET_VCPU_MMAP_SIZE", errno: ENOTTY)) { try device.vcpuMmapSize() }
        #expect(throws: KVMError(operation: "KVM_GET_SUPPORTED_CPUID", errno: ENOTTY)) {
            try device.supportedCPUID()
        }
        #expect(throws: KVMError(operation: "KVM_GET_MSR_INDEX_LIST", errno: ENOTTY)) { try device.msrIndexList() }
        #expect(throws: KVMError(operation: "KVM_GET_MSRS", errno: ENOTTY)) { try device.featureMSRs([0x10a]) }
        // createVM asks for the vCPU mmap size first, so that is the ioctl that fails.
        #expect(throws: KVMError(operation: "KVM_GET_VCPU_MMAP_SIZE", errno: ENOTTY)) { _ = try device.createVM() }
    }

    @Test("KVM_CHECK_EXTENSION on a descriptor that is not KVM reads as 0, not supported")
    func checkExtensionFallsBackToZero() {
        let device = KVMDevice(adoptingDescriptor: -1)
        for capability in KVMCapability.reported {
            #expect(device.checkExtension(capability) == 0, "\(capability)")
        }
    }

    @Test("opening a path that does not exist gives ENOENT and says which module to load")
    func missingDevice() {
        let path = "/nonexistent/nestprobe-kvm"
        let error = #expect(throws: KVMError.self) { _ = try KVMDevice(path: path) }
        #expect(error == KVMError(operation: "open", errno: ENOENT, path: path))
        #expect(error?.isDeviceMissing == true && error?.isPermissionDenied == false)
        #expect(
            error?.description
                == "\(path) does not exist: load kvm_intel, kvm_amd or kvm_pvm, or enable virtualization for this VM")
    }

    @Test("a missing /dev/kvm is described with the default path")
    func missingDefaultDevice() {
        let error = KVMError(operation: KVMError.openOperation, errno: ENOENT, path: "/dev/kvm")
        #expect(
            error.description
                == "/dev/kvm does not exist: load kvm_intel, kvm_amd or kvm_pvm, or enable virtualization for this VM")
    }

    @Test("permission errors on open tell the user to join the kvm group", arguments: [EACCES, EPERM])
    func permissionDenied(code: Int32) {
        let error = KVMError(operation: KVMError.openOperation, errno: code, path: "/dev/kvm")
        #expect(error.isPermissionDenied)
        #expect(!error.isDeviceMissing)
        #expect(error.description == "permission denied on /dev/kvm: add the user to the kvm group (or run as root)")
    }

    @Test("other errors name the operation, the C library's text and the errno")
    func genericDescription() {
        let error = KVMError(operation: "KVM_CREATE_VM", errno: EBADF)
        #expect(error.description == "KVM_CREATE_VM failed: EBADF (Bad file descriptor)")
        #expect(!error.isPermissionDenied && !error.isDeviceMissing)
        // EPERM from an ioctl is not about the device node.
        #expect(!KVMError(operation: "KVM_RUN", errno: EPERM).isPermissionDenied)
        #expect(KVMError(operation: "KVM_RUN", errno: 4095).description.contains("errno 4095 ("))
    }

    @Test("a vCPU mmap size that is not whole pages is refused before mmap")
    func badMappingSize() {
        #expect(throws: KVMError.self) { _ = try HostMapping(anonymousSize: 100) }
        #expect(throws: KVMError.self) { _ = try HostMapping(anonymousSize: 0) }
        #expect(throws: KVMError.self) { _ = try HostMapping(sharing: -1, size: Syscall.pageSize) }
    }

    @Test("retryingInterrupts retries EINTR and surfaces other errors")
    func retryLoop() {
        var calls = 0
        let result = try? Syscall.retryingInterrupts("test") {
            calls += 1
            if calls < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7)
        #expect(calls == 3)
        #expect(throws: KVMError(operation: "test", errno: EIO)) {
            try Syscall.retryingInterrupts("test") {
                errno = EIO
                return -1
            }
        }
    }
}
