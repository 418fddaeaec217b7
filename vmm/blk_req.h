/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request decoding (virtio 1.2 section 5.2.6): pure functions over
 * one popped chain, no syscalls, so cmocka and a fuzzer drive them with
 * hostile input.
 *
 * A request is
 *     struct virtio_blk_outhdr (16 bytes, device-readable)
 *     data                     (readable for OUT/DISCARD/WRITE_ZEROES,
 *                               writable for IN/GET_ID)
 *     u8 status                (the chain's last device-writable byte)
 * and the descriptors may split it anywhere (virtio 1.2 2.7.4, "message
 * framing": a device must not assume any particular layout). The header and
 * the DISCARD/WRITE_ZEROES segments are copied out of guest memory before
 * they are checked, so every guest-controlled number is read exactly once;
 * I/O data is never copied: blk_req.iov points into the chain.
 *
 * Results. blk_req_parse returns 0 (do the I/O for r->type), or one negative
 * errno per rule, which blk_req_status turns into the status byte:
 *   -EPROTO      no device-writable byte: there is nowhere to put a status,
 *                so the request cannot even be answered. The device treats
 *                this as a broken queue (DEVICE_NEEDS_RESET), as the virtq
 *                layer does for other malformed chains; r->status is NULL.
 *   -EBADMSG     header shorter than 16 bytes                        IOERR
 *   -EOPNOTSUPP  unknown type, a type whose feature is not offered,
 *                unknown DISCARD/WRITE_ZEROES flags (5.2.6.2)        UNSUPP
 *   -EROFS       OUT, DISCARD or WRITE_ZEROES on a read-only disk    IOERR
 *   -EBADR       data in the wrong direction                         IOERR
 *   -EINVAL      data length 0 or not a multiple of 512 (IN/OUT) or
 *                of 16 (DISCARD/WRITE_ZEROES); a segment of 0
 *                sectors; a GET_ID buffer of 0 bytes                 IOERR
 *   -E2BIG       more data segments than seg_max, more DISCARD/WRITE_ZEROES
 *                segments than max_*_seg (or than the caller's array) IOERR
 *   -EMSGSIZE    one data segment over size_max, data over
 *                BLK_REQ_MAX_DATA, a segment over max_*_sectors      IOERR
 *   -ERANGE      sectors beyond the disk's capacity (or 64-bit
 *                overflow of sector + count)                         IOERR
 * r->why then names the rule (a static string, for the device's one log
 * line). Whatever the result, r->status is valid unless it was -EPROTO.
 *
 * Use:
 *     int rc = blk_req_parse(&e, &params, &r, ranges, nranges_cap);
 *     if (rc == -EPROTO)
 *         -> break the queue
 *     else if (rc < 0)
 *         virtq_push(vq, &e, blk_req_finish(&r, blk_req_status(rc)));
 *     else switch (r.type) {
 *     case VIRTIO_BLK_T_IN:   readv(r.iov, r.niov) at r.sector * 512 ...
 *     case VIRTIO_BLK_T_GET_ID: blk_req_put_id(&r, serial); ...
 *     }
 *     ... when the I/O is done:
 *     virtq_push(vq, &e, blk_req_finish(&r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR));
 * The chain's memory must stay as it was (e and r alive, not pushed) until
 * blk_req_finish: r points into it.
 */
#ifndef ARCA_BLK_REQ_H
#define ARCA_BLK_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_blk.h>

#include "virtq.h"

#define BLK_SECTOR_SIZE  512u   /* virtio-blk sectors are always 512 bytes (5.2.6) */
#define BLK_SECTOR_SHIFT 9
#define BLK_REQ_HDR_SIZE 16u    /* sizeof(struct virtio_blk_outhdr) */
/* Largest IN/OUT data we accept in one request. It keeps `written` (a le32
 * in the used ring) from overflowing and one readv/writev below the kernel's
 * MAX_RW_COUNT (0x7ffff000), so a request is never cut short for size alone.
 * Linux builds requests of max_sectors_kb (1280 KiB by default) and at most
 * seg_max * size_max: advertise those so their product stays below this. */
#define BLK_REQ_MAX_DATA (1u << 30)

/* What the device advertises (virtio 1.2 5.2.4) and the disk it serves. */
struct blk_params {
	uint64_t capacity;          /* in 512-byte sectors */
	bool read_only;             /* VIRTIO_BLK_F_RO offered */
	/* Linux honours both when offered (VIRTIO_BLK_F_SEG_MAX: blk queue
	 * max_segments; VIRTIO_BLK_F_SIZE_MAX: max_segment_size), so only a
	 * buggy or hostile driver exceeds them. 0: not offered, not checked. */
	uint32_t seg_max;           /* data segments per request */
	uint32_t size_max;          /* bytes per data segment */
	/* DISCARD / WRITE_ZEROES are offered when both their numbers are
	 * non-zero; otherwise such a request is UNSUPP. */
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
};

/* One DISCARD / WRITE_ZEROES segment, host byte order. The same layout as
 * struct virtio_blk_discard_write_zeroes, so the segments are copied out in
 * one go and converted in place. */
struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;             /* only VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, WRITE_ZEROES only */
};

struct blk_req {
	uint32_t type;              /* VIRTIO_BLK_T_*; 0 when the header was short */
	uint64_t sector;            /* IN/OUT: first sector (any value for the others) */
	/* IN: the writable data before the status byte; OUT: the readable data
	 * after the header; GET_ID: the writable buffer before the status byte.
	 * Split from the chain's iovecs (empty pieces dropped). */
	struct iovec iov[VIRTQ_MAX_SEGS];
	unsigned niov;
	uint64_t len;               /* bytes in iov[] */
	/* DISCARD / WRITE_ZEROES: the caller's array, nranges entries filled. */
	const struct blk_range *ranges;
	unsigned nranges;
	uint8_t *status;            /* last writable byte; NULL only after -EPROTO */
	uint32_t reply_len;         /* bytes written before the status on success:
				     * IN: len; GET_ID: min(20, len); else 0 */
	const char *why;            /* static string: the rule that refused it */
};

/* Decode and check the chain e against p. ranges[0..nranges_cap) receives the
 * DISCARD / WRITE_ZEROES segments (size it to the larger max_*_seg). Returns
 * 0 or a negative errno, as listed above. */
int blk_req_parse(const struct virtq_elem *e, const struct blk_params *p, struct blk_req *r,
		  struct blk_range *ranges, unsigned nranges_cap);

/* The status byte for a blk_req_parse result: 0 -> OK, -EOPNOTSUPP ->
 * UNSUPP, anything else -> IOERR. */
uint8_t blk_req_status(int rc);

/* Write the status byte and return the bytes written into the chain's
 * writable part, for virtq_push: reply_len + 1 for VIRTIO_BLK_S_OK, 1 for an
 * error, 0 when there is no status byte (-EPROTO). */
uint32_t blk_req_finish(const struct blk_req *r, uint8_t status);

/* GET_ID (5.2.6): write the serial, NUL-padded to VIRTIO_BLK_ID_BYTES (no
 * NUL when it is 20 bytes long; longer ones are cut), truncated to the
 * driver's buffer. Returns the bytes written (r->reply_len); 0 if r is not an
 * accepted GET_ID. */
uint32_t blk_req_put_id(const struct blk_req *r, const char *serial);

#endif
