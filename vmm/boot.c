/* SPDX-License-Identifier: MIT */
/*
 * bzImage loader for the x86 64-bit boot protocol. See boot.h for the memory
 * layout; Documentation/arch/x86/boot.rst for every header field used here.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <asm/bootparam.h>
#include <asm/e820.h>
#include <linux/kvm.h>

#include "boot.h"
#include "guestmem.h"

/* boot.rst: the setup header sits at 0x1f1 in the file and in the zero
 * page; "HdrS" at 0x202; the byte at 0x201 is the jump offset, so the
 * header ends at 0x202 + that byte. */
#define SETUP_HDR_OFF      0x1f1u
#define SETUP_HDR_MAGIC    0x53726448u  /* "HdrS" */
#define SETUP_BOOT_FLAG    0xaa55u
#define SETUP_JUMP_END_OFF 0x201u
#define SETUP_DEFAULT_SECTS 4u          /* setup_sects == 0 means 4 */
#define ENTRY64_OFF        0x200u       /* startup_64 = load address + 0x200 */
#define LOADER_UNDEFINED   0xffu        /* type_of_loader: no assigned id */
#define VID_MODE_NORMAL    0xffffu

_Static_assert(offsetof(struct boot_params, hdr) == SETUP_HDR_OFF, "zero page layout");
_Static_assert(sizeof(struct boot_params) == 4096, "zero page size");
/* Everything we place below 1 MiB must stay clear of the EBDA. */
_Static_assert(BOOT_CMDLINE_GPA + BOOT_CMDLINE_MAX <= GM_EBDA_START, "cmdline in low RAM");
_Static_assert(BOOT_PD_GPA + 4 * 4096 <= BOOT_CMDLINE_GPA, "page tables below cmdline");
_Static_assert(BOOT_GDT_GPA + BOOT_GDT_ENTRIES * 8 <= BOOT_IDT_GPA, "GDT below IDT");

/* Page-table entry bits (SDM vol. 3, 4.5). */
#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_PS  (1ull << 7)

/* Control register and EFER bits (SDM vol. 3, 2.5 and 2.2.1). */
#define CR0_PE  (1ull << 0)
#define CR0_ET  (1ull << 4)
#define CR0_NE  (1ull << 5)
#define CR0_NW  (1ull << 29)
#define CR0_CD  (1ull << 30)
#define CR0_PG  (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

/* MSRs (SDM vol. 4). Architectural numbers, not ABI structs; the uapi
 * headers do not export msr-index.h. */
#define MSR_IA32_TSC            0x010u
#define MSR_IA32_SYSENTER_CS    0x174u
#define MSR_IA32_SYSENTER_ESP   0x175u
#define MSR_IA32_SYSENTER_EIP   0x176u
#define MSR_IA32_MISC_ENABLE    0x1a0u
#define MSR_MTRR_DEF_TYPE       0x2ffu
#define MSR_STAR                0xc0000081u
#define MSR_LSTAR               0xc0000082u
#define MSR_CSTAR               0xc0000083u
#define MSR_SYSCALL_MASK        0xc0000084u
#define MSR_KERNEL_GS_BASE      0xc0000102u
#define MISC_ENABLE_FAST_STRING (1ull << 0)
#define MTRR_DEF_TYPE_E         (1ull << 11)
#define MTRR_TYPE_WB            6ull

/* What the loader needs from a validated image: a bzImage (one segment,
 * the protected-mode kernel at 1 MiB, entered at its decompressor) or an
 * uncompressed vmlinux ELF (its PT_LOAD segments at their physical
 * addresses, entered at startup_64 of the kernel proper). */
#define KIMAGE_MAX_SEGS 16u
struct bzimage {
	struct setup_header hdr;  /* bytes past the image's header end zeroed */
	size_t hdr_len;           /* bytes of header the image really has */
	const uint8_t *payload;   /* protected-mode kernel */
	size_t payload_len;
	uint64_t end;             /* exclusive end of the kernel's footprint */
	uint64_t entry;           /* the BSP's first rip */
	bool elf;                 /* a vmlinux: segments may be mapped (boot_config.map) */
	unsigned nseg;
	struct {
		const uint8_t *src;
		uint64_t gpa, filesz, memsz;
	} seg[KIMAGE_MAX_SEGS];
};

/* A vmlinux has no setup header: these are the values a bzImage of the
 * same kernel would carry that the kernel proper or our loader reads. */
#define ELF_CMDLINE_SIZE  2047u        /* COMMAND_LINE_SIZE - 1 on x86 */
#define ELF_INITRD_MAX    0x7fffffffu  /* boot.rst: the default since 2.03 */
#define ELF_PROTOCOL      0x020fu
#define ELF_MAX_SEG_SIZE  (1ull << 30)

/*
 * Validate an untrusted vmlinux (ELF64, x86-64, EXEC): every PT_LOAD within
 * the file, its memory image at or above 1 MiB (clear of the zero page,
 * our page tables and the EBDA) and in low RAM, the entry point inside an
 * executable segment. Its physical addresses (p_paddr) are where the
 * decompressor would have put it; the kernel runs there without
 * relocation, i.e. without KASLR (only the decompressor randomizes).
 */
static int elf_parse(const uint8_t *k, size_t len, struct bzimage *bz)
{
	Elf64_Ehdr eh;

	memset(bz, 0, sizeof(*bz));
	if (!k || len < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, k, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 64)
		return -ENOEXEC;
	if (eh.e_phoff > len || (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		return -ENOEXEC;

	uint64_t lo = UINT64_MAX, hi = 0;
	bool entry_ok = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, k + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (bz->nseg == KIMAGE_MAX_SEGS || ph.p_filesz > ph.p_memsz ||
		    ph.p_memsz > ELF_MAX_SEG_SIZE || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			return -ENOEXEC;
		/* p_paddr < 1 MiB would land on the zero page and page tables;
		 * the 2^32 bound keeps the sums below from wrapping. */
		if (ph.p_paddr < BOOT_KERNEL_GPA || ph.p_paddr > GM_HIGH_RAM_START)
			return -ENOEXEC;
		bz->seg[bz->nseg].src = k + ph.p_offset;
		bz->seg[bz->nseg].gpa = ph.p_paddr;
		bz->seg[bz->nseg].filesz = ph.p_filesz;
		bz->seg[bz->nseg].memsz = ph.p_memsz;
		bz->nseg++;
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
		if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_paddr &&
		    eh.e_entry - ph.p_paddr < ph.p_filesz)
			entry_ok = true;
	}
	if (!bz->nseg || !entry_ok)
		return -ENOEXEC;
	bz->entry = eh.e_entry;
	bz->elf = true;
	bz->end = hi > GM_HIGH_RAM_START ? UINT64_MAX : hi;

	struct setup_header *h = &bz->hdr;
	h->boot_flag = SETUP_BOOT_FLAG;
	h->header = SETUP_HDR_MAGIC;
	h->version = ELF_PROTOCOL;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = ELF_CMDLINE_SIZE;
	h->initrd_addr_max = ELF_INITRD_MAX;
	h->kernel_alignment = 0x200000;
	h->pref_address = lo;
	h->init_size = (uint32_t)(hi - lo); /* both below 2^33, segments < 1 GiB each */
	bz->hdr_len = sizeof(*h);
	return 0;
}

static int bz_parse(const uint8_t *k, size_t len, struct bzimage *bz);

/* Either kind of image (boot.h). */
static int kimage_parse(const uint8_t *k, size_t len, struct bzimage *bz)
{
	if (k && len >= SELFMAG && memcmp(k, ELFMAG, SELFMAG) == 0)
		return elf_parse(k, len, bz);
	int r = bz_parse(k, len, bz);
	if (r == 0) {
		bz->entry = BOOT_KERNEL_GPA + ENTRY64_OFF;
		bz->nseg = 1;
		bz->seg[0].src = bz->payload;
		bz->seg[0].gpa = BOOT_KERNEL_GPA;
		bz->seg[0].filesz = bz->seg[0].memsz = bz->payload_len;
	}
	return r;
}

/*
 * Validate an untrusted bzImage. Every field used as an offset or size is
 * checked here, before anything is written to the guest.
 */
static int bz_parse(const uint8_t *k, size_t len, struct bzimage *bz)
{
	const size_t hdr_max_end = SETUP_HDR_OFF + sizeof(struct setup_header);
	const size_t hdr_min_end = SETUP_HDR_OFF + offsetof(struct setup_header, init_size) +
				   sizeof(bz->hdr.init_size);

	memset(bz, 0, sizeof(*bz));
	if (!k || len < hdr_max_end)
		return -ENOEXEC;
	memcpy(&bz->hdr, k + SETUP_HDR_OFF, sizeof(bz->hdr));
	struct setup_header *h = &bz->hdr;
	if (h->header != SETUP_HDR_MAGIC || h->boot_flag != SETUP_BOOT_FLAG)
		return -ENOEXEC;
	if (h->version < BOOT_PROTOCOL_MIN)
		return -ENOEXEC;

	/* Fields past the image's own header end are setup code, not header:
	 * neither trust them nor pass them to the kernel in the zero page.
	 * We rely on fields up to init_size (protocol 2.10). */
	size_t hdr_end = 0x202u + k[SETUP_JUMP_END_OFF];
	if (hdr_end < hdr_min_end)
		return -ENOEXEC;
	if (hdr_end > hdr_max_end)
		hdr_end = hdr_max_end;
	bz->hdr_len = hdr_end - SETUP_HDR_OFF;
	memset((uint8_t *)h + bz->hdr_len, 0, sizeof(*h) - bz->hdr_len);

	/* Without XLF_KERNEL_64 there is no startup_64 at +0x200; without
	 * LOADED_HIGH it is a zImage meant for 0x10000. */
	if (!(h->xloadflags & XLF_KERNEL_64) || !(h->loadflags & LOADED_HIGH))
		return -ENOEXEC;

	size_t sects = h->setup_sects ? h->setup_sects : SETUP_DEFAULT_SECTS;
	size_t setup_size = (sects + 1) * 512;  /* at most 256 * 512 */
	/* The payload must at least contain the entry point at +0x200. */
	if (setup_size >= len || len - setup_size <= ENTRY64_OFF)
		return -ENOEXEC;
	bz->payload = k + setup_size;
	bz->payload_len = len - setup_size;

	/*
	 * Footprint (boot.rst "init_size"; arch/x86/boot/compressed/head_64.S):
	 * the decompressor runs at the load address rounded up to
	 * kernel_alignment, but never below pref_address (LOAD_PHYSICAL_ADDR),
	 * and needs init_size bytes from there. A non-relocatable kernel runs
	 * at pref_address. The initrd must not overlap any of it.
	 */
	uint64_t run = h->pref_address;
	if (h->relocatable_kernel) {
		uint64_t a = h->kernel_alignment;
		if (a == 0 || (a & (a - 1)))
			return -ENOEXEC;
		uint64_t up = (BOOT_KERNEL_GPA + a - 1) & ~(a - 1);  /* a <= 2^31 */
		if (up > run)
			run = up;
	}
	/* Running below 1 MiB would put the decompressor on top of the zero
	 * page, our page tables and the EBDA. */
	if (run < BOOT_KERNEL_GPA)
		return -ENOEXEC;
	if (run > GM_HIGH_RAM_START) {
		bz->end = UINT64_MAX;  /* cannot fit in low RAM whatever init_size is */
		return 0;
	}
	bz->end = run + h->init_size;  /* both < 2^33: no overflow */
	if (bz->payload_len > GM_HIGH_RAM_START)
		bz->end = UINT64_MAX;
	else if (BOOT_KERNEL_GPA + bz->payload_len > bz->end)
		bz->end = BOOT_KERNEL_GPA + bz->payload_len;
	return 0;
}

int boot_build_e820(const struct guest_mem *gm, struct boot_e820_entry *tab, int max)
{
	uint64_t low = gm_low_end(gm);
	int n = 0;

	if (low < GM_BIOS_END)
		return -EINVAL;
#define ADD(a, s, t) do { \
		if (n >= max) \
			return -ENOSPC; \
		tab[n].addr = (a); tab[n].size = (s); tab[n].type = (t); n++; \
	} while (0)
	ADD(0, GM_EBDA_START, E820_RAM);
	/* EBDA, the ACPI tables at 0xe0000 and the BIOS area: the kernel must
	 * not hand these pages out. */
	ADD(GM_EBDA_START, GM_BIOS_END - GM_EBDA_START, E820_RESERVED);
	if (low > GM_BIOS_END)
		ADD(GM_BIOS_END, low - GM_BIOS_END, E820_RAM);
	for (unsigned i = 1; i < gm->nr; i++)
		ADD(gm->r[i].gpa, gm->r[i].size, E820_RAM);
#undef ADD
	return n;
}

/* One 8-byte segment descriptor (SDM vol. 3, 3.4.5). `access` is the byte
 * P|DPL|S|type, `flags` the nibble G|D/B|L|AVL. */
static uint64_t gdt_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) |
	       (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 |
	       (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 |
	       (uint64_t)(base >> 24) << 56;
}

#define DESC_CODE64  0x9b  /* P, DPL 0, S, execute/read, accessed */
#define DESC_DATA    0x93  /* P, DPL 0, S, read/write, accessed */
#define DESC_TSS64B  0x8b  /* P, DPL 0, system, busy 64-bit TSS (type 11) */
#define FLAGS_CODE64 0xa   /* G, L */
#define FLAGS_DATA   0xc   /* G, D/B */
#define TSS_LIMIT    0x67  /* 104-byte TSS */

void boot_gdt(uint64_t gdt[BOOT_GDT_ENTRIES])
{
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_SEL_CODE / 8] = gdt_desc(0, 0xfffff, DESC_CODE64, FLAGS_CODE64);
	gdt[BOOT_SEL_DATA / 8] = gdt_desc(0, 0xfffff, DESC_DATA, FLAGS_DATA);
	/* A 64-bit TSS descriptor takes two slots; the upper one holds base
	 * bits 63:32 (zero). VMX wants a usable, busy TSS in TR (SDM
	 * 26.3.1.2); nothing uses it before Linux loads its own (interrupts
	 * are off, so no stack switch reads it). */
	gdt[BOOT_SEL_TSS / 8] = gdt_desc(0, TSS_LIMIT, DESC_TSS64B, 0);
	gdt[BOOT_SEL_TSS / 8 + 1] = 0;
}

void boot_seg_from_desc(uint64_t d, uint16_t sel, struct kvm_segment *s)
{
	uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)((d >> 48) & 0xf) << 16;
	memset(s, 0, sizeof(*s));
	s->base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
	s->g = (d >> 55) & 1;
	/* With G set the limit counts 4 KiB pages; KVM takes it in bytes. */
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->selector = sel;
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->unusable = !s->present;
}

/* Identity map [0, 4 GiB) with 2 MiB pages: covers the zero page, the
 * command line, the kernel footprint and the initrd (all in low RAM), as
 * the 64-bit protocol requires. */
static int write_page_tables(struct guest_mem *gm)
{
	uint64_t *pml4 = gm_ptr(gm, BOOT_PML4_GPA, 4096);
	uint64_t *pdpt = gm_ptr(gm, BOOT_PDPT_GPA, 4096);
	uint64_t *pd = gm_ptr(gm, BOOT_PD_GPA, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return -ENOMEM;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

static int check_initrd(const struct guest_mem *gm, const struct bzimage *bz,
			const struct boot_config *c)
{
	if (!c->initrd_size)
		return 0;
	uint64_t start = c->initrd_gpa, size = c->initrd_size;
	/* The zero page holds a 32-bit address plus ext_ramdisk_image; we keep
	 * it in low RAM (below the MMIO hole) where initrd_addr_max applies. */
	if (start > gm_low_end(gm) || size > gm_low_end(gm) - start)
		return -EINVAL;
	if (start + size - 1 > bz->hdr.initrd_addr_max)
		return -EINVAL;
	if (start < bz->end)
		return -ENOMEM;  /* the kernel does not fit below the initrd */
	return 0;
}

int boot_load_kernel(struct guest_mem *gm, const struct boot_config *c,
		     struct boot_entry *out)
{
	struct bzimage bz;
	int r = kimage_parse(c->kernel, c->kernel_len, &bz);
	if (r < 0)
		return r;
	if (bz.end > gm_low_end(gm))
		return -ENOMEM;
	r = check_initrd(gm, &bz, c);
	if (r < 0)
		return r;

	/* cmdline_size excludes the NUL (boot.rst). */
	const char *cmdline = c->cmdline ? c->cmdline : "";
	size_t cmax = bz.hdr.cmdline_size;
	if (cmax > BOOT_CMDLINE_MAX - 1)
		cmax = BOOT_CMDLINE_MAX - 1;
	size_t clen = strnlen(cmdline, cmax + 1);
	if (clen > cmax)
		return -E2BIG;

	/* Every range checked before the first byte is written. */
	uint8_t *kdst[KIMAGE_MAX_SEGS];
	for (unsigned i = 0; i < bz.nseg; i++)
		if (!(kdst[i] = gm_ptr(gm, bz.seg[i].gpa, bz.seg[i].memsz)))
			return -ENOMEM;
	uint8_t *zp = gm_ptr(gm, BOOT_ZERO_PAGE_GPA, sizeof(struct boot_params));
	char *cl = gm_ptr(gm, BOOT_CMDLINE_GPA, clen + 1);
	uint8_t *gdtp = gm_ptr(gm, BOOT_GDT_GPA, BOOT_GDT_ENTRIES * 8);
	uint8_t *idtp = gm_ptr(gm, BOOT_IDT_GPA, 8);
	uint8_t *stack = gm_ptr(gm, BOOT_STACK_TOP & ~0xfffull, 4096);
	if (!zp || !cl || !gdtp || !idtp || !stack)
		return -ENOMEM;

	struct boot_e820_entry e820[8];
	int ne = boot_build_e820(gm, e820, (int)(sizeof(e820) / sizeof(e820[0])));
	if (ne < 0)
		return ne;

	for (unsigned i = 0; i < bz.nseg; i++) {
		/* Whole pages of a vmlinux segment whose file offset and address
		 * agree on page alignment can be mapped instead; the partial
		 * last page is copied (beyond filesz the file holds other data,
		 * not the zeroes .bss needs). */
		uint64_t off = (uint64_t)(bz.seg[i].src - c->kernel), done = 0;
		uint64_t whole = bz.seg[i].filesz & ~0xfffull;
		if (c->map && bz.elf && whole && !(off & 0xfff) && !(bz.seg[i].gpa & 0xfff)) {
			if ((r = c->map(c->map_opaque, kdst[i], off, whole)) < 0)
				return r;
			done = whole;
		}
		memcpy(kdst[i] + done, bz.seg[i].src + done, bz.seg[i].filesz - done);
		/* .bss: guest RAM is fresh and zero, but say so rather than rely on it */
		memset(kdst[i] + bz.seg[i].filesz, 0, bz.seg[i].memsz - bz.seg[i].filesz);
	}
	memcpy(cl, cmdline, clen);
	cl[clen] = 0;

	/* The zero page: clean, then the image's own header (boot.rst: "copy
	 * the setup header into a clean boot_params"), then our fields. */
	struct boot_params bp;
	memset(&bp, 0, sizeof(bp));
	memcpy((uint8_t *)&bp + SETUP_HDR_OFF, &bz.hdr, bz.hdr_len);
	bp.hdr.type_of_loader = LOADER_UNDEFINED;
	bp.hdr.vid_mode = VID_MODE_NORMAL;
	/* No real-mode setup code runs in the 64-bit protocol, so there is no
	 * setup heap to describe: CAN_USE_HEAP stays clear, heap_end_ptr 0.
	 * QUIET/KEEP_SEGMENTS only concern the 16/32-bit entries. */
	bp.hdr.loadflags = LOADED_HIGH;
	bp.hdr.heap_end_ptr = 0;
	bp.hdr.setup_data = 0;  /* we pass no setup_data list */
	bp.hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_GPA;
	bp.ext_cmd_line_ptr = 0;
	if (c->initrd_size) {
		bp.hdr.ramdisk_image = (uint32_t)c->initrd_gpa;
		bp.ext_ramdisk_image = (uint32_t)(c->initrd_gpa >> 32);
		bp.hdr.ramdisk_size = c->initrd_size;
	}
	bp.acpi_rsdp_addr = c->rsdp_gpa;
	bp.e820_entries = (uint8_t)ne;
	memcpy((uint8_t *)&bp + offsetof(struct boot_params, e820_table), e820,
	       (size_t)ne * sizeof(e820[0]));
	memcpy(zp, &bp, sizeof(bp));

	uint64_t gdt[BOOT_GDT_ENTRIES];
	boot_gdt(gdt);
	memcpy(gdtp, gdt, sizeof(gdt));
	memset(idtp, 0, 8);
	memset(stack, 0, 4096);
	r = write_page_tables(gm);
	if (r < 0)
		return r;

	*out = (struct boot_entry){
		.rip = bz.entry,
		.rsp = BOOT_STACK_TOP,
		.rsi = BOOT_ZERO_PAGE_GPA,
		.cr3 = BOOT_PML4_GPA,
		.gdt_gpa = BOOT_GDT_GPA,
		.idt_gpa = BOOT_IDT_GPA,
	};
	return 0;
}

int boot_initrd_gpa(const struct guest_mem *gm, const uint8_t *kernel,
		    size_t kernel_len, uint64_t size, uint64_t *gpa)
{
	struct bzimage bz;
	int r = kimage_parse(kernel, kernel_len, &bz);
	if (r < 0)
		return r;
	if (size == 0 || size > UINT32_MAX)
		return -EINVAL;
	uint64_t top = gm_low_end(gm);
	if ((uint64_t)bz.hdr.initrd_addr_max + 1 < top)
		top = (uint64_t)bz.hdr.initrd_addr_max + 1;
	if (size > top)
		return -ENOMEM;
	uint64_t at = (top - size) & ~0xfffull;
	if (at < bz.end)
		return -ENOMEM;
	*gpa = at;
	return 0;
}

void boot_setup_sregs(const struct boot_entry *b, struct kvm_sregs *sregs)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	boot_gdt(gdt);

	struct kvm_segment code, data;
	boot_seg_from_desc(gdt[BOOT_SEL_CODE / 8], BOOT_SEL_CODE, &code);
	boot_seg_from_desc(gdt[BOOT_SEL_DATA / 8], BOOT_SEL_DATA, &data);
	sregs->cs = code;
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	boot_seg_from_desc(gdt[BOOT_SEL_TSS / 8], BOOT_SEL_TSS, &sregs->tr);

	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = 2;  /* LDT, should it ever be made usable */
	sregs->ldt.unusable = 1;

	sregs->gdt.base = b->gdt_gpa;
	sregs->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	sregs->idt.base = b->idt_gpa;
	sregs->idt.limit = 7;

	sregs->cr0 = (sregs->cr0 & ~(CR0_CD | CR0_NW)) | CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs->cr3 = b->cr3;
	sregs->cr4 = CR4_PAE;
	sregs->efer |= EFER_LME | EFER_LMA;
}

void boot_setup_regs(const struct boot_entry *b, struct kvm_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;
	regs->rip = b->rip;
	regs->rsp = b->rsp;
	regs->rsi = b->rsi;
}

void boot_setup_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = 0x37f;
	fpu->mxcsr = 0x1f80;
}

int boot_setup_msrs(struct kvm_msrs *msrs, unsigned max)
{
	static const struct { uint32_t index; uint64_t data; } boot_msrs[BOOT_NR_MSRS] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_E | MTRR_TYPE_WB },
	};
	if (max < BOOT_NR_MSRS)
		return -ENOSPC;
	msrs->nmsrs = BOOT_NR_MSRS;
	msrs->pad = 0;
	for (unsigned i = 0; i < BOOT_NR_MSRS; i++)
		msrs->entries[i] = (struct kvm_msr_entry){
			.index = boot_msrs[i].index, .data = boot_msrs[i].data };
	return BOOT_NR_MSRS;
}
