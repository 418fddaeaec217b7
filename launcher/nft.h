/* SPDX-License-Identifier: MIT */
/*
 * The nftables rules of `arca run --net` (issue 9), written through libnftnl and committed in
 * nfnetlink batches: each call is one kernel transaction, applied whole or not at all.
 *
 * Each run has its own network namespace N holding the guest's link (tap0, with the gateway
 * address) and its end of a veth pair (veth0; the host's end is arca<slot>). The launcher
 * enters N and calls nft_run_*() there, so a run's rules live in N's own ruleset (table
 * `inet arca`): the host's ruleset is never touched by them, and they vanish with N.
 *
 * The host needs one small table of arca's own, `ip arca-host`, shared by every run:
 * nft_host_ensure() makes it (masquerade of the pool, forwarding to and from arca*); its
 * IPv6 twin `ip6 arca-host6` comes from nft_host_ensure6(). nft_host_remove() deletes both
 * (`arca gc`, when no run is live).
 *
 * IPv6 (nft_run_cfg.ipv6): the guest's IPv6 is routed, not masqueraded, in N: the host
 * routes the guest's ULA /64 to N and masquerades the IPv6 pool on its way out (arca-host6).
 *
 * Every function works in the caller's current network namespace (the netlink socket is
 * opened per call, after the caller's setns) and needs CAP_NET_ADMIN there.
 */
#ifndef ARCA_NFT_H
#define ARCA_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "err.h"

#define NFT_RUN_TABLE       "arca"        /* family inet, in N */
#define NFT_HOST_TABLE      "arca-host"   /* family ip, in the host's netns */
#define NFT_REFUSED         "refused"     /* named counter: the guest's refused packets */
#define NFT_SET_BLOCKED     "blocked"
#define NFT_SET_DYN_PREFIX  "dyn"       /* dyn<i>: the addresses of allow-list name i */
#define NFT_HOST6_TABLE     "arca-host6"  /* family ip6, in the host's netns */
#define NFT_SET_BLOCKED6    "blocked6"
#define NFT_SET_DYN6_PREFIX "dyn6_"       /* dyn6_<i>: the IPv6 addresses of allow-list name i */

#define NFT_ALLOW_MAX       64   /* allow-list entries of one run */
#define NFT_NAMES_MAX       64   /* allow-list name entries of one run: sets dyn0..dyn63 */
#define NFT_EXTRA_BLOCK_MAX 64   /* caller-given blocked prefixes (the host's addresses) */
#define NFT_DYN_MAX         4096 /* addresses in one dyn<i> or dyn6_<i>: the kernel refuses more
				     (ENFILE) */
#define NFT_DYN_TTL_MIN     30   /* seconds: nft_run_allow_addr[6]() clamp a DNS TTL to these */
#define NFT_DYN_TTL_MAX     3600

/* An IPv4 prefix: addr in network byte order; bits below the prefix are ignored. */
struct nft_cidr {
	uint32_t addr;
	uint8_t prefix; /* 0..32 */
};

struct nft_cidr6 {
	uint8_t addr[16]; /* network byte order; bits below the prefix are ignored */
	uint8_t prefix;   /* 0..128 */
};

enum nft_mode {
	NFT_MODE_NAT,   /* everything not blocked is allowed */
	NFT_MODE_ALLOW, /* only the allow list (CIDRs, and the names' dyn<i> and dyn6_<i>) */
};

enum nft_proto {
	NFT_PROTO_ANY = 0,
	NFT_PROTO_TCP = 6,  /* IPPROTO_TCP */
	NFT_PROTO_UDP = 17, /* IPPROTO_UDP */
};

struct nft_allow {
	struct nft_cidr dst;
	enum nft_proto proto;
	uint16_t port; /* host byte order; 0: any. With NFT_PROTO_ANY: tcp and udp */
};

/* An allow-list name entry: its addresses come from the DNS relay, into set dyn<i> (i its
 * index in nft_run_cfg.names; its IPv6 addresses into dyn6_<i>), and are reachable only on
 * its protocol and port. */
struct nft_allow_name {
	enum nft_proto proto;
	uint16_t port; /* host byte order; 0: any. With NFT_PROTO_ANY: tcp and udp */
};

struct nft_run_cfg {
	const char *guest_if;  /* the guest's link in N: "tap0" */
	const char *uplink_if; /* N's end of the veth pair: "veth0" */
	uint32_t gateway;      /* network byte order: N's address on guest_if */
	uint32_t guest;        /* network byte order: the guest's only allowed source */
	bool allow_private;    /* blocked holds only extra_block (no private/special ranges) */
	bool dns;              /* udp/tcp 53 to the gateway accepted (a resolver in N) */
	enum nft_mode mode;
	size_t n_allow;
	struct nft_allow allow[NFT_ALLOW_MAX];      /* NFT_MODE_ALLOW only */
	size_t n_names;
	struct nft_allow_name names[NFT_NAMES_MAX]; /* NFT_MODE_ALLOW only */
	size_t n_extra_block;
	struct nft_cidr extra_block[NFT_EXTRA_BLOCK_MAX];
	/*
	 * IPv6. The allow list's CIDRs stay IPv4-only: only the names have IPv6 twins (dyn6_<i>).
	 * blocked6 always holds the special-purpose ranges (link-local, multicast, the ones that
	 * carry IPv4: NAT64, 6to4, Teredo, IPv4-mapped...) and extra_block6; allow_private lifts
	 * only the ULA range fc00::/7.
	 */
	bool ipv6;             /* the guest has IPv6: else IPv6 from it is dropped as before */
	uint8_t gateway6[16];  /* N's address on guest_if (the guest's gateway; fe80::1 too) */
	uint8_t guest6[16];    /* the guest's only allowed IPv6 source */
	size_t n_extra_block6;
	struct nft_cidr6 extra_block6[NFT_EXTRA_BLOCK_MAX]; /* the host's own IPv6 addresses */
};

/* Replace N's table inet arca by the ruleset of c, in one transaction (a previous one of
 * this netns is deleted in the same batch: never two, never none half-way). Of N itself the
 * guest reaches only the resolver (c->dns, IPv4 only), a ping of the gateway and, with
 * c->ipv6, a ping of gateway6 and IPv6 neighbour discovery; its replies to what N opened to
 * it (the --publish proxy's sockets, publish.h) are let in as established. */
int nft_run_apply(const struct nft_run_cfg *c, struct arca_err *e);

/* Let the guest reach addr (network byte order) for ttl_s seconds, clamped to
 * NFT_DYN_TTL_MIN..NFT_DYN_TTL_MAX, on the protocol and port of name entry name_idx (of the
 * applied nft_run_cfg.names): an element of set dyn<name_idx> with that timeout (refreshed
 * when present). For the resolver in N, per answered address of an allowed name and per
 * name entry the name matched. */
int nft_run_allow_addr(size_t name_idx, uint32_t addr, uint32_t ttl_s, struct arca_err *e);

/* As nft_run_allow_addr, for an AAAA answer: an element of set dyn6_<name_idx>. */
int nft_run_allow_addr6(size_t name_idx, const uint8_t addr[16], uint32_t ttl_s,
			struct arca_err *e);

/* The packets counted by the named counter `refused` of N's table. */
int nft_run_counters(uint64_t *refused_packets, struct arca_err *e);

/* Make the host's table ip arca-host for the address pool (idempotent: left alone when it
 * already holds exactly these chains and rules, replaced in one transaction when not).
 * No other table is read or changed. */
int nft_host_ensure(struct nft_cidr pool, struct arca_err *e);

/* Make the host's table ip6 arca-host6 for the IPv6 pool (idempotent, like
 * nft_host_ensure): masquerade of sources in pool6 leaving through any interface but arca*,
 * forward accept from arca* and to arca* for established/related. */
int nft_host_ensure6(struct nft_cidr6 pool6, struct arca_err *e);

/* Delete both host tables (ip arca-host, ip6 arca-host6); 0 for one that is absent. */
int nft_host_remove(struct arca_err *e);

/* Lower level, for the above, `arca doctor` and the tests: send one get or dump request
 * (built with nftnl_nlmsg_build_hdr(); NLM_F_ACK is added) in the caller's netns and pass
 * each reply to cb. -errno from the kernel with e naming `what`. */
int nft_query(struct nlmsghdr *req, mnl_cb_t cb, void *data, const char *what,
	      struct arca_err *e);

#endif
