/* SPDX-License-Identifier: MIT */
/* The virtio-fs device's asynchronous request slots over a real split
 * virtqueue in (heap-backed) guest memory, with a small real backend that
 * keeps every request (VREQ_PENDING) and finishes them on demand:
 * chains are pushed only on completion, popping stops when every slot is
 * held and resumes on completion, and a reset with requests held pushes
 * nothing to the reset queue but still frees every slot. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

/* The device's static callbacks (kick, reset, completion) are what the
 * transport and event loop call; reach them directly. */
#include "../../vmm/virtio_req.c"
#include "../../vmm/virtio_fs.c"

#define RAM   (1u << 20)
#define QSZ   16u
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define BUF   0x10000u
#define NSLOTS 4u

struct fx {
	uint8_t *ram;
	struct guest_mem gm;
	struct virtio_fs f;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vreq *held[64];
	unsigned nheld;
	int efd;
};

static ssize_t be_handle(void *backend, struct vreq *req)
{
	struct fx *x = backend;
	x->held[x->nheld++] = req;
	return VREQ_PENDING;
}

/* Finish every held request with a 16-byte reply. */
static void be_reap(void *backend)
{
	struct fx *x = backend;
	uint64_t v;
	(void)!read(x->efd, &v, sizeof(v));
	unsigned n = x->nheld;
	x->nheld = 0;
	for (unsigned i = 0; i < n; i++)
		vreq_complete(&x->f.v, x->held[i], 16);
}

static const struct vreq_backend_ops be_ops = { .handle = be_handle, .reap = be_reap };

static unsigned signals;

static void t_signal(struct virtio_dev *d)
{
	signals++;
}

static const struct virtio_transport_ops t_ops = { .signal_used = t_signal, .signal_config = t_signal };

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	x->ram = aligned_alloc(4096, RAM);
	memset(x->ram, 0, RAM);
	assert_int_equal(gm_layout(&x->gm, x->ram, RAM), 0);
	assert_int_equal(virtio_fs_init(&x->f, &x->gm, "t", &be_ops, x, NSLOTS), 0);
	x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(vreq_watch(&x->f.v, x->efd), 0);
	struct virtio_dev *d = &x->f.v.dev;
	d->tops = &t_ops;
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &d->vqs[q];
		vq->num = QSZ;
		vq->desc_gpa = DESC + q * 0x4000u;
		vq->avail_gpa = AVAIL + q * 0x4000u;
		vq->used_gpa = USED + q * 0x4000u;
		assert_int_equal(virtq_activate(vq, &x->gm), 0);
		vq->ready = true;
	}
	d->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		    VIRTIO_CONFIG_S_DRIVER_OK;
	/* Queue 1, the request queue. */
	x->desc = (void *)(x->ram + DESC + 0x4000u);
	x->avail = (void *)(x->ram + AVAIL + 0x4000u);
	x->used = (void *)(x->ram + USED + 0x4000u);
	signals = 0;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	close(x->efd);
	vreq_dev_fini(&x->f.v);
	free(x->ram);
	free(x);
	return 0;
}

/* n two-descriptor chains (request 64 bytes, reply 64 bytes) on queue 1. */
static void publish(struct fx *x, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t h = (uint16_t)((x->avail->idx * 2u) % QSZ);
		x->desc[h] = (struct vring_desc){ .addr = BUF + h * 128u, .len = 64,
						  .flags = VRING_DESC_F_NEXT, .next = (uint16_t)(h + 1) };
		x->desc[h + 1] = (struct vring_desc){ .addr = BUF + h * 128u + 64, .len = 64,
						      .flags = VRING_DESC_F_WRITE };
		x->avail->ring[x->avail->idx % QSZ] = h;
		x->avail->idx++;
	}
}

static void kick(struct fx *x)
{
	pthread_mutex_lock(&x->f.v.dev.lock);
	fs_queue_kick(&x->f.v.dev, 1);
	pthread_mutex_unlock(&x->f.v.dev.lock);
}

static void test_push_on_completion(void **state)
{
	struct fx *x = *state;
	publish(x, 3);
	kick(x);
	assert_int_equal(x->nheld, 3);
	assert_int_equal(x->used->idx, 0); /* nothing pushed before completion */
	assert_int_equal(x->f.v.nheld, 3);
	on_completion(&x->f.v, EPOLLIN);
	assert_int_equal(x->used->idx, 3);
	assert_int_equal(x->used->ring[0].len, 16);
	assert_int_equal(x->f.v.nheld, 0);
	assert_true(signals > 0);
}

static void test_stall_and_resume(void **state)
{
	struct fx *x = *state;
	publish(x, NSLOTS + 3);
	kick(x);
	/* Every slot held: the rest wait in the avail ring. */
	assert_int_equal(x->nheld, NSLOTS);
	assert_true(x->f.v.stalled[1]);
	kick(x); /* a kick meanwhile changes nothing */
	assert_int_equal(x->nheld, NSLOTS);
	on_completion(&x->f.v, EPOLLIN); /* frees NSLOTS, pops the 3 left */
	assert_int_equal(x->used->idx, NSLOTS);
	assert_int_equal(x->nheld, 3);
	assert_false(x->f.v.stalled[1]);
	on_completion(&x->f.v, EPOLLIN);
	assert_int_equal(x->used->idx, NSLOTS + 3);
	assert_int_equal(x->f.v.nheld, 0);
}

/* Pages of the slot array in memory (mincore), from page `from` on. */
static unsigned slot_pages_resident(const struct vreq_dev *v, size_t from)
{
	size_t len = (size_t)v->nslots * sizeof(*v->reqs), np = (len + 4095) / 4096;
	unsigned char vec[64];
	assert_true(np <= sizeof(vec));
	assert_int_equal(mincore(v->reqs, len, vec), 0);
	unsigned n = 0;
	for (size_t i = from; i < np; i++)
		n += vec[i] & 1;
	return n;
}

/* The slot array (each slot ~4 KiB of iovecs) is fresh memory touched
 * slot by slot as slots are first used: none at set-up; after one request
 * only the first two slots' pages (the one held, and the one process()
 * takes to find the queue empty and puts back); a slot put back is used
 * again before a fresh one. */
static void test_slots_touched_on_use(void **state)
{
	struct fx *x = *state;
	struct vreq_dev *v = &x->f.v;
	size_t two_slots_end = (2 * sizeof(*v->reqs) + 4095) / 4096;
	assert_int_equal(v->fresh, 0);
	assert_int_equal(slot_pages_resident(v, 0), 0);
	publish(x, 1);
	kick(x);
	assert_int_equal(x->nheld, 1);
	assert_int_equal(x->held[0]->slot, 0);
	assert_int_equal(v->fresh, 2);
	assert_true(slot_pages_resident(v, 0) >= 1);
	assert_int_equal(slot_pages_resident(v, two_slots_end), 0);
	on_completion(v, EPOLLIN);
	publish(x, 2);
	kick(x);
	/* the two put back, before any fresh one */
	assert_int_equal(x->nheld, 2);
	assert_true(x->held[0]->slot < 2 && x->held[1]->slot < 2);
	on_completion(v, EPOLLIN);
	assert_int_equal(v->nheld, 0);
}

static void test_reset_with_requests_held(void **state)
{
	struct fx *x = *state;
	publish(x, 2);
	kick(x);
	assert_int_equal(x->nheld, 2);
	/* What the transport does on a status-0 write (vCPU thread). */
	struct virtio_dev *d = &x->f.v.dev;
	pthread_mutex_lock(&d->lock);
	d->ops->reset(d);
	for (unsigned q = 0; q < 2; q++)
		virtq_reset(&d->vqs[q]);
	d->status = 0;
	pthread_mutex_unlock(&d->lock);
	on_completion(&x->f.v, EPOLLIN);
	assert_int_equal(x->used->idx, 0);   /* nothing pushed to the reset queue */
	assert_int_equal(x->f.v.nheld, 0);     /* but no slot leaked */
	assert_int_equal(x->f.v.free_head >= 0, 1);
	unsigned nfree = x->f.v.nslots - x->f.v.fresh; /* never used */
	for (int i = x->f.v.free_head; i >= 0; i = x->f.v.reqs[i].next_free)
		nfree++;
	assert_int_equal(nfree, NSLOTS);
}

/* QUEUE_READY 0 on the request queue while requests are held, then the
 * queue is set up again on the same rings and goes on: the old requests'
 * completions must not land on it (their heads would name new requests). */
static void test_queue_reset_with_requests_held(void **state)
{
	struct fx *x = *state;
	publish(x, 2);
	kick(x);
	assert_int_equal(x->nheld, 2);
	struct virtio_dev *d = &x->f.v.dev;
	struct virtq *vq = &d->vqs[1];
	pthread_mutex_lock(&d->lock);
	d->ops->queue_reset(d, 1);       /* what virtio_mmio does on QUEUE_READY 0 */
	virtq_reset(vq);
	vq->num = QSZ;                   /* the driver sets the queue up again */
	vq->desc_gpa = DESC + 0x4000u;
	vq->avail_gpa = AVAIL + 0x4000u;
	vq->used_gpa = USED + 0x4000u;
	assert_int_equal(virtq_activate(vq, &x->gm), 0);
	vq->ready = true;
	pthread_mutex_unlock(&d->lock);
	uint16_t used_before = x->used->idx;
	on_completion(&x->f.v, EPOLLIN); /* the two old requests finish */
	assert_int_equal(x->used->idx, used_before);
	assert_int_equal(x->f.v.nheld, 0);
	/* the hiprio queue was not touched, and the device still works */
	assert_false(d->vqs[0].broken);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_reset_with_requests_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_on_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_touched_on_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_with_requests_held, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
