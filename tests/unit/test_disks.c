/* SPDX-License-Identifier: MIT */
/*
 * Disks: --disk / --root-disk parsing and its exact messages, default ids
 * and cross-checks (launcher/disks.c); opening real temp files (types,
 * sizes, the same image twice) and QEMU-compatible OFD image locks between
 * separate open file descriptions; the filesystem-module lookup against the
 * kernel the build fetched; and arca-init's side (initrd/initroot.c): the
 * mount plan with disks, finding a disk by serial in a fake /sys/block, the
 * block filesystems of /proc/filesystems.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "disks.h"
#include "initrd.h"
#include "kernel.h"
#include "../../initrd/initroot.c" /* from tests/unit/ */

/* init.c provides these in arca-init. */
void init_log(const char *fmt, ...)
{
	(void)fmt;
}
long long init_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define S(lit) ((char[]){ lit })

/* ---- parsing ----------------------------------------------------------------------- */

static void test_forms(void **state)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };

	assert_int_equal(disks_add(&d, "data.img:/data", &e), 0);
	assert_int_equal(disks_add(&d, "base.img:/srv//base/:ro,id=base,fstype=ext4", &e), 0);
	assert_int_equal(disks_add(&d, "scratch.img,id=scratch", &e), 0);
	assert_int_equal(disks_add(&d, "/dev/vg/lv", &e), 0);
	assert_int_equal(disks_add(&d, "e.img:/e:ephemeral,cache=none,sync=none", &e), 0);
	assert_int_equal(disks_add(&d, "w.img,cache=writeback,sync=full,ro", &e), 0);
	assert_int_equal(disks_add(&d, "a,b.img:/x", &e), 0); /* ',' in PATH: GUEST form */
	assert_int_equal(disks_add(&d, "c.img:/c:", &e), 0);  /* empty OPTS */
	assert_int_equal(d.n, 8);

	assert_string_equal(d.v[0].path, "data.img");
	assert_string_equal(d.v[0].guest, "/data");
	assert_false(d.v[0].ro || d.v[0].ephemeral || d.v[0].direct || d.v[0].nosync);
	assert_string_equal(d.v[0].fstype, "");
	assert_false(d.v[0].user_id);

	assert_string_equal(d.v[1].path, "base.img");
	assert_string_equal(d.v[1].guest, "/srv/base"); /* normalized as -v's */
	assert_true(d.v[1].ro);
	assert_true(d.v[1].user_id);
	assert_string_equal(d.v[1].id, "base");
	assert_string_equal(d.v[1].fstype, "ext4");

	assert_string_equal(d.v[2].path, "scratch.img");
	assert_null(d.v[2].guest);
	assert_string_equal(d.v[2].id, "scratch");

	assert_string_equal(d.v[3].path, "/dev/vg/lv");
	assert_null(d.v[3].guest);

	assert_true(d.v[4].ephemeral && d.v[4].direct && d.v[4].nosync);
	assert_false(d.v[4].ro);
	assert_true(disk_writable(&d.v[0]));
	assert_false(disk_writable(&d.v[1]));
	assert_false(disk_writable(&d.v[4]));

	assert_true(d.v[5].ro);
	assert_false(d.v[5].direct || d.v[5].nosync);
	assert_null(d.v[5].guest);

	assert_string_equal(d.v[6].path, "a,b.img");
	assert_string_equal(d.v[6].guest, "/x");
	assert_string_equal(d.v[7].guest, "/c");

	/* A later option of the same kind wins. */
	struct arca_disks d2 = { 0 };
	assert_int_equal(disks_add(&d2, "x.img,cache=none,cache=writeback,id=a,id=b", &e), 0);
	assert_false(d2.v[0].direct);
	assert_string_equal(d2.v[0].id, "b");
	disks_free(&d2);

	assert_int_equal(disks_count(&d), 8);
	assert_ptr_equal(disks_at(&d, 7), &d.v[7]);
	assert_null(disks_at(&d, 8));
	disks_free(&d);
	assert_int_equal(d.n, 0);
	disks_free(&d); /* idempotent */
}

static void expect_add_error(const char *spec, const char *want)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };

	assert_int_equal(disks_add(&d, spec, &e), -EINVAL);
	assert_int_equal(e.code, EINVAL);
	if (strcmp(e.msg, want))
		fail_msg("'%s':\n got  '%s'\n want '%s'", spec, e.msg, want);
	assert_int_equal(d.n, 0);
	disks_free(&d);
}

static void test_add_errors(void **state)
{
	expect_add_error("", "invalid --disk '': missing PATH (PATH[:GUEST[:OPTS]] or PATH,OPTS)");
	expect_add_error(":/data",
			 "invalid --disk ':/data': missing PATH (PATH[:GUEST[:OPTS]] or PATH,OPTS)");
	expect_add_error(",ro", "invalid --disk ',ro': missing PATH (PATH[:GUEST[:OPTS]] or PATH,OPTS)");
	expect_add_error("a.img:data", "disk guest path must be absolute: 'data' in 'a.img:data'");
	expect_add_error("a.img:", "disk guest path must be absolute: '' in 'a.img:'");
	expect_add_error("a.img::ro", "disk guest path must be absolute: '' in 'a.img::ro'");
	expect_add_error("a.img:/a/../b",
			 "disk guest path may not contain '.' or '..': '/a/../b' in 'a.img:/a/../b'");
	expect_add_error("a.img:/",
			 "a disk cannot be mounted on '/' (use --root-disk): 'a.img:/'");
	expect_add_error("a.img://", "a disk cannot be mounted on '/' (use --root-disk): 'a.img://'");
	expect_add_error("a.img:/proc/x",
			 "a disk cannot be mounted inside /proc: '/proc/x' in 'a.img:/proc/x'");
	expect_add_error("a.img:/sys", "a disk cannot be mounted inside /sys: '/sys' in 'a.img:/sys'");
	expect_add_error("a.img:/dev/sdb:ro",
			 "a disk cannot be mounted inside /dev: '/dev/sdb' in 'a.img:/dev/sdb:ro'");
	char longc[300] = "a.img:/";
	memset(longc + 7, 'c', 256);
	longc[263] = '\0';
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(disks_add(&d, longc, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "invalid disk guest path '/ccc"));

	expect_add_error("a.img,rw",
			 "unknown disk option 'rw' in 'a.img,rw' (ro, ephemeral, id=NAME, cache=writeback|none, sync=full|none, fstype=TYPE)");
	expect_add_error("a.img:/d:ro,bogus",
			 "unknown disk option 'bogus' in 'a.img:/d:ro,bogus' (ro, ephemeral, id=NAME, cache=writeback|none, sync=full|none, fstype=TYPE)");
	expect_add_error("a.img,cache=unsafe",
			 "invalid disk option 'cache=unsafe' in 'a.img,cache=unsafe' (cache=writeback or cache=none)");
	expect_add_error("a.img,sync=",
			 "invalid disk option 'sync=' in 'a.img,sync=' (sync=full or sync=none)");
	expect_add_error("a.img,ro,ephemeral",
			 "disk options 'ro' and 'ephemeral' exclude each other: 'a.img,ro,ephemeral'");
	expect_add_error("a.img:/d:ephemeral,ro",
			 "disk options 'ro' and 'ephemeral' exclude each other: 'a.img:/d:ephemeral,ro'");
	expect_add_error("a.img,fstype=ext4",
			 "disk option 'fstype=' needs a GUEST path to mount on (PATH:GUEST:fstype=TYPE): 'a.img,fstype=ext4'");
	expect_add_error("a.img,id=",
			 "invalid disk id '' in 'a.img,id=': 1 to 20 characters of A-Z, a-z, 0-9, '.', '_', '-'");
	expect_add_error("a.img,id=123456789012345678901",
			 "invalid disk id '123456789012345678901' in 'a.img,id=123456789012345678901': 1 to 20 characters of A-Z, a-z, 0-9, '.', '_', '-'");
	expect_add_error("a.img,id=a/b",
			 "invalid disk id 'a/b' in 'a.img,id=a/b': 1 to 20 characters of A-Z, a-z, 0-9, '.', '_', '-'");
	expect_add_error("a.img,id=a b",
			 "invalid disk id 'a b' in 'a.img,id=a b': 1 to 20 characters of A-Z, a-z, 0-9, '.', '_', '-'");
	expect_add_error("a.img:/d:fstype=EXT4",
			 "invalid disk fstype 'EXT4' in 'a.img:/d:fstype=EXT4': 1 to 16 characters of a-z, 0-9");
	expect_add_error("a.img:/d:fstype=",
			 "invalid disk fstype '' in 'a.img:/d:fstype=': 1 to 16 characters of a-z, 0-9");
	expect_add_error("a.img:/d:fstype=1234567890abcdefg",
			 "invalid disk fstype '1234567890abcdefg' in 'a.img:/d:fstype=1234567890abcdefg': 1 to 16 characters of a-z, 0-9");
	/* Terminal escapes never reach the message. */
	expect_add_error("a.img,\x1b[2J",
			 "unknown disk option '\\x1b[2J' in 'a.img,\\x1b[2J' (ro, ephemeral, id=NAME, cache=writeback|none, sync=full|none, fstype=TYPE)");
	disks_free(&d);
}

static void test_too_many(void **state)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };
	char spec[32];

	for (int i = 0; i < DISKS_MAX; i++) {
		snprintf(spec, sizeof(spec), "d%d.img", i);
		assert_int_equal(disks_add(&d, spec, &e), 0);
	}
	assert_int_equal(disks_add(&d, "d8.img", &e), -EINVAL);
	assert_string_equal(e.msg, "too many disks: 'd8.img' would be disk 9, at most 8");
	assert_int_equal(d.n, DISKS_MAX);
	disks_free(&d);
}

static void test_root_disk(void **state)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };

	assert_int_equal(disks_set_root(&d, "rootfs.ext4", &e), 0);
	assert_true(d.has_root);
	assert_string_equal(d.root.path, "rootfs.ext4");
	assert_true(d.root.ro);
	assert_null(d.root.guest);
	assert_string_equal(d.root.id, "root");
	/* A later one replaces it. */
	assert_int_equal(disks_set_root(&d, "/img/r:w.ext4:rw", &e), 0);
	assert_string_equal(d.root.path, "/img/r:w.ext4");
	assert_false(d.root.ro);
	assert_int_equal(disks_set_root(&d, ":rw", &e), -EINVAL);
	assert_string_equal(e.msg, "--root-disk needs an image path");
	assert_int_equal(disks_set_root(&d, "", &e), -EINVAL);

	/* The root disk comes after every --disk. */
	assert_int_equal(disks_add(&d, "a.img", &e), 0);
	assert_int_equal(disks_count(&d), 2);
	assert_ptr_equal(disks_at(&d, 0), &d.v[0]);
	assert_ptr_equal(disks_at(&d, 1), &d.root);
	assert_null(disks_at(&d, 2));
	disks_free(&d);
	assert_false(d.has_root);
	assert_int_equal(disks_count(&d), 0);
}

/* ---- cross-checks and default ids ----------------------------------------------------- */

static void add_all(struct arca_disks *d, const char *const *specs)
{
	struct arca_err e = { 0 };
	for (; *specs; specs++)
		if (disks_add(d, *specs, &e) < 0)
			fail_msg("%s: %s", *specs, e.msg);
}

static void expect_cross(const char *const *specs, const char *root, const char *want)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };

	add_all(&d, specs);
	if (root)
		assert_int_equal(disks_set_root(&d, root, &e), 0);
	int r = disks_check(&d, NULL, &e);
	if (!want) {
		if (r)
			fail_msg("unexpected: %s", e.msg);
	} else {
		assert_int_equal(r, -EINVAL);
		if (strcmp(e.msg, want))
			fail_msg("\n got  '%s'\n want '%s'", e.msg, want);
	}
	disks_free(&d);
}

static void test_default_ids(void **state)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };

	add_all(&d, (const char *const[]){ "a.img:/a", "b.img,id=mine", "c.img", "d.img,id=disk0x",
					   NULL });
	assert_int_equal(disks_set_root(&d, "r.img", &e), 0);
	assert_int_equal(disks_check(&d, NULL, &e), 0);
	assert_string_equal(d.v[0].id, "disk0");
	assert_string_equal(d.v[1].id, "mine");
	assert_string_equal(d.v[2].id, "disk2"); /* by position, not by count */
	assert_string_equal(d.v[3].id, "disk0x");
	assert_string_equal(d.root.id, "root");
	disks_free(&d);

	/* A user id that is a default nobody uses is fine; one's own default
	 * too. */
	expect_cross((const char *const[]){ "a.img,id=disk5", "b.img", NULL }, NULL, NULL);
	expect_cross((const char *const[]){ "a.img,id=disk0", "b.img", NULL }, NULL, NULL);
	expect_cross((const char *const[]){ "a.img,id=disk1", "b.img,id=x", NULL }, NULL, NULL);
	/* id=root without --root-disk is just a name. */
	expect_cross((const char *const[]){ "a.img,id=root", NULL }, NULL, NULL);
}

static void test_check_errors(void **state)
{
	expect_cross((const char *const[]){ "a.img,id=x", "b.img:/b:id=x", NULL }, NULL,
		     "two disks with id 'x': 'a.img' and 'b.img'");
	expect_cross((const char *const[]){ "a.img,id=disk1", "b.img", NULL }, NULL,
		     "disk id 'disk1' of 'a.img' is the default id of disk 1 ('b.img'): choose another");
	expect_cross((const char *const[]){ "a.img", "b.img", "c.img,id=disk0", NULL }, NULL,
		     "disk id 'disk0' of 'c.img' is the default id of disk 0 ('a.img'): choose another");
	expect_cross((const char *const[]){ "a.img,id=root", NULL }, "r.img",
		     "disk id 'root' of 'a.img' is the id of --root-disk: choose another");
	expect_cross((const char *const[]){ "a.img:/data", "b.img:/data/:ro", NULL }, NULL,
		     "two disks on the same guest path '/data'");
	expect_cross((const char *const[]){ "a.img:/data", "b.img:/data/sub", NULL }, NULL, NULL);

	/* Against shares (-v). */
	struct arca_disks d = { 0 };
	struct arca_shares sh = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_volume(&sh, "/h:/ws", &e), 0);
	assert_int_equal(shares_add_device(&sh, "/h2,tag=t", &e), 0);
	add_all(&d, (const char *const[]){ "a.img:/ws/x", "b.img", NULL });
	assert_int_equal(disks_check(&d, &sh, &e), 0);
	assert_int_equal(disks_add(&d, "c.img:/ws//", &e), 0);
	assert_int_equal(disks_check(&d, &sh, &e), -EINVAL);
	assert_string_equal(e.msg, "a disk and a share on the same guest path '/ws'");
	disks_free(&d);
	shares_free(&sh);
}

static void test_slots(void **state)
{
	struct arca_err e = { 0 };

	assert_int_equal(disks_check_slots(0, 0, &e), 0);
	assert_int_equal(disks_check_slots(8, 7, &e), 0);   /* 7 shares + /usr + 7 disks */
	assert_int_equal(disks_check_slots(7, 8, &e), 0);
	assert_int_equal(disks_check_slots(0, 15, &e), 0);
	assert_int_equal(disks_check_slots(8, 8, &e), -EINVAL);
	assert_string_equal(e.msg,
			    "too many devices: the console, 8 virtio-fs devices (shares and the root) and 8 disks need 17 virtio-mmio slots; there are 16");
	assert_int_equal(disks_check_slots(1, 15, &e), -EINVAL);
	assert_string_equal(e.msg,
			    "too many devices: the console, 1 virtio-fs device (shares and the root) and 15 disks need 17 virtio-mmio slots; there are 16");
}

/* ---- locks ------------------------------------------------------------------------------ */

static void test_lock_plan(void **state)
{
	struct disk_lock_plan p;

	/* A writer: holds CONSISTENT_READ (100) and WRITE (101), shares
	 * neither WRITE (201) nor RESIZE (203). */
	disk_lock_plan(true, &p);
	assert_int_equal(p.perm, DISK_PERM_CONSISTENT_READ | DISK_PERM_WRITE);
	assert_int_equal(p.unshared, DISK_PERM_WRITE | DISK_PERM_RESIZE);
	assert_int_equal(p.nlock, 4);
	assert_int_equal(p.lock[0], 100);
	assert_int_equal(p.lock[1], 101);
	assert_int_equal(p.lock[2], 201);
	assert_int_equal(p.lock[3], 203);
	/* Tests: someone holding WRITE or RESIZE (101, 103), someone not
	 * sharing WRITE (201) or CONSISTENT_READ (200), in that order. */
	assert_int_equal(p.ntest, 4);
	assert_int_equal(p.test[0].byte, 101);
	assert_int_equal(p.test[0].why, DISK_LOCK_WRITER);
	assert_int_equal(p.test[1].byte, 103);
	assert_int_equal(p.test[1].why, DISK_LOCK_WRITER);
	assert_int_equal(p.test[2].byte, 201);
	assert_int_equal(p.test[2].why, DISK_LOCK_NO_WRITERS);
	assert_int_equal(p.test[3].byte, 200);
	assert_int_equal(p.test[3].why, DISK_LOCK_EXCLUSIVE);

	/* A reader (ro, ephemeral): CONSISTENT_READ only, same unshared. */
	disk_lock_plan(false, &p);
	assert_int_equal(p.perm, DISK_PERM_CONSISTENT_READ);
	assert_int_equal(p.unshared, DISK_PERM_WRITE | DISK_PERM_RESIZE);
	assert_int_equal(p.nlock, 3);
	assert_int_equal(p.lock[0], 100);
	assert_int_equal(p.lock[1], 201);
	assert_int_equal(p.lock[2], 203);
	assert_int_equal(p.ntest, 3);
	assert_int_equal(p.test[0].byte, 101);
	assert_int_equal(p.test[1].byte, 103);
	assert_int_equal(p.test[2].byte, 200);
	assert_int_equal(p.test[2].why, DISK_LOCK_EXCLUSIVE);
}

struct tmp {
	char dir[256];
	char img[300];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");
	snprintf(t->dir, sizeof(t->dir), "%s/arca-disks-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->img, sizeof(t->img), "%s/disk.img", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* Which lock bytes another open file description holds (F_OFD_GETLK
 * from a third one). */
static bool byte_locked(const char *path, off_t byte)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	close(fd);
	return fl.l_type != F_UNLCK;
}

static void test_lock_real(void **state)
{
	struct tmp *t = *state;
	enum disk_lock_conflict why;

	make_file(t->img, 1 << 20);
	/* Two open()s of one file in one process: two open file
	 * descriptions, whose OFD locks conflict as two processes' would. */
	int w1 = open(t->img, O_RDWR | O_CLOEXEC), w2 = open(t->img, O_RDWR | O_CLOEXEC);
	int r1 = open(t->img, O_RDONLY | O_CLOEXEC), r2 = open(t->img, O_RDONLY | O_CLOEXEC);
	assert_true(w1 >= 0 && w2 >= 0 && r1 >= 0 && r2 >= 0);

	assert_int_equal(disk_lock(w1, true, &why), 0);
	assert_int_equal(why, DISK_LOCK_OK);
	assert_true(byte_locked(t->img, 100));
	assert_true(byte_locked(t->img, 101));
	assert_false(byte_locked(t->img, 102));
	assert_false(byte_locked(t->img, 103));
	assert_false(byte_locked(t->img, 200));
	assert_true(byte_locked(t->img, 201));
	assert_false(byte_locked(t->img, 202));
	assert_true(byte_locked(t->img, 203));
	/* A second writer, and a reader, are refused: the holder writes. */
	assert_int_equal(disk_lock(w2, true, &why), -EAGAIN);
	assert_int_equal(why, DISK_LOCK_WRITER);
	assert_int_equal(disk_lock(r1, false, &why), -EAGAIN);
	assert_int_equal(why, DISK_LOCK_WRITER);
	/* A refused attempt leaves nothing of its own locked: once the
	 * writer is gone, nothing is. */
	close(w1);
	for (off_t b = 100; b < 300; b++)
		assert_false(byte_locked(t->img, b));

	/* Readers share with readers; a writer then meets a reader that
	 * does not allow writers. */
	assert_int_equal(disk_lock(r1, false, &why), 0);
	assert_int_equal(disk_lock(r2, false, &why), 0);
	assert_true(byte_locked(t->img, 100));
	assert_false(byte_locked(t->img, 101));
	assert_true(byte_locked(t->img, 201));
	assert_true(byte_locked(t->img, 203));
	assert_int_equal(disk_lock(w2, true, &why), -EAGAIN);
	assert_int_equal(why, DISK_LOCK_NO_WRITERS);
	close(r1);
	assert_int_equal(disk_lock(w2, true, &why), -EAGAIN); /* r2 still reads */
	close(r2);
	assert_int_equal(disk_lock(w2, true, &why), 0);
	close(w2);

	/* Someone refusing to share CONSISTENT_READ (byte 200), as QEMU
	 * does for some exclusive jobs: neither readers nor writers. */
	int x = open(t->img, O_RDONLY | O_CLOEXEC), y = open(t->img, O_RDWR | O_CLOEXEC);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 1 };
	assert_int_equal(fcntl(x, F_OFD_SETLK, &fl), 0);
	assert_int_equal(disk_lock(y, false, &why), -EAGAIN);
	assert_int_equal(why, DISK_LOCK_EXCLUSIVE);
	/* A write lock on one of our bytes (not QEMU's scheme): exclusive. */
	fl = (struct flock){ .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 1 };
	assert_int_equal(fcntl(x, F_OFD_SETLK, &fl), 0);
	close(x);
	x = open(t->img, O_RDWR | O_CLOEXEC);
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 1 };
	assert_int_equal(fcntl(x, F_OFD_SETLK, &fl), 0);
	assert_int_equal(disk_lock(y, true, &why), -EAGAIN);
	assert_int_equal(why, DISK_LOCK_EXCLUSIVE);
	close(x);
	close(y);
}

/* ---- opening real files ----------------------------------------------------------------- */

static int open_disks(struct arca_disks *d, const char *const *specs, const char *root,
		      int *fds, struct arca_err *e)
{
	add_all(d, specs);
	if (root)
		assert_int_equal(disks_set_root(d, root, e), 0);
	return disks_open(d, fds, e);
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void test_open_ok(void **state)
{
	struct tmp *t = *state;
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };
	char spec[3][400], root[400];
	int fds[DISKS_MAX + 1];

	make_file(t->img, 1024 * 1024);
	char ro_img[300], eph_img[300];
	snprintf(ro_img, sizeof(ro_img), "%s/ro.img", t->dir);
	snprintf(eph_img, sizeof(eph_img), "%s/eph.img", t->dir);
	make_file(ro_img, 512);
	make_file(eph_img, 4096);
	snprintf(spec[0], sizeof(spec[0]), "%s:/data", t->img);
	snprintf(spec[1], sizeof(spec[1]), "%s,ro", ro_img);
	snprintf(spec[2], sizeof(spec[2]), "%s:/e:ephemeral", eph_img);
	snprintf(root, sizeof(root), "%s/../%s", t->dir, strrchr(t->dir, '/') + 1);
	strcat(root, "/ro.img"); /* a path that realpath shortens */
	assert_int_equal(open_disks(&d, (const char *const[]){ spec[0], spec[1], spec[2], NULL },
				    root, fds, &e), 0);
	assert_int_equal(d.v[0].size, 1024 * 1024);
	assert_int_equal(d.v[1].size, 512);
	assert_int_equal(d.v[2].size, 4096);
	assert_int_equal(d.root.size, 512);
	char *real_ro = realpath(ro_img, NULL);
	assert_non_null(real_ro);
	assert_string_equal(d.root.real, real_ro);
	free(real_ro);
	/* Writable: O_RDWR; ro, ephemeral and a read-only root: O_RDONLY;
	 * all close-on-exec, none non-blocking. */
	int want[] = { O_RDWR, O_RDONLY, O_RDONLY, O_RDONLY };
	for (int i = 0; i < 4; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		assert_int_equal(fl & O_ACCMODE, want[i]);
		assert_int_equal(fl & O_NONBLOCK, 0);
		assert_int_equal(fcntl(fds[i], F_GETFD), FD_CLOEXEC);
	}
	/* The locks are held: the image of --disk 0 has a writer. */
	assert_true(byte_locked(t->img, 101));
	assert_true(byte_locked(ro_img, 100));
	assert_false(byte_locked(ro_img, 101));
	close_all(fds, 4);
	assert_false(byte_locked(t->img, 101));
	disks_free(&d);

	/* cache=none: O_DIRECT where the file system has it. */
	snprintf(spec[0], sizeof(spec[0]), "%s,cache=none", t->img);
	int r = open_disks(&d, (const char *const[]){ spec[0], NULL }, NULL, fds, &e);
	if (r == 0) {
		assert_true(fcntl(fds[0], F_GETFL) & O_DIRECT);
		close_all(fds, 1);
	} else {
		assert_int_equal(r, -EINVAL);
		char want_msg[600];
		snprintf(want_msg, sizeof(want_msg),
			 "cannot open disk '%s' with cache=none: its file system does not support O_DIRECT",
			 t->img);
		assert_string_equal(e.msg, want_msg);
	}
	disks_free(&d);

	/* The same image twice, neither writable: fine. */
	snprintf(spec[0], sizeof(spec[0]), "%s,ro", t->img);
	snprintf(spec[1], sizeof(spec[1]), "%s:/x:ephemeral", t->img);
	assert_int_equal(open_disks(&d, (const char *const[]){ spec[0], spec[1], NULL }, t->img,
				    fds, &e), 0);
	close_all(fds, 3);
	disks_free(&d);
}

static void expect_open_error(struct tmp *t, const char *const *specs, const char *root,
			      int err, const char *want)
{
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };
	int fds[DISKS_MAX + 1];

	int r = open_disks(&d, specs, root, fds, &e);
	assert_int_equal(r, -err);
	if (strcmp(e.msg, want))
		fail_msg("\n got  '%s'\n want '%s'", e.msg, want);
	/* Nothing is left open, nothing locked. */
	for (size_t i = 0; i < disks_count(&d); i++)
		assert_int_equal(fds[i], -1);
	assert_false(byte_locked(t->img, 100));
	disks_free(&d);
}

static void test_open_errors(void **state)
{
	struct tmp *t = *state;
	char p[3][400], want[1200], sub[300];

	make_file(t->img, 1000);
	snprintf(want, sizeof(want),
		 "disk '%s' is 1000 bytes: its size must be a positive multiple of 512", t->img);
	expect_open_error(t, (const char *const[]){ t->img, NULL }, NULL, EINVAL, want);
	make_file(t->img, 0);
	snprintf(want, sizeof(want),
		 "disk '%s' is 0 bytes: its size must be a positive multiple of 512", t->img);
	expect_open_error(t, (const char *const[]){ t->img, NULL }, NULL, EINVAL, want);
	/* The root disk is held to the same rules. */
	expect_open_error(t, (const char *const[]){ NULL }, t->img, EINVAL, want);

	snprintf(p[0], sizeof(p[0]), "%s/missing.img", t->dir);
	snprintf(want, sizeof(want), "disk image not found: '%s'", p[0]);
	expect_open_error(t, (const char *const[]){ p[0], NULL }, NULL, ENOENT, want);
	snprintf(want, sizeof(want), "disk '%s' is not a regular file or block device", t->dir);
	expect_open_error(t, (const char *const[]){ t->dir, NULL }, NULL, EINVAL, want);
	snprintf(sub, sizeof(sub), "%s/fifo", t->dir);
	assert_int_equal(mkfifo(sub, 0600), 0);
	snprintf(want, sizeof(want), "disk '%s' is not a regular file or block device", sub);
	expect_open_error(t, (const char *const[]){ sub, NULL }, NULL, EINVAL, want);
	expect_open_error(t, (const char *const[]){ "/dev/null", NULL }, NULL, EINVAL,
			  "disk '/dev/null' is not a regular file or block device");

	/* The same image twice with a writable use, also through a symlink
	 * or as the root disk. */
	make_file(t->img, 8192);
	snprintf(sub, sizeof(sub), "%s/link.img", t->dir);
	assert_int_equal(symlink(t->img, sub), 0);
	snprintf(p[0], sizeof(p[0]), "%s,ro", t->img);
	snprintf(p[1], sizeof(p[1]), "%s:/x", sub);
	snprintf(want, sizeof(want),
		 "disk '%s' is the same image as disk '%s': an image may be given twice only when neither is writable (ro or ephemeral)",
		 sub, t->img);
	expect_open_error(t, (const char *const[]){ p[0], p[1], NULL }, NULL, EINVAL, want);
	snprintf(p[1], sizeof(p[1]), "%s,ephemeral", t->img);
	snprintf(p[2], sizeof(p[2]), "%s:rw", sub);
	snprintf(want, sizeof(want),
		 "disk '%s' is the same image as disk '%s': an image may be given twice only when neither is writable (ro or ephemeral)",
		 sub, t->img);
	expect_open_error(t, (const char *const[]){ p[1], NULL }, p[2], EINVAL, want);

	/* Locked by another holder (here: another open file description of
	 * this process), named by what it does. */
	int other = open(t->img, O_RDWR | O_CLOEXEC);
	enum disk_lock_conflict why;
	assert_int_equal(disk_lock(other, true, &why), 0);
	snprintf(want, sizeof(want),
		 "disk '%s' is locked by another process that writes to it (QEMU or another arca)",
		 t->img);
	struct arca_disks d = { 0 };
	struct arca_err e = { 0 };
	int fds[DISKS_MAX + 1];
	assert_int_equal(open_disks(&d, (const char *const[]){ t->img, NULL }, NULL, fds, &e),
			 -EBUSY);
	assert_string_equal(e.msg, want);
	assert_int_equal(fds[0], -1);
	disks_free(&d);
	assert_int_equal(open_disks(&d, (const char *const[]){ p[0], NULL }, NULL, fds, &e),
			 -EBUSY);
	assert_string_equal(e.msg, want);
	disks_free(&d);
	close(other);

	other = open(t->img, O_RDONLY | O_CLOEXEC);
	assert_int_equal(disk_lock(other, false, &why), 0);
	snprintf(want, sizeof(want),
		 "disk '%s' is locked by another process that reads it and does not allow writers (QEMU or another arca)",
		 t->img);
	assert_int_equal(open_disks(&d, (const char *const[]){ t->img, NULL }, NULL, fds, &e),
			 -EBUSY);
	assert_string_equal(e.msg, want);
	disks_free(&d);
	/* ... while readers are welcome. */
	assert_int_equal(open_disks(&d, (const char *const[]){ p[0], NULL }, NULL, fds, &e), 0);
	close_all(fds, 1);
	disks_free(&d);
	close(other);
}

/* ---- filesystem modules of the fetched kernel ------------------------------------------- */

static void test_fs_module(void **state)
{
	char modules[600], probe[700];
	struct arca_kernel k = { 0 };
	struct arca_err e = { 0 };
	char mod[KMOD_NAME_MAX];

	/* The tests run from the source tree (make unit), where make
	 * fetched the kernel; without it there is nothing to compare with. */
	FILE *f = fopen("build/kernel/VERSION", "r");
	char ver[128] = "";
	if (!f || !fgets(ver, sizeof(ver), f)) {
		if (f)
			fclose(f);
		skip();
	}
	fclose(f);
	ver[strcspn(ver, "\n")] = '\0';
	snprintf(modules, sizeof(modules), "build/kernel/lib/modules/%s", ver);
	snprintf(probe, sizeof(probe), "%s/modules.order", modules);
	if (access(probe, R_OK) < 0)
		skip();
	k.version = ver;
	k.modules_dir = modules;

	/* ext4 (and the ext2/ext3 it serves) is built into Debian's cloud
	 * kernel: nothing to load. */
	assert_int_equal(initrd_fs_module(&k, "ext4", mod, &e), 0);
	assert_string_equal(mod, "");
	assert_int_equal(initrd_fs_module(&k, "ext2", mod, &e), 0);
	/* A module named after its type, and one that is not (iso9660 is
	 * isofs), when the kernel ships them. */
	snprintf(probe, sizeof(probe), "%s/kernel/fs/xfs/xfs.ko", modules);
	if (access(probe, R_OK) == 0) {
		assert_int_equal(initrd_fs_module(&k, "xfs", mod, &e), 1);
		assert_string_equal(mod, "xfs");
	}
	snprintf(probe, sizeof(probe), "%s/kernel/fs/isofs/isofs.ko", modules);
	if (access(probe, R_OK) == 0) {
		assert_int_equal(initrd_fs_module(&k, "iso9660", mod, &e), 1);
		assert_string_equal(mod, "isofs");
	}
	/* fat.ko is a library, not a filesystem type; "nosuchfs" is nothing. */
	snprintf(probe, sizeof(probe), "%s/modules.builtin.modinfo", modules);
	if (access(probe, R_OK) == 0) {
		char want[300];
		snprintf(want, sizeof(want),
			 "filesystem type 'nosuchfs' is neither built into kernel %s nor one of its modules",
			 ver);
		assert_int_equal(initrd_fs_module(&k, "nosuchfs", mod, &e), -ENOENT);
		assert_string_equal(e.msg, want);
		assert_int_equal(initrd_fs_module(&k, "fat", mod, &e), -ENOENT);
	}
}

/* ---- arca-init: the plan with disks ---------------------------------------------------- */

static char *argv_[] = { S("sh"), NULL };

static void test_plan_disks(void **state)
{
	struct initroot_step st[64];
	struct arca_spec_share sh[] = { { 0, S("t-ws"), S("/ws") } };
	struct arca_spec_disk dk[] = {
		{ 0, S("disk0"), NULL, S("/ws/data") },
		{ ARCA_DISK_F_RO, S("base"), S("xfs"), S("/base") },
		{ ARCA_DISK_F_NOMOUNT, S("scratch"), NULL, NULL },
		{ 0, S("w"), S("ext4"), S("/a") },
	};
	struct arca_spec s = { .argv = argv_, .argc = 1, .shares = sh, .nshares = 1, .disks = dk,
			       .ndisks = 4, .root_mode = ARCA_ROOT_DISK, .root_tag = S("root") };

	int n = initroot_plan(&s, st, 64);
	/* root disk lower, upper, 2 mkdirs, overlay; 6 kernel fs; 1 share
	 * and 3 mounted disks. */
	assert_int_equal(n, 5 + 6 + 1 + 3);
	assert_int_equal(st[0].op, IR_MOUNT_DISK);
	assert_int_equal(st[0].where, IR_ABS);
	assert_string_equal(st[0].src, "root");
	assert_string_equal(st[0].target, "/arca/lower");
	assert_null(st[0].fstype); /* detected */
	assert_int_equal(st[0].flags, MS_RDONLY);
	assert_string_equal(st[4].target, "/arca/root");
	assert_string_equal(st[4].fstype, "overlay");
	/* Shares and disks together, parents first. */
	const char *targets[] = { "/a", "/base", "/ws", "/ws/data" };
	for (int i = 0; i < 4; i++) {
		const struct initroot_step *x = &st[11 + i];
		assert_string_equal(x->target, targets[i]);
		assert_int_equal(x->where, IR_BENEATH);
	}
	assert_int_equal(st[11].op, IR_MOUNT_DISK);
	assert_string_equal(st[11].src, "w");
	assert_string_equal(st[11].fstype, "ext4");
	assert_int_equal(st[11].flags, MS_NOSUID | MS_NODEV);
	assert_int_equal(st[12].op, IR_MOUNT_DISK);
	assert_string_equal(st[12].fstype, "xfs");
	assert_int_equal(st[12].flags, MS_NOSUID | MS_NODEV | MS_RDONLY);
	assert_int_equal(st[13].op, IR_MOUNT);
	assert_string_equal(st[13].fstype, "virtiofs");
	assert_int_equal(st[14].op, IR_MOUNT_DISK);
	assert_string_equal(st[14].src, "disk0");
	assert_null(st[14].fstype);
	/* initroot_setup's bound holds; one less is too few. */
	assert_true((size_t)n <= 6 + INITROOT_ROOT_STEPS + s.nshares + s.ndisks);
	assert_int_equal(initroot_plan(&s, st, (size_t)n - 1), -E2BIG);
	assert_string_equal(initroot_root(&s), "/arca/root");

	/* A read-write root disk is mounted as the root itself. */
	s.root_mode = ARCA_ROOT_DISK_RW;
	s.ndisks = 0;
	s.nshares = 0;
	n = initroot_plan(&s, st, 64);
	assert_int_equal(n, 1 + 6);
	assert_int_equal(st[0].op, IR_MOUNT_DISK);
	assert_string_equal(st[0].src, "root");
	assert_string_equal(st[0].target, "/arca/root");
	assert_int_equal(st[0].flags, 0);
}

/* ---- arca-init: finding disks by serial --------------------------------------------------- */

static void put(const char *dir, const char *rel, const char *text)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_disk_scan(void **state)
{
	struct tmp *t = *state;
	char p[600];
	const char *names[] = { "vda", "vdb", "vdc", "sda", "vdd" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", t->dir, names[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	put(t->dir, "vda/serial", "disk0\n");
	put(t->dir, "vdb/serial", "12345678901234567890"); /* 20 bytes: no newline */
	put(t->dir, "sda/serial", "root\n");              /* not virtio-blk */
	/* vdc has no serial file (no GET_ID); vdd's is another disk's. */
	put(t->dir, "vdd/serial", "other\n");

	int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	const char *ids[] = { "12345678901234567890", "root", "disk0" };
	char name[3][DISK_NAME_MAX];
	memset(name, 0, sizeof(name));
	assert_int_equal(initroot_disk_scan(dfd, ids, 3, name), 2);
	assert_string_equal(name[0], "vdb");
	assert_string_equal(name[1], "");
	assert_string_equal(name[2], "vda");
	/* The device shows up later: the next scan finds it, and keeps what
	 * it had. */
	snprintf(p, sizeof(p), "%s/vde", t->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put(t->dir, "vde/serial", "root\n");
	assert_int_equal(initroot_disk_scan(dfd, ids, 3, name), 3);
	assert_string_equal(name[1], "vde");
	assert_string_equal(name[0], "vdb");
	/* A serial that only starts like an id is not it. */
	const char *ids2[] = { "disk" };
	char name2[1][DISK_NAME_MAX] = { "" };
	assert_int_equal(initroot_disk_scan(dfd, ids2, 1, name2), 0);
	close(dfd);
}

static void test_block_fstypes(void **state)
{
	char text[] = "nodev\tsysfs\nnodev\ttmpfs\n\text3\n\text2\n\text4\nnodev\tovl\n"
		      "\tsquashfs\n\tvfat\nnodev\tvirtiofs\n\tfuseblk\n";
	const char *types[8];
	size_t n = initroot_block_fstypes(text, types, 8);
	assert_int_equal(n, 6);
	const char *want[] = { "ext3", "ext2", "ext4", "squashfs", "vfat", "fuseblk" };
	for (size_t i = 0; i < n; i++)
		assert_string_equal(types[i], want[i]);
	char text2[] = "\text3\n\text2\n\text4\n";
	assert_int_equal(initroot_block_fstypes(text2, types, 2), 2);
	char empty[] = "";
	assert_int_equal(initroot_block_fstypes(empty, types, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_root_disk),
		cmocka_unit_test(test_default_ids),
		cmocka_unit_test(test_check_errors),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_lock_plan),
		cmocka_unit_test_setup_teardown(test_lock_real, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_open_ok, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_fs_module),
		cmocka_unit_test(test_plan_disks),
		cmocka_unit_test_setup_teardown(test_disk_scan, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_block_fstypes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
