// CGuestSVM.h: what the three-level guest (svm64.S) and the Swift side (NestedSVM*.swift) share — where the
// mini-hypervisor keeps its VMCB, host save area, permission maps, code and stack, the mailbox fields it adds
// after the payloads' own, its roles, loops, stages and results, and the VMCB offsets and #VMEXIT codes it
// reads. Included at the end of CGuest.h, so by the .S files too: plain integer #defines only, except the
// payload accessor in the C-only block.
//
// VMCB offsets and exit codes: AMD64 Architecture Programmer's Manual vol. 2, appendix B (VMCB layout) and
// appendix C (SVM intercept exit codes); checked against Linux arch/x86/include/asm/svm.h and
// kvm-unit-tests x86/svm.h, and by NestedSVMVMCBTests.
#ifndef CGUEST_SVM_H
#define CGUEST_SVM_H

// MARK: guest-physical layout of the second memory slot (1 MiB up, inside long mode's identity map)

/// The slot's first byte and its size.
#define CGUEST_SVM_REGION_ADDRESS 0x100000
#define CGUEST_SVM_REGION_SIZE 0x20000
/// The VMCB of the guest's guest (4 KiB, page-aligned).
#define CGUEST_SVM_VMCB_ADDRESS 0x100000
/// The host save area VM_HSAVE_PA points at.
#define CGUEST_SVM_HSAVE_ADDRESS 0x101000
/// A second VMCB page that the vmload and vmsave loops use, so the guest's guest's VMCB is never touched.
#define CGUEST_SVM_SCRATCH_VMCB_ADDRESS 0x102000
/// The I/O permission map: 12 KiB, every bit set (every port intercepted).
#define CGUEST_SVM_IOPM_ADDRESS 0x103000
#define CGUEST_SVM_IOPM_SIZE 0x3000
/// The MSR permission map: 8 KiB, every bit set (every rdmsr and wrmsr intercepted).
#define CGUEST_SVM_MSRPM_ADDRESS 0x106000
#define CGUEST_SVM_MSRPM_SIZE 0x2000
/// The guest's guest's general registers while the mini-hypervisor runs (RAX and RSP live in the VMCB):
/// RBX, RCX, RDX, RSI, RDI, RBP, R8–R15, 8 bytes each in that order.
#define CGUEST_SVM_REGS_ADDRESS 0x108000
/// The mini-hypervisor's stack (grows down from here, to CGUEST_SVM_REGS_ADDRESS + 0x1000).
#define CGUEST_SVM_STACK_TOP 0x10C000
/// The mini-hypervisor's own IDT (CGUEST_LONG64_IDT_GATES gates, written by the host), loaded with
/// CGUEST_SVM_FLAG_TIMER: long64.S's gates, but the x2APIC vector's goes to svm64.S's timer handler
/// (CGUEST_SVM_TIMER_IRQ_OFFSET), so that this level's own interrupt is never counted by the guest's guest's.
#define CGUEST_SVM_IDT_ADDRESS 0x10C000
/// Where svm64.S is loaded and starts; at most CGUEST_SVM_CODE_LIMIT bytes.
#define CGUEST_SVM_CODE_ADDRESS 0x110000
#define CGUEST_SVM_CODE_LIMIT 0x4000
/// Offset in svm64.S of `vmmcall; jmp` — the guest's guest of the vmrun loop: it exits at once, every time.
#define CGUEST_SVM_BOUNCE_OFFSET 0x10
/// Offset in svm64.S of its own timer handler (the gate of the x2APIC vector in CGUEST_SVM_IDT_ADDRESS).
#define CGUEST_SVM_TIMER_IRQ_OFFSET 0x20

// MARK: mailbox fields of the three-level guest (offsets from CGUEST_MAILBOX_ADDRESS, after CGuest.h's own)

/// u32, in: CGUEST_SVM_ROLE_*.
#define CGUEST_SVM_MB_ROLE 0x100
/// u32, in: CGUEST_SVM_FLAG_*.
#define CGUEST_SVM_MB_FLAGS 0x104
/// u32, out: how far the mini-hypervisor got (CGUEST_SVM_STAGE_*).
#define CGUEST_SVM_MB_STAGE 0x108
/// u32, out: why it stopped (CGUEST_SVM_RESULT_*).
#define CGUEST_SVM_MB_RESULT 0x10C
/// 4 × u32, out: EAX, EBX, ECX, EDX of CPUID 0x4000_0000 in the mini-hypervisor (this level's canary).
#define CGUEST_SVM_MB_CANARY 0x110
/// u32 each, out: every #VMEXIT, then those it handled, by kind. IOIO leaves out the done and fault ports.
#define CGUEST_SVM_MB_EXITS 0x120
#define CGUEST_SVM_MB_COUNT_CPUID 0x124
#define CGUEST_SVM_MB_COUNT_VMMCALL 0x128
#define CGUEST_SVM_MB_COUNT_HLT 0x12C
#define CGUEST_SVM_MB_COUNT_IOIO 0x130
#define CGUEST_SVM_MB_COUNT_MSR 0x134
/// u64, out: EXITCODE of the latest #VMEXIT (stored at every exit, so a hang still says where it was).
#define CGUEST_SVM_MB_EXIT_CODE 0x140
/// u64 each, out: EXITINFO1, EXITINFO2, EXITINTINFO, the guest's guest's RIP and nRIP of the #VMEXIT that
/// stopped the mini-hypervisor (stored only then).
#define CGUEST_SVM_MB_EXIT_INFO1 0x148
#define CGUEST_SVM_MB_EXIT_INFO2 0x150
#define CGUEST_SVM_MB_EXIT_INT_INFO 0x158
#define CGUEST_SVM_MB_EXIT_RIP 0x160
#define CGUEST_SVM_MB_EXIT_NEXT_RIP 0x168
/// u64, in: one more #VMEXIT code the relay answers by stepping over the instruction (the case's own
/// intercept, where none of the handlers above is its); u32, in: that instruction's length in bytes, 0 for
/// none; u32, out: how many it stepped over.
#define CGUEST_SVM_MB_STEP_CODE 0x170
#define CGUEST_SVM_MB_STEP_LENGTH 0x178
#define CGUEST_SVM_MB_COUNT_STEP 0x17C
/// u32, out: the self-IPIs (with CGUEST_SVM_FLAG_SELF_IPI) or timer interrupts (CGUEST_SVM_FLAG_TIMER) it
/// injected.
#define CGUEST_SVM_MB_COUNT_INJECTED 0x180
/// u32, out: the #VMEXIT INTRs it handled (with CGUEST_SVM_FLAG_TIMER).
#define CGUEST_SVM_MB_COUNT_INTR 0x184
/// Bytes of the mailbox the three-level guest uses in all.
#define CGUEST_SVM_MB_END 0x188

/// Relay: run the guest's guest (long64.S at CPL0, loop MB LOOP) and answer its intercepts until it says done.
#define CGUEST_SVM_ROLE_RELAY 0
/// Own: time the mini-hypervisor's own loop MB LOOP (one of CGUEST_SVM_LOOPS) in the guest itself.
#define CGUEST_SVM_ROLE_OWN 1

/// Resume the guest's guest at the VMCB's nRIP (CPUID Fn8000_000A EDX[3], NRIPS); else by instruction length.
#define CGUEST_SVM_FLAG_NRIPS 1
/// Answer the guest's guest's x2APIC self-IPI (a wrmsr to the ICR, 0x830, shorthand self) as an APIC would:
/// inject its vector with EVENTINJ on the next VMRUN.
#define CGUEST_SVM_FLAG_SELF_IPI 2
/// Route this level's own TSC-deadline timer to the guest's guest: its x2APIC on (the LVT timer in TSC-deadline
/// mode on the x2APIC vector), its own IDT loaded, the guest's guest's IA32_TSC_DEADLINE writes forwarded to
/// its own MSR; a #VMEXIT INTR (the VMCB intercepts INTR, V_INTR_MASKING set) is acknowledged by taking the
/// interrupt on its own IDT (STGI, then CLGI), whose handler EOIs and injects the x2APIC vector with
/// EVENTINJ on the next VMRUN.
#define CGUEST_SVM_FLAG_TIMER 4

// The mini-hypervisor's own loops are CGuestLoops.h's CGUEST_SVM_LOOPS.

#define CGUEST_SVM_STAGE_ENTERED 1    // running, before EFER.SVME
#define CGUEST_SVM_STAGE_SVME 2       // EFER.SVME set
#define CGUEST_SVM_STAGE_HSAVE 3      // VM_HSAVE_PA written
#define CGUEST_SVM_STAGE_RUNNING 4    // relaying, or timing its own loop
#define CGUEST_SVM_STAGE_FINISHED 5   // reported its result

#define CGUEST_SVM_RESULT_NONE 0            // still running (a fault port from here: its own exception)
#define CGUEST_SVM_RESULT_DONE 1            // the guest's guest said done, or its own loop finished
#define CGUEST_SVM_RESULT_INNER_FAULT 2     // the guest's guest reported an exception (the mailbox's fault fields)
#define CGUEST_SVM_RESULT_STOPPED 3         // a #VMEXIT it does not handle (the exit fields say which)

/// The canary the mini-hypervisor answers CPUID with: "NestprobeSVM" in EBX, ECX, EDX.
#define CGUEST_SVM_CANARY_EBX 0x7473654E  // "Nest"
#define CGUEST_SVM_CANARY_ECX 0x626F7270  // "prob"
#define CGUEST_SVM_CANARY_EDX 0x4D565365  // "eSVM"

// MARK: MSRs and bits (APM vol. 2 §15.4, §15.30.4)

#define CGUEST_MSR_EFER 0xC0000080
#define CGUEST_EFER_SVME 0x1000
#define CGUEST_MSR_VM_HSAVE_PA 0xC0010117

// MARK: VMCB control area (offsets from the VMCB)

#define CGUEST_VMCB_INTERCEPT_CR 0x000          // u16 reads, u16 writes
#define CGUEST_VMCB_INTERCEPT_DR 0x004          // u16 reads, u16 writes
#define CGUEST_VMCB_INTERCEPT_EXCEPTIONS 0x008  // one bit per vector
#define CGUEST_VMCB_INTERCEPT_MISC1 0x00C       // INTR … SHUTDOWN
#define CGUEST_VMCB_INTERCEPT_MISC2 0x010       // VMRUN … XSETBV
#define CGUEST_VMCB_IOPM_BASE 0x040
#define CGUEST_VMCB_MSRPM_BASE 0x048
#define CGUEST_VMCB_TSC_OFFSET 0x050
#define CGUEST_VMCB_ASID 0x058
#define CGUEST_VMCB_TLB_CONTROL 0x05C
#define CGUEST_VMCB_INT_CTL 0x060
#define CGUEST_VMCB_EXIT_CODE 0x070
#define CGUEST_VMCB_EXIT_INFO1 0x078
#define CGUEST_VMCB_EXIT_INFO2 0x080
#define CGUEST_VMCB_EXIT_INT_INFO 0x088
#define CGUEST_VMCB_NESTED_CONTROL 0x090        // bit 0: NP_ENABLE
#define CGUEST_VMCB_EVENT_INJECTION 0x0A8
#define CGUEST_VMCB_CLEAN_BITS 0x0C0
#define CGUEST_VMCB_NEXT_RIP 0x0C8

// MARK: VMCB state save area (offsets from the VMCB; the area starts at 0x400)

#define CGUEST_VMCB_SAVE_AREA 0x400
#define CGUEST_VMCB_ES 0x400  // each segment: u16 selector, u16 attributes, u32 limit, u64 base
#define CGUEST_VMCB_CS 0x410
#define CGUEST_VMCB_SS 0x420
#define CGUEST_VMCB_DS 0x430
#define CGUEST_VMCB_FS 0x440
#define CGUEST_VMCB_GS 0x450
#define CGUEST_VMCB_GDTR 0x460
#define CGUEST_VMCB_LDTR 0x470
#define CGUEST_VMCB_IDTR 0x480
#define CGUEST_VMCB_TR 0x490
#define CGUEST_VMCB_CPL 0x4CB
#define CGUEST_VMCB_EFER 0x4D0
#define CGUEST_VMCB_CR4 0x548
#define CGUEST_VMCB_CR3 0x550
#define CGUEST_VMCB_CR0 0x558
#define CGUEST_VMCB_DR7 0x560
#define CGUEST_VMCB_DR6 0x568
#define CGUEST_VMCB_RFLAGS 0x570
#define CGUEST_VMCB_RIP 0x578
#define CGUEST_VMCB_RSP 0x5D8
#define CGUEST_VMCB_RAX 0x5F8
#define CGUEST_VMCB_CR2 0x640
#define CGUEST_VMCB_G_PAT 0x668

// MARK: #VMEXIT codes the mini-hypervisor handles or reports (APM vol. 2, appendix C)

#define CGUEST_SVM_EXIT_EXCEPTION_BASE 0x40  // + vector
#define CGUEST_SVM_EXIT_INTR 0x60
#define CGUEST_SVM_EXIT_CPUID 0x72
#define CGUEST_SVM_EXIT_HLT 0x78
#define CGUEST_SVM_EXIT_IOIO 0x7B
#define CGUEST_SVM_EXIT_MSR 0x7C
#define CGUEST_SVM_EXIT_SHUTDOWN 0x7F
#define CGUEST_SVM_EXIT_VMRUN 0x80
#define CGUEST_SVM_EXIT_VMMCALL 0x81
#define CGUEST_SVM_EXIT_NPF 0x400
/// VMEXIT_INVALID: VMRUN failed its consistency checks (EXITCODE is -1).
#define CGUEST_SVM_EXIT_INVALID (-1)

#ifndef __ASSEMBLER__
// Defined in svm64.S.
extern const unsigned char cguest_svm64_start[], cguest_svm64_end[];

/// The mini-hypervisor payload (svm64.S), to be loaded at CGUEST_SVM_CODE_ADDRESS.
static inline cguest_payload cguest_svm64(void) {
    return (cguest_payload){cguest_svm64_start, (size_t)(cguest_svm64_end - cguest_svm64_start)};
}
#endif

#endif
