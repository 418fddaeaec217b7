// SPDX-License-Identifier: MIT
/* AML encoder; see aml.h for the buffer and back-patching model. */
#include "aml.h"

#include <errno.h>
#include <string.h>

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = buf ? cap : 0;
	a->len = 0;
	a->err = 0;
}

void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Room for n more bytes? Sets -ENOSPC otherwise. Overflow-safe: len <= cap
 * always holds, so cap - len cannot wrap. */
static int aml_room(struct aml *a, size_t n)
{
	if (a->err)
		return 0;
	if (n > a->cap - a->len) {
		aml_fail(a, -ENOSPC);
		return 0;
	}
	return 1;
}

void aml_putn(struct aml *a, const void *p, size_t n)
{
	if (!aml_room(a, n))
		return;
	if (n)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_zeros(struct aml *a, size_t n)
{
	if (!aml_room(a, n))
		return;
	memset(a->buf + a->len, 0, n);
	a->len += n;
}

void aml_put8(struct aml *a, uint8_t v)
{
	aml_putn(a, &v, 1);
}

void aml_put16(struct aml *a, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	aml_putn(a, b, sizeof(b));
}

void aml_put32(struct aml *a, uint32_t v)
{
	uint8_t b[4];

	for (unsigned i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_putn(a, b, sizeof(b));
}

void aml_put64(struct aml *a, uint64_t v)
{
	aml_put32(a, (uint32_t)v);
	aml_put32(a, (uint32_t)(v >> 32));
}

/* ---- PkgLength ------------------------------------------------------------ */

/* Largest value each encoding size can carry: 6 bits in a lone lead byte,
 * otherwise 4 bits of the lead byte plus 8 per following byte. */
static const uint32_t pkglen_limit[5] = { 0, 0x3f, 0xfff, 0xfffff, 0xfffffff };

int aml_pkglen_encode(uint32_t value, uint8_t out[4])
{
	int n;

	for (n = 1; n <= 4; n++)
		if (value <= pkglen_limit[n])
			break;
	if (n > 4)
		return -EINVAL;
	if (n == 1) {
		out[0] = (uint8_t)value;
		return 1;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (value & 0x0f));
	for (int i = 1; i < n; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return n;
}

int aml_pkglen_decode(const uint8_t *p, size_t avail, uint32_t *value)
{
	unsigned follow;
	uint32_t v;

	if (avail < 1)
		return -EINVAL;
	follow = p[0] >> 6;
	if (follow == 0) {
		*value = p[0] & 0x3f;
		return 1;
	}
	/* Bits 5:4 are reserved (must be zero) in the multi-byte form. */
	if (p[0] & 0x30)
		return -EINVAL;
	if (avail < 1 + (size_t)follow)
		return -EINVAL;
	v = p[0] & 0x0f;
	for (unsigned i = 1; i <= follow; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	*value = v;
	return (int)(1 + follow);
}

size_t aml_pkg_open(struct aml *a)
{
	size_t mark = a->len;

	aml_put8(a, 0); /* placeholder, replaced by aml_pkg_close */
	return mark;
}

void aml_pkg_close(struct aml *a, size_t mark)
{
	uint8_t enc[4];
	size_t body;
	int n;

	if (a->err)
		return;
	if (mark >= a->len) { /* not a mark from aml_pkg_open on this buffer */
		aml_fail(a, -EINVAL);
		return;
	}
	body = a->len - mark - 1;
	/* The PkgLength counts itself: pick the smallest n with body + n
	 * representable in n bytes. */
	for (n = 1; n <= 4; n++)
		if (body <= pkglen_limit[n] - (uint32_t)n)
			break;
	if (n > 4) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (aml_pkglen_encode((uint32_t)(body + (size_t)n), enc) != n) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (n > 1) {
		if (!aml_room(a, (size_t)n - 1))
			return;
		memmove(a->buf + mark + n, a->buf + mark + 1, body);
		a->len += (size_t)n - 1;
	}
	memcpy(a->buf + mark, enc, (size_t)n);
}

/* ---- names ----------------------------------------------------------------- */

static int lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* Emit the segment s[0..n) padded to 4 characters. */
static void put_seg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };

	if (n < 1 || n > 4 || !lead_char(s[0])) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			aml_fail(a, -EINVAL);
			return;
		}
		seg[i] = s[i];
	}
	aml_putn(a, seg, sizeof(seg));
}

void aml_nameseg(struct aml *a, const char *seg)
{
	put_seg(a, seg, strlen(seg));
}

void aml_namestring(struct aml *a, const char *path)
{
	size_t nseg = 0;
	const char *p;

	if (*path == '\\') {
		aml_put8(a, AML_ROOT_CHAR);
		path++;
	} else {
		while (*path == '^') {
			aml_put8(a, AML_PARENT_PREFIX);
			path++;
		}
	}
	if (!*path) {
		aml_put8(a, 0); /* NullName */
		return;
	}
	nseg = 1;
	for (p = path; *p; p++)
		nseg += *p == '.';
	if (nseg > 255) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (nseg == 2) {
		aml_put8(a, AML_DUAL_NAME_PREFIX);
	} else if (nseg > 2) {
		aml_put8(a, AML_MULTI_NAME_PREFIX);
		aml_put8(a, (uint8_t)nseg);
	}
	while (*path) {
		size_t n = strcspn(path, ".");

		put_seg(a, path, n);
		path += n;
		if (*path == '.') {
			path++;
			if (!*path) /* trailing dot */
				aml_fail(a, -EINVAL);
		}
	}
}

/* ---- data objects --------------------------------------------------------- */

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_put8(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_put8(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_put8(a, AML_BYTE_PREFIX);
		aml_put8(a, (uint8_t)v);
	} else if (v <= UINT16_MAX) {
		aml_put8(a, AML_WORD_PREFIX);
		aml_put16(a, (uint16_t)v);
	} else if (v <= UINT32_MAX) {
		aml_put8(a, AML_DWORD_PREFIX);
		aml_put32(a, (uint32_t)v);
	} else {
		/* 64-bit integers need a DSDT revision >= 2 (section 19.6.28). */
		aml_put8(a, AML_QWORD_PREFIX);
		aml_put64(a, v);
	}
}

void aml_dword_const(struct aml *a, uint32_t v)
{
	aml_put8(a, AML_DWORD_PREFIX);
	aml_put32(a, v);
}

void aml_string(struct aml *a, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_put8(a, AML_STRING_PREFIX);
	aml_putn(a, s, n + 1); /* with the NUL terminator */
}

void aml_buffer(struct aml *a, const void *bytes, size_t n)
{
	size_t mark;

	aml_put8(a, AML_BUFFER_OP);
	mark = aml_pkg_open(a);
	aml_integer(a, n);
	aml_putn(a, bytes, n);
	aml_pkg_close(a, mark);
}

void aml_name(struct aml *a, const char *name)
{
	aml_put8(a, AML_NAME_OP);
	aml_namestring(a, name);
}

size_t aml_scope_open(struct aml *a, const char *name)
{
	size_t mark;

	aml_put8(a, AML_SCOPE_OP);
	mark = aml_pkg_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_device_open(struct aml *a, const char *name)
{
	size_t mark;

	aml_put8(a, AML_EXT_OP_PREFIX);
	aml_put8(a, AML_EXT_DEVICE_OP);
	mark = aml_pkg_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_package_open(struct aml *a, uint8_t nelems)
{
	size_t mark;

	aml_put8(a, AML_PACKAGE_OP);
	mark = aml_pkg_open(a);
	aml_put8(a, nelems);
	return mark;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int aml_eisaid(const char *id, uint32_t *out)
{
	uint32_t v = 0;

	if (strlen(id) != 7)
		return -EINVAL;
	/* Three letters, 5 bits each ('A' = 1), then four hex digits; the
	 * 32-bit value is stored big-endian in the DWord (section 19.6.35). */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v |= (uint32_t)(id[i] - '@') << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0)
			return -EINVAL;
		v |= (uint32_t)h << (4 * (6 - i));
	}
	*out = __builtin_bswap32(v);
	return 0;
}

/* ---- resource descriptors (section 6.4) ------------------------------------ */

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_put8(a, AML_RES_IO);
	aml_put8(a, AML_RES_IO_DECODE16);
	aml_put16(a, min);
	aml_put16(a, max);
	aml_put8(a, align);
	aml_put8(a, len);
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	if (irq > 15) { /* the descriptor is a 16-bit ISA IRQ mask */
		aml_fail(a, -EINVAL);
		return;
	}
	aml_put8(a, AML_RES_IRQ_NOFLAGS);
	aml_put16(a, (uint16_t)(1u << irq));
}

void aml_res_mem32_fixed(struct aml *a, int rw, uint32_t base, uint32_t size)
{
	aml_put8(a, AML_RES_MEM32_FIXED);
	aml_put16(a, 9); /* bytes after the 3-byte large-item header */
	aml_put8(a, rw ? AML_RES_MEM_RW : 0);
	aml_put32(a, base);
	aml_put32(a, size);
}

void aml_res_ext_irq(struct aml *a, uint8_t flags, uint32_t gsi)
{
	aml_put8(a, AML_RES_EXT_IRQ);
	aml_put16(a, 6); /* flags + count + one DWord, no ResourceSource */
	aml_put8(a, flags);
	aml_put8(a, 1);
	aml_put32(a, gsi);
}

void aml_res_end(struct aml *a)
{
	aml_put8(a, AML_RES_END_TAG);
	aml_put8(a, 0);
}
