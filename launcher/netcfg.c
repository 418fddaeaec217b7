/* SPDX-License-Identifier: MIT */
/*
 * --net / --publish parsing and the pool's address arithmetic (pure). See
 * netcfg.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "netcfg.h"
#include "quote.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

const struct net_cidr netcfg_private[] = {
	{ IP4(0, 0, 0, 0), 8 },       /* "this network" (RFC 791) */
	{ IP4(10, 0, 0, 0), 8 },      /* RFC 1918 */
	{ IP4(100, 64, 0, 0), 10 },   /* carrier-grade NAT (RFC 6598) */
	{ IP4(127, 0, 0, 0), 8 },     /* loopback */
	{ IP4(169, 254, 0, 0), 16 },  /* link-local: the clouds' metadata services */
	{ IP4(172, 16, 0, 0), 12 },   /* RFC 1918 */
	{ IP4(192, 0, 0, 0), 24 },    /* IETF protocol assignments (RFC 6890) */
	{ IP4(192, 168, 0, 0), 16 },  /* RFC 1918 */
	{ IP4(198, 18, 0, 0), 15 },   /* benchmarking (RFC 2544) */
	{ IP4(224, 0, 0, 0), 4 },     /* multicast */
	{ IP4(240, 0, 0, 0), 4 },     /* reserved, and the limited broadcast */
};
const size_t netcfg_private_count = ARRAY_SIZE(netcfg_private);

/* A pool here could not carry a run's traffic (routing refuses it). */
static const struct net_cidr pool_reserved[] = {
	{ IP4(0, 0, 0, 0), 8 },
	{ IP4(127, 0, 0, 0), 8 },
	{ IP4(224, 0, 0, 0), 3 },
};

#define NET_HELP "none, nat[,allow-private][,pool=CIDR], allow=DEST[,DEST...][,allow-private][,pool=CIDR] or ns=PATH[,dns=IPV4]"
#define PUBLISH_HELP "[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]"

uint32_t netcfg_mask(uint8_t plen)
{
	return plen == 0 ? 0 : plen >= 32 ? 0xffffffffu : ~((1u << (32 - plen)) - 1);
}

bool netcfg_cidr_overlap(const struct net_cidr *a, const struct net_cidr *b)
{
	/* Two prefixes share an address iff the shorter one contains the other. */
	uint32_t m = netcfg_mask(a->plen < b->plen ? a->plen : b->plen);
	return (a->addr & m) == (b->addr & m);
}

/* A decimal number of 1..maxdigits digits, no leading zero (so "010" is
 * not silently octal to inet_aton and decimal to us), at most max. */
static bool parse_dec(const char *s, size_t len, unsigned maxdigits, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > maxdigits || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

bool netcfg_parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t a = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t j = i;
		unsigned v;
		while (j < len && s[j] != '.')
			j++;
		if (!parse_dec(s + i, j - i, 3, 255, &v))
			return false;
		a = (a << 8) | v;
		if (part < 3) {
			if (j >= len)
				return false;
			i = j + 1;
		} else if (j != len) {
			return false;
		}
	}
	*out = a;
	return true;
}

bool netcfg_parse_cidr(const char *s, size_t len, bool mask_host, struct net_cidr *out)
{
	const char *slash = memchr(s, '/', len);
	unsigned plen = 32;
	uint32_t a;

	if (!netcfg_parse_ipv4(s, slash ? (size_t)(slash - s) : len, &a))
		return false;
	if (slash && !parse_dec(slash + 1, len - (size_t)(slash + 1 - s), 2, 32, &plen))
		return false;
	if ((a & ~netcfg_mask((uint8_t)plen)) && !mask_host)
		return false;
	out->addr = a & netcfg_mask((uint8_t)plen);
	out->plen = (uint8_t)plen;
	return true;
}

const char *netcfg_ipv4_str(uint32_t a, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

const char *netcfg_cidr_str(const struct net_cidr *c, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u/%u", c->addr >> 24, (c->addr >> 16) & 255,
		 (c->addr >> 8) & 255, c->addr & 255, c->plen);
	return buf;
}

/* RFC 1123 section 2.1 host name: labels of 1..63 letters, digits and '-',
 * neither starting nor ending with '-'; 253 bytes in all. */
static bool hostname_ok(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > NET_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '.';
		if (ch == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && (ch != '-' || label == 0))
			return false;
		label++;
	}
	return true;
}

/* ":PORT[/tcp|/udp]" after a destination or a publish. */
static bool parse_proto(const char *s, size_t len, uint8_t *proto)
{
	if (len == 3 && !memcmp(s, "tcp", 3))
		*proto = IPPROTO_TCP;
	else if (len == 3 && !memcmp(s, "udp", 3))
		*proto = IPPROTO_UDP;
	else
		return false;
	return true;
}

static int parse_dest(struct netcfg *c, const char *t, struct arca_err *e)
{
	struct quoted q;
	const char *colon = strchr(t, ':');
	size_t hlen = colon ? (size_t)(colon - t) : strlen(t);
	uint16_t port = 0;
	uint8_t proto = 0;

	if (colon) {
		const char *p = colon + 1, *slash = strchr(p, '/');
		size_t plen = slash ? (size_t)(slash - p) : strlen(p);
		unsigned v;
		if (memchr(p, ':', plen))
			return arca_error(e, EINVAL,
					  "--net: bad destination '%s' in allow= (IPv4 only: CIDR[:PORT[/tcp|/udp]] or HOSTNAME[:PORT[/tcp|/udp]])",
					  quote(&q, t));
		if (!parse_dec(p, plen, 5, 65535, &v) || v == 0)
			return arca_error(e, EINVAL, "--net: bad port '%s' in allow= (1 to 65535)",
					  quote(&q, t));
		port = (uint16_t)v;
		if (slash && !parse_proto(slash + 1, strlen(slash + 1), &proto))
			return arca_error(e, EINVAL, "--net: bad protocol '%s' in allow= (tcp or udp)",
					  quote(&q, t));
	}

	/* Digits, dots and a '/' can only be an address: a name whose labels
	 * are all numeric is refused (RFC 3696 2: a top-level domain is not
	 * all-numeric), so a mistyped address never turns into a DNS query. */
	if (hlen > 0 && strspn(t, "0123456789./") >= hlen) {
		struct net_cidr cidr;
		if (!netcfg_parse_cidr(t, hlen, true, &cidr))
			return arca_error(e, EINVAL, "--net: bad address '%s' in allow=",
					  quoten(&q, t, hlen));
		if (c->ndests == NET_DESTS_MAX)
			return arca_error(e, EINVAL, "--net: too many allow= addresses (at most %u)",
					  NET_DESTS_MAX);
		c->dests[c->ndests++] = (struct net_dest){ cidr, port, proto };
		return 0;
	}
	if (!hostname_ok(t, hlen))
		return arca_error(e, EINVAL,
				  "--net: bad host name '%s' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)",
				  quoten(&q, t, hlen));
	if (c->nnames == NET_NAMES_MAX)
		return arca_error(e, EINVAL, "--net: too many allow= host names (at most %u)",
				  NET_NAMES_MAX);
	struct net_name_dest *n = &c->names[c->nnames++];
	for (size_t i = 0; i < hlen; i++)
		n->name[i] = (t[i] >= 'A' && t[i] <= 'Z') ? (char)(t[i] - 'A' + 'a') : t[i];
	n->name[hlen] = 0;
	n->port = port;
	n->proto = proto;
	return 0;
}

static int parse_pool(struct netcfg *c, const char *v, struct arca_err *e)
{
	struct quoted q;
	struct net_cidr p;
	char buf[32];

	if (!netcfg_parse_cidr(v, strlen(v), true, &p) || !strchr(v, '/'))
		return arca_error(e, EINVAL,
				  "--net: bad pool '%s' (an IPv4 network such as " NET_POOL_DEFAULT ")",
				  quote(&q, v));
	if (!netcfg_parse_cidr(v, strlen(v), false, &p))
		return arca_error(e, EINVAL, "--net: pool '%s' has host bits set (%s?)", quote(&q, v),
				  netcfg_cidr_str(&p, buf, sizeof(buf)));
	if (p.plen > 29)
		return arca_error(e, EINVAL, "--net: pool '%s' is too small: a /29 at least (a /29 per run)",
				  quote(&q, v));
	if (p.plen < 8)
		return arca_error(e, EINVAL, "--net: pool '%s' is too large: a /8 at most", quote(&q, v));
	for (size_t i = 0; i < ARRAY_SIZE(pool_reserved); i++)
		if (netcfg_cidr_overlap(&p, &pool_reserved[i]))
			return arca_error(e, EINVAL, "--net: pool '%s' overlaps reserved range %s",
					  quote(&q, v),
					  netcfg_cidr_str(&pool_reserved[i], buf, sizeof(buf)));
	c->pool = p;
	return 0;
}

void netcfg_init(struct netcfg *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = NET_NONE;
	netcfg_parse_cidr(NET_POOL_DEFAULT, strlen(NET_POOL_DEFAULT), false, &c->pool);
}

int netcfg_parse(struct netcfg *c, const char *value, struct arca_err *e)
{
	_cleanup_free_ char *copy = strdup(value);
	struct quoted q;
	bool pool_set = false;
	char *t;
	int r;

	if (!copy)
		return arca_error(e, ENOMEM, "out of memory");
	/* strsep, not strtok: ",," and a trailing ',' must be seen. */
	char *rest = copy;
	t = strsep(&rest, ",");
	if (!strcmp(t, "none")) {
		if (rest)
			return arca_error(e, EINVAL, "--net: 'none' takes no options");
		c->mode = NET_NONE;
		return 0;
	} else if (!strcmp(t, "nat")) {
		c->mode = NET_NAT;
	} else if (!strncmp(t, "ns=", 3)) {
		/* A path may hold ',': not this one (the option's separator). */
		c->mode = NET_POD;
		if (t[3] != '/' || strlen(t + 3) >= sizeof(c->ns_path))
			return arca_error(e, EINVAL, "--net ns=%s: an absolute path of the network "
					  "namespace (at most %zu bytes)", quote(&q, t + 3),
					  sizeof(c->ns_path) - 1);
		snprintf(c->ns_path, sizeof(c->ns_path), "%s", t + 3);
		while ((t = strsep(&rest, ","))) {
			if (strncmp(t, "dns=", 4) || c->ns_dns ||
			    !netcfg_parse_ipv4(t + 4, strlen(t + 4), &c->ns_dns) || !c->ns_dns)
				return arca_error(e, EINVAL, "--net ns=: unknown or bad option '%s' "
						  "(dns=IPV4, once)", quote(&q, t));
		}
		return 0;
	} else if (!strncmp(t, "allow=", 6)) {
		c->mode = NET_ALLOW;
		if (!t[6])
			return arca_error(e, EINVAL, "--net: allow= needs at least one destination");
		if ((r = parse_dest(c, t + 6, e)) < 0)
			return r;
	} else {
		return arca_error(e, EINVAL, "--net: unknown mode '%s' (" NET_HELP ")", quote(&q, t));
	}

	while ((t = strsep(&rest, ","))) {
		if (!*t)
			return arca_error(e, EINVAL, "--net: empty item in '%s'", quote(&q, value));
		if (!strcmp(t, "allow-private")) {
			c->allow_private = true;
		} else if (!strncmp(t, "pool=", 5)) {
			if (pool_set)
				return arca_error(e, EINVAL, "--net: pool= given twice");
			if ((r = parse_pool(c, t + 5, e)) < 0)
				return r;
			pool_set = true;
		} else if (c->mode == NET_ALLOW) {
			/* allow=a,allow=b reads as allow=a,b. */
			if ((r = parse_dest(c, !strncmp(t, "allow=", 6) ? t + 6 : t, e)) < 0)
				return r;
		} else {
			return arca_error(e, EINVAL,
					  "--net: unknown option '%s' for nat (allow-private, pool=CIDR)",
					  quote(&q, t));
		}
	}
	return 0;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

int netcfg_add_publish(struct net_publishes *p, const char *value, struct arca_err *e)
{
	struct quoted q, q2;
	struct net_publish pub = { .proto = IPPROTO_TCP };
	const char *slash = strchr(value, '/');
	size_t len = slash ? (size_t)(slash - value) : strlen(value);
	const char *c1 = memchr(value, ':', len), *c2, *hp;
	unsigned v;

	if (p->n == NET_PUBLISH_MAX)
		return arca_error(e, EINVAL, "--publish: too many (at most %u)", NET_PUBLISH_MAX);
	if (slash && !parse_proto(slash + 1, strlen(slash + 1), &pub.proto))
		return arca_error(e, EINVAL, "--publish: bad protocol '%s' in '%s' (tcp or udp)",
				  quote(&q, slash + 1), quote(&q2, value));
	if (!c1)
		return arca_error(e, EINVAL, "--publish: bad value '%s' (" PUBLISH_HELP ")",
				  quote(&q, value));
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - value));
	if (c2 && memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - value)))
		return arca_error(e, EINVAL, "--publish: bad value '%s' (" PUBLISH_HELP ", IPv4 only)",
				  quote(&q, value));
	hp = value;
	if (c2) {
		if (!netcfg_parse_ipv4(value, (size_t)(c1 - value), &pub.host_ip))
			return arca_error(e, EINVAL, "--publish: bad host address '%s' in '%s'",
					  quoten(&q, value, (size_t)(c1 - value)), quote(&q2, value));
		hp = c1 + 1;
		c1 = c2;
	}
	if (!parse_dec(hp, (size_t)(c1 - hp), 5, 65535, &v) || v == 0)
		return arca_error(e, EINVAL, "--publish: bad host port '%s' in '%s' (1 to 65535)",
				  quoten(&q, hp, (size_t)(c1 - hp)), quote(&q2, value));
	pub.host_port = (uint16_t)v;
	if (!parse_dec(c1 + 1, len - (size_t)(c1 + 1 - value), 5, 65535, &v) || v == 0)
		return arca_error(e, EINVAL, "--publish: bad guest port '%s' in '%s' (1 to 65535)",
				  quoten(&q, c1 + 1, len - (size_t)(c1 + 1 - value)), quote(&q2, value));
	pub.guest_port = (uint16_t)v;

	/* The host can bind a port once per address; 0.0.0.0 overlaps all. */
	for (size_t i = 0; i < p->n; i++) {
		const struct net_publish *o = &p->v[i];
		if (o->proto == pub.proto && o->host_port == pub.host_port &&
		    (o->host_ip == pub.host_ip || !o->host_ip || !pub.host_ip))
			return arca_error(e, EINVAL, "--publish: host port %u/%s published twice ('%s')",
					  pub.host_port, proto_name(pub.proto), quote(&q, value));
	}
	p->v[p->n++] = pub;
	return 0;
}

uint32_t netcfg_pool_slots(const struct net_cidr *pool)
{
	if (pool->plen > 29)
		return 0;
	return (uint32_t)((1ull << (32 - pool->plen)) / NET_SLOT_SIZE);
}

int netcfg_slot_plan(const struct net_cidr *pool, uint32_t slot, struct net_plan *plan)
{
	if (slot >= netcfg_pool_slots(pool))
		return -ERANGE;
	uint32_t base = (pool->addr & netcfg_mask(pool->plen)) + NET_SLOT_SIZE * slot;
	plan->gw = base + 1;
	plan->guest = base + 2;
	plan->host = base + 5;
	plan->nsveth = base + 6;
	plan->prefix = NET_SLOT_PREFIX;
	return 0;
}

const uint8_t net6_pool[16] = { 0xfd, 0x61, 0x72, 0x63, 0x61, 0x00 };
const uint8_t net6_link_host[16] = { 0xfe, 0x80, [15] = 1 };
const uint8_t net6_link_ns[16] = { 0xfe, 0x80, [15] = 2 };

int netcfg_slot_plan6(uint32_t slot, struct net_plan6 *plan)
{
	if (slot >= NET6_SLOTS)
		return -ERANGE;
	memset(plan, 0, sizeof(*plan));
	memcpy(plan->net, net6_pool, NET6_POOL_PREFIX / 8);
	plan->net[6] = (uint8_t)(slot >> 8); /* bits 48..63: the slot */
	plan->net[7] = (uint8_t)slot;
	memcpy(plan->gw, plan->net, sizeof(plan->gw));
	plan->gw[15] = 1;
	memcpy(plan->guest, plan->net, sizeof(plan->guest));
	plan->guest[15] = 2;
	plan->prefix = NET6_SLOT_PREFIX;
	return 0;
}

const char *netcfg_ipv6_str(const uint8_t a[16], char *buf, size_t cap)
{
	if (!inet_ntop(AF_INET6, a, buf, (socklen_t)cap) && cap)
		snprintf(buf, cap, "?");
	return buf;
}

bool netcfg_is_host_if(const char *name, uint32_t *slot)
{
	size_t n = strlen(NET_HOST_IF_PREFIX);
	unsigned long long v = 0;
	const char *d = name + n;

	if (strncmp(name, NET_HOST_IF_PREFIX, n) || !*d || strlen(d) > 10)
		return false;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return false;
		v = v * 10 + (unsigned)(*d - '0');
	}
	if (v > UINT32_MAX)
		return false;
	if (slot)
		*slot = (uint32_t)v;
	return true;
}

bool netcfg_pool_collides(const struct net_cidr *pool, const struct net_route *routes, size_t n,
			  size_t *which)
{
	for (size_t i = 0; i < n; i++) {
		if (routes[i].dst.plen == 0 || netcfg_is_host_if(routes[i].dev, NULL))
			continue;
		if (netcfg_cidr_overlap(pool, &routes[i].dst)) {
			if (which)
				*which = i;
			return true;
		}
	}
	return false;
}
