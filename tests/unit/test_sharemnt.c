/* SPDX-License-Identifier: MIT */
/* Shares as detached, idmapped mounts (launcher/sharemnt.c) and opening
 * user-named paths with the invoking user's rights (launcher/asuser.c):
 * the mountinfo parser, then the real kernel (root only; skipped
 * otherwise): ".." stops at a clone's root, read-only clones refuse
 * writes, an idmapped clone lets the mapped uid write as the owner. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "asuser.h"
#include "hostfs.h"
#include "sharemnt.h"

static const char MI[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"23 22 0:21 / /proc rw,nosuid shared:2 - proc proc rw\n"
	"24 22 0:5 / /dev rw,nosuid shared:3 - devtmpfs udev rw\n"
	"25 22 0:30 / /home/u/my\\040dir/sys rw - sysfs sysfs rw\n"
	"26 22 0:31 / /srv/data rw - ext4 /dev/sdb1 rw\n"
	"27 26 0:32 / /srv/data/cache rw - tmpfs tmpfs rw\n"
	"28 22 0:33 / /srvx/proc rw - proc proc rw\n"
	"29 22 0:34 / /work rw - ext4 /dev/sdc1 rw\n";

static void test_find_pseudo(void **state)
{
	char mnt[256], type[64];
	assert_int_equal(sharemnt_find_pseudo(MI, "/", mnt, sizeof(mnt), type, sizeof(type)), 1);
	assert_string_equal(mnt, "/proc");
	assert_string_equal(type, "proc");
	/* escapes undone; only strictly beneath */
	assert_int_equal(sharemnt_find_pseudo(MI, "/home/u/my dir", mnt, sizeof(mnt), type,
					      sizeof(type)), 1);
	assert_string_equal(mnt, "/home/u/my dir/sys");
	assert_string_equal(type, "sysfs");
	assert_int_equal(sharemnt_find_pseudo(MI, "/home/u/my dir/sys", mnt, sizeof(mnt), type,
					      sizeof(type)), 0);
	/* ordinary submounts pass; "/srv" is no prefix of "/srvx" */
	assert_int_equal(sharemnt_find_pseudo(MI, "/srv", mnt, sizeof(mnt), type, sizeof(type)),
			 0);
	assert_int_equal(sharemnt_find_pseudo(MI, "/work", mnt, sizeof(mnt), type, sizeof(type)),
			 0);
	assert_int_equal(sharemnt_find_pseudo(MI, "/srvx", mnt, sizeof(mnt), type, sizeof(type)),
			 1);
	/* malformed lines are errors, not silently skipped */
	assert_int_equal(sharemnt_find_pseudo("1 2 3\n", "/", mnt, sizeof(mnt), type, sizeof(type)),
			 -EINVAL);
	assert_int_equal(sharemnt_find_pseudo("1 2 0:1 / /a\\9 rw - proc p rw\n", "/", mnt,
					      sizeof(mnt), type, sizeof(type)), -EINVAL);
	assert_int_equal(sharemnt_find_pseudo("", "/", mnt, sizeof(mnt), type, sizeof(type)), 0);
	assert_true(hostfs_pseudo_type("devtmpfs"));
	assert_true(hostfs_pseudo_type("cgroup2"));
	assert_false(hostfs_pseudo_type("tmpfs"));
	assert_false(hostfs_pseudo_type("ext4"));
}

static void test_check_beneath_real(void **state)
{
	struct arca_err e = { 0 };
	assert_int_equal(sharemnt_check_beneath("/", "share", &e), -EPERM);
	assert_non_null(strstr(e.msg, "refusing share '/': /"));
	assert_int_equal(sharemnt_check_beneath("/usr", "share", &e), 0);
}

static char base[64], share[96];

static int setup_tree(void **state)
{
	snprintf(base, sizeof(base), "/tmp/arca-test-sharemnt.XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(share, sizeof(share), "%s/share", base);
	char p[160];
	if (mkdir(share, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/outside", base);
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(p, sizeof(p), "%s/inside", share);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static int clone_share(unsigned flags, int userns, bool *idm)
{
	struct arca_err e = { 0 };
	int dfd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = sharemnt_clone(dfd, "", flags, userns, idm, "share", &e);
	close(dfd);
	if (fd < 0)
		print_message("sharemnt_clone: %s\n", e.msg);
	return fd;
}

static void test_dotdot_stops(void **state)
{
	if (geteuid() != 0)
		skip();
	int fd = clone_share(0, -1, NULL);
	assert_true(fd >= 0);
	/* The host's tree would give base/outside; the clone's ".." is
	 * its own root. */
	struct stat root, up;
	assert_int_equal(fstat(fd, &root), 0);
	int u = openat(fd, "..", O_PATH | O_CLOEXEC);
	assert_true(u >= 0);
	assert_int_equal(fstat(u, &up), 0);
	assert_true(root.st_ino == up.st_ino && root.st_dev == up.st_dev);
	close(u);
	assert_int_equal(openat(fd, "../outside", O_RDONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(openat(fd, "../../../../etc/hostname", O_RDONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, ENOENT);
	int in = openat(fd, "../../inside", O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0); /* ".." from the root is the root: share/inside */
	close(in);
	close(fd);
}

static void test_read_only(void **state)
{
	if (geteuid() != 0)
		skip();
	int fd = clone_share(SHAREMNT_RO, -1, NULL);
	assert_true(fd >= 0);
	/* Root, yet refused: the mount is read-only in the kernel. */
	assert_int_equal(openat(fd, "new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(openat(fd, "inside", O_WRONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, EROFS);
	close(fd);
}

static void test_idmap(void **state)
{
	if (geteuid() != 0)
		skip();
	struct arca_err e = { 0 };
	/* Root-owned files appear as 65533's, the VMM-to-be. */
	int ns = sharemnt_userns(0, 0, 65533, 65533, &e);
	assert_true(ns >= 0);
	bool idm = false;
	int fd = clone_share(0, ns, &idm);
	close(ns);
	assert_true(fd >= 0);
	if (!idm) {
		close(fd);
		print_message("file system of /tmp cannot be idmapped on this kernel\n");
		skip();
	}
	struct stat st;
	assert_int_equal(fstatat(fd, "inside", &st, 0), 0);
	assert_int_equal(st.st_uid, 65533);
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65533, 65533, 65533) < 0 || setresuid(65533, 65533, 65533) < 0)
			_exit(2);
		/* As 65533: write the owner's file and create one... */
		int w = openat(fd, "inside", O_WRONLY | O_CLOEXEC);
		int c = openat(fd, "made", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		_exit(w >= 0 && c >= 0 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fd);
	/* ...which lands as root's on the host. */
	char p[160];
	snprintf(p, sizeof(p), "%s/made", share);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
}

static void test_asuser(void **state)
{
	if (geteuid() != 0)
		skip();
	struct arca_err e = { 0 };
	struct asuser u;
	char priv[160];
	snprintf(priv, sizeof(priv), "%s/private", base);
	assert_int_equal(mkdir(priv, 0700), 0);
	assert_int_equal(chmod(base, 0755), 0); /* mkdtemp made it 0700 */
	assert_int_equal(asuser_init(&u, 65533, 65533, &e), 0);
	assert_int_equal(asuser_enter(&u, &e), 0);
	int fd = open(priv, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	int pub = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	asuser_leave(&u);
	assert_int_equal(fd, -1);
	assert_int_equal(err, EACCES);
	assert_true(pub >= 0);
	close(pub);
	/* root again: root's rights are back */
	fd = open(priv, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	asuser_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_pseudo),
		cmocka_unit_test(test_check_beneath_real),
		cmocka_unit_test(test_dotdot_stops),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_idmap),
		cmocka_unit_test(test_asuser),
	};
	return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
