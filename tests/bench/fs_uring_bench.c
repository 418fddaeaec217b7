/* SPDX-License-Identifier: MIT */
/*
 * The shares' READ/WRITE engines side by side on one file: the synchronous
 * path (fuse_io_execute: preadv/pwritev on the share's thread) against the
 * io_uring engine (vmm/fs_uring.c, the restricted ring arca-vmm uses) at
 * queue depth 1 and 16. 64 KiB requests over a 256 MiB file; buffered I/O
 * (page cache warm after the first pass) and, where the filesystem takes
 * it, O_DIRECT. Prints MB/s; asserts nothing.
 *
 *   build/bench/fs_uring_bench [DIR]    (default /var/tmp)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "fs_uring.h"
#include "fuse_server.h"

#define FILE_SIZE (256ull << 20)
#define REQ (64u << 10)
#define MAXQD 16u

static struct fuse_io ios[MAXQD];
static void *bufs[MAXQD];
static unsigned done_count;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void io_set(unsigned slot, uint32_t opcode, int fd, uint64_t off)
{
	struct fuse_io *io = &ios[slot];
	io->opcode = opcode;
	io->fd = fd;
	io->off = (off_t)off;
	io->len = REQ;
	io->niov = 1;
	io->iov[0] = (struct iovec){ bufs[slot], REQ };
}

static void on_done(void *opaque, uint64_t tag, int32_t res)
{
	if (res != (int32_t)REQ) {
		fprintf(stderr, "request %llu: %d\n", (unsigned long long)tag, res);
		exit(1);
	}
	done_count++;
}

static double run_sync(uint32_t op, int fd)
{
	double t0 = now();
	for (uint64_t off = 0; off < FILE_SIZE; off += REQ) {
		io_set(0, op, fd, off);
		if (fuse_io_execute(&ios[0]) != (ssize_t)REQ) {
			fprintf(stderr, "sync I/O failed\n");
			exit(1);
		}
	}
	return (double)FILE_SIZE / (now() - t0) / 1e6;
}

/* Keep qd requests in flight: refill each slot as its CQE arrives. */
static double run_uring(struct uring *u, uint32_t op, int fd, unsigned qd)
{
	uint64_t next = 0, nreq = FILE_SIZE / REQ;
	double t0 = now();
	done_count = 0;
	for (unsigned s = 0; s < qd && next < nreq; s++, next++) {
		io_set(s, op, fd, next * REQ);
		if (fs_uring_queue(u, &ios[s], s) < 0)
			exit(1);
	}
	while (done_count < nreq) {
		if (uring_submit(u) < 0 || io_uring_submit_and_wait(&u->ring, 1) < 0)
			exit(1);
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			unsigned s = (unsigned)io_uring_cqe_get_data64(cqe);
			int32_t res = cqe->res;
			io_uring_cqe_seen(&u->ring, cqe);
			u->inflight--;
			on_done(NULL, s, res);
			if (next < nreq) {
				io_set(s, op, fd, next++ * REQ);
				if (fs_uring_queue(u, &ios[s], s) < 0)
					exit(1);
			}
		}
	}
	return (double)FILE_SIZE / (now() - t0) / 1e6;
}

static void bench(const char *label, int fd, struct uring *u)
{
	static const uint32_t opsv[] = { FUSE_WRITE, FUSE_READ };
	for (unsigned i = 0; i < 2; i++) {
		uint32_t op = opsv[i];
		double s = run_sync(op, fd);
		double q1 = run_uring(u, op, fd, 1);
		double q16 = run_uring(u, op, fd, 16);
		printf("%-9s %-5s  sync %8.0f MB/s   io_uring qd1 %8.0f MB/s   qd16 %8.0f MB/s\n",
		       label, op == FUSE_READ ? "read" : "write", s, q1, q16);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	char path[4096];
	snprintf(path, sizeof(path), "%s/fs_uring_bench.XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	unlink(path);
	for (unsigned s = 0; s < MAXQD; s++) {
		if (posix_memalign(&bufs[s], 4096, REQ))
			return 1;
		memset(bufs[s], (int)s + 1, REQ);
	}
	struct uring u;
	int r = uring_init(&u, MAXQD);
	if (r < 0) {
		fprintf(stderr, "io_uring unavailable: %s\n", strerror(-r));
		return 77;
	}
	/* Written once untimed: the first pass would measure block allocation. */
	(void)run_sync(FUSE_WRITE, fd);
	fsync(fd);
	printf("256 MiB file in %s, 64 KiB requests\n", dir);
	bench("buffered", fd, &u);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int dfd = open(proc, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (dfd >= 0) {
		bench("O_DIRECT", dfd, &u);
		close(dfd);
	} else {
		printf("O_DIRECT: %s (not measured)\n", strerror(errno));
	}
	uring_fini(&u);
	close(fd);
	return 0;
}
