/* SPDX-License-Identifier: MIT */
/*
 * The command's root: virtio-fs shares, the ROOT record's device, the
 * kernel filesystems inside the new root (include/arca/abi.h, ARCA_ROOT_*).
 *
 * Two halves, so the logic is testable without a guest:
 *   initroot_plan()          pure: spec -> ordered list of mount/mkdir steps;
 *   initroot_mkdir_beneath() creates a path below a directory fd, one
 *                            component at a time, never following a symlink;
 *   initroot_setup()         runs the plan (mount(2), init's step log).
 *
 * Steps are "absolute" (paths in the initramfs, which is ours: /arca/lower,
 * /arca/upper, /arca/root itself) or "beneath" (paths inside the command's
 * root). Every beneath target is created and opened with O_NOFOLLOW per
 * component and mounted through /proc/self/fd/N, so a symlink in a rootfs
 * directory the user gave us (ARCA_ROOT_DIR) or in a share mounted earlier
 * (a share at /a whose content has a symlink a/b -> /, and another share at
 * /a/b) cannot redirect a mount onto init's own tree. Nothing in the guest
 * runs yet while this happens, so the only hostile input is the content of
 * those directories, and the check-then-use is on the same fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "init.h"

#define LOWER  "/arca/lower"
#define UPPER  "/arca/upper"
#define UPPER_U UPPER "/u"
#define UPPER_W UPPER "/w"

/* overlayfs (Documentation/filesystems/overlayfs.rst): the rootfs share is
 * the read-only lower layer; all writes land in a tmpfs, so --root DIR is
 * never modified. workdir must be on the same filesystem as upperdir. */
#define OVERLAY_OPTS "lowerdir=" LOWER ",upperdir=" UPPER_U ",workdir=" UPPER_W

/* Shares carry user data, never device nodes or setuid programs we want
 * to honour. */
#define SHARE_FLAGS (MS_NOSUID | MS_NODEV)

static const struct initroot_step kernel_fs[] = {
	{ IR_MOUNT, IR_BENEATH, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	  NULL, 0, "kernel fs" },
	{ IR_MOUNT, IR_BENEATH, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	  NULL, 0, "kernel fs" },
	/* devtmpfs is one superblock: the nodes and init's /dev/fd, /dev/std*
	 * links are the same as in init's /dev. A second mount reconfigures
	 * that superblock, hence no options here (sysinit set mode=0755). */
	{ IR_MOUNT, IR_BENEATH, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL, 0,
	  "kernel fs" },
	/* Since Linux 4.7 every devpts mount is its own instance; /dev/ptmx
	 * finds the one mounted on the "pts" next to it. */
	{ IR_MOUNT, IR_BENEATH, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "mode=0620,ptmxmode=0666", 0, "kernel fs" },
	{ IR_MOUNT, IR_BENEATH, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777",
	  0, "kernel fs" },
	{ IR_MOUNT, IR_BENEATH, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 0,
	  "kernel fs" },
};

const char *initroot_root(const struct arca_spec *s)
{
	return s->root_mode == ARCA_ROOT_INITRD ? NULL : ARCA_GUEST_ROOT;
}

static int push(struct initroot_step *st, size_t max, size_t *n, struct initroot_step step)
{
	if (*n >= max)
		return -E2BIG;
	st[(*n)++] = step;
	return 0;
}

static int by_target(const void *a, const void *b)
{
	const struct initroot_step *x = a, *y = b;
	return strcmp(x->target, y->target);
}

int initroot_plan(const struct arca_spec *s, struct initroot_step *st, size_t max)
{
	size_t n = 0;
	int r = 0;

	switch (s->root_mode) {
	case ARCA_ROOT_INITRD:
		break;
	case ARCA_ROOT_HOST:
		/* The skeleton from the per-run archive is already at
		 * ARCA_GUEST_ROOT; the host's /usr completes it. */
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT, IR_BENEATH, s->root_tag, "/usr", "virtiofs",
			MS_RDONLY | MS_NOSUID | MS_NODEV, NULL, 0, "root (host /usr)" });
		break;
	case ARCA_ROOT_DIR:
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT, IR_ABS, s->root_tag, LOWER, "virtiofs", MS_RDONLY, NULL, 0,
			"root (lower)" });
		if (!r)
			r = push(st, max, &n, (struct initroot_step){
				IR_MOUNT, IR_ABS, "tmpfs", UPPER, "tmpfs", MS_NOSUID | MS_NODEV,
				"mode=0755", 0, "root (upper)" });
		/* u becomes the overlay's root directory: 0755 like any /. */
		if (!r)
			r = push(st, max, &n, (struct initroot_step){
				IR_MKDIR, IR_ABS, NULL, UPPER_U, NULL, 0, NULL, 0755, NULL });
		if (!r)
			r = push(st, max, &n, (struct initroot_step){
				IR_MKDIR, IR_ABS, NULL, UPPER_W, NULL, 0, NULL, 0700, NULL });
		if (!r)
			r = push(st, max, &n, (struct initroot_step){
				IR_MOUNT, IR_ABS, "overlay", ARCA_GUEST_ROOT, "overlay", 0,
				OVERLAY_OPTS, 0, "root (overlay)" });
		break;
	case ARCA_ROOT_DIR_RW:
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT, IR_ABS, s->root_tag, ARCA_GUEST_ROOT, "virtiofs", 0, NULL, 0,
			"root (read-write)" });
		break;
	default:
		return -EINVAL; /* spec_decode never lets this through */
	}
	if (r < 0)
		return r;
	if (s->root_mode != ARCA_ROOT_INITRD)
		for (size_t i = 0; i < ARRAY_SIZE(kernel_fs); i++)
			if ((r = push(st, max, &n, kernel_fs[i])) < 0)
				return r;

	/* Shares last (they may sit on /tmp), parents before children: a
	 * path sorts before every path it is a prefix of, so plain strcmp
	 * order mounts /a before /a/b even when /a-b comes between. */
	size_t first = n;
	for (size_t i = 0; i < s->nshares; i++) {
		const struct arca_spec_share *sh = &s->shares[i];
		if (sh->flags & ARCA_SHARE_F_NOMOUNT)
			continue;
		unsigned long fl = SHARE_FLAGS | (sh->flags & ARCA_SHARE_F_RO ? MS_RDONLY : 0);
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT, IR_BENEATH, sh->tag, sh->path, "virtiofs", fl, NULL, 0, "share" });
		if (r < 0)
			return r;
	}
	qsort(st + first, n - first, sizeof(*st), by_target);
	return (int)n;
}

/* O_PATH|O_NOFOLLOW|O_DIRECTORY on a symlink reports ENOTDIR (O_PATH
 * opens the link itself, then O_DIRECTORY fails) rather than ELOOP; the
 * caller should say "symlink" either way. */
static int is_symlink_at(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

int initroot_mkdir_beneath(int rootfd, const char *path, int *out_fd)
{
	_cleanup_close_ int dfd = -1;
	char comp[256];

	*out_fd = -1;
	/* Start from a private fd on the root so every branch below can
	 * close what it holds. */
	dfd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (const char *p = path;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (len >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		/* The spec decoder already refused these; a second line of
		 * defence costs two compares. */
		if (!strcmp(comp, ".") || !strcmp(comp, ".."))
			return -EINVAL;
		if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
			return -errno;
		/* O_NOFOLLOW: a symlink here (even one just created by a
		 * racing mkdirat's EEXIST) fails with ELOOP instead of being
		 * followed; O_DIRECTORY: a file fails with ENOTDIR. */
		int next = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return errno == ENOTDIR && is_symlink_at(dfd, comp) ? -ELOOP : -errno;
		close(dfd);
		dfd = next;
	}
	*out_fd = steal_fd(&dfd);
	return 0;
}

static const char *kind_of(const struct initroot_step *st)
{
	return st->what ? st->what : "mkdir";
}

/* One step. Beneath steps resolve the target from rootfd, then mount on
 * the fd's magic link: mount(2) follows /proc/self/fd/N to exactly the
 * directory we opened, not to whatever the path names by then. */
static int run_step(const struct initroot_step *st, int rootfd, struct arca_err *e)
{
	const char *src = st->src ? st->src : "";

	if (st->where == IR_ABS) {
		if (st->op == IR_MKDIR) {
			if (mkdir(st->target, st->mode) < 0 && errno != EEXIST)
				return arca_error_errno(e, errno, "mkdir %s", st->target);
			return 0;
		}
		if (mkdir(st->target, 0755) < 0 && errno != EEXIST)
			return arca_error_errno(e, errno, "%s %s: mkdir %s", kind_of(st), src,
						st->target);
		if (mount(src, st->target, st->fstype, st->flags, st->data) < 0)
			return arca_error_errno(e, errno, "%s %s: mounting %s on %s", kind_of(st),
						src, st->fstype, st->target);
		return 0;
	}

	_cleanup_close_ int fd = -1;
	int r = initroot_mkdir_beneath(rootfd, st->target, &fd);
	if (r < 0)
		return arca_error_errno(e, -r, "%s %s: creating mount point %s%s", kind_of(st),
					src, r == -ELOOP ? "(symlink refused) " : "",
					st->target);
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(src, proc, st->fstype, st->flags, st->data) < 0)
		return arca_error_errno(e, errno, "%s %s: mounting %s on %s", kind_of(st), src,
					st->fstype, st->target);
	return 0;
}

int initroot_setup(const struct arca_spec *s, struct arca_err *e)
{
	size_t max = ARRAY_SIZE(kernel_fs) + INITROOT_ROOT_STEPS + s->nshares;
	_cleanup_free_ struct initroot_step *st = calloc(max, sizeof(*st));
	_cleanup_close_ int rootfd = -1;
	const char *root = initroot_root(s);

	if (!st)
		return arca_error(e, ENOMEM, "out of memory");
	int n = initroot_plan(s, st, max);
	if (n < 0)
		return arca_error_errno(e, -n, "planning the command's root");

	for (int i = 0; i < n; i++) {
		long long t0 = init_now_ms();
		/* The root directory is opened at the first beneath step,
		 * after every absolute step (which may mount over it). */
		if (st[i].where == IR_BENEATH && rootfd < 0) {
			rootfd = open(root ? root : "/", O_PATH | O_DIRECTORY | O_NOFOLLOW |
				      O_CLOEXEC);
			if (rootfd < 0)
				return arca_error_errno(e, errno, "opening the root %s",
							root ? root : "/");
		}
		int r = run_step(&st[i], rootfd, e);
		if (r < 0)
			return r;
		if (st[i].op == IR_MOUNT)
			init_log("%s: %s %s on %s%s%s (%lld ms)", kind_of(&st[i]), st[i].fstype,
				 st[i].src, st[i].where == IR_BENEATH && root ? root : "",
				 st[i].target, st[i].flags & MS_RDONLY ? " ro" : "",
				 init_now_ms() - t0);
	}
	if (root)
		init_log("command root %s ready (mode %u)", root, s->root_mode);
	return 0;
}
