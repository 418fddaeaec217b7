/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuse_dir.h"

/* struct linux_dirent64 of getdents64(2): not in a uapi header glibc
 * exposes, so its layout is spelled out by offsets below. */
#define D_INO    0
#define D_OFF    8
#define D_RECLEN 16
#define D_TYPE   18
#define D_NAME   19

struct fuse_dir_stream *fuse_dir_new(void)
{
	return calloc(1, sizeof(struct fuse_dir_stream));
}

void fuse_dir_free(struct fuse_dir_stream *ds)
{
	free(ds);
}

int fuse_dir_seek(struct fuse_dir_stream *ds, int fd, uint64_t offset)
{
	if (offset == ds->base_off)
		return 0;
	for (unsigned k = ds->head; k < ds->n; k++) {
		if (ds->v[k].off == offset) {
			ds->head = k + 1;
			ds->base_off = offset;
			return 0;
		}
	}
	/* An offset we never handed out here: the host's own cookie. */
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	ds->head = ds->n = 0;
	ds->eof = false;
	ds->base_off = offset;
	return 0;
}

int fuse_dir_parse(struct fuse_dir_stream *ds, const void *buf, long len)
{
	const uint8_t *b = buf;
	int added = 0;

	for (long pos = 0; pos < len;) {
		uint16_t reclen;
		if (len - pos < D_NAME + 1)
			return -EIO;
		memcpy(&reclen, b + pos + D_RECLEN, sizeof(reclen));
		if (reclen < D_NAME + 1 || reclen > len - pos)
			return -EIO;
		const char *name = (const char *)b + pos + D_NAME;
		size_t nl = strnlen(name, (size_t)reclen - D_NAME);
		if (nl == 0 || nl == (size_t)reclen - D_NAME || nl > 255)
			return -EIO;
		if (ds->n == FUSE_DIR_PENDING)
			return -ENOSPC; /* the caller sized the read to fit */
		struct fuse_dir_ent *e = &ds->v[ds->n++];
		memcpy(&e->ino, b + pos + D_INO, sizeof(e->ino));
		memcpy(&e->off, b + pos + D_OFF, sizeof(e->off));
		e->type = b[pos + D_TYPE];
		e->namelen = (uint8_t)nl;
		memcpy(e->name, name, nl);
		e->name[nl] = 0;
		added++;
		pos += reclen;
	}
	return added;
}

const struct fuse_dir_ent *fuse_dir_peek(struct fuse_dir_stream *ds, int fd, unsigned i,
					 int *err)
{
	*err = 0;
	while (ds->head + i >= ds->n) {
		if (ds->eof)
			return NULL;
		if (ds->head > 0) { /* keep the window at the front */
			memmove(ds->v, ds->v + ds->head, (ds->n - ds->head) * sizeof(ds->v[0]));
			ds->n -= ds->head;
			ds->head = 0;
		}
		/* The smallest getdents64 record is 24 bytes (19 + a one-byte
		 * name + NUL, 8-aligned): read only when a full buffer's worth
		 * of records fits, so nothing read is ever dropped (and the fd
		 * never needs seeking back). */
		if (FUSE_DIR_PENDING - ds->n < FUSE_DIR_READ / 24)
			return NULL;
		uint64_t buf[FUSE_DIR_READ / 8];
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (got < 0) {
			*err = -errno;
			return NULL;
		}
		if (got == 0) {
			ds->eof = true;
			return NULL;
		}
		int r = fuse_dir_parse(ds, buf, got);
		if (r < 0) {
			*err = r;
			return NULL;
		}
	}
	return &ds->v[ds->head + i];
}
