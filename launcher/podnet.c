/* SPDX-License-Identifier: MIT */
/* See podnet.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <arca/abi.h>

#include "cleanup.h"
#include "netns.h"
#include "podnet.h"
#include "quote.h"
#include "rtnl.h"
#include "tc.h"

#define PODNET_LINKS_MAX 16

struct found {
	struct rtnl_link links[PODNET_LINKS_MAX];
	size_t n;
	bool too_many;
	struct rtnl_addr addr[PODNET_LINKS_MAX]; /* per links[i]: the first IPv4 */
	bool has_addr[PODNET_LINKS_MAX];
	uint32_t gw;
	int gw_oif;
	/* the choice */
	int pick; /* index into links, -1: none */
	int tap_index;
	const char *why;
	int err;
};

static int on_link(const struct rtnl_link *l, void *arg)
{
	struct found *f = arg;
	if (l->flags & IFF_LOOPBACK)
		return 0;
	/* A dump the kernel interrupted is read again: a link seen twice. */
	for (size_t i = 0; i < f->n; i++)
		if (f->links[i].index == l->index)
			return 0;
	if (f->n == PODNET_LINKS_MAX) {
		f->too_many = true;
		return 0;
	}
	f->links[f->n++] = *l;
	return 0;
}

static int on_addr(const struct rtnl_addr *a, void *arg)
{
	struct found *f = arg;
	for (size_t i = 0; i < f->n; i++)
		if (f->links[i].index == a->index && !f->has_addr[i]) {
			f->addr[i] = *a;
			f->has_addr[i] = true;
		}
	return 0;
}

static int on_route(const struct rtnl_route *rt, void *arg)
{
	struct found *f = arg;
	if (rt->plen == 0 && rt->table == RT_TABLE_MAIN && rt->type == RTN_UNICAST && rt->gw &&
	    !f->gw) {
		f->gw = rt->gw;
		f->gw_oif = rt->oif;
	}
	return 0;
}

/* In the pod's netns: its links, addresses and default route, and which
 * interface is the pod's: the default route's, else the only one with an
 * IPv4 address. */
static int look(void *arg)
{
	struct found *f = arg;
	struct rtnl r = { 0 };
	int ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	if ((ret = rtnl_dump_links(&r, on_link, f)) < 0 ||
	    (ret = rtnl_dump_addrs(&r, on_addr, f)) < 0 ||
	    (ret = rtnl_dump_routes(&r, on_route, f)) < 0) {
		rtnl_close(&r);
		return ret;
	}
	rtnl_close(&r);
	f->pick = -1;
	size_t with_addr = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (!f->has_addr[i])
			continue;
		with_addr++;
		if (f->gw && f->links[i].index == f->gw_oif)
			f->pick = (int)i;
	}
	if (f->pick < 0 && with_addr == 1)
		for (size_t i = 0; i < f->n; i++)
			if (f->has_addr[i])
				f->pick = (int)i;
	if (f->pick < 0)
		f->why = with_addr ? "several interfaces have an IPv4 address and none has the "
				     "default route"
				   : "no interface has an IPv4 address";
	else if (!f->links[f->pick].has_mac)
		f->why = "its interface has no Ethernet address";
	else if (!f->gw)
		f->why = "it has no IPv4 default route via a gateway";
	return 0;
}

/* In the pod's netns: the TAP up with the interface's MTU, and the wire. */
static int wire(void *arg)
{
	struct found *f = arg;
	const struct rtnl_link *eth = &f->links[f->pick];
	struct rtnl r = { 0 };
	struct rtnl_link tap;
	int ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	f->why = "the TAP";
	if ((ret = rtnl_link_set(&r, PODNET_TAP_IF, true, eth->mtu)) < 0 ||
	    (ret = rtnl_link_get(&r, PODNET_TAP_IF, &tap)) < 0)
		goto out;
	f->tap_index = tap.index;
	f->why = "an ingress qdisc (sch_ingress)";
	if ((ret = tc_ingress_add(&r, eth->index)) < 0)
		goto out;
	if ((ret = tc_ingress_add(&r, tap.index)) < 0)
		goto undo;
	f->why = "a redirecting filter (cls_u32, act_mirred)";
	if ((ret = tc_redirect_add(&r, eth->index, tap.index)) < 0 ||
	    (ret = tc_redirect_add(&r, tap.index, eth->index)) < 0)
		goto undo;
	f->why = NULL;
	goto out;
undo:
	tc_ingress_del(&r, eth->index);
out:
	rtnl_close(&r);
	return ret;
}

void podnet_init(struct podnet *p)
{
	memset(p, 0, sizeof(*p));
	p->nsfd = -1;
}

static void put_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

int podnet_setup(const char *path, uint32_t dns, struct podnet *p, int *tapfd,
		 struct arca_spec_net *spec, struct arca_err *e)
{
	static struct found f; /* ~2 KiB: not on the stack */
	struct quoted q;
	int r;

	podnet_init(p);
	*tapfd = -1;
	memset(&f, 0, sizeof(f));
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "--net ns=%s", quote(&q, path));
	/* A netns file (nsfs: /run/netns/NAME, /proc/PID/ns/net), not any
	 * file: setns on another kind of namespace would not fail here. */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return arca_error(e, EINVAL, "--net ns=%s: not a network namespace",
				  quote(&q, path));
	if ((r = netns_run(fd, look, &f)) < 0)
		return arca_error_errno(e, -r, "--net ns=%s: reading its links", quote(&q, path));
	if (f.why)
		return arca_error(e, EINVAL, "--net ns=%s: %s", quote(&q, path), f.why);
	const struct rtnl_link *eth = &f.links[f.pick];
	const struct rtnl_addr *a = &f.addr[f.pick];
	if (eth->mtu < ARCA_NET_MTU_MIN || eth->mtu > 65535)
		return arca_error(e, EINVAL, "--net ns=%s: %s has MTU %u", quote(&q, path),
				  eth->name, eth->mtu);
	_cleanup_close_ int tap = -1;
	if ((r = tap_create(fd, PODNET_TAP_IF, &tap)) < 0)
		return arca_error_errno(e, -r, "--net ns=%s: a TAP in it", quote(&q, path));
	if ((r = netns_run(fd, wire, &f)) < 0)
		return arca_error_errno(e, -r, "--net ns=%s: %s", quote(&q, path),
					f.why ? f.why : "wiring its interface");

	memset(spec, 0, sizeof(*spec));
	memcpy(spec->mac, eth->mac, 6);
	spec->mtu = (uint16_t)eth->mtu;
	put_be32(spec->addr, a->addr);
	spec->prefix = a->plen;
	put_be32(spec->gateway, f.gw);
	put_be32(spec->dns, dns);
	p->eth = eth->index;
	snprintf(p->eth_name, sizeof(p->eth_name), "%s", eth->name);
	p->nsfd = steal_fd(&fd);
	*tapfd = steal_fd(&tap);
	return 0;
}

static int unwire(void *arg)
{
	struct podnet *p = arg;
	struct rtnl r = { 0 };
	int ret = rtnl_open(&r);
	if (ret < 0)
		return ret;
	ret = tc_ingress_del(&r, p->eth);
	rtnl_close(&r);
	return ret;
}

void podnet_teardown(struct podnet *p)
{
	if (p->nsfd < 0)
		return;
	(void)netns_run(p->nsfd, unwire, p);
	close(p->nsfd);
	p->nsfd = -1;
}
