/* SPDX-License-Identifier: MIT */
/* vmm/boot.c and vmm/cpuid.c: a synthetic bzImage loaded into real guest
 * memory (gm_layout over calloc'ed RAM), the zero page, e820, page tables
 * and GDT read back from guest memory; hostile images rejected without
 * touching the guest; the Debian kernel when present; per-vCPU CPUID. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fetched_kernel.h"

#include <asm/bootparam.h>
#include <asm/e820.h>
#include <linux/kvm.h>

#include <elf.h>

#include "boot.h"
#include "cpuid.h"
#include "vmlinux.h"
#include "guestmem.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ---- a synthetic bzImage ------------------------------------------------ */

struct image {
	uint8_t *data;
	size_t len;
	size_t setup;  /* bytes of setup sectors */
};

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3 + (i >> 9));
}

/* What a 6.x kernel's header looks like, with a small init_size. */
static struct setup_header default_hdr(void)
{
	struct setup_header h;
	memset(&h, 0, sizeof(h));
	h.setup_sects = 7;
	h.boot_flag = 0xaa55;
	h.jump = 0x6aeb;  /* jmp to 0x26c: header ends at 0x202 + 0x6a */
	h.header = 0x53726448;
	h.version = 0x020f;
	h.type_of_loader = 0;
	h.loadflags = LOADED_HIGH;
	h.code32_start = 0x100000;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.min_alignment = 21;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 0x7ff;
	h.pref_address = 0x1000000;
	h.init_size = 0x400000;
	return h;
}

/* File = (setup_sects + 1) sectors of setup, then `payload` bytes. The
 * setup_sects used for the file length is `file_sects`, so a test can lie
 * in the header about it. */
static struct image make_image(const struct setup_header *h, size_t file_sects, size_t payload)
{
	struct image im;
	im.setup = (file_sects + 1) * 512;
	im.len = im.setup + payload;
	im.data = calloc(1, im.len);
	assert_non_null(im.data);
	memcpy(im.data + 0x1f1, h, sizeof(*h));
	for (size_t i = 0; i < payload; i++)
		im.data[im.setup + i] = payload_byte(i);
	return im;
}

static struct image default_image(void)
{
	struct setup_header h = default_hdr();
	return make_image(&h, h.setup_sects, 300000);
}

struct ram {
	uint8_t *buf;
	struct guest_mem gm;
};

static struct ram ram_new(uint64_t size)
{
	struct ram r;
	r.buf = calloc(1, size);
	assert_non_null(r.buf);
	assert_int_equal(gm_layout(&r.gm, r.buf, size), 0);
	return r;
}

static struct boot_params zero_page(const struct guest_mem *gm)
{
	struct boot_params bp;
	const void *p = gm_ptr(gm, BOOT_ZERO_PAGE_GPA, sizeof(bp));
	assert_non_null(p);
	memcpy(&bp, p, sizeof(bp));
	return bp;
}

static uint64_t rd64(const struct guest_mem *gm, uint64_t gpa)
{
	uint64_t v;
	const void *p = gm_ptr(gm, gpa, 8);
	assert_non_null(p);
	memcpy(&v, p, 8);
	return v;
}

/* Translate through the guest's page tables the way the MMU would with
 * CR3 = PML4 (4-level, 2 MiB pages); UINT64_MAX when not mapped. */
static uint64_t walk(const struct guest_mem *gm, uint64_t cr3, uint64_t va)
{
	uint64_t e = rd64(gm, cr3 + ((va >> 39) & 511) * 8);
	if (!(e & 1))
		return UINT64_MAX;
	e = rd64(gm, (e & 0x000ffffffffff000ull) + ((va >> 30) & 511) * 8);
	if (!(e & 1) || (e & 0x80))
		return UINT64_MAX;  /* we never use 1 GiB pages */
	e = rd64(gm, (e & 0x000ffffffffff000ull) + ((va >> 21) & 511) * 8);
	if (!(e & 1) || !(e & 0x80) || !(e & 2))
		return UINT64_MAX;
	return (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
}

/* e820 sanity: sorted, non-overlapping, and equal to `want`. */
static void check_e820(const struct boot_e820_entry *t, int n,
		       const struct boot_e820_entry *want, int nwant)
{
	assert_int_equal(n, nwant);
	for (int i = 0; i < n; i++) {
		assert_true(t[i].size > 0);
		if (i > 0)
			assert_true(t[i - 1].addr + t[i - 1].size <= t[i].addr);
		assert_int_equal(t[i].addr, want[i].addr);
		assert_int_equal(t[i].size, want[i].size);
		assert_int_equal(t[i].type, want[i].type);
	}
}

/* ---- loading ---------------------------------------------------------- */

static void test_load_synthetic(void **state)
{
	struct ram r = ram_new(64 * MiB);
	struct image im = default_image();
	const char *cmd = "console=ttyS0 panic=-1 quiet";

	uint64_t initrd_gpa;
	const uint64_t isz = MiB + 123;
	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, im.len, isz, &initrd_gpa), 0);
	assert_int_equal(initrd_gpa & 0xfff, 0);
	assert_true(initrd_gpa + isz <= 64 * MiB);
	assert_true(initrd_gpa + isz > 64 * MiB - 4096);  /* as high as possible */
	assert_true(initrd_gpa >= 0x1000000 + 0x400000);  /* above the footprint */
	memset(gm_ptr(&r.gm, initrd_gpa, isz), 0x5a, isz);

	struct boot_config c = {
		.kernel = im.data, .kernel_len = im.len,
		.initrd_gpa = initrd_gpa, .initrd_size = (uint32_t)isz,
		.cmdline = cmd, .rsdp_gpa = 0xe0000,
	};
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_int_equal(e.rip, 0x100200);
	assert_int_equal(e.rsi, BOOT_ZERO_PAGE_GPA);
	assert_int_equal(e.rsp, BOOT_STACK_TOP);
	assert_int_equal(e.cr3, BOOT_PML4_GPA);
	assert_int_equal(e.gdt_gpa, BOOT_GDT_GPA);

	/* The protected-mode kernel, byte for byte, at 1 MiB; the setup
	 * sectors are not loaded. */
	assert_memory_equal(gm_ptr(&r.gm, 0x100000, im.len - im.setup), im.data + im.setup,
			    im.len - im.setup);
	assert_int_equal(*(uint8_t *)gm_ptr(&r.gm, 0x100000 + im.len - im.setup, 1), 0);
	/* The initrd is untouched. */
	assert_int_equal(*(uint8_t *)gm_ptr(&r.gm, initrd_gpa, 1), 0x5a);
	assert_int_equal(*(uint8_t *)gm_ptr(&r.gm, initrd_gpa + isz - 1, 1), 0x5a);

	struct boot_params bp = zero_page(&r.gm);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.setup_sects, 7);
	assert_int_equal(bp.hdr.init_size, 0x400000);
	assert_int_equal(bp.hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_true(bp.hdr.loadflags & LOADED_HIGH);
	assert_false(bp.hdr.loadflags & CAN_USE_HEAP);
	assert_int_equal(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	assert_int_equal(bp.ext_cmd_line_ptr, 0);
	assert_string_equal((const char *)gm_ptr(&r.gm, BOOT_CMDLINE_GPA, strlen(cmd) + 1), cmd);
	assert_int_equal(bp.hdr.ramdisk_image, initrd_gpa);
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, isz);
	assert_int_equal(bp.acpi_rsdp_addr, 0xe0000);
	assert_int_equal(bp.hdr.setup_data, 0);
	assert_int_equal(bp.sentinel, 0);  /* a clean zero page */

	const struct boot_e820_entry want[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED },
		{ 0x100000, 63 * MiB, E820_RAM },
	};
	struct boot_e820_entry tab[E820_MAX_ENTRIES_ZEROPAGE];
	memcpy(tab, (uint8_t *)&bp + offsetof(struct boot_params, e820_table), sizeof(tab));
	check_e820(tab, bp.e820_entries, want, 3);

	/* Page tables: identity for 0..4 GiB with 2 MiB pages, nothing above. */
	uint64_t pml4_0 = rd64(&r.gm, BOOT_PML4_GPA);
	assert_int_equal(pml4_0, BOOT_PDPT_GPA | 3);
	for (uint64_t i = 1; i < 512; i++)
		assert_int_equal(rd64(&r.gm, BOOT_PML4_GPA + i * 8), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(rd64(&r.gm, BOOT_PDPT_GPA + i * 8), (BOOT_PD_GPA + i * 4096) | 3);
	assert_int_equal(rd64(&r.gm, BOOT_PDPT_GPA + 4 * 8), 0);
	for (uint64_t i = 0; i < 2048; i++)
		assert_int_equal(rd64(&r.gm, BOOT_PD_GPA + i * 8), (i * 2 * MiB) | 0x83);
	const uint64_t vas[] = { 0, 0x7000, 0x100200, 0x1fffff, 0x200000, initrd_gpa + 17,
				 GiB - 1, GiB, 3 * GiB + 0x1234, 4 * GiB - 1 };
	for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++)
		assert_int_equal(walk(&r.gm, e.cr3, vas[i]), vas[i]);
	assert_int_equal(walk(&r.gm, e.cr3, 4 * GiB), UINT64_MAX);

	/* GDT: the textbook flat descriptors at the selectors Linux wants. */
	assert_int_equal(rd64(&r.gm, BOOT_GDT_GPA + 0x00), 0);
	assert_int_equal(rd64(&r.gm, BOOT_GDT_GPA + 0x08), 0);
	assert_int_equal(rd64(&r.gm, BOOT_GDT_GPA + BOOT_SEL_CODE), 0x00af9b000000ffffull);
	assert_int_equal(rd64(&r.gm, BOOT_GDT_GPA + BOOT_SEL_DATA), 0x00cf93000000ffffull);
	assert_int_equal(rd64(&r.gm, BOOT_GDT_GPA + BOOT_SEL_TSS), 0x00008b0000000067ull);
	assert_int_equal(rd64(&r.gm, BOOT_GDT_GPA + BOOT_SEL_TSS + 8), 0);
	assert_int_equal(rd64(&r.gm, BOOT_IDT_GPA), 0);

	free(im.data);
	free(r.buf);
}

/* ---- a synthetic vmlinux (ELF) ------------------------------------------------ */

struct elf_image {
	uint8_t data[4096 + 3 * 8192];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph; /* 4 entries: text, data (+bss), a PT_NOTE, percpu-like */
};

/* A kernel-shaped ELF: text at 16 MiB (entry at its start, like
 * phys_startup_64), data with a .bss tail, a note that is not loaded. */
static void elf_image(struct elf_image *x)
{
	memset(x, 0, sizeof(*x));
	x->eh = (Elf64_Ehdr *)x->data;
	x->ph = (Elf64_Phdr *)(x->data + sizeof(Elf64_Ehdr));
	memcpy(x->eh->e_ident, ELFMAG, SELFMAG);
	x->eh->e_ident[EI_CLASS] = ELFCLASS64;
	x->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	x->eh->e_ident[EI_VERSION] = EV_CURRENT;
	x->eh->e_type = ET_EXEC;
	x->eh->e_machine = EM_X86_64;
	x->eh->e_version = EV_CURRENT;
	x->eh->e_entry = 0x1000000;
	x->eh->e_phoff = sizeof(Elf64_Ehdr);
	x->eh->e_ehsize = sizeof(Elf64_Ehdr);
	x->eh->e_phentsize = sizeof(Elf64_Phdr);
	x->eh->e_phnum = 3;
	x->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 4096,
				 .p_vaddr = 0xffffffff81000000ull, .p_paddr = 0x1000000,
				 .p_filesz = 8192, .p_memsz = 8192 };
	x->ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 4096 + 8192,
				 .p_vaddr = 0xffffffff82000000ull, .p_paddr = 0x2000000,
				 .p_filesz = 8192, .p_memsz = 3 * MiB };
	x->ph[2] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 4096 + 16384, .p_paddr = 0,
				 .p_filesz = 64, .p_memsz = 64 };
	for (size_t i = 4096; i < sizeof(x->data); i++)
		x->data[i] = payload_byte(i);
}

struct map_calls {
	const uint8_t *file;
	int fail, n;
	uint64_t off[8];
	size_t len[8];
};

static int fake_map(void *opaque, uint8_t *dst, uint64_t off, size_t len)
{
	struct map_calls *m = opaque;
	assert_true(m->n < 8);
	m->off[m->n] = off;
	m->len[m->n++] = len;
	if (m->fail)
		return -ENODEV;
	memcpy(dst, m->file + off, len);
	return 0;
}

static void test_load_elf(void **state)
{
	struct ram r = ram_new(64 * MiB);
	struct elf_image x;
	elf_image(&x);

	uint64_t initrd_gpa;
	assert_int_equal(boot_initrd_gpa(&r.gm, x.data, sizeof(x.data), MiB, &initrd_gpa), 0);
	assert_int_equal(initrd_gpa, 63 * MiB);
	/* bss of the last segment dirty beforehand: the loader zeroes it */
	memset(gm_ptr(&r.gm, 0x2000000, 3 * MiB), 0xee, 3 * MiB);
	struct boot_config c = { .kernel = x.data, .kernel_len = sizeof(x.data),
				 .initrd_gpa = initrd_gpa, .initrd_size = MiB,
				 .cmdline = "quiet", .rsdp_gpa = 0xe0000 };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_int_equal(e.rip, 0x1000000); /* startup_64 of the kernel proper */
	assert_int_equal(e.rsi, BOOT_ZERO_PAGE_GPA);
	assert_memory_equal(gm_ptr(&r.gm, 0x1000000, 8192), x.data + 4096, 8192);
	assert_memory_equal(gm_ptr(&r.gm, 0x2000000, 8192), x.data + 4096 + 8192, 8192);
	const uint8_t *bss = gm_ptr(&r.gm, 0x2000000 + 8192, 3 * MiB - 8192);
	for (size_t i = 0; i < 3 * MiB - 8192; i += 4093)
		assert_int_equal(bss[i], 0);
	/* nothing at 1 MiB: no bzImage payload there */
	assert_int_equal(*(uint8_t *)gm_ptr(&r.gm, 0x100000, 1), 0);

	struct boot_params bp = zero_page(&r.gm);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, BOOT_CMDLINE_GPA);
	assert_int_equal(bp.hdr.ramdisk_image, initrd_gpa);
	assert_int_equal(bp.hdr.ramdisk_size, MiB);
	assert_int_equal(bp.hdr.cmdline_size, 2047);
	assert_int_equal(bp.acpi_rsdp_addr, 0xe0000);
	assert_false(bp.hdr.loadflags & KASLR_FLAG);
	assert_int_equal(bp.e820_entries, 3);

	/* with boot_config.map: whole pages handed to it (here: copied from
	 * the file image, as the mmap would show them), a failure fails */
	struct map_calls mc = { .file = x.data, .fail = 0 };
	memset(gm_ptr(&r.gm, 0x1000000, 8192), 0, 8192);
	c.map = fake_map;
	c.map_opaque = &mc;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_int_equal(mc.n, 2);
	assert_int_equal(mc.off[0], 4096);
	assert_int_equal(mc.len[0], 8192);
	assert_int_equal(mc.off[1], 4096 + 8192);
	assert_int_equal(mc.len[1], 8192);
	assert_memory_equal(gm_ptr(&r.gm, 0x1000000, 8192), x.data + 4096, 8192);
	mc.fail = 1;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -ENODEV);
	/* a segment not page aligned in the file: copied, not mapped */
	x.ph[0].p_offset = 4096 - 16;
	mc = (struct map_calls){ .file = x.data };
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_int_equal(mc.n, 1);
	assert_memory_equal(gm_ptr(&r.gm, 0x1000000, 8192), x.data + 4096 - 16, 8192);
	x.ph[0].p_offset = 4096;
	c.map = NULL;

	/* the initrd may not overlap the image: 1 MiB at 34 MiB would */
	c.initrd_gpa = 34 * MiB;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -ENOMEM);
	/* a guest too small for the image */
	assert_int_equal(boot_initrd_gpa(&r.gm, x.data, sizeof(x.data), 30 * MiB, &initrd_gpa), -ENOMEM);
	free(r.buf);
}

/* Each field of an untrusted ELF that the loader uses, broken in turn. */
static void test_reject_bad_elf(void **state)
{
	struct ram r = ram_new(64 * MiB);
	struct elf_image x;
	struct boot_entry e;
	struct boot_config c = { .kernel = x.data, .kernel_len = sizeof(x.data) };
#define BAD(mutation, err) do { \
		elf_image(&x); \
		mutation; \
		assert_int_equal(boot_load_kernel(&r.gm, &c, &e), err); \
	} while (0)
	BAD((void)0, 0);
	BAD(x.eh->e_ident[EI_CLASS] = ELFCLASS32, -ENOEXEC);
	BAD(x.eh->e_ident[EI_DATA] = ELFDATA2MSB, -ENOEXEC);
	BAD(x.eh->e_machine = EM_386, -ENOEXEC);
	BAD(x.eh->e_type = ET_DYN, -ENOEXEC);
	BAD(x.eh->e_phentsize = 48, -ENOEXEC);
	BAD(x.eh->e_phnum = 0, -ENOEXEC);
	BAD(x.eh->e_phnum = 65, -ENOEXEC);
	BAD(x.eh->e_phoff = sizeof(x.data) - 8, -ENOEXEC);
	BAD(x.eh->e_phoff = UINT64_MAX - 8, -ENOEXEC);
	BAD(x.ph[0].p_offset = sizeof(x.data), -ENOEXEC);   /* filesz runs past the file */
	BAD(x.ph[0].p_offset = UINT64_MAX - 100, -ENOEXEC);
	BAD(x.ph[0].p_filesz = 9000, -ENOEXEC);            /* more than memsz */
	BAD(x.ph[1].p_memsz = 2 * GiB, -ENOEXEC);
	BAD(x.ph[0].p_paddr = 0x7000, -ENOEXEC);            /* onto the zero page */
	BAD(x.ph[0].p_paddr = UINT64_MAX - 4095, -ENOEXEC);
	BAD(x.ph[1].p_paddr = 0x3f00000, -ENOMEM);           /* ends past 64 MiB of RAM */
	BAD(x.eh->e_entry = 0x2000000, -ENOEXEC);            /* in a non-executable segment */
	BAD(x.eh->e_entry = 0x1000000 + 8192, -ENOEXEC);     /* just past the text */
	BAD(x.ph[0].p_type = PT_NOTE, -ENOEXEC);             /* the entry is in no segment */
	BAD({ for (int i = 0; i < 3; i++) x.ph[i].p_type = PT_NULL; }, -ENOEXEC);
	c.kernel_len = sizeof(Elf64_Ehdr) - 1;
	BAD((void)0, -ENOEXEC);
#undef BAD
	free(r.buf);
}

static void test_no_initrd_empty_cmdline(void **state)
{
	struct ram r = ram_new(32 * MiB);
	struct image im = default_image();
	memset(gm_ptr(&r.gm, BOOT_CMDLINE_GPA, 16), 'x', 16);
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	struct boot_params bp = zero_page(&r.gm);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_int_equal(bp.acpi_rsdp_addr, 0);
	assert_int_equal(*(char *)gm_ptr(&r.gm, BOOT_CMDLINE_GPA, 1), 0);
	free(im.data);
	free(r.buf);
}

/* The image's header ends early (older protocol layout): fields past its
 * end must not be copied from the setup code into the zero page. */
static void test_short_header_not_copied(void **state)
{
	struct ram r = ram_new(32 * MiB);
	struct setup_header h = default_hdr();
	h.jump = 0x62eb;  /* header ends at 0x264, right after init_size */
	struct image im = make_image(&h, h.setup_sects, 4096);
	memset(im.data + 0x264, 0xee, 8);  /* "setup code" over handover_offset.. */
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	struct boot_params bp = zero_page(&r.gm);
	assert_int_equal(bp.hdr.init_size, 0x400000);
	assert_int_equal(bp.hdr.handover_offset, 0);
	assert_int_equal(bp.hdr.kernel_info_offset, 0);
	free(im.data);
	free(r.buf);
}

/* ---- hostile images ------------------------------------------------------ */

/* Load must fail with `err` and leave the guest's boot area untouched. */
static void expect_reject(const struct image *im, uint64_t ramsz, const char *cmdline, int err)
{
	struct ram r = ram_new(ramsz);
	struct boot_config c = { .kernel = im->data, .kernel_len = im->len, .cmdline = cmdline };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), err);
	static const uint8_t zero[4096];
	assert_memory_equal(gm_ptr(&r.gm, BOOT_ZERO_PAGE_GPA, 4096), zero, 4096);
	assert_memory_equal(gm_ptr(&r.gm, 0x100000, 4096), zero, 4096);
	assert_memory_equal(gm_ptr(&r.gm, BOOT_PML4_GPA, 4096), zero, 4096);
	free(r.buf);
}

static void reject_hdr(struct setup_header h, int err)
{
	struct image im = make_image(&h, h.setup_sects, 4096);
	expect_reject(&im, 64 * MiB, NULL, err);
	free(im.data);
}

static void test_reject_bad_headers(void **state)
{
	struct setup_header h;

	h = default_hdr(); h.header = 0x53726449;
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.boot_flag = 0;
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.version = 0x020a;  /* 2.10: no usable xloadflags */
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.version = 0x020b;
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.loadflags = 0;  /* zImage */
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.jump = 0x5eeb;  /* header ends before init_size */
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.kernel_alignment = 0x300000;
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.kernel_alignment = 0;
	reject_hdr(h, -ENOEXEC);
	h = default_hdr(); h.relocatable_kernel = 0; h.pref_address = 0x10000;
	reject_hdr(h, -ENOEXEC);  /* would run on top of the boot structures */

	/* Accepted: protocol 2.12 exactly, and setup_sects 0 meaning 4. */
	struct ram r = ram_new(64 * MiB);
	struct boot_entry e;
	h = default_hdr(); h.version = 0x020c;
	struct image im = make_image(&h, h.setup_sects, 4096);
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len };
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	free(im.data);
	h = default_hdr(); h.setup_sects = 0;
	im = make_image(&h, 4, 4096);
	c = (struct boot_config){ .kernel = im.data, .kernel_len = im.len };
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_int_equal(*(uint8_t *)gm_ptr(&r.gm, 0x100000, 1), payload_byte(0));
	free(im.data);
	free(r.buf);
}

static void test_reject_short_files(void **state)
{
	struct image im = default_image();
	struct image cut = im;
	/* Too short to hold the header at all. */
	cut.len = 0x100;
	expect_reject(&cut, 64 * MiB, NULL, -ENOEXEC);
	cut.len = 0x1f1 + sizeof(struct setup_header) - 1;
	expect_reject(&cut, 64 * MiB, NULL, -ENOEXEC);
	/* Header fine but the file ends inside (or right at the end of) the
	 * setup sectors: no protected-mode kernel. */
	cut.len = im.setup;
	expect_reject(&cut, 64 * MiB, NULL, -ENOEXEC);
	cut.len = im.setup - 1;
	expect_reject(&cut, 64 * MiB, NULL, -ENOEXEC);
	cut.len = 0;
	expect_reject(&cut, 64 * MiB, NULL, -ENOEXEC);
	/* A payload too short to hold the 64-bit entry at +0x200. */
	cut.len = im.setup + 0x200;
	expect_reject(&cut, 64 * MiB, NULL, -ENOEXEC);
	cut.len = im.setup + 0x201;
	struct ram r = ram_new(64 * MiB);
	struct boot_config c = { .kernel = cut.data, .kernel_len = cut.len };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	free(r.buf);
	/* setup_sects claims more sectors than the file has. */
	struct setup_header h = default_hdr();
	h.setup_sects = 255;
	struct image lie = make_image(&h, 7, 4096);
	expect_reject(&lie, 64 * MiB, NULL, -ENOEXEC);
	free(lie.data);
	free(im.data);
}

static void test_reject_too_big(void **state)
{
	struct setup_header h;
	struct image im;

	/* init_size beyond RAM. */
	h = default_hdr(); h.init_size = 0x7fffffff;
	im = make_image(&h, h.setup_sects, 4096);
	expect_reject(&im, 64 * MiB, NULL, -ENOMEM);
	free(im.data);
	/* pref_address (runtime address) absurd: must not wrap. */
	h = default_hdr(); h.pref_address = UINT64_MAX - 0xfff;
	im = make_image(&h, h.setup_sects, 4096);
	expect_reject(&im, 64 * MiB, NULL, -ENOMEM);
	free(im.data);
	h = default_hdr(); h.pref_address = UINT64_MAX - 0xfff; h.relocatable_kernel = 0;
	im = make_image(&h, h.setup_sects, 4096);
	expect_reject(&im, 64 * MiB, NULL, -ENOMEM);
	free(im.data);
	/* Footprint 16 MiB + 4 MiB does not fit in 16 MiB of RAM. */
	im = default_image();
	expect_reject(&im, 16 * MiB, NULL, -ENOMEM);
	/* ... and exactly fits in 20 MiB. */
	struct ram r = ram_new(20 * MiB);
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	free(r.buf);
	free(im.data);
	/* Payload larger than RAM above 1 MiB, tiny init_size. */
	h = default_hdr(); h.init_size = 0x1000; h.pref_address = 0x100000;
	im = make_image(&h, h.setup_sects, 8 * MiB);
	expect_reject(&im, 8 * MiB, NULL, -ENOMEM);
	free(im.data);
}

static void test_cmdline_limits(void **state)
{
	struct setup_header h = default_hdr();
	h.cmdline_size = 16;
	struct image im = make_image(&h, h.setup_sects, 4096);
	expect_reject(&im, 32 * MiB, "0123456789abcdefX", -E2BIG);
	struct ram r = ram_new(32 * MiB);
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len,
				 .cmdline = "0123456789abcdef" };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_string_equal((char *)gm_ptr(&r.gm, BOOT_CMDLINE_GPA, 17), "0123456789abcdef");
	free(im.data);

	/* A header asking for more than our 64 KiB buffer is capped. */
	h.cmdline_size = 0x100000;
	im = make_image(&h, h.setup_sects, 4096);
	char *big = malloc(BOOT_CMDLINE_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', BOOT_CMDLINE_MAX);
	big[BOOT_CMDLINE_MAX - 1] = 0;  /* 64 KiB - 1 chars + NUL: fits */
	c = (struct boot_config){ .kernel = im.data, .kernel_len = im.len, .cmdline = big };
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);
	assert_int_equal(strlen((char *)gm_ptr(&r.gm, BOOT_CMDLINE_GPA, BOOT_CMDLINE_MAX)),
			 BOOT_CMDLINE_MAX - 1);
	big[BOOT_CMDLINE_MAX - 1] = 'a';
	big[BOOT_CMDLINE_MAX] = 0;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -E2BIG);
	free(big);
	free(im.data);
	free(r.buf);
}

static void test_initrd_placement(void **state)
{
	struct ram r = ram_new(64 * MiB);
	struct setup_header h = default_hdr();
	h.initrd_addr_max = 0x2ffffff;  /* 48 MiB - 1 */
	struct image im = make_image(&h, h.setup_sects, 4096);
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len };
	struct boot_entry e;
	uint64_t gpa;

	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, im.len, 5 * MiB + 1, &gpa), 0);
	assert_int_equal(gpa, 43 * MiB - 4096);  /* 48 MiB - size, page-rounded down */
	c.initrd_gpa = gpa;
	c.initrd_size = 5 * MiB + 1;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), 0);

	/* Too big to sit between the footprint (20 MiB) and 48 MiB. */
	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, im.len, 28 * MiB + 1, &gpa), -ENOMEM);
	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, im.len, 28 * MiB, &gpa), 0);
	assert_int_equal(gpa, 20 * MiB);
	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, im.len, 0, &gpa), -EINVAL);
	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, im.len, 1ull << 40, &gpa), -EINVAL);
	assert_int_equal(boot_initrd_gpa(&r.gm, im.data, 100, MiB, &gpa), -ENOEXEC);

	/* Caller-supplied ranges that are wrong. */
	c.initrd_gpa = 19 * MiB;  /* overlaps the kernel footprint */
	c.initrd_size = MiB;
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -ENOMEM);
	c.initrd_gpa = 48 * MiB;  /* above initrd_addr_max */
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -EINVAL);
	c.initrd_gpa = 64 * MiB - 4096;  /* runs off the end of RAM */
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -EINVAL);
	c.initrd_gpa = UINT64_MAX - 10;  /* wraps */
	assert_int_equal(boot_load_kernel(&r.gm, &c, &e), -EINVAL);
	free(im.data);
	free(r.buf);
}

/* ---- e820 ---------------------------------------------------------------- */

static void test_e820_small_and_errors(void **state)
{
	struct ram r = ram_new(MiB);
	struct boot_e820_entry t[8];
	const struct boot_e820_entry want[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x60400, E820_RESERVED },
	};
	check_e820(t, boot_build_e820(&r.gm, t, 8), want, 2);
	assert_int_equal(boot_build_e820(&r.gm, t, 1), -ENOSPC);
	free(r.buf);
}

/* More than 3 GiB: a second RAM region above the MMIO hole. The mapping is
 * MAP_NORESERVE, so only the pages the loader writes cost anything. */
static void test_e820_high_ram(void **state)
{
	struct guest_mem gm;
	const uint64_t size = 5 * GiB;
	if (gm_alloc(&gm, size) < 0)
		skip();
	struct boot_e820_entry t[8];
	const struct boot_e820_entry want[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x60400, E820_RESERVED },
		{ MiB, GM_LOW_RAM_END - MiB, E820_RAM },
		{ GM_HIGH_RAM_START, size - GM_LOW_RAM_END, E820_RAM },
	};
	check_e820(t, boot_build_e820(&gm, t, 8), want, 4);
	assert_int_equal(boot_build_e820(&gm, t, 3), -ENOSPC);

	/* The full load uses the same map, and places the initrd below
	 * initrd_addr_max (2 GiB) rather than at the top of low RAM. */
	struct image im = default_image();
	uint64_t gpa;
	assert_int_equal(boot_initrd_gpa(&gm, im.data, im.len, 4096, &gpa), 0);
	assert_int_equal(gpa, 2 * GiB - 4096);
	struct boot_config c = { .kernel = im.data, .kernel_len = im.len,
				 .initrd_gpa = gpa, .initrd_size = 4096 };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&gm, &c, &e), 0);
	struct boot_params bp = zero_page(&gm);
	struct boot_e820_entry zt[E820_MAX_ENTRIES_ZEROPAGE];
	memcpy(zt, (uint8_t *)&bp + offsetof(struct boot_params, e820_table), sizeof(zt));
	check_e820(zt, bp.e820_entries, want, 4);
	free(im.data);
	gm_free(&gm);
}

/* ---- vCPU state ------------------------------------------------------------ */

static void test_sregs(void **state)
{
	struct boot_entry b = { .rip = 0x100200, .rsp = BOOT_STACK_TOP, .rsi = 0x7000,
				.cr3 = 0x9000, .gdt_gpa = 0x500, .idt_gpa = 0x540 };
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;  /* what KVM_GET_SREGS reports after reset */
	s.apic_base = 0xfee00900;
	s.cr8 = 0;
	s.interrupt_bitmap[0] = 0x42;
	boot_setup_sregs(&b, &s);

	assert_int_equal(s.cr0, 0x80000031);  /* PG | NE | ET | PE */
	assert_int_equal(s.cr3, 0x9000);
	assert_int_equal(s.cr4, 0x20);
	assert_int_equal(s.efer & 0x500, 0x500);
	assert_int_equal(s.apic_base, 0xfee00900);
	assert_int_equal(s.interrupt_bitmap[0], 0x42);
	assert_int_equal(s.gdt.base, 0x500);
	assert_int_equal(s.gdt.limit, BOOT_GDT_ENTRIES * 8 - 1);
	assert_int_equal(s.idt.base, 0x540);
	assert_int_equal(s.idt.limit, 7);

	assert_int_equal(s.cs.selector, 0x10);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);  /* L and D both set is reserved */
	assert_int_equal(s.cs.s, 1);
	assert_int_equal(s.cs.present, 1);
	assert_int_equal(s.cs.g, 1);
	assert_int_equal(s.cs.unusable, 0);
	const struct kvm_segment *data[] = { &s.ds, &s.es, &s.fs, &s.gs, &s.ss };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(data[i]->selector, 0x18);
		assert_int_equal(data[i]->type, 0x3);
		assert_int_equal(data[i]->db, 1);
		assert_int_equal(data[i]->l, 0);
		assert_int_equal(data[i]->limit, 0xffffffff);
		assert_int_equal(data[i]->present, 1);
		assert_int_equal(data[i]->unusable, 0);
	}
	assert_int_equal(s.tr.selector, 0x20);
	assert_int_equal(s.tr.type, 11);  /* busy 64-bit TSS, as VMX requires */
	assert_int_equal(s.tr.s, 0);
	assert_int_equal(s.tr.present, 1);
	assert_int_equal(s.tr.unusable, 0);
	assert_int_equal(s.tr.limit, 0x67);
	assert_int_equal(s.tr.g, 0);
	assert_int_equal(s.ldt.unusable, 1);
	assert_int_equal(s.ldt.present, 0);

	/* A not-present descriptor decodes to an unusable segment. */
	struct kvm_segment seg;
	boot_seg_from_desc(0x00cf13000000ffffull, 0x18, &seg);
	assert_int_equal(seg.unusable, 1);
}

static void test_regs_fpu_msrs(void **state)
{
	struct boot_entry b = { .rip = 0x100200, .rsp = 0x8ff0, .rsi = 0x7000 };
	struct kvm_regs regs;
	memset(&regs, 0xff, sizeof(regs));
	boot_setup_regs(&b, &regs);
	assert_int_equal(regs.rip, 0x100200);
	assert_int_equal(regs.rsp, 0x8ff0);
	assert_int_equal(regs.rsi, 0x7000);
	assert_int_equal(regs.rflags, 2);
	assert_int_equal(regs.rax, 0);
	assert_int_equal(regs.rbp, 0);

	struct kvm_fpu fpu;
	memset(&fpu, 0xff, sizeof(fpu));
	boot_setup_fpu(&fpu);
	assert_int_equal(fpu.fcw, 0x37f);
	assert_int_equal(fpu.mxcsr, 0x1f80);
	assert_int_equal(fpu.fsw, 0);

	union {
		struct kvm_msrs m;
		uint8_t raw[sizeof(struct kvm_msrs) + 16 * sizeof(struct kvm_msr_entry)];
	} u;
	assert_int_equal(boot_setup_msrs(&u.m, BOOT_NR_MSRS - 1), -ENOSPC);
	assert_int_equal(boot_setup_msrs(&u.m, 16), BOOT_NR_MSRS);
	assert_int_equal(u.m.nmsrs, BOOT_NR_MSRS);
	int seen = 0;
	for (unsigned i = 0; i < u.m.nmsrs; i++) {
		const struct kvm_msr_entry *e = &u.m.entries[i];
		switch (e->index) {
		case 0x1a0: assert_int_equal(e->data, 1); seen |= 1; break;
		case 0x2ff: assert_int_equal(e->data, 0x806); seen |= 2; break;
		case 0x10: assert_int_equal(e->data, 0); seen |= 4; break;
		case 0xc0000082: assert_int_equal(e->data, 0); seen |= 8; break;
		default: assert_int_equal(e->data, 0); break;
		}
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(u.m.entries[j].index, e->index);
	}
	assert_int_equal(seen, 15);
}

/* ---- the real Debian kernel ------------------------------------------------ */


static void test_real_kernel(void **state)
{
	const char *path = fetched_kernel_image();
	if (!path)
		skip();
	size_t len = 0;
	uint8_t *k = fetched_read(path, &len);
	assert_non_null(k);

	struct guest_mem gm;
	assert_int_equal(gm_alloc(&gm, 256 * MiB), 0);
	uint64_t gpa;
	assert_int_equal(boot_initrd_gpa(&gm, k, len, 8 * MiB, &gpa), 0);
	assert_int_equal(gpa, 248 * MiB);
	struct boot_config c = { .kernel = k, .kernel_len = len, .initrd_gpa = gpa,
				 .initrd_size = 8 * MiB, .cmdline = "console=ttyS0" };
	struct boot_entry e;
	assert_int_equal(boot_load_kernel(&gm, &c, &e), 0);
	struct boot_params bp = zero_page(&gm);
	assert_true(bp.hdr.version >= 0x020c);
	assert_true(bp.hdr.xloadflags & XLF_KERNEL_64);
	size_t setup = ((size_t)(k[0x1f1] ? k[0x1f1] : 4) + 1) * 512;
	assert_memory_equal(gm_ptr(&gm, 0x100000, len - setup), k + setup, len - setup);
	gm_free(&gm);

	/* Its decompressor needs pref_address (16 MiB) + init_size: more than
	 * 64 MiB, so a 64 MiB guest is refused rather than crashing. */
	assert_int_equal(gm_alloc(&gm, 64 * MiB), 0);
	c.initrd_size = 0;
	assert_int_equal(boot_load_kernel(&gm, &c, &e), -ENOMEM);
	gm_free(&gm);

	/* The same kernel decompressed (launcher/vmlinux.h), as arca boots it:
	 * entered at startup_64 of the kernel proper, its text at 16 MiB. */
	uint8_t *elf;
	size_t elf_len;
	assert_int_equal(vmlinux_from_bzimage(k, len, &elf, &elf_len), 0);
	assert_int_equal(gm_alloc(&gm, 256 * MiB), 0);
	assert_int_equal(boot_initrd_gpa(&gm, elf, elf_len, 8 * MiB, &gpa), 0);
	assert_int_equal(gpa, 248 * MiB);
	c = (struct boot_config){ .kernel = elf, .kernel_len = elf_len, .initrd_gpa = gpa,
				  .initrd_size = 8 * MiB, .cmdline = "console=ttyS0" };
	assert_int_equal(boot_load_kernel(&gm, &c, &e), 0);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	assert_int_equal(e.rip, eh->e_entry);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff);
	assert_int_equal(ph[0].p_type, PT_LOAD);
	assert_true(e.rip >= ph[0].p_paddr && e.rip - ph[0].p_paddr < ph[0].p_filesz);
	assert_memory_equal(gm_ptr(&gm, ph[0].p_paddr, ph[0].p_filesz), elf + ph[0].p_offset,
			    ph[0].p_filesz);
	bp = zero_page(&gm);
	assert_int_equal(bp.hdr.ramdisk_image, 248 * MiB);
	assert_string_equal((const char *)gm_ptr(&gm, bp.hdr.cmd_line_ptr, 14), "console=ttyS0");
	gm_free(&gm);
	/* Without the decompressor's working room it needs only its segments:
	 * RAM just past their end fits, RAM ending before it is refused. The
	 * end comes from this kernel's own headers (Debian moves it on). */
	uint64_t hi = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_paddr + ph[i].p_memsz > hi)
			hi = ph[i].p_paddr + ph[i].p_memsz;
	c.initrd_size = 0;
	assert_int_equal(gm_alloc(&gm, ((hi + MiB - 1) & ~(MiB - 1)) + MiB), 0);
	assert_int_equal(boot_load_kernel(&gm, &c, &e), 0);
	gm_free(&gm);
	assert_int_equal(gm_alloc(&gm, (hi - 1) & ~(MiB - 1)), 0);
	assert_int_equal(boot_load_kernel(&gm, &c, &e), -ENOMEM);
	gm_free(&gm);
	free(elf);
	free(k);
}

/* ---- CPUID ------------------------------------------------------------------ */

#define CAP 24

union cpuid_buf {
	struct kvm_cpuid2 c;
	uint8_t raw[sizeof(struct kvm_cpuid2) + CAP * sizeof(struct kvm_cpuid_entry2)];
};

static void add(union cpuid_buf *u, uint32_t fn, uint32_t idx, uint32_t eax, uint32_t ebx,
		uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = &u->c.entries[u->c.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->eax = eax; e->ebx = ebx; e->ecx = ecx; e->edx = edx;
	if (fn == 4 || fn == 0xb || fn == 0x8000001d)
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
}

/* Roughly what KVM_GET_SUPPORTED_CPUID gives on an Intel host with 8
 * threads (host APIC id 5 leaks through leaf 1 and 0xb). */
static void intel_table(union cpuid_buf *u)
{
	memset(u, 0, sizeof(*u));
	add(u, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);
	add(u, 1, 0, 0x000906ea, 0x05100800, 0x77fafbff & ~(1u << 24), 0x0f8bfbff);
	add(u, 4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);  /* L1d */
	add(u, 4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);  /* L1i */
	add(u, 4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0); /* L2 */
	add(u, 4, 3, 0x1c03c163, 0x02c0003f, 0x3fff, 6); /* L3, 16 sharing */
	add(u, 4, 4, 0, 0, 0, 0);
	add(u, 6, 0, 4, 0, 0, 0);
	add(u, 0xb, 0, 1, 2, 0x100, 5);
	add(u, 0xb, 1, 4, 8, 0x201, 5);
	add(u, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(u, 0x40000001, 0, 0x01007afb, 0, 0, 0);
	add(u, 0x80000008, 0, 0x3027, 0, 0, 0);
}

static const struct kvm_cpuid_entry2 *find(const union cpuid_buf *u, uint32_t fn, uint32_t idx)
{
	const struct kvm_cpuid_entry2 *hit = NULL;
	for (unsigned i = 0; i < u->c.nent; i++)
		if (u->c.entries[i].function == fn && u->c.entries[i].index == idx) {
			assert_null(hit);  /* never duplicated */
			hit = &u->c.entries[i];
		}
	return hit;
}

static void test_cpuid_per_vcpu(void **state)
{
	union cpuid_buf u, orig;
	intel_table(&orig);
	for (unsigned idx = 0; idx < 6; idx++) {
		u = orig;
		assert_int_equal(cpuid_adjust(&u.c, CAP, idx, 6, CPUID_TSC_DEADLINE), 0);
		const struct kvm_cpuid_entry2 *e = find(&u, 1, 0);
		assert_non_null(e);
		assert_int_equal(e->ebx >> 24, idx);
		assert_int_equal((e->ebx >> 16) & 0xff, 6);
		assert_int_equal(e->ebx & 0xffff, 0x0800);  /* CLFLUSH size, brand kept */
		assert_true(e->ecx & (1u << 31));
		assert_true(e->ecx & (1u << 24));
		assert_true(e->edx & (1u << 28));
		assert_int_equal(e->eax, 0x000906ea);

		/* 0xb: SMT level 1 thread, core level 6 cores in 3 id bits,
		 * terminating level; x2APIC id everywhere. */
		e = find(&u, 0xb, 0);
		assert_non_null(e);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ebx, 1);
		assert_int_equal(e->ecx, 0x100);
		assert_int_equal(e->edx, idx);
		assert_int_equal(e->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		e = find(&u, 0xb, 1);
		assert_non_null(e);
		assert_int_equal(e->eax, 3);
		assert_int_equal(e->ebx, 6);
		assert_int_equal(e->ecx, 0x201);
		assert_int_equal(e->edx, idx);
		e = find(&u, 0xb, 2);
		assert_non_null(e);
		assert_int_equal(e->ebx, 0);
		assert_int_equal((e->ecx >> 8) & 0xff, 0);
		assert_int_equal(e->edx, idx);
		assert_null(find(&u, 0x1f, 0));  /* not reported by KVM: not invented */

		/* Leaf 4: 8 core ids per package; L1/L2 private, L3 shared. */
		for (uint32_t sub = 0; sub < 4; sub++) {
			e = find(&u, 4, sub);
			assert_int_equal(e->eax >> 26, 7);
			assert_int_equal((e->eax >> 14) & 0xfff, sub == 3 ? 7 : 0);
			assert_int_equal(e->eax & 0x3fff, orig.c.entries[2 + sub].eax & 0x3fff);
		}
		assert_int_equal(find(&u, 4, 4)->eax, 0);

		e = find(&u, 0x80000008, 0);
		assert_int_equal(e->ecx & 0xff, 5);
		assert_int_equal((e->ecx >> 12) & 0xf, 3);
		assert_int_equal(e->eax, 0x3027);

		/* Untouched: vendor, leaf 6, KVM PV leaves. */
		assert_memory_equal(find(&u, 0, 0), &orig.c.entries[0], sizeof(orig.c.entries[0]));
		assert_memory_equal(find(&u, 6, 0), find(&orig, 6, 0), sizeof(orig.c.entries[0]));
		assert_memory_equal(find(&u, 0x40000000, 0), find(&orig, 0x40000000, 0),
				    sizeof(orig.c.entries[0]));
		assert_memory_equal(find(&u, 0x40000001, 0), find(&orig, 0x40000001, 0),
				    sizeof(orig.c.entries[0]));
		assert_int_equal(u.c.nent, orig.c.nent + 1);
	}
}

static void test_cpuid_single_and_flags(void **state)
{
	union cpuid_buf u;
	intel_table(&u);
	u.c.entries[1].ecx |= 1u << 24;  /* pretend the table had TSC-deadline */
	assert_int_equal(cpuid_adjust(&u.c, CAP, 0, 1, 0), 0);
	const struct kvm_cpuid_entry2 *e = find(&u, 1, 0);
	assert_int_equal(e->ebx >> 24, 0);
	assert_false(e->ecx & (1u << 24));  /* not asked for: cleared */
	assert_false(e->edx & (1u << 28));
	assert_true(e->ecx & (1u << 31));
	assert_int_equal(find(&u, 0xb, 1)->eax, 0);
	assert_int_equal(find(&u, 0xb, 1)->ebx, 1);
	assert_int_equal(find(&u, 4, 3)->eax >> 26, 0);
	assert_int_equal((find(&u, 4, 3)->eax >> 14) & 0xfff, 0);
}

static void test_cpuid_leaf_1f_and_amd(void **state)
{
	union cpuid_buf u;
	memset(&u, 0, sizeof(u));
	add(&u, 1, 0, 0, 0, 0, 0);
	add(&u, 0x1f, 0, 1, 2, 0x100, 9);
	add(&u, 0x1f, 1, 4, 8, 0x201, 9);
	add(&u, 0x1f, 2, 6, 16, 0x502, 9);  /* die level: dropped */
	add(&u, 0x1f, 3, 0, 0, 3, 9);
	add(&u, 0x8000001d, 0, 0x121, 0, 0, 0);
	add(&u, 0x8000001d, 3, 0x3c163, 0, 0, 0);
	add(&u, 0x8000001e, 0, 0, 0, 0, 0);
	assert_int_equal(cpuid_adjust(&u.c, CAP, 2, 3, 0), 0);
	assert_int_equal(u.c.nent, 1 + 3 + 3);
	assert_int_equal(find(&u, 0x1f, 1)->eax, 2);
	assert_int_equal(find(&u, 0x1f, 1)->ebx, 3);
	assert_int_equal(find(&u, 0x1f, 2)->ecx, 2);
	assert_int_equal(find(&u, 0x1f, 2)->edx, 2);
	assert_null(find(&u, 0x1f, 3));
	assert_int_equal((find(&u, 0x8000001d, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((find(&u, 0x8000001d, 3)->eax >> 14) & 0xfff, 3);
	assert_int_equal(find(&u, 0x8000001e, 0)->eax, 2);
	assert_int_equal(find(&u, 0x8000001e, 0)->ebx, 2);
}

static void test_cpuid_errors(void **state)
{
	union cpuid_buf u, orig;
	intel_table(&orig);
	u = orig;
	assert_int_equal(cpuid_adjust(&u.c, CAP, 0, 0, 0), -EINVAL);
	assert_int_equal(cpuid_adjust(&u.c, CAP, 4, 4, 0), -EINVAL);
	assert_int_equal(cpuid_adjust(&u.c, CAP, 0, CPUID_MAX_CPUS + 1, 0), -EINVAL);
	assert_int_equal(cpuid_adjust(&u.c, u.c.nent - 1, 0, 2, 0), -EINVAL);
	/* Leaf 0xb needs one more slot than the table has room for. */
	assert_int_equal(cpuid_adjust(&u.c, u.c.nent, 0, 2, 0), -ENOSPC);
	assert_memory_equal(&u, &orig, sizeof(u));
	assert_int_equal(cpuid_adjust(&u.c, u.c.nent + 1, 1, 2, 0), 0);
	assert_int_equal(cpuid_adjust(&u.c, CAP, 254, CPUID_MAX_CPUS, 0), 0);
	assert_int_equal(find(&u, 1, 0)->ebx >> 24, 254);
	assert_int_equal((find(&u, 1, 0)->ebx >> 16) & 0xff, 255);
	assert_int_equal(find(&u, 4, 0)->eax >> 26, 63);  /* 6-bit field saturates */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_elf),
		cmocka_unit_test(test_reject_bad_elf),
		cmocka_unit_test(test_load_synthetic),
		cmocka_unit_test(test_no_initrd_empty_cmdline),
		cmocka_unit_test(test_short_header_not_copied),
		cmocka_unit_test(test_reject_bad_headers),
		cmocka_unit_test(test_reject_short_files),
		cmocka_unit_test(test_reject_too_big),
		cmocka_unit_test(test_cmdline_limits),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_e820_small_and_errors),
		cmocka_unit_test(test_e820_high_ram),
		cmocka_unit_test(test_sregs),
		cmocka_unit_test(test_regs_fpu_msrs),
		cmocka_unit_test(test_real_kernel),
		cmocka_unit_test(test_cpuid_per_vcpu),
		cmocka_unit_test(test_cpuid_single_and_flags),
		cmocka_unit_test(test_cpuid_leaf_1f_and_amd),
		cmocka_unit_test(test_cpuid_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
