// long64.S: the 64-bit long-mode guest. The host enters long mode directly through KVM_SET_SREGS (paging
// on, an identity map of the first GiB, a GDT, a TSS and an IDT pointing at the stubs below) and starts it
// at CGUEST_CODE_ADDRESS, at CPL0 or CPL3. It reads its parameters from the mailbox, runs CPUID
// 0x4000_0000 once at its CPL (the canary), runs one timed loop and stores one 32-bit TSC delta per
// iteration after the warm-up.
//
// Done: at CPL0 an `out` to CGUEST_PORT_DONE. At CPL3, where `out` faults, it sets the mailbox's DONE word
// and executes int3; the #BP gate (DPL3) enters the CPL0 handler, which sees DONE and does the `out`.
// Any other exception reaches the same handler without DONE set, which stores vector, error code, RIP and
// CR2 in the mailbox and reports them with an `out` to CGUEST_PORT_FAULT.
//
// Registers: R10D start TSC, R12D samples left, R13D warm-up left, R14 next sample, R8D/R9D the operands,
// R11 the MMIO or first-touch address, RBX the control-register value. Every timed region is
// `lfence; rdtsc; lfence; mov r10d, eax; BODY; lfence; rdtsc` (or `rdtscp; lfence`).

#include "CGuest.h"

#define MB(field) CGUEST_MAILBOX_ADDRESS + CGUEST_MB_##field

// What CGuestLoops.h's scaffolding and bodies use here (see there).
#define OPERAND_A %r8d
#define OPERAND_B %r9d
#define MMIO_TARGET (%r11)
#define TOUCH_TARGET (%r11)
#define CREG %rbx
#define TSC_START %r10d
#define SAMPLES_LEFT %r12d
#define PICK_REG %ebx
#define LOOP_DONE .Lfinish
.macro WARMUP_TEST
    testl %r13d, %r13d
.endm
.macro WARMUP_DEC
    decl %r13d
.endm
.macro STORE_SAMPLE
    movl %eax, (%r14)
    addq $4, %r14
.endm
.macro TOUCH_NEXT
    addq $4096, %r11
.endm
#define CGUEST_LONG_MODE_BODIES 1
#include "CGuestLoops.h"

    .section .rodata.cguest_long64, "a"
    .code64
    .globl cguest_long64_start
    .type cguest_long64_start, @object
    .globl cguest_long64_end
    .type cguest_long64_end, @object

cguest_long64_start:
    jmp .Lmain

// MARK: exception stubs, at fixed offsets the host writes into the IDT

// Vectors whose frame has no error code get a 0 pushed in its place, so the handler sees one layout.
.macro STUB vector, has_error_code
    .org CGUEST_STUBS_OFFSET + \vector * CGUEST_LONG64_STUB_STRIDE
    .if \has_error_code == 0
    pushq $0
    .endif
    pushq $\vector
    jmp .Lexception
.endm

    STUB 0, 0
    STUB 1, 0
    STUB 2, 0
    STUB 3, 0
    STUB 4, 0
    STUB 5, 0
    STUB 6, 0
    STUB 7, 0
    STUB 8, 1
    STUB 9, 0
    STUB 10, 1
    STUB 11, 1
    STUB 12, 1
    STUB 13, 1
    STUB 14, 1
    STUB 15, 0
    STUB 16, 0
    STUB 17, 1
    STUB 18, 0
    STUB 19, 0
    STUB 20, 0
    STUB 21, 1
    STUB 22, 0
    STUB 23, 0
    STUB 24, 0
    STUB 25, 0
    STUB 26, 0
    STUB 27, 0
    STUB 28, 0
    STUB 29, 1
    STUB 30, 1
    STUB 31, 0

// MARK: the local APIC's interrupt handlers, at fixed offsets the host writes into the IDT

// Each takes the TSC first (the entry time the interrupt loops report), counts itself, EOIs and returns;
// every register it uses is saved, since the loop's registers live across it.
    .org CGUEST_STUBS_OFFSET + CGUEST_LONG64_STUB_COUNT * CGUEST_LONG64_STUB_STRIDE
    .org CGUEST_LONG64_IRQ_OFFSET
    pushq %rax
    pushq %rdx
    pushq %rcx
    lfence
    rdtsc
    movl %eax, MB(IRQ_TSC)
    incl MB(IRQ_COUNT)
    movl $0x80B, %ecx  // x2APIC EOI: write 0
    xorl %eax, %eax
    xorl %edx, %edx
    wrmsr
    popq %rcx
    popq %rdx
    popq %rax
    iretq

    .org CGUEST_LONG64_IRQ_OFFSET + CGUEST_LONG64_IRQ_STRIDE
    pushq %rax
    pushq %rdx
    lfence
    rdtsc
    movl %eax, MB(IRQ_TSC)
    incl MB(IRQ_COUNT)
    movl $(CGUEST_APIC_BASE + 0xB0), %edx  // xAPIC EOI register
    movl %eax, (%rdx)
    popq %rdx
    popq %rax
    iretq

// MARK: the second vCPU's entry (the cross-vCPU IPI cases), at a fixed offset the host starts vCPU 1 at

// Long mode at CPL0 on its own stack, the same tables (its own TSS). Its APIC on — x2APIC, or for the CPL3
// sender's loops the xAPIC, whose handler then takes the IPIs — it says so in MB(AP_STAGE), then waits for the
// other vCPU's IPIs with interrupts on: in `hlt` for CGUEST_LOOP_IPI_HALT(_USER) (MB(AP_STAGE) set to 2 before
// each, in the `cli` ... `sti; hlt` stretch no interrupt can enter), else spinning, at CPL3 for
// CGUEST_LOOP_IPI_USER (entered with iretq; the interrupt comes in on its TSS's RSP0). The handler above
// counts each one. It never ends by itself: the host stops it.
    .org CGUEST_LONG64_AP_OFFSET
    cmpl $CGUEST_LOOP_IPI_USER, MB(LOOP)
    je 3f
    cmpl $CGUEST_LOOP_IPI_HALT_USER, MB(LOOP)
    je 3f
    X2APIC_INIT
    jmp 4f
3:
    XAPIC_INIT
4:
    movl $1, MB(AP_STAGE)
    cmpl $CGUEST_LOOP_IPI_HALT, MB(LOOP)
    je 2f
    cmpl $CGUEST_LOOP_IPI_HALT_USER, MB(LOOP)
    je 2f
    cmpl $CGUEST_LOOP_IPI_USER, MB(LOOP)
    jne 1f
    pushq $CGUEST_SELECTOR_USER_DATA
    pushq $CGUEST_LONG64_AP_USER_STACK_TOP
    pushq $0x202  // IF
    pushq $CGUEST_SELECTOR_USER_CODE
    leaq 1f(%rip), %rax
    pushq %rax
    iretq
1:
    jmp 1b
2:
    cli
    movl $2, MB(AP_STAGE)
    sti
    hlt
    jmp 2b

// MARK: the service call's handler

// CPL0 work a CPL3 loop asks for with `int3`, EAX the service (CGUEST_SERVICE_*), reached from .Lexception
// with the vector and error code popped; changes RAX, RCX, RDX, RDI.
// Stack: RIP (after the int3), CS, RFLAGS, RSP, SS (an interrupt gate: interrupts off until iretq).
.Lservice:
    cmpl $CGUEST_SERVICE_SYSCALL, %eax
    je .Lservice_syscall
    cmpl $CGUEST_SERVICE_X2APIC, %eax
    je .Lservice_x2apic
    cmpl $CGUEST_SERVICE_XAPIC, %eax
    je .Lservice_xapic
    cmpl $CGUEST_SERVICE_DEADLINE, %eax
    je .Lservice_deadline
    ud2  // no such service: reported as #UD
.Lservice_syscall:
    movl $0xC0000080, %ecx  // EFER.SCE
    rdmsr
    orl $1, %eax
    wrmsr
    movl $0xC0000081, %ecx  // STAR: SYSRET's base, SYSCALL's CS; the 32-bit target unused
    xorl %eax, %eax
    movl $(CGUEST_SYSRET_BASE << 16 | CGUEST_SYSCALL_CS), %edx
    wrmsr
    movl $0xC0000082, %ecx  // LSTAR: the 64-bit entry, returning with sysretq (OPERAND_A 0) or iretq
    leaq .Lsyscall_entry(%rip), %rax
    cmpl $0, MB(OPERAND_A)
    je 1f
    leaq .Lsyscall_entry_iret(%rip), %rax
1:
    movq %rax, %rdx
    shrq $32, %rdx
    wrmsr
    movl $0xC0000084, %ecx  // SFMASK
    movl $CGUEST_SYSCALL_FLAGS_MASK, %eax
    xorl %edx, %edx
    wrmsr
    iretq
.Lservice_x2apic:
    X2APIC_INIT
    orq $0x200, 16(%rsp)  // IF in the RFLAGS iretq pops
    iretq
.Lservice_xapic:
    XAPIC_INIT
    orq $0x200, 16(%rsp)
    iretq
.Lservice_deadline:
    movq %rdi, %rax
    movq %rdi, %rdx
    shrq $32, %rdx
    movl $0x6E0, %ecx  // IA32_TSC_DEADLINE
    wrmsr
    iretq

// SYSCALL's entries (LSTAR): back at once. RCX holds the return RIP and R11 RFLAGS, as SYSCALL left them, and
// RSP is still the caller's (SYSCALL switches no stack). The second returns as a kernel does where SYSRET
// will not serve, with iretq from a frame it builds (RAX is free: the loop's end reads the TSC into it).
.Lsyscall_entry:
    sysretq
.Lsyscall_entry_iret:
    movq %rsp, %rax
    pushq $CGUEST_SELECTOR_USER_DATA
    pushq %rax
    pushq %r11
    pushq $CGUEST_SELECTOR_USER_CODE
    pushq %rcx
    iretq

// Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. Runs at CPL0 (from CPL3 on the TSS's RSP0).
// A #PF while MB(FAULT_RESUME) is set (the CPL3 page-fault loop) resumes there, a #BP with a service in EAX
// (and the loop not done) is a service call; anything else is reported.
.Lexception:
    cmpl $14, (%rsp)
    jne 1f
    cmpq $0, MB(FAULT_RESUME)
    je 1f
    pushq %rax
    movq MB(FAULT_RESUME), %rax
    movq %rax, 24(%rsp)  // the RIP, above RAX, the vector and the error code
    popq %rax
    addq $16, %rsp
    incl MB(FAULTS_RESUMED)
    iretq
1:
    cmpl $0, MB(DONE)
    jne .Lreport_done
    cmpl $3, (%rsp)
    jne 2f
    movl %eax, %ecx
    andl $0xFFFF0000, %ecx
    cmpl $CGUEST_SERVICE_TAG, %ecx
    jne 2f
    addq $16, %rsp
    jmp .Lservice
2:
    movq (%rsp), %rax
    movl %eax, MB(FAULT_VECTOR)
    movq 8(%rsp), %rax
    movq %rax, MB(FAULT_ERROR)
    movq 16(%rsp), %rax
    movq %rax, MB(FAULT_RIP)
    movq %cr2, %rax
    movq %rax, MB(FAULT_CR2)
    movw $CGUEST_PORT_FAULT, %dx
    outb %al, %dx
    jmp .Lhalt
.Lreport_done:
    movw $CGUEST_PORT_DONE, %dx
    outb %al, %dx
.Lhalt:
    hlt
    jmp .Lhalt

// MARK: entry

.Lmain:
    cld
    movl $CGUEST_STAGE_ENTERED, MB(STAGE)

    // The canary: who answers CPUID at this CPL, before anything is timed.
    movl $0x40000000, %eax
    xorl %ecx, %ecx
    cpuid
    movl %eax, MB(CANARY)
    movl %ebx, MB(CANARY) + 4
    movl %ecx, MB(CANARY) + 8
    movl %edx, MB(CANARY) + 12
    movl $CGUEST_STAGE_CANARY_READ, MB(STAGE)

    movq $CGUEST_SAMPLES_ADDRESS, %r14
    movl MB(ITERATIONS), %r12d
    movl MB(WARMUP), %r13d
    movl MB(OPERAND_A), %r8d
    movl MB(OPERAND_B), %r9d
    movq MB(ADDRESS), %r11
    movl MB(LOOP), %ebx
    addl %ebx, %ebx
    testb $CGUEST_FLAG_RDTSCP, MB(FLAGS)
    jz 1f
    incl %ebx
1:
    movl $CGUEST_STAGE_LOOPING, MB(STAGE)

// EBX = 2 × loop + (1 if rdtscp): jump to that loop's copy.
    CGUEST_LOOPS(CGUEST_EXPAND_PICK)
    ud2  // no such loop: reported as #UD here

.Lfinish:
    movl $1, MB(DONE)
    movw %cs, %ax
    testb $3, %al
    jnz 1f
    movw $CGUEST_PORT_DONE, %dx
    outb %al, %dx
    jmp .Lhalt
1:
    int3  // CPL3: the handler sees DONE and reports it
    jmp 1b

// MARK: the timed loops (CGuestLoops.h), two copies each

    CGUEST_LOOPS(CGUEST_EXPAND_LOOPS)

cguest_long64_end:
    .size cguest_long64_start, cguest_long64_end - cguest_long64_start

    .section .note.GNU-stack, "", @progbits
