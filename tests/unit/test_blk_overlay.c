/* SPDX-License-Identifier: MIT */
/* The ephemeral disk's block map: runs across 64-bit word boundaries, the
 * first and last sector of the disk, ranges ending exactly at capacity,
 * refusals past it, idempotent mark/clear, a large sparse map, cutting a
 * request's iovecs at run boundaries with iov_slice, and a randomized
 * comparison with a plain bool-array model (fixed seed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "blk_overlay.h"
#include "iov.h"

/* Collect the runs of [start, start + n) into an array. */
static unsigned runs_of(const struct blk_overlay *o, uint64_t start, uint64_t n,
			struct blk_run *out, unsigned cap)
{
	uint64_t pos = start;
	unsigned k = 0;
	struct blk_run run;
	while (blk_overlay_next_run(o, &pos, start + n, &run)) {
		assert_true(k < cap);
		out[k++] = run;
	}
	return k;
}

static void expect_run(const struct blk_run *r, uint64_t sector, uint64_t n, bool overlay)
{
	assert_int_equal(r->sector, sector);
	assert_int_equal(r->nsectors, n);
	assert_int_equal(r->overlay, overlay);
}

static void test_bitmap_bytes(void **state)
{
	assert_int_equal(blk_overlay_bitmap_bytes(0), 0);
	assert_int_equal(blk_overlay_bitmap_bytes(1), 8);
	assert_int_equal(blk_overlay_bitmap_bytes(64), 8);
	assert_int_equal(blk_overlay_bitmap_bytes(65), 16);
	/* 1 GiB of disk: 256 KiB of map (disk bytes / 4096) */
	assert_int_equal(blk_overlay_bitmap_bytes((1ull << 30) / 512), (1u << 30) / 4096);
}

static void test_empty(void **state)
{
	uint64_t bits[4] = { 0 };
	struct blk_overlay o;
	struct blk_run r[4];
	blk_overlay_init(&o, bits, 200);
	assert_int_equal(runs_of(&o, 0, 200, r, 4), 1);
	expect_run(&r[0], 0, 200, false);
	assert_int_equal(runs_of(&o, 199, 1, r, 4), 1);
	expect_run(&r[0], 199, 1, false);
	/* empty ranges yield nothing */
	assert_int_equal(runs_of(&o, 5, 0, r, 4), 0);
	assert_int_equal(runs_of(&o, 200, 0, r, 4), 0);
}

static void test_word_boundaries(void **state)
{
	uint64_t bits[4] = { 0 };
	struct blk_overlay o;
	struct blk_run r[8];
	blk_overlay_init(&o, bits, 256);

	/* straddles words 0/1, then a run covering all of word 2 exactly */
	assert_int_equal(blk_overlay_mark(&o, 60, 10), 0);
	assert_int_equal(blk_overlay_mark(&o, 128, 64), 0);
	assert_int_equal(bits[0], 0xfull << 60);
	assert_int_equal(bits[1], 0x3f);
	assert_int_equal(bits[2], ~0ull);
	assert_int_equal(runs_of(&o, 0, 256, r, 8), 5);
	expect_run(&r[0], 0, 60, false);
	expect_run(&r[1], 60, 10, true);
	expect_run(&r[2], 70, 58, false);
	expect_run(&r[3], 128, 64, true);
	expect_run(&r[4], 192, 64, false);

	/* sub-ranges start and stop inside runs */
	assert_int_equal(runs_of(&o, 63, 2, r, 8), 1);
	expect_run(&r[0], 63, 2, true);
	assert_int_equal(runs_of(&o, 69, 60, r, 8), 3);
	expect_run(&r[0], 69, 1, true);
	expect_run(&r[1], 70, 58, false);
	expect_run(&r[2], 128, 1, true);

	/* a run of set bits spanning several whole words */
	assert_int_equal(blk_overlay_mark(&o, 64, 128), 0);
	assert_int_equal(runs_of(&o, 0, 256, r, 8), 3);
	expect_run(&r[0], 0, 60, false);
	expect_run(&r[1], 60, 132, true);
	expect_run(&r[2], 192, 64, false);

	/* single-bit holes on both sides of a word boundary */
	assert_int_equal(blk_overlay_clear(&o, 127, 2), 0);
	assert_int_equal(runs_of(&o, 120, 16, r, 8), 3);
	expect_run(&r[0], 120, 7, true);
	expect_run(&r[1], 127, 2, false);
	expect_run(&r[2], 129, 7, true);
}

static void test_disk_edges(void **state)
{
	/* capacity not a multiple of 64: the last word is partial */
	const uint64_t cap = 130;
	uint64_t bits[3];
	struct blk_overlay o;
	struct blk_run r[4];
	memset(bits, 0, sizeof(bits));
	blk_overlay_init(&o, bits, cap);

	assert_int_equal(blk_overlay_mark(&o, 0, 1), 0);
	assert_int_equal(blk_overlay_mark(&o, cap - 1, 1), 0);
	assert_true(blk_overlay_test(&o, 0));
	assert_false(blk_overlay_test(&o, 1));
	assert_true(blk_overlay_test(&o, cap - 1));
	assert_false(blk_overlay_test(&o, cap)); /* beyond the disk */
	assert_int_equal(runs_of(&o, 0, cap, r, 4), 3);
	expect_run(&r[0], 0, 1, true);
	expect_run(&r[1], 1, cap - 2, false);
	expect_run(&r[2], cap - 1, 1, true);

	/* a range ending exactly at capacity */
	assert_int_equal(blk_overlay_mark(&o, 100, cap - 100), 0);
	assert_int_equal(runs_of(&o, 90, cap - 90, r, 4), 2);
	expect_run(&r[0], 90, 10, false);
	expect_run(&r[1], 100, cap - 100, true);

	/* end beyond capacity is clamped: bits past the disk (set here on
	 * purpose) are never reported */
	bits[2] |= ~0ull << 2;
	assert_int_equal(runs_of(&o, 100, 1000, r, 4), 1);
	expect_run(&r[0], 100, cap - 100, true);
	assert_int_equal(runs_of(&o, cap, 5, r, 4), 0);
	bits[2] &= 3;
	assert_int_equal(blk_overlay_clear(&o, 100, cap - 100), 0);
	bits[2] |= ~0ull << 2;
	assert_int_equal(runs_of(&o, 1, cap - 1, r, 4), 1);
	expect_run(&r[0], 1, cap - 1, false);
	bits[2] &= 3;

	/* ranges leaving the disk are refused and change nothing */
	uint64_t before[3];
	memcpy(before, bits, sizeof(bits));
	assert_int_equal(blk_overlay_mark(&o, cap, 1), -ERANGE);
	assert_int_equal(blk_overlay_mark(&o, cap - 1, 2), -ERANGE);
	assert_int_equal(blk_overlay_mark(&o, 5, UINT64_MAX), -ERANGE);
	assert_int_equal(blk_overlay_mark(&o, UINT64_MAX, 2), -ERANGE);
	assert_int_equal(blk_overlay_clear(&o, UINT64_MAX - 1, 3), -ERANGE);
	assert_int_equal(blk_overlay_clear(&o, 0, cap + 1), -ERANGE);
	assert_memory_equal(before, bits, sizeof(bits));
	/* empty ranges at the very end are fine */
	assert_int_equal(blk_overlay_mark(&o, cap, 0), 0);
	assert_int_equal(blk_overlay_clear(&o, cap, 0), 0);
	/* the whole disk */
	assert_int_equal(blk_overlay_mark(&o, 0, cap), 0);
	assert_int_equal(runs_of(&o, 0, cap, r, 4), 1);
	expect_run(&r[0], 0, cap, true);
}

static void test_idempotent(void **state)
{
	uint64_t bits[4] = { 0 }, snap[4];
	struct blk_overlay o;
	blk_overlay_init(&o, bits, 256);

	assert_int_equal(blk_overlay_mark(&o, 10, 100), 0);
	memcpy(snap, bits, sizeof(bits));
	assert_int_equal(blk_overlay_mark(&o, 10, 100), 0);
	assert_memory_equal(snap, bits, sizeof(bits));
	assert_int_equal(blk_overlay_mark(&o, 20, 10), 0); /* subset */
	assert_memory_equal(snap, bits, sizeof(bits));

	assert_int_equal(blk_overlay_clear(&o, 50, 100), 0);
	memcpy(snap, bits, sizeof(bits));
	assert_int_equal(blk_overlay_clear(&o, 50, 100), 0);
	assert_memory_equal(snap, bits, sizeof(bits));
	assert_int_equal(blk_overlay_clear(&o, 200, 56), 0); /* already clear */
	assert_memory_equal(snap, bits, sizeof(bits));

	/* mark then clear of the same range restores the map */
	assert_int_equal(blk_overlay_mark(&o, 0, 256), 0);
	assert_int_equal(blk_overlay_clear(&o, 0, 256), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(bits[i], 0);
}

/* A 512 GiB disk: the map is 128 MiB of MAP_NORESERVE memory, nearly all of
 * it never written; a full-disk scan goes a word at a time. */
static void test_large_sparse(void **state)
{
	const uint64_t cap = (512ull << 30) / 512;
	size_t bytes = blk_overlay_bitmap_bytes(cap);
	void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		skip();
	struct blk_overlay o;
	struct blk_run r[8];
	blk_overlay_init(&o, m, cap);
	assert_int_equal(blk_overlay_mark(&o, 1000, 8), 0);
	assert_int_equal(blk_overlay_mark(&o, cap - 3, 3), 0);
	assert_int_equal(runs_of(&o, 0, cap, r, 8), 4);
	expect_run(&r[0], 0, 1000, false);
	expect_run(&r[1], 1000, 8, true);
	expect_run(&r[2], 1008, cap - 3 - 1008, false);
	expect_run(&r[3], cap - 3, 3, true);
	munmap(m, bytes);
}

/* How the device reads an ephemeral disk: one readv per run, on a slice of
 * the request's iovecs cut with iov_slice (common/iov.h) at run boundaries. */
static void test_iov_per_run(void **state)
{
	uint64_t bits[1] = { 0 };
	struct blk_overlay o;
	static uint8_t a[1536], b[2560]; /* a request of 8 sectors in two buffers */
	const struct iovec req[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	const uint64_t start = 16;
	blk_overlay_init(&o, bits, 64);
	assert_int_equal(blk_overlay_mark(&o, start + 2, 3), 0); /* sectors 2..4 of the request */

	struct blk_run run;
	struct iovec piece[4];
	uint64_t pos = start;
	unsigned k = 0;
	while (blk_overlay_next_run(&o, &pos, start + 8, &run)) {
		size_t off = (size_t)(run.sector - start) * 512, len = (size_t)run.nsectors * 512;
		int n = iov_slice(req, 2, off, len, piece, 4);
		switch (k++) {
		case 0: /* base: sectors 0-1, inside a */
			assert_false(run.overlay);
			assert_int_equal(n, 1);
			assert_ptr_equal(piece[0].iov_base, a);
			assert_int_equal(piece[0].iov_len, 1024);
			break;
		case 1: /* overlay: sectors 2-4, the end of a and the start of b */
			assert_true(run.overlay);
			assert_int_equal(n, 2);
			assert_ptr_equal(piece[0].iov_base, a + 1024);
			assert_int_equal(piece[0].iov_len, 512);
			assert_ptr_equal(piece[1].iov_base, b);
			assert_int_equal(piece[1].iov_len, 1024);
			break;
		default: /* base: sectors 5-7, the rest of b */
			assert_false(run.overlay);
			assert_int_equal(n, 1);
			assert_ptr_equal(piece[0].iov_base, b + 1024);
			assert_int_equal(piece[0].iov_len, 1536);
			break;
		}
	}
	assert_int_equal(k, 3);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random marks and clears, biased towards word boundaries, against a bool
 * per sector; after each step a random range's runs must cover it exactly,
 * alternate (maximal), and agree with the model sector by sector. */
static void test_random_vs_model(void **state)
{
	enum { CAP = 64 * 9 + 37 };
	static uint64_t bits[(CAP + 63) / 64];
	static bool model[CAP];
	struct blk_overlay o;
	blk_overlay_init(&o, bits, CAP);

	for (unsigned step = 0; step < 20000; step++) {
		uint64_t s = rnd() % (CAP + 1);
		if (rnd() % 4 == 0) /* near a word boundary */
			s = (s / 64) * 64 + (rnd() % 3) - 1;
		if (s > CAP)
			s = CAP;
		uint64_t n = rnd() % 4 == 0 ? rnd() % (CAP + 2) : rnd() % 70;
		bool on = rnd() % 2;
		bool fits = n <= CAP - s;
		int rc = on ? blk_overlay_mark(&o, s, n) : blk_overlay_clear(&o, s, n);
		assert_int_equal(rc, fits ? 0 : -ERANGE);
		if (fits)
			for (uint64_t i = s; i < s + n; i++)
				model[i] = on;

		uint64_t qs = rnd() % (CAP + 1), qn = rnd() % (CAP + 10);
		uint64_t qend = qs + qn < CAP ? qs + qn : CAP;
		uint64_t pos = qs, expect = qs;
		struct blk_run run;
		bool have_prev = false, prev = false;
		while (blk_overlay_next_run(&o, &pos, qs + qn, &run)) {
			assert_int_equal(run.sector, expect);
			assert_true(run.nsectors > 0);
			if (have_prev)
				assert_true(run.overlay != prev);
			for (uint64_t i = run.sector; i < run.sector + run.nsectors; i++)
				assert_int_equal(model[i], run.overlay);
			expect = run.sector + run.nsectors;
			assert_int_equal(pos, expect);
			prev = run.overlay;
			have_prev = true;
		}
		assert_int_equal(expect, qs < qend ? qend : qs);
	}
	for (uint64_t i = 0; i < CAP; i++)
		assert_int_equal(blk_overlay_test(&o, i), model[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_word_boundaries),
		cmocka_unit_test(test_disk_edges),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_large_sparse),
		cmocka_unit_test(test_iov_per_run),
		cmocka_unit_test(test_random_vs_model),
	};
	return cmocka_run_group_tests_name("blk_overlay", tests, NULL, NULL);
}
