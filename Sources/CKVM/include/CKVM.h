// CKVM: the C facts Swift cannot express by itself, and nothing else.
//
// - ioctl request numbers: <linux/kvm.h> builds them with the _IO* function-like macros, which Swift
//   does not import, so each one is re-exported here as a constant.
// - ioctl wrappers: glibc's ioctl() is variadic and Swift cannot call variadic C functions.
// - cpuid / rdtsc / rdtscp: single instructions, as static inline functions.
// - compile-time checks that the kernel structs have the layout this code was written against.
#ifndef CKVM_H
#define CKVM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

// MARK: system ioctls (on the /dev/kvm descriptor)
static const unsigned long CKVM_GET_API_VERSION = KVM_GET_API_VERSION;
static const unsigned long CKVM_CREATE_VM = KVM_CREATE_VM;
static const unsigned long CKVM_CHECK_EXTENSION = KVM_CHECK_EXTENSION;
static const unsigned long CKVM_GET_VCPU_MMAP_SIZE = KVM_GET_VCPU_MMAP_SIZE;
static const unsigned long CKVM_GET_SUPPORTED_CPUID = KVM_GET_SUPPORTED_CPUID;
static const unsigned long CKVM_GET_MSR_INDEX_LIST = KVM_GET_MSR_INDEX_LIST;
static const unsigned long CKVM_GET_MSR_FEATURE_INDEX_LIST = KVM_GET_MSR_FEATURE_INDEX_LIST;
static const unsigned long CKVM_GET_MSRS = KVM_GET_MSRS;  // system fd: feature MSRs; vCPU fd: guest MSRs

// MARK: VM ioctls
static const unsigned long CKVM_CREATE_VCPU = KVM_CREATE_VCPU;
static const unsigned long CKVM_SET_USER_MEMORY_REGION = KVM_SET_USER_MEMORY_REGION;
static const unsigned long CKVM_SET_TSS_ADDR = KVM_SET_TSS_ADDR;
static const unsigned long CKVM_SET_IDENTITY_MAP_ADDR = KVM_SET_IDENTITY_MAP_ADDR;
static const unsigned long CKVM_CREATE_IRQCHIP = KVM_CREATE_IRQCHIP;
static const unsigned long CKVM_CREATE_PIT2 = KVM_CREATE_PIT2;
static const unsigned long CKVM_ENABLE_CAP = KVM_ENABLE_CAP;
static const unsigned long CKVM_X86_SET_MSR_FILTER = KVM_X86_SET_MSR_FILTER;
static const unsigned long CKVM_IOEVENTFD = KVM_IOEVENTFD;

// MARK: vCPU ioctls
static const unsigned long CKVM_RUN = KVM_RUN;
static const unsigned long CKVM_GET_REGS = KVM_GET_REGS;
static const unsigned long CKVM_SET_REGS = KVM_SET_REGS;
static const unsigned long CKVM_GET_SREGS = KVM_GET_SREGS;
static const unsigned long CKVM_SET_SREGS = KVM_SET_SREGS;
static const unsigned long CKVM_SET_CPUID2 = KVM_SET_CPUID2;
static const unsigned long CKVM_GET_CPUID2 = KVM_GET_CPUID2;
static const unsigned long CKVM_SET_MSRS = KVM_SET_MSRS;
static const unsigned long CKVM_GET_TSC_KHZ = KVM_GET_TSC_KHZ;
static const unsigned long CKVM_SET_SIGNAL_MASK = KVM_SET_SIGNAL_MASK;
static const unsigned long CKVM_GET_VCPU_EVENTS = KVM_GET_VCPU_EVENTS;

// MARK: capability numbers newer than some distributions' headers (values from the kernel's uapi)
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_X86_NOTIFY_VMEXIT
#define KVM_CAP_X86_NOTIFY_VMEXIT 219
#endif
#ifndef KVM_CAP_X86_TRIPLE_FAULT_EVENT
#define KVM_CAP_X86_TRIPLE_FAULT_EVENT 218
#endif

// MARK: ioctl wrappers (glibc's ioctl is variadic)
/// ioctl with a pointer argument; returns what ioctl returns, errno set on -1.
static inline int ckvm_ioctl_ptr(int fd, unsigned long request, void *argument) {
    return ioctl(fd, request, argument);
}

/// ioctl with an integer argument (KVM_CHECK_EXTENSION, KVM_CREATE_VCPU, KVM_SET_TSS_ADDR, ...).
static inline int ckvm_ioctl_int(int fd, unsigned long request, unsigned long argument) {
    return ioctl(fd, request, argument);
}

// MARK: instructions
/// The four registers one CPUID leaf returns.
typedef struct {
    uint32_t eax, ebx, ecx, edx;
} ckvm_cpuid_regs;

/// Executes CPUID with EAX = leaf and ECX = subleaf.
static inline ckvm_cpuid_regs ckvm_cpuid(uint32_t leaf, uint32_t subleaf) {
    ckvm_cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

/// Start of a timed region: LFENCE keeps earlier instructions from drifting in, and the LFENCE after
/// RDTSC keeps the timed instruction from starting before the counter is read (Intel SDM vol. 2B, RDTSC).
static inline uint64_t ckvm_tsc_begin(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/// End of a timed region: RDTSCP waits for earlier instructions to finish; the LFENCE keeps later
/// ones from starting before the counter is read.
static inline uint64_t ckvm_tsc_end(void) {
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/// Cycles for one CPUID (leaf, subleaf) between fenced TSC reads, fence overhead included.
static inline uint64_t ckvm_time_cpuid(uint32_t leaf, uint32_t subleaf) {
    uint64_t start = ckvm_tsc_begin();
    ckvm_cpuid_regs r = ckvm_cpuid(leaf, subleaf);
    uint64_t end = ckvm_tsc_end();
    __asm__ volatile("" ::"r"(r.eax), "r"(r.ebx), "r"(r.ecx), "r"(r.edx));
    return end - start;
}

/// Cycles between two fenced TSC reads with nothing in between: the overhead to subtract.
static inline uint64_t ckvm_time_empty(void) {
    uint64_t start = ckvm_tsc_begin();
    uint64_t end = ckvm_tsc_end();
    return end - start;
}

// MARK: layout checks against the uapi this was written for (Documentation/virt/kvm/api.rst)
_Static_assert(sizeof(struct kvm_regs) == 144, "struct kvm_regs layout changed");
_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "struct kvm_cpuid_entry2 layout changed");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "struct kvm_msr_entry layout changed");
_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region changed");
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "struct kvm_run header changed");

#endif
