/* SPDX-License-Identifier: MIT */
/* Directory streams: resume after the last consumed entry without seeking
 * the host fd, seek only for offsets never handed out, reject malformed
 * getdents64 records. */
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
#include <unistd.h>

#include <cmocka.h>

#include "fuse_dir.h"

#define NFILES 1000

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/arca-fuse-dir-XXXXXX");
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < NFILES; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/entry-%d", dir, i);
		int fd = open(p, O_CREAT | O_WRONLY, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* The guest's pattern under `rm -rf`: take a few entries of each reply,
 * unlink them, ask again from the last one taken. Every entry must be
 * seen exactly once. */
static void test_unlink_while_reading(void **state)
{
	(void)state;
	static unsigned char seen[NFILES];
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	struct fuse_dir_stream *ds = fuse_dir_new();
	assert_non_null(ds);
	uint64_t off = 0;
	unsigned total = 0;
	for (int round = 0; round < 10000; round++) {
		assert_int_equal(fuse_dir_seek(ds, fd, off), 0);
		/* a "reply" of up to 40 entries, of which the "user" takes 7 */
		unsigned take = 0;
		int err = 0;
		const struct fuse_dir_ent *e;
		for (unsigned i = 0; i < 40 && (e = fuse_dir_peek(ds, fd, i, &err)); i++) {
			if (i < 7) {
				off = e->off;
				take++;
				int n;
				if (sscanf(e->name, "entry-%d", &n) == 1) {
					assert_true(n >= 0 && n < NFILES);
					seen[n]++;
					total++;
					assert_int_equal(unlinkat(fd, e->name, 0), 0);
				}
			}
		}
		assert_int_equal(err, 0);
		if (take == 0)
			break;
	}
	assert_int_equal(total, NFILES);
	for (int i = 0; i < NFILES; i++)
		assert_int_equal(seen[i], 1);
	fuse_dir_free(ds);
	close(fd);
}

static void test_rewind_seeks(void **state)
{
	(void)state;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	struct fuse_dir_stream *ds = fuse_dir_new();
	int err;
	const struct fuse_dir_ent *e = fuse_dir_peek(ds, fd, 0, &err);
	assert_non_null(e);
	char first[256];
	strcpy(first, e->name);
	uint64_t o = fuse_dir_peek(ds, fd, 5, &err)->off;
	assert_int_equal(fuse_dir_seek(ds, fd, o), 0);
	assert_int_equal(ds->base_off, o);
	/* rewinddir: offset 0 was never handed out -> a real seek */
	assert_int_equal(fuse_dir_seek(ds, fd, 0), 0);
	e = fuse_dir_peek(ds, fd, 0, &err);
	assert_non_null(e);
	assert_string_equal(e->name, first);
	fuse_dir_free(ds);
	close(fd);
}

static void test_parse_hostile(void **state)
{
	(void)state;
	struct fuse_dir_stream *ds = fuse_dir_new();
	uint8_t b[64];
	memset(b, 0, sizeof(b));
	/* reclen too small */
	uint16_t reclen = 8;
	memcpy(b + 16, &reclen, 2);
	assert_int_equal(fuse_dir_parse(ds, b, 24), -EIO);
	/* reclen past the buffer */
	reclen = 40;
	memcpy(b + 16, &reclen, 2);
	b[19] = 'x';
	assert_int_equal(fuse_dir_parse(ds, b, 24), -EIO);
	/* name without NUL inside the record */
	reclen = 24;
	memcpy(b + 16, &reclen, 2);
	memset(b + 19, 'a', 5);
	assert_int_equal(fuse_dir_parse(ds, b, 24), -EIO);
	/* empty name */
	memset(b + 19, 0, 5);
	assert_int_equal(fuse_dir_parse(ds, b, 24), -EIO);
	/* a good one */
	b[19] = 'a';
	assert_int_equal(fuse_dir_parse(ds, b, 24), 1);
	assert_string_equal(ds->v[0].name, "a");
	/* truncated header */
	assert_int_equal(fuse_dir_parse(ds, b, 10), -EIO);
	fuse_dir_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unlink_while_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind_seeks, setup, teardown),
		cmocka_unit_test(test_parse_hostile),
	};
	return cmocka_run_group_tests_name("fuse_dir", tests, NULL, NULL);
}
