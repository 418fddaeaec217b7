/* SPDX-License-Identifier: MIT */
/* cmocka tests for launcher/publish.c (--publish's proxy) live on loopback, in this
 * process: a fake "guest" server on 127.0.0.1, the proxy on another port forwarding to it
 * (nsfd -1: the guest side's sockets are made in this netns), and clients. The proxy runs
 * on a thread of its own, as in the supervisor's loop; stats are read under its lock. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netcfg.h"
#include "publish.h"

#define LOOPBACK 0x7f000001u

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The byte at offset i of a stream: not periodic at any buffer size. */
static uint8_t pat(size_t i)
{
	return (uint8_t)(i ^ (i >> 8) ^ (i >> 16) ^ 0x5a);
}

static struct sockaddr_in lo(uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
				     .sin_addr.s_addr = htonl(LOOPBACK) };
}

/* A port nothing uses now (the kernel's pick, released). */
static uint16_t free_port(int type)
{
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = lo(0);
	socklen_t l = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &l), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- the proxy on its thread ------------------------------------------------------------ */

struct proxy {
	struct publish *px;
	pthread_t th;
	pthread_mutex_t mu;
	int stopfd;
	uint16_t host_port;
};

static void *proxy_main(void *arg)
{
	struct proxy *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int t = publish_timeout_ms(p->px, now_ms());
		pthread_mutex_unlock(&p->mu);
		if (t < 0 || t > 20)
			t = 20;
		struct pollfd fds[2] = { { .fd = publish_fd(p->px), .events = POLLIN },
					 { .fd = p->stopfd, .events = POLLIN } };
		(void)poll(fds, 2, t);
		if (fds[1].revents)
			return NULL;
		pthread_mutex_lock(&p->mu);
		publish_handle(p->px, now_ms());
		pthread_mutex_unlock(&p->mu);
	}
}

/* Publish 127.0.0.1:<free port>:gport[/udp] with cfg's limits. */
static void proxy_start(struct proxy *p, uint16_t gport, int type, struct publish_cfg cfg)
{
	struct net_publishes pub = { 0 };
	struct arca_err e = { 0 };
	char v[64];
	p->host_port = free_port(type);
	snprintf(v, sizeof(v), "127.0.0.1:%u:%u%s", p->host_port, gport,
		 type == SOCK_DGRAM ? "/udp" : "");
	assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
	cfg.pub = &pub;
	cfg.nsfd = -1;
	cfg.guest = LOOPBACK;
	int r = publish_new(&cfg, &p->px, &e);
	if (r < 0)
		fail_msg("publish_new: %s", e.msg);
	pthread_mutex_init(&p->mu, NULL);
	p->stopfd = eventfd(0, EFD_CLOEXEC);
	assert_true(p->stopfd >= 0);
	assert_int_equal(pthread_create(&p->th, NULL, proxy_main, p), 0);
}

static void proxy_stats(struct proxy *p, struct publish_stats *st)
{
	pthread_mutex_lock(&p->mu);
	publish_stats(p->px, st);
	pthread_mutex_unlock(&p->mu);
}

/* Wait (up to 3 s) for the stats to satisfy ok. */
static bool proxy_wait(struct proxy *p, bool (*ok)(const struct publish_stats *),
		       struct publish_stats *st)
{
	for (int i = 0; i < 300; i++) {
		proxy_stats(p, st);
		if (ok(st))
			return true;
		sleep_ms(10);
	}
	return false;
}

static void proxy_stop(struct proxy *p, struct publish_stats *st)
{
	uint64_t one = 1;
	assert_int_equal(write(p->stopfd, &one, sizeof(one)), sizeof(one));
	pthread_join(p->th, NULL);
	if (st)
		publish_stats(p->px, st);
	publish_free(p->px);
	close(p->stopfd);
	pthread_mutex_destroy(&p->mu);
}

/* ---- the fake guest ------------------------------------------------------------------- */

enum guest_mode {
	GUEST_ECHO_BYE, /* echo everything; at EOF send "BYE" and close */
	GUEST_FLOOD,    /* send flood_total bytes of pat(), then close; read nothing */
};

struct guest {
	int lfd;
	uint16_t port;
	enum guest_mode mode;
	size_t flood_total;
	atomic_size_t flood_sent;
	atomic_int accepted;
	atomic_bool stop;
	pthread_t th;
};

struct guest_conn {
	struct guest *g;
	int fd;
};

static void *guest_conn_main(void *arg)
{
	struct guest_conn *gc = arg;
	struct guest *g = gc->g;
	int fd = gc->fd;
	free(gc);
	uint8_t buf[16384];
	if (g->mode == GUEST_ECHO_BYE) {
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			for (ssize_t off = 0; off < n;) {
				ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
				if (w <= 0)
					goto out;
				off += w;
			}
		}
		(void)send(fd, "BYE", 3, MSG_NOSIGNAL);
	} else {
		size_t off = 0;
		while (off < g->flood_total && !g->stop) {
			size_t n = g->flood_total - off < sizeof(buf) ? g->flood_total - off : sizeof(buf);
			for (size_t i = 0; i < n; i++)
				buf[i] = pat(off + i);
			ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
			atomic_store(&g->flood_sent, off);
		}
	}
out:
	close(fd);
	return NULL;
}

static void *guest_main(void *arg)
{
	struct guest *g = arg;
	while (!g->stop) {
		struct pollfd p = { .fd = g->lfd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int fd = accept4(g->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (g->mode == GUEST_FLOOD) {
			/* small, so that what the kernel holds stays small too */
			int sz = 16384;
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		}
		atomic_fetch_add(&g->accepted, 1);
		struct guest_conn *gc = malloc(sizeof(*gc));
		pthread_t t;
		if (!gc) {
			close(fd);
			continue;
		}
		*gc = (struct guest_conn){ .g = g, .fd = fd };
		if (pthread_create(&t, NULL, guest_conn_main, gc) == 0)
			pthread_detach(t);
	}
	return NULL;
}

static void guest_start(struct guest *g, enum guest_mode mode)
{
	memset(g, 0, sizeof(*g));
	g->mode = mode;
	g->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(g->lfd >= 0);
	struct sockaddr_in sa = lo(0);
	socklen_t l = sizeof(sa);
	assert_int_equal(bind(g->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(g->lfd, 64), 0);
	assert_int_equal(getsockname(g->lfd, (struct sockaddr *)&sa, &l), 0);
	g->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&g->th, NULL, guest_main, g), 0);
}

static void guest_stop(struct guest *g)
{
	g->stop = true;
	pthread_join(g->th, NULL);
	close(g->lfd);
}

/* A blocking client of the proxy, with 5 s timeouts. */
static int client(uint16_t port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in sa = lo(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Everything until EOF (or an error: -1) into buf, at most cap. */
static ssize_t read_all(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r == 0)
			return (ssize_t)n;
		if (r < 0)
			return -1;
		n += (size_t)r;
		if (n == cap) {
			uint8_t extra;
			return recv(fd, &extra, 1, 0) == 0 ? (ssize_t)n : -1;
		}
	}
}

/* ---- tests ------------------------------------------------------------------------------- */

static bool none_live(const struct publish_stats *st)
{
	return st->tcp_live == 0;
}

/* 1 MiB each way, byte-exact, through a proxy with a small buffer (many rounds of
 * back-pressure); the client's EOF goes on as a half-close: the guest still answers
 * ("BYE") after it, and the connection ends once both ways are done. */
static void test_tcp_both_ways(void **state)
{
	struct guest g;
	struct proxy p;
	guest_start(&g, GUEST_ECHO_BYE);
	proxy_start(&p, g.port, SOCK_STREAM, (struct publish_cfg){ .buf_size = 4096 });

	char line[128];
	assert_true(publish_describe(p.px, 0, line, sizeof(line)));
	char want[128];
	snprintf(want, sizeof(want), "127.0.0.1:%u -> guest 127.0.0.1:%u/tcp", p.host_port,
		 g.port);
	assert_string_equal(line, want);
	assert_false(publish_describe(p.px, 1, line, sizeof(line)));

	const size_t total = 1u << 20;
	uint8_t *got = malloc(total + 16), *out = malloc(total);
	assert_non_null(got);
	assert_non_null(out);
	for (size_t i = 0; i < total; i++)
		out[i] = pat(i);
	int fd = client(p.host_port, 0);
	/* write and read at once: the echo cannot run ahead of what is read */
	size_t sent = 0, recvd = 0;
	bool shut = false, eof = false;
	uint64_t deadline = now_ms() + 20000;
	while (!eof && now_ms() < deadline) {
		struct pollfd pf = { .fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT) };
		assert_true(poll(&pf, 1, 1000) >= 0);
		if (pf.revents & POLLOUT) {
			ssize_t w = send(fd, out + sent, total - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			assert_true(w > 0 || (w < 0 && errno == EAGAIN));
			if (w > 0)
				sent += (size_t)w;
			if (sent == total) {
				assert_int_equal(shutdown(fd, SHUT_WR), 0);
				shut = true;
			}
		}
		if (pf.revents & (POLLIN | POLLHUP)) {
			ssize_t r = recv(fd, got + recvd, total + 16 - recvd, MSG_DONTWAIT);
			assert_true(r >= 0 || errno == EAGAIN);
			if (r == 0)
				eof = true;
			else if (r > 0)
				recvd += (size_t)r;
		}
	}
	assert_true(eof);
	assert_int_equal(recvd, total + 3);
	assert_memory_equal(got, out, total);
	assert_memory_equal(got + total, "BYE", 3);
	close(fd);

	struct publish_stats st;
	assert_true(proxy_wait(&p, none_live, &st));
	proxy_stop(&p, &st);
	assert_int_equal(st.tcp_accepted, 1);
	assert_int_equal(st.tcp_failed, 0);
	assert_int_equal(st.tcp_refused_cap, 0);
	assert_int_equal(st.tcp_live, 0);
	guest_stop(&g);
	free(got);
	free(out);
}

/* A client that does not read: the guest's sender stalls with the proxy holding at most
 * its buffer (nothing unbounded), and everything arrives, in order, once it reads. */
static void test_tcp_backpressure(void **state)
{
	struct guest g;
	struct proxy p;
	const size_t bufsz = 8192;
	guest_start(&g, GUEST_FLOOD);
	g.flood_total = 64u << 20;
	proxy_start(&p, g.port, SOCK_STREAM, (struct publish_cfg){ .buf_size = bufsz });

	int fd = client(p.host_port, 16384);
	/* until the sender stops making progress */
	size_t before = 0, after = 0;
	for (int i = 0; i < 100; i++) {
		sleep_ms(100);
		after = atomic_load(&g.flood_sent);
		if (after && after == before)
			break;
		before = after;
	}
	assert_true(after > 0);
	assert_int_equal(after, before);
	assert_true(after < g.flood_total);
	struct publish_stats st;
	proxy_stats(&p, &st);
	assert_int_equal(st.tcp_live, 1);
	assert_true(st.tcp_buffered <= 2 * bufsz);
	assert_int_equal(st.tcp_buffered, bufsz); /* guest to client: full; the other way: empty */

	/* now read it all */
	uint8_t *got = malloc(g.flood_total + 1);
	assert_non_null(got);
	ssize_t n = read_all(fd, got, g.flood_total + 1);
	assert_int_equal(n, (ssize_t)g.flood_total);
	for (size_t i = 0; i < g.flood_total; i++)
		if (got[i] != pat(i))
			fail_msg("byte %zu: %u, want %u", i, got[i], pat(i));
	free(got);
	close(fd);
	assert_true(proxy_wait(&p, none_live, &st));
	proxy_stop(&p, &st);
	assert_int_equal(st.tcp_failed, 0);
	guest_stop(&g);
}

static bool two_live(const struct publish_stats *st)
{
	return st->tcp_live == 2;
}

static bool one_live(const struct publish_stats *st)
{
	return st->tcp_live == 1;
}

/* One connection beyond the cap is accepted and reset at once, and counted; once one
 * ends, a new one is served. */
static void test_tcp_cap(void **state)
{
	struct guest g;
	struct proxy p;
	struct publish_stats st;
	guest_start(&g, GUEST_ECHO_BYE);
	proxy_start(&p, g.port, SOCK_STREAM, (struct publish_cfg){ .max_conns = 2 });

	int c1 = client(p.host_port, 0), c2 = client(p.host_port, 0);
	assert_true(proxy_wait(&p, two_live, &st));
	int c3 = client(p.host_port, 0);
	uint8_t b[16];
	ssize_t r = recv(c3, b, sizeof(b), 0);
	assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
	close(c3);
	proxy_stats(&p, &st);
	assert_int_equal(st.tcp_refused_cap, 1);
	assert_int_equal(st.tcp_live, 2);

	/* c1 ends (half-close, the guest's BYE); c4 takes its place */
	assert_int_equal(send(c1, "a", 1, 0), 1);
	assert_int_equal(shutdown(c1, SHUT_WR), 0);
	assert_int_equal(read_all(c1, b, sizeof(b)), 4);
	assert_memory_equal(b, "aBYE", 4);
	close(c1);
	assert_true(proxy_wait(&p, one_live, &st));
	int c4 = client(p.host_port, 0);
	assert_int_equal(send(c4, "hi", 2, 0), 2);
	assert_int_equal(shutdown(c4, SHUT_WR), 0);
	assert_int_equal(read_all(c4, b, sizeof(b)), 5);
	assert_memory_equal(b, "hiBYE", 5);
	close(c4);
	close(c2);
	assert_true(proxy_wait(&p, none_live, &st));
	proxy_stop(&p, &st);
	assert_int_equal(st.tcp_accepted, 3);
	assert_int_equal(st.tcp_refused_cap, 1);
	assert_int_equal(atomic_load(&g.accepted), 3);
	guest_stop(&g);
}

static bool one_failed(const struct publish_stats *st)
{
	return st->tcp_failed == 1 && st->tcp_live == 0;
}

/* Nothing listens on the guest's port: the client is reset, not left hanging. */
static void test_tcp_guest_refuses(void **state)
{
	struct proxy p;
	struct publish_stats st;
	proxy_start(&p, free_port(SOCK_STREAM), SOCK_STREAM, (struct publish_cfg){ 0 });
	int fd = client(p.host_port, 0);
	(void)send(fd, "x", 1, MSG_NOSIGNAL);
	uint8_t b[4];
	ssize_t r = recv(fd, b, sizeof(b), 0);
	assert_true(r < 0 && errno == ECONNRESET);
	close(fd);
	assert_true(proxy_wait(&p, one_failed, &st));
	proxy_stop(&p, NULL);
}

/* A host port in use is one line naming it, and nothing is left open. */
static void test_port_in_use(void **state)
{
	struct arca_err e = { 0 };
	char v[64];
	struct publish *px = NULL;
	int fds = count_fds();

	int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = lo(0);
	socklen_t l = sizeof(sa);
	assert_int_equal(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(busy, 1), 0);
	assert_int_equal(getsockname(busy, (struct sockaddr *)&sa, &l), 0);
	uint16_t port = ntohs(sa.sin_port);
	int ubusy = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(ubusy, (struct sockaddr *)&sa, sizeof(sa)), 0);

	struct {
		char v[32], msg[96];
	} cases[3];
	snprintf(cases[0].v, sizeof(cases[0].v), "127.0.0.1:%u:80", port);
	snprintf(cases[0].msg, sizeof(cases[0].msg),
		 "--publish 127.0.0.1:%u:80: host port %u/tcp is in use", port, port);
	snprintf(cases[1].v, sizeof(cases[1].v), "%u:80", port);
	snprintf(cases[1].msg, sizeof(cases[1].msg), "--publish %u:80: host port %u/tcp is in use",
		 port, port);
	snprintf(cases[2].v, sizeof(cases[2].v), "127.0.0.1:%u:53/udp", port);
	snprintf(cases[2].msg, sizeof(cases[2].msg),
		 "--publish 127.0.0.1:%u:53/udp: host port %u/udp is in use", port, port);
	for (size_t i = 0; i < 3; i++) {
		struct net_publishes pub = { 0 };
		/* a free one first: it is closed again on the failure */
		snprintf(v, sizeof(v), "127.0.0.1:%u:80", free_port(SOCK_STREAM));
		assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
		assert_int_equal(netcfg_add_publish(&pub, cases[i].v, &e), 0);
		struct publish_cfg cfg = { .pub = &pub, .nsfd = -1, .guest = LOOPBACK };
		memset(&e, 0, sizeof(e));
		assert_int_equal(publish_new(&cfg, &px, &e), -EADDRINUSE);
		assert_null(px);
		assert_string_equal(e.msg, cases[i].msg);
		/* the rootless check before passt (passt.h) says the same */
		memset(&e, 0, sizeof(e));
		assert_int_equal(publish_probe(&pub, &e), -EADDRINUSE);
		assert_string_equal(e.msg, cases[i].msg);
	}
	/* and lets go of what it could bind: the port binds again */
	{
		struct net_publishes pub = { 0 };
		uint16_t f = free_port(SOCK_STREAM);
		snprintf(v, sizeof(v), "127.0.0.1:%u:80", f);
		assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
		snprintf(v, sizeof(v), "127.0.0.1:%u:80/udp", f);
		assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
		assert_int_equal(publish_probe(&pub, &e), 0);
		assert_int_equal(publish_probe(&pub, &e), 0);
		snprintf(v, sizeof(v), "192.0.2.77:%u:80", f);
		assert_int_equal(netcfg_add_publish(&pub, v, &e), 0);
		assert_int_equal(publish_probe(&pub, &e), -EADDRNOTAVAIL);
		char want[96];
		snprintf(want, sizeof(want), "--publish 192.0.2.77:%u:80: 192.0.2.77 is not an "
			 "address of this host", f);
		assert_string_equal(e.msg, want);
	}
	close(busy);
	close(ubusy);
	assert_int_equal(count_fds(), fds);

	/* none at all: a proxy with nothing to do */
	struct publish_cfg cfg = { .nsfd = -1 };
	assert_int_equal(publish_new(&cfg, &px, &e), 0);
	assert_true(publish_fd(px) >= 0);
	assert_int_equal(publish_timeout_ms(px, now_ms()), -1);
	publish_free(px);
	publish_free(NULL);
	assert_int_equal(count_fds(), fds);
}

/* ---- UDP --------------------------------------------------------------------------------- */

struct udp_guest {
	int fd;
	uint16_t port;
	atomic_bool stop;
	pthread_t th;
};

/* Answers "echo:" + the datagram, to whoever sent it. */
static void *udp_guest_main(void *arg)
{
	struct udp_guest *g = arg;
	uint8_t buf[2048];
	while (!g->stop) {
		struct pollfd p = { .fd = g->fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(g->fd, buf + 5, sizeof(buf) - 5, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		memcpy(buf, "echo:", 5);
		(void)sendto(g->fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

/* What comes back for msg sent from fd to the proxy, or "" after 500 ms. */
static void udp_ask(int fd, uint16_t port, const char *msg, char *out, size_t cap)
{
	struct sockaddr_in sa = lo(port);
	assert_int_equal(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 (ssize_t)strlen(msg));
	out[0] = '\0';
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 500) <= 0)
		return;
	ssize_t n = recv(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
}

static bool flows_gone(const struct publish_stats *st)
{
	return st->udp_live == 0;
}

/* Round trips for two clients (a flow each), a third beyond the cap dropped, flows that
 * expire when idle and a client served again afterwards. */
static void test_udp(void **state)
{
	struct udp_guest g = { 0 };
	g.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = lo(0);
	socklen_t l = sizeof(sa);
	assert_int_equal(bind(g.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(g.fd, (struct sockaddr *)&sa, &l), 0);
	g.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&g.th, NULL, udp_guest_main, &g), 0);

	struct proxy p;
	struct publish_stats st;
	proxy_start(&p, g.port, SOCK_DGRAM,
		    (struct publish_cfg){ .max_flows = 2, .udp_idle_ms = 1500 });
	char line[128], want[128];
	assert_true(publish_describe(p.px, 0, line, sizeof(line)));
	snprintf(want, sizeof(want), "127.0.0.1:%u -> guest 127.0.0.1:%u/udp", p.host_port, g.port);
	assert_string_equal(line, want);

	int c[3];
	for (int i = 0; i < 3; i++)
		c[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char got[256];
	udp_ask(c[0], p.host_port, "hello 0", got, sizeof(got));
	assert_string_equal(got, "echo:hello 0");
	udp_ask(c[1], p.host_port, "hello 1", got, sizeof(got));
	assert_string_equal(got, "echo:hello 1");
	udp_ask(c[0], p.host_port, "again 0", got, sizeof(got));
	assert_string_equal(got, "echo:again 0");
	udp_ask(c[2], p.host_port, "hello 2", got, sizeof(got));
	assert_string_equal(got, ""); /* two flows already */
	proxy_stats(&p, &st);
	assert_int_equal(st.udp_flows, 2);
	assert_int_equal(st.udp_live, 2);
	assert_int_equal(st.udp_dropped, 1);

	assert_true(proxy_wait(&p, flows_gone, &st));
	udp_ask(c[2], p.host_port, "late 2", got, sizeof(got));
	assert_string_equal(got, "echo:late 2");
	proxy_stop(&p, &st);
	assert_int_equal(st.udp_flows, 3);
	for (int i = 0; i < 3; i++)
		close(c[i]);
	g.stop = true;
	pthread_join(g.th, NULL);
	close(g.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_both_ways),
		cmocka_unit_test(test_tcp_backpressure),
		cmocka_unit_test(test_tcp_cap),
		cmocka_unit_test(test_tcp_guest_refuses),
		cmocka_unit_test(test_port_in_use),
		cmocka_unit_test(test_udp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
