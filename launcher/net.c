/* SPDX-License-Identifier: MIT */
/*
 * A run's network namespace, veth pair and TAP (see net.h): the pool's
 * collision check, slot locks, set-up, teardown and gc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "net.h"
#include "netns.h"
#include "paths.h"
#include "rtnl.h"

static void rtnl_closep(struct rtnl *r)
{
	rtnl_close(r);
}
#define _cleanup_rtnl_ __attribute__((cleanup(rtnl_closep)))

/* ---- the host's links, by index --------------------------------------------------- */

struct links {
	struct rtnl_link *v;
	size_t n, cap;
};

static int links_add(const struct rtnl_link *l, void *arg)
{
	struct links *ls = arg;
	/* A dump asked again (rtnl.h) lists a link twice. */
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].index == l->index)
			return 0;
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? ls->cap * 2 : 32;
		struct rtnl_link *v = realloc(ls->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = *l;
	return 0;
}

static const char *links_name(const struct links *ls, int index)
{
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].index == index)
			return ls->v[i].name;
	return "";
}

/* ---- the pool against the host's routes and addresses --------------------------- */

struct collide_ctx {
	const struct net_cidr *pool;
	const struct links *links;
	bool hit;
	bool unknown; /* a route or address on a link the dump did not list */
	struct net_route which;
	const char *what;
};

static void collide_check(struct collide_ctx *c, struct net_cidr dst, int index, const char *what)
{
	struct net_route nr = { .dst = dst };
	if (c->hit)
		return;
	snprintf(nr.dev, sizeof(nr.dev), "%s", links_name(c->links, index));
	/* A link made (or removed) since the links were listed: another run's
	 * arca<slot> coming or going. Not a collision to report from a stale
	 * list: the caller lists again. */
	if (index > 0 && !nr.dev[0]) {
		if (netcfg_pool_collides(c->pool, &nr, 1, NULL))
			c->unknown = true;
		return;
	}
	if (netcfg_pool_collides(c->pool, &nr, 1, NULL)) {
		c->hit = true;
		c->which = nr;
		c->what = what;
	}
}

static int collide_route(const struct rtnl_route *rt, void *arg)
{
	collide_check(arg, (struct net_cidr){ rt->dst & netcfg_mask(rt->plen), rt->plen }, rt->oif,
		      "route");
	return 0;
}

/* The address as `ip addr` shows it (10.213.7.1/24): overlap masks both. */
static int collide_addr(const struct rtnl_addr *a, void *arg)
{
	collide_check(arg, (struct net_cidr){ a->addr, a->plen }, a->index, "address");
	return 0;
}

static int check_pool(struct rtnl *host, const struct net_cidr *pool, struct arca_err *e)
{
	struct collide_ctx c;
	char pb[32], rb[32];
	int r;

	/* Runs in parallel add and remove their links while we look: a route
	 * on a link the list does not have yet (or any more) is looked at
	 * again with a fresh list, a few times, then let go (its link is
	 * gone, or it is an arca<slot> whose name the next list gives). */
	for (int tries = 0; tries < 4; tries++) {
		struct links ls = { 0 };
		c = (struct collide_ctx){ .pool = pool, .links = &ls };
		/* Addresses first: each brings routes of its own (local,
		 * connected), and the address is what a person recognizes. */
		if ((r = rtnl_dump_links(host, links_add, &ls)) < 0 ||
		    (r = rtnl_dump_addrs(host, collide_addr, &c)) < 0 ||
		    (r = rtnl_dump_routes(host, collide_route, &c)) < 0) {
			free(ls.v);
			return arca_error_errno(e, -r, "--net: cannot read the host's routes");
		}
		free(ls.v);
		if (c.hit || !c.unknown)
			break;
	}
	if (c.hit)
		return arca_error(e, EADDRINUSE,
				  "--net: address pool %s collides with host %s %s on dev %s (choose another with pool=CIDR)",
				  netcfg_cidr_str(pool, pb, sizeof(pb)), c.what,
				  netcfg_cidr_str(&c.which.dst, rb, sizeof(rb)),
				  c.which.dev[0] ? c.which.dev : "(none)");
	return 0;
}

/* ---- slot locks ------------------------------------------------------------------ */

/* Lock dir/<slot> without waiting: 0 with the fd, -EWOULDBLOCK when a live
 * run holds it. The file may be unlinked (by gc or a teardown, each while
 * holding the lock) between our open and our flock: then the lock we got
 * is on a file nobody else will look at, so open again. */
static int slot_lock(const char *dir, uint32_t slot, char *path, size_t cap, int *out)
{
	if ((size_t)snprintf(path, cap, "%s/%u", dir, slot) >= cap)
		return -ENAMETOOLONG;
	for (int tries = 0; tries < 16; tries++) {
		_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		struct stat a, b;
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			return errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		if (fstat(fd, &a) < 0)
			return -errno;
		if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			*out = steal_fd(&fd);
			return 0;
		}
	}
	return -EWOULDBLOCK;
}

/* Who holds the slot, for a person looking at STATE_DIR (gc goes by the
 * lock, not by this). */
static void slot_note(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	/* Only a note: the lock is what counts, a failed write is ignored. */
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, buf, (size_t)n, 0);
}

static const char *state_dir(const char *dir)
{
	return dir && *dir ? dir : NET_STATE_DIR;
}

/* ---- set-up ---------------------------------------------------------------------- */

struct open_ctx {
	struct rtnl *r;
};

static int open_in(void *arg)
{
	return rtnl_open(((struct open_ctx *)arg)->r);
}

static int link_index(struct rtnl *r, const char *name, int *index)
{
	struct rtnl_link l;
	int ret = rtnl_link_get(r, name, &l);
	if (ret == 0)
		*index = l.index;
	return ret;
}

/* The slot: the first, from a random one on, whose lock is free and whose
 * host link name is not taken. The link's creation is what takes it
 * (NLM_F_EXCL); the lock (taken first) tells gc that its owner lives. */
static int take_slot(const struct netcfg *c, struct rtnl *host, struct net_run *out,
		     struct arca_err *e)
{
	const char *dir = state_dir(c->state_dir);
	uint32_t slots = netcfg_pool_slots(&c->pool), start;
	char pb[32];
	int r;

	if ((r = paths_mkdir_p(dir, 0700)) < 0)
		return arca_error_errno(e, -r, "--net: cannot create %s", dir);
	if (getrandom(&start, sizeof(start), 0) != (ssize_t)sizeof(start))
		return arca_error_errno(e, errno, "getrandom");
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t s = (start + i) % slots;
		char name[IF_NAMESIZE];
		_cleanup_close_ int lock = -1;

		r = slot_lock(dir, s, out->lock_path, sizeof(out->lock_path), &lock);
		if (r == -EWOULDBLOCK)
			continue;
		if (r < 0)
			return arca_error_errno(e, -r, "--net: cannot lock %s", out->lock_path);
		snprintf(name, sizeof(name), NET_HOST_IF_PREFIX "%u", s);
		r = rtnl_veth_add(host, name, NET_NS_IF, out->nsfd, out->mtu);
		/* Taken by a run of another state dir, or left by a dead run
		 * whose N something still holds (net_gc's to delete). */
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return arca_error_errno(e, -r, "--net: cannot create the veth pair %s", name);
		slot_note(lock);
		out->lockfd = steal_fd(&lock);
		out->slot = s;
		memcpy(out->host_if, name, sizeof(name));
		netcfg_slot_plan(&c->pool, s, &out->plan);
		return 0;
	}
	out->lock_path[0] = 0;
	return arca_error(e, EADDRNOTAVAIL, "--net: address pool %s is full (%u runs at most)",
			  netcfg_cidr_str(&c->pool, pb, sizeof(pb)), slots);
}

/* The host end: .5/30, up. */
static int setup_host_end(struct rtnl *host, struct net_run *out, struct arca_err *e)
{
	int idx = 0, r;
	if ((r = link_index(host, out->host_if, &idx)) < 0 ||
	    (r = rtnl_addr_add(host, idx, out->plan.host, out->plan.prefix)) < 0 ||
	    (r = rtnl_link_set(host, out->host_if, true, 0)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set up %s", out->host_if);
	return 0;
}

/* In N: lo up; veth0 .6/30 up; default route via the host end; tap0
 * .1/30 up; ip_forward. */
static int setup_ns(struct net_run *out, struct arca_err *e)
{
	_cleanup_rtnl_ struct rtnl ns = { 0 };
	struct open_ctx oc = { &ns };
	int idx = 0, r;

	if ((r = netns_run(out->nsfd, open_in, &oc)) < 0)
		return arca_error_errno(e, -r, "--net: cannot reach the run's netns");
	if ((r = rtnl_link_set(&ns, "lo", true, 0)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set lo up");
	if ((r = link_index(&ns, NET_NS_IF, &idx)) < 0 ||
	    (r = rtnl_addr_add(&ns, idx, out->plan.nsveth, out->plan.prefix)) < 0 ||
	    (r = rtnl_link_set(&ns, NET_NS_IF, true, 0)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set up " NET_NS_IF);
	if ((r = rtnl_route_add_default(&ns, out->plan.host, idx)) < 0)
		return arca_error_errno(e, -r, "--net: cannot add the run's default route");
	if ((r = netns_ip_forward(out->nsfd, NULL)) < 0)
		return arca_error_errno(e, -r, "--net: cannot enable ip_forward in the run's netns");
	if ((r = tap_create(out->nsfd, NET_TAP_IF, &out->tapfd)) < 0)
		return arca_error_errno(e, -r, "--net: cannot create " NET_TAP_IF " (/dev/net/tun)");
	if ((r = link_index(&ns, NET_TAP_IF, &idx)) < 0 ||
	    (r = rtnl_addr_add(&ns, idx, out->plan.gw, out->plan.prefix)) < 0 ||
	    (r = rtnl_link_set(&ns, NET_TAP_IF, true, out->mtu)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set up " NET_TAP_IF);
	return 0;
}

/* IPv6 of a slot: in N, forwarding, veth0 fe80::2 with the default route
 * via the host's end, tap0 the slot's ::1/64; on the host, arca<slot>
 * fe80::1 and the slot's /64 via N's end. */
static int setup_v6(struct rtnl *host, struct net_run *out, struct arca_err *e)
{
	_cleanup_rtnl_ struct rtnl ns = { 0 };
	struct open_ctx oc = { &ns };
	int idx = 0, r;
	static const uint8_t any[16];

	if ((r = netns_run(out->nsfd, open_in, &oc)) < 0)
		return arca_error_errno(e, -r, "--net: cannot reach the run's netns");
	if ((r = netns_sysctl_write(out->nsfd, "/proc/sys/net/ipv6/conf/all/forwarding", "1\n")) < 0)
		return arca_error_errno(e, -r, "--net: cannot enable IPv6 forwarding in the run's netns");
	if ((r = link_index(&ns, NET_NS_IF, &idx)) < 0 ||
	    (r = rtnl_addr_add6(&ns, idx, net6_link_ns, 64)) < 0 ||
	    (r = rtnl_route_add6(&ns, any, 0, net6_link_host, idx)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set up IPv6 on " NET_NS_IF);
	if ((r = link_index(&ns, NET_TAP_IF, &idx)) < 0 ||
	    (r = rtnl_addr_add6(&ns, idx, out->plan6.gw, out->plan6.prefix)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set up IPv6 on " NET_TAP_IF);
	if ((r = link_index(host, out->host_if, &idx)) < 0 ||
	    (r = rtnl_addr_add6(host, idx, net6_link_host, 64)) < 0 ||
	    (r = rtnl_route_add6(host, out->plan6.net, out->plan6.prefix, net6_link_ns, idx)) < 0)
		return arca_error_errno(e, -r, "--net: cannot set up IPv6 on %s", out->host_if);
	return 0;
}

struct v6_route_ctx {
	bool has_default;
};

static int v6_default_cb(const struct rtnl_route6 *rt, void *arg)
{
	struct v6_route_ctx *c = arg;
	if (rt->plen == 0 && rt->type == RTN_UNICAST && rt->table == RT_TABLE_MAIN)
		c->has_default = true;
	return 0;
}

bool net_ipv6_usable(char *why, size_t cap)
{
	char v[8] = "";
	_cleanup_close_ int fd = open("/proc/sys/net/ipv6/conf/all/forwarding", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, cap, "the host has no IPv6 (no /proc/sys/net/ipv6)");
		return false;
	}
	ssize_t n = read(fd, v, sizeof(v) - 1);
	if (n <= 0 || v[0] != '1') {
		snprintf(why, cap, "the host does not forward IPv6 (net.ipv6.conf.all.forwarding=0; "
			 "arca leaves it off: it would stop router advertisements being accepted)");
		return false;
	}
	_cleanup_rtnl_ struct rtnl r = { 0 };
	struct v6_route_ctx c = { false };
	if (rtnl_open(&r) < 0 || rtnl_dump_routes6(&r, v6_default_cb, &c) < 0) {
		snprintf(why, cap, "cannot list the host's IPv6 routes");
		return false;
	}
	if (!c.has_default) {
		snprintf(why, cap, "the host has no IPv6 default route");
		return false;
	}
	return true;
}

static void net_run_init(struct net_run *r)
{
	memset(r, 0, sizeof(*r));
	r->armed = true;
	r->nsfd = r->tapfd = r->lockfd = -1;
	r->slot = -1;
	r->mtu = NET_MTU;
}

int net_setup(const struct netcfg *c, struct net_run *out, struct arca_err *e)
{
	_cleanup_rtnl_ struct rtnl host = { 0 };
	int r;

	net_run_init(out);
	if (c->mode == NET_NONE)
		return 0;
	if (getrandom(out->mac, sizeof(out->mac), 0) != (ssize_t)sizeof(out->mac))
		return arca_error_errno(e, errno, "getrandom");
	out->mac[0] = (uint8_t)((out->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */

	if ((r = rtnl_open(&host)) < 0)
		return arca_error_errno(e, -r, "--net: netlink");
	if ((r = check_pool(&host, &c->pool, e)) < 0)
		return r;
	if ((r = netns_ip_forward(-1, &out->host_forward_set)) < 0)
		return arca_error_errno(e, -r, "--net: cannot enable the host's ip_forward");
	if ((r = netns_new(&out->nsfd)) < 0)
		return arca_error_errno(e, -r, "--net: cannot create a network namespace");
	if ((r = take_slot(c, &host, out, e)) < 0 || (r = setup_host_end(&host, out, e)) < 0 ||
	    (r = setup_ns(out, e)) < 0) {
		net_teardown(out);
		return r;
	}
	if (net_ipv6_usable(out->v6_why, sizeof(out->v6_why))) {
		if (netcfg_slot_plan6((uint32_t)out->slot, &out->plan6) < 0) {
			snprintf(out->v6_why, sizeof(out->v6_why),
				 "slot %ld is past arca's %u IPv6 subnets", out->slot, NET6_SLOTS);
		} else if ((r = setup_v6(&host, out, e)) < 0) {
			net_teardown(out);
			return r;
		} else {
			out->v6 = true;
		}
	}
	return 0;
}

void net_teardown(struct net_run *r)
{
	if (!r->armed)
		return;
	if (r->slot >= 0) {
		struct rtnl host = { 0 };
		/* Deleting one end of a veth deletes both. Failing here (no
		 * netlink, say) still leaves N to take the pair when it dies. */
		if (rtnl_open(&host) == 0) {
			rtnl_link_del(&host, r->host_if);
			rtnl_close(&host);
		}
	}
	/* Unlinked while still locked: see slot_lock. */
	if (r->lockfd >= 0 && r->lock_path[0])
		unlink(r->lock_path);
	cleanup_closep(&r->lockfd);
	cleanup_closep(&r->tapfd);
	cleanup_closep(&r->nsfd);
	r->armed = false;
	r->slot = -1;
	r->lockfd = r->tapfd = r->nsfd = -1;
}

/* ---- gc -------------------------------------------------------------------------- */

static int gc_links(const char *dir, struct rtnl *host, const struct links *ls)
{
	int removed = 0;

	for (size_t i = 0; i < ls->n; i++) {
		const struct rtnl_link *l = &ls->v[i];
		char path[PATH_MAX];
		_cleanup_close_ int lock = -1;
		uint32_t slot;

		if (!netcfg_is_host_if(l->name, &slot) || strcmp(l->kind, "veth"))
			continue;
		int r = slot_lock(dir, slot, path, sizeof(path), &lock);
		if (r == -EWOULDBLOCK)
			continue; /* a live run's */
		if (r < 0)
			return r;
		r = rtnl_link_del(host, l->name);
		if (r < 0 && r != -ENODEV) /* ENODEV: it went meanwhile */
			return r;
		removed += r == 0;
		unlink(path);
	}
	return removed;
}

/* Lock files whose run is gone: each unlinked while we hold its lock. */
static int gc_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		char *end;
		unsigned long slot = strtoul(de->d_name, &end, 10);
		int lock;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || slot > UINT32_MAX)
			continue;
		if (slot_lock(dir, (uint32_t)slot, path, sizeof(path), &lock) < 0)
			continue;
		unlink(path);
		close(lock);
	}
	closedir(d);
	return 0;
}

int net_gc_dir(const char *dir, struct arca_err *e)
{
	_cleanup_rtnl_ struct rtnl host = { 0 };
	struct links ls = { 0 };
	int r;

	dir = state_dir(dir);
	if ((r = rtnl_open(&host)) < 0)
		return arca_error_errno(e, -r, "net gc: netlink");
	if ((r = rtnl_dump_links(&host, links_add, &ls)) < 0) {
		free(ls.v);
		return arca_error_errno(e, -r, "net gc: cannot list the host's links");
	}
	/* Without a state dir no run has ever held a lock: still check every
	 * arca<N> veth (gc_links creates the lock files it tries). */
	if ((r = paths_mkdir_p(dir, 0700)) < 0) {
		free(ls.v);
		return arca_error_errno(e, -r, "net gc: cannot create %s", dir);
	}
	int removed = gc_links(dir, &host, &ls);
	free(ls.v);
	if (removed < 0)
		return arca_error_errno(e, -removed, "net gc");
	if ((r = gc_files(dir)) < 0)
		return arca_error_errno(e, -r, "net gc: %s", dir);
	return removed;
}

int net_gc(struct arca_err *e)
{
	return net_gc_dir(NULL, e);
}
