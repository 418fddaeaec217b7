/* SPDX-License-Identifier: MIT */
/*
 * The DNS relay of `arca run --net`, run by arca's supervisor (the launcher
 * process, never arca-vmm). The guest's resolv.conf names its gateway; the
 * caller binds a UDP socket to gateway:53 inside the run's network
 * namespace N and hands it over (guest_fd). The relay forwards the guest's
 * queries to the host's resolvers over sockets it opens itself in
 * dnsproxy_new, which must therefore be called in the host's network
 * namespace, before the caller enters N: a socket keeps the namespace it
 * was made in, so loopback resolvers (systemd-resolved's 127.0.0.53)
 * work, and the guest never gets a route to them.
 *
 * Modes:
 *  - DNSPROXY_OPEN (--net nat): every query is forwarded.
 *  - DNSPROXY_NAMES (--net allow=...): only a query whose QNAME matches an
 *    allowed name (class IN) is forwarded; any other gets REFUSED at once,
 *    and the upstream never sees it, so the guest cannot leak data through
 *    names it makes up (DNS tunnelling). REFUSED, not NXDOMAIN: it is what
 *    happened (a policy refusal, RFC 1035 §4.1.1), `dig` shows it as such
 *    rather than as a name that does not exist, and it is not
 *    negatively cached as NXDOMAIN is (RFC 2308). The cost: glibc reports
 *    it as a temporary failure (EAI_AGAIN), which some tools retry.
 *    A "*.example.com" pattern lets the guest send data to example.com's
 *    own name servers through the labels below it: that is what the
 *    pattern allows. For each A record of an answer to an allowed name
 *    (following CNAMEs from that name, within the answer section) on_addr
 *    is called BEFORE the answer is relayed, so the firewall lets the
 *    address through by the time the guest connects: once per allowed
 *    pattern the QNAME matches, with that pattern's index in names, since
 *    each entry may allow its own port (good.test:80 and good.test:443 are
 *    two entries; a.good.test matches both *.good.test and *.test). AAAA
 *    records are relayed untouched but not reported: the guest has no IPv6
 *    route.
 *
 * What reaches the upstream is rebuilt from the parsed question (ID, RD,
 * CD, QNAME/QTYPE/QCLASS, an OPT record with the guest's UDP size and DO
 * bit): no other byte of the guest's query. Queries over DNS_QUERY_MAX
 * (512) bytes are dropped as malformed: a one-question query with EDNS
 * fits easily. Responses up to DNS_RESPONSE_MAX (4096) are relayed as they
 * came, with the guest's ID put back. Only UDP: a truncated answer reaches
 * the guest with TC set, and its retry over TCP finds nothing listening
 * (large answers are rare for the A/AAAA lookups a sandbox makes).
 *
 * Spoofing: one socket per upstream, connect()ed to it, so the kernel
 * delivers only datagrams from that address and port; each query gets a
 * fresh random 16-bit ID (getrandom) unique among those pending on that
 * upstream, and a response must also repeat the question. A socket per
 * query would add ~16 bits of source-port entropy (RFC 5452 §9.2), but
 * socket() makes the socket in the calling thread's namespace and the
 * supervisor lives in N once the VM runs, so it cannot open new host-side
 * sockets; the fixed port is random (the kernel's ephemeral pick), and the
 * usual upstream is on loopback, where no off-path forger can reach it.
 *
 * State is bounded: at most DNSPROXY_PENDING_MAX queries in flight (a
 * query beyond is dropped and counted; the guest's resolver retries); one
 * not answered in timeout_ms gets SERVFAIL and the next query goes to the
 * next upstream (failover). Nothing here blocks, prints or exits.
 */
#ifndef ARCA_DNSPROXY_H
#define ARCA_DNSPROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

#define DNSPROXY_PENDING_MAX   64
#define DNSPROXY_UPSTREAMS_MAX 3
#define DNSPROXY_NAMES_MAX     1024
#define DNSPROXY_TIMEOUT_MS    5000u
/* Datagrams read per dnsproxy_on_readable call: a flooding guest cannot
 * keep the caller's loop in here. */
#define DNSPROXY_BATCH         64
#define DNSPROXY_FDS_MAX       (1 + DNSPROXY_UPSTREAMS_MAX)

enum dnsproxy_mode {
	DNSPROXY_OPEN,  /* forward every name */
	DNSPROXY_NAMES, /* forward only allowed names; report their A records */
};

struct dnsproxy_cfg {
	/* UDP socket bound to gateway:53 in N. Borrowed: the caller closes
	 * it after dnsproxy_free. */
	int guest_fd;
	/* 1..DNSPROXY_UPSTREAMS_MAX resolvers (AF_INET or AF_INET6; port 0
	 * means 53); none: the nameserver lines of resolv_conf. */
	const struct sockaddr_storage *upstreams;
	size_t n_upstreams;
	/* NULL: /etc/resolv.conf. Without one, or without nameserver lines,
	 * 127.0.0.1 as glibc does. */
	const char *resolv_conf;
	enum dnsproxy_mode mode;
	/* DNSPROXY_NAMES: dns_pattern_parse syntax ("pypi.org",
	 * "*.example.com"), ports already stripped. */
	const char *const *names;
	size_t n_names;
	/* DNSPROXY_NAMES: an IPv4 address an allowed name resolved to, and its
	 * TTL in seconds (may be 0: the caller picks a floor); name_idx is the
	 * index in names of a pattern the QNAME matched, and the call is made
	 * once per matching pattern, in index order. May be NULL. */
	void (*on_addr)(void *opaque, size_t name_idx, uint32_t addr_be, uint32_t ttl);
	/* The same for an IPv6 address (AAAA). May be NULL: a guest without
	 * IPv6 has no use for them (the answer still reaches it whole). */
	void (*on_addr6)(void *opaque, size_t name_idx, const uint8_t addr[16], uint32_t ttl);
	void *opaque;
	unsigned timeout_ms; /* 0: DNSPROXY_TIMEOUT_MS */
};

struct dnsproxy_stats {
	uint64_t forwarded;     /* queries sent upstream */
	uint64_t relayed;       /* responses sent back to the guest */
	uint64_t refused;       /* REFUSED (names mode) or NOTIMP (opcode) */
	uint64_t malformed;     /* guest queries or upstream responses dropped */
	uint64_t dropped_full;  /* queries dropped: DNSPROXY_PENDING_MAX in flight */
	uint64_t unmatched;     /* responses for no pending query (late, forged) */
	uint64_t timed_out;     /* SERVFAIL after timeout_ms */
	uint64_t errors;        /* send/recv failures (SERVFAIL, or lost) */
};

struct dnsproxy;

/* Parses the names, reads resolv.conf when needed, opens one connected
 * UDP socket per upstream (in the current network namespace: call it in
 * the host's). 0, or -errno with e set. */
int dnsproxy_new(const struct dnsproxy_cfg *cfg, struct dnsproxy **out, struct arca_err *e);

/* The fds to poll for POLLIN (the guest's, then one per upstream): writes
 * up to cap, returns how many there are (<= DNSPROXY_FDS_MAX). */
size_t dnsproxy_fds(const struct dnsproxy *px, int *fds, size_t cap);

/* Reads up to DNSPROXY_BATCH datagrams from fd (one of dnsproxy_fds) and
 * handles them; now_ms is CLOCK_MONOTONIC in ms, as for dnsproxy_tick. A
 * bad datagram is counted, never an error. 0, or -EBADF for another fd. */
int dnsproxy_on_readable(struct dnsproxy *px, int fd, uint64_t now_ms);

/* Answers SERVFAIL to the queries whose time is up. Returns the ms until
 * the next one is (the caller's poll timeout), or -1 when none pends. */
int dnsproxy_tick(struct dnsproxy *px, uint64_t now_ms);

void dnsproxy_stats(const struct dnsproxy *px, struct dnsproxy_stats *out);

/* Closes the upstream sockets (not guest_fd). NULL is fine. */
void dnsproxy_free(struct dnsproxy *px);

#endif
