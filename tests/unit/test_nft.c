/* SPDX-License-Identifier: MIT */
/*
 * launcher/nft.c and nft_build.c: the batches parsed back with libnftnl (pure), then the
 * rules applied in a private network namespace made by this process and read back from
 * the kernel, and packets from a "guest" netns through them (IPv6 ones on to a third netns,
 * which shows what passed). The live tests skip where unshare(CLONE_NEWNET) is refused
 * (not root) or the kernel has no nf_tables.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "cleanup.h"
#include "nft.h"
#include "nft_build.h"

static uint32_t ip(const char *s)
{
	uint32_t a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct nft_cidr cidr(const char *s, uint8_t prefix)
{
	return (struct nft_cidr){ ip(s), prefix };
}

static struct nft_cidr6 cidr6(const char *s, uint8_t prefix)
{
	struct nft_cidr6 c = { .prefix = prefix };
	assert_int_equal(inet_pton(AF_INET6, s, c.addr), 1);
	return c;
}

static void ip6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* How libnftnl prints a 16-byte cmp of addr: four words in host order. */
static const char *cmp16(const char *op, const char *addr)
{
	static char buf[128];
	uint32_t w[4];
	ip6(addr, (uint8_t *)w);
	snprintf(buf, sizeof(buf), "[ cmp %s reg 1 0x%08x 0x%08x 0x%08x 0x%08x ]", op, w[0], w[1],
		 w[2], w[3]);
	return buf;
}

static struct nft_run_cfg nat_cfg, nat6_cfg;
static struct nft_run_cfg allow_cfg, allow6_cfg;

/* The IPv6 half of c: the guest fd00:213::2, its gateway ::1; the host's addresses: one
 * inside fc00::/7 (merged), one outside. */
static void cfg6(struct nft_run_cfg *c)
{
	c->ipv6 = true;
	ip6("fd00:213::1", c->gateway6);
	ip6("fd00:213::2", c->guest6);
	c->n_extra_block6 = 2;
	c->extra_block6[0] = cidr6("fd12::3", 128);
	c->extra_block6[1] = cidr6("2a01:4f8::7", 128);
}

static void cfgs_init(void)
{
	nat_cfg = (struct nft_run_cfg){ .guest_if = "tap0", .uplink_if = "veth0",
					.gateway = ip("10.213.0.1"), .guest = ip("10.213.0.2"),
					.dns = true, .mode = NFT_MODE_NAT };
	/* the host's addresses: one inside 10/8 (merged), one outside */
	nat_cfg.n_extra_block = 2;
	nat_cfg.extra_block[0] = cidr("10.1.2.3", 32);
	nat_cfg.extra_block[1] = cidr("203.0.113.7", 32);

	allow_cfg = nat_cfg;
	allow_cfg.mode = NFT_MODE_ALLOW;
	allow_cfg.n_allow = 2;
	allow_cfg.allow[0] = (struct nft_allow){ cidr("93.184.216.0", 24), NFT_PROTO_TCP, 443 };
	allow_cfg.allow[1] = (struct nft_allow){ cidr("1.1.1.1", 32), NFT_PROTO_ANY, 0 };
	/* two names: one on udp 8080 only (dyn0), one on every port (dyn1) */
	allow_cfg.n_names = 2;
	allow_cfg.names[0] = (struct nft_allow_name){ NFT_PROTO_UDP, 8080 };
	allow_cfg.names[1] = (struct nft_allow_name){ NFT_PROTO_ANY, 0 };

	nat6_cfg = nat_cfg;
	cfg6(&nat6_cfg);
	allow6_cfg = allow_cfg;
	cfg6(&allow6_cfg);
}

/* ---- pure: ranges, limits, messages ----------------------------------------------------- */

static void test_ranges_merge(void **state)
{
	(void)state;
	struct nft_cidr in[] = {
		cidr("10.0.0.0", 8), cidr("10.1.2.3", 32),     /* inside: absorbed */
		cidr("224.0.0.0", 4), cidr("240.0.0.0", 4),    /* adjacent: one range to the top */
		cidr("192.168.7.9", 16),                       /* host bits ignored */
		cidr("11.0.0.0", 8),                           /* adjacent to 10/8 */
		cidr("1.2.3.4", 32),
	};
	struct nft_range out[ARRAY_SIZE(in)];
	size_t n = nft_ranges_merge(in, ARRAY_SIZE(in), out);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].lo, 0x01020304);
	assert_int_equal(out[0].hi, 0x01020304);
	assert_int_equal(out[1].lo, 0x0a000000);
	assert_int_equal(out[1].hi, 0x0bffffff);
	assert_int_equal(out[2].lo, 0xc0a80000);
	assert_int_equal(out[2].hi, 0xc0a8ffff);
	assert_int_equal(out[3].lo, 0xe0000000);
	assert_int_equal(out[3].hi, 0xffffffff);

	struct nft_cidr all[] = { cidr("0.0.0.0", 0), cidr("8.8.8.8", 32) };
	n = nft_ranges_merge(all, 2, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].lo, 0);
	assert_int_equal(out[0].hi, 0xffffffff);
	assert_int_equal(nft_ranges_merge(NULL, 0, out), 0);
}

static void test_blocked_cidrs(void **state)
{
	(void)state;
	cfgs_init();
	struct nft_cidr out[NFT_BLOCKED_MAX];
	assert_int_equal(nft_blocked_cidrs(&nat_cfg, out), NFT_BLOCKED_DEFAULT + 2);
	assert_int_equal(out[4].addr, ip("169.254.0.0"));
	assert_int_equal(out[4].prefix, 16);
	struct nft_run_cfg c = nat_cfg;
	c.allow_private = true;
	assert_int_equal(nft_blocked_cidrs(&c, out), 2);
	assert_int_equal(out[1].addr, ip("203.0.113.7"));
	c.n_extra_block = 0;
	assert_int_equal(nft_blocked_cidrs(&c, out), 0);
}

static void test_ttl_clamp(void **state)
{
	(void)state;
	assert_int_equal(nft_ttl_clamp(0), NFT_DYN_TTL_MIN);
	assert_int_equal(nft_ttl_clamp(29), 30);
	assert_int_equal(nft_ttl_clamp(300), 300);
	assert_int_equal(nft_ttl_clamp(86400), NFT_DYN_TTL_MAX);
}

static int build_err(const struct nft_run_cfg *c, struct arca_err *e)
{
	struct nft_batch *b = nft_batch_new();
	assert_non_null(b);
	*e = (struct arca_err){ 0 };
	int r = nft_build_run(b, c, e);
	nft_batch_free(b);
	return r;
}

static void test_cfg_refused(void **state)
{
	(void)state;
	cfgs_init();
	struct arca_err e;
	struct nft_run_cfg c = nat_cfg;
	c.guest_if = "";
	assert_int_equal(build_err(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "interface names"));
	c.guest_if = "a-name-of-16-chr";
	assert_int_equal(build_err(&c, &e), -EINVAL);
	c.guest_if = "tap*";
	assert_int_equal(build_err(&c, &e), -EINVAL);
	c.guest_if = "veth0";
	assert_int_equal(build_err(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "one interface"));
	c = nat_cfg;
	c.gateway = c.guest;
	assert_int_equal(build_err(&c, &e), -EINVAL);
	c = allow_cfg;
	c.n_allow = NFT_ALLOW_MAX + 1;
	assert_int_equal(build_err(&c, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "allow entries"));
	c = allow_cfg;
	c.allow[1].proto = 1;
	assert_int_equal(build_err(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "allow entry 1: protocol"));
	c = allow_cfg;
	c.n_names = NFT_NAMES_MAX + 1;
	assert_int_equal(build_err(&c, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "allowed names"));
	c = allow_cfg;
	c.names[1].proto = 1;
	assert_int_equal(build_err(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "allowed name 1: protocol"));
	c = allow_cfg;
	c.allow[0].dst.prefix = 33;
	assert_int_equal(build_err(&c, &e), -EINVAL);
	c = nat_cfg;
	c.n_extra_block = NFT_EXTRA_BLOCK_MAX + 1;
	assert_int_equal(build_err(&c, &e), -E2BIG);
	c.n_extra_block = 1;
	c.extra_block[0].prefix = 40;
	assert_int_equal(build_err(&c, &e), -EINVAL);
	c = nat_cfg;
	c.mode = 7;
	assert_int_equal(build_err(&c, &e), -EINVAL);

	/* IPv6 */
	c = nat6_cfg;
	memset(c.guest6, 0, sizeof(c.guest6));
	assert_int_equal(build_err(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "IPv6 gateway and guest"));
	c = nat6_cfg;
	memcpy(c.gateway6, c.guest6, sizeof(c.guest6));
	assert_int_equal(build_err(&c, &e), -EINVAL);
	c = nat6_cfg;
	c.n_extra_block6 = NFT_EXTRA_BLOCK_MAX + 1;
	assert_int_equal(build_err(&c, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "blocked IPv6 prefixes"));
	c = nat6_cfg;
	c.extra_block6[1].prefix = 129;
	assert_int_equal(build_err(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "blocked IPv6 prefix 1: /129"));
	/* without ipv6 its fields are not read */
	c = nat_cfg;
	c.n_extra_block6 = 1000;
	c.extra_block6[0].prefix = 200;
	assert_int_equal(build_err(&c, &e), 0);
}

static void assert_addr6(const uint8_t a[16], const char *want)
{
	char got[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, a, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_ranges6_merge(void **state)
{
	(void)state;
	struct nft_cidr6 in[] = {
		cidr6("ff00::", 8),                            /* adjacent to fec0::/10 */
		cidr6("fc00::", 7), cidr6("fd12::3", 128),     /* inside: absorbed */
		cidr6("fe80::", 10), cidr6("fec0::", 10),      /* adjacent: one range to the top */
		cidr6("2001:db8:1:2::5", 32),                  /* host bits ignored */
		cidr6("2001:db9::", 32),                       /* adjacent (a carry over 12 bytes) */
		cidr6("::2", 127), cidr6("::1", 128),          /* adjacent */
		cidr6("2001:dba::", 32),                       /* adjacent again */
		cidr6("2001:dbc::", 32),                       /* a gap of one /32 before it */
	};
	struct nft_range6 out[ARRAY_SIZE(in)];
	size_t n = nft_ranges6_merge(in, ARRAY_SIZE(in), out);
	assert_int_equal(n, 5);
	assert_addr6(out[0].lo, "::1");
	assert_addr6(out[0].hi, "::3");
	assert_addr6(out[1].lo, "2001:db8::");
	assert_addr6(out[1].hi, "2001:dba:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_addr6(out[2].lo, "2001:dbc::");
	assert_addr6(out[2].hi, "2001:dbc:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_addr6(out[3].lo, "fc00::");
	assert_addr6(out[3].hi, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_addr6(out[4].lo, "fe80::");
	assert_addr6(out[4].hi, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	/* a prefix not on a byte boundary; after a range to the top, anything merges */
	struct nft_cidr6 odd[] = { cidr6("2001::", 23), cidr6("2001:1ff:ffff::", 48),
				   cidr6("8000::", 1), cidr6("ffff::1", 128) };
	n = nft_ranges6_merge(odd, ARRAY_SIZE(odd), out);
	assert_int_equal(n, 2);
	assert_addr6(out[0].hi, "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_addr6(out[1].lo, "8000::");
	assert_addr6(out[1].hi, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	struct nft_cidr6 all[] = { cidr6("::", 0), cidr6("2606:4700::1", 128) };
	n = nft_ranges6_merge(all, 2, out);
	assert_int_equal(n, 1);
	assert_addr6(out[0].lo, "::");
	assert_addr6(out[0].hi, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(nft_ranges6_merge(NULL, 0, out), 0);
}

static bool has_cidr6(const struct nft_cidr6 *c, size_t n, const char *addr, uint8_t prefix)
{
	struct nft_cidr6 want = cidr6(addr, prefix);
	for (size_t i = 0; i < n; i++)
		if (c[i].prefix == prefix && !memcmp(c[i].addr, want.addr, 16))
			return true;
	return false;
}

static void test_blocked6_cidrs(void **state)
{
	(void)state;
	cfgs_init();
	struct nft_cidr6 out[NFT_BLOCKED6_MAX];
	size_t n = nft_blocked6_cidrs(&nat6_cfg, out);
	assert_int_equal(n, NFT_BLOCKED6_DEFAULT + 2);
	/* what the guest's traffic could reach IPv4 through, and what is not a network */
	static const struct {
		const char *addr;
		uint8_t prefix;
	} always[] = {
		{ "::", 128 }, { "::1", 128 }, { "::ffff:0:0", 96 }, { "::", 96 },
		{ "64:ff9b::", 96 }, { "64:ff9b:1::", 48 }, { "100::", 64 }, { "2001::", 23 },
		{ "2001:db8::", 32 }, { "2002::", 16 }, { "fe80::", 10 }, { "fec0::", 10 },
		{ "ff00::", 8 },
	};
	_Static_assert(ARRAY_SIZE(always) == NFT_BLOCKED6_ALWAYS, "every default tested");
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		if (!has_cidr6(out, n, always[i].addr, always[i].prefix))
			fail_msg("%s/%u not blocked", always[i].addr, always[i].prefix);
	assert_true(has_cidr6(out, n, "fc00::", 7));
	assert_true(has_cidr6(out, n, "2a01:4f8::7", 128));

	/* allow_private lifts the ULA range only */
	struct nft_run_cfg c = nat6_cfg;
	c.allow_private = true;
	n = nft_blocked6_cidrs(&c, out);
	assert_int_equal(n, NFT_BLOCKED6_ALWAYS + 2);
	assert_false(has_cidr6(out, n, "fc00::", 7));
	assert_true(has_cidr6(out, n, "fe80::", 10));
	assert_true(has_cidr6(out, n, "fd12::3", 128));
	c.n_extra_block6 = 0;
	assert_int_equal(nft_blocked6_cidrs(&c, out), NFT_BLOCKED6_ALWAYS);
}

/* The batch's messages, parsed back: their types and the rules as libnftnl prints them. */
#define MAX_RULES 600
struct parsed {
	size_t nmsg;
	uint16_t type[NFT_BATCH_MSGS]; /* NFNL_MSG_BATCH_* or 0x100 | NFT_MSG_* */
	size_t nacks, ack_at;          /* messages asking for an ack; the last one's index */
	size_t nrules;
	char chain[MAX_RULES][32];
	char text[MAX_RULES][2048];
	size_t nelems;
	uint32_t elem_key[512];     /* an IPv4 key */
	uint8_t elem_key6[512][16]; /* an IPv6 key */
	uint32_t elem_klen[512];
	uint32_t elem_flags[512];
	uint64_t elem_timeout_ms[512];
};
static struct parsed P;

#define NFT(t) (0x100 | (t))

static int elem_cb(struct nftnl_set_elem *el, void *data)
{
	struct parsed *p = data;
	uint32_t len = 0;
	const void *k = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	assert_true(len == 4 || len == 16);
	assert_true(p->nelems < ARRAY_SIZE(p->elem_key));
	p->elem_klen[p->nelems] = len;
	if (len == 4)
		memcpy(&p->elem_key[p->nelems], k, 4);
	else
		memcpy(p->elem_key6[p->nelems], k, 16);
	p->elem_flags[p->nelems] = nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS)
		? nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS) : 0;
	p->elem_timeout_ms[p->nelems] = nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_TIMEOUT)
		? nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_TIMEOUT) : 0;
	p->nelems++;
	return 0;
}

static void rule_text(const struct nlmsghdr *nlh, struct parsed *p)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
	assert_true(p->nrules < MAX_RULES);
	snprintf(p->chain[p->nrules], sizeof(p->chain[0]), "%s",
		 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	nftnl_rule_snprintf(p->text[p->nrules], sizeof(p->text[0]), r, NFTNL_OUTPUT_DEFAULT, 0);
	p->nrules++;
	nftnl_rule_free(r);
}

/*
 * Elements of a NEWSETELEM we built. Not through nftnl_set_elems_nlmsg_parse(): libnftnl
 * (1.2.4) numbers the element nests 1, 2, 3... when building, which the kernel accepts, but
 * its parser wants every nest typed NFTA_LIST_ELEM (1) and refuses its own message.
 */
static uint64_t batch_timeout_ms;

static void batch_elems(const struct nlmsghdr *nlh, struct parsed *p)
{
	const struct nlattr *a, *el, *x;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(el, a) {
			uint32_t key = 0, flags = 0, klen = 0;
			uint8_t key6[16] = { 0 };
			mnl_attr_for_each_nested(x, el) {
				switch (mnl_attr_get_type(x)) {
				case NFTA_SET_ELEM_KEY: {
					const struct nlattr *v = mnl_attr_get_payload(x);
					assert_int_equal(mnl_attr_get_type(v), NFTA_DATA_VALUE);
					klen = mnl_attr_get_payload_len(v);
					assert_true(klen == 4 || klen == 16);
					memcpy(klen == 4 ? (void *)&key : key6,
					       mnl_attr_get_payload(v), klen);
					break;
				}
				case NFTA_SET_ELEM_FLAGS:
					flags = ntohl(mnl_attr_get_u32(x));
					break;
				case NFTA_SET_ELEM_TIMEOUT:
					batch_timeout_ms = be64toh(mnl_attr_get_u64(x));
					break;
				}
			}
			assert_true(p->nelems < ARRAY_SIZE(p->elem_key));
			p->elem_key[p->nelems] = key;
			memcpy(p->elem_key6[p->nelems], key6, 16);
			p->elem_klen[p->nelems] = klen;
			p->elem_flags[p->nelems++] = flags;
		}
	}
}

static void parse_batch(const struct nft_batch *b)
{
	memset(&P, 0, sizeof(P));
	const struct nlmsghdr *nlh = nft_batch_data(b);
	int len = (int)nft_batch_size(b);
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		uint16_t t = nlh->nlmsg_type;
		if (NFNL_SUBSYS_ID(t) == NFNL_SUBSYS_NFTABLES)
			t = NFT(NFNL_MSG_TYPE(t));
		if (nlh->nlmsg_flags & NLM_F_ACK) {
			P.nacks++;
			P.ack_at = P.nmsg;
		}
		P.type[P.nmsg++] = t;
		if (t == NFT(NFT_MSG_NEWRULE))
			rule_text(nlh, &P);
		if (t == NFT(NFT_MSG_NEWSETELEM) || t == NFT(NFT_MSG_DELSETELEM))
			batch_elems(nlh, &P);
	}
	assert_int_equal(len, 0);
}

static size_t rules_in(const char *chain)
{
	size_t n = 0;
	for (size_t i = 0; i < P.nrules; i++)
		n += !strcmp(P.chain[i], chain);
	return n;
}

/* the i-th rule of chain */
static const char *rule_of(const char *chain, size_t i)
{
	for (size_t j = 0; j < P.nrules; j++)
		if (!strcmp(P.chain[j], chain) && i-- == 0)
			return P.text[j];
	fail_msg("no rule %zu in %s", i, chain);
	return NULL;
}

static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("no \"%s\" in:\n%s", needle, text);
}

static void test_build_nat(void **state)
{
	(void)state;
	cfgs_init();
	struct arca_err e = { 0 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &nat_cfg, &e), 0);
	parse_batch(b);
	static const uint16_t head[] = {
		NFNL_MSG_BATCH_BEGIN, NFT(NFT_MSG_NEWTABLE), NFT(NFT_MSG_DELTABLE),
		NFT(NFT_MSG_NEWTABLE), NFT(NFT_MSG_NEWOBJ), NFT(NFT_MSG_NEWSET),
		NFT(NFT_MSG_NEWSETELEM), NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_NEWCHAIN),
		NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_NEWRULE),
	};
	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		assert_int_equal(P.type[i], head[i]);
	assert_int_equal(P.type[P.nmsg - 1], NFNL_MSG_BATCH_END);
	assert_int_equal(rules_in("forward"), 6);
	assert_int_equal(rules_in("input"), 7);
	assert_int_equal(rules_in("postrouting"), 1);
	assert_int_equal(P.nmsg, ARRAY_SIZE(head) - 1 + 14 + 1);
	/* one ack, for the last message: it says the batch was committed */
	assert_int_equal(P.nacks, 1);
	assert_int_equal(P.ack_at, P.nmsg - 2);

	/* 0: iifname "tap0" meta nfproto ipv6 counter drop; the name with its NUL padding:
	 * exact, not a prefix */
	assert_has(rule_of("forward", 0),
		   "[ cmp eq reg 1 0x30706174 0x00000000 0x00000000 0x00000000 ]");
	assert_has(rule_of("forward", 0), "[ cmp eq reg 1 0x0000000a ]");
	assert_has(rule_of("forward", 0), "[ counter pkts 0 bytes 0 ]");
	/* 1: ip saddr != 10.213.0.2 counter name refused drop */
	assert_has(rule_of("forward", 1), "[ payload load 4b @ network header + 12 => reg 1 ]");
	assert_has(rule_of("forward", 1), "[ cmp neq reg 1 0x0200d50a ]");
	assert_has(rule_of("forward", 1), "[ objref type 1 name refused ]");
	assert_has(rule_of("forward", 1), "[ immediate reg 0 drop ]");
	/* 2: ct state established,related accept */
	assert_has(rule_of("forward", 2), "[ ct load state => reg 1 ]");
	assert_has(rule_of("forward", 2), "( reg 1 & 0x00000006 )");
	assert_has(rule_of("forward", 2), "[ immediate reg 0 accept ]");
	assert_has(rule_of("forward", 3), "[ lookup reg 1 set blocked");
	assert_has(rule_of("forward", 4), "[ immediate reg 0 accept ]");
	assert_has(rule_of("forward", 5), "[ objref type 1 name refused ]");
	/* input: replies to N's own connections (--publish) from the guest's link */
	assert_has(rule_of("input", 1), "[ meta load iifname => reg 1 ]");
	assert_has(rule_of("input", 1), "[ ct load state => reg 1 ]");
	assert_has(rule_of("input", 1), "( reg 1 & 0x00000006 )");
	assert_has(rule_of("input", 1), "[ immediate reg 0 accept ]");
	/* udp dport 53 to the gateway */
	assert_has(rule_of("input", 2), "[ cmp eq reg 1 0x0100d50a ]");
	assert_has(rule_of("input", 2), "[ cmp eq reg 1 0x00000011 ]");
	assert_has(rule_of("input", 2), "[ cmp eq reg 1 0x00003500 ]");
	assert_has(rule_of("input", 3), "[ cmp eq reg 1 0x00000006 ]");
	assert_has(rule_of("input", 4), "[ payload load 1b @ transport header + 0 => reg 1 ]");
	assert_has(rule_of("postrouting", 0), "[ masq ]");
	assert_has(rule_of("postrouting", 0), "[ meta load oifname => reg 1 ]");
	/* IPv4 only (meta nfproto ipv4): a masquerade in table inet would take IPv6 too */
	assert_has(rule_of("postrouting", 0), "[ meta load nfproto => reg 1 ]");
	assert_has(rule_of("postrouting", 0), "[ cmp eq reg 1 0x00000002 ]");

	/* blocked: the defaults with 10.1.2.3 merged into 10/8, 224/4 and 240/4 into one
	 * range to the top (no end element), 203.0.113.7 alone */
	struct nft_cidr cs[NFT_BLOCKED_MAX];
	struct nft_range rs[NFT_BLOCKED_MAX];
	size_t nr = nft_ranges_merge(cs, nft_blocked_cidrs(&nat_cfg, cs), rs);
	assert_int_equal(nr, 11);
	assert_int_equal(P.nelems, 2 * nr - 1);
	assert_int_equal(P.elem_key[0], 0);
	assert_int_equal(P.elem_flags[0], 0);
	assert_int_equal(P.elem_key[1], ip("1.0.0.0"));
	assert_int_equal(P.elem_flags[1], NFT_SET_ELEM_INTERVAL_END);
	assert_int_equal(P.elem_key[P.nelems - 1], ip("224.0.0.0"));
	assert_int_equal(P.elem_flags[P.nelems - 1], 0);

	/* no DNS: two rules fewer in input */
	struct nft_run_cfg c = nat_cfg;
	c.dns = false;
	nft_batch_free(b);
	b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	parse_batch(b);
	assert_int_equal(rules_in("input"), 5);
	/* allow_private, no extra: an empty blocked set, no element message (and no dyn<i>
	 * sets in nat mode) */
	c.allow_private = true;
	c.n_extra_block = 0;
	nft_batch_free(b);
	b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	parse_batch(b);
	assert_int_equal(P.nelems, 0);
	assert_int_equal(P.type[5], NFT(NFT_MSG_NEWSET));
	assert_int_equal(P.type[6], NFT(NFT_MSG_NEWCHAIN));
	/* a range that does not start at 0: nft's leading end element at 0.0.0.0 */
	c.n_extra_block = 1;
	c.extra_block[0] = cidr("8.8.8.8", 32);
	nft_batch_free(b);
	b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	parse_batch(b);
	assert_int_equal(P.nelems, 3);
	assert_int_equal(P.elem_key[0], 0);
	assert_int_equal(P.elem_flags[0], NFT_SET_ELEM_INTERVAL_END);
	assert_int_equal(P.elem_key[1], ip("8.8.8.8"));
	assert_int_equal(P.elem_key[2], ip("8.8.8.9"));
	nft_batch_free(b);
}

static void test_build_allow(void **state)
{
	(void)state;
	cfgs_init();
	struct arca_err e = { 0 };
	struct nft_run_cfg c = allow_cfg;
	c.n_allow = 3;
	c.allow[2] = (struct nft_allow){ cidr("9.9.9.9", 32), NFT_PROTO_ANY, 853 };
	c.n_names = 4;
	c.names[2] = (struct nft_allow_name){ NFT_PROTO_TCP, 443 };
	c.names[3] = (struct nft_allow_name){ NFT_PROTO_ANY, 853 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	parse_batch(b);
	/* ct, ipv6, antispoof, blocked, 1 + 1 + 2 (any with a port: tcp and udp), names
	 * 1 + 1 + 1 + 2, rest */
	assert_int_equal(rules_in("forward"), 14);
	/* one timeout set per name, after blocked */
	size_t nsets = 0;
	for (size_t i = 0; i < P.nmsg; i++)
		nsets += P.type[i] == NFT(NFT_MSG_NEWSET);
	assert_int_equal(nsets, 1 + 4);
	assert_int_equal(P.type[7], NFT(NFT_MSG_NEWSET));
	assert_string_equal(nft_batch_what(b, 8), "add set dyn0");
	assert_string_equal(nft_batch_what(b, 11), "add set dyn3");
	const char *r = rule_of("forward", 4); /* 93.184.216.0/24 tcp dport 443 */
	assert_has(r, "[ payload load 4b @ network header + 16 => reg 1 ]");
	assert_has(r, "( reg 1 & 0x00ffffff ) ^ 0x00000000");
	assert_has(r, "[ cmp eq reg 1 0x00d8b85d ]");
	assert_has(r, "[ cmp eq reg 1 0x00000006 ]");
	assert_has(r, "[ payload load 2b @ transport header + 2 => reg 1 ]");
	assert_has(r, "[ cmp eq reg 1 0x0000bb01 ]");
	r = rule_of("forward", 5); /* 1.1.1.1, any protocol: no l4proto, no port */
	assert_has(r, "[ cmp eq reg 1 0x01010101 ]");
	assert_null(strstr(r, "l4proto"));
	assert_null(strstr(r, "transport header"));
	assert_has(rule_of("forward", 6), "[ cmp eq reg 1 0x00000006 ]");
	assert_has(rule_of("forward", 7), "[ cmp eq reg 1 0x00000011 ]");
	assert_has(rule_of("forward", 7), "[ cmp eq reg 1 0x00005503 ]");
	/* dyn0: udp dport 8080 only */
	r = rule_of("forward", 8);
	assert_has(r, "[ payload load 4b @ network header + 16 => reg 1 ]");
	assert_has(r, "[ lookup reg 1 set dyn0 ");
	assert_has(r, "[ cmp eq reg 1 0x00000011 ]");
	assert_has(r, "[ payload load 2b @ transport header + 2 => reg 1 ]");
	assert_has(r, "[ cmp eq reg 1 0x0000901f ]");
	assert_has(r, "[ immediate reg 0 accept ]");
	/* dyn1: any protocol, any port */
	r = rule_of("forward", 9);
	assert_has(r, "[ lookup reg 1 set dyn1 ");
	assert_null(strstr(r, "l4proto"));
	assert_null(strstr(r, "transport header"));
	/* dyn2: tcp 443 */
	r = rule_of("forward", 10);
	assert_has(r, "[ lookup reg 1 set dyn2 ");
	assert_has(r, "[ cmp eq reg 1 0x00000006 ]");
	assert_has(r, "[ cmp eq reg 1 0x0000bb01 ]");
	/* dyn3: a port without a protocol, tcp and udp */
	assert_has(rule_of("forward", 11), "[ lookup reg 1 set dyn3 ");
	assert_has(rule_of("forward", 11), "[ cmp eq reg 1 0x00000006 ]");
	assert_has(rule_of("forward", 11), "[ cmp eq reg 1 0x00005503 ]");
	assert_has(rule_of("forward", 12), "[ lookup reg 1 set dyn3 ");
	assert_has(rule_of("forward", 12), "[ cmp eq reg 1 0x00000011 ]");
	assert_has(rule_of("forward", 12), "[ cmp eq reg 1 0x00005503 ]");
	assert_has(rule_of("forward", 13), "[ immediate reg 0 drop ]");
	for (size_t i = 0; i < P.nrules; i++)
		assert_null(strstr(P.text[i], "allowed_dyn"));
	nft_batch_free(b);

	/* the largest run fits one batch */
	c.n_allow = NFT_ALLOW_MAX;
	for (size_t i = 0; i < NFT_ALLOW_MAX; i++)
		c.allow[i] = (struct nft_allow){ { htonl(0x08000000u + (uint32_t)i * 256), 24 },
						 NFT_PROTO_ANY, (uint16_t)(1000 + i) };
	c.n_names = NFT_NAMES_MAX;
	for (size_t i = 0; i < NFT_NAMES_MAX; i++)
		c.names[i] = (struct nft_allow_name){ NFT_PROTO_ANY, (uint16_t)(2000 + i) };
	c.n_extra_block = NFT_EXTRA_BLOCK_MAX;
	for (size_t i = 0; i < NFT_EXTRA_BLOCK_MAX; i++)
		c.extra_block[i] = (struct nft_cidr){ htonl(0x2d000000u + (uint32_t)i * 4), 32 };
	b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	assert_true(nft_batch_size(b) < NFT_BATCH_LIMIT);
	parse_batch(b);
	assert_int_equal(rules_in("forward"), 5 + 2 * NFT_ALLOW_MAX + 2 * NFT_NAMES_MAX);
	nft_batch_free(b);
}

static void test_build_allow_addr(void **state)
{
	(void)state;
	struct arca_err e = { 0 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_allow_addr(b, 3, ip("1.2.3.4"), 5, &e), 0);
	parse_batch(b);
	assert_int_equal(P.nmsg, 5);
	assert_int_equal(P.type[1], NFT(NFT_MSG_NEWSETELEM));
	assert_int_equal(P.type[2], NFT(NFT_MSG_DELSETELEM));
	assert_int_equal(P.type[3], NFT(NFT_MSG_NEWSETELEM));
	assert_int_equal(P.elem_key[0], ip("1.2.3.4"));
	/* the adds carry the clamped timeout, the delete none */
	assert_int_equal(P.nelems, 3);
	assert_int_equal(batch_timeout_ms, 30 * 1000);
	assert_string_equal(nft_batch_what(b, 4), "add element 1.2.3.4 of set inet arca dyn3");
	nft_batch_free(b);
	b = nft_batch_new();
	assert_int_equal(nft_build_allow_addr(b, NFT_NAMES_MAX, ip("1.2.3.4"), 5, &e), -EINVAL);
	nft_batch_free(b);
}

static void test_build_host(void **state)
{
	(void)state;
	struct arca_err e = { 0 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_host(b, cidr("10.213.0.0", 16), 0, &e), 0);
	parse_batch(b);
	assert_int_equal(P.type[1], NFT(NFT_MSG_NEWTABLE));
	assert_int_equal(rules_in("forward"), 2);
	assert_int_equal(rules_in("postrouting"), 1);
	/* "arca*": the 4 bytes before the '*' only */
	assert_has(rule_of("forward", 0), "[ cmp eq reg 1 0x61637261 ]");
	assert_has(rule_of("forward", 1), "[ ct load state => reg 1 ]");
	const char *r = rule_of("postrouting", 0);
	assert_has(r, "[ payload load 4b @ network header + 12 => reg 1 ]");
	assert_has(r, "[ cmp eq reg 1 0x0000d50a ]");
	assert_has(r, "[ cmp neq reg 1 0x61637261 ]");
	assert_has(r, "[ masq ]");
	nft_batch_free(b);

	b = nft_batch_new();
	assert_int_equal(nft_build_host(b, cidr("10.213.0.0", 16), 42, &e), 0);
	parse_batch(b);
	assert_int_equal(P.type[1], NFT(NFT_MSG_DELTABLE));
	assert_int_equal(P.type[2], NFT(NFT_MSG_NEWTABLE));
	nft_batch_free(b);

	b = nft_batch_new();
	assert_int_equal(nft_build_host(b, cidr("0.0.0.0", 0), 0, &e), -EINVAL);
	nft_batch_free(b);
}

/* The IPv6 elements in P are exactly the interval set of rs. */
static void assert_elems6(const struct nft_range6 *rs, size_t nr)
{
	/* starts, and ends one past them; none after the range to the top, none at :: before
	 * a first range from :: (blocked6 always starts with ::/96) */
	size_t n6 = 0;
	for (size_t j = 0; j < P.nelems; j++)
		n6 += P.elem_klen[j] == 16;
	assert_int_equal(n6, 2 * nr - 1);
	for (size_t i = 0; i < nr; i++) {
		uint8_t end[16];
		memcpy(end, rs[i].hi, 16);
		bool top = true;
		for (int k = 15; k >= 0 && top; k--)
			top = end[k] == 0xff;
		for (int k = 15; k >= 0 && ++end[k] == 0; k--)
			;
		bool start = false, ended = top;
		for (size_t j = 0; j < P.nelems; j++) {
			if (P.elem_klen[j] != 16)
				continue;
			bool is_end = P.elem_flags[j] & NFT_SET_ELEM_INTERVAL_END;
			start |= !memcmp(P.elem_key6[j], rs[i].lo, 16) && !is_end;
			ended |= !memcmp(P.elem_key6[j], end, 16) && is_end;
		}
		assert_true(start);
		assert_true(ended);
	}
}

static void test_build_nat6(void **state)
{
	(void)state;
	cfgs_init();
	struct arca_err e = { 0 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &nat6_cfg, &e), 0);
	parse_batch(b);
	static const uint16_t head[] = {
		NFNL_MSG_BATCH_BEGIN, NFT(NFT_MSG_NEWTABLE), NFT(NFT_MSG_DELTABLE),
		NFT(NFT_MSG_NEWTABLE), NFT(NFT_MSG_NEWOBJ), NFT(NFT_MSG_NEWSET),
		NFT(NFT_MSG_NEWSETELEM), NFT(NFT_MSG_NEWSET), NFT(NFT_MSG_NEWSETELEM),
		NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_NEWCHAIN), NFT(NFT_MSG_NEWCHAIN),
		NFT(NFT_MSG_NEWRULE),
	};
	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		assert_int_equal(P.type[i], head[i]);
	assert_string_equal(nft_batch_what(b, 8), "add set blocked6");
	assert_int_equal(rules_in("forward"), 7);
	assert_int_equal(rules_in("input"), 13);
	assert_int_equal(rules_in("postrouting"), 1);
	assert_int_equal(P.nacks, 1);

	/* forward 0: iifname "tap0" ip6 saddr != fd00:213::2 counter name refused drop, in
	 * place of the drop of all IPv6 */
	const char *r = rule_of("forward", 0);
	assert_has(r, "[ cmp eq reg 1 0x0000000a ]");
	assert_has(r, "[ payload load 16b @ network header + 8 => reg 1 ]");
	assert_has(r, cmp16("neq", "fd00:213::2"));
	assert_null(strstr(r, "bitwise")); /* a /128: no mask */
	assert_has(r, "[ objref type 1 name refused ]");
	assert_has(r, "[ immediate reg 0 drop ]");
	assert_has(rule_of("forward", 1), "[ cmp neq reg 1 0x0200d50a ]"); /* IPv4's */
	assert_has(rule_of("forward", 2), "[ ct load state => reg 1 ]");
	assert_has(rule_of("forward", 3), "[ lookup reg 1 set blocked ");
	/* 4: iifname "tap0" ip6 daddr @blocked6 counter name refused drop */
	r = rule_of("forward", 4);
	assert_has(r, "[ cmp eq reg 1 0x0000000a ]");
	assert_has(r, "[ payload load 16b @ network header + 24 => reg 1 ]");
	assert_has(r, "[ lookup reg 1 set blocked6 ");
	assert_has(r, "[ objref type 1 name refused ]");
	/* 5: nat mode's accept, either family */
	r = rule_of("forward", 5);
	assert_null(strstr(r, "nfproto"));
	assert_has(r, "[ immediate reg 0 accept ]");
	assert_has(rule_of("forward", 6), "[ objref type 1 name refused ]");
	for (size_t i = 0; i < rules_in("forward"); i++)
		assert_null(strstr(rule_of("forward", i), "[ counter pkts"));

	/* input: IPv4's five, then neighbour discovery (133, 135, 136; not 134) */
	for (size_t i = 0; i < 3; i++) {
		static const char *types[] = { "0x00000085", "0x00000087", "0x00000088" };
		char want[64];
		r = rule_of("input", 5 + i);
		assert_has(r, "[ cmp eq reg 1 0x0000000a ]");
		assert_has(r, "[ cmp eq reg 1 0x0000003a ]");
		assert_has(r, "[ payload load 1b @ transport header + 0 => reg 1 ]");
		snprintf(want, sizeof(want), "[ cmp eq reg 1 %s ]", types[i]);
		assert_has(r, want);
		assert_has(r, "[ immediate reg 0 accept ]");
		assert_null(strstr(r, "saddr"));
	}
	for (size_t i = 0; i < rules_in("input"); i++)
		assert_null(strstr(rule_of("input", i), "[ cmp eq reg 1 0x00000086 ]"));
	/* the guest's other multicast: dropped, counted apart */
	r = rule_of("input", 8);
	assert_has(r, "[ payload load 16b @ network header + 24 => reg 1 ]");
	assert_has(r, "( reg 1 & 0x000000ff 0x00000000 0x00000000 0x00000000 )");
	assert_has(r, cmp16("eq", "ff00::"));
	assert_has(r, "[ counter pkts 0 bytes 0 ]");
	assert_has(r, "[ immediate reg 0 drop ]");
	assert_has(rule_of("input", 9), cmp16("neq", "fd00:213::2"));
	assert_has(rule_of("input", 9), "[ objref type 1 name refused ]");
	assert_has(rule_of("input", 10), "[ ct load state => reg 1 ]");
	assert_has(rule_of("input", 10), "[ cmp eq reg 1 0x0000000a ]");
	/* a ping of gateway6 */
	r = rule_of("input", 11);
	assert_has(r, "[ payload load 16b @ network header + 24 => reg 1 ]");
	assert_has(r, cmp16("eq", "fd00:213::1"));
	assert_has(r, "[ cmp eq reg 1 0x0000003a ]");
	assert_has(r, "[ cmp eq reg 1 0x00000080 ]");
	assert_has(r, "[ immediate reg 0 accept ]");
	assert_has(rule_of("input", 12), "[ objref type 1 name refused ]");
	/* no resolver on IPv6: only IPv4's port 53 rules */
	size_t dns = 0;
	for (size_t i = 0; i < rules_in("input"); i++)
		dns += strstr(rule_of("input", i), "[ cmp eq reg 1 0x00003500 ]") != NULL;
	assert_int_equal(dns, 2);
	assert_has(rule_of("postrouting", 0), "[ cmp eq reg 1 0x00000002 ]");

	/* blocked6: fd12::3 merged into fc00::/7, ::/128 and ::1 into ::/96, link-local to
	 * multicast one range to the top */
	struct nft_cidr6 cs[NFT_BLOCKED6_MAX];
	struct nft_range6 rs[NFT_BLOCKED6_MAX];
	size_t nr = nft_ranges6_merge(cs, nft_blocked6_cidrs(&nat6_cfg, cs), rs);
	assert_int_equal(nr, 11);
	assert_addr6(rs[0].lo, "::");
	assert_addr6(rs[0].hi, "::255.255.255.255"); /* ::ffff:ffff as inet_ntop prints it */
	assert_addr6(rs[nr - 1].lo, "fe80::");
	assert_elems6(rs, nr);
	/* and blocked is IPv4's as before */
	size_t n4 = 0;
	for (size_t j = 0; j < P.nelems; j++)
		n4 += P.elem_klen[j] == 4;
	assert_int_equal(n4, 2 * 11 - 1);
	nft_batch_free(b);

	/* allow_private: fc00::/7 lifted, the host's fd12::3 stays */
	struct nft_run_cfg c = nat6_cfg;
	c.allow_private = true;
	b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	parse_batch(b);
	nr = nft_ranges6_merge(cs, nft_blocked6_cidrs(&c, cs), rs);
	assert_int_equal(nr, 11);
	assert_elems6(rs, nr);
	bool host = false;
	for (size_t j = 0; j < P.nelems; j++) {
		uint8_t want[16];
		ip6("fd12::3", want);
		host |= P.elem_klen[j] == 16 && !memcmp(P.elem_key6[j], want, 16);
		ip6("fc00::", want);
		assert_false(P.elem_klen[j] == 16 && !memcmp(P.elem_key6[j], want, 16));
	}
	assert_true(host);
	nft_batch_free(b);
}

static void test_build_allow6(void **state)
{
	(void)state;
	cfgs_init();
	struct arca_err e = { 0 };
	struct nft_run_cfg c = allow6_cfg;
	c.n_names = 4;
	c.names[2] = (struct nft_allow_name){ NFT_PROTO_TCP, 443 };
	c.names[3] = (struct nft_allow_name){ NFT_PROTO_ANY, 853 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &c, &e), 0);
	parse_batch(b);
	/* IPv4's (antispoof6 in place of the drop of IPv6), blocked6, names 1 + 1 + 1 + 2 */
	assert_int_equal(rules_in("forward"), 5 + 2 + 4 + 1 + 5 + 1);
	size_t nsets = 0;
	for (size_t i = 0; i < P.nmsg; i++)
		nsets += P.type[i] == NFT(NFT_MSG_NEWSET);
	assert_int_equal(nsets, 2 * (1 + 4));
	assert_string_equal(nft_batch_what(b, 8), "add set dyn0");
	assert_string_equal(nft_batch_what(b, 12), "add set blocked6");
	assert_string_equal(nft_batch_what(b, 14), "add set dyn6_0");
	assert_string_equal(nft_batch_what(b, 17), "add set dyn6_3");
	/* the IPv4 name rules, then the IPv6 ones: the same protocols and ports */
	const char *r = rule_of("forward", 12);
	assert_has(r, "[ cmp eq reg 1 0x0000000a ]");
	assert_has(r, "[ payload load 16b @ network header + 24 => reg 1 ]");
	assert_has(r, "[ lookup reg 1 set dyn6_0 ");
	assert_has(r, "[ cmp eq reg 1 0x00000011 ]");
	assert_has(r, "[ cmp eq reg 1 0x0000901f ]");
	assert_has(r, "[ immediate reg 0 accept ]");
	r = rule_of("forward", 13);
	assert_has(r, "[ lookup reg 1 set dyn6_1 ");
	assert_null(strstr(r, "l4proto"));
	assert_null(strstr(r, "transport header"));
	assert_has(rule_of("forward", 14), "[ lookup reg 1 set dyn6_2 ");
	assert_has(rule_of("forward", 14), "[ cmp eq reg 1 0x0000bb01 ]");
	assert_has(rule_of("forward", 15), "[ lookup reg 1 set dyn6_3 ");
	assert_has(rule_of("forward", 15), "[ cmp eq reg 1 0x00000006 ]");
	assert_has(rule_of("forward", 16), "[ lookup reg 1 set dyn6_3 ");
	assert_has(rule_of("forward", 16), "[ cmp eq reg 1 0x00000011 ]");
	assert_has(rule_of("forward", 16), "[ cmp eq reg 1 0x00005503 ]");
	assert_has(rule_of("forward", 17), "[ immediate reg 0 drop ]");
	/* the allow list's CIDRs are IPv4 only: every rule with an IPv4 prefix matches
	 * meta nfproto ipv4 */
	for (size_t i = 0; i < P.nrules; i++)
		if (strstr(P.text[i], "0x00d8b85d") || strstr(P.text[i], "0x01010101"))
			assert_has(P.text[i], "[ cmp eq reg 1 0x00000002 ]");
	nft_batch_free(b);

	/* the largest run with IPv6 fits one batch */
	c.n_allow = NFT_ALLOW_MAX;
	for (size_t i = 0; i < NFT_ALLOW_MAX; i++)
		c.allow[i] = (struct nft_allow){ { htonl(0x08000000u + (uint32_t)i * 256), 24 },
						 NFT_PROTO_ANY, (uint16_t)(1000 + i) };
	c.n_names = NFT_NAMES_MAX;
	for (size_t i = 0; i < NFT_NAMES_MAX; i++)
		c.names[i] = (struct nft_allow_name){ NFT_PROTO_ANY, (uint16_t)(2000 + i) };
	c.n_extra_block = NFT_EXTRA_BLOCK_MAX;
	for (size_t i = 0; i < NFT_EXTRA_BLOCK_MAX; i++)
		c.extra_block[i] = (struct nft_cidr){ htonl(0x2d000000u + (uint32_t)i * 4), 32 };
	c.n_extra_block6 = NFT_EXTRA_BLOCK_MAX;
	for (size_t i = 0; i < NFT_EXTRA_BLOCK_MAX; i++) {
		c.extra_block6[i] = cidr6("2a01:4f8::", 128);
		c.extra_block6[i].addr[15] = (uint8_t)(4 * i); /* none adjacent */
	}
	b = nft_batch_new();
	if (nft_build_run(b, &c, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(nft_batch_size(b) < NFT_BATCH_LIMIT);
	parse_batch(b);
	assert_true(P.nmsg <= NFT_BATCH_MSGS);
	assert_int_equal(rules_in("forward"), 6 + 2 * NFT_ALLOW_MAX + 4 * NFT_NAMES_MAX);
	print_message("the largest run with IPv6: %zu bytes, %zu messages\n", nft_batch_size(b),
		      P.nmsg);
	nft_batch_free(b);
}

static void test_build_allow_addr6(void **state)
{
	(void)state;
	struct arca_err e = { 0 };
	uint8_t a[16];
	ip6("2606:4700::1", a);
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_allow_addr6(b, 3, a, 5, &e), 0);
	parse_batch(b);
	assert_int_equal(P.nmsg, 5);
	assert_int_equal(P.type[1], NFT(NFT_MSG_NEWSETELEM));
	assert_int_equal(P.type[2], NFT(NFT_MSG_DELSETELEM));
	assert_int_equal(P.type[3], NFT(NFT_MSG_NEWSETELEM));
	assert_int_equal(P.nelems, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(P.elem_klen[i], 16);
		assert_memory_equal(P.elem_key6[i], a, 16);
	}
	assert_int_equal(batch_timeout_ms, 30 * 1000);
	assert_string_equal(nft_batch_what(b, 4), "add element 2606:4700::1 of set inet arca dyn6_3");
	nft_batch_free(b);
	b = nft_batch_new();
	assert_int_equal(nft_build_allow_addr6(b, NFT_NAMES_MAX, a, 5, &e), -EINVAL);
	nft_batch_free(b);
}

static void test_build_host6(void **state)
{
	(void)state;
	struct arca_err e = { 0 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_host6(b, cidr6("fd00:213::", 48), 0, &e), 0);
	parse_batch(b);
	assert_int_equal(P.type[1], NFT(NFT_MSG_NEWTABLE));
	assert_string_equal(nft_batch_what(b, 2), "add table ip6 arca-host6");
	assert_int_equal(rules_in("forward"), 2);
	assert_int_equal(rules_in("postrouting"), 1);
	assert_has(rule_of("forward", 0), "[ cmp eq reg 1 0x61637261 ]");
	assert_has(rule_of("forward", 1), "[ ct load state => reg 1 ]");
	const char *r = rule_of("postrouting", 0);
	assert_has(r, "[ payload load 16b @ network header + 8 => reg 1 ]");
	assert_has(r, "( reg 1 & 0xffffffff 0x0000ffff 0x00000000 0x00000000 )");
	assert_has(r, cmp16("eq", "fd00:213::"));
	assert_has(r, "[ cmp neq reg 1 0x61637261 ]");
	assert_has(r, "[ masq ]");
	nft_batch_free(b);

	b = nft_batch_new();
	assert_int_equal(nft_build_host6(b, cidr6("fd00:213::", 48), 42, &e), 0);
	parse_batch(b);
	assert_int_equal(P.type[1], NFT(NFT_MSG_DELTABLE));
	assert_int_equal(P.type[2], NFT(NFT_MSG_NEWTABLE));
	assert_string_equal(nft_batch_what(b, 2), "delete the outdated table ip6 arca-host6");
	nft_batch_free(b);

	b = nft_batch_new();
	assert_int_equal(nft_build_host6(b, cidr6("fc00::", 7), 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "IPv6 address pool /7"));
	nft_batch_free(b);
	b = nft_batch_new();
	assert_int_equal(nft_build_host6(b, cidr6("fd00::", 129), 0, &e), -EINVAL);
	nft_batch_free(b);

	b = nft_batch_new();
	assert_int_equal(nft_build_host6_remove(b, &e), 0);
	parse_batch(b);
	assert_int_equal(P.nmsg, 3);
	assert_int_equal(P.type[1], NFT(NFT_MSG_DELTABLE));
	assert_string_equal(nft_batch_what(b, 2), "delete table ip6 arca-host6");
	nft_batch_free(b);
}

static void test_batch_errors(void **state)
{
	(void)state;
	cfgs_init();
	struct arca_err e = { 0 };
	struct nft_batch *b = nft_batch_new();
	assert_int_equal(nft_build_run(b, &nat_cfg, &e), 0);
	/* seq 1: begin, 2: add table (a probe), 3: delete, ... */
	assert_int_equal(nft_batch_error(b, 1, EOPNOTSUPP, NULL, &e), -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "nftables is not available in this kernel (modprobe "
				      "nf_tables): begin an nftables batch"));
	assert_int_equal(nft_batch_error(b, 2, ENOENT, NULL, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "not available in this kernel (modprobe nf_tables): "
				      "add table inet arca: No such file"));
	assert_int_equal(nft_batch_error(b, 3, EPERM, "nope", &e), -EPERM);
	assert_string_equal(e.msg, "nftables: delete the previous table inet arca: Operation not "
				   "permitted (kernel: nope)");
	assert_int_equal(e.code, EPERM);
	/* the nat chain is message 10 (no dyn<i> sets in nat mode) */
	assert_string_equal(nft_batch_what(b, 10), "add chain postrouting (type nat)");
	nft_batch_error(b, 10, ENOENT, NULL, &e);
	assert_non_null(strstr(e.msg, "modprobe nft_chain_nat"));
	nft_batch_error(b, 11, EINVAL, NULL, &e);
	assert_string_equal(e.msg, "nftables: add rule IPv6 from the guest: drop: Invalid "
				   "argument");
	nft_batch_error(b, 9999, EINVAL, NULL, &e);
	assert_non_null(strstr(e.msg, "an nftables batch"));
	assert_null(nft_batch_what(b, 9999));
	nft_batch_free(b);
}

/* ---- live: a private netns -------------------------------------------------------------- */

static bool live; /* in our own netns, with nf_tables */
static const char *live_why = "unshare(CLONE_NEWNET) not permitted";

#define NEED_LIVE()                                                           \
	do {                                                                  \
		if (!live) {                                                  \
			print_message("skipped: %s\n", live_why);             \
			skip();                                               \
		}                                                             \
	} while (0)

static int dump_cb_rules(const struct nlmsghdr *nlh, void *data)
{
	rule_text(nlh, data);
	return MNL_CB_OK;
}

struct names {
	size_t n;
	char name[32][64];
	uint32_t u[32]; /* family, hook, set flags */
	uint32_t policy[32];
	uint64_t handle[32];
};

static int dump_cb_tables(const struct nlmsghdr *nlh, void *data)
{
	struct names *t = data;
	struct nftnl_table *x = nftnl_table_alloc();
	assert_int_equal(nftnl_table_nlmsg_parse(nlh, x), 0);
	snprintf(t->name[t->n], sizeof(t->name[0]), "%s", nftnl_table_get_str(x, NFTNL_TABLE_NAME));
	t->u[t->n] = nftnl_table_get_u32(x, NFTNL_TABLE_FAMILY);
	t->handle[t->n++] = nftnl_table_get_u64(x, NFTNL_TABLE_HANDLE);
	nftnl_table_free(x);
	return MNL_CB_OK;
}

static int dump_cb_chains(const struct nlmsghdr *nlh, void *data)
{
	struct names *t = data;
	struct nftnl_chain *x = nftnl_chain_alloc();
	assert_int_equal(nftnl_chain_nlmsg_parse(nlh, x), 0);
	snprintf(t->name[t->n], sizeof(t->name[0]), "%s %s",
		 nftnl_chain_get_str(x, NFTNL_CHAIN_TABLE), nftnl_chain_get_str(x, NFTNL_CHAIN_NAME));
	t->u[t->n] = nftnl_chain_get_u32(x, NFTNL_CHAIN_HOOKNUM);
	t->policy[t->n] = nftnl_chain_get_u32(x, NFTNL_CHAIN_POLICY);
	t->handle[t->n++] = nftnl_chain_get_u64(x, NFTNL_CHAIN_HANDLE);
	nftnl_chain_free(x);
	return MNL_CB_OK;
}

static int dump_cb_sets(const struct nlmsghdr *nlh, void *data)
{
	struct names *t = data;
	struct nftnl_set *x = nftnl_set_alloc();
	assert_int_equal(nftnl_set_nlmsg_parse(nlh, x), 0);
	snprintf(t->name[t->n], sizeof(t->name[0]), "%s", nftnl_set_get_str(x, NFTNL_SET_NAME));
	t->u[t->n++] = nftnl_set_get_u32(x, NFTNL_SET_FLAGS);
	nftnl_set_free(x);
	return MNL_CB_OK;
}

static void dump(uint16_t type, uint16_t family, mnl_cb_t cb, void *data)
{
	char buf[1024];
	struct arca_err e = { 0 };
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, family, NLM_F_DUMP, 7);
	if (nft_query(nlh, cb, data, "test dump", &e) < 0)
		fail_msg("%s", e.msg);
}

static struct names tables, chains, sets;

static void read_back(void)
{
	memset(&tables, 0, sizeof(tables));
	memset(&chains, 0, sizeof(chains));
	memset(&sets, 0, sizeof(sets));
	memset(&P, 0, sizeof(P));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	dump(NFT_MSG_GETCHAIN, NFPROTO_INET, dump_cb_chains, &chains);
	dump(NFT_MSG_GETSET, NFPROTO_INET, dump_cb_sets, &sets);
	dump(NFT_MSG_GETRULE, NFPROTO_INET, dump_cb_rules, &P);
}

/* Elements of one set of table inet arca, into P.elem_*. */
static int dump_cb_elems(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	nftnl_set_elem_foreach(s, elem_cb, data);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static void read_elems(const char *set, mnl_cb_t cb)
{
	char buf[1024];
	struct arca_err e = { 0 };
	P.nelems = 0;
	struct nftnl_set *s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_RUN_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
						     NLM_F_DUMP, 8);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (nft_query(nlh, cb, &P, "test dump of set elements", &e) < 0)
		fail_msg("%s", e.msg);
}

static size_t count_tables(const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < tables.n; i++)
		n += !strcmp(tables.name[i], name);
	return n;
}

static void apply_ok(const struct nft_run_cfg *c)
{
	struct arca_err e = { 0 };
	if (nft_run_apply(c, &e) < 0)
		fail_msg("%s", e.msg);
}

static void test_live_nat(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&nat_cfg);
	read_back();
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1);
	assert_int_equal(chains.n, 3);
	assert_string_equal(chains.name[0], "arca forward");
	assert_int_equal(chains.u[0], NF_INET_FORWARD);
	assert_int_equal(chains.policy[0], NF_DROP);
	assert_string_equal(chains.name[1], "arca input");
	assert_int_equal(chains.u[1], NF_INET_LOCAL_IN);
	assert_int_equal(chains.policy[1], NF_ACCEPT);
	assert_string_equal(chains.name[2], "arca postrouting");
	assert_int_equal(chains.u[2], NF_INET_POST_ROUTING);
	assert_int_equal(sets.n, 1); /* no dyn<i> in nat mode */
	assert_string_equal(sets.name[0], NFT_SET_BLOCKED);
	assert_true(sets.u[0] & NFT_SET_INTERVAL);
	assert_int_equal(rules_in("forward"), 6);
	assert_int_equal(rules_in("input"), 7);
	assert_int_equal(rules_in("postrouting"), 1);
	assert_has(rule_of("forward", 3), "[ lookup reg 1 set blocked ");
	assert_has(rule_of("forward", 5), "[ objref type 1 name refused ]");
	assert_has(rule_of("postrouting", 0), "[ masq ]");

	/* blocked as the kernel holds it: every range's start and end (order: the backend's) */
	read_elems(NFT_SET_BLOCKED, dump_cb_elems);
	struct nft_cidr cs[NFT_BLOCKED_MAX];
	struct nft_range rs[NFT_BLOCKED_MAX];
	size_t nr = nft_ranges_merge(cs, nft_blocked_cidrs(&nat_cfg, cs), rs);
	assert_int_equal(P.nelems, 2 * nr - 1);
	for (size_t i = 0; i < nr; i++) {
		bool start = false, end = rs[i].hi == UINT32_MAX;
		for (size_t j = 0; j < P.nelems; j++) {
			uint32_t k = ntohl(P.elem_key[j]);
			bool is_end = P.elem_flags[j] & NFT_SET_ELEM_INTERVAL_END;
			start |= k == rs[i].lo && !is_end;
			end |= k == rs[i].hi + 1 && is_end;
		}
		assert_true(start);
		assert_true(end);
	}
}

static void test_live_allow(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&allow_cfg);
	read_back();
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1);
	assert_int_equal(sets.n, 3);
	assert_string_equal(sets.name[1], "dyn0");
	assert_true(sets.u[1] & NFT_SET_TIMEOUT);
	assert_string_equal(sets.name[2], "dyn1");
	assert_int_equal(rules_in("forward"), 9);
	/* the kernel's copy prints as ours did */
	const char *r = rule_of("forward", 4);
	assert_has(r, "( reg 1 & 0x00ffffff ) ^ 0x00000000");
	assert_has(r, "[ cmp eq reg 1 0x00d8b85d ]");
	assert_has(r, "[ payload load 2b @ transport header + 2 => reg 1 ]");
	assert_has(r, "[ cmp eq reg 1 0x0000bb01 ]");
	assert_has(rule_of("forward", 5), "[ cmp eq reg 1 0x01010101 ]");
	assert_has(rule_of("forward", 6), "[ lookup reg 1 set dyn0 ");
	assert_has(rule_of("forward", 6), "[ cmp eq reg 1 0x0000901f ]");
	assert_has(rule_of("forward", 7), "[ lookup reg 1 set dyn1 ");
	assert_has(rule_of("forward", 8), "[ immediate reg 0 drop ]");
}

static void test_live_allow_addr(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&allow_cfg);
	struct arca_err e = { 0 };
	assert_int_equal(nft_run_allow_addr(1, ip("1.2.3.4"), 5, &e), 0);
	read_elems("dyn0", dump_cb_elems); /* only the set of that name */
	assert_int_equal(P.nelems, 0);
	read_elems("dyn1", dump_cb_elems);
	assert_int_equal(P.nelems, 1);
	assert_int_equal(P.elem_key[0], ip("1.2.3.4"));
	assert_int_equal(P.elem_timeout_ms[0], 30 * 1000); /* clamped up */
	/* again, longer: refreshed in place, still one element; and one clamped down */
	assert_int_equal(nft_run_allow_addr(1, ip("1.2.3.4"), 600, &e), 0);
	assert_int_equal(nft_run_allow_addr(1, ip("5.6.7.8"), 99999, &e), 0);
	read_elems("dyn1", dump_cb_elems);
	assert_int_equal(P.nelems, 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(P.elem_timeout_ms[i],
				 P.elem_key[i] == ip("1.2.3.4") ? 600 * 1000 : 3600 * 1000);
}

static void test_live_counters(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&nat_cfg);
	struct arca_err e = { 0 };
	uint64_t n = 77;
	assert_int_equal(nft_run_counters(&n, &e), 0);
	assert_int_equal(n, 0);
}

static void test_live_apply_twice(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&nat_cfg);
	read_back();
	uint64_t first = 0;
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_RUN_TABLE))
			first = tables.handle[i];
	apply_ok(&allow_cfg);
	read_back();
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1);
	assert_int_equal(chains.n, 3);
	assert_int_equal(sets.n, 3);
	assert_int_equal(rules_in("forward"), 9); /* allow's, not nat's plus allow's */
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_RUN_TABLE))
			assert_true(tables.handle[i] != first); /* a new table, not an edit */
}

/* In a netns without table inet arca (a child's own): each error names what failed. */
static void test_live_no_table(void **state)
{
	(void)state;
	NEED_LIVE();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct arca_err e = { 0 };
		uint64_t n;
		if (unshare(CLONE_NEWNET) < 0)
			_exit(10);
		if (nft_run_allow_addr(0, ip("1.2.3.4"), 60, &e) != -ENOENT ||
		    !strstr(e.msg, "nftables: add element 1.2.3.4 of set inet arca dyn0: "))
			_exit(11);
		if (nft_run_counters(&n, &e) != -ENOENT ||
		    !strstr(e.msg, "reading counter refused of table inet arca"))
			_exit(12);
		if (nft_host_remove(&e) != 0) /* none: nothing to remove */
			_exit(13);
		uint8_t a[16] = { 0x26, 0x06, 0x47, [15] = 1 };
		if (nft_run_allow_addr6(0, a, 60, &e) != -ENOENT ||
		    !strstr(e.msg, "nftables: add element 2606:4700::1 of set inet arca dyn6_0: "))
			_exit(14);
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_live_host(void **state)
{
	(void)state;
	NEED_LIVE();
	struct arca_err e = { 0 };
	struct nft_cidr pool = cidr("10.213.0.0", 16);
	assert_int_equal(nft_host_ensure(pool, &e), 0);
	memset(&tables, 0, sizeof(tables));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	assert_int_equal(count_tables(NFT_HOST_TABLE), 1);
	uint64_t h = 0;
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_HOST_TABLE))
			h = tables.handle[i];

	/* again: left alone (same handle, rules not doubled) */
	assert_int_equal(nft_host_ensure(pool, &e), 0);
	memset(&tables, 0, sizeof(tables));
	memset(&chains, 0, sizeof(chains));
	memset(&P, 0, sizeof(P));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	dump(NFT_MSG_GETCHAIN, NFPROTO_IPV4, dump_cb_chains, &chains);
	dump(NFT_MSG_GETRULE, NFPROTO_IPV4, dump_cb_rules, &P);
	assert_int_equal(count_tables(NFT_HOST_TABLE), 1);
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1); /* the other table untouched */
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_HOST_TABLE))
			assert_int_equal(tables.handle[i], h);
	assert_int_equal(chains.n, 2);
	assert_string_equal(chains.name[0], "arca-host forward");
	assert_int_equal(chains.policy[0], NF_ACCEPT);
	assert_int_equal(P.nrules, 3);
	assert_has(rule_of("postrouting", 0), "[ cmp eq reg 1 0x0000d50a ]");

	/* another pool: replaced in one batch, still one table */
	assert_int_equal(nft_host_ensure(cidr("10.214.0.0", 16), &e), 0);
	memset(&tables, 0, sizeof(tables));
	memset(&P, 0, sizeof(P));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	dump(NFT_MSG_GETRULE, NFPROTO_IPV4, dump_cb_rules, &P);
	assert_int_equal(count_tables(NFT_HOST_TABLE), 1);
	assert_int_equal(P.nrules, 3);
	assert_has(rule_of("postrouting", 0), "[ cmp eq reg 1 0x0000d60a ]");

	assert_int_equal(nft_host_remove(&e), 0);
	memset(&tables, 0, sizeof(tables));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	assert_int_equal(count_tables(NFT_HOST_TABLE), 0);
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1);
	assert_int_equal(nft_host_remove(&e), 0); /* none: nothing to do */
}

static void test_live_nat6(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&nat6_cfg);
	read_back();
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1);
	assert_int_equal(chains.n, 3);
	assert_int_equal(sets.n, 2);
	assert_string_equal(sets.name[1], NFT_SET_BLOCKED6);
	assert_true(sets.u[1] & NFT_SET_INTERVAL);
	assert_int_equal(rules_in("forward"), 7);
	assert_int_equal(rules_in("input"), 13);
	assert_int_equal(rules_in("postrouting"), 1);
	/* the kernel's copy prints as ours did */
	assert_has(rule_of("forward", 0), cmp16("neq", "fd00:213::2"));
	assert_has(rule_of("forward", 4), "[ lookup reg 1 set blocked6 ");
	assert_has(rule_of("input", 8), "( reg 1 & 0x000000ff 0x00000000 0x00000000 0x00000000 )");
	assert_has(rule_of("input", 11), cmp16("eq", "fd00:213::1"));
	assert_has(rule_of("postrouting", 0), "[ cmp eq reg 1 0x00000002 ]");

	/* blocked6 as the kernel holds it: every range's start and end */
	read_elems(NFT_SET_BLOCKED6, dump_cb_elems);
	struct nft_cidr6 cs[NFT_BLOCKED6_MAX];
	struct nft_range6 rs[NFT_BLOCKED6_MAX];
	size_t nr = nft_ranges6_merge(cs, nft_blocked6_cidrs(&nat6_cfg, cs), rs);
	assert_elems6(rs, nr);

	/* host prefixes that overlap, touch, or lie inside the defaults: one valid set */
	struct nft_run_cfg c = nat6_cfg;
	c.n_extra_block6 = 5;
	c.extra_block6[0] = cidr6("2a01:4f8::", 64);
	c.extra_block6[1] = cidr6("2a01:4f8::1", 128);          /* inside [0] */
	c.extra_block6[2] = cidr6("2a01:4f8:0:1::", 64);        /* adjacent to [0] */
	c.extra_block6[3] = cidr6("fe80::1", 128);              /* inside a default */
	c.extra_block6[4] = cidr6("2a01:4f8:0:1::", 64);        /* twice */
	apply_ok(&c);
	read_elems(NFT_SET_BLOCKED6, dump_cb_elems);
	nr = nft_ranges6_merge(cs, nft_blocked6_cidrs(&c, cs), rs);
	assert_elems6(rs, nr);
}

static void test_live_allow6(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&allow6_cfg);
	read_back();
	assert_int_equal(sets.n, 6);
	assert_string_equal(sets.name[3], NFT_SET_BLOCKED6);
	assert_string_equal(sets.name[4], "dyn6_0");
	assert_true(sets.u[4] & NFT_SET_TIMEOUT);
	assert_string_equal(sets.name[5], "dyn6_1");
	assert_int_equal(rules_in("forward"), 12);
	assert_has(rule_of("forward", 9), "[ lookup reg 1 set dyn6_0 ");
	assert_has(rule_of("forward", 9), "[ cmp eq reg 1 0x0000901f ]");
	assert_has(rule_of("forward", 10), "[ lookup reg 1 set dyn6_1 ");
	assert_has(rule_of("forward", 11), "[ immediate reg 0 drop ]");

	/* the largest run with IPv6: the kernel takes the whole batch in one sendmsg */
	struct nft_run_cfg c = allow6_cfg;
	c.n_allow = NFT_ALLOW_MAX;
	for (size_t i = 0; i < NFT_ALLOW_MAX; i++)
		c.allow[i] = (struct nft_allow){ { htonl(0x08000000u + (uint32_t)i * 256), 24 },
						 NFT_PROTO_ANY, (uint16_t)(1000 + i) };
	c.n_names = NFT_NAMES_MAX;
	for (size_t i = 0; i < NFT_NAMES_MAX; i++)
		c.names[i] = (struct nft_allow_name){ NFT_PROTO_ANY, (uint16_t)(2000 + i) };
	c.n_extra_block6 = NFT_EXTRA_BLOCK_MAX;
	for (size_t i = 0; i < NFT_EXTRA_BLOCK_MAX; i++) {
		c.extra_block6[i] = cidr6("2a01:4f8::", 128);
		c.extra_block6[i].addr[15] = (uint8_t)(4 * i);
	}
	apply_ok(&c);
	read_back();
	assert_int_equal(sets.n, 2 + 2 * NFT_NAMES_MAX);
	assert_int_equal(rules_in("forward"), 6 + 2 * NFT_ALLOW_MAX + 4 * NFT_NAMES_MAX);
}

static void test_live_allow_addr6(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	apply_ok(&allow6_cfg);
	struct arca_err e = { 0 };
	uint8_t a[16], b[16];
	ip6("2606:4700::1", a);
	ip6("2606:4700::2", b);
	assert_int_equal(nft_run_allow_addr6(1, a, 5, &e), 0);
	read_elems("dyn6_0", dump_cb_elems); /* only the set of that name */
	assert_int_equal(P.nelems, 0);
	read_elems("dyn1", dump_cb_elems);   /* and not IPv4's */
	assert_int_equal(P.nelems, 0);
	read_elems("dyn6_1", dump_cb_elems);
	assert_int_equal(P.nelems, 1);
	assert_int_equal(P.elem_klen[0], 16);
	assert_memory_equal(P.elem_key6[0], a, 16);
	assert_int_equal(P.elem_timeout_ms[0], 30 * 1000); /* clamped up */
	/* again, longer: refreshed in place, still one element; and one clamped down */
	assert_int_equal(nft_run_allow_addr6(1, a, 600, &e), 0);
	assert_int_equal(nft_run_allow_addr6(1, b, 99999, &e), 0);
	read_elems("dyn6_1", dump_cb_elems);
	assert_int_equal(P.nelems, 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(P.elem_timeout_ms[i],
				 !memcmp(P.elem_key6[i], a, 16) ? 600 * 1000 : 3600 * 1000);

	/* without ipv6 there is no dyn6_<i>: the error names the set */
	apply_ok(&allow_cfg);
	assert_int_equal(nft_run_allow_addr6(0, a, 60, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "add element 2606:4700::1 of set inet arca dyn6_0"));
}

static void test_live_host6(void **state)
{
	(void)state;
	NEED_LIVE();
	struct arca_err e = { 0 };
	struct nft_cidr6 pool6 = cidr6("fd00:213::", 48);
	assert_int_equal(nft_host_ensure6(pool6, &e), 0);
	memset(&tables, 0, sizeof(tables));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	assert_int_equal(count_tables(NFT_HOST6_TABLE), 1);
	uint64_t h = 0;
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_HOST6_TABLE)) {
			h = tables.handle[i];
			assert_int_equal(tables.u[i], NFPROTO_IPV6);
		}

	/* again: left alone (same handle, rules not doubled) */
	assert_int_equal(nft_host_ensure6(pool6, &e), 0);
	memset(&tables, 0, sizeof(tables));
	memset(&chains, 0, sizeof(chains));
	memset(&P, 0, sizeof(P));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	dump(NFT_MSG_GETCHAIN, NFPROTO_IPV6, dump_cb_chains, &chains);
	dump(NFT_MSG_GETRULE, NFPROTO_IPV6, dump_cb_rules, &P);
	assert_int_equal(count_tables(NFT_HOST6_TABLE), 1);
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_HOST6_TABLE))
			assert_int_equal(tables.handle[i], h);
	assert_int_equal(chains.n, 2);
	assert_string_equal(chains.name[0], "arca-host6 forward");
	assert_int_equal(chains.u[0], NF_INET_FORWARD);
	assert_int_equal(chains.policy[0], NF_ACCEPT);
	assert_string_equal(chains.name[1], "arca-host6 postrouting");
	assert_int_equal(P.nrules, 3);
	assert_has(rule_of("postrouting", 0), cmp16("eq", "fd00:213::"));
	assert_has(rule_of("postrouting", 0), "[ masq ]");

	/* the IPv4 table beside it: each ensure leaves the other alone */
	assert_int_equal(nft_host_ensure(cidr("10.213.0.0", 16), &e), 0);
	assert_int_equal(nft_host_ensure6(pool6, &e), 0);
	memset(&tables, 0, sizeof(tables));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	assert_int_equal(count_tables(NFT_HOST_TABLE), 1);
	assert_int_equal(count_tables(NFT_HOST6_TABLE), 1);
	for (size_t i = 0; i < tables.n; i++)
		if (!strcmp(tables.name[i], NFT_HOST6_TABLE))
			assert_int_equal(tables.handle[i], h);

	/* another pool: replaced in one batch, still one table */
	assert_int_equal(nft_host_ensure6(cidr6("fd00:214::", 48), &e), 0);
	memset(&tables, 0, sizeof(tables));
	memset(&P, 0, sizeof(P));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	dump(NFT_MSG_GETRULE, NFPROTO_IPV6, dump_cb_rules, &P);
	assert_int_equal(count_tables(NFT_HOST6_TABLE), 1);
	assert_int_equal(P.nrules, 3);
	assert_has(rule_of("postrouting", 0), cmp16("eq", "fd00:214::"));
	assert_int_equal(nft_host_ensure6(cidr6("::", 0), &e), -EINVAL);

	/* remove: both host tables, nothing else */
	assert_int_equal(nft_host_remove(&e), 0);
	memset(&tables, 0, sizeof(tables));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	assert_int_equal(count_tables(NFT_HOST_TABLE), 0);
	assert_int_equal(count_tables(NFT_HOST6_TABLE), 0);
	assert_int_equal(count_tables(NFT_RUN_TABLE), 1);
	assert_int_equal(nft_host_remove(&e), 0); /* none: nothing to do */
	/* only the IPv6 one present: removed too */
	assert_int_equal(nft_host_ensure6(pool6, &e), 0);
	assert_int_equal(nft_host_remove(&e), 0);
	memset(&tables, 0, sizeof(tables));
	dump(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, dump_cb_tables, &tables);
	assert_int_equal(count_tables(NFT_HOST6_TABLE), 0);
}

/* ---- live traffic: a guest netns G -- veth -- our netns N (the rules) -- dummy veth0 ---- */

static int rt_talk(struct nlmsghdr *nlh)
{
	char buf[8192];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	int r = -EIO;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		goto out;
	r = mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return r;
}

static int rt_link_add(const char *name, const char *kind, const char *peer, int peer_ns)
{
	char buf[1024];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (peer) {
		struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
		struct ifinfomsg *pm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pm));
		pm->ifi_family = AF_UNSPEC;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
		if (peer_ns >= 0)
			mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_ns);
		mnl_attr_nest_end(nlh, p);
		mnl_attr_nest_end(nlh, d);
	}
	mnl_attr_nest_end(nlh, li);
	return rt_talk(nlh);
}

static int rt_link_up(const char *name)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)if_nametoindex(name);
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	return ifm->ifi_index ? rt_talk(nlh) : -ENODEV;
}

static int rt_addr_add(const char *name, const char *addr, uint8_t plen)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = if_nametoindex(name);
	mnl_attr_put_u32(nlh, IFA_LOCAL, ip(addr));
	mnl_attr_put_u32(nlh, IFA_ADDRESS, ip(addr));
	return rt_talk(nlh);
}

/* default route out of dev, via gw (NULL: on link) */
static int rt_default(const char *dev, const char *gw)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex(dev));
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, ip(gw));
	return rt_talk(nlh);
}

static void must(int r, const char *what)
{
	if (r < 0)
		fail_msg("%s: %s", what, strerror(-r));
}

static int guest_ns = -1, our_ns = -1;

/* N: tap0 10.213.0.1/30 (peer gst0 in G: 10.213.0.2/30, default via .1); veth0 with the
 * default route, its peer up0 left down in N (what passes the forward chain ends there);
 * forwarding on. */
static void traffic_setup(void)
{
	if (guest_ns >= 0)
		return;
	our_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(our_ns >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	guest_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(guest_ns >= 0);
	must(rt_link_up("lo"), "G: lo up");
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);

	must(rt_link_add("tap0", "veth", "gst0", guest_ns), "N: veth tap0/gst0");
	must(rt_link_add("veth0", "veth", "up0", -1), "N: veth veth0/up0");
	must(rt_addr_add("tap0", "10.213.0.1", 30), "N: tap0 address");
	must(rt_addr_add("veth0", "10.99.0.1", 24), "N: veth0 address");
	must(rt_link_up("lo"), "N: lo up");
	must(rt_link_up("tap0"), "N: tap0 up");
	must(rt_link_up("veth0"), "N: veth0 up");
	must(rt_default("veth0", NULL), "N: default route");
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "1\n", 2), 2);
	close(fd);

	assert_int_equal(setns(guest_ns, CLONE_NEWNET), 0);
	must(rt_addr_add("gst0", "10.213.0.2", 30), "G: gst0 address");
	must(rt_link_up("gst0"), "G: gst0 up");
	must(rt_default("gst0", "10.213.0.1"), "G: default route");
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);
}

/* One UDP datagram from the guest's netns. */
static void guest_send(const char *dst, uint16_t port)
{
	assert_int_equal(setns(guest_ns, CLONE_NEWNET), 0);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);
	assert_true(s >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = ip(dst) };
	assert_int_equal(sendto(s, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
	close(s);
}

/* refused once it reaches want (the first datagram waits for ARP; 3 s at most), read again
 * a little later: a datagram that should have passed but was refused shows as want + 1. */
static uint64_t refused_settle(uint64_t want)
{
	struct arca_err e = { 0 };
	uint64_t n = 0;
	for (int i = 0; i < 300; i++) {
		if (nft_run_counters(&n, &e) < 0)
			fail_msg("%s", e.msg);
		if (n >= want)
			break;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	if (nft_run_counters(&n, &e) < 0)
		fail_msg("%s", e.msg);
	return n;
}

/* A refused datagram after ones that should pass: they are counted in order, so the count
 * rising by exactly one says the ones before it passed. */
#define BARRIER() guest_send("10.0.0.1", 9)

static void test_live_traffic(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	traffic_setup();
	apply_ok(&nat_cfg);
	assert_int_equal(refused_settle(0), 0);
	guest_send("10.0.0.1", 9);        /* blocked (private): forward, refused */
	assert_int_equal(refused_settle(1), 1);
	guest_send("198.51.100.1", 9);    /* nat mode: forwarded to veth0 */
	guest_send("10.213.0.1", 53);     /* the resolver's port on the gateway */
	BARRIER();
	assert_int_equal(refused_settle(2), 2);
	guest_send("10.213.0.1", 22);     /* anything else in N: input, refused */
	assert_int_equal(refused_settle(3), 3);
	guest_send("10.99.0.1", 53);      /* N's other address: not the resolver */
	assert_int_equal(refused_settle(4), 4);
	guest_send("203.0.113.7", 9);     /* an extra blocked address (the host's) */
	assert_int_equal(refused_settle(5), 5);

	/* allow mode (a new table: the counter starts again): only the list */
	apply_ok(&allow_cfg);
	guest_send("1.1.1.1", 9);         /* listed, any protocol */
	guest_send("93.184.216.34", 443); /* listed for tcp: udp is refused */
	assert_int_equal(refused_settle(1), 1);
	guest_send("198.51.100.1", 9);    /* not listed */
	assert_int_equal(refused_settle(2), 2);
	struct arca_err e = { 0 };
	assert_int_equal(nft_run_allow_addr(1, ip("198.51.100.1"), 60, &e), 0);
	guest_send("198.51.100.1", 9);    /* now in dyn1 (any port) */
	BARRIER();
	assert_int_equal(refused_settle(3), 3);
	/* dyn0 is name 0's: udp 8080 only */
	assert_int_equal(nft_run_allow_addr(0, ip("198.51.100.2"), 60, &e), 0);
	guest_send("198.51.100.2", 9);    /* another port: refused */
	assert_int_equal(refused_settle(4), 4);
	guest_send("198.51.100.2", 8080); /* its port */
	BARRIER();
	assert_int_equal(refused_settle(5), 5);
}

/* ---- live IPv6 traffic: G -- tap0 in N (the rules) -- up6 -- W, a stand-in internet ----- */

/* An IPv6 address usable at once: without IFA_F_NODAD it stays tentative for duplicate
 * address detection (a second or more), and a datagram sent from it would fail. */
static int rt_addr6_add(const char *name, const char *addr, uint8_t plen)
{
	char buf[256];
	uint8_t a[16];
	ip6(addr, a);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_flags = IFA_F_NODAD;
	ifa->ifa_index = if_nametoindex(name);
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), a);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), a);
	return ifa->ifa_index ? rt_talk(nlh) : -ENODEV;
}

static int rt_default6(const char *dev, const char *gw)
{
	char buf[256];
	uint8_t a[16];
	ip6(gw, a);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex(dev));
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(a), a);
	return rt_talk(nlh);
}

static void sysctl_on(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "1\n", 2), 2);
	close(fd);
}

#define GUEST6   "fd00:213::2"
#define SPOOF6   "fd00:213::99" /* another address of G's: not the guest's */
#define INET6_A  "2606:4700::1" /* W's: reachable once past N */
#define INET6_B  "2606:4700::2"
#define ULA6     "fc00::1"      /* W's too, blocked unless allow_private */
#define HOST6    "2a01:4f8::7"  /* the host's, in extra_block6 */

static int world_ns = -1;
static int world_udp[2] = { -1, -1 }; /* W's UDP sockets on ports 9 and 8080 */

/*
 * On top of traffic_setup()'s: N: tap0 fd00:213::1/64 (the guest's gateway6), up6
 * fd99::1/64 with the default route via W's fd99::2, IPv6 forwarding on. G: gst0
 * fd00:213::2/64 and ::99, default via fd00:213::1. W (the peer of up6): the destinations
 * on its lo, UDP sockets on ports 9 and 8080: what passes N arrives there, with the source
 * the guest sent from (N routes IPv6, it does not masquerade it).
 */
static void traffic6_setup(void)
{
	if (world_ns >= 0)
		return;
	traffic_setup();
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	world_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(world_ns >= 0);
	must(rt_link_up("lo"), "W: lo up");
	static const uint16_t ports[] = { 9, 8080 };
	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		world_udp[i] = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(world_udp[i] >= 0);
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(ports[i]),
					   .sin6_addr = IN6ADDR_ANY_INIT };
		assert_int_equal(bind(world_udp[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);

	must(rt_link_add("up6", "veth", "w0", world_ns), "N: veth up6/w0");
	must(rt_addr6_add("tap0", "fd00:213::1", 64), "N: tap0 IPv6 address");
	must(rt_addr6_add("up6", "fd99::1", 64), "N: up6 address");
	must(rt_link_up("up6"), "N: up6 up");
	must(rt_default6("up6", "fd99::2"), "N: IPv6 default route");
	sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");

	assert_int_equal(setns(guest_ns, CLONE_NEWNET), 0);
	must(rt_addr6_add("gst0", GUEST6, 64), "G: gst0 IPv6 address");
	must(rt_addr6_add("gst0", SPOOF6, 64), "G: gst0 second IPv6 address");
	must(rt_default6("gst0", "fd00:213::1"), "G: IPv6 default route");

	assert_int_equal(setns(world_ns, CLONE_NEWNET), 0);
	must(rt_addr6_add("w0", "fd99::2", 64), "W: w0 address");
	must(rt_link_up("w0"), "W: w0 up");
	static const char *const dsts[] = { INET6_A, INET6_B, ULA6 };
	for (size_t i = 0; i < ARRAY_SIZE(dsts); i++)
		must(rt_addr6_add("lo", dsts[i], 128), "W: an internet address");
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);
}

/* One UDP datagram from the guest's netns, from src. */
static void guest_send6(const char *src, const char *dst, uint16_t port)
{
	assert_int_equal(setns(guest_ns, CLONE_NEWNET), 0);
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);
	assert_true(s >= 0);
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	ip6(src, from.sin6_addr.s6_addr);
	ip6(dst, to.sin6_addr.s6_addr);
	assert_int_equal(bind(s, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	close(s);
}

/* Whether a datagram reached W's socket i within ms (the first one waits for neighbour
 * discovery); one that does must come from the guest's own address. */
static bool world_got(size_t i, int ms)
{
	struct pollfd p = { .fd = world_udp[i], .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return false;
	struct sockaddr_in6 from;
	socklen_t len = sizeof(from);
	char c;
	assert_int_equal(recvfrom(world_udp[i], &c, 1, 0, (struct sockaddr *)&from, &len), 1);
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &from.sin6_addr, a, sizeof(a));
	assert_string_equal(a, GUEST6);
	return true;
}

#define PASSES6(dst, port, i)                                                 \
	do {                                                                  \
		guest_send6(GUEST6, dst, port);                               \
		if (!world_got(i, 3000))                                      \
			fail_msg("%s port %d did not pass", dst, port);       \
	} while (0)

/* Whether the guest's ping of dst is answered (within ms). */
static bool guest_ping6(const char *dst, int ms)
{
	static uint16_t seq;
	assert_int_equal(setns(guest_ns, CLONE_NEWNET), 0);
	int s = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
	assert_int_equal(setns(our_ns, CLONE_NEWNET), 0);
	assert_true(s >= 0);
	/* type, code, checksum (the kernel's, RFC 3542 §3.1), identifier, sequence */
	uint8_t req[8] = { 128, 0, 0, 0, 0xa6, 0x6a, 0, (uint8_t)++seq };
	/* from the guest's address: G's other one (SPOOF6) would be chosen as well */
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	ip6(GUEST6, from.sin6_addr.s6_addr);
	ip6(dst, to.sin6_addr.s6_addr);
	assert_int_equal(bind(s, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(sendto(s, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)),
			 sizeof(req));
	bool answered = false;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
				      (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) != 1)
			break;
		uint8_t rep[1500];
		/* the raw socket sees all ICMPv6 (neighbour discovery too): ours is type 129 */
		ssize_t n = recv(s, rep, sizeof(rep), 0);
		if (n >= 8 && rep[0] == 129 && rep[4] == 0xa6 && rep[5] == 0x6a && rep[7] == seq) {
			answered = true;
			break;
		}
	}
	close(s);
	return answered;
}

static void test_live_traffic6(void **state)
{
	(void)state;
	NEED_LIVE();
	cfgs_init();
	traffic6_setup();
	struct arca_err e = { 0 };
	/* up6 as the uplink: the masquerade rule's oifname matches where the IPv6 goes, so
	 * only its meta nfproto ipv4 keeps it off (world_got checks the source) */
	struct nft_run_cfg nat6 = nat6_cfg, allow6 = allow6_cfg, nat = nat_cfg;
	nat6.uplink_if = allow6.uplink_if = nat.uplink_if = "up6";

	/* nat mode with IPv6 */
	apply_ok(&nat6);
	assert_int_equal(refused_settle(0), 0);
	/* routed, not masqueraded (world_got checks the source); the guest's neighbour
	 * solicitations for its gateway and answers to N's get through input */
	PASSES6(INET6_A, 9, 0);
	guest_send6(GUEST6, ULA6, 9);         /* fc00::/7 without allow_private */
	assert_int_equal(refused_settle(1), 1);
	guest_send6(GUEST6, HOST6, 9);        /* the host's own address */
	assert_int_equal(refused_settle(2), 2);
	guest_send6(GUEST6, "64:ff9b::a00:1", 9); /* NAT64 of 10.0.0.1 */
	assert_int_equal(refused_settle(3), 3);
	guest_send6(GUEST6, "2002:a00:1::1", 9); /* 6to4 of 10.0.0.1 */
	assert_int_equal(refused_settle(4), 4);
	guest_send6(SPOOF6, INET6_A, 9);      /* not the guest's address */
	assert_int_equal(refused_settle(5), 5);
	assert_false(world_got(0, 200));
	guest_send6(GUEST6, "fd00:213::1", 53); /* no resolver on IPv6 */
	assert_int_equal(refused_settle(6), 6);
	assert_true(guest_ping6("fd00:213::1", 3000)); /* gateway6 answers a ping */
	assert_int_equal(refused_settle(6), 6);
	assert_false(guest_ping6("fd99::1", 300)); /* N's other address does not */
	assert_int_equal(refused_settle(7), 7);
	PASSES6(INET6_A, 9, 0);               /* still */

	/* allow_private opens fc00::/7, not the host's addresses */
	struct nft_run_cfg c = nat6;
	c.allow_private = true;
	apply_ok(&c);
	PASSES6(ULA6, 9, 0);
	guest_send6(GUEST6, HOST6, 9);
	assert_int_equal(refused_settle(1), 1);

	/* allow mode: the names' dyn6_<i> only, on their ports */
	apply_ok(&allow6);
	guest_send6(GUEST6, INET6_A, 9);      /* not listed */
	assert_int_equal(refused_settle(1), 1);
	uint8_t a[16];
	ip6(INET6_A, a);
	assert_int_equal(nft_run_allow_addr6(1, a, 60, &e), 0);
	PASSES6(INET6_A, 9, 0);               /* now in dyn6_1 (any port) */
	ip6(INET6_B, a);
	assert_int_equal(nft_run_allow_addr6(0, a, 60, &e), 0); /* dyn6_0: udp 8080 only */
	guest_send6(GUEST6, INET6_B, 9);
	assert_int_equal(refused_settle(2), 2);
	PASSES6(INET6_B, 8080, 1);
	ip6(HOST6, a);
	assert_int_equal(nft_run_allow_addr6(1, a, 60, &e), 0); /* a name resolving to it */
	guest_send6(GUEST6, HOST6, 9);        /* blocked6 comes first */
	assert_int_equal(refused_settle(3), 3);

	/* without ipv6: IPv6 dropped as before, not counted in refused */
	apply_ok(&nat);
	guest_send6(GUEST6, INET6_A, 9);
	assert_false(world_got(0, 300));
	assert_false(guest_ping6("fd00:213::1", 300));
	assert_int_equal(refused_settle(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_merge),
		cmocka_unit_test(test_blocked_cidrs),
		cmocka_unit_test(test_ttl_clamp),
		cmocka_unit_test(test_cfg_refused),
		cmocka_unit_test(test_build_nat),
		cmocka_unit_test(test_build_allow),
		cmocka_unit_test(test_build_allow_addr),
		cmocka_unit_test(test_build_host),
		cmocka_unit_test(test_ranges6_merge),
		cmocka_unit_test(test_blocked6_cidrs),
		cmocka_unit_test(test_build_nat6),
		cmocka_unit_test(test_build_allow6),
		cmocka_unit_test(test_build_allow_addr6),
		cmocka_unit_test(test_build_host6),
		cmocka_unit_test(test_batch_errors),
		cmocka_unit_test(test_live_nat),
		cmocka_unit_test(test_live_allow),
		cmocka_unit_test(test_live_allow_addr),
		cmocka_unit_test(test_live_counters),
		cmocka_unit_test(test_live_apply_twice),
		cmocka_unit_test(test_live_no_table),
		cmocka_unit_test(test_live_host),
		cmocka_unit_test(test_live_nat6),
		cmocka_unit_test(test_live_allow6),
		cmocka_unit_test(test_live_allow_addr6),
		cmocka_unit_test(test_live_host6),
		cmocka_unit_test(test_live_traffic),
		cmocka_unit_test(test_live_traffic6),
	};
	/* Everything live happens in a netns of our own, gone when we exit. Only a missing
	 * nf_tables skips: any other failure of the first apply fails the live tests. */
	if (unshare(CLONE_NEWNET) == 0) {
		struct arca_err e = { 0 };
		cfgs_init();
		live = true;
		if (nft_run_apply(&nat_cfg, &e) < 0 && strstr(e.msg, "not available in this kernel")) {
			static char why[sizeof(e.msg)];
			snprintf(why, sizeof(why), "%s", e.msg);
			live_why = why;
			live = false;
		}
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
