/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2), with one
 * ioeventfd per queue (QueueNotify writes complete in the kernel and wake
 * the device thread, no exit to userspace) and one irqfd per device
 * (edge-triggered GSI, described in the DSDT as LNRO0005).
 */
#ifndef ARCA_VIRTIO_MMIO_H
#define ARCA_VIRTIO_MMIO_H

#include <stdint.h>

#include "evloop.h"
#include "snapshot.h"
#include "virtio.h"

#define VIRTIO_MMIO_SIZE 0x200u

struct virtio_mmio;

struct virtio_mmio_kick {
	struct virtio_mmio *t;
	unsigned q;
};

struct virtio_mmio {
	struct virtio_dev *dev;
	struct virtio_mmio_kick kick[16];
	uint64_t base;
	uint32_t gsi;
	int irqfd;
	int kickfd[16];
	uint32_t queue_sel;
	uint32_t dev_features_sel, drv_features_sel;
	uint32_t isr;            /* atomic: VIRTIO_MMIO_INT_* */
	uint32_t config_gen;
};

/* Register ioeventfds/irqfd with KVM (vmfd) and the kick fds with the loop. */
int virtio_mmio_setup(struct virtio_mmio *t, struct virtio_dev *dev, uint64_t base,
		      uint32_t gsi, int vmfd, struct evloop *loop);
/* Register accesses from a vCPU (off relative to base). Pure over state. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, uint8_t *data, uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const uint8_t *data, uint32_t len);

/* Snapshots (snapshot.h): save takes the device's lock; restore replays
 * the driver's set-up through virtio_mmio_write (0, -ESTALE another
 * device, -EINVAL refused like a guest's bad write); kick_all makes the
 * device look at every ready queue once, as after a notify. */
void virtio_mmio_save(struct virtio_mmio *t, struct snap_mmio *s);
int virtio_mmio_restore(struct virtio_mmio *t, const struct snap_mmio *s);
void virtio_mmio_kick_all(struct virtio_mmio *t);

#endif
