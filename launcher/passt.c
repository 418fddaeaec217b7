/* SPDX-License-Identifier: MIT */
/* Rootless --net nat through passt; see passt.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "passt.h"
#include "publish.h"

/* ---- pure ---------------------------------------------------------------------------------- */

int passt_check(const struct netcfg *c, const struct net_publishes *pub, struct arca_err *e)
{
	if (c->mode == NET_POD)
		return arca_error(e, EPERM, "--net ns= needs root (CAP_NET_ADMIN in that network "
				  "namespace)");
	if (c->mode == NET_ALLOW)
		return arca_error(e, EPERM, "--net allow= needs root (passt cannot filter by "
				  "destination)");
	/* passt connects from the host as the user: every network the user
	 * reaches, the guest reaches. Said out loud, not silently lost. */
	if (c->mode == NET_NAT && !c->allow_private)
		return arca_error(e, EPERM, "rootless --net nat cannot refuse private ranges (passt): "
				  "add ,allow-private to accept that");
	(void)pub; /* passt forwards published ports itself (passt_argv) */
	return 0;
}

static void put_ip4(uint8_t out[4], uint32_t host_order)
{
	out[0] = (uint8_t)(host_order >> 24);
	out[1] = (uint8_t)(host_order >> 16);
	out[2] = (uint8_t)(host_order >> 8);
	out[3] = (uint8_t)host_order;
}

int passt_plan(const struct netcfg *c, const uint8_t rnd[6], struct arca_spec_net *out,
	       struct arca_err *e)
{
	struct net_plan plan;
	/* passt runs one guest: the pool's first slot, always. */
	if (netcfg_slot_plan(&c->pool, 0, &plan) < 0)
		return arca_error(e, EINVAL, "--net: the address pool has no room for a guest");
	memset(out, 0, sizeof(*out));
	memcpy(out->mac, rnd, sizeof(out->mac));
	out->mac[0] = (uint8_t)((out->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	out->mtu = PASST_MTU;
	put_ip4(out->addr, plan.guest);
	put_ip4(out->gateway, plan.gw);
	put_ip4(out->dns, plan.gw);
	out->prefix = plan.prefix;
	return 0;
}

static void ip4_str(const uint8_t a[4], char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

void passt_argv(const char *exe, const struct arca_spec_net *net, const struct net_publishes *pub,
		int fd, struct passt_argv *a)
{
	ip4_str(net->addr, a->addr, sizeof(a->addr));
	ip4_str(net->gateway, a->gw, sizeof(a->gw));
	snprintf(a->mask, sizeof(a->mask), "%u", net->prefix);
	snprintf(a->fd, sizeof(a->fd), "%d", fd);
	const char *v[] = {
		exe,
		/* arca is its supervisor: no daemon, no PID namespace of its
		 * own (passt_stop kills this pid); errors only. */
		"--foreground", "--quiet",
		/* the guest gets IPv4 only (arca-init configures no IPv6) */
		"--ipv4-only",
		/* the connected socket, inherited; implies --one-off */
		"--fd", a->fd,
		/* the guest's addresses, which arca-init sets statically
		 * (no DHCP server: nothing else to answer) */
		"--address", a->addr, "--netmask", a->mask, "--gateway", a->gw, "--no-dhcp",
		/* the guest's resolver is the gateway: passt relays it to the
		 * host's first resolver, loopback ones included */
		"--dns-forward", a->gw,
		/* the gateway is not the host's loopback: a guest must not
		 * reach services bound to 127.0.0.1 */
		"--no-map-gw",
		NULL,
	};
	_Static_assert(ARRAY_SIZE(v) + 4 + 2 * NET_PUBLISH_MAX <= PASST_ARGV_MAX, "PASST_ARGV_MAX");
	memcpy(a->v, v, sizeof(v));
	a->n = (int)ARRAY_SIZE(v) - 1;
	/* --publish: one -t or -u each. A protocol with none published gets
	 * "none", which also stops passt's habit of forwarding the UDP port of
	 * each forwarded TCP port: only what was asked for is published. */
	bool tcp = false, udp = false;
	size_t n = pub ? pub->n : 0;
	for (size_t i = 0; i < n && i < NET_PUBLISH_MAX; i++) {
		const struct net_publish *p = &pub->v[i];
		char ip[20] = "";
		if (p->host_ip)
			netcfg_ipv4_str(p->host_ip, ip, sizeof(ip));
		snprintf(a->ports[i], sizeof(a->ports[i]), "%s%s%u:%u", ip, p->host_ip ? "/" : "",
			 p->host_port, p->guest_port);
		bool is_udp = p->proto == IPPROTO_UDP;
		a->v[a->n++] = is_udp ? "--udp-ports" : "--tcp-ports";
		a->v[a->n++] = a->ports[i];
		tcp |= !is_udp;
		udp |= is_udp;
	}
	if (!tcp) {
		a->v[a->n++] = "--tcp-ports";
		a->v[a->n++] = "none";
	}
	if (!udp) {
		a->v[a->n++] = "--udp-ports";
		a->v[a->n++] = "none";
	}
	a->v[a->n] = NULL;
}

size_t passt_arp_request(uint8_t *buf, const struct arca_spec_net *net)
{
	/* Ethernet: broadcast from the guest, ARP (0x0806); RFC 826:
	 * Ethernet/IPv4, op 1, sender guest, target the gateway. */
	memset(buf, 0xff, 6);
	memcpy(buf + 6, net->mac, 6);
	static const uint8_t arp[10] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
	memcpy(buf + 12, arp, sizeof(arp));
	memcpy(buf + 22, net->mac, 6);
	memcpy(buf + 28, net->addr, 4);
	memset(buf + 32, 0, 6);
	memcpy(buf + 38, net->gateway, 4);
	return PASST_ARP_LEN;
}

bool passt_arp_is_reply(const uint8_t *f, size_t len, const struct arca_spec_net *net)
{
	return len >= PASST_ARP_LEN && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 &&
	       f[21] == 2 && !memcmp(f + 28, net->gateway, 4);
}

void passt_err_line(const char *text, size_t len, char *out, size_t cap)
{
	size_t best = 0, best_len = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n' && text[j] != '\0')
			j++;
		/* passt tells stderr each time its system logger is not there */
		static const char syslog_note[] = "Failed to send ";
		size_t l = j - i;
		if (l && !(l >= sizeof(syslog_note) - 1 &&
			   !memcmp(text + i, syslog_note, sizeof(syslog_note) - 1))) {
			best = i;
			best_len = l;
		}
		if (j < len && text[j] == '\0')
			break;
		i = j + 1;
	}
	snprintf(out, cap, "%.*s", (int)best_len, text + best);
}

/* ---- the process ------------------------------------------------------------------------- */

int passt_find(const char *path_env, char *out, size_t cap)
{
	const char *p = path_env ? path_env : "";
	while (*p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		/* A relative entry would run whatever `passt` the current
		 * directory holds. */
		if (n && p[0] == '/' && n + sizeof("/passt") <= cap) {
			snprintf(out, cap, "%.*s/passt", (int)n, p);
			if (access(out, X_OK) == 0)
				return 0;
		}
		p += n + (end ? 1 : 0);
	}
	if (snprintf(out, cap, "/usr/bin/passt") < (int)cap && access(out, X_OK) == 0)
		return 0;
	return -ENOENT;
}

void passt_init(struct passt *p)
{
	p->pid = -1;
	p->fd = p->err_fd = -1;
}

void passt_stop(struct passt *p)
{
	if (p->pid > 0) {
		/* Our own child, not yet reaped: the pid cannot be anyone
		 * else's. */
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	cleanup_closep(&p->fd);
	cleanup_closep(&p->err_fd);
	passt_init(p);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static __attribute__((noreturn)) void child(pid_t parent, int sock, int null_fd, int err_fd,
					     const char *exe, char *const argv[])
{
	/* Dies with the thread that started it, even if arca is killed. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(126);
	/* Out of the terminal's process group: ^C is arca's to forward to
	 * the guest, and must not take the guest's network with it. */
	(void)setsid();
	sigset_t none;
	sigemptyset(&none);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Above every target first, so no dup2 below overwrites a source. */
	sock = fcntl(sock, F_DUPFD, 10);
	null_fd = fcntl(null_fd, F_DUPFD, 10);
	err_fd = fcntl(err_fd, F_DUPFD, 10);
	if (sock < 0 || null_fd < 0 || err_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
	    dup2(err_fd, 2) < 0 || dup2(sock, PASST_CHILD_FD) < 0)
		_exit(126);
#ifdef SYS_close_range
	/* Nothing else of arca's (everything is O_CLOEXEC anyway). */
	(void)syscall(SYS_close_range, PASST_CHILD_FD + 1, ~0u, 0);
#endif
	execv(exe, argv);
	_exit(127);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Exactly len bytes from fd by deadline (into buf's first cap bytes; the
 * rest is read and dropped): 0, -ETIMEDOUT, -EPIPE (closed), -errno. */
static int read_by(int fd, uint8_t *buf, size_t cap, size_t len, uint64_t deadline)
{
	uint8_t sink[512];
	size_t got = 0;
	while (got < len) {
		uint64_t t = now_ms();
		if (t >= deadline)
			return -ETIMEDOUT;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int n = poll(&pf, 1, (int)(deadline - t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		uint8_t *dst = got < cap ? buf + got : sink;
		size_t room = got < cap ? cap - got : sizeof(sink);
		if (room > len - got)
			room = len - got;
		ssize_t r = recv(fd, dst, room, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		got += (size_t)r;
	}
	return 0;
}

/* Ask passt for the gateway's MAC, as the guest will: proof that it runs,
 * with our addresses, past its own sandboxing. Frames before the answer
 * are dropped whole, so the stream stays at a frame boundary for the VMM. */
static int probe(int fd, const struct arca_spec_net *net, int timeout_ms)
{
	uint8_t req[4 + PASST_ARP_LEN] = { 0, 0, 0, PASST_ARP_LEN };
	passt_arp_request(req + 4, net);
	if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	for (int frames = 0; frames < 64; frames++) {
		uint8_t hdr[4], f[64];
		int r = read_by(fd, hdr, sizeof(hdr), sizeof(hdr), deadline);
		if (r < 0)
			return r;
		uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
			       (uint32_t)hdr[2] << 8 | hdr[3];
		if (len < 14 || len > 65535 + 18)
			return -EPROTO;
		if ((r = read_by(fd, f, sizeof(f), len, deadline)) < 0)
			return r;
		if (passt_arp_is_reply(f, len, net))
			return 0;
	}
	return -EPROTO;
}

/* e for a start that failed with r: what passt said, or how it ended. */
static int start_error(struct passt *p, int r, const char *exe, int timeout_ms,
		       struct arca_err *e)
{
	int st = 0;
	bool ended = false;
	if (r != -ETIMEDOUT) {
		/* It closed the socket: it is exiting; give it a moment. */
		for (int i = 0; i < 200 && !ended; i++) {
			pid_t w = waitpid(p->pid, &st, WNOHANG);
			if (w == p->pid)
				ended = true;
			else
				usleep(10000);
		}
	}
	if (ended)
		p->pid = -1;
	char text[PASST_ERR_CAP + 1], line[300] = "";
	ssize_t n = pread(p->err_fd, text, PASST_ERR_CAP, 0);
	if (n > 0)
		passt_err_line(text, (size_t)n, line, sizeof(line));
	passt_stop(p);
	const char *sep = line[0] ? ": " : "";
	if (ended && WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return arca_error(e, ENOEXEC, "--net: cannot execute %s", exe);
	if (ended && WIFEXITED(st))
		return arca_error(e, EIO, "--net: passt (%s) exited with status %d%s%s", exe,
				  WEXITSTATUS(st), sep, line);
	if (ended && WIFSIGNALED(st))
		return arca_error(e, EIO, "--net: passt (%s) was killed by signal %d%s%s", exe,
				  WTERMSIG(st), sep, line);
	if (r == -ETIMEDOUT)
		return arca_error(e, ETIMEDOUT, "--net: passt (%s) did not answer within %g s%s%s",
				  exe, timeout_ms / 1000.0, sep, line);
	return arca_error_errno(e, -r, "--net: passt (%s) failed%s%s", exe, sep, line);
}

int passt_start(struct passt *p, const char *exe, const struct arca_spec_net *net,
		const struct net_publishes *pub, int timeout_ms, struct arca_err *e)
{
	passt_init(p);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return arca_error_errno(e, errno, "--net: socketpair");
	_cleanup_close_ int ours = sv[0], theirs = sv[1];
	_cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return arca_error_errno(e, errno, "--net: /dev/null");
	/* passt's stderr, bounded: the size is fixed and sealed, so writes
	 * past it fail instead of growing the file. */
	_cleanup_close_ int err_fd = memfd_create("passt-stderr", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (err_fd < 0 || ftruncate(err_fd, PASST_ERR_CAP) < 0 ||
	    fcntl(err_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return arca_error_errno(e, errno, "--net: memfd for passt's messages");
	struct passt_argv a;
	passt_argv(exe, net, pub, PASST_CHILD_FD, &a);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return arca_error_errno(e, errno, "--net: fork");
	if (pid == 0)
		/* execv takes char *const[]: it writes none of them. */
		child(parent, theirs, null_fd, err_fd, exe, (char *const *)(uintptr_t)a.v);
	p->pid = pid;
	p->fd = steal_fd(&ours);
	p->err_fd = steal_fd(&err_fd);
	cleanup_closep(&theirs); /* passt's now: its close is passt's end */
	theirs = -1;
	int r = probe(p->fd, net, timeout_ms);
	if (r < 0)
		return start_error(p, r, exe, timeout_ms, e);
	return 0;
}

int passt_setup(struct passt *p, const struct netcfg *c, const struct net_publishes *pub,
		const char *path_env, struct arca_spec_net *spec, struct arca_err *e)
{
	int r;
	passt_init(p);
	if ((r = passt_check(c, pub, e)) < 0)
		return r;
	char exe[PATH_MAX];
	if (passt_find(path_env, exe, sizeof(exe)) < 0)
		return arca_error(e, ENOENT, "--net without root needs passt (apt install passt)");
	uint8_t rnd[6];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return arca_error_errno(e, errno, "getrandom");
	if ((r = passt_plan(c, rnd, spec, e)) < 0)
		return r;
	/* A port in use (or an address not the host's) said as a root run
	 * says it; passt would only say "Failed to bind any port". A port
	 * taken between this and passt's bind still fails the start, with
	 * passt's line. */
	if (pub && (r = publish_probe(pub, e)) < 0)
		return r;
	return passt_start(p, exe, spec, pub, PASST_START_MS, e);
}
