/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "fs_uring.h"

/* liburing 2.3's shared library does not export its restriction helpers
 * (only liburing.a has them): go to the syscall, it is one line each. */
static int ring_register(struct fs_uring *u, unsigned op, const void *arg, unsigned n)
{
	long r = syscall(__NR_io_uring_register, u->ring.ring_fd, op, arg, n);
	return r < 0 ? -errno : 0;
}

int fs_uring_init(struct fs_uring *u, unsigned depth)
{
	memset(u, 0, sizeof(*u));
	u->efd = -1;
	if (depth == 0 || depth > 4096)
		return -EINVAL;
	/* R_DISABLED: nothing can be submitted until the restrictions are in
	 * place (5.10+; older kernels refuse the flag and we fall back).
	 * Not SINGLE_ISSUER: the submitter would be fixed by whoever enables
	 * the ring, this (main) thread, and the share thread could not submit;
	 * enabling on the share thread would need io_uring_register there. */
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	int r = io_uring_queue_init_params(depth, &u->ring, &p);
	if (r < 0) {
		u->ring.ring_fd = -1;
		return r;
	}
	u->depth = depth;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = io_uring_register_eventfd(&u->ring, u->efd)) < 0)
		goto fail;
	/* Best effort (5.15+): without it io-wq may start up to
	 * min(depth, 4 * CPUs) workers, and a pids.max hit makes the kernel
	 * cancel work (-ECANCELED, which the caller retries synchronously). */
	unsigned workers[2] = { FS_URING_MAX_WORKERS, FS_URING_MAX_WORKERS };
	(void)io_uring_register_iowq_max_workers(&u->ring, workers);
	/* The allowlist, see fs_uring.h. SQE_FLAGS_ALLOWED 0 refuses every
	 * IOSQE_* flag; no IORING_RESTRICTION_REGISTER_OP entry refuses every
	 * io_uring_register operation once the ring is enabled. */
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FALLOCATE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = 0 },
	};
	if ((r = ring_register(u, IORING_REGISTER_RESTRICTIONS, res,
			       sizeof(res) / sizeof(res[0]))) < 0)
		goto fail;
	if ((r = ring_register(u, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0)
		goto fail;
	return 0;
fail:
	fs_uring_fini(u);
	return r;
}

void fs_uring_fini(struct fs_uring *u)
{
	if (u->ring.ring_fd >= 0 && u->depth)
		io_uring_queue_exit(&u->ring);
	if (u->efd >= 0)
		close(u->efd);
	memset(u, 0, sizeof(*u));
	u->efd = -1;
	u->ring.ring_fd = -1;
}

bool fs_uring_has_room(const struct fs_uring *u)
{
	return u->inflight < u->depth;
}

int fs_uring_queue(struct fs_uring *u, const struct fuse_io *io, uint64_t tag)
{
	if (io->off < 0)
		return -EINVAL;
	if (!fs_uring_has_room(u))
		return -EBUSY;
	/* inflight < depth <= SQ entries: an SQE is always free. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;
	/* No bounce buffer: the iovecs point into the request's own buffers
	 * (guest memory). io_uring copies the iovec array at issue or when it
	 * goes async; the buffers themselves stay mapped for the VM's life. */
	switch (io->opcode) {
	case FUSE_READ:
		io_uring_prep_readv(sqe, io->fd, io->iov, (unsigned)io->niov, (uint64_t)io->off);
		break;
	case FUSE_WRITE:
		io_uring_prep_writev(sqe, io->fd, io->iov, (unsigned)io->niov, (uint64_t)io->off);
		break;
	case FUSE_FSYNC:
		io_uring_prep_fsync(sqe, io->fd, io->flags ? IORING_FSYNC_DATASYNC : 0);
		break;
	default: /* FUSE_FALLOCATE */
		io_uring_prep_fallocate(sqe, io->fd, (int)io->flags, (uint64_t)io->off, (uint64_t)io->len);
		break;
	}
	io_uring_sqe_set_data64(sqe, tag);
	u->inflight++;
	u->unsubmitted++;
	return 0;
}

int fs_uring_submit(struct fs_uring *u)
{
	while (u->unsubmitted) {
		int r = io_uring_submit(&u->ring);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (r == 0)
			return -EAGAIN;
		u->unsubmitted -= (unsigned)r < u->unsubmitted ? (unsigned)r : u->unsubmitted;
	}
	return 0;
}

unsigned fs_uring_reap(struct fs_uring *u, fs_uring_done_fn done, void *opaque)
{
	uint64_t v;
	unsigned n = 0;
	struct io_uring_cqe *cqe;

	/* Cleared before reaping: a CQE posted after this read signals again. */
	(void)!read(u->efd, &v, sizeof(v));
	while (u->inflight && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);
		int32_t res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		u->inflight--;
		n++;
		done(opaque, tag, res);
	}
	return n;
}

int fs_uring_drain(struct fs_uring *u, fs_uring_done_fn done, void *opaque)
{
	int r = fs_uring_submit(u);
	if (r < 0)
		return r;
	while (u->inflight) {
		r = io_uring_submit_and_wait(&u->ring, 1);
		if (r < 0 && r != -EINTR)
			return r;
		fs_uring_reap(u, done, opaque);
	}
	return 0;
}
