/* SPDX-License-Identifier: MIT */
/* FUSE backend: the pure decoder against hostile requests, and the server
 * over a real temp directory driven with crafted requests (no /dev/fuse):
 * requests and replies are cut into small iovec segments as a guest's
 * descriptor chains may be. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuse_decode.h"
#include "fuse_server.h"
#include "fuse_fixture.h"

/* ---- decoder ------------------------------------------------------------------- */

static int decode_lookup(const void *name, size_t len)
{
	struct msg m;
	struct fuse_req r;
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_add(&m, name, len);
	msg_end(&m);
	return decode(&m, &r);
}

static void test_decode_names(void **state)
{
	assert_int_equal(decode_lookup("ok", 3), 0);
	assert_int_equal(decode_lookup("..", 3), -EINVAL);
	assert_int_equal(decode_lookup(".", 2), -EINVAL);
	assert_int_equal(decode_lookup("", 1), -EINVAL);
	assert_int_equal(decode_lookup("a/b", 4), -EINVAL);
	assert_int_equal(decode_lookup("/etc", 5), -EINVAL);
	assert_int_equal(decode_lookup("abc", 3), -EINVAL);        /* no NUL */
	assert_int_equal(decode_lookup("a\0b", 4), -EINVAL);       /* NUL inside */
	assert_int_equal(decode_lookup("ab\0\0", 4), -EINVAL);     /* trailing junk */
	assert_int_equal(decode_lookup("", 0), -EINVAL);
	char big[300];
	memset(big, 'x', sizeof(big));
	big[256] = '\0';
	assert_int_equal(decode_lookup(big, 257), -ENAMETOOLONG);
	big[255] = '\0';
	assert_int_equal(decode_lookup(big, 256), 0);
}

static void test_decode_header(void **state)
{
	struct msg m;
	struct fuse_req r;
	static uint64_t scratch[FUSE_SCRATCH_SIZE / 8];
	struct iovec iov = { m.b, 10 };

	msg_start(&m, FUSE_GETATTR, 1);
	assert_int_equal(fuse_decode(&iov, 1, scratch, sizeof(scratch), FUSE_MAX_IO, &r), -EBADMSG);
	assert_int_equal(fuse_decode(NULL, 0, scratch, sizeof(scratch), FUSE_MAX_IO, &r), -EBADMSG);

	struct fuse_getattr_in ga = { 0 };
	msg_add(&m, &ga, sizeof(ga));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), 0);
	assert_int_equal(r.h.unique, 42);
	/* header len larger and smaller than what is present */
	m.b[0] += 8;
	assert_int_equal(decode(&m, &r), -EINVAL);
	m.b[0] -= 16;
	assert_int_equal(decode(&m, &r), -EINVAL);
	m.b[0] += 8;
	/* short fixed struct */
	m.len -= 4;
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);
	/* bogus nodeid 0 */
	msg_start(&m, FUSE_GETATTR, 0);
	msg_add(&m, &ga, sizeof(ga));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);
	/* unknown opcodes */
	msg_start(&m, 9999, 1);
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -ENOSYS);
	msg_start(&m, FUSE_SETLK, 1);
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -ENOSYS);
	/* extension length beyond the request */
	msg_start(&m, FUSE_GETATTR, 1);
	msg_add(&m, &ga, sizeof(ga));
	msg_end(&m);
	((struct fuse_in_header *)(void *)m.b)->total_extlen = 100;
	assert_int_equal(decode(&m, &r), -EINVAL);
}

static void test_decode_io_bounds(void **state)
{
	struct msg m;
	struct fuse_req r;

	struct fuse_read_in rd = { .fh = 1, .offset = 0, .size = FUSE_MAX_IO + 1 };
	msg_start(&m, FUSE_READ, 1);
	msg_add(&m, &rd, sizeof(rd));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);          /* size > max_read */
	rd.size = 4096;
	rd.offset = 1ull << 63;
	msg_start(&m, FUSE_READ, 1);
	msg_add(&m, &rd, sizeof(rd));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);          /* offset >= 2^63 */
	rd.offset = INT64_MAX - 100;
	msg_start(&m, FUSE_READ, 1);
	msg_add(&m, &rd, sizeof(rd));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);          /* offset+size wraps past 2^63 */

	struct fuse_write_in wr = { .fh = 1, .size = 100 };
	msg_start(&m, FUSE_WRITE, 1);
	msg_add(&m, &wr, sizeof(wr));
	msg_add(&m, "0123456789", 10);
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);          /* size > payload */
	wr.size = 5;
	memcpy(m.b + sizeof(struct fuse_in_header), &wr, sizeof(wr));
	assert_int_equal(decode(&m, &r), -EINVAL);          /* size < payload */
	wr.size = 10;
	memcpy(m.b + sizeof(struct fuse_in_header), &wr, sizeof(wr));
	assert_int_equal(decode(&m, &r), 0);
	assert_int_equal(r.payload_len, 10);
	assert_int_equal(r.payload_off, sizeof(struct fuse_in_header) + sizeof(wr));

	struct fuse_batch_forget_in bf = { .count = 0x20000000 }; /* *16 wraps 32 bits */
	msg_start(&m, FUSE_BATCH_FORGET, 0);
	msg_add(&m, &bf, sizeof(bf));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);

	struct fuse_setxattr_in sx = { .size = 10 };
	msg_start(&m, FUSE_SETXATTR, 1);
	msg_add(&m, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	msg_str(&m, "user.a");
	msg_add(&m, "abc", 3);
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);          /* value shorter than size */

	struct fuse_fallocate_in fa = { .fh = 1, .offset = INT64_MAX, .length = 2 };
	msg_start(&m, FUSE_FALLOCATE, 1);
	msg_add(&m, &fa, sizeof(fa));
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);

	struct fuse_rename2_in rn = { .newdir = 1 };
	msg_start(&m, FUSE_RENAME2, 1);
	msg_add(&m, &rn, sizeof(rn));
	msg_str(&m, "a");
	msg_str(&m, "..");
	msg_end(&m);
	assert_int_equal(decode(&m, &r), -EINVAL);          /* second name checked too */
	msg_start(&m, FUSE_RENAME2, 1);
	msg_add(&m, &rn, sizeof(rn));
	msg_str(&m, "a");
	msg_str(&m, "b");
	msg_end(&m);
	assert_int_equal(decode(&m, &r), 0);
	assert_string_equal(r.name, "a");
	assert_string_equal(r.name2, "b");
}

static void test_iov_slice(void **state)
{
	char a[5] = "abcde", b[3] = "fgh", c[4] = "ijkl";
	struct iovec src[3] = { { a, 5 }, { b, 3 }, { c, 4 } }, dst[3];
	char out[12];

	int n = iov_slice(src, 3, 4, 6, dst, 3);
	assert_int_equal(n, 3);
	assert_int_equal(dst[0].iov_len, 1);
	assert_int_equal(dst[1].iov_len, 3);
	assert_int_equal(dst[2].iov_len, 2);
	assert_int_equal(fuse_iov_to_buf(dst, n, 0, out, 6), 6);
	assert_memory_equal(out, "efghij", 6);
	assert_int_equal(iov_slice(src, 3, 4, 6, dst, 2), -E2BIG);
	assert_int_equal(iov_slice(src, 3, 10, 3, dst, 3), -EFAULT);
	assert_int_equal(iov_slice(src, 3, 12, 0, dst, 3), 0);
	assert_int_equal(fuse_iov_from_buf(src, 3, 11, "XY", 2), -ENOSPC);
	assert_int_equal(fuse_iov_from_buf(src, 3, 10, "XY", 2), 2);
	assert_memory_equal(c, "ijXY", 4);
}


static void test_init_negotiation(void **state)
{
	struct fx *f = *state;
	/* the setup INIT's reply is gone; redo on a fresh server */
	fuse_server_destroy(f->s);
	free(f->s);
	assert_int_equal(server_up(f, false, 64), 0);
	assert_int_equal(getattr(f, 1), -EIO);   /* before INIT */
	assert_int_equal(do_init(f), 0);
	struct fuse_init_out *o = body(f);
	assert_int_equal(o->major, 7);
	assert_int_equal(o->minor, 38);
	assert_int_equal(o->max_write, FUSE_MAX_IO);
	/* never below the 1 MiB arca-init gives a share, whatever the guest's
	 * kernel proposed (the fixture's 64 KiB): the kernel keeps the smaller */
	assert_true(o->max_readahead >= 1024u * 1024);
	assert_true(o->flags & FUSE_BIG_WRITES);
	assert_true(o->flags & FUSE_DO_READDIRPLUS);
	assert_false(o->flags & FUSE_WRITEBACK_CACHE); /* asked for, refused */
	assert_true(o->flags & FUSE_HANDLE_KILLPRIV_V2);   /* the host kernel clears set-id bits */
	assert_int_equal(do_init(f), -EPROTO);   /* twice */
	assert_int_equal(getattr(f, 1), 0);
}

static void test_create_write_read_split(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh;
	static char data[60000], got[60001];

	assert_int_equal(create(f, "file", 0644, &node, &fh), 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 23);
	/* a 60 KB write in 311-byte segments (under FUSE_MAX_IOV): the payload
	 * starts mid-segment */
	f->seg = 311;
	struct msg *m = malloc(sizeof(*m));
	struct fuse_write_in w = { .fh = fh, .offset = 5, .size = sizeof(data) };
	msg_start(m, FUSE_WRITE, node);
	msg_add(m, &w, sizeof(w));
	msg_add(m, data, sizeof(data));
	assert_int_equal(call(f, m), 0);
	assert_int_equal(((struct fuse_write_out *)body(f))->size, sizeof(data));
	free(m);

	struct stat st;
	assert_int_equal(fstatat(f->dfd, "file", &st, 0), 0);
	assert_int_equal(st.st_size, sizeof(data) + 5);

	/* read into 313-byte reply segments: the data lands right after the header */
	f->seg = 313;
	assert_int_equal(readf(f, node, fh, 5, sizeof(data)), 0);
	assert_int_equal(f->oh.len, sizeof(struct fuse_out_header) + sizeof(data));
	memcpy(got, body(f), sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	/* short read at EOF */
	assert_int_equal(readf(f, node, fh, sizeof(data), 100), 0);
	assert_int_equal(f->oh.len, sizeof(struct fuse_out_header) + 5);
	/* bogus fh, fh of another node */
	assert_int_equal(readf(f, node, fh + (1ull << 32), 0, 10), -EBADF);
	assert_int_equal(readf(f, node, 999, 0, 10), -EBADF);
	assert_int_equal(readf(f, 1, fh, 0, 10), -EBADF);
}

/* --verbose's per-opcode counters: each request counted under its opcode,
 * an opcode past the table under the last ("other") slot, and READ/WRITE
 * bytes and host time accumulated. */
static void test_stats_by_opcode(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh;
	struct msg m;
	static char data[4096];

	assert_int_equal(lookup(f, 1, "missing", &node, NULL), -ENOENT);
	assert_int_equal(lookup(f, 1, "missing", &node, NULL), -ENOENT);
	assert_int_equal(create(f, "s", 0644, &node, &fh), 0);
	msg_start(&m, FUSE_WRITE, node);
	struct fuse_write_in w = { .fh = fh, .offset = 0, .size = sizeof(data) };
	msg_add(&m, &w, sizeof(w));
	msg_add(&m, data, sizeof(data));
	f->seg = 4096;
	assert_int_equal(call(f, &m), 0);
	struct fuse_stats *st = &f->s->stats;
	/* Not timed unless the config asks (only --verbose reads the times). */
	assert_int_equal(st->write_ns, 0);
	f->s->cfg.timed = true;
	msg_start(&m, FUSE_WRITE, node);
	msg_add(&m, &w, sizeof(w));
	msg_add(&m, data, sizeof(data));
	assert_int_equal(call(f, &m), 0);
	msg_start(&m, 4000, 1);
	assert_int_equal(call(f, &m), -ENOSYS);

	assert_int_equal(st->by_op[FUSE_INIT], 1);
	assert_int_equal(st->by_op[FUSE_LOOKUP], 2);
	assert_int_equal(st->by_op[FUSE_CREATE], 1);
	assert_int_equal(st->by_op[FUSE_WRITE], 2);
	assert_int_equal(st->by_op[FUSE_STATS_OPS - 1], 1);
	assert_int_equal(st->requests, 7);
	assert_int_equal(st->writes, 2);
	assert_int_equal(st->write_bytes, 2 * sizeof(data));
	assert_true(st->write_ns > 0);
	assert_int_equal(st->read_ns, 0);
}

/* A fresh server with the given cache mode, INIT done (do_init asks for
 * FUSE_WRITEBACK_CACHE, as the kernel does). */
static void cache_server(struct fx *f, bool writeback, bool direct_io)
{
	fuse_server_destroy(f->s);
	free(f->s);
	assert_int_equal(server_up(f, false, 64), 0);
	f->s->cfg.writeback = writeback;
	f->s->cfg.direct_io = direct_io;
	assert_int_equal(do_init(f), 0);
	assert_int_equal(!!(((struct fuse_init_out *)body(f))->flags & FUSE_WRITEBACK_CACHE), writeback);
}

static uint32_t open_reply_flags(struct fx *f, uint64_t node, uint32_t flags, uint64_t *fh)
{
	struct msg m;
	struct fuse_open_in o = { .flags = flags };
	msg_start(&m, FUSE_OPEN, node);
	msg_add(&m, &o, sizeof(o));
	assert_int_equal(call(f, &m), 0);
	struct fuse_open_out *oo = body(f);
	*fh = oo->fh;
	return oo->open_flags;
}

static int writef(struct fx *f, uint64_t node, uint64_t fh, uint64_t off, const char *text)
{
	struct msg m;
	struct fuse_write_in w = { .fh = fh, .offset = off, .size = (uint32_t)strlen(text) };
	msg_start(&m, FUSE_WRITE, node);
	msg_add(&m, &w, sizeof(w));
	msg_add(&m, text, strlen(text));
	return call(f, &m);
}

static void release(struct fx *f, uint64_t node, uint64_t fh)
{
	assert_int_equal(release_fh(f, FUSE_RELEASE, node, fh), 0);
}

/* CREATE name in the root with guest open flags; the reply's open_flags. */
static uint32_t create_open_flags(struct fx *f, const char *name, uint32_t flags)
{
	struct msg m;
	struct fuse_create_in c = { .flags = flags, .mode = S_IFREG | 0644 };
	msg_start(&m, FUSE_CREATE, 1);
	msg_add(&m, &c, sizeof(c));
	msg_str(&m, name);
	assert_int_equal(call(f, &m), 0);
	return ((struct fuse_open_out *)((struct fuse_entry_out *)body(f) + 1))->open_flags;
}

/* cache=auto: a write-only open of a file nobody has open bypasses the
 * guest's page cache; while it is open, every open of the file does too;
 * a write-only open beside a cached one stays cached. */
static void test_cache_auto(void **state)
{
	struct fx *f = *state;
	uint64_t node, w, r1, r2;
	host_write(f, "a", "0123456789");
	assert_int_equal(lookup(f, 1, "a", &node, NULL), 0);
	assert_int_equal(open_reply_flags(f, node, O_WRONLY, &w), FOPEN_DIRECT_IO);
	assert_int_equal(readf(f, node, w, 0, 4), -EBADF); /* still write-only on the host */
	assert_int_equal(open_reply_flags(f, node, O_RDONLY, &r1), FOPEN_DIRECT_IO);
	release(f, node, w);
	assert_int_equal(open_reply_flags(f, node, O_RDWR, &r2), FOPEN_DIRECT_IO); /* r1 still direct */
	release(f, node, r1);
	release(f, node, r2);
	/* all closed: cached again, and a writer beside a cached reader stays cached */
	assert_int_equal(open_reply_flags(f, node, O_RDONLY, &r1), 0);
	assert_int_equal(open_reply_flags(f, node, O_WRONLY, &w), 0);
	release(f, node, r1);
	release(f, node, w);
	/* O_APPEND kept: the host appends whatever offset the guest sent */
	assert_int_equal(open_reply_flags(f, node, O_WRONLY | O_APPEND, &w), FOPEN_DIRECT_IO);
	assert_int_equal(writef(f, node, w, 0, "ab"), 0);
	char buf[32];
	host_read(f, "a", buf, sizeof(buf));
	assert_string_equal(buf, "0123456789ab");
	/* CREATE follows the same rule */
	assert_int_equal(create_open_flags(f, "new", O_WRONLY), FOPEN_DIRECT_IO);
	assert_int_equal(create_open_flags(f, "new2", O_RDWR), 0);
}

/* cache=writeback: the page cache reads partial pages through the
 * writer's handle and places appends itself, so O_WRONLY opens read and
 * O_APPEND is not passed on; a write-only host file still opens. */
static void test_cache_writeback(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh;
	cache_server(f, true, false);
	host_write(f, "a", "0123456789");
	assert_int_equal(lookup(f, 1, "a", &node, NULL), 0);
	assert_int_equal(open_reply_flags(f, node, O_WRONLY | O_APPEND, &fh), 0);
	assert_int_equal(readf(f, node, fh, 0, 4), 0);
	assert_memory_equal(body(f), "0123", 4);
	assert_int_equal(writef(f, node, fh, 2, "xy"), 0);  /* at the guest's offset */
	char buf[32];
	host_read(f, "a", buf, sizeof(buf));
	assert_string_equal(buf, "01xy456789");
	/* mode 0200: O_RDWR refused by the host (unless we are root), O_WRONLY then */
	assert_int_equal(fchmodat(f->dfd, "a", 0200, 0), 0);
	assert_int_equal(open_reply_flags(f, node, O_WRONLY, &fh), 0);
	assert_int_equal(writef(f, node, fh, 0, "AB"), 0);
	assert_int_equal(fchmodat(f->dfd, "a", 0644, 0), 0);
	host_read(f, "a", buf, sizeof(buf));
	assert_string_equal(buf, "ABxy456789");
	/* read-only share: no writeback cache offered */
	fuse_server_destroy(f->s);
	free(f->s);
	assert_int_equal(server_up(f, true, 64), 0);
	f->s->cfg.writeback = true;
	assert_int_equal(do_init(f), 0);
	assert_false(((struct fuse_init_out *)body(f))->flags & FUSE_WRITEBACK_CACHE);
}

/* cache=none: every file open bypasses the page cache, directories not. */
static void test_cache_none(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh;
	cache_server(f, false, true);
	host_write(f, "a", "0123456789");
	assert_int_equal(lookup(f, 1, "a", &node, NULL), 0);
	assert_int_equal(open_reply_flags(f, node, O_RDONLY, &fh), FOPEN_DIRECT_IO);
	assert_int_equal(open_reply_flags(f, node, O_RDWR, &fh), FOPEN_DIRECT_IO);
	struct msg m;
	struct fuse_open_in o = { .flags = O_RDONLY | O_DIRECTORY };
	msg_start(&m, FUSE_OPENDIR, 1);
	msg_add(&m, &o, sizeof(o));
	assert_int_equal(call(f, &m), 0);
	assert_int_equal(((struct fuse_open_out *)body(f))->open_flags, 0);
}

static void test_readdirplus(void **state)
{
	struct fx *f = *state;
	uint64_t dfh;
	struct msg m;

	host_write(f, "alpha", "1");
	host_write(f, "beta", "22");
	assert_int_equal(open_node(f, 1, FUSE_OPENDIR, O_RDONLY, &dfh), 0);
	struct fuse_read_in r = { .fh = dfh, .size = 4096 };
	msg_start(&m, FUSE_READDIRPLUS, 1);
	msg_add(&m, &r, sizeof(r));
	assert_int_equal(call(f, &m), 0);
	size_t len = f->oh.len - sizeof(f->oh), pos = 0;
	int seen = 0;
	while (pos < len) {
		struct fuse_direntplus *d = (void *)((char *)body(f) + pos);
		assert_true(pos + FUSE_NAME_OFFSET_DIRENTPLUS + d->dirent.namelen <= len);
		if (d->dirent.namelen == 5 && !memcmp(d->dirent.name, "alpha", 5)) {
			assert_int_not_equal(d->entry_out.nodeid, 0);
			assert_int_equal(d->entry_out.attr.size, 1);
			seen |= 1;
		} else if (d->dirent.namelen == 4 && !memcmp(d->dirent.name, "beta", 4)) {
			assert_int_equal(d->entry_out.attr.size, 2);
			assert_true(S_ISREG(d->entry_out.attr.mode));
			seen |= 2;
		} else if (d->dirent.name[0] == '.') {
			assert_int_equal(d->entry_out.nodeid, 0); /* never looked up */
		}
		pos += FUSE_DIRENTPLUS_SIZE(d);
	}
	assert_int_equal(seen, 3);
	/* a tiny buffer holds no entry: an empty reply, not an overrun */
	r.size = 40;
	msg_start(&m, FUSE_READDIRPLUS, 1);
	msg_add(&m, &r, sizeof(r));
	assert_int_equal(call(f, &m), 0);
	assert_int_equal(f->oh.len, sizeof(f->oh));
}

static void test_rename2_exchange(void **state)
{
	struct fx *f = *state;
	struct msg m;
	char buf[16];

	host_write(f, "p", "P");
	host_write(f, "q", "Q");
	struct fuse_rename2_in rn = { .newdir = 1, .flags = RENAME_EXCHANGE };
	msg_start(&m, FUSE_RENAME2, 1);
	msg_add(&m, &rn, sizeof(rn));
	msg_str(&m, "p");
	msg_str(&m, "q");
	assert_int_equal(call(f, &m), 0);
	host_read(f, "p", buf, sizeof(buf));
	assert_string_equal(buf, "Q");
	host_read(f, "q", buf, sizeof(buf));
	assert_string_equal(buf, "P");
	rn.flags = RENAME_NOREPLACE;
	msg_start(&m, FUSE_RENAME2, 1);
	msg_add(&m, &rn, sizeof(rn));
	msg_str(&m, "p");
	msg_str(&m, "q");
	assert_int_equal(call(f, &m), -EEXIST);
	rn.flags = RENAME_WHITEOUT; /* would create a device node */
	msg_start(&m, FUSE_RENAME2, 1);
	msg_add(&m, &rn, sizeof(rn));
	msg_str(&m, "p");
	msg_str(&m, "z");
	assert_int_equal(call(f, &m), -EINVAL);
}

static void test_confinement(void **state)
{
	struct fx *f = *state;
	uint64_t node, fh, sub;
	struct fuse_attr a;
	struct msg m;

	assert_int_equal(lookup(f, 1, "..", &node, NULL), -EINVAL);
	assert_int_equal(lookup(f, 1, "../etc", &node, NULL), -EINVAL);
	/* a symlink pointing outside is returned as a symlink, never followed */
	assert_int_equal(symlinkat("/etc/passwd", f->dfd, "esc"), 0);
	assert_int_equal(symlinkat("/etc", f->dfd, "escdir"), 0);
	assert_int_equal(lookup(f, 1, "esc", &node, &a), 0);
	assert_true(S_ISLNK(a.mode));
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh), -ELOOP);
	msg_start(&m, FUSE_READLINK, node);
	assert_int_equal(call(f, &m), 0);
	assert_int_equal(f->oh.len - sizeof(f->oh), strlen("/etc/passwd"));
	assert_memory_equal(body(f), "/etc/passwd", strlen("/etc/passwd"));
	assert_int_equal(lookup(f, 1, "escdir", &sub, NULL), 0);
	assert_int_equal(lookup(f, sub, "passwd", &node, NULL), -ENOTDIR);
	assert_int_equal(open_node(f, sub, FUSE_OPENDIR, O_RDONLY, &fh), -ENOTDIR);
	/* FIFOs are never opened on the host (CVE-2020-35517) */
	assert_int_equal(mkfifoat(f->dfd, "fifo", 0644), 0);
	assert_int_equal(lookup(f, 1, "fifo", &node, NULL), 0);
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh), -EACCES);
	/* CREATE over an existing FIFO must not open it */
	struct fuse_create_in c = { .flags = O_RDWR, .mode = S_IFREG | 0644 };
	msg_start(&m, FUSE_CREATE, 1);
	msg_add(&m, &c, sizeof(c));
	msg_str(&m, "fifo");
	assert_int_equal(call(f, &m), -EACCES);
	/* device nodes refused, FIFOs allowed */
	struct fuse_mknod_in mk = { .mode = S_IFCHR | 0666, .rdev = 0x103 };
	msg_start(&m, FUSE_MKNOD, 1);
	msg_add(&m, &mk, sizeof(mk));
	msg_str(&m, "null");
	assert_int_equal(call(f, &m), -EPERM);
	assert_int_equal(faccessat(f->dfd, "null", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	/* setuid stripped at create */
	assert_int_equal(create(f, "suid", 04755, &node, &fh), 0);
	struct stat st;
	assert_int_equal(fstatat(f->dfd, "suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* bogus nodeids */
	assert_int_equal(getattr(f, 0xdeadbeef00000005ull), -EINVAL);
	assert_int_equal(getattr(f, 1ull << 40), -EINVAL);
	assert_int_equal(getattr(f, 0xffffffffull), -EINVAL);
	/* the reply to an unknown opcode */
	msg_start(&m, FUSE_IOCTL, 1);
	assert_int_equal(call(f, &m), -ENOSYS);
	/* FORGET and INTERRUPT get no reply */
	assert_int_equal(forget(f, 12345, 1), -1000);
	struct fuse_interrupt_in in = { .unique = 1 };
	msg_start(&m, FUSE_INTERRUPT, 0);
	msg_add(&m, &in, sizeof(in));
	assert_int_equal(call(f, &m), -1000);
}

static void test_forget(void **state)
{
	struct fx *f = *state;
	uint64_t node, n2, fh;

	host_write(f, "g", "gg");
	assert_int_equal(lookup(f, 1, "g", &node, NULL), 0);
	assert_int_equal(lookup(f, 1, "g", &n2, NULL), 0);
	assert_int_equal(node, n2);               /* one nodeid per object */
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh), 0);
	/* underflow: clamped, and the open handle keeps the inode */
	assert_int_equal(forget(f, node, 1000), -1000);
	assert_int_equal(readf(f, node, fh, 0, 10), 0);
	assert_int_equal(f->oh.len, sizeof(f->oh) + 2);
	assert_int_equal(getattr(f, node), 0);
	struct msg m;
	struct fuse_release_in rl = { .fh = fh };
	msg_start(&m, FUSE_RELEASE, node);
	msg_add(&m, &rl, sizeof(rl));
	assert_int_equal(call(f, &m), 0);
	/* now gone: the stale nodeid is refused, not followed */
	assert_int_equal(getattr(f, node), -EINVAL);
	assert_int_equal(readf(f, node, fh, 0, 10), -EBADF);
	/* the root survives any FORGET */
	assert_int_equal(forget(f, 1, 1ull << 60), -1000);
	assert_int_equal(getattr(f, 1), 0);
	assert_int_equal(lookup(f, 1, "g", &n2, NULL), 0);
	assert_int_not_equal(n2, node);          /* new generation */
}

static void test_fd_bound(void **state)
{
	struct fx *f = *state;
	char name[16];
	uint64_t node;
	int e = 0, i;

	fuse_server_destroy(f->s);
	free(f->s);
	assert_int_equal(server_up(f, false, 8), 0);
	assert_int_equal(do_init(f), 0);
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		host_write(f, name, "x");
	}
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		if ((e = lookup(f, 1, name, &node, NULL)) < 0)
			break;
	}
	assert_int_equal(e, -EMFILE);
	/* 8 fds: a reserve of 2 for handles, so the root + 5 inodes */
	assert_int_equal(i, 5);
	/* the dentry cache cannot starve OPEN: the reserve is the handles' */
	uint64_t fh, fh2, fh3;
	assert_int_equal(lookup(f, 1, "n4", &node, NULL), 0);
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh), 0);
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh2), 0);
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh3), -EMFILE);
	/* CREATE needs an inode too: refused before anything is created */
	assert_int_equal(create(f, "newfile", 0644, &node, &fh3), -EMFILE);
	assert_int_equal(faccessat(f->dfd, "newfile", F_OK, 0), -1); /* nothing created */
	/* forgetting one frees room */
	assert_int_equal(lookup(f, 1, "n0", &node, NULL), 0);
	forget(f, node, 2);
	assert_int_equal(lookup(f, 1, "n19", &node, NULL), 0);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	struct msg m;
	uint64_t node, fh;

	host_write(f, "ro", "data");
	fuse_server_destroy(f->s);
	free(f->s);
	assert_int_equal(server_up(f, true, 64), 0);
	assert_int_equal(do_init(f), 0);
	assert_int_equal(lookup(f, 1, "ro", &node, NULL), 0);

	assert_int_equal(open_node(f, node, FUSE_OPEN, O_WRONLY, &fh), -EROFS);
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY | O_TRUNC, &fh), -EROFS);
	assert_int_equal(open_node(f, node, FUSE_OPEN, O_RDONLY, &fh), 0);
	assert_int_equal(create(f, "new", 0644, &node, &fh), -EROFS);

	struct { uint32_t op; size_t fixed; const char *n1, *n2; } ops[] = {
		{ FUSE_SETATTR, sizeof(struct fuse_setattr_in), NULL, NULL },
		{ FUSE_SYMLINK, 0, "l", "t" },
		{ FUSE_MKNOD, sizeof(struct fuse_mknod_in), "n", NULL },
		{ FUSE_MKDIR, sizeof(struct fuse_mkdir_in), "d", NULL },
		{ FUSE_UNLINK, 0, "ro", NULL },
		{ FUSE_RMDIR, 0, "ro", NULL },
		{ FUSE_RENAME, sizeof(struct fuse_rename_in), "ro", "x" },
		{ FUSE_RENAME2, sizeof(struct fuse_rename2_in), "ro", "x" },
		{ FUSE_LINK, sizeof(struct fuse_link_in), "ln", NULL },
		{ FUSE_REMOVEXATTR, 0, "user.a", NULL },
		{ FUSE_FALLOCATE, sizeof(struct fuse_fallocate_in), NULL, NULL },
		{ FUSE_COPY_FILE_RANGE, sizeof(struct fuse_copy_file_range_in), NULL, NULL },
	};
	/* non-zero ids where needed; copy_file_range.flags (the 7th word) 0 */
	uint64_t zero[16] = { 1, 1, 1, 1, 1, 1, 0 };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		msg_start(&m, ops[i].op, 1);
		msg_add(&m, zero, ops[i].fixed);
		if (ops[i].n1)
			msg_str(&m, ops[i].n1);
		if (ops[i].n2)
			msg_str(&m, ops[i].n2);
		assert_int_equal(call(f, &m), -EROFS);
	}
	struct fuse_write_in w = { .fh = fh, .size = 1 };
	msg_start(&m, FUSE_WRITE, node);
	msg_add(&m, &w, sizeof(w));
	msg_add(&m, "x", 1);
	assert_int_equal(call(f, &m), -EROFS);
	struct fuse_setxattr_in sx = { .size = 1 };
	msg_start(&m, FUSE_SETXATTR, 1);
	msg_add(&m, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
	msg_str(&m, "user.a");
	msg_add(&m, "v", 1);
	assert_int_equal(call(f, &m), -EROFS);
	char buf[16];
	host_read(f, "ro", buf, sizeof(buf));
	assert_string_equal(buf, "data");
}

static void test_no_header_no_reply(void **state)
{
	struct fx *f = *state;
	uint8_t small[10] = { 0 }, out[64];
	struct iovec in = { small, sizeof(small) }, o = { out, sizeof(out) }, tiny = { out, 8 };
	assert_int_equal(fuse_server_handle(f->s, &in, 1, &o, 1), -EBADMSG);
	struct msg m;
	msg_start(&m, FUSE_STATFS, 1);
	msg_end(&m);
	struct iovec in2 = { m.b, m.len };
	assert_int_equal(fuse_server_handle(f->s, &in2, 1, &tiny, 1), -ENOSPC);
	/* a reply that does not fit the guest's buffers is an error reply */
	struct iovec small_out = { out, 40 };
	assert_int_equal(fuse_server_handle(f->s, &in2, 1, &small_out, 1), 16);
	assert_int_equal(((struct fuse_out_header *)(void *)out)->error, -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_names),
		cmocka_unit_test(test_decode_header),
		cmocka_unit_test(test_decode_io_bounds),
		cmocka_unit_test(test_iov_slice),
		cmocka_unit_test_setup_teardown(test_init_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_write_read_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_by_opcode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_writeback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdirplus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename2_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confinement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_header_no_reply, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
