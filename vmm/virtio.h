/* SPDX-License-Identifier: MIT */
/*
 * The device layer's view of virtio (kvmtool's virtio_ops idea): a device
 * fills one struct virtio_dev_ops; a transport (only virtio-mmio for now)
 * drives it. A device never knows which transport carries it and calls back
 * only through virtio_dev_notify()/virtio_dev_fail().
 *
 * Locking: every callback runs with dev->lock held. The transport takes it
 * for register accesses (vCPU threads) and kicks (device thread); devices
 * take it for their own host-side events.
 */
#ifndef ARCA_VIRTIO_H
#define ARCA_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guestmem.h"
#include "virtq.h"

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;       /* VIRTIO_ID_* */
	uint64_t features;        /* offered, including VIRTIO_F_VERSION_1 */
	unsigned nqueues;
	uint16_t queue_max;
	uint32_t config_size;
	/* off/len are checked against config_size by the transport. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *buf, uint32_t len);
	/* The driver made buffers available on queue q (device thread). */
	void (*queue_kick)(struct virtio_dev *d, unsigned q);
	/* DRIVER_OK was set and every ready queue validated. */
	void (*activate)(struct virtio_dev *d);
	/* The driver reset the device (status 0). */
	void (*reset)(struct virtio_dev *d);
	/* The driver reset one queue (QUEUE_READY 0), before the transport
	 * forgets its rings: requests the device holds from it must never be
	 * pushed to whatever ring the queue gets next (optional). */
	void (*queue_reset)(struct virtio_dev *d, unsigned q);
};

struct virtio_transport_ops {
	void (*signal_used)(struct virtio_dev *d);
	void (*signal_config)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;                      /* device state */
	struct virtq vqs[16];
	uint64_t driver_features;
	uint32_t status;
	bool failed;                     /* DEVICE_NEEDS_RESET raised */
	pthread_mutex_t lock;
	const struct guest_mem *gm;
	const struct virtio_transport_ops *tops;
	void *transport;                 /* transport state */
	/* Told once when the guest breaks the protocol (virtio_dev_fail),
	 * from any thread; NULL: a line on stderr. */
	void (*on_fail)(void *opaque, const char *dev, const char *why);
	void *fail_opaque;
};

int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		    void *priv, const struct guest_mem *gm);
bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned bit);
bool virtio_dev_running(const struct virtio_dev *d);
/* After pushing to queue q: interrupt the driver if it asked for one. */
void virtio_dev_notify(struct virtio_dev *d, unsigned q);
/* A guest error made queue or device unusable: DEVICE_NEEDS_RESET, logged once. */
void virtio_dev_fail(struct virtio_dev *d, const char *why);

extern bool virtio_verbose;
/* Who hears of a failed device (any thread). arca-vmm stops the VM: the
 * guest drivers do not recover from NEEDS_RESET, and a command waiting on a
 * dead device would otherwise hang until --timeout. */
void virtio_dev_on_fail(struct virtio_dev *d,
			void (*fn)(void *opaque, const char *dev, const char *why), void *opaque);

#endif
