// CGuestLoops.h: every timed loop of the three payloads, written once. Two X-macro lists name the loops —
// number (what the mailbox's LOOP word selects), name (what the Swift catalogue's rows say), and the four
// pieces of its body — and, for the .S files (__ASSEMBLER__), the scaffolding that turns a row into two timed
// copies, the dispatch that jumps to the selected copy, and the bodies themselves.
//
// A body is four GAS macros: \init once before the loop, then per iteration \prep (untimed), \body (timed)
// and \next (untimed, EAX holds the sample). Where the modes differ only in an operand, the body names the
// operand through a #define that each payload makes before it includes this file:
//   OPERAND_A, OPERAND_B  the mailbox's operands (real16: in memory; long64: R8D, R9D)
//   MMIO_TARGET           the MMIO address (real16: FS:0; long64: (R11))
//   TOUCH_TARGET          the first-touch address (real16: GS:0; long64: (R11))
//   CREG                  the control- and debug-register value's register (real16: EBX; long64: RBX)
//   TOUCH_NEXT            the step to the next fresh page (a macro of its own per mode)
// and the scaffolding's registers: TSC_START, SAMPLES_LEFT, PICK_REG, the macros WARMUP_TEST, WARMUP_DEC and
// STORE_SAMPLE, and LOOP_DONE, where a finished loop goes.
//
// The C side (CGuest.c) turns the same lists into a table Swift reads (cguest_loop_count, cguest_loop_at), so
// a test can check that every loop is used by a case and every case's loop exists.
#ifndef CGUEST_LOOPS_H
#define CGUEST_LOOPS_H

// MARK: the lists

/// The loops of real16.S and long64.S (and of the guest's guest, long64.S under svm64.S):
/// X(number, name, init, prep, body, next).
#define CGUEST_LOOPS(X)                                                        \
    X(0, null, NONE, BATCH_PREP, BATCH_BODY, NONE)                             \
    X(1, rdtsc, NONE, NONE, NONE, NONE)                                        \
    X(2, cpuid, NONE, CPUID_PREP, CPUID_BODY, NONE)                            \
    X(3, vmcall, NONE, NONE, VMCALL_BODY, NONE)                                \
    X(4, vmmcall, NONE, NONE, VMMCALL_BODY, NONE)                              \
    X(5, out_user, NONE, NONE, OUT_USER_BODY, NONE)                            \
    X(6, in_user, NONE, NONE, IN_USER_BODY, NONE)                              \
    X(7, in_kernel, NONE, NONE, IN_KERNEL_BODY, NONE)                          \
    X(8, mmio_write, NONE, NONE, MMIO_WRITE_BODY, NONE)                        \
    X(9, mmio_read, NONE, NONE, MMIO_READ_BODY, NONE)                          \
    X(10, rdmsr, NONE, MSR_PREP, RDMSR_BODY, NONE)                             \
    X(11, wrmsr, NONE, MSR_PREP, WRMSR_BODY, NONE)                             \
    X(12, hlt, NONE, NONE, HLT_BODY, NONE)                                     \
    X(13, cr0_write, CR0_INIT, NONE, CR0_BODY, NONE)                           \
    X(14, cr4_write, CR4_INIT, NONE, CR4_BODY, NONE)                           \
    X(15, touch, NONE, NONE, TOUCH_BODY, TOUCH_NEXT)                           \
    X(16, ud2, NONE, NONE, UD2_BODY, NONE)                                     \
    X(17, spin, NONE, NONE, SPIN_BODY, NONE)                                   \
    X(18, int3, NONE, NONE, INT3_BODY, NONE)                                   \
    X(19, dr7_write, DR7_INIT, NONE, DR7_BODY, NONE)

/// The mini-hypervisor's own loops (svm64.S, role own), numbered after CGUEST_LOOPS. Its rdtsc is the same
/// loop under the same number as CGUEST_LOOPS's, so the rdtsc case selects it in every payload.
#define CGUEST_SVM_LOOPS(X)                                                    \
    X(1, rdtsc, NONE, NONE, NONE, NONE)                                        \
    X(32, vmrun, NONE, NONE, VMRUN_BODY, VMRUN_NEXT)                           \
    X(33, vmload, NONE, NONE, VMLOAD_BODY, NONE)                               \
    X(34, vmsave, NONE, NONE, VMSAVE_BODY, NONE)                               \
    X(35, stgi, NONE, NONE, STGI_BODY, NONE)                                   \
    X(36, clgi, NONE, NONE, CLGI_BODY, NONE)

#ifdef __ASSEMBLER__

// MARK: scaffolding

// Expands a list: every row's two timed copies, and the dispatch to them.
#define CGUEST_EXPAND_LOOPS(number, name, init, prep, body, next) LOOPS number, init, prep, body, next;
#define CGUEST_EXPAND_PICK(number, name, init, prep, body, next) PICK number;

// PICK_REG = 2 × loop + (1 if rdtscp): jump to that loop's copy.
.macro PICK loop
    cmp $(\loop * 2), PICK_REG
    je .Lloop_\loop\()_0
    cmp $(\loop * 2 + 1), PICK_REG
    je .Lloop_\loop\()_1
.endm

.macro END_RDTSC
    lfence
    rdtsc
.endm

.macro END_RDTSCP
    rdtscp
    lfence
.endm

// Every timed region is `lfence; rdtsc; lfence; mov TSC_START, eax; BODY; lfence; rdtsc` (or `rdtscp;
// lfence`); the warm-up iterations are run and not stored.
.macro TIMED_LOOP init, prep, body, next, end
    \init
1:
    \prep
    lfence
    rdtsc
    lfence
    movl %eax, TSC_START
    \body
    \end
    subl TSC_START, %eax
    \next
    WARMUP_TEST
    jz 2f
    WARMUP_DEC
    jmp 1b
2:
    STORE_SAMPLE
    incl MB(STORED)
    decl SAMPLES_LEFT
    jnz 1b
    jmp LOOP_DONE
.endm

.macro LOOPS loop, init, prep, body, next
.Lloop_\loop\()_0:
    TIMED_LOOP \init, \prep, \body, \next, END_RDTSC
.Lloop_\loop\()_1:
    TIMED_LOOP \init, \prep, \body, \next, END_RDTSCP
.endm

// MARK: the bodies of CGUEST_LOOPS

.macro NONE
.endm

.macro BATCH_PREP
    movl OPERAND_A, %ecx
.endm
.macro BATCH_BODY
3:
    decl %ecx
    jnz 3b
.endm

.macro CPUID_PREP
    movl OPERAND_B, %ecx
.endm
.macro CPUID_BODY
    movl OPERAND_A, %eax
    cpuid
.endm

.macro VMCALL_BODY
    movl OPERAND_A, %eax
    vmcall
.endm
.macro VMMCALL_BODY
    movl OPERAND_A, %eax
    vmmcall
.endm

.macro OUT_USER_BODY
    outb %al, $CGUEST_PORT_USER
.endm
.macro IN_USER_BODY
    inb $CGUEST_PORT_USER, %al
.endm
.macro IN_KERNEL_BODY
    inb $CGUEST_PORT_KERNEL, %al
.endm

.macro MMIO_WRITE_BODY
    movl %eax, MMIO_TARGET
.endm
.macro MMIO_READ_BODY
    movl MMIO_TARGET, %eax
.endm

.macro MSR_PREP
    movl OPERAND_A, %ecx
.endm
.macro RDMSR_BODY
    rdmsr
.endm
// The value written is EAX as rdtsc left it; EDX (the high half) must be 0 for MSRs such as TSC_AUX.
.macro WRMSR_BODY
    xorl %edx, %edx
    wrmsr
.endm

.macro HLT_BODY
    hlt
.endm

// The control-register loops write back the value the register already has.
.macro CR0_INIT
    mov %cr0, CREG
.endm
.macro CR0_BODY
    mov CREG, %cr0
.endm
.macro CR4_INIT
    mov %cr4, CREG
.endm
.macro CR4_BODY
    mov CREG, %cr4
.endm

// DR7 written back with the value it already has (after reset, 0x400: no breakpoint enabled).
.macro DR7_INIT
    mov %dr7, CREG
.endm
.macro DR7_BODY
    mov CREG, %dr7
.endm

.macro TOUCH_BODY
    movb %al, TOUCH_TARGET
.endm

// Tests: an exception, a loop that never ends, and (with no usable IDT) a triple fault.
.macro UD2_BODY
    ud2
.endm
.macro SPIN_BODY
3:
    jmp 3b
.endm
.macro INT3_BODY
    int3
.endm

// MARK: the bodies of CGUEST_SVM_LOOPS (svm64.S only)

// The bounce guest's registers are this level's (it changes none), so R10, R12–R14 come back intact.
.macro VMRUN_BODY
    movl $CGUEST_SVM_VMCB_ADDRESS, %eax
    vmrun %rax
.endm
.macro VMRUN_NEXT
    incl SVM(EXITS)
    incl SVM(COUNT_VMMCALL)
    cmpq $CGUEST_SVM_EXIT_VMMCALL, VMCB(EXIT_CODE)
    jne .Lstopped
.endm

.macro VMLOAD_BODY
    movl $CGUEST_SVM_SCRATCH_VMCB_ADDRESS, %eax
    vmload %rax
.endm
.macro VMSAVE_BODY
    movl $CGUEST_SVM_SCRATCH_VMCB_ADDRESS, %eax
    vmsave %rax
.endm
.macro STGI_BODY
    stgi
.endm
.macro CLGI_BODY
    clgi
.endm

#else
#include <stddef.h>
#include <stdint.h>

/// Which payloads expand a loop.
typedef enum {
    /// CGUEST_LOOPS: real16.S and long64.S.
    CGUEST_LOOP_LIST_GUEST = 0,
    /// CGUEST_SVM_LOOPS: svm64.S's own.
    CGUEST_LOOP_LIST_SVM = 1,
} cguest_loop_list;

/// One row of the loop lists: its number, its name, and the list it is in.
typedef struct {
    int32_t number;
    const char *name;
    cguest_loop_list list;
} cguest_loop;

/// How many rows both lists have together.
size_t cguest_loop_count(void);

/// Row `index` (0 ..< cguest_loop_count()), CGUEST_LOOPS's first; the name is a string literal.
cguest_loop cguest_loop_at(size_t index);
#endif

#endif
