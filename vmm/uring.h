/* SPDX-License-Identifier: MIT */
/*
 * The io_uring engine shared by the shares' FUSE servers (vmm/fs_uring.c
 * adapts struct fuse_io to it) and the virtio-blk disks (vmm/blk.c): a
 * backend helper that knows neither FUSE nor virtio, only vectored reads
 * and writes, fsync and fallocate on an fd. One ring per device thread,
 * used only by that thread.
 *
 * Confinement: io_uring operations are not system calls, so seccomp cannot
 * see them; a ring that could do IORING_OP_OPENAT or IORING_OP_CONNECT
 * would undo the thread's policy (policy/vmm-fs.policy, vmm-blk.policy).
uring_init therefore runs on the main
 * thread before any filter is installed and leaves the ring restricted
 * (IORING_REGISTER_RESTRICTIONS on a ring created IORING_SETUP_R_DISABLED):
 *   - SQE opcodes: IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC and
 *     IORING_OP_FALLOCATE only (FUSE READ/WRITE/FSYNC/FALLOCATE; virtio-blk
 *     IN/OUT/FLUSH/DISCARD/WRITE_ZEROES); anything else completes -EACCES;
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
#ifndef ARCA_VMM_URING_H
#define ARCA_VMM_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

/* Bound on io-wq workers per ring (they run the regular-file I/O that
 * cannot complete inline, e.g. buffered writes on ext4): each is a thread
 * counted in the VMM's cgroup pids.max (the launcher adds 3 per device
 * thread: the thread and its two workers). */
#define URING_MAX_WORKERS 2u

enum uring_op {
	URING_READV,
	URING_WRITEV,
	URING_FSYNC,     /* whole file, metadata too */
	URING_FDATASYNC,
	URING_FALLOCATE, /* mode, off, len */
};

/* One operation. iov (READV/WRITEV) must stay valid until the completion:
 * io_uring copies the array when it issues the request or moves it to a
 * worker, and reads the buffers any time before completing. */
struct uring_req {
	enum uring_op op;
	int fd;
	const struct iovec *iov;
	unsigned niov;
	uint64_t off;
	uint64_t len;  /* FALLOCATE */
	int mode;      /* FALLOCATE: FALLOC_FL_* */
};

struct uring {
	struct io_uring ring;
	int efd;           /* CQE notifications; -1 before init */
	unsigned depth;    /* SQ entries: bound on requests in flight */
	unsigned inflight; /* queued or submitted, CQE not yet reaped */
	unsigned unsubmitted;
};

typedef void (*uring_done_fn)(void *opaque, uint64_t tag, int32_t res);

/* Create, restrict and enable a ring of depth entries (a power of two, 1..4096).
 * Returns 0 or the negative errno of the step that failed (io_uring absent,
 * disabled by sysctl, refused by a container's seccomp, kernel too old for
 * restricted rings): the caller then serves synchronously. */
int uring_init(struct uring *u, unsigned depth);
void uring_fini(struct uring *u);
/* Whether another request can be queued (inflight < depth). */
bool uring_has_room(const struct uring *u);
/* Queue r as an SQE carrying tag. 0, -EBUSY when depth requests are in
 * flight, -EINVAL for an offset or length above INT64_MAX (io_uring would
 * take -1 as "the current file position", preadv refuses it) or an unknown
 * op. */
int uring_queue(struct uring *u, const struct uring_req *r, uint64_t tag);
/* Run r synchronously with the matching system call (preadv, pwritev,
 * fsync, fdatasync, fallocate): the fallback when no ring is available and
 * when io-wq cancels a request. Bytes or 0, or -errno. */
int64_t uring_execute(const struct uring_req *r);
/* Hand queued SQEs to the kernel. 0 or -errno (they stay queued). */
int uring_submit(struct uring *u);
/* Clear the eventfd and call done for each CQE ready. Returns the count. */
unsigned uring_reap(struct uring *u, uring_done_fn done, void *opaque);
/* Submit, then wait until nothing is in flight, calling done for each CQE. */
int uring_drain(struct uring *u, uring_done_fn done, void *opaque);

#endif
