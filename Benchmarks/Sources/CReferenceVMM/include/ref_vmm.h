// CReferenceVMM: the least a VMM can do to run a guest that writes to an I/O port in a loop, in plain C.
//
// The run-loop benchmark times one KVM_RUN round trip through this code and through nestprobe's KVM
// module, on the same guest bytes, so the difference is what the Swift layer adds.
#ifndef REF_VMM_H
#define REF_VMM_H

#include <stddef.h>
#include <stdint.h>

/// One VM with one vCPU and one memory slot, and the kvm_run mapping of that vCPU.
typedef struct ref_vmm ref_vmm;

/// What ref_vmm_open did not manage, as a step name and an errno.
typedef struct {
    const char *step;  // the ioctl or call that failed ("open /dev/kvm", "KVM_CREATE_VM", ...)
    int error;         // its errno (or EPROTO for an unexpected KVM API version)
} ref_vmm_failure;

/// Opens `device_path` (/dev/kvm), makes a VM with `memory_size` bytes of RAM at guest physical 0, copies
/// `code` to `code_address`, and makes vCPU 0 in real mode with CS:IP = 0000:code_address and SP = 0x8000.
/// Returns the handle, or NULL with `*failure` filled in.
ref_vmm *ref_vmm_open(const char *device_path, size_t memory_size, const uint8_t *code, size_t code_size,
                      uint64_t code_address, ref_vmm_failure *failure);

/// KVM_SET_SIGNAL_MASK as nestprobe's KVM module sets it on every vCPU: while in KVM_RUN, block what the
/// calling thread blocks now, except `unblocked_signal` (its stop signal, SIGRTMIN). Not part of the minimal
/// loop: a variant of it, to tell the kernel's cost of a signal mask (swapped on each KVM_RUN entry and exit)
/// apart from the Swift layer's own. Returns 0, or -errno.
int ref_vmm_set_signal_mask(ref_vmm *vmm, int unblocked_signal);

/// One KVM_RUN. Returns the exit reason (KVM_EXIT_*), or -errno when KVM_RUN fails.
int ref_vmm_run_once(ref_vmm *vmm);

/// Added to the exit reason when ref_vmm_run_expecting_out sees another exit than the one it expects.
#define REF_VMM_UNEXPECTED_EXIT 0x10000

/// One KVM_RUN that must end in `out` of one byte to `port`: returns 0 when it did,
/// REF_VMM_UNEXPECTED_EXIT + the exit reason when the vCPU exited otherwise (another port included), or
/// -errno when KVM_RUN failed.
int ref_vmm_run_expecting_out(ref_vmm *vmm, uint16_t port);

/// Unmaps and closes everything the handle owns, and frees it. NULL is allowed.
void ref_vmm_close(ref_vmm *vmm);

#endif
