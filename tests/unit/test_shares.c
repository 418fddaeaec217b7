/* SPDX-License-Identifier: MIT */
/* -v / --fs-device parsing, guest path normalization, cross-checks, tags,
 * and host resolution against a real temp directory. */
#include <errno.h>
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

#include "shares.h"

static void test_normalize(void **state)
{
	(void)state;
	char a[] = "//w//x/", b[] = "/", c[] = "/a/./b", d[] = "/a/..", f[] = "rel";
	assert_int_equal(shares_normalize_guest(a), 0);
	assert_string_equal(a, "/w/x");
	assert_int_equal(shares_normalize_guest(b), 0);
	assert_string_equal(b, "/");
	assert_int_equal(shares_normalize_guest(c), -EINVAL);
	assert_int_equal(shares_normalize_guest(d), -EINVAL);
	assert_int_equal(shares_normalize_guest(f), -EINVAL);
}

static void test_volume_forms(void **state)
{
	(void)state;
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_volume(&s, "./ws:/workspace", &e), 0);
	assert_int_equal(shares_add_volume(&s, "/data:/data/:ro", &e), 0);
	assert_int_equal(shares_add_volume(&s, "/o:/out:rw,ids=passthrough", &e), 0);
	assert_int_equal(shares_add_volume(&s, "/c:/wb:cache=writeback", &e), 0);
	assert_int_equal(shares_add_volume(&s, "/c:/none:ro,cache=writeback,cache=none", &e), 0);
	assert_int_equal(s.n, 5);
	assert_true(s.v[3].writeback && !s.v[3].direct_io);
	assert_true(s.v[4].direct_io && !s.v[4].writeback && s.v[4].ro); /* the last cache= wins */
	assert_false(s.v[0].writeback || s.v[0].direct_io);               /* cache=auto */
	assert_string_equal(s.v[0].host, "./ws");
	assert_string_equal(s.v[0].guest, "/workspace");
	assert_false(s.v[0].ro);
	assert_string_equal(s.v[1].guest, "/data");
	assert_true(s.v[1].ro);
	assert_true(s.v[2].ids_passthrough);
	assert_false(s.v[2].ro);
	assert_int_equal(shares_check(&s, &e), 0);
	assert_string_equal(s.v[0].tag, "arca-0");
	assert_string_equal(s.v[2].tag, "arca-2");
	shares_free(&s);
}

static void expect_bad_volume(const char *arg, const char *needle)
{
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_volume(&s, arg, &e), -EINVAL);
	if (!strstr(e.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", arg, e.msg, needle);
	shares_free(&s);
}

static void test_volume_errors(void **state)
{
	(void)state;
	expect_bad_volume("/x", "expected HOST:GUEST");
	expect_bad_volume(":/w", "expected HOST:GUEST");
	expect_bad_volume("/x:w", "must be absolute");
	expect_bad_volume("/x:/a/../b", "'.' or '..'");
	expect_bad_volume("/x:/w:rx", "unknown share option 'rx'");
	expect_bad_volume("/x:/w:cache=always", "unknown share option 'cache=always'");
}

static void expect_check_fails(const char *a, const char *b, const char *needle)
{
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_volume(&s, a, &e), 0);
	if (b)
		assert_int_equal(shares_add_volume(&s, b, &e), 0);
	assert_int_equal(shares_check(&s, &e), -EINVAL);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
	shares_free(&s);
}

static void test_check(void **state)
{
	(void)state;
	expect_check_fails("/a:/w", "/b:/w/", "same guest path '/w'");
	expect_check_fails("/a:/proc/x", NULL, "inside /proc");
	expect_check_fails("/a:/sys", NULL, "inside /sys");
	expect_check_fails("/a:/dev/shm", NULL, "inside /dev");
	expect_check_fails("/a:/", NULL, "use --root");
	/* /devices is not /dev */
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_volume(&s, "/a:/devices", &e), 0);
	assert_int_equal(shares_check(&s, &e), 0);
	shares_free(&s);
}

static void test_devices_and_tags(void **state)
{
	(void)state;
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_device(&s, "/srv:ro,tag=arca-0", &e), 0);
	assert_true(s.v[0].ro);
	assert_string_equal(s.v[0].host, "/srv");
	assert_null(s.v[0].guest);
	assert_int_equal(shares_add_volume(&s, "/a:/w", &e), 0);
	assert_int_equal(shares_check(&s, &e), 0);
	/* the generated tag skips the user's */
	assert_string_equal(s.v[1].tag, "arca-1");
	assert_int_equal(shares_add_device(&s, "/x,tag=arca-0", &e), 0);
	assert_int_equal(shares_check(&s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "duplicate fs tag 'arca-0'"));
	shares_free(&s);

	assert_int_equal(shares_add_device(&s, "/x", &e), -EINVAL);
	assert_int_equal(shares_add_device(&s, "/x,tag=", &e), -EINVAL);
	assert_int_equal(shares_add_device(&s, "/x,tag=a/b", &e), -EINVAL);
	assert_int_equal(shares_add_device(&s, "/x,tag=0123456789012345678901234567890123456", &e),
			 -EINVAL);
	assert_int_equal(shares_add_device(&s, ",tag=t", &e), -EINVAL);
	shares_free(&s);
}

static void test_files_tag_reserved(void **state)
{
	(void)state;
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	assert_int_equal(shares_add_device(&s, "/h,tag=" SHARES_FILES_TAG, &e), 0);
	assert_int_equal(shares_check(&s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "reserved"));
	shares_free(&s);
}

static void test_limit(void **state)
{
	(void)state;
	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	char arg[32];
	for (int i = 0; i < SHARES_MAX; i++) {
		snprintf(arg, sizeof(arg), "/h:/g%d", i);
		assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	}
	/* Up to SHARES_FILES_MAX more: whether a HOST is a file is known
	 * at shares_resolve, which counts devices. */
	for (int i = 0; i < SHARES_FILES_MAX; i++) {
		snprintf(arg, sizeof(arg), "/h:/f%d", i);
		assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	}
	assert_int_equal(shares_add_volume(&s, "/h:/more", &e), -E2BIG);
	shares_free(&s);
}

static void test_resolve(void **state)
{
	(void)state;
	char dir[] = "/tmp/arca-shares-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char file[64];
	snprintf(file, sizeof(file), "%s/f", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);

	struct arca_shares s = { 0 };
	struct arca_err e = { 0 };
	char arg[128];
	snprintf(arg, sizeof(arg), "%s/:/w", dir);
	assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), 0);
	assert_string_equal(s.v[0].host, dir);
	int fd = shares_open(&s.v[0], &e);
	assert_true(fd >= 0);
	close(fd);
	shares_free(&s);

	/* A regular file is a file share (-v), not a device (--fs-device),
	 * and takes no cache mode of its own. */
	snprintf(arg, sizeof(arg), "%s:/w", file);
	assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), 0);
	assert_true(s.v[0].file);
	assert_string_equal(s.v[0].host, file);
	shares_free(&s);
	snprintf(arg, sizeof(arg), "%s,tag=t", file);
	assert_int_equal(shares_add_device(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), -ENOTDIR);
	assert_non_null(strstr(e.msg, "--fs-device"));
	shares_free(&s);
	snprintf(arg, sizeof(arg), "%s:/w:ro,cache=none", file);
	assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "cache="));
	shares_free(&s);
	/* Neither a directory nor a regular file. */
	char fifo[80];
	snprintf(fifo, sizeof(fifo), "%s/p", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(arg, sizeof(arg), "%s:/w", fifo);
	assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), -ENOTDIR);
	assert_non_null(strstr(e.msg, "neither a directory nor a regular file"));
	shares_free(&s);
	unlink(fifo);

	/* The files' device counts once towards SHARES_MAX devices. */
	for (int i = 0; i < SHARES_MAX - 1; i++) {
		snprintf(arg, sizeof(arg), "%s:/d%d", dir, i);
		assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(arg, sizeof(arg), "%s:/f%d", file, i);
		assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	}
	assert_int_equal(shares_resolve(&s, &e), 0);
	shares_free(&s);
	for (int i = 0; i < SHARES_MAX; i++) {
		snprintf(arg, sizeof(arg), "%s:/d%d", dir, i);
		assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	}
	snprintf(arg, sizeof(arg), "%s:/f", file);
	assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "files' device"));
	shares_free(&s);

	snprintf(arg, sizeof(arg), "%s/nope:/w", dir);
	assert_int_equal(shares_add_volume(&s, arg, &e), 0);
	assert_int_equal(shares_resolve(&s, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "not found"));
	shares_free(&s);

	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_volume_forms),
		cmocka_unit_test(test_volume_errors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_devices_and_tags),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_files_tag_reserved),
		cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests_name("shares", tests, NULL, NULL);
}
