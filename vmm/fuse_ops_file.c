/* SPDX-License-Identifier: MIT */
/*
 * FUSE handlers over open file handles, except READ/WRITE (fuse_io.c):
 * OPEN, OPENDIR, CREATE, RELEASE(DIR), FSYNCDIR, FLUSH, LSEEK,
 * COPY_FILE_RANGE.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_ops.h"

static int open_flags(uint32_t f, bool ro)
{
	int acc = (int)f & O_ACCMODE;
	if (acc == O_ACCMODE)
		return -EINVAL;
	if (ro && (acc != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	/* Keep what changes data semantics; drop O_DIRECT (the guest's
	 * alignment is not the host's), O_NOATIME (owner-only on the host),
	 * O_NONBLOCK/O_ASYNC (regular files only) and anything unknown. */
	return acc | ((int)f & (O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)) | O_LARGEFILE;
}

int fuse_op_open(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_open_in *a = r->arg;
	struct fuse_open_out *o = body;
	bool dir = r->h.opcode == FUSE_OPENDIR;

	struct fuse_inode *i = fuse_inode_get(&s->t, r->h.nodeid);
	if (!i)
		return -EINVAL;
	if (dir && i->type != S_IFDIR)
		return -ENOTDIR;
	if (!dir && i->type != S_IFREG)
		return i->type == S_IFDIR ? -EISDIR : i->type == S_IFLNK ? -ELOOP : -EACCES;
	int flags = dir ? O_RDONLY | O_DIRECTORY : open_flags(a->flags, s->cfg.read_only);
	if (flags < 0)
		return flags;
	int fd = fuse_reopen(s, i, flags);
	if (fd < 0)
		return fd;
	memset(o, 0, sizeof(*o));
	int ret = fuse_handle_new(&s->t, r->h.nodeid, fd, dir, &o->fh);
	return ret < 0 ? ret : (int)sizeof(*o);
}

int fuse_op_create(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_create_in *a = r->arg;
	struct fuse_entry_out *e = body;
	struct fuse_open_out *o = (struct fuse_open_out *)(e + 1);
	int err;

	struct fuse_inode *p = fuse_dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	int flags = open_flags(a->flags, s->cfg.read_only);
	if (flags < 0)
		return flags;
	/* Room for the new inode and its handle, checked before anything is
	 * created (CVE-2020-10717). */
	if (!fuse_tables_room(&s->t, 1, 1))
		return -EMFILE;
	/* Always O_EXCL: opening an existing name with O_CREAT could open a
	 * FIFO or device node planted there (CVE-2020-35517). An existing
	 * regular file goes through the checked lookup+reopen path. */
	int fd = fuse_open_beneath(p->fd, r->name, flags | O_CREAT | O_EXCL, fuse_mode_strip(a->mode, false));
	if (fd == -EEXIST && !(a->flags & O_EXCL)) {
		err = fuse_do_lookup(s, p, r->name, e);
		if (err < 0)
			return err;
		fd = fuse_reopen(s, fuse_inode_get(&s->t, e->nodeid), flags);
		if (fd < 0) {
			fuse_inode_forget(&s->t, e->nodeid, 1);
			return fd;
		}
	} else if (fd < 0) {
		return fd;
	} else if ((err = fuse_finish_create(s, r, p, false, e)) < 0) {
		close(fd);
		return err;
	}
	memset(o, 0, sizeof(*o));
	err = fuse_handle_new(&s->t, e->nodeid, fd, false, &o->fh);
	if (err < 0) {
		fuse_inode_forget(&s->t, e->nodeid, 1);
		return err;
	}
	return sizeof(*e) + sizeof(*o);
}

int fuse_op_release(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_release_in *a = r->arg;
	return fuse_handle_release(&s->t, a->fh, r->h.nodeid, r->h.opcode == FUSE_RELEASEDIR);
}

int fuse_op_fsync(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_fsync_in *a = r->arg;
	struct fuse_handle *h = fuse_handle_get(&s->t, a->fh, r->h.nodeid, r->h.opcode == FUSE_FSYNCDIR);
	if (!h)
		return -EBADF;
	int ret = (a->fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(h->fd) : fsync(h->fd);
	return ret < 0 ? -errno : 0;
}

int fuse_op_flush(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_flush_in *a = r->arg;
	/* Nothing buffered here: writes are synchronous. */
	return fuse_handle_get(&s->t, a->fh, r->h.nodeid, false) ? 0 : -EBADF;
}

int fuse_op_lseek(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_lseek_in *a = r->arg;
	struct fuse_lseek_out *o = body;
	if (a->whence != SEEK_DATA && a->whence != SEEK_HOLE && a->whence != SEEK_SET &&
	    a->whence != SEEK_END)
		return -EINVAL;
	struct fuse_handle *h = fuse_handle_get(&s->t, a->fh, r->h.nodeid, false);
	if (!h)
		return -EBADF;
	/* The fd offset is otherwise unused (all I/O is positional). */
	off_t off = lseek(h->fd, (off_t)a->offset, (int)a->whence);
	if (off < 0)
		return -errno;
	o->offset = (uint64_t)off;
	return sizeof(*o);
}

int fuse_op_copy_file_range(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_copy_file_range_in *a = r->arg;
	struct fuse_write_out *o = body;
	struct fuse_handle *hi = fuse_handle_get(&s->t, a->fh_in, r->h.nodeid, false);
	struct fuse_handle *ho = fuse_handle_get(&s->t, a->fh_out, a->nodeid_out, false);
	if (!hi || !ho)
		return -EBADF;
	/* The reply counts in 32 bits: copy at most 1 GiB per request; the
	 * kernel loops on short counts. */
	size_t len = a->len < (1u << 30) ? (size_t)a->len : (1u << 30);
	loff_t oi = (loff_t)a->off_in, oo = (loff_t)a->off_out;
	ssize_t n = copy_file_range(hi->fd, &oi, ho->fd, &oo, len, 0);
	if (n < 0)
		return -errno;
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)n;
	return sizeof(*o);
}
