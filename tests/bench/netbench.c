/* SPDX-License-Identifier: MIT */
/*
 * netbench: iperf's and netperf's TCP_STREAM / TCP_RR cores, small and
 * static (musl), so one binary measures an arca guest's network, a QEMU
 * guest's network and the host's own path alike (tests/bench/net).
 *
 *   netbench server PORT
 *     listens on every address; one process per connection, whose first byte
 *     selects the mode: 's' sink (read and discard until EOF), 'r' source
 *     (send until the peer closes), 'p' ping-pong (echo 1 byte at a time).
 *     Prints `BENCH listening=PORT` once it accepts connections.
 *
 *   netbench client HOST PORT SECONDS
 *     tx: SECONDS of 128 KiB writes to a sink (timed until the server has
 *         read everything and closed);
 *     rx: SECONDS of 128 KiB reads from a source;
 *     rr: ~3 s of 1-byte ping-pong (TCP_NODELAY on both ends).
 *     Prints `BENCH tx_mbs=N.N`, `BENCH rx_mbs=N.N` (MB/s, 10^6 bytes),
 *     `BENCH rr_us=N.N` (median round trip), `BENCH rr_per_s=N` and
 *     `BENCH done=1`; on failure `BENCH error=WHAT` and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)
#define RR_SECONDS 3.0
#define IO_TIMEOUT_S 30

static char buf[CHUNK];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int fail(const char *what)
{
	printf("BENCH error=%s: %s\n", what, strerror(errno));
	fflush(stdout);
	return 1;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One connection on the server side: its first byte says what to do. */
static void serve(int fd)
{
	char mode, b;
	ssize_t r;
	set_timeouts(fd);
	do
		r = read(fd, &mode, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		return;
	switch (mode) {
	case 's':
		while ((r = read(fd, buf, sizeof(buf))) != 0)
			if (r < 0 && errno != EINTR)
				return;
		return;
	case 'r':
		while (write_all(fd, buf, sizeof(buf)) == 0)
			;
		return;
	case 'p':
		nodelay(fd);
		for (;;) {
			r = read(fd, &b, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r != 1 || write_all(fd, &b, 1) < 0)
				return;
		}
	default:
		return;
	}
}

static int server(int port)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (ls < 0)
		return fail("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("bind");
	if (listen(ls, 64) < 0)
		return fail("listen");
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	printf("BENCH listening=%d\n", port);
	fflush(stdout);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return fail("accept");
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(ls);
			serve(fd);
			_exit(0);
		}
		close(fd);
	}
}

/* A connection to the server in MODE; retried for a while (the guest's link
 * may come up a moment after its program starts). */
static int dial(const struct sockaddr_in *a, char mode)
{
	double t0 = now();
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		set_timeouts(fd);
		if (mode == 'p')
			nodelay(fd);
		if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0) {
			if (write_all(fd, &mode, 1) == 0)
				return fd;
			close(fd);
			return -1;
		}
		int e = errno;
		close(fd);
		errno = e;
		if (now() - t0 > 10)
			return -1;
		usleep(200 * 1000);
	}
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static int client(const char *host, int port, double secs)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	double t0, t;
	unsigned long long bytes;
	ssize_t r;
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		printf("BENCH error=not an IPv4 address: %s\n", host);
		return 1;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);

	/* tx: write for SECS, then wait until the sink has read it all (EOF back). */
	if ((fd = dial(&a, 's')) < 0)
		return fail("connect (tx)");
	bytes = 0;
	t0 = now();
	do {
		if (write_all(fd, buf, sizeof(buf)) < 0)
			return fail("write (tx)");
		bytes += sizeof(buf);
	} while (now() - t0 < secs);
	shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) != 0)
		if (r < 0 && errno != EINTR)
			return fail("waiting for the sink (tx)");
	t = now() - t0;
	close(fd);
	printf("BENCH tx_mbs=%.1f\n", (double)bytes / t / 1e6);
	fflush(stdout);

	/* rx: read for SECS. */
	if ((fd = dial(&a, 'r')) < 0)
		return fail("connect (rx)");
	bytes = 0;
	t0 = now();
	do {
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? fail("read (rx)") : (printf("BENCH error=rx: early EOF\n"), 1);
		bytes += (unsigned long long)r;
	} while ((t = now() - t0) < secs);
	close(fd);
	printf("BENCH rx_mbs=%.1f\n", (double)bytes / t / 1e6);
	fflush(stdout);

	/* rr: 1-byte ping-pong for RR_SECONDS; every round trip's time kept for the median. */
	if ((fd = dial(&a, 'p')) < 0)
		return fail("connect (rr)");
	size_t n = 0, cap = 1 << 16;
	double *rt = malloc(cap * sizeof(*rt)), t1;
	if (!rt)
		return fail("malloc");
	char b = 'x';
	t0 = t1 = now();
	do {
		double s = t1;
		if (write_all(fd, &b, 1) < 0)
			return fail("write (rr)");
		do
			r = read(fd, &b, 1);
		while (r < 0 && errno == EINTR);
		if (r != 1)
			return r ? fail("read (rr)") : (printf("BENCH error=rr: early EOF\n"), 1);
		t1 = now();
		if (n == cap) {
			double *g = realloc(rt, 2 * cap * sizeof(*rt));
			if (!g)
				return fail("realloc");
			rt = g;
			cap *= 2;
		}
		rt[n++] = t1 - s;
	} while (t1 - t0 < RR_SECONDS);
	t = t1 - t0;
	close(fd);
	qsort(rt, n, sizeof(*rt), cmp_double);
	double med = n % 2 ? rt[n / 2] : (rt[n / 2 - 1] + rt[n / 2]) / 2;
	printf("BENCH rr_us=%.1f\n", med * 1e6);
	printf("BENCH rr_per_s=%.0f\n", (double)n / t);
	printf("BENCH done=1\n");
	free(rt);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client")) {
		double secs = strtod(argv[4], NULL);
		if (secs <= 0)
			secs = 10;
		return client(argv[2], atoi(argv[3]), secs);
	}
	fprintf(stderr, "usage: netbench server PORT | netbench client HOST PORT SECONDS\n");
	return 2;
}
