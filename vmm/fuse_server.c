/* SPDX-License-Identifier: MIT */
/* FUSE op handlers over a share directory: see fuse_server.h for the threat
 * model, ownership and cache rules. Handlers return a reply body length
 * (>= 0, body staged in s->reply after the out header) or a negative errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse_dir.h"
#include "fuse_server.h"

#define OUT_HDR sizeof(struct fuse_out_header)
#define NO_REPLY INT_MIN
#define TTL_SEC 1

/* ---- confinement primitives ------------------------------------------------ */

/* Resolve exactly one component (already checked by fuse_name_ok) under dir.
 * RESOLVE_NO_SYMLINKS + O_NOFOLLOW|O_PATH: a symlink yields an fd of the
 * link itself, never its target; RESOLVE_BENEATH and NO_MAGICLINKS are belt
 * and braces should a name check ever regress (the classic "../" escape,
 * CVE-2020-35517-style /proc tricks). No RESOLVE_NO_XDEV: see the header. */
static int open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* Reopen an inode's O_PATH fd with real flags through /proc/self/fd/N. The
 * magic link leads to exactly the object the O_PATH fd holds, so the type
 * checked at lookup is the type opened, with no window for the name to be
 * swapped for a FIFO or device node (CVE-2020-35517). Re-resolving the name
 * under the parent would reopen that window, hence EACCES without procfs. */
static int reopen(const struct fuse_server *s, const struct fuse_inode *i, int flags)
{
	char n[16];

	if (i->type != S_IFREG && i->type != S_IFDIR)
		return i->type == S_IFLNK ? -ELOOP : -EACCES;
	if (s->cfg.proc_self_fd < 0)
		return -EACCES;
	snprintf(n, sizeof(n), "%d", i->fd);
	int fd = openat(s->cfg.proc_self_fd, n, (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static uint32_t strip_mode(uint32_t mode, bool dir)
{
	/* A guest must not plant setuid/setgid programs on the host, even
	 * owned by the invoking user. setgid on a directory only steers group
	 * inheritance and is kept. */
	mode &= 07777;
	return dir ? mode & ~(uint32_t)S_ISUID : mode & ~(uint32_t)(S_ISUID | S_ISGID);
}

/* ---- attributes and entries ---------------------------------------------------- */

static void fill_attr(const struct fuse_server *s, const struct stat *st, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	if (!s->cfg.ids_passthrough) {
		if (st->st_uid == s->cfg.host_uid)
			a->uid = s->cfg.guest_uid;
		if (st->st_gid == s->cfg.host_gid)
			a->gid = s->cfg.guest_gid;
	}
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
}

static int stat_inode(const struct fuse_inode *i, struct stat *st)
{
	return fstatat(i->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static struct fuse_inode *dir_inode(struct fuse_server *s, uint64_t nodeid, int *err)
{
	struct fuse_inode *i = fuse_inode_get(&s->t, nodeid);
	*err = !i ? -EINVAL : i->type != S_IFDIR ? -ENOTDIR : 0;
	return *err ? NULL : i;
}

/* One lookup reference on parent/name, entry reply in *e. */
static int do_lookup(struct fuse_server *s, struct fuse_inode *parent, const char *name,
		     struct fuse_entry_out *e)
{
	struct stat st;

	if (!fuse_name_ok(name, strlen(name)))
		return -EINVAL;
	int fd = open_beneath(parent->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	uint64_t nodeid;
	int ret = fuse_inode_insert(&s->t, fd, &st, &nodeid);
	if (ret < 0)
		return ret;
	memset(e, 0, sizeof(*e));
	e->nodeid = nodeid;
	e->entry_valid = TTL_SEC;
	e->attr_valid = TTL_SEC;
	fill_attr(s, &st, &e->attr);
	return 0;
}

/* Give a new object its owner (see the header), then look it up. On failure
 * the object is removed again so a refused create leaves nothing behind. */
static int finish_create(struct fuse_server *s, const struct fuse_req *r, struct fuse_inode *parent,
			 bool dir, struct fuse_entry_out *e)
{
	int ret = do_lookup(s, parent, r->name, e);
	if (ret < 0)
		goto undo;
	struct fuse_inode *i = fuse_inode_get(&s->t, e->nodeid);
	uid_t uid = s->cfg.ids_passthrough ? r->h.uid : s->cfg.host_uid;
	gid_t gid = s->cfg.ids_passthrough ? r->h.gid : s->cfg.host_gid;
	bool need = geteuid() == 0 || uid != geteuid();
	if (need && fchownat(i->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		if (s->cfg.ids_passthrough && ret == -EPERM)
			return 0; /* keep our own ids: documented */
		fuse_inode_forget(&s->t, e->nodeid, 1);
		goto undo;
	}
	if (need) { /* report the ids just set */
		struct stat st;
		if (stat_inode(i, &st) == 0)
			fill_attr(s, &st, &e->attr);
	}
	return 0;
undo:
	unlinkat(parent->fd, r->name, dir ? AT_REMOVEDIR : 0);
	return ret;
}

/* ---- handlers ------------------------------------------------------------------------ */

static int op_init(struct fuse_server *s, const struct fuse_req *r, void *body)
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
	 * page cache dropped when the host mtime changes. Not offered:
	 * WRITEBACK_CACHE (the host file must see writes at once), EXPORT_SUPPORT
	 * (would need ".." lookups and nodeid persistence), POSIX locks (the
	 * guest kernel keeps them locally), DONT_MASK, SETXATTR_EXT. */
	uint32_t want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
			FUSE_READDIRPLUS_AUTO | FUSE_ATOMIC_O_TRUNC | FUSE_AUTO_INVAL_DATA |
			FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS;
	s->minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION;
	s->max_readahead = in.max_readahead;
	o->minor = s->minor;
	o->flags = in.flags & want;
	o->max_readahead = in.max_readahead;
	o->max_background = 64;
	o->congestion_threshold = 48;
	o->max_write = FUSE_MAX_IO;
	o->time_gran = 1;
	o->max_pages = FUSE_MAX_IO / 4096;
	s->initialized = true;
	return sizeof(*o);
}

static int op_lookup(struct fuse_server *s, const struct fuse_req *r, void *body)
{
	int err;
	struct fuse_inode *p = dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	err = do_lookup(s, p, r->name, body);
	return err < 0 ? err : (int)sizeof(struct fuse_entry_out);
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

static int op_getattr(struct fuse_server *s, const struct fuse_req *r, void *body)
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
		ret = stat_inode(i, &st);
	}
	if (ret < 0)
		return ret;
	memset(o, 0, sizeof(*o));
	o->attr_valid = TTL_SEC;
	fill_attr(s, &st, &o->attr);
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

static int op_setattr(struct fuse_server *s, const struct fuse_req *r, void *body)
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
		/* chmod through the magic link: no open, so safe for FIFOs too. */
		snprintf(n, sizeof(n), "%d", i->fd);
		if (fchmodat(s->cfg.proc_self_fd, n, strip_mode(a->mode, i->type == S_IFDIR), 0) < 0)
			return -errno;
	}
	if ((ret = setattr_ids(s, i, a)) < 0)
		return ret;
	if (a->valid & FATTR_SIZE) {
		if (i->type != S_IFREG)
			return i->type == S_IFDIR ? -EISDIR : -EINVAL;
		int fd = h ? h->fd : reopen(s, i, O_WRONLY);
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
	return op_getattr(s, &r2, body);
}

static int op_readlink(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
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

static int op_mkobj(struct fuse_server *s, const struct fuse_req *r, void *body)
{
	int err;
	bool dir = false;
	struct fuse_inode *p = dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	switch (r->h.opcode) {
	case FUSE_MKDIR: {
		const struct fuse_mkdir_in *a = r->arg;
		dir = true;
		err = mkdirat(p->fd, r->name, strip_mode(a->mode, true));
		break;
	}
	case FUSE_MKNOD: {
		const struct fuse_mknod_in *a = r->arg;
		/* Regular files and FIFOs only: a device node on the host, even
		 * in a nodev mount, is reachable through any other mount of the
		 * share's filesystem. Sockets and whiteouts are devices' kin. */
		if (!S_ISREG(a->mode) && !S_ISFIFO(a->mode))
			return -EPERM;
		err = mknodat(p->fd, r->name, (a->mode & S_IFMT) | strip_mode(a->mode, false), 0);
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
	err = finish_create(s, r, p, dir, body);
	return err < 0 ? err : (int)sizeof(struct fuse_entry_out);
}

static int op_remove(struct fuse_server *s, const struct fuse_req *r)
{
	int err;
	struct fuse_inode *p = dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	int flags = r->h.opcode == FUSE_RMDIR ? AT_REMOVEDIR : 0;
	return unlinkat(p->fd, r->name, flags) < 0 ? -errno : 0;
}

static int op_rename(struct fuse_server *s, const struct fuse_req *r)
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
	struct fuse_inode *od = dir_inode(s, r->h.nodeid, &err);
	if (!od)
		return err;
	struct fuse_inode *nd = dir_inode(s, newdir, &err);
	if (!nd)
		return err;
	return renameat2(od->fd, r->name, nd->fd, r->name2, flags) < 0 ? -errno : 0;
}

static int op_link(struct fuse_server *s, const struct fuse_req *r, void *body)
{
	const struct fuse_link_in *a = r->arg;
	int err;
	char n[16];

	struct fuse_inode *p = dir_inode(s, r->h.nodeid, &err);
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
	err = do_lookup(s, p, r->name, body);
	return err < 0 ? err : (int)sizeof(struct fuse_entry_out);
}

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

static int op_open(struct fuse_server *s, const struct fuse_req *r, void *body)
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
	int fd = reopen(s, i, flags);
	if (fd < 0)
		return fd;
	memset(o, 0, sizeof(*o));
	int ret = fuse_handle_new(&s->t, r->h.nodeid, fd, dir, &o->fh);
	return ret < 0 ? ret : (int)sizeof(*o);
}

static int op_create(struct fuse_server *s, const struct fuse_req *r, void *body)
{
	const struct fuse_create_in *a = r->arg;
	struct fuse_entry_out *e = body;
	struct fuse_open_out *o = (struct fuse_open_out *)(e + 1);
	int err;

	struct fuse_inode *p = dir_inode(s, r->h.nodeid, &err);
	if (!p)
		return err;
	int flags = open_flags(a->flags, s->cfg.read_only);
	if (flags < 0)
		return flags;
	/* Room for the new inode and its handle, checked before anything is
	 * created (CVE-2020-10717). */
	if (s->t.nfds + 2 > s->t.max_fds)
		return -EMFILE;
	/* Always O_EXCL: opening an existing name with O_CREAT could open a
	 * FIFO or device node planted there (CVE-2020-35517). An existing
	 * regular file goes through the checked lookup+reopen path. */
	int fd = open_beneath(p->fd, r->name, flags | O_CREAT | O_EXCL, strip_mode(a->mode, false));
	if (fd == -EEXIST && !(a->flags & O_EXCL)) {
		err = do_lookup(s, p, r->name, e);
		if (err < 0)
			return err;
		fd = reopen(s, fuse_inode_get(&s->t, e->nodeid), flags);
		if (fd < 0) {
			fuse_inode_forget(&s->t, e->nodeid, 1);
			return fd;
		}
	} else if (fd < 0) {
		return fd;
	} else if ((err = finish_create(s, r, p, false, e)) < 0) {
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

static int op_release(struct fuse_server *s, const struct fuse_req *r)
{
	const struct fuse_release_in *a = r->arg;
	return fuse_handle_release(&s->t, a->fh, r->h.nodeid, r->h.opcode == FUSE_RELEASEDIR);
}

static struct fuse_handle *file_handle(struct fuse_server *s, uint64_t fh, uint64_t nodeid, bool dir)
{
	return fuse_handle_get(&s->t, fh, nodeid, dir);
}

static int op_fsync(struct fuse_server *s, const struct fuse_req *r)
{
	const struct fuse_fsync_in *a = r->arg;
	struct fuse_handle *h = file_handle(s, a->fh, r->h.nodeid, r->h.opcode == FUSE_FSYNCDIR);
	if (!h)
		return -EBADF;
	int ret = (a->fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(h->fd) : fsync(h->fd);
	return ret < 0 ? -errno : 0;
}

static int op_flush(struct fuse_server *s, const struct fuse_req *r)
{
	const struct fuse_flush_in *a = r->arg;
	/* Nothing buffered here: writes are synchronous. */
	return file_handle(s, a->fh, r->h.nodeid, false) ? 0 : -EBADF;
}

static int op_statfs(struct fuse_server *s, const struct fuse_req *r, void *body)
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

static int op_access(struct fuse_server *s, const struct fuse_req *r)
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

static int op_xattr(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
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
	int fd = reopen(s, i, O_RDONLY);
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

static int op_lseek(struct fuse_server *s, const struct fuse_req *r, void *body)
{
	const struct fuse_lseek_in *a = r->arg;
	struct fuse_lseek_out *o = body;
	if (a->whence != SEEK_DATA && a->whence != SEEK_HOLE && a->whence != SEEK_SET &&
	    a->whence != SEEK_END)
		return -EINVAL;
	struct fuse_handle *h = file_handle(s, a->fh, r->h.nodeid, false);
	if (!h)
		return -EBADF;
	/* The fd offset is otherwise unused (all I/O is positional). */
	off_t off = lseek(h->fd, (off_t)a->offset, (int)a->whence);
	if (off < 0)
		return -errno;
	o->offset = (uint64_t)off;
	return sizeof(*o);
}

static int op_copy_file_range(struct fuse_server *s, const struct fuse_req *r, void *body)
{
	const struct fuse_copy_file_range_in *a = r->arg;
	struct fuse_write_out *o = body;
	struct fuse_handle *hi = file_handle(s, a->fh_in, r->h.nodeid, false);
	struct fuse_handle *ho = file_handle(s, a->fh_out, a->nodeid_out, false);
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

/* READDIR/READDIRPLUS: positional over the handle's fd (lseek to the
 * kernel's cookie, the previous entry's d_off, then getdents64). */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int op_readdir(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	const struct fuse_read_in *a = r->arg;
	bool plus = r->h.opcode == FUSE_READDIRPLUS;
	size_t used = 0;

	struct fuse_handle *h = file_handle(s, a->fh, r->h.nodeid, true);
	if (!h)
		return -EBADF;
	struct fuse_inode *dir = fuse_inode_get(&s->t, r->h.nodeid);
	size_t size = a->size < cap ? a->size : cap;
	/* Resume after the last entry the guest consumed (fuse_dir.h says
	 * why offsets are not simply seeked to). */
	if (!h->ds && !(h->ds = fuse_dir_new()))
		return -ENOMEM;
	int err = fuse_dir_seek(h->ds, h->fd, a->offset);
	if (err < 0)
		return err;
	for (unsigned i = 0;; i++) {
		const struct fuse_dir_ent *d = fuse_dir_peek(h->ds, h->fd, i, &err);
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
			if (fuse_name_ok(d->name, nl) && do_lookup(s, dir, d->name, &dp->entry_out) < 0)
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

/* ---- READ/WRITE: prepare, execute, complete ------------------------------------ */

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
		return 0;
	}
	if (r->h.opcode == FUSE_READ) {
		const struct fuse_read_in *a = r->arg;
		fh = a->fh;
		off = a->offset;
		ssize_t cap = iov_total(out, nout);
		if (cap < (ssize_t)OUT_HDR)
			return -EINVAL;
		len = a->size < (size_t)cap - OUT_HDR ? a->size : (size_t)cap - OUT_HDR;
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
		n = iov_slice(out, nout, OUT_HDR, len, io->iov, FUSE_MAX_IOV);
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

static ssize_t send_reply(const struct iovec *out, int nout, uint64_t unique, int err,
			  const void *body, size_t len)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(OUT_HDR + (err ? 0 : len)),
		.error = err,
		.unique = unique,
	};
	if (fuse_iov_from_buf(out, nout, 0, &oh, OUT_HDR) < 0)
		return -ENOSPC;
	if (!err && len && fuse_iov_from_buf(out, nout, OUT_HDR, body, len) < 0) {
		/* The guest's reply buffers cannot hold the reply. */
		oh.len = OUT_HDR;
		oh.error = -EINVAL;
		fuse_iov_from_buf(out, nout, 0, &oh, OUT_HDR);
		return OUT_HDR;
	}
	return oh.len;
}

ssize_t fuse_io_complete(struct fuse_server *s, struct fuse_io *io, ssize_t res,
			 const struct iovec *out, int nout)
{
	fuse_handle_unhold(&s->t, io->h);
	io->h = NULL;
	if (s->inflight > 0)
		s->inflight--;
	if (res < 0)
		return send_reply(out, nout, io->unique, (int)res, NULL, 0);
	if (io->opcode == FUSE_FSYNC || io->opcode == FUSE_FALLOCATE)
		return send_reply(out, nout, io->unique, 0, NULL, 0);
	if (io->opcode == FUSE_READ) {
		/* The data is already in place after the header. */
		struct fuse_out_header oh = { .len = (uint32_t)(OUT_HDR + (size_t)res), .unique = io->unique };
		if (fuse_iov_from_buf(out, nout, 0, &oh, OUT_HDR) < 0)
			return -ENOSPC;
		return oh.len;
	}
	struct fuse_write_out wo = { .size = (uint32_t)res };
	return send_reply(out, nout, io->unique, 0, &wo, sizeof(wo));
}

/* ---- dispatch ----------------------------------------------------------------------- */

static int dispatch(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap)
{
	switch (r->h.opcode) {
	case FUSE_INIT:
		return op_init(s, r, body);
	case FUSE_DESTROY:
		fuse_tables_reset(&s->t);
		s->initialized = false;
		return 0;
	case FUSE_LOOKUP:
		return op_lookup(s, r, body);
	case FUSE_GETATTR:
		return op_getattr(s, r, body);
	case FUSE_SETATTR:
		return op_setattr(s, r, body);
	case FUSE_READLINK:
		return op_readlink(s, r, body, cap);
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_SYMLINK:
		return op_mkobj(s, r, body);
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		return op_remove(s, r);
	case FUSE_RENAME:
	case FUSE_RENAME2:
		return op_rename(s, r);
	case FUSE_LINK:
		return op_link(s, r, body);
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		return op_open(s, r, body);
	case FUSE_CREATE:
		return op_create(s, r, body);
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
		return op_release(s, r);
	case FUSE_FSYNCDIR: /* FSYNC goes the fuse_io way (serve) */
		return op_fsync(s, r);
	case FUSE_FLUSH:
		return op_flush(s, r);
	case FUSE_STATFS:
		return op_statfs(s, r, body);
	case FUSE_ACCESS:
		return op_access(s, r);
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
		return op_xattr(s, r, body, cap);
	case FUSE_LSEEK:
		return op_lseek(s, r, body);
	case FUSE_COPY_FILE_RANGE:
		return op_copy_file_range(s, r, body);
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		return op_readdir(s, r, body, cap);
	default:
		return -ENOSYS;
	}
}

/* async: where to leave a prepared READ/WRITE (fuse_server_submit), or NULL
 * to execute it here. */
static ssize_t serve(struct fuse_server *s, const struct iovec *in, int nin,
		     const struct iovec *out, int nout, struct fuse_io *async)
{
	struct fuse_req r;

	ssize_t ocap = iov_total(out, nout);
	if (ocap < (ssize_t)OUT_HDR)
		return -ENOSPC;
	int ret = fuse_decode(in, nin, s->scratch, sizeof(s->scratch), FUSE_MAX_IO, &r);
	if (ret == -EBADMSG)
		return ret;
	uint32_t op = r.h.opcode;
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
		return send_reply(out, nout, r.h.unique, ret, NULL, 0);

	if (op == FUSE_READ || op == FUSE_WRITE || op == FUSE_FSYNC || op == FUSE_FALLOCATE) {
		struct fuse_io *io = async ? async : &s->io;
		ret = fuse_io_prepare(s, &r, in, nin, out, nout, io);
		if (ret < 0)
			return send_reply(out, nout, r.h.unique, ret, NULL, 0);
		if (async)
			return -EINPROGRESS;
		return fuse_io_complete(s, io, fuse_io_execute(io), out, nout);
	}
	/* DESTROY closes every handle fd, pinned or not: an SQE still in
	 * flight would then read or write whatever file reuses the number. */
	if (op == FUSE_DESTROY && s->inflight > 0)
		return -EBUSY;

	void *body = (char *)s->reply + OUT_HDR;
	size_t cap = sizeof(s->reply) - OUT_HDR;
	if ((size_t)ocap - OUT_HDR < cap)
		cap = (size_t)ocap - OUT_HDR;
	ret = dispatch(s, &r, body, cap);
	if (ret == NO_REPLY)
		return 0;
	return send_reply(out, nout, r.h.unique, ret < 0 ? ret : 0, body, ret < 0 ? 0 : (size_t)ret);
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
	umask(0); /* see fuse_server.h */
	return 0;
}

void fuse_server_destroy(struct fuse_server *s)
{
	fuse_tables_destroy(&s->t); /* closes root_fd; proc_self_fd is borrowed */
}
