/* SPDX-License-Identifier: MIT */
/*
 * The command's stdio relay (see init.h for why the command gets pipes and
 * not the virtio-console ports).
 *
 * A stream moves bytes from src to dst through buf. It reads only when the
 * buffer has room and writes only what it has, so at most RELAY_BUF_SIZE
 * bytes sit in init per stream: a host that stops reading stdout fills the
 * pipe, and the command blocks in write(2) exactly as it would on the
 * port. Per-stream order holds because a stream is a FIFO and nothing else
 * writes its destination.
 *
 * Lifetime of a stream's fds: src is closed at EOF; dst is closed once src
 * is at EOF and the buffer is empty, or as soon as a write to it fails for
 * good. For stdin, closing dst (the pipe's write end) is how the command
 * sees EOF; for the outputs, closing the port tells the host the guest is
 * done with it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

static void stream_init(struct relay_stream *s, int src, int dst, int drain_if_dead)
{
	memset(s, 0, offsetof(struct relay_stream, buf));
	s->src = src;
	s->dst = dst;
	s->drain_if_dead = drain_if_dead;
}

void relay_init(struct relay *r, int in_port, int in_pipe, int out_pipe, int out_port,
		int err_pipe, int err_port)
{
	/* An output whose port failed keeps draining its pipe into nothing,
	 * so the command never hangs on a pipe nobody empties. Input that
	 * nobody reads any more (EPIPE: the command closed its stdin) is
	 * left in the port: the host sees backpressure, not a byte sink. */
	stream_init(&r->s[RELAY_IN], in_port, in_pipe, 0);
	stream_init(&r->s[RELAY_OUT], out_pipe, out_port, 1);
	stream_init(&r->s[RELAY_ERR], err_pipe, err_port, 1);
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static int want_read(const struct relay_stream *s)
{
	if (s->src < 0 || s->src_eof || (s->dst_dead && !s->drain_if_dead))
		return 0;
	/* Room = RELAY_BUF_SIZE - len: reads compact the buffer first. */
	return s->len == 0 || RELAY_BUF_SIZE - s->len >= RELAY_MIN_READ;
}

static int want_write(const struct relay_stream *s, long long now)
{
	return s->dst >= 0 && !s->dst_dead && s->len && now >= s->retry_at_ms;
}

/* Closes what a stream no longer needs (see the top of the file). */
static void stream_settle(struct relay_stream *s)
{
	if (s->src_eof)
		close_fd(&s->src);
	if (s->dst_dead || (s->src_eof && !s->len))
		close_fd(&s->dst);
}

static void stream_read(struct relay_stream *s)
{
	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len);
		s->off = 0;
	}
	size_t room = RELAY_BUF_SIZE - s->len;
	if (!room)
		return; /* read(fd, p, 0) returns 0, which is not EOF */
	ssize_t n = read(s->src, s->buf + s->len, room);
	if (n > 0) {
		if (!s->dst_dead) /* else drain_if_dead: drop it */
			s->len += (size_t)n;
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	if (n < 0 && errno == EAGAIN && !s->src_abandoned)
		return;
	/* 0 (EOF), an abandoned source that is empty now, or an error
	 * (EIO...) after which nothing more can be read. */
	s->src_eof = 1;
}

static void stream_write(struct relay_stream *s, int hup, long long now)
{
	ssize_t n = write(s->dst, s->buf + s->off, s->len);

	if (n > 0) {
		s->off += (size_t)n;
		s->len -= (size_t)n;
		s->written += (unsigned long long)n;
		if (!s->len)
			s->off = 0;
		s->dst_hup = 0;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		/* virtio_console reports POLLHUP (never POLLOUT) while the
		 * host side of the port is not connected and wakes pollers
		 * when it connects, but a poll on a hung-up fd returns at
		 * once: wait a little before asking again. */
		if (hup) {
			s->dst_hup = 1;
			s->retry_at_ms = now + RELAY_HUP_RETRY_MS;
		}
		return;
	}
	if (n == 0) {
		/* Not EOF for a write: virtio_console returns 0 when the
		 * virtqueue refused the buffer. Try again later rather
		 * than drop output; relay_abandon() bounds it at the end. */
		s->dst_hup = 1;
		s->retry_at_ms = now + RELAY_HUP_RETRY_MS;
		return;
	}
	/* EPIPE (the command closed its stdin), EIO, ...: this
	 * destination takes nothing more. */
	s->dst_dead = 1;
	s->len = 0;
	s->off = 0;
}

int relay_prepare(struct relay *r, struct pollfd *pfd, long long now_ms)
{
	int timeout = -1;

	for (unsigned i = 0; i < RELAY_NR; i++) {
		struct relay_stream *s = &r->s[i];
		struct pollfd *ps = &pfd[2 * i], *pd = &pfd[2 * i + 1];

		ps->fd = want_read(s) ? s->src : -1;
		ps->events = POLLIN;
		ps->revents = 0;
		pd->fd = want_write(s, now_ms) ? s->dst : -1;
		pd->events = POLLOUT;
		pd->revents = 0;
		/* An abandoned source is read every round: poll cannot say
		 * "empty" while a writer still holds the pipe. */
		if (ps->fd >= 0 && s->src_abandoned)
			timeout = 0;
		if (s->dst >= 0 && !s->dst_dead && s->len && now_ms < s->retry_at_ms) {
			long long wait = s->retry_at_ms - now_ms;
			if (timeout < 0 || wait < timeout)
				timeout = (int)wait;
		}
	}
	return timeout;
}

void relay_dispatch(struct relay *r, const struct pollfd *pfd, long long now_ms)
{
	for (unsigned i = 0; i < RELAY_NR; i++) {
		struct relay_stream *s = &r->s[i];
		const struct pollfd *ps = &pfd[2 * i], *pd = &pfd[2 * i + 1];
		int read_some = 0;

		/* POLLHUP/POLLERR on a source: the read says what it means
		 * (data still buffered, EOF, or an error). */
		if (ps->fd >= 0 && (ps->revents || s->src_abandoned) && ps->fd == s->src) {
			size_t before = s->len;
			stream_read(s);
			read_some = s->len > before;
		}
		if (pd->fd >= 0 && pd->fd == s->dst && pd->revents && want_write(s, now_ms)) {
			int hup = !(pd->revents & POLLOUT);
			stream_write(s, hup, now_ms);
		} else if (read_some && want_write(s, now_ms)) {
			/* Fresh data: try at once rather than after one more
			 * poll round; EAGAIN just means wait for POLLOUT. */
			stream_write(s, 0, now_ms);
		}
		stream_settle(s);
	}
}

void relay_stop_input(struct relay *r)
{
	struct relay_stream *s = &r->s[RELAY_IN];

	s->src_eof = 1;
	s->dst_dead = 1;
	s->len = 0;
	s->off = 0;
	stream_settle(s);
}

void relay_abandon(struct relay *r)
{
	for (unsigned i = RELAY_OUT; i < RELAY_NR; i++) {
		struct relay_stream *s = &r->s[i];

		s->src_abandoned = 1;
		if (s->dst_hup) {
			s->dst_dead = 1;
			s->len = 0;
			s->off = 0;
		}
		stream_settle(s);
	}
}

int relay_done(const struct relay *r)
{
	for (unsigned i = RELAY_OUT; i < RELAY_NR; i++)
		if (r->s[i].src >= 0 || r->s[i].dst >= 0)
			return 0;
	return 1;
}
