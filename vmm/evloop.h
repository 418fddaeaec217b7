/* SPDX-License-Identifier: MIT */
/* The device thread's event loop: epoll over ioeventfds, host fds, timers. */
#ifndef ARCA_EVLOOP_H
#define ARCA_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*evloop_cb)(void *opaque, uint32_t events);

struct evloop_reg;

/* One loop per thread that waits on fds: the main (device) thread and each
 * virtio-fs thread. A loop is only used by its own thread after set-up. */
struct evloop {
	int epfd;
	volatile bool stop;
	struct evloop_reg *regs;
};

int evloop_init(struct evloop *l);
void evloop_fini(struct evloop *l);
/* Returns 0, or -errno (-EPERM: fd cannot be polled, e.g. a regular file). */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_cb cb, void *opaque);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
int evloop_del(struct evloop *l, int fd);
/* Run until evloop_stop(). Returns 0 or -errno from epoll_wait. */
int evloop_run(struct evloop *l);
void evloop_stop(struct evloop *l);

#endif
