/* SPDX-License-Identifier: MIT */
/*
 * Per-run spec codec (include/arca/abi.h). Pure code, libc headers only
 * (built with glibc for the launcher and with musl for arca-init).
 *
 * The decoder is strict even though the launcher wrote the file: the spec
 * travels through an initrd the guest kernel unpacked, and a lenient parser
 * is where "it only ever sees our own output" assumptions turn into bugs.
 * Decoding is two passes: the first validates every record and counts argv
 * and env entries without allocating, the second copies strings out. So a
 * malformed spec costs no allocation and a valid one exactly the arrays it
 * needs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "spec.h"

#define SPEC_HDR_SIZE 8u /* le32 magic, le32 version */
#define REC_HDR_SIZE  6u /* le16 tag, le32 len */
#define SPEC_KNOWN_FLAGS ARCA_SPEC_F_VERBOSE

/* ---- encoding ------------------------------------------------------------ */

/* "KEY=VALUE" with a non-empty KEY: what execve's environment expects. */
static int env_entry_ok(const char *e, size_t len)
{
	const char *eq = memchr(e, '=', len);
	return eq && eq != e;
}

/* Adds one record of `len` bytes to *total, refusing to pass the limit.
 * Each step adds at most 6 + ARCA_SPEC_MAX_STRING to a value that is at
 * most ARCA_SPEC_MAX_SIZE, so the sum never overflows size_t. */
static int account(size_t *total, size_t len)
{
	if (len > ARCA_SPEC_MAX_STRING)
		return -E2BIG;
	*total += REC_HDR_SIZE + len;
	if (*total > ARCA_SPEC_MAX_SIZE)
		return -E2BIG;
	return 0;
}

static uint8_t *put_record(uint8_t *p, uint16_t tag, const void *val, size_t len)
{
	proto_put_le16(p, tag);
	proto_put_le32(p + 2, (uint32_t)len);
	if (len)
		memcpy(p + REC_HDR_SIZE, val, len);
	return p + REC_HDR_SIZE + len;
}

int spec_encode(const struct arca_spec *s, uint8_t **out, size_t *out_len)
{
	size_t total = SPEC_HDR_SIZE;
	int r;

	if (!s || !out || !out_len || !s->argv || s->argc < 1)
		return -EINVAL;
	if (s->envc && !s->env)
		return -EINVAL;
	if (s->flags & ~SPEC_KNOWN_FLAGS)
		return -EINVAL;

	for (size_t i = 0; i < s->argc; i++) {
		if (!s->argv[i])
			return -EINVAL;
		/* argv[0] is looked up in PATH: an empty name can never run. */
		if (i == 0 && !s->argv[0][0])
			return -EINVAL;
		r = account(&total, strlen(s->argv[i]));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < s->envc; i++) {
		if (!s->env[i])
			return -EINVAL;
		size_t n = strlen(s->env[i]);
		if (!env_entry_ok(s->env[i], n))
			return -EINVAL;
		r = account(&total, n);
		if (r < 0)
			return r;
	}
	if (s->workdir) {
		if (!s->workdir[0])
			return -EINVAL;
		r = account(&total, strlen(s->workdir));
		if (r < 0)
			return r;
	}
	r = account(&total, 4);
	if (r < 0)
		return r;

	uint8_t *buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	uint8_t *p = buf;
	proto_put_le32(p, ARCA_SPEC_MAGIC);
	proto_put_le32(p + 4, ARCA_ABI_VERSION);
	p += SPEC_HDR_SIZE;
	for (size_t i = 0; i < s->argc; i++)
		p = put_record(p, ARCA_SPEC_ARGV, s->argv[i], strlen(s->argv[i]));
	for (size_t i = 0; i < s->envc; i++)
		p = put_record(p, ARCA_SPEC_ENV, s->env[i], strlen(s->env[i]));
	if (s->workdir)
		p = put_record(p, ARCA_SPEC_WORKDIR, s->workdir, strlen(s->workdir));
	uint8_t fl[4];
	proto_put_le32(fl, s->flags);
	p = put_record(p, ARCA_SPEC_FLAGS, fl, sizeof(fl));

	*out = buf;
	*out_len = (size_t)(p - buf);
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

struct rec {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
};

/*
 * Reads the record at *off. Every comparison is done as "len > remaining"
 * on values already known to be in range, never as "off + len > size",
 * so a hostile le32 length cannot wrap the arithmetic.
 */
static int next_record(const uint8_t *buf, size_t size, size_t *off, struct rec *r)
{
	size_t left = size - *off; /* *off <= size is an invariant */

	if (left < REC_HDR_SIZE)
		return -EPROTO; /* truncated record header */
	r->tag = proto_le16(buf + *off);
	r->len = proto_le32(buf + *off + 2);
	left -= REC_HDR_SIZE;
	if (r->len > left)
		return -EPROTO; /* value runs past the end of the file */
	r->val = buf + *off + REC_HDR_SIZE;
	*off += REC_HDR_SIZE + (size_t)r->len;
	return 0;
}

/* Validates one record; counts ARGV and ENV entries and notes singletons. */
static int check_record(const struct rec *r, size_t *argc, size_t *envc,
			int *seen_workdir, int *seen_flags)
{
	switch (r->tag) {
	case ARCA_SPEC_ARGV:
	case ARCA_SPEC_ENV:
	case ARCA_SPEC_WORKDIR:
		if (r->len > ARCA_SPEC_MAX_STRING)
			return -E2BIG;
		/* An embedded NUL would silently truncate the C string the
		 * guest acts on ("/bin/true\0-rf /" style confusion). */
		if (memchr(r->val, '\0', r->len))
			return -EPROTO;
		break;
	case ARCA_SPEC_FLAGS:
		break;
	default:
		return -EPROTO; /* host and guest are built together */
	}

	switch (r->tag) {
	case ARCA_SPEC_ARGV:
		if (*argc == 0 && r->len == 0)
			return -EPROTO;
		(*argc)++;
		break;
	case ARCA_SPEC_ENV:
		if (!env_entry_ok((const char *)r->val, r->len))
			return -EPROTO;
		(*envc)++;
		break;
	case ARCA_SPEC_WORKDIR:
		if (*seen_workdir || r->len == 0)
			return -EPROTO;
		*seen_workdir = 1;
		break;
	case ARCA_SPEC_FLAGS:
		if (*seen_flags || r->len != 4)
			return -EPROTO;
		if (proto_le32(r->val) & ~SPEC_KNOWN_FLAGS)
			return -EPROTO;
		*seen_flags = 1;
		break;
	}
	return 0;
}

static char *dup_value(const struct rec *r)
{
	char *s = malloc((size_t)r->len + 1);
	if (!s)
		return NULL;
	memcpy(s, r->val, r->len);
	s[r->len] = '\0';
	return s;
}

int spec_decode(const uint8_t *buf, size_t len, struct arca_spec *s)
{
	size_t argc = 0, envc = 0, off;
	int seen_workdir = 0, seen_flags = 0, r;
	struct rec rec;

	if (!s)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	if (!buf && len)
		return -EINVAL;
	if (len > ARCA_SPEC_MAX_SIZE)
		return -E2BIG;
	if (len < SPEC_HDR_SIZE)
		return -EPROTO;
	if (proto_le32(buf) != ARCA_SPEC_MAGIC)
		return -EPROTO;
	if (proto_le32(buf + 4) != ARCA_ABI_VERSION)
		return -EPROTONOSUPPORT;

	/* Pass 1: validate and count. */
	for (off = SPEC_HDR_SIZE; off < len;) {
		r = next_record(buf, len, &off, &rec);
		if (r < 0)
			return r;
		r = check_record(&rec, &argc, &envc, &seen_workdir, &seen_flags);
		if (r < 0)
			return r;
	}
	if (argc == 0)
		return -EPROTO;

	/* Pass 2: copy out. argc, envc < len / 6 <= 16 MiB / 6, so the
	 * array sizes below cannot overflow. */
	s->argv = calloc(argc + 1, sizeof(char *));
	s->env = calloc(envc + 1, sizeof(char *));
	if (!s->argv || !s->env)
		goto nomem;
	for (off = SPEC_HDR_SIZE; off < len;) {
		/* Already validated: cannot fail. */
		(void)next_record(buf, len, &off, &rec);
		char *str;
		switch (rec.tag) {
		case ARCA_SPEC_ARGV:
			if (!(str = dup_value(&rec)))
				goto nomem;
			s->argv[s->argc++] = str;
			break;
		case ARCA_SPEC_ENV:
			if (!(str = dup_value(&rec)))
				goto nomem;
			s->env[s->envc++] = str;
			break;
		case ARCA_SPEC_WORKDIR:
			if (!(s->workdir = dup_value(&rec)))
				goto nomem;
			break;
		case ARCA_SPEC_FLAGS:
			s->flags = proto_le32(rec.val);
			break;
		}
	}
	return 0;

nomem:
	spec_free(s);
	return -ENOMEM;
}

void spec_free(struct arca_spec *s)
{
	if (!s)
		return;
	if (s->argv)
		for (size_t i = 0; s->argv[i]; i++)
			free(s->argv[i]);
	if (s->env)
		for (size_t i = 0; s->env[i]; i++)
			free(s->env[i]);
	free(s->argv);
	free(s->env);
	free(s->workdir);
	memset(s, 0, sizeof(*s));
}
