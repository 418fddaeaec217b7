/* SPDX-License-Identifier: MIT */
/* The decompressed-kernel cache (launcher/kcache.c) on a real directory:
 * made once, found again, the stale copy of the same version removed and
 * other versions' left, a kernel that is not LZ4 refused with -ENOTSUP and
 * nothing stored. */
#include <dirent.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "fetched_kernel.h"

#include <elf.h>

#include "kcache.h"

static char dir[] = "/tmp/arca-kcache-XXXXXX";

static int count(const char *prefix)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void touch(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void test_real_kernel(void **state)
{
	const char *path = fetched_kernel_image();
	const char *ver = fetched_version();
	if (!path)
		skip();
	assert_non_null(mkdtemp(dir));
	struct arca_paths p = { .cache_dir = dir };
	char kpath[256], kver[128];
	snprintf(kpath, sizeof(kpath), "%s", path);
	snprintf(kver, sizeof(kver), "%s", ver);
	struct arca_kernel k = { .path = kpath, .version = kver };
	char stale[256];
	snprintf(stale, sizeof(stale), "vmlinux-%s-0123456789abcdef.elf", ver);
	touch(stale);
	touch("vmlinux-5.10.0-99-amd64-0123456789abcdef.elf"); /* another version */

	struct arca_err e = { 0 };
	int bz = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(bz >= 0);
	int fd = kcache_vmlinux_open(&p, &k, bz, &e);
	assert_true(fd >= 0);
	struct stat st1, st2;
	assert_int_equal(fstat(fd, &st1), 0);
	assert_true(S_ISREG(st1.st_mode) && (st1.st_mode & 07777) == 0644);
	unsigned char ident[EI_NIDENT];
	assert_int_equal(pread(fd, ident, sizeof(ident), 0), (ssize_t)sizeof(ident));
	assert_memory_equal(ident, ELFMAG, SELFMAG);
	close(fd);
	/* the stale one of this version went, the other version's stayed */
	char sp[512];
	snprintf(sp, sizeof(sp), "%s/%s", dir, stale);
	assert_int_equal(access(sp, F_OK), -1);
	assert_int_equal(count("vmlinux-5.10.0-99-amd64-"), 1);
	assert_int_equal(count("vmlinux-"), 2);
	assert_int_equal(count(".vmlinux"), 0); /* no temporary left */

	/* found again: the same file */
	fd = kcache_vmlinux_open(&p, &k, bz, &e);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);
	close(fd);
	close(bz);

	/* not LZ4 (a bzImage header over zeroes): -ENOTSUP, nothing stored */
	static uint8_t fake[64 * 1024];
	memset(fake, 0, sizeof(fake));
	fake[0x1f1] = 4;                       /* setup_sects */
	fake[0x1fe] = 0x55; fake[0x1ff] = 0xaa; /* boot_flag */
	memcpy(fake + 0x202, "HdrS", 4);
	fake[0x206] = 0x0f; fake[0x207] = 0x02; /* version 2.15 */
	fake[0x248] = 0x10;                     /* payload_offset 0x10 */
	fake[0x24c] = 0x00; fake[0x24d] = 0x10; /* payload_length 0x1000 */
	char fp[512];
	snprintf(fp, sizeof(fp), "%s/fake-bzimage", dir);
	int ff = open(fp, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	assert_true(ff >= 0);
	assert_int_equal(write(ff, fake, sizeof(fake)), (ssize_t)sizeof(fake));
	char fver[] = "9.9.9-test";
	struct arca_kernel fk = { .path = fp, .version = fver };
	assert_int_equal(kcache_vmlinux_open(&p, &fk, ff, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "not LZ4"));
	assert_int_equal(count("vmlinux-9.9.9-test"), 0);
	/* an empty file or a directory: not a kernel */
	assert_int_equal(ftruncate(ff, 0), 0);
	assert_int_equal(kcache_vmlinux_open(&p, &fk, ff, &e), -ENOTSUP);
	close(ff);
	unlink(fp);

	/* an unwritable cache: an error with a message, no crash */
	char baddir[] = "/proc/arca-no-such-dir";
	struct arca_paths bad = { .cache_dir = baddir };
	bz = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(kcache_vmlinux_open(&bad, &k, bz, &e) < 0);
	assert_true(e.msg[0] != 0);
	close(bz);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
