/* SPDX-License-Identifier: MIT */
/* Shares, roots and disks on kernel pseudo-file systems are refused
 * (launcher/hostfs.c), judged by the opened fd. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostfs.h"

static void test_names(void **state)
{
	assert_string_equal(hostfs_pseudo_name(PROC_SUPER_MAGIC), "procfs");
	assert_string_equal(hostfs_pseudo_name(SYSFS_MAGIC), "sysfs");
	assert_string_equal(hostfs_pseudo_name(CGROUP2_SUPER_MAGIC), "cgroup2fs");
	assert_string_equal(hostfs_pseudo_name(DEBUGFS_MAGIC), "debugfs");
	assert_null(hostfs_pseudo_name(TMPFS_MAGIC));
	assert_null(hostfs_pseudo_name(EXT4_SUPER_MAGIC));
	assert_null(hostfs_pseudo_name(0));
}

static int check_path(const char *path, struct arca_err *e)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	int r = hostfs_check(fd, "share", path, e);
	close(fd);
	return r;
}

static void test_real(void **state)
{
	struct arca_err e = { 0 };
	assert_int_equal(check_path("/proc", &e), -EPERM);
	assert_non_null(strstr(e.msg, "refusing share '/proc': it is on procfs"));
	assert_int_equal(check_path("/proc/self/environ", &e), -EPERM);
	assert_int_equal(check_path("/sys", &e), -EPERM);
	assert_non_null(strstr(e.msg, "sysfs"));
	assert_int_equal(check_path("/dev", &e), -EPERM);
	assert_non_null(strstr(e.msg, "/dev"));
	assert_int_equal(check_path("/dev/null", &e), -EPERM);
	/* ordinary directories pass */
	char dir[] = "/tmp/arca-test-hostfs.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(check_path(dir, &e), 0);
	assert_int_equal(check_path("/usr", &e), 0);
	/* a bind mount of /proc elsewhere is still procfs (root only) */
	if (geteuid() == 0 && mount("/proc", dir, NULL, MS_BIND, NULL) == 0) {
		assert_int_equal(check_path(dir, &e), -EPERM);
		assert_non_null(strstr(e.msg, "procfs"));
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
