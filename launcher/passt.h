/* SPDX-License-Identifier: MIT */
/*
 * Rootless --net nat through passt (https://passt.top): without root there
 * is no CAP_NET_ADMIN for the run's netns, TAP and nftables rules, so the
 * guest's link is a socket to passt, an unprivileged process of the user's
 * that turns the guest's frames into ordinary sockets of the host (and
 * back). arca-vmm gets arca's end of a socketpair (--net=FD,...,
 * backend=stream: QEMU's "stream" protocol, each frame behind a 4-byte
 * big-endian length); passt inherits the other end (--fd), so there is no
 * socket path, no directory and no wait for a listener.
 *
 * What passt cannot do is refused (passt_check), never run open: it cannot
 * filter by destination (allow=), and the guest reaches whatever the user
 * can, the host's private networks and its own addresses included, so a
 * rootless --net nat needs ,allow-private to say that is accepted.
 *
 * The guest's addresses are the pool's first slot, as a root run's are
 * (gateway .1, guest .2, a /30); passt is told them (--address, --netmask,
 * --gateway), answers ARP for the gateway, forwards DNS sent to the gateway
 * to the host's first resolver (--dns-forward), and does not map the
 * gateway to the host's loopback (--no-map-gw). IPv4 only, no DHCP (arca-
 * init configures the link statically). --publish becomes passt's own port
 * forwarding (-t/-u [ADDR/]HOSTPORT:GUESTPORT): passt binds the host ports
 * as the user, so only what the user could bind is published; arca tries
 * each bind first (publish_probe) for the same one-line errors a root run
 * gives.
 *
 * passt dies with the run: PR_SET_PDEATHSIG in the child, killed and reaped
 * by passt_stop; it also quits on its own once the VMM's end closes.
 */
#ifndef ARCA_PASST_H
#define ARCA_PASST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "netcfg.h"
#include "spec.h"

/* passt's own default MTU (65520: the largest 802.3 frame, rounded to
 * 32-bit words): no offloads cross a stream, so large frames are what
 * keeps the cost per byte down. */
#define PASST_MTU 65520u
/* How long passt has to answer the first ARP request (the nested test
 * host emulates its CPU: a start takes a second or more there). */
#define PASST_START_MS 15000
/* passt's stderr is kept (for the message of a failed start) in a memfd
 * sealed at this size: writes past it fail, nothing grows. */
#define PASST_ERR_CAP 16384u
/* The fd number passt finds its end of the socketpair on. */
#define PASST_CHILD_FD 3

/* Pure: whether a rootless run can have this network: 0, or -EPERM with
 * the message (allow=, nat without allow-private). */
int passt_check(const struct netcfg *c, const struct net_publishes *pub, struct arca_err *e);

/* Pure: the guest's NET record: the pool's first slot (netcfg.h), DNS at
 * the gateway, PASST_MTU, the MAC from rnd (made unicast and locally
 * administered). -EINVAL with e set when the pool has no slot. */
int passt_plan(const struct netcfg *c, const uint8_t rnd[6], struct arca_spec_net *out,
	       struct arca_err *e);

/* Pure: passt's argv for net and pub (NULL: nothing published), its end
 * of the socketpair at fd. */
#define PASST_ARGV_MAX (32 + 2 * NET_PUBLISH_MAX)
struct passt_argv {
	char addr[16], mask[4], gw[16], fd[12];
	char ports[NET_PUBLISH_MAX][32]; /* "[a.b.c.d/]HOSTPORT:GUESTPORT" */
	const char *v[PASST_ARGV_MAX];
	int n;
};
void passt_argv(const char *exe, const struct arca_spec_net *net, const struct net_publishes *pub,
		int fd, struct passt_argv *a);

/* The passt to run: the first executable `passt` in path_env's absolute
 * directories (relative ones are skipped), else /usr/bin/passt; into out.
 * 0, or -ENOENT. */
int passt_find(const char *path_env, char *out, size_t cap);

/* Pure, the start-up probe: an ARP request from the guest's address for
 * the gateway (42 bytes into buf, which holds at least 42), and whether a
 * frame is the gateway's answer to it. */
#define PASST_ARP_LEN 42u
size_t passt_arp_request(uint8_t *buf, const struct arca_spec_net *net);
bool passt_arp_is_reply(const uint8_t *f, size_t len, const struct arca_spec_net *net);

/* Pure: the line of passt's stderr text[0..len) that says what went wrong
 * (the last one that is not about its system logger), into out. */
void passt_err_line(const char *text, size_t len, char *out, size_t cap);

struct passt {
	pid_t pid;   /* -1: none */
	int fd;      /* arca's end of the stream: the VMM's --net fd; -1: none */
	int err_fd;  /* passt's stderr (sealed memfd); -1: none */
};

void passt_init(struct passt *p);
/* All of it for one rootless run: passt_check, passt_find on path_env
 * (-ENOENT: "--net without root needs passt (apt install passt)"),
 * publish_probe of each published port, passt_plan with fresh randomness
 * into *spec, passt_start. 0, or -errno
 * with e set (passt_stop is still safe). */
int passt_setup(struct passt *p, const struct netcfg *c, const struct net_publishes *pub,
		const char *path_env, struct arca_spec_net *spec, struct arca_err *e);
/* Start exe (passt_find) for net in the background and wait until it
 * answers ARP for the gateway (timeout_ms): then p->fd is ready for the
 * VMM. On failure everything is undone and e says what passt said. */
int passt_start(struct passt *p, const char *exe, const struct arca_spec_net *net,
		const struct net_publishes *pub, int timeout_ms, struct arca_err *e);
/* Kill and reap passt, close the fds (safe on an init'ed struct). */
void passt_stop(struct passt *p);

#endif
