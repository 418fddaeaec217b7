/* SPDX-License-Identifier: MIT */
/* The disk backend (vmm/blk.c) end to end below the transport: chains in a
 * real split virtqueue in (heap-backed) guest memory, a real image file and
 * a real restricted io_uring (or the synchronous path where the kernel has
 * none). Reads and writes land at the right offsets, FLUSH completes, GET_ID
 * answers the serial, DISCARD/WRITE_ZEROES zero the range, refused requests
 * get their status and the run goes on, an ephemeral disk never writes its
 * image yet reads back what the guest wrote (also across base/overlay runs),
 * and a host error (the image truncated under the VM) is IOERR, not a crash. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

/* Static backend functions (handle, done, reap) are what the device calls. */
#include "../../vmm/blk.c"

#define RAM   (4u << 20)
#define QSZ   64u
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define BUF   0x10000u   /* 3 slots of 64 KiB: header, data, status */
#define IMG_SECTORS 2048u /* 1 MiB image */

struct fx {
	uint8_t *ram;
	struct guest_mem gm;
	struct blk_disk *d;
	struct vmm_blk_opt opt;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	char path[64];
	int fd;
};

static void t_signal(struct virtio_dev *d) {}
static const struct virtio_transport_ops t_ops = { .signal_used = t_signal, .signal_config = t_signal };

static struct blk_disk disk0;

static void disk_up(struct fx *x, bool ephemeral, bool ro)
{
	struct blk_disk *d = x->d = &disk0;
	memset(d, 0, sizeof(*d));
	x->opt = (struct vmm_blk_opt){ .fd = x->fd, .read_only = ro, .ephemeral = ephemeral,
				       .queues = 1 };
	strcpy(x->opt.id, "serial-1");
	d->opt = &x->opt;
	d->fd = x->fd;
	d->ovl_fd = -1;
	strcpy(d->name, "disk0");
	d->bp = (struct blk_params){ .capacity = IMG_SECTORS, .read_only = ro,
				     .seg_max = VIRTIO_BLK_SEG_MAX, .size_max = VIRTIO_BLK_SIZE_MAX,
				     .max_discard_sectors = ro ? 0 : VIRTIO_BLK_DISCARD_MAX,
				     .max_discard_seg = ro ? 0 : 1,
				     .max_write_zeroes_sectors = ro ? 0 : VIRTIO_BLK_ZEROES_MAX,
				     .max_write_zeroes_seg = ro ? 0 : 1 };
	if (ephemeral)
		assert_int_equal(overlay_setup(d, IMG_SECTORS * 512ull), 0);
	d->ios = calloc(BLK_DEPTH, sizeof(*d->ios));
	d->async = uring_init(&d->uring, BLK_DEPTH) == 0;
	struct virtio_blk_params p = { .capacity = IMG_SECTORS, .read_only = ro,
				       .discard = !ro, .write_zeroes = !ro, .nqueues = 1 };
	assert_int_equal(virtio_blk_init(&d->dev, &x->gm, &p, &blk_backend, d,
					 d->async ? BLK_DEPTH : 1), 0);
	if (d->async)
		assert_int_equal(vreq_watch(&d->dev.v, d->uring.efd), 0);
	struct virtio_dev *vd = &d->dev.v.dev;
	vd->tops = &t_ops;
	struct virtq *vq = &vd->vqs[0];
	vq->num = QSZ;
	vq->desc_gpa = DESC;
	vq->avail_gpa = AVAIL;
	vq->used_gpa = USED;
	assert_int_equal(virtq_activate(vq, &x->gm), 0);
	vq->ready = true;
	vd->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	x->ram = aligned_alloc(4096, RAM);
	memset(x->ram, 0, RAM);
	assert_int_equal(gm_layout(&x->gm, x->ram, RAM), 0);
	strcpy(x->path, "/tmp/arca-test-blk.XXXXXX");
	x->fd = mkstemp(x->path);
	assert_true(x->fd >= 0);
	/* the image: sector s holds bytes (s & 0xff) */
	uint8_t sec[512];
	for (unsigned s = 0; s < IMG_SECTORS; s++) {
		memset(sec, (int)(s & 0xff), sizeof(sec));
		assert_int_equal(pwrite(x->fd, sec, 512, (off_t)s * 512), 512);
	}
	x->desc = (void *)(x->ram + DESC);
	x->avail = (void *)(x->ram + AVAIL);
	x->used = (void *)(x->ram + USED);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	struct blk_disk *d = x->d;
	if (d) {
		if (d->async)
			uring_fini(&d->uring);
		vreq_dev_fini(&d->dev.v);
		free(d->ios);
		if (d->ovl_fd >= 0)
			close(d->ovl_fd);
	}
	close(x->fd);
	unlink(x->path);
	free(x->ram);
	free(x);
	return 0;
}

/* One request: header (type, sector), a data buffer of len bytes (device-
 * writable for IN/GET_ID), a status byte; each in its own descriptor.
 * Returns the slot whose buffers to look at. */
static unsigned publish(struct fx *x, uint32_t type, uint64_t sector, uint32_t len, bool din)
{
	unsigned slot = x->avail->idx % 3u;
	uint16_t h = (uint16_t)((x->avail->idx * 3u) % QSZ);
	uint64_t base = BUF + slot * 0x30000u;
	struct virtio_blk_outhdr hdr = { .type = type, .sector = sector };
	memcpy(x->ram + base, &hdr, sizeof(hdr));
	x->ram[base + 0x20000u] = 0xee; /* status sentinel */
	if (len) {
		x->desc[h] = (struct vring_desc){ .addr = base, .len = 16, .flags = VRING_DESC_F_NEXT,
						  .next = (uint16_t)(h + 1) };
		x->desc[h + 1] = (struct vring_desc){ .addr = base + 0x10000u, .len = len,
						      .flags = (uint16_t)(VRING_DESC_F_NEXT |
									  (din ? VRING_DESC_F_WRITE : 0)),
						      .next = (uint16_t)(h + 2) };
		x->desc[h + 2] = (struct vring_desc){ .addr = base + 0x20000u, .len = 1,
						      .flags = VRING_DESC_F_WRITE };
	} else {
		x->desc[h] = (struct vring_desc){ .addr = base, .len = 16, .flags = VRING_DESC_F_NEXT,
						  .next = (uint16_t)(h + 1) };
		x->desc[h + 1] = (struct vring_desc){ .addr = base + 0x20000u, .len = 1,
						      .flags = VRING_DESC_F_WRITE };
	}
	x->avail->ring[x->avail->idx % QSZ] = h;
	x->avail->idx++;
	return slot;
}

static uint8_t *data(struct fx *x, unsigned slot) { return x->ram + BUF + slot * 0x30000u + 0x10000u; }
static uint8_t status(struct fx *x, unsigned slot) { return x->ram[BUF + slot * 0x30000u + 0x20000u]; }

/* Kick, then wait for every outstanding completion. Returns the used
 * entry's written length of the last request. */
static uint32_t run(struct fx *x)
{
	struct vreq_dev *v = &x->d->dev.v;
	uint16_t want = x->avail->idx;
	pthread_mutex_lock(&v->dev.lock);
	vreq_kick(v, 0);
	pthread_mutex_unlock(&v->dev.lock);
	/* What the disk thread does when the ring's eventfd fires. */
	if (x->d->async) {
		pthread_mutex_lock(&v->dev.lock);
		assert_int_equal(uring_drain(&x->d->uring, blk_done, x->d), 0);
		pthread_mutex_unlock(&v->dev.lock);
	}
	assert_int_equal(x->used->idx, want);
	return x->used->ring[(uint16_t)(want - 1) % QSZ].len;
}

static void test_read_write_flush_id(void **state)
{
	struct fx *x = *state;
	disk_up(x, false, false);
	print_message("disk backend: %s\n", x->d->async ? "io_uring" : "synchronous");
	unsigned s = publish(x, VIRTIO_BLK_T_IN, 5, 1024, true);
	assert_int_equal(run(x), 1025);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_OK);
	assert_int_equal(data(x, s)[0], 5);
	assert_int_equal(data(x, s)[1023], 6);

	s = publish(x, VIRTIO_BLK_T_OUT, 100, 512, false);
	memset(data(x, s), 0xab, 512);
	assert_int_equal(run(x), 1);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_OK);
	uint8_t b[512];
	assert_int_equal(pread(x->fd, b, 512, 100 * 512), 512);
	assert_int_equal(b[0], 0xab);
	assert_int_equal(b[511], 0xab);

	s = publish(x, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	assert_int_equal(run(x), 1);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_OK);

	s = publish(x, VIRTIO_BLK_T_GET_ID, 0, 20, true);
	assert_int_equal(run(x), 21);
	assert_string_equal((char *)data(x, s), "serial-1");
}

static void test_discard_zeroes_and_errors(void **state)
{
	struct fx *x = *state;
	disk_up(x, false, false);
	/* WRITE_ZEROES of sectors 8..15 */
	unsigned s = publish(x, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	struct blk_range g = { .sector = 8, .num_sectors = 8 };
	memcpy(data(x, s), &g, 16);
	run(x);
	uint8_t b[512];
	if (status(x, s) == VIRTIO_BLK_S_OK) {
		assert_int_equal(pread(x->fd, b, 512, 9 * 512), 512);
		assert_int_equal(b[0], 0);
		assert_int_equal(pread(x->fd, b, 512, 16 * 512), 512);
		assert_int_equal(b[0], 16); /* the next sector untouched */
	} else {
		/* a file system without ZERO_RANGE says so: UNSUPP, not IOERR */
		assert_int_equal(status(x, s), VIRTIO_BLK_S_UNSUPP);
	}
	/* beyond the end: IOERR, and the next request still works */
	s = publish(x, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, true);
	assert_int_equal(run(x), 1);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_IOERR);
	s = publish(x, 0x7777, 0, 0, false);
	run(x);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_UNSUPP);
	/* a host error: the image shrank under the VM */
	assert_int_equal(ftruncate(x->fd, 512 * 100), 0);
	s = publish(x, VIRTIO_BLK_T_IN, 200, 512, true);
	assert_int_equal(run(x), 1);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_IOERR);
	assert_false(x->d->dev.v.dev.failed);
}

static void test_read_only(void **state)
{
	struct fx *x = *state;
	disk_up(x, false, true);
	unsigned s = publish(x, VIRTIO_BLK_T_OUT, 1, 512, false);
	run(x);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_IOERR);
	uint8_t b[512];
	assert_int_equal(pread(x->fd, b, 512, 512), 512);
	assert_int_equal(b[0], 1);
	assert_true(x->d->dev.ops.features & (1ull << VIRTIO_BLK_F_RO));
	assert_false(x->d->dev.ops.features & (1ull << VIRTIO_BLK_F_DISCARD));
}

static void test_ephemeral(void **state)
{
	struct fx *x = *state;
	disk_up(x, true, false);
	/* write sectors 10..11 */
	unsigned s = publish(x, VIRTIO_BLK_T_OUT, 10, 1024, false);
	memset(data(x, s), 0x5a, 1024);
	run(x);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_OK);
	/* the image is untouched */
	uint8_t b[512];
	assert_int_equal(pread(x->fd, b, 512, 10 * 512), 512);
	assert_int_equal(b[0], 10);
	/* a read across base (9), overlay (10, 11), base (12) */
	s = publish(x, VIRTIO_BLK_T_IN, 9, 2048, true);
	assert_int_equal(run(x), 2049);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_OK);
	assert_int_equal(data(x, s)[0], 9);
	assert_int_equal(data(x, s)[512], 0x5a);
	assert_int_equal(data(x, s)[1535], 0x5a);
	assert_int_equal(data(x, s)[1536], 12);
	/* wholly in the overlay: one operation on the memfd */
	s = publish(x, VIRTIO_BLK_T_IN, 11, 512, true);
	run(x);
	assert_int_equal(data(x, s)[0], 0x5a);
	/* WRITE_ZEROES makes the range the overlay's zeroes */
	s = publish(x, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	struct blk_range g = { .sector = 20, .num_sectors = 2 };
	memcpy(data(x, s), &g, 16);
	run(x);
	assert_int_equal(status(x, s), VIRTIO_BLK_S_OK);
	s = publish(x, VIRTIO_BLK_T_IN, 20, 512, true);
	run(x);
	assert_int_equal(data(x, s)[0], 0);
	assert_int_equal(pread(x->fd, b, 512, 20 * 512), 512);
	assert_int_equal(b[0], 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_write_flush_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_zeroes_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ephemeral, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
