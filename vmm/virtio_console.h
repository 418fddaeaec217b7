/* SPDX-License-Identifier: MIT */
/*
 * virtio-console with VIRTIO_CONSOLE_F_MULTIPORT (virtio 1.2 section 5.3):
 * one named port per stream — the command's stdin, stdout, stderr — plus the
 * arca control channel (include/arca/abi.h). Queue layout (5.3.2):
 * port 0 rx/tx = 0/1, control rx/tx = 2/3, port N>0 rx/tx = 2N+2 / 2N+3.
 *
 * Host side of each port: stdin is read only when the guest has posted
 * receive buffers (backpressure, no unbounded buffering); stdin EOF is told
 * to the guest as "host disconnected" (PORT_OPEN 0), after which its reads
 * return 0. Output ports are written straight from the guest's buffers.
 */
#ifndef ARCA_VIRTIO_CONSOLE_H
#define ARCA_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"
#include "evloop.h"
#include "virtio.h"

#define CONSOLE_CTRL_PENDING 32

struct console_port {
	const char *name;
	int fd;          /* stdin source / stdout, stderr sink; -1 for control */
	bool input;      /* host -> guest */
	bool host_open;  /* what we told (or will tell) the guest */
	bool guest_ready;
	bool guest_open;  /* the guest has the port open */
	bool eof;
	bool pollable, armed;
	bool sink_broken; /* host side closed (EPIPE): discard */
};

#define CONSOLE_CTL_OUT 1024 /* bytes of control frames for the guest, at most */

typedef void (*console_control_cb)(void *opaque, const uint8_t *data, size_t len);

struct virtio_console {
	struct virtio_dev dev;
	struct console_port ports[ARCA_NR_PORTS];
	struct evloop *loop;
	struct {
		uint8_t buf[8 + 32];
		uint32_t len;
	} pending[CONSOLE_CTRL_PENDING];
	unsigned pend_head, pend_count;
	console_control_cb on_control;
	void *control_opaque;
	/* Frames for the guest on the control port (virtio_console_send_control),
	 * waiting for the guest's receive buffers. Bounded: a guest that never
	 * reads loses what does not fit, it cannot grow our memory. */
	uint8_t ctl_out[CONSOLE_CTL_OUT];
	uint32_t ctl_out_len;
	/* Warm starts: while held, nothing flows to the guest (no stdin, no
	 * control frames), so a snapshot never carries one run's input into
	 * the next. */
	bool hold;
	/* The run's spec, sent as ARCA_MSG_SPEC frames before any other
	 * control frame (virtio_console_send_spec); the buffer is the
	 * caller's and outlives the VM. */
	const uint8_t *spec;
	size_t spec_len, spec_off;
	bool spec_active, spec_end_sent;
	uint8_t sframe[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];
	uint32_t sframe_len, sframe_off;
};

int virtio_console_init(struct virtio_console *c, const struct guest_mem *gm,
			struct evloop *loop, int in_fd, int out_fd, int err_fd,
			console_control_cb on_control, void *opaque);
/* Queue bytes for arca-init on the control port (whole frames): sent as the
 * guest posts receive buffers. 0, or -ENOBUFS when they do not fit (the
 * guest has not read the earlier ones). Takes the device lock. */
int virtio_console_send_control(struct virtio_console *c, const uint8_t *data, size_t len);
/* Process everything the guest has queued for output (at shutdown). */
void virtio_console_drain(struct virtio_console *c);

/* Warm starts. hold: see struct virtio_console. send_spec: queue the spec
 * (ARCA_MSG_SPEC frames, then an empty one) ahead of every other frame.
 * save: -EBUSY when control frames are still queued for the guest (not
 * a point to snapshot); port messages it has not taken yet are saved. restore: the ports' handshake state; then release
 * tells the guest whether this run's stdin is open (the snapshot's run
 * may have had another) and lets data flow. */
void virtio_console_hold(struct virtio_console *c, bool hold);
void virtio_console_send_spec(struct virtio_console *c, const uint8_t *spec, size_t len);
struct snap_console;
int virtio_console_save(struct virtio_console *c, struct snap_console *s);
void virtio_console_restore(struct virtio_console *c, const struct snap_console *s);
void virtio_console_release(struct virtio_console *c);

#endif
