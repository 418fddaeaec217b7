/* SPDX-License-Identifier: MIT */
/*
 * --disk / --root-disk: parsing and cross-checks (pure), then opening and
 * locking the images (disks_open). See disks.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "disks.h"
#include "hostfs.h"
#include "quote.h"
#include "spec.h"

#define DISK_OPTS_HELP "ro, ephemeral, id=NAME, cache=writeback|none, sync=full|none, fstype=TYPE"

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

/* GUEST of PATH:GUEST[:OPTS]: normalized in place as -v's (a doubled or
 * trailing '/' collapses), then held to the spec's rule for mount points. */
static int check_guest(char *guest, const char *spec, struct arca_err *e)
{
	static const char *const forbidden[] = { "/proc", "/sys", "/dev" };
	struct quoted q1, q2;

	if (guest[0] != '/')
		return arca_error(e, EINVAL, "disk guest path must be absolute: '%s' in '%s'",
				  quote(&q1, guest), quote(&q2, spec));
	if (shares_normalize_guest(guest) < 0)
		return arca_error(e, EINVAL,
				  "disk guest path may not contain '.' or '..': '%s' in '%s'",
				  quote(&q1, guest), quote(&q2, spec));
	if (!strcmp(guest, "/"))
		return arca_error(e, EINVAL, "a disk cannot be mounted on '/' (use --root-disk): '%s'",
				  quote(&q1, spec));
	for (size_t k = 0; k < ARRAY_SIZE(forbidden); k++)
		if (inside(guest, forbidden[k]))
			return arca_error(e, EINVAL, "a disk cannot be mounted inside %s: '%s' in '%s'",
					  forbidden[k], quote(&q1, guest), quote(&q2, spec));
	/* What is left: a path or a component too long for the guest. */
	if (!spec_guest_path_ok(guest, strlen(guest)))
		return arca_error(e, EINVAL, "invalid disk guest path '%s' in '%s'",
				  quote(&q1, guest), quote(&q2, spec));
	return 0;
}

static int parse_opt(struct arca_disk *dk, const char *t, const char *spec, struct arca_err *e)
{
	struct quoted q1, q2;

	if (!strcmp(t, "ro")) {
		dk->ro = true;
	} else if (!strcmp(t, "ephemeral")) {
		dk->ephemeral = true;
	} else if (!strncmp(t, "id=", 3)) {
		const char *id = t + 3;
		if (!spec_disk_id_ok(id, strlen(id)))
			return arca_error(e, EINVAL,
					  "invalid disk id '%s' in '%s': 1 to %u characters of A-Z, a-z, 0-9, '.', '_', '-'",
					  quote(&q1, id), quote(&q2, spec), DISK_ID_MAX);
		snprintf(dk->id, sizeof(dk->id), "%s", id);
		dk->user_id = true;
	} else if (!strcmp(t, "cache=writeback") || !strcmp(t, "cache=none")) {
		dk->direct = !strcmp(t, "cache=none");
	} else if (!strcmp(t, "sync=full") || !strcmp(t, "sync=none")) {
		dk->nosync = !strcmp(t, "sync=none");
	} else if (!strncmp(t, "fstype=", 7)) {
		const char *ft = t + 7;
		if (!spec_fstype_ok(ft, strlen(ft)))
			return arca_error(e, EINVAL,
					  "invalid disk fstype '%s' in '%s': 1 to %u characters of a-z, 0-9",
					  quote(&q1, ft), quote(&q2, spec), DISK_FSTYPE_MAX);
		snprintf(dk->fstype, sizeof(dk->fstype), "%s", ft);
	} else if (!strncmp(t, "cache=", 6) || !strncmp(t, "sync=", 5)) {
		return arca_error(e, EINVAL, "invalid disk option '%s' in '%s' (%s)",
				  quote(&q1, t), quote(&q2, spec),
				  t[0] == 'c' ? "cache=writeback or cache=none"
					      : "sync=full or sync=none");
	} else {
		return arca_error(e, EINVAL, "unknown disk option '%s' in '%s' (" DISK_OPTS_HELP ")",
				  quote(&q1, t), quote(&q2, spec));
	}
	return 0;
}

static void disk_clear(struct arca_disk *dk)
{
	free(dk->path);
	free(dk->real);
	free(dk->guest);
	memset(dk, 0, sizeof(*dk));
}

static int parse_spec(struct arca_disk *dk, const char *spec, struct arca_err *e)
{
	struct quoted q;
	const char *colon = strchr(spec, ':'), *opts = NULL;
	size_t plen;

	/* With a ':' it is PATH:GUEST[:OPTS]; without, PATH[,OPTS]. A PATH
	 * holding ':' cannot be given (as with -v); one holding ',' only in
	 * the GUEST form. */
	if (colon) {
		const char *g = colon + 1, *c2 = strchr(g, ':');
		plen = (size_t)(colon - spec);
		dk->guest = strndup(g, c2 ? (size_t)(c2 - g) : strlen(g));
		if (!dk->guest)
			return arca_error(e, ENOMEM, "out of memory");
		opts = c2 ? c2 + 1 : NULL;
	} else {
		const char *comma = strchr(spec, ',');
		plen = comma ? (size_t)(comma - spec) : strlen(spec);
		opts = comma ? comma + 1 : NULL;
	}
	if (plen == 0)
		return arca_error(e, EINVAL,
				  "invalid --disk '%s': missing PATH (PATH[:GUEST[:OPTS]] or PATH,OPTS)",
				  quote(&q, spec));
	if (!(dk->path = strndup(spec, plen)))
		return arca_error(e, ENOMEM, "out of memory");
	int r;
	if (dk->guest && (r = check_guest(dk->guest, spec, e)) < 0)
		return r;
	if (opts) {
		_cleanup_free_ char *copy = strdup(opts);
		char *save = NULL;
		if (!copy)
			return arca_error(e, ENOMEM, "out of memory");
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if ((r = parse_opt(dk, t, spec, e)) < 0)
				return r;
	}
	if (dk->ro && dk->ephemeral)
		return arca_error(e, EINVAL,
				  "disk options 'ro' and 'ephemeral' exclude each other: '%s'",
				  quote(&q, spec));
	if (dk->fstype[0] && !dk->guest)
		return arca_error(e, EINVAL,
				  "disk option 'fstype=' needs a GUEST path to mount on (PATH:GUEST:fstype=TYPE): '%s'",
				  quote(&q, spec));
	return 0;
}

int disks_add(struct arca_disks *d, const char *spec, struct arca_err *e)
{
	struct quoted q;

	if (d->n >= DISKS_MAX)
		return arca_error(e, EINVAL, "too many disks: '%s' would be disk %d, at most %d",
				  quote(&q, spec), DISKS_MAX + 1, DISKS_MAX);
	struct arca_disk *dk = &d->v[d->n];
	memset(dk, 0, sizeof(*dk));
	int r = parse_spec(dk, spec, e);
	if (r < 0) {
		disk_clear(dk);
		return r;
	}
	d->n++;
	return 0;
}

int disks_set_root(struct arca_disks *d, const char *arg, struct arca_err *e)
{
	size_t n = strlen(arg);
	bool rw = false;

	if (n >= 3 && !strcmp(arg + n - 3, ":rw")) {
		rw = true;
		n -= 3;
	}
	if (n == 0)
		return arca_error(e, EINVAL, "--root-disk needs an image path");
	char *path = strndup(arg, n);
	if (!path)
		return arca_error(e, ENOMEM, "out of memory");
	disk_clear(&d->root);
	d->root.path = path;
	/* The root disk is never mounted by GUEST path: the ROOT record
	 * names it. Without :rw the guest mounts it read-only under a tmpfs
	 * overlay, so the VMM need not write it either. */
	d->root.ro = !rw;
	snprintf(d->root.id, sizeof(d->root.id), "%s", DISK_ROOT_ID);
	d->has_root = true;
	return 0;
}

size_t disks_count(const struct arca_disks *d)
{
	return d->n + (d->has_root ? 1 : 0);
}

struct arca_disk *disks_at(struct arca_disks *d, size_t i)
{
	if (i < d->n)
		return &d->v[i];
	if (i == d->n && d->has_root)
		return &d->root;
	return NULL;
}

/* Two disks with one id: say which of them chose it. a comes after b. */
static int id_clash(const struct arca_disks *d, const struct arca_disk *a,
		    const struct arca_disk *b, size_t bi, struct arca_err *e)
{
	struct quoted q1, q2;

	if (a == &d->root || b == &d->root) {
		const struct arca_disk *user = a == &d->root ? b : a;
		return arca_error(e, EINVAL,
				  "disk id '%s' of '%s' is the id of --root-disk: choose another",
				  a->id, quote(&q1, user->path));
	}
	if (a->user_id && b->user_id)
		return arca_error(e, EINVAL, "two disks with id '%s': '%s' and '%s'", a->id,
				  quote(&q1, b->path), quote(&q2, a->path));
	const struct arca_disk *user = a->user_id ? a : b, *dflt = a->user_id ? b : a;
	size_t pos = a->user_id ? bi : (size_t)(a - d->v);
	return arca_error(e, EINVAL,
			  "disk id '%s' of '%s' is the default id of disk %zu ('%s'): choose another",
			  user->id, quote(&q1, user->path), pos, quote(&q2, dflt->path));
}

int disks_check(struct arca_disks *d, const struct arca_shares *sh, struct arca_err *e)
{
	size_t n = disks_count(d);

	_Static_assert(DISKS_MAX < 256, "default ids are disk0..disk255");
	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].user_id)
			snprintf(d->v[i].id, sizeof(d->v[i].id), "disk%u", (unsigned)(uint8_t)i);
	for (size_t i = 0; i < n; i++) {
		const struct arca_disk *a = disks_at(d, i);
		for (size_t j = 0; j < i; j++) {
			const struct arca_disk *b = disks_at(d, j);
			if (!strcmp(a->id, b->id))
				return id_clash(d, a, b, j, e);
			if (a->guest && b->guest && !strcmp(a->guest, b->guest))
				return arca_error(e, EINVAL, "two disks on the same guest path '%s'",
						  a->guest);
		}
		for (size_t j = 0; a->guest && sh && j < sh->n; j++)
			if (sh->v[j].guest && !strcmp(a->guest, sh->v[j].guest))
				return arca_error(e, EINVAL,
						  "a disk and a share on the same guest path '%s'",
						  a->guest);
	}
	return 0;
}

int disks_check_slots(size_t nfs, size_t ndisks, struct arca_err *e)
{
	size_t need = 1 + nfs + ndisks;

	if (need > DISK_MMIO_SLOTS)
		return arca_error(e, EINVAL,
				  "too many devices: the console, %zu virtio-fs device%s (shares and the root) and %zu disk%s need %zu virtio-mmio slots; there are %u",
				  nfs, nfs == 1 ? "" : "s", ndisks, ndisks == 1 ? "" : "s", need,
				  DISK_MMIO_SLOTS);
	return 0;
}

void disks_free(struct arca_disks *d)
{
	for (size_t i = 0; i < d->n; i++)
		disk_clear(&d->v[i]);
	d->n = 0;
	disk_clear(&d->root);
	d->has_root = false;
}

/* ---- image locks ---------------------------------------------------------------------- */

/*
 * QEMU's image locking (block/file-posix.c, raw_apply_lock_bytes and
 * raw_check_lock_bytes; util/osdep.c qemu_lock_fd / qemu_lock_fd_test),
 * so arca and QEMU keep each other off an image:
 *
 *  - Permission bit i (BLK_PERM_*: CONSISTENT_READ 0, WRITE 1,
 *    WRITE_UNCHANGED 2, RESIZE 3) is byte RAW_LOCK_PERM_BASE (100) + i for
 *    "I hold it" and RAW_LOCK_SHARED_BASE (200) + i for "I do not let others
 *    hold it". A holder takes a shared lock (F_RDLCK) on one byte for each,
 *    as an open file description lock (F_OFD_SETLK): it belongs to the open
 *    file, not to the process, so it survives in the VMM that inherits the
 *    fd and goes away when the last fd on it closes.
 *  - Before it may use the image, a holder tests (F_OFD_GETLK with F_WRLCK,
 *    which reports any lock of another open file description) byte 200 + i
 *    for each permission it wants (someone refuses to share it) and byte
 *    100 + i for each permission it refuses to share (someone holds it).
 *    QEMU locks first and tests second, so of two starting at once at least
 *    one sees the other; so does disk_lock().
 *
 * A writable arca disk holds CONSISTENT_READ and WRITE and shares neither
 * WRITE nor RESIZE: QEMU's default for a read-write drive (share-rw=off).
 * A read-only or ephemeral disk holds CONSISTENT_READ and does not share
 * WRITE or RESIZE either: the image must not change under the guest (or
 * under an ephemeral disk's overlay), while readers share with readers.
 */
void disk_lock_plan(bool writable, struct disk_lock_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->perm = DISK_PERM_CONSISTENT_READ | (writable ? DISK_PERM_WRITE : 0);
	p->unshared = DISK_PERM_WRITE | DISK_PERM_RESIZE;
	for (unsigned i = 0; i < 4; i++)
		if (p->perm & (1u << i))
			p->lock[p->nlock++] = DISK_LOCK_PERM_BASE + i;
	for (unsigned i = 0; i < 4; i++)
		if (p->unshared & (1u << i))
			p->lock[p->nlock++] = DISK_LOCK_SHARED_BASE + i;
	/* Tests in the order that names the other holder best: a writer
	 * (holds WRITE or RESIZE) also refuses to share WRITE, so its 1xx
	 * byte is tested before the 2xx ones. */
	for (unsigned i = 0; i < 4; i++)
		if (p->unshared & (1u << i)) {
			p->test[p->ntest].byte = DISK_LOCK_PERM_BASE + i;
			p->test[p->ntest++].why = DISK_LOCK_WRITER;
		}
	for (unsigned i = 4; i-- > 0;)
		if (p->perm & (1u << i)) {
			p->test[p->ntest].byte = DISK_LOCK_SHARED_BASE + i;
			p->test[p->ntest++].why = (1u << i) == DISK_PERM_CONSISTENT_READ
							  ? DISK_LOCK_EXCLUSIVE
							  : DISK_LOCK_NO_WRITERS;
		}
}

static void unlock_all(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
			    .l_start = DISK_LOCK_PERM_BASE,
			    .l_len = DISK_LOCK_SHARED_BASE + 100 - DISK_LOCK_PERM_BASE };
	(void)fcntl(fd, F_OFD_SETLK, &fl);
}

int disk_lock(int fd, bool writable, enum disk_lock_conflict *why)
{
	struct disk_lock_plan p;
	int err;

	*why = DISK_LOCK_OK;
	disk_lock_plan(writable, &p);
	for (unsigned i = 0; i < p.nlock; i++) {
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = p.lock[i],
				    .l_len = 1 };
		if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
			err = errno;
			unlock_all(fd);
			/* Refused: someone holds a write lock there, which
			 * QEMU never takes; treat it as exclusive use. */
			if (err == EAGAIN || err == EACCES) {
				*why = DISK_LOCK_EXCLUSIVE;
				return -EAGAIN;
			}
			return -err;
		}
	}
	for (unsigned i = 0; i < p.ntest; i++) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = p.test[i].byte, .l_len = 1 };
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
			err = errno;
			unlock_all(fd);
			return -err;
		}
		if (fl.l_type != F_UNLCK) {
			unlock_all(fd);
			*why = p.test[i].why;
			return -EAGAIN;
		}
	}
	return 0;
}

/* ---- opening ------------------------------------------------------------------------ */

/* What makes two paths the same image. */
struct disk_key {
	bool blk;
	dev_t dev, rdev;
	ino_t ino;
};

static bool same_image(const struct disk_key *a, const struct disk_key *b)
{
	if (a->blk != b->blk)
		return false;
	return a->blk ? a->rdev == b->rdev : a->dev == b->dev && a->ino == b->ino;
}

static const char *lock_holder(enum disk_lock_conflict why)
{
	switch (why) {
	case DISK_LOCK_WRITER:
		return "writes to it";
	case DISK_LOCK_NO_WRITERS:
		return "reads it and does not allow writers";
	default:
		return "does not share it";
	}
}

/* One image: fd, or -errno with e set. */
static int disk_open(struct arca_disk *dk, struct disk_key *key, struct arca_err *e)
{
	struct quoted q;
	const char *shown = quote(&q, dk->path);
	bool w = disk_writable(dk);
	struct stat st;

	free(dk->real);
	dk->real = realpath(dk->path, NULL);
	if (!dk->real) {
		if (errno == ENOENT)
			return arca_error(e, ENOENT, "disk image not found: '%s'", shown);
		return arca_error_errno(e, errno, "disk '%s'", shown);
	}
	/* Before opening: open() of a FIFO would block, of a tty or another
	 * device would have effects. */
	if (stat(dk->real, &st) < 0)
		return arca_error_errno(e, errno, "disk '%s'", shown);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return arca_error(e, EINVAL, "disk '%s' is not a regular file or block device",
				  shown);
	/* O_NONBLOCK until the fstat below has seen what was opened, in
	 * case the path changed in between; then off again: io_uring fails
	 * requests on an O_NONBLOCK file with EAGAIN instead of waiting. */
	int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (w ? O_RDWR : O_RDONLY) |
		    (dk->direct ? O_DIRECT : 0);
	_cleanup_close_ int fd = open(dk->real, flags);
	if (fd < 0) {
		int err = errno;
		if (err == EINVAL && dk->direct)
			return arca_error(e, EINVAL,
					  "cannot open disk '%s' with cache=none: its file system does not support O_DIRECT",
					  shown);
		if (w && (err == EROFS || err == EACCES || err == EPERM))
			return arca_error_errno(e, err,
						"cannot open disk '%s' read-write (mark it ro or ephemeral to open it read-only)",
						shown);
		return arca_error_errno(e, err, "cannot open disk '%s'", shown);
	}
	if (fstat(fd, &st) < 0)
		return arca_error_errno(e, errno, "disk '%s'", shown);
	/* /proc/kcore and friends are regular files too. (A block device
	 * node lives on the host's /dev by nature and is what was asked for;
	 * any other device is refused just below.) */
	int hr = S_ISREG(st.st_mode) ? hostfs_check(fd, "disk", dk->path, e) : 0;
	if (hr < 0)
		return hr;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return arca_error(e, EINVAL, "disk '%s' is not a regular file or block device",
				  shown);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return arca_error_errno(e, errno, "disk '%s'", shown);
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0)
		return arca_error_errno(e, errno, "disk '%s': cannot read the block device's size",
					shown);
	/* virtio-blk counts 512-byte sectors: a partial last sector could be
	 * neither read nor written whole. */
	if (size == 0 || size % DISK_SECTOR)
		return arca_error(e, EINVAL,
				  "disk '%s' is %llu bytes: its size must be a positive multiple of %u",
				  shown, (unsigned long long)size, DISK_SECTOR);
	dk->size = size;
	*key = (struct disk_key){ .blk = S_ISBLK(st.st_mode), .dev = st.st_dev,
				  .rdev = st.st_rdev, .ino = st.st_ino };
	return steal_fd(&fd);
}

int disks_open(struct arca_disks *d, int *fds, struct arca_err *e)
{
	struct disk_key keys[DISKS_MAX + 1];
	size_t n = disks_count(d), i;
	int r = 0;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		struct arca_disk *dk = disks_at(d, i);
		struct quoted q1, q2;
		if ((r = fds[i] = disk_open(dk, &keys[i], e)) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++) {
			const struct arca_disk *other = disks_at(d, j);
			if (!same_image(&keys[i], &keys[j]) ||
			    (!disk_writable(dk) && !disk_writable(other)))
				continue;
			r = arca_error(e, EINVAL,
				       "disk '%s' is the same image as disk '%s': an image may be given twice only when neither is writable (ro or ephemeral)",
				       quote(&q1, dk->path), quote(&q2, other->path));
			goto fail;
		}
		enum disk_lock_conflict why;
		r = disk_lock(fds[i], disk_writable(dk), &why);
		if (r == -EAGAIN) {
			r = arca_error(e, EBUSY,
				       "disk '%s' is locked by another process that %s (QEMU or another arca)",
				       quote(&q1, dk->path), lock_holder(why));
			goto fail;
		}
		if (r < 0) {
			r = arca_error_errno(e, -r, "cannot lock disk '%s'", quote(&q1, dk->path));
			goto fail;
		}
	}
	return 0;
fail:
	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	return r;
}
