/* SPDX-License-Identifier: MIT */
/* The virtio-net device and its TAP backend (vmm/virtio_net.c, vmm/net.c)
 * below the transport: real split virtqueues in (heap-backed) guest memory,
 * and a real backend fd: a SOCK_SEQPACKET socketpair standing in for the
 * TAP (the same one-frame-per-read semantics, vnet header included), and,
 * as root where unshare(CLONE_NEWNET) works, a real TAP with IFF_VNET_HDR
 * in a private network namespace.
 *
 * Covered: features and config space; transmit (header passed through,
 * segments gathered, back-pressure on a full backend with no loss); receive
 * into mergeable buffers spanning several chains (num_buffers, lengths,
 * unused chains given back), into big non-mergeable chains, with no buffers
 * (EPOLLIN off until the driver kicks), offload filtering; hostile chains
 * (short header, writable transmit descriptor, readable receive one, outside
 * RAM, oversize frames), each failing the device or dropping the frame; a
 * reset disarming the backend. The stream backend (backend=stream, passt's
 * protocol) over a SOCK_STREAM socketpair: frames framed both ways, a
 * stream cut anywhere (partial writes, byte-by-byte reads), frames waiting
 * in its buffer for receive buffers, and a stream out of step (a bad
 * length, the peer gone) stopping the backend, not the VMM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

/* Static backend functions (net_if_init, on_tap, tap_probe) are what the
 * VMM's set-up and event loop call. */
#include "../../vmm/net.c"

#define RAM  (4u << 20)
#define QSZ  64u
#define RING 0x1000u     /* queue q's rings at RING + q * 0x4000 */
#define BUF  0x10000u    /* guest buffers, bump-allocated from here */
#define F(b) (1ull << (b))

struct fx {
	uint8_t *ram;
	struct guest_mem gm;
	struct net_if *ni;
	struct virtio_dev *d;
	int sp[2]; /* sp[0]: the device's "TAP"; sp[1]: the host side */
	struct vring_desc *desc[2];
	struct vring_avail *avail[2];
	struct vring_used *used[2];
	uint16_t next_desc[2];
	uint64_t next_buf;
	unsigned fails, signals;
	uint16_t mtu;
	enum vmm_net_backend backend;
	char why[128];
};

static struct fx *cur;

static void t_signal(struct virtio_dev *d)
{
	cur->signals++;
}

static const struct virtio_transport_ops t_ops = { .signal_used = t_signal,
						   .signal_config = t_signal };

static void on_fail(void *opaque, const char *dev, const char *why)
{
	struct fx *x = opaque;
	x->fails++;
	snprintf(x->why, sizeof(x->why), "%s", why);
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	x->ram = aligned_alloc(4096, RAM);
	memset(x->ram, 0, RAM);
	assert_int_equal(gm_layout(&x->gm, x->ram, RAM), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				    x->sp), 0);
	x->ni = calloc(1, sizeof(*x->ni));
	x->next_buf = BUF;
	x->mtu = 1500;
	for (unsigned q = 0; q < 2; q++) {
		x->desc[q] = (void *)(x->ram + RING + q * 0x4000u);
		x->avail[q] = (void *)(x->ram + RING + q * 0x4000u + 0x1000u);
		x->used[q] = (void *)(x->ram + RING + q * 0x4000u + 0x2000u);
	}
	cur = x;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	if (x->d) {
		evloop_fini(&x->ni->loop);
		close(x->ni->wake_fd);
	}
	close(x->sp[0]);
	close(x->sp[1]);
	free(x->ni->st);
	free(x->ni);
	free(x->ram);
	free(x);
	return 0;
}

/* The device over fd, brought up as a driver would with these features. */
static void up_fd(struct fx *x, int fd, bool is_tap, bool vnet_hdr, uint64_t features)
{
	struct vmm_net_opt opt = { .fd = fd, .mac = { 2, 0, 0, 0, 0, 1 }, .mtu = x->mtu,
				   .backend = x->backend };
	assert_int_equal(net_if_init(x->ni, &x->gm, &opt, is_tap, vnet_hdr), 0);
	struct virtio_dev *d = x->d = &x->ni->dev.dev;
	d->tops = &t_ops;
	virtio_dev_on_fail(d, on_fail, x);
	assert_true((features & ~d->ops->features) == 0);
	d->driver_features = features | F(VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &d->vqs[q];
		vq->num = QSZ;
		vq->desc_gpa = RING + q * 0x4000u;
		vq->avail_gpa = vq->desc_gpa + 0x1000u;
		vq->used_gpa = vq->desc_gpa + 0x2000u;
		vq->event_idx = features & F(VIRTIO_RING_F_EVENT_IDX);
		assert_int_equal(virtq_activate(vq, &x->gm), 0);
		vq->ready = true;
	}
	d->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		    VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	pthread_mutex_lock(&d->lock);
	d->ops->activate(d);
	pthread_mutex_unlock(&d->lock);
	/* The activate wake-up, as the device thread's loop delivers it (the
	 * tests' pump only dispatches the TAP). */
	struct pollfd pf = { .fd = x->ni->wake_fd, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 0), 1);
	on_wake(x->ni, EPOLLIN);
}

static void up(struct fx *x, uint64_t features)
{
	up_fd(x, x->sp[0], false, true, features);
}

static uint64_t gbuf(struct fx *x, size_t len)
{
	uint64_t a = x->next_buf;
	x->next_buf = (x->next_buf + len + 63) & ~63ull;
	assert_true(x->next_buf < RAM);
	return a;
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Publish one chain on queue q; returns its head. */
static uint16_t chain(struct fx *x, unsigned q, const struct seg *s, unsigned n)
{
	uint16_t head = x->next_desc[q];
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSZ);
		x->desc[q][idx] = (struct vring_desc){
			.addr = s[i].gpa, .len = s[i].len,
			.flags = (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)((idx + 1) % QSZ),
		};
	}
	x->next_desc[q] = (uint16_t)((head + n) % QSZ);
	x->avail[q]->ring[x->avail[q]->idx % QSZ] = head;
	__atomic_store_n(&x->avail[q]->idx, (uint16_t)(x->avail[q]->idx + 1), __ATOMIC_RELEASE);
	return head;
}

/* A transmit chain: the header, then the frame in nseg pieces. */
static uint16_t tx(struct fx *x, const struct virtio_net_hdr_v1 *h, const void *frame,
		   size_t len, unsigned nseg)
{
	uint64_t g = gbuf(x, sizeof(*h) + len);
	memcpy(x->ram + g, h, sizeof(*h));
	memcpy(x->ram + g + sizeof(*h), frame, len);
	struct seg s[8] = { { g, sizeof(*h), false } };
	size_t off = 0, piece = len / nseg;
	for (unsigned i = 0; i < nseg; i++) {
		size_t l = i + 1 == nseg ? len - off : piece;
		s[1 + i] = (struct seg){ g + sizeof(*h) + off, (uint32_t)l, false };
		off += l;
	}
	return chain(x, VIRTIO_NET_TXQ, s, nseg + 1);
}

/* A receive chain of one writable buffer; returns its address. */
static uint64_t rx_post(struct fx *x, uint32_t len, uint16_t *head)
{
	uint64_t g = gbuf(x, len);
	memset(x->ram + g, 0xee, len);
	struct seg s = { g, len, true };
	uint16_t h = chain(x, VIRTIO_NET_RXQ, &s, 1);
	if (head)
		*head = h;
	return g;
}

static void kick(struct fx *x, unsigned q)
{
	pthread_mutex_lock(&x->d->lock);
	x->d->ops->queue_kick(x->d, q);
	pthread_mutex_unlock(&x->d->lock);
}

/* One turn of the device thread's loop (only the TAP is registered here:
 * kicks are delivered by kick()). Returns the events handled. */
static int pump(struct fx *x, int timeout_ms)
{
	struct epoll_event ev[4];
	int n = epoll_wait(x->ni->loop.epfd, ev, 4, timeout_ms);
	for (int i = 0; i < n; i++)
		on_tap(x->ni, ev[i].events);
	return n < 0 ? 0 : n;
}

static void frame_fill(uint8_t *f, size_t len, uint8_t seed)
{
	static const uint8_t hdr[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
					 0x88, 0xb5 };
	memcpy(f, hdr, sizeof(hdr));
	for (size_t i = sizeof(hdr); i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static uint64_t stat(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* ---- features and config -------------------------------------------------------------- */

static void test_config_features(void **state)
{
	struct fx *x = *state;
	struct virtio_net_params p = { .mac = { 2, 1, 2, 3, 4, 5 }, .mtu = 9000, .vnet_hdr = true };
	uint64_t f = virtio_net_features(&p);
	uint64_t must = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_NET_F_MAC) |
			F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MTU) | F(VIRTIO_NET_F_MRG_RXBUF);
	uint64_t offl = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
			F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6);
	assert_true(f == (must | offl));
	/* never: control queue, multiqueue, UFO, ECN, indirect descriptors */
	assert_false(f & (F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ) |
			  F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_HOST_ECN) |
			  F(VIRTIO_RING_F_INDIRECT_DESC)));
	p.vnet_hdr = false;
	assert_true(virtio_net_features(&p) == must);

	uint8_t cfg[32];
	memset(cfg, 0xaa, sizeof(cfg));
	assert_int_equal(virtio_net_config(&p, cfg, sizeof(cfg)), 12);
	assert_memory_equal(cfg, p.mac, 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[8] | cfg[9] << 8, 1);    /* max_virtqueue_pairs */
	assert_int_equal(cfg[10] | cfg[11] << 8, 9000); /* mtu */
	assert_int_equal(cfg[12], 0xaa);

	/* through the device's ops, as the transport reads it */
	up(x, 0);
	const struct virtio_dev_ops *ops = x->d->ops;
	assert_int_equal(ops->nqueues, 2);
	assert_int_equal(ops->config_size, 12);
	assert_int_equal(ops->device_id, 1); /* VIRTIO_ID_NET */
	uint16_t st = 0, mtu = 0;
	uint8_t mac[6];
	ops->config_read(x->d, 6, &st, 2);
	ops->config_read(x->d, 10, &mtu, 2);
	ops->config_read(x->d, 0, mac, 6);
	assert_int_equal(st, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(mtu, 1500);
	static const uint8_t def[6] = { 2, 0, 0, 0, 0, 1 };
	assert_memory_equal(mac, def, 6);

	/* refused parameters */
	struct virtio_net n2;
	p.mtu = 67;
	assert_int_equal(virtio_net_init(&n2, &x->gm, &p, &tap_ops, NULL), -EINVAL);
	p.mtu = 1500;
	p.mac[0] = 3; /* multicast */
	assert_int_equal(virtio_net_init(&n2, &x->gm, &p, &tap_ops, NULL), -EINVAL);
	memset(p.mac, 0, 6);
	assert_int_equal(virtio_net_init(&n2, &x->gm, &p, &tap_ops, NULL), -EINVAL);
	/* a socket is not a TAP */
	bool vnet;
	assert_int_equal(tap_probe(x->sp[1], &vnet), -ENOTTY);
}

/* ---- transmit ------------------------------------------------------------------------- */

static void test_tx(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
	struct virtio_net_hdr_v1 h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				       .csum_offset = 16 };
	uint8_t f[600], got[2048];
	frame_fill(f, sizeof(f), 1);
	tx(x, &h, f, sizeof(f), 3);
	frame_fill(f, 60, 2);
	tx(x, &h, f, 60, 1);
	kick(x, VIRTIO_NET_TXQ);
	/* Both frames, each header first, byte for byte. */
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), 12 + 600);
	assert_memory_equal(got, &h, 12);
	frame_fill(f, sizeof(f), 1);
	assert_memory_equal(got + 12, f, 600);
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), 12 + 60);
	frame_fill(f, 60, 2);
	assert_memory_equal(got + 12, f, 60);
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), -1);
	assert_int_equal(x->used[1]->idx, 2);
	assert_int_equal(x->used[1]->ring[0].len, 0);
	assert_int_equal(stat(&x->ni->dev.stats.tx_packets), 2);
	assert_int_equal(stat(&x->ni->dev.stats.tx_bytes), 660);
	assert_int_equal(stat(&x->ni->dev.stats.tx_drops), 0);
	assert_true(x->signals > 0);
	assert_int_equal(x->fails, 0);
	assert_int_equal(x->ni->events, 0); /* nothing to wait for */
}

/* A full backend: the chain waits in the ring (no drop), EPOLLOUT brings
 * the device back, and every frame arrives in order. */
static void test_tx_backpressure(void **state)
{
	struct fx *x = *state;
	int small = 4096;
	assert_int_equal(setsockopt(x->sp[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	up(x, 0);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t f[1500], got[2048];
	const unsigned N = 30; /* 60 descriptors of the 64 */
	for (unsigned i = 0; i < N; i++) {
		frame_fill(f, sizeof(f), (uint8_t)i);
		tx(x, &h, f, sizeof(f), 1);
	}
	kick(x, VIRTIO_NET_TXQ);
	uint16_t first = x->used[1]->idx;
	assert_true(first < N);                 /* the backend filled up */
	assert_true(x->ni->events & EPOLLOUT);  /* and the device waits for room */
	assert_int_equal(pump(x, 0), 0);        /* none yet */
	unsigned seen = 0;
	for (int spins = 0; seen < N && spins < 1000; spins++) {
		while (recv(x->sp[1], got, sizeof(got), 0) == 12 + 1500) {
			frame_fill(f, sizeof(f), (uint8_t)seen);
			assert_memory_equal(got + 12, f, 1500);
			seen++;
		}
		pump(x, 10);
	}
	assert_int_equal(seen, N);
	assert_int_equal(x->used[1]->idx, N);
	assert_int_equal(stat(&x->ni->dev.stats.tx_drops), 0);
	assert_int_equal(stat(&x->ni->dev.stats.tx_packets), N);
	pump(x, 0);
	assert_false(x->ni->events & EPOLLOUT); /* caught up: disarmed */
}

/* ---- receive -------------------------------------------------------------------------- */

/* Mergeable buffers: a 3000-byte frame over three 1024-byte chains; the
 * fourth goes back to the ring untouched, num_buffers says 3. */
static void test_rx_mergeable(void **state)
{
	struct fx *x = *state;
	x->mtu = 9000;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_GUEST_CSUM) |
	      F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_RING_F_EVENT_IDX));
	uint64_t b[4];
	uint16_t head[4];
	for (unsigned i = 0; i < 4; i++)
		b[i] = rx_post(x, 1024, &head[i]);
	uint8_t pkt[12 + 3000];
	memset(pkt, 0, 12);
	pkt[10] = pkt[11] = 0x77; /* the backend's num_buffers: overwritten */
	frame_fill(pkt + 12, 3000, 9);
	assert_int_equal(send(x->sp[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->fails, 0);
	assert_int_equal(x->used[0]->idx, 3);
	assert_int_equal(x->used[0]->ring[0].id, head[0]);
	assert_int_equal(x->used[0]->ring[0].len, 1024);
	assert_int_equal(x->used[0]->ring[1].id, head[1]);
	assert_int_equal(x->used[0]->ring[1].len, 1024);
	assert_int_equal(x->used[0]->ring[2].id, head[2]);
	assert_int_equal(x->used[0]->ring[2].len, 3012 - 2048);
	struct virtio_net_hdr_v1 h;
	memcpy(&h, x->ram + b[0], sizeof(h));
	assert_int_equal(h.num_buffers, 3);
	assert_memory_equal(x->ram + b[0] + 12, pkt + 12, 1024 - 12);
	assert_memory_equal(x->ram + b[1], pkt + 1024, 1024);
	assert_memory_equal(x->ram + b[2], pkt + 2048, 3012 - 2048);
	/* the fourth chain is still the driver's, and the device waits for
	 * the next frame */
	assert_int_equal(x->ni->dev.dev.vqs[0].last_avail, 3);
	assert_int_equal(x->ram[b[3] + 100], 0xee);
	assert_true(x->ni->events & EPOLLIN);
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 1);
	assert_int_equal(stat(&x->ni->dev.stats.rx_bytes), 3000);
	assert_true(x->signals > 0);

	/* A TSO frame the driver accepted passes; one it did not (TCPV6
	 * without GUEST_TSO6) is dropped, its buffers kept. */
	struct virtio_net_hdr_v1 gso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	memcpy(pkt, &gso, 12);
	assert_int_equal(send(x->sp[1], pkt, 12 + 500, 0), 512);
	gso.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	memcpy(pkt, &gso, 12);
	assert_int_equal(send(x->sp[1], pkt, 12 + 500, 0), 512);
	rx_post(x, 1024, NULL);
	pump(x, 0);
	assert_int_equal(x->used[0]->idx, 4);
	assert_int_equal(x->used[0]->ring[3].id, head[3]);
	assert_int_equal(x->used[0]->ring[3].len, 512);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 1);
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 2);
	assert_int_equal(x->fails, 0);
}

/* Buffers and a frame that were there before DRIVER_OK (a kick the
 * transport ignored): activation alone delivers it. */
static void test_activate_sees_early_buffers(void **state)
{
	struct fx *x = *state;
	uint64_t b = rx_post(x, 2048, NULL);
	uint8_t pkt[12 + 64] = { 0 };
	frame_fill(pkt + 12, 64, 11);
	assert_int_equal(send(x->sp[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	assert_int_equal(x->used[0]->idx, 1);
	assert_memory_equal(x->ram + b + 12, pkt + 12, 64);
	assert_false(x->ni->events & EPOLLIN); /* its only buffer is used */
}

/* 5.1.6.3.2: no unsegmented frame over the advertised MTU; a TSO frame
 * may be larger (it is segmented in the guest). */
static void test_rx_over_mtu(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_GUEST_CSUM) |
	      F(VIRTIO_NET_F_GUEST_TSO4));
	for (int i = 0; i < 8; i++)
		rx_post(x, 1024, NULL);
	static uint8_t pkt[12 + 3000];
	frame_fill(pkt + 12, 3000, 12);
	assert_int_equal(send(x->sp[1], pkt, 12 + 1519, 0), 12 + 1519); /* over */
	assert_int_equal(send(x->sp[1], pkt, 12 + 1518, 0), 12 + 1518); /* at */
	struct virtio_net_hdr_v1 gso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	memcpy(pkt, &gso, 12);
	assert_int_equal(send(x->sp[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 1);
	assert_string_equal(x->ni->dev.why_drop, "received frame over the MTU");
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 2);
	assert_int_equal(x->used[0]->idx, 2 + 3); /* 1530 bytes: 2 buffers; 3012: 3 */
	assert_int_equal(x->fails, 0);
}

/* Without MRG_RXBUF: one chain per frame (header and data descriptors), a
 * frame larger than the chain is dropped and the chain kept. */
static void test_rx_big_buffers(void **state)
{
	struct fx *x = *state;
	up(x, 0);
	uint64_t g = gbuf(x, 12 + 1514);
	struct seg s[2] = { { g, 12, true }, { g + 12, 1514, true } };
	chain(x, VIRTIO_NET_RXQ, s, 2);
	uint8_t pkt[12 + 2000] = { 0 };
	frame_fill(pkt + 12, 2000, 3);
	assert_int_equal(send(x->sp[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt)); /* too big */
	frame_fill(pkt + 12, 100, 4);
	assert_int_equal(send(x->sp[1], pkt, 112, 0), 112);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->used[0]->idx, 1);
	assert_int_equal(x->used[0]->ring[0].len, 112);
	struct virtio_net_hdr_v1 h;
	memcpy(&h, x->ram + g, 12);
	assert_int_equal(h.num_buffers, 1);
	assert_memory_equal(x->ram + g + 12, pkt + 12, 100);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 1);
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 1);
	assert_int_equal(x->fails, 0);
}

/* No receive buffers: EPOLLIN goes off (frames wait in the backend, nothing
 * is read or allocated) until the driver posts buffers and kicks. */
static void test_rx_no_buffers(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_RING_F_EVENT_IDX));
	uint8_t pkt[12 + 200] = { 0 };
	frame_fill(pkt + 12, 200, 5);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send(x->sp[1], pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	kick(x, VIRTIO_NET_RXQ);
	assert_false(x->ni->events & EPOLLIN);
	/* the driver is asked for a kick at its next buffer (event idx) */
	uint16_t avail_event = *(uint16_t *)&x->used[0]->ring[QSZ];
	assert_int_equal(avail_event, 0);
	assert_int_equal(pump(x, 0), 0); /* readable, but not watched */
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 0);

	uint64_t b = rx_post(x, 2048, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->used[0]->idx, 1);
	assert_memory_equal(x->ram + b + 12, pkt + 12, 200);
	/* used its only buffer: off again, two frames still waiting */
	assert_false(x->ni->events & EPOLLIN);
	rx_post(x, 2048, NULL);
	rx_post(x, 2048, NULL);
	rx_post(x, 2048, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->used[0]->idx, 3);
	assert_true(x->ni->events & EPOLLIN); /* a buffer left: watching */
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 3);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 0);
	send(x->sp[1], pkt, sizeof(pkt), 0);
	assert_int_equal(pump(x, 0), 1);
	assert_int_equal(x->used[0]->idx, 4);
}

/* A reset while the device watches the backend: the next wake-up (the
 * device thread's) disarms it and reads nothing. */
static void test_reset_disarms(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(x, 2048, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_true(x->ni->events & EPOLLIN);
	/* what the transport does on status 0 (from a vCPU thread) */
	pthread_mutex_lock(&x->d->lock);
	x->d->ops->reset(x->d);
	for (unsigned q = 0; q < 2; q++)
		virtq_reset(&x->d->vqs[q]);
	x->d->status = 0;
	x->d->driver_features = 0;
	pthread_mutex_unlock(&x->d->lock);
	uint8_t pkt[100] = { 0 };
	assert_int_equal(send(x->sp[1], pkt, sizeof(pkt), 0), 100);
	assert_int_equal(pump(x, 0), 1);
	assert_int_equal(x->ni->events, 0);
	assert_int_equal(pump(x, 0), 0);
	assert_int_equal(x->used[0]->idx, 0);
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 0);
}

/* ---- hostile chains ------------------------------------------------------------------- */

static void expect_failed(struct fx *x, const char *why)
{
	assert_int_equal(x->fails, 1);
	assert_true(x->d->failed);
	assert_true(x->d->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (!strstr(x->why, why))
		fail_msg("failed with '%s', expected '%s'", x->why, why);
	/* nothing armed, and a later wake-up leaves it so */
	assert_int_equal(x->ni->events, 0);
	pump(x, 0);
	assert_int_equal(x->ni->events, 0);
}

static void test_tx_short_header(void **state)
{
	struct fx *x = *state;
	up(x, 0);
	uint64_t g = gbuf(x, 64);
	struct seg s[1] = { { g, 8, false } };
	chain(x, VIRTIO_NET_TXQ, s, 1);
	kick(x, VIRTIO_NET_TXQ);
	expect_failed(x, "shorter than the 12-byte header");
	uint8_t got[64];
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), -1);
}

static void test_tx_writable_descriptor(void **state)
{
	struct fx *x = *state;
	up(x, 0);
	uint64_t g = gbuf(x, 128);
	struct seg s[2] = { { g, 12, false }, { g + 12, 60, true } };
	chain(x, VIRTIO_NET_TXQ, s, 2);
	kick(x, VIRTIO_NET_TXQ);
	expect_failed(x, "device-writable");
	uint8_t got[128];
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), -1);
}

static void test_rx_readable_descriptor(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	uint64_t g = gbuf(x, 2048);
	struct seg s[2] = { { g, 12, false }, { g + 12, 1600, true } };
	chain(x, VIRTIO_NET_RXQ, s, 2);
	uint8_t pkt[100] = { 0 };
	send(x->sp[1], pkt, sizeof(pkt), 0);
	kick(x, VIRTIO_NET_RXQ);
	expect_failed(x, "device-readable");
	assert_int_equal(x->used[0]->idx, 0);
}

static void test_rx_short_buffer(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(x, 1024, NULL);
	rx_post(x, 8, NULL); /* every mergeable buffer must hold a header */
	kick(x, VIRTIO_NET_RXQ);
	expect_failed(x, "shorter than the 12-byte header");
}

static void test_outside_ram(void **state)
{
	struct fx *x = *state;
	up(x, 0);
	struct seg s[2] = { { BUF, 12, false }, { RAM - 16, 64, false } };
	chain(x, VIRTIO_NET_TXQ, s, 2);
	kick(x, VIRTIO_NET_TXQ);
	expect_failed(x, "outside guest RAM");
}

static void test_rx_outside_ram(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	struct seg s[1] = { { UINT64_MAX - 100, 2048, true } };
	chain(x, VIRTIO_NET_RXQ, s, 1);
	kick(x, VIRTIO_NET_RXQ);
	expect_failed(x, "outside guest RAM");
}

/* An oversize frame is dropped (the chain returned empty), not a fault:
 * the next frame goes out. */
static void test_tx_oversize(void **state)
{
	struct fx *x = *state;
	up(x, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
	uint64_t g = gbuf(x, 12 + 70000);
	struct seg s[2] = { { g, 12, false }, { g + 12, 70000, false } };
	chain(x, VIRTIO_NET_TXQ, s, 2);
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t f[60];
	frame_fill(f, sizeof(f), 6);
	tx(x, &h, f, sizeof(f), 1);
	kick(x, VIRTIO_NET_TXQ);
	assert_int_equal(x->fails, 0);
	assert_int_equal(x->used[1]->idx, 2);
	assert_int_equal(x->used[1]->ring[0].len, 0);
	assert_int_equal(stat(&x->ni->dev.stats.tx_drops), 1);
	assert_int_equal(stat(&x->ni->dev.stats.tx_packets), 1);
	uint8_t got[128];
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), 72);
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), -1);
	assert_non_null(x->ni->dev.why_drop);
}

/* A backend without a vnet header: the device strips the header on
 * transmit and writes a zeroed one (num_buffers set) on receive. */
static void test_no_vnet_hdr(void **state)
{
	struct fx *x = *state;
	up_fd(x, x->sp[0], false, false, F(VIRTIO_NET_F_MRG_RXBUF));
	assert_false(x->d->ops->features & F(VIRTIO_NET_F_CSUM));
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t f[80], got[256];
	frame_fill(f, sizeof(f), 7);
	tx(x, &h, f, sizeof(f), 2);
	kick(x, VIRTIO_NET_TXQ);
	assert_int_equal(recv(x->sp[1], got, sizeof(got), 0), 80);
	assert_memory_equal(got, f, 80);
	/* receive: a chain whose header is split over two descriptors */
	uint64_t g = gbuf(x, 2048);
	memset(x->ram + g, 0xee, 2048);
	struct seg s[2] = { { g, 6, true }, { g + 6, 2000, true } };
	chain(x, VIRTIO_NET_RXQ, s, 2);
	assert_int_equal(send(x->sp[1], f, 80, 0), 80);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->used[0]->idx, 1);
	assert_int_equal(x->used[0]->ring[0].len, 92);
	memcpy(&h, x->ram + g, 12);
	assert_int_equal(h.num_buffers, 1);
	assert_int_equal(h.flags | h.gso_type | h.hdr_len | h.csum_start, 0);
	assert_memory_equal(x->ram + g + 12, f, 80);
}

/* ---- the stream backend (backend=stream: passt) ---------------------------------------- */

/* The device over a SOCK_STREAM socketpair, as the launcher hands passt's
 * other end to the VMM. */
static void stream_up(struct fx *x, uint64_t features)
{
	close(x->sp[0]);
	close(x->sp[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, x->sp),
			 0);
	x->backend = VMM_NET_STREAM;
	snprintf(x->ni->name, sizeof(x->ni->name), "net0");
	up_fd(x, x->sp[0], true, true, features); /* a stream has neither, whatever is asked */
	assert_false(x->ni->is_tap);
	assert_false(x->ni->dev.p.vnet_hdr);
}

/* [length][frame] as passt writes it, into out; its size. */
static size_t stream_rec(uint8_t *out, const uint8_t *f, uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memcpy(out + 4, f, len);
	return 4 + len;
}

/* Everything the host side can read now, appended to buf at *have. */
static void drain(int fd, uint8_t *buf, size_t cap, size_t *have)
{
	ssize_t r;
	while (*have < cap && (r = read(fd, buf + *have, cap - *have)) > 0)
		*have += (size_t)r;
}

/* Transmit: the header stripped, each frame behind its big-endian length,
 * segments gathered; no offloads offered on this backend. */
static void test_stream_tx(void **state)
{
	struct fx *x = *state;
	stream_up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	assert_false(x->d->ops->features & (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
					    F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4)));
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t f[700], g[60], want[1024], got[1024];
	frame_fill(f, sizeof(f), 1);
	frame_fill(g, sizeof(g), 2);
	tx(x, &h, f, sizeof(f), 3);
	tx(x, &h, g, sizeof(g), 1);
	kick(x, VIRTIO_NET_TXQ);
	size_t n = stream_rec(want, f, sizeof(f));
	n += stream_rec(want + n, g, sizeof(g));
	size_t have = 0;
	drain(x->sp[1], got, sizeof(got), &have);
	assert_int_equal(have, n);
	assert_memory_equal(got, want, n);
	assert_int_equal(want[0] | want[1], 0);
	assert_int_equal(want[2] << 8 | want[3], 700);
	assert_int_equal(x->used[1]->idx, 2);
	assert_int_equal(stat(&x->ni->dev.stats.tx_packets), 2);
	assert_int_equal(stat(&x->ni->dev.stats.tx_bytes), 760);
	assert_int_equal(stat(&x->ni->dev.stats.tx_drops), 0);
	assert_int_equal(x->ni->events, 0);
	assert_int_equal(x->fails, 0);
}

/* A full socket cuts frames anywhere: the rest of a cut frame goes first
 * (EPOLLOUT), the chains behind it wait in their ring, and the far end
 * reads every frame whole and in order. */
static void test_stream_tx_partial(void **state)
{
	struct fx *x = *state;
	stream_up(x, 0);
	/* AF_UNIX cuts a write into skbs of about half the send buffer: a
	 * frame larger than that can go in part. */
	int small = 4096;
	assert_int_equal(setsockopt(x->sp[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	struct virtio_net_hdr_v1 h = { 0 };
	enum { FLEN = 5000, N = 30 }; /* 60 descriptors of the 64 */
	static uint8_t f[FLEN], got[N * (4 + FLEN)];
	for (unsigned i = 0; i < N; i++) {
		frame_fill(f, FLEN, (uint8_t)i);
		tx(x, &h, f, FLEN, 1);
	}
	kick(x, VIRTIO_NET_TXQ);
	assert_true(x->used[1]->idx < N);
	assert_true(x->ni->events & EPOLLOUT);
	/* Usually a frame was cut here (tx_len > 0), but where the socket
	 * stops taking bytes depends on the kernel's accounting of its skbs,
	 * which can end exactly at a frame's end: not asserted. The slow reader
	 * below cuts frames anywhere anyway, and every frame must arrive whole. */
	size_t have = 0;
	for (int spins = 0; have < sizeof(got) && spins < 2000; spins++) {
		/* a slow reader: a few hundred bytes at a time */
		ssize_t r = read(x->sp[1], got + have, 700);
		if (r > 0)
			have += (size_t)r;
		pump(x, r > 0 ? 0 : 10);
	}
	assert_int_equal(have, sizeof(got));
	for (unsigned i = 0; i < N; i++) {
		const uint8_t *p = got + i * (4 + FLEN);
		assert_int_equal(p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3], FLEN);
		frame_fill(f, FLEN, (uint8_t)i);
		assert_memory_equal(p + 4, f, FLEN);
	}
	assert_int_equal(x->used[1]->idx, N);
	assert_int_equal(stat(&x->ni->dev.stats.tx_drops), 0);
	assert_int_equal(stat(&x->ni->dev.stats.tx_packets), N);
	pump(x, 0);
	assert_int_equal(x->ni->events & EPOLLOUT, 0);
	assert_int_equal(x->ni->st->tx_len, 0);
}

/* Receive: frames arrive in whatever pieces the stream gives (two in one
 * write, one a byte at a time); each lands whole behind a zeroed header,
 * and nothing is delivered until its last byte is there. */
static void test_stream_rx_fragments(void **state)
{
	struct fx *x = *state;
	stream_up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	uint64_t b[3];
	for (int i = 0; i < 3; i++)
		b[i] = rx_post(x, 2048, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_true(x->ni->events & EPOLLIN);
	uint8_t f1[100], f2[1514], f3[300], rec[4096];
	frame_fill(f1, sizeof(f1), 3);
	frame_fill(f2, sizeof(f2), 4);
	frame_fill(f3, sizeof(f3), 5);
	size_t n = stream_rec(rec, f1, sizeof(f1));
	n += stream_rec(rec + n, f2, sizeof(f2));
	assert_int_equal(write(x->sp[1], rec, n), (ssize_t)n);
	pump(x, 100);
	assert_int_equal(x->used[0]->idx, 2);
	assert_int_equal(x->used[0]->ring[0].len, 12 + 100);
	assert_int_equal(x->used[0]->ring[1].len, 12 + 1514);
	struct virtio_net_hdr_v1 h;
	memcpy(&h, x->ram + b[0], 12);
	assert_int_equal(h.num_buffers, 1);
	assert_int_equal(h.flags | h.gso_type | h.hdr_len | h.gso_size | h.csum_start, 0);
	assert_memory_equal(x->ram + b[0] + 12, f1, 100);
	assert_memory_equal(x->ram + b[1] + 12, f2, 1514);
	/* the third a byte at a time: the length itself split too */
	n = stream_rec(rec, f3, sizeof(f3));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(write(x->sp[1], rec + i, 1), 1);
		pump(x, 0);
		assert_int_equal(x->used[0]->idx, i + 1 < n ? 2 : 3);
	}
	assert_memory_equal(x->ram + b[2] + 12, f3, 300);
	assert_int_equal(x->ni->st->rx_tail, 0); /* all handed out */
	assert_int_equal(stat(&x->ni->dev.stats.rx_packets), 3);
	assert_int_equal(stat(&x->ni->dev.stats.rx_bytes), 100 + 1514 + 300);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 0);
	assert_int_equal(x->fails, 0);
}

/* Many big frames through the receive buffer: it fills, moves what is
 * left of a frame to its start, and every frame still arrives whole and
 * in order. */
static void test_stream_rx_bulk(void **state)
{
	struct fx *x = *state;
	x->mtu = 9000;
	stream_up(x, 0);
	enum { FLEN = 9000, N = 100, CH = 12 + 9018 };
	static uint8_t out[N * (4 + FLEN)], f[FLEN];
	size_t n = 0;
	for (unsigned i = 0; i < N; i++) {
		frame_fill(f, FLEN, (uint8_t)i);
		n += stream_rec(out + n, f, FLEN);
	}
	size_t sent = 0;
	unsigned posted = 0, seen = 0;
	uint64_t base = x->next_buf;
	for (int spins = 0; seen < N && spins < 5000; spins++) {
		ssize_t w = write(x->sp[1], out + sent, n - sent > 7000 ? 7000 : n - sent);
		if (w > 0)
			sent += (size_t)w;
		/* at most 16 chains out at a time, their memory reused */
		if (posted - seen < 16 && posted < N) {
			x->next_buf = base + (posted % 16) * ((CH + 63) & ~63u);
			rx_post(x, CH, NULL);
			posted++;
			kick(x, VIRTIO_NET_RXQ);
		}
		pump(x, 0);
		while (seen < (uint16_t)x->used[0]->idx) {
			struct vring_used_elem *u = &x->used[0]->ring[seen % QSZ];
			assert_int_equal(u->len, 12 + FLEN);
			frame_fill(f, FLEN, (uint8_t)seen);
			assert_memory_equal(x->ram + x->desc[0][u->id].addr + 12, f, FLEN);
			seen++;
		}
	}
	assert_int_equal(seen, N);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 0);
	assert_false(x->ni->dead);
	assert_int_equal(x->fails, 0);
}

/* Frames read ahead wait in the backend's buffer (the socket is empty)
 * until the driver posts buffers; a frame too big for the buffers is
 * dropped whole, and the stream stays in step. */
static void test_stream_rx_waiting(void **state)
{
	struct fx *x = *state;
	stream_up(x, 0);
	uint8_t f[200], big[1514], rec[8192];
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		frame_fill(f, sizeof(f), (uint8_t)(10 + i));
		n += stream_rec(rec + n, f, sizeof(f));
	}
	frame_fill(big, sizeof(big), 20);
	n += stream_rec(rec + n, big, sizeof(big));
	frame_fill(f, sizeof(f), 30);
	n += stream_rec(rec + n, f, sizeof(f));
	assert_int_equal(write(x->sp[1], rec, n), (ssize_t)n);
	uint64_t b = rx_post(x, 12 + 256, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->used[0]->idx, 1);
	frame_fill(f, sizeof(f), 10);
	assert_memory_equal(x->ram + b + 12, f, 200);
	assert_false(x->ni->events & EPOLLIN); /* no buffers: not watching */
	char c;
	assert_int_equal(read(x->sp[0], &c, 1), -1); /* all of it read ahead */
	/* The device asks for more with frames already here: a wake-up, as no
	 * readiness of the socket will come for them. */
	uint64_t v;
	while (read(x->ni->wake_fd, &v, sizeof(v)) > 0)
		;
	pthread_mutex_lock(&x->d->lock);
	stream_want(x->ni, true, false);
	pthread_mutex_unlock(&x->d->lock);
	assert_int_equal(read(x->ni->wake_fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	/* the driver's next buffers take the next frames, then the big one
	 * is too big for a 268-byte chain and is dropped, not cut */
	uint64_t b2 = rx_post(x, 12 + 256, NULL);
	uint64_t b3 = rx_post(x, 12 + 256, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(x->used[0]->idx, 3);
	frame_fill(f, sizeof(f), 11);
	assert_memory_equal(x->ram + b2 + 12, f, 200);
	frame_fill(f, sizeof(f), 12);
	assert_memory_equal(x->ram + b3 + 12, f, 200);
	uint64_t b4 = rx_post(x, 12 + 256, NULL);
	kick(x, VIRTIO_NET_RXQ);
	assert_int_equal(stat(&x->ni->dev.stats.rx_drops), 1);
	assert_int_equal(x->used[0]->idx, 4);
	frame_fill(f, sizeof(f), 30);
	assert_memory_equal(x->ram + b4 + 12, f, 200); /* in step after the drop */
	assert_false(x->ni->dead);
	assert_int_equal(x->fails, 0);
}

/* A length no Ethernet frame has: the stream is out of step for good.
 * The backend stops (off the loop, the reason kept), the guest's frames
 * are dropped from then on, and the device and the VMM go on. */
static void stream_bad(struct fx *x, uint32_t len)
{
	stream_up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	for (int i = 0; i < 4; i++)
		rx_post(x, 2048, NULL);
	kick(x, VIRTIO_NET_RXQ);
	uint8_t f[60], rec[128];
	frame_fill(f, sizeof(f), 40);
	size_t n = stream_rec(rec, f, sizeof(f));
	uint8_t bad[4 + 60] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
				(uint8_t)len };
	memcpy(rec + n, bad, sizeof(bad));
	n += sizeof(bad);
	assert_int_equal(write(x->sp[1], rec, n), (ssize_t)n);
	pump(x, 100);
	assert_int_equal(x->used[0]->idx, 1); /* the good frame before it */
	assert_true(x->ni->dead);
	assert_non_null(strstr(x->ni->dead_why, "frame length out of range"));
	assert_int_equal(x->ni->events, 0);
	assert_int_equal(pump(x, 0), 0); /* off the loop: no more wake-ups */
	struct virtio_net_hdr_v1 h = { 0 };
	tx(x, &h, f, sizeof(f), 1);
	kick(x, VIRTIO_NET_TXQ);
	assert_int_equal(x->used[1]->idx, 1);
	assert_int_equal(stat(&x->ni->dev.stats.tx_drops), 1);
	assert_int_equal(x->fails, 0);
	assert_false(x->d->failed);
	char line[256];
	FILE *m = fmemopen(line, sizeof(line), "w");
	net_devices_report(&(struct net_devices){ x->ni, 1 }, m);
	fclose(m);
	assert_non_null(strstr(line, "the network backend (passt) failed: a frame length"));
}

static void test_stream_bad_length_short(void **state)
{
	stream_bad(*state, 13); /* shorter than an Ethernet header */
}

static void test_stream_bad_length_long(void **state)
{
	stream_bad(*state, VIRTIO_NET_MAX_FRAME + 1);
}

/* passt gone: the backend stops the same way. */
static void test_stream_peer_gone(void **state)
{
	struct fx *x = *state;
	stream_up(x, F(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(x, 2048, NULL);
	kick(x, VIRTIO_NET_RXQ);
	uint8_t rec[3] = { 0, 0, 1 }; /* a cut length, then EOF */
	assert_int_equal(write(x->sp[1], rec, sizeof(rec)), 3);
	close(x->sp[1]);
	x->sp[1] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); /* for teardown */
	for (int i = 0; i < 5 && !x->ni->dead; i++)
		pump(x, 100);
	assert_true(x->ni->dead);
	assert_non_null(strstr(x->ni->dead_why, "closed the connection"));
	assert_int_equal(x->used[0]->idx, 0);
	assert_int_equal(x->fails, 0);
}

/* backend=stream takes a connected stream socket, nothing else. */
static void test_stream_probe(void **state)
{
	struct fx *x = *state;
	assert_int_equal(stream_probe(x->sp[0]), -EPROTOTYPE); /* SOCK_SEQPACKET */
	int sp[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(stream_probe(sp[0]), 0);
	int lone = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(stream_probe(lone), -EPROTOTYPE); /* not connected */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(stream_probe(p[0]), -EPROTOTYPE); /* not a socket */
	close(sp[0]);
	close(sp[1]);
	close(lone);
	close(p[0]);
	close(p[1]);
}

/* ---- a real TAP in a private network namespace ---------------------------------------- */

struct tapenv {
	int tap, pkt, ifindex;
	int err;
	const char *step;
};

static void *tap_thread(void *arg)
{
	struct tapenv *t = arg;
	t->tap = t->pkt = -1;
	/* Only this thread moves: the test's other fds stay where they are. */
	t->step = "unshare(CLONE_NEWNET)";
	if (unshare(CLONE_NEWNET) < 0)
		goto fail;
	t->step = "/dev/net/tun";
	if ((t->tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0)
		goto fail;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "arcat0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	t->step = "TUNSETIFF";
	if (ioctl(t->tap, TUNSETIFF, &ifr) < 0)
		goto fail;
	/* No IPv6 chatter (router solicitations, MLD) on the link. */
	int fd = open("/proc/sys/net/ipv6/conf/arcat0/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	t->step = "SIOCSIFFLAGS";
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		goto fail;
	close(s);
	t->ifindex = ifr.ifr_ifindex;
	t->step = "AF_PACKET";
	t->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88b5));
	if (t->pkt < 0)
		goto fail;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x88b5),
				  .sll_ifindex = t->ifindex };
	if (bind(t->pkt, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		goto fail;
	t->err = 0;
	return NULL;
fail:
	t->err = errno;
	return NULL;
}

static void test_real_tap(void **state)
{
	struct fx *x = *state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
		print_message("skipped: needs root and /dev/net/tun\n");
		skip();
	}
	struct tapenv t = { .err = -1 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, tap_thread, &t), 0);
	pthread_join(th, NULL);
	if (t.err) {
		print_message("skipped: %s: %s\n", t.step, strerror(t.err));
		if (t.tap >= 0)
			close(t.tap);
		if (t.pkt >= 0)
			close(t.pkt);
		skip();
	}
	bool vnet = false;
	assert_int_equal(tap_probe(t.tap, &vnet), 0);
	assert_true(vnet);
	up_fd(x, t.tap, true, true, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CSUM) |
	      F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |
	      F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_RING_F_EVENT_IDX));
	for (int i = 0; i < 8; i++)
		rx_post(x, 4096, NULL);
	kick(x, VIRTIO_NET_RXQ);
	/* The driver's receive offloads reached the TAP at activation. */
	assert_int_equal(x->ni->offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	assert_int_equal(x->ni->offload_err, 0);

	/* guest -> host: the frame leaves the TAP as sent */
	struct virtio_net_hdr_v1 h = { 0 };
	uint8_t f[60], got[2048];
	frame_fill(f, sizeof(f), 8);
	memcpy(f + 14, "arca-tx", 7);
	tx(x, &h, f, sizeof(f), 2);
	kick(x, VIRTIO_NET_TXQ);
	assert_int_equal(x->used[1]->idx, 1);
	assert_int_equal(stat(&x->ni->dev.stats.tx_packets), 1);
	struct pollfd pf = { .fd = t.pkt, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 2000), 1);
	assert_int_equal(recv(t.pkt, got, sizeof(got), 0), 60);
	assert_memory_equal(got, f, 60);

	/* host -> guest: a frame sent on the interface lands in a receive
	 * buffer behind a 12-byte header with num_buffers 1 */
	frame_fill(f, sizeof(f), 9);
	memcpy(f, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(f + 14, "arca-rx", 7);
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_ifindex = t.ifindex,
				  .sll_halen = 6 };
	memcpy(ll.sll_addr, f, 6);
	assert_int_equal(sendto(t.pkt, f, sizeof(f), 0, (struct sockaddr *)&ll, sizeof(ll)), 60);
	bool found = false;
	for (int spins = 0; !found && spins < 200; spins++) {
		pump(x, 10);
		for (uint16_t i = 0; i < x->used[0]->idx && !found; i++) {
			uint32_t len = x->used[0]->ring[i % QSZ].len;
			uint16_t id = (uint16_t)x->used[0]->ring[i % QSZ].id;
			const uint8_t *b = x->ram + x->desc[0][id].addr;
			if (len >= 12 + 60 && !memcmp(b + 12 + 14, "arca-rx", 7)) {
				memcpy(&h, b, 12);
				assert_int_equal(h.num_buffers, 1);
				assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
				assert_memory_equal(b + 12, f, 60);
				found = true;
			}
		}
	}
	assert_true(found);
	assert_int_equal(x->fails, 0);
	x->d = NULL; /* the loop is closed here: its fd goes first */
	evloop_fini(&x->ni->loop);
	close(t.tap);
	close(t.pkt);
}

int main(void)
{
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config_features),
		T(test_tx),
		T(test_tx_backpressure),
		T(test_rx_mergeable),
		T(test_activate_sees_early_buffers),
		T(test_rx_over_mtu),
		T(test_rx_big_buffers),
		T(test_rx_no_buffers),
		T(test_reset_disarms),
		T(test_tx_short_header),
		T(test_tx_writable_descriptor),
		T(test_rx_readable_descriptor),
		T(test_rx_short_buffer),
		T(test_outside_ram),
		T(test_rx_outside_ram),
		T(test_tx_oversize),
		T(test_no_vnet_hdr),
		T(test_stream_tx),
		T(test_stream_tx_partial),
		T(test_stream_rx_fragments),
		T(test_stream_rx_waiting),
		T(test_stream_rx_bulk),
		T(test_stream_bad_length_short),
		T(test_stream_bad_length_long),
		T(test_stream_peer_gone),
		T(test_stream_probe),
		T(test_real_tap),
	};
	return cmocka_run_group_tests_name("virtio_net", tests, NULL, NULL);
}
