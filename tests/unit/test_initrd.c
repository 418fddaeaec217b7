/* SPDX-License-Identifier: MIT */
/* launcher/initrd.c and launcher/paths.c: build the base initrd from the
 * real kernel tree and busybox into a temp cache, inspect it with GNU cpio,
 * check cache reuse/invalidation/concurrency; the sealed spec memfd. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <setjmp.h>
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

#include "fetched_kernel.h"

#include "err.h"
#include "initrd.h"
#include "kernel.h"
#include "paths.h"
#include "spec.h"

static const char *const MODULES[] = { "virtio_mmio", "virtio_console" };

static char tmp[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

struct fixture {
	struct arca_kernel k;
	struct arca_paths p;
};

static int setup(void **state)
{
	const char *kpath = fetched_kernel_image();
	if (!kpath || access("/bin/busybox", X_OK) != 0 || system("command -v cpio >/dev/null"))
		return 0; /* tests skip */
	strcpy(tmp, "/tmp/test_initrd.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	struct fixture *f = calloc(1, sizeof(*f));
	struct arca_err e = { 0 };
	assert_int_equal(kernel_locate(kpath, NULL, &f->k, &e), 0);
	assert_string_equal(f->k.version, fetched_version());
	/* a stand-in arca-init: any static ELF executable will do */
	sh("cp /bin/busybox %s/arca-init && mkdir -m 0700 %s/cache", tmp, tmp);
	assert_true(asprintf(&f->p.init, "%s/arca-init", tmp) > 0);
	assert_true(asprintf(&f->p.cache_dir, "%s/cache", tmp) > 0);
	f->p.busybox = strdup("/bin/busybox");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	kernel_free(&f->k);
	paths_free(&f->p);
	free(f);
	sh("rm -rf %s", tmp);
	return 0;
}

static size_t count_cache(const char *pattern)
{
	char pat[256];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/cache/%s", tmp, pattern);
	size_t n = glob(pat, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
	globfree(&g);
	return n;
}

/* Copy the archive behind fd to TMP/out.cpio for the cpio tool. */
static void dump(int fd)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/out.cpio", tmp);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	char buf[65536];
	ssize_t n;
	off_t off = 0;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		assert_int_equal(write(out, buf, (size_t)n), n);
		off += n;
	}
	assert_int_equal(n, 0);
	close(out);
}

static void test_base_contents(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	struct arca_err e = { 0 };
	int fd = initrd_base_open(&f->p, &f->k, MODULES, 2, &e);
	if (fd < 0)
		fail_msg("initrd_base_open: %s", e.msg);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(st.st_size % 4, 0);
	dump(fd);
	close(fd);

	sh("cd %s && cpio -itv < out.cpio > list 2>/dev/null", tmp);
	char p[128];
	snprintf(p, sizeof(p), "%s/list", tmp);
	char *list = slurp(p);
	static const char *const want[] = {
		" init\n", " bin/busybox\n", " bin/sh -> /bin/busybox\n",
		" usr/bin/awk -> /bin/busybox\n", " lib/modules/virtio_console.ko\n",
		" lib/modules/virtio_ring.ko\n", " arca/modules\n", " etc/passwd\n",
		" etc/group\n", "drwxrwxrwt", "crw-------", " dev/console\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(list, want[i]))
			fail_msg("missing in base initrd: '%s'", want[i]);
	assert_null(strstr(list, "linuxrc"));
	free(list);

	/* extract and compare the interesting bits */
	sh("mkdir %s/x && cd %s/x && cpio -idm --no-absolute-filenames < ../out.cpio 2>/dev/null",
	   tmp, tmp);
	snprintf(p, sizeof(p), "%s/x/arca/modules", tmp);
	char *order = slurp(p);
	assert_string_equal(order, "virtio_ring.ko\nvirtio.ko\nvirtio_mmio.ko\nvirtio_console.ko\n");
	free(order);
	sh("cmp %s/x/init %s/arca-init", tmp, tmp);
	sh("cmp %s/x/bin/busybox /bin/busybox", tmp);
	sh("cmp %s/x/lib/modules/virtio.ko %s/kernel/drivers/virtio/virtio.ko", tmp,
	   f->k.modules_dir);
	snprintf(p, sizeof(p), "%s/x/init", tmp);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(p, sizeof(p), "%s/x/etc/passwd", tmp);
	char *pw = slurp(p);
	assert_true(strncmp(pw, "root:x:0:0:", 11) == 0);
	assert_non_null(strstr(pw, "\nnobody:x:65534:65534:"));
	free(pw);
}

static void test_cache(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	struct arca_err e = { 0 };
	struct stat a, b, c;

	int fd = initrd_base_open(&f->p, &f->k, MODULES, 2, &e);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	close(fd);
	assert_int_equal(count_cache("base-*.cpio"), 1);

	/* second call: the same file */
	fd = initrd_base_open(&f->p, &f->k, MODULES, 2, &e);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &b), 0);
	close(fd);
	assert_int_equal(a.st_ino, b.st_ino);

	/* a new arca-init (new mtime): new key, new file, the old one removed */
	struct timespec ts[2] = { { .tv_sec = 1000000, .tv_nsec = 0 },
				  { .tv_sec = 1000000, .tv_nsec = 0 } };
	assert_int_equal(utimensat(AT_FDCWD, f->p.init, ts, 0), 0);
	fd = initrd_base_open(&f->p, &f->k, MODULES, 2, &e);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &c), 0);
	close(fd);
	assert_int_not_equal(a.st_ino, c.st_ino);
	assert_int_equal(count_cache("base-*.cpio"), 1);

	/* another module list is another key too */
	const char *one[] = { "virtio_ring" };
	fd = initrd_base_open(&f->p, &f->k, one, 1, &e);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &b), 0);
	close(fd);
	assert_int_not_equal(b.st_ino, c.st_ino);

	/* a base for another kernel version is not "stale" */
	char other[256];
	snprintf(other, sizeof(other), "%s/base-5.10.0-1-amd64-0123456789abcdef.cpio", f->p.cache_dir);
	sh("touch %s", other);
	fd = initrd_base_open(&f->p, &f->k, MODULES, 2, &e);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(access(other, F_OK), 0);
	assert_int_equal(count_cache("*"), 2);
	assert_int_equal(count_cache(".base-*"), 0); /* no temporaries left */
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	/* Several processes building the same cold cache: all succeed and one
	 * complete archive remains, no temporaries. */
	pid_t pids[6];
	for (size_t i = 0; i < 6; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct arca_err e = { 0 };
			int fd = initrd_base_open(&f->p, &f->k, MODULES, 2, &e);
			struct stat st;
			_exit(fd >= 0 && fstat(fd, &st) == 0 && st.st_size > (1 << 20) ? 0 : 1);
		}
	}
	for (size_t i = 0; i < 6; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(count_cache("base-*.cpio"), 1);
	assert_int_equal(count_cache(".base-*"), 0);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	if (!f)
		skip();
	struct arca_err e = { 0 };
	char want[512];

	char *saved = f->p.busybox;
	f->p.busybox = strdup("/nonexistent/busybox");
	assert_int_equal(initrd_base_open(&f->p, &f->k, MODULES, 2, &e), -ENOENT);
	assert_string_equal(e.msg, "busybox not found at /nonexistent/busybox (install busybox-static)");
	free(f->p.busybox);

	/* a dynamically linked busybox cannot run in the guest */
	f->p.busybox = strdup("/bin/ls");
	assert_int_equal(initrd_base_open(&f->p, &f->k, MODULES, 2, &e), -ENOEXEC);
	assert_non_null(strstr(e.msg, "dynamically linked"));
	free(f->p.busybox);
	f->p.busybox = saved;

	saved = f->p.init;
	f->p.init = strdup("/nonexistent/arca-init");
	assert_int_equal(initrd_base_open(&f->p, &f->k, MODULES, 2, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/arca-init"));
	free(f->p.init);
	f->p.init = saved;

	const char *bad[] = { "virtio_console", "no_such_module" };
	assert_int_equal(initrd_base_open(&f->p, &f->k, bad, 2, &e), -ENOENT);
	snprintf(want, sizeof(want), "kernel module no_such_module not found in %s/modules.order",
		 f->k.modules_dir);
	assert_string_equal(e.msg, want);
	assert_int_equal(count_cache("base-*.cpio"), 0);
}

/* ---- spec memfd ------------------------------------------------------------------ */

static void test_spec_memfd(void **state)
{
	char a0[] = "echo", a1[] = "hello world", env0[] = "A=b";
	char *argv[] = { a0, a1, NULL };
	char *env[] = { env0, NULL };
	struct arca_spec s = { .argv = argv, .argc = 2, .env = env, .envc = 1 };
	struct arca_err e = { 0 };

	int fd = initrd_spec_memfd(&s, &e);
	if (fd < 0)
		fail_msg("initrd_spec_memfd: %s", e.msg);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	int seals = fcntl(fd, F_GET_SEALS);
	assert_int_equal(seals, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 0), -1);

	/* the archive holds exactly the encoded spec */
	uint8_t *enc;
	size_t enc_len;
	assert_int_equal(spec_encode(&s, &enc, &enc_len), 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size % 4, 0);
	uint8_t *arc = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, arc, (size_t)st.st_size, 0), st.st_size);
	assert_memory_equal(arc, "070701", 6);
	void *hit = memmem(arc, (size_t)st.st_size, enc, enc_len);
	assert_non_null(hit);
	/* data is 4-aligned after "arca/spec" */
	assert_int_equal(((uint8_t *)hit - arc) % 4, 0);

	if (system("command -v cpio >/dev/null") == 0) {
		char path[] = "/tmp/test_spec.XXXXXX";
		int out = mkstemp(path);
		assert_int_equal(write(out, arc, (size_t)st.st_size), st.st_size);
		close(out);
		char cmd[256];
		snprintf(cmd, sizeof(cmd),
			 "cpio -itv < %s 2>/dev/null | grep -q -- '-r-------- .* arca/spec$'", path);
		assert_int_equal(system(cmd), 0);
		unlink(path);
	}
	free(arc);
	free(enc);
	close(fd);

	/* an invalid spec fails with the encoder's error */
	struct arca_spec empty = { .argv = (char *[]){ NULL }, .argc = 0 };
	memset(&e, 0, sizeof(e));
	assert_true(initrd_spec_memfd(&empty, &e) < 0);
	assert_true(e.msg[0] != 0);
}

/* ---- paths ------------------------------------------------------------------------ */

static void test_paths(void **state)
{
	char dir[] = "/tmp/test_paths.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cache[128], exe[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/a/b/cache", dir);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;

	setenv("ARCA_CACHE_DIR", cache, 1);
	setenv("ARCA_LIBEXEC", "/opt/arca/libexec", 1);
	setenv("ARCA_BUSYBOX", "/opt/bb", 1);
	struct arca_paths p;
	struct arca_err e = { 0 };
	assert_int_equal(paths_resolve(&p, &e), 0);
	assert_string_equal(p.exe_dir, exe);
	assert_string_equal(p.vmm, "/opt/arca/libexec/arca-vmm");
	assert_string_equal(p.init, "/opt/arca/libexec/arca-init");
	assert_string_equal(p.busybox, "/opt/bb");
	assert_string_equal(p.cache_dir, cache);
	struct stat st;
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 0700);
	paths_free(&p);

	/* defaults: next to the executable, /bin/busybox, XDG cache */
	unsetenv("ARCA_CACHE_DIR");
	unsetenv("ARCA_LIBEXEC");
	unsetenv("ARCA_BUSYBOX");
	char xdg[128];
	snprintf(xdg, sizeof(xdg), "%s/xdg", dir);
	setenv("XDG_CACHE_HOME", xdg, 1);
	assert_int_equal(paths_resolve(&p, &e), 0);
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s/arca-vmm", exe);
	assert_string_equal(p.vmm, want);
	assert_string_equal(p.busybox, "/bin/busybox");
	/* build/tests has no build/ beside it, so the XDG dir is used unless
	 * the test binary lives in a dir that has a build/ subdir */
	snprintf(want, sizeof(want), "%s/build", exe);
	if (access(want, W_OK) != 0) {
		snprintf(want, sizeof(want), "%s/arca", xdg);
		assert_string_equal(p.cache_dir, want);
	}
	paths_free(&p);

	/* a cache dir others can write to is refused */
	snprintf(cache, sizeof(cache), "%s/open", dir);
	assert_int_equal(mkdir(cache, 0777), 0);
	assert_int_equal(chmod(cache, 0777), 0);
	setenv("ARCA_CACHE_DIR", cache, 1);
	assert_int_equal(paths_resolve(&p, &e), -EPERM);
	assert_non_null(strstr(e.msg, cache));
	paths_free(&p);
	unsetenv("ARCA_CACHE_DIR");
	unsetenv("XDG_CACHE_HOME");

	snprintf(want, sizeof(want), "rm -rf %s", dir);
	assert_int_equal(system(want), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_base_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test(test_spec_memfd),
		cmocka_unit_test(test_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
