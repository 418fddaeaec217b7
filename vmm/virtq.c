/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "iov.h"
#include "virtq.h"

/* The guest shares these rings with us and may write them at any moment:
 * every access is a single relaxed atomic load/store of a naturally aligned
 * field, and ordering is made explicit with the fences below (2.7.13). */
#define LOAD16(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE16(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define STORE32(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static int broken(struct virtq *vq, const char *why)
{
	vq->broken = true;
	if (!vq->why_broken)
		vq->why_broken = why;
	return -EIO;
}

int virtq_activate(struct virtq *vq, const struct guest_mem *gm)
{
	uint16_t n = vq->num;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EFAULT;
	/* Sizes include the event-idx words (used_event / avail_event)
	 * whether or not they are negotiated: the driver allocates them. */
	vq->desc = gm_ptr(gm, vq->desc_gpa, 16ull * n);
	vq->avail = gm_ptr(gm, vq->avail_gpa, 6ull + 2ull * n);
	vq->used = gm_ptr(gm, vq->used_gpa, 6ull + 8ull * n);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;
	vq->gm = gm;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	vq->why_broken = NULL;
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

bool virtq_has_avail(struct virtq *vq)
{
	if (!vq->ready || vq->broken || !vq->avail)
		return false;
	return LOAD16(&vq->avail->idx) != vq->last_avail;
}

int virtq_pop(struct virtq *vq, struct virtq_elem *e)
{
	if (!vq->ready || !vq->avail)
		return 0;
	if (vq->broken)
		return -EIO;

	uint16_t avail_idx = LOAD16(&vq->avail->idx);
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->num)
		return broken(vq, "avail index ran ahead of the queue size");
	/* Read ring entries only after seeing the index that published them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	uint16_t head = LOAD16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num)
		return broken(vq, "avail ring entry out of range");

	e->head = head;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;

	uint16_t idx = head;
	for (unsigned count = 0;; count++) {
		/* A chain can visit each descriptor at most once; more means
		 * the guest built a loop. */
		if (count >= vq->num)
			return broken(vq, "descriptor chain loops");
		struct vring_desc d;
		d.addr = __atomic_load_n(&vq->desc[idx].addr, __ATOMIC_RELAXED);
		d.len = __atomic_load_n(&vq->desc[idx].len, __ATOMIC_RELAXED);
		d.flags = LOAD16(&vq->desc[idx].flags);
		d.next = LOAD16(&vq->desc[idx].next);

		if (d.flags & VRING_DESC_F_INDIRECT)
			return broken(vq, "indirect descriptor not negotiated");
		bool writable = d.flags & VRING_DESC_F_WRITE;
		if (!writable && e->nin)
			return broken(vq, "readable descriptor after a writable one");
		if (d.len) {
			void *p = gm_ptr(vq->gm, d.addr, d.len);
			if (!p)
				return broken(vq, "descriptor outside guest RAM");
			if (e->nout + e->nin >= VIRTQ_MAX_SEGS)
				return broken(vq, "descriptor chain too long");
			struct iovec *iov = &e->iov[e->nout + e->nin];
			iov->iov_base = p;
			iov->iov_len = d.len;
			if (writable) {
				e->nin++;
				e->in_len += d.len;
			} else {
				e->nout++;
				e->out_len += d.len;
			}
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->num)
			return broken(vq, "next descriptor out of range");
		idx = d.next;
	}
	vq->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq_unpop_n(struct virtq *vq, unsigned n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

void virtq_fill(struct virtq *vq, unsigned i, uint16_t head, uint32_t len)
{
	struct vring_used_elem *u = &vq->used->ring[(uint16_t)(vq->used_idx + i) & (vq->num - 1)];
	STORE32(&u->id, head);
	STORE32(&u->len, len);
}

void virtq_flush(struct virtq *vq, unsigned n)
{
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* The elements must be visible before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE16(&vq->used->idx, vq->used_idx);
}

void virtq_push(struct virtq *vq, const struct virtq_elem *e, uint32_t written)
{
	if (written > e->in_len)
		written = (uint32_t)e->in_len;
	virtq_fill(vq, 0, e->head, written);
	virtq_flush(vq, 1);
}

bool virtq_should_notify(struct virtq *vq)
{
	/* Order our used->idx store before reading the driver's suppression
	 * state; otherwise both sides can decide the other will act (2.7.7). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(LOAD16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	uint16_t old = vq->signalled_used, new_idx = vq->used_idx;
	bool valid = vq->signalled_valid;
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	uint16_t used_event = LOAD16(&vq->avail->ring[vq->num]);
	return vring_need_event(used_event, new_idx, old);
}

bool virtq_enable_kick(struct virtq *vq)
{
	if (!vq->ready || vq->broken || !vq->used)
		return false;
	if (vq->event_idx) {
		/* avail_event lives right after the used ring. */
		uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->num];
		STORE16(avail_event, vq->last_avail);
	} else {
		STORE16(&vq->used->flags, 0);
	}
	/* Publish the request before re-checking, or a buffer added in
	 * between would sit there with no kick coming. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_has_avail(vq);
}

size_t virtq_copy_from_out(const struct virtq_elem *e, size_t off, void *buf, size_t len)
{
	return iov_to_buf(e->iov, (int)e->nout, off, buf, len);
}

size_t virtq_copy_to_in(const struct virtq_elem *e, size_t off, const void *buf, size_t len)
{
	return iov_from_buf(&e->iov[e->nout], (int)e->nin, off, buf, len);
}
