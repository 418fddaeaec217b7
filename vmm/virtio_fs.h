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
 */
#ifndef ARCA_VIRTIO_FS_H
#define ARCA_VIRTIO_FS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "evloop.h"
#include "virtio.h"

#define VIRTIO_FS_TAG_MAX 36 /* bytes, not NUL-terminated on the wire */

/* Returns the number of reply bytes written into out (0: no reply), or a
 * negative errno if the backend itself failed (the request then gets no
 * reply bytes; the backend has logged why). */
typedef ssize_t (*virtio_fs_handle_fn)(void *backend, const struct iovec *in, int nin,
				       const struct iovec *out, int nout);

struct virtio_fs {
	struct virtio_dev dev;
	uint8_t tag[VIRTIO_FS_TAG_MAX];
	struct evloop loop;
	virtio_fs_handle_fn handle;
	void *backend;
};

/* tag: 1..36 bytes. */
int virtio_fs_init(struct virtio_fs *f, const struct guest_mem *gm, const char *tag,
		   virtio_fs_handle_fn handle, void *backend);
/* Serve the device's queues until the loop is stopped: the body of the
 * device's thread, which its owner creates (and confines) first. */
int virtio_fs_run(struct virtio_fs *f);

#endif
