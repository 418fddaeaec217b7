/* SPDX-License-Identifier: MIT */
/*
 * FUSE READDIR and READDIRPLUS over an open directory handle; the entries
 * come from the handle's stream (fuse_dir.h).
 */
#include <errno.h>
#include <string.h>

#include "fuse_dir.h"
#include "fuse_ops.h"

/* Positional over the handle's fd: resume after the kernel's cookie, the
 * previous entry's d_off. */
int fuse_op_readdir(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_read_in *a = r->arg;
	bool plus = r->h.opcode == FUSE_READDIRPLUS;
	size_t used = 0;

	struct fuse_handle *h = fuse_handle_get(&s->t, a->fh, r->h.nodeid, true);
	if (!h)
		return -EBADF;
	struct fuse_inode *dir = fuse_inode_get(&s->t, r->h.nodeid);
	size_t size = a->size < cap ? a->size : cap;
	/* Resume after the last entry the guest consumed (fuse_dir.h says
	 * why offsets are not simply seeked to). */
	if (!h->ds && !(h->ds = fuse_dir_new(&s->t.dir_mem)))
		return -ENOMEM; /* the share's stream budget (fuse_dir.h) */
	int err = fuse_dir_seek(h->ds, h->fd, a->offset);
	if (err < 0)
		return err;
	for (size_t pos = 0;;) {
		const struct fuse_dir_ent *d = fuse_dir_next(h->ds, h->fd, &pos, &err);
		if (!d) {
			if (err && !used)
				return err;
			break;
		}
		size_t nl = d->namelen;
		size_t rec = plus ? FUSE_DIRENTPLUS_SIZE(&(struct fuse_direntplus){ .dirent.namelen = (uint32_t)nl })
				  : FUSE_DIRENT_SIZE(&(struct fuse_dirent){ .namelen = (uint32_t)nl });
		if (used + rec > size)
			break;
		char *p = (char *)body + used;
		memset(p, 0, rec);
		struct fuse_dirent *fd;
		if (plus) {
			struct fuse_direntplus *dp = (struct fuse_direntplus *)p;
			/* A failed lookup (raced unlink, fd bound) leaves nodeid 0:
			 * the kernel then skips the entry's inode, no reference
			 * is counted. "." and ".." are never looked up. */
			if (fuse_name_ok(d->name, nl) && fuse_do_lookup(s, dir, d->name, &dp->entry_out) < 0)
				memset(&dp->entry_out, 0, sizeof(dp->entry_out));
			fd = &dp->dirent;
		} else {
			fd = (struct fuse_dirent *)p;
		}
		fd->ino = d->ino;
		fd->off = d->off;
		fd->namelen = (uint32_t)nl;
		fd->type = d->type;
		memcpy(fd->name, d->name, nl);
		used += rec;
	}
	return (int)used;
}
