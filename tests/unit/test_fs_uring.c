/* SPDX-License-Identifier: MIT */
/* The shares' io_uring engine (vmm/fs_uring.c) with a real ring and a real
 * FUSE server over a temp directory: READ/WRITE prepared by
 * fuse_server_submit, executed as SQEs, completed from CQEs; many in flight;
 * the ring's restrictions; the pin that keeps an fd open across RELEASE;
 * and the synchronous fallback when io_uring_setup is refused. Skips when
 * this kernel has no usable io_uring. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/fuse.h>
#include <linux/seccomp.h>

#include <cmocka.h>
#include <linux/falloc.h>

#include "fs_uring.h"
#include "fuse_server.h"

#define FILE_SIZE (1u << 20)
#define DEPTH 16u

struct env {
	char dir[64];
	int file_fd;          /* the test's own view of the file */
	struct fuse_server *s;
	uint64_t nodeid, fh;
	struct uring u;
};

static uint8_t pattern(size_t off)
{
	return (uint8_t)(off * 7 + (off >> 12));
}

/* ---- requests ------------------------------------------------------------------ */

struct msg {
	uint8_t b[4096 + 65536];
	size_t len;
};

static void msg_build(struct msg *m, uint32_t opcode, uint64_t nodeid, uint64_t unique,
		      const void *arg, size_t alen, const void *payload, size_t plen)
{
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + alen + plen),
		.opcode = opcode,
		.unique = unique,
		.nodeid = nodeid,
	};
	memcpy(m->b, &h, sizeof(h));
	if (alen)
		memcpy(m->b + sizeof(h), arg, alen);
	if (plen)
		memcpy(m->b + sizeof(h) + alen, payload, plen);
	m->len = h.len;
}

/* A reply buffer as a guest gives it: header segment + data segment. */
struct reply {
	struct fuse_out_header oh;
	uint8_t data[65536];
	struct iovec iov[2];
};

static void reply_init(struct reply *r, size_t data_cap)
{
	memset(&r->oh, 0xee, sizeof(r->oh));
	r->iov[0] = (struct iovec){ &r->oh, sizeof(r->oh) };
	r->iov[1] = (struct iovec){ r->data, data_cap };
}

static ssize_t sync_req(struct env *e, uint32_t op, uint64_t nodeid, const void *arg, size_t alen,
			struct reply *rep)
{
	static struct msg m;
	msg_build(&m, op, nodeid, 1, arg, alen, NULL, 0);
	struct iovec in = { m.b, m.len };
	reply_init(rep, sizeof(rep->data));
	return fuse_server_handle(e->s, &in, 1, rep->iov, 2);
}

/* ---- fixture ------------------------------------------------------------------- */

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	strcpy(e->dir, "/tmp/test_fs_uring.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/f", e->dir);
	e->file_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(e->file_fd >= 0);
	uint8_t *buf = malloc(FILE_SIZE);
	assert_non_null(buf);
	for (size_t i = 0; i < FILE_SIZE; i++)
		buf[i] = pattern(i);
	assert_int_equal(pwrite(e->file_fd, buf, FILE_SIZE, 0), FILE_SIZE);
	free(buf);

	e->s = calloc(1, sizeof(*e->s));
	assert_non_null(e->s);
	struct fuse_server_config c = {
		.root_fd = open(e->dir, O_PATH | O_DIRECTORY | O_CLOEXEC),
		.proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC),
		.host_uid = getuid(), .host_gid = getgid(),
	};
	assert_int_equal(fuse_server_init(e->s, &c), 0);

	struct reply rep;
	struct fuse_init_in ii = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION };
	assert_true(sync_req(e, FUSE_INIT, 0, &ii, sizeof(ii), &rep) > 0);
	assert_int_equal(rep.oh.error, 0);
	assert_true(sync_req(e, FUSE_LOOKUP, FUSE_ROOT_ID, "f", 2, &rep) > 0);
	assert_int_equal(rep.oh.error, 0);
	e->nodeid = ((struct fuse_entry_out *)rep.data)->nodeid;
	struct fuse_open_in oi = { .flags = O_RDWR };
	assert_true(sync_req(e, FUSE_OPEN, e->nodeid, &oi, sizeof(oi), &rep) > 0);
	assert_int_equal(rep.oh.error, 0);
	e->fh = ((struct fuse_open_out *)rep.data)->fh;

	e->u.efd = -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (e->u.depth)
		uring_fini(&e->u);
	int proc_fd = e->s->cfg.proc_self_fd;
	fuse_server_destroy(e->s);
	close(proc_fd);
	free(e->s);
	close(e->file_fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	(void)!system(cmd);
	free(e);
	return 0;
}

static void need_uring(struct env *e)
{
	int r = uring_init(&e->u, DEPTH);
	if (r < 0) {
		fprintf(stderr, "io_uring unusable here (%s): skipping\n", strerror(-r));
		skip();
	}
}

/* One READ/WRITE on its way through the engine. */
struct op {
	struct msg m;
	struct iovec in;
	struct reply rep;
	struct fuse_io io;
	int32_t res;
	bool done;
};

static struct op ops[DEPTH];

static void op_read(struct env *e, struct op *o, uint64_t off, uint32_t size)
{
	struct fuse_read_in a = { .fh = e->fh, .offset = off, .size = size };
	msg_build(&o->m, FUSE_READ, e->nodeid, 100 + (uint64_t)(o - ops), &a, sizeof(a), NULL, 0);
	o->in = (struct iovec){ o->m.b, o->m.len };
	reply_init(&o->rep, size);
	o->done = false;
}

static void op_write(struct env *e, struct op *o, uint64_t off, const void *data, uint32_t size)
{
	struct fuse_write_in a = { .fh = e->fh, .offset = off, .size = size };
	msg_build(&o->m, FUSE_WRITE, e->nodeid, 100 + (uint64_t)(o - ops), &a, sizeof(a), data, size);
	o->in = (struct iovec){ o->m.b, o->m.len };
	reply_init(&o->rep, sizeof(struct fuse_write_out));
	o->done = false;
}

static ssize_t op_submit(struct env *e, struct op *o)
{
	return fuse_server_submit(e->s, &o->in, 1, o->rep.iov, 2, &o->io);
}

static void on_done(void *opaque, uint64_t tag, int32_t res)
{
	struct env *e = opaque;
	assert_true(tag < DEPTH);
	assert_false(ops[tag].done);
	ops[tag].res = res;
	ops[tag].done = true;
	/* As vmm/fs.c does: the reply is formed from the CQE. */
	fuse_io_complete(e->s, &ops[tag].io, res, ops[tag].rep.iov, 2);
}

static void check_data(const uint8_t *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(off + i))
			fail_msg("byte %zu of the read at %llu differs", i, (unsigned long long)off);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_write_then_read(void **state)
{
	struct env *e = *state;
	need_uring(e);
	static uint8_t data[8192];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)~pattern(4096 + i);

	op_write(e, &ops[0], 4096, data, sizeof(data));
	assert_int_equal(op_submit(e, &ops[0]), -EINPROGRESS);
	assert_int_equal(e->s->inflight, 1);
	assert_int_equal(fs_uring_queue(&e->u, &ops[0].io, 0), 0);
	assert_int_equal(uring_drain(&e->u, on_done, e), 0);
	assert_true(ops[0].done);
	assert_int_equal(ops[0].res, sizeof(data));
	assert_int_equal(ops[0].rep.oh.error, 0);
	assert_int_equal(ops[0].rep.oh.unique, 100);
	assert_int_equal(ops[0].rep.oh.len, sizeof(struct fuse_out_header) + sizeof(struct fuse_write_out));
	assert_int_equal(((struct fuse_write_out *)ops[0].rep.data)->size, sizeof(data));
	assert_int_equal(e->s->inflight, 0);
	uint8_t back[8192];
	assert_int_equal(pread(e->file_fd, back, sizeof(back), 4096), sizeof(back));
	assert_memory_equal(back, data, sizeof(data));

	op_read(e, &ops[1], 4096, sizeof(data));
	assert_int_equal(op_submit(e, &ops[1]), -EINPROGRESS);
	assert_int_equal(fs_uring_queue(&e->u, &ops[1].io, 1), 0);
	assert_int_equal(uring_drain(&e->u, on_done, e), 0);
	assert_int_equal(ops[1].rep.oh.error, 0);
	assert_int_equal(ops[1].rep.oh.len, sizeof(struct fuse_out_header) + sizeof(data));
	assert_memory_equal(ops[1].rep.data, data, sizeof(data));
}

static void test_many_in_flight(void **state)
{
	struct env *e = *state;
	need_uring(e);
	for (unsigned i = 0; i < DEPTH; i++) {
		op_read(e, &ops[i], (uint64_t)i * 65536, 65536);
		assert_int_equal(op_submit(e, &ops[i]), -EINPROGRESS);
		assert_int_equal(fs_uring_queue(&e->u, &ops[i].io, i), 0);
	}
	/* The bound: no room for a 17th until a CQE is reaped. */
	assert_false(uring_has_room(&e->u));
	assert_int_equal(fs_uring_queue(&e->u, &ops[0].io, 0), -EBUSY);
	assert_int_equal(e->s->inflight, DEPTH);
	assert_int_equal(uring_submit(&e->u), 0);
	assert_int_equal(e->u.inflight, DEPTH);
	assert_int_equal(uring_drain(&e->u, on_done, e), 0);
	for (unsigned i = 0; i < DEPTH; i++) {
		assert_true(ops[i].done);
		assert_int_equal(ops[i].res, 65536);
		assert_int_equal(ops[i].rep.oh.unique, 100 + i);
		assert_int_equal(ops[i].rep.oh.len, sizeof(struct fuse_out_header) + 65536);
		check_data(ops[i].rep.data, (uint64_t)i * 65536, 65536);
	}
	assert_true(uring_has_room(&e->u));
	assert_int_equal(e->s->inflight, 0);
}

/* READ across EOF returns what is there; the reply says so. */
static void test_short_read(void **state)
{
	struct env *e = *state;
	need_uring(e);
	op_read(e, &ops[0], FILE_SIZE - 100, 4096);
	assert_int_equal(op_submit(e, &ops[0]), -EINPROGRESS);
	assert_int_equal(fs_uring_queue(&e->u, &ops[0].io, 0), 0);
	assert_int_equal(uring_drain(&e->u, on_done, e), 0);
	assert_int_equal(ops[0].res, 100);
	assert_int_equal(ops[0].rep.oh.len, sizeof(struct fuse_out_header) + 100);
	check_data(ops[0].rep.data, FILE_SIZE - 100, 100);
}

/* A guest offset of 2^64-1 is -1 as off_t, which io_uring would take as
 * "the file position". The decoder already refuses offsets beyond
 * INT64_MAX; the engine refuses a negative one on its own as well. */
static void test_negative_offset(void **state)
{
	struct env *e = *state;
	need_uring(e);
	op_read(e, &ops[0], UINT64_MAX, 4096);
	assert_int_equal(op_submit(e, &ops[0]), sizeof(struct fuse_out_header));
	assert_int_equal(ops[0].rep.oh.error, -EINVAL);
	assert_int_equal(e->s->inflight, 0);

	op_read(e, &ops[0], 0, 4096);
	assert_int_equal(op_submit(e, &ops[0]), -EINPROGRESS);
	ops[0].io.off = -1;
	assert_int_equal(fs_uring_queue(&e->u, &ops[0].io, 0), -EINVAL);
	assert_int_equal(e->u.inflight, 0);
	fuse_io_complete(e->s, &ops[0].io, -EINVAL, ops[0].rep.iov, 2);
	assert_int_equal(ops[0].rep.oh.error, -EINVAL);
	assert_int_equal(e->s->inflight, 0);
}

static int32_t submit_one(struct env *e, struct io_uring_sqe *sqe)
{
	struct io_uring_cqe *cqe;
	io_uring_sqe_set_data64(sqe, 77);
	assert_int_equal(io_uring_submit(&e->u.ring), 1);
	assert_int_equal(io_uring_wait_cqe(&e->u.ring, &cqe), 0);
	assert_int_equal(io_uring_cqe_get_data64(cqe), 77);
	int32_t res = cqe->res;
	io_uring_cqe_seen(&e->u.ring, cqe);
	return res;
}

/* Restricted ring: non-allowed opcodes and any SQE flag fail with -EACCES
 * in the CQE; an allowed one works; io_uring_register is refused. */
static void test_restrictions(void **state)
{
	struct env *e = *state;
	need_uring(e);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->u.ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_int_equal(submit_one(e, sqe), -EACCES);

	sqe = io_uring_get_sqe(&e->u.ring);
	io_uring_prep_nop(sqe);
	assert_int_equal(submit_one(e, sqe), -EACCES);

	static char buf[16];
	static struct iovec iov = { buf, sizeof(buf) };
	sqe = io_uring_get_sqe(&e->u.ring);
	io_uring_prep_readv(sqe, e->file_fd, &iov, 1, 0);
	sqe->flags |= IOSQE_ASYNC;
	assert_int_equal(submit_one(e, sqe), -EACCES);

	sqe = io_uring_get_sqe(&e->u.ring);
	io_uring_prep_readv(sqe, e->file_fd, &iov, 1, 0);
	assert_int_equal(submit_one(e, sqe), sizeof(buf));
	assert_int_equal((uint8_t)buf[3], pattern(3));

	/* FSYNC and FALLOCATE are allowed (FUSE_FSYNC/FUSE_FALLOCATE go
	 * through the ring): whatever they return, it is not the restriction's
	 * -EACCES. */
	sqe = io_uring_get_sqe(&e->u.ring);
	io_uring_prep_fsync(sqe, e->file_fd, IORING_FSYNC_DATASYNC);
	assert_int_equal(submit_one(e, sqe), 0);
	sqe = io_uring_get_sqe(&e->u.ring);
	io_uring_prep_fallocate(sqe, e->file_fd, FALLOC_FL_KEEP_SIZE, 0, 4096);
	assert_int_not_equal(submit_one(e, sqe), -EACCES);

	int fd = eventfd(0, EFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(io_uring_register_eventfd(&e->u.ring, fd), -EACCES);
	unsigned w[2] = { 1, 1 };
	assert_int_equal(io_uring_register_iowq_max_workers(&e->u.ring, w), -EACCES);
	close(fd);
}

/* RELEASE while a READ is in flight: the fd stays open until the CQE. */
static void test_release_in_flight(void **state)
{
	struct env *e = *state;
	need_uring(e);
	op_read(e, &ops[0], 8192, 4096);
	assert_int_equal(op_submit(e, &ops[0]), -EINPROGRESS);
	int fd = ops[0].io.fd;
	assert_int_equal(fs_uring_queue(&e->u, &ops[0].io, 0), 0);

	struct reply rep;
	struct fuse_release_in ri = { .fh = e->fh };
	assert_true(sync_req(e, FUSE_RELEASE, e->nodeid, &ri, sizeof(ri), &rep) > 0);
	assert_int_equal(rep.oh.error, 0);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	/* The handle is gone for the guest already. */
	op_read(e, &ops[1], 0, 16);
	assert_int_equal(op_submit(e, &ops[1]), sizeof(struct fuse_out_header));
	assert_int_equal(ops[1].rep.oh.error, -EBADF);

	assert_int_equal(uring_drain(&e->u, on_done, e), 0);
	assert_int_equal(ops[0].res, 4096);
	check_data(ops[0].rep.data, 8192, 4096);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

/* DESTROY would close the fds of I/O in flight: refused until it is done. */
static void test_destroy_waits(void **state)
{
	struct env *e = *state;
	need_uring(e);
	op_read(e, &ops[0], 0, 4096);
	assert_int_equal(op_submit(e, &ops[0]), -EINPROGRESS);
	assert_int_equal(fs_uring_queue(&e->u, &ops[0].io, 0), 0);
	static struct msg m;
	msg_build(&m, FUSE_DESTROY, 0, 5, NULL, 0, NULL, 0);
	struct iovec in = { m.b, m.len };
	struct reply rep;
	struct fuse_io io;
	reply_init(&rep, sizeof(rep.data));
	assert_int_equal(fuse_server_submit(e->s, &in, 1, rep.iov, 2, &io), -EBUSY);
	assert_int_equal(uring_drain(&e->u, on_done, e), 0);
	check_data(ops[0].rep.data, 0, 4096);
	assert_int_equal(fuse_server_submit(e->s, &in, 1, rep.iov, 2, &io),
			 sizeof(struct fuse_out_header));
	assert_int_equal(rep.oh.error, 0);
}

/* The fallback: where io_uring_setup is refused (here by a seccomp filter,
 * as a container runtime's may), uring_init fails cleanly and the same
 * request is served synchronously with the same reply. */
static void test_fallback(void **state)
{
	struct env *e = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(2);
		struct uring u;
		if (uring_init(&u, DEPTH) != -EPERM || u.efd != -1 || u.ring.ring_fd != -1)
			_exit(3);
		uring_fini(&u); /* safe on a failed init */
		op_read(e, &ops[0], 12345, 1000);
		ssize_t n = fuse_server_handle(e->s, &ops[0].in, 1, ops[0].rep.iov, 2);
		if (n != (ssize_t)sizeof(struct fuse_out_header) + 1000 || ops[0].rep.oh.error)
			_exit(4);
		for (size_t i = 0; i < 1000; i++)
			if (ops[0].rep.data[i] != pattern(12345 + i))
				_exit(5);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(uring_init(&e->u, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restrictions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
