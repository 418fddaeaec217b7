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

#endif
