/* cmocka tests for initrd/relay.c over ordinary pipes (the relay is
 * fd-generic: a virtio-console port behaves like one end of a pipe). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../initrd/relay.c" /* from tests/unit/ */

static struct relay r;

struct fixture {
	int in_w, in_r;   /* test writes "host stdin" / reads "command stdin" */
	int out_w, out_r; /* test writes "command stdout" / reads "host stdout" */
	int err_w, err_r;
};

static void nb_pipe(int p[2], int nonblock_end)
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	int fl = fcntl(p[nonblock_end], F_GETFL);
	assert_int_equal(fcntl(p[nonblock_end], F_SETFL, fl | O_NONBLOCK), 0);
}

static void setup_relay(struct fixture *f)
{
	int a[2], b[2], c[2], d[2], e[2], g[2];
	nb_pipe(a, 0); /* host stdin -> relay (reads a[0]) */
	nb_pipe(b, 1); /* relay (writes b[1]) -> command */
	nb_pipe(c, 0); /* command stdout -> relay */
	nb_pipe(d, 1); /* relay -> host stdout */
	nb_pipe(e, 0);
	nb_pipe(g, 1);
	relay_init(&r, a[0], b[1], c[0], d[1], e[0], g[1]);
	f->in_w = a[1]; f->in_r = b[0];
	f->out_w = c[1]; f->out_r = d[0];
	f->err_w = e[1]; f->err_r = g[0];
	/* The test side reads without blocking. */
	fcntl(f->in_r, F_SETFL, O_NONBLOCK);
	fcntl(f->out_r, F_SETFL, O_NONBLOCK);
	fcntl(f->err_r, F_SETFL, O_NONBLOCK);
	fcntl(f->in_w, F_SETFL, O_NONBLOCK);
	fcntl(f->out_w, F_SETFL, O_NONBLOCK);
	fcntl(f->err_w, F_SETFL, O_NONBLOCK);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void round_(int timeout_cap)
{
	struct pollfd pfd[RELAY_NR_POLL];
	int t = relay_prepare(&r, pfd, now_ms());
	if (t < 0 || t > timeout_cap)
		t = timeout_cap;
	assert_true(poll(pfd, RELAY_NR_POLL, t) >= 0);
	relay_dispatch(&r, pfd, now_ms());
}

/* Pushes src[] through one stream while draining the other side. */
static void pump(int wfd, const uint8_t *src, size_t n, int rfd, uint8_t *dst, size_t *got,
		 int close_after)
{
	size_t put = 0;
	for (int spins = 0; spins < 100000; spins++) {
		if (put < n) {
			ssize_t w = write(wfd, src + put, n - put);
			if (w > 0)
				put += (size_t)w;
		} else if (close_after && wfd >= 0) {
			close(wfd);
			wfd = -1;
		}
		round_(0);
		ssize_t k;
		while ((k = read(rfd, dst + *got, 65536)) > 0)
			*got += (size_t)k;
		if (put == n && *got == n && (!close_after || k == 0))
			return;
	}
	fail_msg("no progress: put %zu got %zu of %zu", put, *got, n);
}

static void test_round_trip_all_streams(void **state)
{
	struct fixture f;
	size_t n = 3u << 20, got = 0;
	uint8_t *src = malloc(n), *dst = malloc(n + 65536);
	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)(i * 2654435761u >> 13);
	setup_relay(&f);

	pump(f.in_w, src, n, f.in_r, dst, &got, 1);
	assert_memory_equal(src, dst, n);
	assert_int_equal(r.s[RELAY_IN].dst, -1); /* EOF passed on: pipe closed */

	got = 0;
	pump(f.out_w, src, n, f.out_r, dst, &got, 1);
	assert_memory_equal(src, dst, n);
	assert_false(relay_done(&r)); /* stderr still open */

	got = 0;
	pump(f.err_w, src + 7, 1001, f.err_r, dst, &got, 1);
	assert_memory_equal(src + 7, dst, 1001);
	assert_true(relay_done(&r));
	assert_int_equal(r.s[RELAY_OUT].written, n);
	relay_stop_input(&r);
	close(f.in_r); close(f.out_r); close(f.err_r);
	free(src); free(dst);
}

/* The command closed its stdin: the relay stops reading the port and
 * leaves the rest there (backpressure for the host). */
static void test_stdin_epipe_stops_reading(void **state)
{
	struct fixture f;
	static uint8_t buf[8192];
	setup_relay(&f);
	close(f.in_r);
	assert_int_equal(write(f.in_w, buf, 1000), 1000);
	for (int i = 0; i < 5; i++)
		round_(0);
	assert_true(r.s[RELAY_IN].dst_dead); /* EPIPE on the first write */
	assert_int_equal(write(f.in_w, buf, 5000), 5000);
	for (int i = 0; i < 5; i++)
		round_(0);
	int left = 0;
	assert_int_equal(ioctl(r.s[RELAY_IN].src, FIONREAD, &left), 0);
	assert_int_equal(left, 5000);
	relay_stop_input(&r);
	assert_int_equal(r.s[RELAY_IN].src, -1);
	close(f.in_w); close(f.out_w); close(f.err_w); close(f.out_r); close(f.err_r);
}

/* The host side of stdout failed for good (EPIPE here): the command's
 * output is still drained, so it never blocks on a full pipe. */
static void test_dead_output_keeps_draining(void **state)
{
	struct fixture f;
	static uint8_t buf[4 << 20];
	setup_relay(&f);
	close(f.out_r);
	size_t put = 0;
	for (int i = 0; i < 100000 && put < sizeof(buf); i++) {
		ssize_t w = write(f.out_w, buf + put, sizeof(buf) - put);
		if (w > 0)
			put += (size_t)w;
		round_(0);
	}
	assert_int_equal(put, sizeof(buf));
	assert_true(r.s[RELAY_OUT].dst_dead);
	close(f.out_w); close(f.err_w);
	for (int i = 0; i < 10; i++)
		round_(0);
	assert_true(relay_done(&r));
	relay_stop_input(&r);
	close(f.in_w); close(f.in_r); close(f.err_r);
}

/* A writer that never goes away: relay_abandon() takes what is there and
 * ends the stream without waiting for EOF. */
static void test_abandon_ends_held_pipe(void **state)
{
	struct fixture f;
	char out[16];
	setup_relay(&f);
	assert_int_equal(write(f.out_w, "tail", 4), 4);
	close(f.err_w);
	for (int i = 0; i < 10; i++)
		round_(0);
	assert_false(relay_done(&r)); /* f.out_w still open */
	assert_int_equal(write(f.out_w, "more", 4), 4);
	relay_abandon(&r);
	for (int i = 0; i < 10 && !relay_done(&r); i++)
		round_(0);
	assert_true(relay_done(&r));
	assert_int_equal(read(f.out_r, out, sizeof(out)), 8);
	assert_memory_equal(out, "tailmore", 8);
	relay_stop_input(&r);
	close(f.out_w); close(f.in_w); close(f.in_r); close(f.out_r); close(f.err_r);
}

/* A slow destination: the buffer stays bounded and order holds. */
static void test_slow_destination_bounded(void **state)
{
	struct fixture f;
	static uint8_t src[2 << 20], dst[2 << 20];
	size_t put = 0, got = 0;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i % 251);
	setup_relay(&f);
	for (int i = 0; i < 200000 && got < sizeof(src); i++) {
		if (put < sizeof(src)) {
			ssize_t w = write(f.out_w, src + put, sizeof(src) - put);
			if (w > 0)
				put += (size_t)w;
		}
		round_(0);
		assert_true(r.s[RELAY_OUT].len <= RELAY_BUF_SIZE);
		ssize_t k = read(f.out_r, dst + got, 1000); /* slow reader */
		if (k > 0)
			got += (size_t)k;
	}
	assert_int_equal(got, sizeof(src));
	assert_memory_equal(src, dst, sizeof(src));
	relay_stop_input(&r);
	close(f.out_w); close(f.err_w); close(f.in_w); close(f.in_r); close(f.out_r); close(f.err_r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_streams),
		cmocka_unit_test(test_stdin_epipe_stops_reading),
		cmocka_unit_test(test_dead_output_keeps_draining),
		cmocka_unit_test(test_abandon_ends_held_pipe),
		cmocka_unit_test(test_slow_destination_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
