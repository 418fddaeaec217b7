/* SPDX-License-Identifier: MIT */
/*
 * Control-channel framing (see include/arca/abi.h). Pure code: no syscalls,
 * used by arca-vmm (decode guest frames) and arca-init (encode them).
 * Error convention: functions return 0 / a positive count on success and a
 * negative errno on failure (-EPROTO malformed stream, -EMSGSIZE too large,
 * -ENOSPC output buffer too small).
 */
#ifndef ARCA_PROTO_H
#define ARCA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"

struct arca_msg {
	uint16_t type;
	uint32_t len;
	uint8_t payload[ARCA_MSG_MAX_PAYLOAD];
};

/* Encode one frame into out[0..cap). Returns bytes written or -errno. */
int proto_encode(uint8_t *out, size_t cap, uint16_t type,
		 const void *payload, uint32_t len);

/* Convenience encoders for the guest side. */
int proto_encode_hello(uint8_t *out, size_t cap);
int proto_encode_exit(uint8_t *out, size_t cap, uint32_t kind, uint32_t value);
int proto_encode_error(uint8_t *out, size_t cap, uint32_t code, const char *text);
/* ERROR (code 0..255) and LOG clip text longer than a frame at a UTF-8
 * character boundary instead of failing. EXIT checks kind and value range
 * (-EINVAL). */
int proto_encode_log(uint8_t *out, size_t cap, const char *text);
/* TIMES: n (at most ARCA_MARK_NR) guest timestamps in ns; -EINVAL beyond. */
int proto_encode_times(uint8_t *out, size_t cap, const uint64_t *ns, uint32_t n);
/* TIMES back into ns[0..ARCA_MARK_NR): marks the guest did not send are 0.
 * -EPROTO if n exceeds ARCA_MARK_NR or the payload is not exactly 4 + 8n
 * bytes. The values themselves are the guest's word: check before use. */
int proto_decode_times(const struct arca_msg *m, uint64_t ns[ARCA_MARK_NR]);

/* Incremental decoder: feed arbitrary chunks, get whole frames. */
struct proto_decoder {
	uint8_t buf[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	size_t have;
	int broken; /* sticky: once a stream is malformed it stays rejected */
};

void proto_decoder_init(struct proto_decoder *d);

/*
 * Consume bytes from data[0..len). Stops after one complete frame: returns
 * the number of bytes consumed (>= 0) and sets *got to 1 with the frame in
 * *msg, or consumes everything and sets *got to 0. Call again with the rest.
 * Returns -EPROTO (sticky) on a malformed stream.
 */
int proto_decoder_feed(struct proto_decoder *d, const uint8_t *data, size_t len,
		       struct arca_msg *msg, int *got);

/*
 * The loop every reader of a frame stream needs: feeds data[0..len) to d
 * and calls fn(ctx, scratch) for each complete frame, in order, with the
 * frame in *scratch, the caller's buffer (struct arca_msg is over 4 KiB);
 * the next frame overwrites it.
 *
 * fn returns 0 to go on, anything else to stop after that frame: the
 * frame stays in *scratch and the bytes after it are not fed (a caller
 * that holds the frame picks up from *used; one that is done with the
 * stream drops them).
 *
 * Returns:
 *   0          all of data was fed (an empty buffer: at once, d not
 *              asked);
 *   fn's value when fn stopped. It may be a negative errno; a caller
 *              that must tell its stop from a bad stream stops with a
 *              positive value instead;
 *   -EPROTO    d refused the bytes: a malformed stream (d stays broken
 *              until proto_decoder_init), a d broken before, or data
 *              NULL with len > 0. Frames before the bad one went to fn.
 * *used, when used is not NULL, is set in every case: the bytes fed up to
 * the end of the last whole frame, or len when 0 is returned.
 */
int proto_decoder_each(struct proto_decoder *d, const uint8_t *data, size_t len,
		       struct arca_msg *scratch,
		       int (*fn)(void *ctx, const struct arca_msg *m), void *ctx,
		       size_t *used);

/* Payload accessors: return 0 or -EPROTO if the payload is too short. */
int proto_get_le32(const struct arca_msg *m, size_t off, uint32_t *v);
int proto_get_le16(const struct arca_msg *m, size_t off, uint16_t *v);

static inline void proto_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void proto_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void proto_put_le64(uint8_t *p, uint64_t v)
{
	proto_put_le32(p, (uint32_t)v);
	proto_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t proto_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t proto_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t proto_le64(const uint8_t *p)
{
	return (uint64_t)proto_le32(p) | ((uint64_t)proto_le32(p + 4) << 32);
}

#endif
