/* SPDX-License-Identifier: MIT */
/* Long-lived sandboxes: names, the state file, and the session mux's
 * routing against hostile guest frames and misbehaving clients. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mux.h"
#include "proto.h"
#include "sandbox.h"
#include "sbstate.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(sandbox_name_ok("a"));
	assert_true(sandbox_name_ok("ci-job_1.2"));
	assert_true(sandbox_name_ok("0abc"));
	assert_false(sandbox_name_ok(""));
	assert_false(sandbox_name_ok(NULL));
	assert_false(sandbox_name_ok("."));
	assert_false(sandbox_name_ok(".."));
	assert_false(sandbox_name_ok("-rf"));
	assert_false(sandbox_name_ok("a/b"));
	assert_false(sandbox_name_ok("a b"));
	assert_false(sandbox_name_ok("_x"));
	char longname[66];
	memset(longname, 'a', 65);
	longname[65] = 0;
	assert_false(sandbox_name_ok(longname));
	longname[64] = 0;
	assert_true(sandbox_name_ok(longname));
}

static void test_state_roundtrip(void **state)
{
	(void)state;
	struct sbstate s = { .pid = 1234, .pid_start = 99887766, .vmm_pid = 1240,
			     .started_ms = 1700000000123ull, .cpus = 2, .memory_mib = 512 };
	strcpy(s.shares, "/tmp/ws:/workspace,/data:-");
	char buf[2048];
	int n = sbstate_format(&s, buf, sizeof(buf));
	assert_true(n > 0);
	struct sbstate t;
	assert_int_equal(sbstate_parse(buf, (size_t)n, &t), 0);
	assert_int_equal(t.pid, 1234);
	assert_int_equal(t.pid_start, 99887766);
	assert_int_equal(t.vmm_pid, 1240);
	assert_int_equal(t.started_ms, 1700000000123ull);
	assert_int_equal(t.cpus, 2);
	assert_int_equal(t.memory_mib, 512);
	assert_string_equal(t.shares, s.shares);
	assert_int_equal(sbstate_format(&s, buf, 10), -ENOSPC);
}

static void test_state_hostile(void **state)
{
	(void)state;
	struct sbstate t;
	const char *bad[] = { "", "cpus 2\n", "pid 0\n", "pid -1\n", "pid 12x\n",
			      "pid 99999999999\n", "pid 5\ncpus abc\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sbstate_parse(bad[i], strlen(bad[i]), &t), -EPROTO);
	const char *ok = "junk line without value\npid 7\nfuture_key 1\n";
	assert_int_equal(sbstate_parse(ok, strlen(ok), &t), 0);
	assert_int_equal(t.pid, 7);
	static char huge[3000];
	memset(huge, 'x', sizeof(huge));
	assert_int_equal(sbstate_parse(huge, sizeof(huge), &t), -EPROTO);
}

static void test_stat_starttime(void **state)
{
	(void)state;
	uint64_t t;
	/* A comm with spaces and ')' must not shift the fields. */
	const char *st = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
			 "5551212 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0\n";
	assert_int_equal(sbstate_stat_starttime(st, &t), 0);
	assert_int_equal(t, 5551212);
	assert_int_equal(sbstate_stat_starttime("42 (x) S 1 2", &t), -EPROTO);
	assert_int_equal(sbstate_stat_starttime("no paren", &t), -EPROTO);
}

/* ---- the mux ----------------------------------------------------------------- */

static size_t frame(uint8_t *out, uint16_t type, uint32_t id, const void *rest, size_t n)
{
	uint8_t pl[ARCA_MSG_MAX_PAYLOAD];
	proto_put_le32(pl, id);
	memcpy(pl + 4, rest, n);
	int r = proto_encode(out, ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD, type, pl,
			     (uint32_t)(4 + n));
	assert_true(r > 0);
	return (size_t)r;
}

/* Decodes the first frame of a queue. */
static void first_frame(const struct mux_buf *b, struct arca_msg *m)
{
	struct proto_decoder d;
	int got = 0;
	proto_decoder_init(&d);
	assert_true(proto_decoder_feed(&d, b->p, b->len, m, &got) > 0);
	assert_int_equal(got, 1);
}

static struct mux M;

static void test_mux_routing(void **state)
{
	(void)state;
	uint8_t f[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	static struct arca_msg m;
	mux_init(&M);
	struct mux_client *a = mux_client_add(&M, 10), *b = mux_client_add(&M, 11);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_not_equal(a->id, 0);
	assert_int_not_equal(a->id, b->id);

	/* STDIN before EXEC breaks the protocol. */
	size_t n = frame(f, ARCA_SMSG_STDIN, 0, "x", 1);
	assert_int_equal(mux_client_bytes(&M, b, f, n), -EPROTO);

	/* A's EXEC reaches the guest with A's id, whatever id A wrote. */
	n = frame(f, ARCA_SMSG_EXEC, 777, "spec", 4);
	assert_int_equal(mux_client_bytes(&M, a, f, n), 0);
	assert_true(a->started);
	first_frame(&M.gout, &m);
	assert_int_equal(m.type, ARCA_SMSG_EXEC);
	assert_int_equal(proto_le32(m.payload), a->id);
	assert_memory_equal(m.payload + 4, "spec", 4);
	/* A second EXEC is refused. */
	assert_int_equal(mux_client_bytes(&M, a, f, n), -EPROTO);

	/* Guest output for A goes to A as id 0; for B (not started), for an
	 * unknown id, or of a host-only type, nowhere. */
	n = frame(f, ARCA_SMSG_STDOUT, a->id, "hello", 5);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	first_frame(&a->out, &m);
	assert_int_equal(m.type, ARCA_SMSG_STDOUT);
	assert_int_equal(proto_le32(m.payload), 0);
	assert_memory_equal(m.payload + 4, "hello", 5);
	size_t alen = a->out.len;
	uint64_t dropped = M.dropped;
	n = frame(f, ARCA_SMSG_STDOUT, b->id, "x", 1);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	n = frame(f, ARCA_SMSG_STDOUT, 0xdeadbeef, "x", 1);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	n = frame(f, ARCA_SMSG_EXEC, a->id, "x", 1);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	/* EXIT of the wrong size */
	n = frame(f, ARCA_SMSG_EXIT, a->id, "\0\0\0", 3);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_int_equal(M.dropped, dropped + 4);
	assert_int_equal(a->out.len, alen);
	assert_int_equal(b->out.len, 0);

	/* EXIT ends A's session: later frames for its id are dropped. */
	uint8_t ex[8] = { 0, 0, 0, 0, 3, 0, 0, 0 };
	n = frame(f, ARCA_SMSG_EXIT, a->id, ex, 8);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_true(a->exited);
	alen = a->out.len;
	n = frame(f, ARCA_SMSG_STDOUT, a->id, "late", 4);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_int_equal(a->out.len, alen);

	/* READY only with id 0 and our version. */
	uint8_t v[4];
	proto_put_le32(v, ARCA_ABI_VERSION + 1);
	n = frame(f, ARCA_SMSG_READY, 0, v, 4);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_false(M.ready);
	proto_put_le32(v, ARCA_ABI_VERSION);
	n = frame(f, ARCA_SMSG_READY, 0, v, 4);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_true(M.ready);

	/* A malformed guest stream is the end. */
	assert_int_equal(mux_guest_bytes(&M, (const uint8_t *)"garbage-garbage", 15), -EPROTO);
	assert_true(M.guest_broken);
	mux_free(&M);
}

static void test_mux_bounds(void **state)
{
	(void)state;
	static uint8_t f[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	static uint8_t big[ARCA_MSG_MAX_PAYLOAD];
	mux_init(&M);
	/* At most MUX_MAX_CLIENTS sessions. */
	for (int i = 0; i < (int)MUX_MAX_CLIENTS; i++)
		assert_non_null(mux_client_add(&M, 100 + i));
	assert_null(mux_client_add(&M, 999));
	struct mux_client *c = &M.c[0];

	/* A spec over ARCA_SESS_SPEC_MAX, in parts, is refused. */
	size_t total = 0;
	int r = 0;
	while (r == 0 && total <= ARCA_SESS_SPEC_MAX) {
		size_t n = frame(f, ARCA_SMSG_EXEC_PART, 0, big, sizeof(big) - 4);
		r = mux_client_bytes(&M, c, f, n);
		total += sizeof(big) - 4;
		/* The guest side drains between reads in the real loop. */
		M.gout.len = 0;
	}
	assert_int_equal(r, -EPROTO);

	/* Backpressure: a client whose queue is nearly full stops the mux
	 * reading the guest. */
	struct mux_client *d = &M.c[1];
	assert_true(mux_can_read_guest(&M));
	d->out.len = d->out.max - MUX_ROOM + 1;
	assert_false(mux_can_read_guest(&M));
	d->out.len = 0;
	M.gout.len = M.gout.max - MUX_ROOM + 1;
	assert_false(mux_can_read_client(&M, d));
	M.gout.len = 0;
	assert_true(mux_can_read_client(&M, d));

	/* Output for an id no client holds is acknowledged (the command of a
	 * session whose client left must not block), never delivered. */
	M.gout.len = 0;
	size_t on = frame(f, ARCA_SMSG_STDOUT, 0x5555, "orphan", 6);
	assert_int_equal(mux_guest_bytes(&M, f, on), 0);
	static struct arca_msg am;
	first_frame(&M.gout, &am);
	assert_int_equal(am.type, ARCA_SMSG_OUT_ACK);
	assert_int_equal(proto_le32(am.payload), 0x5555);
	assert_int_equal(proto_le32(am.payload + 4), ARCA_MSG_HDR_SIZE + 4 + 6);
	M.gout.len = 0;

	/* A client gone mid-session: its command gets SIGHUP. */
	size_t n = frame(f, ARCA_SMSG_EXEC, 0, "s", 1);
	assert_int_equal(mux_client_bytes(&M, d, f, n), 0);
	M.gout.len = 0;
	uint32_t id = d->id;
	mux_client_gone(&M, d);
	static struct arca_msg m;
	first_frame(&M.gout, &m);
	assert_int_equal(m.type, ARCA_SMSG_SIGNAL);
	assert_int_equal(proto_le32(m.payload), id);
	assert_int_equal(proto_le32(m.payload + 4), SIGHUP);
	assert_int_equal(d->fd, -1);

	/* Unknown client frame types are a protocol error. */
	struct mux_client *e2 = &M.c[2];
	n = frame(f, ARCA_SMSG_STDOUT, 0, "x", 1);
	assert_int_equal(mux_client_bytes(&M, e2, f, n), -EPROTO);
	mux_free(&M);
}

/* Per-session flow control: a client's stdin stops at the window until the
 * guest acknowledges (clamped); delivered output is acknowledged to the
 * guest, batched, and all of it once the client's queue is empty. */
static void test_mux_windows(void **state)
{
	(void)state;
	static uint8_t f[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	static uint8_t data[ARCA_MSG_MAX_PAYLOAD - 4];
	static struct arca_msg m;
	mux_init(&M);
	struct mux_client *c = mux_client_add(&M, 5), *other = mux_client_add(&M, 6);
	size_t n = frame(f, ARCA_SMSG_EXEC, 0, "s", 1);
	assert_int_equal(mux_client_bytes(&M, c, f, n), 0);
	assert_int_equal(mux_client_bytes(&M, other, f, n), 0);
	size_t sent = 0;
	while (mux_can_read_client(&M, c)) {
		n = frame(f, ARCA_SMSG_STDIN, 0, data, sizeof(data));
		assert_int_equal(mux_client_bytes(&M, c, f, n), 0);
		sent += sizeof(data);
		M.gout.len = 0;
	}
	assert_true(sent >= ARCA_SESS_STDIN_WINDOW);
	assert_true(sent < ARCA_SESS_STDIN_WINDOW + sizeof(data));
	/* The other session is not held up. */
	assert_true(mux_can_read_client(&M, other));
	/* An ack for another id does not open this one; an ack for this
	 * one does, clamped to the window. */
	uint8_t ack[4];
	proto_put_le32(ack, 0xffffffffu);
	n = frame(f, ARCA_SMSG_STDIN_ACK, other->id, ack, 4);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_false(mux_can_read_client(&M, c));
	n = frame(f, ARCA_SMSG_STDIN_ACK, c->id, ack, 4);
	assert_int_equal(mux_guest_bytes(&M, f, n), 0);
	assert_true(mux_can_read_client(&M, c));
	assert_int_equal(c->in_window, ARCA_SESS_STDIN_WINDOW);

	/* Output acknowledgement. */
	M.gout.len = 0;
	c->out.len = 100; /* more queued: small deliveries wait */
	mux_client_delivered(&M, c, 1000);
	assert_int_equal(M.gout.len, 0);
	c->out.len = 0;
	mux_client_delivered(&M, c, 24);
	first_frame(&M.gout, &m);
	assert_int_equal(m.type, ARCA_SMSG_OUT_ACK);
	assert_int_equal(proto_le32(m.payload), c->id);
	assert_int_equal(proto_le32(m.payload + 4), 1024);
	assert_int_equal(c->out_unacked, 0);
	mux_free(&M);
}

static void test_refuse_frames(void **state)
{
	(void)state;
	uint8_t out[1024];
	int n = mux_refuse_frames(out, sizeof(out), "too many");
	assert_true(n > 0);
	struct proto_decoder d;
	static struct arca_msg m;
	int got;
	proto_decoder_init(&d);
	int k = proto_decoder_feed(&d, out, (size_t)n, &m, &got);
	assert_int_equal(got, 1);
	assert_int_equal(m.type, ARCA_SMSG_ERROR);
	assert_int_equal(proto_le32(m.payload + 4), 125);
	proto_decoder_feed(&d, out + k, (size_t)n - (size_t)k, &m, &got);
	assert_int_equal(got, 1);
	assert_int_equal(m.type, ARCA_SMSG_EXIT);
	assert_int_equal(proto_le32(m.payload + 8), 125);
}

/* policy/mux.policy holds for real: after mux_confine, the mux's own
 * calls work (pipe writes, big allocations, polls) and an open or a new
 * socket ends it (its SIGSYS handler: one line on stderr, exit 125). */
static int confined_child(int what)
{
	int p[2];
	if (pipe(p) < 0)
		return 90;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		int dn = open("/dev/null", O_WRONLY); /* the handler's line */
		if (dn >= 0)
			dup2(dn, STDERR_FILENO);
		if (mux_confine() < 0)
			_exit(91);
		if (write(p[1], "x", 1) != 1)
			_exit(92);
		void *big = malloc(8u << 20); /* mmap */
		if (!big)
			_exit(93);
		free(big);
		if (what == 1)
			(void)!open("/etc/hostname", O_RDONLY);
		if (what == 2)
			(void)!socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(0);
	}
	close(p[1]);
	int st = 0;
	waitpid(pid, &st, 0);
	char c;
	int wrote = read(p[0], &c, 1) == 1;
	close(p[0]);
	if (!wrote)
		return 94;
	return WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void test_mux_seccomp(void **state)
{
	(void)state;
	assert_int_equal(confined_child(0), 0);
	/* The mux's SIGSYS handler names the call on stderr and exits 125. */
	assert_int_equal(confined_child(1), 125);
	assert_int_equal(confined_child(2), 125);
}

/* exec's stop reason: the VMM's last "arca: " line wins over the guest's
 * console lines after it; otherwise the last non-blank line. */
static void test_stop_line(void **state)
{
	(void)state;
	const char *l;
	const char a[] = "[ 3.1] boot\narca: the guest stopped: the guest kernel crashed (X)\n"
			 "[ 3.2] more console\n  \n";
	size_t n = sandbox_stop_line(a, sizeof(a) - 1, &l);
	assert_int_equal(n, strlen("arca: the guest stopped: the guest kernel crashed (X)"));
	assert_memory_equal(l, "arca: the guest stopped", 23);
	const char b[] = "one\n   two  \n\n";
	n = sandbox_stop_line(b, sizeof(b) - 1, &l);
	assert_int_equal(n, 5);
	assert_memory_equal(l, "two  ", 5);
	/* No newline at the end, "arca:" without its space, nothing at all. */
	n = sandbox_stop_line("x\narca:y", 8, &l);
	assert_int_equal(n, 6);
	assert_memory_equal(l, "arca:y", 6);
	assert_int_equal(sandbox_stop_line("\n \n", 3, &l), 0);
	assert_int_equal(sandbox_stop_line("", 0, &l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_line),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_hostile),
		cmocka_unit_test(test_stat_starttime),
		cmocka_unit_test(test_mux_routing),
		cmocka_unit_test(test_mux_bounds),
		cmocka_unit_test(test_mux_windows),
		cmocka_unit_test(test_refuse_frames),
		cmocka_unit_test(test_mux_seccomp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
