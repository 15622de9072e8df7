// svm64.S: the mini-hypervisor, the payload of the three-level guest. The host boots the guest exactly as a
// long-mode CPL0 case (long64.S's tables, IDT and stubs in low RAM, long64.S itself at CGUEST_CODE_ADDRESS),
// adds a second memory slot with a VMCB, a host save area and the permission maps it filled in, loads this
// payload at CGUEST_SVM_CODE_ADDRESS and starts here. This code sets EFER.SVME and VM_HSAVE_PA (AMD APM
// vol. 2 §15.4, §15.30.4), then plays one of two roles (mailbox ROLE):
//
// Relay: VMRUN the guest's guest — long64.S at CPL0, same page tables, no nested paging, ASID 1 — which runs
// one of the ordinary exit loops and times it as it would one level up; answer every intercept it causes
// (CPUID with the canary "NestprobeSVM", VMMCALL, port I/O, MSRs, HLT, and the one more exit code the
// mailbox may name, STEP_CODE, for a case whose instruction none of those is; and, routing its own timer to
// the guest's guest, INTR), resume it after the instruction, and VMRUN again, until it reports done (its `out` to CGUEST_PORT_DONE, intercepted like any port) or an
// exception (its `out` to CGUEST_PORT_FAULT). Any other #VMEXIT — SHUTDOWN (its triple fault),
// VMEXIT_INVALID (a VMRUN that failed its consistency checks) — stops the relay with the exit's code and
// information in the mailbox.
//
// Own: time one of its own instructions in a loop, as long64.S times its bodies: a VMRUN → #VMEXIT round
// trip of a guest's guest that exits at once (the bounce below), VMLOAD, VMSAVE, STGI, CLGI.
//
// It reports through the ports the other payloads use: CGUEST_PORT_DONE when its role finished, and
// CGUEST_PORT_FAULT with the mailbox's RESULT saying whose trouble it is (the guest's guest's exception, a
// #VMEXIT it stopped on, or — RESULT still NONE — its own exception, through long64.S's stubs).
//
// The guest's guest's general registers live in memory (CGUEST_SVM_REGS_ADDRESS) while this code runs: VMRUN
// and #VMEXIT switch only RAX, RSP and RIP (§15.5.1), so they are loaded before each VMRUN and stored after.

#include "CGuest.h"

#define MB(field) CGUEST_MAILBOX_ADDRESS + CGUEST_MB_##field
#define SVM(field) CGUEST_MAILBOX_ADDRESS + CGUEST_SVM_MB_##field
#define VMCB(field) CGUEST_SVM_VMCB_ADDRESS + CGUEST_VMCB_##field
#define GREG(index) CGUEST_SVM_REGS_ADDRESS + 8 * (index)

// What CGuestLoops.h's scaffolding uses here (see there): long64.S's registers, timed as it times.
#define TSC_START %r10d
#define SAMPLES_LEFT %r12d
#define PICK_REG %ebx
#define LOOP_DONE .Lown_done
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
#include "CGuestLoops.h"

    .section .rodata.cguest_svm64, "a"
    .code64
    .globl cguest_svm64_start
    .type cguest_svm64_start, @object
    .globl cguest_svm64_end
    .type cguest_svm64_end, @object

cguest_svm64_start:
    jmp .Lmain

// The guest's guest of the vmrun loop. Its RIP is never advanced, so every VMRUN runs this one intercepted
// instruction and comes straight back.
    .org CGUEST_SVM_BOUNCE_OFFSET
.Lbounce:
    vmmcall
    jmp .Lbounce

// This level's own timer interrupt (CGUEST_SVM_FLAG_TIMER), the x2APIC vector's gate in its own IDT, taken in
// the STGI window after a #VMEXIT INTR: EOI its x2APIC, and have the next VMRUN inject the same vector into the
// guest's guest (EVENTINJ: valid, type INTR), whose handler takes the TSC the sample ends at.
    .org CGUEST_SVM_TIMER_IRQ_OFFSET
    pushq %rax
    pushq %rcx
    pushq %rdx
    movl $0x80B, %ecx  // x2APIC EOI: write 0
    xorl %eax, %eax
    xorl %edx, %edx
    wrmsr
    movl $(0x80000000 | CGUEST_VECTOR_X2APIC), %eax
    movq %rax, VMCB(EVENT_INJECTION)
    incl SVM(COUNT_INJECTED)
    popq %rdx
    popq %rcx
    popq %rax
    iretq

// MARK: entry

.Lmain:
    cld
    movl $CGUEST_SVM_STAGE_ENTERED, SVM(STAGE)

    // This level's canary: CPUID 0x4000_0000 in the mini-hypervisor itself, answered by the KVM below it.
    movl $0x40000000, %eax
    xorl %ecx, %ecx
    cpuid
    movl %eax, SVM(CANARY)
    movl %ebx, SVM(CANARY) + 4
    movl %ecx, SVM(CANARY) + 8
    movl %edx, SVM(CANARY) + 12

    // VMRUN, VMLOAD, VMSAVE, STGI and CLGI raise #UD without EFER.SVME.
    movl $CGUEST_MSR_EFER, %ecx
    rdmsr
    orl $CGUEST_EFER_SVME, %eax
    wrmsr
    movl $CGUEST_SVM_STAGE_SVME, SVM(STAGE)

    // Where VMRUN saves this level's state and #VMEXIT takes it back from.
    movl $CGUEST_MSR_VM_HSAVE_PA, %ecx
    movl $CGUEST_SVM_HSAVE_ADDRESS, %eax
    xorl %edx, %edx
    wrmsr
    movl $CGUEST_SVM_STAGE_HSAVE, SVM(STAGE)

    // The timer's route (CGUEST_SVM_FLAG_TIMER): this level's IDT, its x2APIC as X2APIC_INIT sets one up (the
    // LVT timer in TSC-deadline mode on the x2APIC vector), and interrupts on. With V_INTR_MASKING this IF
    // (saved by VMRUN) lets a physical interrupt end the guest's guest's run as #VMEXIT INTR; GIF, clear from
    // each #VMEXIT to the next VMRUN, keeps it out of this code but for .Lintr's STGI window.
    testb $CGUEST_SVM_FLAG_TIMER, SVM(FLAGS)
    jz 1f
    subq $16, %rsp
    movw $(CGUEST_LONG64_IDT_GATES * 16 - 1), (%rsp)
    movq $CGUEST_SVM_IDT_ADDRESS, 2(%rsp)
    lidt (%rsp)
    addq $16, %rsp
    movl $0x1B, %ecx
    rdmsr
    orl $0xC00, %eax
    wrmsr
    movl $0x80F, %ecx
    movl $0x1FF, %eax
    xorl %edx, %edx
    wrmsr
    movl $0x832, %ecx
    movl $(0x40000 | CGUEST_VECTOR_X2APIC), %eax
    wrmsr
    sti
1:
    movl $CGUEST_SVM_STAGE_RUNNING, SVM(STAGE)
    cmpl $CGUEST_SVM_ROLE_OWN, SVM(ROLE)
    je .Lown

// MARK: relay

.Lenter:
    movq GREG(0), %rbx
    movq GREG(1), %rcx
    movq GREG(2), %rdx
    movq GREG(3), %rsi
    movq GREG(4), %rdi
    movq GREG(5), %rbp
    movq GREG(6), %r8
    movq GREG(7), %r9
    movq GREG(8), %r10
    movq GREG(9), %r11
    movq GREG(10), %r12
    movq GREG(11), %r13
    movq GREG(12), %r14
    movq GREG(13), %r15
    movl $CGUEST_SVM_VMCB_ADDRESS, %eax
    vmrun %rax
    // #VMEXIT: RAX, RSP and RIP are this level's again (from the host save area); the rest are the guest's.
    movq %rbx, GREG(0)
    movq %rcx, GREG(1)
    movq %rdx, GREG(2)
    movq %rsi, GREG(3)
    movq %rdi, GREG(4)
    movq %rbp, GREG(5)
    movq %r8, GREG(6)
    movq %r9, GREG(7)
    movq %r10, GREG(8)
    movq %r11, GREG(9)
    movq %r12, GREG(10)
    movq %r13, GREG(11)
    movq %r14, GREG(12)
    movq %r15, GREG(13)
    incl SVM(EXITS)
    movq VMCB(EXIT_CODE), %rax
    movq %rax, SVM(EXIT_CODE)
    cmpq $CGUEST_SVM_EXIT_CPUID, %rax
    je .Lcpuid
    cmpq $CGUEST_SVM_EXIT_VMMCALL, %rax
    je .Lvmmcall
    cmpq $CGUEST_SVM_EXIT_IOIO, %rax
    je .Lioio
    cmpq $CGUEST_SVM_EXIT_MSR, %rax
    je .Lmsr
    cmpq $CGUEST_SVM_EXIT_HLT, %rax
    je .Lhlt
    cmpq $CGUEST_SVM_EXIT_INTR, %rax
    je .Lintr
    cmpl $0, SVM(STEP_LENGTH)
    je .Lstopped
    cmpq SVM(STEP_CODE), %rax
    je .Lstep
    jmp .Lstopped

// Resumes the guest's guest after the intercepted \length-byte instruction: at the VMCB's nRIP where NRIPS
// is offered (APM vol. 2 §15.7.1) and the exit set it, else at its RIP + \length (the loops' instructions
// have no prefixes).
.macro RESUME_AFTER length
    testb $CGUEST_SVM_FLAG_NRIPS, SVM(FLAGS)
    jz 1f
    movq VMCB(NEXT_RIP), %rax
    testq %rax, %rax
    jz 1f
    movq %rax, VMCB(RIP)
    jmp .Lenter
1:
    addq $\length, VMCB(RIP)
    jmp .Lenter
.endm

// CPUID: the canary in EBX, ECX, EDX for every leaf; EAX the top hypervisor leaf for 0x4000_0000, else 0.
.Lcpuid:
    incl SVM(COUNT_CPUID)
    movl VMCB(RAX), %eax
    cmpl $0x40000000, %eax
    je 1f
    xorl %eax, %eax
1:
    movq %rax, VMCB(RAX)
    movq $CGUEST_SVM_CANARY_EBX, GREG(0)
    movq $CGUEST_SVM_CANARY_ECX, GREG(1)
    movq $CGUEST_SVM_CANARY_EDX, GREG(2)
    RESUME_AFTER 2

// VMMCALL: nothing to do but step over it (0f 01 d9).
.Lvmmcall:
    incl SVM(COUNT_VMMCALL)
    RESUME_AFTER 3

.Lhlt:
    incl SVM(COUNT_HLT)
    RESUME_AFTER 1

// INTR (CGUEST_SVM_FLAG_TIMER only, else it stops here): this level's timer interrupt, held pending by GIF
// since the #VMEXIT. STGI lets it in (IF is on) through this level's IDT, whose handler EOIs and sets
// EVENTINJ; CLGI, and the guest's guest resumes where it was (an interrupt exit leaves its RIP as it was).
.Lintr:
    testb $CGUEST_SVM_FLAG_TIMER, SVM(FLAGS)
    jz .Lstopped
    incl SVM(COUNT_INTR)
    stgi
    nop
    clgi
    jmp .Lenter

// IOIO: EXITINFO1 has the port in bits 31:16, the direction in bit 0 (1 = in) and the operand size in bits
// 4–6; EXITINFO2 has the next RIP, with or without NRIPS (APM vol. 2 §15.10.2). An `in` reads 0.
.Lioio:
    movq VMCB(EXIT_INFO1), %rax
    movl %eax, %edx
    shrl $16, %edx
    cmpl $CGUEST_PORT_DONE, %edx
    je .Linner_done
    cmpl $CGUEST_PORT_FAULT, %edx
    je .Linner_fault
    incl SVM(COUNT_IOIO)
    testb $1, %al
    jz 2f
    testb $0x10, %al
    jz 1f
    movb $0, VMCB(RAX)
    jmp 2f
1:
    testb $0x20, %al
    jz 3f
    movw $0, VMCB(RAX)
    jmp 2f
3:
    movq $0, VMCB(RAX)  // a 32-bit `in` zero-extends into RAX
2:
    movq VMCB(EXIT_INFO2), %rax
    movq %rax, VMCB(RIP)
    jmp .Lenter

// The case's own intercept (the mailbox's STEP_CODE): nothing to do but step over its STEP_LENGTH bytes.
.Lstep:
    incl SVM(COUNT_STEP)
    testb $CGUEST_SVM_FLAG_NRIPS, SVM(FLAGS)
    jz 1f
    movq VMCB(NEXT_RIP), %rax
    testq %rax, %rax
    jz 1f
    movq %rax, VMCB(RIP)
    jmp .Lenter
1:
    movl SVM(STEP_LENGTH), %eax
    addq %rax, VMCB(RIP)
    jmp .Lenter

// MSR: EXITINFO1 is 0 for rdmsr (which reads 0 here), 1 for wrmsr (dropped). With CGUEST_SVM_FLAG_SELF_IPI,
// a wrmsr to the x2APIC ICR (0x830) with the self shorthand (bits 19:18 = 01) is answered as an APIC would:
// its vector injected with EVENTINJ (valid, type INTR) on the next VMRUN, after the wrmsr. The guest's guest
// waits for it with interrupts on; its EOI (a wrmsr to 0x80B) is dropped like any other write. With
// CGUEST_SVM_FLAG_TIMER a wrmsr to IA32_TSC_DEADLINE (0x6E0) is written to this level's own (EDX:EAX as
// the guest's guest had them), which arms the timer .Lintr routes.
.Lmsr:
    incl SVM(COUNT_MSR)
    cmpl $0, VMCB(EXIT_INFO1)
    jne 1f
    movq $0, VMCB(RAX)
    movq $0, GREG(2)
    jmp 2f
1:
    testb $CGUEST_SVM_FLAG_TIMER, SVM(FLAGS)
    jz 3f
    cmpl $0x6E0, GREG(1)
    jne 2f
    movl VMCB(RAX), %eax
    movl GREG(2), %edx
    movl $0x6E0, %ecx
    wrmsr
    jmp 2f
3:
    testb $CGUEST_SVM_FLAG_SELF_IPI, SVM(FLAGS)
    jz 2f
    cmpl $0x830, GREG(1)
    jne 2f
    movl VMCB(RAX), %eax
    movl %eax, %edx
    andl $0xC0000, %edx
    cmpl $0x40000, %edx
    jne 2f
    movzbl %al, %eax
    orl $0x80000000, %eax
    movq %rax, VMCB(EVENT_INJECTION)
    incl SVM(COUNT_INJECTED)
2:
    RESUME_AFTER 2

.Linner_done:
    movl $CGUEST_SVM_RESULT_DONE, SVM(RESULT)
    movl $CGUEST_SVM_STAGE_FINISHED, SVM(STAGE)
    movw $CGUEST_PORT_DONE, %dx
    outb %al, %dx
    jmp .Lhalt

// The guest's guest's exception handler stored vector, error code, RIP and CR2 in the mailbox.
.Linner_fault:
    movl $CGUEST_SVM_RESULT_INNER_FAULT, SVM(RESULT)
    jmp .Lreport_fault

// An exit it does not handle: the guest's triple fault (SHUTDOWN), a failed VMRUN (VMEXIT_INVALID), or
// anything else. Its code and information go to the mailbox.
.Lstopped:
    movq VMCB(EXIT_CODE), %rax
    movq %rax, SVM(EXIT_CODE)
    movq VMCB(EXIT_INFO1), %rax
    movq %rax, SVM(EXIT_INFO1)
    movq VMCB(EXIT_INFO2), %rax
    movq %rax, SVM(EXIT_INFO2)
    movq VMCB(EXIT_INT_INFO), %rax
    movq %rax, SVM(EXIT_INT_INFO)
    movq VMCB(RIP), %rax
    movq %rax, SVM(EXIT_RIP)
    movq VMCB(NEXT_RIP), %rax
    movq %rax, SVM(EXIT_NEXT_RIP)
    movl $CGUEST_SVM_RESULT_STOPPED, SVM(RESULT)
.Lreport_fault:
    movl $CGUEST_SVM_STAGE_FINISHED, SVM(STAGE)
    movw $CGUEST_PORT_FAULT, %dx
    outb %al, %dx
.Lhalt:
    hlt
    jmp .Lhalt

// MARK: own loops (CGuestLoops.h), timed in this guest the way long64.S times its bodies

.Lown:
    // vmload then reads back what this level already has: its own FS, GS, TR, LDTR and syscall MSRs.
    movl $CGUEST_SVM_SCRATCH_VMCB_ADDRESS, %eax
    vmsave %rax
    movq $CGUEST_SAMPLES_ADDRESS, %r14
    movl MB(ITERATIONS), %r12d
    movl MB(WARMUP), %r13d
    movl MB(LOOP), %ebx
    addl %ebx, %ebx
    testb $CGUEST_FLAG_RDTSCP, MB(FLAGS)
    jz 1f
    incl %ebx
1:

// EBX = 2 × loop + (1 if rdtscp): jump to that loop's copy.
    CGUEST_SVM_LOOPS(CGUEST_EXPAND_PICK)
    ud2  // no such loop: reported as #UD through long64.S's stubs

.Lown_done:
    movl $CGUEST_SVM_RESULT_DONE, SVM(RESULT)
    movl $CGUEST_SVM_STAGE_FINISHED, SVM(STAGE)
    movw $CGUEST_PORT_DONE, %dx
    outb %al, %dx
    jmp .Lhalt

    CGUEST_SVM_LOOPS(CGUEST_EXPAND_LOOPS)

cguest_svm64_end:
    .size cguest_svm64_start, cguest_svm64_end - cguest_svm64_start

    .section .note.GNU-stack, "", @progbits
