/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the virtio-blk request decoder (vmm/blk_req.c).
 *
 * The input picks the disk (capacity, read-only, advertised limits) and a
 * chain: how many descriptors, how many of them device-readable, and each
 * one's length; the rest is the readable bytes (header, data, segments).
 * Besides crashes and sanitizer reports, it checks what the device relies
 * on: an accepted request never reaches past the disk or the chain, its data
 * iovecs never cover the status byte, the advertised limits hold, and
 * `written` never exceeds the writable part.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -Iinclude -Icommon -Ivmm tests/fuzz/fuzz_blk_req.c vmm/blk_req.c \
 *       vmm/virtq.c vmm/guestmem.c common/iov.c -o build/fuzz_blk_req
 *   build/fuzz_blk_req -max_total_time=60
 *
 * Without libFuzzer (any C compiler), -DFUZZ_MAIN adds a main that runs the
 * files named on the command line, or with none, a fixed-seed random sweep:
 *
 *   cc -DFUZZ_MAIN -D_GNU_SOURCE -Iinclude -Icommon -Ivmm \
 *       tests/fuzz/fuzz_blk_req.c vmm/blk_req.c vmm/virtq.c vmm/guestmem.c \
 *       common/iov.c -o build/fuzz_blk_req_main && build/fuzz_blk_req_main
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_req.h"

#define MAX_DESC 32u
#define BUF_SIZE (MAX_DESC * 16u * 512u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                     \
	do {                                                                         \
		if (!(c)) {                                                          \
			fprintf(stderr, "fuzz_blk_req: %s:%d: %s\n", __FILE__, __LINE__, \
				#c);                                                 \
			abort();                                                     \
		}                                                                    \
	} while (0)

static uint8_t buf[BUF_SIZE];
static struct virtq_elem e;
static struct blk_req r;
static struct blk_range ranges[8];

static const uint64_t capacities[8] = {
	0, 1, 8, 1024, 1ull << 32, 1ull << 55, UINT64_MAX / 512, 100,
};

/* One descriptor length from one input byte: small and odd lengths, or
 * whole sectors. */
static size_t desc_len(uint8_t b)
{
	return b < 0xf0 ? b : (size_t)(b - 0xef) * 512;
}

static bool within(const void *p, size_t len, const uint8_t *lo, const uint8_t *hi)
{
	const uint8_t *q = p;
	return q >= lo && q <= hi && len <= (size_t)(hi - q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t f = data[0];
	struct blk_params p = {
		.capacity = capacities[f >> 5],
		.read_only = f & 1,
		.seg_max = f & 2 ? 4 : 0,
		.size_max = f & 4 ? 1024 : 0,
		.max_discard_sectors = f & 8 ? 64 : 0,
		.max_discard_seg = f & 8 ? 4 : 0,
		.max_write_zeroes_sectors = f & 16 ? 32 : 0,
		.max_write_zeroes_seg = f & 16 ? 8 : 0,
	};
	unsigned ndesc = 1 + data[1] % MAX_DESC;
	unsigned nout = data[2] % (ndesc + 1);
	data += 3;
	size -= 3;
	if (size < ndesc)
		return 0;

	memset(&e, 0, sizeof(e));
	size_t off = 0;
	for (unsigned i = 0; i < ndesc; i++) {
		size_t len = desc_len(data[i]);
		e.iov[i] = (struct iovec){ buf + off, len };
		if (i < nout)
			e.out_len += len;
		else
			e.in_len += len;
		off += len;
	}
	e.nout = nout;
	e.nin = ndesc - nout;
	data += ndesc;
	size -= ndesc;
	/* readable bytes from the input (zeroes once it runs out), writable
	 * ones a marker */
	size_t take = e.out_len < size ? e.out_len : size;
	memcpy(buf, data, take);
	memset(buf + take, 0, e.out_len - take);
	memset(buf + e.out_len, 0xcc, e.in_len);
	const uint8_t *rd_end = buf + e.out_len, *wr_end = buf + off;

	int rc = blk_req_parse(&e, &p, &r, ranges, 8);
	switch (rc) {
	case 0:
	case -EPROTO:
	case -EBADMSG:
	case -EOPNOTSUPP:
	case -EROFS:
	case -EBADR:
	case -EINVAL:
	case -E2BIG:
	case -EMSGSIZE:
	case -ERANGE:
		break;
	default:
		CHECK(!"unexpected result");
	}
	CHECK((rc == -EPROTO) == (e.in_len == 0));
	CHECK(rc == 0 || r.why != NULL);
	if (rc == -EPROTO) {
		CHECK(r.status == NULL);
		CHECK(blk_req_finish(&r, VIRTIO_BLK_S_IOERR) == 0);
		return 0;
	}
	CHECK(r.status == wr_end - 1);

	if (rc == 0) {
		uint64_t sum = 0;
		for (unsigned i = 0; i < r.niov; i++) {
			const struct iovec *v = &r.iov[i];
			CHECK(v->iov_len > 0);
			if (r.type == VIRTIO_BLK_T_OUT)
				CHECK(within(v->iov_base, v->iov_len, buf + 16, rd_end));
			else
				CHECK(within(v->iov_base, v->iov_len, rd_end, wr_end - 1));
			if (p.size_max && (r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_OUT))
				CHECK(v->iov_len <= p.size_max);
			sum += v->iov_len;
		}
		CHECK(sum == r.len);
		switch (r.type) {
		case VIRTIO_BLK_T_IN:
		case VIRTIO_BLK_T_OUT:
			CHECK(r.len > 0 && r.len % 512 == 0 && r.len <= BLK_REQ_MAX_DATA);
			CHECK(r.sector <= p.capacity && r.len / 512 <= p.capacity - r.sector);
			CHECK(!p.seg_max || r.niov <= p.seg_max);
			CHECK(r.type == VIRTIO_BLK_T_IN || !p.read_only);
			break;
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES: {
			bool wz = r.type == VIRTIO_BLK_T_WRITE_ZEROES;
			CHECK(!p.read_only);
			CHECK(r.nranges >= 1 && r.ranges == ranges);
			CHECK(r.nranges <= (wz ? p.max_write_zeroes_seg : p.max_discard_seg));
			for (unsigned i = 0; i < r.nranges; i++) {
				const struct blk_range *g = &ranges[i];
				CHECK(g->num_sectors >= 1);
				CHECK(g->num_sectors <= (wz ? p.max_write_zeroes_sectors
							    : p.max_discard_sectors));
				CHECK(g->sector <= p.capacity &&
				      g->num_sectors <= p.capacity - g->sector);
				CHECK((g->flags & ~(wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0u)) ==
				      0);
			}
			break;
		}
		case VIRTIO_BLK_T_GET_ID:
			CHECK(r.len >= 1 && r.reply_len == (r.len < 20 ? r.len : 20));
			CHECK(blk_req_put_id(&r, "fuzz-serial") == r.reply_len);
			break;
		case VIRTIO_BLK_T_FLUSH:
			break;
		default:
			CHECK(!"accepted an unknown type");
		}
	}
	uint32_t w = blk_req_finish(&r, blk_req_status(rc));
	CHECK(w >= 1 && w <= e.in_len);
	CHECK(*r.status == blk_req_status(rc));
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

int main(int argc, char **argv)
{
	static uint8_t in[4096];

	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	/* No corpus: random chains whose header is usually well formed, so
	 * the sweep gets past the first checks. */
	for (unsigned iter = 0; iter < 200000; iter++) {
		size_t n = 3 + fuzz_rnd8() % 48 + fuzz_rnd8();
		for (size_t i = 0; i < n; i++)
			in[i] = fuzz_rnd8();
		in[1] %= 6;
		size_t hdr = 3 + 1 + in[1] % MAX_DESC;
		if (fuzz_rnd8() % 4 && n >= hdr + 16) {
			static const uint8_t types[] = { 0, 1, 4, 8, 11, 13, 2 };
			memset(in + hdr, 0, 16);
			in[hdr] = types[fuzz_rnd8() % sizeof(types)];
			in[hdr + 8] = fuzz_rnd8() % 16;
			if (fuzz_rnd8() % 8 == 0)
				memset(in + hdr + 8, 0xff, 8);
		}
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("fuzz_blk_req: 200000 random chains, all invariants held\n");
	return 0;
}
#endif
