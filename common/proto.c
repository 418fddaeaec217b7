/* SPDX-License-Identifier: MIT */
/*
 * Control-channel framing (include/arca/abi.h). Pure code, libc headers
 * only: it is built with glibc for arca-vmm and with musl for arca-init.
 *
 * The decoder runs in the VMM on bytes the guest chose, so it treats every
 * header field as hostile: the payload length is checked against
 * ARCA_MSG_MAX_PAYLOAD before a single payload byte is buffered, and once a
 * stream is found malformed it stays rejected (resynchronising on a guessed
 * magic would let a guest smuggle frames through a "skipped" region).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

int proto_encode(uint8_t *out, size_t cap, uint16_t type,
		 const void *payload, uint32_t len)
{
	if (len > ARCA_MSG_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (len && !payload)
		return -EINVAL;
	/* len <= 4096, so the sum cannot overflow. */
	size_t total = ARCA_MSG_HDR_SIZE + (size_t)len;
	if (!out || cap < total)
		return -ENOSPC;

	proto_put_le32(out, ARCA_MSG_MAGIC);
	proto_put_le16(out + 4, type);
	proto_put_le16(out + 6, 0);
	proto_put_le32(out + 8, len);
	if (len)
		memcpy(out + ARCA_MSG_HDR_SIZE, payload, len);
	return (int)total;
}

int proto_encode_hello(uint8_t *out, size_t cap)
{
	uint8_t p[4];

	proto_put_le32(p, ARCA_ABI_VERSION);
	return proto_encode(out, cap, ARCA_MSG_HELLO, p, sizeof(p));
}

int proto_encode_exit(uint8_t *out, size_t cap, uint32_t kind, uint32_t value)
{
	uint8_t p[8];

	switch (kind) {
	case ARCA_EXIT_CODE:
		if (value > 255)
			return -EINVAL;
		break;
	case ARCA_EXIT_SIGNAL:
		if (value < 1 || value > 64)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	proto_put_le32(p, kind);
	proto_put_le32(p + 4, value);
	return proto_encode(out, cap, ARCA_MSG_EXIT, p, sizeof(p));
}

/*
 * Longest prefix of text[0..len) that fits max bytes without cutting a UTF-8
 * sequence in half (the host prints the text; a dangling lead byte would
 * turn into a replacement character or confuse a terminal).
 */
static size_t utf8_clip(const char *text, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	/* Back off over continuation bytes (10xxxxxx) to a character start. */
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* ERROR and LOG carry diagnostics: a text longer than a frame is clipped
 * rather than refused, so the failure being reported still gets through. */
static int encode_text(uint8_t *out, size_t cap, uint16_t type,
		       const uint8_t *prefix, size_t prefix_len, const char *text)
{
	if (!text)
		text = "";
	size_t n = utf8_clip(text, strlen(text), ARCA_MSG_MAX_PAYLOAD - prefix_len);
	size_t total = ARCA_MSG_HDR_SIZE + prefix_len + n;

	if (!out || cap < total)
		return -ENOSPC;
	proto_put_le32(out, ARCA_MSG_MAGIC);
	proto_put_le16(out + 4, type);
	proto_put_le16(out + 6, 0);
	proto_put_le32(out + 8, (uint32_t)(prefix_len + n));
	if (prefix_len)
		memcpy(out + ARCA_MSG_HDR_SIZE, prefix, prefix_len);
	if (n)
		memcpy(out + ARCA_MSG_HDR_SIZE + prefix_len, text, n);
	return (int)total;
}

int proto_encode_error(uint8_t *out, size_t cap, uint32_t code, const char *text)
{
	uint8_t p[4];

	if (code > 255)
		return -EINVAL;
	proto_put_le32(p, code);
	return encode_text(out, cap, ARCA_MSG_ERROR, p, sizeof(p), text);
}

int proto_encode_log(uint8_t *out, size_t cap, const char *text)
{
	return encode_text(out, cap, ARCA_MSG_LOG, NULL, 0, text);
}

int proto_encode_times(uint8_t *out, size_t cap, const uint64_t *ns, uint32_t n)
{
	uint8_t p[4 + 8 * ARCA_MARK_NR];

	if (n > ARCA_MARK_NR)
		return -EINVAL;
	proto_put_le32(p, n);
	for (uint32_t i = 0; i < n; i++)
		proto_put_le64(p + 4 + 8 * i, ns[i]);
	return proto_encode(out, cap, ARCA_MSG_TIMES, p, 4 + 8 * n);
}

int proto_decode_times(const struct arca_msg *m, uint64_t ns[ARCA_MARK_NR])
{
	uint32_t n;

	if (proto_get_le32(m, 0, &n) < 0 || n > ARCA_MARK_NR || m->len != 4 + 8 * n)
		return -EPROTO;
	for (uint32_t i = 0; i < ARCA_MARK_NR; i++)
		ns[i] = i < n ? (uint64_t)proto_le32(m->payload + 4 + 8 * i) |
					(uint64_t)proto_le32(m->payload + 8 + 8 * i) << 32
			      : 0;
	return 0;
}

void proto_decoder_init(struct proto_decoder *d)
{
	d->have = 0;
	d->broken = 0;
}

/* Header is complete in d->buf: 0 if acceptable, -EPROTO otherwise. */
static int check_header(const uint8_t *h)
{
	if (proto_le32(h) != ARCA_MSG_MAGIC)
		return -EPROTO;
	if (proto_le16(h + 6) != 0)
		return -EPROTO;
	if (proto_le32(h + 8) > ARCA_MSG_MAX_PAYLOAD)
		return -EPROTO;
	return 0;
}

int proto_decoder_feed(struct proto_decoder *d, const uint8_t *data, size_t len,
		       struct arca_msg *msg, int *got)
{
	size_t used = 0;

	*got = 0;
	if (d->broken)
		return -EPROTO;
	if (len && !data)
		return -EINVAL;

	/* At most one frame's worth (<= HDR + MAX_PAYLOAD bytes) is consumed
	 * per call, so `used` always fits the int return value. */
	for (;;) {
		/* Invariant: d->have <= HDR + payload length (once known). */
		size_t want = ARCA_MSG_HDR_SIZE;
		if (d->have >= ARCA_MSG_HDR_SIZE)
			want += proto_le32(d->buf + 8);

		if (d->have == want) {
			uint32_t plen = proto_le32(d->buf + 8);
			msg->type = proto_le16(d->buf + 4);
			msg->len = plen;
			memcpy(msg->payload, d->buf + ARCA_MSG_HDR_SIZE, plen);
			d->have = 0;
			*got = 1;
			return (int)used;
		}
		if (used == len)
			return (int)used;

		size_t n = want - d->have;
		if (n > len - used)
			n = len - used;
		memcpy(d->buf + d->have, data + used, n);
		d->have += n;
		used += n;

		/* Validate as soon as the header is whole, before any payload
		 * byte is accepted: the length bounds the copy above. */
		if (d->have == ARCA_MSG_HDR_SIZE && check_header(d->buf) < 0) {
			d->broken = 1;
			return -EPROTO;
		}
	}
}

int proto_decoder_each(struct proto_decoder *d, const uint8_t *data, size_t len,
		       struct arca_msg *scratch,
		       int (*fn)(void *ctx, const struct arca_msg *m), void *ctx,
		       size_t *used)
{
	const uint8_t *p = data; /* not data + off: NULL + 0 is undefined */
	size_t off = 0;
	int r = 0;

	/* Terminates: without a frame, feed consumes all that is left; a
	 * frame takes at least a header's worth of new bytes, since none is
	 * ever left complete in d between calls. */
	while (off < len) {
		int got = 0;
		int k = proto_decoder_feed(d, p, len - off, scratch, &got);
		if (k < 0) {
			r = -EPROTO;
			break;
		}
		p += k;
		off += (size_t)k;
		if (got && (r = fn(ctx, scratch)) != 0)
			break;
	}
	if (used)
		*used = off;
	return r;
}

int proto_get_le32(const struct arca_msg *m, size_t off, uint32_t *v)
{
	if (m->len > ARCA_MSG_MAX_PAYLOAD || off > m->len || m->len - off < 4)
		return -EPROTO;
	*v = proto_le32(m->payload + off);
	return 0;
}

int proto_get_le16(const struct arca_msg *m, size_t off, uint16_t *v)
{
	if (m->len > ARCA_MSG_MAX_PAYLOAD || off > m->len || m->len - off < 2)
		return -EPROTO;
	*v = proto_le16(m->payload + off);
	return 0;
}
