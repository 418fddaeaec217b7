/* SPDX-License-Identifier: MIT */
/*
 * A virtio device whose chains are independent requests (virtio-fs,
 * virtio-blk): each popped chain goes to a backend, which answers at once or
 * keeps it (VREQ_PENDING) and finishes it later with vreq_complete. This is
 * the queue machinery both devices share; each device adds its config space
 * and feature bits (its struct virtio_dev_ops) and nothing else.
 *
 *   - Slots: at most nslots requests are held at once; when all are taken
 *     the device stops popping (that queue is "stalled") until a completion
 *     frees one. Requests need no in-order completion (virtio-fs 5.11.6,
 *     virtio-blk 5.2.6: used buffers may be returned in any order).
 *   - Reset: a device reset while requests are held orphans them: their
 *     completion frees the slot but pushes nothing (the queue they came from
 *     is gone; guest memory stays mapped, so a late backend is memory-safe).
 *     A reset of one queue (QUEUE_READY 0) orphans that queue's requests
 *     likewise: the queue may be live again, on new rings, by the time they
 *     complete, and their heads would name someone else's descriptors.
 *   - Thread: each device runs its queues on a thread of its own (vreq_run),
 *     so slow host I/O never stalls the console or other devices.
 *
 * Locking: handle, flush and reap run with dev.lock held, on the device's
 * thread; vreq_complete expects it held (it is, from those callbacks).
 */
#ifndef ARCA_VIRTIO_REQ_H
#define ARCA_VIRTIO_REQ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "evloop.h"
#include "virtio.h"

#define VREQ_PENDING (-EINPROGRESS)
#define VREQ_MAX_QUEUES 16u /* struct virtio_dev's vqs[] */

/* One popped chain while the device holds it. */
struct vreq {
	unsigned slot;      /* 0..nslots-1: index for the backend's own state */
	unsigned q;
	bool busy;
	bool orphaned;      /* the device was reset meanwhile */
	int next_free;
	struct virtq_elem e;
};

struct vreq_backend_ops {
	/* Serve req. Returns the number of bytes written into the chain's
	 * device-writable part (0: none), VREQ_PENDING when the backend keeps
	 * req for vreq_complete, or a negative errno when it could not form a
	 * reply (the chain is returned empty; the backend has logged why). */
	ssize_t (*handle)(void *backend, struct vreq *req);
	/* After a batch of handle calls (optional): submit what was queued. */
	void (*flush)(void *backend);
	/* The completion fd is readable (optional): call vreq_complete for
	 * each finished request. */
	void (*reap)(void *backend);
};

struct vreq_dev {
	struct virtio_dev dev;   /* dev.priv points here */
	void *owner;             /* the device (struct virtio_fs, virtio_blk) */
	struct evloop loop;
	const struct vreq_backend_ops *bops;
	void *backend;
	/* nslots slots in pages of their own (vreq_dev_init); those from
	 * fresh on were never used, so never touched: a slot is ~4 KiB (its
	 * iovecs) and a device rarely holds more than a few requests. */
	struct vreq *reqs;
	unsigned nslots, nheld, fresh;
	int free_head;               /* slots used before and put back; -1: none */
	unsigned nqueues;
	bool stalled[VREQ_MAX_QUEUES]; /* popping stopped for want of a slot */
	bool pushed[VREQ_MAX_QUEUES];  /* used entries not yet signalled */
};

/* ops: the device's virtio ops, whose queue_kick and reset must call
 * vreq_kick and vreq_reset (ops->nqueues <= VREQ_MAX_QUEUES). nslots:
 * requests held at once (>= 1; 1 when the backend never answers
 * VREQ_PENDING). */
int vreq_dev_init(struct vreq_dev *v, const struct virtio_dev_ops *ops, void *owner,
		  const struct guest_mem *gm, const struct vreq_backend_ops *bops,
		  void *backend, unsigned nslots);
void vreq_dev_fini(struct vreq_dev *v);
/* The device from a virtio callback's struct virtio_dev. */
static inline struct vreq_dev *vreq_of(struct virtio_dev *d)
{
	return d->priv;
}
/* The driver made buffers available on queue q. */
void vreq_kick(struct vreq_dev *v, unsigned q);
/* The driver reset the device (from a vCPU thread: never waits). */
void vreq_reset(struct vreq_dev *v);
/* The driver reset queue q alone: orphan what is held from it. */
void vreq_queue_reset(struct vreq_dev *v, unsigned q);
/* Watch fd (the backend's completion eventfd) on the device's loop: its
 * readiness calls bops->reap with the device lock held. */
int vreq_watch(struct vreq_dev *v, int fd);
/* Finish a request the backend kept: push it with len bytes written
 * (unless orphaned or the device stopped) and free its slot. */
void vreq_complete(struct vreq_dev *v, struct vreq *req, ssize_t len);
/* Serve the device's queues until the loop is stopped: the body of the
 * device's thread, which its owner creates (and confines) first. */
int vreq_run(struct vreq_dev *v);

#endif
