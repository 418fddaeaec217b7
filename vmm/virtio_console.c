/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "proto.h"
#include "snapshot.h"
#include "virtio_console.h"

#define CTRL_RXQ 2u
#define CTRL_TXQ 3u
#define NQUEUES  (2u * (ARCA_NR_PORTS + 1u))

static unsigned port_rxq(unsigned id)
{
	return id == 0 ? 0 : 2 * id + 2;
}

static unsigned port_txq(unsigned id)
{
	return port_rxq(id) + 1;
}

static unsigned queue_port(unsigned q)
{
	return q < 2 ? 0 : q / 2 - 1;
}

static struct virtio_console *to_con(struct virtio_dev *d)
{
	return d->priv;
}

static void con_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t cfg[12] = { 0 };
	/* cols, rows = 0 (no size yet); max_nr_ports; emerg_wr unused. */
	proto_put_le32(&cfg[4], ARCA_NR_PORTS);
	memcpy(buf, cfg + off, len); /* off+len <= 12 checked by the transport */
}

/* ---- control messages to the guest ------------------------------------ */

static void ctrl_flush(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtq *vq = &d->vqs[CTRL_RXQ];
	bool pushed = false;

	while (c->pend_count) {
		struct virtq_elem e;
		int r = virtq_pop(vq, &e);
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			return;
		}
		if (r == 0)
			break; /* no buffer yet: sent on the next kick of CTRL_RXQ */
		unsigned i = c->pend_head;
		size_t n = virtq_copy_to_in(&e, 0, c->pending[i].buf, c->pending[i].len);
		virtq_push(vq, &e, (uint32_t)n);
		pushed = true;
		c->pend_head = (c->pend_head + 1) % CONSOLE_CTRL_PENDING;
		c->pend_count--;
	}
	if (pushed)
		virtio_dev_notify(d, CTRL_RXQ);
}

static void ctrl_send(struct virtio_console *c, uint32_t id, uint16_t event,
		      uint16_t value, const char *name)
{
	if (c->pend_count == CONSOLE_CTRL_PENDING) {
		/* Bounded by the few messages per port we ever send; reaching
		 * this means the guest never posts control buffers. */
		virtio_dev_fail(&c->dev, "control receive queue never drained");
		return;
	}
	unsigned i = (c->pend_head + c->pend_count) % CONSOLE_CTRL_PENDING;
	uint8_t *b = c->pending[i].buf;
	proto_put_le32(b, id);
	proto_put_le16(b + 4, event);
	proto_put_le16(b + 6, value);
	uint32_t len = 8;
	if (name) {
		size_t n = strlen(name);
		if (n > sizeof(c->pending[i].buf) - 8)
			n = sizeof(c->pending[i].buf) - 8;
		memcpy(b + 8, name, n);
		len += (uint32_t)n;
	}
	c->pending[i].len = len;
	c->pend_count++;
	ctrl_flush(c);
}

/* ---- host -> guest frames on the control port --------------------------- */

/* The next bytes for the guest's control port: the spec's frames while
 * one is being sent (each made when the last is out), else ctl_out. */
static const uint8_t *ctl_next(struct virtio_console *c, uint32_t *len)
{
	if (c->spec_active && c->sframe_off == c->sframe_len) {
		size_t n = c->spec_len - c->spec_off;
		if (n > ARCA_MSG_MAX_PAYLOAD)
			n = ARCA_MSG_MAX_PAYLOAD;
		if (n == 0 && c->spec_end_sent) {
			c->spec_active = false;
		} else {
			int r = proto_encode(c->sframe, sizeof(c->sframe), ARCA_MSG_SPEC,
					     c->spec + c->spec_off, n);
			c->sframe_len = r > 0 ? (uint32_t)r : 0;
			c->sframe_off = 0;
			c->spec_off += n;
			if (n == 0)
				c->spec_end_sent = true;
		}
	}
	if (c->spec_active) {
		*len = c->sframe_len - c->sframe_off;
		return c->sframe + c->sframe_off;
	}
	*len = c->ctl_out_len;
	return c->ctl_out;
}

static void ctl_consumed(struct virtio_console *c, uint32_t n)
{
	if (c->spec_active) {
		c->sframe_off += n;
		return;
	}
	memmove(c->ctl_out, c->ctl_out + n, c->ctl_out_len - n);
	c->ctl_out_len -= n;
}

static void ctl_out_pump(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtq *vq = &d->vqs[port_rxq(ARCA_PORT_CONTROL)];
	bool pushed = false;
	uint32_t len;
	const uint8_t *p;

	if (c->hold)
		return;
	/* The guest driver drops data for a port nobody has open. */
	while (c->ports[ARCA_PORT_CONTROL].guest_open && (p = ctl_next(c, &len)) && len) {
		struct virtq_elem e;
		int r = virtq_pop(vq, &e);
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			return;
		}
		if (r == 0)
			break; /* sent on the next kick of this queue */
		size_t n = virtq_copy_to_in(&e, 0, p, len);
		virtq_push(vq, &e, (uint32_t)n);
		pushed = true;
		ctl_consumed(c, (uint32_t)n);
		if (n == 0)
			break; /* a buffer with no room: do not spin on it */
	}
	if (pushed)
		virtio_dev_notify(d, port_rxq(ARCA_PORT_CONTROL));
}

int virtio_console_send_control(struct virtio_console *c, const uint8_t *data, size_t len)
{
	int r = 0;
	pthread_mutex_lock(&c->dev.lock);
	if (len > sizeof(c->ctl_out) - c->ctl_out_len) {
		r = -ENOBUFS;
	} else {
		memcpy(c->ctl_out + c->ctl_out_len, data, len);
		c->ctl_out_len += (uint32_t)len;
		if (virtio_dev_running(&c->dev))
			ctl_out_pump(c);
	}
	pthread_mutex_unlock(&c->dev.lock);
	return r;
}

/* ---- host input (stdin) ------------------------------------------------ */

static void on_input(void *opaque, uint32_t events);

static void input_arm(struct virtio_console *c, struct console_port *p, bool on)
{
	if (!p->pollable || p->armed == on)
		return;
	/* Disarm by removing the fd: a hung-up pipe reports EPOLLHUP even
	 * with an empty event mask, which would spin the loop. */
	if (on) {
		if (evloop_add(c->loop, p->fd, EPOLLIN, on_input, c) == 0)
			p->armed = true;
	} else {
		evloop_del(c->loop, p->fd);
		p->armed = false;
	}
}

static void input_eof(struct virtio_console *c, unsigned id)
{
	struct console_port *p = &c->ports[id];
	p->eof = true;
	p->host_open = false;
	input_arm(c, p, false);
	/* Buffers already filled were pushed before this message, so the
	 * guest reads all data first and then 0 (EOF). */
	if (p->guest_ready)
		ctrl_send(c, id, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
}

static void input_pump(struct virtio_console *c, unsigned id)
{
	struct console_port *p = &c->ports[id];
	struct virtio_dev *d = &c->dev;
	struct virtq *vq = &d->vqs[port_rxq(id)];
	bool pushed = false;

	if (c->hold)
		return;
	while (!p->eof && p->guest_open) {
		if (p->pollable) {
			/* The fd is blocking (it is the user's stdin; we do not
			 * flip O_NONBLOCK on a shared file description), so
			 * check readiness first and never block this thread. */
			struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
			if (poll(&pfd, 1, 0) <= 0) {
				input_arm(c, p, true);
				break;
			}
		}
		struct virtq_elem e;
		int r = virtq_pop(vq, &e);
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			return;
		}
		if (r == 0) {
			/* No guest buffers: stop reading the host until the
			 * guest posts more (backpressure). */
			input_arm(c, p, false);
			if (!virtq_enable_kick(vq))
				break;
			continue;
		}
		ssize_t n = readv(p->fd, &e.iov[e.nout], (int)e.nin);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			virtq_unpop(vq);
			if (errno == EAGAIN) {
				input_arm(c, p, true);
				break;
			}
			continue;
		}
		if (n <= 0) {
			if (n < 0)
				fprintf(stderr, "arca: reading stdin: %s\n", strerror(errno));
			virtq_unpop(vq);
			if (pushed)
				virtio_dev_notify(d, port_rxq(id));
			pushed = false;
			input_eof(c, id);
			break;
		}
		virtq_push(vq, &e, (uint32_t)n);
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify(d, port_rxq(id));
}

static void on_input(void *opaque, uint32_t events)
{
	struct virtio_console *c = opaque;
	pthread_mutex_lock(&c->dev.lock);
	if (virtio_dev_running(&c->dev))
		input_pump(c, ARCA_PORT_STDIN);
	else
		input_arm(c, &c->ports[ARCA_PORT_STDIN], false);
	pthread_mutex_unlock(&c->dev.lock);
}

/* ---- guest output ------------------------------------------------------- */

static void sink_write(struct console_port *p, struct virtq_elem *e)
{
	if (p->sink_broken || e->nout == 0)
		return;
	struct iovec *iov = e->iov;
	int cnt = (int)e->nout;
	while (cnt > 0) {
		ssize_t n = writev(p->fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
				poll(&pfd, 1, -1);
				continue;
			}
			/* The reader went away (EPIPE) or the sink failed:
			 * keep consuming the guest's output so it never
			 * blocks, but drop it. */
			p->sink_broken = true;
			return;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			/* Partial write: advance inside this segment. The
			 * iovec is ours (a copy in e), not guest memory. */
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
}

static void handle_guest_ctrl(struct virtio_console *c, const struct virtq_elem *e)
{
	uint8_t m[8];
	if (virtq_copy_from_out(e, 0, m, sizeof(m)) != sizeof(m))
		return; /* short message: ignore it */
	uint32_t id = proto_le32(m);
	uint16_t event = proto_le16(m + 4), value = proto_le16(m + 6);

	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		if (value != 1) {
			virtio_dev_fail(&c->dev, "guest failed to initialise the console");
			return;
		}
		for (unsigned i = 0; i < ARCA_NR_PORTS; i++)
			ctrl_send(c, i, VIRTIO_CONSOLE_PORT_ADD, 0, NULL);
		break;
	case VIRTIO_CONSOLE_PORT_READY:
		if (id >= ARCA_NR_PORTS || value != 1 || c->ports[id].guest_ready)
			return;
		c->ports[id].guest_ready = true;
		/* PORT_OPEN before PORT_NAME: arca-init waits for the name to
		 * appear, and must then see the port's real connection state
		 * (a read on a "disconnected" port returns EOF at once). */
		ctrl_send(c, id, VIRTIO_CONSOLE_PORT_OPEN, c->ports[id].host_open, NULL);
		ctrl_send(c, id, VIRTIO_CONSOLE_PORT_NAME, 0, c->ports[id].name);
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (id >= ARCA_NR_PORTS)
			return;
		c->ports[id].guest_open = value == 1;
		/* The guest driver discards data that arrives on a port
		 * nobody has open, so input flows only while it is open. */
		if (c->ports[id].input) {
			if (c->ports[id].guest_open)
				input_pump(c, id);
			else
				input_arm(c, &c->ports[id], false);
		} else if (id == ARCA_PORT_CONTROL && c->ports[id].guest_open) {
			ctl_out_pump(c);
		}
		break;
	default:
		break;
	}
}

static void output_drain(struct virtio_console *c, unsigned q)
{
	struct virtio_dev *d = &c->dev;
	struct virtq *vq = &d->vqs[q];
	bool pushed = false;

	for (;;) {
		struct virtq_elem e;
		int r;
		while ((r = virtq_pop(vq, &e)) > 0) {
			if (q == CTRL_TXQ) {
				handle_guest_ctrl(c, &e);
			} else {
				unsigned id = queue_port(q);
				if (id == ARCA_PORT_CONTROL) {
					for (unsigned i = 0; i < e.nout; i++)
						c->on_control(c->control_opaque, e.iov[i].iov_base,
							      e.iov[i].iov_len);
				} else if (id < ARCA_NR_PORTS && !c->ports[id].input) {
					sink_write(&c->ports[id], &e);
				}
			}
			virtq_push(vq, &e, 0);
			pushed = true;
		}
		if (r < 0) {
			virtio_dev_fail(d, vq->why_broken);
			return;
		}
		if (!virtq_enable_kick(vq))
			break;
	}
	if (pushed)
		virtio_dev_notify(d, q);
}

/* Everything the guest queued for output, in stream order per port. */
static void drain_outputs(struct virtio_console *c)
{
	output_drain(c, port_txq(ARCA_PORT_STDOUT));
	output_drain(c, port_txq(ARCA_PORT_STDERR));
	output_drain(c, port_txq(ARCA_PORT_CONTROL));
}

static void con_queue_kick(struct virtio_dev *d, unsigned q)
{
	struct virtio_console *c = to_con(d);
	if (q == CTRL_RXQ)
		ctrl_flush(c);
	else if (q & 1)
		output_drain(c, q);
	else if (queue_port(q) == ARCA_PORT_CONTROL)
		ctl_out_pump(c);
	else if (queue_port(q) < ARCA_NR_PORTS && c->ports[queue_port(q)].input)
		input_pump(c, queue_port(q));
}

static void con_reset(struct virtio_dev *d)
{
	struct virtio_console *c = to_con(d);
	/* A guest that shuts down resets its devices (Linux's
	 * virtio_dev_shutdown): what it queued for output before that —
	 * the command's last bytes, the EXIT frame — still goes out. */
	if (virtio_dev_running(d))
		drain_outputs(c);
	for (unsigned i = 0; i < ARCA_NR_PORTS; i++) {
		c->ports[i].guest_ready = false;
		c->ports[i].guest_open = false;
		if (c->ports[i].input)
			input_arm(c, &c->ports[i], false);
	}
	c->pend_head = c->pend_count = 0;
	/* ctl_out is kept: the driver resets the device when it probes it,
	 * and frames queued before (the terminal's size) are for it. */
}

static const struct virtio_dev_ops console_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
		    (1ull << VIRTIO_CONSOLE_F_MULTIPORT),
	.nqueues = NQUEUES,
	.queue_max = 256,
	.config_size = 12,
	.config_read = con_config_read,
	.queue_kick = con_queue_kick,
	.reset = con_reset,
};

int virtio_console_init(struct virtio_console *c, const struct guest_mem *gm,
			struct evloop *loop, int in_fd, int out_fd, int err_fd,
			console_control_cb on_control, void *opaque)
{
	memset(c, 0, sizeof(*c));
	int r = virtio_dev_init(&c->dev, &console_ops, c, gm);
	if (r < 0)
		return r;
	c->loop = loop;
	c->on_control = on_control;
	c->control_opaque = opaque;
	static const char *const names[ARCA_NR_PORTS] = {
		[ARCA_PORT_STDIN] = ARCA_PORT_NAME_STDIN,
		[ARCA_PORT_STDOUT] = ARCA_PORT_NAME_STDOUT,
		[ARCA_PORT_STDERR] = ARCA_PORT_NAME_STDERR,
		[ARCA_PORT_CONTROL] = ARCA_PORT_NAME_CONTROL,
	};
	int fds[ARCA_NR_PORTS] = { in_fd, out_fd, err_fd, -1 };
	for (unsigned i = 0; i < ARCA_NR_PORTS; i++) {
		c->ports[i] = (struct console_port){
			.name = names[i], .fd = fds[i], .host_open = true,
			.input = i == ARCA_PORT_STDIN,
		};
	}
	struct console_port *in = &c->ports[ARCA_PORT_STDIN];
	if (in->fd < 0) {
		in->eof = true;
		in->host_open = false;
	} else {
		/* Regular files and /dev/null cannot be polled (EPERM): they
		 * are always readable and never block for long. */
		r = evloop_add(loop, in->fd, EPOLLIN, on_input, c);
		if (r == 0) {
			in->pollable = true;
			evloop_del(loop, in->fd);
		} else if (r != -EPERM) {
			return r;
		}
	}
	return 0;
}

void virtio_console_drain(struct virtio_console *c)
{
	pthread_mutex_lock(&c->dev.lock);
	if (virtio_dev_running(&c->dev))
		drain_outputs(c);
	pthread_mutex_unlock(&c->dev.lock);
}

/* ---- warm starts ------------------------------------------------------- */

void virtio_console_hold(struct virtio_console *c, bool hold)
{
	pthread_mutex_lock(&c->dev.lock);
	c->hold = hold;
	pthread_mutex_unlock(&c->dev.lock);
}

void virtio_console_send_spec(struct virtio_console *c, const uint8_t *spec, size_t len)
{
	pthread_mutex_lock(&c->dev.lock);
	c->spec = spec;
	c->spec_len = len;
	c->spec_off = 0;
	c->sframe_len = c->sframe_off = 0;
	c->spec_end_sent = false;
	c->spec_active = true;
	if (virtio_dev_running(&c->dev))
		ctl_out_pump(c);
	pthread_mutex_unlock(&c->dev.lock);
}

int virtio_console_save(struct virtio_console *c, struct snap_console *s)
{
	int r = 0;
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&c->dev.lock);
	if (c->ctl_out_len || c->spec_active)
		r = -EBUSY;
	_Static_assert(CONSOLE_CTRL_PENDING <= SNAP_CTRL_PENDING &&
		       sizeof(c->pending[0].buf) <= SNAP_CTRL_MSG, "snap_console too small");
	s->npending = c->pend_count;
	for (unsigned k = 0; k < c->pend_count; k++) {
		unsigned i = (c->pend_head + k) % CONSOLE_CTRL_PENDING;
		s->pending[k].len = c->pending[i].len;
		memcpy(s->pending[k].buf, c->pending[i].buf, c->pending[i].len);
	}
	for (unsigned i = 0; i < ARCA_NR_PORTS; i++) {
		s->guest_ready[i] = c->ports[i].guest_ready;
		s->guest_open[i] = c->ports[i].guest_open;
		s->host_open[i] = c->ports[i].host_open;
	}
	pthread_mutex_unlock(&c->dev.lock);
	return r;
}

void virtio_console_restore(struct virtio_console *c, const struct snap_console *s)
{
	pthread_mutex_lock(&c->dev.lock);
	for (unsigned i = 0; i < ARCA_NR_PORTS; i++) {
		struct console_port *p = &c->ports[i];
		p->guest_ready = !!s->guest_ready[i];
		p->guest_open = !!s->guest_open[i];
		/* What the guest was told; release() corrects stdin's. */
		p->host_open = !!s->host_open[i];
	}
	/* Bounded like ctrl_send's queue; a longer message is cut. */
	c->pend_head = 0;
	c->pend_count = s->npending < CONSOLE_CTRL_PENDING ? s->npending : CONSOLE_CTRL_PENDING;
	for (unsigned k = 0; k < c->pend_count; k++) {
		uint32_t len = s->pending[k].len;
		if (len > sizeof(c->pending[k].buf))
			len = sizeof(c->pending[k].buf);
		c->pending[k].len = len;
		memcpy(c->pending[k].buf, s->pending[k].buf, len);
	}
	pthread_mutex_unlock(&c->dev.lock);
}

void virtio_console_release(struct virtio_console *c)
{
	pthread_mutex_lock(&c->dev.lock);
	c->hold = false;
	struct console_port *in = &c->ports[ARCA_PORT_STDIN];
	if (in->eof && in->host_open) {
		in->host_open = false;
		if (in->guest_ready)
			ctrl_send(c, ARCA_PORT_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 0, NULL);
	} else if (!in->eof && !in->host_open) {
		in->host_open = true;
		if (in->guest_ready)
			ctrl_send(c, ARCA_PORT_STDIN, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL);
	}
	if (virtio_dev_running(&c->dev)) {
		ctl_out_pump(c);
		input_pump(c, ARCA_PORT_STDIN);
	}
	pthread_mutex_unlock(&c->dev.lock);
}
