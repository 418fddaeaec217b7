/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

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

static struct virtio_fs_req *slot_take(struct virtio_fs *f)
{
	if (f->free_head < 0)
		return NULL;
	struct virtio_fs_req *r = &f->reqs[f->free_head];
	f->free_head = r->next_free;
	r->busy = true;
	r->orphaned = false;
	f->nheld++;
	return r;
}

static void slot_put(struct virtio_fs *f, struct virtio_fs_req *r)
{
	r->busy = false;
	r->next_free = f->free_head;
	f->free_head = (int)r->slot;
	f->nheld--;
}

void virtio_fs_complete(struct virtio_fs *f, struct virtio_fs_req *req, ssize_t len)
{
	struct virtio_dev *d = &f->dev;
	if (!req->busy)
		return;
	/* A queue reset (or broken) since the pop has no place for this chain:
	 * its head index may already name a new request. */
	if (!req->orphaned && virtio_dev_running(d) && d->vqs[req->q].ready &&
	    !d->vqs[req->q].broken) {
		virtq_push(&d->vqs[req->q], &req->e, len > 0 ? (uint32_t)len : 0);
		f->pushed[req->q] = true;
	}
	slot_put(f, req);
}

static void fs_notify(struct virtio_fs *f)
{
	for (unsigned q = 0; q < FS_NQUEUES; q++) {
		if (f->pushed[q]) {
			f->pushed[q] = false;
			virtio_dev_notify(&f->dev, q);
		}
	}
}

/* Pop and serve until the queue is empty or every slot is held. */
static void fs_process(struct virtio_fs *f, unsigned q)
{
	struct virtio_dev *d = &f->dev;
	struct virtq *vq = &d->vqs[q];

	f->stalled[q] = false;
	for (;;) {
		struct virtio_fs_req *req;
		int r = 0;
		while ((req = slot_take(f)) != NULL) {
			if ((r = virtq_pop(vq, &req->e)) <= 0) {
				slot_put(f, req);
				break;
			}
			req->q = q;
			ssize_t n = f->bops->handle(f->backend, req);
			if (n != VIRTIO_FS_PENDING)
				virtio_fs_complete(f, req, n);
		}
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			break;
		}
		if (!req) {
			/* No kick re-enabled: completions resume popping. */
			f->stalled[q] = true;
			break;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
	if (f->bops->flush)
		f->bops->flush(f->backend);
	fs_notify(f);
}

static void fs_queue_kick(struct virtio_dev *d, unsigned q)
{
	fs_process(d->priv, q);
}

static void fs_reset(struct virtio_dev *d)
{
	struct virtio_fs *f = d->priv;
	/* Called from a vCPU thread: never wait for the backend here. */
	for (unsigned i = 0; i < f->nslots; i++)
		if (f->reqs[i].busy)
			f->reqs[i].orphaned = true;
	memset(f->stalled, 0, sizeof(f->stalled));
	memset(f->pushed, 0, sizeof(f->pushed));
}

static void on_completion(void *opaque, uint32_t events)
{
	struct virtio_fs *f = opaque;
	struct virtio_dev *d = &f->dev;
	pthread_mutex_lock(&d->lock);
	f->bops->reap(f->backend);
	fs_notify(f);
	for (unsigned q = 0; q < FS_NQUEUES; q++)
		if (f->stalled[q] && f->free_head >= 0 && virtio_dev_running(d) && d->vqs[q].ready)
			fs_process(f, q);
	pthread_mutex_unlock(&d->lock);
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
	.reset = fs_reset,
};

int virtio_fs_init(struct virtio_fs *f, const struct guest_mem *gm, const char *tag,
		   const struct virtio_fs_backend_ops *bops, void *backend, unsigned nslots)
{
	size_t n = strlen(tag);
	if (n == 0 || n > VIRTIO_FS_TAG_MAX || nslots == 0 || nslots > VIRTQ_MAX_SIZE)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	memcpy(f->tag, tag, n);
	f->bops = bops;
	f->backend = backend;
	f->reqs = calloc(nslots, sizeof(*f->reqs));
	if (!f->reqs)
		return -ENOMEM;
	f->nslots = nslots;
	for (unsigned i = 0; i < nslots; i++) {
		f->reqs[i].slot = i;
		f->reqs[i].next_free = i + 1 < nslots ? (int)i + 1 : -1;
	}
	f->free_head = 0;
	int r = evloop_init(&f->loop);
	if (r < 0)
		return r;
	return virtio_dev_init(&f->dev, &fs_ops, f, gm);
}

int virtio_fs_watch(struct virtio_fs *f, int fd)
{
	if (!f->bops->reap)
		return -EINVAL;
	return evloop_add(&f->loop, fd, EPOLLIN, on_completion, f);
}

int virtio_fs_run(struct virtio_fs *f)
{
	return evloop_run(&f->loop);
}
