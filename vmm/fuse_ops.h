/* SPDX-License-Identifier: MIT */
/*
 * Internal to the FUSE server (vmm/fuse_*.c): the helpers its handler files
 * share and the handlers the dispatch table in fuse_server.c names. Callers
 * outside the server use fuse_server.h only.
 *
 * Handler convention: a handler gets the decoded request, a body buffer of
 * cap bytes (staged in s->reply just after the out header) and returns the
 * reply body's length (>= 0) or a negative errno, which becomes the reply's
 * error. Every field of r was bounds-checked by fuse_decode; values inside
 * the args (fhs, nodeids, sizes, modes) are still the guest's and are
 * checked where they are used.
 */
#ifndef ARCA_FUSE_OPS_H
#define ARCA_FUSE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fuse_server.h"

#define FUSE_OUT_HDR sizeof(struct fuse_out_header)
#define FUSE_TTL_SEC 1   /* entry and attribute validity: see fuse_server.h */

/* ---- fuse_node.c: confinement primitives, attributes, entries ---- */

/* One already-checked component under dirfd, never following a symlink. */
int fuse_open_beneath(int dirfd, const char *name, int flags, mode_t mode);
/* Reopen an inode's O_PATH fd for I/O through /proc/self/fd (regular files
 * and directories only). */
int fuse_reopen(const struct fuse_server *s, const struct fuse_inode *i, int flags);
/* Pure: the permission bits a guest-supplied mode may give a host object of
 * that kind (see the comment at its definition). */
uint32_t fuse_mode_strip(uint32_t mode, bool dir);
void fuse_fill_attr(const struct fuse_server *s, const struct stat *st, struct fuse_attr *a);
int fuse_stat_inode(const struct fuse_inode *i, struct stat *st);
/* The directory inode nodeid names; NULL with *err = -EINVAL/-ENOTDIR. */
struct fuse_inode *fuse_dir_inode(struct fuse_server *s, uint64_t nodeid, int *err);
/* One lookup reference on parent/name, entry reply in *e. */
int fuse_do_lookup(struct fuse_server *s, struct fuse_inode *parent, const char *name,
		   struct fuse_entry_out *e);
/* Give a just-created object its owner and look it up; removes it on failure. */
int fuse_finish_create(struct fuse_server *s, const struct fuse_req *r, struct fuse_inode *parent,
		       bool dir, struct fuse_entry_out *e);

/* ---- fuse_server.c: the reply ---- */

/* Write the out header (and body when err is 0) into out; see fuse_server.h
 * for the return values. */
ssize_t fuse_reply_send(const struct iovec *out, int nout, uint64_t unique, int err,
			const void *body, size_t len);

/* ---- handlers ---- */

typedef int fuse_op_fn(struct fuse_server *s, const struct fuse_req *r, void *body, size_t cap);

/* fuse_ops_attr.c */
fuse_op_fn fuse_op_init;
fuse_op_fn fuse_op_lookup;
fuse_op_fn fuse_op_getattr;
fuse_op_fn fuse_op_setattr;
fuse_op_fn fuse_op_readlink;
fuse_op_fn fuse_op_statfs;
fuse_op_fn fuse_op_access;
fuse_op_fn fuse_op_xattr;
/* fuse_ops_ns.c */
fuse_op_fn fuse_op_mkobj;
fuse_op_fn fuse_op_remove;
fuse_op_fn fuse_op_rename;
fuse_op_fn fuse_op_link;
/* fuse_ops_file.c */
fuse_op_fn fuse_op_open;
fuse_op_fn fuse_op_create;
fuse_op_fn fuse_op_release;
fuse_op_fn fuse_op_fsync;
fuse_op_fn fuse_op_flush;
fuse_op_fn fuse_op_lseek;
fuse_op_fn fuse_op_copy_file_range;
/* fuse_ops_dir.c */
fuse_op_fn fuse_op_readdir;

/* Single writer (this share's thread): a plain load and store, no locked
 * read-modify-write; atomic only so the main thread's read is defined. */
static inline void fuse_stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

#endif
