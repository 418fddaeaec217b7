/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "uring.h"

/* liburing 2.3's shared library does not export its restriction helpers
 * (only liburing.a has them): go to the syscall, it is one line each. */
static int ring_register(struct uring *u, unsigned op, const void *arg, unsigned n)
{
	long r = syscall(__NR_io_uring_register, u->ring.ring_fd, op, arg, n);
	return r < 0 ? -errno : 0;
}

int uring_init(struct uring *u, unsigned depth)
{
	memset(u, 0, sizeof(*u));
	u->efd = -1;
	if (depth == 0 || depth > 4096)
		return -EINVAL;
	/* R_DISABLED: nothing can be submitted until the restrictions are in
	 * place (5.10+; older kernels refuse the flag and we fall back).
	 * Not SINGLE_ISSUER: the submitter would be fixed by whoever enables
	 * the ring, this (main) thread, and the device thread could not submit;
	 * enabling on the device thread would need io_uring_register there. */
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
	unsigned workers[2] = { URING_MAX_WORKERS, URING_MAX_WORKERS };
	(void)io_uring_register_iowq_max_workers(&u->ring, workers);
	/* The allowlist, see uring.h. SQE_FLAGS_ALLOWED 0 refuses every
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
	uring_fini(u);
	return r;
}

void uring_fini(struct uring *u)
{
	if (u->ring.ring_fd >= 0 && u->depth)
		io_uring_queue_exit(&u->ring);
	if (u->efd >= 0)
		close(u->efd);
	memset(u, 0, sizeof(*u));
	u->efd = -1;
	u->ring.ring_fd = -1;
}

bool uring_has_room(const struct uring *u)
{
	return u->inflight < u->depth;
}

int uring_queue(struct uring *u, const struct uring_req *r, uint64_t tag)
{
	if (r->off > (uint64_t)INT64_MAX || r->len > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (!uring_has_room(u))
		return -EBUSY;
	/* inflight < depth <= SQ entries: an SQE is always free. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe)
		return -EBUSY;
	/* No bounce buffer: the iovecs point into guest memory, which stays
	 * mapped for the VM's life. */
	switch (r->op) {
	case URING_READV:
		io_uring_prep_readv(sqe, r->fd, r->iov, r->niov, r->off);
		break;
	case URING_WRITEV:
		io_uring_prep_writev(sqe, r->fd, r->iov, r->niov, r->off);
		break;
	case URING_FSYNC:
		io_uring_prep_fsync(sqe, r->fd, 0);
		break;
	case URING_FDATASYNC:
		io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
		break;
	case URING_FALLOCATE:
		io_uring_prep_fallocate(sqe, r->fd, r->mode, r->off, r->len);
		break;
	default:
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, tag);
	u->inflight++;
	u->unsubmitted++;
	return 0;
}

int64_t uring_execute(const struct uring_req *r)
{
	ssize_t n;
	if (r->off > (uint64_t)INT64_MAX || r->len > (uint64_t)INT64_MAX)
		return -EINVAL;
	switch (r->op) {
	case URING_READV:
		n = preadv(r->fd, r->iov, (int)r->niov, (off_t)r->off);
		break;
	case URING_WRITEV:
		n = pwritev(r->fd, r->iov, (int)r->niov, (off_t)r->off);
		break;
	case URING_FSYNC:
		n = fsync(r->fd);
		break;
	case URING_FDATASYNC:
		n = fdatasync(r->fd);
		break;
	case URING_FALLOCATE:
		n = fallocate(r->fd, r->mode, (off_t)r->off, (off_t)r->len);
		break;
	default:
		return -EINVAL;
	}
	return n < 0 ? -errno : (int64_t)n;
}

int uring_submit(struct uring *u)
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

unsigned uring_reap(struct uring *u, uring_done_fn done, void *opaque)
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

int uring_drain(struct uring *u, uring_done_fn done, void *opaque)
{
	int r = uring_submit(u);
	if (r < 0)
		return r;
	while (u->inflight) {
		r = io_uring_submit_and_wait(&u->ring, 1);
		if (r < 0 && r != -EINTR)
			return r;
		uring_reap(u, done, opaque);
	}
	return 0;
}
