/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control channel, host end: the frame decoder
 * (common/proto.c proto_decoder_feed) and what arca-vmm does with frames
 * (vmm/ctl.c ctl_feed).
 *
 * The input is one flag byte (bit 0: --verbose, bits 1-3: a buffer size for
 * ctl_sanitize), one chunking seed, then
 * the byte stream the guest writes to the control port. The stream is fed
 * whole, one byte at a time, and in seeded random chunks (virtio-console
 * delivers arbitrary pieces), and each time the frames must be exactly
 * those a reference reading of the framing (include/arca/abi.h) finds, in
 * order, with the same payload bytes, never longer than ARCA_MSG_MAX_PAYLOAD,
 * and the decoder must end in the same state (broken, or holding the same
 * partial frame). ctl_feed is driven the same three ways and must end with
 * the fate a reference reading of ctl.c's rules predicts (hello, exit code,
 * failure, on_exit calls) and print the same text each time: one line per
 * ERROR frame (and LOG frame with --verbose) and one for a failure, with no
 * control character from the guest: no ASCII control but tab, nothing that
 * is not well-formed UTF-8, no C1 control (U+0080..U+009F). ctl_sanitize is
 * also driven directly with the stream and a small or large buffer: it
 * stays inside the buffer, terminates it, and maps each byte to itself or
 * '?'.
 *
 * vmm/ctl.c is included rather than linked so that its stderr can be
 * captured (a macro points it at a memory stream): its messages are part of
 * what is checked, and do not flood the fuzzer's own output.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iinclude -Icommon -Ivmm tests/fuzz/fuzz_ctl.c common/proto.c \
 *       -o build/fuzz_ctl
 *   cp -r tests/fuzz/corpus/ctl /tmp/c && build/fuzz_ctl -max_total_time=60 /tmp/c
 * (libFuzzer adds to the corpus directory it is given: `make fuzz` gives it a copy)
 *
 * Without libFuzzer (any C compiler), -DFUZZ_MAIN adds a main that runs the
 * files named on the command line, or with none, a fixed-seed random sweep:
 *
 *   cc -DFUZZ_MAIN -D_GNU_SOURCE -Iinclude -Icommon -Ivmm \
 *       tests/fuzz/fuzz_ctl.c common/proto.c -o build/fuzz_ctl_main && \
 *       build/fuzz_ctl_main
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* vmm/ctl.c, with its stderr pointed at a memory stream. */
static FILE *ctl_log;
#undef stderr
#define stderr ctl_log
#include "../../vmm/ctl.c"
#undef stderr
#define stderr stderr

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_ctl: %s:%d: %s\n", __FILE__, __LINE__, \
				#c);                                                 \
			abort();                                                     \
		}                                                                    \
	} while (0)

#define MAX_STREAM (64u * 1024u)
#define MAX_FRAMES (MAX_STREAM / ARCA_MSG_HDR_SIZE + 1)
#define LOG_SIZE   (4u << 20)

/* ---- the reference reading of the stream ------------------------------------ */

static size_t ref_off[MAX_FRAMES]; /* where each whole frame starts */
static size_t ref_n;
static bool ref_broken;
static size_t ref_partial; /* bytes of an unfinished frame at the end */

static void ref_parse(const uint8_t *s, size_t n)
{
	size_t o = 0;
	ref_n = 0;
	ref_broken = false;
	while (n - o >= ARCA_MSG_HDR_SIZE) {
		const uint8_t *h = s + o;
		uint32_t magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
				 (uint32_t)h[3] << 24;
		uint32_t len = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
			       (uint32_t)h[11] << 24;
		if (magic != ARCA_MSG_MAGIC || h[6] || h[7] || len > ARCA_MSG_MAX_PAYLOAD) {
			ref_broken = true;
			return;
		}
		if (n - o - ARCA_MSG_HDR_SIZE < len)
			break;
		ref_off[ref_n++] = o;
		o += ARCA_MSG_HDR_SIZE + len;
	}
	ref_partial = n - o;
}

static uint16_t ref_type(const uint8_t *s, size_t k)
{
	return (uint16_t)(s[ref_off[k] + 4] | s[ref_off[k] + 5] << 8);
}

static uint32_t ref_len(const uint8_t *s, size_t k)
{
	const uint8_t *h = s + ref_off[k] + 8;
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
}

/* ---- terminal-safe text ---------------------------------------------------------- */

/* Length of the UTF-8 sequence at p[0..n) if it is well formed (RFC 3629)
 * and not a C1 control, else 0. Written from the RFC, apart from ctl.c. */
static size_t text_seq(const uint8_t *p, size_t n)
{
	size_t len;
	uint32_t cp, min;
	if (p[0] < 0x80)
		return (p[0] >= 0x20 && p[0] != 0x7f) || p[0] == '\t' ? 1 : 0;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2, cp = p[0] & 0x1fu, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, cp = p[0] & 0x0fu, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, cp = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
		return 0;
	return len;
}

/* Whether s[0..n) is text a terminal only prints (newlines allowed when
 * `lines`). */
static bool terminal_safe(const uint8_t *s, size_t n, bool lines)
{
	for (size_t i = 0; i < n;) {
		if (lines && s[i] == '\n') {
			i++;
			continue;
		}
		size_t k = text_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

static void check_sanitize(const uint8_t *s, size_t n, size_t cap)
{
	static char out[ARCA_MSG_MAX_PAYLOAD + 64];
	size_t trimmed = n;
	if (cap > sizeof(out) - 1)
		cap = sizeof(out) - 1;
	memset(out, 0x5a, cap + 1);
	ctl_sanitize(s, n, out, cap);
	CHECK(out[cap] == 0x5a);
	if (cap == 0)
		return;
	size_t len = strnlen(out, cap);
	CHECK(len < cap);
	while (trimmed && (s[trimmed - 1] == '\n' || s[trimmed - 1] == '\r'))
		trimmed--;
	CHECK(len == (trimmed < cap - 1 ? trimmed : cap - 1));
	for (size_t i = 0; i < len; i++)
		CHECK(out[i] == (char)s[i] || out[i] == '?');
	CHECK(terminal_safe((const uint8_t *)out, len, false));
}

/* ---- chunkings ------------------------------------------------------------------- */

enum { WHOLE, BYTES, RANDOM, NCHUNKINGS };

static uint64_t chunk_rng;

static size_t next_chunk(int how, size_t left)
{
	size_t c;
	switch (how) {
	case WHOLE:
		return left;
	case BYTES:
		return 1;
	default:
		chunk_rng ^= chunk_rng << 13;
		chunk_rng ^= chunk_rng >> 7;
		chunk_rng ^= chunk_rng << 17;
		c = chunk_rng % 8 ? 1 + chunk_rng % 23 : 1 + (chunk_rng >> 8) % 5000;
		return c < left ? c : left;
	}
}

static struct arca_msg msg;

static void check_frame(const uint8_t *s, size_t k)
{
	uint32_t v;
	uint16_t w;
	CHECK(k < ref_n);
	CHECK(msg.len <= ARCA_MSG_MAX_PAYLOAD);
	CHECK(msg.type == ref_type(s, k) && msg.len == ref_len(s, k));
	CHECK(memcmp(msg.payload, s + ref_off[k] + ARCA_MSG_HDR_SIZE, msg.len) == 0);
	/* The payload accessors refuse to read past len. */
	for (size_t off = 0; off < 10; off++) {
		int r = proto_get_le32(&msg, off, &v);
		CHECK(r == (off + 4 <= msg.len ? 0 : -EPROTO));
		if (!r)
			CHECK(v == proto_le32(msg.payload + off));
		r = proto_get_le16(&msg, off, &w);
		CHECK(r == (off + 2 <= msg.len ? 0 : -EPROTO));
	}
}

static void run_decoder(const uint8_t *s, size_t n, int how)
{
	static struct proto_decoder d;
	size_t k = 0, o = 0;
	bool broken = false;
	proto_decoder_init(&d);
	while (o < n && !broken) {
		size_t c = next_chunk(how, n - o);
		const uint8_t *p = s + o;
		o += c;
		while (c) {
			int got = -1;
			int r = proto_decoder_feed(&d, p, c, &msg, &got);
			if (r < 0) {
				CHECK(r == -EPROTO && got == 0);
				broken = true;
				break;
			}
			CHECK((size_t)r <= c && (got == 0 || got == 1));
			/* No frame: everything was taken. */
			CHECK(got || (size_t)r == c);
			if (got)
				check_frame(s, k++);
			p += r;
			c -= (size_t)r;
		}
	}
	CHECK(broken == ref_broken);
	if (broken) {
		int got = -1;
		CHECK(proto_decoder_feed(&d, s, n, &msg, &got) == -EPROTO && got == 0);
		return;
	}
	CHECK(k == ref_n);
	CHECK(d.have == ref_partial);
	int got = -1;
	CHECK(proto_decoder_feed(&d, NULL, 0, &msg, &got) == 0 && got == 0);
}

/* ---- ctl ------------------------------------------------------------------------- */

struct fate {
	bool hello, have_exit, failed;
	int exit_code;
	unsigned on_exit, lines;
};

static unsigned on_exit_calls;

static void count_exit(void *opaque)
{
	on_exit_calls++;
}

/* What ctl_feed must make of the stream, from its rules. */
static struct fate ref_ctl(const uint8_t *s, bool verbose)
{
	struct fate f = { 0 };
	for (size_t k = 0; k < ref_n && !f.failed; k++) {
		const uint8_t *p = s + ref_off[k] + ARCA_MSG_HDR_SIZE;
		uint32_t len = ref_len(s, k);
		uint32_t a = len >= 4 ? proto_le32(p) : 0, b = len >= 8 ? proto_le32(p + 4) : 0;
		bool bad = false;
		switch (ref_type(s, k)) {
		case ARCA_MSG_HELLO:
			if (len < 4 || a != ARCA_ABI_VERSION)
				bad = true;
			else
				f.hello = true;
			break;
		case ARCA_MSG_EXIT:
			if (f.have_exit)
				break;
			if (len < 8 || !((a == ARCA_EXIT_CODE && b <= 255) ||
					 (a == ARCA_EXIT_SIGNAL && b >= 1 && b <= 64))) {
				bad = true;
				break;
			}
			f.exit_code = a == ARCA_EXIT_CODE ? (int)b : 128 + (int)b;
			f.have_exit = true;
			f.on_exit++;
			break;
		case ARCA_MSG_ERROR:
			if (len < 4)
				bad = true;
			else
				f.lines++;
			break;
		case ARCA_MSG_LOG:
			f.lines += verbose;
			break;
		}
		if (bad) {
			f.failed = true;
			f.on_exit++;
			f.lines++;
		}
	}
	if (ref_broken && !f.failed) {
		f.failed = true;
		f.on_exit++;
		f.lines++;
	}
	return f;
}

static char logbuf[LOG_SIZE];
static char first_log[LOG_SIZE];
static size_t first_len;

static void run_ctl(const uint8_t *s, size_t n, bool verbose, int how, const struct fate *want)
{
	static struct ctl c;
	on_exit_calls = 0;
	rewind(ctl_log);
	ctl_init(&c, verbose, count_exit, NULL);
	for (size_t o = 0; o < n;) {
		size_t k = next_chunk(how, n - o);
		ctl_feed(&c, s + o, k);
		o += k;
	}
	fflush(ctl_log);
	long got = ftell(ctl_log);
	CHECK(got >= 0 && (size_t)got < LOG_SIZE);
	size_t len = (size_t)got;

	CHECK(c.hello == want->hello && c.have_exit == want->have_exit);
	CHECK(c.failed == want->failed && on_exit_calls == want->on_exit);
	CHECK(!c.have_exit || c.exit_code == want->exit_code);
	CHECK(c.exit_code >= 0 && c.exit_code <= 255);

	/* Only whole lines, one per message; nothing from the guest steers
	 * the terminal. */
	unsigned lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += logbuf[i] == '\n';
	CHECK(terminal_safe((const uint8_t *)logbuf, len, true));
	CHECK(len == 0 || logbuf[len - 1] == '\n');
	CHECK(lines == want->lines);
	/* The same text whatever the chunking. */
	if (how == WHOLE) {
		memcpy(first_log, logbuf, len);
		first_len = len;
	} else {
		CHECK(len == first_len && memcmp(logbuf, first_log, len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctl_log) {
		ctl_log = fmemopen(logbuf, sizeof(logbuf), "w");
		if (!ctl_log)
			abort();
		setvbuf(ctl_log, NULL, _IONBF, 0);
	}
	if (size < 2)
		return 0;
	bool verbose = data[0] & 1;
	uint8_t flags = data[0];
	uint64_t seed = 0x9e3779b97f4a7c15ull * (data[1] + 1u);
	data += 2;
	size -= 2;
	if (size > MAX_STREAM)
		size = MAX_STREAM;

	ref_parse(data, size);
	for (int how = 0; how < NCHUNKINGS; how++) {
		chunk_rng = seed;
		run_decoder(data, size, how);
	}
	static const size_t caps[8] = { 0, 1, 2, 3, 5, 16, 4097, 64 };
	size_t cap = caps[(flags >> 1) & 7];
	check_sanitize(data, size < ARCA_MSG_MAX_PAYLOAD ? size : ARCA_MSG_MAX_PAYLOAD, cap);

	struct fate want = ref_ctl(data, verbose);
	for (int how = 0; how < NCHUNKINGS; how++) {
		chunk_rng = seed;
		run_ctl(data, size, verbose, how, &want);
	}
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

int main(int argc, char **argv)
{
	static uint8_t in[MAX_STREAM + 2];

	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	/* No corpus: streams of mostly well-formed frames of the known types,
	 * a field now and then wrong, sometimes cut short or followed by
	 * garbage. */
	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		in[n++] = fuzz_rnd8();
		in[n++] = fuzz_rnd8();
		for (unsigned f = fuzz_rnd8() % 8; f; f--) {
			static const uint16_t types[] = { 1, 2, 3, 4, 64, 0, 9 };
			uint32_t len = fuzz_rnd8() % 4 ? fuzz_rnd8() % 24 : fuzz_rnd8() * 17u;
			uint8_t *h = in + n;
			proto_put_le32(h, ARCA_MSG_MAGIC);
			proto_put_le16(h + 4, types[fuzz_rnd8() % sizeof(types) / sizeof(types[0])]);
			proto_put_le16(h + 6, 0);
			proto_put_le32(h + 8, len);
			for (uint32_t i = 0; i < len; i++)
				h[12 + i] = fuzz_rnd8() % 4 ? (uint8_t)(0x20 + fuzz_rnd8() % 0x60) : fuzz_rnd8();
			if (len >= 8 && fuzz_rnd8() % 2) { /* a plausible status */
				proto_put_le32(h + 12, fuzz_rnd8() % 3);
				proto_put_le32(h + 16, fuzz_rnd8() % 4 ? fuzz_rnd8() % 70 : 256);
			}
			if (len >= 4 && fuzz_rnd8() % 2 && proto_le16(h + 4) == ARCA_MSG_HELLO)
				proto_put_le32(h + 12, ARCA_ABI_VERSION);
			if (fuzz_rnd8() % 32 == 0) /* one bad header field */
				h[fuzz_rnd8() % 12] ^= (uint8_t)(1u << fuzz_rnd8() % 8);
			n += 12 + len;
		}
		if (fuzz_rnd8() % 4 == 0)
			n -= fuzz_rnd8() % (n - 1);
		else if (fuzz_rnd8() % 8 == 0)
			for (unsigned k = fuzz_rnd8() % 16; k; k--)
				in[n++] = fuzz_rnd8();
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("fuzz_ctl: 20000 random streams, all invariants held\n");
	return 0;
}
#endif
