// CKVM: the C facts Swift cannot express by itself, and nothing else.
//
// - ioctl request numbers: <linux/kvm.h> builds them with the _IO* function-like macros, which Swift
//   does not import, so each one is re-exported here as a constant.
// - ioctl wrappers: glibc's ioctl() is variadic and Swift cannot call variadic C functions.
// - cpuid / rdtsc / rdtscp: single instructions, as static inline functions.
// - compile-time checks that the kernel structs have the layout this code was written against.
#ifndef CKVM_H
#define CKVM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sched_getcpu, CPU_SET
#endif
#include <sched.h>

#include <stdint.h>
#include <stddef.h>
#include <signal.h>
#include <sys/eventfd.h>
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
/// kvm_ioeventfd.flags: the address is a port (an enum-built macro Swift does not import).
static const uint32_t CKVM_IOEVENTFD_FLAG_PIO = KVM_IOEVENTFD_FLAG_PIO;

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
static const unsigned long CKVM_GET_MP_STATE = KVM_GET_MP_STATE;
static const unsigned long CKVM_SET_MP_STATE = KVM_SET_MP_STATE;

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

/// LFENCEs in the chain ckvm_time_lfence_chain times.
#define CKVM_LFENCE_CHAIN 16

/// Cycles for a chain of CKVM_LFENCE_CHAIN LFENCEs between fenced TSC reads, fence overhead included: a
/// sequence that waits for every earlier instruction like CPUID does but never traps, timed on the same counter,
/// so CPUID's cost can be given as a ratio that a scaled, offset or trapped TSC does not change (issue 16).
static inline uint64_t ckvm_time_lfence_chain(void) {
    uint64_t start = ckvm_tsc_begin();
    __asm__ volatile(".rept 16\n\tlfence\n\t.endr" ::: "memory");
    uint64_t end = ckvm_tsc_end();
    return end - start;
}

// MARK: thread placement (CPU_SET and friends are macros Swift cannot import)
/// An opaque copy of a thread's CPU affinity mask.
typedef struct {
    cpu_set_t set;
} ckvm_cpu_mask;

/// The CPU the calling thread runs on now, or -1.
static inline int ckvm_current_cpu(void) { return sched_getcpu(); }

/// Saves the calling thread's affinity; 0 on success, -1 with errno.
static inline int ckvm_save_affinity(ckvm_cpu_mask *mask) {
    return sched_getaffinity(0, sizeof(mask->set), &mask->set);
}

/// Restores an affinity saved by ckvm_save_affinity; 0 on success, -1 with errno.
static inline int ckvm_restore_affinity(const ckvm_cpu_mask *mask) {
    return sched_setaffinity(0, sizeof(mask->set), &mask->set);
}

/// Pins the calling thread to one CPU; 0 on success, -1 with errno.
static inline int ckvm_pin_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

/// Lets the calling thread run on any CPU but `cpu` (the kernel keeps it within its cpuset); 0 on success,
/// -1 with errno (EINVAL: no other CPU is allowed).
static inline int ckvm_pin_thread_except(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int other = 0; other < CPU_SETSIZE; other++) {
        if (other != cpu) CPU_SET(other, &set);
    }
    return sched_setaffinity(0, sizeof(set), &set);
}

// MARK: layout checks against the uapi this was written for (Documentation/virt/kvm/api.rst)
_Static_assert(sizeof(struct kvm_regs) == 144, "struct kvm_regs layout changed");
_Static_assert(sizeof(struct kvm_mp_state) == 4, "struct kvm_mp_state layout changed");
_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "struct kvm_cpuid_entry2 layout changed");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "struct kvm_msr_entry layout changed");
_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region changed");
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "struct kvm_run header changed");

// MARK: for the KVM module: flexible arrays, kvm_run.immediate_exit, the vCPU kick signal

/// Offsets of the flexible arrays that follow a count in kvm_cpuid2, kvm_msrs and kvm_msr_list: Swift does
/// not import zero-length array members, so the KVM module places the elements at these byte offsets.
static const size_t CKVM_CPUID2_ENTRIES_OFFSET = offsetof(struct kvm_cpuid2, entries);
static const size_t CKVM_MSRS_ENTRIES_OFFSET = offsetof(struct kvm_msrs, entries);
static const size_t CKVM_MSR_LIST_INDICES_OFFSET = offsetof(struct kvm_msr_list, indices);
static const size_t CKVM_SIGNAL_MASK_SIGSET_OFFSET = offsetof(struct kvm_signal_mask, sigset);

/// Sets kvm_run.immediate_exit atomically. A watchdog thread writes it while the vCPU thread may be reading
/// it (and KVM reads it on entry to KVM_RUN); Swift has no atomic view of one byte inside a C struct.
static inline void ckvm_run_store_immediate_exit(struct kvm_run *run, uint8_t value) {
    __atomic_store_n(&run->immediate_exit, value, __ATOMIC_SEQ_CST);
}

/// Reads kvm_run.immediate_exit atomically (see ckvm_run_store_immediate_exit).
static inline uint8_t ckvm_run_load_immediate_exit(const struct kvm_run *run) {
    return __atomic_load_n(&run->immediate_exit, __ATOMIC_SEQ_CST);
}

/// SIGRTMIN: glibc defines it as a macro that calls a function, which Swift does not import.
static inline int ckvm_sigrtmin(void) {
    return SIGRTMIN;
}

_Static_assert(sizeof(struct kvm_sregs) == 312, "struct kvm_sregs layout changed");
_Static_assert(sizeof(struct kvm_segment) == 24, "struct kvm_segment layout changed");
_Static_assert(offsetof(struct kvm_run, immediate_exit) == 1, "struct kvm_run header changed");
_Static_assert(offsetof(struct kvm_run, io) == 32, "struct kvm_run exit union moved");
_Static_assert(offsetof(struct kvm_cpuid2, entries) == 8, "struct kvm_cpuid2 layout changed");
_Static_assert(offsetof(struct kvm_msrs, entries) == 8, "struct kvm_msrs layout changed");
_Static_assert(offsetof(struct kvm_msr_list, indices) == 4, "struct kvm_msr_list layout changed");

#endif
