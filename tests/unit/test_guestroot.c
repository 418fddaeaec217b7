/* SPDX-License-Identifier: MIT */
/* cmocka tests for launcher/guestroot.c: a fake host root in a temp dir,
 * the archive extracted with the real GNU cpio and inspected. */
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

#include "guestroot.h"

struct fx {
	char dir[64];  /* scratch: host/ (the fake root), out/, archive */
	char host[96];
	char warnings[8192];
	int nwarn;
};

static void collect(void *ctx, const char *msg)
{
	struct fx *f = ctx;
	size_t l = strlen(f->warnings);
	snprintf(f->warnings + l, sizeof(f->warnings) - l, "%s\n", msg);
	f->nwarn++;
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void put(struct fx *f, const char *rel, const char *content, unsigned mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", f->host, rel);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
	assert_int_equal(chmod(p, mode), 0);
}

static void ln(struct fx *f, const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", f->host, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* A merged-/usr host with a bit of everything, allowed and not. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/guestroot-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->host, sizeof(f->host), "%s/host", f->dir);
	sh("cd %s && mkdir -p host/usr/bin host/usr/sbin host/usr/lib host/usr/lib64 "
	   "host/etc/alternatives host/etc/ssl/certs host/etc/ssl/private host/home/user "
	   "host/root host/var/log && chmod -R go-w host", f->dir);
	ln(f, "usr/bin", "bin");
	ln(f, "usr/sbin", "sbin");
	ln(f, "usr/lib", "lib");
	ln(f, "/usr/lib64", "lib64"); /* absolute form is merged too */
	put(f, "etc/ld.so.cache", "ld.so-1.7.0 cache bytes", 0644);
	put(f, "etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n", 0644);
	put(f, "etc/shadow", "alice:$6$secret:19000::::::\n", 0640);
	put(f, "etc/hosts", "10.0.0.5 internal.corp\n", 0644);
	put(f, "etc/resolv.conf", "nameserver 10.0.0.53\n", 0644);
	put(f, "etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----\n", 0644);
	put(f, "etc/ssl/openssl.cnf", "openssl_conf = x\n", 0644);
	put(f, "etc/ssl/private/host.key", "PRIVATE KEY\n", 0600);
	put(f, "etc/services", "ssh 22/tcp\n", 0644);
	put(f, "home/user/secret", "s3cret\n", 0600);
	put(f, "root/.bash_history", "history\n", 0600);
	put(f, "etc/alternatives/README", "alternatives readme\n", 0644);
	ln(f, "ca-certificates.crt", "etc/ssl/certs/0123abcd.0");
	ln(f, "/usr/share/ca-certificates/mozilla/X.crt", "etc/ssl/certs/X.pem");
	ln(f, "/usr/bin/mawk", "etc/alternatives/awk");
	ln(f, "/usr/share/zoneinfo/Europe/Paris", "etc/localtime");
	ln(f, "../usr/lib/os-release", "etc/os-release");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sh("rm -rf '%s'", f->dir);
	free(f);
	return 0;
}

/* Runs guestroot_add into a fresh archive; on success extracts it into
 * DIR/out (wiped first). Returns guestroot_add's result. */
static int build(struct fx *f, uid_t trusted, struct arca_err *e)
{
	struct cpio_buf w;
	struct guestroot_opts o = { .host_root = f->host, .trusted_uid = trusted,
				    .warn = collect, .warn_ctx = f };
	f->warnings[0] = '\0';
	f->nwarn = 0;
	cpio_init(&w);
	int r = guestroot_add(&w, &o, e);
	if (r == 0) {
		assert_int_equal(cpio_finish(&w), 0);
		char arc[128];
		snprintf(arc, sizeof(arc), "%s/archive.cpio", f->dir);
		FILE *fp = fopen(arc, "w");
		assert_non_null(fp);
		assert_int_equal(fwrite(w.data, 1, w.len, fp), w.len);
		fclose(fp);
		sh("rm -rf %s/out && mkdir %s/out && cd %s/out && "
		   "cpio -idm --quiet --no-absolute-filenames < %s", f->dir, f->dir, f->dir, arc);
	}
	cpio_free(&w);
	return r;
}

/* Guest path -> extracted path. */
static const char *out(struct fx *f, const char *guest)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/out/arca/root%s", f->dir, guest);
	return p;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void assert_link(struct fx *f, const char *guest, const char *target)
{
	char buf[256];
	ssize_t n = readlink(out(f, guest), buf, sizeof(buf) - 1);
	if (n < 0)
		fail_msg("%s: not a symlink", guest);
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static void assert_absent(struct fx *f, const char *guest)
{
	struct stat st;
	if (lstat(out(f, guest), &st) == 0)
		fail_msg("%s must not be in the guest root", guest);
}

static void assert_mode(struct fx *f, const char *guest, unsigned type, unsigned mode)
{
	struct stat st;
	assert_int_equal(lstat(out(f, guest), &st), 0);
	assert_int_equal(st.st_mode & S_IFMT, type);
	assert_int_equal(st.st_mode & 07777, mode);
}

static void test_skeleton(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };

	assert_int_equal(build(f, getuid(), &e), 0);
	assert_mode(f, "", S_IFDIR, 0755);
	assert_mode(f, "/tmp", S_IFDIR, 01777);
	assert_mode(f, "/var/tmp", S_IFDIR, 01777);
	assert_mode(f, "/root", S_IFDIR, 0700);
	const char *dirs[] = { "/dev", "/proc", "/sys", "/run", "/home", "/var", "/usr", "/etc",
			       "/mnt" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		assert_int_equal(lstat(out(f, dirs[i]), &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	/* Nothing of the host's private trees, not even as empty copies. */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A %s)\" ]", out(f, "/home"));
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A %s)\" ]", out(f, "/root"));
	assert_int_equal(system(cmd), 0);
	assert_absent(f, "/var/log");

	/* Merged-/usr links, always relative; lib32 absent on this host. */
	assert_link(f, "/bin", "usr/bin");
	assert_link(f, "/sbin", "usr/sbin");
	assert_link(f, "/lib", "usr/lib");
	assert_link(f, "/lib64", "usr/lib64");
	assert_absent(f, "/lib32");
	assert_absent(f, "/libx32");

	/* Generated, not the host's. */
	const char *pw = slurp(out(f, "/etc/passwd"));
	assert_non_null(pw);
	assert_string_equal(pw, "root:x:0:0:root:/root:/bin/sh\n"
				"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	assert_string_equal(slurp(out(f, "/etc/group")), "root:x:0:\nnogroup:x:65534:\n");
	assert_null(strstr(slurp(out(f, "/etc/hosts")), "internal.corp"));
	assert_non_null(strstr(slurp(out(f, "/etc/hosts")), "127.0.0.1\tlocalhost"));
	assert_null(strstr(slurp(out(f, "/etc/resolv.conf")), "nameserver"));
	assert_string_equal(slurp(out(f, "/etc/hostname")), "arca\n");
	assert_non_null(strstr(slurp(out(f, "/etc/nsswitch.conf")), "passwd: files\n"));
	assert_mode(f, "/etc/passwd", S_IFREG, 0644);
	assert_link(f, "/etc/mtab", "../proc/self/mounts");
	assert_absent(f, "/etc/shadow");
	assert_int_equal(f->nwarn, 0);
}

static void test_copied(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };

	assert_int_equal(build(f, getuid(), &e), 0);
	assert_string_equal(slurp(out(f, "/etc/ld.so.cache")), "ld.so-1.7.0 cache bytes");
	assert_mode(f, "/etc/ld.so.cache", S_IFREG, 0644);
	assert_link(f, "/etc/alternatives/awk", "/usr/bin/mawk");
	assert_string_equal(slurp(out(f, "/etc/alternatives/README")), "alternatives readme\n");
	assert_string_equal(slurp(out(f, "/etc/ssl/certs/ca-certificates.crt")),
			    "-----BEGIN CERTIFICATE-----\n");
	assert_link(f, "/etc/ssl/certs/0123abcd.0", "ca-certificates.crt");
	assert_link(f, "/etc/ssl/certs/X.pem", "/usr/share/ca-certificates/mozilla/X.crt");
	assert_string_equal(slurp(out(f, "/etc/ssl/openssl.cnf")), "openssl_conf = x\n");
	assert_absent(f, "/etc/ssl/private");
	assert_link(f, "/etc/localtime", "/usr/share/zoneinfo/Europe/Paris");
	assert_link(f, "/etc/os-release", "../usr/lib/os-release");
	assert_string_equal(slurp(out(f, "/etc/services")), "ssh 22/tcp\n");
	/* Missing allowlisted files are skipped quietly. */
	assert_absent(f, "/etc/timezone");
	assert_absent(f, "/etc/protocols");
	assert_int_equal(f->nwarn, 0);
}

static void test_untrusted_skipped(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };
	char p[256];

	/* A world-writable file and a group-writable directory. */
	snprintf(p, sizeof(p), "%s/etc/ld.so.cache", f->host);
	assert_int_equal(chmod(p, 0666), 0);
	snprintf(p, sizeof(p), "%s/etc/ssl", f->host);
	assert_int_equal(chmod(p, 0775), 0);
	assert_int_equal(build(f, getuid(), &e), 0);
	assert_absent(f, "/etc/ld.so.cache");
	assert_absent(f, "/etc/ssl/certs");
	assert_absent(f, "/etc/ssl/openssl.cnf");
	assert_non_null(strstr(f->warnings, "/etc/ld.so.cache: group- or world-writable"));
	assert_non_null(strstr(f->warnings, "/etc/ssl"));
	/* The rest is still there. */
	assert_link(f, "/etc/alternatives/awk", "/usr/bin/mawk");

	/* Another owner: every host copy is refused, the skeleton is not. */
	snprintf(p, sizeof(p), "%s/etc/ssl", f->host);
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(build(f, getuid() + 1, &e), 0);
	assert_absent(f, "/etc/alternatives");
	assert_absent(f, "/etc/localtime");
	assert_link(f, "/bin", "usr/bin");
	assert_non_null(strstr(f->warnings, "not "));
	assert_true(f->nwarn >= 3);

	/* A world-writable file deep in a copied directory. */
	snprintf(p, sizeof(p), "%s/etc/ssl/certs/evil.pem", f->host);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(p, 0646), 0);
	assert_int_equal(build(f, getuid(), &e), 0);
	assert_absent(f, "/etc/ssl/certs/evil.pem");
	assert_link(f, "/etc/ssl/certs/0123abcd.0", "ca-certificates.crt");
	assert_non_null(strstr(f->warnings, "/etc/ssl/certs/evil.pem"));
}

static void test_symlinked_parent_not_followed(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };

	/* /etc/ssl a symlink to a tree with a private key: never read. */
	sh("cd %s && mv etc/ssl ssl-elsewhere && ln -s ../ssl-elsewhere etc/ssl", f->host);
	assert_int_equal(build(f, getuid(), &e), 0);
	assert_absent(f, "/etc/ssl/certs");
	assert_absent(f, "/etc/ssl");
	assert_non_null(strstr(f->warnings, "/etc/ssl"));

	/* An allowlisted directory that is itself a symlink: copied as one. */
	sh("cd %s && mv etc/alternatives alt && ln -s /alt etc/alternatives", f->host);
	assert_int_equal(build(f, getuid(), &e), 0);
	assert_link(f, "/etc/alternatives", "/alt");
}

static void test_special_and_limits(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };
	char p[256];

	/* A FIFO must be skipped, not hang the build. */
	snprintf(p, sizeof(p), "%s/etc/alternatives/fifo", f->host);
	assert_int_equal(mkfifo(p, 0644), 0);
	/* Too deep below an allowlisted directory. */
	sh("cd %s/etc/ssl/certs && mkdir -p a/b/c/d/e/f && echo deep > a/b/c/d/e/f/x.pem && "
	   "echo shallow > a/b/s.pem && chmod -R go-w a", f->host);
	/* One file over the byte cap. */
	sh("truncate -s %u %s/etc/alternatives/huge", GUESTROOT_MAX_BYTES + 1, f->host);
	assert_int_equal(build(f, getuid(), &e), 0);
	assert_absent(f, "/etc/alternatives/fifo");
	assert_non_null(strstr(f->warnings, "/etc/alternatives/fifo: not a regular file"));
	assert_string_equal(slurp(out(f, "/etc/ssl/certs/a/b/s.pem")), "shallow\n");
	assert_absent(f, "/etc/ssl/certs/a/b/c/d/e");
	assert_non_null(strstr(f->warnings, "skipping directory /etc/ssl/certs/a/b/c/d/e"));
	assert_absent(f, "/etc/alternatives/huge");
	assert_non_null(strstr(f->warnings, "/etc/alternatives/huge"));
	/* Later, smaller files still made it. */
	assert_link(f, "/etc/localtime", "/usr/share/zoneinfo/Europe/Paris");
	sh("rm %s/etc/alternatives/huge", f->host);

	/* Over the entry cap: the first GUESTROOT_MAX_ENTRIES are kept. */
	for (unsigned i = 0; i < GUESTROOT_MAX_ENTRIES + 10; i++) {
		snprintf(p, sizeof(p), "%s/etc/alternatives/l%u", f->host, i);
		assert_int_equal(symlink("/x", p), 0);
	}
	assert_int_equal(build(f, getuid(), &e), 0);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "test $(find %s -mindepth 1 -path '*/etc/*' | wc -l) -le %u",
		 out(f, ""), GUESTROOT_MAX_ENTRIES + 20);
	assert_int_equal(system(cmd), 0);
	assert_non_null(strstr(f->warnings, "entries"));
}

static void test_not_merged(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };

	/* /bin a real directory. */
	sh("cd %s && rm bin && mkdir bin", f->host);
	assert_int_equal(build(f, getuid(), &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "not merged-/usr"));
	assert_non_null(strstr(e.msg, "/bin"));
	assert_non_null(strstr(e.msg, "--root"));

	/* /bin a link elsewhere. */
	sh("cd %s && rmdir bin && ln -s usr/local/bin bin", f->host);
	assert_int_equal(build(f, getuid(), &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "usr/local/bin"));

	/* /lib missing. */
	sh("cd %s && rm bin && ln -s usr/bin bin && rm lib", f->host);
	assert_int_equal(build(f, getuid(), &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "/lib is missing"));

	/* An optional one present but not merged. */
	sh("cd %s && ln -s usr/lib lib && rm lib64 && mkdir lib64", f->host);
	assert_int_equal(build(f, getuid(), &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "/lib64"));

	/* A host root that does not exist. */
	struct cpio_buf w;
	cpio_init(&w);
	struct guestroot_opts o = { .host_root = "/nonexistent-guestroot" };
	assert_int_equal(guestroot_add(&w, &o, &e), -ENOENT);
	cpio_free(&w);
}

static void test_reproducible(void **state)
{
	struct fx *f = *state;
	struct arca_err e = { 0 };
	struct guestroot_opts o = { .host_root = f->host, .trusted_uid = getuid() };
	struct cpio_buf a, b;

	cpio_init(&a);
	cpio_init(&b);
	assert_int_equal(guestroot_add(&a, &o, &e), 0);
	/* Creation order differs from name order: readdir order must not
	 * leak into the archive. */
	sh("cd %s/etc/alternatives && ln -s /z zz && ln -s /a aa", f->host);
	assert_int_equal(guestroot_add(&b, &o, &e), 0);
	assert_true(b.len > a.len);
	cpio_free(&b);
	cpio_init(&b);
	struct cpio_buf c;
	cpio_init(&c);
	assert_int_equal(guestroot_add(&b, &o, &e), 0);
	assert_int_equal(guestroot_add(&c, &o, &e), 0);
	assert_int_equal(b.len, c.len);
	assert_memory_equal(b.data, c.data, b.len);
	cpio_free(&a);
	cpio_free(&b);
	cpio_free(&c);
}

/* The real host: works on a merged-/usr host, or says why not. */
static void test_real_host(void **state)
{
	struct cpio_buf w;
	struct arca_err e = { 0 };
	struct guestroot_opts o = { .host_root = "/" };

	cpio_init(&w);
	int r = guestroot_add(&w, &o, &e);
	if (r == -ENOTSUP) {
		cpio_free(&w);
		skip();
	}
	assert_int_equal(r, 0);
	assert_true(w.len < GUESTROOT_MAX_BYTES + (1u << 20) + 110u * GUESTROOT_MAX_ENTRIES);
	cpio_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_skeleton, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_parent_not_followed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_special_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reproducible, setup, teardown),
		cmocka_unit_test(test_real_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
