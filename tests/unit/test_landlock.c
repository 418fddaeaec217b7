/* SPDX-License-Identifier: MIT */
/* Landlock around arca-vmm (vmm/landlock.c): the access sets per ABI, then
 * the real kernel in a child process: nothing outside the shares opens,
 * whatever fd the path starts from; a read-only share only reads; a
 * read-write share does what the FUSE server does and no more. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "landlock.h"

static void test_sets(void **state)
{
	assert_int_equal(landlock_handled(0), 0);
	assert_int_equal(landlock_handled(1), 0); /* ABI 1 would break mv */
	uint64_t h2 = landlock_handled(2), h3 = landlock_handled(3);
	assert_true(h2 & LANDLOCK_ACCESS_FS_REFER);
	assert_true(h2 & LANDLOCK_ACCESS_FS_EXECUTE);
	assert_true(h3 & (1ULL << 14)); /* TRUNCATE */
	assert_false(h2 & (1ULL << 14));
	assert_int_equal(landlock_handled(7), h3);
	uint64_t ro = landlock_share_access(3, true), rw = landlock_share_access(3, false);
	assert_int_equal(ro, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR);
	assert_true(rw & LANDLOCK_ACCESS_FS_WRITE_FILE);
	assert_true(rw & LANDLOCK_ACCESS_FS_REFER);
	assert_true(rw & LANDLOCK_ACCESS_FS_MAKE_SYM);
	assert_false(rw & LANDLOCK_ACCESS_FS_EXECUTE);
	assert_false(rw & LANDLOCK_ACCESS_FS_MAKE_CHAR);
	assert_false(rw & LANDLOCK_ACCESS_FS_MAKE_BLOCK);
	assert_false(rw & LANDLOCK_ACCESS_FS_MAKE_SOCK);
	assert_int_equal(rw & ~h3, 0); /* never more than handled */
}

static char base[64];

static void mk(const char *rel, bool dir)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (dir)
		assert_int_equal(mkdir(p, 0755), 0);
	else {
		int fd = open(p, O_CREAT | O_WRONLY, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "x", 1), 1);
		close(fd);
	}
}

/* In the confined child: each check returns its line number on failure. */
#define EXPECT(c) do { if (!(c)) return __LINE__; } while (0)
static int confined(int rw, int ro, int outside_dir)
{
	int fd;
	/* Inside the rw share: read, write, create, mkdir, rename across
	 * directories (REFER), symlink, fifo, unlink. */
	EXPECT((fd = openat(rw, "f", O_RDWR)) >= 0);
	close(fd);
	EXPECT((fd = openat(rw, "new", O_CREAT | O_EXCL | O_WRONLY, 0644)) >= 0);
	close(fd);
	EXPECT(mkdirat(rw, "d2", 0755) == 0);
	EXPECT(renameat(rw, "new", rw, "d/moved") == 0);
	EXPECT(symlinkat("target", rw, "sl") == 0);
	EXPECT(mknodat(rw, "fifo", S_IFIFO | 0644, 0) == 0);
	EXPECT(unlinkat(rw, "d/moved", 0) == 0);
	/* Never a device node or socket, even where writes are allowed. */
	EXPECT(mknodat(rw, "null", S_IFCHR | 0644, makedev(1, 3)) < 0 && errno == EACCES);
	/* Nothing outside, from any fd: "..", absolute paths, another dir. */
	EXPECT(openat(rw, "../outside", O_RDONLY) < 0 && errno == EACCES);
	EXPECT(openat(AT_FDCWD, "/etc/hostname", O_RDONLY) < 0 && errno == EACCES);
	EXPECT(openat(outside_dir, "outside", O_RDONLY) < 0 && errno == EACCES);
	EXPECT(openat(rw, "../made-outside", O_CREAT | O_WRONLY, 0644) < 0 && errno == EACCES);
	/* The read-only share reads and nothing else. */
	EXPECT((fd = openat(ro, "g", O_RDONLY)) >= 0);
	close(fd);
	EXPECT(openat(ro, "g", O_WRONLY) < 0 && errno == EACCES);
	EXPECT(openat(ro, "h", O_CREAT | O_WRONLY, 0644) < 0 && errno == EACCES);
	EXPECT(unlinkat(ro, "g", 0) < 0 && errno == EACCES);
	/* No moving a file out of the rw share into the ro one. */
	EXPECT(renameat(rw, "f", ro, "f") < 0);
	return 0;
}

static void test_real(void **state)
{
	long abi = syscall(444 /* landlock_create_ruleset */, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 2) {
		print_message("Landlock ABI %ld on this kernel: not testable here\n", abi);
		skip();
	}
	snprintf(base, sizeof(base), "/tmp/arca-test-landlock.XXXXXX");
	assert_non_null(mkdtemp(base));
	mk("rw", true);
	mk("rw/f", false);
	mk("rw/d", true);
	mk("ro", true);
	mk("ro/g", false);
	mk("outside", false);
	char p[160];
	snprintf(p, sizeof(p), "%s/rw", base);
	int rw = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/ro", base);
	int ro = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int out = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rw >= 0 && ro >= 0 && out >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct landlock_share sh[] = { { rw, false }, { ro, true } };
		int got;
		if (landlock_confine(sh, 2, &got) < 0)
			_exit(254);
		_exit(confined(rw, ro, out));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status))
		print_message("confined check at test_landlock.c:%d failed\n", WEXITSTATUS(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Outside, unconfined: the moved file is gone, nothing was made. */
	snprintf(p, sizeof(p), "%s/made-outside", base);
	assert_int_equal(access(p, F_OK), -1);
	close(rw);
	close(ro);
	close(out);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
