/* SPDX-License-Identifier: MIT */
/*
 * The network backends (vmm/net.h): a TAP fd, moved frame by frame with
 * readv/writev straight between its queue and guest memory (the iovecs come
 * from the device, already checked). The TAP's vnet header is the device's
 * 12-byte virtio_net_hdr_v1, so frames cross with no copy and no parsing.
 *
 * Or (backend=stream, rootless runs) a connected stream socket to passt,
 * speaking QEMU's "stream" netdev protocol: each frame behind its length as
 * a 4-byte big-endian number, no vnet header (so no offloads). A byte stream
 * has no frame boundaries: transmit writes [length][frame] with one writev
 * and keeps the rest of a partly written frame (at most one) until the
 * socket takes it; receive reads what the socket has into a bounded buffer
 * and hands out one complete frame at a time. A length no Ethernet frame
 * has means the stream is out of step and cannot be trusted again: the
 * backend stops (logged once), the guest's frames are dropped from then on.
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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_tun.h>

#include "iov.h"
#include "net.h"
#include "seccomp_thread.h"
#include "virtio_net.h"

/* policy/vmm-net.policy allows this request by number: keep them equal. */
_Static_assert(TUNSETOFFLOAD == 0x400454d0, "TUNSETOFFLOAD in policy/vmm-net.policy");

/* backend=stream: the length before each frame, and the buffers (made at
 * set-up; a frame is at most VIRTIO_NET_MAX_FRAME bytes either way). */
#define STREAM_LEN 4u
#define STREAM_RX_CAP (2u * (STREAM_LEN + VIRTIO_NET_MAX_FRAME))
#define STREAM_TX_CAP (STREAM_LEN + VIRTIO_NET_MAX_FRAME)
struct net_stream {
	size_t rx_head, rx_tail;  /* bytes read, not yet handed out: rx[head..tail) */
	size_t tx_off, tx_len;    /* the rest of a partly written frame: tx[off..len) */
	bool want_rx, want_tx;    /* what the device asked for last */
	struct iovec txv[VIRTIO_NET_RX_IOV + 1]; /* the length, then the frame */
	uint8_t rx[STREAM_RX_CAP];
	uint8_t tx[STREAM_TX_CAP];
};

struct net_if {
	struct virtio_net dev;
	struct evloop loop;
	int fd;
	int wake_fd;         /* eventfd: activate (a vCPU) wakes the thread */
	bool is_tap;         /* TUNSETOFFLOAD applies */
	bool dead;           /* the backend failed: off the loop */
	const char *dead_why; /* why, for the report */
	struct net_stream *st; /* backend=stream; NULL for a TAP */
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

/* ---- backend=stream ---------------------------------------------------------------------- */

/* The backend is out of the game for good: off the loop, the reason kept
 * for the report and said once now (the run goes on without a network).
 * Device thread only; snprintf of these formats and write allocate
 * nothing (policy/vmm-net.policy has no brk/mmap). */
static void stream_fail(struct net_if *ni, const char *why, int err)
{
	if (ni->dead)
		return;
	(void)evloop_del(&ni->loop, ni->fd);
	ni->events = 0;
	ni->st->rx_head = ni->st->rx_tail = ni->st->tx_off = ni->st->tx_len = 0;
	__atomic_store_n(&ni->dead_why, why, __ATOMIC_RELAXED);
	__atomic_store_n(&ni->dead, true, __ATOMIC_RELAXED);
	/* strerrordesc_np: no locale lookup, no buffer of its own. */
	const char *desc = err ? strerrordesc_np(err) : NULL;
	char msg[200];
	int n = snprintf(msg, sizeof(msg), "arca: %s: the network backend (passt) failed: %s%s%s; "
			 "the guest's network is down\n", ni->name, why, desc ? ": " : "",
			 desc ? desc : "");
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* The events the stream needs: the device's wishes, and EPOLLOUT while a
 * frame's rest waits (even with no wish: the next frame must not start
 * in the middle of this one). */
static void stream_arm(struct net_if *ni)
{
	struct net_stream *st = ni->st;
	uint32_t ev = (st->want_rx ? EPOLLIN : 0) |
		      (st->want_tx || st->tx_off < st->tx_len ? EPOLLOUT : 0);
	if (ni->dead || ev == ni->events)
		return;
	if (evloop_mod(&ni->loop, ni->fd, ev) == 0)
		ni->events = ev;
}

/* Write what is left of a partly sent frame: 0 when nothing is left,
 * -EAGAIN when the socket is full, another -errno when it failed. */
static int stream_flush(struct net_if *ni)
{
	struct net_stream *st = ni->st;
	while (st->tx_off < st->tx_len) {
		ssize_t w = write(ni->fd, st->tx + st->tx_off, st->tx_len - st->tx_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return -EAGAIN;
		if (w <= 0) {
			int err = w < 0 ? errno : EPIPE;
			stream_fail(ni, "writing to it", err);
			return -err;
		}
		st->tx_off += (size_t)w;
	}
	st->tx_off = st->tx_len = 0;
	return 0;
}

static ssize_t stream_send(void *be, const struct iovec *iov, int n)
{
	struct net_if *ni = be;
	struct net_stream *st = ni->st;
	if (ni->dead)
		return -EPIPE;
	/* One frame at a time on the wire: the previous one first. */
	int r = stream_flush(ni);
	if (r < 0)
		return r;
	if (n < 0 || (unsigned)n > VIRTIO_NET_RX_IOV)
		return -EMSGSIZE;
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (len > VIRTIO_NET_MAX_FRAME)
		return -EMSGSIZE;
	uint8_t hdr[STREAM_LEN] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
				    (uint8_t)len };
	/* The length, then the frame's pieces, element by element (GCC's
	 * -Wstringop-overread at -O1 misreads a memcpy of the array into
	 * the iovecs as one iov_base read 16 bytes wide). */
	struct iovec *v = st->txv;
	v[0].iov_base = hdr;
	v[0].iov_len = sizeof(hdr);
	for (int i = 0; i < n; i++)
		v[i + 1] = iov[i];
	ssize_t w;
	do
		w = writev(ni->fd, v, n + 1);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EAGAIN)
		return -EAGAIN; /* nothing went: the chain waits in its ring */
	if (w < 0) {
		int err = errno;
		stream_fail(ni, "writing to it", err);
		return -err;
	}
	size_t total = STREAM_LEN + len;
	if ((size_t)w < total) {
		/* Part of it went: the frame is sent as far as the guest is
		 * concerned; its rest goes before anything else (EPOLLOUT). */
		st->tx_len = iov_to_buf(st->txv, n + 1, (size_t)w, st->tx, total - (size_t)w);
		st->tx_off = 0;
		stream_arm(ni);
	}
	return (ssize_t)len;
}

/* Whether rx[head..tail) starts with a complete frame; 1 yes, 0 not yet,
 * -EPROTO for a length no Ethernet frame has. *len: the frame's length. */
static int stream_frame(const struct net_stream *st, uint32_t *len)
{
	size_t have = st->rx_tail - st->rx_head;
	if (have < STREAM_LEN)
		return 0;
	const uint8_t *p = st->rx + st->rx_head;
	uint32_t l = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (l < ETH_HLEN || l > VIRTIO_NET_MAX_FRAME)
		return -EPROTO;
	*len = l;
	return have - STREAM_LEN >= l;
}

static ssize_t stream_recv(void *be, const struct iovec *iov, int n)
{
	struct net_if *ni = be;
	struct net_stream *st = ni->st;
	for (;;) {
		if (ni->dead)
			return -EAGAIN; /* nothing will come any more */
		uint32_t len = 0;
		int r = stream_frame(st, &len);
		if (r < 0) {
			stream_fail(ni, "a frame length out of range (the stream is out of step)", 0);
			return r;
		}
		if (r > 0) {
			/* Copied as far as the buffers go; the full length tells
			 * the device a frame was cut short. */
			iov_from_buf(iov, n, 0, st->rx + st->rx_head + STREAM_LEN, len);
			st->rx_head += STREAM_LEN + len;
			if (st->rx_head == st->rx_tail)
				st->rx_head = st->rx_tail = 0;
			return (ssize_t)len;
		}
		/* Not a whole frame yet: make room for the largest one (what
		 * is left of this one is less than that), then read on. */
		if (st->rx_head && STREAM_RX_CAP - st->rx_tail < STREAM_LEN + VIRTIO_NET_MAX_FRAME) {
			memmove(st->rx, st->rx + st->rx_head, st->rx_tail - st->rx_head);
			st->rx_tail -= st->rx_head;
			st->rx_head = 0;
		}
		ssize_t got = read(ni->fd, st->rx + st->rx_tail, STREAM_RX_CAP - st->rx_tail);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			return -EAGAIN;
		if (got <= 0) {
			int err = got < 0 ? errno : 0;
			stream_fail(ni, got < 0 ? "reading from it" : "it closed the connection", err);
			return got < 0 ? -err : -EPIPE;
		}
		st->rx_tail += (size_t)got;
	}
}

static void stream_want(void *be, bool rx, bool tx)
{
	struct net_if *ni = be;
	struct net_stream *st = ni->st;
	st->want_rx = rx;
	st->want_tx = tx;
	stream_arm(ni);
	/* A whole frame already read waits for no readiness of the socket:
	 * have the thread come back for it (the device stopped at its
	 * budget, or the driver has just posted buffers). */
	uint32_t len;
	if (rx && !ni->dead && stream_frame(st, &len) > 0)
		tap_wake(ni);
}

static const struct virtio_net_backend_ops stream_ops = {
	.send = stream_send,
	.recv = stream_recv,
	.want = stream_want,
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
	if (ni->st) {
		/* The stream: a frame's rest before anything the device sends;
		 * a peer gone (passt ended) ends the backend. */
		bool tx = events & EPOLLOUT;
		if (events & (EPOLLERR | EPOLLHUP))
			stream_fail(ni, "it closed the connection", 0);
		else if (tx && stream_flush(ni) < 0)
			tx = false; /* still full (or failed): the device's frames wait */
		if (!ni->dead && ((events & EPOLLIN) || tx))
			virtio_net_backend_ready(&ni->dev, events & EPOLLIN, tx);
		stream_arm(ni);
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		/* The interface is gone (deleted under us): level-triggered,
		 * the error would wake this thread forever. The guest's link
		 * stays up; its frames are dropped from now on. */
		(void)evloop_del(&ni->loop, ni->fd);
		__atomic_store_n(&ni->dead_why, "the TAP device went away during the run",
				 __ATOMIC_RELAXED);
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

/* backend=stream: the launcher's fd must be a connected stream socket
 * (passt's other end). */
static int stream_probe(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return errno == ENOTSOCK ? -EPROTOTYPE : -errno;
	if (type != SOCK_STREAM)
		return -EPROTOTYPE;
	struct sockaddr_storage peer;
	len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
		return errno == ENOTCONN ? -EPROTOTYPE : -errno;
	return 0;
}

/* Everything but the probe and the transport (tests drive this directly).
 * A stream backend has no vnet header and no TUN ioctls, whatever is_tap
 * and vnet_hdr say. */
static int net_if_init(struct net_if *ni, const struct guest_mem *gm,
		       const struct vmm_net_opt *opt, bool is_tap, bool vnet_hdr)
{
	const struct virtio_net_backend_ops *ops = &tap_ops;
	ni->fd = opt->fd;
	ni->is_tap = is_tap;
	ni->events = 0;
	if (opt->backend == VMM_NET_STREAM) {
		/* Made now, before the thread's filter (which allows no
		 * allocation); for the life of the process. */
		if (!(ni->st = calloc(1, sizeof(*ni->st))))
			return -ENOMEM;
		ops = &stream_ops;
		ni->is_tap = vnet_hdr = false;
	}
	int fl = fcntl(ni->fd, F_GETFL);
	if (fl < 0 || fcntl(ni->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	struct virtio_net_params p = { .mtu = opt->mtu, .vnet_hdr = vnet_hdr };
	memcpy(p.mac, opt->mac, sizeof(p.mac));
	int r = virtio_net_init(&ni->dev, gm, &p, ops, ni);
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
		bool vnet_hdr = false, stream = o->net[i].backend == VMM_NET_STREAM;
		snprintf(ni->name, sizeof(ni->name), "net%u", i);
		int r = stream ? stream_probe(o->net[i].fd) : tap_probe(o->net[i].fd, &vnet_hdr);
		if (stream && r == -EPROTOTYPE)
			return arca_error(e, EINVAL, "%s: fd %d is not a connected stream socket "
					  "(backend=stream)", ni->name, o->net[i].fd);
		if (r == -EPROTOTYPE || r == -ENOTTY || r == -EINVAL)
			return arca_error(e, EINVAL, "%s: fd %d is not a TAP device with IFF_TAP and "
					  "IFF_NO_PI", ni->name, o->net[i].fd);
		if (r == 0)
			r = net_if_init(ni, &vm->gm, &o->net[i], !stream, vnet_hdr);
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
		if (o->verbose && !vnet_hdr && !stream)
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
		const char *dead = __atomic_load_n(&ni->dead_why, __ATOMIC_RELAXED);
		if (__atomic_load_n(&ni->dead, __ATOMIC_RELAXED))
			fprintf(f, "arca: %s: %s%s\n", ni->name, ni->st ? "the network backend "
				"(passt) failed: " : "", dead ? dead : "failed");
	}
}
