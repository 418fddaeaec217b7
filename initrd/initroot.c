/* SPDX-License-Identifier: MIT */
/*
 * The command's root: virtio-fs shares, virtio-blk disks, the ROOT record's
 * device, the kernel filesystems inside the new root (include/arca/abi.h,
 * ARCA_ROOT_*).
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
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

/* The read-only lower layer is mounted on LOWER by the caller; these are
 * the tmpfs upper layer and the overlay on ARCA_GUEST_ROOT. */
static int push_overlay(struct initroot_step *st, size_t max, size_t *n)
{
	int r = push(st, max, n, (struct initroot_step){
		IR_MOUNT, IR_ABS, "tmpfs", UPPER, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0,
		"root (upper)" });
	/* u becomes the overlay's root directory: 0755 like any /. */
	if (!r)
		r = push(st, max, n, (struct initroot_step){
			IR_MKDIR, IR_ABS, NULL, UPPER_U, NULL, 0, NULL, 0755, NULL });
	if (!r)
		r = push(st, max, n, (struct initroot_step){
			IR_MKDIR, IR_ABS, NULL, UPPER_W, NULL, 0, NULL, 0700, NULL });
	if (!r)
		r = push(st, max, n, (struct initroot_step){
			IR_MOUNT, IR_ABS, "overlay", ARCA_GUEST_ROOT, "overlay", 0, OVERLAY_OPTS, 0,
			"root (overlay)" });
	return r;
}

int initroot_plan(const struct arca_spec *s, struct initroot_step *st, size_t max)
{
	size_t n = 0;
	int r = 0;

	/* The files device (-v FILE:GUEST) goes up first, in the initramfs:
	 * its entries are bound one by one below. Not noexec: a bind takes
	 * its source mount's flags, and a bound script may be run. */
	const char *files_tag = NULL;
	for (size_t i = 0; i < s->nshares; i++)
		if (s->shares[i].flags & ARCA_SHARE_F_FILE)
			files_tag = s->shares[i].tag;
	if (files_tag &&
	    (r = push(st, max, &n, (struct initroot_step){
		     IR_MOUNT, IR_ABS, files_tag, INITROOT_FILES, "virtiofs", SHARE_FLAGS, NULL, 0,
		     "files" })) < 0)
		return r;

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
			r = push_overlay(st, max, &n);
		break;
	case ARCA_ROOT_DIR_RW:
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT, IR_ABS, s->root_tag, ARCA_GUEST_ROOT, "virtiofs", 0, NULL, 0,
			"root (read-write)" });
		break;
	/* The same two with a disk: its filesystem type is found as for a
	 * --disk without fstype=. */
	case ARCA_ROOT_DISK:
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT_DISK, IR_ABS, s->root_tag, LOWER, NULL, MS_RDONLY, NULL, 0,
			"root disk (lower)" });
		if (!r)
			r = push_overlay(st, max, &n);
		break;
	case ARCA_ROOT_DISK_RW:
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT_DISK, IR_ABS, s->root_tag, ARCA_GUEST_ROOT, NULL, 0, NULL, 0,
			"root disk (read-write)" });
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

	/* Shares and disks last (they may sit on /tmp), parents before
	 * children: a path sorts before every path it is a prefix of, so
	 * plain strcmp order mounts /a before /a/b even when /a-b comes
	 * between. */
	size_t first = n;
	unsigned file = 0;
	for (size_t i = 0; i < s->nshares; i++) {
		const struct arca_spec_share *sh = &s->shares[i];
		if (sh->flags & ARCA_SHARE_F_NOMOUNT)
			continue;
		unsigned long fl = SHARE_FLAGS | (sh->flags & ARCA_SHARE_F_RO ? MS_RDONLY : 0);
		if (sh->flags & ARCA_SHARE_F_FILE)
			r = push(st, max, &n, (struct initroot_step){
				IR_BIND_FILE, IR_BENEATH, sh->tag, sh->path, NULL, fl, NULL, file++,
				"file" });
		else
			r = push(st, max, &n, (struct initroot_step){
				IR_MOUNT, IR_BENEATH, sh->tag, sh->path, "virtiofs", fl, NULL, 0,
				"share" });
		if (r < 0)
			return r;
	}
	/* Disks carry user data too: no device nodes, no setuid. */
	for (size_t i = 0; i < s->ndisks; i++) {
		const struct arca_spec_disk *d = &s->disks[i];
		if (d->flags & ARCA_DISK_F_NOMOUNT)
			continue;
		unsigned long fl = SHARE_FLAGS | (d->flags & ARCA_DISK_F_RO ? MS_RDONLY : 0);
		r = push(st, max, &n, (struct initroot_step){
			IR_MOUNT_DISK, IR_BENEATH, d->id, d->path, d->fstype, fl, NULL, 0, "disk" });
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

/* ---- disks ------------------------------------------------------------------ */

/* A /proc or /sys file (their size is 0 to fstat): up to max - 1 bytes,
 * NUL-terminated, in a malloc'ed buffer. */
static char *read_text(int dfd, const char *path, size_t max)
{
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	_cleanup_free_ char *buf = malloc(max);
	size_t have = 0;
	if (!buf)
		return NULL;
	while (have + 1 < max) {
		ssize_t n = read(fd, buf + have, max - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	return steal_pointer(&buf);
}

int initroot_disk_scan(int sysblock, const char *const *ids, size_t n,
		       char (*name)[DISK_NAME_MAX])
{
	size_t known = 0;

	for (size_t i = 0; i < n; i++)
		known += name[i][0] != '\0';
	int dfd = dup(sysblock);
	if (dfd < 0)
		return (int)known;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return (int)known;
	}
	rewinddir(d);
	struct dirent *de;
	while (known < n && (de = readdir(d))) {
		char path[DISK_NAME_MAX + 8];
		/* virtio-blk disks are vda, vdb, ...; partitions are not
		 * listed in /sys/block. */
		if (strncmp(de->d_name, "vd", 2) != 0 || strlen(de->d_name) >= DISK_NAME_MAX)
			continue;
		snprintf(path, sizeof(path), "%.31s/serial", de->d_name);
		/* Reading it asks the device (VIRTIO_BLK_T_GET_ID); a device
		 * without an id fails the read and is skipped. */
		_cleanup_free_ char *serial = read_text(dirfd(d), path, 64);
		if (!serial)
			continue;
		serial[strcspn(serial, "\n")] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!name[i][0] && !strcmp(serial, ids[i])) {
				snprintf(name[i], DISK_NAME_MAX, "%.31s", de->d_name);
				known++;
				break;
			}
	}
	closedir(d);
	return (int)known;
}

/* Ends the line at line (NUL for its '\n'); returns the next one, or NULL. */
static char *cut_line(char *line)
{
	char *next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	return next;
}

size_t initroot_block_fstypes(char *text, const char **types, size_t max)
{
	size_t n = 0;

	/* Lines are "nodev\tNAME" or "\tNAME". */
	for (char *line = text, *next; line && *line && n < max; line = next) {
		next = cut_line(line);
		char *tab = strchr(line, '\t');
		if (!tab || tab != line || !tab[1])
			continue; /* "nodev\t...": no block device behind it */
		types[n++] = tab + 1;
	}
	return n;
}

size_t initroot_virtiofs_devs(char *text, const char **devs, size_t max)
{
	size_t n = 0;

	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS" */
	for (char *line = text, *next; line && *line && n < max; line = next) {
		next = cut_line(line);
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "virtiofs ", 9) != 0)
			continue;
		char *dev = strchr(line, ' ');
		dev = dev ? strchr(dev + 1, ' ') : NULL;
		if (!dev || dev > sep)
			continue;
		dev++;
		char *end = strchr(dev, ' ');
		size_t len = end ? (size_t)(end - dev) : 0;
		if (!len || strspn(dev, "0123456789:") != len || !memchr(dev, ':', len))
			continue;
		*end = '\0';
		devs[n++] = dev;
	}
	return n;
}

/* Every share's read-ahead window (INITROOT_SHARE_READAHEAD_KB): its bdi
 * is /sys/class/bdi/MAJ:MIN. Best effort: a share works without it. */
static void shares_readahead(void)
{
	_cleanup_free_ char *mi = read_text(AT_FDCWD, "/proc/self/mountinfo", 1 << 20);
	const char *devs[ARCA_SPEC_MAX_SHARES + 4];
	size_t n = mi ? initroot_virtiofs_devs(mi, devs, ARRAY_SIZE(devs)) : 0, done = 0;
	char path[64], val[16];
	int vl = snprintf(val, sizeof(val), "%d", INITROOT_SHARE_READAHEAD_KB);

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", devs[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		done += write(fd, val, (size_t)vl) == vl;
		close(fd);
	}
	init_log("read-ahead %d KiB on %zu of %zu virtiofs mounts", INITROOT_SHARE_READAHEAD_KB,
		 done, n);
}

/*
 * The disks initroot_setup() found: id -> "/dev/vdX". File-level, as the
 * steps (whose layout tests build by position) carry only the id; arca-init
 * is one thread and sets up the root once.
 */
static struct {
	const char *id;
	char dev[DISK_NAME_MAX + 5];
} found_disks[ARCA_SPEC_MAX_DISKS + 1];
static size_t nfound_disks;

static const char *disk_dev(const char *id)
{
	for (size_t i = 0; i < nfound_disks; i++)
		if (!strcmp(found_disks[i].id, id))
			return found_disks[i].dev;
	return NULL;
}

/* Mount st's disk (st->src, an id) on target, with st->fstype or, without one,
 * each block filesystem the kernel has, in /proc/filesystems order (ext3
 * and ext2 refuse an ext4 image, so it lands on ext4). */
static int mount_disk(const struct initroot_step *st, const char *target, struct arca_err *e)
{
	long long t0 = init_now_ms();
	const char *dev = disk_dev(st->src);

	if (!dev)
		return arca_error(e, ENODEV, "%s %s: no device found for it", kind_of(st), st->src);
	if (st->fstype) {
		if (mount(dev, target, st->fstype, st->flags, st->data) < 0)
			return arca_error_errno(e, errno, "%s %s (%s): mounting %s on %s",
						kind_of(st), st->src, dev, st->fstype, st->target);
		init_log("%s: %s %s on %s%s (%lld ms)", kind_of(st), st->fstype, dev, st->target,
			 st->flags & MS_RDONLY ? " ro" : "", init_now_ms() - t0);
		return 0;
	}
	_cleanup_free_ char *fs = read_text(AT_FDCWD, "/proc/filesystems", 8192);
	const char *types[64];
	size_t nt = fs ? initroot_block_fstypes(fs, types, ARRAY_SIZE(types)) : 0;
	int last = ENODEV;
	for (size_t i = 0; i < nt; i++) {
		if (mount(dev, target, types[i], st->flags, st->data) == 0) {
			init_log("%s: %s %s on %s%s (found, %lld ms)", kind_of(st), types[i], dev,
				 st->target, st->flags & MS_RDONLY ? " ro" : "", init_now_ms() - t0);
			return 0;
		}
		/* EINVAL: not this type; anything else (EIO, EROFS, EACCES)
		 * is more telling, keep it. */
		if (errno != EINVAL || last == ENODEV)
			last = errno;
	}
	return arca_error_errno(e, last,
				"%s %s (%s): no filesystem type of this kernel mounts it on %s (tried %zu; give fstype=TYPE for one that is a module); last error",
				kind_of(st), st->src, dev, st->target, nt);
}

/* Find every DISK record's device and the root disk's; link
 * /dev/disk/by-id/virtio-ID; remember them for mount_disk(). */
static int find_disks(const struct arca_spec *s, struct arca_err *e)
{
	const char *ids[ARCA_SPEC_MAX_DISKS + 1];
	char name[ARCA_SPEC_MAX_DISKS + 1][DISK_NAME_MAX];
	size_t n = 0, found = 0;

	nfound_disks = 0;
	for (size_t i = 0; i < s->ndisks && n < ARCA_SPEC_MAX_DISKS; i++)
		ids[n++] = s->disks[i].id;
	if (s->root_mode == ARCA_ROOT_DISK || s->root_mode == ARCA_ROOT_DISK_RW)
		ids[n++] = s->root_tag;
	if (!n)
		return 0;
	memset(name, 0, sizeof(name));

	long long t0 = init_now_ms(), deadline = t0 + DISK_WAIT_MS;
	_cleanup_close_ int sysblock = open("/sys/block", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (;;) {
		if (sysblock >= 0)
			found = (size_t)initroot_disk_scan(sysblock, ids, n, name);
		/* The node appears in devtmpfs when the disk is added. */
		size_t ready = 0;
		for (size_t i = 0; i < n; i++) {
			found_disks[i].id = ids[i];
			snprintf(found_disks[i].dev, sizeof(found_disks[i].dev), "/dev/%.31s",
				 name[i]);
			ready += name[i][0] && access(found_disks[i].dev, F_OK) == 0;
		}
		if (ready == n)
			break;
		if (init_now_ms() >= deadline) {
			for (size_t i = 0; i < n; i++)
				if (!name[i][0])
					return arca_error(e, ENODEV,
							  "disk %s: no virtio-blk device with this serial after %d ms (%zu of %zu disks found)",
							  ids[i], DISK_WAIT_MS, found, n);
			for (size_t i = 0; i < n; i++)
				if (access(found_disks[i].dev, F_OK) < 0)
					return arca_error_errno(e, errno, "disk %s: %s", ids[i],
								found_disks[i].dev);
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	nfound_disks = n;
	init_log("%zu disk%s found after %lld ms", n, n == 1 ? "" : "s", init_now_ms() - t0);

	/* By-id links for the command (and its udev-less tools): the same
	 * devtmpfs is its /dev. */
	if ((mkdir("/dev/disk", 0755) < 0 && errno != EEXIST) ||
	    (mkdir("/dev/disk/by-id", 0755) < 0 && errno != EEXIST))
		return arca_error_errno(e, errno, "mkdir /dev/disk/by-id");
	for (size_t i = 0; i < n; i++) {
		char link[64], target[DISK_NAME_MAX + 8];
		snprintf(link, sizeof(link), "/dev/disk/by-id/virtio-%s", ids[i]);
		snprintf(target, sizeof(target), "../../%.31s", name[i]);
		(void)unlink(link);
		if (symlink(target, link) < 0)
			return arca_error_errno(e, errno, "disk %s: symlink %s", ids[i], link);
		init_log("disk %s: %s", ids[i], found_disks[i].dev);
	}
	return 0;
}

/* IR_BIND_FILE: the files device's entry st->mode onto st->target, a
 * regular file below rootfd (made, empty, where there is none). As for
 * mounts, the target is opened without following a symlink and bound
 * through its fd; the read-only and nosuid/nodev flags need a remount of
 * the new mount, which the name now resolves to. */
static int bind_file(const struct initroot_step *st, int rootfd, struct arca_err *e)
{
	char parent[4096], proc[32], src[64];
	const char *slash = strrchr(st->target, '/');
	size_t plen = slash ? (size_t)(slash - st->target) : 0;
	const char *base = slash ? slash + 1 : st->target;

	if (plen >= sizeof(parent) || !*base)
		return arca_error(e, EINVAL, "file %s: bad target", st->target);
	memcpy(parent, st->target, plen);
	parent[plen] = '\0';
	_cleanup_close_ int dfd = -1;
	int r = initroot_mkdir_beneath(rootfd, parent, &dfd);
	if (r < 0)
		return arca_error_errno(e, -r, "file %s: creating its directory %s%s", st->target,
					r == -ELOOP ? "(symlink refused) " : "", parent);
	_cleanup_close_ int fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		int c = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0644);
		if (c < 0)
			return arca_error_errno(e, errno, "file %s: creating the mount point",
						st->target);
		close(c);
		fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return arca_error_errno(e, errno, "file %s: opening the mount point", st->target);
	if (!S_ISREG(sb.st_mode))
		return arca_error(e, S_ISLNK(sb.st_mode) ? ELOOP : EISDIR,
				  "file %s: the guest has a %s there, not a regular file", st->target,
				  S_ISLNK(sb.st_mode) ? "symlink (refused)" :
				  S_ISDIR(sb.st_mode) ? "directory" : "special file");
	snprintf(src, sizeof(src), INITROOT_FILES "/%u", st->mode);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(src, proc, NULL, MS_BIND, NULL) < 0)
		return arca_error_errno(e, errno, "file %s: binding %s", st->target, src);
	_cleanup_close_ int mfd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0)
		return arca_error_errno(e, errno, "file %s: reopening it", st->target);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
	if (mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | st->flags, NULL) < 0)
		return arca_error_errno(e, errno, "file %s: setting its mount flags", st->target);
	return 0;
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
		if (st->op == IR_MOUNT_DISK)
			return mount_disk(st, st->target, e);
		if (mount(src, st->target, st->fstype, st->flags, st->data) < 0)
			return arca_error_errno(e, errno, "%s %s: mounting %s on %s", kind_of(st),
						src, st->fstype, st->target);
		return 0;
	}

	if (st->op == IR_BIND_FILE)
		return bind_file(st, rootfd, e);
	_cleanup_close_ int fd = -1;
	int r = initroot_mkdir_beneath(rootfd, st->target, &fd);
	if (r < 0)
		return arca_error_errno(e, -r, "%s %s: creating mount point %s%s", kind_of(st),
					src, r == -ELOOP ? "(symlink refused) " : "",
					st->target);
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (st->op == IR_MOUNT_DISK)
		return mount_disk(st, proc, e);
	if (mount(src, proc, st->fstype, st->flags, st->data) < 0)
		return arca_error_errno(e, errno, "%s %s: mounting %s on %s", kind_of(st), src,
					st->fstype, st->target);
	return 0;
}

int initroot_setup(const struct arca_spec *s, struct arca_err *e)
{
	/* + 1: the files device's own mount. */
	size_t max = ARRAY_SIZE(kernel_fs) + INITROOT_ROOT_STEPS + s->nshares + s->ndisks + 1;
	_cleanup_free_ struct initroot_step *st = calloc(max, sizeof(*st));
	_cleanup_close_ int rootfd = -1;
	const char *root = initroot_root(s);

	if (!st)
		return arca_error(e, ENOMEM, "out of memory");
	int n = initroot_plan(s, st, max);
	if (n < 0)
		return arca_error_errno(e, -n, "planning the command's root");
	int r = find_disks(s, e);
	if (r < 0)
		return r;

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
		r = run_step(&st[i], rootfd, e);
		if (r < 0)
			return r;
		if (st[i].op == IR_MOUNT)
			init_log("%s: %s %s on %s%s%s (%lld ms)", kind_of(&st[i]), st[i].fstype,
				 st[i].src, st[i].where == IR_BENEATH && root ? root : "",
				 st[i].target, st[i].flags & MS_RDONLY ? " ro" : "",
				 init_now_ms() - t0);
		else if (st[i].op == IR_BIND_FILE)
			init_log("file: %s/%u on %s%s%s (%lld ms)", INITROOT_FILES, st[i].mode,
				 root ? root : "", st[i].target,
				 st[i].flags & MS_RDONLY ? " ro" : "", init_now_ms() - t0);
	}
	/* Only where this run mounted shares: never touches a bdi otherwise
	 * (the unit tests run this on the host). */
	bool shares = false;
	for (int i = 0; i < n; i++)
		shares |= st[i].op == IR_MOUNT && st[i].fstype && !strcmp(st[i].fstype, "virtiofs");
	if (shares)
		shares_readahead();
	if (root)
		init_log("command root %s ready (mode %u)", root, s->root_mode);
	return 0;
}

/* ---- teardown ----------------------------------------------------------------- */

/* mountinfo escapes ' ', '\t', '\n' and '\\' in paths as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

void initroot_teardown(void)
{
	/* "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS ..." per line, in
	 * mount order; a filesystem on a block device has a major number
	 * other than 0 (proc, tmpfs, virtiofs, overlay have 0). */
	_cleanup_free_ char *info = read_text(AT_FDCWD, "/proc/self/mountinfo", 1u << 20);
	char *mps[128];
	size_t n = 0;

	if (!info)
		return;
	for (char *line = info, *next; line && *line && n < ARRAY_SIZE(mps); line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned major = 0;
		char *f[5];
		size_t k = 0;
		for (char *p = line; k < 5 && p;) {
			f[k++] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		if (k < 5 || sscanf(f[2], "%u:", &major) != 1 || major == 0)
			continue;
		unescape_octal(f[4]);
		mps[n++] = f[4];
	}
	for (size_t i = n; i-- > 0;) {
		if (umount2(mps[i], 0) == 0) {
			init_log("unmounted %s", mps[i]);
			continue;
		}
		/* Busy (an overlay's lower layer, something mounted on it, a
		 * file a killed process still holds): read-only is as clean
		 * for the filesystem. */
		int err = errno;
		if (mount(NULL, mps[i], NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0)
			init_log("remounted %s read-only (unmount: %s)", mps[i], strerror(err));
		else
			init_log("cannot unmount %s (%s) nor remount it read-only (%s)", mps[i],
				 strerror(err), strerror(errno));
	}
}
