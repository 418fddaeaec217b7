/* SPDX-License-Identifier: MIT */
/*
 * virtio-net device (virtio 1.2 section 5.1): one receive queue (0) and one
 * transmit queue (1), no control queue, no multiqueue. The device moves
 * frames between guest buffers and a backend (vmm/net.c: a TAP fd) without
 * copying them: a transmitted chain's readable iovecs go to the backend as
 * they are, a received frame is read straight into the writable iovecs of
 * one or more receive chains. The device never sees a file descriptor; the
 * backend never sees a descriptor chain.
 *
 * Header: struct virtio_net_hdr_v1 (12 bytes, VERSION_1 always), the layout
 * of a TAP's vnet header once TUNSETVNETHDRSZ is 12, so with a vnet-header
 * backend the header travels through untouched in both directions (only
 * num_buffers is ours to write). A backend without one gets the header
 * stripped on transmit and a zeroed one on receive, and the checksum and
 * segmentation offloads are not offered.
 *
 * Threading: every entry point runs with dev.lock held. Kicks and backend
 * readiness arrive on the device's own thread, and only there does the
 * device call the backend (send, recv, want, set_offload); activate and
 * reset come from vCPU threads and only change state, which the device
 * thread acts on at its next wake-up (a vCPU may not issue the backend's
 * system calls under its seccomp policy; activate asks for one, wake).
 *
 * Nothing is held between wake-ups: a chain is either pushed or given back
 * (unpopped) before the callback returns, so a reset has nothing to orphan
 * and nothing is allocated per frame.
 */
#ifndef ARCA_VIRTIO_NET_H
#define ARCA_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio.h"

#define VIRTIO_NET_QUEUE_SIZE 256u
#define VIRTIO_NET_RXQ 0u
#define VIRTIO_NET_TXQ 1u
#define VIRTIO_NET_HDR_LEN 12u       /* sizeof(struct virtio_net_hdr_v1) */
/* The largest frame either way: a 64 KiB IP packet (TSO) behind an
 * Ethernet header and a VLAN tag. */
#define VIRTIO_NET_MAX_FRAME (65535u + 18u)
/* Frames handled per wake-up and direction, so a busy direction cannot
 * starve the other (or the kicks) on the device's one thread. */
#define VIRTIO_NET_BUDGET 64u
/* readv takes at most IOV_MAX (1024) segments: the receive chains of one
 * frame, plus the overflow probe. */
#define VIRTIO_NET_RX_IOV 1023u

struct virtio_net_params {
	uint8_t mac[6];
	uint16_t mtu;      /* 68..65535 */
	bool vnet_hdr;     /* the backend carries a 12-byte virtio-net header */
};

/* What the device asks of its backend; called on the device's thread only. */
struct virtio_net_backend_ops {
	/* Send one frame (header first when vnet_hdr). Bytes sent, or -errno:
	 * -EAGAIN when the backend is full (the device waits for `want` tx). */
	ssize_t (*send)(void *be, const struct iovec *iov, int n);
	/* Receive one frame into iov. Its full length (which may exceed the
	 * iovecs' total: the frame was truncated), -EAGAIN when none waits,
	 * or another -errno. */
	ssize_t (*recv)(void *be, const struct iovec *iov, int n);
	/* Readiness the device waits for: rx, a frame to receive; tx, room to
	 * send. The backend calls virtio_net_backend_ready when one comes. */
	void (*want)(void *be, bool rx, bool tx);
	/* The offloads the driver accepts on receive (GUEST_CSUM, GUEST_TSO4/6),
	 * so the backend never hands over a frame the driver cannot take.
	 * Optional; 0 or -errno. */
	int (*set_offload)(void *be, bool csum, bool tso4, bool tso6);
	/* From any thread (activate runs on a vCPU): have the device thread
	 * call virtio_net_backend_ready(n, true, true) soon, so the offloads
	 * are set and buffers the driver posted before DRIVER_OK (whose kick
	 * the transport ignored) are seen. Optional. */
	void (*wake)(void *be);
};

/* Counters, read with relaxed atomics by net_devices_report. */
struct virtio_net_stats {
	uint64_t rx_packets, rx_bytes, rx_drops;
	uint64_t tx_packets, tx_bytes, tx_drops;
};

/* One receive chain while a frame is being placed. */
struct virtio_net_rxchain {
	uint16_t head;
	uint32_t len;      /* writable bytes (a used length is 32 bits) */
};

struct virtio_net {
	struct virtio_dev dev;            /* dev.priv points here */
	struct virtio_dev_ops ops;
	struct virtio_net_params p;
	const struct virtio_net_backend_ops *bops;
	void *be;
	struct virtio_net_stats stats;
	bool offload_pending;             /* activate: tell the backend */
	bool want_rx, want_tx;            /* what we asked the backend for */
	bool rx_dead;                     /* the backend failed persistently */
	const char *why_drop;             /* first drop reason, for one log line */
	/* Scratch for one frame (a single thread uses them, under the lock). */
	struct virtq_elem elem;
	struct iovec iov[VIRTIO_NET_RX_IOV + 1];
	struct virtio_net_rxchain rx[VIRTIO_NET_QUEUE_SIZE];
	uint8_t overflow[64];             /* catches a frame longer than the buffers */
};

/* -EINVAL for an MTU out of range or a multicast/zero MAC. */
int virtio_net_init(struct virtio_net *n, const struct guest_mem *gm,
		    const struct virtio_net_params *p, const struct virtio_net_backend_ops *bops,
		    void *be);
/* The backend became readable (rx) and/or writable (tx); dev.lock held. */
void virtio_net_backend_ready(struct virtio_net *n, bool rx, bool tx);

/* Pure, for tests: the feature bits offered for p, and the config space as
 * the driver reads it (at most cap bytes; returns its size). */
uint64_t virtio_net_features(const struct virtio_net_params *p);
unsigned virtio_net_config(const struct virtio_net_params *p, void *buf, unsigned cap);

#endif
