// A minimal VMM, as in the LWN article "Using the KVM API": open /dev/kvm, one VM, one memory slot, one
// vCPU in real mode, then KVM_RUN. The same steps nestprobe's KVM module takes for its real-mode guests, with
// nothing on top: no signal mask, no stop handle, no decoding beyond the checks the benchmark needs.
#include "ref_vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

struct ref_vmm {
    int kvm_fd;
    int vm_fd;
    int vcpu_fd;
    uint8_t *memory;
    size_t memory_size;
    struct kvm_run *run;
    size_t run_size;
};

/// Records the failed step and its errno, releases what was made so far, and returns NULL.
static ref_vmm *fail(ref_vmm *vmm, ref_vmm_failure *failure, const char *step, int error) {
    if (failure) {
        failure->step = step;
        failure->error = error;
    }
    ref_vmm_close(vmm);
    return NULL;
}

ref_vmm *ref_vmm_open(const char *device_path, size_t memory_size, const uint8_t *code, size_t code_size,
                      uint64_t code_address, ref_vmm_failure *failure) {
    ref_vmm *vmm = calloc(1, sizeof(*vmm));
    if (!vmm) return fail(NULL, failure, "calloc", ENOMEM);
    vmm->kvm_fd = vmm->vm_fd = vmm->vcpu_fd = -1;
    vmm->memory = MAP_FAILED;
    vmm->run = MAP_FAILED;

    vmm->kvm_fd = open(device_path, O_RDWR | O_CLOEXEC);
    if (vmm->kvm_fd < 0) return fail(vmm, failure, "open /dev/kvm", errno);
    int version = ioctl(vmm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) return fail(vmm, failure, "KVM_GET_API_VERSION", version < 0 ? errno : EPROTO);

    vmm->vm_fd = ioctl(vmm->kvm_fd, KVM_CREATE_VM, 0);
    if (vmm->vm_fd < 0) return fail(vmm, failure, "KVM_CREATE_VM", errno);
    // Intel hosts without unrestricted guest run real mode through a TSS; harmless elsewhere.
    if (ioctl(vmm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0
        && ioctl(vmm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
        return fail(vmm, failure, "KVM_SET_TSS_ADDR", errno);

    if (code_address + code_size > memory_size) return fail(vmm, failure, "code placement", EINVAL);
    vmm->memory_size = memory_size;
    vmm->memory = mmap(NULL, memory_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vmm->memory == MAP_FAILED) return fail(vmm, failure, "mmap guest memory", errno);
    memcpy(vmm->memory + code_address, code, code_size);
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = memory_size,
        .userspace_addr = (uint64_t)(uintptr_t)vmm->memory,
    };
    if (ioctl(vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return fail(vmm, failure, "KVM_SET_USER_MEMORY_REGION", errno);

    vmm->vcpu_fd = ioctl(vmm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vmm->vcpu_fd < 0) return fail(vmm, failure, "KVM_CREATE_VCPU", errno);
    int run_size = ioctl(vmm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run)) return fail(vmm, failure, "KVM_GET_VCPU_MMAP_SIZE", errno);
    vmm->run_size = (size_t)run_size;
    vmm->run = mmap(NULL, vmm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vmm->vcpu_fd, 0);
    if (vmm->run == MAP_FAILED) return fail(vmm, failure, "mmap kvm_run", errno);

    // From the reset state, only move CS from F000:FFF0 to 0000 (as the LWN guest, and nestprobe's).
    struct kvm_sregs sregs;
    if (ioctl(vmm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return fail(vmm, failure, "KVM_GET_SREGS", errno);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vmm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0) return fail(vmm, failure, "KVM_SET_SREGS", errno);
    struct kvm_regs regs = {.rip = code_address, .rsp = 0x8000, .rflags = 0x2};
    if (ioctl(vmm->vcpu_fd, KVM_SET_REGS, &regs) < 0) return fail(vmm, failure, "KVM_SET_REGS", errno);
    return vmm;
}

int ref_vmm_set_signal_mask(ref_vmm *vmm, int unblocked_signal) {
    sigset_t blocked;
    if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0) return -EINVAL;
    sigdelset(&blocked, unblocked_signal);
    // The kernel's sigset on x86-64 is 8 bytes, the first word of glibc's sigset_t.
    _Alignas(struct kvm_signal_mask) uint8_t buffer[sizeof(struct kvm_signal_mask) + 8];
    struct kvm_signal_mask *mask = (struct kvm_signal_mask *)buffer;
    mask->len = 8;
    memcpy(mask->sigset, &blocked, 8);
    return ioctl(vmm->vcpu_fd, KVM_SET_SIGNAL_MASK, mask) < 0 ? -errno : 0;
}

int ref_vmm_run_once(ref_vmm *vmm) {
    if (ioctl(vmm->vcpu_fd, KVM_RUN, 0) < 0) return -errno;
    return (int)vmm->run->exit_reason;
}

int ref_vmm_run_expecting_out(ref_vmm *vmm, uint16_t port) {
    int reason = ref_vmm_run_once(vmm);
    if (reason < 0) return reason;
    const struct kvm_run *run = vmm->run;
    if (reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT && run->io.port == port
        && run->io.size == 1 && run->io.count == 1)
        return 0;
    return REF_VMM_UNEXPECTED_EXIT + reason;
}

void ref_vmm_close(ref_vmm *vmm) {
    if (!vmm) return;
    if (vmm->run != MAP_FAILED) munmap(vmm->run, vmm->run_size);
    if (vmm->vcpu_fd >= 0) close(vmm->vcpu_fd);
    if (vmm->vm_fd >= 0) close(vmm->vm_fd);
    if (vmm->memory != MAP_FAILED) munmap(vmm->memory, vmm->memory_size);
    if (vmm->kvm_fd >= 0) close(vmm->kvm_fd);
    free(vmm);
}
