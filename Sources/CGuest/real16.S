// real16.S: the 16-bit real-mode guest. Loaded at 0000:1000 and started there; DS = SS = 0, ES is the
// samples segment, FS and GS the MMIO or first-touch segment. It reads its parameters from the mailbox,
// runs CPUID 0x4000_0000 once (the canary), runs one timed loop, stores one 32-bit TSC delta per
// iteration after the warm-up, and says "done" with an `out` to CGUEST_PORT_DONE. An exception goes
// through the IVT (which the host points at the stubs below) to CGUEST_PORT_FAULT.
//
// 32-bit registers through operand-size prefixes (the assembler adds them): ESI holds the start TSC, EBP
// counts the samples left, DI is the next sample's offset in ES. The warm-up is counted down in the mailbox.
// Every timed region is `lfence; rdtsc; lfence; mov esi, eax; BODY; lfence; rdtsc` (or `rdtscp; lfence`).

#include "CGuest.h"

#define MB(field) CGUEST_MAILBOX_ADDRESS + CGUEST_MB_##field

    .section .rodata.cguest_real16, "a"
    .code16
    .globl cguest_real16_start
    .type cguest_real16_start, @object
    .globl cguest_real16_end
    .type cguest_real16_end, @object

cguest_real16_start:
    jmp .Lmain

// MARK: exception stubs, at fixed offsets the host writes into the IVT

.macro STUB vector, slot
    .org CGUEST_STUBS_OFFSET + \slot * CGUEST_REAL16_STUB_STRIDE
    pushw $\vector
    jmp .Lexception
.endm

    STUB 0, 0
    STUB 1, 1
    STUB 2, 2
    STUB 3, 3
    STUB 4, 4
    STUB 5, 5
    STUB 6, 6
    STUB 7, 7
    STUB 8, 8
    STUB 9, 9
    STUB 10, 10
    STUB 11, 11
    STUB 12, 12
    STUB 13, 13
    STUB 14, 14
    STUB 15, 15
    STUB 16, 16
    STUB 17, 17
    STUB 18, 18
    STUB 19, 19
    STUB 20, 20
    STUB 21, 21
    STUB 22, 22
    STUB 23, 23
    STUB 24, 24
    STUB 25, 25
    STUB 26, 26
    STUB 27, 27
    STUB 28, 28
    STUB 29, 29
    STUB 30, 30
    STUB 31, 31
    STUB CGUEST_VECTOR_OTHER, 32

// The real-mode frame is FLAGS, CS, IP (no error code); the stub pushed the vector on top.
.Lexception:
    popw %ax
    movw %ax, MB(FAULT_VECTOR)
    popw %ax
    movw %ax, MB(FAULT_RIP)
    movw $CGUEST_PORT_FAULT, %dx
    outb %al, %dx
.Lhalt:
    hlt
    jmp .Lhalt

// MARK: entry

.Lmain:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %ss
    movw $CGUEST_REAL16_STACK_TOP, %sp
    movw $CGUEST_REAL16_SAMPLES_SEGMENT, %ax
    movw %ax, %es
    movw MB(SEGMENT), %ax
    movw %ax, %fs
    movw %ax, %gs
    movl $CGUEST_STAGE_ENTERED, MB(STAGE)

    // The canary: who answers CPUID here, before anything is timed.
    movl $0x40000000, %eax
    xorl %ecx, %ecx
    cpuid
    movl %eax, MB(CANARY)
    movl %ebx, MB(CANARY) + 4
    movl %ecx, MB(CANARY) + 8
    movl %edx, MB(CANARY) + 12
    movl $CGUEST_STAGE_CANARY_READ, MB(STAGE)

    xorw %di, %di
    movl MB(ITERATIONS), %ebp
    movw MB(LOOP), %bx
    addw %bx, %bx
    testb $CGUEST_FLAG_RDTSCP, MB(FLAGS)
    jz 1f
    incw %bx
1:
    movl $CGUEST_STAGE_LOOPING, MB(STAGE)

// BX = 2 × loop + (1 if rdtscp): jump to that loop's copy.
.macro PICK loop
    cmpw $(\loop * 2), %bx
    je .Lloop_\loop\()_0
    cmpw $(\loop * 2 + 1), %bx
    je .Lloop_\loop\()_1
.endm

    PICK CGUEST_LOOP_NULL
    PICK CGUEST_LOOP_RDTSC
    PICK CGUEST_LOOP_CPUID
    PICK CGUEST_LOOP_VMCALL
    PICK CGUEST_LOOP_VMMCALL
    PICK CGUEST_LOOP_OUT_USER
    PICK CGUEST_LOOP_IN_USER
    PICK CGUEST_LOOP_IN_KERNEL
    PICK CGUEST_LOOP_MMIO_WRITE
    PICK CGUEST_LOOP_MMIO_READ
    PICK CGUEST_LOOP_RDMSR
    PICK CGUEST_LOOP_WRMSR
    PICK CGUEST_LOOP_HLT
    PICK CGUEST_LOOP_CR0_WRITE
    PICK CGUEST_LOOP_CR4_WRITE
    PICK CGUEST_LOOP_TOUCH
    PICK CGUEST_LOOP_UD2
    PICK CGUEST_LOOP_SPIN
    PICK CGUEST_LOOP_INT3
    ud2  // no such loop: reported as #UD here

.Lfinish:
    movl $1, MB(DONE)
    movw $CGUEST_PORT_DONE, %dx
    outb %al, %dx
    jmp .Lhalt

// MARK: the timed loop, and its two copies per body

.macro END_RDTSC
    lfence
    rdtsc
.endm

.macro END_RDTSCP
    rdtscp
    lfence
.endm

// \init once; then per iteration \prep (untimed), \body (timed), \next (untimed, EAX holds the sample).
.macro TIMED_LOOP init, prep, body, next, end
    \init
1:
    \prep
    lfence
    rdtsc
    lfence
    movl %eax, %esi
    \body
    \end
    subl %esi, %eax
    \next
    cmpl $0, MB(WARMUP)
    je 2f
    decl MB(WARMUP)
    jmp 1b
2:
    movl %eax, %es:(%di)
    addw $4, %di
    incl MB(STORED)
    decl %ebp
    jnz 1b
    jmp .Lfinish
.endm

.macro LOOPS loop, init, prep, body, next
.Lloop_\loop\()_0:
    TIMED_LOOP \init, \prep, \body, \next, END_RDTSC
.Lloop_\loop\()_1:
    TIMED_LOOP \init, \prep, \body, \next, END_RDTSCP
.endm

// MARK: the bodies

.macro NONE
.endm

.macro BATCH_PREP
    movl MB(OPERAND_A), %ecx
.endm
.macro BATCH_BODY
3:
    decl %ecx
    jnz 3b
.endm

.macro CPUID_PREP
    movl MB(OPERAND_B), %ecx
.endm
.macro CPUID_BODY
    movl MB(OPERAND_A), %eax
    cpuid
.endm

.macro VMCALL_BODY
    movl MB(OPERAND_A), %eax
    vmcall
.endm
.macro VMMCALL_BODY
    movl MB(OPERAND_A), %eax
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
    movl %eax, %fs:0
.endm
.macro MMIO_READ_BODY
    movl %fs:0, %eax
.endm

.macro MSR_PREP
    movl MB(OPERAND_A), %ecx
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

.macro CR0_INIT
    movl %cr0, %ebx
.endm
.macro CR0_BODY
    movl %ebx, %cr0
.endm
.macro CR4_INIT
    movl %cr4, %ebx
.endm
.macro CR4_BODY
    movl %ebx, %cr4
.endm

.macro TOUCH_BODY
    movb %al, %gs:0
.endm
// The next 4 KiB page: GS += 0x100 paragraphs (DX is free once the delta is in EAX).
.macro TOUCH_NEXT
    movw %gs, %dx
    addw $0x100, %dx
    movw %dx, %gs
.endm

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

    LOOPS CGUEST_LOOP_NULL, NONE, BATCH_PREP, BATCH_BODY, NONE
    LOOPS CGUEST_LOOP_RDTSC, NONE, NONE, NONE, NONE
    LOOPS CGUEST_LOOP_CPUID, NONE, CPUID_PREP, CPUID_BODY, NONE
    LOOPS CGUEST_LOOP_VMCALL, NONE, NONE, VMCALL_BODY, NONE
    LOOPS CGUEST_LOOP_VMMCALL, NONE, NONE, VMMCALL_BODY, NONE
    LOOPS CGUEST_LOOP_OUT_USER, NONE, NONE, OUT_USER_BODY, NONE
    LOOPS CGUEST_LOOP_IN_USER, NONE, NONE, IN_USER_BODY, NONE
    LOOPS CGUEST_LOOP_IN_KERNEL, NONE, NONE, IN_KERNEL_BODY, NONE
    LOOPS CGUEST_LOOP_MMIO_WRITE, NONE, NONE, MMIO_WRITE_BODY, NONE
    LOOPS CGUEST_LOOP_MMIO_READ, NONE, NONE, MMIO_READ_BODY, NONE
    LOOPS CGUEST_LOOP_RDMSR, NONE, MSR_PREP, RDMSR_BODY, NONE
    LOOPS CGUEST_LOOP_WRMSR, NONE, MSR_PREP, WRMSR_BODY, NONE
    LOOPS CGUEST_LOOP_HLT, NONE, NONE, HLT_BODY, NONE
    LOOPS CGUEST_LOOP_CR0_WRITE, CR0_INIT, NONE, CR0_BODY, NONE
    LOOPS CGUEST_LOOP_CR4_WRITE, CR4_INIT, NONE, CR4_BODY, NONE
    LOOPS CGUEST_LOOP_TOUCH, NONE, NONE, TOUCH_BODY, TOUCH_NEXT
    LOOPS CGUEST_LOOP_UD2, NONE, NONE, UD2_BODY, NONE
    LOOPS CGUEST_LOOP_SPIN, NONE, NONE, SPIN_BODY, NONE
    LOOPS CGUEST_LOOP_INT3, NONE, NONE, INT3_BODY, NONE

cguest_real16_end:
    .size cguest_real16_start, cguest_real16_end - cguest_real16_start

    .section .note.GNU-stack, "", @progbits
