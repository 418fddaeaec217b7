/* SPDX-License-Identifier: MIT */
/*
 * fsbench: the measuring half of tests/bench/fs. Static (musl) so the same file runs on the
 * test host, in an arca guest and in the QEMU 9p guest. A shell loop of busybox commands
 * would measure fork+exec, not the file system, so every timed loop is here.
 *
 *   fsbench seq FILE MIB           write MIB MiB (1 MiB writes, fsync), drop caches, read back
 *   fsbench files DIR N            create N empty files, stat each, unlink each
 *   fsbench mktree DIR N           N small files (1..4 KiB) in 64 subdirectories (tar input)
 *   fsbench time CMD [ARG...]      run CMD, report its wall time
 *
 * Output: one "key=value" line per measurement (seconds, MB/s = 10^6 bytes/s, ops/s);
 * exit status 1 on any error, with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "fsbench: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

/* Parse a positive count no larger than max; 0 on error. */
static unsigned long count(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max)
		return 0;
	return v;
}

/* Best effort: root in a guest can drop its page cache, so the read pass goes through the
 * file system and not memory; elsewhere (or on tmpfs, which is the page cache) it is a no-op
 * and the report says so. */
static int drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return 0;
	sync();
	ok = write(fd, "3", 1) == 1;
	close(fd);
	return ok;
}

static int cmd_seq(const char *path, const char *mib_s)
{
	unsigned long mib = count(mib_s, 1u << 16);
	char *buf;
	double t0, t1, t2;
	unsigned long i;
	int fd, dropped;

	if (!mib) {
		fprintf(stderr, "fsbench: bad size '%s'\n", mib_s);
		return 1;
	}
	/* Page-aligned, as fio's buffers are: malloc's 1 MiB block starts 16
	 * bytes into a page, so a direct (uncached) 1 MiB write spans 257
	 * pages and a FUSE client sends it as a full request plus one of 16
	 * bytes. */
	buf = aligned_alloc(4096, CHUNK);
	if (!buf)
		return fail("aligned_alloc", "");
	for (i = 0; i < CHUNK; i++)
		buf[i] = (char)(i * 131u + 7u); /* not zeros: no file system gets to skip them */

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("open", path);
	t0 = now();
	for (i = 0; i < mib; i++) {
		size_t off = 0;

		while (off < CHUNK) {
			ssize_t n = write(fd, buf + off, CHUNK - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return fail("write", path);
			}
			off += (size_t)n;
		}
	}
	if (fsync(fd) < 0)
		return fail("fsync", path);
	t1 = now();
	close(fd);

	dropped = drop_caches();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	t2 = now();
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail("read", path);
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	double t3 = now();
	close(fd);
	free(buf);
	if (total != (uint64_t)mib * CHUNK) {
		fprintf(stderr, "fsbench: read %llu bytes back, wrote %llu\n",
			(unsigned long long)total, (unsigned long long)mib * CHUNK);
		return 1;
	}
	printf("seq_write_MBps=%.1f\n", (double)total / 1e6 / (t1 - t0));
	printf("seq_read_MBps=%.1f\n", (double)total / 1e6 / (t3 - t2));
	printf("seq_read_cold=%s\n", dropped ? "yes" : "no");
	return unlink(path) < 0 ? fail("unlink", path) : 0;
}

static int cmd_files(const char *dir, const char *n_s)
{
	unsigned long n = count(n_s, 1000000), i;
	char path[4096];
	struct stat st;
	double t0, t1, t2, t3;

	if (!n) {
		fprintf(stderr, "fsbench: bad count '%s'\n", n_s);
		return 1;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail("mkdir", dir);
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06lu", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd < 0)
			return fail("create", path);
		close(fd);
	}
	t1 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06lu", dir, i);
		if (stat(path, &st) < 0)
			return fail("stat", path);
	}
	t2 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%06lu", dir, i);
		if (unlink(path) < 0)
			return fail("unlink", path);
	}
	t3 = now();
	printf("create_per_s=%.0f\n", (double)n / (t1 - t0));
	printf("stat_per_s=%.0f\n", (double)n / (t2 - t1));
	printf("unlink_per_s=%.0f\n", (double)n / (t3 - t2));
	return rmdir(dir) < 0 ? fail("rmdir", dir) : 0;
}

static int cmd_mktree(const char *dir, const char *n_s)
{
	unsigned long n = count(n_s, 1000000), i;
	char path[4096], buf[4096];

	if (!n) {
		fprintf(stderr, "fsbench: bad count '%s'\n", n_s);
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fail("mkdir", dir);
	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "%s/d%02lu", dir, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return fail("mkdir", path);
	}
	for (i = 0; i < n; i++) {
		size_t len = 1024 + (i * 977u) % 3072u;

		snprintf(path, sizeof(path), "%s/d%02lu/f%06lu", dir, i % 64, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			return fail("create", path);
		if (write(fd, buf, len) != (ssize_t)len)
			return fail("write", path);
		close(fd);
	}
	return 0;
}

static int cmd_time(char **argv)
{
	double t0 = now();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return fail("fork", "");
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "fsbench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return fail("waitpid", "");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "fsbench: %s failed (status 0x%x)\n", argv[0], (unsigned)status);
		return 1;
	}
	printf("time_s=%.3f\n", now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	umask(022);
	if (argc == 4 && !strcmp(argv[1], "seq"))
		return cmd_seq(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "files"))
		return cmd_files(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "mktree"))
		return cmd_mktree(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "time"))
		return cmd_time(argv + 2);
	fprintf(stderr, "usage: fsbench seq FILE MIB | files DIR N | mktree DIR N | time CMD [ARG...]\n");
	return 2;
}
