/* SPDX-License-Identifier: MIT */
/* Block map of an ephemeral disk's overlay: see blk_overlay.h. */
#include <errno.h>

#include "blk_overlay.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

size_t blk_overlay_bitmap_bytes(uint64_t capacity)
{
	return (size_t)((capacity + 63) / 64) * sizeof(uint64_t);
}

void blk_overlay_init(struct blk_overlay *o, uint64_t *bits, uint64_t capacity)
{
	o->bits = bits;
	o->capacity = capacity;
}

/* Bits [b, b + cnt) of one word, 1 <= cnt <= 64 - b. */
static uint64_t word_mask(unsigned b, unsigned cnt)
{
	return (cnt == 64 ? ~0ull : (1ull << cnt) - 1) << b;
}

static int set_range(struct blk_overlay *o, uint64_t sector, uint64_t n, bool on)
{
	if (sector > o->capacity || n > o->capacity - sector)
		return -ERANGE;
	uint64_t end = sector + n;
	while (sector < end) {
		uint64_t *w = &o->bits[sector / 64];
		unsigned b = (unsigned)(sector % 64);
		unsigned cnt = end - sector < 64 - b ? (unsigned)(end - sector) : 64 - b;
		uint64_t m = word_mask(b, cnt);
		/* Store only to words that change: a mark over sectors already
		 * marked, or a clear over a never-touched stretch, leaves the
		 * page untouched (see the memory note in the header). */
		uint64_t cur = LOAD(w);
		if (on && (cur & m) != m)
			__atomic_fetch_or(w, m, __ATOMIC_RELAXED);
		else if (!on && (cur & m) != 0)
			__atomic_fetch_and(w, ~m, __ATOMIC_RELAXED);
		sector += cnt;
	}
	return 0;
}

int blk_overlay_mark(struct blk_overlay *o, uint64_t sector, uint64_t n)
{
	return set_range(o, sector, n, true);
}

int blk_overlay_clear(struct blk_overlay *o, uint64_t sector, uint64_t n)
{
	return set_range(o, sector, n, false);
}

bool blk_overlay_test(const struct blk_overlay *o, uint64_t sector)
{
	if (sector >= o->capacity)
		return false;
	return (LOAD(&o->bits[sector / 64]) >> (sector % 64)) & 1;
}

/* First sector in [pos, end) whose bit is `on`, or end; pos < end <= capacity.
 * Bits past capacity in the last word are never looked at beyond `end`. */
static uint64_t find_bit(const uint64_t *bits, uint64_t pos, uint64_t end, bool on)
{
	uint64_t flip = on ? 0 : ~0ull; /* make the wanted value a 1 */
	uint64_t i = pos / 64;
	uint64_t w = (LOAD(&bits[i]) ^ flip) & (~0ull << (pos % 64));

	for (;;) {
		if (w) {
			uint64_t s = i * 64 + (uint64_t)__builtin_ctzll(w);
			return s < end ? s : end;
		}
		if (++i >= (end + 63) / 64)
			return end;
		w = LOAD(&bits[i]) ^ flip;
	}
}

bool blk_overlay_next_run(const struct blk_overlay *o, uint64_t *pos, uint64_t end,
			  struct blk_run *run)
{
	uint64_t start = *pos;

	if (end > o->capacity)
		end = o->capacity;
	if (start >= end)
		return false;
	bool overlay = blk_overlay_test(o, start);
	uint64_t stop = find_bit(o->bits, start, end, !overlay);
	run->sector = start;
	run->nsectors = stop - start;
	run->overlay = overlay;
	*pos = stop;
	return true;
}
