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
	struct virtio_fs *f = d->priv;
	uint8_t cfg[VIRTIO_FS_TAG_MAX + 4];
	memcpy(cfg, f->tag, VIRTIO_FS_TAG_MAX);
	proto_put_le32(cfg + VIRTIO_FS_TAG_MAX, FS_NQUEUES - 1);
	memcpy(buf, cfg + off, len); /* bounds checked by the transport */
}

static void fs_queue_kick(struct virtio_dev *d, unsigned q)
{
	struct virtio_fs *f = d->priv;
	struct virtq *vq = &d->vqs[q];
	bool pushed = false;

	for (;;) {
		struct virtq_elem e;
		int r;
		while ((r = virtq_pop(vq, &e)) > 0) {
			ssize_t n = f->handle(f->backend, e.iov, (int)e.nout, &e.iov[e.nout],
					      (int)e.nin);
			virtq_push(vq, &e, n > 0 ? (uint32_t)n : 0);
			pushed = true;
		}
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			return;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
	if (pushed)
		virtio_dev_notify(d, q);
}

static const struct virtio_dev_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX),
	.nqueues = FS_NQUEUES,
	.queue_max = 256,
	.config_size = VIRTIO_FS_TAG_MAX + 4,
	.config_read = fs_config_read,
	.queue_kick = fs_queue_kick,
};

int virtio_fs_init(struct virtio_fs *f, const struct guest_mem *gm, const char *tag,
		   virtio_fs_handle_fn handle, void *backend)
{
	size_t n = strlen(tag);
	if (n == 0 || n > VIRTIO_FS_TAG_MAX)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	memcpy(f->tag, tag, n);
	f->handle = handle;
	f->backend = backend;
	int r = evloop_init(&f->loop);
	if (r < 0)
		return r;
	return virtio_dev_init(&f->dev, &fs_ops, f, gm);
}

int virtio_fs_run(struct virtio_fs *f)
{
	return evloop_run(&f->loop);
}
