/* SPDX-License-Identifier: MIT */
#include <asm/bootparam.h>
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "vmlinux.h"

#define LZ4_LEGACY_MAGIC 0x184C2102u
/* `lz4 -l` cuts its input into 8 MiB blocks (lz4 LEGACY_BLOCKSIZE). */
#define LZ4_BLOCK_MAX    ((size_t)8 << 20)
#define LZ4_MINMATCH     4
#define HDRS_MAGIC       0x53726448u /* "HdrS" */

_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "setup header at 0x1f1");

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

struct lz4_out {
	uint8_t *buf;
	size_t cap;   /* buf[0..cap) */
	size_t pos;   /* bytes written so far */
	size_t block; /* where the current block's output starts */
};

/* Room for n more output bytes: within the block's 8 MiB (else the input is
 * malformed), then within the caller's buffer. */
static int lz4_room(const struct lz4_out *o, size_t n)
{
	if (n > LZ4_BLOCK_MAX - (o->pos - o->block))
		return -EINVAL;
	if (n > o->cap - o->pos)
		return -ENOSPC;
	return 0;
}

/* A length field of 15 continues in the following bytes: each is added, and
 * a 255 means one more follows. Refusing lengths beyond a block's output as
 * they grow keeps the sum from wrapping, however long the chain of 255s. */
static int lz4_more_len(const uint8_t *in, size_t n, size_t *ip, size_t *len)
{
	uint8_t b;
	do {
		if (*ip >= n)
			return -EINVAL;
		b = in[(*ip)++];
		*len += b;
		if (*len > LZ4_BLOCK_MAX)
			return -EINVAL;
	} while (b == 255);
	return 0;
}

/* One LZ4 block, in[0..n), appended to o (lz4 doc/lz4_Block_format.md). */
static int lz4_block(const uint8_t *in, size_t n, struct lz4_out *o)
{
	size_t ip = 0;
	int r;

	for (;;) {
		/* No token: an empty block, or one that ends with a match. */
		if (ip >= n)
			return -EINVAL;
		uint8_t token = in[ip++];

		size_t lit = token >> 4;
		if (lit == 15 && (r = lz4_more_len(in, n, &ip, &lit)) < 0)
			return r;
		if (lit > n - ip)
			return -EINVAL;
		if ((r = lz4_room(o, lit)) < 0)
			return r;
		if (lit)
			memcpy(o->buf + o->pos, in + ip, lit);
		ip += lit;
		o->pos += lit;
		/* The last sequence is literals only, and ends the block. */
		if (ip == n)
			return 0;

		if (n - ip < 2)
			return -EINVAL;
		size_t off = (size_t)in[ip] | (size_t)in[ip + 1] << 8;
		ip += 2;
		/* Blocks are independent: a match stays within its own block. */
		if (off == 0 || off > o->pos - o->block)
			return -EINVAL;
		size_t mlen = token & 15;
		if (mlen == 15 && (r = lz4_more_len(in, n, &ip, &mlen)) < 0)
			return r;
		mlen += LZ4_MINMATCH;
		if ((r = lz4_room(o, mlen)) < 0)
			return r;

		/* A match may overlap its own output (off < mlen repeats the last
		 * off bytes). Copying from the match start in chunks no longer than
		 * the distance to it never overlaps, and the distance stays a
		 * multiple of off while it doubles with each chunk. */
		size_t src = o->pos - off;
		while (mlen) {
			size_t c = o->pos - src < mlen ? o->pos - src : mlen;
			memcpy(o->buf + o->pos, o->buf + src, c);
			o->pos += c;
			mlen -= c;
		}
	}
}

int lz4_legacy_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len)
{
	struct lz4_out o = { .buf = out, .cap = out_cap };
	size_t ip = 4;
	int r;

	if (in_len < 4 || get_le32(in) != LZ4_LEGACY_MAGIC)
		return -EINVAL;
	/* A legacy frame has no end mark: it runs to the end of the input.
	 * Exactly 4 bytes left are the bzImage's size trailer (size_append in
	 * the kernel's Makefile); fewer cannot hold a block size. */
	while (in_len - ip > 4) {
		uint32_t csize = get_le32(in + ip);
		ip += 4;
		/* No block compresses to 0x184C2102 bytes, so a magic here is
		 * unambiguous: a concatenated frame. */
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (csize > in_len - ip)
			return -EINVAL;
		o.block = o.pos;
		if ((r = lz4_block(in + ip, csize, &o)) < 0)
			return r;
		ip += csize;
	}
	*out_len = o.pos;
	return 0;
}

int bzimage_payload(const uint8_t *k, size_t len, const uint8_t **payload,
		    size_t *payload_len, uint32_t *uncompressed_len)
{
	const size_t hdr_at = offsetof(struct boot_params, hdr);
	struct setup_header h;

	if (len < hdr_at + sizeof(h))
		return -ENOEXEC;
	memcpy(&h, k + hdr_at, sizeof(h));
	if (le32toh(h.header) != HDRS_MAGIC || le16toh(h.version) < 0x0208)
		return -ENOEXEC;

	/* 64-bit sums of 32-bit fields cannot wrap; each is compared with len
	 * before any subtraction. A setup_sects of 0 means 4 (boot.rst). */
	uint64_t setup = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	uint64_t start = setup + le32toh(h.payload_offset);
	uint64_t plen = le32toh(h.payload_length);
	if (plen < 4 || start > len || plen > len - start)
		return -ENOEXEC;

	*payload = k + start;
	*payload_len = (size_t)plen;
	*uncompressed_len = get_le32(k + start + plen - 4);
	return 0;
}

static int is_elf64_x86_64(const uint8_t *p, size_t n)
{
	Elf64_Ehdr eh;
	if (n < sizeof(eh))
		return 0;
	memcpy(&eh, p, sizeof(eh));
	return memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	       eh.e_ident[EI_DATA] == ELFDATA2LSB && le16toh(eh.e_machine) == EM_X86_64;
}

int vmlinux_from_bzimage(const uint8_t *k, size_t len, uint8_t **out, size_t *out_len)
{
	const uint8_t *p;
	size_t plen, n;
	uint32_t ulen;
	int r;

	if ((r = bzimage_payload(k, len, &p, &plen, &ulen)) < 0)
		return r;
	if (get_le32(p) != LZ4_LEGACY_MAGIC)
		return -ENOTSUP;
	if (ulen > VMLINUX_MAX)
		return -EFBIG;

	_cleanup_free_ uint8_t *buf = malloc(ulen ? ulen : 1);
	if (!buf)
		return -ENOMEM;
	r = lz4_legacy_decode(p, plen, buf, ulen, &n);
	/* More output than the trailer announced is a mismatch, not the
	 * caller's buffer being short. */
	if (r == -ENOSPC)
		return -EINVAL;
	if (r < 0)
		return r;
	if (n != ulen)
		return -EINVAL;
	if (!is_elf64_x86_64(buf, n))
		return -ENOEXEC;
	*out = steal_pointer(&buf);
	*out_len = n;
	return 0;
}
