/* SPDX-License-Identifier: MIT */
/* Directory streams: resume after the last consumed entry without seeking
 * the host fd, seek only for offsets never handed out, reject malformed
 * getdents64 records; the memory budget: charged before allocating,
 * refused over it, refunded on free, idle windows released. */
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
static struct fuse_budget budget = { .max = FUSE_DIR_BUDGET_DEFAULT };

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
	struct fuse_dir_stream *ds = fuse_dir_new(&budget);
	assert_non_null(ds);
	uint64_t off = 0;
	unsigned total = 0;
	for (int round = 0; round < 10000; round++) {
		assert_int_equal(fuse_dir_seek(ds, fd, off), 0);
		/* a "reply" of up to 40 entries, of which the "user" takes 7 */
		unsigned take = 0;
		int err = 0;
		const struct fuse_dir_ent *e;
		size_t pos = 0;
		for (unsigned i = 0; i < 40 && (e = fuse_dir_next(ds, fd, &pos, &err)); i++) {
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
	struct fuse_dir_stream *ds = fuse_dir_new(&budget);
	int err;
	size_t pos = 0;
	const struct fuse_dir_ent *e = fuse_dir_next(ds, fd, &pos, &err);
	assert_non_null(e);
	char first[256];
	strcpy(first, e->name);
	for (int k = 0; k < 5; k++)
		assert_non_null(e = fuse_dir_next(ds, fd, &pos, &err));
	uint64_t o = e->off;
	assert_int_equal(fuse_dir_seek(ds, fd, o), 0);
	assert_int_equal(ds->base_off, o);
	/* rewinddir: offset 0 was never handed out -> a real seek */
	assert_int_equal(fuse_dir_seek(ds, fd, 0), 0);
	pos = 0;
	e = fuse_dir_next(ds, fd, &pos, &err);
	assert_non_null(e);
	assert_string_equal(e->name, first);
	fuse_dir_free(ds);
	close(fd);
}

static void test_parse_hostile(void **state)
{
	(void)state;
	struct fuse_dir_stream *ds = fuse_dir_new(&budget);
	uint8_t b[64];
	/* no window yet: nothing fits */
	b[16] = 24; b[17] = 0; memset(b + 19, 0, 5); b[19] = 'a';
	assert_int_equal(fuse_dir_parse(ds, b, 24), -ENOSPC);
	assert_int_equal(fuse_dir_reserve(ds, FUSE_DIR_READ), 0);
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
	assert_string_equal(((const struct fuse_dir_ent *)(void *)ds->buf)->name, "a");
	assert_int_equal(ds->len, FUSE_DIR_ENT_SIZE(1));
	/* truncated header */
	assert_int_equal(fuse_dir_parse(ds, b, 10), -EIO);
	fuse_dir_free(ds);
}

static void test_budget_accounting(void **state)
{
	(void)state;
	struct fuse_budget b = { .max = 100 };
	assert_int_equal(fuse_budget_take(&b, 60), 0);
	assert_int_equal(fuse_budget_take(&b, 41), -ENOMEM);
	assert_int_equal(b.used, 60);                       /* a refusal charges nothing */
	assert_int_equal(fuse_budget_take(&b, 40), 0);      /* exactly full */
	assert_int_equal(fuse_budget_take(&b, 1), -ENOMEM);
	assert_int_equal(fuse_budget_take(&b, SIZE_MAX), -ENOMEM); /* no wrap */
	fuse_budget_give(&b, 100);
	assert_int_equal(b.used, 0);
	fuse_budget_give(&b, 5);                            /* clamped, no wrap */
	assert_int_equal(b.used, 0);
	assert_int_equal(fuse_budget_take(&b, SIZE_MAX), -ENOMEM);
	/* a packed entry never outgrows its getdents64 record, so a read of
	 * FUSE_DIR_READ bytes always fits the room reserved for it */
	for (size_t nl = 1; nl <= 255; nl++)
		assert_true(FUSE_DIR_ENT_SIZE(nl) <= ((19 + nl + 1 + 7) & ~(size_t)7));
	assert_int_equal(FUSE_DIR_ENT_SIZE(10), 32);
}

/* Streams charge the budget for themselves and their windows, get nothing
 * past it, give everything back, and an idle (fully consumed) stream holds
 * no window. */
static void test_budget_streams(void **state)
{
	(void)state;
	struct fuse_budget b = { .max = sizeof(struct fuse_dir_stream) + 4096 };
	struct fuse_dir_stream *ds = fuse_dir_new(&b);
	assert_non_null(ds);
	assert_int_equal(b.used, sizeof(*ds));
	assert_int_equal(fuse_dir_reserve(ds, FUSE_DIR_READ), 0);
	assert_int_equal(b.used, b.max);
	assert_null(fuse_dir_new(&b));                     /* no room for a second */
	assert_int_equal(b.used, b.max);
	assert_int_equal(fuse_dir_reserve(ds, FUSE_DIR_READ + 1), -ENOMEM);
	assert_int_equal(ds->cap, 4096);                    /* unchanged when refused */
	b.max = SIZE_MAX;
	assert_int_equal(fuse_dir_reserve(ds, FUSE_DIR_WINDOW_MAX + 1), -ENOSPC);
	assert_int_equal(fuse_dir_reserve(ds, FUSE_DIR_WINDOW_MAX), 0);
	assert_int_equal(b.used, sizeof(*ds) + FUSE_DIR_WINDOW_MAX);

	/* a real listing: the window comes and goes with the pending entries */
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	fuse_dir_free(ds);
	assert_int_equal(b.used, 0);
	ds = fuse_dir_new(&b);
	size_t pos = 0, max_cap = 0;
	int err, n = 0;
	const struct fuse_dir_ent *e;
	uint64_t last = 0;
	for (;;) {
		/* a "reply" of 50 entries, all consumed */
		assert_int_equal(fuse_dir_seek(ds, fd, last), 0);
		assert_true(ds->head < ds->len || ds->cap == 0);
		pos = 0;
		int k;
		for (k = 0; k < 50 && (e = fuse_dir_next(ds, fd, &pos, &err)); k++)
			last = e->off;
		assert_int_equal(err, 0);
		if (ds->cap > max_cap)
			max_cap = ds->cap;
		n += k;
		if (k == 0)
			break;
	}
	assert_int_equal(n, NFILES + 2);                    /* with . and .. */
	assert_true(max_cap <= 8192);                       /* 50 entries + a read */
	assert_int_equal(ds->cap, 0);                       /* idle: no window */
	assert_int_equal(b.used, sizeof(*ds));
	fuse_dir_free(ds);
	assert_int_equal(b.used, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unlink_while_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind_seeks, setup, teardown),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_budget_accounting),
		cmocka_unit_test_setup_teardown(test_budget_streams, setup, teardown),
	};
	return cmocka_run_group_tests_name("fuse_dir", tests, NULL, NULL);
}
