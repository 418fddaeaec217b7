/* SPDX-License-Identifier: MIT */
/*
 * One run's network, as arca run's supervisor holds it (--net nat and
 * allow=): the plumbing (net.h: the run's netns N, tap0, the veth pair),
 * the rules (nft.h: the host's shared table, N's own table), the DNS relay
 * (dnsproxy.h, answering on the gateway's port 53 in N), and what the guest
 * is told (the spec's NET record). The VMM gets only tap0's fd.
 *
 * The supervisor stays in the host's netns: it enters N (netns_run) only
 * to make N's sockets and to change N's rules, one call at a time. The
 * published ports (publish.h) are a proxy here too: their sockets bound on
 * the host, each connection's other end made in N.
 *
 * The supervisor polls one fd of runnet's (an epoll set holding the
 * relay's sockets and the proxy's own epoll fd), however many connections
 * the proxy holds.
 */
#ifndef ARCA_RUNNET_H
#define ARCA_RUNNET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "net.h"
#include "netcfg.h"
#include "podnet.h"
#include "spec.h"

struct dnsproxy;
struct publish;

#define RUNNET_POLL_MAX 1 /* the epoll fd */

struct run_net {
	bool up;               /* runnet_setup succeeded */
	struct net_run nr;
	struct podnet pod;     /* --net ns=PATH (NET_POD): the pod's netns */
	struct dnsproxy *dns;  /* NULL: none */
	int dns_fd;            /* gateway:53 in N (UDP); -1: none */
	struct publish *pub;   /* --publish's proxy; NULL: none */
	int epfd;              /* the relay's fds and the proxy's; -1: none */
	uint64_t dyn_added, dyn_failed; /* allow-list addresses from DNS answers */
	const char *names[NET_NAMES_MAX]; /* allow= names, for the relay */
};

void runnet_init(struct run_net *rn);
/* Set up c's network (c->mode != NET_NONE) with pub's ports published
 * (pub may be NULL) and fill the guest's NET record, and its NET6 record
 * with *has_net6 set when the guest gets IPv6 too (net.h: where the host
 * forwards IPv6 and has a default route; rn->nr.v6_why says why not). Needs root
 * (CAP_NET_ADMIN, CAP_SYS_ADMIN); on failure everything made is undone
 * (runnet_free is still safe). A host port in use fails with one line
 * naming it (publish.h). notes (may be NULL): a line of what changed on
 * the host, e.g. ip_forward switched on. */
int runnet_setup(struct run_net *rn, const struct netcfg *c, const struct net_publishes *pub,
		 struct arca_spec_net *spec, struct arca_spec_net6 *spec6, int *has_net6,
		 char *notes, size_t notes_cap, struct arca_err *e);
/* "arca: net: published 127.0.0.1:8080 -> guest 10.213.0.2:80/tcp\n" for
 * publish i (--verbose, at setup); false past the last one. */
bool runnet_published(const struct run_net *rn, size_t i, char *buf, size_t cap);
/* The fds the supervisor polls for the relay and the proxy (POLLIN; at
 * most RUNNET_POLL_MAX), and what to do when poll said so or timed out;
 * the poll timeout it needs (-1: none). */
size_t runnet_pollfds(struct run_net *rn, struct pollfd *p, size_t cap);
void runnet_handle(struct run_net *rn, const struct pollfd *p, size_t n);
int runnet_timeout_ms(struct run_net *rn);
/* For --verbose at the end: packets refused, DNS counts; with --publish a
 * second line, the proxy's counts. */
void runnet_summary(struct run_net *rn, char *buf, size_t cap);
/* Remove everything of the run's network (safe on an init'ed struct). */
void runnet_free(struct run_net *rn);

#endif
