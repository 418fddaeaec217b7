/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink over libmnl: the few link, address and route operations a
 * run's network needs, and the dumps of the host's routes for the pool's
 * collision check. Nothing here runs `ip`.
 *
 * Building a request is pure (rtnl_msg_*: into the caller's buffer, NULL
 * when it does not fit), so tests parse it back with libmnl; sending
 * (rtnl_*) adds NLM_F_ACK, waits for the answer and turns NLMSG_ERROR into
 * its -errno. A netlink socket acts on the network namespace it was opened
 * in, whatever namespace its user is in later: one struct rtnl per netns.
 * Addresses are in host byte order, as in netcfg.h.
 */
#ifndef ARCA_RTNL_H
#define ARCA_RTNL_H

#include <linux/netlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTNL_MSG_MAX 1024 /* a request built here fits this */

struct mnl_socket;

struct rtnl {
	struct mnl_socket *nl; /* NULL: closed */
	uint32_t portid;
	uint32_t seq;
	unsigned dumps_redone; /* dumps the kernel interrupted and we asked again */
};

struct rtnl_link {
	int index;
	char name[IF_NAMESIZE];
	char kind[16];      /* IFLA_INFO_KIND ("veth", "tun"); "" when none */
	unsigned flags;     /* IFF_* */
	unsigned mtu;
	int link_netnsid;   /* a veth's peer netns as this netns numbers it; -1: none */
	bool has_mac;       /* IFLA_ADDRESS was an Ethernet address */
	uint8_t mac[6];
};

struct rtnl_addr {
	int index;
	uint32_t addr;
	uint8_t plen;
};

struct rtnl_route {
	uint32_t dst;
	uint8_t plen;
	uint32_t gw;        /* 0: none */
	int oif;            /* 0: none (multipath: the first hop's) */
	uint32_t table;
	uint8_t type;       /* RTN_* */
};

/* IPv6 (16 bytes, network order, as netcfg.h holds them). */
struct rtnl_addr6 {
	int index;
	uint8_t addr[16];
	uint8_t plen;
	uint8_t scope;      /* RT_SCOPE_*: link-local addresses are RT_SCOPE_LINK */
};

struct rtnl_route6 {
	uint8_t dst[16];
	uint8_t plen;
	bool has_gw;
	uint8_t gw[16];
	int oif;
	uint32_t table;
	uint8_t type;       /* RTN_* */
};

/* ---- building (pure) ---- */

/* A veth pair: name here, peer moved into the netns of peer_nsfd (-1:
 * stays here). NLM_F_EXCL: -EEXIST when name is taken. */
struct nlmsghdr *rtnl_msg_veth_add(void *buf, size_t cap, const char *name, const char *peer,
				   int peer_nsfd, unsigned mtu);
/* Set a link up (or leave its state) and its MTU (0: unchanged), by name. */
struct nlmsghdr *rtnl_msg_link_set(void *buf, size_t cap, const char *name, bool up,
				   unsigned mtu);
struct nlmsghdr *rtnl_msg_link_del(void *buf, size_t cap, const char *name);
struct nlmsghdr *rtnl_msg_link_get(void *buf, size_t cap, const char *name);
struct nlmsghdr *rtnl_msg_addr_add(void *buf, size_t cap, int ifindex, uint32_t addr,
				   uint8_t plen);
/* The main table's IPv4 default route via gw out of oif. */
struct nlmsghdr *rtnl_msg_route_default(void *buf, size_t cap, uint32_t gw, int oif);
/* A dump request: RTM_GETLINK, RTM_GETADDR or RTM_GETROUTE (AF_INET). */
struct nlmsghdr *rtnl_msg_dump(void *buf, size_t cap, uint16_t type);
/* IPv6: an address with IFA_F_NODAD (usable at once: no Duplicate Address
 * Detection on links arca alone made); a route to dst/plen via gw (NULL:
 * none, on-link) out of oif in the main table; a dump of RTM_GETADDR or
 * RTM_GETROUTE for AF_INET6. */
struct nlmsghdr *rtnl_msg_addr_add6(void *buf, size_t cap, int ifindex, const uint8_t addr[16],
				    uint8_t plen);
struct nlmsghdr *rtnl_msg_route_add6(void *buf, size_t cap, const uint8_t dst[16], uint8_t plen,
				     const uint8_t *gw, int oif);
struct nlmsghdr *rtnl_msg_dump6(void *buf, size_t cap, uint16_t type);

/* ---- parsing an answer (pure): -EINVAL when nlh is not of that kind ---- */
int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out);
int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out);
int rtnl_parse_route(const struct nlmsghdr *nlh, struct rtnl_route *out);
int rtnl_parse_addr6(const struct nlmsghdr *nlh, struct rtnl_addr6 *out);
int rtnl_parse_route6(const struct nlmsghdr *nlh, struct rtnl_route6 *out);

/* ---- sending ---- */

/* A NETLINK_ROUTE socket in the calling thread's current netns. */
int rtnl_open(struct rtnl *r);
void rtnl_close(struct rtnl *r);

/* Send nlh (built above, not a dump) with NLM_F_ACK, wait for the
 * answer: 0, the kernel's -errno, or -EMSGSIZE for a NULL nlh (a request
 * that did not fit its buffer). */
int rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh);

int rtnl_veth_add(struct rtnl *r, const char *name, const char *peer, int peer_nsfd,
		  unsigned mtu);
int rtnl_link_set(struct rtnl *r, const char *name, bool up, unsigned mtu);
int rtnl_link_del(struct rtnl *r, const char *name);
/* -ENODEV when there is no such link. */
int rtnl_link_get(struct rtnl *r, const char *name, struct rtnl_link *out);
bool rtnl_link_exists(struct rtnl *r, const char *name);
int rtnl_addr_add(struct rtnl *r, int ifindex, uint32_t addr, uint8_t plen);
int rtnl_route_add_default(struct rtnl *r, uint32_t gw, int oif);
int rtnl_addr_add6(struct rtnl *r, int ifindex, const uint8_t addr[16], uint8_t plen);
int rtnl_route_add6(struct rtnl *r, const uint8_t dst[16], uint8_t plen, const uint8_t *gw,
		    int oif);

/* Dumps: fn is called for each entry; a negative return is kept (the first
 * one) and returned once the dump has been read to its end. A dump the
 * kernel marks interrupted (NLM_F_DUMP_INTR: the table changed under it) is
 * read to its end and asked again, up to 8 times (then -EINTR): fn sees the
 * entries of every pass, so it must take an entry twice. */
typedef int (*rtnl_link_fn)(const struct rtnl_link *l, void *arg);
typedef int (*rtnl_addr_fn)(const struct rtnl_addr *a, void *arg);
typedef int (*rtnl_route_fn)(const struct rtnl_route *rt, void *arg);
int rtnl_dump_links(struct rtnl *r, rtnl_link_fn fn, void *arg);
int rtnl_dump_addrs(struct rtnl *r, rtnl_addr_fn fn, void *arg);
int rtnl_dump_routes(struct rtnl *r, rtnl_route_fn fn, void *arg);
typedef int (*rtnl_addr6_fn)(const struct rtnl_addr6 *a, void *arg);
typedef int (*rtnl_route6_fn)(const struct rtnl_route6 *rt, void *arg);
int rtnl_dump_addrs6(struct rtnl *r, rtnl_addr6_fn fn, void *arg);
int rtnl_dump_routes6(struct rtnl *r, rtnl_route6_fn fn, void *arg);

#endif
