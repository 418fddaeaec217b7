/* SPDX-License-Identifier: MIT */
/* cmocka tests for initrd/net.c: the pure helpers (MAC, netmask, the log
 * line, resolv.conf's text), the interface lookup on a fake
 * /sys/class/net, and resolv.conf below a temp root (written, or for a
 * user's own root never written). The ioctls and the bind mount need a
 * guest: the e2e scenarios (tests/e2e/scenarios-net.sh) cover them. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../initrd/net.c" /* from tests/unit/ */
#include "../../initrd/net6.c" /* net.c calls it; tested in test_initnet6.c */

/* init.c and sysinit.c provide these in arca-init; here the log keeps its
 * last line. */
static int log_lines;
static char last_log[512];
void init_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_lines++;
}
long long init_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

static struct arca_spec_net net_good(void)
{
	return (struct arca_spec_net){ .mac = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef },
				       .mtu = 1500, .addr = { 10, 213, 0, 2 }, .prefix = 30,
				       .gateway = { 10, 213, 0, 1 }, .dns = { 10, 213, 0, 1 } };
}

/* ---- pure helpers ---------------------------------------------------------- */

static void test_mac(void **state)
{
	char s[18];

	(void)state;
	initnet_mac_format(MAC, s);
	assert_string_equal(s, "52:54:00:ab:cd:ef");
	static const uint8_t low[6] = { 0, 1, 2, 0x0a, 0xf0, 0xff };
	initnet_mac_format(low, s);
	assert_string_equal(s, "00:01:02:0a:f0:ff");

	assert_true(initnet_mac_match("52:54:00:ab:cd:ef\n", MAC)); /* as sysfs has it */
	assert_true(initnet_mac_match("52:54:00:ab:cd:ef", MAC));
	assert_true(initnet_mac_match("52:54:00:AB:CD:EF\n", MAC));
	assert_false(initnet_mac_match("52:54:00:ab:cd:ee\n", MAC));
	assert_false(initnet_mac_match("52:54:00:ab:cd:ef0\n", MAC)); /* longer */
	assert_false(initnet_mac_match("52:54:00:ab:cd:e\n", MAC));   /* shorter */
	assert_false(initnet_mac_match("", MAC));
	assert_false(initnet_mac_match(NULL, MAC));
	assert_false(initnet_mac_match("00:00:00:00:00:00\n", MAC));
}

static void test_netmask_ip(void **state)
{
	static const struct {
		unsigned prefix;
		uint8_t m[4];
	} cases[] = {
		{ 0, { 0, 0, 0, 0 } },       { 1, { 128, 0, 0, 0 } },
		{ 8, { 255, 0, 0, 0 } },     { 12, { 255, 240, 0, 0 } },
		{ 24, { 255, 255, 255, 0 } }, { 30, { 255, 255, 255, 252 } },
		{ 31, { 255, 255, 255, 254 } }, { 32, { 255, 255, 255, 255 } },
	};
	uint8_t m[4];
	char ip[16];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		initnet_netmask(cases[i].prefix, m);
		assert_memory_equal(m, cases[i].m, 4);
	}
	initnet_ip_format((const uint8_t[4]){ 255, 255, 255, 255 }, ip);
	assert_string_equal(ip, "255.255.255.255");
	initnet_ip_format((const uint8_t[4]){ 10, 0, 2, 15 }, ip);
	assert_string_equal(ip, "10.0.2.15");
}

static void test_summary_and_resolv_text(void **state)
{
	struct arca_spec_net n = net_good();
	char buf[128];

	(void)state;
	/* The verbose line's text (init.c logs "net: " in front). */
	assert_int_equal(initnet_summary(&n, "eth0", buf, sizeof(buf)),
			 (int)strlen("eth0 10.213.0.2/30 via 10.213.0.1 mtu 1500 dns 10.213.0.1"));
	assert_string_equal(buf, "eth0 10.213.0.2/30 via 10.213.0.1 mtu 1500 dns 10.213.0.1");
	memset(n.dns, 0, 4);
	n.mtu = 9000;
	assert_true(initnet_summary(&n, "eth1", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "eth1 10.213.0.2/30 via 10.213.0.1 mtu 9000 dns none");
	assert_int_equal(initnet_summary(&n, "eth1", buf, 20), -ENOSPC);

	static const uint8_t dns[4] = { 192, 0, 2, 53 };
	int len = initnet_resolv_text(dns, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	/* Exactly one nameserver line, and it ends the file. */
	const char *ns = strstr(buf, "nameserver ");
	assert_non_null(ns);
	assert_string_equal(ns, "nameserver 192.0.2.53\n");
	assert_true(ns == buf || ns[-1] == '\n');
	assert_null(strstr(ns + 1, "nameserver"));
	for (const char *p = buf; p < ns; p = strchr(p, '\n') + 1)
		assert_int_equal(*p, '#'); /* everything before it is a comment */
	assert_int_equal(initnet_resolv_text(dns, buf, 20), -ENOSPC);
}

/* ---- temp trees ------------------------------------------------------------------ */

struct tmp {
	char root[64], outside[64];
	int rootfd;
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	strcpy(t->root, "/tmp/initnet-XXXXXX");
	strcpy(t->outside, "/tmp/initnet-out-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	assert_non_null(mkdtemp(t->outside));
	t->rootfd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->rootfd >= 0);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[200];
	close(t->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", t->root, t->outside);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void put(const char *dir, const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkd(const char *dir, const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void lnk(const char *dir, const char *rel, const char *target)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* The content of dir/rel (static buffer), or NULL. */
static const char *slurp(const char *dir, const char *rel)
{
	static char buf[512];
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int lexists(const char *dir, const char *rel, mode_t *type)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (lstat(p, &st) < 0)
		return 0;
	if (type)
		*type = st.st_mode & S_IFMT;
	return 1;
}

/* ---- the interface by MAC --------------------------------------------------------- */

static void iface(const char *dir, const char *name, const char *addr)
{
	char rel[64];
	mkd(dir, name);
	if (addr) {
		snprintf(rel, sizeof(rel), "%s/address", name);
		put(dir, rel, addr);
	}
}

static void test_find_if(void **state)
{
	struct tmp *t = *state;
	char name[NET_IFNAME_MAX];
	int fd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	/* Nothing yet: the module's probe has not run. */
	assert_int_equal(initnet_find_if(fd, MAC, name), 0);

	iface(t->root, "lo", "00:00:00:00:00:00\n");
	iface(t->root, "sit0", NULL);                     /* no address file */
	iface(t->root, "eth0", "52:54:00:00:00:01\n");    /* another device */
	iface(t->root, "averyveryverylongname", "52:54:00:ab:cd:ef\n"); /* not an IFNAMSIZ name */
	assert_int_equal(initnet_find_if(fd, MAC, name), 0);

	iface(t->root, "eth1", "52:54:00:AB:CD:EF\n");
	memset(name, 0, sizeof(name));
	assert_int_equal(initnet_find_if(fd, MAC, name), 1);
	assert_string_equal(name, "eth1");
	/* The same fd again (the wait loop scans it repeatedly). */
	memset(name, 0, sizeof(name));
	assert_int_equal(initnet_find_if(fd, MAC, name), 1);
	assert_string_equal(name, "eth1");

	/* Two with the MAC: counted, so the caller refuses to guess. */
	iface(t->root, "eth2", "52:54:00:ab:cd:ef\n");
	assert_int_equal(initnet_find_if(fd, MAC, name), 2);
	close(fd);

	assert_true(initnet_find_if(-1, MAC, name) < 0);
}

/* ---- resolv.conf: written where the root is ours --------------------------------- */

static const char TEXT[] = "# test\nnameserver 192.0.2.53\n";

static void test_resolv_write(void **state)
{
	struct tmp *t = *state;
	mode_t type;
	char p[256];
	struct stat st;

	/* No /etc: created. */
	assert_int_equal(initnet_resolv_write(t->rootfd, TEXT), 0);
	assert_string_equal(slurp(t->root, "etc/resolv.conf"), TEXT);
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", t->root);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_false(lexists(t->root, "etc/" RESOLV_TMP, NULL));

	/* A regular file: replaced. */
	put(t->root, "etc/resolv.conf", "nameserver 9.9.9.9\n");
	assert_int_equal(initnet_resolv_write(t->rootfd, TEXT), 0);
	assert_string_equal(slurp(t->root, "etc/resolv.conf"), TEXT);

	/* A symlink (systemd-resolved style, here pointing out of the
	 * root): the link is replaced, its target never written. */
	put(t->outside, "stub", "nameserver 127.0.0.53\n");
	assert_int_equal(unlink(p), 0);
	char target[128];
	snprintf(target, sizeof(target), "%s/stub", t->outside);
	lnk(t->root, "etc/resolv.conf", target);
	assert_int_equal(initnet_resolv_write(t->rootfd, TEXT), 0);
	assert_true(lexists(t->root, "etc/resolv.conf", &type));
	assert_int_equal(type, S_IFREG);
	assert_string_equal(slurp(t->root, "etc/resolv.conf"), TEXT);
	assert_string_equal(slurp(t->outside, "stub"), "nameserver 127.0.0.53\n");

	/* A leftover temp file (a symlink even) is not followed. */
	lnk(t->root, "etc/" RESOLV_TMP, target);
	assert_int_equal(initnet_resolv_write(t->rootfd, TEXT), 0);
	assert_string_equal(slurp(t->outside, "stub"), "nameserver 127.0.0.53\n");
	assert_false(lexists(t->root, "etc/" RESOLV_TMP, NULL));

	/* A directory there: an error, nothing left behind. */
	assert_int_equal(unlink(p), 0);
	mkd(t->root, "etc/resolv.conf");
	int r = initnet_resolv_write(t->rootfd, TEXT);
	assert_true(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST);
	assert_false(lexists(t->root, "etc/" RESOLV_TMP, NULL));
}

static void test_resolv_write_etc_symlink(void **state)
{
	struct tmp *t = *state;

	/* /etc itself a symlink (out of the root): refused, never followed. */
	lnk(t->root, "etc", t->outside);
	assert_int_equal(initnet_resolv_write(t->rootfd, TEXT), -ELOOP);
	assert_false(lexists(t->outside, "resolv.conf", NULL));
	assert_false(lexists(t->outside, RESOLV_TMP, NULL));
	/* A file: not a directory. */
	char p[256];
	snprintf(p, sizeof(p), "%s/etc", t->root);
	assert_int_equal(unlink(p), 0);
	put(t->root, "etc", "");
	assert_int_equal(initnet_resolv_write(t->rootfd, TEXT), -ENOTDIR);
}

/* ---- resolv.conf: the file a user's own root resolves it to ----------------------- */

static int have_openat2(void)
{
	struct net_open_how how = { .flags = O_PATH | O_CLOEXEC };
	long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	if (fd >= 0)
		close((int)fd);
	return fd >= 0 || errno != ENOSYS;
}

static void test_resolv_target(void **state)
{
	struct tmp *t = *state;
	int fd = 123;
	struct stat a, b;
	char p[256];

	if (!have_openat2())
		skip();
	/* Nothing there (no etc, then no file). */
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), -ENOENT);
	assert_int_equal(fd, -1);
	mkd(t->root, "etc");
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), -ENOENT);

	/* A regular file: that one. */
	put(t->root, "etc/resolv.conf", "nameserver 1.1.1.1\n");
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), 0);
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", t->root);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
	assert_int_equal(unlink(p), 0);

	/* An absolute symlink resolves inside the root, not on the host:
	 * the root's /run/resolv, which exists... */
	mkd(t->root, "run");
	put(t->root, "run/resolv", "nameserver 1.1.1.1\n");
	lnk(t->root, "etc/resolv.conf", "/run/resolv");
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), 0);
	snprintf(p, sizeof(p), "%s/run/resolv", t->root);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	close(fd);
	/* ...and one whose target is only on the host is not found. */
	snprintf(p, sizeof(p), "%s/etc/resolv.conf", t->root);
	assert_int_equal(unlink(p), 0);
	char target[160];
	put(t->outside, "real", "x\n");
	snprintf(target, sizeof(target), "%s/real", t->outside);
	lnk(t->root, "etc/resolv.conf", target);
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), -ENOENT);
	assert_int_equal(unlink(p), 0);
	/* "..": clamped at the root as well. */
	snprintf(target, sizeof(target), "../../../../../../..%s/real", t->outside);
	lnk(t->root, "etc/resolv.conf", target);
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), -ENOENT);
	assert_int_equal(unlink(p), 0);
	/* A directory is not a file to mount over. */
	lnk(t->root, "etc/resolv.conf", "/run");
	assert_int_equal(initnet_resolv_target(t->rootfd, &fd), -EINVAL);
	assert_int_equal(fd, -1);
}

/* ---- initnet_resolv per root mode (the paths that need no mount) ------------------ */

static void test_resolv_modes(void **state)
{
	struct tmp *t = *state;
	struct arca_spec_net n = net_good();
	char err[256] = "";

	/* No DNS server: nothing touched, whatever the mode. */
	memset(n.dns, 0, 4);
	assert_int_equal(initnet_resolv(&n, ARCA_ROOT_DIR, t->root, err, sizeof(err)), 0);
	assert_false(lexists(t->root, "etc", NULL));
	n = net_good();

	/* A user's own root without the file: never written, logged. */
	if (have_openat2()) {
		log_lines = 0;
		assert_int_equal(initnet_resolv(&n, ARCA_ROOT_DIR_RW, t->root, err, sizeof(err)), 0);
		assert_int_equal(initnet_resolv(&n, ARCA_ROOT_DISK_RW, t->root, err, sizeof(err)),
				 0);
		assert_false(lexists(t->root, "etc", NULL));
		assert_int_equal(log_lines, 2);
		assert_non_null(strstr(last_log, "/etc/resolv.conf"));
		assert_non_null(strstr(last_log, "left as it is"));
	}

	/* Ours (an overlay's upper layer, the skeleton, the initramfs):
	 * written, the line logged. */
	static const uint32_t ours[] = { ARCA_ROOT_INITRD, ARCA_ROOT_HOST, ARCA_ROOT_DIR,
					 ARCA_ROOT_DISK };
	for (size_t i = 0; i < ARRAY_SIZE(ours); i++) {
		assert_int_equal(initnet_resolv(&n, ours[i], t->root, err, sizeof(err)), 0);
		const char *s = slurp(t->root, "etc/resolv.conf");
		assert_non_null(s);
		assert_non_null(strstr(s, "\nnameserver 10.213.0.1\n"));
		assert_non_null(strstr(last_log, "written"));
	}

	/* A failure is one "net: ..." line for arca-init's ERROR. */
	char p[256];
	snprintf(p, sizeof(p), "rm -rf '%s/etc'", t->root);
	assert_int_equal(system(p), 0);
	lnk(t->root, "etc", t->outside);
	assert_int_equal(initnet_resolv(&n, ARCA_ROOT_DIR, t->root, err, sizeof(err)), -ELOOP);
	assert_true(strncmp(err, "net: writing ", 13) == 0);
	assert_non_null(strstr(err, "/etc/resolv.conf (/etc is a symlink)"));
	assert_false(lexists(t->outside, "resolv.conf", NULL));

	/* A root that is not there. */
	assert_true(initnet_resolv(&n, ARCA_ROOT_DIR, "/nonexistent-initnet", err,
				   sizeof(err)) < 0);
	assert_non_null(strstr(err, "opening the root /nonexistent-initnet"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_netmask_ip),
		cmocka_unit_test(test_summary_and_resolv_text),
		cmocka_unit_test_setup_teardown(test_find_if, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_resolv_write, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_resolv_write_etc_symlink, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_resolv_target, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_resolv_modes, tmp_setup, tmp_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
