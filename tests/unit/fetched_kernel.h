/* SPDX-License-Identifier: MIT */
/* For the unit tests that look at the real guest kernel (include after
 * <cmocka.h>). */
#ifndef ARCA_TEST_FETCHED_KERNEL_H
#define ARCA_TEST_FETCHED_KERNEL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel `make` fetched, as build/kernel/VERSION names it (tests run from
 * the repo root). Debian moves the version on, so the tests compare with this
 * file rather than pin one. NULL without build/kernel: the caller skips. */
static inline const char *fetched_version(void)
{
	static char ver[128];
	FILE *f = fopen("build/kernel/VERSION", "re");
	if (!f) {
		assert_int_equal(errno, ENOENT);
		return NULL;
	}
	assert_non_null(fgets(ver, sizeof(ver), f));
	fclose(f);
	ver[strcspn(ver, "\n")] = 0;
	/* one word that is safe inside a path */
	assert_true(ver[0] && strcspn(ver, "/ \t") == strlen(ver) && strcmp(ver, ".."));
	return ver;
}

/* The package's own image: with a VERSION, it must be there. NULL without
 * build/kernel. */
static inline const char *fetched_kernel_image(void)
{
	static char path[256];
	const char *ver = fetched_version();
	if (!ver)
		return NULL;
	snprintf(path, sizeof(path), "build/kernel/boot/vmlinuz-%s", ver);
	assert_int_equal(access(path, R_OK), 0);
	return path;
}

/* A whole file (the image), malloc'ed; *len its size. Fails the test
 * rather than returning short. */
static inline uint8_t *fetched_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	uint8_t *buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#endif
