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

// What CGuestLoops.h's scaffolding and bodies use here (see there).
#define OPERAND_A MB(OPERAND_A)
#define OPERAND_B MB(OPERAND_B)
#define MMIO_TARGET %fs:0
#define TOUCH_TARGET %gs:0
#define CREG %ebx
#define TSC_START %esi
#define SAMPLES_LEFT %ebp
#define PICK_REG %bx
#define LOOP_DONE .Lfinish
.macro WARMUP_TEST
    cmpl $0, MB(WARMUP)
.endm
.macro WARMUP_DEC
    decl MB(WARMUP)
.endm
.macro STORE_SAMPLE
    movl %eax, %es:(%di)
    addw $4, %di
.endm
// The next 4 KiB page: GS += 0x100 paragraphs (DX is free once the delta is in EAX).
.macro TOUCH_NEXT
    movw %gs, %dx
    addw $0x100, %dx
    movw %dx, %gs
.endm
#include "CGuestLoops.h"

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
    CGUEST_LOOPS(CGUEST_EXPAND_PICK)
    ud2  // no such loop: reported as #UD here

.Lfinish:
    movl $1, MB(DONE)
    movw $CGUEST_PORT_DONE, %dx
    outb %al, %dx
    jmp .Lhalt

// MARK: the timed loops (CGuestLoops.h), two copies each

    CGUEST_LOOPS(CGUEST_EXPAND_LOOPS)

cguest_real16_end:
    .size cguest_real16_start, cguest_real16_end - cguest_real16_start

    .section .note.GNU-stack, "", @progbits
