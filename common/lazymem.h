/* SPDX-License-Identifier: MIT */
/*
 * Tables sized for their bound but used from the bottom up (request slots,
 * a share's inode and handle tables): fresh anonymous memory, so only the
 * pages of entries ever used cost memory. Not calloc's: it may hand out
 * recycled heap memory and zero all of it. Small pages only: with
 * transparent huge pages "always", the first touch would fault in 2 MiB.
 * Zero-filled, as calloc's would be.
 */
#ifndef ARCA_LAZYMEM_H
#define ARCA_LAZYMEM_H

#include <stddef.h>
#include <sys/mman.h>

/* NULL when the mapping fails (errno says why). */
static inline void *lazymem_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Advice only: a kernel without THP refuses it, and small pages are
	 * then what it has anyway. */
	(void)madvise(p, size, MADV_NOHUGEPAGE);
	return p;
}

static inline void lazymem_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

#endif
