/* SPDX-License-Identifier: MIT */
/*
 * FUSE handlers that change names in a directory: MKDIR, MKNOD, SYMLINK,
 * UNLINK, RMDIR, RENAME, RENAME2, LINK.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_ops.h"

int fuse_op_mkobj(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	int err;
	bool dir = false;
	struct fuse_inode *p = fuse_dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	switch (r->h.opcode) {
	case FUSE_MKDIR: {
		const struct fuse_mkdir_in *a = r->arg;
		dir = true;
		/* S_ISGID goes too: mkdir(2) ignores it (a new directory
		 * inherits it from its parent, or not at all), and without it
		 * no mkdirat mode has a set-id bit, a rule seccomp can check. */
		err = mkdirat(p->fd, r->name, fuse_mode_strip(a->mode, false));
		break;
	}
	case FUSE_MKNOD: {
		const struct fuse_mknod_in *a = r->arg;
		/* Regular files and FIFOs only: a device node on the host, even
		 * in a nodev mount, is reachable through any other mount of the
		 * share's filesystem. Sockets and whiteouts are devices' kin. */
		if (!S_ISREG(a->mode) && !S_ISFIFO(a->mode))
			return -EPERM;
		err = mknodat(p->fd, r->name, (a->mode & S_IFMT) | fuse_mode_strip(a->mode, false), 0);
		break;
	}
	case FUSE_SYMLINK:
		err = symlinkat(r->name2, p->fd, r->name);
		break;
	default:
		return -ENOSYS;
	}
	if (err < 0)
		return -errno;
	err = fuse_finish_create(s, r, p, dir, body);
	return err < 0 ? err : (int)sizeof(struct fuse_entry_out);
}

int fuse_op_remove(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	int err;
	struct fuse_inode *p = fuse_dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	int flags = r->h.opcode == FUSE_RMDIR ? AT_REMOVEDIR : 0;
	return unlinkat(p->fd, r->name, flags) < 0 ? -errno : 0;
}

int fuse_op_rename(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	uint64_t newdir;
	uint32_t flags = 0;
	int err;

	if (r->h.opcode == FUSE_RENAME2) {
		const struct fuse_rename2_in *a = r->arg;
		newdir = a->newdir;
		flags = a->flags;
	} else {
		const struct fuse_rename_in *a = r->arg;
		newdir = a->newdir;
	}
	/* RENAME_WHITEOUT would create a 0/0 character device. */
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	struct fuse_inode *od = fuse_dir_inode(s, r->h.nodeid, &err);
	if (!od)
		return err;
	struct fuse_inode *nd = fuse_dir_inode(s, newdir, &err);
	if (!nd)
		return err;
	return renameat2(od->fd, r->name, nd->fd, r->name2, flags) < 0 ? -errno : 0;
}

int fuse_op_link(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_link_in *a = r->arg;
	int err;
	char n[16];

	struct fuse_inode *p = fuse_dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	struct fuse_inode *i = fuse_inode_get(&s->t, a->oldnodeid);
	if (!i)
		return -EINVAL;
	if (i->type == S_IFDIR)
		return -EPERM;
	if (i->type != S_IFLNK && s->cfg.proc_self_fd >= 0) {
		/* Through the magic link: needs no CAP_DAC_READ_SEARCH. */
		snprintf(n, sizeof(n), "%d", i->fd);
		err = linkat(s->cfg.proc_self_fd, n, p->fd, r->name, AT_SYMLINK_FOLLOW);
	} else {
		err = linkat(i->fd, "", p->fd, r->name, AT_EMPTY_PATH);
	}
	if (err < 0)
		return -errno;
	err = fuse_do_lookup(s, p, r->name, body);
	return err < 0 ? err : (int)sizeof(struct fuse_entry_out);
}
