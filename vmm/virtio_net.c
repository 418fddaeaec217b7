/* SPDX-License-Identifier: MIT */
/* virtio-net device; see virtio_net.h. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "iov.h"
#include "virtio_net.h"

_Static_assert(sizeof(struct virtio_net_hdr_v1) == VIRTIO_NET_HDR_LEN,
	       "the VERSION_1 header is 12 bytes");

#define BIT(b) (1ull << (b))
#define NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_v1, num_buffers)
/* mac, status, max_virtqueue_pairs, mtu: the fields of the features we
 * offer (5.1.4); speed, duplex and RSS belong to features we do not. */
#define NET_CONFIG_SIZE (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))

uint64_t virtio_net_features(const struct virtio_net_params *p)
{
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
		     BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MTU) |
		     BIT(VIRTIO_NET_F_MRG_RXBUF);
	/* Partial checksums and TSO live in the header: only a backend that
	 * carries it to the host kernel (and from it) can honour them. */
	if (p->vnet_hdr)
		f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
		     BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6);
	return f;
}

unsigned virtio_net_config(const struct virtio_net_params *p, void *buf, unsigned cap)
{
	struct virtio_net_config c;
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, p->mac, sizeof(c.mac));
	c.status = htole16(VIRTIO_NET_S_LINK_UP);
	c.max_virtqueue_pairs = htole16(1);
	c.mtu = htole16(p->mtu);
	unsigned n = NET_CONFIG_SIZE < cap ? (unsigned)NET_CONFIG_SIZE : cap;
	memcpy(buf, &c, n);
	return (unsigned)NET_CONFIG_SIZE;
}

static struct virtio_net *net_of(struct virtio_dev *d)
{
	return d->priv;
}

static bool has(const struct virtio_net *n, unsigned bit)
{
	return virtio_dev_has_feature(&n->dev, bit);
}

static void count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static void drop(struct virtio_net *n, uint64_t *counter, const char *why)
{
	count(counter, 1);
	/* Read by net_devices_report from another thread. */
	if (!__atomic_load_n(&n->why_drop, __ATOMIC_RELAXED))
		__atomic_store_n(&n->why_drop, why, __ATOMIC_RELAXED);
}

/* After activate (vCPU thread): the backend learns the receive offloads
 * here, on the device thread, before the next frame is read. */
static void sync_offload(struct virtio_net *n)
{
	if (!n->offload_pending)
		return;
	n->offload_pending = false;
	if (!n->p.vnet_hdr || !n->bops->set_offload)
		return;
	/* 5.1.3.1: GUEST_TSO4/6 require GUEST_CSUM; a driver that took one
	 * without the other gets neither. A failure leaves the backend's
	 * previous offloads, and rx_hdr_check drops what they let through. */
	bool csum = has(n, VIRTIO_NET_F_GUEST_CSUM);
	(void)n->bops->set_offload(n->be, csum, csum && has(n, VIRTIO_NET_F_GUEST_TSO4),
				   csum && has(n, VIRTIO_NET_F_GUEST_TSO6));
}

/* ---- transmit ---------------------------------------------------------------------------- */

/* n->elem holds a transmit chain. 1: done (pushed); 0: the backend is full
 * (given back); -EIO: the driver broke the protocol (device failed). */
static int tx_one(struct virtio_net *n, struct virtq *vq)
{
	struct virtq_elem *e = &n->elem;
	/* 5.1.6.2: transmit buffers are device-readable only. */
	if (e->nin) {
		virtio_dev_fail(&n->dev, "transmit buffer with a device-writable descriptor");
		return -EIO;
	}
	if (e->out_len < VIRTIO_NET_HDR_LEN) {
		virtio_dev_fail(&n->dev, "transmit buffer shorter than the 12-byte header");
		return -EIO;
	}
	const struct iovec *iov = e->iov;
	int cnt = (int)e->nout;
	uint64_t frame = e->out_len - VIRTIO_NET_HDR_LEN;
	if (frame > VIRTIO_NET_MAX_FRAME || frame == 0) {
		drop(n, &n->stats.tx_drops, frame ? "transmitted frame over 64 KiB"
						  : "transmitted frame with no data");
		virtq_push(vq, e, 0);
		return 1;
	}
	if (!n->p.vnet_hdr) {
		/* Strip the header; the frame's segments (at most the chain's)
		 * fit the scratch array. */
		cnt = iov_slice(e->iov, (int)e->nout, VIRTIO_NET_HDR_LEN, frame, n->iov,
				(int)VIRTIO_NET_RX_IOV);
		iov = n->iov;
	}
	ssize_t s = cnt < 0 ? cnt : n->bops->send(n->be, iov, cnt);
	if (s == -EAGAIN) {
		/* Back-pressure, not loss: the chain waits in the ring. */
		virtq_unpop(vq);
		return 0;
	}
	if (s < 0) {
		/* The host refused this frame (a bad header, no route, ...):
		 * the frame is lost, as on a wire; the VM goes on. */
		drop(n, &n->stats.tx_drops, "the backend refused a transmitted frame");
	} else {
		count(&n->stats.tx_packets, 1);
		count(&n->stats.tx_bytes, frame);
	}
	virtq_push(vq, e, 0);
	return 1;
}

static void tx_process(struct virtio_net *n)
{
	struct virtq *vq = &n->dev.vqs[VIRTIO_NET_TXQ];
	uint16_t before = vq->used_idx;
	bool again = false;
	for (unsigned i = 0;; i++) {
		if (i == VIRTIO_NET_BUDGET) {
			/* Yield: the backend's writability brings us back at
			 * once, after the other events of this turn. */
			again = true;
			break;
		}
		int r = virtq_pop(vq, &n->elem);
		if (r < 0) {
			virtio_dev_fail(&n->dev, vq->why_broken);
			break;
		}
		if (r == 0) {
			if (virtq_enable_kick(vq))
				continue;
			break;
		}
		r = tx_one(n, vq);
		if (r == 0)
			again = true;
		if (r <= 0)
			break;
	}
	n->want_tx = again && !n->dev.failed;
	if (vq->used_idx != before)
		virtio_dev_notify(&n->dev, VIRTIO_NET_TXQ);
}

/* ---- receive ----------------------------------------------------------------------------- */

/* A header the backend wrote must only ask for what the driver took
 * (5.1.6.4.1): stale offloads (set for a previous driver) or a backend
 * whose offloads could not be set would otherwise hand it a GSO frame
 * or a partial checksum it cannot handle. NULL: fine. */
static const char *rx_hdr_check(struct virtio_net *n, const struct iovec *iov, int cnt,
				uint64_t frame)
{
	struct virtio_net_hdr_v1 h;
	if (iov_to_buf(iov, cnt, 0, &h, NUM_BUFFERS_OFF) != NUM_BUFFERS_OFF)
		return "received frame shorter than its header";
	/* 5.1.6.3.2: with VIRTIO_NET_F_MTU, no unsegmented frame over the MTU
	 * (a TAP whose MTU is larger than the one we advertised). */
	if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE && frame > 18u + n->p.mtu)
		return "received frame over the MTU";
	bool csum = has(n, VIRTIO_NET_F_GUEST_CSUM);
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !csum)
		return "received frame needs a checksum the driver does not do";
	if ((h.flags & VIRTIO_NET_HDR_F_DATA_VALID) && !csum) {
		/* Without GUEST_CSUM flags must be 0: the guest checks itself. */
		uint8_t flags = h.flags & (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
		iov_from_buf(iov, cnt, offsetof(struct virtio_net_hdr_v1, flags), &flags, 1);
	}
	switch (h.gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return csum && has(n, VIRTIO_NET_F_GUEST_TSO4) ? NULL
			: "received TSO frame the driver did not accept";
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return csum && has(n, VIRTIO_NET_F_GUEST_TSO6) ? NULL
			: "received TSO frame the driver did not accept";
	default: /* UDP, ECN: never offered */
		return "received a GSO type never offered";
	}
}

/* Skip `skip` bytes of iov[0..*cnt) in place. */
static struct iovec *iov_advance(struct iovec *iov, int *cnt, size_t skip)
{
	while (skip && *cnt) {
		if (skip < iov->iov_len) {
			iov->iov_base = (uint8_t *)iov->iov_base + skip;
			iov->iov_len -= skip;
			break;
		}
		skip -= iov->iov_len;
		iov++;
		(*cnt)--;
	}
	return iov;
}

/* The bytes a receive buffer set should hold for the largest frame the
 * driver can be sent (5.1.6.3.1). */
static uint64_t rx_need(const struct virtio_net *n)
{
	bool tso = has(n, VIRTIO_NET_F_GUEST_TSO4) || has(n, VIRTIO_NET_F_GUEST_TSO6);
	return VIRTIO_NET_HDR_LEN + (tso ? VIRTIO_NET_MAX_FRAME : 18u + n->p.mtu);
}

/* Pop receive chains for one frame: one without MRG_RXBUF, else until
 * they hold the largest frame or the ring is empty. Returns the chain
 * count (0: none) or -EIO. */
static int rx_gather(struct virtio_net *n, struct virtq *vq, unsigned *niov, uint64_t *cap)
{
	bool mrg = has(n, VIRTIO_NET_F_MRG_RXBUF);
	uint64_t need = rx_need(n);
	unsigned nch = 0;
	*niov = 0;
	*cap = 0;
	/* The array bound also holds against a driver that keeps publishing
	 * while we pop. */
	while (*cap < need && nch < VIRTIO_NET_QUEUE_SIZE) {
		int r = virtq_pop(vq, &n->elem);
		if (r < 0) {
			virtio_dev_fail(&n->dev, vq->why_broken);
			return -EIO;
		}
		if (r == 0)
			break;
		const struct virtq_elem *e = &n->elem;
		if (e->nout) {
			virtio_dev_fail(&n->dev, "receive buffer with a device-readable descriptor");
			return -EIO;
		}
		/* 5.1.6.3.1: every receive buffer holds at least a header. */
		if (e->in_len < VIRTIO_NET_HDR_LEN) {
			virtio_dev_fail(&n->dev, "receive buffer shorter than the 12-byte header");
			return -EIO;
		}
		if (*niov + e->nin > VIRTIO_NET_RX_IOV) {
			virtq_unpop(vq); /* readv's limit; the next frame takes it */
			break;
		}
		memcpy(&n->iov[*niov], &e->iov[0], e->nin * sizeof(struct iovec));
		*niov += e->nin;
		n->rx[nch].head = e->head;
		n->rx[nch].len = e->in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)e->in_len;
		*cap += e->in_len;
		nch++;
		if (!mrg)
			break;
	}
	return (int)nch;
}

/* 1: a frame was delivered or dropped; 0: the backend has none; -ENOBUFS:
 * no receive buffers; -EIO: the queue broke; other: the backend failed. */
static int rx_one(struct virtio_net *n, struct virtq *vq)
{
	unsigned niov;
	uint64_t cap;
	int nch = rx_gather(n, vq, &niov, &cap);
	if (nch <= 0)
		return nch < 0 ? nch : -ENOBUFS;

	/* Where num_buffers goes (the first chain holds the header), found
	 * before the header is skipped below. */
	struct iovec nb[2];
	int nnb = iov_slice(n->iov, (int)niov, NUM_BUFFERS_OFF, 2, nb, 2);
	struct iovec *iov = n->iov;
	int cnt = (int)niov;
	unsigned ours = 0; /* header bytes the device writes itself */
	if (!n->p.vnet_hdr) {
		static const struct virtio_net_hdr_v1 zero;
		iov_from_buf(n->iov, (int)niov, 0, &zero, sizeof(zero));
		iov = iov_advance(n->iov, &cnt, VIRTIO_NET_HDR_LEN);
		ours = VIRTIO_NET_HDR_LEN;
	}
	/* One more segment past the guest's: a frame that reaches it did not
	 * fit (however the backend reports truncation). */
	iov[cnt] = (struct iovec){ n->overflow, sizeof(n->overflow) };
	ssize_t got = n->bops->recv(n->be, iov, cnt + 1);
	if (got < 0) {
		virtq_unpop_n(vq, (unsigned)nch);
		return got == -EAGAIN ? 0 : (int)got;
	}
	uint64_t total = (uint64_t)got + ours;
	const char *why = NULL;
	if (total > cap)
		why = "received frame larger than the receive buffers";
	else if (total <= VIRTIO_NET_HDR_LEN)
		why = "received frame with no data";
	else if (n->p.vnet_hdr)
		why = rx_hdr_check(n, n->iov, (int)niov, total - VIRTIO_NET_HDR_LEN);
	else if (total - VIRTIO_NET_HDR_LEN > 18u + n->p.mtu)
		why = "received frame over the MTU";
	if (why) {
		/* The buffers go back unused: nothing was published. */
		virtq_unpop_n(vq, (unsigned)nch);
		drop(n, &n->stats.rx_drops, why);
		return 1;
	}
	unsigned used = 0;
	for (uint64_t left = total; left && used < (unsigned)nch; used++) {
		uint32_t l = left < n->rx[used].len ? (uint32_t)left : n->rx[used].len;
		virtq_fill(vq, used, n->rx[used].head, l);
		left -= l;
	}
	/* 5.1.6.4: num_buffers (1 without MRG_RXBUF), before the entries are
	 * published: the driver reads it with the first one. */
	uint16_t le = htole16((uint16_t)used);
	if (nnb > 0)
		iov_from_buf(nb, nnb, 0, &le, sizeof(le));
	virtq_flush(vq, used);
	virtq_unpop_n(vq, (unsigned)nch - used);
	count(&n->stats.rx_packets, 1);
	count(&n->stats.rx_bytes, total - VIRTIO_NET_HDR_LEN);
	return 1;
}

static void rx_process(struct virtio_net *n)
{
	struct virtq *vq = &n->dev.vqs[VIRTIO_NET_RXQ];
	uint16_t before = vq->used_idx;
	bool again = true; /* budget spent: readiness brings us back */
	unsigned errors = 0;
	for (unsigned i = 0; i < VIRTIO_NET_BUDGET; i++) {
		int r = rx_one(n, vq);
		if (r == 1) {
			errors = 0;
			continue;
		}
		if (r == 0)
			break; /* wait for the backend */
		if (r == -ENOBUFS) {
			/* No buffers: stop reading (frames queue, then drop,
			 * in the host kernel) until the driver adds some. */
			if (virtq_enable_kick(vq))
				continue;
			again = false;
			break;
		}
		if (r == -EIO) {
			again = false;
			break;
		}
		drop(n, &n->stats.rx_drops, "the backend failed a read");
		if (++errors == VIRTIO_NET_BUDGET) {
			/* A backend that fails every read would spin this
			 * thread: stop receiving for good. */
			n->rx_dead = true;
			again = false;
		}
	}
	n->want_rx = again && !n->rx_dead && !n->dev.failed;
	if (vq->used_idx != before)
		virtio_dev_notify(&n->dev, VIRTIO_NET_RXQ);
}

/* ---- entry points ------------------------------------------------------------------------ */

static void want(struct virtio_net *n)
{
	n->bops->want(n->be, n->want_rx, n->want_tx);
}

void virtio_net_backend_ready(struct virtio_net *n, bool rx, bool tx)
{
	struct virtio_dev *d = &n->dev;
	if (!virtio_dev_running(d)) {
		/* Reset or failed since we armed it (reset runs on a vCPU,
		 * which cannot touch the backend): disarm now. */
		n->want_rx = n->want_tx = false;
		want(n);
		return;
	}
	sync_offload(n);
	if (tx) {
		if (d->vqs[VIRTIO_NET_TXQ].ready)
			tx_process(n);
		else
			n->want_tx = false;
	}
	if (rx && !d->failed) {
		if (d->vqs[VIRTIO_NET_RXQ].ready && !n->rx_dead)
			rx_process(n);
		else
			n->want_rx = false;
	}
	want(n);
}

static void net_queue_kick(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = net_of(d);
	sync_offload(n);
	if (q == VIRTIO_NET_TXQ)
		tx_process(n);
	else if (q == VIRTIO_NET_RXQ && !n->rx_dead)
		rx_process(n);
	if (d->failed)
		n->want_rx = n->want_tx = false;
	want(n);
}

static void net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = net_of(d);
	n->offload_pending = true;
	if (n->bops->wake)
		n->bops->wake(n->be);
}

static void net_reset(struct virtio_dev *d)
{
	/* Nothing is held between wake-ups (virtio_net.h): only the wishes
	 * go; the device thread disarms the backend when it next wakes. */
	struct virtio_net *n = net_of(d);
	n->offload_pending = false;
	n->want_rx = n->want_tx = false;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t cfg[sizeof(struct virtio_net_config)];
	virtio_net_config(&net_of(d)->p, cfg, sizeof(cfg));
	memcpy(buf, cfg + off, len); /* bounds checked by the transport */
}

int virtio_net_init(struct virtio_net *n, const struct guest_mem *gm,
		    const struct virtio_net_params *p, const struct virtio_net_backend_ops *bops,
		    void *be)
{
	static const uint8_t zero_mac[6];
	/* A multicast or all-zero source address is no station's. */
	if (p->mtu < 68 || (p->mac[0] & 1) || !memcmp(p->mac, zero_mac, sizeof(zero_mac)))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->p = *p;
	n->bops = bops;
	n->be = be;
	n->ops = (struct virtio_dev_ops){
		.name = "net",
		.device_id = VIRTIO_ID_NET,
		.features = virtio_net_features(p),
		.nqueues = 2,
		.queue_max = VIRTIO_NET_QUEUE_SIZE,
		.config_size = (uint32_t)NET_CONFIG_SIZE,
		.config_read = net_config_read,
		.queue_kick = net_queue_kick,
		.activate = net_activate,
		.reset = net_reset,
	};
	return virtio_dev_init(&n->dev, &n->ops, n, gm);
}
