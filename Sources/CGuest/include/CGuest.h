// CGuest: the tiny guests' machine code, assembled from the .S files beside this target's sources, exposed to
// Swift as byte ranges, and the guest-physical layout the payloads and the Swift side (GuestLayout) share.
// No logic: constants, the payload symbols, and one accessor per payload.
//
// This header is included by the .S files too (__ASSEMBLER__ defined), so everything outside the C-only
// block is a plain integer #define that both the assembler and Swift read.
#ifndef CGUEST_H
#define CGUEST_H

// MARK: guest-physical layout (both modes)

/// Where the payload is loaded and where execution starts: CS:IP 0000:1000 in real mode, RIP in long mode.
#define CGUEST_CODE_ADDRESS 0x1000
/// The most bytes a payload may take (it must end below long mode's GDT, and so below the mailbox).
#define CGUEST_CODE_LIMIT 0x3000
/// Offset, from the payload's start, of the first exception stub (the payload starts with a jump over them).
#define CGUEST_STUBS_OFFSET 0x10
/// Bytes between two real-mode exception stubs (the IVT points at stub min(vector, 32)).
#define CGUEST_REAL16_STUB_STRIDE 8
/// Bytes between two long-mode exception stubs (the IDT points at stub vector, 0–31).
#define CGUEST_LONG64_STUB_STRIDE 16
/// Real-mode stubs: one per exception vector 0–31, and stub 32 for every other vector.
#define CGUEST_REAL16_STUB_COUNT 33
/// Long-mode stubs: one per exception vector 0–31 (the IDT has 32 gates).
#define CGUEST_LONG64_STUB_COUNT 32
/// The shared area: parameters in, status and the canary CPUID result out. In the page of long mode's GDT and
/// TSS (0x4000, 0x4100), after them, so that the payloads may take 12 KiB.
#define CGUEST_MAILBOX_ADDRESS 0x4800
/// Where the guest stores its samples, one 32-bit TSC delta each.
#define CGUEST_SAMPLES_ADDRESS 0x10000
/// The real-mode segment (ES) whose base is CGUEST_SAMPLES_ADDRESS: real mode holds 64 KiB of samples.
#define CGUEST_REAL16_SAMPLES_SEGMENT 0x1000
/// The real-mode stack top (SS = 0).
#define CGUEST_REAL16_STACK_TOP 0xF000

// MARK: mailbox offsets (from CGUEST_MAILBOX_ADDRESS)

/// u32, in: which timed loop to run (a number of CGuestLoops.h's lists).
#define CGUEST_MB_LOOP 0x00
/// u32, in: CGUEST_FLAG_*.
#define CGUEST_MB_FLAGS 0x04
/// u32, in: samples to store after the warm-up.
#define CGUEST_MB_ITERATIONS 0x08
/// u32, in: iterations to run first and not store; the guest counts it down.
#define CGUEST_MB_WARMUP 0x0C
/// u32, in: the loop's first operand (CPUID leaf, MSR index, hypercall number, null-loop batch).
#define CGUEST_MB_OPERAND_A 0x10
/// u32, in: the loop's second operand (CPUID subleaf).
#define CGUEST_MB_OPERAND_B 0x14
/// u64, in: long mode's MMIO or first-touch address.
#define CGUEST_MB_ADDRESS 0x18
/// u16, in: real mode's MMIO or first-touch segment (the access is at offset 0 of it).
#define CGUEST_MB_SEGMENT 0x20
/// u32, out: how far the guest got (CGUEST_STAGE_*).
#define CGUEST_MB_STAGE 0x24
/// u32, out: 1 once the loop finished; a CPL3 guest sets it before trapping to its CPL0 handler.
#define CGUEST_MB_DONE 0x28
/// u32, out: samples stored.
#define CGUEST_MB_STORED 0x2C
/// u32, out: the vector of the exception the guest took.
#define CGUEST_MB_FAULT_VECTOR 0x30
/// u64, out: its error code (0 for vectors without one).
#define CGUEST_MB_FAULT_ERROR 0x38
/// u64, out: the RIP (real mode: IP) it was raised at.
#define CGUEST_MB_FAULT_RIP 0x40
/// u64, out: CR2 when it was raised (long mode).
#define CGUEST_MB_FAULT_CR2 0x48
/// 4 × u32, out: EAX, EBX, ECX, EDX of CPUID 0x4000_0000, run once before the loop at the loop's CPL.
#define CGUEST_MB_CANARY 0x50
/// u32, out: interrupts long64.S's APIC handlers took (each entry counts once).
#define CGUEST_MB_IRQ_COUNT 0x60
/// u32, out: the low half of the TSC read on entry to the last interrupt handler.
#define CGUEST_MB_IRQ_TSC 0x64
/// u32, out: iterations of the interrupt-window loop whose self-IPI was not taken in its `sti; nop` window.
#define CGUEST_MB_WINDOW_MISSED 0x68
/// u32, out: iterations of the interrupt-window loop whose self-IPI was not taken at all before the loop
/// gave up waiting (about 2^24 compares with interrupts enabled).
#define CGUEST_MB_WINDOW_LOST 0x6C
/// u32, out: 1 once the second vCPU (the cross-vCPU IPI cases) has its x2APIC on and waits for the IPI; with
/// ipi_halt, 2 just before each of its `hlt`s (the sender takes it back to 1 before it sends).
#define CGUEST_MB_AP_STAGE 0x70
/// u32, out: page faults long64.S's #PF handler resumed at MB(FAULT_RESUME).
#define CGUEST_MB_FAULTS_RESUMED 0x74
/// u64, in (written by the guest's own loop): where long64.S's #PF handler resumes a page fault it was told
/// to expect (the CPL3 page-fault loop); 0: a #PF is reported as any other exception.
#define CGUEST_MB_FAULT_RESUME 0x78
/// Bytes of the mailbox the payloads use.
#define CGUEST_MB_SIZE 0x80

// MARK: stages, flags, loops, ports

#define CGUEST_STAGE_ENTERED 1
#define CGUEST_STAGE_CANARY_READ 2
#define CGUEST_STAGE_LOOPING 3

/// End each timed region with `rdtscp; lfence` instead of `lfence; rdtsc`.
#define CGUEST_FLAG_RDTSCP 1

// The timed loops (their numbers, names and bodies) are listed in CGuestLoops.h.

/// `out dx, al` here ends the run: the loop finished and the samples are in place.
#define CGUEST_PORT_DONE 0x0510
/// `out dx, al` here reports an exception: vector, error code, RIP and CR2 are in the mailbox.
#define CGUEST_PORT_FAULT 0x0511
/// The user-space port of the port I/O loops (an 8-bit immediate: no setup instruction in the timed
/// region). No KVM in-kernel device claims it.
#define CGUEST_PORT_USER 0xE8
/// The in-kernel port: channel 0 of the i8254 that KVM_CREATE_PIT2 puts at 0x40–0x43.
#define CGUEST_PORT_KERNEL 0x40
/// The vector of long64.S's x2APIC handler (its EOI: WRMSR 0x80B): the x2APIC self-IPIs and the
/// TSC-deadline timer.
#define CGUEST_VECTOR_X2APIC 0x40
/// The vector of long64.S's xAPIC handler (its EOI: a store to 0xFEE000B0): the xAPIC self-IPI.
#define CGUEST_VECTOR_XAPIC 0x41
/// Gates in long mode's IDT: the 32 exception vectors, then nothing up to the two APIC vectors.
#define CGUEST_LONG64_IDT_GATES 0x42
/// The service call: a CPL3 loop's way to have CPL0 code of the guest itself do what CPL3 may not (wrmsr).
/// It executes `int3` with EAX = CGUEST_SERVICE_* (this tag in the high half, the service in the low); the #BP
/// gate (DPL3) enters long64.S's handler, which runs the service and returns after the int3 with iretq,
/// having changed RAX, RCX, RDX and RDI. `int3`, not a gate of its own: kvm_pvm raised #UD for an `int 0x42`
/// at CPL3 (through a DPL3 gate), where int3 reaches the guest's handler.
#define CGUEST_SERVICE_TAG 0x5E4C0000
/// The services: EFER.SCE, STAR, LSTAR and SFMASK for `syscall` to long64.S's entry, which returns at once
/// with `sysretq` (MB(OPERAND_A) 0) or `iretq`.
#define CGUEST_SERVICE_SYSCALL (CGUEST_SERVICE_TAG | 1)
/// x2APIC on, as X2APIC_INIT, and interrupts on at the caller's CPL (RFLAGS.IF set in the frame iretq pops).
#define CGUEST_SERVICE_X2APIC (CGUEST_SERVICE_TAG | 2)
/// The xAPIC software-enabled (SVR), as XAPIC_INIT, and interrupts on at the caller's CPL.
#define CGUEST_SERVICE_XAPIC (CGUEST_SERVICE_TAG | 3)
/// IA32_TSC_DEADLINE = RDI.
#define CGUEST_SERVICE_DEADLINE (CGUEST_SERVICE_TAG | 4)
/// STAR[63:48]: SYSRET's selector base. 64-bit SYSRET loads SS = base + 8 and CS = base + 16 (RPL 3): the
/// GDT's slots 7 (data, DPL3) and 8 (code64, DPL3), after the TSS descriptor.
#define CGUEST_SYSRET_BASE 0x30
/// Long mode's CPL3 selectors (RPL 3) as the host enters CPL3 with them (GuestLayout's Selector).
#define CGUEST_SELECTOR_USER_CODE 0x1B
#define CGUEST_SELECTOR_USER_DATA 0x23
/// STAR[47:32]: SYSCALL's CS (the DPL0 code64 selector; SS is the next, the DPL0 data selector).
#define CGUEST_SYSCALL_CS 0x08
/// SFMASK: the RFLAGS bits SYSCALL clears (TF, IF, DF, AC), so the entry runs with interrupts off.
#define CGUEST_SYSCALL_FLAGS_MASK 0x40700
/// Offset, from the payload's start, of the x2APIC handler, right after the last exception stub
/// (CGUEST_STUBS_OFFSET + 32 × CGUEST_LONG64_STUB_STRIDE; long64.S's .org fails should they overlap); the
/// xAPIC handler follows one stride later.
#define CGUEST_LONG64_IRQ_OFFSET 0x210
/// Bytes between the two APIC handlers.
#define CGUEST_LONG64_IRQ_STRIDE 0x40
/// Offset, from the payload's start, of the second vCPU's entry (the cross-vCPU IPI cases), one stride after
/// the xAPIC handler: the host starts vCPU 1 there in long mode at CPL0.
#define CGUEST_LONG64_AP_OFFSET 0x290
/// The second vCPU's stack top: the lower part of the CPL0 stack (0x9000–0xA000), which the first vCPU, from
/// 0xC000 down, never reaches.
#define CGUEST_LONG64_AP_STACK_TOP 0xA000
/// The second vCPU's stack top at CPL3 (ipi_user), below the CPL0 stack its own TSS's RSP0 points at (its
/// spin loop pushes nothing; the frame iretq pops needs one).
#define CGUEST_LONG64_AP_USER_STACK_TOP 0x9800
/// The loop whose second vCPU waits in `hlt` (ipi_halt); with any other loop it spins with interrupts on.
#define CGUEST_LOOP_IPI_HALT 29
/// The CPL3 sender's loops (xAPIC ICR through the APIC page): their second vCPU software-enables its xAPIC
/// (not x2APIC: the xAPIC handler takes the IPI), and for ipi_user spins at CPL3; ipi_halt_user's halts at CPL0.
#define CGUEST_LOOP_IPI_USER 57
#define CGUEST_LOOP_IPI_HALT_USER 58
/// The local APIC's xAPIC registers (guest-physical, KVM's default base), mapped uncached by long mode's
/// page tables.
#define CGUEST_APIC_BASE 0xFEE00000
/// The in-kernel PIC's ELCR (edge/level control of IRQ 0–7), which KVM_CREATE_IRQCHIP's i8259 answers: the
/// port the in-kernel port write targets.
#define CGUEST_PORT_ELCR 0x4D0
/// The vector a real-mode guest reports for an interrupt outside 0–31 (stub 32).
#define CGUEST_VECTOR_OTHER 0x100

#ifndef __ASSEMBLER__
#include <stddef.h>
// The loop table for Swift. The .S files include CGuestLoops.h themselves, after the operand names it uses.
#include "CGuestLoops.h"

/// One payload: its first byte and its length.
typedef struct {
    const unsigned char *bytes;
    size_t length;
} cguest_payload;

// Defined in real16.S and long64.S.
extern const unsigned char cguest_real16_start[], cguest_real16_end[];
extern const unsigned char cguest_long64_start[], cguest_long64_end[];

/// The 16-bit real-mode payload (real16.S), to be loaded at CGUEST_CODE_ADDRESS.
static inline cguest_payload cguest_real16(void) {
    return (cguest_payload){cguest_real16_start, (size_t)(cguest_real16_end - cguest_real16_start)};
}

/// The 64-bit long-mode payload (long64.S), to be loaded at CGUEST_CODE_ADDRESS; it runs at CPL0 or CPL3.
static inline cguest_payload cguest_long64(void) {
    return (cguest_payload){cguest_long64_start, (size_t)(cguest_long64_end - cguest_long64_start)};
}
#endif

// The three-level guest: the mini-hypervisor payload, its layout and the VMCB it builds on.
#include "CGuestSVM.h"

#endif
