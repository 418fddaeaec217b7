/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: the one checked accessor (Solo5 HVT_CHECKED_GPA_P).
 *
 * RAM is one host mapping split into at most two guest regions around the
 * 32-bit MMIO hole: [0, min(size, GM_LOW_RAM_END)) and, for larger guests,
 * [4 GiB, 4 GiB + rest). gm_ptr() is the only function in arca-vmm that turns
 * a guest physical address into a host pointer; nothing else adds offsets to
 * the mapping.
 */
#ifndef ARCA_GUESTMEM_H
#define ARCA_GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

/* Guest physical map (x86_64):
 *   0x0000_0000 .. 0x0009_fc00  low RAM (real-mode area, boot structures)
 *   0x0009_fc00 .. 0x0010_0000  reserved (EBDA, ACPI tables at 0xe0000, BIOS)
 *   0x0010_0000 .. low_end      RAM (kernel at 1 MiB, initrd at the top)
 *   0xc000_0000 .. 0x1_0000_0000  MMIO hole: virtio-mmio at 0xd000_0000,
 *                               IOAPIC 0xfec0_0000, LAPIC 0xfee0_0000
 *   0x1_0000_0000 ..            high RAM when the guest has > 3 GiB
 */
#define GM_LOW_RAM_END     0xc0000000ull
#define GM_HIGH_RAM_START  0x100000000ull
#define GM_EBDA_START      0x0009fc00ull
#define GM_BIOS_END        0x00100000ull
#define GM_ACPI_START      0x000e0000ull
#define GM_ACPI_SIZE       0x00020000ull
#define GM_MMIO_BASE       0xd0000000ull
#define GM_MMIO_STRIDE     0x1000ull
#define GM_IOAPIC_ADDR     0xfec00000ull
#define GM_LAPIC_ADDR      0xfee00000ull

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_region r[2];
	unsigned nr;
	uint8_t *base;   /* whole mapping (for munmap / KVM slots) */
	uint64_t size;   /* total RAM bytes */
};

/* Lay out regions for `size` bytes of RAM over the host mapping `host`
 * (pure; the caller mmaps). Returns 0 or -EINVAL for a size < 1 MiB or
 * not a multiple of 4 KiB. */
int gm_layout(struct guest_mem *gm, uint8_t *host, uint64_t size);

/* mmap anonymous RAM and lay it out. Returns 0 or -errno. */
int gm_alloc(struct guest_mem *gm, uint64_t size);
void gm_free(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region, else NULL. Overflow-safe. len == 0 is valid inside RAM. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Top of low RAM (exclusive). */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
