/* SPDX-License-Identifier: MIT */
/* launcher/kernel.c: bzImage setup-header parsing on synthetic and real
 * images, and kernel_locate's search order and errors on a temp tree. */
#include <asm/bootparam.h>
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

#include "fetched_kernel.h"

#include "err.h"
#include "kernel.h"
#include "paths.h"

#define OFF(f) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, f))
#define FAKE_VER "9.9.9-arca-test"
#define FAKE_LEN (5 * 512 + 64) /* setup area of 4 sectors + boot sector + payload */

static void put16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = (uint8_t)v;
	b[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	put16(b, off, (uint16_t)v);
	put16(b, off + 2, (uint16_t)(v >> 16));
}

/* A minimal image that satisfies the checks: setup_sects 4, protocol 2.15,
 * XLF_KERNEL_64, version string at 0x200 + 0x300. */
static void fake_image(uint8_t *b, const char *verstr)
{
	memset(b, 0, FAKE_LEN);
	b[OFF(setup_sects)] = 4;
	put16(b, OFF(boot_flag), 0xAA55);
	put32(b, OFF(header), 0x53726448);
	put16(b, OFF(version), 0x020f);
	put16(b, OFF(xloadflags), XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put16(b, OFF(kernel_version), 0x300);
	memcpy(b + 0x500, verstr, strlen(verstr) + 1);
}

static int parse(const uint8_t *b, size_t len, char *out, size_t outlen)
{
	return kernel_version_from_bzimage(b, len, out, outlen);
}

static void test_fake_header(void **state)
{
	uint8_t b[FAKE_LEN];
	char v[64];
	fake_image(b, FAKE_VER " (arca@test) #1 SMP");
	assert_int_equal(parse(b, sizeof(b), v, sizeof(v)), 0);
	assert_string_equal(v, FAKE_VER);

	/* NUL right after the word is fine too */
	fake_image(b, FAKE_VER);
	assert_int_equal(parse(b, sizeof(b), v, sizeof(v)), 0);
	assert_string_equal(v, FAKE_VER);

	/* output buffer too small: exact fit needs strlen + 1 */
	assert_int_equal(parse(b, sizeof(b), v, strlen(FAKE_VER)), -ENOSPC);
	assert_int_equal(parse(b, sizeof(b), v, strlen(FAKE_VER) + 1), 0);

	/* setup_sects 0 means 4 */
	b[OFF(setup_sects)] = 0;
	assert_int_equal(parse(b, sizeof(b), v, sizeof(v)), 0);
}

static void test_bad_headers(void **state)
{
	uint8_t b[FAKE_LEN];
	char v[64];

#define BAD(stmt)                                                   \
	do {                                                        \
		fake_image(b, FAKE_VER " x");                       \
		stmt;                                               \
		assert_int_equal(parse(b, sizeof(b), v, sizeof(v)), -ENOEXEC); \
	} while (0)

	BAD(memset(b, 0, sizeof(b)));                       /* zeros */
	BAD(memset(b, 0xff, sizeof(b)));                    /* garbage */
	BAD(put32(b, OFF(header), 0x53726449));             /* no HdrS */
	BAD(put16(b, OFF(boot_flag), 0));                   /* no 0xAA55 */
	BAD(put16(b, OFF(version), 0x020b));                /* protocol 2.11 */
	BAD(put16(b, OFF(xloadflags), 0));                  /* no 64-bit entry */
	BAD(put16(b, OFF(kernel_version), 0));              /* no version */
	BAD(put16(b, OFF(kernel_version), 0x900));          /* past setup area */
	BAD(put16(b, OFF(kernel_version), 0xffff));         /* far past */
	BAD(b[OFF(setup_sects)] = 200);                     /* setup past end */
	BAD(memcpy(b + 0x500, "../../etc x", 12));          /* path in version */
	BAD(memcpy(b + 0x500, "6.1/x y", 8));
	BAD(memcpy(b + 0x500, " 6.1", 5));                  /* empty word */
	BAD(memcpy(b + 0x500, "6.1\n", 5));                 /* odd terminator */
	/* version running to the last byte of the setup area, unterminated */
	BAD(put16(b, OFF(kernel_version), 5 * 512 - 0x200 - 3);
	    memcpy(b + 5 * 512 - 3, "abc", 3));
#undef BAD

	/* every truncation fails: exact-size copies so ASan sees overreads */
	fake_image(b, FAKE_VER " x");
	for (size_t n = 0; n < 5 * 512; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, b, n);
		assert_int_equal(parse(cut, n, v, sizeof(v)), -ENOEXEC);
		free(cut);
	}
	assert_int_equal(parse(NULL, 0, v, sizeof(v)), -ENOEXEC);
}

/* ---- real kernel ---------------------------------------------------------- */

static void test_real_image(void **state)
{
	const char *ver = fetched_version();
	if (!ver)
		skip();
	/* the package's own image, not the vmlinuz link make points at it */
	char path[256], mods[256];
	snprintf(path, sizeof(path), "build/kernel/boot/vmlinuz-%s", ver);
	snprintf(mods, sizeof(mods), "build/kernel/lib/modules/%s", ver);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t *b = malloc(KERNEL_SETUP_MAX);
	ssize_t n = read(fd, b, KERNEL_SETUP_MAX);
	close(fd);
	assert_true(n > 0);
	char v[64];
	assert_int_equal(parse(b, (size_t)n, v, sizeof(v)), 0);
	assert_string_equal(v, ver);
	free(b);

	struct arca_kernel k;
	struct arca_err e = { 0 };
	assert_int_equal(kernel_locate(path, NULL, &k, &e), 0);
	assert_string_equal(k.version, ver);
	/* modules next to the image (DIR/../lib/modules/VER), never the host's */
	char *real_mods = realpath(mods, NULL);
	assert_non_null(real_mods);
	assert_string_equal(k.modules_dir, real_mods);
	free(real_mods);
	char tail[160];
	snprintf(tail, sizeof(tail), "/lib/modules/%s", ver);
	size_t ml = strlen(k.modules_dir), tl = strlen(tail);
	assert_true(ml > tl);
	assert_string_equal(k.modules_dir + ml - tl, tail);
	assert_null(strstr(k.modules_dir, ".."));
	assert_true(k.path[0] == '/');
	char *real_path = realpath(path, NULL);
	assert_non_null(real_path);
	assert_string_equal(k.path, real_path);
	free(real_path);
	kernel_free(&k);

	/* build/kernel/vmlinuz, what arca boots by default, is the same kernel */
	memset(&e, 0, sizeof(e));
	assert_int_equal(kernel_locate("build/kernel/vmlinuz", NULL, &k, &e), 0);
	assert_string_equal(k.version, ver);
	kernel_free(&k);
}

/* ---- kernel_locate on a temp tree ---------------------------------------------- */

static char tmp[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int setup_tree(void **state)
{
	strcpy(tmp, "/tmp/test_kernel.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	/* TMP/exe/build/kernel/{boot/vmlinuz-V, lib/modules/V, vmlinuz -> boot/..} */
	sh("mkdir -p %s/exe/build/kernel/boot %s/exe/build/kernel/lib/modules/" FAKE_VER, tmp, tmp);
	uint8_t b[FAKE_LEN];
	fake_image(b, FAKE_VER " (test)");
	char p[256];
	snprintf(p, sizeof(p), "%s/exe/build/kernel/boot/vmlinuz-" FAKE_VER, tmp);
	write_file(p, b, sizeof(b));
	sh("ln -s boot/vmlinuz-" FAKE_VER " %s/exe/build/kernel/vmlinuz", tmp);
	/* an installed layout: TMP/inst/bin (exe dir), TMP/inst/share/arca/kernel */
	sh("mkdir -p %s/inst/bin %s/inst/share/arca/kernel/boot", tmp, tmp);
	sh("mkdir -p %s/inst/share/arca/kernel/lib/modules/" FAKE_VER, tmp);
	sh("cp %s/exe/build/kernel/boot/vmlinuz-" FAKE_VER " %s/inst/share/arca/kernel/boot/",
	   tmp, tmp);
	sh("ln -s boot/vmlinuz-" FAKE_VER " %s/inst/share/arca/kernel/vmlinuz", tmp);
	sh("ln -s boot/x %s/inst/share/arca/kernel/dangling", tmp);
	return 0;
}

static int teardown_tree(void **state)
{
	sh("rm -rf %s", tmp);
	unsetenv("ARCA_KERNEL");
	return 0;
}

static void test_locate_defaults(void **state)
{
	struct arca_kernel k;
	struct arca_err e = { 0 };
	char exe[128], want[256];
	unsetenv("ARCA_KERNEL");

	/* EXE_DIR/build/kernel/vmlinuz, modules beside the real file */
	snprintf(exe, sizeof(exe), "%s/exe", tmp);
	assert_int_equal(kernel_locate(NULL, exe, &k, &e), 0);
	snprintf(want, sizeof(want), "%s/exe/build/kernel/boot/vmlinuz-" FAKE_VER, tmp);
	assert_string_equal(k.path, want);
	assert_string_equal(k.version, FAKE_VER);
	snprintf(want, sizeof(want), "%s/exe/build/kernel/lib/modules/" FAKE_VER, tmp);
	assert_string_equal(k.modules_dir, want);
	kernel_free(&k);

	/* EXE_DIR/../share/arca/kernel/vmlinuz when there is no build tree */
	snprintf(exe, sizeof(exe), "%s/inst/bin", tmp);
	assert_int_equal(kernel_locate(NULL, exe, &k, &e), 0);
	snprintf(want, sizeof(want), "%s/inst/share/arca/kernel/boot/vmlinuz-" FAKE_VER, tmp);
	assert_string_equal(k.path, want);
	snprintf(want, sizeof(want), "%s/inst/share/arca/kernel/lib/modules/" FAKE_VER, tmp);
	assert_string_equal(k.modules_dir, want);
	kernel_free(&k);
}

static void test_locate_precedence(void **state)
{
	struct arca_kernel k;
	struct arca_err e = { 0 };
	char exe[128], other[256];
	snprintf(exe, sizeof(exe), "%s/exe", tmp);
	snprintf(other, sizeof(other), "%s/inst/share/arca/kernel/vmlinuz", tmp);

	/* The environment is the CLI's (paths_from_env): kernel_locate
	 * itself ignores $ARCA_KERNEL. */
	setenv("ARCA_KERNEL", "/nonexistent/vmlinuz", 1);
	assert_int_equal(kernel_locate(NULL, exe, &k, &e), 0);
	kernel_free(&k);
	struct arca_paths_in in;
	paths_from_env(&in);
	assert_string_equal(in.kernel, "/nonexistent/vmlinuz");
	unsetenv("ARCA_KERNEL");

	/* an explicit path beats EXE_DIR */
	assert_int_equal(kernel_locate(other, exe, &k, &e), 0);
	assert_non_null(strstr(k.path, "/inst/share/arca/kernel/boot/"));
	kernel_free(&k);

	/* and a bad one is reported, not silently skipped */
	assert_int_equal(kernel_locate("/nonexistent/vmlinuz", exe, &k, &e), -ENOENT);
	assert_string_equal(e.msg, "kernel not found: /nonexistent/vmlinuz");
}

static void test_locate_errors(void **state)
{
	struct arca_kernel k;
	struct arca_err e = { 0 };
	char p[256], want[512];

	/* nothing at either default place */
	snprintf(p, sizeof(p), "%s/nowhere", tmp);
	assert_int_equal(kernel_locate(NULL, p, &k, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "kernel not found: "));
	assert_non_null(strstr(e.msg, "/nowhere/build/kernel/vmlinuz"));
	assert_non_null(strstr(e.msg, "/nowhere/../share/arca/kernel/vmlinuz"));

	snprintf(p, sizeof(p), "%s/missing", tmp);
	assert_int_equal(kernel_locate(p, NULL, &k, &e), -ENOENT);
	snprintf(want, sizeof(want), "kernel not found: %s", p);
	assert_string_equal(e.msg, want);

	snprintf(p, sizeof(p), "%s/inst/share/arca/kernel/dangling", tmp);
	assert_int_equal(kernel_locate(p, NULL, &k, &e), -ENOENT);

	snprintf(p, sizeof(p), "%s/exe", tmp);
	assert_int_equal(kernel_locate(p, NULL, &k, &e), -EINVAL);
	snprintf(want, sizeof(want), "kernel %s is not a regular file", p);
	assert_string_equal(e.msg, want);

	/* a FIFO must be rejected without blocking in open() */
	snprintf(p, sizeof(p), "%s/fifo", tmp);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(kernel_locate(p, NULL, &k, &e), -EINVAL);

	snprintf(p, sizeof(p), "%s/garbage", tmp);
	write_file(p, "MZ not a kernel at all", 22);
	assert_int_equal(kernel_locate(p, NULL, &k, &e), -ENOEXEC);
	assert_non_null(strstr(e.msg, p));
	assert_non_null(strstr(e.msg, "not an x86-64 bzImage"));

	/* a valid image whose modules are nowhere */
	snprintf(p, sizeof(p), "%s/lonely/vmlinuz", tmp);
	sh("mkdir -p %s/lonely && cp %s/exe/build/kernel/boot/vmlinuz-" FAKE_VER " %s", tmp, tmp, p);
	assert_int_equal(kernel_locate(p, NULL, &k, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no modules for kernel " FAKE_VER));
	assert_non_null(strstr(e.msg, "/lib/modules/" FAKE_VER));
	assert_null(k.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_header),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_real_image),
		cmocka_unit_test_setup_teardown(test_locate_defaults, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_locate_precedence, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_locate_errors, setup_tree, teardown_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
