/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "virtio_mmio.h"

#define VIRT_MAGIC   0x74726976u /* "virt" */
#define VIRT_VENDOR  0x41524341u /* "ACRA" — any value; drivers ignore it */

static void mmio_signal_used(struct virtio_dev *d)
{
	struct virtio_mmio *t = d->transport;
	__atomic_or_fetch(&t->isr, VIRTIO_MMIO_INT_VRING, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	/* An eventfd write only fails on counter overflow, which needs 2^64
	 * unconsumed signals: not reachable. */
	(void)!write(t->irqfd, &one, sizeof(one));
}

static void mmio_signal_config(struct virtio_dev *d)
{
	struct virtio_mmio *t = d->transport;
	__atomic_or_fetch(&t->isr, VIRTIO_MMIO_INT_CONFIG, __ATOMIC_SEQ_CST);
	t->config_gen++;
	uint64_t one = 1;
	(void)!write(t->irqfd, &one, sizeof(one));
}

static const struct virtio_transport_ops mmio_tops = {
	.signal_used = mmio_signal_used,
	.signal_config = mmio_signal_config,
};

static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_mmio_kick *k = opaque;
	struct virtio_dev *d = k->t->dev;
	uint64_t v;
	(void)!read(k->t->kickfd[k->q], &v, sizeof(v));
	pthread_mutex_lock(&d->lock);
	if (virtio_dev_running(d) && d->vqs[k->q].ready)
		d->ops->queue_kick(d, k->q);
	pthread_mutex_unlock(&d->lock);
}

int virtio_mmio_setup(struct virtio_mmio *t, struct virtio_dev *dev, uint64_t base,
		      uint32_t gsi, int vmfd, struct evloop *loop)
{
	memset(t, 0, sizeof(*t));
	t->dev = dev;
	t->base = base;
	t->gsi = gsi;
	dev->tops = &mmio_tops;
	dev->transport = t;

	t->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irqfd < 0)
		return -errno;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)t->irqfd, .gsi = gsi };
	if (ioctl(vmfd, KVM_IRQFD, &irqfd) < 0)
		return -errno;

	for (unsigned q = 0; q < dev->ops->nqueues; q++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return -errno;
		t->kickfd[q] = fd;
		/* The driver writes the queue index to QueueNotify (no
		 * VIRTIO_F_NOTIFICATION_DATA), so one eventfd per queue
		 * matched on that value. */
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vmfd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
		struct virtio_mmio_kick *k = &t->kick[q];
		k->t = t;
		k->q = q;
		int r = evloop_add(loop, fd, EPOLLIN, on_kick, k);
		if (r < 0)
			return r;
	}
	return 0;
}

static void reset_device(struct virtio_mmio *t)
{
	struct virtio_dev *d = t->dev;
	/* The device sees the reset while its queues are still intact. */
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned q = 0; q < d->ops->nqueues; q++)
		virtq_reset(&d->vqs[q]);
	d->driver_features = 0;
	d->status = 0;
	d->failed = false;
	t->queue_sel = 0;
	t->dev_features_sel = t->drv_features_sel = 0;
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
}

static struct virtq *cur_vq(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->dev->ops->nqueues)
		return NULL;
	return &t->dev->vqs[t->queue_sel];
}

static void set_status(struct virtio_mmio *t, uint32_t v)
{
	struct virtio_dev *d = t->dev;
	if (v == 0) {
		reset_device(t);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(d->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Accept only a subset of what we offered, and only modern
		 * drivers: legacy layouts are not implemented. */
		uint64_t f = d->driver_features;
		if ((f & ~d->ops->features) || !(f & (1ull << VIRTIO_F_VERSION_1)))
			v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(d->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		/* The driver cannot clear NEEDS_RESET by writing status: a device
		 * that failed during setup must keep saying so (found by
		 * tests/fuzz/fuzz_mmio.c, seed-needs-reset-kept). */
		d->status = v | (d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
		if (d->ops->activate && !d->failed)
			d->ops->activate(d);
		return;
	}
	d->status = v | (d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_dev *d = t->dev;
	uint32_t v = 0;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		if (c < d->ops->config_size && len <= d->ops->config_size - c && d->ops->config_read)
			d->ops->config_read(d, (uint32_t)c, data, len);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* 4.2.2.2: registers below the config space are 32-bit only. */
	if (len != 4 || (off & 3)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct virtq *vq = cur_vq(t);
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: v = VIRT_MAGIC; break;
	case VIRTIO_MMIO_VERSION: v = 2; break;
	case VIRTIO_MMIO_DEVICE_ID: v = d->ops->device_id; break;
	case VIRTIO_MMIO_VENDOR_ID: v = VIRT_VENDOR; break;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		v = t->dev_features_sel == 0 ? (uint32_t)d->ops->features
		  : t->dev_features_sel == 1 ? (uint32_t)(d->ops->features >> 32) : 0;
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: v = vq ? d->ops->queue_max : 0; break;
	case VIRTIO_MMIO_QUEUE_READY: v = vq ? vq->ready : 0; break;
	case VIRTIO_MMIO_INTERRUPT_STATUS: v = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST); break;
	case VIRTIO_MMIO_STATUS: v = d->status; break;
	case VIRTIO_MMIO_CONFIG_GENERATION: v = t->config_gen; break;
	/* No shared memory regions (no DAX window): length and base all
	 * ones mean "this region does not exist" (4.2.2). A zero length
	 * would make virtio-fs try to reserve an empty window and fail. */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		v = 0xffffffffu;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: v = vq ? (uint32_t)vq->desc_gpa : 0; break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: v = vq ? (uint32_t)(vq->desc_gpa >> 32) : 0; break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: v = vq ? (uint32_t)vq->avail_gpa : 0; break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: v = vq ? (uint32_t)(vq->avail_gpa >> 32) : 0; break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: v = vq ? (uint32_t)vq->used_gpa : 0; break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: v = vq ? (uint32_t)(vq->used_gpa >> 32) : 0; break;
	default: v = 0; break;
	}
	pthread_mutex_unlock(&d->lock);
	memcpy(data, &v, 4);
}

static void set_addr(uint64_t *a, uint32_t v, bool high)
{
	if (high)
		*a = (*a & 0xffffffffull) | ((uint64_t)v << 32);
	else
		*a = (*a & ~0xffffffffull) | v;
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_dev *d = t->dev;
	uint32_t v;

	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		if (c < d->ops->config_size && len <= d->ops->config_size - c && d->ops->config_write)
			d->ops->config_write(d, (uint32_t)c, data, len);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (len != 4 || (off & 3)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	memcpy(&v, data, 4);
	struct virtq *vq = cur_vq(t);
	/* Queue layout registers may only change while the queue is not
	 * ready (4.2.2.3); later writes are ignored so the device thread
	 * never sees rings move under it. */
	bool vq_writable = vq && !vq->ready;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->status & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (t->drv_features_sel == 0)
			d->driver_features = (d->driver_features & ~0xffffffffull) | v;
		else if (t->drv_features_sel == 1)
			d->driver_features = (d->driver_features & 0xffffffffull) | ((uint64_t)v << 32);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (vq_writable)
			vq->num = v > 0xffff ? 0 : (uint16_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!vq)
			break;
		if (v == 1 && !vq->ready) {
			vq->event_idx = virtio_dev_has_feature(d, VIRTIO_RING_F_EVENT_IDX);
			if (vq->num > d->ops->queue_max || virtq_activate(vq, d->gm) < 0) {
				virtio_dev_fail(d, "queue set up with a bad size or ring address");
				break;
			}
			vq->ready = true;
		} else if (v == 0) {
			if (vq->ready && d->ops->queue_reset)
				d->ops->queue_reset(d, t->queue_sel);
			virtq_reset(vq);
		}
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally consumed by the ioeventfd in the kernel; if it gets
		 * here, hand it to the device thread the same way. */
		if (v < d->ops->nqueues) {
			uint64_t one = 1;
			(void)!write(t->kickfd[v], &one, sizeof(one));
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_and_fetch(&t->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS: set_status(t, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if (vq_writable) set_addr(&vq->desc_gpa, v, false); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if (vq_writable) set_addr(&vq->desc_gpa, v, true); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: if (vq_writable) set_addr(&vq->avail_gpa, v, false); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: if (vq_writable) set_addr(&vq->avail_gpa, v, true); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: if (vq_writable) set_addr(&vq->used_gpa, v, false); break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: if (vq_writable) set_addr(&vq->used_gpa, v, true); break;
	default: break;
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- snapshots ------------------------------------------------------------ */

void virtio_mmio_save(struct virtio_mmio *t, struct snap_mmio *s)
{
	struct virtio_dev *d = t->dev;
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&d->lock);
	s->device_id = d->ops->device_id;
	s->status = d->status;
	s->driver_features = d->driver_features;
	s->queue_sel = t->queue_sel;
	s->dev_features_sel = t->dev_features_sel;
	s->drv_features_sel = t->drv_features_sel;
	s->isr = __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
	s->config_gen = t->config_gen;
	s->nqueues = d->ops->nqueues;
	for (unsigned q = 0; q < d->ops->nqueues && q < SNAP_MAX_QUEUES; q++) {
		const struct virtq *vq = &d->vqs[q];
		s->vq[q] = (struct snap_vq){
			.desc = vq->desc_gpa, .avail = vq->avail_gpa, .used = vq->used_gpa,
			.num = vq->num, .last_avail = vq->last_avail, .used_idx = vq->used_idx,
			.signalled_used = vq->signalled_used, .ready = vq->ready,
			.signalled_valid = vq->signalled_valid,
		};
	}
	pthread_mutex_unlock(&d->lock);
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	memcpy(b, &v, 4);
	virtio_mmio_write(t, off, b, 4);
}

/*
 * The guest's set-up, replayed through the register interface: the file's
 * values get exactly the checks the guest's own writes get (features a
 * subset of ours, queue sizes and ring addresses inside guest RAM), and
 * the device is activated the way a driver activates it. Only the ring
 * indexes are copied in directly: any 16-bit value is one a guest could
 * have caused.
 */
int virtio_mmio_restore(struct virtio_mmio *t, const struct snap_mmio *s)
{
	struct virtio_dev *d = t->dev;
	const uint32_t early = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (s->device_id != d->ops->device_id || s->nqueues != d->ops->nqueues ||
	    s->nqueues > SNAP_MAX_QUEUES)
		return -ESTALE;
	if (s->status & (VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET))
		return -EINVAL;
	reg_write(t, VIRTIO_MMIO_STATUS, 0);
	if (!s->status)
		return 0;
	reg_write(t, VIRTIO_MMIO_STATUS, s->status & early);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)s->driver_features);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(s->driver_features >> 32));
	if (s->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		reg_write(t, VIRTIO_MMIO_STATUS,
			  s->status & (early | VIRTIO_CONFIG_S_FEATURES_OK));
		if (!(d->status & VIRTIO_CONFIG_S_FEATURES_OK))
			return -EINVAL;
	}
	for (unsigned q = 0; q < s->nqueues; q++) {
		const struct snap_vq *sq = &s->vq[q];
		if (!sq->ready)
			continue;
		reg_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
		reg_write(t, VIRTIO_MMIO_QUEUE_NUM, sq->num);
		reg_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)sq->desc);
		reg_write(t, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(sq->desc >> 32));
		reg_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)sq->avail);
		reg_write(t, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(sq->avail >> 32));
		reg_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)sq->used);
		reg_write(t, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(sq->used >> 32));
		reg_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
		pthread_mutex_lock(&d->lock);
		struct virtq *vq = &d->vqs[q];
		bool ok = vq->ready && !d->failed;
		if (ok) {
			vq->last_avail = sq->last_avail;
			vq->used_idx = sq->used_idx;
			vq->signalled_used = sq->signalled_used;
			vq->signalled_valid = sq->signalled_valid;
		}
		pthread_mutex_unlock(&d->lock);
		if (!ok)
			return -EINVAL;
	}
	reg_write(t, VIRTIO_MMIO_STATUS, s->status);
	pthread_mutex_lock(&d->lock);
	int r = d->status == s->status && !d->failed ? 0 : -EINVAL;
	t->queue_sel = s->queue_sel;
	t->dev_features_sel = s->dev_features_sel;
	t->drv_features_sel = s->drv_features_sel;
	__atomic_store_n(&t->isr, s->isr & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG),
			 __ATOMIC_SEQ_CST);
	t->config_gen = s->config_gen;
	pthread_mutex_unlock(&d->lock);
	return r;
}

void virtio_mmio_kick_all(struct virtio_mmio *t)
{
	uint64_t one = 1;
	for (unsigned q = 0; q < t->dev->ops->nqueues; q++)
		if (t->dev->vqs[q].ready)
			(void)!write(t->kickfd[q], &one, sizeof(one));
}
