/* SPDX-License-Identifier: MIT */
/* See mux.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"

/* ---- bounded byte queues --------------------------------------------------- */

int mux_buf_put(struct mux_buf *b, const void *d, size_t n)
{
	if (n > b->max - b->len)
		return -ENOBUFS; /* callers check room first: cannot happen */
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

void mux_buf_consume(struct mux_buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void mux_buf_free(struct mux_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int mux_put_frame(struct mux_buf *b, uint16_t type, uint32_t id, const void *rest,
		  size_t rest_len)
{
	uint8_t f[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	if (rest_len > ARCA_MSG_MAX_PAYLOAD - 4)
		return -EMSGSIZE;
	uint8_t pl[ARCA_MSG_MAX_PAYLOAD];
	proto_put_le32(pl, id);
	if (rest_len)
		memcpy(pl + 4, rest, rest_len);
	int n = proto_encode(f, sizeof(f), type, pl, (uint32_t)(4 + rest_len));
	return n < 0 ? n : mux_buf_put(b, f, (size_t)n);
}

/* ---- state ---------------------------------------------------------------- */

void mux_init(struct mux *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++)
		m->c[i].fd = -1;
	m->next_id = 1;
	proto_decoder_init(&m->gdec);
	m->gout.max = MUX_GUEST_OUT_MAX;
}

void mux_free(struct mux *m)
{
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++)
		mux_buf_free(&m->c[i].out);
	mux_buf_free(&m->gout);
}

static bool id_live(const struct mux *m, uint32_t id)
{
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++)
		if (m->c[i].fd >= 0 && m->c[i].id == id)
			return true;
	return false;
}

struct mux_client *mux_client_add(struct mux *m, int fd)
{
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++) {
		struct mux_client *c = &m->c[i];
		if (c->fd >= 0)
			continue;
		mux_buf_free(&c->out);
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		proto_decoder_init(&c->dec);
		c->out.max = MUX_CLIENT_OUT_MAX;
		c->in_window = ARCA_SESS_STDIN_WINDOW;
		/* Ids are never 0 and never one a live session holds; they
		 * are not reused soon (32 bits), so a late guest frame for an
		 * ended session cannot reach a new one. */
		do
			c->id = m->next_id++;
		while (c->id == 0 || id_live(m, c->id));
		c->fd = fd;
		return c;
	}
	return NULL;
}

void mux_client_gone(struct mux *m, struct mux_client *c)
{
	if (c->started && !c->exited) {
		/* As a terminal's hangup: the command may carry on (its output
		 * then goes nowhere) or end, as it chooses. */
		uint8_t sig[4];
		proto_put_le32(sig, SIGHUP);
		if (m->gout.max - m->gout.len >= ARCA_MSG_HDR_SIZE + 8)
			(void)mux_put_frame(&m->gout, ARCA_SMSG_SIGNAL, c->id, sig, sizeof(sig));
	}
	mux_buf_free(&c->out);
	c->fd = -1;
	c->started = c->exited = c->broken = false;
}

struct client_ctx {
	struct mux *m;
	struct mux_client *c;
};

/* One frame from a client: checked, then passed on to the guest with the
 * client's session id. 0 or -errno (the client is then dropped). */
static int client_frame(void *ctx, const struct arca_msg *msg)
{
	struct mux *m = ((struct client_ctx *)ctx)->m;
	struct mux_client *c = ((struct client_ctx *)ctx)->c;

	if (msg->len < 4)
		return -EPROTO;
	const uint8_t *rest = msg->payload + 4;
	size_t rest_len = msg->len - 4;
	switch (msg->type) {
	case ARCA_SMSG_EXEC_PART:
	case ARCA_SMSG_EXEC:
		if (c->started)
			return -EPROTO;
		c->spec_bytes += rest_len;
		if (c->spec_bytes > ARCA_SESS_SPEC_MAX)
			return -EPROTO;
		if (msg->type == ARCA_SMSG_EXEC)
			c->started = true;
		break;
	case ARCA_SMSG_STDIN:
	case ARCA_SMSG_SIGNAL:
	case ARCA_SMSG_WINSIZE:
		if (!c->started)
			return -EPROTO;
		if (c->exited)
			return 0; /* the session is over: nothing to tell */
		if (msg->type == ARCA_SMSG_STDIN)
			c->in_window -= (int64_t)rest_len;
		break;
	default:
		return -EPROTO;
	}
	int e = mux_put_frame(&m->gout, msg->type, c->id, rest, rest_len);
	if (e < 0)
		return e == -ENOMEM ? -ENOMEM : -EPROTO;
	return 0;
}

int mux_client_bytes(struct mux *m, struct mux_client *c, const uint8_t *d, size_t n)
{
	static struct arca_msg msg;
	struct client_ctx ctx = { m, c };
	return proto_decoder_each(&c->dec, d, n, &msg, client_frame, &ctx, NULL);
}

static struct mux_client *by_id(struct mux *m, uint32_t id)
{
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++)
		if (m->c[i].fd >= 0 && m->c[i].id == id && m->c[i].started && !m->c[i].exited)
			return &m->c[i];
	return NULL;
}

/* One frame from the guest: an acknowledgement, READY, or a session's
 * frame for its client. What matches nothing is counted and dropped. */
static int guest_frame(void *ctx, const struct arca_msg *msg)
{
	struct mux *m = ctx;
	uint32_t id;
	if (proto_get_le32(msg, 0, &id) < 0) {
		m->dropped++;
		return 0;
	}
	if (msg->type == ARCA_SMSG_STDIN_ACK) {
		struct mux_client *c = by_id(m, id);
		uint32_t ack;
		if (!c || proto_get_le32(msg, 4, &ack) < 0) {
			m->dropped++;
			return 0;
		}
		/* Clamped: a guest that over-acknowledges gets no
		 * more than the window in flight. */
		c->in_window += ack;
		if (c->in_window > (int64_t)ARCA_SESS_STDIN_WINDOW)
			c->in_window = ARCA_SESS_STDIN_WINDOW;
		return 0;
	}
	if (msg->type == ARCA_SMSG_READY) {
		uint32_t v;
		if (id == 0 && proto_get_le32(msg, 4, &v) == 0 && v == ARCA_ABI_VERSION)
			m->ready = true;
		return 0;
	}
	struct mux_client *c = by_id(m, id);
	bool known = msg->type == ARCA_SMSG_STDOUT || msg->type == ARCA_SMSG_STDERR ||
		     msg->type == ARCA_SMSG_ERROR || msg->type == ARCA_SMSG_EXIT;
	if (!c || !known) {
		m->dropped++;
		/* Output of a session whose client went away: dropped,
		 * but acknowledged, so that the command (which got
		 * SIGHUP and may carry on) is not blocked for ever on
		 * a full pipe. Bounded by the guest's own sending; an
		 * id that is no live session is ignored by the agent. */
		if (!c && id && (msg->type == ARCA_SMSG_STDOUT || msg->type == ARCA_SMSG_STDERR) &&
		    m->gout.max - m->gout.len >= MUX_ROOM) {
			uint8_t b[4];
			proto_put_le32(b, ARCA_MSG_HDR_SIZE + msg->len);
			(void)mux_put_frame(&m->gout, ARCA_SMSG_OUT_ACK, id, b, sizeof(b));
		}
		return 0;
	}
	/* The client sees its session as id 0. EXIT is checked by
	 * the client as well; here only that it has its 8 bytes. */
	if (msg->type == ARCA_SMSG_EXIT && msg->len != 12) {
		m->dropped++;
		return 0;
	}
	int e = mux_put_frame(&c->out, msg->type, 0, msg->payload + 4, msg->len - 4);
	if (e < 0) {
		c->broken = true; /* cannot happen with the room check */
		return 0;
	}
	if (msg->type == ARCA_SMSG_EXIT)
		c->exited = true;
	return 0;
}

int mux_guest_bytes(struct mux *m, const uint8_t *d, size_t n)
{
	static struct arca_msg msg;
	if (m->guest_broken)
		return 0;
	if (proto_decoder_each(&m->gdec, d, n, &msg, guest_frame, m, NULL) < 0) {
		m->guest_broken = true;
		return -EPROTO;
	}
	return 0;
}

bool mux_can_read_guest(const struct mux *m)
{
	for (size_t i = 0; i < MUX_MAX_CLIENTS; i++)
		if (m->c[i].fd >= 0 && m->c[i].out.max - m->c[i].out.len < MUX_ROOM)
			return false;
	return true;
}

bool mux_can_read_client(const struct mux *m, const struct mux_client *c)
{
	return m->gout.max - m->gout.len >= MUX_ROOM && c->in_window > 0;
}

/* Coalesced to this many bytes: one OUT_ACK per few frames. */
#define MUX_ACK_BATCH (16u << 10)

void mux_client_delivered(struct mux *m, struct mux_client *c, size_t n)
{
	c->out_unacked += n;
	if (!c->started || c->exited || !c->out_unacked)
		return;
	if (c->out_unacked < MUX_ACK_BATCH && c->out.len)
		return;
	/* A small frame; without room it waits for the next delivery. */
	if (m->gout.max - m->gout.len < ARCA_MSG_HDR_SIZE + 8)
		return;
	uint8_t b[4];
	proto_put_le32(b, (uint32_t)(c->out_unacked > UINT32_MAX ? UINT32_MAX : c->out_unacked));
	if (mux_put_frame(&m->gout, ARCA_SMSG_OUT_ACK, c->id, b, sizeof(b)) == 0)
		c->out_unacked = 0;
}

int mux_refuse_frames(uint8_t *out, size_t cap, const char *why)
{
	uint8_t pl[512];
	size_t wl = strlen(why);
	if (wl > sizeof(pl) - 8)
		wl = sizeof(pl) - 8;
	proto_put_le32(pl, 0);
	proto_put_le32(pl + 4, 125);
	memcpy(pl + 8, why, wl);
	int a = proto_encode(out, cap, ARCA_SMSG_ERROR, pl, (uint32_t)(8 + wl));
	if (a < 0)
		return a;
	uint8_t ex[12] = { 0 };
	proto_put_le32(ex + 8, 125);
	int b = proto_encode(out + a, cap - (size_t)a, ARCA_SMSG_EXIT, ex, sizeof(ex));
	return b < 0 ? b : a + b;
}
