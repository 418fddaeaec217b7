/* SPDX-License-Identifier: MIT */
/* probe: I/O helpers, errno names, the content PRNG and checksum. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

const char *errname(int e)
{
	static const struct {
		int e;
		const char *n;
	} tab[] = {
		{ EPERM, "EPERM" },	    { ENOENT, "ENOENT" },	{ EINTR, "EINTR" },
		{ EIO, "EIO" },		    { ENXIO, "ENXIO" },		{ EBADF, "EBADF" },
		{ EAGAIN, "EAGAIN" },	    { ENOMEM, "ENOMEM" },	{ EACCES, "EACCES" },
		{ EFAULT, "EFAULT" },	    { EBUSY, "EBUSY" },		{ EEXIST, "EEXIST" },
		{ EXDEV, "EXDEV" },	    { ENODEV, "ENODEV" },	{ ENOTDIR, "ENOTDIR" },
		{ EISDIR, "EISDIR" },	    { EINVAL, "EINVAL" },	{ ENFILE, "ENFILE" },
		{ EMFILE, "EMFILE" },	    { ETXTBSY, "ETXTBSY" },	{ EFBIG, "EFBIG" },
		{ ENOSPC, "ENOSPC" },	    { ESPIPE, "ESPIPE" },	{ EROFS, "EROFS" },
		{ EMLINK, "EMLINK" },	    { ERANGE, "ERANGE" },	{ ENAMETOOLONG, "ENAMETOOLONG" },
		{ ENOSYS, "ENOSYS" },	    { ENOTEMPTY, "ENOTEMPTY" }, { ELOOP, "ELOOP" },
		{ ENODATA, "ENODATA" },	    { EOVERFLOW, "EOVERFLOW" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ ESTALE, "ESTALE" },	    { EDQUOT, "EDQUOT" },	{ ENOTCONN, "ENOTCONN" },
		{ E2BIG, "E2BIG" },	    { ECONNABORTED, "ECONNABORTED" },
	};
	static __thread char buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (tab[i].e == e)
			return tab[i].n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_file(int dirfd, const char *path, void *buf, size_t cap)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < cap) {
		ssize_t n = read(fd, (char *)buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int write_file(int dirfd, const char *path, const void *buf, size_t len, mode_t mode)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, len);
	if (r < 0)
		return r;
	if (close(steal_fd(&fd)) < 0)
		return -errno;
	return 0;
}

static int remove_dir_contents(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = -errno;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int q = remove_tree(dirfd(d), de->d_name);
		if (q < 0 && r == 0)
			r = q;
	}
	closedir(d);
	return r;
}

int remove_tree(int dirfd, const char *path)
{
	struct stat st;

	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		int dfd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
		/* rewinding and removing again handles servers whose readdir
		 * offsets shift under unlink (reported by conformance, but
		 * cleanup should still succeed) */
		for (int pass = 0; pass < 3; pass++) {
			int d2 = dup(dfd);
			if (d2 < 0)
				break;
			if (lseek(d2, 0, SEEK_SET) < 0) {
				close(d2);
				break;
			}
			remove_dir_contents(d2);
			if (unlinkat(dirfd, path, AT_REMOVEDIR) == 0) {
				close(dfd);
				return 0;
			}
			if (errno != ENOTEMPTY && errno != EEXIST)
				break;
		}
		int r = -errno;
		close(dfd);
		return r;
	}
	if (unlinkat(dirfd, path, 0) < 0)
		return -errno;
	return 0;
}

void prng_seed(struct prng *p, uint64_t seed)
{
	p->s = seed;
}

static uint64_t prng_next(struct prng *p)
{
	uint64_t z = (p->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void prng_fill(struct prng *p, void *buf, size_t len)
{
	unsigned char *b = buf;

	while (len) {
		uint64_t v = prng_next(p);
		size_t n = len < 8 ? len : 8;
		memcpy(b, &v, n);
		b += n;
		len -= n;
	}
}

uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
