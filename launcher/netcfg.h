/* SPDX-License-Identifier: MIT */
/*
 * --net and --publish: what the user asked for, parsed (pure: no system
 * call, so every message is tested in tests/unit/test_net.c), and the
 * address arithmetic of the run's pool.
 *
 *   --net none
 *   --net nat[,allow-private][,pool=CIDR]
 *   --net allow=DEST[,DEST...][,allow-private][,pool=CIDR]
 *     DEST = CIDR[:PORT[/tcp|/udp]]       IPv4, a bare address is a /32
 *          | HOSTNAME[:PORT[/tcp|/udp]]   RFC 1123, at most 253 bytes
 *   --publish [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]
 *
 * The pool (default 10.213.0.0/16) is cut into /29 slots, one per run:
 *   slot s = pool + 8*s:  .1/30 gateway (tap0 in the run's netns)
 *                         .2/30 the guest
 *                         .5/30 the veth's host end (arca<s>)
 *                         .6/30 the veth's end in the run's netns (veth0)
 * Addresses are held in host byte order here; rtnl.c converts.
 *
 * IPv6 (where the host has it, runnet.h says when): slot s also gets the
 * /64 NET6_POOL:s::/64 of arca's own unique-local /48 (RFC 4193), whatever
 * the IPv4 pool: ::1 on tap0 (the guest's gateway), ::2 the guest. The veth
 * carries IPv6 on fixed link-local addresses, fe80::1 the host's end and
 * fe80::2 N's: the host routes the slot's /64 to N's end, N's default route
 * is the host's end. IPv6 addresses are 16 bytes in network order.
 */
#ifndef ARCA_NETCFG_H
#define ARCA_NETCFG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define NET_DESTS_MAX 64      /* allow= CIDR destinations */
#define NET_NAMES_MAX 64      /* allow= host-name destinations */
#define NET_NAME_MAX 253      /* RFC 1123 host name, bytes */
#define NET_PUBLISH_MAX 32    /* --publish, at most */
#define NET_POOL_DEFAULT "10.213.0.0/16"
#define NET_SLOT_SIZE 8u      /* addresses per slot: a /29 */
#define NET_SLOT_PREFIX 30    /* each of the slot's two links is a /30 */
#define NET_HOST_IF_PREFIX "arca" /* the veth's host end: arca<slot> */
#define NET_MTU 1500u

/* NET_POD: ns=PATH[,dns=IPV4]: the guest takes over the one interface of
 * an existing network namespace (podnet.h). */
enum net_mode { NET_NONE, NET_NAT, NET_ALLOW, NET_POD };
#define NET_NS_PATH_MAX 256

struct net_cidr {
	uint32_t addr; /* host byte order, host bits clear */
	uint8_t plen;  /* 0..32 */
};

/* A destination's port filter: port 0 = every port; proto 0 = tcp and
 * udp, else IPPROTO_TCP or IPPROTO_UDP (only with a port). */
struct net_dest {
	struct net_cidr cidr;
	uint16_t port;
	uint8_t proto;
};

struct net_name_dest {
	char name[NET_NAME_MAX + 1]; /* lower case, no trailing dot */
	uint16_t port;
	uint8_t proto;
};

struct netcfg {
	enum net_mode mode;
	bool allow_private;  /* the private ranges (netcfg_private) are reachable */
	struct net_cidr pool;
	struct net_dest dests[NET_DESTS_MAX];
	size_t ndests;
	struct net_name_dest names[NET_NAMES_MAX];
	size_t nnames;
	char ns_path[NET_NS_PATH_MAX]; /* NET_POD: the netns file, absolute */
	uint32_t ns_dns;     /* NET_POD: the guest's resolver (host order); 0: none */
	/* Where net_setup() keeps its slot locks; NULL: NET_STATE_DIR (net.h).
	 * Not set by the parser: tests point it at a temporary directory. */
	const char *state_dir;
};

struct net_publish {
	uint32_t host_ip;    /* host byte order; 0: every address */
	uint16_t host_port;
	uint16_t guest_port;
	uint8_t proto;       /* IPPROTO_TCP (default) or IPPROTO_UDP */
};

struct net_publishes {
	struct net_publish v[NET_PUBLISH_MAX];
	size_t n;
};

/* The addresses of one slot (host byte order). */
struct net_plan {
	uint32_t gw;      /* tap0: the guest's gateway */
	uint32_t guest;   /* the guest's own address */
	uint32_t host;    /* arca<slot>, the host's end of the veth */
	uint32_t nsveth;  /* veth0, the run netns' end */
	uint8_t prefix;   /* NET_SLOT_PREFIX */
};

/* The IPv6 addresses of one slot (network order). */
#define NET6_SLOT_PREFIX 64
#define NET6_POOL_PREFIX 48
#define NET6_SLOTS 65536u  /* one /64 each in the /48 */
struct net_plan6 {
	uint8_t net[16];   /* the slot's /64 */
	uint8_t gw[16];    /* tap0: ::1 */
	uint8_t guest[16]; /* ::2 */
	uint8_t prefix;    /* NET6_SLOT_PREFIX */
};
/* fd61:7263:6100::/48 ("arca" in the ULA's global ID), and the veth's two
 * link-local ends. */
extern const uint8_t net6_pool[16];
extern const uint8_t net6_link_host[16]; /* fe80::1 */
extern const uint8_t net6_link_ns[16];   /* fe80::2 */

/* A route or an address of the host (as a network and a prefix), with the
 * name of its link ("" when it has none: a blackhole, a multipath route). */
struct net_route {
	struct net_cidr dst;
	char dev[IF_NAMESIZE];
};

/* netcfg's defaults: NET_NONE, the default pool. */
void netcfg_init(struct netcfg *c);

/* --net VALUE into c (netcfg_init'ed first). -EINVAL with one line
 * naming the bad part: "--net: bad address '10.0.0.300/8' in allow=". */
int netcfg_parse(struct netcfg *c, const char *value, struct arca_err *e);

/* One --publish value, appended to p; a host port (and protocol) published
 * twice on overlapping addresses is refused. -EINVAL with one line. */
int netcfg_add_publish(struct net_publishes *p, const char *value, struct arca_err *e);

/* "a.b.c.d" (strict: four decimal parts, no leading zeros) into host byte
 * order; "a.b.c.d/n" with netcfg_parse_cidr (a bare address is a /32; host
 * bits set are cleared when mask_host is set, refused otherwise). */
bool netcfg_parse_ipv4(const char *s, size_t len, uint32_t *out);
bool netcfg_parse_cidr(const char *s, size_t len, bool mask_host, struct net_cidr *out);

/* "a.b.c.d" / "a.b.c.d/n" into buf (at least 19 bytes). */
const char *netcfg_ipv4_str(uint32_t addr, char *buf, size_t cap);
const char *netcfg_cidr_str(const struct net_cidr *c, char *buf, size_t cap);

/* The netmask of a prefix length, host byte order. */
uint32_t netcfg_mask(uint8_t plen);
/* Whether a and b share an address. */
bool netcfg_cidr_overlap(const struct net_cidr *a, const struct net_cidr *b);

/* How many slots the pool holds; slot's addresses (-ERANGE past the end). */
uint32_t netcfg_pool_slots(const struct net_cidr *pool);
int netcfg_slot_plan(const struct net_cidr *pool, uint32_t slot, struct net_plan *plan);

/* Slot's IPv6 addresses: -ERANGE for slot >= NET6_SLOTS (such a run gets
 * no IPv6). */
int netcfg_slot_plan6(uint32_t slot, struct net_plan6 *plan);
/* An IPv6 address as inet_ntop writes it, into buf (at least 46 bytes). */
const char *netcfg_ipv6_str(const uint8_t a[16], char *buf, size_t cap);

/* Whether pool overlaps one of the host's routes or addresses, leaving out
 * the default route (it covers everything and collides with nothing) and
 * the links of arca's own runs (NET_HOST_IF_PREFIX followed by digits).
 * *which: the index of the first collision. */
bool netcfg_pool_collides(const struct net_cidr *pool, const struct net_route *routes, size_t n,
			  size_t *which);
/* Whether name is one of arca's host links: "arca" then 1..10 digits; *slot
 * its number. */
bool netcfg_is_host_if(const char *name, uint32_t *slot);

/* The ranges a guest may not reach unless allow-private is given: RFC 6890
 * special-purpose space and the host's private networks (RFC 1918, CGNAT,
 * link-local with the clouds' metadata services, loopback, multicast). */
extern const struct net_cidr netcfg_private[];
extern const size_t netcfg_private_count;

#endif
