/* SPDX-License-Identifier: MIT */
/* virtio-blk request decoding against well-formed and hostile chains, built
 * by hand as virtq_elem values over local buffers (no KVM, no rings):
 * overflowing sector ranges, lengths that are not whole sectors, data in the
 * wrong direction, chains with no status byte, headers split anywhere, the
 * status sharing a data descriptor, bad DISCARD/WRITE_ZEROES segments,
 * seg_max/size_max, read-only refusals, and the exact `written` counts. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_req.h"

#define CAP 1024u /* sectors */

static const struct blk_params rw_disk = {
	.capacity = CAP,
	.seg_max = 8,
	.size_max = 4096,
	.max_discard_sectors = 128,
	.max_discard_seg = 4,
	.max_write_zeroes_sectors = 64,
	.max_write_zeroes_seg = 2,
};

/* ---- chain building ---- */

static void ch_init(struct virtq_elem *e)
{
	memset(e, 0, sizeof(*e));
}

static void ch_out(struct virtq_elem *e, void *p, size_t len)
{
	assert_int_equal(e->nin, 0); /* readable before writable, as virtq_pop guarantees */
	e->iov[e->nout++] = (struct iovec){ p, len };
	e->out_len += len;
}

static void ch_in(struct virtq_elem *e, void *p, size_t len)
{
	e->iov[e->nout + e->nin++] = (struct iovec){ p, len };
	e->in_len += len;
}

static void put_hdr(uint8_t *b, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {
		.type = htole32(type), .ioprio = htole32(7), .sector = htole64(sector),
	};
	memcpy(b, &h, sizeof(h));
}

static void put_range(uint8_t *b, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes d = {
		.sector = htole64(sector), .num_sectors = htole32(num), .flags = htole32(flags),
	};
	memcpy(b, &d, sizeof(d));
}

static struct blk_range ranges[8];

static int parse(const struct virtq_elem *e, const struct blk_params *p, struct blk_req *r)
{
	memset(ranges, 0xa5, sizeof(ranges));
	return blk_req_parse(e, p, r, ranges, 8);
}

/* The classic layout: header | data... | status, each in its own descriptor. */
static int simple(const struct blk_params *p, uint32_t type, uint64_t sector, uint8_t *data,
		  size_t len, bool data_writable, struct blk_req *r, uint8_t *status)
{
	uint8_t hdr[16];
	struct virtq_elem e;
	ch_init(&e);
	put_hdr(hdr, type, sector);
	ch_out(&e, hdr, sizeof(hdr));
	if (len && !data_writable)
		ch_out(&e, data, len);
	if (len && data_writable)
		ch_in(&e, data, len);
	ch_in(&e, status, 1);
	return parse(&e, p, r);
}

/* Parse must refuse with rc, the status byte must get `st`, `written` is 1. */
static void expect_refused(int rc_got, int rc, struct blk_req *r, uint8_t *status, uint8_t st)
{
	assert_int_equal(rc_got, rc);
	assert_non_null(r->why);
	assert_ptr_equal(r->status, status);
	assert_int_equal(blk_req_status(rc_got), st);
	*status = 0xee;
	assert_int_equal(blk_req_finish(r, blk_req_status(rc_got)), 1);
	assert_int_equal(*status, st);
}

/* ---- IN / OUT ---- */

static void test_read_ok(void **state)
{
	uint8_t hdr[16], d1[512], d2[1024], st = 0xee;
	struct virtq_elem e;
	struct blk_req r;
	ch_init(&e);
	put_hdr(hdr, VIRTIO_BLK_T_IN, 8);
	ch_out(&e, hdr, 16);
	ch_in(&e, d1, sizeof(d1));
	ch_in(&e, d2, sizeof(d2));
	ch_in(&e, &st, 1);
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 8);
	assert_int_equal(r.niov, 2);
	assert_ptr_equal(r.iov[0].iov_base, d1);
	assert_int_equal(r.iov[0].iov_len, 512);
	assert_ptr_equal(r.iov[1].iov_base, d2);
	assert_int_equal(r.iov[1].iov_len, 1024);
	assert_int_equal(r.len, 1536);
	assert_ptr_equal(r.status, &st);
	assert_null(r.why);
	assert_int_equal(blk_req_status(0), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1537);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	/* a failed read reports only the status byte */
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_IOERR), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
}

static void test_write_ok(void **state)
{
	uint8_t data[2048], st = 0xee;
	struct blk_req r;
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_OUT, CAP - 4, data, sizeof(data), false,
				&r, &st),
			 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(r.sector, CAP - 4); /* ends exactly at capacity */
	assert_int_equal(r.niov, 1);
	assert_ptr_equal(r.iov[0].iov_base, data);
	assert_int_equal(r.len, 2048);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
}

/* The header in three pieces (5 + 7 + 4 bytes), the last shared with data. */
static void test_header_split_three(void **state)
{
	uint8_t flat[16 + 1024], st;
	struct virtq_elem e;
	struct blk_req r;
	put_hdr(flat, VIRTIO_BLK_T_OUT, 0x123);
	ch_init(&e);
	ch_out(&e, flat, 5);
	ch_out(&e, flat + 5, 7);
	ch_out(&e, flat + 12, 4 + 512);
	ch_out(&e, flat + 16 + 512, 512);
	ch_in(&e, &st, 1);
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(r.sector, 0x123);
	assert_int_equal(r.niov, 2);
	assert_ptr_equal(r.iov[0].iov_base, flat + 16);
	assert_int_equal(r.iov[0].iov_len, 512);
	assert_ptr_equal(r.iov[1].iov_base, flat + 16 + 512);
	assert_int_equal(r.len, 1024);
}

/* Header and data in one descriptor; empty descriptors anywhere are ignored. */
static void test_header_and_data_one_desc(void **state)
{
	uint8_t flat[16 + 512], st;
	struct virtq_elem e;
	struct blk_req r;
	put_hdr(flat, VIRTIO_BLK_T_OUT, 1);
	ch_init(&e);
	ch_out(&e, flat, 0);
	ch_out(&e, flat, sizeof(flat));
	ch_out(&e, flat, 0);
	ch_in(&e, &st, 1);
	ch_in(&e, &st, 0);
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(r.niov, 1);
	assert_ptr_equal(r.iov[0].iov_base, flat + 16);
	assert_int_equal(r.iov[0].iov_len, 512);
	assert_ptr_equal(r.status, &st);
}

/* The status is the last byte of the last data descriptor. */
static void test_status_shares_data(void **state)
{
	uint8_t hdr[16], a[512], b[1024 + 1];
	struct virtq_elem e;
	struct blk_req r;
	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_in(&e, a, sizeof(a));
	ch_in(&e, b, sizeof(b));
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_ptr_equal(r.status, &b[1024]);
	assert_int_equal(r.niov, 2);
	assert_int_equal(r.iov[1].iov_len, 1024);
	assert_int_equal(r.len, 1536);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1537);
	assert_int_equal(b[1024], VIRTIO_BLK_S_OK);

	/* everything, header included, in one readable and one writable desc:
	 * a 512-byte read whose status shares the only writable descriptor */
	uint8_t w[513];
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_in(&e, w, sizeof(w));
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(r.niov, 1);
	assert_ptr_equal(r.iov[0].iov_base, w);
	assert_int_equal(r.iov[0].iov_len, 512);
	assert_ptr_equal(r.status, &w[512]);
}

static void test_zero_length_chain(void **state)
{
	uint8_t b[16];
	struct virtq_elem e;
	struct blk_req r;

	ch_init(&e);
	assert_int_equal(parse(&e, &rw_disk, &r), -EPROTO);
	assert_null(r.status);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_IOERR), 0);

	/* descriptors, but all empty */
	ch_init(&e);
	ch_out(&e, b, 0);
	ch_in(&e, b, 0);
	assert_int_equal(parse(&e, &rw_disk, &r), -EPROTO);
	assert_null(r.status);
}

static void test_missing_status(void **state)
{
	uint8_t flat[16 + 512];
	struct virtq_elem e;
	struct blk_req r;
	put_hdr(flat, VIRTIO_BLK_T_OUT, 0);
	ch_init(&e);
	ch_out(&e, flat, sizeof(flat));
	assert_int_equal(parse(&e, &rw_disk, &r), -EPROTO);
	assert_null(r.status);
	assert_non_null(r.why);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 0);
}

static void test_short_header(void **state)
{
	uint8_t hdr[16], st;
	struct virtq_elem e;
	struct blk_req r;
	put_hdr(hdr, VIRTIO_BLK_T_FLUSH, 0);
	ch_init(&e);
	ch_out(&e, hdr, 15);
	ch_in(&e, &st, 1);
	expect_refused(parse(&e, &rw_disk, &r), -EBADMSG, &r, &st, VIRTIO_BLK_S_IOERR);

	/* no readable part at all */
	ch_init(&e);
	ch_in(&e, &st, 1);
	expect_refused(parse(&e, &rw_disk, &r), -EBADMSG, &r, &st, VIRTIO_BLK_S_IOERR);

	/* the header's tail in the writable part does not count */
	uint8_t w[2];
	ch_init(&e);
	ch_out(&e, hdr, 15);
	ch_in(&e, w, 2);
	expect_refused(parse(&e, &rw_disk, &r), -EBADMSG, &r, &w[1], VIRTIO_BLK_S_IOERR);
}

static void test_bad_lengths(void **state)
{
	uint8_t data[1024], st;
	struct blk_req r;
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_IN, 0, data, 513, true, &r, &st), -EINVAL, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_OUT, 0, data, 100, false, &r, &st), -EINVAL,
		       &r, &st, VIRTIO_BLK_S_IOERR);
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_IN, 0, data, 0, true, &r, &st), -EINVAL, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_OUT, 0, data, 0, false, &r, &st), -EINVAL, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_OUT, 0, data, 511, false, &r, &st), -EINVAL,
		       &r, &st, VIRTIO_BLK_S_IOERR);
}

static void test_range(void **state)
{
	uint8_t data[1024], st;
	struct blk_req r;
	struct blk_params p = rw_disk;
	p.size_max = 0;
	/* sector + count wraps around 2^64 */
	expect_refused(simple(&p, VIRTIO_BLK_T_IN, UINT64_MAX, data, 512, true, &r, &st), -ERANGE,
		       &r, &st, VIRTIO_BLK_S_IOERR);
	expect_refused(simple(&p, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, data, 1024, false, &r, &st),
		       -ERANGE, &r, &st, VIRTIO_BLK_S_IOERR);
	/* sector * 512 would wrap: still caught (never multiplied) */
	expect_refused(simple(&p, VIRTIO_BLK_T_IN, 1ull << 55, data, 512, true, &r, &st), -ERANGE,
		       &r, &st, VIRTIO_BLK_S_IOERR);
	/* one sector past the end */
	expect_refused(simple(&p, VIRTIO_BLK_T_IN, CAP - 1, data, 1024, true, &r, &st), -ERANGE, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	expect_refused(simple(&p, VIRTIO_BLK_T_OUT, CAP, data, 512, false, &r, &st), -ERANGE, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	/* the first and the last sector are fine */
	assert_int_equal(simple(&p, VIRTIO_BLK_T_IN, 0, data, 512, true, &r, &st), 0);
	assert_int_equal(simple(&p, VIRTIO_BLK_T_IN, CAP - 1, data, 512, true, &r, &st), 0);
	assert_int_equal(simple(&p, VIRTIO_BLK_T_OUT, CAP - 2, data, 1024, false, &r, &st), 0);
	/* a zero-capacity disk serves nothing */
	p.capacity = 0;
	expect_refused(simple(&p, VIRTIO_BLK_T_IN, 0, data, 512, true, &r, &st), -ERANGE, &r, &st,
		       VIRTIO_BLK_S_IOERR);
}

static void test_wrong_direction(void **state)
{
	uint8_t hdr[16], data[512], extra[512], st;
	struct virtq_elem e;
	struct blk_req r;

	/* OUT whose data is device-writable */
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_OUT, 0, data, 512, true, &r, &st), -EBADR, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	/* IN whose data is device-readable */
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_IN, 0, data, 512, false, &r, &st), -EBADR, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	/* OUT with data on both sides */
	put_hdr(hdr, VIRTIO_BLK_T_OUT, 0);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_out(&e, data, 512);
	ch_in(&e, extra, 512);
	ch_in(&e, &st, 1);
	expect_refused(parse(&e, &rw_disk, &r), -EBADR, &r, &st, VIRTIO_BLK_S_IOERR);
	/* IN with data on both sides */
	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_out(&e, extra, 512);
	ch_in(&e, data, 512);
	ch_in(&e, &st, 1);
	expect_refused(parse(&e, &rw_disk, &r), -EBADR, &r, &st, VIRTIO_BLK_S_IOERR);
}

static void test_read_only(void **state)
{
	uint8_t data[512], seg[16], hdr[16], st;
	struct virtq_elem e;
	struct blk_req r;
	struct blk_params p = rw_disk;
	p.read_only = true;

	expect_refused(simple(&p, VIRTIO_BLK_T_OUT, 0, data, 512, false, &r, &st), -EROFS, &r, &st,
		       VIRTIO_BLK_S_IOERR);
	put_range(seg, 0, 8, 0);
	for (unsigned i = 0; i < 2; i++) {
		uint32_t t = i ? VIRTIO_BLK_T_WRITE_ZEROES : VIRTIO_BLK_T_DISCARD;
		put_hdr(hdr, t, 0);
		ch_init(&e);
		ch_out(&e, hdr, 16);
		ch_out(&e, seg, 16);
		ch_in(&e, &st, 1);
		expect_refused(parse(&e, &p, &r), -EROFS, &r, &st, VIRTIO_BLK_S_IOERR);
	}
	/* reads, flushes and GET_ID still work */
	assert_int_equal(simple(&p, VIRTIO_BLK_T_IN, 0, data, 512, true, &r, &st), 0);
	assert_int_equal(simple(&p, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, &r, &st), 0);
	assert_int_equal(simple(&p, VIRTIO_BLK_T_GET_ID, 0, data, 20, true, &r, &st), 0);
}

static void test_seg_max(void **state)
{
	uint8_t hdr[16], d[9][512], st;
	struct virtq_elem e;
	struct blk_req r;
	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);

	/* exactly seg_max (8) data segments: fine */
	ch_init(&e);
	ch_out(&e, hdr, 16);
	for (unsigned i = 0; i < 8; i++)
		ch_in(&e, d[i], 512);
	ch_in(&e, &st, 1);
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(r.niov, 8);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 8 * 512 + 1);

	/* one more: refused */
	ch_init(&e);
	ch_out(&e, hdr, 16);
	for (unsigned i = 0; i < 9; i++)
		ch_in(&e, d[i], 512);
	ch_in(&e, &st, 1);
	expect_refused(parse(&e, &rw_disk, &r), -E2BIG, &r, &st, VIRTIO_BLK_S_IOERR);

	/* not advertised: not checked */
	struct blk_params p = rw_disk;
	p.seg_max = 0;
	assert_int_equal(parse(&e, &p, &r), 0);
	assert_int_equal(r.niov, 9);

	/* the status sharing the 9th descriptor does not make it a data
	 * segment of its own when it holds nothing else */
	ch_init(&e);
	ch_out(&e, hdr, 16);
	for (unsigned i = 0; i < 8; i++)
		ch_in(&e, d[i], 512);
	ch_in(&e, d[8], 1);
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(r.niov, 8);
}

static void test_size_max(void **state)
{
	static uint8_t big[8192 + 1];
	uint8_t st;
	struct blk_req r;
	struct blk_params p = rw_disk;

	/* one 8 KiB segment over a 4 KiB size_max */
	expect_refused(simple(&p, VIRTIO_BLK_T_OUT, 0, big, 8192, false, &r, &st), -EMSGSIZE, &r,
		       &st, VIRTIO_BLK_S_IOERR);
	/* exactly size_max, with the status in the same descriptor */
	uint8_t hdr[16];
	struct virtq_elem e;
	put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_in(&e, big, 4096 + 1);
	assert_int_equal(parse(&e, &p, &r), 0);
	assert_int_equal(r.iov[0].iov_len, 4096);
	/* not advertised: not checked */
	p.size_max = 0;
	assert_int_equal(simple(&p, VIRTIO_BLK_T_OUT, 0, big, 8192, false, &r, &st), 0);
}

static void test_max_data(void **state)
{
	uint8_t st, hdr[16];
	struct virtq_elem e;
	struct blk_req r;
	struct blk_params p = { .capacity = 1ull << 40 };
	put_hdr(hdr, VIRTIO_BLK_T_OUT, 0);
	/* The parser never touches data bytes, so a 4 GiB - 512 length over
	 * a small buffer is safe to describe. */
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_out(&e, hdr, BLK_REQ_MAX_DATA);
	ch_out(&e, hdr, 512);
	ch_in(&e, &st, 1);
	expect_refused(parse(&e, &p, &r), -EMSGSIZE, &r, &st, VIRTIO_BLK_S_IOERR);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_out(&e, hdr, BLK_REQ_MAX_DATA);
	ch_in(&e, &st, 1);
	assert_int_equal(parse(&e, &p, &r), 0);
	assert_int_equal(r.len, BLK_REQ_MAX_DATA);
}

/* ---- FLUSH, GET_ID, unknown ---- */

static void test_flush(void **state)
{
	uint8_t data[512], st;
	struct blk_req r;
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, &r, &st), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_FLUSH);
	assert_int_equal(r.niov, 0);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);
	/* a non-zero sector and stray data (driver MUST/SHOULD NOT) are accepted */
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_FLUSH, 77, data, 512, false, &r, &st), 0);
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_FLUSH, 0, data, 512, true, &r, &st), 0);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);
}

static void test_get_id(void **state)
{
	uint8_t buf[64], st;
	struct blk_req r;

	/* the usual 20-byte buffer: NUL-padded */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_GET_ID, 0, buf, 20, true, &r, &st), 0);
	assert_int_equal(r.reply_len, 20);
	assert_int_equal(blk_req_put_id(&r, "scratch"), 20);
	assert_memory_equal(buf, "scratch\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	assert_int_equal(buf[20], 'x');
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 21);
	assert_int_equal(st, VIRTIO_BLK_S_OK);

	/* a bigger buffer: still 20 bytes; a 20-byte serial has no NUL; a
	 * longer one is cut */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_GET_ID, 0, buf, 64, true, &r, &st), 0);
	assert_int_equal(blk_req_put_id(&r, "0123456789abcdefghijKLMN"), 20);
	assert_memory_equal(buf, "0123456789abcdefghij", 20);
	assert_int_equal(buf[20], 'x');
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 21);

	/* a short buffer gets the serial's first bytes */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_GET_ID, 0, buf, 4, true, &r, &st), 0);
	assert_int_equal(blk_req_put_id(&r, "scratch"), 4);
	assert_memory_equal(buf, "scra", 4);
	assert_int_equal(buf[4], 'x');
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 5);

	/* the buffer and the status in one descriptor */
	uint8_t hdr[16];
	struct virtq_elem e;
	put_hdr(hdr, VIRTIO_BLK_T_GET_ID, 0);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_in(&e, buf, 21);
	assert_int_equal(parse(&e, &rw_disk, &r), 0);
	assert_int_equal(blk_req_put_id(&r, "id"), 20);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 21);
	assert_int_equal(buf[20], VIRTIO_BLK_S_OK);

	/* no buffer at all, only the status */
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_GET_ID, 0, NULL, 0, true, &r, &st), -EINVAL,
		       &r, &st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_req_put_id(&r, "id"), 0);
	/* buffer on the wrong side */
	expect_refused(simple(&rw_disk, VIRTIO_BLK_T_GET_ID, 0, buf, 20, false, &r, &st), -EBADR,
		       &r, &st, VIRTIO_BLK_S_IOERR);
	/* put_id on an accepted request of another type writes nothing */
	uint8_t sect[512];
	memset(sect, 'x', sizeof(sect));
	assert_int_equal(simple(&rw_disk, VIRTIO_BLK_T_IN, 0, sect, 512, true, &r, &st), 0);
	assert_int_equal(blk_req_put_id(&r, "id"), 0);
	assert_int_equal(sect[0], 'x');
}

static void test_unknown_type(void **state)
{
	static const uint32_t types[] = { 2, 3, 5, 10, 12, 14, 0x80000000u, 0x80000001u, 99,
					  UINT32_MAX };
	uint8_t data[512], st;
	struct blk_req r;
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		expect_refused(simple(&rw_disk, types[i], 0, data, 512, false, &r, &st),
			       -EOPNOTSUPP, &r, &st, VIRTIO_BLK_S_UNSUPP);
		assert_int_equal(r.type, types[i]);
	}
}

static void test_status_codes(void **state)
{
	assert_int_equal(blk_req_status(0), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_req_status(-EOPNOTSUPP), VIRTIO_BLK_S_UNSUPP);
	static const int io[] = { -EBADMSG, -EROFS, -EBADR, -EINVAL, -E2BIG, -EMSGSIZE, -ERANGE,
				  -EPROTO };
	for (unsigned i = 0; i < sizeof(io) / sizeof(io[0]); i++)
		assert_int_equal(blk_req_status(io[i]), VIRTIO_BLK_S_IOERR);
}

/* ---- DISCARD / WRITE_ZEROES ---- */

/* header | n segments in one buffer, cut into two readable descriptors at
 * `cut` bytes | status. */
static int dwz(const struct blk_params *p, uint32_t type, const uint8_t *segs, size_t len,
	       size_t cut, struct blk_req *r, uint8_t *st)
{
	static uint8_t flat[16 + 16 * 16];
	struct virtq_elem e;
	put_hdr(flat, type, 0);
	memcpy(flat + 16, segs, len);
	ch_init(&e);
	ch_out(&e, flat, cut);
	ch_out(&e, flat + cut, 16 + len - cut);
	ch_in(&e, st, 1);
	return parse(&e, p, r);
}

static void test_discard_ok(void **state)
{
	uint8_t s[3 * 16], st;
	struct blk_req r;
	put_range(s, 0, 8, 0);
	put_range(s + 16, CAP - 128, 128, 0);
	put_range(s + 32, 500, 1, 0);
	/* the second segment straddles the descriptor boundary */
	assert_int_equal(dwz(&rw_disk, VIRTIO_BLK_T_DISCARD, s, sizeof(s), 16 + 16 + 5, &r, &st), 0);
	assert_int_equal(r.type, VIRTIO_BLK_T_DISCARD);
	assert_ptr_equal(r.ranges, ranges);
	assert_int_equal(r.nranges, 3);
	assert_int_equal(ranges[0].sector, 0);
	assert_int_equal(ranges[0].num_sectors, 8);
	assert_int_equal(ranges[1].sector, CAP - 128);
	assert_int_equal(ranges[1].num_sectors, 128);
	assert_int_equal(ranges[1].flags, 0);
	assert_int_equal(ranges[2].sector, 500);
	assert_int_equal(r.niov, 0);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);

	/* WRITE_ZEROES may carry UNMAP */
	put_range(s, 10, 64, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	put_range(s + 16, 0, 1, 0);
	assert_int_equal(dwz(&rw_disk, VIRTIO_BLK_T_WRITE_ZEROES, s, 32, 3, &r, &st), 0);
	assert_int_equal(r.nranges, 2);
	assert_int_equal(ranges[0].flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(ranges[0].num_sectors, 64);
	assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);
}

static void test_discard_bad(void **state)
{
	uint8_t s[16 * 16] = { 0 }, st;
	struct blk_req r;
	const uint32_t D = VIRTIO_BLK_T_DISCARD, W = VIRTIO_BLK_T_WRITE_ZEROES;

	/* no segment */
	expect_refused(dwz(&rw_disk, D, s, 0, 16, &r, &st), -EINVAL, &r, &st, VIRTIO_BLK_S_IOERR);
	/* not a multiple of 16 */
	put_range(s, 0, 1, 0);
	put_range(s + 16, 1, 1, 0);
	expect_refused(dwz(&rw_disk, D, s, 24, 16, &r, &st), -EINVAL, &r, &st, VIRTIO_BLK_S_IOERR);
	expect_refused(dwz(&rw_disk, D, s, 15, 16, &r, &st), -EINVAL, &r, &st, VIRTIO_BLK_S_IOERR);
	/* more than max_discard_seg (4) / max_write_zeroes_seg (2) */
	for (unsigned i = 0; i < 16; i++)
		put_range(s + 16 * i, i, 1, 0);
	expect_refused(dwz(&rw_disk, D, s, 5 * 16, 16, &r, &st), -E2BIG, &r, &st,
		       VIRTIO_BLK_S_IOERR);
	assert_int_equal(dwz(&rw_disk, D, s, 4 * 16, 16, &r, &st), 0);
	expect_refused(dwz(&rw_disk, W, s, 3 * 16, 16, &r, &st), -E2BIG, &r, &st,
		       VIRTIO_BLK_S_IOERR);
	/* more than the caller's array, whatever max_*_seg says */
	struct blk_params p = rw_disk;
	p.max_discard_seg = 1000;
	expect_refused(dwz(&p, D, s, 9 * 16, 16, &r, &st), -E2BIG, &r, &st, VIRTIO_BLK_S_IOERR);
	/* a segment beyond capacity, or wrapping */
	put_range(s, CAP - 1, 2, 0);
	expect_refused(dwz(&rw_disk, D, s, 16, 16, &r, &st), -ERANGE, &r, &st, VIRTIO_BLK_S_IOERR);
	put_range(s, UINT64_MAX, 1, 0);
	expect_refused(dwz(&rw_disk, W, s, 16, 16, &r, &st), -ERANGE, &r, &st, VIRTIO_BLK_S_IOERR);
	put_range(s, CAP, 1, 0);
	expect_refused(dwz(&rw_disk, D, s, 16, 16, &r, &st), -ERANGE, &r, &st, VIRTIO_BLK_S_IOERR);
	/* the bad segment is the last of several */
	put_range(s, 0, 1, 0);
	put_range(s + 16, CAP, 1, 0);
	expect_refused(dwz(&rw_disk, D, s, 32, 16, &r, &st), -ERANGE, &r, &st, VIRTIO_BLK_S_IOERR);
	/* 0 sectors */
	put_range(s, 0, 0, 0);
	expect_refused(dwz(&rw_disk, D, s, 16, 16, &r, &st), -EINVAL, &r, &st, VIRTIO_BLK_S_IOERR);
	/* over max_discard_sectors (128) / max_write_zeroes_sectors (64) */
	put_range(s, 0, 129, 0);
	expect_refused(dwz(&rw_disk, D, s, 16, 16, &r, &st), -EMSGSIZE, &r, &st,
		       VIRTIO_BLK_S_IOERR);
	put_range(s, 0, 65, 0);
	expect_refused(dwz(&rw_disk, W, s, 16, 16, &r, &st), -EMSGSIZE, &r, &st,
		       VIRTIO_BLK_S_IOERR);
	/* 5.2.6.2: unknown flags, and UNMAP on a DISCARD, are UNSUPP */
	put_range(s, 0, 1, 2);
	expect_refused(dwz(&rw_disk, W, s, 16, 16, &r, &st), -EOPNOTSUPP, &r, &st,
		       VIRTIO_BLK_S_UNSUPP);
	put_range(s, 0, 1, 0x80000000u | VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	expect_refused(dwz(&rw_disk, W, s, 16, 16, &r, &st), -EOPNOTSUPP, &r, &st,
		       VIRTIO_BLK_S_UNSUPP);
	put_range(s, 0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	expect_refused(dwz(&rw_disk, D, s, 16, 16, &r, &st), -EOPNOTSUPP, &r, &st,
		       VIRTIO_BLK_S_UNSUPP);
	/* not offered */
	p = rw_disk;
	p.max_discard_seg = 0;
	put_range(s, 0, 1, 0);
	expect_refused(dwz(&p, D, s, 16, 16, &r, &st), -EOPNOTSUPP, &r, &st, VIRTIO_BLK_S_UNSUPP);
	p = rw_disk;
	p.max_write_zeroes_sectors = 0;
	expect_refused(dwz(&p, W, s, 16, 16, &r, &st), -EOPNOTSUPP, &r, &st, VIRTIO_BLK_S_UNSUPP);
	/* segments on the writable side */
	uint8_t hdr[16], seg[17];
	struct virtq_elem e;
	put_hdr(hdr, D, 0);
	put_range(seg, 0, 1, 0);
	ch_init(&e);
	ch_out(&e, hdr, 16);
	ch_in(&e, seg, 17);
	expect_refused(parse(&e, &rw_disk, &r), -EBADR, &r, &seg[16], VIRTIO_BLK_S_IOERR);
}

/* ---- arbitrary splitting ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64: fixed seed, same sequence on every run */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Cut [p, p+len) into 1..6 descriptors, some of them empty. */
static void cut(struct virtq_elem *e, uint8_t *p, size_t len, bool writable)
{
	unsigned pieces = 1 + (unsigned)(rnd() % 6);
	size_t off = 0;
	for (unsigned i = 0; i < pieces; i++) {
		size_t take = i + 1 == pieces ? len - off : (size_t)(rnd() % (len - off + 1));
		if (writable)
			ch_in(e, p + off, take);
		else
			ch_out(e, p + off, take);
		off += take;
	}
}

/* Whatever the descriptor boundaries, the same request decodes the same way,
 * and r.iov describes exactly the data bytes, in order. */
static void test_random_splits(void **state)
{
	static uint8_t rd[16 + 4096], wr[4096 + 1];
	struct virtq_elem e;
	struct blk_req r;
	struct blk_params p = rw_disk;
	p.seg_max = 0;
	p.size_max = 0;

	for (unsigned iter = 0; iter < 5000; iter++) {
		unsigned kind = (unsigned)(rnd() % 4);
		uint64_t sector = rnd() % (CAP - 8); /* room for n sectors */
		size_t n = 1 + (size_t)(rnd() % 8);
		uint32_t type;
		size_t out = 16, in = 1;
		switch (kind) {
		case 0:
			type = VIRTIO_BLK_T_IN;
			in += n * 512;
			break;
		case 1:
			type = VIRTIO_BLK_T_OUT;
			out += n * 512;
			break;
		case 2:
			type = VIRTIO_BLK_T_DISCARD;
			n = 1 + n % 4;
			for (size_t i = 0; i < n; i++)
				put_range(rd + 16 + 16 * i, sector, 1 + (uint32_t)i, 0);
			out += n * 16;
			break;
		default:
			type = VIRTIO_BLK_T_GET_ID;
			in += n * 5;
			break;
		}
		put_hdr(rd, type, sector);
		ch_init(&e);
		cut(&e, rd, out, false);
		cut(&e, wr, in, true);
		assert_int_equal(parse(&e, &p, &r), 0);
		assert_int_equal(r.type, type);
		assert_int_equal(r.sector, sector);
		assert_ptr_equal(r.status, &wr[in - 1]);
		uint8_t *base = kind == 1 ? rd + 16 : wr;
		uint64_t off = 0;
		for (unsigned i = 0; i < r.niov; i++) {
			assert_ptr_equal(r.iov[i].iov_base, base + off);
			assert_true(r.iov[i].iov_len > 0);
			off += r.iov[i].iov_len;
		}
		assert_int_equal(off, r.len);
		switch (kind) {
		case 0:
			assert_int_equal(r.len, n * 512);
			assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), n * 512 + 1);
			break;
		case 1:
			assert_int_equal(r.len, n * 512);
			assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);
			break;
		case 2:
			assert_int_equal(r.nranges, n);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(ranges[i].sector, sector);
				assert_int_equal(ranges[i].num_sectors, 1 + i);
			}
			assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK), 1);
			break;
		default:
			assert_int_equal(r.len, n * 5);
			assert_int_equal(blk_req_finish(&r, VIRTIO_BLK_S_OK),
					 (n * 5 < 20 ? n * 5 : 20) + 1);
			break;
		}
		assert_int_equal(wr[in - 1], VIRTIO_BLK_S_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_ok),
		cmocka_unit_test(test_write_ok),
		cmocka_unit_test(test_header_split_three),
		cmocka_unit_test(test_header_and_data_one_desc),
		cmocka_unit_test(test_status_shares_data),
		cmocka_unit_test(test_zero_length_chain),
		cmocka_unit_test(test_missing_status),
		cmocka_unit_test(test_short_header),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_wrong_direction),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_seg_max),
		cmocka_unit_test(test_size_max),
		cmocka_unit_test(test_max_data),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_status_codes),
		cmocka_unit_test(test_discard_ok),
		cmocka_unit_test(test_discard_bad),
		cmocka_unit_test(test_random_splits),
	};
	return cmocka_run_group_tests_name("blk_req", tests, NULL, NULL);
}
