/* SPDX-License-Identifier: MIT */
/*
 * Directory streams for READDIR/READDIRPLUS.
 *
 * The guest asks for entries "after offset X", where X is the d_off of the
 * last entry it consumed — often in the middle of what we sent (its user
 * buffer filled up). Seeking the host directory to X is exact only where
 * offsets are stable cookies (ext4's hashes, tmpfs since Linux 6.6); where
 * they are positions in a list (tmpfs before 6.6, Debian 12's kernel),
 * seeking after entries were unlinked lands past entries never returned —
 * `rm -rf` of a big directory on such a share leaves files behind.
 *
 * So each open directory keeps the entries read from the host but not yet
 * known to be consumed. A request whose offset is one of theirs resumes
 * right after it, and the host fd is only ever read forward; only an
 * offset we never produced (rewinddir, seekdir) seeks the fd.
 */
#ifndef ARCA_FUSE_DIR_H
#define ARCA_FUSE_DIR_H

#include <stdbool.h>
#include <stdint.h>

struct fuse_dir_ent {
	uint64_t ino;
	uint64_t off;      /* the host's d_off: where the entry after it starts */
	uint8_t type;      /* DT_* */
	uint8_t namelen;   /* 1..255 */
	char name[256];    /* NUL-terminated */
};

/* Entries kept per open directory. Reads from the host go 4 KiB at a time
 * (at most 170 records of 24 bytes), and only when that many fit, so a
 * read never returns more than the window holds; a reply page consumes at
 * most 128 entries. */
#define FUSE_DIR_PENDING 512
#define FUSE_DIR_READ    4096

struct fuse_dir_stream {
	uint64_t base_off; /* the guest consumed everything up to here */
	unsigned head, n;  /* pending entries: v[head..n) */
	bool eof;
	struct fuse_dir_ent v[FUSE_DIR_PENDING];
};

/* A stream for a freshly opened directory fd (positioned at 0). NULL on
 * allocation failure. */
struct fuse_dir_stream *fuse_dir_new(void);
void fuse_dir_free(struct fuse_dir_stream *ds);

/* Position for a request at `offset`: drops the entries it confirms as
 * consumed, or, for an offset we never produced, seeks fd there (lseek)
 * and forgets the pending entries. Returns 0 or -errno. */
int fuse_dir_seek(struct fuse_dir_stream *ds, int fd, uint64_t offset);
/* The i-th pending entry from the current position, reading more from fd
 * (getdents64) as needed. NULL at the end of the directory or when the
 * pending window is full; *err is set on a read error. */
const struct fuse_dir_ent *fuse_dir_peek(struct fuse_dir_stream *ds, int fd, unsigned i,
					 int *err);

/* Pure: parse a getdents64 buffer into the stream (tests use it without a
 * directory). Returns entries added, or -EIO for a malformed record. */
int fuse_dir_parse(struct fuse_dir_stream *ds, const void *buf, long len);

#endif
