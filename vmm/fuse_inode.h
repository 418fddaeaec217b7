/* SPDX-License-Identifier: MIT */
/*
 * Inode and file-handle tables of the FUSE server.
 *
 * An inode is an O_PATH|O_NOFOLLOW fd of one host object, found by one
 * single-component lookup under its parent's fd; nothing ever holds or
 * re-resolves a host path. Inodes are deduplicated by (st_dev, st_ino) so
 * hard links share one nodeid, as the kernel's dcache expects.
 *
 * Nodeids and fhs are (generation << 32 | slot + 1): a stale or forged id
 * from the guest is caught by the slot bound and the generation, never
 * followed as a pointer (virtiofsd's early "fuse_ino is a pointer" design is
 * what to avoid). Slot 0 generation 0 is nodeid 1, the root (FUSE_ROOT_ID).
 *
 * Every fd the tables own (inodes and handles, root included) counts
 * against max_fds; an insert beyond it fails with -EMFILE instead of
 * exhausting the VMM's fd table (CVE-2020-10717, virtiofsd's unbounded
 * lookups).
 *
 * Open handles have a reserve of their own within max_fds: inodes stay
 * cached as long as the guest's dentry cache holds them (until FORGET), so
 * with one shared pool a guest that merely walked a big tree would have
 * every OPEN, OPENDIR and CREATE fail with EMFILE until its caches shrink.
 * Inodes may hold at most max_fds - fuse_handle_reserve(max_fds) fds
 * (the root included); handles may use any fd left, so the reserve is a
 * floor for handles, not a ceiling.
 */
#ifndef ARCA_FUSE_INODE_H
#define ARCA_FUSE_INODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct fuse_inode {
	int fd;              /* O_PATH|O_NOFOLLOW; -1 when the slot is free */
	uint32_t gen;
	uint32_t type;       /* st_mode & S_IFMT: an inode's type never changes */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;    /* kernel references (LOOKUP-like replies - FORGET) */
	uint32_t nhandles;   /* open handles: they keep the inode alive */
	uint32_t ndirect;    /* of those, opened FOPEN_DIRECT_IO under cache=auto
			      * (fuse_ops_file.c: all or none of them are) */
	int next;            /* hash chain or free list */
};

#include "fuse_budget.h"

struct fuse_dir_stream;

struct fuse_handle {
	int fd;              /* real open fd; -1 when the slot is free */
	uint32_t gen;
	uint32_t islot;      /* inode it was opened from */
	bool dir;
	bool released;       /* RELEASE seen while I/O was in flight */
	bool direct;         /* counted in its inode's ndirect */
	struct fuse_dir_stream *ds; /* directories: entries read, not yet consumed */
	uint32_t inflight;   /* prepared I/O not yet completed (io_uring later) */
	int next;            /* free list */
};

struct fuse_tables {
	struct fuse_inode *inodes;
	struct fuse_handle *handles;
	int *buckets;
	unsigned icap, hcap, nbuckets;
	/* Slots below the high-water mark have been used; those above it are
	 * untouched calloc memory, so a big max_fds costs no RSS until used. */
	unsigned ihwm, hhwm;
	int ifree, hfree;
	unsigned nfds, max_fds;
	unsigned ninode_fds;        /* of nfds, held by inodes (the root included) */
	unsigned inode_max_fds;     /* max_fds - fuse_handle_reserve(max_fds) */
	struct fuse_budget dir_mem; /* all directory streams (fuse_dir.h) */
	bool underflow_logged;
};

#define FUSE_MAX_FDS_LIMIT (1u << 20)

/*
 * Fds kept for open handles: a quarter of max_fds, at most 1,024 (the usual
 * RLIMIT_NOFILE soft limit: a guest rarely keeps more files open at once
 * than one process may by default, and handles beyond the reserve still
 * draw on the shared part). The default 4,096 gives inodes 3,072 and keeps
 * 1,024 for handles; --fs-max-fds 65536 gives inodes 64,512. Pure.
 */
#define FUSE_HANDLE_RESERVE_MAX 1024u
unsigned fuse_handle_reserve(unsigned max_fds);
/* Whether `inodes` new inodes and `handles` new handles would all fit now
 * (CREATE checks before it creates anything). Pure. */
bool fuse_tables_room(const struct fuse_tables *t, unsigned inodes, unsigned handles);

/* Takes ownership of root_fd (an O_PATH directory fd). max_fds >= 2. */
int fuse_tables_init(struct fuse_tables *t, int root_fd, unsigned max_fds);
/* Closes every fd, the root's included. */
void fuse_tables_destroy(struct fuse_tables *t);
/* Forget everything but the root (FUSE_DESTROY: the guest unmounted). */
void fuse_tables_reset(struct fuse_tables *t);

/* NULL for an unknown, free or stale nodeid. */
struct fuse_inode *fuse_inode_get(struct fuse_tables *t, uint64_t nodeid);
uint64_t fuse_inode_id(const struct fuse_tables *t, const struct fuse_inode *i);
/* Enter fd (consumed in every case) for the object st describes, add one
 * lookup reference and return its nodeid in *nodeid; -EMFILE at the bound. */
int fuse_inode_insert(struct fuse_tables *t, int fd, const struct stat *st, uint64_t *nodeid);
/* Drop up to n lookup references. A count larger than held is clamped and
 * logged once: a guest's FORGET can never free an inode that an open handle
 * or the root still needs. Unknown nodeids are ignored (FORGET has no reply). */
void fuse_inode_forget(struct fuse_tables *t, uint64_t nodeid, uint64_t n);

/* New handle for fd (consumed in every case) opened from inode nodeid. */
int fuse_handle_new(struct fuse_tables *t, uint64_t nodeid, int fd, bool dir, uint64_t *fh);
/* NULL unless fh is live, of the given kind, and was opened from nodeid. */
struct fuse_handle *fuse_handle_get(struct fuse_tables *t, uint64_t fh, uint64_t nodeid, bool dir);
/* Count h in its inode's ndirect (opened FOPEN_DIRECT_IO); undone when it
 * closes. */
void fuse_handle_mark_direct(struct fuse_tables *t, struct fuse_handle *h);
/* RELEASE: closes now, or when the last in-flight I/O completes. */
int fuse_handle_release(struct fuse_tables *t, uint64_t fh, uint64_t nodeid, bool dir);
/* Pin a handle across prepare..complete of an asynchronous operation. */
void fuse_handle_hold(struct fuse_handle *h);
void fuse_handle_unhold(struct fuse_tables *t, struct fuse_handle *h);

#endif
