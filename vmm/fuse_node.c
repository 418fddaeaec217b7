/* SPDX-License-Identifier: MIT */
/*
 * The FUSE server's contact with the host filesystem that every handler
 * shares: resolving one component, reopening an inode for I/O, the modes a
 * guest may set, attribute and entry replies, ownership of new objects.
 * The confinement rules are in fuse_server.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuse_ops.h"

/* Resolve exactly one component (already checked by fuse_name_ok) under dir.
 * RESOLVE_NO_SYMLINKS + O_NOFOLLOW|O_PATH: a symlink yields an fd of the
 * link itself, never its target; RESOLVE_BENEATH and NO_MAGICLINKS are belt
 * and braces should a name check ever regress (the classic "../" escape,
 * CVE-2020-35517-style /proc tricks). No RESOLVE_NO_XDEV: see the header. */
int fuse_open_beneath(int dirfd, const char *name, int flags, mode_t mode)
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
int fuse_reopen(const struct fuse_server *s, const struct fuse_inode *i, int flags)
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

/*
 * Every mode the guest sets on the host goes through here: CREATE, MKNOD,
 * MKDIR and SETATTR(FATTR_MODE) (fuse_server.h lists the syscalls).
 *
 * Why: a file the guest creates is a host file, owned by host_uid (or,
 * with ids passed through or an idmapped mount, by whoever the guest says:
 * a share of plain root's workspace gets root:root files). A setuid-root
 * executable written there is a local root escalation on the host for any
 * user who can reach the share; a setuid program of the invoking user still
 * lets a host process of another user act as that user, and setgid does the
 * same for the group. The guest's own view does not need the bits: the
 * guest mounts shares nosuid. So S_ISUID never reaches the host, and
 * S_ISGID only on directories, where it just steers the group of new
 * entries (no privilege is gained by running anything).
 *
 * The other ways to a privileged file are closed elsewhere: chown by the
 * guest is refused or a no-op (mapped ids) and the host kernel clears both
 * bits on chown; writing or truncating an existing setuid file clears them
 * because the VMM holds no CAP_FSETID; file capabilities
 * (security.capability) cannot be set (user.* xattrs only); devices are
 * never created. So FUSE_HANDLE_KILLPRIV_V2 is negotiated (fuse_op_init):
 * the guest kernel leaves the clearing on write, truncate and O_TRUNC open
 * to the server, and the host kernel does it on the VMM's own pwrite,
 * ftruncate or open, whatever the code here does (no CAP_FSETID).
 */
uint32_t fuse_mode_strip(uint32_t mode, bool dir)
{
	mode &= 07777;
	return dir ? mode & ~(uint32_t)S_ISUID : mode & ~(uint32_t)(S_ISUID | S_ISGID);
}

void fuse_fill_attr(const struct fuse_server *s, const struct stat *st, struct fuse_attr *a)
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

int fuse_stat_inode(const struct fuse_inode *i, struct stat *st)
{
	return fstatat(i->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

struct fuse_inode *fuse_dir_inode(struct fuse_server *s, uint64_t nodeid, int *err)
{
	struct fuse_inode *i = fuse_inode_get(&s->t, nodeid);
	*err = !i ? -EINVAL : i->type != S_IFDIR ? -ENOTDIR : 0;
	return *err ? NULL : i;
}

/* One lookup reference on parent/name, entry reply in *e. */
int fuse_do_lookup(struct fuse_server *s, struct fuse_inode *parent, const char *name,
		     struct fuse_entry_out *e)
{
	struct stat st;

	if (!fuse_name_ok(name, strlen(name)))
		return -EINVAL;
	int fd = fuse_open_beneath(parent->fd, name, O_PATH, 0);
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
	e->entry_valid = FUSE_TTL_SEC;
	e->attr_valid = FUSE_TTL_SEC;
	fuse_fill_attr(s, &st, &e->attr);
	return 0;
}

/* Give a new object its owner (see the header), then look it up. On failure
 * the object is removed again so a refused create leaves nothing behind. */
int fuse_finish_create(struct fuse_server *s, const struct fuse_req *r, struct fuse_inode *parent,
			 bool dir, struct fuse_entry_out *e)
{
	int ret = fuse_do_lookup(s, parent, r->name, e);
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
		if (fuse_stat_inode(i, &st) == 0)
			fuse_fill_attr(s, &st, &e->attr);
	}
	return 0;
undo:
	unlinkat(parent->fd, r->name, dir ? AT_REMOVEDIR : 0);
	return ret;
}
