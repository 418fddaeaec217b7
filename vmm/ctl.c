/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <time.h>
#include <string.h>

#include "ctl.h"
#include "monotime.h"

void ctl_init(struct ctl *c, bool verbose, void (*on_exit)(void *), void *opaque)
{
	memset(c, 0, sizeof(*c));
	proto_decoder_init(&c->dec);
	c->verbose = verbose;
	c->on_exit = on_exit;
	c->opaque = opaque;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) that is not a C1 control
 * (U+0080..U+009F: 8-bit terminal controls, CSI among them), or 0. */
static size_t utf8_ok(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0; /* a continuation byte, an overlong lead, or beyond U+10FFFF */
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = p[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

void ctl_sanitize(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return;
	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len && n + 1 < cap;) {
		uint8_t ch = in[i];
		if (ch < 0x80) {
			out[n++] = (ch >= 0x20 && ch != 0x7f) || ch == '\t' ? (char)ch : '?';
			i++;
			continue;
		}
		size_t k = utf8_ok(in + i, len - i);
		if (k == 0 || n + k >= cap) {
			/* Not text (or not room for all of it): one '?' per byte. */
			out[n++] = '?';
			i++;
			continue;
		}
		memcpy(out + n, in + i, k);
		n += k;
		i += k;
	}
	out[n] = 0;
}

static void fail(struct ctl *c, const char *why)
{
	if (!c->failed)
		fprintf(stderr, "arca: guest control channel: %s\n", why);
	c->failed = true;
	if (c->on_exit)
		c->on_exit(c->opaque);
}

static void handle(struct ctl *c, const struct arca_msg *m)
{
	uint32_t a, b;
	char text[ARCA_MSG_MAX_PAYLOAD + 1];

	switch (m->type) {
	case ARCA_MSG_HELLO:
		if (proto_get_le32(m, 0, &a) < 0 || a != ARCA_ABI_VERSION)
			return fail(c, "arca-init speaks another protocol version");
		if (c->hello)
			return; /* once: a repeated HELLO means nothing */
		c->hello = true;
		if (!c->hello_ns)
			c->hello_ns = mono_ns();
		if (c->on_hello)
			c->on_hello(c->hello_opaque);
		break;
	case ARCA_MSG_EXIT:
		if (c->have_exit)
			return; /* first report wins */
		if (proto_get_le32(m, 0, &a) < 0 || proto_get_le32(m, 4, &b) < 0)
			return fail(c, "short EXIT message");
		if (a == ARCA_EXIT_CODE && b <= 255)
			c->exit_code = (int)b;
		else if (a == ARCA_EXIT_SIGNAL && b >= 1 && b <= 64)
			c->exit_code = 128 + (int)b;
		else
			return fail(c, "EXIT message with an invalid status");
		c->exit_kind = a;
		c->exit_value = b;
		c->have_exit = true;
		c->exit_ns = mono_ns();
		if (c->on_exit)
			c->on_exit(c->opaque);
		break;
	case ARCA_MSG_ERROR:
		if (m->len < 4)
			return fail(c, "short ERROR message");
		ctl_sanitize(m->payload + 4, m->len - 4, text, sizeof(text));
		fprintf(stderr, "arca: %s\n", text);
		break;
	case ARCA_MSG_TIMES:
		/* Only printed (vmm/timeline.c checks the order); a bad one is
		 * dropped, not a protocol failure: it never decides anything. */
		if (!c->have_times && proto_decode_times(m, c->times) == 0)
			c->have_times = true;
		break;
	case ARCA_MSG_LOG:
		if (c->verbose) {
			ctl_sanitize(m->payload, m->len, text, sizeof(text));
			fprintf(stderr, "arca-init: %s\n", text);
		}
		break;
	default:
		/* Unknown types are ignored: a newer init may send more. */
		break;
	}
}

/* A frame that failed the channel stops the rest of the chunk. */
static int ctl_frame(void *opaque, const struct arca_msg *m)
{
	struct ctl *c = opaque;
	handle(c, m);
	return c->failed;
}

void ctl_feed(void *opaque, const uint8_t *data, size_t len)
{
	struct ctl *c = opaque;
	struct arca_msg m;

	if (c->failed)
		return;
	if (proto_decoder_each(&c->dec, data, len, &m, ctl_frame, c, NULL) < 0)
		fail(c, "malformed frame");
}
