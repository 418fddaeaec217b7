/* SPDX-License-Identifier: MIT */
/*
 * x86 Linux boot: load a bzImage for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol") and describe the
 * vCPU state the kernel expects at its 64-bit entry point.
 *
 * Or an uncompressed vmlinux (ELF64, recognised by its magic): the same
 * state and zero page (with a setup header arca writes itself), its PT_LOAD
 * segments at their physical addresses (16 MiB for x86's default
 * LOAD_PHYSICAL_ADDR) and the BSP entering startup_64 of the kernel proper
 * (e_entry) directly. That skips the in-guest decompressor (its time, ~50 MB
 * of LZ4 output, and the guest memory it touches: 55 MiB less per VM), and
 * with it KASLR (the decompressor is what randomizes the kernel's base). The launcher makes the vmlinux from the
 * bzImage once (launcher/vmlinux.h) and keeps it in the cache.
 *
 * No firmware and no real-mode setup code run: the VMM plays the boot loader.
 * It copies the protected-mode kernel to 1 MiB, writes a zero page
 * (struct boot_params), a command line, a GDT and identity page tables into
 * low RAM, and starts the BSP in long mode at load address + 0x200
 * (startup_64 of the decompressor) with %rsi = zero page.
 *
 * The bzImage comes from the user (--kernel PATH): every header field used
 * as an offset or a size is checked against the file length and guest RAM.
 * Everything written into guest memory goes through gm_ptr().
 *
 * Low RAM layout (all below GM_EBDA_START, which the e820 map reports usable;
 * Linux reserves the whole first MiB for itself anyway):
 *   0x0500 .. 0x052f  GDT: 0x00 null, 0x08 null, 0x10 code64 (__BOOT_CS),
 *                     0x18 data (__BOOT_DS), 0x20 busy 64-bit TSS (16 bytes)
 *   0x0540 .. 0x0547  IDT: one zero gate, limit 7; any exception before Linux
 *                     installs its own IDT triple-faults into a clean
 *                     KVM_EXIT_SHUTDOWN instead of running garbage
 *   0x7000 .. 0x7fff  zero page (struct boot_params)
 *   0x8000 .. 0x8fef  boot stack, %rsp = 0x8ff0
 *   0x9000            PML4
 *   0xa000            PDPT
 *   0xb000 .. 0xefff  4 page directories, 2 MiB pages: identity map of 0..4 GiB
 *   0x20000 ..        command line (NUL-terminated, at most 64 KiB)
 *   0x100000 ..       protected-mode kernel (the bzImage minus its setup sectors);
 *                     a vmlinux's segments go where their p_paddr says, >= 1 MiB
 */
#ifndef ARCA_BOOT_H
#define ARCA_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>
#include <linux/kvm.h>

#include "guestmem.h"

#define BOOT_GDT_GPA        0x500ull
#define BOOT_IDT_GPA        0x540ull
#define BOOT_ZERO_PAGE_GPA  0x7000ull
#define BOOT_STACK_TOP      0x8ff0ull
#define BOOT_PML4_GPA       0x9000ull
#define BOOT_PDPT_GPA       0xa000ull
#define BOOT_PD_GPA         0xb000ull   /* 4 pages, one per GiB */
#define BOOT_CMDLINE_GPA    0x20000ull
#define BOOT_CMDLINE_MAX    0x10000ull  /* bytes, NUL included */
#define BOOT_KERNEL_GPA     0x100000ull

/* GDT selectors: Linux's 64-bit entry wants CS = __BOOT_CS (0x10) and
 * DS/ES/SS = __BOOT_DS (0x18) (boot.rst, 64-bit boot protocol). */
#define BOOT_GDT_ENTRIES    6           /* the TSS descriptor takes two */
#define BOOT_SEL_CODE       0x10
#define BOOT_SEL_DATA       0x18
#define BOOT_SEL_TSS        0x20

/* Oldest boot protocol accepted: 2.12 added xloadflags (XLF_KERNEL_64 says
 * the image has the 64-bit entry at +0x200). */
#define BOOT_PROTOCOL_MIN   0x020c

struct boot_config {
	const uint8_t *kernel;  /* the bzImage file */
	size_t kernel_len;
	uint64_t initrd_gpa;    /* already copied by the caller; see boot_initrd_gpa() */
	uint32_t initrd_size;   /* 0 = no initrd */
	const char *cmdline;    /* NULL = empty; strlen <= setup_header.cmdline_size */
	uint64_t rsdp_gpa;      /* ACPI RSDP, 0 = none (the kernel then scans 0xe0000) */
	/* Optional, vmlinux only: place len bytes of the kernel file from
	 * file_off at dst (guest RAM, page aligned) without copying them
	 * (main.c maps the file there MAP_PRIVATE, so every VM shares the
	 * kernel's pages until it writes them); 0, or -errno, which fails the
	 * load (the range may be gone). */
	int (*map)(void *opaque, uint8_t *dst, uint64_t file_off, size_t len);
	void *map_opaque;
};

/* Entry state for the BSP, for boot_setup_sregs()/boot_setup_regs(). */
struct boot_entry {
	uint64_t rip;           /* BOOT_KERNEL_GPA + 0x200: startup_64 */
	uint64_t rsp;
	uint64_t rsi;           /* zero page */
	uint64_t cr3;           /* PML4 */
	uint64_t gdt_gpa;
	uint64_t idt_gpa;
};

/*
 * Validate the bzImage and load it for the 64-bit entry: protected-mode
 * kernel at 1 MiB, zero page, command line, GDT, IDT, page tables. The kernel
 * footprint (what the decompressor uses: up to max(1 MiB aligned to
 * kernel_alignment, pref_address) + init_size) must fit in low RAM and end at
 * or below the initrd. Returns 0, or -ENOEXEC (not a usable bzImage),
 * -E2BIG (command line longer than the image's cmdline_size or 64 KiB),
 * -ENOMEM (kernel does not fit in RAM / below the initrd), -EINVAL (initrd
 * range outside low RAM or above initrd_addr_max).
 */
int boot_load_kernel(struct guest_mem *gm, const struct boot_config *c,
		     struct boot_entry *out);

/*
 * Where to put an initrd of `size` bytes: page aligned, as high as possible
 * below min(low RAM end, initrd_addr_max + 1) and at or above the kernel
 * footprint. Returns 0 and sets *gpa, -ENOEXEC for a bad image, -ENOMEM if
 * it does not fit, -EINVAL for size 0 or > 4 GiB - 1.
 */
int boot_initrd_gpa(const struct guest_mem *gm, const uint8_t *kernel,
		    size_t kernel_len, uint64_t size, uint64_t *gpa);

/*
 * The e820 map (pure): usable [0, 0x9fc00), reserved [0x9fc00, 1 MiB) (EBDA,
 * ACPI tables at 0xe0000, BIOS), usable [1 MiB, low end) and usable high RAM
 * at 4 GiB if any. Sorted, non-overlapping. Returns the number of entries or
 * -ENOSPC when `max` is too small.
 */
int boot_build_e820(const struct guest_mem *gm, struct boot_e820_entry *tab, int max);

/*
 * Long-mode state for the BSP (pure). Adjusts `sregs` in place: pass what
 * KVM_GET_SREGS returned so KVM's reset values for apic_base, cr8 and the
 * interrupt bitmap survive. Sets CR0 PE|ET|NE|PG (caches on: CD/NW cleared),
 * CR4 PAE, EFER LME|LMA, CR3, GDT/IDT, CS/DS/ES/FS/GS/SS decoded from the very
 * GDT descriptors boot_load_kernel() writes, a busy 64-bit TSS in TR (VMX
 * refuses VM entry with an unusable TR or one whose type is not 11 in IA-32e
 * mode, SDM 26.3.1.2) and an unusable LDTR (allowed by the same checks).
 */
void boot_setup_sregs(const struct boot_entry *b, struct kvm_sregs *sregs);

/* General registers (pure): everything zero but rip, rsp, rsi and
 * rflags = 0x2 (reserved bit 1; IF clear: no interrupts until Linux has an
 * IDT). */
void boot_setup_regs(const struct boot_entry *b, struct kvm_regs *regs);

/* x87/SSE state at reset (pure): FCW 0x37f, MXCSR 0x1f80, rest zero. */
void boot_setup_fpu(struct kvm_fpu *fpu);

/*
 * Boot MSRs for every vCPU (pure): SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR,
 * KERNEL_GS_BASE, SYSCALL_MASK, TSC = 0; MISC_ENABLE = fast strings;
 * MTRRdefType = MTRRs enabled, default type write-back (without it the guest
 * sees all memory as uncacheable). Fills msrs->entries[0..] and msrs->nmsrs;
 * `max` is the capacity of entries[]. Returns the count or -ENOSPC.
 */
int boot_setup_msrs(struct kvm_msrs *msrs, unsigned max);
#define BOOT_NR_MSRS 11

/* Segment register from a GDT descriptor (pure; exposed for tests).
 * A descriptor that is not present gives an unusable segment. */
void boot_seg_from_desc(uint64_t desc, uint16_t sel, struct kvm_segment *seg);

/* The GDT boot_load_kernel() writes (pure; exposed for tests). */
void boot_gdt(uint64_t gdt[BOOT_GDT_ENTRIES]);

#endif
