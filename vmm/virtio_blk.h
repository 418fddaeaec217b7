/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device (virtio 1.2 section 5.2): the feature bits and config
 * space of a disk, on the request machinery of vmm/virtio_req.h (slots,
 * asynchronous completion, reset, the device's own thread). The device
 * knows nothing of files or io_uring: each popped chain goes to a backend
 * (vmm/blk.c), which decodes it with vmm/blk_req.h and answers.
 *
 * Queues: num_queues request queues (VIRTIO_BLK_F_MQ when more than one;
 * the launcher asks for one per vCPU, so each guest CPU submits on its own
 * queue without sharing a lock), all served by the disk's one thread.
 */
#ifndef ARCA_VIRTIO_BLK_H
#define ARCA_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_req.h"

/* Limits the device advertises (and blk_req enforces). */
#define VIRTIO_BLK_QUEUE_SIZE   256u
#define VIRTIO_BLK_SEG_MAX      (VIRTIO_BLK_QUEUE_SIZE - 2) /* header + status */
#define VIRTIO_BLK_SIZE_MAX     (1u << 20)   /* bytes per segment */
#define VIRTIO_BLK_DISCARD_MAX  (1u << 22)   /* sectors (2 GiB) per request */
#define VIRTIO_BLK_ZEROES_MAX   (1u << 22)

struct virtio_blk_params {
	uint64_t capacity;     /* 512-byte sectors */
	bool read_only;        /* VIRTIO_BLK_F_RO */
	bool discard;          /* VIRTIO_BLK_F_DISCARD */
	bool write_zeroes;     /* VIRTIO_BLK_F_WRITE_ZEROES */
	unsigned nqueues;      /* 1..VREQ_MAX_QUEUES */
};

struct virtio_blk {
	struct vreq_dev v;
	struct virtio_dev_ops ops; /* per disk: queues and features vary */
	struct virtio_blk_params p;
};

/* nslots: requests held at once (see vreq_dev_init). -EINVAL for a zero
 * capacity or a queue count out of range. */
int virtio_blk_init(struct virtio_blk *b, const struct guest_mem *gm,
		    const struct virtio_blk_params *p, const struct vreq_backend_ops *bops,
		    void *backend, unsigned nslots);

/* The config space as the driver reads it (pure; for tests): writes at most
 * cap bytes of struct virtio_blk_config, little-endian, and returns the
 * config size. */
unsigned virtio_blk_config(const struct virtio_blk_params *p, void *buf, unsigned cap);

#endif
