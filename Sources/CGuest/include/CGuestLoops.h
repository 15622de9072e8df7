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
    X(19, dr7_write, DR7_INIT, NONE, DR7_BODY, NONE)                           \
    X(20, x2apic_self_ipi, X2APIC_INIT, X2APIC_ICR_PREP, X2APIC_IPI_BODY, IRQ_ENTRY_NEXT) \
    X(21, xapic_self_ipi, XAPIC_INIT, XAPIC_ICR_PREP, XAPIC_IPI_BODY, IRQ_ENTRY_NEXT)    \
    X(22, x2apic_eoi, X2APIC_INIT, X2APIC_EOI_PREP, X2APIC_EOI_BODY, NONE)     \
    X(23, xapic_eoi, XAPIC_INIT, XAPIC_EOI_PREP, XAPIC_EOI_BODY, NONE)         \
    X(24, tsc_deadline, X2APIC_INIT, DEADLINE_PREP, DEADLINE_BODY, DEADLINE_NEXT)       \
    X(25, tsc_deadline_arm, X2APIC_INIT, DEADLINE_ARM_PREP, DEADLINE_ARM_BODY, NONE)    \
    X(26, sti_window, X2APIC_INIT, WINDOW_PREP, WINDOW_BODY, NONE)             \
    X(27, sti_hlt, X2APIC_INIT, WINDOW_PREP, STI_HLT_BODY, NONE)       \
    X(28, ipi, IPI_INIT, X2APIC_ICR_PREP, IPI_BODY, NONE)                     \
    X(29, ipi_halt, IPI_INIT, IPI_HALT_PREP, IPI_BODY, NONE)                  \
    X(40, cr8_read, NONE, NONE, CR8_READ_BODY, NONE)                           \
    X(41, cr8_write, CR8_INIT, NONE, CR8_WRITE_BODY, NONE)                     \
    X(42, cr0_toggle, CR0_INIT, CR0_FLIP, CR0_BODY, NONE)                      \
    X(43, cr4_toggle, CR4_INIT, CR4_FLIP, CR4_BODY, NONE)                      \
    X(44, invd, NONE, NONE, INVD_BODY, NONE)                                   \
    X(45, wbinvd, NONE, NONE, WBINVD_BODY, NONE)                               \
    X(46, pause, NONE, BATCH_PREP, PAUSE_BODY, NONE)                           \
    X(47, xsetbv, NONE, XSETBV_PREP, XSETBV_BODY, NONE)                        \
    X(48, invlpg, NONE, NONE, INVLPG_BODY, NONE)                               \
    X(49, rdpmc, NONE, MSR_PREP, RDPMC_BODY, NONE)                             \
    X(50, wrmsr_value, NONE, MSR_PREP, WRMSR_VALUE_BODY, NONE)                 \
    X(51, out_kernel, NONE, NONE, OUT_KERNEL_BODY, NONE)                       \
    X(52, syscall, SYSCALL_INIT, NONE, SYSCALL_BODY, NONE)                     \
    X(53, user_fault, NONE, FAULT_RESUME_PREP, USER_FAULT_BODY, NONE)          \
    X(54, xapic_self_ipi_user, XAPIC_USER_INIT, XAPIC_ICR_PREP, XAPIC_IPI_BODY, IRQ_ENTRY_NEXT) \
    X(55, xapic_eoi_user, XAPIC_USER_INIT, XAPIC_EOI_PREP, XAPIC_EOI_BODY, NONE) \
    X(56, tsc_deadline_user, X2APIC_USER_INIT, DEADLINE_PREP, DEADLINE_USER_BODY, DEADLINE_NEXT) \
    X(57, ipi_user, IPI_USER_INIT, XAPIC_ICR_PREP, XAPIC_IPI_DEST_BODY, NONE)  \
    X(58, ipi_halt_user, IPI_USER_INIT, IPI_HALT_USER_PREP, XAPIC_IPI_DEST_BODY, NONE)

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

// The toggles flip one bit each iteration, untimed, and time the write of the changed value: CR0.WP
// (bit 16: supervisor writes to read-only pages; every page here is writable) and CR4.PGE (bit 7: global
// pages; the write flushes the TLB, global entries included), the bits kvm-unit-tests' toggle_cr0_wp and
// toggle_cr4_pge flip.
.macro CR0_FLIP
    xor $(1 << 16), CREG
.endm
.macro CR4_FLIP
    xor $(1 << 7), CREG
.endm

// DR7 written back with the value it already has (after reset, 0x400: no breakpoint enabled).
.macro DR7_INIT
    mov %dr7, CREG
.endm
.macro DR7_BODY
    mov CREG, %dr7
.endm

// CR8 (the task-priority register) exists only in 64-bit mode: real16.S gets a #UD in its place (no case
// runs it there). The write puts back the value read once (0 after reset: no interrupt class masked).
#ifdef CGUEST_LONG_MODE_BODIES
.macro CR8_READ_BODY
    mov %cr8, CREG
.endm
.macro CR8_INIT
    mov %cr8, CREG
.endm
.macro CR8_WRITE_BODY
    mov CREG, %cr8
.endm
#else
.macro CR8_READ_BODY
    ud2
.endm
.macro CR8_INIT
.endm
.macro CR8_WRITE_BODY
    ud2
.endm
#endif

// INVD and WBINVD: every hypervisor intercepts them (VMX exits unconditionally on INVD); KVM skips INVD and
// flushes for WBINVD only where a device does non-coherent DMA.
.macro INVD_BODY
    invd
.endm
.macro WBINVD_BODY
    wbinvd
.endm

// PAUSE, OPERAND_A of them per sample: a spin-wait loop as pause-loop exiting (PLE, SVM's pause filter)
// sees one.
.macro PAUSE_BODY
3:
    pause
    decl %ecx
    jnz 3b
.endm

// XSETBV of XCR0 (ECX = 0) with 1, x87 state only, its value after reset (needs CR4.OSXSAVE, which the
// host sets for the case).
.macro XSETBV_PREP
    xorl %ecx, %ecx
.endm
.macro XSETBV_BODY
    movl $1, %eax
    xorl %edx, %edx
    xsetbv
.endm

// INVLPG of the mailbox's page (the instruction reads no memory).
.macro INVLPG_BODY
    invlpg MB(LOOP)
.endm

// RDPMC of counter OPERAND_A (in ECX, as MSR_PREP leaves it).
.macro RDPMC_BODY
    rdpmc
.endm

// WRMSR of OPERAND_B (EDX 0) to the MSR in ECX: for MSRs whose value matters (TSC_ADJUST moves the TSC).
.macro WRMSR_VALUE_BODY
    movl OPERAND_B, %eax
    xorl %edx, %edx
    wrmsr
.endm

// `out` of 0 to the in-kernel PIC's ELCR (port 0x4d0: edge/level control of IRQ 0-7, 0 = every one edge, as
// after reset), the port kvm-unit-tests' outl_to_kernel writes.
.macro OUT_KERNEL_BODY
    xorl %eax, %eax
    movw $CGUEST_PORT_ELCR, %dx
    outb %al, %dx
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

// MARK: the local APIC's bodies (long64.S only)

// The interrupt loops need the in-kernel local APIC (KVM_CREATE_IRQCHIP) and long64.S's two handlers
// (vectors CGUEST_VECTOR_X2APIC and CGUEST_VECTOR_XAPIC), which store the TSC at their entry in
// MB(IRQ_TSC), count themselves in MB(IRQ_COUNT) and EOI. Registers: ESI the handler count before the
// event, EDI/RDI an xAPIC register's address or a deadline, R15 the deadline, ECX the MSR.
#ifdef CGUEST_LONG_MODE_BODIES

// x2APIC on (IA32_APIC_BASE EN | EXTD, from xAPIC as KVM resets it), the APIC software-enabled (SVR bit 8,
// spurious vector 0xFF), the LVT timer in TSC-deadline mode (bits 18:17 = 10) on the x2APIC vector, and
// interrupts on.
.macro X2APIC_INIT
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
.endm
// The xAPIC (as KVM resets it) software-enabled through its MMIO SVR, and interrupts on.
.macro XAPIC_INIT
    movl $(CGUEST_APIC_BASE + 0xF0), %edi
    movl $0x1FF, (%rdi)
    sti
.endm

// Self-IPI: the ICR with destination shorthand "self" (bits 19:18 = 01), fixed delivery, the vector; then
// wait for the handler. The x2APIC ICR is MSR 0x830 (EDX, the destination, ignored with a shorthand); the
// xAPIC's low half at offset 0x300 sends when written.
.macro X2APIC_ICR_PREP
    movl MB(IRQ_COUNT), %esi
    movl $0x830, %ecx
.endm
.macro X2APIC_IPI_BODY
    movl $(0x40000 | CGUEST_VECTOR_X2APIC), %eax
    xorl %edx, %edx
    wrmsr
3:
    cmpl MB(IRQ_COUNT), %esi
    je 3b
.endm
.macro XAPIC_ICR_PREP
    movl MB(IRQ_COUNT), %esi
    movl $(CGUEST_APIC_BASE + 0x300), %edi
.endm
.macro XAPIC_IPI_BODY
    movl $(0x40000 | CGUEST_VECTOR_XAPIC), (%rdi)
3:
    cmpl MB(IRQ_COUNT), %esi
    je 3b
.endm
// The sample is the send-to-handler-entry time: the handler's TSC minus the region's start.
.macro IRQ_ENTRY_NEXT
    movl MB(IRQ_TSC), %eax
    subl TSC_START, %eax
.endm

// EOI with nothing in service (KVM finds no ISR bit and does nothing more): the write alone. The x2APIC
// EOI register must be written with 0.
.macro X2APIC_EOI_PREP
    movl $0x80B, %ecx
.endm
.macro X2APIC_EOI_BODY
    xorl %eax, %eax
    xorl %edx, %edx
    wrmsr
.endm
.macro XAPIC_EOI_PREP
    movl $(CGUEST_APIC_BASE + 0xB0), %edi
.endm
.macro XAPIC_EOI_BODY
    movl %eax, (%rdi)
.endm

// TSC-deadline timer: arm IA32_TSC_DEADLINE (0x6E0) OPERAND_A cycles past now and wait for the handler; the
// sample is deadline-to-handler-entry (the handler's TSC minus the deadline's low half).
.macro DEADLINE_PREP
    movl MB(IRQ_COUNT), %esi
    movl $0x6E0, %ecx
.endm
.macro DEADLINE_BODY
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    movl OPERAND_A, %edi
    addq %rdi, %rax
    movq %rax, %r15
    movq %rax, %rdx
    shrq $32, %rdx
    wrmsr
3:
    cmpl MB(IRQ_COUNT), %esi
    je 3b
.endm
.macro DEADLINE_NEXT
    movl MB(IRQ_TSC), %eax
    subl %r15d, %eax
.endm
// Arming alone: a deadline 2^40 cycles away (minutes), rewritten each iteration; it never fires.
.macro DEADLINE_ARM_PREP
    rdtsc
    addl $0x100, %edx
    movl %eax, %edi
    movl %edx, %r15d
    movl $0x6E0, %ecx
.endm
.macro DEADLINE_ARM_BODY
    movl %edi, %eax
    movl %r15d, %edx
    wrmsr
.endm

// Interrupt window: a self-IPI sent with interrupts off, then `sti; nop`: the interrupt is due right after
// the nop (STI's shadow), which KVM delivers through an interrupt-window exit (or the CPU itself, with
// virtual interrupt delivery). A self-IPI not taken there is counted in MB(WINDOW_MISSED); the loop then
// waits for it with interrupts on, about 2^24 compares, and counts it in MB(WINDOW_LOST) if it never comes.
.macro WINDOW_PREP
    cli
    movl MB(IRQ_COUNT), %esi
    movl $0x830, %ecx
.endm
.macro WINDOW_BODY
    movl $(0x40000 | CGUEST_VECTOR_X2APIC), %eax
    xorl %edx, %edx
    wrmsr
    sti
    nop
    cli
    cmpl MB(IRQ_COUNT), %esi
    jne 4f
    incl MB(WINDOW_MISSED)
    movl $0x1000000, %edi
    sti
3:
    cmpl MB(IRQ_COUNT), %esi
    jne 4f
    decl %edi
    jnz 3b
    incl MB(WINDOW_LOST)
4:
    cli
.endm

// `sti; hlt` with the self-IPI pending: the halt ends at once, the interrupt taken right after it (the wake-up
// path of an idle guest; with an in-kernel LAPIC KVM handles the HLT itself).
.macro STI_HLT_BODY
    movl $(0x40000 | CGUEST_VECTOR_X2APIC), %eax
    xorl %edx, %edx
    wrmsr
    sti
    hlt
    cli
.endm

// Cross-vCPU IPI (two vCPUs): the second vCPU runs long64.S's AP entry, which turns its x2APIC on, sets
// MB(AP_STAGE) and waits for the IPI, spinning (ipi) or in `hlt` (ipi_halt = CGUEST_LOOP_IPI_HALT), with
// interrupts on. Its handler is the x2APIC one, so MB(IRQ_COUNT) counts the IPIs it took; this vCPU takes
// none. The init waits up to 2^30 TSC cycles (~0.5 s at 2 GHz, within the watchdog's 2 s) for MB(AP_STAGE):
// counted in cycles, not compares, since an emulated guest compares ~1,000 times slower. A second vCPU that
// never got there ends the loop at once with no samples (the host reports why).
.macro IPI_INIT
    X2APIC_INIT
    AP_WAIT
.endm
.macro AP_WAIT
    rdtsc
    movl %eax, %edi
3:
    cmpl $0, MB(AP_STAGE)
    jne 4f
    rdtsc
    subl %edi, %eax
    cmpl $0x40000000, %eax
    jb 3b
    jmp LOOP_DONE
4:
.endm
// The halted case sends only once the other vCPU is back in `hlt`: its loop sets MB(AP_STAGE) to 2 just
// before `sti; hlt` (with interrupts off, so nothing comes between), this vCPU waits for that, takes it back
// to 1, and lets 20,000 more cycles pass for the halt to be entered (kvm-unit-tests' ipi_halt waits 2,000;
// an emulated guest needs more). Untimed.
.macro IPI_HALT_PREP
    HALT_WAIT
    X2APIC_ICR_PREP
.endm
.macro HALT_WAIT
3:
    cmpl $2, MB(AP_STAGE)
    jne 3b
    movl $1, MB(AP_STAGE)
    rdtsc
    movl %eax, %edi
4:
    rdtsc
    subl %edi, %eax
    cmpl $20000, %eax
    jb 4b
.endm
// The ICR: fixed delivery, physical destination mode, no shorthand, the x2APIC vector; EDX the destination,
// x2APIC ID 1. The sample is the round trip: send, the other vCPU's handler entry and count, and this vCPU
// seeing the count change.
.macro IPI_BODY
    movl $CGUEST_VECTOR_X2APIC, %eax
    movl $1, %edx
    wrmsr
3:
    cmpl MB(IRQ_COUNT), %esi
    je 3b
.endm

// MARK: the CPL3 bodies (long64.S only)

// A CPL3 loop has the guest's own CPL0 code do what CPL3 may not through a service call (`int3`, EAX the
// service: CGuest.h): once in the init, and for the timer in each iteration, before the deadline it sets.
// Interrupts are then on at CPL3 (RFLAGS.IF, IOPL 0: the loop cannot turn them off).
.macro SERVICE number
    movl $(\number), %eax
    int3
.endm

// `syscall` to long64.S's entry at CPL0, which returns at once with `sysretq`: the round trip of a system
// call of the guest's own, which VMX and SVM never intercept.
.macro SYSCALL_INIT
    SERVICE CGUEST_SERVICE_SYSCALL
.endm
.macro SYSCALL_BODY
    syscall
.endm

// A load from an address long mode's page tables leave unmapped (MB(ADDRESS), in R11): #PF at CPL3, taken by
// long64.S's handler at CPL0, which resumes at the label after the load (MB(FAULT_RESUME), set untimed).
.macro FAULT_RESUME_PREP
    leaq 4f(%rip), %rcx
    movq %rcx, MB(FAULT_RESUME)
.endm
.macro USER_FAULT_BODY
    movl (%r11), %eax
4:
.endm

// The APIC set up by the service, interrupts on at CPL3: the xAPIC loops' bodies are stores to the APIC page
// (a user page here) and run as at CPL0; the timer's deadline is set by the service.
.macro XAPIC_USER_INIT
    SERVICE CGUEST_SERVICE_XAPIC
.endm
.macro X2APIC_USER_INIT
    SERVICE CGUEST_SERVICE_X2APIC
.endm
// As DEADLINE_BODY, the deadline (R15, RDI) set through the service call (untimed in the sample, which
// starts at the deadline; the lead must cover the call's round trip).
.macro DEADLINE_USER_BODY
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    movl OPERAND_A, %edi
    addq %rdi, %rax
    movq %rax, %r15
    movq %rax, %rdi
    SERVICE CGUEST_SERVICE_DEADLINE
3:
    cmpl MB(IRQ_COUNT), %esi
    je 3b
.endm

// Cross-vCPU IPI from CPL3 (ipi_user, ipi_halt_user): the sender's xAPIC set up by the service, then as
// IPI_INIT's wait for the second vCPU, which software-enables its xAPIC too and spins at CPL3 (ipi_user: its
// own TSS's RSP0 takes the handler) or halts at CPL0 (`hlt` faults at CPL3). The body writes the ICR as an
// xAPIC guest does: the high half (offset 0x310: destination APIC ID 1 in bits 31:24), then the low half
// (fixed delivery, physical, no shorthand, the xAPIC vector), which sends; both are stores to the APIC page, a
// user page here. Then the round trip, as IPI_BODY's.
.macro IPI_USER_INIT
    XAPIC_USER_INIT
    AP_WAIT
.endm
.macro IPI_HALT_USER_PREP
    HALT_WAIT
    XAPIC_ICR_PREP
.endm
.macro XAPIC_IPI_DEST_BODY
    movl $(1 << 24), 0x10(%rdi)
    movl $CGUEST_VECTOR_XAPIC, (%rdi)
3:
    cmpl MB(IRQ_COUNT), %esi
    je 3b
.endm

#else
// Every other payload (real16.S): no APIC handler, so the loops are a #UD the payload reports.
.macro LONG_MODE_ONLY
    ud2
.endm
#define X2APIC_INIT LONG_MODE_ONLY
#define XAPIC_INIT LONG_MODE_ONLY
#define X2APIC_ICR_PREP NONE
#define X2APIC_IPI_BODY NONE
#define XAPIC_ICR_PREP NONE
#define XAPIC_IPI_BODY NONE
#define IRQ_ENTRY_NEXT NONE
#define X2APIC_EOI_PREP NONE
#define X2APIC_EOI_BODY NONE
#define XAPIC_EOI_PREP NONE
#define XAPIC_EOI_BODY NONE
#define DEADLINE_PREP NONE
#define DEADLINE_BODY NONE
#define DEADLINE_NEXT NONE
#define DEADLINE_ARM_PREP NONE
#define DEADLINE_ARM_BODY NONE
#define WINDOW_PREP NONE
#define WINDOW_BODY NONE
#define STI_HLT_BODY NONE
#define IPI_INIT LONG_MODE_ONLY
#define IPI_BODY NONE
#define IPI_HALT_PREP NONE
#define SYSCALL_INIT LONG_MODE_ONLY
#define SYSCALL_BODY NONE
#define FAULT_RESUME_PREP LONG_MODE_ONLY
#define USER_FAULT_BODY NONE
#define XAPIC_USER_INIT LONG_MODE_ONLY
#define X2APIC_USER_INIT LONG_MODE_ONLY
#define DEADLINE_USER_BODY NONE
#define IPI_USER_INIT LONG_MODE_ONLY
#define IPI_HALT_USER_PREP NONE
#define XAPIC_IPI_DEST_BODY NONE
#endif

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
