/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "dnsproxy.h"
#include "netns.h"
#include "nft.h"
#include "publish.h"
#include "rtnl.h"
#include "runnet.h"

void runnet_init(struct run_net *rn)
{
	memset(rn, 0, sizeof(*rn));
	rn->nr.nsfd = rn->nr.tapfd = rn->nr.lockfd = -1;
	rn->nr.slot = -1;
	podnet_init(&rn->pod);
	rn->dns_fd = -1;
	rn->epfd = -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the host's own addresses: the guest may not reach them ----------- */

struct host_addrs {
	struct nft_cidr *v;
	size_t n, cap;
	bool overflow;
};

static int host_addr_cb(const struct rtnl_addr *a, void *arg)
{
	struct host_addrs *h = arg;
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].addr == htonl(a->addr))
			return 0;
	if (h->n == h->cap) {
		h->overflow = true;
		return 0;
	}
	h->v[h->n++] = (struct nft_cidr){ .addr = htonl(a->addr), .prefix = 32 };
	return 0;
}

/* Every IPv4 address of the host's netns, as /32s. A host with more than
 * fit is refused rather than half-protected: an address left out would be
 * reachable from the guest. */
static int host_addrs_get(struct nft_run_cfg *nc, struct arca_err *e)
{
	struct rtnl r = { 0 };
	struct host_addrs h = { .v = nc->extra_block, .cap = NFT_EXTRA_BLOCK_MAX };
	int err = rtnl_open(&r);
	if (err < 0)
		return arca_error_errno(e, -err, "--net: rtnetlink");
	err = rtnl_dump_addrs(&r, host_addr_cb, &h);
	rtnl_close(&r);
	if (err < 0)
		return arca_error_errno(e, -err, "--net: listing the host's addresses");
	if (h.overflow)
		return arca_error(e, E2BIG,
				  "--net: the host has more than %d IPv4 addresses; arca cannot keep "
				  "the guest from every one of them", NFT_EXTRA_BLOCK_MAX);
	nc->n_extra_block = h.n;
	return 0;
}

struct host_addrs6 {
	struct nft_cidr6 *v;
	size_t n, cap;
	bool overflow;
};

static int host_addr6_cb(const struct rtnl_addr6 *a, void *arg)
{
	struct host_addrs6 *h = arg;
	/* Link-local ones are in blocked6 whole (fe80::/10). */
	if (a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80)
		return 0;
	for (size_t i = 0; i < h->n; i++)
		if (!memcmp(h->v[i].addr, a->addr, 16))
			return 0;
	if (h->n == h->cap) {
		h->overflow = true;
		return 0;
	}
	memcpy(h->v[h->n].addr, a->addr, 16);
	h->v[h->n++].prefix = 128;
	return 0;
}

/* The host's IPv6 addresses, as /128s, for a guest with IPv6: refused as
 * the IPv4 ones are. */
static int host_addrs6_get(struct nft_run_cfg *nc, struct arca_err *e)
{
	struct rtnl r = { 0 };
	struct host_addrs6 h = { .v = nc->extra_block6, .cap = NFT_EXTRA_BLOCK_MAX };
	int err = rtnl_open(&r);
	if (err < 0)
		return arca_error_errno(e, -err, "--net: rtnetlink");
	err = rtnl_dump_addrs6(&r, host_addr6_cb, &h);
	rtnl_close(&r);
	if (err < 0)
		return arca_error_errno(e, -err, "--net: listing the host's IPv6 addresses");
	if (h.overflow)
		return arca_error(e, E2BIG,
				  "--net: the host has more than %d IPv6 addresses; arca cannot keep "
				  "the guest from every one of them", NFT_EXTRA_BLOCK_MAX);
	nc->n_extra_block6 = h.n;
	return 0;
}

/* ---- calls made inside N ------------------------------------------------ */

struct in_ns {
	const struct nft_run_cfg *nc;
	uint32_t addr, ttl;
	const uint8_t *addr6; /* ns_allow6 */
	size_t name_idx;
	uint64_t counter;
	struct arca_err *e;
	int fd;
	uint32_t gw; /* host byte order */
};

static int ns_apply(void *arg)
{
	struct in_ns *x = arg;
	return nft_run_apply(x->nc, x->e);
}

static int ns_allow(void *arg)
{
	struct in_ns *x = arg;
	return nft_run_allow_addr(x->name_idx, x->addr, x->ttl, x->e);
}

static int ns_allow6(void *arg)
{
	struct in_ns *x = arg;
	return nft_run_allow_addr6(x->name_idx, x->addr6, x->ttl, x->e);
}

static int ns_counter(void *arg)
{
	struct in_ns *x = arg;
	return nft_run_counters(&x->counter, x->e);
}

/* The relay's guest-facing socket: UDP gateway:53, in N (a socket keeps
 * the namespace it was made in). */
static int ns_dns_socket(void *arg)
{
	struct in_ns *x = arg;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(x->gw) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	x->fd = fd;
	return 0;
}

/* An allowed name (entry name_idx of the allow list) resolved to addr: let
 * the guest reach it for the TTL, on that entry's port. Called by the relay
 * before it passes the answer on. */
static void on_dns_addr(void *opaque, size_t name_idx, uint32_t addr_be, uint32_t ttl)
{
	struct run_net *rn = opaque;
	struct arca_err e = { 0 };
	struct in_ns x = { .addr = addr_be, .ttl = ttl, .name_idx = name_idx, .e = &e };
	if (netns_run(rn->nr.nsfd, ns_allow, &x) < 0)
		rn->dyn_failed++;
	else
		rn->dyn_added++;
}

/* The same for an AAAA answer, when the guest has IPv6. */
static void on_dns_addr6(void *opaque, size_t name_idx, const uint8_t addr[16], uint32_t ttl)
{
	struct run_net *rn = opaque;
	struct arca_err e = { 0 };
	struct in_ns x = { .addr6 = addr, .ttl = ttl, .name_idx = name_idx, .e = &e };
	if (netns_run(rn->nr.nsfd, ns_allow6, &x) < 0)
		rn->dyn_failed++;
	else
		rn->dyn_added++;
}

static void nft_cfg_from(struct nft_run_cfg *nc, const struct netcfg *c, const struct net_plan *p)
{
	memset(nc, 0, sizeof(*nc));
	nc->guest_if = NET_TAP_IF;
	nc->uplink_if = NET_NS_IF;
	nc->gateway = htonl(p->gw);
	nc->guest = htonl(p->guest);
	nc->allow_private = c->allow_private;
	nc->dns = true;
	nc->mode = c->mode == NET_ALLOW ? NFT_MODE_ALLOW : NFT_MODE_NAT;
	for (size_t i = 0; i < c->ndests && i < NFT_ALLOW_MAX; i++) {
		nc->allow[i] = (struct nft_allow){
			.dst = { .addr = htonl(c->dests[i].cidr.addr), .prefix = c->dests[i].cidr.plen },
			.proto = c->dests[i].proto == IPPROTO_TCP   ? NFT_PROTO_TCP
				 : c->dests[i].proto == IPPROTO_UDP ? NFT_PROTO_UDP
								    : NFT_PROTO_ANY,
			.port = c->dests[i].port,
		};
		nc->n_allow++;
	}
	/* Entry i's addresses go to set dyn<i>: the relay's name_idx is i. */
	for (size_t i = 0; nc->mode == NFT_MODE_ALLOW && i < c->nnames; i++) {
		nc->names[i] = (struct nft_allow_name){
			.proto = c->names[i].proto == IPPROTO_TCP   ? NFT_PROTO_TCP
				 : c->names[i].proto == IPPROTO_UDP ? NFT_PROTO_UDP
								    : NFT_PROTO_ANY,
			.port = c->names[i].port,
		};
		nc->n_names++;
	}
}

/* One epoll set for the supervisor's poll: the relay's sockets and the
 * proxy's epoll fd (itself a set: one fd however many connections). */
static int poll_set_make(struct run_net *rn, struct arca_err *e)
{
	int fds[DNSPROXY_FDS_MAX + 1];
	size_t n = dnsproxy_fds(rn->dns, fds, DNSPROXY_FDS_MAX);
	if (rn->pub)
		fds[n++] = publish_fd(rn->pub);
	rn->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rn->epfd < 0)
		return arca_error_errno(e, errno, "--net: epoll_create1");
	for (size_t i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
		if (epoll_ctl(rn->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			return arca_error_errno(e, errno, "--net: epoll_ctl");
	}
	return 0;
}

int runnet_setup(struct run_net *rn, const struct netcfg *c, const struct net_publishes *pub,
		 struct arca_spec_net *spec, struct arca_spec_net6 *spec6, int *has_net6,
		 char *notes, size_t notes_cap, struct arca_err *e)
{
	int r;
	if (notes && notes_cap)
		notes[0] = '\0';
	if (c->mode == NET_NONE)
		return 0;
	if (c->mode == NET_POD) {
		/* Another's netns, wired to the guest: no slot, no tables, no
		 * relay (podnet.h). nr holds only the TAP, for the VMM. */
		if (pub && pub->n)
			return arca_error(e, EINVAL, "--publish is not for --net ns= (the "
					  "namespace's owner publishes its ports)");
		if ((r = podnet_setup(c->ns_path, c->ns_dns, &rn->pod, &rn->nr.tapfd, spec, e)) < 0)
			return r;
		rn->nr.armed = true;
		rn->up = true;
		return 0;
	}
	/* NET_DESTS_MAX and NFT_ALLOW_MAX are both 64: nothing is cut. */
	_Static_assert(NET_DESTS_MAX <= NFT_ALLOW_MAX, "allow list bounds");
	_Static_assert(NET_NAMES_MAX <= NFT_NAMES_MAX, "allowed names bounds");

	if ((r = net_setup(c, &rn->nr, e)) < 0)
		return r;
	if (rn->nr.host_forward_set && notes)
		snprintf(notes, notes_cap, "arca: --net: the host's net.ipv4.ip_forward was 0; "
			 "arca set it to 1 (it stays so)\n");

	/* The host's shared table: the pool masqueraded out, forwarding to and
	 * from arca's links. */
	struct nft_cidr pool = { .addr = htonl(c->pool.addr), .prefix = c->pool.plen };
	if ((r = nft_host_ensure(pool, e)) < 0)
		return r;

	/* N's own table: what the guest may reach. */
	static struct nft_run_cfg nc; /* a few KiB: not on the stack */
	nft_cfg_from(&nc, c, &rn->nr.plan);
	if ((r = host_addrs_get(&nc, e)) < 0)
		return r;
	if (rn->nr.v6) {
		/* The host's table for IPv6: the ULA /48 masqueraded out. */
		struct nft_cidr6 pool6 = { .prefix = NET6_POOL_PREFIX };
		memcpy(pool6.addr, net6_pool, 16);
		if ((r = nft_host_ensure6(pool6, e)) < 0)
			return r;
		nc.ipv6 = true;
		memcpy(nc.gateway6, rn->nr.plan6.gw, 16);
		memcpy(nc.guest6, rn->nr.plan6.guest, 16);
		if ((r = host_addrs6_get(&nc, e)) < 0)
			return r;
	}
	struct in_ns x = { .nc = &nc, .e = e, .fd = -1, .gw = rn->nr.plan.gw };
	if ((r = netns_run(rn->nr.nsfd, ns_apply, &x)) < 0) {
		if (!e->msg[0])
			arca_error_errno(e, -r, "--net: entering the run's network namespace");
		return r;
	}

	/* The DNS relay: its guest side in N, its upstream side here. */
	if ((r = netns_run(rn->nr.nsfd, ns_dns_socket, &x)) < 0)
		return arca_error_errno(e, -r, "--net: the DNS relay's socket on the gateway");
	rn->dns_fd = x.fd;
	for (size_t i = 0; i < c->nnames; i++)
		rn->names[i] = c->names[i].name;
	struct dnsproxy_cfg dc = {
		.guest_fd = rn->dns_fd,
		.mode = c->mode == NET_ALLOW ? DNSPROXY_NAMES : DNSPROXY_OPEN,
		.names = rn->names,
		.n_names = c->nnames,
		.on_addr = on_dns_addr,
		.on_addr6 = rn->nr.v6 ? on_dns_addr6 : NULL,
		.opaque = rn,
	};
	if ((r = dnsproxy_new(&dc, &rn->dns, e)) < 0)
		return r;

	/* --publish: bound here, in the host's netns; each connection's
	 * guest side is made in N when it comes. */
	if (pub && pub->n) {
		struct publish_cfg pc = { .pub = pub, .nsfd = rn->nr.nsfd,
					  .guest = rn->nr.plan.guest };
		if ((r = publish_new(&pc, &rn->pub, e)) < 0)
			return r;
	}
	if ((r = poll_set_make(rn, e)) < 0)
		return r;

	memset(spec, 0, sizeof(*spec));
	memcpy(spec->mac, rn->nr.mac, sizeof(spec->mac));
	spec->mtu = (uint16_t)rn->nr.mtu;
	uint32_t a = htonl(rn->nr.plan.guest), g = htonl(rn->nr.plan.gw);
	memcpy(spec->addr, &a, 4);
	memcpy(spec->gateway, &g, 4);
	memcpy(spec->dns, &g, 4);
	spec->prefix = rn->nr.plan.prefix;
	memset(spec6, 0, sizeof(*spec6));
	*has_net6 = rn->nr.v6;
	if (rn->nr.v6) {
		memcpy(spec6->addr, rn->nr.plan6.guest, 16);
		memcpy(spec6->gateway, rn->nr.plan6.gw, 16);
		spec6->prefix = rn->nr.plan6.prefix;
	}
	rn->up = true;
	return 0;
}

bool runnet_published(const struct run_net *rn, size_t i, char *buf, size_t cap)
{
	char what[80];
	if (!publish_describe(rn->pub, i, what, sizeof(what)))
		return false;
	snprintf(buf, cap, "arca: net: published %s\n", what);
	return true;
}

size_t runnet_pollfds(struct run_net *rn, struct pollfd *p, size_t cap)
{
	if (rn->epfd < 0 || cap < 1)
		return 0;
	p[0] = (struct pollfd){ .fd = rn->epfd, .events = POLLIN };
	return 1;
}

void runnet_handle(struct run_net *rn, const struct pollfd *p, size_t n)
{
	(void)p;
	(void)n;
	if (rn->epfd < 0)
		return;
	/* Whatever poll said: the set knows which fds are ready, and timers
	 * run on a timeout too. */
	struct epoll_event ev[DNSPROXY_FDS_MAX + 1];
	int k = epoll_wait(rn->epfd, ev, (int)ARRAY_SIZE(ev), 0);
	for (int i = 0; i < k; i++)
		if (ev[i].data.fd != publish_fd(rn->pub))
			dnsproxy_on_readable(rn->dns, ev[i].data.fd, now_ms());
	(void)dnsproxy_tick(rn->dns, now_ms());
	publish_handle(rn->pub, now_ms());
}

int runnet_timeout_ms(struct run_net *rn)
{
	if (rn->epfd < 0)
		return -1;
	int t = dnsproxy_tick(rn->dns, now_ms()), tp = publish_timeout_ms(rn->pub, now_ms());
	return tp >= 0 && (t < 0 || tp < t) ? tp : t;
}

void runnet_summary(struct run_net *rn, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (!rn->up || rn->pod.nsfd >= 0) /* ns=: nothing of arca's to count */
		return;
	struct arca_err e = { 0 };
	struct in_ns x = { .e = &e };
	int r = netns_run(rn->nr.nsfd, ns_counter, &x);
	struct dnsproxy_stats st = { 0 };
	if (rn->dns)
		dnsproxy_stats(rn->dns, &st);
	char refused[32];
	if (r < 0)
		snprintf(refused, sizeof(refused), "?");
	else
		snprintf(refused, sizeof(refused), "%llu", (unsigned long long)x.counter);
	snprintf(buf, cap,
		 "arca: net: refused %s packets; DNS: %llu forwarded, %llu refused, %llu malformed, "
		 "%llu timed out; %llu addresses allowed by name\n",
		 refused, (unsigned long long)st.forwarded, (unsigned long long)st.refused,
		 (unsigned long long)st.malformed, (unsigned long long)st.timed_out,
		 (unsigned long long)rn->dyn_added);
	if (rn->pub) {
		struct publish_stats ps;
		publish_stats(rn->pub, &ps);
		size_t len = strlen(buf);
		snprintf(buf + len, cap - len,
			 "arca: net: published ports: %llu TCP connections (%llu refused at the "
			 "limit of %u, %llu failed), %llu UDP flows (%llu datagrams dropped)\n",
			 (unsigned long long)ps.tcp_accepted, (unsigned long long)ps.tcp_refused_cap,
			 PUBLISH_CONNS_MAX, (unsigned long long)ps.tcp_failed,
			 (unsigned long long)ps.udp_flows, (unsigned long long)ps.udp_dropped);
	}
}

void runnet_free(struct run_net *rn)
{
	if (rn->epfd >= 0)
		close(rn->epfd);
	rn->epfd = -1;
	publish_free(rn->pub);
	rn->pub = NULL;
	dnsproxy_free(rn->dns);
	rn->dns = NULL;
	if (rn->dns_fd >= 0)
		close(rn->dns_fd);
	rn->dns_fd = -1;
	podnet_teardown(&rn->pod);
	net_teardown(&rn->nr);
	rn->up = false;
}
