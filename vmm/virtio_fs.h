/* SPDX-License-Identifier: MIT */
/*
 * virtio-fs device (virtio 1.2 section 5.11): one hiprio queue (FORGET,
 * INTERRUPT) and one request queue, each chain a FUSE request (device-
 * readable part) and room for its reply (device-writable part). The device
 * knows nothing of FUSE: it hands both halves, as iovecs into guest memory,
 * to a backend (the FUSE server over one share directory) through the
 * request machinery of vmm/virtio_req.h (slots, asynchronous completion,
 * reset, the device's own thread). This file adds the config space: the tag.
 */
#ifndef ARCA_VIRTIO_FS_H
#define ARCA_VIRTIO_FS_H

#include <stdint.h>

#include "virtio_req.h"

#define VIRTIO_FS_TAG_MAX 36 /* bytes, not NUL-terminated on the wire */

struct virtio_fs {
	struct vreq_dev v;
	uint8_t tag[VIRTIO_FS_TAG_MAX];
};

/* tag: 1..36 bytes; nslots: requests held at once (see vreq_dev_init). */
int virtio_fs_init(struct virtio_fs *f, const struct guest_mem *gm, const char *tag,
		   const struct vreq_backend_ops *bops, void *backend, unsigned nslots);

#endif
