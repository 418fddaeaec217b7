/* SPDX-License-Identifier: MIT */
/*
 * Network: one virtio-net device (vmm/virtio_net.h) + one backend + one
 * thread per --net. The backend is a TAP the launcher made in the run's own
 * network namespace (root), or with backend=stream a socket to passt
 * speaking QEMU's stream protocol (rootless); either way the launcher passes
 * the fd and the VMM opens nothing. The thread waits on the device's two
 * kick eventfds and the backend's fd with its own event loop.
 */
#ifndef ARCA_VMM_NET_H
#define ARCA_VMM_NET_H

#include <stdio.h>

#include "err.h"
#include "opts.h"
#include "vm.h"

/* The VMM's network devices: one struct net_if (private to net.c) per
 * --net, for the life of the process. */
struct net_if;
struct net_devices {
	struct net_if *v;
	unsigned n;
};

/* Before seccomp: check each fd is a TAP (IFF_TAP|IFF_NO_PI), give its
 * vnet header 12 bytes, turn its offloads off until a driver takes some
 * (backend=stream: check it is a connected stream socket, and make its
 * buffers), create the devices and register them with the VM (the DSDT
 * lists them). 0, or -errno with e set. */
int net_devices_setup(struct net_devices *net, struct vm *vm, const struct vmm_opts *o,
		      struct arca_err *e);
/* Start each device's thread (which confines itself first). */
int net_devices_start(struct net_devices *net);
/* --verbose, at the end: frames, bytes and drops each way, and the first
 * reason a frame was dropped. */
void net_devices_report(const struct net_devices *net, FILE *f);

#endif
