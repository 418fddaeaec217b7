/* SPDX-License-Identifier: MIT */
/* Request-queue machinery shared by virtio-fs and virtio-blk; see virtio_req.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio_req.h"
#include "lazymem.h"

static bool slot_free(const struct vreq_dev *v)
{
	return v->free_head >= 0 || v->fresh < v->nslots;
}

/* A slot put back before, else the lowest never used (its page is touched
 * for the first time now). */
static struct vreq *slot_take(struct vreq_dev *v)
{
	struct vreq *r;
	if (v->free_head >= 0) {
		r = &v->reqs[v->free_head];
		v->free_head = r->next_free;
	} else if (v->fresh < v->nslots) {
		r = &v->reqs[v->fresh];
		r->slot = v->fresh++;
	} else {
		return NULL;
	}
	r->busy = true;
	r->orphaned = false;
	v->nheld++;
	return r;
}

static void slot_put(struct vreq_dev *v, struct vreq *r)
{
	r->busy = false;
	r->next_free = v->free_head;
	v->free_head = (int)r->slot;
	v->nheld--;
}

void vreq_complete(struct vreq_dev *v, struct vreq *req, ssize_t len)
{
	struct virtio_dev *d = &v->dev;
	if (!req->busy)
		return;
	/* A queue reset (or broken) since the pop has no place for this chain:
	 * its head index may already name a new request. */
	if (!req->orphaned && virtio_dev_running(d) && d->vqs[req->q].ready &&
	    !d->vqs[req->q].broken) {
		virtq_push(&d->vqs[req->q], &req->e, len > 0 ? (uint32_t)len : 0);
		v->pushed[req->q] = true;
	}
	slot_put(v, req);
}

static void notify(struct vreq_dev *v)
{
	for (unsigned q = 0; q < v->nqueues; q++) {
		if (v->pushed[q]) {
			v->pushed[q] = false;
			virtio_dev_notify(&v->dev, q);
		}
	}
}

/* Pop and serve until the queue is empty or every slot is held. */
static void process(struct vreq_dev *v, unsigned q)
{
	struct virtio_dev *d = &v->dev;
	struct virtq *vq = &d->vqs[q];

	v->stalled[q] = false;
	for (;;) {
		struct vreq *req;
		int r = 0;
		while ((req = slot_take(v)) != NULL) {
			if ((r = virtq_pop(vq, &req->e)) <= 0) {
				slot_put(v, req);
				break;
			}
			req->q = q;
			ssize_t n = v->bops->handle(v->backend, req);
			if (n != VREQ_PENDING)
				vreq_complete(v, req, n);
		}
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			break;
		}
		if (!req) {
			/* No kick re-enabled: completions resume popping. */
			v->stalled[q] = true;
			break;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
	if (v->bops->flush)
		v->bops->flush(v->backend);
	notify(v);
}

void vreq_kick(struct vreq_dev *v, unsigned q)
{
	if (q < v->nqueues)
		process(v, q);
}

void vreq_reset(struct vreq_dev *v)
{
	for (unsigned i = 0; i < v->fresh; i++)
		if (v->reqs[i].busy)
			v->reqs[i].orphaned = true;
	memset(v->stalled, 0, sizeof(v->stalled));
	memset(v->pushed, 0, sizeof(v->pushed));
}

void vreq_queue_reset(struct vreq_dev *v, unsigned q)
{
	if (q >= v->nqueues)
		return;
	for (unsigned i = 0; i < v->fresh; i++)
		if (v->reqs[i].busy && v->reqs[i].q == q)
			v->reqs[i].orphaned = true;
	v->stalled[q] = false;
	v->pushed[q] = false;
}

static void on_completion(void *opaque, uint32_t events)
{
	struct vreq_dev *v = opaque;
	struct virtio_dev *d = &v->dev;
	pthread_mutex_lock(&d->lock);
	v->bops->reap(v->backend);
	notify(v);
	for (unsigned q = 0; q < v->nqueues; q++)
		if (v->stalled[q] && slot_free(v) && virtio_dev_running(d) && d->vqs[q].ready)
			process(v, q);
	pthread_mutex_unlock(&d->lock);
}

int vreq_dev_init(struct vreq_dev *v, const struct virtio_dev_ops *ops, void *owner,
		  const struct guest_mem *gm, const struct vreq_backend_ops *bops,
		  void *backend, unsigned nslots)
{
	if (nslots == 0 || nslots > VIRTQ_MAX_SIZE || ops->nqueues == 0 ||
	    ops->nqueues > VREQ_MAX_QUEUES)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->owner = owner;
	v->bops = bops;
	v->backend = backend;
	v->nqueues = ops->nqueues;
	/* A slot's page is touched when the slot is first used (slot_take). */
	size_t size = (size_t)nslots * sizeof(*v->reqs);
	void *p = lazymem_alloc(size);
	if (!p)
		return -errno;
	v->reqs = p;
	v->nslots = nslots;
	v->fresh = 0;
	v->free_head = -1;
	int r = evloop_init(&v->loop);
	if (r < 0)
		return r;
	return virtio_dev_init(&v->dev, ops, v, gm);
}

void vreq_dev_fini(struct vreq_dev *v)
{
	evloop_fini(&v->loop);
	lazymem_free(v->reqs, (size_t)v->nslots * sizeof(*v->reqs));
	v->reqs = NULL;
}

int vreq_watch(struct vreq_dev *v, int fd)
{
	if (!v->bops->reap)
		return -EINVAL;
	return evloop_add(&v->loop, fd, EPOLLIN, on_completion, v);
}

int vreq_run(struct vreq_dev *v)
{
	return evloop_run(&v->loop);
}
