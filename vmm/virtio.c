/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>

#include "virtio.h"

bool virtio_verbose;

int virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		    void *priv, const struct guest_mem *gm)
{
	memset(d, 0, sizeof(*d));
	if (ops->nqueues > sizeof(d->vqs) / sizeof(d->vqs[0]))
		return -EINVAL;
	d->ops = ops;
	d->priv = priv;
	d->gm = gm;
	return -pthread_mutex_init(&d->lock, NULL);
}

bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return bit < 64 && (d->driver_features & (1ull << bit));
}

bool virtio_dev_running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_DRIVER_OK) && !d->failed;
}

void virtio_dev_notify(struct virtio_dev *d, unsigned q)
{
	if (q < d->ops->nqueues && virtq_should_notify(&d->vqs[q]))
		d->tops->signal_used(d);
}

void virtio_dev_on_fail(struct virtio_dev *d,
			void (*fn)(void *opaque, const char *dev, const char *why), void *opaque)
{
	d->on_fail = fn;
	d->fail_opaque = opaque;
}

void virtio_dev_fail(struct virtio_dev *d, const char *why)
{
	if (d->failed)
		return;
	d->failed = true;
	/* 2.1.2: the device tells the driver it must reset it. The guest did
	 * something wrong; the VMM keeps running. */
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (d->tops)
		d->tops->signal_config(d);
	if (d->on_fail)
		d->on_fail(d->fail_opaque, d->ops->name, why);
	else
		fprintf(stderr, "arca: virtio-%s: guest error, device disabled: %s\n",
			d->ops->name, why);
}
