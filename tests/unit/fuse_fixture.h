/* SPDX-License-Identifier: MIT */
/* Test fixture for the FUSE server (test_fuse.c, test_fuse_limits.c):
 * building requests, a server over a fresh temp directory, and calling it
 * with requests and replies cut into small iovec segments as a guest's
 * descriptor chains may be. Header-only: each test includes it once. */
#ifndef ARCA_TEST_FUSE_FIXTURE_H
#define ARCA_TEST_FUSE_FIXTURE_H

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

/* ---- request building ------------------------------------------------------- */

struct msg {
	uint8_t b[FUSE_SCRATCH_SIZE + 8192];
	size_t len;
};

static __attribute__((unused)) void msg_start(struct msg *m, uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header h = { .opcode = opcode, .unique = 42, .nodeid = nodeid };
	memset(m, 0, sizeof(*m));
	memcpy(m->b, &h, sizeof(h));
	m->len = sizeof(h);
}

static __attribute__((unused)) void msg_add(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static __attribute__((unused)) void msg_str(struct msg *m, const char *s)
{
	msg_add(m, s, strlen(s) + 1);
}

static __attribute__((unused)) void msg_end(struct msg *m)
{
	uint32_t len = (uint32_t)m->len;
	memcpy(m->b, &len, sizeof(len));
}

/* Cut buf into seg-byte iovecs. */
static __attribute__((unused)) int cut(void *buf, size_t len, size_t seg, struct iovec *iov, int max)
{
	int n = 0;
	for (size_t off = 0; off < len; off += seg) {
		assert_true(n < max);
		iov[n].iov_base = (char *)buf + off;
		iov[n].iov_len = len - off < seg ? len - off : seg;
		n++;
	}
	return n;
}

static __attribute__((unused)) int decode(struct msg *m, struct fuse_req *r)
{
	static uint64_t scratch[FUSE_SCRATCH_SIZE / 8];
	struct iovec iov[64];
	int n = cut(m->b, m->len, m->len / 3 + 1, iov, 64);
	return fuse_decode(iov, n, scratch, sizeof(scratch), FUSE_MAX_IO, r);
}


/* ---- server over a temp dir ------------------------------------------------------ */

struct fx {
	char dir[64];
	int dfd;               /* the test's own handle on the share */
	struct fuse_server *s;
	uint8_t out[FUSE_MAX_IO + 8192];
	struct fuse_out_header oh;
	size_t seg;            /* iovec segment size for requests and replies */
};

static __attribute__((unused)) int server_up(struct fx *f, bool ro, unsigned max_fds)
{
	struct fuse_server_config c = {
		.root_fd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC),
		.proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC),
		.read_only = ro, .host_uid = getuid(), .host_gid = getgid(), .max_fds = max_fds,
	};
	f->s = malloc(sizeof(*f->s));
	return fuse_server_init(f->s, &c);
}

/* Send m; returns the reply's error (0 or -errno), body left in f->out
 * after the header; -1000 when there was no reply. */
static __attribute__((unused)) int call(struct fx *f, struct msg *m)
{
	struct iovec in[FUSE_MAX_IOV], out[FUSE_MAX_IOV];
	msg_end(m);
	int nin = cut(m->b, m->len, f->seg, in, FUSE_MAX_IOV);
	size_t olen = sizeof(f->out);
	if (olen / f->seg >= FUSE_MAX_IOV)
		olen = f->seg * (FUSE_MAX_IOV - 1);
	int nout = cut(f->out, olen, f->seg, out, FUSE_MAX_IOV);
	ssize_t n = fuse_server_handle(f->s, in, nin, out, nout);
	if (n == 0)
		return -1000;
	assert_true(n >= (ssize_t)sizeof(f->oh));
	memcpy(&f->oh, f->out, sizeof(f->oh));
	assert_int_equal(f->oh.len, n);
	assert_int_equal(f->oh.unique, 42);
	return f->oh.error;
}

static __attribute__((unused)) void *body(struct fx *f)
{
	return f->out + sizeof(struct fuse_out_header);
}

static __attribute__((unused)) int do_init(struct fx *f)
{
	struct msg m;
	struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536,
				   .flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_WRITEBACK_CACHE |
					    FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | FUSE_HANDLE_KILLPRIV_V2 };
	msg_start(&m, FUSE_INIT, 0);
	msg_add(&m, &in, sizeof(in));
	return call(f, &m);
}

static __attribute__((unused)) int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/arca-test-fuse.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dfd = open(f->dir, O_DIRECTORY | O_CLOEXEC);
	f->seg = 7;
	assert_int_equal(server_up(f, false, 64), 0);
	assert_int_equal(do_init(f), 0);
	*state = f;
	return 0;
}

static __attribute__((unused)) int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int pfd = f->s->cfg.proc_self_fd;
	fuse_server_destroy(f->s);
	free(f->s);
	close(pfd);
	close(f->dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static __attribute__((unused)) int lookup(struct fx *f, uint64_t parent, const char *name, uint64_t *nodeid, struct fuse_attr *a)
{
	struct msg m;
	msg_start(&m, FUSE_LOOKUP, parent);
	msg_str(&m, name);
	int e = call(f, &m);
	if (e == 0) {
		struct fuse_entry_out *eo = body(f);
		*nodeid = eo->nodeid;
		if (a)
			*a = eo->attr;
	}
	return e;
}

static __attribute__((unused)) int create(struct fx *f, const char *name, uint32_t mode, uint64_t *nodeid, uint64_t *fh)
{
	struct msg m;
	struct fuse_create_in c = { .flags = O_RDWR, .mode = S_IFREG | mode };
	msg_start(&m, FUSE_CREATE, 1);
	msg_add(&m, &c, sizeof(c));
	msg_str(&m, name);
	int e = call(f, &m);
	if (e == 0) {
		struct fuse_entry_out *eo = body(f);
		*nodeid = eo->nodeid;
		*fh = ((struct fuse_open_out *)(eo + 1))->fh;
	}
	return e;
}

static __attribute__((unused)) int open_node(struct fx *f, uint64_t nodeid, uint32_t opcode, uint32_t flags, uint64_t *fh)
{
	struct msg m;
	struct fuse_open_in o = { .flags = flags };
	msg_start(&m, opcode, nodeid);
	msg_add(&m, &o, sizeof(o));
	int e = call(f, &m);
	if (e == 0)
		*fh = ((struct fuse_open_out *)body(f))->fh;
	return e;
}

/* RELEASE or RELEASEDIR of fh. */
static __attribute__((unused)) int release_fh(struct fx *f, uint32_t opcode, uint64_t nodeid, uint64_t fh)
{
	struct msg m;
	struct fuse_release_in r = { .fh = fh };
	msg_start(&m, opcode, nodeid);
	msg_add(&m, &r, sizeof(r));
	return call(f, &m);
}

static __attribute__((unused)) int getattr(struct fx *f, uint64_t nodeid)
{
	struct msg m;
	struct fuse_getattr_in g = { 0 };
	msg_start(&m, FUSE_GETATTR, nodeid);
	msg_add(&m, &g, sizeof(g));
	return call(f, &m);
}

static __attribute__((unused)) int forget(struct fx *f, uint64_t nodeid, uint64_t n)
{
	struct msg m;
	struct fuse_forget_in fg = { .nlookup = n };
	msg_start(&m, FUSE_FORGET, nodeid);
	msg_add(&m, &fg, sizeof(fg));
	return call(f, &m);
}

static __attribute__((unused)) int readf(struct fx *f, uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t size)
{
	struct msg m;
	struct fuse_read_in r = { .fh = fh, .offset = off, .size = size };
	msg_start(&m, FUSE_READ, nodeid);
	msg_add(&m, &r, sizeof(r));
	return call(f, &m);
}

static __attribute__((unused)) void host_write(struct fx *f, const char *name, const char *text)
{
	int fd = openat(f->dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static __attribute__((unused)) void host_read(struct fx *f, const char *name, char *buf, size_t len)
{
	int fd = openat(f->dfd, name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

#endif
