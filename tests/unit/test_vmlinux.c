/* SPDX-License-Identifier: MIT */
/* launcher/vmlinux.c: LZ4 legacy streams built by hand (valid and hostile),
 * a round trip through the real lz4 tool, synthetic bzImages, and the
 * fetched kernel decoded whole and with its payload corrupted. */
#include <asm/bootparam.h>
#include <elf.h>
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
#include "vmlinux.h"

#define MiB ((size_t)1 << 20)
#define MAGIC 0x02, 0x21, 0x4c, 0x18 /* 0x184C2102, little-endian */

/* ---- a growable byte buffer and a minimal LZ4 sequence writer ---------- */

struct sbuf {
	uint8_t *b;
	size_t n, cap;
};

static void put(struct sbuf *s, const void *p, size_t n)
{
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->b = realloc(s->b, s->cap);
		assert_non_null(s->b);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put8(struct sbuf *s, uint8_t v)
{
	put(s, &v, 1);
}

static void put_le32(struct sbuf *s, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	put(s, b, 4);
}

/* The bytes after a length field of 15 for a length of n >= 15. */
static void put_more_len(struct sbuf *s, size_t n)
{
	for (n -= 15; n >= 255; n -= 255)
		put8(s, 255);
	put8(s, (uint8_t)n);
}

/* One sequence: lits[0..nlit), then a match (off, mlen >= 4); off == 0 and
 * mlen == 0 write the last, literals-only sequence. */
static void put_seq(struct sbuf *s, const void *lits, size_t nlit, uint16_t off, size_t mlen)
{
	size_t m = mlen ? mlen - 4 : 0;
	put8(s, (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (m < 15 ? m : 15)));
	if (nlit >= 15)
		put_more_len(s, nlit);
	if (nlit)
		put(s, lits, nlit);
	if (!mlen)
		return;
	put8(s, (uint8_t)off);
	put8(s, (uint8_t)(off >> 8));
	if (m >= 15)
		put_more_len(s, m);
}

/* Append block data blk as one block of a legacy frame. */
static void put_block(struct sbuf *s, const struct sbuf *blk)
{
	put_le32(s, (uint32_t)blk->n);
	put(s, blk->b, blk->n);
}

static int decode(const void *in, size_t n, uint8_t *out, size_t cap, size_t *olen)
{
	return lz4_legacy_decode(in, n, out, cap, olen);
}

/* ---- valid streams -------------------------------------------------------- */

static void test_literals_only(void **state)
{
	static const uint8_t s[] = { MAGIC, 6, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o' };
	uint8_t out[16];
	size_t n = 99;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	/* exactly enough room */
	assert_int_equal(decode(s, sizeof(s), out, 5, &n), 0);
	/* one byte short */
	assert_int_equal(decode(s, sizeof(s), out, 4, &n), -ENOSPC);

	/* a frame with no blocks decodes to nothing */
	static const uint8_t empty[] = { MAGIC };
	assert_int_equal(decode(empty, sizeof(empty), NULL, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void test_match(void **state)
{
	/* "abcd", match (4, 8), then "!" */
	static const uint8_t s[] = { MAGIC, 9, 0, 0, 0, 0x44, 'a', 'b', 'c', 'd', 4, 0,
				     0x10, '!' };
	uint8_t out[32];
	size_t n;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, 13);
	assert_memory_equal(out, "abcdabcdabcd!", 13);
}

static void test_overlapping_match(void **state)
{
	/* 'z', then offset 1 for 1000 bytes: 1000 - 4 - 15 = 981 = 3 * 255 + 216 */
	static const uint8_t s[] = { MAGIC, 9, 0, 0, 0, 0x1f, 'z', 1, 0, 255, 255, 255, 216,
				     0x00 };
	uint8_t out[1001], want[1001];
	size_t n;
	memset(want, 'z', sizeof(want));
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, 1001);
	assert_memory_equal(out, want, 1001);

	/* A period that does not divide the chunks: "abc" repeated 100 bytes
	 * on, at every length around the chunk boundaries. */
	for (size_t mlen = 4; mlen < 40; mlen++) {
		struct sbuf blk = { 0 }, st = { 0 };
		put_seq(&blk, "abc", 3, 3, mlen);
		put_seq(&blk, NULL, 0, 0, 0);
		put(&st, (uint8_t[]){ MAGIC }, 4);
		put_block(&st, &blk);
		uint8_t o[64];
		assert_int_equal(decode(st.b, st.n, o, sizeof(o), &n), 0);
		assert_int_equal(n, 3 + mlen);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(o[i], "abc"[i % 3]);
		free(blk.b);
		free(st.b);
	}
}

static void test_length_bytes(void **state)
{
	/* literal lengths at the edges of the extension bytes: 15 needs one 0
	 * byte, 270 = 15 + 255 needs 255 then 0, 535 = 15 + 2 * 255 + 10 */
	static const size_t lits[] = { 14, 15, 16, 269, 270, 271, 535 };
	/* match lengths: 18 fits the token, 19 is 15 + 4 with a 0 byte */
	static const size_t mlens[] = { 4, 18, 19, 20, 273, 274, 275, 1000 };
	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		for (size_t j = 0; j < sizeof(mlens) / sizeof(mlens[0]); j++) {
			uint8_t lit[600], out[2000];
			for (size_t k = 0; k < lits[i]; k++)
				lit[k] = (uint8_t)(k * 7 + 1);
			struct sbuf blk = { 0 }, st = { 0 };
			put_seq(&blk, lit, lits[i], 10, mlens[j]);
			put_seq(&blk, "end", 3, 0, 0);
			put(&st, (uint8_t[]){ MAGIC }, 4);
			put_block(&st, &blk);
			size_t n;
			assert_int_equal(decode(st.b, st.n, out, sizeof(out), &n), 0);
			assert_int_equal(n, lits[i] + mlens[j] + 3);
			assert_memory_equal(out, lit, lits[i]);
			for (size_t k = 0; k < mlens[j]; k++)
				assert_int_equal(out[lits[i] + k], out[lits[i] + k - 10]);
			assert_memory_equal(out + n - 3, "end", 3);
			free(blk.b);
			free(st.b);
		}
	}

	/* the hand-encoded form of a 535-byte literal run */
	struct sbuf blk = { 0 };
	uint8_t lit[535] = { 0 };
	put_seq(&blk, lit, 535, 0, 0);
	assert_int_equal(blk.n, 1 + 3 + 535);
	assert_int_equal(blk.b[0], 0xf0);
	assert_int_equal(blk.b[1], 255);
	assert_int_equal(blk.b[2], 255);
	assert_int_equal(blk.b[3], 10);
	free(blk.b);
}

static void test_two_blocks(void **state)
{
	static const uint8_t s[] = { MAGIC, 6, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o',
				     6, 0, 0, 0, 0x50, 'w', 'o', 'r', 'l', 'd' };
	uint8_t out[16];
	size_t n;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "helloworld", 10);

	/* blocks are independent: block 2 may not copy from block 1 */
	static const uint8_t x[] = { MAGIC, 6, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o',
				     5, 0, 0, 0, 0x10, 'w', 3, 0, 0x00 };
	assert_int_equal(decode(x, sizeof(x), out, sizeof(out), &n), -EINVAL);
}

static void test_two_frames(void **state)
{
	static const uint8_t s[] = { MAGIC, 4, 0, 0, 0, 0x30, 'o', 'n', 'e',
				     MAGIC, 4, 0, 0, 0, 0x30, 't', 'w', 'o' };
	uint8_t out[16];
	size_t n;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "onetwo", 6);
}

static void test_trailer(void **state)
{
	/* the bzImage's le32 size after the last block: ignored */
	static const uint8_t s[] = { MAGIC, 4, 0, 0, 0, 0x30, 'a', 'b', 'c', 3, 0, 0, 0 };
	uint8_t out[16];
	size_t n;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	/* 1 to 3 stray bytes too; 5 are read as a block size and must hold */
	for (size_t extra = 1; extra <= 5; extra++) {
		uint8_t t[sizeof(s) - 4 + 5];
		memcpy(t, s, sizeof(s) - 4);
		memset(t + sizeof(s) - 4, 0x7f, 5);
		int r = decode(t, sizeof(s) - 4 + extra, out, sizeof(out), &n);
		assert_int_equal(r, extra <= 4 ? 0 : -EINVAL);
	}
}

/* Exactly 8 MiB from one block is fine, and the limit is per block. */
static void test_block_limit_exact(void **state)
{
	struct sbuf blk = { 0 }, st = { 0 };
	put_seq(&blk, "a", 1, 1, 8 * MiB - 2);
	put_seq(&blk, "b", 1, 0, 0);
	put(&st, (uint8_t[]){ MAGIC }, 4);
	put_block(&st, &blk);
	put_block(&st, &blk);
	uint8_t *out = malloc(16 * MiB);
	assert_non_null(out);
	size_t n;
	assert_int_equal(decode(st.b, st.n, out, 16 * MiB, &n), 0);
	assert_int_equal(n, 16 * MiB);
	assert_int_equal(out[8 * MiB - 2], 'a');
	assert_int_equal(out[8 * MiB - 1], 'b');
	assert_int_equal(out[16 * MiB - 1], 'b');
	free(out);
	free(blk.b);
	free(st.b);
}

/* Compress pseudo-random, partly repetitive data with the real `lz4 -l`
 * (three 8 MiB blocks and a bit) and decode it. */
static void test_lz4_tool_roundtrip(void **state)
{
	if (system("command -v lz4 >/dev/null 2>&1") != 0)
		skip();
	const size_t len = 25 * MiB + 12345;
	uint8_t *data = malloc(len), *out = malloc(len);
	assert_non_null(data);
	assert_non_null(out);
	/* runs of noise and runs copied from up to 1000 bytes back */
	uint32_t x = 12345;
	for (size_t i = 0; i < len;) {
		x = x * 1103515245 + 12345;
		size_t run = (x >> 8) % 300 + 1, dist = (x >> 17) % 1000 + 1;
		int copy = i >= dist && (x & 0x10000);
		if (run > len - i)
			run = len - i;
		for (size_t k = 0; k < run; k++, i++) {
			if (copy) {
				data[i] = data[i - dist];
			} else {
				x = x * 1103515245 + 12345;
				data[i] = (uint8_t)(x >> 24);
			}
		}
	}
	char in_path[] = "/tmp/arca-lz4-XXXXXX";
	int fd = mkstemp(in_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "lz4 -q -f -l %s %s.lz4", in_path, in_path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.lz4", in_path);
	FILE *f = fopen(cmd, "rb");
	assert_non_null(f);
	struct sbuf st = { 0 };
	uint8_t chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		put(&st, chunk, got);
	fclose(f);
	unlink(cmd);
	unlink(in_path);

	size_t n;
	assert_int_equal(decode(st.b, st.n, out, len, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(out, data, len);
	/* every truncation of it is an error or a shorter prefix, never a crash */
	for (size_t cut = 0; cut < st.n; cut += st.n / 97 + 1) {
		int r = decode(st.b, cut, out, len, &n);
		assert_true(r == -EINVAL || (r == 0 && n < len && !memcmp(out, data, n)));
	}
	free(st.b);
	free(data);
	free(out);
}

/* ---- hostile streams ------------------------------------------------------ */

static void test_bad_magic(void **state)
{
	static const uint8_t s[] = { 0x04, 0x22, 0x4d, 0x18, 6, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o' };
	uint8_t out[16];
	size_t n;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), -EINVAL);
	assert_int_equal(decode(s, 0, out, sizeof(out), &n), -EINVAL);
	static const uint8_t m[] = { MAGIC };
	assert_int_equal(decode(m, 3, out, sizeof(out), &n), -EINVAL);
}

static void test_block_size_beyond_input(void **state)
{
	static const uint8_t s[] = { MAGIC, 7, 0, 0, 0, 0x50, 'h', 'e', 'l', 'l', 'o' };
	uint8_t out[16];
	size_t n;
	assert_int_equal(decode(s, sizeof(s), out, sizeof(out), &n), -EINVAL);
	static const uint8_t big[] = { MAGIC, 0xff, 0xff, 0xff, 0xff, 0x50, 'h', 'e', 'l', 'l', 'o' };
	assert_int_equal(decode(big, sizeof(big), out, sizeof(out), &n), -EINVAL);
}

/* Each block is decoded alone, so a block size cuts it exactly where wanted. */
static int decode_block(const uint8_t *blk, size_t len, uint8_t *out, size_t cap)
{
	struct sbuf st = { 0 };
	put(&st, (uint8_t[]){ MAGIC }, 4);
	put_le32(&st, (uint32_t)len);
	if (len)
		put(&st, blk, len);
	size_t n;
	int r = decode(st.b, st.n, out, cap, &n);
	free(st.b);
	return r;
}

static void test_truncated(void **state)
{
	uint8_t out[64];
	/* an empty block (no token), followed by a good one; alone, its 4 bytes
	 * would be taken for the size trailer */
	static const uint8_t empty[] = { MAGIC, 0, 0, 0, 0, 2, 0, 0, 0, 0x10, 'a' };
	size_t n;
	assert_int_equal(decode(empty, sizeof(empty), out, sizeof(out), &n), -EINVAL);
	static const uint8_t good[] = { MAGIC, 2, 0, 0, 0, 0x10, 'a' };
	assert_int_equal(decode(good, sizeof(good), out, sizeof(out), &n), 0);
	/* ends after a match: the next token is missing */
	static const uint8_t after_match[] = { 0x10, 'a', 1, 0 };
	assert_int_equal(decode_block(after_match, 4, out, sizeof(out)), -EINVAL);
	/* 5 literals announced, 3 there */
	static const uint8_t lits[] = { 0x50, 'a', 'b', 'c' };
	assert_int_equal(decode_block(lits, sizeof(lits), out, sizeof(out)), -EINVAL);
	/* half an offset */
	static const uint8_t off[] = { 0x10, 'a', 1 };
	assert_int_equal(decode_block(off, sizeof(off), out, sizeof(out)), -EINVAL);
	/* literal length continues past the end */
	static const uint8_t litlen[] = { 0xf0, 255 };
	assert_int_equal(decode_block(litlen, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(decode_block(litlen, 2, out, sizeof(out)), -EINVAL);
	/* match length continues past the end */
	static const uint8_t mlen[] = { 0x1f, 'a', 1, 0, 255 };
	assert_int_equal(decode_block(mlen, 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(decode_block(mlen, 5, out, sizeof(out)), -EINVAL);
}

static void test_bad_offsets(void **state)
{
	uint8_t out[64];
	static const uint8_t zero[] = { 0x10, 'a', 0, 0, 0x00 };
	assert_int_equal(decode_block(zero, sizeof(zero), out, sizeof(out)), -EINVAL);
	/* 4 bytes written, offset 5 */
	static const uint8_t before[] = { 0x40, 'a', 'b', 'c', 'd', 5, 0, 0x00 };
	assert_int_equal(decode_block(before, sizeof(before), out, sizeof(out)), -EINVAL);
	/* offset 4 is the first byte: fine */
	static const uint8_t first[] = { 0x40, 'a', 'b', 'c', 'd', 4, 0, 0x00 };
	assert_int_equal(decode_block(first, sizeof(first), out, sizeof(out)), 0);
	/* the largest offset with nothing written */
	static const uint8_t far[] = { 0x00, 0xff, 0xff, 0x00 };
	assert_int_equal(decode_block(far, sizeof(far), out, sizeof(out)), -EINVAL);
}

static void test_out_cap(void **state)
{
	uint8_t out[64];
	/* 'a' then a 40-byte match: 41 bytes */
	static const uint8_t m[] = { 0x1f, 'a', 1, 0, 21, 0x00 };
	assert_int_equal(decode_block(m, sizeof(m), out, 41), 0);
	assert_int_equal(decode_block(m, sizeof(m), out, 40), -ENOSPC);
	assert_int_equal(decode_block(m, sizeof(m), out, 1), -ENOSPC);
	assert_int_equal(decode_block(m, sizeof(m), out, 0), -ENOSPC);
	static const uint8_t l[] = { 0x30, 'a', 'b', 'c' };
	assert_int_equal(decode_block(l, sizeof(l), out, 2), -ENOSPC);
	assert_int_equal(decode_block(l, sizeof(l), NULL, 0), -ENOSPC);
}

/* Long chains of 255s: the length must not wrap into something small. */
static void test_length_overflow(void **state)
{
	const size_t chain = 200000; /* 51 MB of length, in 200 kB */
	uint8_t *b = malloc(chain + 8), out[64];
	assert_non_null(b);
	b[0] = 0xf0;
	memset(b + 1, 255, chain);
	b[chain + 1] = 0;
	memset(b + chain + 2, 'x', 6);
	assert_int_equal(decode_block(b, chain + 8, out, sizeof(out)), -EINVAL);

	b[0] = 0x1f;
	b[1] = 'a';
	b[2] = 1;
	b[3] = 0;
	memset(b + 4, 255, chain);
	b[chain + 4] = 0;
	b[chain + 5] = 0x00;
	assert_int_equal(decode_block(b, chain + 6, out, sizeof(out)), -EINVAL);
	free(b);
}

static void test_block_over_8mib(void **state)
{
	/* 'a' + a match of 8 MiB = 8 MiB + 1 from one block, with room for it */
	struct sbuf blk = { 0 };
	put_seq(&blk, "a", 1, 1, 8 * MiB);
	put_seq(&blk, NULL, 0, 0, 0);
	uint8_t *out = malloc(9 * MiB);
	assert_non_null(out);
	assert_int_equal(decode_block(blk.b, blk.n, out, 9 * MiB), -EINVAL);
	/* literals count too: 1 MiB of literals after 7 MiB + 1 of match */
	blk.n = 0;
	put_seq(&blk, "a", 1, 1, 7 * MiB);
	uint8_t *lit = calloc(1, MiB);
	assert_non_null(lit);
	put_seq(&blk, lit, MiB, 0, 0);
	assert_int_equal(decode_block(blk.b, blk.n, out, 9 * MiB), -EINVAL);
	free(lit);
	free(out);
	free(blk.b);
}

/* Random garbage after the magic: an error or some output, nothing else. */
static void test_garbage(void **state)
{
	uint8_t in[300], out[4096];
	uint32_t x = 1;
	for (int round = 0; round < 20000; round++) {
		size_t len = 4 + round % 290;
		memcpy(in, (uint8_t[]){ MAGIC }, 4);
		for (size_t i = 4; i < len; i++) {
			x = x * 1664525 + 1013904223;
			in[i] = (uint8_t)(x >> 24);
		}
		/* a plausible block size most of the time */
		if (len >= 8 && round % 4) {
			in[4] = (uint8_t)(len - 8 - round % 3);
			in[5] = in[6] = in[7] = 0;
		}
		size_t n = 0;
		int r = decode(in, len, out, sizeof(out), &n);
		assert_true(r == 0 || r == -EINVAL || r == -ENOSPC);
		if (r == 0)
			assert_true(n <= sizeof(out));
	}
}

/* ---- bzImage ---------------------------------------------------------------- */

#define SETUP_SECTS 4
#define PAYLOAD_AT  ((SETUP_SECTS + 1) * 512)

/* A minimal bzImage: 4 setup sectors, the header, and payload (its size
 * trailer included) payload_offset bytes into the protected-mode part. */
static struct sbuf make_bzimage(uint16_t version, uint32_t payload_offset,
				const struct sbuf *payload)
{
	struct sbuf s = { 0 };
	uint8_t zero[PAYLOAD_AT + 64] = { 0 };
	put(&s, zero, PAYLOAD_AT + payload_offset);
	struct setup_header h = { 0 };
	h.setup_sects = SETUP_SECTS;
	h.boot_flag = 0xaa55;
	h.header = 0x53726448; /* "HdrS" */
	h.version = version;
	h.loadflags = LOADED_HIGH;
	h.payload_offset = payload_offset;
	h.payload_length = (uint32_t)payload->n;
	memcpy(s.b + offsetof(struct boot_params, hdr), &h, sizeof(h));
	put(&s, payload->b, payload->n);
	put(&s, zero, 7); /* the kernel has more after the payload */
	return s;
}

static struct setup_header *hdr_of(struct sbuf *img)
{
	return (struct setup_header *)(img->b + offsetof(struct boot_params, hdr));
}

/* An LZ4 legacy payload holding data[0..len) as literals, plus a trailer. */
static struct sbuf lz4_payload(const void *data, size_t len, uint32_t trailer)
{
	struct sbuf blk = { 0 }, p = { 0 };
	put_seq(&blk, data, len, 0, 0);
	put(&p, (uint8_t[]){ MAGIC }, 4);
	put_block(&p, &blk);
	put_le32(&p, trailer);
	free(blk.b);
	return p;
}

static Elf64_Ehdr tiny_elf(void)
{
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	return eh;
}

static void test_bzimage_payload(void **state)
{
	struct sbuf p = { 0 };
	put(&p, "payloadPAYLOAD", 14);
	put_le32(&p, 0x12345678);
	struct sbuf img = make_bzimage(0x020f, 16, &p);
	const uint8_t *pl;
	size_t plen;
	uint32_t ulen;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);
	assert_ptr_equal(pl, img.b + PAYLOAD_AT + 16);
	assert_int_equal(plen, 18);
	assert_memory_equal(pl, "payloadPAYLOAD", 14);
	assert_int_equal(ulen, 0x12345678);

	/* setup_sects 0 means 4 */
	hdr_of(&img)->setup_sects = 0;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);
	assert_ptr_equal(pl, img.b + PAYLOAD_AT + 16);
	hdr_of(&img)->setup_sects = 3;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);
	assert_ptr_equal(pl, img.b + PAYLOAD_AT - 512 + 16);
	hdr_of(&img)->setup_sects = 5; /* moves the payload past the end */
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	hdr_of(&img)->setup_sects = SETUP_SECTS;

	/* the payload may end exactly at the end of the file */
	assert_int_equal(bzimage_payload(img.b, img.n - 7, &pl, &plen, &ulen), 0);
	assert_int_equal(bzimage_payload(img.b, img.n - 8, &pl, &plen, &ulen), -ENOEXEC);
	free(img.b);
	free(p.b);
}

static void test_bzimage_bad(void **state)
{
	struct sbuf p = { 0 };
	put(&p, "xxxxxxxx", 8);
	struct sbuf img = make_bzimage(0x020f, 0, &p);
	struct setup_header *h = hdr_of(&img);
	const uint8_t *pl;
	size_t plen;
	uint32_t ulen;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);

	h->payload_offset = 1; /* still inside: 7 bytes follow the payload */
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);
	h->payload_offset = 8;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->payload_offset = 0xffffffff;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->payload_offset = 0;
	h->payload_length = 16;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->payload_length = 0xffffffff;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->payload_offset = 0xffffffff;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->payload_offset = 0;
	h->payload_length = 3; /* no room for the size trailer */
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->payload_length = 8;

	h->version = 0x0207; /* no payload fields before 2.08 */
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	h->version = 0x0208;
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);

	memcpy(&h->header, "HdrT", 4);
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), -ENOEXEC);
	memcpy(&h->header, "HdrS", 4);
	assert_int_equal(bzimage_payload(img.b, img.n, &pl, &plen, &ulen), 0);

	/* too short for the header at all */
	size_t need = offsetof(struct boot_params, hdr) + sizeof(struct setup_header);
	assert_int_equal(bzimage_payload(img.b, need - 1, &pl, &plen, &ulen), -ENOEXEC);
	assert_int_equal(bzimage_payload(img.b, 0, &pl, &plen, &ulen), -ENOEXEC);
	free(img.b);
	free(p.b);
}

static int from_payload(const struct sbuf *p, uint8_t **out, size_t *olen)
{
	struct sbuf img = make_bzimage(0x020f, 0, p);
	int r = vmlinux_from_bzimage(img.b, img.n, out, olen);
	free(img.b);
	return r;
}

static void test_vmlinux_synthetic(void **state)
{
	Elf64_Ehdr eh = tiny_elf();
	uint8_t *out = (uint8_t *)0x1;
	size_t olen = 7;

	struct sbuf p = lz4_payload(&eh, sizeof(eh), sizeof(eh));
	assert_int_equal(from_payload(&p, &out, &olen), 0);
	assert_int_equal(olen, sizeof(eh));
	assert_memory_equal(out, &eh, sizeof(eh));
	free(out);
	free(p.b);

	/* trailer says more, or less, than the data holds */
	out = (uint8_t *)0x1;
	olen = 7;
	p = lz4_payload(&eh, sizeof(eh), sizeof(eh) + 1);
	assert_int_equal(from_payload(&p, &out, &olen), -EINVAL);
	free(p.b);
	p = lz4_payload(&eh, sizeof(eh), sizeof(eh) - 1);
	assert_int_equal(from_payload(&p, &out, &olen), -EINVAL);
	free(p.b);
	p = lz4_payload(&eh, sizeof(eh), 0);
	assert_int_equal(from_payload(&p, &out, &olen), -EINVAL);
	free(p.b);
	/* too big to be believed */
	p = lz4_payload(&eh, sizeof(eh), VMLINUX_MAX + 1);
	assert_int_equal(from_payload(&p, &out, &olen), -EFBIG);
	free(p.b);
	p = lz4_payload(&eh, sizeof(eh), 0xffffffff);
	assert_int_equal(from_payload(&p, &out, &olen), -EFBIG);
	free(p.b);

	/* not x86-64 ELF64 LE */
	Elf64_Ehdr bad = eh;
	bad.e_machine = EM_386;
	p = lz4_payload(&bad, sizeof(bad), sizeof(bad));
	assert_int_equal(from_payload(&p, &out, &olen), -ENOEXEC);
	free(p.b);
	bad = eh;
	bad.e_ident[EI_CLASS] = ELFCLASS32;
	p = lz4_payload(&bad, sizeof(bad), sizeof(bad));
	assert_int_equal(from_payload(&p, &out, &olen), -ENOEXEC);
	free(p.b);
	bad = eh;
	bad.e_ident[EI_DATA] = ELFDATA2MSB;
	p = lz4_payload(&bad, sizeof(bad), sizeof(bad));
	assert_int_equal(from_payload(&p, &out, &olen), -ENOEXEC);
	free(p.b);
	p = lz4_payload(&eh, 20, 20); /* shorter than an ELF header */
	assert_int_equal(from_payload(&p, &out, &olen), -ENOEXEC);
	free(p.b);

	/* another compression: gzip, xz, zstd magic */
	static const uint8_t other[][4] = { { 0x1f, 0x8b, 8, 0 }, { 0xfd, '7', 'z', 'X' },
					    { 0x28, 0xb5, 0x2f, 0xfd } };
	for (size_t i = 0; i < 3; i++) {
		p = lz4_payload(&eh, sizeof(eh), sizeof(eh));
		memcpy(p.b, other[i], 4);
		assert_int_equal(from_payload(&p, &out, &olen), -ENOTSUP);
		free(p.b);
	}
	/* corrupt LZ4 */
	p = lz4_payload(&eh, sizeof(eh), sizeof(eh));
	p.b[4] = 0xff;
	assert_int_equal(from_payload(&p, &out, &olen), -EINVAL);
	free(p.b);
	/* not a bzImage */
	uint8_t junk[4096] = { 0 };
	assert_int_equal(vmlinux_from_bzimage(junk, sizeof(junk), &out, &olen), -ENOEXEC);

	/* nothing set on failure */
	assert_ptr_equal(out, (uint8_t *)0x1);
	assert_int_equal(olen, 7);
}

/* ---- the fetched kernel ---------------------------------------------------- */

/* The fetched bzImage (malloc'ed) and its payload; NULL without one. */
static uint8_t *real_kernel(size_t *len, const uint8_t **pl, size_t *plen, uint32_t *ulen)
{
	const char *path = fetched_kernel_image();
	if (!path)
		return NULL;
	uint8_t *k = fetched_read(path, len);
	assert_int_equal(bzimage_payload(k, *len, pl, plen, ulen), 0);
	return k;
}

static void test_real_kernel(void **state)
{
	size_t len, plen;
	const uint8_t *pl;
	uint32_t ulen;
	uint8_t *k = real_kernel(&len, &pl, &plen, &ulen);
	if (!k)
		skip();

	uint8_t *v = NULL;
	size_t vlen = 0;
	assert_int_equal(vmlinux_from_bzimage(k, len, &v, &vlen), 0);
	assert_int_equal(vlen, ulen);

	Elf64_Ehdr eh;
	assert_true(vlen >= sizeof(eh));
	memcpy(&eh, v, sizeof(eh));
	assert_int_equal(eh.e_machine, EM_X86_64);
	assert_int_equal(eh.e_type, ET_EXEC);
	assert_int_equal(eh.e_phentsize, sizeof(Elf64_Phdr));
	assert_true(eh.e_phoff <= vlen && eh.e_phnum <= (vlen - eh.e_phoff) / sizeof(Elf64_Phdr));
	int loads = 0;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, v + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		loads++;
		assert_true(ph.p_offset <= vlen && ph.p_filesz <= vlen - ph.p_offset);
	}
	assert_true(loads > 0);
	free(v);
	free(k);
}

/* Bytes flipped inside the payload: an error or a (wrong) kernel, never a
 * crash or an out-of-bounds access (the ASan build checks the latter). */
static void test_real_kernel_corrupt(void **state)
{
	size_t len, plen;
	const uint8_t *pl;
	uint32_t ulen;
	uint8_t *k = real_kernel(&len, &pl, &plen, &ulen);
	if (!k)
		skip();
	size_t at = (size_t)(pl - k);

	/* in the first block size, the first token, and spots through the blocks */
	const size_t where[] = { 4, 5, 8, 1000, plen / 9, plen / 2, plen / 4 * 3, plen - 20 };
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		for (int how = 0; how < 2; how++) {
			uint8_t saved[8];
			memcpy(saved, k + at + where[i], sizeof(saved));
			if (how == 0)
				k[at + where[i]] ^= 0xff;
			else
				memset(k + at + where[i], 0xff, sizeof(saved));
			uint8_t *v = NULL;
			size_t vlen;
			int r = vmlinux_from_bzimage(k, len, &v, &vlen);
			assert_true(r == 0 || r == -EINVAL || r == -ENOEXEC);
			if (r == 0) {
				assert_int_equal(vlen, ulen);
				free(v);
			}
			memcpy(k + at + where[i], saved, sizeof(saved));
		}
	}
	/* a shorter payload_length: the decoder reads the wrong trailer */
	struct setup_header *h = (struct setup_header *)(k + offsetof(struct boot_params, hdr));
	h->payload_length -= 1000;
	uint8_t *v = NULL;
	size_t vlen;
	int r = vmlinux_from_bzimage(k, len, &v, &vlen);
	assert_true(r < 0);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals_only),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_overlapping_match),
		cmocka_unit_test(test_length_bytes),
		cmocka_unit_test(test_two_blocks),
		cmocka_unit_test(test_two_frames),
		cmocka_unit_test(test_trailer),
		cmocka_unit_test(test_block_limit_exact),
		cmocka_unit_test(test_lz4_tool_roundtrip),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_block_size_beyond_input),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_offsets),
		cmocka_unit_test(test_out_cap),
		cmocka_unit_test(test_length_overflow),
		cmocka_unit_test(test_block_over_8mib),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bzimage_payload),
		cmocka_unit_test(test_bzimage_bad),
		cmocka_unit_test(test_vmlinux_synthetic),
		cmocka_unit_test(test_real_kernel),
		cmocka_unit_test(test_real_kernel_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
