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

static int open_flags(const struct fuse_server *s, uint32_t f)
{
	int acc = (int)f & O_ACCMODE;
	if (acc == O_ACCMODE)
		return -EINVAL;
	if (s->cfg.read_only && (acc != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	/* Keep what changes data semantics; drop O_DIRECT (the guest's
	 * alignment is not the host's), O_NOATIME (owner-only on the host),
	 * O_NONBLOCK/O_ASYNC (regular files only) and anything unknown. */
	int flags = acc | ((int)f & (O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)) | O_LARGEFILE;
	if (s->writeback) {
		/* The guest's page cache writes back whole pages at offsets it
		 * computed itself: a partly written page is first read through
		 * the writer's handle (so O_WRONLY becomes O_RDWR; see
		 * reopen_rw), and the guest already placed O_APPEND data at its
		 * own end of file (the host's O_APPEND would move it). */
		flags &= ~O_APPEND;
		if (acc == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
	}
	return flags;
}

/* fuse_reopen, except that an O_RDWR that open_flags made of the guest's
 * O_WRONLY falls back to O_WRONLY where the host file is not readable (a
 * mode 0200 file): whole-page writes still work then; only a partial page
 * (whose rest must be read) fails. */
static int reopen_rw(struct fuse_server *s, struct fuse_inode *i, int flags, uint32_t guest_flags)
{
	int fd = fuse_reopen(s, i, flags);
	if (fd == -EACCES && s->writeback && (guest_flags & O_ACCMODE) == O_WRONLY)
		fd = fuse_reopen(s, i, (flags & ~O_ACCMODE) | O_WRONLY);
	return fd;
}

/*
 * FOPEN_DIRECT_IO for this open? It takes the guest's page cache out of the
 * data path: the kernel pins the caller's buffer and READ/WRITE move the
 * bytes between it and the host file directly, one copy instead of two
 * (caller <-> page cache <-> host): measured 2x on sequential streams
 * (README, "Cache modes"). The cost is the page cache's benefits: every
 * read() is a round trip (no read-ahead, nothing cached) and a MAP_SHARED
 * mapping fails with ENODEV (6.1 has no FUSE_DIRECT_IO_ALLOW_MMAP). So:
 *   cache=none: every open;
 *   cache=writeback: never (the point there is the page cache);
 *   cache=auto: a write-only open of a file no one in the guest has open
 *     (i->nhandles, before this one): an O_WRONLY fd cannot be mmapped and
 *     each write() is a synchronous WRITE either way, so only the copy is
 *     saved; the open drops whatever pages closed fds left cached (no
 *     FOPEN_KEEP_CACHE). While such a handle is open, every further open
 *     of the file is direct too (i->ndirect): a cached reader beside a
 *     direct writer would keep stale pages, and the mtime that should
 *     drop them can stay the same within the host's timestamp tick (an
 *     append landing in a page the reader cached as past EOF would read
 *     as zeros). So the handles of an inode are all direct or all cached;
 *     the price is that mapping a file MAP_SHARED while another process
 *     writes it through `>` fails (ENODEV).
 */
static bool open_direct(const struct fuse_server *s, const struct fuse_inode *i, uint32_t guest_flags)
{
	if (s->cfg.direct_io)
		return true;
	if (s->writeback)
		return false;
	if (i->ndirect > 0)
		return true;
	return (guest_flags & O_ACCMODE) == O_WRONLY && i->nhandles == 0;
}

/* Record the handle just made for nodeid as direct and say so in the reply. */
static void set_direct(struct fuse_server *s, uint64_t nodeid, uint64_t fh, struct fuse_open_out *o)
{
	struct fuse_handle *h = fuse_handle_get(&s->t, fh, nodeid, false);
	if (!h)
		return;
	fuse_handle_mark_direct(&s->t, h);
	o->open_flags |= FOPEN_DIRECT_IO;
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
	int flags = dir ? O_RDONLY | O_DIRECTORY : open_flags(s, a->flags);
	if (flags < 0)
		return flags;
	int fd = dir ? fuse_reopen(s, i, flags) : reopen_rw(s, i, flags, a->flags);
	if (fd < 0)
		return fd;
	memset(o, 0, sizeof(*o));
	bool direct = !dir && open_direct(s, i, a->flags);
	int ret = fuse_handle_new(&s->t, r->h.nodeid, fd, dir, &o->fh);
	if (ret < 0)
		return ret;
	if (direct)
		set_direct(s, r->h.nodeid, o->fh, o);
	return sizeof(*o);
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
	int flags = open_flags(s, a->flags);
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
		fd = reopen_rw(s, fuse_inode_get(&s->t, e->nodeid), flags, a->flags);
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
	struct fuse_inode *ci = fuse_inode_get(&s->t, e->nodeid);
	bool direct = ci && open_direct(s, ci, a->flags);
	err = fuse_handle_new(&s->t, e->nodeid, fd, false, &o->fh);
	if (err < 0) {
		fuse_inode_forget(&s->t, e->nodeid, 1);
		return err;
	}
	if (direct)
		set_direct(s, e->nodeid, o->fh, o);
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
	/* Nothing buffered here: writes are synchronous (with writeback
	 * caching the guest writes its dirty pages back before FLUSH). */
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
