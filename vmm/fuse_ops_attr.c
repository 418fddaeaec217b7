/* SPDX-License-Identifier: MIT */
/*
 * FUSE handlers that read or change one inode's metadata: INIT, LOOKUP,
 * GETATTR, SETATTR, READLINK, STATFS, ACCESS and the xattr ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse_ops.h"

int fuse_op_init(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	struct fuse_init_in in = { 0 };
	struct fuse_init_out *o = body;

	memcpy(&in, r->arg, r->arg_len);
	memset(o, 0, sizeof(*o));
	o->major = FUSE_KERNEL_VERSION;
	o->minor = FUSE_KERNEL_MINOR_VERSION;
	if (in.major > FUSE_KERNEL_VERSION)
		return sizeof(*o); /* the kernel retries with our major */
	if (in.major < FUSE_KERNEL_VERSION || in.minor < FUSE_DECODE_MIN_MINOR)
		return -EPROTO;
	if (s->initialized)
		return -EPROTO;
	/* Offered: async reads, big writes up to FUSE_MAX_IO (MAX_PAGES),
	 * readdirplus (adaptive), O_TRUNC passed to open, symlink caching,
	 * page cache dropped when the host mtime changes; WRITEBACK_CACHE only
	 * where the share asks for it (cfg.writeback, cache=writeback: the host
	 * then sees writes at writeback, close or fsync, and the guest trusts
	 * its own size and mtime). Not offered: EXPORT_SUPPORT
	 * (would need ".." lookups and nodeid persistence), POSIX locks (the
	 * guest kernel keeps them locally), DONT_MASK, SETXATTR_EXT.
	 * HANDLE_KILLPRIV_V2: the set-id bits and file capabilities are
	 * cleared on write/truncate by the host kernel, as the VMM lacks
	 * CAP_FSETID (fuse_mode_strip's comment); offering it also sets
	 * SB_NOSEC in the guest, which otherwise asks GETXATTR
	 * security.capability before every write() (file_remove_privs):
	 * one round trip per write saved. */
	uint32_t want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
			FUSE_READDIRPLUS_AUTO | FUSE_ATOMIC_O_TRUNC | FUSE_AUTO_INVAL_DATA |
			FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_HANDLE_KILLPRIV_V2;
	if (s->cfg.writeback && !s->cfg.read_only)
		want |= FUSE_WRITEBACK_CACHE;
	s->minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION;
	s->max_readahead = in.max_readahead;
	o->minor = s->minor;
	o->flags = in.flags & want;
	s->writeback = o->flags & FUSE_WRITEBACK_CACHE;
	o->max_readahead = in.max_readahead > FUSE_MAX_READAHEAD ? in.max_readahead
								  : FUSE_MAX_READAHEAD;
	o->max_background = 64;
	o->congestion_threshold = 48;
	o->max_write = FUSE_MAX_IO;
	o->time_gran = 1;
	o->max_pages = FUSE_MAX_IO / 4096;
	s->initialized = true;
	return sizeof(*o);
}

int fuse_op_lookup(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	int err;
	struct fuse_inode *p = fuse_dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	err = fuse_do_lookup(s, p, r->name, body);
	return err < 0 ? err : (int)sizeof(struct fuse_entry_out);
}

int fuse_op_getattr(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_getattr_in *a = r->arg;
	struct fuse_attr_out *o = body;
	struct stat st;
	int ret;

	struct fuse_inode *i = fuse_inode_get(&s->t, r->h.nodeid);
	if (!i)
		return -EINVAL;
	if (a->getattr_flags & FUSE_GETATTR_FH) {
		struct fuse_handle *h = fuse_handle_get(&s->t, a->fh, r->h.nodeid, false);
		if (!h)
			return -EBADF;
		ret = fstat(h->fd, &st) < 0 ? -errno : 0;
	} else {
		ret = fuse_stat_inode(i, &st);
	}
	if (ret < 0)
		return ret;
	memset(o, 0, sizeof(*o));
	o->attr_valid = FUSE_TTL_SEC;
	fuse_fill_attr(s, &st, &o->attr);
	return sizeof(*o);
}

static int setattr_ids(struct fuse_server *s, struct fuse_inode *i, const struct fuse_setattr_in *a)
{
	bool u = a->valid & FATTR_UID, g = a->valid & FATTR_GID;
	if (!u && !g)
		return 0;
	if (!s->cfg.ids_passthrough) {
		/* Mapped ids: only the identity the guest already sees is
		 * accepted, as a no-op; host ownership never changes. */
		if ((u && a->uid != s->cfg.guest_uid) || (g && a->gid != s->cfg.guest_gid))
			return -EPERM;
		return 0;
	}
	if (fchownat(i->fd, "", u ? a->uid : (uid_t)-1, g ? a->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

int fuse_op_setattr(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_setattr_in *a = r->arg;
	struct fuse_handle *h = NULL;
	int ret;

	struct fuse_inode *i = fuse_inode_get(&s->t, r->h.nodeid);
	if (!i)
		return -EINVAL;
	if (a->valid & FATTR_FH) {
		h = fuse_handle_get(&s->t, a->fh, r->h.nodeid, i->type == S_IFDIR);
		if (!h)
			return -EBADF;
	}
	if (a->valid & FATTR_MODE) {
		char n[16];
		if (i->type == S_IFLNK)
			return -EOPNOTSUPP;
		if (s->cfg.proc_self_fd < 0)
			return -EACCES;
		/* chmod through the magic link: no open, so safe for FIFOs too.
		 * Set-id bits stripped (fuse_mode_strip). FATTR_KILL_SUIDGID
		 * (HANDLE_KILLPRIV_V2) needs nothing here: the host kernel
		 * clears the bits on our ftruncate/chown (fuse_mode_strip's
		 * comment). */
		snprintf(n, sizeof(n), "%d", i->fd);
		if (fchmodat(s->cfg.proc_self_fd, n, fuse_mode_strip(a->mode, i->type == S_IFDIR), 0) < 0)
			return -errno;
	}
	if ((ret = setattr_ids(s, i, a)) < 0)
		return ret;
	if (a->valid & FATTR_SIZE) {
		if (i->type != S_IFREG)
			return i->type == S_IFDIR ? -EISDIR : -EINVAL;
		int fd = h ? h->fd : fuse_reopen(s, i, O_WRONLY);
		if (fd < 0)
			return fd;
		ret = ftruncate(fd, (off_t)a->size) < 0 ? -errno : 0;
		if (!h)
			close(fd);
		if (ret < 0)
			return ret;
	}
	if (a->valid & (FATTR_ATIME | FATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
		if (a->valid & FATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (a->valid & FATTR_ATIME)
			ts[0] = (struct timespec){ (time_t)a->atime, a->atimensec };
		if (a->valid & FATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (a->valid & FATTR_MTIME)
			ts[1] = (struct timespec){ (time_t)a->mtime, a->mtimensec };
		if ((ts[0].tv_nsec != UTIME_NOW && ts[0].tv_nsec != UTIME_OMIT && ts[0].tv_nsec >= 1000000000) ||
		    (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT && ts[1].tv_nsec >= 1000000000))
			return -EINVAL;
		ret = h ? futimens(h->fd, ts) : utimensat(i->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
		if (ret < 0)
			return -errno;
	}
	struct fuse_getattr_in ga = { 0 };
	struct fuse_req r2 = *r;
	r2.arg = &ga;
	return fuse_op_getattr(s, &r2, body, cap);
}

int fuse_op_readlink(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	struct fuse_inode *i = fuse_inode_get(&s->t, r->h.nodeid);
	if (!i)
		return -EINVAL;
	if (i->type != S_IFLNK)
		return -EINVAL;
	ssize_t n = readlinkat(i->fd, "", body, cap);
	if (n < 0)
		return -errno;
	return (size_t)n >= cap ? -ENAMETOOLONG : (int)n;
}

int fuse_op_statfs(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	struct fuse_statfs_out *o = body;
	struct statfs sf;

	struct fuse_inode *i = fuse_inode_get(&s->t, r->h.nodeid);
	if (!i)
		return -EINVAL;
	if (fstatfs(i->fd, &sf) < 0)
		return -errno;
	memset(o, 0, sizeof(*o));
	o->st.blocks = sf.f_blocks;
	o->st.bfree = sf.f_bfree;
	o->st.bavail = sf.f_bavail;
	o->st.files = sf.f_files;
	o->st.ffree = sf.f_ffree;
	o->st.bsize = (uint32_t)sf.f_bsize;
	o->st.namelen = (uint32_t)sf.f_namelen;
	o->st.frsize = (uint32_t)sf.f_frsize;
	return sizeof(*o);
}

int fuse_op_access(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_access_in *a = r->arg;
	if (!fuse_inode_get(&s->t, r->h.nodeid))
		return -EINVAL;
	/* Permission bits are the guest's business (default_permissions,
	 * mapped ids); the host only adds the read-only share. */
	return (s->cfg.read_only && (a->mask & W_OK)) ? -EROFS : 0;
}

/* xattrs: only user.* may be set or removed. security.capability would
 * give a host binary file capabilities, trusted.* (overlayfs metadata) and
 * system.* (ACLs granting access to others) are host policy. */
static bool xattr_settable(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

int fuse_op_xattr(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	struct fuse_inode *i = fuse_inode_get(&s->t, r->h.nodeid);
	uint32_t op = r->h.opcode;
	ssize_t n;

	if (!i)
		return -EINVAL;
	if ((op == FUSE_SETXATTR || op == FUSE_REMOVEXATTR) && !xattr_settable(r->name))
		return -EPERM;
	if (i->type != S_IFREG && i->type != S_IFDIR) {
		/* Only regular files and directories are opened (CVE-2020-35517);
		 * user.* xattrs do not exist on other types anyway. */
		if (op == FUSE_LISTXATTR || op == FUSE_GETXATTR) {
			const struct fuse_getxattr_in *a = r->arg;
			if (op == FUSE_GETXATTR)
				return -ENODATA;
			if (a->size == 0) {
				struct fuse_getxattr_out *o = body;
				memset(o, 0, sizeof(*o));
				return sizeof(*o);
			}
			return 0;
		}
		return -EPERM;
	}
	int fd = fuse_reopen(s, i, O_RDONLY);
	if (fd < 0)
		return fd;
	switch (op) {
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR: {
		const struct fuse_getxattr_in *a = r->arg;
		size_t want = a->size < cap ? a->size : cap;
		if (a->size == 0) {
			n = op == FUSE_GETXATTR ? fgetxattr(fd, r->name, NULL, 0) : flistxattr(fd, NULL, 0);
			if (n >= 0) {
				struct fuse_getxattr_out *o = body;
				memset(o, 0, sizeof(*o));
				o->size = (uint32_t)n;
				n = sizeof(*o);
			}
		} else {
			n = op == FUSE_GETXATTR ? fgetxattr(fd, r->name, body, want) : flistxattr(fd, body, want);
		}
		break;
	}
	case FUSE_SETXATTR: {
		const struct fuse_setxattr_in *a = r->arg;
		int fl = (int)a->flags & (XATTR_CREATE | XATTR_REPLACE);
		n = fsetxattr(fd, r->name, r->value, r->value_len, fl);
		break;
	}
	default:
		n = fremovexattr(fd, r->name);
		break;
	}
	int err = errno;
	close(fd);
	return n < 0 ? -err : (int)n;
}
