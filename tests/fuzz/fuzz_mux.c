/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the session mux (launcher/mux.c), the process that
 * parses what a long-lived sandbox's guest sends on its session stream and
 * routes it to `arca exec` clients.
 *
 * The input is a script of operations, each one op byte then, for the ops
 * that carry bytes, a length byte and that many bytes:
 *   op % 8 == 0  bytes from the guest (only when mux_can_read_guest, as the
 *                loop reads)
 *   1..4         bytes from client (op - 1) (when it exists and
 *                mux_can_read_client)
 *   5            a new client
 *   6            client (len % 4) goes away
 *   7            the loop flushes: every queue is drained, and what each
 *                client got is acknowledged (mux_client_delivered)
 * A client whose bytes break the protocol is dropped, as the loop does.
 * Guest bytes are well-formed session frames built from the data (the op
 * byte's high bits pick a type and an id among the live ones), so the
 * fuzzer reaches routing, not only the framing check; op 0xf8 sends the
 * data raw instead.
 *
 * After every operation: each queue is within its bound; every frame in a
 * client's queue decodes, carries id 0 and is one of STDOUT, STDERR,
 * ERROR, EXIT, with nothing after an EXIT; every frame for the guest
 * decodes and carries the id of a session the mux gave out (or is the
 * acknowledgement of output for a session without a client); live ids are
 * unique and nonzero; a client's stdin window never exceeds
 * ARCA_SESS_STDIN_WINDOW.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Icommon \
 *       tests/fuzz/fuzz_mux.c launcher/mux.c common/proto.c -o build/fuzz_mux
 * Without libFuzzer, -DFUZZ_MAIN runs files or a fixed-seed sweep (fuzz_main.h).
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../launcher/mux.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCLIENTS 4

static struct mux M;
static struct mux_client *cl[NCLIENTS];
static uint32_t given[256]; /* every id handed out in this input */
static size_t ngiven;

static bool was_given(uint32_t id)
{
	for (size_t i = 0; i < ngiven; i++)
		if (given[i] == id)
			return true;
	return false;
}

/* Every frame in b decodes; returns how many. */
static size_t check_frames(const struct mux_buf *b, bool to_client)
{
	static struct proto_decoder d;
	static struct arca_msg m;
	size_t off = 0, n = 0;
	bool ended = false;
	proto_decoder_init(&d);
	while (off < b->len) {
		int got = 0;
		int r = proto_decoder_feed(&d, b->p + off, b->len - off, &m, &got);
		assert(r > 0 && got);
		off += (size_t)r;
		n++;
		uint32_t id;
		assert(proto_get_le32(&m, 0, &id) == 0);
		if (to_client) {
			assert(!ended);
			assert(id == 0);
			assert(m.type == ARCA_SMSG_STDOUT || m.type == ARCA_SMSG_STDERR ||
			       m.type == ARCA_SMSG_ERROR || m.type == ARCA_SMSG_EXIT);
			if (m.type == ARCA_SMSG_EXIT) {
				assert(m.len == 12);
				ended = true;
			}
		} else {
			/* Output of a session with no client is acknowledged
			 * whatever its id; everything else is a given id's. */
			assert(was_given(id) || m.type == ARCA_SMSG_OUT_ACK);
		}
	}
	return n;
}

static void check(void)
{
	assert(M.gout.len <= M.gout.max && M.gout.max == MUX_GUEST_OUT_MAX);
	check_frames(&M.gout, false);
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++) {
		const struct mux_client *c = &M.c[i];
		if (c->fd < 0)
			continue;
		assert(c->id != 0);
		assert(c->out.len <= c->out.max && c->out.max == MUX_CLIENT_OUT_MAX);
		assert(c->in_window <= (int64_t)ARCA_SESS_STDIN_WINDOW);
		for (size_t j = i + 1; j < MUX_MAX_CLIENTS; j++)
			assert(M.c[j].fd < 0 || M.c[j].id != c->id);
		check_frames(&c->out, true);
	}
}

static void drop(int k)
{
	if (cl[k]) {
		mux_client_gone(&M, cl[k]);
		cl[k] = NULL;
	}
}

/* Guest bytes: a session frame (type and id picked by sel) around the
 * data, or with sel's top bit, the data as it is. */
static void guest(uint8_t sel, const uint8_t *d, size_t n)
{
	static uint8_t f[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	static uint8_t pl[ARCA_MSG_MAX_PAYLOAD];
	if (sel & 0x80) {
		(void)mux_guest_bytes(&M, d, n);
		return;
	}
	static const uint16_t types[] = { ARCA_SMSG_STDOUT, ARCA_SMSG_STDERR, ARCA_SMSG_ERROR,
					  ARCA_SMSG_EXIT, ARCA_SMSG_STDIN_ACK, ARCA_SMSG_READY,
					  ARCA_SMSG_EXEC, 999 };
	struct mux_client *c = cl[(sel >> 3) % NCLIENTS];
	uint32_t id = c ? c->id : (sel & 1) ? 0 : 0x7fffffffu;
	proto_put_le32(pl, id);
	if (n > sizeof(pl) - 4)
		n = sizeof(pl) - 4;
	memcpy(pl + 4, d, n);
	int k = proto_encode(f, sizeof(f), types[sel % 8], pl, (uint32_t)(4 + n));
	if (k > 0)
		(void)mux_guest_bytes(&M, f, (size_t)k);
}

/* Client bytes: mostly frames of client types with id 0. */
static void client(int k, uint8_t sel, const uint8_t *d, size_t n)
{
	static uint8_t f[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	static uint8_t pl[ARCA_MSG_MAX_PAYLOAD];
	struct mux_client *c = cl[k];
	if (!c || !mux_can_read_client(&M, c))
		return;
	int r;
	if ((sel & 0xe0) == 0xe0) {
		r = mux_client_bytes(&M, c, d, n);
	} else {
		static const uint16_t types[] = { ARCA_SMSG_EXEC_PART, ARCA_SMSG_EXEC,
						  ARCA_SMSG_STDIN, ARCA_SMSG_SIGNAL,
						  ARCA_SMSG_WINSIZE, ARCA_SMSG_STDOUT, 0, 12345 };
		proto_put_le32(pl, sel & 0x40 ? 0xabcdefu : 0);
		if (n > sizeof(pl) - 4)
			n = sizeof(pl) - 4;
		memcpy(pl + 4, d, n);
		int len = proto_encode(f, sizeof(f), types[sel % 8], pl, (uint32_t)(4 + n));
		r = len > 0 ? mux_client_bytes(&M, c, f, (size_t)len) : 0;
	}
	if (r < 0)
		drop(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mux_init(&M);
	memset(cl, 0, sizeof(cl));
	ngiven = 0;
	size_t i = 0;
	int nextfd = 100;
	while (i < size) {
		uint8_t op = data[i++];
		uint8_t len = i < size ? data[i++] : 0;
		if (len > size - i)
			len = (uint8_t)(size - i);
		const uint8_t *d = data + i;
		switch (op % 8) {
		case 0:
			if (mux_can_read_guest(&M)) {
				/* Raw bytes (most likely a malformed stream, the
				 * end) only for op 0xf8. */
				guest((uint8_t)((op >> 3) | (op == 0xf8 ? 0x80 : 0)), d, len);
				i += len;
			}
			break;
		case 1: case 2: case 3: case 4:
			client(op % 8 - 1, op, d, len);
			i += len;
			break;
		case 5:
			/* Every id handed out is remembered (the invariant
			 * needs them all): no more clients once the list is
			 * full. */
			for (int k = 0; k < NCLIENTS && ngiven < sizeof(given) / sizeof(given[0]); k++) {
				if (cl[k])
					continue;
				cl[k] = mux_client_add(&M, nextfd++);
				if (cl[k])
					given[ngiven++] = cl[k]->id;
				break;
			}
			i -= i > 0 && len ? 1 : 0; /* len unused: give the byte back */
			break;
		case 6:
			drop(len % NCLIENTS);
			break;
		case 7:
			M.gout.len = 0;
			for (int k = 0; k < NCLIENTS; k++) {
				if (!cl[k])
					continue;
				size_t got = cl[k]->out.len;
				cl[k]->out.len = 0;
				mux_client_delivered(&M, cl[k], got);
				/* A client whose session ended is closed. */
				if (cl[k]->exited)
					drop(k);
			}
			check_frames(&M.gout, false);
			break;
		}
		check();
		if (M.guest_broken)
			break;
	}
	mux_free(&M);
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

int main(int argc, char **argv)
{
	static uint8_t in[65536];
	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	for (unsigned iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		while (n < 2000) {
			uint8_t op = fuzz_rnd8();
			/* Mostly: add clients, exec, then traffic. */
			if (iter % 3 == 0 && n < 6)
				op = 5;
			in[n++] = op;
			uint8_t len = fuzz_rnd8() % 64;
			in[n++] = len;
			for (uint8_t k = 0; k < len; k++)
				in[n++] = fuzz_rnd8();
		}
		LLVMFuzzerTestOneInput(in, n);
	}
	return 0;
}
#endif
