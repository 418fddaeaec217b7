/* SPDX-License-Identifier: MIT */
/*
 * Rootless --net through passt (launcher/passt.c): what a rootless run
 * refuses, with the exact messages; the guest's NET record; passt's argv;
 * the ARP probe's frames; the line kept from passt's stderr; finding it on
 * PATH. Then processes: stand-ins that fail, say why, or never answer (the
 * message, and nothing left running), and, where passt is installed and
 * the host has a default route (passt needs one), a real passt started,
 * answering over the stream the VMM gets, stopped and reaped, and killed
 * by PR_SET_PDEATHSIG when the thread that started it ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "netcfg.h"
#include "passt.h"
#include "publish.h"
#include "run.h"
#include "spec.h"

static struct netcfg cfg(const char *v)
{
	struct netcfg c;
	struct arca_err e = { 0 };
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, v, &e), 0);
	return c;
}

/* ---- pure ---------------------------------------------------------------------------------- */

static void test_check(void **state)
{
	struct arca_err e = { 0 };
	struct netcfg c = cfg("allow=1.2.3.4");
	assert_int_equal(passt_check(&c, NULL, &e), -EPERM);
	assert_string_equal(e.msg, "--net allow= needs root (passt cannot filter by destination)");
	c = cfg("allow=good.test:443,allow-private");
	assert_int_equal(passt_check(&c, NULL, &e), -EPERM);
	assert_non_null(strstr(e.msg, "allow= needs root"));
	c = cfg("nat");
	assert_int_equal(passt_check(&c, NULL, &e), -EPERM);
	assert_string_equal(e.msg, "rootless --net nat cannot refuse private ranges (passt): add "
				   ",allow-private to accept that");
	c = cfg("nat,allow-private");
	assert_int_equal(passt_check(&c, NULL, &e), 0);
	c = cfg("nat,allow-private,pool=10.99.0.0/24");
	struct net_publishes pub = { .n = 0 };
	assert_int_equal(passt_check(&c, &pub, &e), 0);
	pub.n = 1; /* passt forwards it */
	assert_int_equal(passt_check(&c, &pub, &e), 0);
}

static void test_plan(void **state)
{
	struct arca_err e = { 0 };
	struct netcfg c = cfg("nat,allow-private");
	struct arca_spec_net n;
	const uint8_t rnd[6] = { 0xff, 1, 2, 3, 4, 5 }; /* multicast, global: fixed up */
	assert_int_equal(passt_plan(&c, rnd, &n, &e), 0);
	const uint8_t mac[6] = { 0xfe, 1, 2, 3, 4, 5 };
	assert_memory_equal(n.mac, mac, 6);
	assert_int_equal(n.mtu, PASST_MTU);
	assert_int_equal(n.mtu, 65520);
	const uint8_t a[4] = { 10, 213, 0, 2 }, g[4] = { 10, 213, 0, 1 };
	assert_memory_equal(n.addr, a, 4);
	assert_memory_equal(n.gateway, g, 4);
	assert_memory_equal(n.dns, g, 4); /* passt's --dns-forward */
	assert_int_equal(n.prefix, 30);
	assert_int_equal(n.flags, 0);
	assert_true(spec_net_ok(&n));
	/* pool= is honoured as for root runs */
	c = cfg("nat,allow-private,pool=192.168.77.0/24");
	const uint8_t zero[6] = { 0 };
	assert_int_equal(passt_plan(&c, zero, &n, &e), 0);
	const uint8_t a2[4] = { 192, 168, 77, 2 };
	assert_memory_equal(n.addr, a2, 4);
	assert_int_equal(n.mac[0], 2);
	assert_true(spec_net_ok(&n));
}

static void test_argv(void **state)
{
	struct arca_err e = { 0 };
	struct netcfg c = cfg("nat,allow-private");
	struct arca_spec_net n;
	const uint8_t rnd[6] = { 2, 0, 0, 0, 0, 9 };
	assert_int_equal(passt_plan(&c, rnd, &n, &e), 0);
	struct passt_argv a;
	passt_argv("/usr/bin/passt", &n, NULL, PASST_CHILD_FD, &a);
	static const char *const want[] = {
		"/usr/bin/passt", "--foreground", "--quiet", "--ipv4-only", "--fd", "3",
		"--address", "10.213.0.2", "--netmask", "30", "--gateway", "10.213.0.1", "--no-dhcp",
		"--dns-forward", "10.213.0.1", "--no-map-gw", "--tcp-ports", "none",
		"--udp-ports", "none",
	};
	assert_int_equal(a.n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < a.n; i++)
		assert_string_equal(a.v[i], want[i]);
	assert_null(a.v[a.n]);

	/* --publish: one -t/-u each, "none" only for a protocol without any
	 * (passt would otherwise also forward a TCP port's UDP twin) */
	struct net_publishes pub = { 0 };
	assert_int_equal(netcfg_add_publish(&pub, "8080:80", &e), 0);
	assert_int_equal(netcfg_add_publish(&pub, "127.0.0.1:2222:22/tcp", &e), 0);
	passt_argv("/usr/bin/passt", &n, &pub, PASST_CHILD_FD, &a);
	static const char *const tail_tcp[] = {
		"--no-map-gw", "--tcp-ports", "8080:80", "--tcp-ports", "127.0.0.1/2222:22",
		"--udp-ports", "none",
	};
	size_t nt = sizeof(tail_tcp) / sizeof(tail_tcp[0]);
	assert_int_equal(a.n, 16 + (int)nt - 1);
	for (size_t i = 0; i < nt; i++)
		assert_string_equal(a.v[15 + i], tail_tcp[i]);
	assert_null(a.v[a.n]);
	pub.n = 0;
	assert_int_equal(netcfg_add_publish(&pub, "5353:53/udp", &e), 0);
	passt_argv("/usr/bin/passt", &n, &pub, PASST_CHILD_FD, &a);
	static const char *const tail_udp[] = {
		"--no-map-gw", "--udp-ports", "5353:53", "--tcp-ports", "none",
	};
	nt = sizeof(tail_udp) / sizeof(tail_udp[0]);
	assert_int_equal(a.n, 16 + (int)nt - 1);
	for (size_t i = 0; i < nt; i++)
		assert_string_equal(a.v[15 + i], tail_udp[i]);
	/* the most there can be fits */
	pub.n = 0;
	for (unsigned i = 0; i < NET_PUBLISH_MAX; i++) {
		char v[40];
		snprintf(v, sizeof(v), "127.0.0.%u:%u:%u/%s", i, 65535 - i, 65535 - i,
			 i % 2 ? "udp" : "tcp");
		assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
	}
	passt_argv("/usr/bin/passt", &n, &pub, PASST_CHILD_FD, &a);
	assert_int_equal(a.n, 16 + 2 * NET_PUBLISH_MAX);
	assert_true(a.n < PASST_ARGV_MAX);
	assert_string_equal(a.v[a.n - 1], "127.0.0.31/65504:65504");
	assert_null(a.v[a.n]);
}

static void test_arp(void **state)
{
	struct arca_err e = { 0 };
	struct netcfg c = cfg("nat,allow-private");
	struct arca_spec_net n;
	const uint8_t rnd[6] = { 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	assert_int_equal(passt_plan(&c, rnd, &n, &e), 0);
	uint8_t f[64];
	assert_int_equal(passt_arp_request(f, &n), 42);
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 10, 213, 0, 2,
		0, 0, 0, 0, 0, 0, 10, 213, 0, 1,
	};
	assert_memory_equal(f, want, 42);
	assert_false(passt_arp_is_reply(f, 42, &n)); /* a request */
	/* the gateway's answer, as passt writes it */
	uint8_t r[42];
	memcpy(r, n.mac, 6);
	memcpy(r + 6, "\x9a\x55\x9a\x55\x9a\x55", 6);
	memcpy(r + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x02", 10);
	memcpy(r + 22, "\x9a\x55\x9a\x55\x9a\x55", 6);
	memcpy(r + 28, n.gateway, 4);
	memcpy(r + 32, n.mac, 6);
	memcpy(r + 38, n.addr, 4);
	assert_true(passt_arp_is_reply(r, 42, &n));
	assert_false(passt_arp_is_reply(r, 41, &n));
	r[31] = 3; /* another address's answer */
	assert_false(passt_arp_is_reply(r, 42, &n));
	r[31] = 1;
	r[13] = 0; /* not ARP */
	assert_false(passt_arp_is_reply(r, 42, &n));
}

static void test_err_line(void **state)
{
	char out[64];
	static const char t[] = "Failed to send 47 bytes to syslog\nNo external routable interface "
				"for IPv4\nFailed to send 30 bytes to syslog\n\0\0\0garbage";
	passt_err_line(t, sizeof(t), out, sizeof(out));
	assert_string_equal(out, "No external routable interface for IPv4");
	passt_err_line("a\nb", 3, out, sizeof(out));
	assert_string_equal(out, "b");
	passt_err_line("Failed to send 3 bytes to syslog\n", 33, out, sizeof(out));
	assert_string_equal(out, "");
	passt_err_line("", 0, out, sizeof(out));
	assert_string_equal(out, "");
	passt_err_line("0123456789abcdef\n", 17, out, 8); /* cut, terminated */
	assert_string_equal(out, "0123456");
}

/* The VMM is told which backend its fd is (run_vmm_argv). */
static void test_vmm_argv_backend(void **state)
{
	struct arca_opts o = { .cmd = ARCA_CMD_RUN, .cpus = 1, .memory_mib = 256 };
	static struct run_argv ra;
	ra.net_fd = 9;
	ra.net_mtu = PASST_MTU;
	memcpy(ra.net_mac, "\x02\xaa\xbb\xcc\xdd\xee", 6);
	ra.net_stream = true;
	int n = run_vmm_argv(&o, "x", NULL, 0, NULL, 0, 1u << 20, -1, &ra);
	assert_true(n > 0);
	bool seen = false;
	for (int i = 0; i < n; i++)
		seen |= !strcmp(ra.argv[i], "--net=9,mac=02:aa:bb:cc:dd:ee,mtu=65520,backend=stream");
	assert_true(seen);
	ra.net_stream = false;
	ra.net_mtu = 1500;
	n = run_vmm_argv(&o, "x", NULL, 0, NULL, 0, 1u << 20, -1, &ra);
	seen = false;
	for (int i = 0; i < n; i++)
		seen |= !strcmp(ra.argv[i], "--net=9,mac=02:aa:bb:cc:dd:ee,mtu=1500");
	assert_true(seen);
}

/* ---- processes ----------------------------------------------------------------------------- */

static char tmp[64];

static int setup_tmp(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/arca-passt-test.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int teardown_tmp(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* An executable stand-in at tmp/NAME; its path into out. */
static void script(const char *name, const char *body, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", tmp, name);
	FILE *f = fopen(out, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	assert_int_equal(chmod(out, 0755), 0);
}

static void test_find(void **state)
{
	char exe[256], out[256], path[512];
	script("passt", "exit 0", exe, sizeof(exe));
	snprintf(path, sizeof(path), "relative:/nonexistent::%s:/usr/bin", tmp);
	assert_int_equal(passt_find(path, out, sizeof(out)), 0);
	assert_string_equal(out, exe);
	/* a relative entry is never used, even where it holds a passt */
	char cwd[256];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmp), 0);
	int r = passt_find(".", out, sizeof(out));
	assert_int_equal(chdir(cwd), 0);
	if (access("/usr/bin/passt", X_OK) == 0) {
		assert_int_equal(r, 0);
		assert_string_equal(out, "/usr/bin/passt");
	} else {
		assert_int_equal(r, -ENOENT);
	}
	/* not executable: skipped */
	assert_int_equal(chmod(exe, 0644), 0);
	r = passt_find(tmp, out, sizeof(out));
	assert_true(r == -ENOENT || !strcmp(out, "/usr/bin/passt"));
	assert_int_equal(passt_find(NULL, out, sizeof(out)), access("/usr/bin/passt", X_OK) ? -ENOENT : 0);
}

static struct arca_spec_net plan(void)
{
	struct arca_err e = { 0 };
	struct netcfg c = cfg("nat,allow-private");
	struct arca_spec_net n;
	const uint8_t rnd[6] = { 2, 1, 2, 3, 4, 5 };
	assert_int_equal(passt_plan(&c, rnd, &n, &e), 0);
	return n;
}

static void no_child_left(void)
{
	/* every child reaped: nothing of passt's is left */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Stand-ins that do not answer: each a one-line message and nothing left
 * running. */
static void test_start_fails(void **state)
{
	struct arca_spec_net n = plan();
	struct passt p;
	struct arca_err e = { 0 };
	char exe[256];
	script("says-why", "echo 'Failed to send 47 bytes to syslog' >&2\n"
			   "echo 'External interface not usable' >&2\n"
			   "echo 'Failed to send 30 bytes to syslog' >&2\nexit 1", exe, sizeof(exe));
	assert_true(passt_start(&p, exe, &n, NULL, 5000, &e) < 0);
	assert_non_null(strstr(e.msg, "exited with status 1: External interface not usable"));
	assert_null(strchr(e.msg, '\n'));
	assert_int_equal(p.pid, -1);
	assert_int_equal(p.fd, -1);
	no_child_left();

	script("silent", "sleep 30", exe, sizeof(exe));
	assert_int_equal(passt_start(&p, exe, &n, NULL, 300, &e), -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "did not answer within 0.3 s"));
	no_child_left();

	snprintf(exe, sizeof(exe), "%s/none", tmp);
	assert_true(passt_start(&p, exe, &n, NULL, 5000, &e) < 0);
	assert_non_null(strstr(e.msg, "cannot execute"));
	no_child_left();

	/* the stand-in sees the argv and its end of the stream at fd 3 */
	script("args", "test \"$4 $5 $6 $7\" = '--fd 3 --address 10.213.0.2' || exit 9\n"
		       "[ -S /proc/self/fd/3 ] || exit 8\nexit 3", exe, sizeof(exe));
	assert_true(passt_start(&p, exe, &n, NULL, 5000, &e) < 0);
	assert_non_null(strstr(e.msg, "exited with status 3"));
	no_child_left();
}

/* A real passt, where there is one and the host has a default route. */
static bool have_passt(char *exe, size_t cap)
{
	if (passt_find(getenv("PATH"), exe, cap) < 0) {
		print_message("skipped: no passt (apt install passt)\n");
		return false;
	}
	FILE *f = fopen("/proc/net/route", "r");
	char line[256];
	bool def = false;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "\t00000000\t") && !strncmp(strchr(line, '\t') + 1, "00000000", 8))
			def = true;
	if (f)
		fclose(f);
	if (!def)
		print_message("skipped: no IPv4 default route (passt needs one)\n");
	return def;
}

static void test_live(void **state)
{
	char exe[256];
	if (!have_passt(exe, sizeof(exe)))
		skip();
	struct arca_spec_net n = plan();
	struct passt p;
	struct arca_err e = { 0 };
	/* a published port: passt listens on it for the guest */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	close(s);
	char v[40];
	snprintf(v, sizeof(v), "127.0.0.1:%u:80", ntohs(sa.sin_port));
	struct net_publishes pub = { 0 };
	assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
	int r = passt_start(&p, exe, &n, &pub, PASST_START_MS, &e);
	if (r < 0)
		fail_msg("%s", e.msg);
	assert_true(p.pid > 0);
	assert_true(p.fd >= 0);
	assert_int_equal(publish_probe(&pub, &e), -EADDRINUSE); /* passt's now */
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	pid_t pid = p.pid;
	/* The stream is at a frame boundary for the VMM: a second ARP
	 * request is answered, framed. */
	uint8_t req[4 + PASST_ARP_LEN] = { 0, 0, 0, PASST_ARP_LEN }, got[4 + 128];
	passt_arp_request(req + 4, &n);
	assert_int_equal(send(p.fd, req, sizeof(req), MSG_NOSIGNAL), (ssize_t)sizeof(req));
	/* Frame by frame until the answer: passt may send others first (a
	 * second answer to the start-up probe's retries, say). */
	bool answered = false;
	for (int frames = 0; frames < 16 && !answered; frames++) {
		size_t have = 0, want = 4;
		uint32_t len = 0;
		while (have < want) {
			struct pollfd pf = { .fd = p.fd, .events = POLLIN };
			assert_int_equal(poll(&pf, 1, 5000), 1);
			ssize_t k = recv(p.fd, got + have, want - have, 0);
			assert_true(k > 0);
			have += (size_t)k;
			if (have == 4 && want == 4) {
				len = (uint32_t)got[0] << 24 | got[1] << 16 | got[2] << 8 | got[3];
				assert_true(len >= 14 && len <= sizeof(got) - 4);
				want = 4 + len;
			}
		}
		answered = passt_arp_is_reply(got + 4, len, &n);
	}
	assert_true(answered);
	passt_stop(&p);
	assert_int_equal(p.pid, -1);
	assert_int_equal(p.fd, -1);
	assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
	assert_int_equal(errno, ESRCH);
	assert_int_equal(publish_probe(&pub, &e), 0); /* and the port is free again */
	no_child_left();
}

static void *start_thread(void *arg)
{
	struct passt *p = arg;
	struct arca_spec_net n = plan();
	struct arca_err e = { 0 };
	char exe[256];
	if (passt_find(getenv("PATH"), exe, sizeof(exe)) < 0 ||
	    passt_start(p, exe, &n, NULL, PASST_START_MS, &e) < 0) {
		fprintf(stderr, "passt_start: %s\n", e.msg);
		p->pid = -1;
	}
	return NULL;
}

/* PR_SET_PDEATHSIG: passt goes with the thread that started it, however
 * that ends (here: it just returns, without passt_stop). Checked in a
 * child process that is not root: arca starts passt only then, and a
 * passt started by root changes to nobody, which clears the signal. */
static void test_live_pdeathsig(void **state)
{
	char exe[256];
	if (!have_passt(exe, sizeof(exe)))
		skip();
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
				       setuid(65534) < 0))
			_exit(10);
		struct passt p;
		passt_init(&p);
		pthread_t t;
		if (pthread_create(&t, NULL, start_thread, &p) != 0 || pthread_join(t, NULL) != 0)
			_exit(11);
		if (p.pid < 0)
			_exit(12);
		int st = 0;
		if (waitpid(p.pid, &st, 0) != p.pid)
			_exit(13);
		_exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : 14);
	}
	int st = 0;
	assert_int_equal(waitpid(c, &st, 0), c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	no_child_left();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_err_line),
		cmocka_unit_test(test_vmm_argv_backend),
		cmocka_unit_test_setup_teardown(test_find, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_start_fails, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_live_pdeathsig),
	};
	return cmocka_run_group_tests_name("passt", tests, NULL, NULL);
}
