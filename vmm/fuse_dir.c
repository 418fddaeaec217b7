/* SPDX-License-Identifier: MIT */
/* Directory streams: see fuse_dir.h. */
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

/* Windows grow in steps of this, so a listing reallocates a few times at
 * most. */
#define WINDOW_STEP 4096

struct fuse_dir_stream *fuse_dir_new(struct fuse_budget *budget)
{
	if (fuse_budget_take(budget, sizeof(struct fuse_dir_stream)) < 0)
		return NULL;
	struct fuse_dir_stream *ds = calloc(1, sizeof(*ds));
	if (!ds) {
		fuse_budget_give(budget, sizeof(*ds));
		return NULL;
	}
	ds->budget = budget;
	return ds;
}

static void window_free(struct fuse_dir_stream *ds)
{
	free(ds->buf);
	fuse_budget_give(ds->budget, ds->cap);
	ds->buf = NULL;
	ds->cap = ds->head = ds->len = 0;
}

void fuse_dir_free(struct fuse_dir_stream *ds)
{
	if (!ds)
		return;
	window_free(ds);
	fuse_budget_give(ds->budget, sizeof(*ds));
	free(ds);
}

static const struct fuse_dir_ent *ent_at(const struct fuse_dir_stream *ds, size_t at)
{
	return (const struct fuse_dir_ent *)(const void *)(ds->buf + at);
}

int fuse_dir_seek(struct fuse_dir_stream *ds, int fd, uint64_t offset)
{
	if (offset == ds->base_off)
		return 0;
	for (size_t at = ds->head; at < ds->len;) {
		const struct fuse_dir_ent *e = ent_at(ds, at);
		at += FUSE_DIR_ENT_SIZE(e->namelen);
		if (e->off == offset) {
			ds->head = at;
			ds->base_off = offset;
			/* Everything sent was consumed (the usual case): an
			 * idle handle holds no window. */
			if (ds->head == ds->len)
				window_free(ds);
			return 0;
		}
	}
	/* An offset we never handed out here: the host's own cookie. */
	if (lseek(fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	window_free(ds);
	ds->eof = false;
	ds->base_off = offset;
	return 0;
}

int fuse_dir_reserve(struct fuse_dir_stream *ds, size_t room)
{
	if (ds->head > 0) { /* keep the window at the front */
		memmove(ds->buf, ds->buf + ds->head, ds->len - ds->head);
		ds->len -= ds->head;
		ds->head = 0;
	}
	if (ds->cap - ds->len >= room)
		return 0;
	if (room > FUSE_DIR_WINDOW_MAX - ds->len)
		return -ENOSPC;
	size_t want = (ds->len + room + WINDOW_STEP - 1) / WINDOW_STEP * WINDOW_STEP;
	if (want > FUSE_DIR_WINDOW_MAX)
		want = FUSE_DIR_WINDOW_MAX;
	/* Charged before it is allocated: the guest drives this. */
	if (fuse_budget_take(ds->budget, want - ds->cap) < 0)
		return -ENOMEM;
	unsigned char *nb = realloc(ds->buf, want);
	if (!nb) {
		fuse_budget_give(ds->budget, want - ds->cap);
		return -ENOMEM;
	}
	ds->buf = nb;
	ds->cap = want;
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
		size_t sz = FUSE_DIR_ENT_SIZE(nl);
		if (ds->cap - ds->len < sz)
			return -ENOSPC; /* the caller reserved a read's worth */
		struct fuse_dir_ent *e = (struct fuse_dir_ent *)(void *)(ds->buf + ds->len);
		memset(e, 0, sz);
		memcpy(&e->ino, b + pos + D_INO, sizeof(e->ino));
		memcpy(&e->off, b + pos + D_OFF, sizeof(e->off));
		e->type = b[pos + D_TYPE];
		e->namelen = (uint8_t)nl;
		memcpy(e->name, name, nl);
		ds->len += sz;
		added++;
		pos += reclen;
	}
	return added;
}

const struct fuse_dir_ent *fuse_dir_next(struct fuse_dir_stream *ds, int fd, size_t *pos,
					 int *err)
{
	*err = 0;
	while (ds->head + *pos >= ds->len) {
		if (ds->eof)
			return NULL;
		int r = fuse_dir_reserve(ds, FUSE_DIR_READ);
		if (r == -ENOSPC)
			return NULL; /* window full: this reply ends here */
		if (r < 0) {
			*err = r;
			return NULL;
		}
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
		r = fuse_dir_parse(ds, buf, got);
		if (r < 0) {
			*err = r;
			return NULL;
		}
	}
	const struct fuse_dir_ent *e = ent_at(ds, ds->head + *pos);
	*pos += FUSE_DIR_ENT_SIZE(e->namelen);
	return e;
}
