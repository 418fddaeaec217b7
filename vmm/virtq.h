/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, section 2.7), device side.
 *
 * Everything the guest can write — descriptor addresses, lengths, flags,
 * next indices, ring indices — is read exactly once into a local (the guest
 * may change it concurrently) and checked before use:
 *   - a head or next index >= queue size,
 *   - a chain longer than the queue (a loop),
 *   - more than VIRTQ_MAX_SEGS segments,
 *   - a buffer that is not entirely inside guest RAM (gm_ptr),
 *   - a device-readable descriptor after a device-writable one (2.7.4.2),
 *   - an indirect descriptor (VIRTIO_RING_F_INDIRECT_DESC is not offered),
 *   - an avail index that runs more than `num` ahead of what we consumed,
 * each make the queue "broken": it stops being processed and the device is
 * flagged DEVICE_NEEDS_RESET by the transport. Nothing here crashes or
 * exits on guest input. This file is pure (no syscalls) and cmocka-tested.
 */
#ifndef ARCA_VIRTQ_H
#define ARCA_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guestmem.h"

#define VIRTQ_MAX_SIZE 1024u /* largest queue size we offer */
/* Segments per chain we accept (no indirect descriptors, so a chain is
 * also no longer than its queue): a FUSE READ or WRITE of 256 pages with
 * its headers (vmm/fuse_decode.h FUSE_MAX_IO) and a few to spare. */
#define VIRTQ_MAX_SEGS 264u

struct vring_desc;
struct vring_avail;
struct vring_used;

struct virtq {
	/* Set by the driver through the transport before `ready`. */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */

	/* Device state, valid once virtq_activate() succeeded. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;     /* next avail ring slot to consume */
	uint16_t used_idx;       /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when we last interrupted */
	bool signalled_valid;
	bool broken;
	const char *why_broken;  /* static string, for the one log line */
	const struct guest_mem *gm;
};

/* One popped chain. iov[0..nout) are device-readable (driver -> device),
 * iov[nout..nout+nin) device-writable. Lengths fit in uint32 each; totals
 * are summed in 64 bits. */
struct virtq_elem {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/* Resolve the three ring areas through gm_ptr(). Returns 0, or -EINVAL for a
 * bad size (0, > VIRTQ_MAX_SIZE, not a power of two) and -EFAULT for a ring
 * outside RAM or misaligned (2.7: desc 16, avail 2, used 4 byte alignment). */
int virtq_activate(struct virtq *vq, const struct guest_mem *gm);
void virtq_reset(struct virtq *vq);

/* 1: *e holds a chain; 0: queue empty; -EIO: the queue is (now) broken. */
int virtq_pop(struct virtq *vq, struct virtq_elem *e);
/* Give back the element popped last (not yet pushed). */
void virtq_unpop(struct virtq *vq);
/* Give back the n elements popped last (none of them pushed): the driver
 * sees them as still available, in their order. */
void virtq_unpop_n(struct virtq *vq, unsigned n);
/* Return a chain to the driver with `written` bytes written into its
 * device-writable part (clamped to e->in_len). */
void virtq_push(struct virtq *vq, const struct virtq_elem *e, uint32_t written);
/* Batched push (virtio-net's mergeable receive buffers, 5.1.6.4): the
 * driver may read the first used entry of a packet as soon as used->idx
 * covers it, and then expects num_buffers entries behind it, so a
 * packet's entries are written first (fill: the i-th entry after the
 * published ones) and published together (flush: n entries). The caller
 * passes lengths it has bounded by each chain's writable size. */
void virtq_fill(struct virtq *vq, unsigned i, uint16_t head, uint32_t len);
void virtq_flush(struct virtq *vq, unsigned n);
/* Whether the driver wants an interrupt for what was pushed since the last
 * one (event-idx or VRING_AVAIL_F_NO_INTERRUPT). Updates the bookkeeping. */
bool virtq_should_notify(struct virtq *vq);
/* Before the device goes idle on this queue: ask for a kick when more
 * buffers arrive (event-idx: avail_event = last_avail). Returns true if
 * buffers arrived meanwhile, in which case the caller should pop again. */
bool virtq_enable_kick(struct virtq *vq);
/* Whether buffers are available right now. */
bool virtq_has_avail(struct virtq *vq);

/* Copy helpers between an element's iovecs and a flat buffer. */
size_t virtq_copy_from_out(const struct virtq_elem *e, size_t off, void *buf, size_t len);
size_t virtq_copy_to_in(const struct virtq_elem *e, size_t off, const void *buf, size_t len);

#endif
