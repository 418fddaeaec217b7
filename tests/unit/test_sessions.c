/* SPDX-License-Identifier: MIT */
/* cmocka tests for initrd/sessions.c: the agent's session table (EXEC_PART
 * accumulation, its bounds, hostile ids, a full table) and the checks on
 * host session frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "../../initrd/sessions.c" /* from tests/unit/ */

#define S(lit) ((char[]){ lit })

static struct sess_table t;

static struct arca_msg msg(uint16_t type, uint32_t id, const void *rest, size_t len)
{
	struct arca_msg m = { .type = type };
	proto_put_le32(m.payload, id);
	memcpy(m.payload + 4, rest, len);
	m.len = (uint32_t)(4 + len);
	return m;
}

/* ---- frames ------------------------------------------------------------ */

static void test_frame_types(void **state)
{
	struct sess_frame f;
	struct arca_msg m = msg(ARCA_SMSG_STDIN, 7, "abc", 3);

	assert_int_equal(sess_frame_parse(&m, &f), 1);
	assert_int_equal(f.type, ARCA_SMSG_STDIN);
	assert_int_equal(f.id, 7);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.data, "abc", 3);

	/* Empty STDIN: EOF, still a frame. */
	m = msg(ARCA_SMSG_STDIN, 7, "", 0);
	assert_int_equal(sess_frame_parse(&m, &f), 1);
	assert_int_equal(f.len, 0);

	m = msg(ARCA_SMSG_EXEC_PART, 1, "xy", 2);
	assert_int_equal(sess_frame_parse(&m, &f), 1);
	assert_int_equal(f.type, ARCA_SMSG_EXEC_PART);
	m = msg(ARCA_SMSG_EXEC, 1, "", 0);
	assert_int_equal(sess_frame_parse(&m, &f), 1);

	/* Guest -> host types, control types and unknown ones are dropped. */
	uint16_t drop[] = { ARCA_SMSG_READY, ARCA_SMSG_STDOUT, ARCA_SMSG_STDERR,
			    ARCA_SMSG_ERROR, ARCA_SMSG_EXIT, ARCA_MSG_SIGNAL,
			    ARCA_MSG_WINSIZE, ARCA_MSG_HELLO, ARCA_SMSG_STDIN_ACK, 0, 109,
			    116, 0xffff };
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		m = msg(drop[i], 1, "\x0f\0\0\0", 4);
		assert_int_equal(sess_frame_parse(&m, &f), 0);
	}
}

/* OUT_ACK carries its count; one without it is dropped. */
static void test_frame_out_ack(void **state)
{
	struct sess_frame f;
	struct arca_msg m;

	m = msg(ARCA_SMSG_OUT_ACK, 3, "\x00\x40\0\0", 4);
	assert_int_equal(sess_frame_parse(&m, &f), 1);
	assert_int_equal(f.id, 3);
	assert_int_equal(f.credit, 0x4000);
	m = msg(ARCA_SMSG_OUT_ACK, 3, "\x00\x40", 2);
	assert_int_equal(sess_frame_parse(&m, &f), 0);
}

static void test_frame_hostile(void **state)
{
	struct sess_frame f;
	struct arca_msg m;

	/* id 0 is never a session (READY's id). */
	m = msg(ARCA_SMSG_STDIN, 0, "a", 1);
	assert_int_equal(sess_frame_parse(&m, &f), 0);
	/* No room for the id. */
	for (uint32_t len = 0; len < 4; len++) {
		m = msg(ARCA_SMSG_EXEC, 1, "", 0);
		m.len = len;
		assert_int_equal(sess_frame_parse(&m, &f), 0);
	}
	/* A length past the payload array (the decoder never makes one). */
	m = msg(ARCA_SMSG_STDIN, 1, "", 0);
	m.len = ARCA_MSG_MAX_PAYLOAD + 1;
	assert_int_equal(sess_frame_parse(&m, &f), 0);

	/* SIGNAL: 1..64, with its le32. */
	uint8_t sig[4];
	uint32_t bad[] = { 0, 65, 0x80000000u, 0xffffffffu };
	for (size_t i = 0; i < 4; i++) {
		proto_put_le32(sig, bad[i]);
		m = msg(ARCA_SMSG_SIGNAL, 3, sig, 4);
		assert_int_equal(sess_frame_parse(&m, &f), 0);
	}
	m = msg(ARCA_SMSG_SIGNAL, 3, sig, 2);
	assert_int_equal(sess_frame_parse(&m, &f), 0);
	proto_put_le32(sig, 64);
	m = msg(ARCA_SMSG_SIGNAL, 3, sig, 4);
	assert_int_equal(sess_frame_parse(&m, &f), 1);
	assert_int_equal(f.sig, 64);
	proto_put_le32(sig, 1);
	m = msg(ARCA_SMSG_SIGNAL, 3, sig, 4);
	assert_int_equal(sess_frame_parse(&m, &f), 1);

	/* WINSIZE: le16 rows, le16 cols. */
	m = msg(ARCA_SMSG_WINSIZE, 3, "\x18\0\x50\0", 4);
	assert_int_equal(sess_frame_parse(&m, &f), 1);
	assert_int_equal(f.rows, 24);
	assert_int_equal(f.cols, 80);
	m = msg(ARCA_SMSG_WINSIZE, 3, "\x18\0\x50", 3);
	assert_int_equal(sess_frame_parse(&m, &f), 0);
}

/* ---- the table ------------------------------------------------------------ */

static int setup(void **state)
{
	sess_table_init(&t);
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < ARCA_SESS_MAX; i++)
		sess_free(&t, &t.s[i]);
	assert_int_equal(t.used, 0);
	return 0;
}

static void test_accumulate(void **state)
{
	struct sess *s, *s2;

	assert_int_equal(sess_spec_add(&t, 5, (const uint8_t *)"abc", 3, &s), 0);
	assert_non_null(s);
	assert_int_equal(s->state, SESS_PENDING);
	assert_int_equal(sess_spec_add(&t, 9, (const uint8_t *)"zz", 2, &s2), 0);
	assert_ptr_not_equal(s, s2);
	assert_int_equal(sess_spec_add(&t, 5, (const uint8_t *)"", 0, &s2), 0);
	assert_ptr_equal(s, s2);
	assert_int_equal(sess_spec_add(&t, 5, (const uint8_t *)"defg", 4, &s2), 0);
	assert_int_equal(s->spec_len, 7);
	assert_memory_equal(s->spec, "abcdefg", 7);
	assert_int_equal(t.used, 2);
	assert_ptr_equal(sess_find(&t, 5), s);
	assert_null(sess_find(&t, 0));
	assert_null(sess_find(&t, 6));
}

static void test_id_zero_and_live(void **state)
{
	struct sess *s;

	assert_int_equal(sess_spec_add(&t, 0, (const uint8_t *)"a", 1, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(t.used, 0);

	assert_int_equal(sess_spec_add(&t, 42, (const uint8_t *)"a", 1, &s), 0);
	assert_int_equal(sess_make_live(s), 0);
	assert_int_equal(s->state, SESS_LIVE);
	assert_null(s->spec);
	assert_non_null(s->in_buf);
	assert_int_equal(s->in_fd, -1);
	assert_int_equal(s->out_fd, -1);
	assert_int_equal(s->err_fd, -1);
	assert_int_equal(s->id, 42);
	/* A second EXEC for a live id must not touch it. */
	struct sess *s2;
	assert_int_equal(sess_spec_add(&t, 42, (const uint8_t *)"b", 1, &s2), -EBUSY);
	assert_null(s2);
	assert_int_equal(s->state, SESS_LIVE);
	assert_int_equal(t.used, 1);
	/* Once freed, the host may use the id again. */
	sess_free(&t, s);
	assert_int_equal(t.used, 0);
	assert_int_equal(sess_spec_add(&t, 42, (const uint8_t *)"b", 1, &s2), 0);
	assert_int_equal(s2->state, SESS_PENDING);
}

static void test_spec_bound(void **state)
{
	static uint8_t chunk[ARCA_MSG_MAX_PAYLOAD - 4];
	struct sess *s;
	size_t total = 0;

	/* Exactly ARCA_SESS_SPEC_MAX is fine ... */
	while (total < ARCA_SESS_SPEC_MAX) {
		size_t n = ARCA_SESS_SPEC_MAX - total;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		assert_int_equal(sess_spec_add(&t, 3, chunk, n, &s), 0);
		assert_int_equal(s->state, SESS_PENDING);
		total += n;
	}
	assert_int_equal(s->spec_len, ARCA_SESS_SPEC_MAX);
	assert_true(s->spec_cap <= ARCA_SESS_SPEC_MAX);
	/* ... one byte more refuses the session and frees its spec. */
	assert_int_equal(sess_spec_add(&t, 3, chunk, 1, &s), 0);
	assert_int_equal(s->state, SESS_REFUSED);
	assert_null(s->spec);
	assert_int_equal(s->spec_len, 0);
	assert_non_null(s->refuse);
	/* Further parts are swallowed without memory. */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(sess_spec_add(&t, 3, chunk, sizeof(chunk), &s), 0);
		assert_int_equal(s->state, SESS_REFUSED);
		assert_null(s->spec);
	}
	/* A length that would overflow size_t arithmetic. */
	assert_int_equal(sess_spec_add(&t, 4, chunk, 1, &s), 0);
	assert_int_equal(sess_spec_add(&t, 4, chunk, SIZE_MAX, &s), 0);
	assert_int_equal(s->state, SESS_REFUSED);
	assert_int_equal(t.used, 2);
}

static void test_table_full(void **state)
{
	struct sess *s;

	for (uint32_t id = 1; id <= ARCA_SESS_MAX; id++) {
		assert_int_equal(sess_spec_add(&t, id * 1000, (const uint8_t *)"x", 1, &s), 0);
		if (id % 2)
			assert_int_equal(sess_make_live(s), 0);
	}
	assert_int_equal(t.used, ARCA_SESS_MAX);
	/* Pending and live sessions both count. */
	assert_int_equal(sess_spec_add(&t, 7, (const uint8_t *)"x", 1, &s), -ENOSPC);
	assert_null(s);
	/* A pending one still takes its parts. */
	assert_int_equal(sess_spec_add(&t, 2000, (const uint8_t *)"y", 1, &s), 0);
	assert_int_equal(s->spec_len, 2);
	/* Freeing one makes room for exactly one. */
	sess_free(&t, sess_find(&t, 1000));
	assert_int_equal(sess_spec_add(&t, 7, (const uint8_t *)"x", 1, &s), 0);
	assert_int_equal(sess_spec_add(&t, 8, (const uint8_t *)"x", 1, &s), -ENOSPC);
	/* Ids are whatever the host picks, 0xffffffff included. */
	sess_free(&t, sess_find(&t, 7));
	assert_int_equal(sess_spec_add(&t, 0xffffffffu, (const uint8_t *)"x", 1, &s), 0);
	assert_ptr_equal(sess_find(&t, 0xffffffffu), s);
}

/* Hostile stream: random frames through parse + add never exceed the
 * table, and every pending spec stays within its bound. */
static void test_random_frames(void **state)
{
	static const uint16_t types[] = { ARCA_SMSG_EXEC_PART, ARCA_SMSG_EXEC,
					  ARCA_SMSG_STDIN, ARCA_SMSG_SIGNAL,
					  ARCA_SMSG_WINSIZE, 7 };
	static struct arca_msg m;
	unsigned seed = 12345;

	for (int i = 0; i < 200000; i++) {
		seed = seed * 1103515245u + 12345u;
		m.type = types[(seed >> 8) % 6];
		m.len = (seed >> 4) % (ARCA_MSG_MAX_PAYLOAD + 1);
		proto_put_le32(m.payload, (seed >> 16) % 100); /* ids 0..99 */
		struct sess_frame f;
		if (!sess_frame_parse(&m, &f))
			continue;
		assert_int_not_equal(f.id, 0);
		assert_true(f.len <= ARCA_MSG_MAX_PAYLOAD - 4);
		if (f.type != ARCA_SMSG_EXEC_PART && f.type != ARCA_SMSG_EXEC)
			continue;
		struct sess *s;
		int r = sess_spec_add(&t, f.id, f.data, f.len, &s);
		assert_true(r == 0 || r == -ENOSPC);
		if (r == 0 && f.type == ARCA_SMSG_EXEC)
			sess_free(&t, s);
		assert_true(t.used <= ARCA_SESS_MAX);
	}
	for (size_t i = 0; i < ARCA_SESS_MAX; i++)
		assert_true(t.s[i].spec_len <= ARCA_SESS_SPEC_MAX);
}

/* The parts reassemble into the spec the host encoded. */
static void test_reassemble_spec(void **state)
{
	char *argv[] = { S("sh"), S("-c"), S("echo hi"), NULL };
	char *env[] = { S("A=1"), NULL };
	struct arca_spec_rlimit rl[] = { { RLIMIT_NOFILE, 256, 512 },
					 { RLIMIT_CORE, 0, ARCA_RLIM_INFINITY } };
	struct arca_spec in = { .argv = argv, .argc = 3, .env = env, .envc = 1,
				.flags = ARCA_SPEC_F_TTY, .has_user = 1, .uid = 1000,
				.gid = 100, .rlimits = rl, .nrlimits = 2 };
	uint8_t *buf;
	size_t len;
	struct sess *s;

	assert_int_equal(spec_encode(&in, &buf, &len), 0);
	for (size_t off = 0; off < len; off += 5) {
		size_t n = len - off < 5 ? len - off : 5;
		assert_int_equal(sess_spec_add(&t, 11, buf + off, n, &s), 0);
	}
	free(buf);
	struct arca_spec out;
	assert_int_equal(spec_decode(s->spec, s->spec_len, &out), 0);
	assert_null(sess_spec_check(&out));
	assert_string_equal(out.argv[2], "echo hi");
	assert_int_equal(out.uid, 1000);
	/* exec --ulimit: the limits reach the session, which accepts them. */
	assert_int_equal(out.nrlimits, 2);
	assert_int_equal(out.rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(out.rlimits[0].soft == 256 && out.rlimits[0].hard == 512);
	assert_int_equal(out.rlimits[1].resource, RLIMIT_CORE);
	assert_true(out.rlimits[1].hard == ARCA_RLIM_INFINITY);
	spec_free(&out);
}

static void test_spec_check(void **state)
{
	char *argv[] = { S("true"), NULL };
	struct arca_spec_share sh = { .tag = S("t"), .path = S("/x") };
	struct arca_spec_disk dk = { .id = S("d"), .path = S("/y") };
	struct arca_spec_rlimit rl = { RLIMIT_NOFILE, 1, 2 };
	struct arca_spec s = { .argv = argv, .argc = 1 };

	assert_null(sess_spec_check(&s));
	/* A session's own limits and ids are its business. */
	s.rlimits = &rl;
	s.nrlimits = 1;
	s.has_user = 1;
	s.uid = 5;
	assert_null(sess_spec_check(&s));
	s.flags = ARCA_SPEC_F_TTY;
	assert_null(sess_spec_check(&s));
	s.flags = ARCA_SPEC_F_AGENT;
	assert_non_null(sess_spec_check(&s));
	s.flags = ARCA_SPEC_F_VERBOSE | ARCA_SPEC_F_TTY;
	assert_non_null(sess_spec_check(&s));
	s.flags = 0;
	s.shares = &sh;
	s.nshares = 1;
	assert_non_null(sess_spec_check(&s));
	s.shares = NULL;
	s.nshares = 0;
	s.disks = &dk;
	s.ndisks = 1;
	assert_non_null(sess_spec_check(&s));
	s.disks = NULL;
	s.ndisks = 0;
	s.root_mode = ARCA_ROOT_DIR;
	s.root_tag = S("r");
	assert_non_null(sess_spec_check(&s));
	s.root_mode = ARCA_ROOT_INITRD;
	s.root_tag = NULL;
	s.has_host = 1;
	assert_non_null(sess_spec_check(&s));
	s.has_host = 0;
	s.has_net = 1;
	assert_non_null(sess_spec_check(&s));
	s.has_net = 0;
	s.has_net6 = 1; /* alone: spec_decode refuses that, the check need not rely on it */
	assert_non_null(sess_spec_check(&s));
	s.has_net6 = 0;
	s.flags = ARCA_SPEC_F_RESTORED;
	assert_non_null(sess_spec_check(&s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_types),
		cmocka_unit_test(test_frame_out_ack),
		cmocka_unit_test(test_frame_hostile),
		cmocka_unit_test_setup_teardown(test_accumulate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_zero_and_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reassemble_spec, setup, teardown),
		cmocka_unit_test(test_spec_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
