/* SPDX-License-Identifier: MIT */
/*
 * probe blk-verify DEV SEED COUNT [THREADS]
 *
 * What fio's `rw=randwrite verify=crc32c` checks, without fio (whose Debian
 * package drags in Ceph's and Gluster's libraries, too big for the nested
 * test host): THREADS threads (default 4, so requests overlap in the
 * device's queues) write COUNT 4 KiB blocks in all, at pseudo-random
 * 4 KiB-aligned offsets of DEV, with O_DIRECT so every write and read goes
 * to the device and not the guest's page cache. Each block carries its
 * offset, the seed, a generation and a CRC-32C over the rest. After fsync,
 * every block's last write is read back and checked. Prints one ok/not ok
 * line per phase and the probe summary.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "probe.h"

#define BLK 4096u
#define MAGIC 0x6b6c6261u /* "ablk" in memory (little-endian) */
#define BLKGETSIZE64_NR _IOR(0x12, 114, size_t) /* <linux/fs.h> BLKGETSIZE64 */

struct hdr {
	uint32_t magic;
	uint32_t crc;   /* CRC-32C of the block with this field zero */
	uint64_t off;
	uint64_t seed;
	uint64_t gen;
};

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void fill(uint8_t *b, uint64_t off, uint64_t seed, uint64_t gen)
{
	uint64_t s = seed ^ (off * 0x9e3779b97f4a7c15ull) ^ gen;
	if (!s)
		s = 1;
	for (size_t i = 0; i < BLK; i += 8) {
		uint64_t v = xorshift(&s);
		memcpy(b + i, &v, 8);
	}
	struct hdr h = { MAGIC, 0, off, seed, gen };
	memcpy(b, &h, sizeof(h));
	h.crc = crc32c(b, BLK);
	memcpy(b, &h, sizeof(h));
}

struct job {
	int fd;
	uint64_t nblocks, seed, first, count;
	unsigned stride;      /* thread index / count: blocks with idx % n == k */
	unsigned k;
	uint64_t *gen;        /* per block, 0 = never written */
	char err[160];
};

static void *writer(void *arg)
{
	struct job *j = arg;
	uint8_t *b;
	if (posix_memalign((void **)&b, BLK, BLK))
		return (void *)1;
	uint64_t s = j->seed * 2654435761u + j->k + 1;
	for (uint64_t i = 0; i < j->count; i++) {
		/* Only blocks of this thread's residue class: no two threads
		 * write one block, so "last write" is well defined. */
		uint64_t blkno = xorshift(&s) % j->nblocks;
		blkno -= blkno % j->stride;
		blkno += j->k;
		if (blkno >= j->nblocks)
			continue;
		uint64_t g = j->gen[blkno] + 1;
		fill(b, blkno * BLK, j->seed, g);
		if (pwrite(j->fd, b, BLK, (off_t)(blkno * BLK)) != (ssize_t)BLK) {
			snprintf(j->err, sizeof(j->err), "pwrite block %llu: %s",
				 (unsigned long long)blkno, strerror(errno));
			break;
		}
		j->gen[blkno] = g;
	}
	free(b);
	return NULL;
}

int probe_blk_verify(int argc, char **argv)
{
	struct probe_stats st = { 0 };
	if (argc < 4) {
		fprintf(stderr, "usage: probe blk-verify DEV SEED COUNT [THREADS]\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[2], NULL, 0), count = strtoull(argv[3], NULL, 0);
	unsigned nt = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 4;
	if (!nt || nt > 64)
		nt = 4;
	int fd = open(argv[1], O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		probe_report(&st, "open", probe_fail("%s: %s", argv[1], strerror(errno)), NULL);
		return probe_summary(&st);
	}
	uint64_t size = 0;
	if (ioctl(fd, BLKGETSIZE64_NR, &size) < 0 || size < BLK * nt) {
		probe_report(&st, "size", probe_fail("size %llu: %s", (unsigned long long)size,
						     strerror(errno)), NULL);
		return probe_summary(&st);
	}
	uint64_t nblocks = size / BLK;
	uint64_t *gen = calloc(nblocks, sizeof(*gen));
	struct job jobs[64];
	pthread_t th[64];
	for (unsigned k = 0; k < nt; k++) {
		jobs[k] = (struct job){ .fd = fd, .nblocks = nblocks, .seed = seed,
					.count = count / nt, .stride = nt, .k = k, .gen = gen };
		pthread_create(&th[k], NULL, writer, &jobs[k]);
	}
	int rc = PROBE_PASS;
	for (unsigned k = 0; k < nt; k++) {
		pthread_join(th[k], NULL);
		if (jobs[k].err[0] && rc == PROBE_PASS)
			rc = probe_fail("%s", jobs[k].err);
	}
	probe_report(&st, "randwrite", rc, NULL);
	probe_report(&st, "fsync", fsync(fd) < 0 ? probe_fail("fsync: %s", strerror(errno))
						  : PROBE_PASS, NULL);
	uint8_t *b, *want;
	if (posix_memalign((void **)&b, BLK, BLK) || posix_memalign((void **)&want, BLK, BLK))
		return 1;
	uint64_t checked = 0, bad = 0;
	char first_bad[160] = "";
	for (uint64_t blkno = 0; blkno < nblocks; blkno++) {
		if (!gen[blkno])
			continue;
		checked++;
		if (pread(fd, b, BLK, (off_t)(blkno * BLK)) != (ssize_t)BLK) {
			if (!bad++)
				snprintf(first_bad, sizeof(first_bad), "pread block %llu: %s",
					 (unsigned long long)blkno, strerror(errno));
			continue;
		}
		struct hdr h;
		memcpy(&h, b, sizeof(h));
		uint32_t crc = h.crc;
		h.crc = 0;
		memcpy(b, &h, sizeof(h));
		fill(want, blkno * BLK, seed, gen[blkno]);
		if (h.magic != MAGIC || h.off != blkno * BLK || h.seed != seed ||
		    h.gen != gen[blkno] || crc32c(b, BLK) != crc) {
			if (!bad++)
				snprintf(first_bad, sizeof(first_bad),
					 "block %llu: magic %#x off %llu gen %llu/%llu crc %s",
					 (unsigned long long)blkno, h.magic,
					 (unsigned long long)h.off, (unsigned long long)h.gen,
					 (unsigned long long)gen[blkno],
					 crc32c(b, BLK) == crc ? "ok" : "bad");
		}
	}
	if (bad)
		probe_report(&st, "verify", probe_fail("%llu of %llu blocks bad; first: %s",
						       (unsigned long long)bad,
						       (unsigned long long)checked, first_bad), NULL);
	else
		probe_report(&st, "verify", probe_note("%llu blocks, crc32c",
						       (unsigned long long)checked), NULL);
	close(fd);
	return probe_summary(&st);
}
