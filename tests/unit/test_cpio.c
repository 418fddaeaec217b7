/* SPDX-License-Identifier: MIT */
/* launcher/cpio.c: header fields checked in the buffer, then a round trip
 * through the real GNU cpio (list and extract) and bsdtar. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "cpio.h"

/* Parse the 8-hex-digit field number idx (0 = ino) of the header at off. */
static uint32_t field(const struct cpio_buf *w, size_t off, int idx)
{
	char tmp[9];
	memcpy(tmp, w->data + off + 6 + 8 * (size_t)idx, 8);
	tmp[8] = 0;
	return (uint32_t)strtoul(tmp, NULL, 16);
}

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_SIZE, F_DMAJ, F_DMIN,
       F_RMAJ, F_RMIN, F_NAMESIZE, F_CHECK };

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void test_header_fields(void **state)
{
	struct cpio_buf w;
	cpio_init(&w);
	assert_int_equal(cpio_add_file(&w, "/etc/passwd", 0644, "hello", 5), 0);
	assert_int_equal(cpio_add_dir(&w, "etc", 0755), 0);
	assert_int_equal(cpio_add_symlink(&w, "bin/sh", "/bin/busybox"), 0);
	assert_int_equal(cpio_add_chardev(&w, "dev/console", 0600, 5, 1), 0);
	assert_int_equal(cpio_finish(&w), 0);
	assert_int_equal(w.len % 4, 0);

	/* entry 1: regular file, leading '/' stripped */
	assert_memory_equal(w.data, "070701", 6);
	assert_int_equal(field(&w, 0, F_MODE), S_IFREG | 0644);
	assert_int_equal(field(&w, 0, F_NLINK), 1);
	assert_int_equal(field(&w, 0, F_UID), 0);
	assert_int_equal(field(&w, 0, F_MTIME), 0);
	assert_int_equal(field(&w, 0, F_SIZE), 5);
	assert_int_equal(field(&w, 0, F_NAMESIZE), strlen("etc/passwd") + 1);
	assert_string_equal((const char *)w.data + 110, "etc/passwd");
	size_t data_off = align4(110 + strlen("etc/passwd") + 1);
	assert_memory_equal(w.data + data_off, "hello", 5);
	uint32_t ino1 = field(&w, 0, F_INO);

	/* entry 2: directory */
	size_t off = align4(data_off + 5);
	assert_memory_equal(w.data + off, "070701", 6);
	assert_int_equal(field(&w, off, F_MODE), S_IFDIR | 0755);
	assert_int_equal(field(&w, off, F_NLINK), 2);
	assert_int_equal(field(&w, off, F_SIZE), 0);
	uint32_t ino2 = field(&w, off, F_INO);
	assert_int_not_equal(ino1, ino2);

	/* entry 3: symlink, target as data without NUL */
	off = align4(off + 110 + strlen("etc") + 1);
	assert_int_equal(field(&w, off, F_MODE), S_IFLNK | 0777);
	assert_int_equal(field(&w, off, F_SIZE), strlen("/bin/busybox"));
	size_t t = align4(off + 110 + strlen("bin/sh") + 1);
	assert_memory_equal(w.data + t, "/bin/busybox", 12);
	uint32_t ino3 = field(&w, off, F_INO);
	assert_int_not_equal(ino3, ino1);
	assert_int_not_equal(ino3, ino2);

	/* entry 4: char device 5:1 */
	off = align4(t + 12);
	assert_int_equal(field(&w, off, F_MODE), S_IFCHR | 0600);
	assert_int_equal(field(&w, off, F_RMAJ), 5);
	assert_int_equal(field(&w, off, F_RMIN), 1);

	/* trailer */
	off = align4(off + 110 + strlen("dev/console") + 1);
	assert_string_equal((const char *)w.data + off + 110, "TRAILER!!!");
	assert_int_equal(align4(off + 110 + 11), w.len);

	/* finished archives take no more entries */
	assert_int_equal(cpio_add_dir(&w, "x", 0755), -EINVAL);
	assert_int_equal(cpio_finish(&w), -EINVAL);
	cpio_free(&w);
}

static void test_bad_names(void **state)
{
	struct cpio_buf w;
	cpio_init(&w);
	assert_int_equal(cpio_add_dir(&w, "", 0755), -EINVAL);
	assert_int_equal(cpio_add_dir(&w, "/", 0755), -EINVAL);
	assert_int_equal(cpio_add_dir(&w, NULL, 0755), -EINVAL);
	assert_int_equal(cpio_add_dir(&w, "..", 0755), -EINVAL);
	assert_int_equal(cpio_add_dir(&w, "a/../b", 0755), -EINVAL);
	assert_int_equal(cpio_add_file(&w, "/../etc/x", 0644, "", 0), -EINVAL);
	assert_int_equal(cpio_add_symlink(&w, "a/..", "b"), -EINVAL);
	assert_int_equal(cpio_add_symlink(&w, "a", ""), -EINVAL);
	assert_int_equal(cpio_add_file(&w, "f", 0644, NULL, 3), -EINVAL);

	char *longname = malloc(PATH_MAX + 1);
	assert_non_null(longname);
	memset(longname, 'a', PATH_MAX);
	longname[PATH_MAX] = 0;
	assert_int_equal(cpio_add_dir(&w, longname, 0755), -ENAMETOOLONG);
	assert_int_equal(cpio_add_symlink(&w, "l", longname), -ENAMETOOLONG);
	longname[PATH_MAX - 1] = 0; /* PATH_MAX - 1 chars + NUL fits */
	assert_int_equal(cpio_add_dir(&w, longname, 0755), 0);
	free(longname);

	/* ".." only matters as a whole component */
	assert_int_equal(cpio_add_file(&w, "a..b/..c", 0644, "", 0), 0);
	/* rejected entries wrote nothing: the archive holds exactly two */
	assert_int_equal(w.next_ino, 3);
	cpio_free(&w);
}

static void test_growth(void **state)
{
	/* Many entries and a large file force several reallocations. */
	struct cpio_buf w;
	cpio_init(&w);
	size_t big = 1u << 20;
	uint8_t *blob = malloc(big);
	assert_non_null(blob);
	for (size_t i = 0; i < big; i++)
		blob[i] = (uint8_t)(i * 7);
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(cpio_add_dir(&w, name, 0700), 0);
	}
	assert_int_equal(cpio_add_file(&w, "big", 0600, blob, big), 0);
	assert_int_equal(cpio_finish(&w), 0);
	assert_true(w.len > big);
	assert_int_equal(w.len % 4, 0);
	assert_memory_equal(w.data + w.len - big - 124 /* trailer entry */, blob, big);
	free(blob);
	cpio_free(&w);
}

static int have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 16);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static void build_sample(struct cpio_buf *w)
{
	cpio_init(w);
	assert_int_equal(cpio_add_dir(w, "/bin", 0755), 0);
	assert_int_equal(cpio_add_dir(w, "/tmp", 01777), 0);
	assert_int_equal(cpio_add_file(w, "/bin/tool", 0755, "#!/bin/sh\n", 10), 0);
	assert_int_equal(cpio_add_file(w, "/bin/odd", 0640, "abc", 3), 0); /* 3: padding */
	assert_int_equal(cpio_add_file(w, "/bin/empty", 0600, NULL, 0), 0);
	assert_int_equal(cpio_add_symlink(w, "/bin/sh", "tool"), 0);
	assert_int_equal(cpio_add_symlink(w, "/bin/abs", "/bin/tool"), 0);
	assert_int_equal(cpio_finish(w), 0);
}

static void test_roundtrip_cpio(void **state)
{
	if (!have("cpio"))
		skip();
	struct cpio_buf w;
	build_sample(&w);

	char dir[] = "/tmp/test_cpio.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char arc[128], out[128], cmd[1024];
	snprintf(arc, sizeof(arc), "%s/a.cpio", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	FILE *f = fopen(arc, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(w.data, 1, w.len, f), w.len);
	fclose(f);

	/* listing: every entry, with its type and mode */
	snprintf(cmd, sizeof(cmd), "cpio -itv < %s > %s/list 2>/dev/null", arc, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/list", dir);
	size_t n;
	char *list = slurp(cmd, &n);
	assert_non_null(list);
	assert_non_null(strstr(list, "drwxrwxrwt"));
	assert_non_null(strstr(list, "-rwxr-xr-x   1 root     root           10 "));
	assert_non_null(strstr(list, " bin/tool\n"));
	assert_non_null(strstr(list, "bin/sh -> tool"));
	assert_non_null(strstr(list, "bin/abs -> /bin/tool"));
	assert_null(strstr(list, "TRAILER"));
	free(list);

	/* extraction: content, modes, link targets */
	snprintf(cmd, sizeof(cmd),
		 "mkdir %s && cd %s && cpio -idm --no-absolute-filenames < %s 2>/dev/null",
		 out, out, arc);
	assert_int_equal(system(cmd), 0);
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/bin/tool", out);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0755);
	assert_int_equal(st.st_size, 10);
	assert_int_equal(st.st_mtime, 0);
	char *c = slurp(p, &n);
	assert_string_equal(c, "#!/bin/sh\n");
	free(c);
	snprintf(p, sizeof(p), "%s/bin/odd", out);
	c = slurp(p, &n);
	assert_string_equal(c, "abc");
	free(c);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(p, sizeof(p), "%s/bin/empty", out);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 0);
	snprintf(p, sizeof(p), "%s/tmp", out);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 01777);
	char tgt[PATH_MAX];
	snprintf(p, sizeof(p), "%s/bin/sh", out);
	ssize_t tl = readlink(p, tgt, sizeof(tgt) - 1);
	assert_int_equal(tl, 4);
	tgt[tl] = 0;
	assert_string_equal(tgt, "tool");
	snprintf(p, sizeof(p), "%s/bin/abs", out);
	tl = readlink(p, tgt, sizeof(tgt) - 1);
	assert_true(tl > 0);
	tgt[tl] = 0;
	assert_string_equal(tgt, "/bin/tool");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	cpio_free(&w);
}

static void test_roundtrip_bsdtar_concat(void **state)
{
	if (!have("bsdtar"))
		skip();
	/* Two archives back to back, as the kernel receives base + spec:
	 * bsdtar reads the first; the second must start 4-aligned with a
	 * valid magic. */
	struct cpio_buf a, b;
	build_sample(&a);
	cpio_init(&b);
	assert_int_equal(cpio_add_dir(&b, "arca", 0755), 0);
	assert_int_equal(cpio_add_file(&b, "arca/spec", 0400, "xyz", 3), 0);
	assert_int_equal(cpio_finish(&b), 0);
	assert_int_equal(a.len % 4, 0);

	char path[] = "/tmp/test_cpio_bsd.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, a.data, a.len), (ssize_t)a.len);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "bsdtar -tvf %s | grep -q 'bin/sh -> tool'", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "tail -c +%zu %s | bsdtar -xOf - arca/spec | grep -qx xyz",
		 a.len + 1, path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	cpio_free(&a);
	cpio_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_roundtrip_cpio),
		cmocka_unit_test(test_roundtrip_bsdtar_concat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
