/* SPDX-License-Identifier: MIT */
/*
 * virtio-fs device (virtio 1.2 section 5.11): one hiprio queue (FORGET,
 * INTERRUPT) and one request queue, each chain a FUSE request (device-
 * readable part) and room for its reply (device-writable part). The device
 * knows nothing of FUSE: it hands both halves, as iovecs into guest memory,
 * to a backend (the FUSE server over one share directory).
 *
 * Each fs device runs its queues on a thread of its own, so slow host I/O
 * on a share never stalls the console or other devices.
 *
 * Asynchronous requests: a backend may keep a request (VIRTIO_FS_PENDING)
 * and finish it later with virtio_fs_complete; its chain is pushed to the
 * used ring only then (virtio-fs needs no in-order completion: 5.11.6).
 * At most nslots requests are held at once; when all are taken the device
 * stops popping until completions free one. A device reset while requests
 * are held orphans them: their completion frees the slot but pushes nothing
 * (the queue they came from is gone; guest memory stays mapped, so the
 * backend finishing late is memory-safe).
 *
 * Locking: handle, flush and reap run with dev.lock held, on the device's
 * thread; virtio_fs_complete expects it held (it is, from those callbacks).
 */
#ifndef ARCA_VIRTIO_FS_H
#define ARCA_VIRTIO_FS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "evloop.h"
#include "virtio.h"

#define VIRTIO_FS_TAG_MAX 36 /* bytes, not NUL-terminated on the wire */
#define VIRTIO_FS_PENDING (-EINPROGRESS)

/* One popped chain while the device holds it. */
struct virtio_fs_req {
	unsigned slot;      /* 0..nslots-1: index for the backend's own state */
	unsigned q;
	bool busy;
	bool orphaned;      /* the device was reset meanwhile */
	int next_free;
	struct virtq_elem e;
};

struct virtio_fs_backend_ops {
	/* Serve req. Returns the reply length (0: no reply), VIRTIO_FS_PENDING
	 * when the backend keeps req for virtio_fs_complete, or a negative
	 * errno when it could not form a reply (the chain is returned empty;
	 * the backend has logged why). */
	ssize_t (*handle)(void *backend, struct virtio_fs_req *req);
	/* After a batch of handle calls (optional): submit what was queued. */
	void (*flush)(void *backend);
	/* The completion fd is readable (optional): call virtio_fs_complete
	 * for each finished request. */
	void (*reap)(void *backend);
};

struct virtio_fs {
	struct virtio_dev dev;
	uint8_t tag[VIRTIO_FS_TAG_MAX];
	struct evloop loop;
	const struct virtio_fs_backend_ops *bops;
	void *backend;
	struct virtio_fs_req *reqs;
	unsigned nslots, nheld;
	int free_head;
	bool stalled[2];    /* popping stopped for want of a slot */
	bool pushed[2];     /* used entries not yet signalled */
};

/* tag: 1..36 bytes; nslots: requests held at once (>= 1; 1 when the
 * backend never answers VIRTIO_FS_PENDING). */
int virtio_fs_init(struct virtio_fs *f, const struct guest_mem *gm, const char *tag,
		   const struct virtio_fs_backend_ops *bops, void *backend, unsigned nslots);
/* Watch fd (the backend's completion eventfd) on the device's loop: its
 * readiness calls bops->reap with the device lock held. */
int virtio_fs_watch(struct virtio_fs *f, int fd);
/* Finish a request the backend kept: push it with len reply bytes (unless
 * orphaned or the device stopped) and free its slot. */
void virtio_fs_complete(struct virtio_fs *f, struct virtio_fs_req *req, ssize_t len);
/* Serve the device's queues until the loop is stopped: the body of the
 * device's thread, which its owner creates (and confines) first. */
int virtio_fs_run(struct virtio_fs *f);

#endif
