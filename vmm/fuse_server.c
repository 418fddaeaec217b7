/* SPDX-License-Identifier: MIT */
/*
 * The FUSE server's entry points: decode a request, apply the checks every
 * opcode shares (initialised, read-only share), dispatch through the opcode
 * table, send the reply. The handlers live in fuse_ops_*.c and fuse_io.c;
 * the threat model is in fuse_server.h.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse_ops.h"

ssize_t fuse_reply_send(const struct iovec *out, int nout, uint64_t unique, int err,
			const void *body, size_t len)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(FUSE_OUT_HDR + (err ? 0 : len)),
		.error = err,
		.unique = unique,
	};
	if (fuse_iov_from_buf(out, nout, 0, &oh, FUSE_OUT_HDR) < 0)
		return -ENOSPC;
	if (!err && len && fuse_iov_from_buf(out, nout, FUSE_OUT_HDR, body, len) < 0) {
		/* The guest's reply buffers cannot hold the reply. */
		oh.len = FUSE_OUT_HDR;
		oh.error = -EINVAL;
		fuse_iov_from_buf(out, nout, 0, &oh, FUSE_OUT_HDR);
		return FUSE_OUT_HDR;
	}
	return oh.len;
}

static void op_forget(struct fuse_server *s, const struct fuse_req *r)
{
	if (r->h.opcode == FUSE_FORGET) {
		const struct fuse_forget_in *a = r->arg;
		fuse_inode_forget(&s->t, r->h.nodeid, a->nlookup);
		return;
	}
	const struct fuse_forget_one *f = r->value;
	for (uint32_t k = 0; k < r->value_len; k++)
		fuse_inode_forget(&s->t, f[k].nodeid, f[k].nlookup);
}

static int op_destroy(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	fuse_tables_reset(&s->t);
	s->initialized = false;
	return 0;
}

/* Every opcode with a synchronous handler. READ, WRITE, FSYNC and FALLOCATE
 * take the fuse_io path (serve); FORGET, BATCH_FORGET and INTERRUPT get no
 * reply. Anything not named here (SETLK, BMAP, IOCTL, POLL, ...) is ENOSYS. */
static fuse_op_fn *const ops[] = {
	[FUSE_INIT] = fuse_op_init,
	[FUSE_DESTROY] = op_destroy,
	[FUSE_LOOKUP] = fuse_op_lookup,
	[FUSE_GETATTR] = fuse_op_getattr,
	[FUSE_SETATTR] = fuse_op_setattr,
	[FUSE_READLINK] = fuse_op_readlink,
	[FUSE_MKDIR] = fuse_op_mkobj,
	[FUSE_MKNOD] = fuse_op_mkobj,
	[FUSE_SYMLINK] = fuse_op_mkobj,
	[FUSE_UNLINK] = fuse_op_remove,
	[FUSE_RMDIR] = fuse_op_remove,
	[FUSE_RENAME] = fuse_op_rename,
	[FUSE_RENAME2] = fuse_op_rename,
	[FUSE_LINK] = fuse_op_link,
	[FUSE_OPEN] = fuse_op_open,
	[FUSE_OPENDIR] = fuse_op_open,
	[FUSE_CREATE] = fuse_op_create,
	[FUSE_RELEASE] = fuse_op_release,
	[FUSE_RELEASEDIR] = fuse_op_release,
	[FUSE_FSYNCDIR] = fuse_op_fsync,
	[FUSE_FLUSH] = fuse_op_flush,
	[FUSE_STATFS] = fuse_op_statfs,
	[FUSE_ACCESS] = fuse_op_access,
	[FUSE_GETXATTR] = fuse_op_xattr,
	[FUSE_LISTXATTR] = fuse_op_xattr,
	[FUSE_SETXATTR] = fuse_op_xattr,
	[FUSE_REMOVEXATTR] = fuse_op_xattr,
	[FUSE_LSEEK] = fuse_op_lseek,
	[FUSE_COPY_FILE_RANGE] = fuse_op_copy_file_range,
	[FUSE_READDIR] = fuse_op_readdir,
	[FUSE_READDIRPLUS] = fuse_op_readdir,
};

/* The opcode is the guest's: bounded by the table before it indexes it. */
static int dispatch(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	uint32_t op = r->h.opcode;
	if (op >= sizeof(ops) / sizeof(ops[0]) || !ops[op])
		return -ENOSYS;
	return ops[op](s, r, body, cap);
}

/* async: where to leave a prepared READ/WRITE (fuse_server_submit), or NULL
 * to execute it here. */
static ssize_t serve(struct fuse_server *s, const struct iovec *in, int nin,
		     const struct iovec *out, int nout, struct fuse_io *async)
{
	struct fuse_req r;

	ssize_t ocap = iov_total(out, nout);
	if (ocap < (ssize_t)FUSE_OUT_HDR)
		return -ENOSPC;
	int ret = fuse_decode(in, nin, s->scratch, sizeof(s->scratch), FUSE_MAX_IO, &r);
	if (ret == -EBADMSG)
		return ret;
	uint32_t op = r.h.opcode;
	fuse_stat_add(&s->stats.requests, 1);
	fuse_stat_add(&s->stats.by_op[op < FUSE_STATS_OPS ? op : FUSE_STATS_OPS - 1], 1);
	/* FORGET, BATCH_FORGET and INTERRUPT never get a reply, even when
	 * malformed. INTERRUPT is ignored: every request completes before
	 * the next is read. */
	if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INTERRUPT) {
		if (ret == 0 && op != FUSE_INTERRUPT && s->initialized)
			op_forget(s, &r);
		return 0;
	}
	if (ret == 0 && !s->initialized && op != FUSE_INIT)
		ret = -EIO;
	if (ret == 0 && s->cfg.read_only && fuse_opcode_modifies(op))
		ret = -EROFS;
	if (ret < 0)
		return fuse_reply_send(out, nout, r.h.unique, ret, NULL, 0);

	if (op == FUSE_READ || op == FUSE_WRITE || op == FUSE_FSYNC || op == FUSE_FALLOCATE) {
		struct fuse_io *io = async ? async : &s->io;
		ret = fuse_io_prepare(s, &r, in, nin, out, nout, io);
		if (ret < 0)
			return fuse_reply_send(out, nout, r.h.unique, ret, NULL, 0);
		if (op == FUSE_READ) {
			fuse_stat_add(&s->stats.reads, 1);
			fuse_stat_add(&s->stats.read_bytes, io->len);
		} else if (op == FUSE_WRITE) {
			fuse_stat_add(&s->stats.writes, 1);
			fuse_stat_add(&s->stats.write_bytes, io->len);
		}
		if (async)
			return -EINPROGRESS;
		return fuse_io_complete(s, io, fuse_io_execute(io), out, nout);
	}
	/* DESTROY closes every handle fd, pinned or not: an SQE still in
	 * flight would then read or write whatever file reuses the number. */
	if (op == FUSE_DESTROY && s->inflight > 0)
		return -EBUSY;

	void *body = (char *)s->reply + FUSE_OUT_HDR;
	size_t cap = sizeof(s->reply) - FUSE_OUT_HDR;
	if ((size_t)ocap - FUSE_OUT_HDR < cap)
		cap = (size_t)ocap - FUSE_OUT_HDR;
	ret = dispatch(s, &r, body, cap);
	return fuse_reply_send(out, nout, r.h.unique, ret < 0 ? ret : 0, body, ret < 0 ? 0 : (size_t)ret);
}

ssize_t fuse_server_handle(struct fuse_server *s, const struct iovec *in, int nin,
			   const struct iovec *out, int nout)
{
	return serve(s, in, nin, out, nout, NULL);
}

ssize_t fuse_server_submit(struct fuse_server *s, const struct iovec *in, int nin,
			   const struct iovec *out, int nout, struct fuse_io *io)
{
	return serve(s, in, nin, out, nout, io);
}

int fuse_server_init(struct fuse_server *s, const struct fuse_server_config *c)
{
	memset(s, 0, offsetof(struct fuse_server, io));
	s->cfg = *c;
	if (!s->cfg.max_fds)
		s->cfg.max_fds = FUSE_SERVER_DEFAULT_MAX_FDS;
	int ret = fuse_tables_init(&s->t, c->root_fd, s->cfg.max_fds);
	if (ret < 0)
		return ret;
	if (s->cfg.dir_mem_max)
		s->t.dir_mem.max = s->cfg.dir_mem_max;
	umask(0); /* see fuse_server.h */
	return 0;
}

void fuse_server_destroy(struct fuse_server *s)
{
	fuse_tables_destroy(&s->t); /* closes root_fd; proc_self_fd is borrowed */
}
