/* SPDX-License-Identifier: MIT */
/* Per-run spec codec: round trips and every way a spec can be malformed. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/resource.h>

#include "arca/limits.h"
#include "proto.h"
#include "spec.h"

/* A writable string (struct arca_spec holds char *, and -Wwrite-strings
 * rightly refuses to point those at literals). */
#define S(lit) ((char[]){ lit })

/* ---- a tiny hand encoder, independent of spec_encode -------------------- */

struct wire {
	uint8_t buf[4096];
	size_t len;
};

/* Overwrite k random bytes of w at or after `from` (a fixed LCG: the same
 * sequence every run). */
static void w_mutate(struct wire *w, size_t from, int k, uint32_t *seed)
{
	for (int i = 0; i < k; i++) {
		*seed = *seed * 1103515245u + 12345u;
		size_t pos = from + (*seed >> 8) % (w->len - from);
		*seed = *seed * 1103515245u + 12345u;
		w->buf[pos] = (uint8_t)(*seed >> 16);
	}
}

static void w_init(struct wire *w, uint32_t magic, uint32_t version)
{
	proto_put_le32(w->buf, magic);
	proto_put_le32(w->buf + 4, version);
	w->len = 8;
}

static void w_rec(struct wire *w, uint16_t tag, const void *val, uint32_t len)
{
	assert_true(w->len + 6 + len <= sizeof(w->buf));
	proto_put_le16(w->buf + w->len, tag);
	proto_put_le32(w->buf + w->len + 2, len);
	if (len)
		memcpy(w->buf + w->len + 6, val, len);
	w->len += 6 + len;
}

static void w_str(struct wire *w, uint16_t tag, const char *s)
{
	w_rec(w, tag, s, (uint32_t)strlen(s));
}

static void w_flags(struct wire *w, uint32_t flags)
{
	uint8_t f[4];
	proto_put_le32(f, flags);
	w_rec(w, ARCA_SPEC_FLAGS, f, 4);
}

/* A valid minimal spec: magic, version, argv "true". */
static void w_minimal(struct wire *w)
{
	w_init(w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_str(w, ARCA_SPEC_ARGV, "true");
}

static void expect_decode_error(const struct wire *w, int err)
{
	struct arca_spec s;

	memset(&s, 0xA5, sizeof(s));
	assert_int_equal(spec_decode(w->buf, w->len, &s), err);
	/* Left zeroed: nothing leaks, nothing to free. */
	assert_null(s.argv);
	assert_null(s.env);
	assert_null(s.workdir);
	assert_int_equal(s.argc, 0);
	spec_free(&s);
}

/* ---- round trips ---------------------------------------------------------- */

static void test_roundtrip_full(void **state)
{
	char *argv[] = { S("sh"), S("-c"), S("echo \"$X\" é"), S(""), NULL };
	char *env[] = { S("X=1"), S("PATH=/bin"), S("EMPTY="), S("A=b=c"), NULL };
	struct arca_spec in = {
		.argv = argv, .argc = 4, .env = env, .envc = 4,
		.workdir = S("/tmp/w d"), .flags = ARCA_SPEC_F_VERBOSE,
	};
	struct arca_spec out;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(proto_le32(buf), ARCA_SPEC_MAGIC);
	assert_int_equal(proto_le32(buf + 4), ARCA_ABI_VERSION);

	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.argc, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(out.argv[i], argv[i]);
	assert_null(out.argv[4]);
	assert_int_equal(out.envc, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(out.env[i], env[i]);
	assert_null(out.env[4]);
	assert_string_equal(out.workdir, "/tmp/w d");
	assert_int_equal(out.flags, ARCA_SPEC_F_VERBOSE);
	spec_free(&out);
	assert_null(out.argv);
	spec_free(&out); /* idempotent */
	free(buf);
}

static void test_roundtrip_minimal(void **state)
{
	char *argv[] = { S("/bin/true"), NULL };
	struct arca_spec in = { .argv = argv, .argc = 1 };
	struct arca_spec out;
	uint8_t *buf;
	size_t len;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	/* header + ARGV record + FLAGS record */
	assert_int_equal(len, 8 + 6 + 9 + 6 + 4);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.argc, 1);
	assert_string_equal(out.argv[0], "/bin/true");
	assert_int_equal(out.envc, 0);
	assert_non_null(out.env);
	assert_null(out.env[0]);
	assert_null(out.workdir);
	assert_int_equal(out.flags, 0);
	spec_free(&out);
	free(buf);
}

/* Hand-made: no FLAGS record means 0; record order is free except argv's. */
static void test_decode_handmade(void **state)
{
	struct wire w;
	struct arca_spec s;

	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_str(&w, ARCA_SPEC_ENV, "K=v");
	w_str(&w, ARCA_SPEC_ARGV, "a");
	w_str(&w, ARCA_SPEC_WORKDIR, "/");
	w_str(&w, ARCA_SPEC_ARGV, "b");
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_int_equal(s.argc, 2);
	assert_string_equal(s.argv[0], "a");
	assert_string_equal(s.argv[1], "b");
	assert_string_equal(s.env[0], "K=v");
	assert_string_equal(s.workdir, "/");
	assert_int_equal(s.flags, 0);
	spec_free(&s);
}

/* ---- encoder refusals ----------------------------------------------------- */

static void test_encode_refuses(void **state)
{
	char *argv[] = { S("x"), NULL };
	char *empty0[] = { S(""), NULL };
	char *badenv[] = { S("NOEQUALS"), NULL };
	char *emptykey[] = { S("=v"), NULL };
	char *nullarg[] = { NULL, NULL };
	struct arca_spec s = { .argv = argv, .argc = 1 };
	uint8_t *buf = (uint8_t *)0x1;
	size_t len = 7;

	s.argc = 0;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.argc = 1;
	s.argv = NULL;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.argv = empty0;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.argv = nullarg;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.argv = argv;
	s.env = badenv;
	s.envc = 1;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.env = emptykey;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.env = NULL;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.envc = 0;
	s.workdir = S("");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.workdir = NULL;
	s.flags = 0x80000000u;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	assert_int_equal(spec_encode(NULL, &buf, &len), -EINVAL);
	/* Outputs untouched on failure. */
	assert_ptr_equal(buf, (uint8_t *)0x1);
	assert_int_equal(len, 7);
}

static void test_encode_too_large(void **state)
{
	/* One string over the per-string limit. */
	size_t n = ARCA_SPEC_MAX_STRING + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	char *argv[] = { big, NULL };
	struct arca_spec s = { .argv = argv, .argc = 1 };
	uint8_t *buf;
	size_t len;

	assert_int_equal(spec_encode(&s, &buf, &len), -E2BIG);
	/* Exactly at the limit is fine. */
	big[ARCA_SPEC_MAX_STRING] = '\0';
	assert_int_equal(spec_encode(&s, &buf, &len), 0);
	free(buf);

	/* Many strings at the limit: the total passes ARCA_SPEC_MAX_SIZE. */
	size_t count = ARCA_SPEC_MAX_SIZE / ARCA_SPEC_MAX_STRING + 1;
	char **many = calloc(count + 1, sizeof(char *));
	assert_non_null(many);
	for (size_t i = 0; i < count; i++)
		many[i] = big;
	s.argv = many;
	s.argc = count;
	assert_int_equal(spec_encode(&s, &buf, &len), -E2BIG);
	free(many);
	free(big);
}

/* ---- decoder refusals ----------------------------------------------------- */

static void test_decode_bad_header(void **state)
{
	struct wire w;

	w_minimal(&w);
	proto_put_le32(w.buf, ARCA_MSG_MAGIC);
	expect_decode_error(&w, -EPROTO);

	w_minimal(&w);
	proto_put_le32(w.buf + 4, ARCA_ABI_VERSION + 1);
	expect_decode_error(&w, -EPROTONOSUPPORT);

	/* Shorter than the header, at every length. */
	w_minimal(&w);
	for (size_t n = 0; n < 8; n++) {
		w.len = n;
		expect_decode_error(&w, -EPROTO);
	}

	/* Header only: valid framing but no argv. */
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	expect_decode_error(&w, -EPROTO);

	struct arca_spec s;
	assert_int_equal(spec_decode(NULL, 10, &s), -EINVAL);
	assert_int_equal(spec_decode(w.buf, w.len, NULL), -EINVAL);
}

static void test_decode_oversized_file(void **state)
{
	struct arca_spec s;
	/* The size check comes before any byte is read, so a short buffer
	 * with a huge claimed length is safe to pass here. */
	struct wire w;
	w_minimal(&w);
	assert_int_equal(spec_decode(w.buf, (size_t)ARCA_SPEC_MAX_SIZE + 1, &s), -E2BIG);
	assert_null(s.argv);
}

/* Every strict prefix of a valid spec longer than the header is truncated
 * inside a record (or leaves no argv) and must be rejected. */
static void test_decode_every_truncation(void **state)
{
	struct wire w;

	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_str(&w, ARCA_SPEC_ARGV, "echo");
	w_str(&w, ARCA_SPEC_ARGV, "hi");
	w_str(&w, ARCA_SPEC_ENV, "A=B");
	w_str(&w, ARCA_SPEC_WORKDIR, "/x");
	w_flags(&w, ARCA_SPEC_F_VERBOSE);
	size_t full = w.len;

	/* Record boundaries: prefixes ending there are valid specs. */
	size_t bounds[] = { 8 + 10, 8 + 10 + 8, 8 + 10 + 8 + 9, 8 + 10 + 8 + 9 + 8, full };
	for (size_t n = 8; n <= full; n++) {
		int at_boundary = 0;
		for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++)
			at_boundary |= (n == bounds[b]);
		w.len = n;
		if (at_boundary) {
			struct arca_spec s;
			assert_int_equal(spec_decode(w.buf, n, &s), 0);
			spec_free(&s);
		} else {
			expect_decode_error(&w, -EPROTO);
		}
	}
}

static void test_decode_length_overflow(void **state)
{
	struct wire w;

	w_minimal(&w);
	/* A record claiming more bytes than remain, up to values that wrap
	 * "offset + len" on 32-bit arithmetic. */
	uint32_t lens[] = { 1, 0x7FFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFAu, 0xFFFFFFF0u };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		w_minimal(&w);
		proto_put_le16(w.buf + w.len, ARCA_SPEC_ENV);
		proto_put_le32(w.buf + w.len + 2, lens[i]);
		w.len += 6;
		expect_decode_error(&w, -EPROTO);
	}
	/* The first record's own length one past the end. */
	w_minimal(&w);
	proto_put_le32(w.buf + 8 + 2, 5);
	expect_decode_error(&w, -EPROTO);
}

static void test_decode_nul_inside_strings(void **state)
{
	struct wire w;
	const uint16_t tags[] = { ARCA_SPEC_ARGV, ARCA_SPEC_ENV, ARCA_SPEC_WORKDIR };

	for (size_t i = 0; i < 3; i++) {
		w_minimal(&w);
		w_rec(&w, tags[i], "A=b\0c", 5);
		expect_decode_error(&w, -EPROTO);
		/* A trailing NUL is just as wrong: strings are not terminated. */
		w_minimal(&w);
		w_rec(&w, tags[i], "A=b\0", 4);
		expect_decode_error(&w, -EPROTO);
	}
	/* In argv[0] itself. */
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_rec(&w, ARCA_SPEC_ARGV, "/bin/true\0rm", 12);
	expect_decode_error(&w, -EPROTO);
}

static void test_decode_unknown_tag(void **state)
{
	struct wire w;
	/* 10 is HOST now, whose 0 bytes are wrong too; the first tag past
	 * the last known one is unknown. */
	const uint16_t tags[] = { 0, 10, ARCA_SPEC_NET6 + 1, 0xFFFF };

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		w_minimal(&w);
		w_rec(&w, tags[i], "", 0);
		expect_decode_error(&w, -EPROTO);
	}
}

/* exec -u: USER carries uid and gid; absent means root; one record of 8 bytes. */
static void test_user(void **state)
{
	char *argv[] = { S("id"), NULL };
	struct arca_spec in = { .argv = argv, .argc = 1, .has_user = 1, .uid = 1000,
				.gid = 0xfffffffe, .flags = ARCA_SPEC_F_TTY };
	struct arca_spec out;
	uint8_t *buf;
	size_t len;
	struct wire w;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_true(out.has_user);
	assert_int_equal(out.uid, 1000);
	assert_int_equal(out.gid, 0xfffffffe);
	assert_int_equal(out.flags, ARCA_SPEC_F_TTY);
	spec_free(&out);
	free(buf);

	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_USER, "\1\0\0\0\1\0\0", 7);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_USER, "\1\0\0\0\1\0\0\0", 8);
	w_rec(&w, ARCA_SPEC_USER, "\1\0\0\0\1\0\0\0", 8);
	expect_decode_error(&w, -EPROTO);
}

static void test_decode_bad_values(void **state)
{
	struct wire w;

	/* Empty argv[0] (later empty arguments are fine). */
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_str(&w, ARCA_SPEC_ARGV, "");
	expect_decode_error(&w, -EPROTO);

	/* Environment entries must be KEY=VALUE with a key. */
	w_minimal(&w);
	w_str(&w, ARCA_SPEC_ENV, "NOEQUALS");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_str(&w, ARCA_SPEC_ENV, "=value");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_str(&w, ARCA_SPEC_ENV, "");
	expect_decode_error(&w, -EPROTO);

	/* Empty workdir. */
	w_minimal(&w);
	w_str(&w, ARCA_SPEC_WORKDIR, "");
	expect_decode_error(&w, -EPROTO);

	/* FLAGS of the wrong size or with unknown bits. */
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_FLAGS, "\1\0\0", 3);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_FLAGS, "\1\0\0\0\0", 5);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_flags(&w, 0x20); /* an unknown flag */
	expect_decode_error(&w, -EPROTO);
}

static void test_decode_duplicates(void **state)
{
	struct wire w;

	w_minimal(&w);
	w_str(&w, ARCA_SPEC_WORKDIR, "/a");
	w_str(&w, ARCA_SPEC_WORKDIR, "/a");
	expect_decode_error(&w, -EPROTO);

	w_minimal(&w);
	w_flags(&w, 0);
	w_flags(&w, 0);
	expect_decode_error(&w, -EPROTO);

	/* Repeated ENV keys are allowed (last one wins in the guest). */
	struct arca_spec s;
	w_minimal(&w);
	w_str(&w, ARCA_SPEC_ENV, "A=1");
	w_str(&w, ARCA_SPEC_ENV, "A=2");
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_int_equal(s.envc, 2);
	spec_free(&s);
}

static void test_decode_string_limit(void **state)
{
	size_t n = ARCA_SPEC_MAX_STRING + 1;
	size_t len = 8 + 6 + 1 + 6 + n;
	uint8_t *buf = malloc(len);
	struct arca_spec s;

	assert_non_null(buf);
	proto_put_le32(buf, ARCA_SPEC_MAGIC);
	proto_put_le32(buf + 4, ARCA_ABI_VERSION);
	proto_put_le16(buf + 8, ARCA_SPEC_ARGV);
	proto_put_le32(buf + 10, 1);
	buf[14] = 'x';
	proto_put_le16(buf + 15, ARCA_SPEC_ARGV);
	proto_put_le32(buf + 17, (uint32_t)n);
	memset(buf + 21, 'y', n);
	assert_int_equal(spec_decode(buf, len, &s), -E2BIG);
	assert_null(s.argv);

	/* One byte less is accepted. */
	proto_put_le32(buf + 17, (uint32_t)(n - 1));
	assert_int_equal(spec_decode(buf, len - 1, &s), 0);
	assert_int_equal(s.argc, 2);
	assert_int_equal(strlen(s.argv[1]), ARCA_SPEC_MAX_STRING);
	spec_free(&s);
	free(buf);
}

/* Pseudo-random byte flips of a valid spec must never crash or leak (ASan
 * build) and must yield either an error or a well-formed result. */
static void test_decode_mutations(void **state)
{
	struct wire base, w;
	uint32_t seed = 12345;

	w_init(&base, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_str(&base, ARCA_SPEC_ARGV, "sh");
	w_str(&base, ARCA_SPEC_ARGV, "-c");
	w_str(&base, ARCA_SPEC_ENV, "HOME=/x");
	w_str(&base, ARCA_SPEC_WORKDIR, "/w");
	w_flags(&base, 1);

	for (int iter = 0; iter < 20000; iter++) {
		w = base;
		w_mutate(&w, 0, 3, &seed);
		struct arca_spec s;
		int r = spec_decode(w.buf, w.len, &s);
		if (r == 0) {
			assert_true(s.argc >= 1);
			assert_non_null(s.argv[0]);
			assert_true(s.argv[0][0] != '\0');
			assert_null(s.argv[s.argc]);
			assert_null(s.env[s.envc]);
			for (size_t i = 0; i < s.envc; i++)
				assert_non_null(strchr(s.env[i], '='));
			spec_free(&s);
		} else {
			assert_true(r == -EPROTO || r == -EPROTONOSUPPORT || r == -E2BIG);
			assert_null(s.argv);
		}
	}
}

/* ---- shares and root (ARCA_SPEC_SHARE / ARCA_SPEC_ROOT) ------------------------------ */

/* A SHARE record by hand: le32 flags, le16 tag_len, tag, path. */
static void w_share(struct wire *w, uint32_t flags, const char *tag, const char *path)
{
	uint8_t v[512];
	size_t tl = strlen(tag), pl = strlen(path);
	assert_true(6 + tl + pl <= sizeof(v));
	proto_put_le32(v, flags);
	proto_put_le16(v + 4, (uint16_t)tl);
	memcpy(v + 6, tag, tl);
	memcpy(v + 6 + tl, path, pl);
	w_rec(w, ARCA_SPEC_SHARE, v, (uint32_t)(6 + tl + pl));
}

static void w_root(struct wire *w, uint32_t mode, const char *tag)
{
	uint8_t v[128];
	size_t tl = strlen(tag);
	assert_true(4 + tl <= sizeof(v));
	proto_put_le32(v, mode);
	memcpy(v + 4, tag, tl);
	w_rec(w, ARCA_SPEC_ROOT, v, (uint32_t)(4 + tl));
}

static void expect_decode_ok(const struct wire *w)
{
	struct arca_spec s;
	assert_int_equal(spec_decode(w->buf, w->len, &s), 0);
	spec_free(&s);
}

static void test_roundtrip_shares_root(void **state)
{
	char *argv[] = { S("python3"), NULL };
	struct arca_spec_share sh[] = {
		{ 0, S("arca-1"), S("/workspace") },
		{ ARCA_SHARE_F_RO, S("arca-2"), S("/data") },
		{ ARCA_SHARE_F_NOMOUNT | ARCA_SHARE_F_RO, S("extra"), NULL },
		{ 0, S("arca-4"), S("/data/sub dir/é") },
	};
	struct arca_spec in = { .argv = argv, .argc = 1, .shares = sh, .nshares = 4,
				.root_mode = ARCA_ROOT_HOST, .root_tag = S("arca-usr") };
	struct arca_spec out;
	uint8_t *buf;
	size_t len;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.nshares, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(out.shares[i].flags, sh[i].flags);
		assert_string_equal(out.shares[i].tag, sh[i].tag);
		if (sh[i].path)
			assert_string_equal(out.shares[i].path, sh[i].path);
		else
			assert_null(out.shares[i].path);
	}
	assert_int_equal(out.root_mode, ARCA_ROOT_HOST);
	assert_string_equal(out.root_tag, "arca-usr");
	spec_free(&out);
	assert_null(out.shares);
	assert_null(out.root_tag);

	/* The exact wire layout of the first SHARE record, after header,
	 * ARGV ("python3") and FLAGS. */
	const uint8_t *r = buf + 8 + (6 + 7) + (6 + 4);
	assert_int_equal(proto_le16(r), ARCA_SPEC_SHARE);
	assert_int_equal(proto_le32(r + 2), 6 + 6 + 10);
	assert_int_equal(proto_le32(r + 6), 0);
	assert_int_equal(proto_le16(r + 10), 6);
	assert_memory_equal(r + 12, "arca-1/workspace", 16);
	/* The ROOT record is last: le32 mode, tag. */
	const uint8_t *root = buf + len - (6 + 4 + 8);
	assert_int_equal(proto_le16(root), ARCA_SPEC_ROOT);
	assert_int_equal(proto_le32(root + 2), 12);
	assert_int_equal(proto_le32(root + 6), ARCA_ROOT_HOST);
	assert_memory_equal(root + 10, "arca-usr", 8);
	free(buf);
}

static void test_roundtrip_root_modes(void **state)
{
	char *argv[] = { S("sh"), NULL };
	const uint32_t modes[] = { ARCA_ROOT_HOST, ARCA_ROOT_DIR, ARCA_ROOT_DIR_RW };
	struct arca_spec in = { .argv = argv, .argc = 1 };
	struct arca_spec out;
	uint8_t *buf;
	size_t len;

	/* INITRD, the default, is not written at all: same bytes as before
	 * the ROOT record existed. */
	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(len, 8 + 6 + 2 + 6 + 4);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.root_mode, ARCA_ROOT_INITRD);
	assert_null(out.root_tag);
	assert_null(out.shares);
	assert_int_equal(out.nshares, 0);
	spec_free(&out);
	free(buf);

	for (size_t i = 0; i < 3; i++) {
		in.root_mode = modes[i];
		in.root_tag = S("r00t-tag-that-is-exactly-36-bytes-xx");
		assert_int_equal(strlen(in.root_tag), ARCA_TAG_MAX);
		assert_int_equal(spec_encode(&in, &buf, &len), 0);
		assert_int_equal(spec_decode(buf, len, &out), 0);
		assert_int_equal(out.root_mode, modes[i]);
		assert_string_equal(out.root_tag, in.root_tag);
		spec_free(&out);
		free(buf);
	}

	/* An explicit INITRD record (no tag) is accepted. */
	struct wire w;
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_INITRD, "");
	assert_int_equal(spec_decode(w.buf, w.len, &out), 0);
	assert_int_equal(out.root_mode, ARCA_ROOT_INITRD);
	assert_null(out.root_tag);
	spec_free(&out);
}

static void test_guest_path_ok(void **state)
{
	const char *good[] = {
		"/a", "/workspace", "/data/x/y", "/out", "/tmp/x", "/procx", "/sysroot",
		"/devices", "/usr/local", "/a.b", "/...", "/.x", "/x..", "/home/u s/é",
		"/arca/x",
	};
	const char *bad[] = {
		"", "/", "a", "a/b", "//", "//a", "/a//b", "/a/", "/a/b/", "/.", "/..",
		"/a/.", "/a/..", "/a/./b", "/a/../b", "/../a", "/proc", "/proc/x", "/sys",
		"/sys/fs/cgroup", "/dev", "/dev/shm", "/dev/", "./a",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(spec_guest_path_ok(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (spec_guest_path_ok(bad[i], strlen(bad[i])))
			fail_msg("accepted bad path \"%s\"", bad[i]);
	}
	/* An embedded NUL, and lengths around the limits. */
	assert_false(spec_guest_path_ok("/a\0b", 4));
	assert_false(spec_guest_path_ok(NULL, 0));
	char long_path[4200];
	for (size_t i = 0; i < sizeof(long_path); i += 2) {
		long_path[i] = '/';
		long_path[i + 1] = 'x';
	}
	assert_true(spec_guest_path_ok(long_path, 4094));
	assert_false(spec_guest_path_ok(long_path, 4096));
	/* A component of 255 bytes is fine, 256 is not (NAME_MAX). */
	char comp[300];
	comp[0] = '/';
	memset(comp + 1, 'c', sizeof(comp) - 1);
	assert_true(spec_guest_path_ok(comp, 1 + 255));
	assert_false(spec_guest_path_ok(comp, 1 + 256));
}

static void test_tag_ok(void **state)
{
	assert_true(spec_tag_ok("a", 1));
	assert_true(spec_tag_ok("arca-share-0", 12));
	assert_true(spec_tag_ok("!~", 2));
	assert_true(spec_tag_ok("123456789012345678901234567890123456", 36));
	assert_false(spec_tag_ok("1234567890123456789012345678901234567", 37));
	assert_false(spec_tag_ok("", 0));
	assert_false(spec_tag_ok(NULL, 0));
	assert_false(spec_tag_ok("a b", 3));
	assert_false(spec_tag_ok("a\0b", 3));
	assert_false(spec_tag_ok("a\nb", 3));
	assert_false(spec_tag_ok("a\x7f", 2));
	assert_false(spec_tag_ok("\xc3\xa9", 2));
}

static void test_encode_refuses_mounts(void **state)
{
	char *argv[] = { S("x"), NULL };
	struct arca_spec_share sh[3];
	struct arca_spec s = { .argv = argv, .argc = 1, .shares = sh, .nshares = 1 };
	uint8_t *buf = (uint8_t *)0x1;
	size_t len = 7;

	struct {
		uint32_t flags;
		char *tag, *path;
	} bad[] = {
		{ 0, NULL, S("/a") },
		{ 0, S(""), S("/a") },
		{ 0, S("has space"), S("/a") },
		{ 0, S("1234567890123456789012345678901234567"), S("/a") },
		{ 0, S("t"), NULL },           /* mounted share without a path */
		{ 0, S("t"), S("") },
		{ 0, S("t"), S("/") },
		{ 0, S("t"), S("rel") },
		{ 0, S("t"), S("/a/../b") },
		{ 0, S("t"), S("/proc/x") },
		{ 0x8, S("t"), S("/a") },      /* unknown flag */
		{ ARCA_SHARE_F_NOMOUNT, S("t"), S("/a") },
		{ ARCA_SHARE_F_NOMOUNT, S("t"), S("") },
		{ ARCA_SHARE_F_FILE | ARCA_SHARE_F_NOMOUNT, S("t"), NULL }, /* a file is bound */
		{ ARCA_SHARE_F_FILE, S("t"), S("/") },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sh[0] = (struct arca_spec_share){ bad[i].flags, bad[i].tag, bad[i].path };
		if (spec_encode(&s, &buf, &len) != -EINVAL)
			fail_msg("bad share %zu accepted", i);
	}

	/* Cross-record: duplicate tag, duplicate path, root tag = share tag. */
	s.nshares = 2;
	sh[0] = (struct arca_spec_share){ 0, S("t1"), S("/a") };
	sh[1] = (struct arca_spec_share){ ARCA_SHARE_F_NOMOUNT, S("t1"), NULL };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	sh[1] = (struct arca_spec_share){ ARCA_SHARE_F_RO, S("t2"), S("/a") };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	/* FILE records share one tag, which no directory share uses. */
	sh[0] = (struct arca_spec_share){ ARCA_SHARE_F_FILE, S("f"), S("/a") };
	sh[1] = (struct arca_spec_share){ ARCA_SHARE_F_FILE | ARCA_SHARE_F_RO, S("f"), S("/b") };
	assert_int_equal(spec_encode(&s, &buf, &len), 0);
	free(buf);
	buf = (uint8_t *)0x1; /* the sentinel the failures below must leave */
	len = 7;
	sh[1] = (struct arca_spec_share){ ARCA_SHARE_F_FILE, S("g"), S("/b") };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	sh[1] = (struct arca_spec_share){ 0, S("f"), S("/b") };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	sh[1] = (struct arca_spec_share){ ARCA_SHARE_F_FILE, S("f"), S("/a") };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	sh[0] = (struct arca_spec_share){ 0, S("t1"), S("/a") };
	sh[1] = (struct arca_spec_share){ ARCA_SHARE_F_RO, S("t2"), S("/a/b") };
	s.root_mode = ARCA_ROOT_DIR;
	s.root_tag = S("t2");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);

	/* Root: tag required except for INITRD, refused for INITRD; modes. */
	s.root_tag = NULL;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_mode = ARCA_ROOT_INITRD;
	s.root_tag = S("r");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_mode = 6; /* past ARCA_ROOT_DISK_RW */
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_mode = ARCA_ROOT_HOST;
	s.root_tag = S("bad tag");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);

	/* shares NULL with a count. */
	s.root_mode = ARCA_ROOT_INITRD;
	s.root_tag = NULL;
	s.shares = NULL;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	assert_ptr_equal(buf, (uint8_t *)0x1);
	assert_int_equal(len, 7);

	/* And the same spec with distinct tags and paths is fine. */
	s.shares = sh;
	s.root_mode = ARCA_ROOT_DIR;
	s.root_tag = S("root");
	assert_int_equal(spec_encode(&s, &buf, &len), 0);
	free(buf);

	/* Over ARCA_SPEC_MAX_SHARES. */
	size_t n = ARCA_SPEC_MAX_SHARES + 1;
	struct arca_spec_share *many = calloc(n, sizeof(*many));
	char (*tags)[8] = calloc(n, 8);
	assert_non_null(many);
	assert_non_null(tags);
	for (size_t i = 0; i < n; i++) {
		snprintf(tags[i], 8, "t%zu", i);
		many[i] = (struct arca_spec_share){ ARCA_SHARE_F_NOMOUNT, tags[i], NULL };
	}
	s.shares = many;
	s.nshares = n - 1;
	assert_int_equal(spec_encode(&s, &buf, &len), 0);
	free(buf);
	s.nshares = n;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	free(many);
	free(tags);
}

static void test_decode_share_rejects(void **state)
{
	struct wire w;

	/* Shorter than flags + tag_len, at every length. */
	for (uint32_t n = 0; n < 6; n++) {
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_SHARE, "\0\0\0\0\1\0", n);
		expect_decode_error(&w, -EPROTO);
	}
	/* tag_len past the record's end (and huge). */
	const uint16_t tls[] = { 3, 4, 0xFFFF };
	for (size_t i = 0; i < 3; i++) {
		uint8_t v[8] = { 0 };
		proto_put_le16(v + 4, tls[i]);
		v[6] = 't';
		v[7] = 'g';
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_SHARE, v, 8);
		expect_decode_error(&w, -EPROTO);
	}
	/* tag_len covering everything: a mounted share with no path. */
	w_minimal(&w);
	w_share(&w, 0, "tg", "");
	expect_decode_error(&w, -EPROTO);

	struct {
		uint32_t flags;
		const char *tag, *path;
	} bad[] = {
		{ 0, "", "/a" },
		{ 0, "1234567890123456789012345678901234567", "/a" },
		{ 0, "a b", "/a" },
		{ 0, "t", "/" },
		{ 0, "t", "a" },
		{ 0, "t", "/a/" },
		{ 0, "t", "/a//b" },
		{ 0, "t", "/a/./b" },
		{ 0, "t", "/a/.." },
		{ 0, "t", "/dev/x" },
		{ 0, "t", "/sys" },
		{ 0x8, "t", "/a" },
		{ 0x80000000u, "t", "/a" },
		{ ARCA_SHARE_F_NOMOUNT, "t", "/a" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w_minimal(&w);
		w_share(&w, bad[i].flags, bad[i].tag, bad[i].path);
		expect_decode_error(&w, -EPROTO);
	}
	/* A NUL in the tag or the path. */
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_SHARE, "\0\0\0\0\2\0t\0/a", 10);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_SHARE, "\0\0\0\0\1\0t/a\0", 10);
	expect_decode_error(&w, -EPROTO);
	/* The same bytes without the NUL are fine: the framing is right. */
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_SHARE, "\0\0\0\0\1\0t/ab", 10);
	expect_decode_ok(&w);

	/* Cross-record. */
	w_minimal(&w);
	w_share(&w, 0, "t1", "/a");
	w_share(&w, ARCA_SHARE_F_RO, "t2", "/a");
	expect_decode_error(&w, -EPROTO); /* same path */
	w_minimal(&w);
	w_share(&w, 0, "t1", "/a");
	w_share(&w, ARCA_SHARE_F_NOMOUNT, "t1", "");
	expect_decode_error(&w, -EPROTO); /* same tag */
	w_minimal(&w);
	w_share(&w, 0, "t1", "/a");
	w_root(&w, ARCA_ROOT_HOST, "t1");
	expect_decode_error(&w, -EPROTO); /* root tag = share tag */
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_DIR, "t1"); /* in either order */
	w_share(&w, 0, "t1", "/a");
	expect_decode_error(&w, -EPROTO);
	/* Two NOMOUNT shares (no path each) and nested paths are fine. */
	w_minimal(&w);
	w_share(&w, ARCA_SHARE_F_NOMOUNT, "n1", "");
	w_share(&w, ARCA_SHARE_F_NOMOUNT, "n2", "");
	w_share(&w, 0, "t1", "/a/b");
	w_share(&w, 0, "t2", "/a");
	w_root(&w, ARCA_ROOT_DIR, "t3");
	expect_decode_ok(&w);

	/* ARCA_SPEC_MAX_SHARES is the most. */
	w_minimal(&w);
	for (unsigned i = 0; i < ARCA_SPEC_MAX_SHARES; i++) {
		char tag[8];
		snprintf(tag, sizeof(tag), "t%u", i);
		w_share(&w, ARCA_SHARE_F_NOMOUNT, tag, "");
	}
	struct arca_spec s;
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_int_equal(s.nshares, ARCA_SPEC_MAX_SHARES);
	spec_free(&s);
	w_share(&w, ARCA_SHARE_F_NOMOUNT, "one-more", "");
	expect_decode_error(&w, -EPROTO);
}

static void test_decode_root_rejects(void **state)
{
	struct wire w;

	for (uint32_t n = 0; n < 4; n++) {
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_ROOT, "\1\0\0\0", n);
		expect_decode_error(&w, -EPROTO);
	}
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_HOST, ""); /* no tag */
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_INITRD, "t"); /* a tag where none belongs */
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_root(&w, 6, "t");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_root(&w, 0xFFFFFFFFu, "t");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_DIR_RW, "1234567890123456789012345678901234567");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_DIR_RW, "a\tb");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_HOST, "a");
	w_root(&w, ARCA_ROOT_HOST, "b");
	expect_decode_error(&w, -EPROTO); /* one ROOT only */
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_INITRD, "");
	w_root(&w, ARCA_ROOT_INITRD, "");
	expect_decode_error(&w, -EPROTO);
}

/* Truncations and byte flips through SHARE and ROOT records. */
static void test_decode_mounts_truncation_mutation(void **state)
{
	struct wire base, w;

	w_minimal(&base);
	size_t b0 = base.len;
	w_share(&base, ARCA_SHARE_F_RO, "tag-a", "/data");
	size_t b1 = base.len;
	w_share(&base, ARCA_SHARE_F_NOMOUNT, "tag-b", "");
	size_t b2 = base.len;
	w_root(&base, ARCA_ROOT_DIR, "rootfs");
	size_t full = base.len;

	for (size_t n = b0; n <= full; n++) {
		w = base;
		w.len = n;
		if (n == b0 || n == b1 || n == b2 || n == full)
			expect_decode_ok(&w);
		else
			expect_decode_error(&w, -EPROTO);
	}

	uint32_t seed = 777;
	for (int iter = 0; iter < 20000; iter++) {
		w = base;
		w_mutate(&w, b0, 2, &seed);
		struct arca_spec s;
		int r = spec_decode(w.buf, w.len, &s);
		if (r < 0) {
			assert_int_equal(r, -EPROTO);
			assert_null(s.shares);
			continue;
		}
		/* Whatever was accepted satisfies every documented rule. */
		assert_true(s.nshares <= ARCA_SPEC_MAX_SHARES);
		for (size_t i = 0; i < s.nshares; i++) {
			const struct arca_spec_share *sh = &s.shares[i];
			assert_true(spec_tag_ok(sh->tag, strlen(sh->tag)));
			if (sh->flags & ARCA_SHARE_F_NOMOUNT)
				assert_null(sh->path);
			else
				assert_true(spec_guest_path_ok(sh->path, strlen(sh->path)));
			/* A disk root names a disk id, not a tag. */
			if (s.root_tag && s.root_mode != ARCA_ROOT_DISK &&
			    s.root_mode != ARCA_ROOT_DISK_RW)
				assert_string_not_equal(sh->tag, s.root_tag);
			for (size_t j = 0; j < i; j++)
				assert_string_not_equal(sh->tag, s.shares[j].tag);
		}
		assert_true(s.root_mode <= ARCA_ROOT_DISK_RW);
		assert_true((s.root_mode == ARCA_ROOT_INITRD) == (s.root_tag == NULL));
		spec_free(&s);
	}
}

/* ---- disks (ARCA_SPEC_DISK) and disk roots ------------------------------------------ */

/* A DISK record by hand: le32 flags, le16 id_len, id, le16 fstype_len,
 * fstype, path. */
static void w_disk(struct wire *w, uint32_t flags, const char *id, const char *fstype,
		   const char *path)
{
	uint8_t v[512];
	size_t il = strlen(id), fl = strlen(fstype), pl = strlen(path);
	assert_true(8 + il + fl + pl <= sizeof(v));
	proto_put_le32(v, flags);
	proto_put_le16(v + 4, (uint16_t)il);
	memcpy(v + 6, id, il);
	proto_put_le16(v + 6 + il, (uint16_t)fl);
	memcpy(v + 8 + il, fstype, fl);
	memcpy(v + 8 + il + fl, path, pl);
	w_rec(w, ARCA_SPEC_DISK, v, (uint32_t)(8 + il + fl + pl));
}

static void test_roundtrip_disks(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct arca_spec_share sh[] = { { 0, S("arca-0"), S("/ws") } };
	struct arca_spec_disk dk[] = {
		{ 0, S("disk0"), NULL, S("/data") },
		{ ARCA_DISK_F_RO, S("base.img-1_X"), S("ext4"), S("/ws/base") },
		{ ARCA_DISK_F_NOMOUNT, S("scratch"), NULL, NULL },
		{ ARCA_DISK_F_NOMOUNT | ARCA_DISK_F_RO, S("12345678901234567890"), NULL, NULL },
	};
	struct arca_spec in = { .argv = argv, .argc = 1, .shares = sh, .nshares = 1,
				.disks = dk, .ndisks = 4, .root_mode = ARCA_ROOT_DISK,
				.root_tag = S("root") };
	struct arca_spec out;
	uint8_t *buf;
	size_t len;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.ndisks, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(out.disks[i].flags, dk[i].flags);
		assert_string_equal(out.disks[i].id, dk[i].id);
		if (dk[i].fstype)
			assert_string_equal(out.disks[i].fstype, dk[i].fstype);
		else
			assert_null(out.disks[i].fstype);
		if (dk[i].path)
			assert_string_equal(out.disks[i].path, dk[i].path);
		else
			assert_null(out.disks[i].path);
	}
	assert_int_equal(out.nshares, 1);
	assert_int_equal(out.root_mode, ARCA_ROOT_DISK);
	assert_string_equal(out.root_tag, "root");
	spec_free(&out);
	assert_null(out.disks);
	assert_int_equal(out.ndisks, 0);

	/* The exact wire layout of the second DISK record: after header,
	 * ARGV ("sh"), FLAGS, the SHARE and the first DISK. */
	const uint8_t *r = buf + 8 + (6 + 2) + (6 + 4) + (6 + 6 + 6 + 3) + (6 + 8 + 5 + 5);
	assert_int_equal(proto_le16(r), ARCA_SPEC_DISK);
	assert_int_equal(proto_le32(r + 2), 8 + 12 + 4 + 8);
	assert_int_equal(proto_le32(r + 6), ARCA_DISK_F_RO);
	assert_int_equal(proto_le16(r + 10), 12);
	assert_memory_equal(r + 12, "base.img-1_X", 12);
	assert_int_equal(proto_le16(r + 24), 4);
	assert_memory_equal(r + 26, "ext4/ws/base", 12);
	/* ROOT last, naming the disk id. */
	const uint8_t *root = buf + len - (6 + 4 + 4);
	assert_int_equal(proto_le16(root), ARCA_SPEC_ROOT);
	assert_int_equal(proto_le32(root + 6), ARCA_ROOT_DISK);
	assert_memory_equal(root + 10, "root", 4);
	free(buf);

	/* DISK_RW, and a disk root with no other disk. */
	struct arca_spec rw = { .argv = argv, .argc = 1, .root_mode = ARCA_ROOT_DISK_RW,
				.root_tag = S("r.o-o_t") };
	assert_int_equal(spec_encode(&rw, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.root_mode, ARCA_ROOT_DISK_RW);
	assert_string_equal(out.root_tag, "r.o-o_t");
	assert_null(out.disks);
	spec_free(&out);
	free(buf);

	/* Share tags and disk ids are separate names: equal ones are fine,
	 * and so is a share tag equal to the root disk's id. */
	struct arca_spec_share sh2[] = { { 0, S("root"), S("/a") }, { 0, S("d"), S("/b") } };
	struct arca_spec_disk dk2[] = { { ARCA_DISK_F_NOMOUNT, S("d"), NULL, NULL } };
	struct arca_spec mix = { .argv = argv, .argc = 1, .shares = sh2, .nshares = 2,
				 .disks = dk2, .ndisks = 1, .root_mode = ARCA_ROOT_DISK,
				 .root_tag = S("root") };
	assert_int_equal(spec_encode(&mix, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	spec_free(&out);
	free(buf);
}

static void test_disk_id_fstype_ok(void **state)
{
	const char *good_ids[] = { "a", "disk0", "root", "A.b_c-D", "12345678901234567890",
				   "..", "-", "." };
	const char *bad_ids[] = { "", "123456789012345678901", "a b", "a/b", "a:b", "a,b",
				  "é", "a\tb", "a=b" };
	for (size_t i = 0; i < sizeof(good_ids) / sizeof(good_ids[0]); i++)
		assert_true(spec_disk_id_ok(good_ids[i], strlen(good_ids[i])));
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
		if (spec_disk_id_ok(bad_ids[i], strlen(bad_ids[i])))
			fail_msg("accepted bad id \"%s\"", bad_ids[i]);
	assert_false(spec_disk_id_ok(NULL, 0));
	assert_false(spec_disk_id_ok("a\0b", 3));

	const char *good_fs[] = { "ext4", "xfs", "vfat", "iso9660", "btrfs", "a",
				  "1234567890abcdef" };
	const char *bad_fs[] = { "", "EXT4", "ext-4", "ext_4", "1234567890abcdefg", "ext4 ",
				 "a.b", "a/b" };
	for (size_t i = 0; i < sizeof(good_fs) / sizeof(good_fs[0]); i++)
		assert_true(spec_fstype_ok(good_fs[i], strlen(good_fs[i])));
	for (size_t i = 0; i < sizeof(bad_fs) / sizeof(bad_fs[0]); i++)
		if (spec_fstype_ok(bad_fs[i], strlen(bad_fs[i])))
			fail_msg("accepted bad fstype \"%s\"", bad_fs[i]);
	assert_false(spec_fstype_ok(NULL, 0));
}

static void test_encode_refuses_disks(void **state)
{
	char *argv[] = { S("x"), NULL };
	struct arca_spec_share sh[1] = { { 0, S("t"), S("/s") } };
	struct arca_spec_disk dk[3];
	struct arca_spec s = { .argv = argv, .argc = 1, .disks = dk, .ndisks = 1 };
	uint8_t *buf = (uint8_t *)0x1;
	size_t len = 7;

	struct arca_spec_disk bad[] = {
		{ 0, NULL, NULL, S("/a") },
		{ 0, S(""), NULL, S("/a") },
		{ 0, S("123456789012345678901"), NULL, S("/a") },
		{ 0, S("a b"), NULL, S("/a") },
		{ 0, S("a/b"), NULL, S("/a") },
		{ 0, S("d"), S(""), S("/a") },          /* fstype: NULL or a name */
		{ 0, S("d"), S("EXT4"), S("/a") },
		{ 0, S("d"), S("1234567890abcdefg"), S("/a") },
		{ 0, S("d"), NULL, NULL },              /* mounted without a path */
		{ 0, S("d"), NULL, S("") },
		{ 0, S("d"), NULL, S("/") },
		{ 0, S("d"), NULL, S("rel") },
		{ 0, S("d"), NULL, S("/a/") },
		{ 0, S("d"), NULL, S("/a/../b") },
		{ 0, S("d"), NULL, S("/proc") },
		{ 0, S("d"), NULL, S("/sys/x") },
		{ 0, S("d"), NULL, S("/dev/vda") },
		{ 0x4, S("d"), NULL, S("/a") },          /* unknown flag */
		{ ARCA_DISK_F_NOMOUNT, S("d"), NULL, S("/a") },
		{ ARCA_DISK_F_NOMOUNT, S("d"), NULL, S("") },
		{ ARCA_DISK_F_NOMOUNT, S("d"), S("ext4"), NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dk[0] = bad[i];
		if (spec_encode(&s, &buf, &len) != -EINVAL)
			fail_msg("bad disk %zu accepted", i);
	}

	/* Cross-record: id twice, path twice, a disk on a share's path, the
	 * root disk's id on a DISK record. */
	s.ndisks = 2;
	dk[0] = (struct arca_spec_disk){ 0, S("d1"), NULL, S("/a") };
	dk[1] = (struct arca_spec_disk){ ARCA_DISK_F_NOMOUNT, S("d1"), NULL, NULL };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	dk[1] = (struct arca_spec_disk){ ARCA_DISK_F_RO, S("d2"), S("xfs"), S("/a") };
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	dk[1] = (struct arca_spec_disk){ ARCA_DISK_F_RO, S("d2"), S("xfs"), S("/s") };
	s.shares = sh;
	s.nshares = 1;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	dk[1].path = S("/s/inner");
	assert_int_equal(spec_encode(&s, &buf, &len), 0); /* nested is fine */
	free(buf);
	s.root_mode = ARCA_ROOT_DISK;
	s.root_tag = S("d2");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_mode = ARCA_ROOT_DISK_RW;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);

	/* Disk roots take a disk id, not any tag. */
	s.ndisks = 0;
	s.root_tag = S("a b");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_tag = S("t!");   /* a fine virtio-fs tag, not a disk id */
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_tag = S("123456789012345678901");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_tag = NULL;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	s.root_tag = S("");
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);

	/* disks NULL with a count. */
	s.root_mode = ARCA_ROOT_INITRD;
	s.root_tag = NULL;
	s.disks = NULL;
	s.ndisks = 1;
	buf = (uint8_t *)0x1;
	len = 7;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	assert_ptr_equal(buf, (uint8_t *)0x1);
	assert_int_equal(len, 7);

	/* Over ARCA_SPEC_MAX_DISKS. */
	size_t n = ARCA_SPEC_MAX_DISKS + 1;
	struct arca_spec_disk *many = calloc(n, sizeof(*many));
	char (*ids)[8] = calloc(n, 8);
	assert_non_null(many);
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], 8, "d%zu", i);
		many[i] = (struct arca_spec_disk){ ARCA_DISK_F_NOMOUNT, ids[i], NULL, NULL };
	}
	s.disks = many;
	s.ndisks = n - 1;
	assert_int_equal(spec_encode(&s, &buf, &len), 0);
	free(buf);
	s.ndisks = n;
	assert_int_equal(spec_encode(&s, &buf, &len), -EINVAL);
	free(many);
	free(ids);
}

static void test_decode_disk_rejects(void **state)
{
	struct wire w;

	/* Shorter than flags + id_len + fstype_len, at every length. */
	for (uint32_t n = 0; n < 8; n++) {
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_DISK, "\2\0\0\0\0\0\0\0", n);
		expect_decode_error(&w, -EPROTO);
	}
	/* id_len past the record's end or onto the fstype_len field; and an
	 * fstype_len past the end. */
	const uint16_t ils[] = { 1, 2, 3, 0xFFFF };
	for (size_t i = 0; i < 4; i++) {
		uint8_t v[10] = { 2, 0, 0, 0 };
		proto_put_le16(v + 4, ils[i]);
		memcpy(v + 6, "dk", 2); /* with id_len 2: fstype_len is v[8..9] = 0 */
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_DISK, v, 9); /* one byte short of a whole fstype_len */
		expect_decode_error(&w, -EPROTO);
	}
	const uint16_t fls[] = { 1, 5, 0xFFFF };
	for (size_t i = 0; i < 3; i++) {
		uint8_t v[14] = { 0 };
		proto_put_le16(v + 4, 1);
		v[6] = 'd';
		proto_put_le16(v + 7, fls[i]);
		memcpy(v + 9, "/a", 2);
		/* fstype "/a" (1 or more bytes of it) fails; past the end fails */
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_DISK, v, 11);
		expect_decode_error(&w, -EPROTO);
	}
	/* The same framing with sane lengths is fine. */
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_DISK, "\0\0\0\0\1\0d\0\0/a", 11);
	expect_decode_ok(&w);
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_DISK, "\2\0\0\0\1\0d\0\0", 9);
	expect_decode_ok(&w);

	struct {
		uint32_t flags;
		const char *id, *fstype, *path;
	} bad[] = {
		{ 0, "", "", "/a" },
		{ 0, "123456789012345678901", "", "/a" },
		{ 0, "a b", "", "/a" },
		{ 0, "a/b", "", "/a" },
		{ 0, "d", "EXT4", "/a" },
		{ 0, "d", "ext-4", "/a" },
		{ 0, "d", "1234567890abcdefg", "/a" },
		{ 0, "d", "", "" },
		{ 0, "d", "", "/" },
		{ 0, "d", "", "a" },
		{ 0, "d", "", "/a/" },
		{ 0, "d", "", "/a//b" },
		{ 0, "d", "", "/a/./b" },
		{ 0, "d", "", "/dev" },
		{ 0, "d", "", "/proc/x" },
		{ 0x4, "d", "", "/a" },
		{ 0x80000000u, "d", "", "/a" },
		{ ARCA_DISK_F_NOMOUNT, "d", "", "/a" },
		{ ARCA_DISK_F_NOMOUNT, "d", "ext4", "" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w_minimal(&w);
		w_disk(&w, bad[i].flags, bad[i].id, bad[i].fstype, bad[i].path);
		expect_decode_error(&w, -EPROTO);
	}
	/* A NUL in the id, the fstype or the path. */
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_DISK, "\0\0\0\0\2\0d\0\0\0/a", 12);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_DISK, "\0\0\0\0\1\0d\2\0x\0/a", 13);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_DISK, "\0\0\0\0\1\0d\0\0/a\0", 12);
	expect_decode_error(&w, -EPROTO);

	/* Cross-record, in either order. */
	w_minimal(&w);
	w_disk(&w, 0, "d1", "", "/a");
	w_disk(&w, ARCA_DISK_F_NOMOUNT, "d1", "", "");
	expect_decode_error(&w, -EPROTO); /* same id */
	w_minimal(&w);
	w_disk(&w, 0, "d1", "", "/a");
	w_disk(&w, ARCA_DISK_F_RO, "d2", "ext4", "/a");
	expect_decode_error(&w, -EPROTO); /* same path */
	w_minimal(&w);
	w_disk(&w, 0, "d1", "", "/a");
	w_share(&w, 0, "t1", "/a");
	expect_decode_error(&w, -EPROTO); /* disk on a share's path */
	w_minimal(&w);
	w_share(&w, ARCA_SHARE_F_RO, "t1", "/a");
	w_disk(&w, 0, "d1", "", "/a");
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_disk(&w, ARCA_DISK_F_NOMOUNT, "root", "", "");
	w_root(&w, ARCA_ROOT_DISK, "root");
	expect_decode_error(&w, -EPROTO); /* the root disk's id on a DISK record */
	w_minimal(&w);
	w_root(&w, ARCA_ROOT_DISK_RW, "root");
	w_disk(&w, 0, "root", "", "/r");
	expect_decode_error(&w, -EPROTO);
	/* Disk roots take disk ids. */
	const char *bad_roots[] = { "", "a b", "t!", "123456789012345678901" };
	for (size_t i = 0; i < 4; i++) {
		w_minimal(&w);
		w_root(&w, ARCA_ROOT_DISK, bad_roots[i]);
		expect_decode_error(&w, -EPROTO);
		w_minimal(&w);
		w_root(&w, ARCA_ROOT_DISK_RW, bad_roots[i]);
		expect_decode_error(&w, -EPROTO);
	}
	/* Fine: two NOMOUNT disks, nested paths with a share in between, a
	 * share tag equal to a disk id, the root disk's id as a share tag. */
	w_minimal(&w);
	w_disk(&w, ARCA_DISK_F_NOMOUNT, "n1", "", "");
	w_disk(&w, ARCA_DISK_F_NOMOUNT, "n2", "", "");
	w_disk(&w, 0, "d1", "", "/a/b/c");
	w_share(&w, 0, "d1", "/a/b");
	w_disk(&w, ARCA_DISK_F_RO, "d2", "vfat", "/a");
	w_share(&w, 0, "root", "/z");
	w_root(&w, ARCA_ROOT_DISK, "root");
	expect_decode_ok(&w);

	/* ARCA_SPEC_MAX_DISKS is the most. */
	w_minimal(&w);
	for (unsigned i = 0; i < ARCA_SPEC_MAX_DISKS; i++) {
		char id[8];
		snprintf(id, sizeof(id), "d%u", i);
		w_disk(&w, ARCA_DISK_F_NOMOUNT, id, "", "");
	}
	struct arca_spec s;
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_int_equal(s.ndisks, ARCA_SPEC_MAX_DISKS);
	spec_free(&s);
	w_disk(&w, ARCA_DISK_F_NOMOUNT, "one-more", "", "");
	expect_decode_error(&w, -EPROTO);
}

/* Truncations and byte flips through DISK records and a disk root. */
static void test_decode_disks_truncation_mutation(void **state)
{
	struct wire base, w;

	w_minimal(&base);
	size_t b0 = base.len;
	w_disk(&base, ARCA_DISK_F_RO, "disk-a", "ext4", "/data");
	size_t b1 = base.len;
	w_disk(&base, ARCA_DISK_F_NOMOUNT, "disk-b", "", "");
	size_t b2 = base.len;
	w_root(&base, ARCA_ROOT_DISK, "root");
	size_t full = base.len;

	for (size_t n = b0; n <= full; n++) {
		w = base;
		w.len = n;
		if (n == b0 || n == b1 || n == b2 || n == full)
			expect_decode_ok(&w);
		else
			expect_decode_error(&w, -EPROTO);
	}

	uint32_t seed = 4242;
	for (int iter = 0; iter < 20000; iter++) {
		w = base;
		w_mutate(&w, b0, 2, &seed);
		struct arca_spec s;
		int r = spec_decode(w.buf, w.len, &s);
		if (r < 0) {
			assert_int_equal(r, -EPROTO);
			assert_null(s.disks);
			continue;
		}
		assert_true(s.ndisks <= ARCA_SPEC_MAX_DISKS);
		for (size_t i = 0; i < s.ndisks; i++) {
			const struct arca_spec_disk *d = &s.disks[i];
			assert_true(spec_disk_id_ok(d->id, strlen(d->id)));
			if (d->fstype)
				assert_true(spec_fstype_ok(d->fstype, strlen(d->fstype)));
			if (d->flags & ARCA_DISK_F_NOMOUNT) {
				assert_null(d->path);
				assert_null(d->fstype);
			} else {
				assert_true(spec_guest_path_ok(d->path, strlen(d->path)));
			}
			if (s.root_mode == ARCA_ROOT_DISK || s.root_mode == ARCA_ROOT_DISK_RW)
				assert_string_not_equal(d->id, s.root_tag);
			for (size_t j = 0; j < i; j++)
				assert_string_not_equal(d->id, s.disks[j].id);
		}
		assert_true(s.root_mode <= ARCA_ROOT_DISK_RW);
		spec_free(&s);
	}
}

/* ---- resource limits (ARCA_SPEC_RLIMIT) ------------------------------------------- */

/* An RLIMIT record by hand: le32 resource, le64 soft, le64 hard. */
static void w_rlimit(struct wire *w, uint32_t resource, uint64_t soft, uint64_t hard)
{
	uint8_t v[20];
	proto_put_le32(v, resource);
	proto_put_le64(v + 4, soft);
	proto_put_le64(v + 12, hard);
	w_rec(w, ARCA_SPEC_RLIMIT, v, sizeof(v));
}

static void test_roundtrip_rlimits(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct arca_spec_rlimit rl[] = {
		{ RLIMIT_NOFILE, 1024, 2048 },
		{ RLIMIT_CORE, 0, 0 },
		{ RLIMIT_STACK, 8u << 20, ARCA_RLIM_INFINITY },
		{ RLIMIT_RTTIME, ARCA_RLIM_INFINITY, ARCA_RLIM_INFINITY },
		{ RLIMIT_FSIZE, 0xfedcba9876543210ull, 0xfedcba9876543211ull },
	};
	const size_t n = sizeof(rl) / sizeof(rl[0]);
	struct arca_spec in = { .argv = argv, .argc = 1, .has_user = 1, .uid = 7, .gid = 7,
				.rlimits = rl, .nrlimits = n };
	struct arca_spec out;
	uint8_t *buf, *plain;
	size_t len, plain_len;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.nrlimits, n);
	assert_non_null(out.rlimits);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out.rlimits[i].resource, rl[i].resource);
		assert_true(out.rlimits[i].soft == rl[i].soft);
		assert_true(out.rlimits[i].hard == rl[i].hard);
	}
	assert_int_equal(out.uid, 7);
	spec_free(&out);
	assert_null(out.rlimits);
	assert_int_equal(out.nrlimits, 0);

	/* Without limits the encoding is the one it always was: the RLIMIT
	 * records come last, 26 bytes each, and nothing else moves. */
	in.rlimits = NULL;
	in.nrlimits = 0;
	assert_int_equal(spec_encode(&in, &plain, &plain_len), 0);
	assert_int_equal(len, plain_len + n * (6 + 20));
	assert_memory_equal(buf, plain, plain_len);
	assert_int_equal(proto_le16(buf + plain_len), ARCA_SPEC_RLIMIT);
	assert_int_equal(proto_le32(buf + plain_len + 2), 20);
	assert_int_equal(proto_le32(buf + plain_len + 6), RLIMIT_NOFILE);
	assert_true(proto_le64(buf + plain_len + 10) == 1024);
	assert_true(proto_le64(buf + plain_len + 18) == 2048);
	assert_int_equal(spec_decode(plain, plain_len, &out), 0);
	assert_null(out.rlimits);
	assert_int_equal(out.nrlimits, 0);
	spec_free(&out);
	free(plain);
	free(buf);

	/* Every resource once: ARCA_RLIMITS_MAX records, accepted. */
	struct arca_spec_rlimit all[ARCA_RLIMITS_MAX];
	for (uint32_t i = 0; i < ARCA_RLIMITS_MAX; i++)
		all[i] = (struct arca_spec_rlimit){ ARCA_RLIMITS_MAX - 1 - i, i, 2 * i };
	in.rlimits = all;
	in.nrlimits = ARCA_RLIMITS_MAX;
	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_int_equal(out.nrlimits, ARCA_RLIMITS_MAX);
	for (size_t i = 0; i < ARCA_RLIMITS_MAX; i++) {
		assert_int_equal(out.rlimits[i].resource, all[i].resource);
		assert_true(out.rlimits[i].soft == all[i].soft);
		assert_true(out.rlimits[i].hard == all[i].hard);
	}
	spec_free(&out);
	free(buf);
}

static void test_rlimit_names(void **state)
{
	static const struct { const char *name; int res; } known[] = {
		{ "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU }, { "data", RLIMIT_DATA },
		{ "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS },
		{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
		{ "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },
		{ "rss", RLIMIT_RSS }, { "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
		{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK }, { "as", RLIMIT_AS },
	};
	uint32_t seen = 0;

	assert_int_equal(sizeof(known) / sizeof(known[0]), ARCA_RLIMIT_NLIMITS);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_int_equal(spec_rlimit_lookup(known[i].name, strlen(known[i].name)),
				 known[i].res);
		assert_string_equal(spec_rlimit_name((uint32_t)known[i].res), known[i].name);
		seen |= 1u << known[i].res;
	}
	assert_int_equal(seen, 0xffff);
	assert_int_equal(spec_rlimit_lookup("nofil", 5), -1);
	assert_int_equal(spec_rlimit_lookup("nofilex", 7), -1);
	assert_int_equal(spec_rlimit_lookup("NOFILE", 6), -1);
	assert_int_equal(spec_rlimit_lookup("nofile=1", 6), RLIMIT_NOFILE);
	assert_int_equal(spec_rlimit_lookup("", 0), -1);
	assert_null(spec_rlimit_name(ARCA_RLIMIT_NLIMITS));
	assert_null(spec_rlimit_name(UINT32_MAX));
}

static void test_encode_refuses_rlimits(void **state)
{
	char *argv[] = { S("true"), NULL };
	struct arca_spec_rlimit rl[ARCA_RLIMITS_MAX + 1];
	struct arca_spec in = { .argv = argv, .argc = 1, .rlimits = rl };
	uint8_t *buf = NULL;
	size_t len;

	in.nrlimits = 1;
	rl[0] = (struct arca_spec_rlimit){ ARCA_RLIMIT_NLIMITS, 1, 1 };
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	rl[0] = (struct arca_spec_rlimit){ RLIMIT_NOFILE, 2, 1 };
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	rl[0] = (struct arca_spec_rlimit){ RLIMIT_NOFILE, ARCA_RLIM_INFINITY, 1 };
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	rl[0] = (struct arca_spec_rlimit){ RLIMIT_NOFILE, 1, 2 };
	rl[1] = (struct arca_spec_rlimit){ RLIMIT_NOFILE, 3, 4 };
	in.nrlimits = 2;
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	for (uint32_t i = 0; i < ARCA_RLIMITS_MAX + 1; i++)
		rl[i] = (struct arca_spec_rlimit){ i % ARCA_RLIMIT_NLIMITS, 0, 0 };
	in.nrlimits = ARCA_RLIMITS_MAX + 1;
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	in.rlimits = NULL;
	in.nrlimits = 1;
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	assert_null(buf);
}

static void test_decode_rlimit_rejects(void **state)
{
	struct wire w;

	/* A resource past RLIM_NLIMITS, or one no kernel has. */
	w_minimal(&w);
	w_rlimit(&w, ARCA_RLIMIT_NLIMITS, 1, 1);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rlimit(&w, UINT32_MAX, 1, 1);
	expect_decode_error(&w, -EPROTO);

	/* soft above hard (setrlimit's EINVAL, refused before the guest). */
	w_minimal(&w);
	w_rlimit(&w, RLIMIT_NOFILE, 2049, 2048);
	expect_decode_error(&w, -EPROTO);
	w_minimal(&w);
	w_rlimit(&w, RLIMIT_NOFILE, ARCA_RLIM_INFINITY, ARCA_RLIM_INFINITY - 1);
	expect_decode_error(&w, -EPROTO);

	/* The same resource twice, even with equal values. */
	w_minimal(&w);
	w_rlimit(&w, RLIMIT_NOFILE, 1, 2);
	w_rlimit(&w, RLIMIT_CORE, 0, 0);
	w_rlimit(&w, RLIMIT_NOFILE, 1, 2);
	expect_decode_error(&w, -EPROTO);

	/* More than ARCA_RLIMITS_MAX records. */
	w_minimal(&w);
	for (uint32_t i = 0; i < ARCA_RLIMITS_MAX; i++)
		w_rlimit(&w, i, 0, 0);
	expect_decode_ok(&w);
	w_rlimit(&w, 0, 0, 0);
	expect_decode_error(&w, -EPROTO);

	/* Payloads not exactly 20 bytes. */
	uint8_t v[24] = { 0 };
	proto_put_le32(v, RLIMIT_NOFILE);
	const uint32_t lens[] = { 0, 4, 12, 19, 21, 24 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_RLIMIT, v, lens[i]);
		expect_decode_error(&w, -EPROTO);
	}
	w_minimal(&w);
	w_rec(&w, ARCA_SPEC_RLIMIT, v, 20);
	expect_decode_ok(&w);
}

/* Cut anywhere inside the records: an error; flipped bytes: an error or
 * limits that pass every check. */
static void test_decode_rlimits_truncation_mutation(void **state)
{
	struct wire base, w;

	w_minimal(&base);
	size_t b0 = base.len;
	w_rlimit(&base, RLIMIT_NOFILE, 1024, 4096);
	size_t b1 = base.len;
	w_rlimit(&base, RLIMIT_CORE, 0, ARCA_RLIM_INFINITY);
	size_t full = base.len;

	for (size_t n = b0; n <= full; n++) {
		w = base;
		w.len = n;
		if (n == b0 || n == b1 || n == full)
			expect_decode_ok(&w);
		else
			expect_decode_error(&w, -EPROTO);
	}

	uint32_t seed = 777;
	for (int iter = 0; iter < 20000; iter++) {
		w = base;
		w_mutate(&w, b0, 2, &seed);
		struct arca_spec s;
		int r = spec_decode(w.buf, w.len, &s);
		if (r < 0) {
			assert_int_equal(r, -EPROTO);
			assert_null(s.rlimits);
			continue;
		}
		assert_true(s.nrlimits <= ARCA_RLIMITS_MAX);
		for (size_t i = 0; i < s.nrlimits; i++) {
			assert_true(spec_rlimit_ok(&s.rlimits[i]));
			for (size_t j = 0; j < i; j++)
				assert_int_not_equal(s.rlimits[i].resource, s.rlimits[j].resource);
		}
		spec_free(&s);
	}
}

/* ---- host time and seed (ARCA_SPEC_HOST), RESTORED ---------------------------- */

static void w_host(struct wire *w, uint64_t ns, uint8_t fill)
{
	uint8_t v[ARCA_SPEC_HOST_SIZE];
	proto_put_le64(v, ns);
	memset(v + 8, fill, ARCA_SPEC_SEED_SIZE);
	w_rec(w, ARCA_SPEC_HOST, v, sizeof(v));
}

static void test_roundtrip_host(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct arca_spec_rlimit rl = { RLIMIT_NOFILE, 64, 64 };
	struct arca_spec in = { .argv = argv, .argc = 1, .rlimits = &rl, .nrlimits = 1,
				.flags = ARCA_SPEC_F_RESTORED | ARCA_SPEC_F_TIMES,
				.has_host = 1, .host_realtime_ns = 0xfedcba9876543210ull };
	struct arca_spec out;
	uint8_t *buf, *plain;
	size_t len, plain_len;

	for (size_t i = 0; i < ARCA_SPEC_SEED_SIZE; i++)
		in.seed[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_true(out.has_host);
	assert_true(out.host_realtime_ns == 0xfedcba9876543210ull);
	assert_memory_equal(out.seed, in.seed, ARCA_SPEC_SEED_SIZE);
	assert_int_equal(out.flags, ARCA_SPEC_F_RESTORED | ARCA_SPEC_F_TIMES);
	assert_int_equal(out.nrlimits, 1);
	spec_free(&out);
	assert_false(out.has_host);
	for (size_t i = 0; i < ARCA_SPEC_SEED_SIZE; i++)
		assert_int_equal(out.seed[i], 0); /* spec_free wipes the seed */

	/* Without HOST the encoding is the one it always was: the record
	 * comes last (after RLIMIT), 46 bytes, and nothing else moves. */
	in.has_host = 0;
	assert_int_equal(spec_encode(&in, &plain, &plain_len), 0);
	assert_int_equal(len, plain_len + 6 + ARCA_SPEC_HOST_SIZE);
	assert_memory_equal(buf, plain, plain_len);
	assert_int_equal(proto_le16(buf + plain_len), ARCA_SPEC_HOST);
	assert_int_equal(proto_le32(buf + plain_len + 2), ARCA_SPEC_HOST_SIZE);
	assert_true(proto_le64(buf + plain_len + 6) == 0xfedcba9876543210ull);
	assert_memory_equal(buf + plain_len + 14, in.seed, ARCA_SPEC_SEED_SIZE);
	assert_int_equal(spec_decode(plain, plain_len, &out), 0);
	assert_false(out.has_host);
	assert_true(out.host_realtime_ns == 0);
	spec_free(&out);

	/* Cut anywhere inside the record: an error. */
	for (size_t n = plain_len + 1; n < len; n++) {
		memset(&out, 0xA5, sizeof(out));
		assert_int_equal(spec_decode(buf, n, &out), -EPROTO);
		assert_null(out.argv);
		assert_false(out.has_host);
	}
	free(plain);
	free(buf);
}

static void test_decode_host_rejects(void **state)
{
	static const uint32_t lens[] = { 0, 8, 32, 39, 41, 48 };
	uint8_t v[64] = { 0 };
	struct wire w;
	struct arca_spec s;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_HOST, v, lens[i]);
		expect_decode_error(&w, -EPROTO);
	}
	/* At most one, even when both say the same. */
	w_minimal(&w);
	w_host(&w, 1, 0x11);
	w_host(&w, 1, 0x11);
	expect_decode_error(&w, -EPROTO);

	/* Anywhere among the records (the decoder does not depend on order). */
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_host(&w, 42, 0x5a);
	w_str(&w, ARCA_SPEC_ARGV, "true");
	w_flags(&w, ARCA_SPEC_F_RESTORED);
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_true(s.has_host);
	assert_true(s.host_realtime_ns == 42);
	assert_int_equal(s.seed[0], 0x5a);
	assert_int_equal(s.seed[ARCA_SPEC_SEED_SIZE - 1], 0x5a);
	assert_int_equal(s.flags, ARCA_SPEC_F_RESTORED);
	spec_free(&s);

	/* RESTORED is a known flag on its own; the bit above it is not. */
	w_minimal(&w);
	w_flags(&w, ARCA_SPEC_F_RESTORED);
	expect_decode_ok(&w);
	w_minimal(&w);
	w_flags(&w, ARCA_SPEC_F_RESTORED << 1);
	expect_decode_error(&w, -EPROTO);
}

/* ---- the guest's network (ARCA_SPEC_NET) -------------------------------------- */

/* 10.213.0.2/30 via 10.213.0.1, DNS 10.213.0.1: what --net gives. */
static struct arca_spec_net net_good(void)
{
	return (struct arca_spec_net){ .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
				       .mtu = 1500, .addr = { 10, 213, 0, 2 }, .prefix = 30,
				       .gateway = { 10, 213, 0, 1 }, .dns = { 10, 213, 0, 1 } };
}

/* Field by field: the struct has padding. */
static void assert_net_equal(const struct arca_spec_net *a, const struct arca_spec_net *b)
{
	assert_int_equal(a->flags, b->flags);
	assert_memory_equal(a->mac, b->mac, 6);
	assert_int_equal(a->mtu, b->mtu);
	assert_memory_equal(a->addr, b->addr, 4);
	assert_int_equal(a->prefix, b->prefix);
	assert_memory_equal(a->gateway, b->gateway, 4);
	assert_memory_equal(a->dns, b->dns, 4);
}

static void w_net(struct wire *w, const struct arca_spec_net *n)
{
	uint8_t v[ARCA_SPEC_NET_SIZE];
	proto_put_le32(v, n->flags);
	memcpy(v + 4, n->mac, 6);
	proto_put_le16(v + 10, n->mtu);
	memcpy(v + 12, n->addr, 4);
	v[16] = n->prefix;
	memcpy(v + 17, n->gateway, 4);
	memcpy(v + 21, n->dns, 4);
	w_rec(w, ARCA_SPEC_NET, v, sizeof(v));
}

static void test_roundtrip_net(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct arca_spec in = { .argv = argv, .argc = 1, .has_net = 1, .net = net_good(),
				.has_host = 1, .host_realtime_ns = 7 };
	struct arca_spec out;
	uint8_t *buf, *plain;
	size_t len, plain_len;

	(void)state;
	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_true(out.has_net);
	assert_net_equal(&out.net, &in.net);
	assert_int_equal(out.net.mtu, 1500);
	assert_int_equal(out.net.prefix, 30);
	assert_true(out.has_host);
	spec_free(&out);
	assert_false(out.has_net);

	/* Without NET the encoding is unchanged; with it, one 25-byte record
	 * between the rest and HOST (which stays last), field by field. */
	in.has_net = 0;
	assert_int_equal(spec_encode(&in, &plain, &plain_len), 0);
	assert_int_equal(len, plain_len + 6 + ARCA_SPEC_NET_SIZE);
	size_t at = plain_len - 6 - ARCA_SPEC_HOST_SIZE;
	assert_memory_equal(buf, plain, at);
	assert_int_equal(proto_le16(buf + at), ARCA_SPEC_NET);
	assert_int_equal(proto_le32(buf + at + 2), 25);
	static const uint8_t want[25] = { 0, 0, 0, 0, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
					  0xdc, 0x05, 10, 213, 0, 2, 30, 10, 213, 0, 1,
					  10, 213, 0, 1 };
	assert_memory_equal(buf + at + 6, want, sizeof(want));
	assert_int_equal(proto_le16(buf + at + 6 + 25), ARCA_SPEC_HOST);
	assert_int_equal(spec_decode(plain, plain_len, &out), 0);
	assert_false(out.has_net);
	spec_free(&out);
	free(plain);

	/* Cut anywhere inside the record: an error. */
	for (size_t n = at + 1; n < at + 6 + ARCA_SPEC_NET_SIZE; n++) {
		memset(&out, 0xA5, sizeof(out));
		assert_int_equal(spec_decode(buf, n, &out), -EPROTO);
		assert_null(out.argv);
		assert_false(out.has_net);
	}
	free(buf);

	/* Limits that are valid: MTU 68 and 65535, prefix 1 and 30, no DNS,
	 * a loopback resolver. */
	struct arca_spec_net n = net_good();
	n.mtu = 68;
	assert_true(spec_net_ok(&n));
	n.mtu = 65535;
	assert_true(spec_net_ok(&n));
	n = net_good();
	n.prefix = 1;
	assert_true(spec_net_ok(&n));
	memset(n.dns, 0, 4);
	assert_true(spec_net_ok(&n));
	n.dns[0] = 127, n.dns[3] = 53;
	assert_true(spec_net_ok(&n));
}

/* One way each a NET value can be wrong (the record is otherwise net_good). */
static void nb_flags(struct arca_spec_net *n) { n->flags = 1; }
static void nb_flags_high(struct arca_spec_net *n) { n->flags = 0x80000000u; }
static void nb_mac_zero(struct arca_spec_net *n) { memset(n->mac, 0, 6); }
static void nb_mac_multicast(struct arca_spec_net *n) { n->mac[0] = 0x01; }
static void nb_mac_broadcast(struct arca_spec_net *n) { memset(n->mac, 0xff, 6); }
static void nb_mtu_0(struct arca_spec_net *n) { n->mtu = 0; }
static void nb_mtu_67(struct arca_spec_net *n) { n->mtu = 67; }
static void nb_prefix_0(struct arca_spec_net *n) { n->prefix = 0; }
static void nb_prefix_31(struct arca_spec_net *n) { n->prefix = 31; }
static void nb_prefix_32(struct arca_spec_net *n) { n->prefix = 32; }
static void nb_prefix_255(struct arca_spec_net *n) { n->prefix = 255; }
static void nb_gw_outside(struct arca_spec_net *n) { n->gateway[3] = 5; }           /* 10.213.0.5 */
static void nb_gw_other_net(struct arca_spec_net *n) { n->gateway[1] = 214; }
static void nb_gw_is_addr(struct arca_spec_net *n) { n->gateway[3] = 2; }
static void nb_gw_network(struct arca_spec_net *n) { n->gateway[3] = 0; }
static void nb_gw_broadcast(struct arca_spec_net *n) { n->gateway[3] = 3; }
static void nb_addr_network(struct arca_spec_net *n) { n->addr[3] = 0; }
static void nb_addr_broadcast(struct arca_spec_net *n) { n->addr[3] = 3; }
static void nb_addr_zero(struct arca_spec_net *n)
{
	memset(n->addr, 0, 4);
	memset(n->gateway, 0, 4);
	n->gateway[3] = 1;
}
static void nb_addr_loopback(struct arca_spec_net *n)
{
	n->addr[0] = n->gateway[0] = 127;
}
static void nb_addr_multicast(struct arca_spec_net *n)
{
	n->addr[0] = n->gateway[0] = 224;
}
static void nb_addr_limited_bcast(struct arca_spec_net *n)
{
	memset(n->addr, 255, 4);
	n->addr[3] = 254;
	memset(n->gateway, 255, 4);
	n->gateway[3] = 253;
	n->prefix = 24;
}
static void nb_dns_zero_net(struct arca_spec_net *n) { n->dns[0] = 0; }  /* 0.213.0.1 */
static void nb_dns_multicast(struct arca_spec_net *n) { n->dns[0] = 239; }
static void nb_dns_broadcast(struct arca_spec_net *n) { memset(n->dns, 255, 4); }

static void (*const net_mutations[])(struct arca_spec_net *) = {
	nb_flags, nb_flags_high, nb_mac_zero, nb_mac_multicast, nb_mac_broadcast, nb_mtu_0,
	nb_mtu_67, nb_prefix_0, nb_prefix_31, nb_prefix_32, nb_prefix_255, nb_gw_outside,
	nb_gw_other_net, nb_gw_is_addr, nb_gw_network, nb_gw_broadcast, nb_addr_network,
	nb_addr_broadcast, nb_addr_zero, nb_addr_loopback, nb_addr_multicast,
	nb_addr_limited_bcast, nb_dns_zero_net, nb_dns_multicast, nb_dns_broadcast,
};

static void test_net_rejects(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct wire w;
	uint8_t *buf;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(net_mutations) / sizeof(net_mutations[0]); i++) {
		struct arca_spec_net n = net_good();
		net_mutations[i](&n);
		if (spec_net_ok(&n))
			fail_msg("net mutation %zu accepted", i);
		/* The encoder refuses it... */
		struct arca_spec in = { .argv = argv, .argc = 1, .has_net = 1, .net = n };
		buf = NULL;
		assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
		assert_null(buf);
		/* ...and the decoder too, when a hand encoder wrote it. */
		w_minimal(&w);
		w_net(&w, &n);
		expect_decode_error(&w, -EPROTO);
	}

	/* The hand encoder agrees with spec_encode on a good one. */
	struct arca_spec_net good = net_good();
	struct arca_spec s;
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_net(&w, &good); /* anywhere among the records */
	w_str(&w, ARCA_SPEC_ARGV, "true");
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_true(s.has_net);
	assert_net_equal(&s.net, &good);
	spec_free(&s);

	/* Wrong lengths, around 25. */
	static const uint32_t lens[] = { 0, 4, 24, 26, 32 };
	uint8_t v[64];
	memset(v, 0, sizeof(v));
	uint8_t good_v[ARCA_SPEC_NET_SIZE];
	w_minimal(&w);
	w_net(&w, &good);
	memcpy(good_v, w.buf + w.len - ARCA_SPEC_NET_SIZE, sizeof(good_v));
	memcpy(v, good_v, sizeof(good_v));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		w_minimal(&w);
		w_rec(&w, ARCA_SPEC_NET, v, lens[i]);
		expect_decode_error(&w, -EPROTO);
	}
	/* At most one, even when both say the same. */
	w_minimal(&w);
	w_net(&w, &good);
	w_net(&w, &good);
	expect_decode_error(&w, -EPROTO);
}

/* ---- the guest's IPv6 (ARCA_SPEC_NET6) ---------------------------------------- */

static void ip6(const char *text, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* 2001:db8:a::2/64 via fe80::1: a global address, a link-local router. */
static struct arca_spec_net6 net6_good(void)
{
	struct arca_spec_net6 n = { .prefix = 64 };
	ip6("2001:db8:a::2", n.addr);
	ip6("fe80::1", n.gateway);
	return n;
}

static void assert_net6_equal(const struct arca_spec_net6 *a, const struct arca_spec_net6 *b)
{
	assert_int_equal(a->flags, b->flags);
	assert_memory_equal(a->addr, b->addr, 16);
	assert_int_equal(a->prefix, b->prefix);
	assert_memory_equal(a->gateway, b->gateway, 16);
}

static void w_net6(struct wire *w, const struct arca_spec_net6 *n)
{
	uint8_t v[ARCA_SPEC_NET6_SIZE];
	proto_put_le32(v, n->flags);
	memcpy(v + 4, n->addr, 16);
	v[20] = n->prefix;
	memcpy(v + 21, n->gateway, 16);
	w_rec(w, ARCA_SPEC_NET6, v, sizeof(v));
}

static void test_roundtrip_net6(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct arca_spec in = { .argv = argv, .argc = 1, .has_net = 1, .net = net_good(),
				.has_net6 = 1, .net6 = net6_good(), .has_host = 1,
				.host_realtime_ns = 7 };
	struct arca_spec out;
	uint8_t *buf, *plain;
	size_t len, plain_len;

	(void)state;
	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_true(out.has_net);
	assert_net_equal(&out.net, &in.net);
	assert_true(out.has_net6);
	assert_net6_equal(&out.net6, &in.net6);
	assert_true(out.has_host);
	spec_free(&out);
	assert_false(out.has_net6);

	/* Without NET6 the encoding is unchanged; with it, one 37-byte record
	 * right after NET and before HOST, field by field. */
	in.has_net6 = 0;
	assert_int_equal(spec_encode(&in, &plain, &plain_len), 0);
	assert_int_equal(len, plain_len + 6 + ARCA_SPEC_NET6_SIZE);
	size_t at = plain_len - 6 - ARCA_SPEC_HOST_SIZE;
	assert_memory_equal(buf, plain, at);
	assert_int_equal(proto_le16(buf + at - 6 - ARCA_SPEC_NET_SIZE), ARCA_SPEC_NET);
	assert_int_equal(proto_le16(buf + at), ARCA_SPEC_NET6);
	assert_int_equal(proto_le32(buf + at + 2), 37);
	static const uint8_t want[37] = {
		0, 0, 0, 0,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
		64,
		0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	};
	assert_memory_equal(buf + at + 6, want, sizeof(want));
	assert_int_equal(proto_le16(buf + at + 6 + 37), ARCA_SPEC_HOST);
	assert_int_equal(spec_decode(plain, plain_len, &out), 0);
	assert_false(out.has_net6);
	spec_free(&out);
	free(plain);

	/* Cut anywhere inside the record: an error. */
	for (size_t n = at + 1; n < at + 6 + ARCA_SPEC_NET6_SIZE; n++) {
		memset(&out, 0xA5, sizeof(out));
		assert_int_equal(spec_decode(buf, n, &out), -EPROTO);
		assert_null(out.argv);
		assert_false(out.has_net6);
	}
	free(buf);

	/* NET6 without NET: the encoder refuses it. */
	in.has_net6 = 1;
	in.has_net = 0;
	buf = NULL;
	assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
	assert_null(buf);

	/* Valid at the limits: prefix 8 and 126, a unique-local address, a
	 * gateway inside the prefix (on and off a byte boundary). */
	struct arca_spec_net6 n = net6_good();
	n.prefix = ARCA_NET6_PREFIX_MIN;
	assert_int_equal(spec_net6_ok(&n), 0);
	ip6("20ff::1", n.gateway); /* inside 2000::/8 */
	assert_int_equal(spec_net6_ok(&n), 0);
	n = net6_good();
	n.prefix = ARCA_NET6_PREFIX_MAX;
	ip6("2001:db8:a::1", n.gateway); /* 2001:db8:a::/126 */
	assert_int_equal(spec_net6_ok(&n), 0);
	n = net6_good();
	ip6("fd00:a:0:1::2", n.addr);
	ip6("fd00:a:0:1::1", n.gateway);
	assert_int_equal(spec_net6_ok(&n), 0);
	n.prefix = 60;
	ip6("fd00:a:0:f::1", n.gateway); /* the prefix ends inside the 4th group */
	assert_int_equal(spec_net6_ok(&n), 0);
	ip6("fd00:a:0:10::1", n.gateway);
	assert_int_equal(spec_net6_ok(&n), -EPROTO);
	n = net6_good();
	ip6("febf:ffff::1", n.gateway); /* the top of fe80::/10 */
	assert_int_equal(spec_net6_ok(&n), 0);
	ip6("3fff:ffff::2", n.addr);
	assert_int_equal(spec_net6_ok(&n), 0);
	ip6("0:0:0:1::2", n.addr); /* just outside ::/96 */
	assert_int_equal(spec_net6_ok(&n), 0);
	assert_int_equal(spec_net6_ok(NULL), -EPROTO);
}

/* One way each a NET6 value can be wrong (the record is otherwise net6_good:
 * 2001:db8:a::2/64 via fe80::1). */
static void n6_flags(struct arca_spec_net6 *n) { n->flags = 1; }
static void n6_flags_high(struct arca_spec_net6 *n) { n->flags = 0x80000000u; }
static void n6_prefix_0(struct arca_spec_net6 *n) { n->prefix = 0; }
static void n6_prefix_7(struct arca_spec_net6 *n) { n->prefix = 7; }
static void n6_prefix_127(struct arca_spec_net6 *n) { n->prefix = 127; }
static void n6_prefix_128(struct arca_spec_net6 *n) { n->prefix = 128; }
static void n6_prefix_255(struct arca_spec_net6 *n) { n->prefix = 255; }
static void n6_addr_unspecified(struct arca_spec_net6 *n) { ip6("::", n->addr); }
static void n6_addr_loopback(struct arca_spec_net6 *n) { ip6("::1", n->addr); }
static void n6_addr_multicast(struct arca_spec_net6 *n) { ip6("ff02::2", n->addr); }
static void n6_addr_multicast_global(struct arca_spec_net6 *n) { ip6("ff0e::2", n->addr); }
static void n6_addr_link_local(struct arca_spec_net6 *n) { ip6("fe80::2", n->addr); }
static void n6_addr_link_local_top(struct arca_spec_net6 *n) { ip6("febf::2", n->addr); }
static void n6_addr_v4mapped(struct arca_spec_net6 *n) { ip6("::ffff:10.213.0.2", n->addr); }
static void n6_addr_v4compat(struct arca_spec_net6 *n) { ip6("::10.213.0.2", n->addr); }
static void n6_gw_unspecified(struct arca_spec_net6 *n) { ip6("::", n->gateway); }
static void n6_gw_loopback(struct arca_spec_net6 *n) { ip6("::1", n->gateway); }
static void n6_gw_multicast(struct arca_spec_net6 *n) { ip6("ff02::1", n->gateway); }
static void n6_gw_is_addr(struct arca_spec_net6 *n) { memcpy(n->gateway, n->addr, 16); }
static void n6_gw_outside(struct arca_spec_net6 *n) { ip6("2001:db8:b::1", n->gateway); }
static void n6_gw_outside_low_bit(struct arca_spec_net6 *n)
{
	ip6("2001:db8:a:1::1", n->gateway); /* differs in bit 63, the prefix's last */
}
static void n6_gw_multicast_in_prefix(struct arca_spec_net6 *n)
{
	ip6("ff02::2", n->addr); /* both multicast: refused for either reason */
	ip6("ff02::1", n->gateway);
}
static void n6_gw_outside_short_prefix(struct arca_spec_net6 *n)
{
	n->prefix = 8;
	ip6("2101::1", n->gateway); /* outside 2000::/8 */
}

static void (*const net6_mutations[])(struct arca_spec_net6 *) = {
	n6_flags, n6_flags_high, n6_prefix_0, n6_prefix_7, n6_prefix_127, n6_prefix_128,
	n6_prefix_255, n6_addr_unspecified, n6_addr_loopback, n6_addr_multicast,
	n6_addr_multicast_global, n6_addr_link_local, n6_addr_link_local_top, n6_addr_v4mapped,
	n6_addr_v4compat, n6_gw_unspecified, n6_gw_loopback, n6_gw_multicast, n6_gw_is_addr,
	n6_gw_outside, n6_gw_outside_low_bit, n6_gw_multicast_in_prefix,
	n6_gw_outside_short_prefix,
};

static void test_net6_rejects(void **state)
{
	char *argv[] = { S("sh"), NULL };
	struct arca_spec_net net = net_good();
	struct wire w;
	uint8_t *buf;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(net6_mutations) / sizeof(net6_mutations[0]); i++) {
		struct arca_spec_net6 n = net6_good();
		net6_mutations[i](&n);
		if (spec_net6_ok(&n) != -EPROTO)
			fail_msg("net6 mutation %zu accepted", i);
		/* The encoder refuses it... */
		struct arca_spec in = { .argv = argv, .argc = 1, .has_net = 1, .net = net,
					.has_net6 = 1, .net6 = n };
		buf = NULL;
		assert_int_equal(spec_encode(&in, &buf, &len), -EINVAL);
		assert_null(buf);
		/* ...and the decoder too, when a hand encoder wrote it. */
		w_minimal(&w);
		w_net(&w, &net);
		w_net6(&w, &n);
		expect_decode_error(&w, -EPROTO);
	}

	/* The hand encoder agrees with spec_encode on a good one, in either
	 * order with NET. */
	struct arca_spec_net6 good = net6_good();
	struct arca_spec s;
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_net6(&w, &good);
	w_str(&w, ARCA_SPEC_ARGV, "true");
	w_net(&w, &net);
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_true(s.has_net);
	assert_true(s.has_net6);
	assert_net6_equal(&s.net6, &good);
	spec_free(&s);
	w_minimal(&w);
	w_net(&w, &net);
	w_net6(&w, &good);
	assert_int_equal(spec_decode(w.buf, w.len, &s), 0);
	assert_true(s.has_net6);
	spec_free(&s);

	/* Without NET: it names no interface. Before or after the others. */
	w_minimal(&w);
	w_net6(&w, &good);
	expect_decode_error(&w, -EPROTO);
	w_init(&w, ARCA_SPEC_MAGIC, ARCA_ABI_VERSION);
	w_net6(&w, &good);
	w_str(&w, ARCA_SPEC_ARGV, "true");
	expect_decode_error(&w, -EPROTO);

	/* Wrong lengths, around 37 (25: NET's). */
	static const uint32_t lens[] = { 0, 4, 25, 36, 38, 64 };
	uint8_t v[64];
	memset(v, 0, sizeof(v));
	w_minimal(&w);
	w_net6(&w, &good);
	memcpy(v, w.buf + w.len - ARCA_SPEC_NET6_SIZE, ARCA_SPEC_NET6_SIZE);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		w_minimal(&w);
		w_net(&w, &net);
		w_rec(&w, ARCA_SPEC_NET6, v, lens[i]);
		expect_decode_error(&w, -EPROTO);
	}
	/* At most one, even when both say the same. */
	w_minimal(&w);
	w_net(&w, &net);
	w_net6(&w, &good);
	w_net6(&w, &good);
	expect_decode_error(&w, -EPROTO);
	/* A NET record failing its own rules still fails with NET6. */
	net.prefix = 31;
	w_minimal(&w);
	w_net(&w, &net);
	w_net6(&w, &good);
	expect_decode_error(&w, -EPROTO);
}

/* CAPS: a round trip, its place in the encoding, and each bad value
 * refused by the encoder and, written into the record, by the decoder. */
static const uint8_t *find_record(const uint8_t *buf, size_t len, uint16_t tag)
{
	for (size_t i = 0; i + 6 <= len; i++)
		if (proto_le16(buf + i) == tag && proto_le32(buf + i + 2) == ARCA_SPEC_CAPS_SIZE &&
		    i + 6 + ARCA_SPEC_CAPS_SIZE <= len)
			return buf + i;
	return NULL;
}

static void test_caps(void **state)
{
	(void)state;
	char *argv[] = { S("sh"), NULL };
	struct arca_spec in = { .argv = argv, .argc = 1, .has_caps = 1,
				.caps = { ARCA_CAPS_F_SET | ARCA_CAPS_F_NO_NEW_PRIVS,
					  0x1ffffffffffull, 0x3, 0x7, 0x6, 0x2 } };
	struct arca_spec out;
	uint8_t *buf;
	size_t len;
	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	assert_int_equal(spec_decode(buf, len, &out), 0);
	assert_true(out.has_caps);
	assert_memory_equal(&out.caps, &in.caps, sizeof(in.caps));
	spec_free(&out);

	const struct arca_spec_caps bad[] = {
		{ 0x4, 0, 0, 0, 0, 0 },                          /* unknown flag */
		{ ARCA_CAPS_F_NO_NEW_PRIVS, 1, 0, 0, 0, 0 },      /* masks without SET */
		{ ARCA_CAPS_F_SET, 1ull << (ARCA_CAP_LAST + 1), 0, 0, 0, 0 },
		{ ARCA_CAPS_F_SET, 0, 0, 0, 0, 1ull << 63 },
		{ ARCA_CAPS_F_SET, 0, 0x1, 0x2, 0, 0 },           /* effective outside permitted */
		{ ARCA_CAPS_F_SET, 0, 0, 0x1, 0x2, 0x2 },         /* ambient outside permitted */
		{ ARCA_CAPS_F_SET, 0, 0, 0x2, 0x1, 0x2 },         /* ambient outside inheritable */
	};
	const uint8_t *rec = find_record(buf, len, ARCA_SPEC_CAPS);
	assert_non_null(rec);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct arca_spec b = in;
		uint8_t *x;
		size_t xl;
		b.caps = bad[i];
		assert_int_equal(spec_caps_ok(&bad[i]), -EPROTO);
		assert_int_equal(spec_encode(&b, &x, &xl), -EINVAL);
		/* The same value written into a good encoding's record. */
		uint8_t *m = malloc(len);
		memcpy(m, buf, len);
		uint8_t *mr = m + (rec - buf) + 6;
		proto_put_le32(mr, bad[i].flags);
		proto_put_le64(mr + 4, bad[i].bounding);
		proto_put_le64(mr + 12, bad[i].effective);
		proto_put_le64(mr + 20, bad[i].permitted);
		proto_put_le64(mr + 28, bad[i].inheritable);
		proto_put_le64(mr + 36, bad[i].ambient);
		memset(&out, 0xA5, sizeof(out));
		if (spec_decode(m, len, &out) != -EPROTO)
			fail_msg("bad caps %zu decoded", i);
		free(m);
	}
	/* Every cut inside the record is an error. */
	size_t at = (size_t)(rec - buf);
	for (size_t n = at + 1; n < at + 6 + ARCA_SPEC_CAPS_SIZE; n++) {
		memset(&out, 0xA5, sizeof(out));
		assert_int_equal(spec_decode(buf, n, &out), -EPROTO);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_full),
		cmocka_unit_test(test_roundtrip_minimal),
		cmocka_unit_test(test_decode_handmade),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_encode_too_large),
		cmocka_unit_test(test_decode_bad_header),
		cmocka_unit_test(test_decode_oversized_file),
		cmocka_unit_test(test_decode_every_truncation),
		cmocka_unit_test(test_decode_length_overflow),
		cmocka_unit_test(test_decode_nul_inside_strings),
		cmocka_unit_test(test_decode_unknown_tag),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_decode_bad_values),
		cmocka_unit_test(test_decode_duplicates),
		cmocka_unit_test(test_decode_string_limit),
		cmocka_unit_test(test_decode_mutations),
		cmocka_unit_test(test_roundtrip_shares_root),
		cmocka_unit_test(test_roundtrip_root_modes),
		cmocka_unit_test(test_guest_path_ok),
		cmocka_unit_test(test_tag_ok),
		cmocka_unit_test(test_encode_refuses_mounts),
		cmocka_unit_test(test_decode_share_rejects),
		cmocka_unit_test(test_decode_root_rejects),
		cmocka_unit_test(test_decode_mounts_truncation_mutation),
		cmocka_unit_test(test_roundtrip_disks),
		cmocka_unit_test(test_disk_id_fstype_ok),
		cmocka_unit_test(test_encode_refuses_disks),
		cmocka_unit_test(test_decode_disk_rejects),
		cmocka_unit_test(test_decode_disks_truncation_mutation),
		cmocka_unit_test(test_roundtrip_rlimits),
		cmocka_unit_test(test_rlimit_names),
		cmocka_unit_test(test_encode_refuses_rlimits),
		cmocka_unit_test(test_decode_rlimit_rejects),
		cmocka_unit_test(test_decode_rlimits_truncation_mutation),
		cmocka_unit_test(test_roundtrip_host),
		cmocka_unit_test(test_decode_host_rejects),
		cmocka_unit_test(test_roundtrip_net),
		cmocka_unit_test(test_net_rejects),
		cmocka_unit_test(test_roundtrip_net6),
		cmocka_unit_test(test_net6_rejects),
		cmocka_unit_test(test_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
