/* SPDX-License-Identifier: MIT */
/*
 * The network backend: a TAP fd (vmm/net.h), moved frame by frame with
 * readv/writev straight between its queue and guest memory (the iovecs come
 * from the device, already checked). The TAP's vnet header is the device's
 * 12-byte virtio_net_hdr_v1, so frames cross with no copy and no parsing.
 *
 * Back-pressure instead of buffering: the fd is non-blocking; a full TAP
 * (EAGAIN on write) leaves the guest's chain in its ring until EPOLLOUT, and
 * a guest without receive buffers leaves frames in the host kernel (which
 * drops past its queue length) with EPOLLIN off until the guest posts more.
 * Nothing here allocates after set-up.
 *
 * Privilege: TUNGETIFF, TUNSETVNETHDRSZ and TUNSETOFFLOAD act on the fd we
 * were handed and need no capability; the first two run once here before any
 * filter, TUNSETOFFLOAD again on the device's thread whenever a driver
 * negotiates receive offloads (the only ioctl its policy allows).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "net.h"
#include "seccomp_thread.h"
#include "virtio_net.h"

/* policy/vmm-net.policy allows this request by number: keep them equal. */
_Static_assert(TUNSETOFFLOAD == 0x400454d0, "TUNSETOFFLOAD in policy/vmm-net.policy");

struct net_if {
	struct virtio_net dev;
	struct evloop loop;
	int fd;
	int wake_fd;         /* eventfd: activate (a vCPU) wakes the thread */
	bool is_tap;         /* TUNSETOFFLOAD applies */
	bool dead;           /* the TAP reported an error: off the loop */
	uint32_t events;     /* epoll interest on fd now */
	unsigned offload;    /* TUN_F_* in force */
	int offload_err;     /* the last TUNSETOFFLOAD failure, for the report */
	char name[16];
	pthread_t thread;
};

static ssize_t tap_send(void *be, const struct iovec *iov, int n)
{
	struct net_if *ni = be;
	ssize_t r;
	do
		r = writev(ni->fd, iov, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static ssize_t tap_recv(void *be, const struct iovec *iov, int n)
{
	struct net_if *ni = be;
	ssize_t r;
	do
		r = readv(ni->fd, iov, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static void tap_want(void *be, bool rx, bool tx)
{
	struct net_if *ni = be;
	uint32_t ev = (rx ? EPOLLIN : 0) | (tx ? EPOLLOUT : 0);
	if (ni->dead || ev == ni->events)
		return;
	if (evloop_mod(&ni->loop, ni->fd, ev) == 0)
		ni->events = ev;
}

static int tap_set_offload(void *be, bool csum, bool tso4, bool tso6)
{
	struct net_if *ni = be;
	unsigned f = (csum ? TUN_F_CSUM : 0) | (tso4 ? TUN_F_TSO4 : 0) | (tso6 ? TUN_F_TSO6 : 0);
	if (!ni->is_tap || f == ni->offload)
		return 0;
	if (ioctl(ni->fd, TUNSETOFFLOAD, (unsigned long)f) < 0) {
		int err = errno;
		__atomic_store_n(&ni->offload_err, err, __ATOMIC_RELAXED);
		return -err;
	}
	ni->offload = f;
	return 0;
}

static void tap_wake(void *be)
{
	struct net_if *ni = be;
	uint64_t one = 1;
	/* Only fails on counter overflow (2^64 wake-ups): not reachable. */
	(void)!write(ni->wake_fd, &one, sizeof(one));
}

static const struct virtio_net_backend_ops tap_ops = {
	.send = tap_send,
	.recv = tap_recv,
	.want = tap_want,
	.set_offload = tap_set_offload,
	.wake = tap_wake,
};

/* After activate: what a kick of both queues does. */
static void on_wake(void *opaque, uint32_t events)
{
	struct net_if *ni = opaque;
	uint64_t v;
	(void)!read(ni->wake_fd, &v, sizeof(v));
	pthread_mutex_lock(&ni->dev.dev.lock);
	virtio_net_backend_ready(&ni->dev, true, true);
	pthread_mutex_unlock(&ni->dev.dev.lock);
}

static void on_tap(void *opaque, uint32_t events)
{
	struct net_if *ni = opaque;
	pthread_mutex_lock(&ni->dev.dev.lock);
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The interface is gone (deleted under us): level-triggered,
		 * the error would wake this thread forever. The guest's link
		 * stays up; its frames are dropped from now on. */
		(void)evloop_del(&ni->loop, ni->fd);
		__atomic_store_n(&ni->dead, true, __ATOMIC_RELAXED);
	} else {
		virtio_net_backend_ready(&ni->dev, events & EPOLLIN, events & EPOLLOUT);
	}
	pthread_mutex_unlock(&ni->dev.dev.lock);
}

/* The launcher's fd must be a TAP handing over Ethernet frames as they are
 * (IFF_TAP, IFF_NO_PI); with IFF_VNET_HDR its header becomes the device's
 * 12 bytes and the offloads start off. */
static int tap_probe(int fd, bool *vnet_hdr)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI))
		return -EPROTOTYPE;
	*vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	if (!*vnet_hdr)
		return 0;
	int sz = VIRTIO_NET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
		return -errno;
	/* Until a driver says what it takes, the kernel checksums and
	 * segments every frame for us. */
	if (ioctl(fd, TUNSETOFFLOAD, 0ul) < 0)
		return -errno;
	return 0;
}

/* Everything but the probe and the transport (tests drive this directly). */
static int net_if_init(struct net_if *ni, const struct guest_mem *gm,
		       const struct vmm_net_opt *opt, bool is_tap, bool vnet_hdr)
{
	ni->fd = opt->fd;
	ni->is_tap = is_tap;
	ni->events = 0;
	int fl = fcntl(ni->fd, F_GETFL);
	if (fl < 0 || fcntl(ni->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	struct virtio_net_params p = { .mtu = opt->mtu, .vnet_hdr = vnet_hdr };
	memcpy(p.mac, opt->mac, sizeof(p.mac));
	int r = virtio_net_init(&ni->dev, gm, &p, &tap_ops, ni);
	if (r < 0)
		return r;
	if ((r = evloop_init(&ni->loop)) < 0)
		return r;
	if ((ni->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	if ((r = evloop_add(&ni->loop, ni->wake_fd, EPOLLIN, on_wake, ni)) < 0)
		return r;
	/* No interest yet (errors only): the device arms what it needs. */
	return evloop_add(&ni->loop, ni->fd, 0, on_tap, ni);
}

int net_devices_setup(struct net_devices *net, struct vm *vm, const struct vmm_opts *o,
		      struct arca_err *e)
{
	net->n = 0;
	net->v = o->nnet ? calloc(o->nnet, sizeof(*net->v)) : NULL;
	if (o->nnet && !net->v)
		return arca_error(e, ENOMEM, "out of memory for %u network devices", o->nnet);
	for (unsigned i = 0; i < o->nnet; i++) {
		struct net_if *ni = &net->v[i];
		bool vnet_hdr = false;
		snprintf(ni->name, sizeof(ni->name), "net%u", i);
		int r = tap_probe(o->net[i].fd, &vnet_hdr);
		if (r == -EPROTOTYPE || r == -ENOTTY || r == -EINVAL)
			return arca_error(e, EINVAL, "%s: fd %d is not a TAP device with IFF_TAP and "
					  "IFF_NO_PI", ni->name, o->net[i].fd);
		if (r == 0)
			r = net_if_init(ni, &vm->gm, &o->net[i], true, vnet_hdr);
		if (r < 0)
			return arca_error_errno(e, -r, "%s", ni->name);
		uint64_t base;
		uint32_t gsi;
		struct virtio_mmio *t = vm_add_mmio(vm, &base, &gsi);
		if (!t)
			return arca_error(e, ENOSPC, "%s: too many devices (16 virtio-mmio slots in all)",
					  ni->name);
		if ((r = virtio_mmio_setup(t, &ni->dev.dev, base, gsi, vm->vm_fd, &ni->loop)) < 0)
			return arca_error_errno(e, -r, "%s: device setup", ni->name);
		if (o->verbose && !vnet_hdr)
			fprintf(stderr, "arca: %s: the TAP has no vnet header (IFF_VNET_HDR): no "
				"checksum or segmentation offloads\n", ni->name);
		net->n++;
	}
	return 0;
}

static void *net_thread(void *arg)
{
	struct net_if *ni = arg;
	/* Confined before it moves a single frame. */
	if (seccomp_enter(SECCOMP_NET, NULL, NULL) < 0)
		return NULL;
	evloop_run(&ni->loop);
	return NULL;
}

int net_devices_start(struct net_devices *net)
{
	for (unsigned i = 0; i < net->n; i++) {
		int r = -pthread_create(&net->v[i].thread, NULL, net_thread, &net->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static uint64_t get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void net_devices_report(const struct net_devices *net, FILE *f)
{
	for (unsigned i = 0; i < net->n; i++) {
		const struct net_if *ni = &net->v[i];
		const struct virtio_net_stats *s = &ni->dev.stats;
		const char *why = __atomic_load_n(&ni->dev.why_drop, __ATOMIC_RELAXED);
		fprintf(f, "arca: %s: rx %llu frames (%.1f MiB), %llu dropped; tx %llu frames "
			"(%.1f MiB), %llu dropped%s%s%s\n", ni->name,
			(unsigned long long)get(&s->rx_packets), (double)get(&s->rx_bytes) / 1048576.0,
			(unsigned long long)get(&s->rx_drops), (unsigned long long)get(&s->tx_packets),
			(double)get(&s->tx_bytes) / 1048576.0, (unsigned long long)get(&s->tx_drops),
			why ? " (first drop: " : "", why ? why : "", why ? ")" : "");
		int err = __atomic_load_n(&ni->offload_err, __ATOMIC_RELAXED);
		if (err)
			fprintf(f, "arca: %s: TUNSETOFFLOAD failed (%s): the guest got frames "
				"checksummed and segmented by the host\n", ni->name, strerror(err));
		if (__atomic_load_n(&ni->dead, __ATOMIC_RELAXED))
			fprintf(f, "arca: %s: the TAP device went away during the run\n", ni->name);
	}
}
