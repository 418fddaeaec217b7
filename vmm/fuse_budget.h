/* SPDX-License-Identifier: MIT */
/*
 * A byte budget for memory a guest can make the FUSE server allocate.
 *
 * The VMM's cgroup memory limit is the outer wall, but it is silently absent
 * on cgroup v1, without delegation and rootless; so each kind of guest-driven
 * heap memory also has a budget of its own, charged before the allocation
 * and refunded when it is freed. Over budget, the request that would
 * allocate fails (the caller picks the errno) and nothing is allocated.
 *
 * Pure accounting, no allocation here: tests drive it directly.
 */
#ifndef ARCA_FUSE_BUDGET_H
#define ARCA_FUSE_BUDGET_H

#include <errno.h>
#include <stddef.h>

struct fuse_budget {
	size_t used;
	size_t max;
};

/* Charge n bytes: 0, or -ENOMEM (and nothing charged) when used + n would
 * pass max. Written so that no sum can wrap. */
static inline int fuse_budget_take(struct fuse_budget *b, size_t n)
{
	if (n > b->max || b->used > b->max - n)
		return -ENOMEM;
	b->used += n;
	return 0;
}

/* Refund n bytes taken before. A refund larger than the charge would be a
 * bug of ours, not the guest's: clamp rather than wrap to a huge "used"
 * that would refuse everything from then on. */
static inline void fuse_budget_give(struct fuse_budget *b, size_t n)
{
	b->used = n > b->used ? 0 : b->used - n;
}

#endif
