/* SPDX-License-Identifier: MIT */
/*
 * --publish: host ports into the guest, as a userspace proxy in arca's
 * supervisor (the launcher process, never arca-vmm), the way docker-proxy
 * does it. It needs nothing of the host's ruleset, no DNAT and no
 * route_localnet, so 127.0.0.1 and the host's own addresses work as well
 * as any other.
 *
 * Each publish is a socket bound on HOSTIP:HOSTPORT in the host's netns,
 * made by publish_new (call it there, as root when the port is below
 * 1024). Traffic goes to the guest over sockets made INSIDE the run's
 * netns N (a socket keeps the namespace it was made in), so what the guest
 * sees is a connection from its gateway, local to N: N's forward chain is
 * not involved, and N's input chain admits the guest's replies through
 * its `ct state established,related` rule (nft_build.c).
 *
 *  - TCP: each accepted connection gets a socket in N, connected without
 *    blocking to guest:GUESTPORT; bytes are copied both ways through one
 *    buffer per direction (PUBLISH_BUF_DEFAULT), and a side whose peer's
 *    buffer is full is not read (back-pressure: a client that does not
 *    read stalls only its own connection, with bounded memory). An EOF is
 *    passed on as shutdown(SHUT_WR) once what came before it is written
 *    (half-close); an error or a reset on one side resets the other, so a
 *    cut connection is never shown as a complete one. At most max_conns
 *    at once: one beyond is accepted and closed at once, and counted.
 *  - UDP: per client address a flow, a socket in N connected to
 *    guest:GUESTPORT; datagrams go both ways; a flow idle for udp_idle_ms
 *    ends; at most max_flows (a datagram of a new client beyond is
 *    dropped and counted).
 *
 * Every fd is in one epoll fd (publish_fd) for the caller's loop. State is
 * bounded by the limits above, nothing is allocated per byte, and one
 * publish_handle call does a bounded amount of work (a connection that
 * still has work left makes publish_timeout_ms 0). Nothing here blocks,
 * prints or exits.
 */
#ifndef ARCA_PUBLISH_H
#define ARCA_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "netcfg.h"

#define PUBLISH_CONNS_MAX    256          /* TCP connections at once, per run */
#define PUBLISH_FLOWS_MAX    64           /* UDP flows at once, per run */
#define PUBLISH_BUF_DEFAULT  (64u * 1024) /* bytes per direction of a TCP connection */
#define PUBLISH_UDP_IDLE_MS  60000u
#define PUBLISH_BACKLOG      128

struct publish_cfg {
	const struct net_publishes *pub; /* what to publish; NULL or none: nothing */
	/* The run's netns, where the guest-side sockets are made; -1: the
	 * current one (tests: a "guest" on 127.0.0.1). Borrowed. */
	int nsfd;
	uint32_t guest;       /* the guest's address, host byte order */
	size_t max_conns;     /* 0: PUBLISH_CONNS_MAX */
	size_t max_flows;     /* 0: PUBLISH_FLOWS_MAX */
	size_t buf_size;      /* 0: PUBLISH_BUF_DEFAULT */
	unsigned udp_idle_ms; /* 0: PUBLISH_UDP_IDLE_MS */
};

struct publish_stats {
	uint64_t tcp_accepted;    /* connections proxied (and being proxied) */
	uint64_t tcp_refused_cap; /* closed at once: max_conns were live */
	uint64_t tcp_failed;      /* the guest refused, a reset, an error */
	uint64_t udp_flows;       /* flows made */
	uint64_t udp_dropped;     /* datagrams dropped: table full, send failed */
	size_t tcp_live, udp_live;
	size_t tcp_buffered;      /* bytes held in the buffers now (<= 2 * buf_size * live) */
};

struct publish;

/* Bind and listen on every publish's host address (in the current netns).
 * A port in use is -EADDRINUSE with one line: "--publish 8080:80: host
 * port 8080/tcp is in use". 0, or -errno with e set; nothing is left open
 * on failure. */
int publish_new(const struct publish_cfg *cfg, struct publish **out, struct arca_err *e);

/* The one fd the caller polls for POLLIN (an epoll fd); -1 for NULL. */
int publish_fd(const struct publish *px);

/* Accept, connect, copy and expire what is ready (epoll_wait with no
 * wait). now_ms: CLOCK_MONOTONIC in ms, as for publish_timeout_ms. */
void publish_handle(struct publish *px, uint64_t now_ms);

/* The caller's poll timeout: 0 when work was left over, the ms until the
 * next UDP flow's expiry, or -1 for none. */
int publish_timeout_ms(const struct publish *px, uint64_t now_ms);

/* "127.0.0.1:8080 -> 10.213.0.2:80/tcp" for publish i, into buf; false
 * past the last one. */
bool publish_describe(const struct publish *px, size_t i, char *buf, size_t cap);

void publish_stats(const struct publish *px, struct publish_stats *out);

/* Close every socket (live connections are reset). NULL is fine. */
void publish_free(struct publish *px);

/* Try to bind each of pub's host ports in the current netns (as the
 * caller) and let them go: 0, or the error publish_new would give (a port
 * in use, an address that is not the host's). For passt, which binds them
 * itself (passt.h). */
int publish_probe(const struct net_publishes *pub, struct arca_err *e);

#endif
