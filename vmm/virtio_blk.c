/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "virtio_blk.h"

/* The config space up to write_zeroes_may_unmap and its padding: what a
 * driver of the features we offer reads (5.2.4); later fields (secure
 * erase, zoned) belong to features we do not offer. */
#define BLK_CONFIG_SIZE (offsetof(struct virtio_blk_config, unused1) + 3)

unsigned virtio_blk_config(const struct virtio_blk_params *p, void *buf, unsigned cap)
{
	struct virtio_blk_config c;
	memset(&c, 0, sizeof(c));
	c.capacity = htole64(p->capacity);
	c.size_max = htole32(VIRTIO_BLK_SIZE_MAX);
	c.seg_max = htole32(VIRTIO_BLK_SEG_MAX);
	/* 512-byte logical blocks: the unit of every virtio-blk sector field,
	 * and what an O_DIRECT fd of a 512e disk accepts. */
	c.blk_size = htole32(512);
	c.num_queues = htole16((uint16_t)p->nqueues);
	/* One range per DISCARD/WRITE_ZEROES request: each becomes exactly one
	 * fallocate, so a request is one SQE. */
	c.max_discard_sectors = htole32(VIRTIO_BLK_DISCARD_MAX);
	c.max_discard_seg = htole32(1);
	c.discard_sector_alignment = htole32(1);
	c.max_write_zeroes_sectors = htole32(VIRTIO_BLK_ZEROES_MAX);
	c.max_write_zeroes_seg = htole32(1);
	c.write_zeroes_may_unmap = 1;
	unsigned n = BLK_CONFIG_SIZE < cap ? (unsigned)BLK_CONFIG_SIZE : cap;
	memcpy(buf, &c, n);
	return (unsigned)BLK_CONFIG_SIZE;
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_blk *b = vreq_of(d)->owner;
	uint8_t cfg[sizeof(struct virtio_blk_config)];
	virtio_blk_config(&b->p, cfg, sizeof(cfg));
	memcpy(buf, cfg + off, len); /* bounds checked by the transport */
}

static void blk_queue_kick(struct virtio_dev *d, unsigned q)
{
	vreq_kick(vreq_of(d), q);
}

static void blk_reset(struct virtio_dev *d)
{
	vreq_reset(vreq_of(d));
}

static void blk_queue_reset(struct virtio_dev *d, unsigned q)
{
	vreq_queue_reset(vreq_of(d), q);
}

int virtio_blk_init(struct virtio_blk *b, const struct guest_mem *gm,
		    const struct virtio_blk_params *p, const struct vreq_backend_ops *bops,
		    void *backend, unsigned nslots)
{
	if (!p->capacity || !p->nqueues || p->nqueues > VREQ_MAX_QUEUES)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->p = *p;
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
		     (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		     (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH);
	if (p->read_only)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (p->nqueues > 1)
		f |= 1ull << VIRTIO_BLK_F_MQ;
	/* A read-only disk refuses both anyway (blk_req): do not offer them. */
	if (p->discard && !p->read_only)
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	if (p->write_zeroes && !p->read_only)
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	b->ops = (struct virtio_dev_ops){
		.name = "blk",
		.device_id = VIRTIO_ID_BLOCK,
		.features = f,
		.nqueues = p->nqueues,
		.queue_max = VIRTIO_BLK_QUEUE_SIZE,
		.config_size = (uint32_t)BLK_CONFIG_SIZE,
		.config_read = blk_config_read,
		.queue_kick = blk_queue_kick,
		.reset = blk_reset,
		.queue_reset = blk_queue_reset,
	};
	return vreq_dev_init(&b->v, &b->ops, b, gm, bops, backend, nslots);
}
