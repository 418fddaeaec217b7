/* SPDX-License-Identifier: MIT */
/*
 * blkbench: fio's `ioengine=libaio direct=1` core, small and static (musl),
 * so one binary measures an arca guest's disk, a QEMU guest's disk and the
 * host's image file alike (Debian's fio drags 80 MiB of Ceph and Gluster
 * libraries along, too much for the nested test host's initramfs).
 *
 *   blkbench PATH MODE BS QD SECONDS [-b]
 *     MODE  randread | randwrite | read | write
 *     BS    block size in bytes (a multiple of 512)
 *     QD    requests in flight (Linux AIO: io_submit / io_getevents)
 *     -b    buffered (no O_DIRECT), for a file system without it (tmpfs < 6.6)
 *
 * Prints `BENCH iops=N MBps=N.N lat_us=N.N ios=N` (lat: mean time a request
 * was in flight). Writes write pseudo-random data (not zeroes) over the
 * whole device or file; random offsets are BS-aligned and uniform.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLKGETSIZE64_NR _IOR(0x12, 114, size_t)

/* <linux/aio_abi.h> (musl ships no kernel uapi headers): the Linux AIO ABI,
 * x86_64 little-endian layout. */
typedef unsigned long aio_context_t;
enum { IOCB_CMD_PREAD = 0, IOCB_CMD_PWRITE = 1 };
struct io_event {
	uint64_t data, obj;
	int64_t res, res2;
};
struct iocb {
	uint64_t aio_data;
	uint32_t aio_key, aio_rw_flags;
	uint16_t aio_lio_opcode;
	int16_t aio_reqprio;
	uint32_t aio_fildes;
	uint64_t aio_buf, aio_nbytes;
	int64_t aio_offset;
	uint64_t aio_reserved2;
	uint32_t aio_flags, aio_resfd;
};
_Static_assert(sizeof(struct iocb) == 64, "struct iocb is 64 bytes");
#define MAXQD 256

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: blkbench PATH randread|randwrite|read|write BS QD SECONDS [-b]\n");
		return 2;
	}
	const char *mode = argv[2];
	unsigned long bs = strtoul(argv[3], NULL, 0), qd = strtoul(argv[4], NULL, 0);
	double secs = strtod(argv[5], NULL);
	int buffered = argc > 6 && !strcmp(argv[6], "-b");
	int rd = !strcmp(mode, "randread") || !strcmp(mode, "read");
	int rand = !strncmp(mode, "rand", 4);
	if (!bs || bs % 512 || !qd || qd > MAXQD || secs <= 0) {
		fprintf(stderr, "blkbench: bad arguments\n");
		return 2;
	}
	int fd = open(argv[1], (rd ? O_RDONLY : O_RDWR) | (buffered ? 0 : O_DIRECT));
	if (fd < 0) {
		printf("BENCH error=open-%s\n", strerror(errno));
		return 1;
	}
	struct stat st;
	uint64_t size = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (ioctl(fd, BLKGETSIZE64_NR, &size) < 0)
		size = 0;
	uint64_t nblocks = size / bs;
	if (!nblocks) {
		printf("BENCH error=size-%llu\n", (unsigned long long)size);
		return 1;
	}
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, qd, &ctx) < 0) {
		printf("BENCH error=io_setup-%s\n", strerror(errno));
		return 1;
	}
	static struct iocb cbs[MAXQD];
	static struct iocb *cbp[MAXQD];
	static double started[MAXQD];
	uint8_t *buf;
	if (posix_memalign((void **)&buf, 4096, bs * qd))
		return 1;
	uint64_t s = 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < bs * qd; i += 8) {
		uint64_t v = rnd(&s);
		memcpy(buf + i, &v, 8);
	}
	uint64_t seq = 0, ios = 0;
	double lat = 0, t0 = now(), end = t0 + secs;
	for (unsigned i = 0; i < qd; i++) {
		uint64_t blk = rand ? rnd(&s) % nblocks : seq++ % nblocks;
		cbs[i] = (struct iocb){ .aio_data = i, .aio_lio_opcode = rd ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE,
					.aio_fildes = (uint32_t)fd, .aio_buf = (uint64_t)(uintptr_t)(buf + i * bs),
					.aio_nbytes = bs, .aio_offset = (int64_t)(blk * bs) };
		cbp[i] = &cbs[i];
		started[i] = now();
	}
	if (syscall(SYS_io_submit, ctx, (long)qd, cbp) != (long)qd) {
		printf("BENCH error=io_submit-%s\n", strerror(errno));
		return 1;
	}
	unsigned inflight = qd;
	struct io_event ev[MAXQD];
	while (inflight) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)MAXQD, ev, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			printf("BENCH error=io_getevents-%s\n", strerror(errno));
			return 1;
		}
		double t = now();
		long nsub = 0;
		for (long k = 0; k < n; k++) {
			unsigned i = (unsigned)ev[k].data;
			if (ev[k].res != (int64_t)bs) {
				printf("BENCH error=io-%lld\n", (long long)ev[k].res);
				return 1;
			}
			ios++;
			lat += t - started[i];
			inflight--;
			if (t >= end)
				continue;
			uint64_t blk = rand ? rnd(&s) % nblocks : seq++ % nblocks;
			cbs[i].aio_offset = (int64_t)(blk * bs);
			started[i] = t;
			cbp[nsub++] = &cbs[i];
		}
		if (nsub) {
			if (syscall(SYS_io_submit, ctx, nsub, cbp) != nsub) {
				printf("BENCH error=io_submit-%s\n", strerror(errno));
				return 1;
			}
			inflight += (unsigned)nsub;
		}
	}
	double dt = now() - t0;
	if (!rd)
		fsync(fd);
	printf("BENCH iops=%.0f MBps=%.1f lat_us=%.1f ios=%llu\n", (double)ios / dt,
	       (double)ios * (double)bs / dt / 1e6, lat / (double)ios * 1e6, (unsigned long long)ios);
	return 0;
}
