/* SPDX-License-Identifier: MIT */
/* Control-channel framing: encoders, the incremental decoder, hostile input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

#define FRAME_MAX (ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD)

static struct proto_decoder dec;
static struct arca_msg msg;

/* Feeds the whole buffer; expects exactly one frame, consuming all of it. */
static void decode_one(const uint8_t *buf, size_t len)
{
	int got = -1;

	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_feed(&dec, buf, len, &msg, &got), (int)len);
	assert_int_equal(got, 1);
}

static void test_encode_header_layout(void **state)
{
	uint8_t buf[64];
	const uint8_t payload[3] = { 'a', 'b', 'c' };

	int n = proto_encode(buf, sizeof(buf), 0x1234, payload, 3);
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + 3);
	/* Little-endian on the wire, whatever the host order. */
	const uint8_t want[] = { 'A', 'R', 'C', 'A', 0x34, 0x12, 0, 0, 3, 0, 0, 0,
				 'a', 'b', 'c' };
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_encode_limits(void **state)
{
	static uint8_t big[FRAME_MAX + 1];
	static uint8_t payload[ARCA_MSG_MAX_PAYLOAD + 1];

	assert_int_equal(proto_encode(big, sizeof(big), 1, payload, ARCA_MSG_MAX_PAYLOAD),
			 FRAME_MAX);
	assert_int_equal(proto_encode(big, sizeof(big), 1, payload, ARCA_MSG_MAX_PAYLOAD + 1),
			 -EMSGSIZE);
	/* Exactly one byte short of room. */
	assert_int_equal(proto_encode(big, ARCA_MSG_HDR_SIZE + 9, 1, payload, 10), -ENOSPC);
	assert_int_equal(proto_encode(big, ARCA_MSG_HDR_SIZE - 1, 1, NULL, 0), -ENOSPC);
	assert_int_equal(proto_encode(big, sizeof(big), 1, NULL, 5), -EINVAL);
	assert_int_equal(proto_encode(big, ARCA_MSG_HDR_SIZE, 7, NULL, 0),
			 (int)ARCA_MSG_HDR_SIZE);
}

static void test_hello_roundtrip(void **state)
{
	uint8_t buf[64];
	uint32_t v;

	int n = proto_encode_hello(buf, sizeof(buf));
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + 4);
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.type, ARCA_MSG_HELLO);
	assert_int_equal(msg.len, 4);
	assert_int_equal(proto_get_le32(&msg, 0, &v), 0);
	assert_int_equal(v, ARCA_ABI_VERSION);
	assert_int_equal(proto_encode_hello(buf, ARCA_MSG_HDR_SIZE + 3), -ENOSPC);
}

/* TIMES: arca-init's step marks; decoded strictly, absent marks 0. */
static void test_times_roundtrip(void **state)
{
	uint8_t buf[256];
	uint64_t in[ARCA_MARK_NR], out[ARCA_MARK_NR];

	for (unsigned i = 0; i < ARCA_MARK_NR; i++)
		in[i] = 0x0123456789abcdefull + i;
	int n = proto_encode_times(buf, sizeof(buf), in, ARCA_MARK_NR);
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + 4 + 8 * ARCA_MARK_NR);
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.type, ARCA_MSG_TIMES);
	assert_int_equal(proto_decode_times(&msg, out), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* an older init with fewer marks: the rest read as "not reached" */
	n = proto_encode_times(buf, sizeof(buf), in, 2);
	decode_one(buf, (size_t)n);
	assert_int_equal(proto_decode_times(&msg, out), 0);
	assert_true(out[1] == in[1] && out[2] == 0 && out[ARCA_MARK_NR - 1] == 0);

	assert_int_equal(proto_encode_times(buf, sizeof(buf), in, ARCA_MARK_NR + 1), -EINVAL);
	assert_int_equal(proto_encode_times(buf, 20, in, ARCA_MARK_NR), -ENOSPC);

	/* hostile payloads: a count beyond the marks, a length that disagrees */
	uint8_t p[4 + 8 * (ARCA_MARK_NR + 1)] = { 0 };
	proto_put_le32(p, ARCA_MARK_NR + 1);
	n = proto_encode(buf, sizeof(buf), ARCA_MSG_TIMES, p, sizeof(p));
	decode_one(buf, (size_t)n);
	assert_int_equal(proto_decode_times(&msg, out), -EPROTO);
	proto_put_le32(p, 2);
	n = proto_encode(buf, sizeof(buf), ARCA_MSG_TIMES, p, 4 + 8 * 2 + 1);
	decode_one(buf, (size_t)n);
	assert_int_equal(proto_decode_times(&msg, out), -EPROTO);
	n = proto_encode(buf, sizeof(buf), ARCA_MSG_TIMES, p, 3);
	decode_one(buf, (size_t)n);
	assert_int_equal(proto_decode_times(&msg, out), -EPROTO);
}

static void test_exit_roundtrip(void **state)
{
	uint8_t buf[64];
	uint32_t kind, value;

	int n = proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_SIGNAL, 9);
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + 8);
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.type, ARCA_MSG_EXIT);
	assert_int_equal(proto_get_le32(&msg, 0, &kind), 0);
	assert_int_equal(proto_get_le32(&msg, 4, &value), 0);
	assert_int_equal(kind, ARCA_EXIT_SIGNAL);
	assert_int_equal(value, 9);

	assert_int_equal(proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_CODE, 255),
			 ARCA_MSG_HDR_SIZE + 8);
	assert_int_equal(proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_CODE, 0),
			 ARCA_MSG_HDR_SIZE + 8);
	assert_int_equal(proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_CODE, 256), -EINVAL);
	assert_int_equal(proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_SIGNAL, 0), -EINVAL);
	assert_int_equal(proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_SIGNAL, 65), -EINVAL);
	assert_int_equal(proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_SIGNAL, 64),
			 ARCA_MSG_HDR_SIZE + 8);
	assert_int_equal(proto_encode_exit(buf, sizeof(buf), 2, 0), -EINVAL);
	assert_int_equal(proto_encode_exit(buf, ARCA_MSG_HDR_SIZE + 7, ARCA_EXIT_CODE, 1),
			 -ENOSPC);
}

static void test_error_roundtrip(void **state)
{
	uint8_t buf[128];
	uint32_t code;
	const char *text = "ls: No such file or directory";

	int n = proto_encode_error(buf, sizeof(buf), 127, text);
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + 4 + strlen(text));
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.type, ARCA_MSG_ERROR);
	assert_int_equal(proto_get_le32(&msg, 0, &code), 0);
	assert_int_equal(code, 127);
	assert_int_equal(msg.len - 4, strlen(text));
	assert_memory_equal(msg.payload + 4, text, strlen(text));

	assert_int_equal(proto_encode_error(buf, sizeof(buf), 256, "x"), -EINVAL);
	assert_int_equal(proto_encode_error(buf, ARCA_MSG_HDR_SIZE + 4, 1, "x"), -ENOSPC);
	/* NULL text is an empty message, not a crash. */
	assert_int_equal(proto_encode_error(buf, sizeof(buf), 1, NULL), ARCA_MSG_HDR_SIZE + 4);
}

static void test_log_roundtrip(void **state)
{
	uint8_t buf[64];

	int n = proto_encode_log(buf, sizeof(buf), "mounted");
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + 7);
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.type, ARCA_MSG_LOG);
	assert_int_equal(msg.len, 7);
	assert_memory_equal(msg.payload, "mounted", 7);
}

/* An over-long text is clipped to one frame, never mid UTF-8 sequence. */
static void test_text_clipped_at_utf8_boundary(void **state)
{
	static uint8_t buf[FRAME_MAX];
	static char text[ARCA_MSG_MAX_PAYLOAD + 16];

	/* LOG: payload limit 4096. Put a 2-byte "é" across the limit. */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	text[ARCA_MSG_MAX_PAYLOAD - 1] = (char)0xC3;
	text[ARCA_MSG_MAX_PAYLOAD] = (char)0xA9;
	int n = proto_encode_log(buf, sizeof(buf), text);
	assert_int_equal(n, ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD - 1);
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.len, ARCA_MSG_MAX_PAYLOAD - 1);
	assert_int_equal(msg.payload[msg.len - 1], 'a');

	/* Plain ASCII fills the frame exactly. */
	memset(text, 'b', sizeof(text) - 1);
	n = proto_encode_log(buf, sizeof(buf), text);
	assert_int_equal(n, FRAME_MAX);

	/* ERROR: 4 bytes of code leave 4092 for text. */
	n = proto_encode_error(buf, sizeof(buf), 125, text);
	assert_int_equal(n, FRAME_MAX);
	decode_one(buf, (size_t)n);
	assert_int_equal(msg.len, ARCA_MSG_MAX_PAYLOAD);
}

/* Three frames back to back, fed at every possible chunk size. */
static void test_decoder_split_everywhere(void **state)
{
	uint8_t stream[256];
	size_t len = 0;
	int n;

	n = proto_encode_hello(stream + len, sizeof(stream) - len);
	len += (size_t)n;
	n = proto_encode(stream + len, sizeof(stream) - len, 99, NULL, 0);
	len += (size_t)n;
	n = proto_encode_error(stream + len, sizeof(stream) - len, 126, "sh: Permission denied");
	len += (size_t)n;

	for (size_t chunk = 1; chunk <= len; chunk++) {
		uint16_t types[4];
		size_t nframes = 0;

		proto_decoder_init(&dec);
		for (size_t pos = 0; pos < len; pos += chunk) {
			size_t clen = len - pos < chunk ? len - pos : chunk;
			size_t off = 0;
			/* Keep feeding the rest of this chunk after each frame. */
			for (;;) {
				int got = 0;
				int used = proto_decoder_feed(&dec, stream + pos + off,
							      clen - off, &msg, &got);
				assert_true(used >= 0);
				off += (size_t)used;
				assert_true(off <= clen);
				if (got) {
					assert_true(nframes < 4);
					types[nframes++] = msg.type;
					if (msg.type == ARCA_MSG_ERROR) {
						assert_int_equal(msg.len, 4 + 21);
						assert_memory_equal(msg.payload + 4,
								    "sh: Permission denied", 21);
					}
					continue;
				}
				assert_int_equal(off, clen);
				break;
			}
		}
		assert_int_equal(nframes, 3);
		assert_int_equal(types[0], ARCA_MSG_HELLO);
		assert_int_equal(types[1], 99);
		assert_int_equal(types[2], ARCA_MSG_ERROR);
		assert_int_equal(dec.have, 0);
	}
}

/* One frame per call: the decoder stops right after a frame. */
static void test_decoder_stops_after_frame(void **state)
{
	uint8_t stream[64];
	int got;

	int a = proto_encode_exit(stream, sizeof(stream), ARCA_EXIT_CODE, 3);
	int b = proto_encode_hello(stream + a, sizeof(stream) - (size_t)a);
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_feed(&dec, stream, (size_t)(a + b), &msg, &got), a);
	assert_int_equal(got, 1);
	assert_int_equal(msg.type, ARCA_MSG_EXIT);
	assert_int_equal(proto_decoder_feed(&dec, stream + a, (size_t)b, &msg, &got), b);
	assert_int_equal(got, 1);
	assert_int_equal(msg.type, ARCA_MSG_HELLO);
	/* Empty input: nothing consumed, nothing produced. */
	assert_int_equal(proto_decoder_feed(&dec, NULL, 0, &msg, &got), 0);
	assert_int_equal(got, 0);
}

static void test_decoder_max_payload(void **state)
{
	static uint8_t buf[FRAME_MAX];
	static uint8_t payload[ARCA_MSG_MAX_PAYLOAD];
	int got;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	int n = proto_encode(buf, sizeof(buf), ARCA_MSG_LOG, payload, sizeof(payload));
	assert_int_equal(n, FRAME_MAX);
	proto_decoder_init(&dec);
	/* All but the last byte, then the last byte. */
	assert_int_equal(proto_decoder_feed(&dec, buf, FRAME_MAX - 1, &msg, &got),
			 FRAME_MAX - 1);
	assert_int_equal(got, 0);
	assert_int_equal(proto_decoder_feed(&dec, buf + FRAME_MAX - 1, 1, &msg, &got), 1);
	assert_int_equal(got, 1);
	assert_int_equal(msg.len, ARCA_MSG_MAX_PAYLOAD);
	assert_memory_equal(msg.payload, payload, sizeof(payload));
}

/* Feeds a corrupted header byte by byte; the error must come when the
 * header completes (not before, not after), and stay. */
static void expect_broken_header(const uint8_t *hdr)
{
	int got, r = 0;
	size_t i;

	proto_decoder_init(&dec);
	for (i = 0; i < ARCA_MSG_HDR_SIZE - 1; i++) {
		r = proto_decoder_feed(&dec, hdr + i, 1, &msg, &got);
		assert_int_equal(r, 1);
		assert_int_equal(got, 0);
	}
	r = proto_decoder_feed(&dec, hdr + i, 1, &msg, &got);
	assert_int_equal(r, -EPROTO);
	assert_int_equal(got, 0);
	assert_true(dec.broken);

	/* Sticky: a perfectly valid frame afterwards is still refused. */
	uint8_t ok[32];
	int n = proto_encode_hello(ok, sizeof(ok));
	assert_int_equal(proto_decoder_feed(&dec, ok, (size_t)n, &msg, &got), -EPROTO);
	assert_int_equal(got, 0);
	assert_int_equal(proto_decoder_feed(&dec, NULL, 0, &msg, &got), -EPROTO);

	/* Re-initialising is the only way back. */
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_feed(&dec, ok, (size_t)n, &msg, &got), n);
	assert_int_equal(got, 1);
}

static void test_decoder_bad_magic(void **state)
{
	uint8_t h[ARCA_MSG_HDR_SIZE];

	proto_encode(h, sizeof(h), ARCA_MSG_HELLO, NULL, 0);
	h[3] ^= 0x01;
	expect_broken_header(h);
}

static void test_decoder_bad_flags(void **state)
{
	uint8_t h[ARCA_MSG_HDR_SIZE];

	proto_encode(h, sizeof(h), ARCA_MSG_HELLO, NULL, 0);
	h[7] = 0x80;
	expect_broken_header(h);
	proto_encode(h, sizeof(h), ARCA_MSG_HELLO, NULL, 0);
	h[6] = 0x01;
	expect_broken_header(h);
}

static void test_decoder_oversized(void **state)
{
	uint8_t h[ARCA_MSG_HDR_SIZE];

	proto_encode(h, sizeof(h), ARCA_MSG_LOG, NULL, 0);
	proto_put_le32(h + 8, ARCA_MSG_MAX_PAYLOAD + 1);
	expect_broken_header(h);
	/* A length that would wrap a 32-bit "hdr + len" sum. */
	proto_put_le32(h + 8, 0xFFFFFFFFu);
	expect_broken_header(h);
	proto_put_le32(h + 8, 0xFFFFFFF4u);
	expect_broken_header(h);
}

/* A good frame followed by garbage in the same chunk: the good frame is
 * delivered, the garbage is reported on the next call. */
static void test_decoder_good_then_garbage(void **state)
{
	uint8_t stream[64];
	int got;

	int n = proto_encode_hello(stream, sizeof(stream));
	memset(stream + n, 0xEE, ARCA_MSG_HDR_SIZE);
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_feed(&dec, stream, (size_t)n + ARCA_MSG_HDR_SIZE,
					    &msg, &got), n);
	assert_int_equal(got, 1);
	assert_int_equal(proto_decoder_feed(&dec, stream + n, ARCA_MSG_HDR_SIZE, &msg, &got),
			 -EPROTO);
	assert_int_equal(got, 0);
}

/* ---- proto_decoder_each ------------------------------------------------- */

/* What the callback saw, and when it is to stop. */
struct seen {
	size_t n;
	uint16_t type[8];
	uint32_t len[8];
	uint8_t first[8]; /* the payload's first byte, 0 if none */
	size_t stop_at;   /* the frame (0-based) on which to return stop_ret */
	int stop_ret;
};

static int record(void *ctx, const struct arca_msg *m)
{
	struct seen *s = ctx;

	assert_ptr_equal(m, &msg); /* the caller's scratch, not a copy */
	assert_true(s->n < 8);
	s->type[s->n] = m->type;
	s->len[s->n] = m->len;
	s->first[s->n] = m->len ? m->payload[0] : 0;
	return s->n++ == s->stop_at ? s->stop_ret : 0;
}

/* HELLO, an empty frame of type 99, ERROR 126: the frames the split and
 * stop tests expect. */
static size_t three_frames(uint8_t *stream, size_t cap)
{
	size_t len = 0;
	int n;

	n = proto_encode_hello(stream + len, cap - len);
	assert_true(n > 0);
	len += (size_t)n;
	n = proto_encode(stream + len, cap - len, 99, NULL, 0);
	assert_true(n > 0);
	len += (size_t)n;
	n = proto_encode_error(stream + len, cap - len, 126, "sh: Permission denied");
	assert_true(n > 0);
	len += (size_t)n;
	return len;
}

static void expect_three(const struct seen *s)
{
	assert_int_equal(s->n, 3);
	assert_int_equal(s->type[0], ARCA_MSG_HELLO);
	assert_int_equal(s->len[0], 4);
	assert_int_equal(s->first[0], ARCA_ABI_VERSION & 0xff);
	assert_int_equal(s->type[1], 99);
	assert_int_equal(s->len[1], 0);
	assert_int_equal(s->type[2], ARCA_MSG_ERROR);
	assert_int_equal(s->len[2], 4 + 21);
	assert_int_equal(s->first[2], 126);
}

/* Cut in two at every byte boundary (0 and len included: one empty
 * half), then fed at every chunk size: the same three frames each time. */
static void test_each_split_everywhere(void **state)
{
	uint8_t stream[256];
	size_t len = three_frames(stream, sizeof(stream));
	size_t used;

	for (size_t cut = 0; cut <= len; cut++) {
		struct seen s = { .stop_at = SIZE_MAX };
		proto_decoder_init(&dec);
		used = 1234;
		assert_int_equal(proto_decoder_each(&dec, stream, cut, &msg, record, &s, &used), 0);
		assert_int_equal(used, cut);
		used = 1234;
		assert_int_equal(proto_decoder_each(&dec, stream + cut, len - cut, &msg, record, &s,
						    &used), 0);
		assert_int_equal(used, len - cut);
		expect_three(&s);
		assert_int_equal(dec.have, 0);
	}
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct seen s = { .stop_at = SIZE_MAX };
		proto_decoder_init(&dec);
		for (size_t pos = 0; pos < len; pos += chunk) {
			size_t clen = len - pos < chunk ? len - pos : chunk;
			assert_int_equal(proto_decoder_each(&dec, stream + pos, clen, &msg, record,
							    &s, &used), 0);
			assert_int_equal(used, clen);
		}
		expect_three(&s);
	}
}

/* Several frames, the largest possible among them, in one buffer. */
static void test_each_many_in_one_buffer(void **state)
{
	static uint8_t stream[3 * FRAME_MAX];
	static uint8_t payload[ARCA_MSG_MAX_PAYLOAD];
	struct seen s = { .stop_at = SIZE_MAX };
	size_t len = 0, used = 0;
	int n;

	memset(payload, 0x5a, sizeof(payload));
	n = proto_encode_exit(stream, sizeof(stream), ARCA_EXIT_SIGNAL, 9);
	len += (size_t)n;
	n = proto_encode(stream + len, sizeof(stream) - len, ARCA_MSG_LOG, payload,
			 sizeof(payload));
	assert_int_equal(n, FRAME_MAX);
	len += (size_t)n;
	for (int i = 0; i < 5; i++) {
		n = proto_encode(stream + len, sizeof(stream) - len, (uint16_t)(200 + i), NULL, 0);
		len += (size_t)n;
	}
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, stream, len, &msg, record, &s, &used), 0);
	assert_int_equal(used, len);
	assert_int_equal(s.n, 7);
	assert_int_equal(s.type[0], ARCA_MSG_EXIT);
	assert_int_equal(s.first[0], ARCA_EXIT_SIGNAL);
	assert_int_equal(s.type[1], ARCA_MSG_LOG);
	assert_int_equal(s.len[1], ARCA_MSG_MAX_PAYLOAD);
	assert_int_equal(s.first[1], 0x5a);
	for (int i = 0; i < 5; i++)
		assert_int_equal(s.type[2 + i], 200 + i);
	/* used may be NULL. */
	s.n = 0;
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, stream, len, &msg, record, &s, NULL), 0);
	assert_int_equal(s.n, 7);
}

/* fn stops on the second frame: its value comes back, the frame stays in
 * the scratch, used ends right after it, and the rest resumes from there. */
static void test_each_early_stop(void **state)
{
	uint8_t stream[256];
	size_t len = three_frames(stream, sizeof(stream));
	size_t first = ARCA_MSG_HDR_SIZE + 4, second = first + ARCA_MSG_HDR_SIZE;
	struct seen s = { .stop_at = 1, .stop_ret = 7 };
	size_t used = 0;

	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, stream, len, &msg, record, &s, &used), 7);
	assert_int_equal(used, second);
	assert_int_equal(s.n, 2);
	assert_int_equal(msg.type, 99);
	assert_int_equal(msg.len, 0);
	assert_int_equal(dec.have, 0); /* nothing after the frame was fed */

	s.stop_at = SIZE_MAX;
	assert_int_equal(proto_decoder_each(&dec, stream + used, len - used, &msg, record, &s,
					    &used), 0);
	assert_int_equal(used, len - second);
	expect_three(&s);

	/* Stopping on the last frame of the buffer: used is all of it. */
	struct seen t = { .stop_at = 2, .stop_ret = 1 };
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, stream, len, &msg, record, &t, &used), 1);
	assert_int_equal(used, len);
	expect_three(&t);
}

/* A negative return from fn is passed on as it is, and is not a broken
 * stream: the decoder goes on from where fn stopped. */
static void test_each_fn_error_propagated(void **state)
{
	uint8_t stream[256];
	size_t len = three_frames(stream, sizeof(stream));
	struct seen s = { .stop_at = 0, .stop_ret = -ENOMEM };
	size_t used = 0;

	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, stream, len, &msg, record, &s, &used),
			 -ENOMEM);
	assert_int_equal(used, ARCA_MSG_HDR_SIZE + 4);
	assert_int_equal(s.n, 1);
	assert_false(dec.broken);
	s.stop_at = SIZE_MAX;
	assert_int_equal(proto_decoder_each(&dec, stream + used, len - used, &msg, record, &s,
					    NULL), 0);
	expect_three(&s);
}

/* A good frame, then a bad header: the good frame is handled, -EPROTO
 * comes back with used before the bad frame, and the decoder stays
 * broken (an empty buffer still returns 0 without asking it). */
static void test_each_malformed(void **state)
{
	uint8_t stream[64], ok[32];
	struct seen s = { .stop_at = SIZE_MAX };
	size_t used = 0;

	int n = proto_encode_hello(stream, sizeof(stream));
	memset(stream + n, 0xEE, ARCA_MSG_HDR_SIZE + 3);
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, stream, (size_t)n + ARCA_MSG_HDR_SIZE + 3, &msg,
					    record, &s, &used), -EPROTO);
	assert_int_equal(used, (size_t)n);
	assert_int_equal(s.n, 1);
	assert_true(dec.broken);

	int k = proto_encode_hello(ok, sizeof(ok));
	used = 1234;
	assert_int_equal(proto_decoder_each(&dec, ok, (size_t)k, &msg, record, &s, &used),
			 -EPROTO);
	assert_int_equal(used, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(proto_decoder_each(&dec, NULL, 0, &msg, record, &s, &used), 0);
	assert_int_equal(used, 0);

	/* An oversized length is refused at the header, before fn. */
	uint8_t h[ARCA_MSG_HDR_SIZE];
	proto_encode(h, sizeof(h), ARCA_MSG_LOG, NULL, 0);
	proto_put_le32(h + 8, ARCA_MSG_MAX_PAYLOAD + 1);
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, h, sizeof(h), &msg, record, &s, &used),
			 -EPROTO);
	assert_int_equal(used, 0);
	assert_int_equal(s.n, 1);

	/* NULL data with a length is refused as well (the decoder's -EINVAL). */
	proto_decoder_init(&dec);
	assert_int_equal(proto_decoder_each(&dec, NULL, 5, &msg, record, &s, &used), -EPROTO);
	assert_int_equal(used, 0);
}

static void test_get_le_bounds(void **state)
{
	uint32_t v32 = 0xdead;
	uint16_t v16 = 0xbeef;

	memset(&msg, 0, sizeof(msg));
	msg.len = 6;
	proto_put_le32(msg.payload, 0x04030201);
	proto_put_le16(msg.payload + 4, 0x0605);
	assert_int_equal(proto_get_le32(&msg, 0, &v32), 0);
	assert_int_equal(v32, 0x04030201);
	assert_int_equal(proto_get_le32(&msg, 2, &v32), 0);
	assert_int_equal(proto_get_le32(&msg, 3, &v32), -EPROTO);
	assert_int_equal(proto_get_le32(&msg, 7, &v32), -EPROTO);
	assert_int_equal(proto_get_le32(&msg, SIZE_MAX - 1, &v32), -EPROTO);
	assert_int_equal(proto_get_le16(&msg, 4, &v16), 0);
	assert_int_equal(v16, 0x0605);
	assert_int_equal(proto_get_le16(&msg, 5, &v16), -EPROTO);
	assert_int_equal(proto_get_le16(&msg, SIZE_MAX, &v16), -EPROTO);
	/* A corrupted len larger than the buffer is refused, not trusted. */
	msg.len = ARCA_MSG_MAX_PAYLOAD + 100;
	assert_int_equal(proto_get_le32(&msg, ARCA_MSG_MAX_PAYLOAD, &v32), -EPROTO);
	msg.len = 0;
	assert_int_equal(proto_get_le32(&msg, 0, &v32), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_header_layout),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_exit_roundtrip),
		cmocka_unit_test(test_error_roundtrip),
		cmocka_unit_test(test_log_roundtrip),
		cmocka_unit_test(test_text_clipped_at_utf8_boundary),
		cmocka_unit_test(test_decoder_split_everywhere),
		cmocka_unit_test(test_decoder_stops_after_frame),
		cmocka_unit_test(test_decoder_max_payload),
		cmocka_unit_test(test_decoder_bad_magic),
		cmocka_unit_test(test_decoder_bad_flags),
		cmocka_unit_test(test_decoder_oversized),
		cmocka_unit_test(test_decoder_good_then_garbage),
		cmocka_unit_test(test_each_split_everywhere),
		cmocka_unit_test(test_each_many_in_one_buffer),
		cmocka_unit_test(test_each_early_stop),
		cmocka_unit_test(test_each_fn_error_propagated),
		cmocka_unit_test(test_each_malformed),
		cmocka_unit_test(test_get_le_bounds),
		cmocka_unit_test(test_times_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
