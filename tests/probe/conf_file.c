/* SPDX-License-Identifier: MIT */
/*
 * probe conformance: file data checks. Each runs with its own empty
 * directory as cwd; names are relative to it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static int all_bytes(const unsigned char *b, size_t len, unsigned char v)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

int c_create(void)
{
	struct stat st;
	_cleanup_close_ int fd = open("f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	REQ(fd);
	REQ(fstat(fd, &st));
	REQ_TRUE(S_ISREG(st.st_mode), "not a regular file: mode %o", st.st_mode);
	REQ_EQ(st.st_mode & 07777, 0640);
	REQ_EQ(st.st_size, 0);
	REQ_EQ(st.st_nlink, 1);
	REQ(stat("f", &st));
	REQ_EQ(st.st_mode & 07777, 0640);
	return PROBE_PASS;
}

int c_write_read(void)
{
	static const char msg[] = "hello, share\n";
	char buf[64];
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	REQ_EQ(write(fd, msg, sizeof(msg) - 1), sizeof(msg) - 1);
	REQ_EQ(lseek(fd, 0, SEEK_CUR), sizeof(msg) - 1);
	REQ_EQ(read(fd, buf, sizeof(buf)), 0);
	REQ(close(steal_fd(&fd)));
	fd = open("f", O_RDONLY | O_CLOEXEC);
	REQ(fd);
	REQ_EQ(read(fd, buf, sizeof(buf)), sizeof(msg) - 1);
	REQ_TRUE(!memcmp(buf, msg, sizeof(msg) - 1), "content differs");
	REQ_EQ(read(fd, buf, sizeof(buf)), 0);
	REQ_ERR(write(fd, "x", 1), EBADF);
	return PROBE_PASS;
}

int c_append(void)
{
	char buf[32];
	_cleanup_close_ int fd = -1;

	REQ_OK(write_file(AT_FDCWD, "f", "abc", 3, 0644));
	fd = open("f", O_WRONLY | O_APPEND | O_CLOEXEC);
	REQ(fd);
	REQ_EQ(write(fd, "def", 3), 3);
	/* O_APPEND ignores the file offset: every write lands at EOF */
	REQ_EQ(lseek(fd, 0, SEEK_SET), 0);
	REQ_EQ(write(fd, "gh", 2), 2);
	REQ_EQ(lseek(fd, 0, SEEK_CUR), 8);
	REQ_EQ(read_file(AT_FDCWD, "f", buf, sizeof(buf)), 8);
	REQ_TRUE(!memcmp(buf, "abcdefgh", 8), "content %.8s, expected abcdefgh", buf);
	return PROBE_PASS;
}

int c_pread_pwrite(void)
{
	unsigned char buf[200];
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	REQ_EQ(write(fd, "0123456789", 10), 10);
	REQ_EQ(pwrite(fd, "XY", 2, 4), 2);
	REQ_EQ(pwrite(fd, "end", 3, 100), 3);
	/* pread/pwrite do not move the file offset */
	REQ_EQ(lseek(fd, 0, SEEK_CUR), 10);
	REQ_EQ(pread(fd, buf, sizeof(buf), 0), 103);
	REQ_TRUE(!memcmp(buf, "0123XY6789", 10), "head %.10s", buf);
	REQ_TRUE(all_bytes(buf + 10, 90, 0), "gap 10..99 not zero-filled");
	REQ_TRUE(!memcmp(buf + 100, "end", 3), "tail differs");
	REQ_EQ(pread(fd, buf, 10, 103), 0);
	return PROBE_PASS;
}

int c_stat_after_write(void)
{
	struct stat st, st2;
	const struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char data[1234];
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	memset(data, 'q', sizeof(data));
	REQ(futimens(fd, old));
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_mtim.tv_sec, 1000000000);
	REQ_OK(write_all(fd, data, sizeof(data)));
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, sizeof(data));
	REQ_TRUE(st.st_mtim.tv_sec > 1000000000, "mtime unchanged by write (%lld)",
		 (long long)st.st_mtim.tv_sec);
	REQ_TRUE(st.st_ctim.tv_sec > 1000000000, "ctime not updated");
	/* the path view must agree with the fd view (attribute caches) */
	REQ(stat("f", &st2));
	REQ_EQ(st2.st_ino, st.st_ino);
	REQ_EQ(st2.st_size, sizeof(data));
	REQ_EQ(st2.st_mtim.tv_sec, st.st_mtim.tv_sec);
	REQ_TRUE(st2.st_blocks > 0, "st_blocks 0 after writing %zu bytes", sizeof(data));
	return PROBE_PASS;
}

int c_o_excl(void)
{
	_cleanup_close_ int fd = -1;

	REQ_OK(write_file(AT_FDCWD, "f", "keep", 4, 0644));
	REQ_ERR(open("f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), EEXIST);
	REQ(symlink("f", "l"));
	/* O_EXCL never follows a symlink, even one to an existing file */
	REQ_ERR(open("l", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), EEXIST);
	fd = open("g", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	REQ(fd);
	char buf[8];
	REQ_EQ(read_file(AT_FDCWD, "f", buf, sizeof(buf)), 4);
	return PROBE_PASS;
}

int c_o_trunc(void)
{
	struct stat st;
	char buf[16];
	_cleanup_close_ int fd = -1;

	REQ_OK(write_file(AT_FDCWD, "f", "0123456789", 10, 0644));
	fd = open("f", O_RDWR | O_TRUNC | O_CLOEXEC);
	REQ(fd);
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, 0);
	REQ_EQ(write(fd, "ab", 2), 2);
	REQ(close(steal_fd(&fd)));
	REQ_EQ(read_file(AT_FDCWD, "f", buf, sizeof(buf)), 2);
	REQ(stat("f", &st));
	REQ_EQ(st.st_size, 2);
	return PROBE_PASS;
}

int c_open_errors(void)
{
	REQ(mkdir("d", 0755));
	REQ_OK(write_file(AT_FDCWD, "f", "x", 1, 0644));
	REQ_ERR(open("missing", O_RDONLY | O_CLOEXEC), ENOENT);
	REQ_ERR(open("d", O_WRONLY | O_CLOEXEC), EISDIR);
	REQ_ERR(open("f", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ENOTDIR);
	REQ_ERR(open("f/x", O_RDONLY | O_CLOEXEC), ENOTDIR);
	REQ_ERR(open("missing/x", O_RDWR | O_CREAT | O_CLOEXEC, 0644), ENOENT);
	return PROBE_PASS;
}

int c_unlink_open(void)
{
	struct stat st;
	char buf[16];
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	REQ_EQ(write(fd, "still here", 10), 10);
	REQ(unlink("f"));
	REQ_ERR(stat("f", &st), ENOENT);
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_nlink, 0);
	REQ_EQ(pread(fd, buf, sizeof(buf), 0), 10);
	REQ_TRUE(!memcmp(buf, "still here", 10), "content through the open fd differs");
	REQ_EQ(pwrite(fd, "!", 1, 10), 1);
	REQ_EQ(pread(fd, buf, sizeof(buf), 0), 11);
	/* a new file under the old name is a different file */
	REQ_OK(write_file(AT_FDCWD, "f", "new", 3, 0644));
	REQ_EQ(pread(fd, buf, sizeof(buf), 0), 11);
	return PROBE_PASS;
}

int c_truncate(void)
{
	unsigned char buf[10000];
	struct stat st;
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	memset(buf, 'A', 100);
	REQ_OK(write_all(fd, buf, 100));
	REQ(truncate("f", 10000));
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, 10000);
	REQ_OK(pread_all(fd, buf, 10000, 0));
	REQ_TRUE(all_bytes(buf, 100, 'A'), "data before the grow changed");
	REQ_TRUE(all_bytes(buf + 100, 9900, 0), "grown part not zero-filled");
	REQ(ftruncate(fd, 50));
	REQ(stat("f", &st));
	REQ_EQ(st.st_size, 50);
	/* growing again must not resurrect the bytes cut off by the shrink */
	REQ(ftruncate(fd, 200));
	REQ_EQ(pread(fd, buf, sizeof(buf), 0), 200);
	REQ_TRUE(all_bytes(buf, 50, 'A'), "first 50 bytes changed");
	REQ_TRUE(all_bytes(buf + 50, 150, 0), "old data visible after shrink+grow");
	REQ(ftruncate(fd, 0));
	REQ_EQ(pread(fd, buf, sizeof(buf), 0), 0);
	REQ_ERR(truncate("f", -1), EINVAL);
	return PROBE_PASS;
}

int c_sparse_seek(void)
{
	const off_t mib = 1 << 20;
	unsigned char buf[4096];
	struct stat st;
	off_t d, h;
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	memset(buf, 'D', sizeof(buf));
	REQ_OK(pwrite_all(fd, buf, sizeof(buf), 0));
	REQ_OK(pwrite_all(fd, buf, sizeof(buf), 4 * mib));
	REQ(ftruncate(fd, 8 * mib));
	REQ(fsync(fd));
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, 8 * mib);
	REQ_OK(pread_all(fd, buf, sizeof(buf), 2 * mib));
	REQ_TRUE(all_bytes(buf, sizeof(buf), 0), "hole does not read as zeros");

	d = lseek(fd, 0, SEEK_DATA);
	REQ_EQ(d, 0);
	h = lseek(fd, 0, SEEK_HOLE);
	REQ(h);
	/* the generic implementation reports one data extent up to EOF; a
	 * filesystem with hole support must put the first hole in [4K, 4M) */
	REQ_TRUE(h == st.st_size || (h >= 4096 && h < 4 * mib), "SEEK_HOLE(0) = %lld",
		 (long long)h);
	d = lseek(fd, 2 * mib, SEEK_DATA);
	REQ(d);
	REQ_TRUE(d == 2 * mib || (d > 2 * mib && d <= 4 * mib), "SEEK_DATA(2M) = %lld",
		 (long long)d);
	REQ_ERR(lseek(fd, 8 * mib, SEEK_DATA), ENXIO);
	REQ_ERR(lseek(fd, 9 * mib, SEEK_HOLE), ENXIO);
	if (h == st.st_size)
		return probe_note("no hole reporting (generic SEEK_DATA/SEEK_HOLE), st_blocks=%lld",
				  (long long)st.st_blocks);
	return probe_note("holes reported, st_blocks=%lld", (long long)st.st_blocks);
}

int c_offset_5g(void)
{
	const off_t at = 5LL << 30;
	char buf[16];
	struct stat st;
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	REQ_EQ(pwrite(fd, "beyond4G", 8, at), 8);
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, at + 8);
	REQ_EQ(pread(fd, buf, 8, at), 8);
	REQ_TRUE(!memcmp(buf, "beyond4G", 8), "content at 5 GiB differs");
	/* just past the 32-bit boundary: a truncated offset would land at 0 */
	REQ_EQ(pread(fd, buf, 8, 4LL << 30), 8);
	REQ_TRUE(all_bytes((unsigned char *)buf, 8, 0), "hole at 4 GiB not zero");
	REQ_EQ(lseek(fd, 0, SEEK_END), at + 8);
	REQ_EQ(lseek(fd, -8, SEEK_END), at);
	REQ_EQ(read(fd, buf, sizeof(buf)), 8);
	REQ(close(steal_fd(&fd)));
	REQ(stat("f", &st));
	REQ_EQ(st.st_size, at + 8);
	REQ(truncate("f", (4LL << 30) + 1));
	REQ(stat("f", &st));
	REQ_EQ(st.st_size, (4LL << 30) + 1);
	return PROBE_PASS;
}

int c_fallocate(void)
{
	struct stat st;
	unsigned char buf[4096];
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	if (fallocate(fd, 0, 0, 1 << 20) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return probe_skip("fallocate mode 0: %s", errname(errno));
		return probe_fail("fallocate(0, 1M): %s", errname(errno));
	}
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, 1 << 20);
	REQ_TRUE(st.st_blocks >= 2048, "st_blocks %lld < 2048 after fallocate 1 MiB",
		 (long long)st.st_blocks);
	REQ_OK(pread_all(fd, buf, sizeof(buf), 12345));
	REQ_TRUE(all_bytes(buf, sizeof(buf), 0), "allocated range not zero");
	return PROBE_PASS;
}

int c_fallocate_keep_size(void)
{
	struct stat st;
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	REQ_EQ(write(fd, "abc", 3), 3);
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return probe_skip("FALLOC_FL_KEEP_SIZE: %s", errname(errno));
		return probe_fail("fallocate(KEEP_SIZE): %s", errname(errno));
	}
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, 3);
	return PROBE_PASS;
}

int c_punch_hole(void)
{
	unsigned char buf[3 * 4096];
	struct stat st;
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	memset(buf, 'x', sizeof(buf));
	REQ_OK(write_all(fd, buf, sizeof(buf)));
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return probe_skip("PUNCH_HOLE: %s", errname(errno));
		return probe_fail("fallocate(PUNCH_HOLE): %s", errname(errno));
	}
	REQ(fstat(fd, &st));
	REQ_EQ(st.st_size, sizeof(buf));
	REQ_OK(pread_all(fd, buf, sizeof(buf), 0));
	REQ_TRUE(all_bytes(buf, 4096, 'x'), "data before the hole changed");
	REQ_TRUE(all_bytes(buf + 4096, 4096, 0), "punched range not zero");
	REQ_TRUE(all_bytes(buf + 8192, 4096, 'x'), "data after the hole changed");
	return PROBE_PASS;
}

int c_copy_file_range(void)
{
	enum { N = 100000 };
	_cleanup_free_ unsigned char *a = malloc(N), *b = malloc(N + 20);
	struct prng p;
	off_t in = 10, out = 20;
	size_t left = N - 10;
	_cleanup_close_ int src = -1, dst = -1;

	REQ_TRUE(a && b, "out of memory");
	prng_seed(&p, 42);
	prng_fill(&p, a, N);
	REQ_OK(write_file(AT_FDCWD, "src", a, N, 0644));
	src = open("src", O_RDONLY | O_CLOEXEC);
	REQ(src);
	dst = open("dst", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	REQ(dst);
	while (left) {
		ssize_t n = copy_file_range(src, &in, dst, &out, left, 0);
		if (n < 0 && (errno == ENOSYS || errno == EOPNOTSUPP))
			return probe_skip("copy_file_range: %s", errname(errno));
		REQ(n);
		REQ_TRUE(n > 0, "copy_file_range returned 0 with %zu bytes left", left);
		left -= (size_t)n;
	}
	REQ_EQ(in, N);
	REQ_EQ(out, N + 10);
	REQ_EQ(pread(dst, b, N + 20, 0), N + 10);
	REQ_TRUE(all_bytes(b, 20, 0), "destination head not zero");
	REQ_TRUE(!memcmp(b + 20, a + 10, N - 10), "copied bytes differ");
	return PROBE_PASS;
}

int c_mmap_read(void)
{
	enum { N = 3 * 4096 + 17 };
	unsigned char data[N];
	struct prng p;
	_cleanup_close_ int fd = -1;

	prng_seed(&p, 7);
	prng_fill(&p, data, N);
	REQ_OK(write_file(AT_FDCWD, "f", data, N, 0644));
	fd = open("f", O_RDONLY | O_CLOEXEC);
	REQ(fd);
	void *m = mmap(NULL, N, PROT_READ, MAP_SHARED, fd, 0);
	REQ_TRUE(m != MAP_FAILED, "mmap(PROT_READ, MAP_SHARED): %s", errname(errno));
	int same = !memcmp(m, data, N);
	REQ(munmap(m, N));
	REQ_TRUE(same, "mapped content differs from the file");
	return PROBE_PASS;
}

int c_mmap_write(void)
{
	enum { N = 2 * 4096 };
	unsigned char buf[N];
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	REQ(fd);
	memset(buf, '.', N);
	REQ_OK(write_all(fd, buf, N));
	unsigned char *m = mmap(NULL, N, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQ_TRUE(m != MAP_FAILED, "mmap(PROT_WRITE, MAP_SHARED): %s", errname(errno));
	memcpy(m + 10, "mapped", 6);
	memcpy(m + 4096 + 1, "page2", 5);
	int r = msync(m, N, MS_SYNC);
	int e = errno;
	munmap(m, N);
	REQ_TRUE(r == 0, "msync: %s", errname(e));
	REQ(close(steal_fd(&fd)));
	/* read back through a fresh open and read(), not the mapping */
	REQ_EQ(read_file(AT_FDCWD, "f", buf, N), N);
	REQ_TRUE(!memcmp(buf + 10, "mapped", 6), "first page write not visible to read()");
	REQ_TRUE(!memcmp(buf + 4097, "page2", 5), "second page write not visible to read()");
	REQ_TRUE(buf[0] == '.' && buf[N - 1] == '.', "untouched bytes changed");
	return PROBE_PASS;
}

int c_fsync(void)
{
	_cleanup_close_ int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	_cleanup_close_ int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	REQ(fd);
	REQ(dfd);
	REQ_EQ(write(fd, "sync", 4), 4);
	REQ(fsync(fd));
	REQ(fdatasync(fd));
	REQ(fsync(dfd));
	REQ(syncfs(fd));
	return PROBE_PASS;
}

/* Two processes append fixed-size records through their own O_APPEND fds:
 * with atomic appends every record survives intact and in its writer's order. */
enum { REC = 64, NREC = 1000 };

static int append_writer(char tag)
{
	char rec[REC];
	int fd = open("log", O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd < 0)
		return 1;
	for (int i = 0; i < NREC; i++) {
		memset(rec, tag, REC);
		snprintf(rec, REC, "%c%06d", tag, i);
		rec[7] = tag;
		rec[REC - 1] = '\n';
		if (write(fd, rec, REC) != REC)
			return 1;
	}
	return close(fd) < 0;
}

int c_append_concurrent(void)
{
	_cleanup_free_ char *buf = malloc(2 * REC * NREC + 1);
	pid_t pid[2];
	int next[2] = { 0, 0 };

	REQ_TRUE(buf, "out of memory");
	REQ_OK(write_file(AT_FDCWD, "log", "", 0, 0644));
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		REQ(pid[i]);
		if (pid[i] == 0) {
			alarm(60); /* a hung share must not hang the probe */
			_exit(append_writer(i ? 'b' : 'a'));
		}
	}
	for (int i = 0; i < 2; i++) {
		int ws;
		REQ(waitpid(pid[i], &ws, 0));
		REQ_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "writer %d failed (status %#x)",
			 i, ws);
	}
	ssize_t n = read_file(AT_FDCWD, "log", buf, 2 * REC * NREC + 1);
	REQ(n);
	REQ_EQ(n, 2 * REC * NREC);
	for (size_t off = 0; off < (size_t)n; off += REC) {
		const char *r = buf + off;
		int w = r[0] == 'a' ? 0 : r[0] == 'b' ? 1 : -1;
		REQ_TRUE(w >= 0 && r[REC - 1] == '\n' && r[7] == r[0],
			 "record at %zu torn or overwritten", off);
		REQ_TRUE(atoi(r + 1) == next[w], "writer %c: record %d at %zu, expected %d",
			 r[0], atoi(r + 1), off, next[w]);
		next[w]++;
	}
	return PROBE_PASS;
}

int c_large_file(void)
{
	enum { CHUNK = 1 << 20, TOTAL = 64 << 20, ODD = 65537 };
	_cleanup_free_ unsigned char *buf = malloc(CHUNK);
	uint64_t hw = FNV1A_INIT, hr = FNV1A_INIT;
	struct prng p;
	struct stat st;
	size_t got = 0;
	_cleanup_close_ int fd = open("big", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	REQ_TRUE(buf, "out of memory");
	REQ(fd);
	prng_seed(&p, 0x64);
	for (int i = 0; i < TOTAL / CHUNK; i++) {
		prng_fill(&p, buf, CHUNK);
		hw = fnv1a(hw, buf, CHUNK);
		REQ_OK(write_all(fd, buf, CHUNK));
	}
	REQ(close(steal_fd(&fd)));
	REQ(stat("big", &st));
	REQ_EQ(st.st_size, TOTAL);
	fd = open("big", O_RDONLY | O_CLOEXEC);
	REQ(fd);
	/* odd-sized reads cross every page and request boundary */
	for (;;) {
		ssize_t n = read(fd, buf, ODD);
		if (n < 0 && errno == EINTR)
			continue;
		REQ(n);
		if (n == 0)
			break;
		hr = fnv1a(hr, buf, (size_t)n);
		got += (size_t)n;
	}
	REQ_EQ(got, TOTAL);
	REQ_TRUE(hr == hw, "checksum %016llx, expected %016llx", (unsigned long long)hr,
		 (unsigned long long)hw);
	return PROBE_PASS;
}
