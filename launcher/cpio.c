/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpio.h"

#define CPIO_MAGIC "070701"
#define CPIO_HDR_LEN 110 /* 6 magic + 13 fields of 8 hex digits */
#define CPIO_TRAILER "TRAILER!!!"

void cpio_init(struct cpio_buf *w)
{
	memset(w, 0, sizeof(*w));
	w->next_ino = 1;
}

void cpio_free(struct cpio_buf *w)
{
	free(w->data);
	cpio_init(w);
}

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static int reserve(struct cpio_buf *w, size_t more)
{
	if (more > SIZE_MAX - w->len)
		return -ENOMEM;
	size_t need = w->len + more;
	if (need <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	uint8_t *p = realloc(w->data, cap);
	if (!p)
		return -ENOMEM;
	w->data = p;
	w->cap = cap;
	return 0;
}

static void put_zeros(struct cpio_buf *w, size_t n)
{
	memset(w->data + w->len, 0, n);
	w->len += n;
}

static void put_bytes(struct cpio_buf *w, const void *p, size_t n)
{
	if (n)
		memcpy(w->data + w->len, p, n);
	w->len += n;
}

/*
 * A name must be relative once leading slashes are stripped, non-empty, and
 * free of ".." components: the kernel's unpacker does not resolve "..", but
 * other consumers (cpio -i in tests, tools inspecting cached archives) would
 * write outside their target directory.
 */
const char *cpio_name(const char *path)
{
	if (!path)
		return NULL;
	while (*path == '/')
		path++;
	if (!*path || strlen(path) >= PATH_MAX)
		return NULL;
	for (const char *c = path; *c;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return NULL;
		c += n;
		while (*c == '/')
			c++;
	}
	return path;
}

static int check_name(const char *path, const char **name)
{
	if (path) {
		const char *p = path;
		while (*p == '/')
			p++;
		if (strlen(p) >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	*name = cpio_name(path);
	return *name ? 0 : -EINVAL;
}

/* Header + name + padding + data + padding, all or nothing. */
static int add_entry(struct cpio_buf *w, const char *name, uint32_t ino,
		     uint32_t mode, uint32_t nlink, uint32_t rmaj, uint32_t rmin,
		     const void *data, size_t len)
{
	if (w->finished)
		return -EINVAL;
	if (len > UINT32_MAX)
		return -EFBIG;
	size_t namesize = strlen(name) + 1; /* < PATH_MAX + 1, checked */
	size_t head = CPIO_HDR_LEN + namesize;
	size_t total = head + pad4(head) + len + pad4(len); /* no overflow: len <= 4 GiB */
	int r = reserve(w, total);
	if (r < 0)
		return r;

	char hdr[CPIO_HDR_LEN + 1];
	int n = snprintf(hdr, sizeof(hdr),
			 "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			 CPIO_MAGIC, ino, mode, 0u /* uid */, 0u /* gid */, nlink,
			 0u /* mtime */, (uint32_t)len, 0u, 0u /* dev */, rmaj, rmin,
			 (uint32_t)namesize, 0u /* check: unused by newc */);
	if (n != CPIO_HDR_LEN)
		return -EINVAL;
	put_bytes(w, hdr, CPIO_HDR_LEN);
	put_bytes(w, name, namesize);
	put_zeros(w, pad4(head));
	put_bytes(w, data, len);
	put_zeros(w, pad4(len));
	return 0;
}

static uint32_t take_ino(struct cpio_buf *w)
{
	return w->next_ino++;
}

int cpio_add_dir(struct cpio_buf *w, const char *path, uint32_t mode)
{
	const char *name;
	int r = check_name(path, &name);
	if (r < 0)
		return r;
	return add_entry(w, name, take_ino(w), S_IFDIR | (mode & 07777), 2, 0, 0,
			 NULL, 0);
}

int cpio_add_file(struct cpio_buf *w, const char *path, uint32_t mode,
		  const void *data, size_t len)
{
	const char *name;
	int r = check_name(path, &name);
	if (r < 0)
		return r;
	if (len && !data)
		return -EINVAL;
	return add_entry(w, name, take_ino(w), S_IFREG | (mode & 07777), 1, 0, 0,
			 data, len);
}

int cpio_add_symlink(struct cpio_buf *w, const char *path, const char *target)
{
	const char *name;
	int r = check_name(path, &name);
	if (r < 0)
		return r;
	if (!target || !*target)
		return -EINVAL;
	size_t tlen = strlen(target);
	if (tlen >= PATH_MAX)
		return -ENAMETOOLONG;
	/* The link target is the file data, without a NUL. */
	return add_entry(w, name, take_ino(w), S_IFLNK | 0777, 1, 0, 0, target,
			 tlen);
}

int cpio_add_chardev(struct cpio_buf *w, const char *path, uint32_t mode,
		     uint32_t major, uint32_t minor)
{
	const char *name;
	int r = check_name(path, &name);
	if (r < 0)
		return r;
	return add_entry(w, name, take_ino(w), S_IFCHR | (mode & 07777), 1, major,
			 minor, NULL, 0);
}

int cpio_finish(struct cpio_buf *w)
{
	/* Trailer: all-zero fields except nlink 1 (what GNU cpio writes). */
	int r = add_entry(w, CPIO_TRAILER, 0, 0, 1, 0, 0, NULL, 0);
	if (r < 0)
		return r;
	w->finished = 1;
	/* Header+name and data are each padded, so len is already 4-aligned;
	 * the kernel needs that to find the next concatenated archive. */
	return 0;
}
