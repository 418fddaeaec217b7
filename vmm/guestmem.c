/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "guestmem.h"

/* x86_64's huge page: the unit of a second-level (EPT/NPT) 2 MiB mapping. */
#define GM_HUGE_PAGE (2u << 20)

static uint8_t *gm_align_up(uint8_t *p, uintptr_t align)
{
	return (uint8_t *)(((uintptr_t)p + align - 1) & ~(align - 1));
}

int gm_layout(struct guest_mem *gm, uint8_t *host, uint64_t size)
{
	if (size < (1ull << 20) || (size & 0xfff))
		return -EINVAL;
	memset(gm, 0, sizeof(*gm));
	gm->base = host;
	gm->size = size;
	uint64_t low = size < GM_LOW_RAM_END ? size : GM_LOW_RAM_END;
	gm->r[0] = (struct gm_region){ .gpa = 0, .size = low, .host = host };
	gm->nr = 1;
	if (size > low) {
		gm->r[1] = (struct gm_region){ .gpa = GM_HIGH_RAM_START,
					       .size = size - low,
					       .host = host + low };
		gm->nr = 2;
	}
	return 0;
}

int gm_alloc(struct guest_mem *gm, uint64_t size)
{
	if (size < (1ull << 20) || (size & 0xfff))
		return -EINVAL;
	/* MAP_NORESERVE: the guest touches what it uses; untouched RAM costs
	 * the host nothing. One huge page more than asked for, so the RAM can
	 * start on a huge-page boundary (below). */
	size_t slack = GM_HUGE_PAGE;
	uint8_t *raw = mmap(NULL, size + slack, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	uint8_t *p = gm_align_up(raw, GM_HUGE_PAGE);
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	munmap(p + size, (size_t)(raw + slack - p)); /* p - raw < slack: never empty */
	/* Guest RAM must never end up in a core dump of the VMM. */
	madvise(p, size, MADV_DONTDUMP);
	/* Transparent huge pages where the host allows them (needed in its
	 * "madvise" mode, Ubuntu's default; Debian's "always" needs only the
	 * alignment above), as QEMU asks for its guests' RAM: the
	 * kernel then maps guest RAM in 2 MiB second-level (EPT/NPT) entries,
	 * a boot takes one fault per 2 MiB it touches instead of one per
	 * 4 KiB, and the guest's TLB misses walk one level less. The cost: a
	 * touched 2 MiB is resident whole. Best effort: a host with THP off
	 * refuses, and the RAM stays in small pages. */
	madvise(p, size, MADV_HUGEPAGE);
	return gm_layout(gm, p, size);
}

void gm_free(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->size);
	gm->base = NULL;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr; i++) {
		const struct gm_region *r = &gm->r[i];
		/* gpa - r->gpa cannot wrap once gpa >= r->gpa; comparing len
		 * against the room left avoids computing gpa + len. */
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off > r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->r[0].size;
}
