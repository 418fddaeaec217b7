/* SPDX-License-Identifier: MIT */
/*
 * One run's network, as arca run's supervisor holds it (--net nat and
 * allow=): the plumbing (net.h: the run's netns N, tap0, the veth pair),
 * the rules (nft.h: the host's shared table, N's own table), the DNS relay
 * (dnsproxy.h, answering on the gateway's port 53 in N), and what the guest
 * is told (the spec's NET record). The VMM gets only tap0's fd.
 *
 * The supervisor stays in the host's netns: it enters N (netns_run) only
 * to make N's sockets and to change N's rules, one call at a time.
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
#include "spec.h"

struct dnsproxy;

#define RUNNET_POLL_MAX 4 /* DNSPROXY_FDS_MAX */

struct run_net {
	bool up;               /* runnet_setup succeeded */
	struct net_run nr;
	struct dnsproxy *dns;  /* NULL: none */
	int dns_fd;            /* gateway:53 in N (UDP); -1: none */
	uint64_t dyn_added, dyn_failed; /* allow-list addresses from DNS answers */
	const char *names[NET_NAMES_MAX]; /* allow= names, for the relay */
};

void runnet_init(struct run_net *rn);
/* Set up c's network (c->mode != NET_NONE) and fill the guest's NET
 * record. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); on failure everything
 * made is undone (runnet_free is still safe). notes (may be NULL): a line
 * of what changed on the host, e.g. ip_forward switched on. */
int runnet_setup(struct run_net *rn, const struct netcfg *c, struct arca_spec_net *spec,
		 char *notes, size_t notes_cap, struct arca_err *e);
/* The fds the supervisor polls for the relay (POLLIN), and what to do when
 * poll said so; the poll timeout it needs (-1: none). */
size_t runnet_pollfds(struct run_net *rn, struct pollfd *p, size_t cap);
void runnet_handle(struct run_net *rn, const struct pollfd *p, size_t n);
int runnet_timeout_ms(struct run_net *rn);
/* One line for --verbose at the end: packets refused, DNS counts. */
void runnet_summary(struct run_net *rn, char *buf, size_t cap);
/* Remove everything of the run's network (safe on an init'ed struct). */
void runnet_free(struct run_net *rn);

#endif
