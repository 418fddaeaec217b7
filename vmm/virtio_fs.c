/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "proto.h"
#include "virtio_fs.h"

#define FS_NQUEUES 2u /* hiprio + one request queue */

static void fs_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_fs *f = vreq_of(d)->owner;
	uint8_t cfg[VIRTIO_FS_TAG_MAX + 4];
	memcpy(cfg, f->tag, VIRTIO_FS_TAG_MAX);
	proto_put_le32(cfg + VIRTIO_FS_TAG_MAX, FS_NQUEUES - 1);
	memcpy(buf, cfg + off, len); /* bounds checked by the transport */
}

static void fs_queue_kick(struct virtio_dev *d, unsigned q)
{
	vreq_kick(vreq_of(d), q);
}

static void fs_reset(struct virtio_dev *d)
{
	vreq_reset(vreq_of(d));
}

static void fs_queue_reset(struct virtio_dev *d, unsigned q)
{
	vreq_queue_reset(vreq_of(d), q);
}

static const struct virtio_dev_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX),
	.nqueues = FS_NQUEUES,
	/* Room for FUSE_MAX_IO requests (259 entries each) several at a
	 * time; the guest's ring is its own memory. */
	.queue_max = 1024,
	.config_size = VIRTIO_FS_TAG_MAX + 4,
	.config_read = fs_config_read,
	.queue_kick = fs_queue_kick,
	.reset = fs_reset,
	.queue_reset = fs_queue_reset,
};

int virtio_fs_init(struct virtio_fs *f, const struct guest_mem *gm, const char *tag,
		   const struct vreq_backend_ops *bops, void *backend, unsigned nslots)
{
	size_t n = strlen(tag);
	if (n == 0 || n > VIRTIO_FS_TAG_MAX)
		return -EINVAL;
	memset(f->tag, 0, sizeof(f->tag));
	memcpy(f->tag, tag, n);
	return vreq_dev_init(&f->v, &fs_ops, f, gm, bops, backend, nslots);
}
