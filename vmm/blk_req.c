/* SPDX-License-Identifier: MIT */
/* virtio-blk request decoding: see blk_req.h. Spec references are to
 * virtio 1.2, section 5.2 (block device). */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "blk_req.h"
#include "iov.h"

_Static_assert(sizeof(struct virtio_blk_outhdr) == BLK_REQ_HDR_SIZE, "outhdr is 16 bytes");
_Static_assert(sizeof(struct blk_range) == sizeof(struct virtio_blk_discard_write_zeroes) &&
		       offsetof(struct blk_range, num_sectors) ==
			       offsetof(struct virtio_blk_discard_write_zeroes, num_sectors) &&
		       offsetof(struct blk_range, flags) ==
			       offsetof(struct virtio_blk_discard_write_zeroes, flags),
	       "blk_range mirrors virtio_blk_discard_write_zeroes");

static int refuse(struct blk_req *r, int rc, const char *why)
{
	r->why = why;
	return rc;
}

/* Overflow-safe: [sector, sector + n) lies inside the disk. */
static bool in_disk(uint64_t capacity, uint64_t sector, uint64_t n)
{
	return sector <= capacity && n <= capacity - sector;
}

/* IN and OUT (5.2.6). */
static int parse_rw(const struct virtq_elem *e, const struct blk_params *p, struct blk_req *r,
		    uint64_t out_data, uint64_t in_data)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;

	/* 5.2.6.2: the device MUST set IOERR for a write request if
	 * VIRTIO_BLK_F_RO is offered, and MUST NOT write any data. */
	if (write && p->read_only)
		return refuse(r, -EROFS, "write to a read-only disk");
	/* 5.2.6: OUT data is device-readable, IN data device-writable; the
	 * other part holds only the header (OUT) or the status (IN). */
	if (write ? in_data != 0 : out_data != 0)
		return refuse(r, -EBADR, write ? "OUT request with device-writable data"
					       : "IN request with device-readable data");
	uint64_t len = write ? out_data : in_data;
	/* 5.2.6.1: the length of data MUST be a multiple of 512 bytes for IN
	 * and OUT. An empty transfer is not a request Linux ever makes. */
	if (len == 0 || len % BLK_SECTOR_SIZE != 0)
		return refuse(r, -EINVAL, "data length 0 or not a multiple of 512");
	if (len > BLK_REQ_MAX_DATA)
		return refuse(r, -EMSGSIZE, "data larger than BLK_REQ_MAX_DATA");

	int n = write ? iov_slice(e->iov, (int)e->nout, BLK_REQ_HDR_SIZE, len, r->iov,
				  VIRTQ_MAX_SEGS)
		      : iov_slice(&e->iov[e->nout], (int)e->nin, 0, len, r->iov, VIRTQ_MAX_SEGS);
	if (n < 0) /* cannot happen: the lengths were summed from these iovecs */
		return refuse(r, -EPROTO, "inconsistent chain");
	r->niov = (unsigned)n;
	r->len = len;
	/* 5.2.4: seg_max / size_max bound the data segments of a request
	 * (header and status descriptors not counted). Linux sets its queue's
	 * max_segments and max_segment_size from them. */
	if (p->seg_max && r->niov > p->seg_max)
		return refuse(r, -E2BIG, "more data segments than seg_max");
	if (p->size_max)
		for (unsigned i = 0; i < r->niov; i++)
			if (r->iov[i].iov_len > p->size_max)
				return refuse(r, -EMSGSIZE, "a data segment larger than size_max");
	/* 5.2.6.1: a driver MUST NOT submit a request which would cause a read
	 * or write beyond capacity. */
	if (!in_disk(p->capacity, r->sector, len >> BLK_SECTOR_SHIFT))
		return refuse(r, -ERANGE, "sectors beyond the disk's capacity");
	r->reply_len = write ? 0 : (uint32_t)len;
	return 0;
}

/* GET_ID (5.2.6): the device writes its ID string into the writable data. */
static int parse_get_id(const struct virtq_elem *e, struct blk_req *r, uint64_t out_data,
			uint64_t in_data)
{
	if (out_data != 0)
		return refuse(r, -EBADR, "GET_ID request with device-readable data");
	if (in_data == 0)
		return refuse(r, -EINVAL, "GET_ID without a buffer");
	int n = iov_slice(&e->iov[e->nout], (int)e->nin, 0, in_data, r->iov, VIRTQ_MAX_SEGS);
	if (n < 0)
		return refuse(r, -EPROTO, "inconsistent chain");
	r->niov = (unsigned)n;
	r->len = in_data;
	r->reply_len = in_data < VIRTIO_BLK_ID_BYTES ? (uint32_t)in_data : VIRTIO_BLK_ID_BYTES;
	return 0;
}

/* DISCARD and WRITE_ZEROES (5.2.6): data is n struct
 * virtio_blk_discard_write_zeroes, device-readable. */
static int parse_dwz(const struct virtq_elem *e, const struct blk_params *p, struct blk_req *r,
		     uint64_t out_data, uint64_t in_data, struct blk_range *ranges,
		     unsigned nranges_cap)
{
	bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint32_t max_sect = wz ? p->max_write_zeroes_sectors : p->max_discard_sectors;
	uint32_t max_seg = wz ? p->max_write_zeroes_seg : p->max_discard_seg;
	/* 5.2.6.2: only WRITE_ZEROES knows a flag (UNMAP); the device MUST
	 * answer UNSUPP for unknown flags, and for UNMAP on a DISCARD. */
	uint32_t known = wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;

	/* 5.2.3: the commands exist only with VIRTIO_BLK_F_DISCARD /
	 * VIRTIO_BLK_F_WRITE_ZEROES. */
	if (max_sect == 0 || max_seg == 0)
		return refuse(r, -EOPNOTSUPP, wz ? "WRITE_ZEROES not offered" : "DISCARD not offered");
	/* 5.2.6.2 (RO): both modify the disk. */
	if (p->read_only)
		return refuse(r, -EROFS, wz ? "WRITE_ZEROES on a read-only disk"
					    : "DISCARD on a read-only disk");
	if (in_data != 0)
		return refuse(r, -EBADR, "DISCARD/WRITE_ZEROES with device-writable data");
	/* 5.2.6.1: the data length MUST be a multiple of the segment size. */
	if (out_data == 0 || out_data % sizeof(struct blk_range) != 0)
		return refuse(r, -EINVAL, "segments length 0 or not a multiple of 16");
	uint64_t n = out_data / sizeof(struct blk_range);
	/* 5.2.6.1: no more than max_discard_seg / max_write_zeroes_seg. */
	if (n > max_seg || n > nranges_cap)
		return refuse(r, -E2BIG, "more segments than max_discard_seg/max_write_zeroes_seg");

	/* Read once: everything below looks at the host copy only. */
	size_t bytes = (size_t)n * sizeof(struct blk_range);
	if (virtq_copy_from_out(e, BLK_REQ_HDR_SIZE, ranges, bytes) != bytes)
		return refuse(r, -EPROTO, "inconsistent chain");
	for (unsigned i = 0; i < n; i++) {
		struct blk_range *g = &ranges[i];
		g->sector = le64toh(g->sector);
		g->num_sectors = le32toh(g->num_sectors);
		g->flags = le32toh(g->flags);
		if (g->flags & ~known)
			return refuse(r, -EOPNOTSUPP, "unknown DISCARD/WRITE_ZEROES flag");
		if (g->num_sectors == 0)
			return refuse(r, -EINVAL, "segment of 0 sectors");
		/* 5.2.4: max_discard_sectors / max_write_zeroes_sectors bound
		 * one segment. */
		if (g->num_sectors > max_sect)
			return refuse(r, -EMSGSIZE, "segment larger than max_*_sectors");
		if (!in_disk(p->capacity, g->sector, g->num_sectors))
			return refuse(r, -ERANGE, "segment beyond the disk's capacity");
	}
	r->nranges = (unsigned)n;
	return 0;
}

int blk_req_parse(const struct virtq_elem *e, const struct blk_params *p, struct blk_req *r,
		  struct blk_range *ranges, unsigned nranges_cap)
{
	r->type = 0;
	r->sector = 0;
	r->niov = 0;
	r->len = 0;
	r->ranges = ranges;
	r->nranges = 0;
	r->status = NULL;
	r->reply_len = 0;
	r->why = NULL;

	/* Summed here rather than taken from e->out_len / e->in_len, so the
	 * slices below can never run past the iovecs. At most 256 segments of
	 * < 4 GiB each: no overflow. */
	ssize_t out_len = iov_total(e->iov, (int)e->nout);
	ssize_t in_len = iov_total(&e->iov[e->nout], (int)e->nin);
	if (out_len < 0 || in_len < 0)
		return refuse(r, -EPROTO, "inconsistent chain");

	/* 5.2.6: the status is the last byte the device writes. It may share
	 * a descriptor with data (2.7.4: no framing assumptions), and trailing
	 * empty descriptors do not move it. */
	for (unsigned i = e->nout + e->nin; i-- > e->nout;) {
		if (e->iov[i].iov_len) {
			r->status = (uint8_t *)e->iov[i].iov_base + e->iov[i].iov_len - 1;
			break;
		}
	}
	if (!r->status)
		return refuse(r, -EPROTO, "no device-writable byte for the status");

	/* 5.2.6: the header is device-readable and may be split anywhere. */
	struct virtio_blk_outhdr h;
	if (virtq_copy_from_out(e, 0, &h, sizeof(h)) != sizeof(h))
		return refuse(r, -EBADMSG, "header shorter than 16 bytes");
	r->type = le32toh(h.type);
	r->sector = le64toh(h.sector);
	/* h.ioprio is a hint we do not use. */

	uint64_t out_data = (uint64_t)out_len - BLK_REQ_HDR_SIZE;
	uint64_t in_data = (uint64_t)in_len - 1;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(e, p, r, out_data, in_data);
	case VIRTIO_BLK_T_FLUSH:
		/* 5.2.6.1: the driver MUST set sector to 0 and SHOULD NOT
		 * include data. Neither changes what a flush does, so both
		 * are accepted as they come: refusing would only fail a
		 * sloppy driver's flush, a durability hazard for its data. */
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		return parse_get_id(e, r, out_data, in_data);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_dwz(e, p, r, out_data, in_data, ranges, nranges_cap);
	default:
		/* 5.2.6: VIRTIO_BLK_S_UNSUPP for anything else (SCSI_CMD,
		 * GET_LIFETIME, SECURE_ERASE, zoned commands, legacy BARRIER). */
		return refuse(r, -EOPNOTSUPP, "unsupported request type");
	}
}

uint8_t blk_req_status(int rc)
{
	if (rc == 0)
		return VIRTIO_BLK_S_OK;
	if (rc == -EOPNOTSUPP)
		return VIRTIO_BLK_S_UNSUPP;
	return VIRTIO_BLK_S_IOERR;
}

uint32_t blk_req_finish(const struct blk_req *r, uint8_t status)
{
	if (!r->status)
		return 0;
	*r->status = status;
	return (status == VIRTIO_BLK_S_OK ? r->reply_len : 0) + 1;
}

uint32_t blk_req_put_id(const struct blk_req *r, const char *serial)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	if (r->type != VIRTIO_BLK_T_GET_ID || !r->status || r->why)
		return 0;
	memcpy(id, serial, strnlen(serial, sizeof(id)));
	return (uint32_t)iov_from_buf(r->iov, (int)r->niov, 0, id, r->reply_len);
}
