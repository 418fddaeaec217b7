/* SPDX-License-Identifier: MIT */
/*
 * READ, WRITE, FSYNC and FALLOCATE in three steps (struct fuse_io in
 * fuse_server.h): prepare checks the request and pins the handle, execute
 * makes the one syscall (or an io_uring SQE stands in for it), complete
 * writes the reply and unpins.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "fuse_ops.h"
#include "monotime.h"

int fuse_io_prepare(struct fuse_server *s, const struct fuse_req *r, const struct iovec *in,
		    int nin, const struct iovec *out, int nout, struct fuse_io *io)
{
	uint64_t fh, off;
	size_t len;
	int n;

	/* The metadata operations that only need an fd go the same way as
	 * READ/WRITE (through io_uring when the share has a ring). */
	if (r->h.opcode == FUSE_FSYNC || r->h.opcode == FUSE_FALLOCATE) {
		uint64_t xfh, xoff = 0, xlen = 0;
		uint32_t flags;
		if (r->h.opcode == FUSE_FSYNC) {
			const struct fuse_fsync_in *a = r->arg;
			xfh = a->fh;
			flags = (a->fsync_flags & FUSE_FSYNC_FDATASYNC) ? 1 : 0;
		} else {
			const struct fuse_fallocate_in *a = r->arg;
			const uint32_t known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_ZERO_RANGE | FALLOC_FL_COLLAPSE_RANGE |
					       FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE;
			if (a->mode & ~known)
				return -EOPNOTSUPP;
			if (a->offset > INT64_MAX || a->length > INT64_MAX)
				return -EINVAL;
			xfh = a->fh;
			xoff = a->offset;
			xlen = a->length;
			flags = a->mode;
		}
		struct fuse_handle *xh = fuse_handle_get(&s->t, xfh, r->h.nodeid, false);
		if (!xh)
			return -EBADF;
		io->opcode = r->h.opcode;
		io->flags = flags;
		io->unique = r->h.unique;
		io->h = xh;
		io->fd = xh->fd;
		io->off = (off_t)xoff;
		io->len = (size_t)xlen;
		io->niov = 0;
		fuse_handle_hold(xh);
		s->inflight++;
		io->t0 = 0;
		return 0;
	}
	if (r->h.opcode == FUSE_READ) {
		const struct fuse_read_in *a = r->arg;
		fh = a->fh;
		off = a->offset;
		ssize_t cap = iov_total(out, nout);
		if (cap < (ssize_t)FUSE_OUT_HDR)
			return -EINVAL;
		len = a->size < (size_t)cap - FUSE_OUT_HDR ? a->size : (size_t)cap - FUSE_OUT_HDR;
	} else {
		const struct fuse_write_in *a = r->arg;
		fh = a->fh;
		off = a->offset;
		len = r->payload_len;
	}
	struct fuse_handle *h = fuse_handle_get(&s->t, fh, r->h.nodeid, false);
	if (!h)
		return -EBADF;
	/* No bounce buffer: the syscall reads/writes the request's own
	 * segments (guest memory in the virtio-fs device). */
	if (r->h.opcode == FUSE_READ)
		n = iov_slice(out, nout, FUSE_OUT_HDR, len, io->iov, FUSE_MAX_IOV);
	else
		n = iov_slice(in, nin, r->payload_off, len, io->iov, FUSE_MAX_IOV);
	if (n < 0)
		return -EINVAL;
	io->opcode = r->h.opcode;
	io->unique = r->h.unique;
	io->h = h;
	io->fd = h->fd;
	io->off = (off_t)off;
	io->len = len;
	io->niov = n;
	fuse_handle_hold(h);
	s->inflight++;
	/* --verbose only (clock_gettime is in the fs thread's policy for it) */
	io->t0 = s->cfg.timed ? mono_ns() : 0;
	return 0;
}

ssize_t fuse_io_execute(struct fuse_io *io)
{
	ssize_t n;
	do {
		switch (io->opcode) {
		case FUSE_READ:
			n = preadv(io->fd, io->iov, io->niov, io->off);
			break;
		case FUSE_WRITE:
			n = pwritev(io->fd, io->iov, io->niov, io->off);
			break;
		case FUSE_FSYNC:
			n = io->flags ? fdatasync(io->fd) : fsync(io->fd);
			break;
		case FUSE_FALLOCATE:
			n = fallocate(io->fd, (int)io->flags, io->off, (off_t)io->len);
			break;
		default:
			n = -1;
			errno = EINVAL;
			break;
		}
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t fuse_io_complete(struct fuse_server *s, struct fuse_io *io, ssize_t res,
			 const struct iovec *out, int nout)
{
	fuse_handle_unhold(&s->t, io->h);
	io->h = NULL;
	if (s->inflight > 0)
		s->inflight--;
	if (io->t0 && (io->opcode == FUSE_READ || io->opcode == FUSE_WRITE))
		fuse_stat_add(io->opcode == FUSE_READ ? &s->stats.read_ns : &s->stats.write_ns,
			      mono_ns() - io->t0);
	if (res < 0)
		return fuse_reply_send(out, nout, io->unique, (int)res, NULL, 0);
	if (io->opcode == FUSE_FSYNC || io->opcode == FUSE_FALLOCATE)
		return fuse_reply_send(out, nout, io->unique, 0, NULL, 0);
	if (io->opcode == FUSE_READ) {
		/* The data is already in place after the header. */
		struct fuse_out_header oh = { .len = (uint32_t)(FUSE_OUT_HDR + (size_t)res), .unique = io->unique };
		if (fuse_iov_from_buf(out, nout, 0, &oh, FUSE_OUT_HDR) < 0)
			return -ENOSPC;
		return oh.len;
	}
	struct fuse_write_out wo = { .size = (uint32_t)res };
	return fuse_reply_send(out, nout, io->unique, 0, &wo, sizeof(wo));
}
