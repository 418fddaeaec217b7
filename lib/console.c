/* SPDX-License-Identifier: MIT */
/*
 * Console helpers (arca.h) for tests that drive an interactive command:
 * the command's output is read into a bounded buffer, searched for a
 * pattern, and consumed up to the match.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"


/* Output kept unconsumed, at most: the oldest is dropped beyond it (a
 * command that floods its output cannot grow the caller's memory). */
#define CONSOLE_BUF_MAX (1u << 20)

void lib_console_free(struct arca_console *c)
{
	if (!c)
		return;
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	free(c->buf);
	free(c);
}

/* Read what is there (out_fd is non-blocking). 1: read something, 0:
 * nothing now, -EPIPE: the output ended. */
static int fill(struct arca_console *c)
{
	char tmp[16384];
	int got = 0;
	for (;;) {
		ssize_t n = read(c->out_fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return got; /* EAGAIN */
		if (n == 0) {
			c->eof = true;
			return got ? 1 : -EPIPE;
		}
		if (c->len + (size_t)n > CONSOLE_BUF_MAX) {
			size_t drop = c->len + (size_t)n - CONSOLE_BUF_MAX;
			if (drop > c->len)
				drop = c->len;
			memmove(c->buf, c->buf + drop, c->len - drop);
			c->len -= drop;
		}
		if (c->len + (size_t)n > c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			while (cap < c->len + (size_t)n)
				cap *= 2;
			char *b = realloc(c->buf, cap);
			if (!b)
				return got; /* keep what we have */
			c->buf = b;
			c->cap = cap;
		}
		memcpy(c->buf + c->len, tmp, (size_t)n);
		c->len += (size_t)n;
		got = 1;
	}
}

static void consume(struct arca_console *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

int arca_console_wait_for(arca_console *c, const char *pattern, int timeout_ms,
			  struct arca_err *e)
{
	if (!c || !pattern || !*pattern)
		return arca_error(E(e), EINVAL, "no console or empty pattern");
	size_t plen = strlen(pattern);
	uint64_t end = timeout_ms < 0 ? 0 : lib_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		if (!c->eof)
			(void)fill(c); /* what is there now, without waiting */
		if (c->len >= plen) {
			char *m = memmem(c->buf, c->len, pattern, plen);
			if (m) {
				consume(c, (size_t)(m - c->buf) + plen);
				return 0;
			}
		}
		if (c->eof)
			return arca_error(E(e), EPIPE, "the output ended before '%s'", pattern);
		int left = -1;
		if (timeout_ms >= 0) {
			uint64_t t = lib_now_ms();
			if (t >= end)
				return arca_error(E(e), ETIMEDOUT, "'%s' did not appear in %d ms",
						  pattern, timeout_ms);
			left = (int)(end - t);
		}
		struct pollfd p = { .fd = c->out_fd, .events = POLLIN };
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return arca_error_errno(E(e), errno, "poll");
	}
}

int arca_console_write_line(arca_console *c, const char *line, struct arca_err *e)
{
	if (!c || !line)
		return arca_error(E(e), EINVAL, "no console or line");
	if (c->in_fd < 0)
		return arca_error(E(e), EPIPE, "the console's input is closed");
	size_t n = strlen(line);
	char *b = malloc(n + 1);
	if (!b)
		return arca_error(E(e), ENOMEM, "out of memory");
	memcpy(b, line, n);
	b[n++] = '\n';
	size_t off = 0;
	int r = 0;
	while (off < n) {
		ssize_t w = send(c->in_fd, b + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = arca_error_errno(E(e), errno, "writing to the command");
			break;
		}
		off += (size_t)w;
	}
	free(b);
	return r;
}

ssize_t arca_console_read_available(arca_console *c, char *buf, size_t cap)
{
	if (!c || !buf)
		return -EINVAL;
	int f = fill(c);
	if (c->len == 0)
		return f == -EPIPE || c->eof ? -EPIPE : 0;
	size_t n = c->len < cap ? c->len : cap;
	memcpy(buf, c->buf, n);
	consume(c, n);
	return (ssize_t)n;
}

int arca_console_close_input(arca_console *c)
{
	if (!c)
		return -EINVAL;
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = -1;
	return 0;
}
