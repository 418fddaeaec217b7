/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

/* Registrations are few (one per queue and host fd) and live as long as
 * the loop: a short list whose cells are the epoll cookies. A cell is kept
 * when its fd is removed, so a later re-add reuses it. */
struct evloop_reg {
	int fd;
	evloop_cb cb;
	void *opaque;
	struct evloop_reg *next;
};

int evloop_init(struct evloop *l)
{
	l->stop = false;
	l->regs = NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void evloop_fini(struct evloop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	while (l->regs) {
		struct evloop_reg *n = l->regs->next;
		free(l->regs);
		l->regs = n;
	}
}

static struct evloop_reg *find(struct evloop *l, int fd)
{
	for (struct evloop_reg *r = l->regs; r; r = r->next)
		if (r->fd == fd)
			return r;
	return NULL;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	struct evloop_reg *r = find(l, fd);
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->fd = fd;
		r->next = l->regs;
		l->regs = r;
	}
	r->cb = cb;
	r->opaque = opaque;
	struct epoll_event ev = { .events = events, .data.ptr = r };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct evloop_reg *r = find(l, fd);
	if (!r)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.ptr = r };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int evloop_del(struct evloop *l, int fd)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[32];
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct evloop_reg *r = evs[i].data.ptr;
			r->cb(r->opaque, evs[i].events);
		}
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	l->stop = true;
}
