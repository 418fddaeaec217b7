/* SPDX-License-Identifier: MIT */
/*
 * A run's network (--net nat / allow=), host side. Each run gets a network
 * namespace N of its own, held by an fd:
 *
 *   guest ── tap0 (.1/30, in N) ── N routes, masquerades ── veth0 (.6/30, in N)
 *        ── arca<slot> (.5/30, host) ── the host routes, masquerades ── out
 *
 * The VMM gets only tap0's fd (it runs in yet another, empty netns). The
 * addresses come from the pool's slot (netcfg.h); the nftables rules of
 * both hops are not set here. Nothing here runs `ip` or `nft`.
 *
 * Lifetime: N dies with its last reference (the ns fd, the TAP fds: a TAP
 * fd pins the netns it was opened in), and the kernel then deletes every
 * link in it; a veth whose one end goes takes the other end with it. So a
 * launcher killed with SIGKILL leaves no link behind once its VMM has gone
 * too; net_teardown() deletes the host end at once, whoever still holds N.
 *
 * Liveness: a run holds a lock (flock) on STATE_DIR/<slot> for as long as
 * it lives; the kernel drops it when the launcher dies, however it dies,
 * and no pid can be reused to fake it. The lock is taken before the link is
 * created, so net_gc() never sees a live run's link unlocked.
 */
#ifndef ARCA_NET_H
#define ARCA_NET_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "netcfg.h"

/* Slot locks, root's. Not under /run/arca, the sandboxes' directory, where arca ls
 * listed it as a sandbox named "net" (and arca start --name net collided with it). */
#define NET_STATE_DIR "/run/arca-net"
#define NET_NS_IF "veth0"             /* the veth's end in N */
#define NET_TAP_IF "tap0"             /* the guest's link, in N */

struct net_run {
	bool armed;              /* set up (maybe partly): net_teardown has work */
	int nsfd;                /* N, O_CLOEXEC; -1: none */
	int tapfd;               /* tap0 in N: hand it to the VMM; -1: none */
	int lockfd;              /* the slot's lock, held for the run's life */
	long slot;               /* -1: none taken */
	char host_if[IF_NAMESIZE]; /* arca<slot> */
	struct net_plan plan;    /* guest, gw, host end, N's end, prefix */
	unsigned mtu;            /* NET_MTU, on tap0 and both veth ends */
	uint8_t mac[6];          /* the guest's: random, locally administered */
	bool host_forward_set;   /* the host's ip_forward was 0 and is now 1 */
	bool v6;                 /* the guest has IPv6 too (plan6) */
	struct net_plan6 plan6;
	char v6_why[160];        /* !v6: why not, for --verbose */
	char lock_path[PATH_MAX];
};

/* IPv6 for the guest, when the host has it: the host routes IPv6 (its
 * net.ipv6.conf.all.forwarding is 1) and has an IPv6 default route. arca
 * never switches IPv6 forwarding on itself, unlike IPv4's ip_forward: on
 * Linux that makes every interface with accept_ra=1 ignore router
 * advertisements, and a host that takes its IPv6 routes from them would
 * lose them when they expire. false with why (a clause for "no IPv6 for
 * the guest: ...") when not. */
bool net_ipv6_usable(char *why, size_t cap);

/* Set up a run's network as described above: refuses a pool that collides
 * with a host route or address (-EADDRINUSE, "address pool X collides with
 * host route Y on dev Z"), takes a free slot (-EADDRNOTAVAIL when the pool
 * is full), makes N, the veth pair, the addresses, N's default route,
 * ip_forward in N and on the host, and tap0; with IPv6 (net_ipv6_usable,
 * out->v6) the slot's /64 and the link-local veth too, and forwarding in
 * N. For NET_NONE it does nothing
 * (out->slot -1, no fds). On failure whatever was made is undone. Run from
 * the host's netns; needs CAP_NET_ADMIN and CAP_SYS_ADMIN. out is
 * overwritten: not one that holds a live run. */
int net_setup(const struct netcfg *c, struct net_run *out, struct arca_err *e);

/* Delete the host end of the veth (and so N's end), drop the slot's lock,
 * close the fds. Safe on a zeroed struct, after a partial setup, twice. */
void net_teardown(struct net_run *r);

/*
 * Clean up after runs that are gone. What is left to clean is small: a dead
 * run's N dies once the launcher and its VMM have both exited, and its
 * veth pair with it. What may stay:
 *  - a host link arca<slot> (a veth) whose N is still held by something
 *    that outlived the launcher (an orphaned VMM's TAP fd, a process that
 *    entered N or bind-mounted it): deleted when its slot's lock is free;
 *  - lock files of dead runs: removed.
 * Links of live runs (lock held) and links named arca<digits> that are not
 * veths are never touched. Returns how many links were deleted, or -errno.
 * net_gc_dir: the same with another state directory (NULL: NET_STATE_DIR).
 */
int net_gc(struct arca_err *e);
int net_gc_dir(const char *state_dir, struct arca_err *e);

#endif
