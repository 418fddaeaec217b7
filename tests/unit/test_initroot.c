/* SPDX-License-Identifier: MIT */
/* cmocka tests for initrd/initroot.c: the mount plan for every root mode
 * and the no-symlink mkdir beneath a directory (on a real temp dir). */
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

#include "../../initrd/initroot.c" /* from tests/unit/ */

/* init.c and sysinit.c provide these in arca-init; here they count. */
static int log_lines;
void init_log(const char *fmt, ...)
{
	(void)fmt;
	log_lines++;
}
long long init_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define S(lit) ((char[]){ lit })
#define MAXSTEPS 64

static char *argv_[] = { S("sh"), NULL };

static struct arca_spec spec_with(uint32_t mode, char *tag, struct arca_spec_share *sh,
				  size_t n)
{
	return (struct arca_spec){ .argv = argv_, .argc = 1, .shares = sh, .nshares = n,
				   .root_mode = mode, .root_tag = tag };
}

static const unsigned long SHARE_RW = MS_NOSUID | MS_NODEV;

static void assert_step(const struct initroot_step *st, int op, int where, const char *src,
			const char *target, const char *fstype, unsigned long flags)
{
	assert_int_equal(st->op, op);
	assert_int_equal(st->where, where);
	if (src)
		assert_string_equal(st->src, src);
	else
		assert_null(st->src);
	assert_string_equal(st->target, target);
	if (fstype)
		assert_string_equal(st->fstype, fstype);
	assert_int_equal(st->flags, flags);
}

/* Every plan: absolute steps strictly before beneath steps (the root fd
 * is opened at the first beneath step). */
static void assert_abs_first(const struct initroot_step *st, int n)
{
	int seen_beneath = 0;
	for (int i = 0; i < n; i++) {
		if (st[i].where == IR_BENEATH)
			seen_beneath = 1;
		else
			assert_false(seen_beneath);
	}
}

/* The kernel filesystems every non-INITRD root gets, at st[0..6). */
static void assert_kernel_fs(const struct initroot_step *st)
{
	const char *targets[] = { "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/tmp" };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(st[i].op, IR_MOUNT);
		assert_int_equal(st[i].where, IR_BENEATH);
		assert_string_equal(st[i].target, targets[i]);
		assert_true(st[i].flags & MS_NOSUID);
	}
	assert_string_equal(st[0].fstype, "proc");
	assert_string_equal(st[2].fstype, "devtmpfs");
	assert_string_equal(st[5].fstype, "tmpfs");
	assert_string_equal(st[5].data, "mode=1777");
}

static void test_plan_initrd(void **state)
{
	struct initroot_step st[MAXSTEPS];
	struct arca_spec s = spec_with(ARCA_ROOT_INITRD, NULL, NULL, 0);

	/* No shares, no ROOT: nothing at all happens (today's behaviour). */
	assert_int_equal(initroot_plan(&s, st, MAXSTEPS), 0);
	assert_null(initroot_root(&s));
	log_lines = 0;
	struct arca_err e = { 0 };
	assert_int_equal(initroot_setup(&s, &e), 0);
	assert_int_equal(log_lines, 0);

	struct arca_spec_share sh[] = {
		{ ARCA_SHARE_F_RO, S("t-data"), S("/data") },
		{ 0, S("t-out"), S("/out") },
		{ ARCA_SHARE_F_NOMOUNT, S("t-dev"), NULL },
	};
	s = spec_with(ARCA_ROOT_INITRD, NULL, sh, 3);
	int n = initroot_plan(&s, st, MAXSTEPS);
	assert_int_equal(n, 2); /* NOMOUNT is not mounted */
	assert_step(&st[0], IR_MOUNT, IR_BENEATH, "t-data", "/data", "virtiofs",
		    SHARE_RW | MS_RDONLY);
	assert_step(&st[1], IR_MOUNT, IR_BENEATH, "t-out", "/out", "virtiofs", SHARE_RW);
	assert_null(st[0].data);
}

static void test_plan_host(void **state)
{
	struct initroot_step st[MAXSTEPS];
	struct arca_spec_share sh[] = { { 0, S("ws"), S("/workspace") } };
	struct arca_spec s = spec_with(ARCA_ROOT_HOST, S("usr-tag"), sh, 1);

	int n = initroot_plan(&s, st, MAXSTEPS);
	assert_int_equal(n, 1 + 6 + 1);
	assert_string_equal(initroot_root(&s), "/arca/root");
	/* The host's /usr, read-only, no setuid, no devices. */
	assert_step(&st[0], IR_MOUNT, IR_BENEATH, "usr-tag", "/usr", "virtiofs",
		    MS_RDONLY | MS_NOSUID | MS_NODEV);
	assert_kernel_fs(&st[1]);
	assert_step(&st[7], IR_MOUNT, IR_BENEATH, "ws", "/workspace", "virtiofs", SHARE_RW);
	assert_abs_first(st, n);
}

static void test_plan_dir(void **state)
{
	struct initroot_step st[MAXSTEPS];
	struct arca_spec_share sh[] = { { ARCA_SHARE_F_RO, S("d"), S("/data") } };
	struct arca_spec s = spec_with(ARCA_ROOT_DIR, S("rootfs"), sh, 1);

	int n = initroot_plan(&s, st, MAXSTEPS);
	assert_int_equal(n, 5 + 6 + 1);
	assert_true(n <= INITROOT_ROOT_STEPS + 6 + 1);
	assert_step(&st[0], IR_MOUNT, IR_ABS, "rootfs", "/arca/lower", "virtiofs", MS_RDONLY);
	assert_step(&st[1], IR_MOUNT, IR_ABS, "tmpfs", "/arca/upper", "tmpfs",
		    MS_NOSUID | MS_NODEV);
	assert_step(&st[2], IR_MKDIR, IR_ABS, NULL, "/arca/upper/u", NULL, 0);
	assert_int_equal(st[2].mode, 0755);
	assert_step(&st[3], IR_MKDIR, IR_ABS, NULL, "/arca/upper/w", NULL, 0);
	assert_step(&st[4], IR_MOUNT, IR_ABS, "overlay", "/arca/root", "overlay", 0);
	assert_string_equal(st[4].data,
			    "lowerdir=/arca/lower,upperdir=/arca/upper/u,workdir=/arca/upper/w");
	assert_kernel_fs(&st[5]);
	assert_step(&st[11], IR_MOUNT, IR_BENEATH, "d", "/data", "virtiofs",
		    SHARE_RW | MS_RDONLY);
	assert_abs_first(st, n);
}

static void test_plan_dir_rw(void **state)
{
	struct initroot_step st[MAXSTEPS];
	struct arca_spec s = spec_with(ARCA_ROOT_DIR_RW, S("rootfs"), NULL, 0);

	int n = initroot_plan(&s, st, MAXSTEPS);
	assert_int_equal(n, 1 + 6);
	/* Written through: no MS_RDONLY, and setuid programs of the rootfs
	 * keep working (no MS_NOSUID on the root itself). */
	assert_step(&st[0], IR_MOUNT, IR_ABS, "rootfs", "/arca/root", "virtiofs", 0);
	assert_kernel_fs(&st[1]);
	assert_abs_first(st, n);
}

static void test_plan_share_order(void **state)
{
	struct initroot_step st[MAXSTEPS];
	/* Given children first and a sibling that sorts between them. */
	struct arca_spec_share sh[] = {
		{ 0, S("t1"), S("/a/b/c") }, { 0, S("t2"), S("/a-b") }, { 0, S("t3"), S("/a/b") },
		{ 0, S("t4"), S("/a") },     { 0, S("t5"), S("/tmp/x") },
	};
	struct arca_spec s = spec_with(ARCA_ROOT_HOST, S("u"), sh, 5);
	int n = initroot_plan(&s, st, MAXSTEPS);
	assert_int_equal(n, 1 + 6 + 5);

	/* Each share comes after every share that is a parent of it, and all
	 * after the /tmp tmpfs. */
	for (int i = 7; i < n; i++) {
		size_t li = strlen(st[i].target);
		for (int j = 7; j < n; j++) {
			size_t lj = strlen(st[j].target);
			int j_parent_of_i = lj < li && !strncmp(st[i].target, st[j].target, lj) &&
					    st[i].target[lj] == '/';
			if (j_parent_of_i)
				assert_true(j < i);
		}
	}
	assert_string_equal(st[7].target, "/a");
	assert_string_equal(st[n - 1].target, "/tmp/x");
}

/* Files: the device goes up first, in the initramfs; each FILE record is
 * bound (entry = its rank among FILE records) in path order with the
 * shares, after any share that is its parent. */
static void test_plan_files(void **state)
{
	(void)state;
	struct initroot_step st[MAXSTEPS];
	struct arca_spec_share sh[] = {
		{ ARCA_SHARE_F_FILE, S("arca-files"), S("/ws/conf") },
		{ 0, S("ws"), S("/ws") },
		{ ARCA_SHARE_F_FILE | ARCA_SHARE_F_RO, S("arca-files"), S("/etc/hosts") },
	};
	struct arca_spec s = spec_with(ARCA_ROOT_HOST, S("u"), sh, 3);
	int n = initroot_plan(&s, st, MAXSTEPS);
	assert_int_equal(n, 1 + 1 + 6 + 3);
	assert_step(&st[0], IR_MOUNT, IR_ABS, "arca-files", INITROOT_FILES, "virtiofs", SHARE_RW);
	assert_step(&st[8], IR_BIND_FILE, IR_BENEATH, "arca-files", "/etc/hosts", NULL,
		    SHARE_RW | MS_RDONLY);
	assert_int_equal(st[8].mode, 1);
	assert_step(&st[9], IR_MOUNT, IR_BENEATH, "ws", "/ws", "virtiofs", SHARE_RW);
	assert_step(&st[10], IR_BIND_FILE, IR_BENEATH, "arca-files", "/ws/conf", NULL, SHARE_RW);
	assert_int_equal(st[10].mode, 0);
	assert_abs_first(st, n);
}

static void test_plan_too_small(void **state)
{
	struct initroot_step st[MAXSTEPS];
	struct arca_spec_share sh[] = { { 0, S("t1"), S("/a") }, { 0, S("t2"), S("/b") } };
	const uint32_t modes[] = { ARCA_ROOT_INITRD, ARCA_ROOT_HOST, ARCA_ROOT_DIR,
				   ARCA_ROOT_DIR_RW };

	for (size_t m = 0; m < 4; m++) {
		struct arca_spec s = spec_with(modes[m], m ? S("r") : NULL, sh, 2);
		int need = initroot_plan(&s, st, MAXSTEPS);
		assert_true(need > 0);
		/* initroot_setup's own bound is always enough. */
		assert_true((size_t)need <= 6 + INITROOT_ROOT_STEPS + s.nshares);
		for (int max = 0; max < need; max++)
			assert_int_equal(initroot_plan(&s, st, (size_t)max), -E2BIG);
		assert_int_equal(initroot_plan(&s, st, (size_t)need), need);
	}
	struct arca_spec bad = spec_with(9, S("r"), NULL, 0);
	assert_int_equal(initroot_plan(&bad, st, MAXSTEPS), -EINVAL);
}

/* ---- mkdir beneath ------------------------------------------------------------ */

struct tmp {
	char root[64], outside[64];
	int rootfd;
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	strcpy(t->root, "/tmp/initroot-XXXXXX");
	strcpy(t->outside, "/tmp/initroot-out-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	assert_non_null(mkdtemp(t->outside));
	t->rootfd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->rootfd >= 0);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[200];
	close(t->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", t->root, t->outside);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void at(char *buf, size_t n, const char *dir, const char *rel)
{
	snprintf(buf, n, "%s/%s", dir, rel);
}

static int dir_is_empty(const char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A '%s')\" ]", path);
	return system(cmd) == 0;
}

static void test_mkdir_beneath_creates(void **state)
{
	struct tmp *t = *state;
	char p[256];
	struct stat a, b;
	int fd;

	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/a/b/c", &fd), 0);
	assert_true(fd >= 0);
	at(p, sizeof(p), t->root, "a/b/c");
	assert_int_equal(stat(p, &a), 0);
	assert_true(S_ISDIR(a.st_mode));
	assert_int_equal(fstat(fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino); /* the fd is that directory */
	assert_int_equal(a.st_dev, b.st_dev);
	close(fd);

	/* Existing components are fine; so are relative paths. */
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "a/b/c/d", &fd), 0);
	close(fd);
	at(p, sizeof(p), t->root, "a/b/c/d");
	assert_int_equal(stat(p, &a), 0);

	/* "/" is the root itself. */
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/", &fd), 0);
	assert_int_equal(fstat(fd, &b), 0);
	assert_int_equal(stat(t->root, &a), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);
}

static void test_mkdir_beneath_refuses_symlinks(void **state)
{
	struct tmp *t = *state;
	char p[256];
	int fd = 12345;

	/* An intermediate symlink to a directory outside the root. */
	at(p, sizeof(p), t->root, "link");
	assert_int_equal(symlink(t->outside, p), 0);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/link/x", &fd), -ELOOP);
	assert_int_equal(fd, -1);
	assert_true(dir_is_empty(t->outside)); /* nothing created through it */

	/* The final component a symlink (to a directory: would mount there). */
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/link", &fd), -ELOOP);

	/* A relative symlink climbing out, deeper down. */
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/d1/d2", &fd), 0);
	close(fd);
	at(p, sizeof(p), t->root, "d1/d2/up");
	assert_int_equal(symlink("../../..", p), 0);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/d1/d2/up/escaped", &fd), -ELOOP);
	char esc[200];
	snprintf(esc, sizeof(esc), "%s/../escaped", t->root);
	struct stat st;
	assert_int_equal(stat(esc, &st), -1);

	/* A dangling symlink: mkdirat says EEXIST, the open must still fail. */
	at(p, sizeof(p), t->root, "dangling");
	assert_int_equal(symlink("/nonexistent-initroot-target", p), 0);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/dangling/x", &fd), -ELOOP);
	assert_int_equal(stat("/nonexistent-initroot-target", &st), -1);
}

static void test_mkdir_beneath_other_errors(void **state)
{
	struct tmp *t = *state;
	char p[256];
	int fd;

	at(p, sizeof(p), t->root, "file");
	int f = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	close(f);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/file", &fd), -ENOTDIR);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/file/x", &fd), -ENOTDIR);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/a/../b", &fd), -EINVAL);
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, "/./b", &fd), -EINVAL);
	/* ".." was refused before anything was created after it. */
	at(p, sizeof(p), t->root, "b");
	struct stat st;
	assert_int_equal(stat(p, &st), -1);

	char longc[300] = "/";
	memset(longc + 1, 'x', 280);
	longc[281] = '\0';
	assert_int_equal(initroot_mkdir_beneath(t->rootfd, longc, &fd), -ENAMETOOLONG);
}

/* run_step's messages name the step, the tag and the guest path. */
static void test_run_step_errors(void **state)
{
	struct tmp *t = *state;
	char p[256];
	struct arca_err e = { 0 };

	at(p, sizeof(p), t->root, "ws");
	assert_int_equal(symlink("/", p), 0);
	struct initroot_step st = { IR_MOUNT, IR_BENEATH, "my-tag", "/ws/sub", "virtiofs",
				    SHARE_RW, NULL, 0, "share" };
	assert_int_equal(run_step(&st, t->rootfd, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "share my-tag"));
	assert_non_null(strstr(e.msg, "symlink refused"));
	assert_non_null(strstr(e.msg, "/ws/sub"));

	/* A tag no device has: the mount itself fails (no virtio-fs device
	 * on this machine, or no privilege), and the message says which. */
	memset(&e, 0, sizeof(e));
	st.target = "/mnt/share";
	int r = run_step(&st, t->rootfd, &e);
	assert_true(r < 0);
	assert_non_null(strstr(e.msg, "share my-tag: mounting virtiofs on /mnt/share: "));
	assert_int_equal(e.code, -r);
	at(p, sizeof(p), t->root, "mnt/share"); /* the mount point was made */
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_initrd),
		cmocka_unit_test(test_plan_host),
		cmocka_unit_test(test_plan_dir),
		cmocka_unit_test(test_plan_dir_rw),
		cmocka_unit_test(test_plan_share_order),
		cmocka_unit_test(test_plan_too_small),
		cmocka_unit_test(test_plan_files),
		cmocka_unit_test_setup_teardown(test_mkdir_beneath_creates, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_beneath_refuses_symlinks, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_beneath_other_errors, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_run_step_errors, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
