/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include <linux/fuse.h>

#include "fs_uring.h"

int fs_uring_queue(struct uring *u, const struct fuse_io *io, uint64_t tag)
{
	/* io_uring would take -1 as "the current file position"; preadv (the
	 * synchronous path) refuses negative offsets, and so do we. */
	if (io->off < 0)
		return -EINVAL;
	struct uring_req r = { .fd = io->fd, .iov = io->iov, .niov = (unsigned)io->niov,
			       .off = (uint64_t)io->off, .len = io->len };
	switch (io->opcode) {
	case FUSE_READ:
		r.op = URING_READV;
		break;
	case FUSE_WRITE:
		r.op = URING_WRITEV;
		break;
	case FUSE_FSYNC:
		r.op = io->flags ? URING_FDATASYNC : URING_FSYNC;
		break;
	default: /* FUSE_FALLOCATE */
		r.op = URING_FALLOCATE;
		r.mode = (int)io->flags;
		break;
	}
	return uring_queue(u, &r, tag);
}
