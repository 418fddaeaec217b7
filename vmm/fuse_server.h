/* SPDX-License-Identifier: MIT */
/*
 * FUSE protocol server over one shared host directory: the backend of the
 * virtio-fs device (and of arca-fuse-host, which serves it over /dev/fuse).
 * It knows nothing about virtio: a request is a list of readable iovecs, a
 * reply a list of writable ones.
 *
 * Threat model: every request comes from a hostile guest. Confinement:
 *  - only single components are resolved, under the parent inode's O_PATH
 *    fd, with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS):
 *    no host path is ever opened, symlinks are never followed on the host
 *    (READLINK returns their text; the guest resolves it in its own namespace);
 *  - RESOLVE_NO_XDEV is NOT set: a mount the user placed inside the share
 *    (a bind mount) is served like any directory, as docker -v does. The guest
 *    cannot create host mounts, so this is no escape; inode numbers of objects
 *    on different filesystems may coincide in the guest (virtiofsd has the
 *    same limit without its submount support);
 *  - only regular files and directories are opened for I/O, by reopening the
 *    checked O_PATH fd through /proc/self/fd (CVE-2020-35517);
 *  - device nodes, sockets and whiteouts are never created;
 *  - no set-id program is ever made on the host (fuse_mode_strip in
 *    fuse_node.c says why): S_ISUID is stripped from every mode, S_ISGID
 *    from every mode but a directory's SETATTR. The syscalls that set a
 *    mode, for a seccomp rule to hold the same line in the kernel:
 *      fchmodat(procfd, "N", mode, 0)   SETATTR   mode arg 2: no S_ISUID
 *                                       (S_ISGID only for directories)
 *      mkdirat(dirfd, name, mode)       MKDIR     arg 2: no S_ISUID|S_ISGID
 *      mknodat(dirfd, name, mode, 0)    MKNOD     arg 2: no S_ISUID|S_ISGID
 *                                       (S_IFREG or S_IFIFO only)
 *      openat2(dirfd, name, &how, 24)   CREATE    how.mode: no S_ISUID|S_ISGID,
 *                                       in memory, out of seccomp's reach
 *    (io_uring is restricted to READV/WRITEV/FSYNC/FALLOCATE; symlinkat and
 *    linkat take no mode; fchownat lets the kernel clear the bits);
 *  - read-only shares refuse every modification on the host side (EROFS);
 *  - open fds are bounded by max_fds (CVE-2020-10717), with a reserve for
 *    open handles that looked-up inodes cannot take (fuse_inode.h);
 *  - the one heap allocation a guest drives, READDIR streams, has a byte
 *    budget per share (fuse_dir.h): over it READDIR fails with ENOMEM;
 *    everything else a request needs is in struct fuse_server (fixed size)
 *    or in the fd-bounded inode and handle tables;
 *  - FORGET cannot free an inode in use; nodeids/fhs are validated.
 *
 * Ownership (ids_passthrough false, the default): objects the guest creates
 * are owned by host_uid:host_gid on the host; GETATTR shows uid host_uid as
 * guest_uid and gid host_gid as guest_gid, other ids unchanged; SETATTR may
 * "change" uid/gid only to guest_uid/guest_gid (a no-op), anything else is
 * EPERM. With ids_passthrough, ids are reported and set as they are, and new
 * objects get the caller's uid/gid from the request header when the server
 * may chown (else they keep the server's own ids).
 *
 * Caches: entries and attributes are valid for 1 s, so changes made on the
 * host side show up quickly; open() drops the page cache (no KEEP_CACHE) and
 * FUSE_AUTO_INVAL_DATA drops it when the host mtime changes.
 *
 * Process state: fuse_server_init sets umask(0): the guest kernel already
 * applied the caller's umask (FUSE_DONT_MASK is not negotiated) and a second
 * mask on the host would change modes.
 *
 * Concurrency: one thread calls fuse_server_handle at a time.
 */
#ifndef ARCA_FUSE_SERVER_H
#define ARCA_FUSE_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fuse_decode.h"
#include "fuse_inode.h"

struct fuse_server_config {
	int root_fd;        /* O_PATH|O_DIRECTORY of the share root; ownership passes to the server */
	int proc_self_fd;   /* O_PATH dir fd of /proc/self/fd, borrowed (several servers may
			     * share one; the caller closes it after destroy), opened
			     * by the process that serves (after any fork: "self" is
			     * resolved at open time); -1 if
			     * unavailable: opening files for I/O then fails with EACCES,
			     * never falls back to re-resolving a name */
	bool read_only;
	bool ids_passthrough;
	bool writeback;     /* offer FUSE_WRITEBACK_CACHE: the guest's page cache
			     * holds writes until writeback, close or fsync, and the
			     * guest trusts its own size and mtime. For shares the
			     * host does not change while the VM runs. */
	bool direct_io;     /* FOPEN_DIRECT_IO on every file open: no guest page
			     * cache for file data, READ/WRITE go straight between
			     * the caller's buffer and the host file (one copy
			     * fewer); shared writable mmap then fails (ENODEV). */
	bool timed;         /* time each READ/WRITE (fuse_stats.read_ns/write_ns), for
			     * --verbose: two clock_gettime calls per I/O, a system
			     * call where the vDSO cannot read the clock (an unstable
			     * kvm-clock), so only when someone will read them */
	uint32_t host_uid, host_gid;   /* owner of files the guest creates */
	uint32_t guest_uid, guest_gid; /* what host_uid/host_gid appear as in the guest */
	unsigned max_fds;   /* bound on fds held (inodes + handles), 0 = default 4096;
			     * handles have a reserve in it (fuse_inode.h) */
	size_t dir_mem_max; /* bound on all READDIR stream memory of the share,
			     * 0 = FUSE_DIR_BUDGET_DEFAULT (fuse_dir.h) */
};

/* A READ or WRITE between its three steps, so an io_uring engine can submit
 * execute() as an SQE and call complete() from the CQE:
 *   prepare: decode done, handle resolved and pinned, iovecs computed;
 *   execute: the one syscall (preadv/pwritev) - the only blocking step;
 *   complete: reply header (and fuse_write_out) written into the out iovecs. */
struct fuse_io {
	uint32_t opcode;            /* FUSE_READ, FUSE_WRITE, FUSE_FSYNC or FUSE_FALLOCATE */
	uint32_t flags;             /* FSYNC: datasync only; FALLOCATE: mode */
	uint64_t unique;
	struct fuse_handle *h;      /* pinned (fuse_handle_hold) until complete */
	int fd;
	off_t off;
	size_t len;
	int niov;
	uint64_t t0;                /* CLOCK_MONOTONIC ns at prepare (stats) */
	struct iovec iov[FUSE_MAX_IOV];
};

/* What the guest asked of a share, for --verbose (fs_devices_report). One
 * writer (the share's thread), read by the main thread at the end: relaxed
 * atomics, no lock. */
#define FUSE_STATS_OPS 64     /* opcodes counted one by one; higher ones in the last slot */
struct fuse_stats {
	_Atomic uint64_t requests, reads, read_bytes, writes, write_bytes;
	_Atomic uint64_t read_ns, write_ns; /* from prepare to completion, summed */
	_Atomic uint64_t by_op[FUSE_STATS_OPS];
};

struct fuse_server {
	struct fuse_server_config cfg;
	struct fuse_stats stats;
	struct fuse_tables t;
	bool initialized;
	uint32_t minor;             /* negotiated protocol minor */
	bool writeback;             /* FUSE_WRITEBACK_CACHE negotiated */
	uint32_t max_readahead;
	unsigned inflight;          /* prepared READ/WRITEs not yet completed */
	struct fuse_io io;          /* the synchronous path's one in-flight I/O */
	uint64_t scratch[FUSE_SCRATCH_SIZE / 8];   /* decoded request (aligned) */
	uint64_t reply[(FUSE_XATTR_SIZE_MAX + 4096) / 8]; /* staged non-READ reply */
};

#define FUSE_SERVER_DEFAULT_MAX_FDS 4096u
/* The largest reply staged in fuse_server.reply (READDIR and xattr lists are
 * clamped to it); READ payloads go straight to the out iovecs. */
#define FUSE_REPLY_MAX (sizeof(((struct fuse_server *)0)->reply))

/* s is large (~150 KiB): allocate it, do not put it on a small stack. */
int fuse_server_init(struct fuse_server *s, const struct fuse_server_config *c);
/*
 * Handle one request: in[0..nin) is the request as sent (fuse_in_header +
 * args + WRITE payload), out[0..nout) the reply buffer(s). Returns the reply
 * length (>= sizeof(struct fuse_out_header)), 0 when the request gets no
 * reply (FORGET, BATCH_FORGET, INTERRUPT), or a negative errno only when no
 * reply can be formed: -EBADMSG when the request has no complete header,
 * -ENOSPC when out cannot hold even a fuse_out_header. Guest protocol errors
 * become an error reply (out header .error = -EINVAL, -ENOSYS, ...).
 */
ssize_t fuse_server_handle(struct fuse_server *s, const struct iovec *in, int nin,
			   const struct iovec *out, int nout);
/*
 * The asynchronous variant (vmm/fs_uring.c): the same, except that a READ or
 * WRITE that passes every check is left prepared in *io and -EINPROGRESS is
 * returned; the caller executes it (an io_uring SQE) and later calls
 * fuse_io_complete with the same out iovecs. Returns -EBUSY, without
 * touching anything, for a DESTROY while prepared I/O is outstanding (it
 * would close the fds that I/O uses): complete it all, then call again.
 */
ssize_t fuse_server_submit(struct fuse_server *s, const struct iovec *in, int nin,
			   const struct iovec *out, int nout, struct fuse_io *io);
void fuse_server_destroy(struct fuse_server *s);

/* The split READ/WRITE path (see struct fuse_io). prepare returns 0 or a
 * negative errno to reply with; execute returns the syscall's result
 * (bytes or -errno); complete writes the reply and returns its length. */
int fuse_io_prepare(struct fuse_server *s, const struct fuse_req *r, const struct iovec *in,
		    int nin, const struct iovec *out, int nout, struct fuse_io *io);
ssize_t fuse_io_execute(struct fuse_io *io);
ssize_t fuse_io_complete(struct fuse_server *s, struct fuse_io *io, ssize_t res,
			 const struct iovec *out, int nout);

#endif
