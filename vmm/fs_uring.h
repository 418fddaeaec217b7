/* SPDX-License-Identifier: MIT */
/*
 * io_uring engine of a share (a backend helper: it knows struct fuse_io,
 * nothing of virtio). One ring per share, used only by that share's thread.
 *
 * Confinement: io_uring operations are not system calls, so seccomp cannot
 * see them; a ring that could do IORING_OP_OPENAT or IORING_OP_CONNECT
 * would undo policy/vmm-fs.policy. fs_uring_init therefore runs on the main
 * thread before any filter is installed and leaves the ring restricted
 * (IORING_REGISTER_RESTRICTIONS on a ring created IORING_SETUP_R_DISABLED):
 *   - SQE opcodes: IORING_OP_READV and IORING_OP_WRITEV only, the two the
 *     FUSE READ/WRITE path issues; anything else completes with -EACCES;
 *   - SQE flags: none (no IOSQE_FIXED_FILE: no registered files, so no
 *     run-time registration; no links, no buffer selection);
 *   - io_uring_register: no operation at all once enabled (-EACCES), and the
 *     syscall is not in the fs policy either; nor is io_uring_setup, so the
 *     thread can never make a fresh, unrestricted ring.
 * The eventfd and the io-wq worker bound are registered before enabling.
 *
 * Completion: the kernel signals the eventfd for every CQE; the share's
 * event loop polls it next to the queue kicks and calls fs_uring_reap.
 */
#ifndef ARCA_VMM_FS_URING_H
#define ARCA_VMM_FS_URING_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "fuse_server.h"

/* Bound on io-wq workers per share thread (they run the regular-file I/O
 * that cannot complete inline, e.g. buffered writes on ext4): each is a
 * thread counted in the VMM's cgroup pids.max (vCPUs + PRIVSEP_PIDS_EXTRA). */
#define FS_URING_MAX_WORKERS 2u

struct fs_uring {
	struct io_uring ring;
	int efd;           /* CQE notifications; -1 before init */
	unsigned depth;    /* SQ entries: bound on requests in flight */
	unsigned inflight; /* queued or submitted, CQE not yet reaped */
	unsigned unsubmitted;
};

typedef void (*fs_uring_done_fn)(void *opaque, uint64_t tag, int32_t res);

/* Create, restrict and enable a ring of depth entries (a power of two, 1..4096).
 * Returns 0 or the negative errno of the step that failed (io_uring absent,
 * disabled by sysctl, refused by a container's seccomp, kernel too old for
 * restricted rings): the caller then serves synchronously. */
int fs_uring_init(struct fs_uring *u, unsigned depth);
void fs_uring_fini(struct fs_uring *u);
/* Whether another request can be queued (inflight < depth). */
bool fs_uring_has_room(const struct fs_uring *u);
/* Queue io (prepared by fuse_server_submit; it must stay in place until its
 * completion) as an SQE carrying tag. 0, -EBUSY when depth requests are in
 * flight, -EINVAL for a negative offset (io_uring would take -1 as "the
 * current file position", preadv refuses it). */
int fs_uring_queue(struct fs_uring *u, const struct fuse_io *io, uint64_t tag);
/* Hand queued SQEs to the kernel. 0 or -errno (they stay queued). */
int fs_uring_submit(struct fs_uring *u);
/* Clear the eventfd and call done for each CQE ready. Returns the count. */
unsigned fs_uring_reap(struct fs_uring *u, fs_uring_done_fn done, void *opaque);
/* Submit, then wait until nothing is in flight, calling done for each CQE. */
int fs_uring_drain(struct fs_uring *u, fs_uring_done_fn done, void *opaque);

#endif
