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
 *
 * Memory: every open directory handle may get a stream, and a guest may
 * hold up to --fs-max-fds of them, so a stream costs little until used: the
 * window of pending entries is a byte buffer of packed records (a 10-byte
 * name takes 32 bytes, not the 280 of a fixed slot), allocated on the first
 * read, grown only as a reply needs, capped at FUSE_DIR_WINDOW_MAX, and
 * freed as soon as the guest has consumed every entry in it. Stream structs
 * and windows are charged to the share's budget (fuse_budget.h); over it,
 * the read fails with -ENOMEM.
 */
#ifndef ARCA_FUSE_DIR_H
#define ARCA_FUSE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse_budget.h"

/* One pending entry, packed in the window: FUSE_DIR_ENT_SIZE(namelen) bytes,
 * 8-aligned. */
struct fuse_dir_ent {
	uint64_t ino;
	uint64_t off;      /* the host's d_off: where the entry after it starts */
	uint8_t type;      /* DT_* */
	uint8_t namelen;   /* 1..255 */
	char name[];       /* namelen bytes and a NUL */
};
#define FUSE_DIR_ENT_SIZE(nl) ((offsetof(struct fuse_dir_ent, name) + (size_t)(nl) + 1 + 7) & ~(size_t)7)

/* Reads from the host go FUSE_DIR_READ bytes at a time, and only when that
 * many bytes of window are free: a getdents64 record (19 bytes + name + NUL,
 * 8-aligned) is never smaller than its packed entry, so a read always fits
 * and nothing read is ever dropped (the fd never needs seeking back).
 *
 * FUSE_DIR_WINDOW_MAX bounds one stream: a read plus the entries already
 * put in the reply being built. 32 KiB holds a 4 KiB read and some 900
 * short-named entries, more than a page-sized READDIR (the guest kernel's
 * usual request: at most 128 entries) ever takes; a bigger request just
 * gets a shorter reply and asks again. */
#define FUSE_DIR_READ       4096
#define FUSE_DIR_WINDOW_MAX (32u * 1024)

/*
 * FUSE_DIR_BUDGET_DEFAULT: all of a share's streams together (structs and
 * windows). A guest can hold 65,536 open directories per share; at the old
 * fixed 140 KiB each that was 9 GiB of VMM heap. An honest guest holds a
 * window only for directories it is in the middle of listing (find, du and
 * rm -r keep one per level of the tree; ls one), typically 4-8 KiB each,
 * and idle handles cost a few dozen bytes. 16 MiB covers 2,000 directories
 * mid-listing at 8 KiB, 500 at the 32 KiB cap, and some 250,000 idle
 * streams, so only a guest hoarding half-read directories meets the bound.
 */
#define FUSE_DIR_BUDGET_DEFAULT (16u * 1024 * 1024)

struct fuse_dir_stream {
	struct fuse_budget *budget; /* charged for this struct and buf */
	uint64_t base_off; /* the guest consumed everything up to here */
	size_t head, len;  /* pending entries: buf[head..len) */
	size_t cap;        /* bytes allocated at buf (0: none) */
	bool eof;
	unsigned char *buf;
};

/* A stream for a freshly opened directory fd (positioned at 0), charged to
 * budget. NULL when over budget or out of memory. */
struct fuse_dir_stream *fuse_dir_new(struct fuse_budget *budget);
void fuse_dir_free(struct fuse_dir_stream *ds);

/* Position for a request at `offset`: drops the entries it confirms as
 * consumed, or, for an offset we never produced, seeks fd there (lseek)
 * and forgets the pending entries. Returns 0 or -errno. */
int fuse_dir_seek(struct fuse_dir_stream *ds, int fd, uint64_t offset);
/* The pending entry at *pos (bytes from the current position; start at 0),
 * reading more from fd (getdents64) as needed; advances *pos past it. NULL
 * at the end of the directory or when the window is full (*err 0), or on a
 * read error or when the budget refuses a bigger window (*err -errno). The
 * entry stays valid until the next call on ds. */
const struct fuse_dir_ent *fuse_dir_next(struct fuse_dir_stream *ds, int fd, size_t *pos,
					 int *err);

/* Make room for `room` more bytes after the pending entries (compacting them
 * to the front, growing buf under the budget up to FUSE_DIR_WINDOW_MAX):
 * 0, -ENOSPC past the window cap, -ENOMEM over budget. */
int fuse_dir_reserve(struct fuse_dir_stream *ds, size_t room);
/* Pure: parse a getdents64 buffer into the window (tests use it without a
 * directory). Returns entries added, -EIO for a malformed record, -ENOSPC
 * when the window has no room left (the caller reserves before reading). */
int fuse_dir_parse(struct fuse_dir_stream *ds, const void *buf, long len);

#endif
