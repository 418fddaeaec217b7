/* SPDX-License-Identifier: MIT */
/*
 * arca's nftables batches, built with libnftnl into one buffer. The expressions are the
 * ones nft(8) itself emits for the equivalent rules (`nft --debug=netlink`), so
 * `nft list ruleset` prints them back as the rules they stand for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "cleanup.h"
#include "nft_build.h"

/* Room past NFT_BATCH_LIMIT for the message being built: libmnl's batch only notices an
 * overrun after the message is written. The largest is blocked6's element list (< 8 KiB). */
#define BATCH_OVERRUN (32u * 1024)

#define TYPE_IPADDR  7 /* nft's datatype ipv4_addr: how `nft list` prints the sets' keys */
#define TYPE_IP6ADDR 8 /* ipv6_addr */
#define ICMP_ECHO_REQUEST 8
#define ICMPV6_ECHO_REQUEST 128 /* RFC 4443 §4.1 */
#define ICMPV6_ND_RS 133        /* router solicitation, RFC 4861 §4.1 */
#define ICMPV6_ND_NS 135        /* neighbour solicitation, §4.3 */
#define ICMPV6_ND_NA 136        /* neighbour advertisement, §4.4 */

struct nft_msg {
	uint32_t seq;
	uint16_t type;
	bool probe;       /* an ENOENT/EOPNOTSUPP here means nf_tables is missing */
	const char *hint; /* appended to an ENOENT/EOPNOTSUPP */
	char what[96];
};

struct nft_batch {
	char *buf;
	struct mnl_nlmsg_batch *mb;
	uint32_t seq; /* the next message's */
	int err;      /* first building error, negative errno */
	struct nlmsghdr *last; /* the last message before the batch end */
	size_t n;
	struct nft_msg msg[NFT_BATCH_MSGS];
};

struct nft_batch *nft_batch_new(void)
{
	struct nft_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	/* Zeroed: libmnl before 1.0.5 does not clear an attribute's padding, and libnftnl puts
	 * some strings without their NUL (mnl_attr_put_str), so a reader of our own batch
	 * (nft_host_ensure's comparison, the tests) would see stale bytes after them. */
	b->buf = calloc(1, NFT_BATCH_LIMIT + BATCH_OVERRUN);
	b->mb = b->buf ? mnl_nlmsg_batch_start(b->buf, NFT_BATCH_LIMIT) : NULL;
	if (!b->mb) {
		free(b->buf);
		free(b);
		return NULL;
	}
	b->seq = 1;
	return b;
}

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	mnl_nlmsg_batch_stop(b->mb);
	free(b->buf);
	free(b);
}

const void *nft_batch_data(const struct nft_batch *b)
{
	return b->buf;
}

size_t nft_batch_size(const struct nft_batch *b)
{
	return mnl_nlmsg_batch_size(b->mb);
}

uint32_t nft_batch_last_seq(const struct nft_batch *b)
{
	/* msg[n - 1] is the batch end, which the kernel never acks. */
	return b->n >= 2 ? b->msg[b->n - 2].seq : 0;
}

static const struct nft_msg *msg_find(const struct nft_batch *b, uint32_t seq)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->msg[i].seq == seq)
			return &b->msg[i];
	return NULL;
}

const char *nft_batch_what(const struct nft_batch *b, uint32_t seq)
{
	const struct nft_msg *m = msg_find(b, seq);
	return m ? m->what : NULL;
}

/* Claim the next message; NULL once building failed (b->err says why). */
static struct nft_msg *msg_slot(struct nft_batch *b, uint16_t type, bool probe,
				const char *what)
{
	if (b->err)
		return NULL;
	if (b->n == NFT_BATCH_MSGS) {
		b->err = -E2BIG;
		return NULL;
	}
	struct nft_msg *m = &b->msg[b->n];
	*m = (struct nft_msg){ .seq = b->seq++, .type = type, .probe = probe };
	snprintf(m->what, sizeof(m->what), "%s", what);
	return m;
}

static void msg_end(struct nft_batch *b)
{
	if (!mnl_nlmsg_batch_next(b->mb))
		b->err = -E2BIG; /* past NFT_BATCH_LIMIT: refused rather than split (one transaction) */
	else
		b->n++;
}

__attribute__((format(printf, 6, 7)))
static struct nlmsghdr *msg_start(struct nft_batch *b, uint16_t type, uint16_t family,
				  uint16_t flags, bool probe, const char *fmt, ...)
{
	char what[96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	struct nft_msg *m = msg_slot(b, type, probe, what);
	if (!m)
		return NULL;
	b->last = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->mb), type, family, flags,
					m->seq);
	return b->last;
}

static void msg_hint(struct nft_batch *b, const char *hint)
{
	if (!b->err && b->n)
		b->msg[b->n - 1].hint = hint;
}

static void batch_begin(struct nft_batch *b)
{
	/* The kernel answers a begin it cannot route (no nf_tables subsystem) with EOPNOTSUPP. */
	if (msg_slot(b, NFNL_MSG_BATCH_BEGIN, true, "begin an nftables batch")) {
		nftnl_batch_begin(mnl_nlmsg_batch_current(b->mb), b->msg[b->n].seq);
		msg_end(b);
	}
}

static void batch_end(struct nft_batch *b)
{
	/* The kernel reports every failing message unasked; only the last one asks for an
	 * ack, which says the whole batch was committed (one ack, not one per message, so a
	 * large batch cannot overflow the socket's receive buffer with them). */
	if (b->last && !b->err)
		b->last->nlmsg_flags |= NLM_F_ACK;
	if (msg_slot(b, NFNL_MSG_BATCH_END, false, "end the nftables batch")) {
		nftnl_batch_end(mnl_nlmsg_batch_current(b->mb), b->msg[b->n].seq);
		msg_end(b);
	}
}

static void nomem(struct nft_batch *b)
{
	if (!b->err)
		b->err = -ENOMEM;
}

/* ---- expressions ------------------------------------------------------------------------ */

struct rule {
	struct nftnl_rule *r;
	uint16_t family;
	int err;
};

static struct nftnl_expr *expr_add(struct rule *rl, const char *name)
{
	if (rl->err)
		return NULL;
	struct nftnl_expr *x = nftnl_expr_alloc(name);
	if (!x) {
		rl->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(rl->r, x); /* the rule owns x from here */
	return x;
}

static void meta_load(struct rule *rl, uint32_t key)
{
	struct nftnl_expr *x = expr_add(rl, "meta");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void cmp(struct rule *rl, enum nft_cmp_ops op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = expr_add(rl, "cmp");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len) < 0)
		rl->err = -EINVAL;
}

static void payload_load(struct rule *rl, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *x = expr_add(rl, "payload");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
}

/* reg1 = (reg1 & mask) ^ 0 over len bytes (at most 16: one register) */
static void bitwise_mask(struct rule *rl, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *x = expr_add(rl, "bitwise");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	if (len > sizeof(zero) || nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len) < 0 ||
	    nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, zero, len) < 0)
		rl->err = -EINVAL;
}

/* reg1 = (reg1 & mask) ^ 0 over 4 bytes */
static void bitwise_and(struct rule *rl, uint32_t mask)
{
	bitwise_mask(rl, &mask, sizeof(mask));
}

static void lookup(struct rule *rl, const char *set, uint32_t set_id)
{
	struct nftnl_expr *x = expr_add(rl, "lookup");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	/* The set is made in the same batch: the kernel finds it by name or by the id. */
	if (nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, set) < 0)
		rl->err = -ENOMEM;
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
}

static void verdict(struct rule *rl, int v)
{
	struct nftnl_expr *x = expr_add(rl, "immediate");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
}

/* `counter name "refused"`: a reference to the table's named counter. */
static void counter_refused(struct rule *rl)
{
	struct nftnl_expr *x = expr_add(rl, "objref");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	if (nftnl_expr_set_str(x, NFTNL_EXPR_OBJREF_IMM_NAME, NFT_REFUSED) < 0)
		rl->err = -ENOMEM;
}

static void counter_anon(struct rule *rl)
{
	(void)expr_add(rl, "counter");
}

static void masquerade(struct rule *rl)
{
	(void)expr_add(rl, "masq");
}

/* iifname/oifname: an exact name is compared with its NUL padding up to IFNAMSIZ, so
 * "tap0" does not match "tap01"; a trailing '*' compares only the bytes before it (nft's
 * wildcard, "arca*"). */
static void ifname(struct rule *rl, uint32_t key, enum nft_cmp_ops op, const char *name)
{
	char buf[IFNAMSIZ] = { 0 };
	size_t n = strnlen(name, IFNAMSIZ - 1);
	memcpy(buf, name, n);
	meta_load(rl, key);
	if (n > 1 && name[n - 1] == '*')
		cmp(rl, op, buf, (uint32_t)n - 1);
	else
		cmp(rl, op, buf, IFNAMSIZ);
}

static void meta_u8(struct rule *rl, uint32_t key, uint8_t val)
{
	meta_load(rl, key);
	cmp(rl, NFT_CMP_EQ, &val, sizeof(val));
}

static uint32_t prefix_mask(uint8_t prefix) /* host byte order */
{
	return prefix ? ~0u << (32 - prefix) : 0;
}

#define IP_SADDR 12 /* offsets in the IPv4 header */
#define IP_DADDR 16

/* ip saddr/daddr (op) c. In table inet the caller checks meta nfproto ipv4 first. A /0
 * matches every address: nothing to compare. */
static void ip_addr(struct rule *rl, uint32_t offset, struct nft_cidr c, enum nft_cmp_ops op)
{
	if (c.prefix == 0)
		return;
	uint32_t mask = htonl(prefix_mask(c.prefix));
	uint32_t net = c.addr & mask;
	payload_load(rl, NFT_PAYLOAD_NETWORK_HEADER, offset, sizeof(net));
	if (c.prefix < 32)
		bitwise_and(rl, mask);
	cmp(rl, op, &net, sizeof(net));
}

#define IP6_SADDR 8 /* offsets in the IPv6 header */
#define IP6_DADDR 24

/* The prefix's mask over 16 bytes, in network byte order. */
static void prefix6_mask(uint8_t mask[16], uint8_t prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = prefix > 8 * i ? prefix - 8 * i : 0;
		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

/* ip6 saddr/daddr (op) c: ip_addr's twin. In table inet the caller checks meta nfproto
 * ipv6 first. */
static void ip6_addr(struct rule *rl, uint32_t offset, const struct nft_cidr6 *c,
		     enum nft_cmp_ops op)
{
	uint8_t prefix = c->prefix > 128 ? 128 : c->prefix;
	if (prefix == 0)
		return;
	uint8_t mask[16], net[16];
	prefix6_mask(mask, prefix);
	for (unsigned i = 0; i < 16; i++)
		net[i] = c->addr[i] & mask[i];
	payload_load(rl, NFT_PAYLOAD_NETWORK_HEADER, offset, sizeof(net));
	if (prefix < 128)
		bitwise_mask(rl, mask, sizeof(mask));
	cmp(rl, op, net, sizeof(net));
}

static void th_dport(struct rule *rl, uint16_t port)
{
	uint16_t be = htons(port);
	/* tcp and udp both keep the destination port at offset 2 */
	payload_load(rl, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(be));
	cmp(rl, NFT_CMP_EQ, &be, sizeof(be));
}

static void ct_established_related(struct rule *rl)
{
	uint32_t zero = 0;
	struct nftnl_expr *x = expr_add(rl, "ct");
	if (!x)
		return;
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	/* ct state is a host-order bit mask */
	bitwise_and(rl, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	cmp(rl, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* ---- objects ---------------------------------------------------------------------------- */

static struct rule rule_new(uint16_t family, const char *table, const char *chain)
{
	struct rule rl = { .r = nftnl_rule_alloc(), .family = family };
	if (!rl.r) {
		rl.err = -ENOMEM;
		return rl;
	}
	nftnl_rule_set_u32(rl.r, NFTNL_RULE_FAMILY, family);
	if (nftnl_rule_set_str(rl.r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(rl.r, NFTNL_RULE_CHAIN, chain) < 0)
		rl.err = -ENOMEM;
	return rl;
}

/* Append rl to b as one NEWRULE and free it; what names it in errors. */
static void rule_emit(struct nft_batch *b, struct rule *rl, const char *what)
{
	if (rl->err && !b->err)
		b->err = rl->err;
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWRULE, rl->family,
					 NLM_F_APPEND | NLM_F_CREATE, false, "add rule %s", what);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, rl->r);
		msg_end(b);
	}
	if (rl->r)
		nftnl_rule_free(rl->r);
	rl->r = NULL;
}

static void table_msg(struct nft_batch *b, uint16_t type, uint16_t family, const char *name,
		      uint64_t handle, uint16_t flags, bool probe, const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t || (!handle && nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0)) {
		if (t)
			nftnl_table_free(t);
		nomem(b);
		return;
	}
	if (handle)
		nftnl_table_set_u64(t, NFTNL_TABLE_HANDLE, handle);
	struct nlmsghdr *nlh = msg_start(b, type, family, flags, probe, "%s", what);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		msg_end(b);
	}
	nftnl_table_free(t);
}

struct chain_spec {
	const char *name, *type;
	uint32_t hook;
	int32_t prio;
	uint32_t policy;
};

static void chain_add(struct nft_batch *b, uint16_t family, const char *table,
		      const struct chain_spec *s)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	if (!c || nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, s->name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, s->type) < 0) {
		if (c)
			nftnl_chain_free(c);
		nomem(b);
		return;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, s->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, s->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, s->policy);
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE, false,
					 "add chain %s (type %s)", s->name, s->type);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		msg_end(b);
		if (!strcmp(s->type, "nat"))
			msg_hint(b, "nat chains need nft_chain_nat (modprobe nft_chain_nat)");
	}
	nftnl_chain_free(c);
}

/* A set of table inet arca keyed by IPv4 (ip6: IPv6) addresses; the key's type and length
 * only with flags (a set being made, not an element message). */
static struct nftnl_set *set_new(const char *name, uint32_t id, uint32_t flags, bool ip6)
{
	struct nftnl_set *s = nftnl_set_alloc();
	if (!s)
		return NULL;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_RUN_TABLE) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	if (id)
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	if (flags) {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ip6 ? TYPE_IP6ADDR : TYPE_IPADDR);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, ip6 ? 16 : sizeof(uint32_t));
	}
	return s;
}

/* Add one element (key: an address in network byte order, 4 or 16 bytes) to s; false on
 * ENOMEM. */
static bool elem_add(struct nftnl_set *s, const void *key, uint32_t len, uint32_t flags,
		     uint64_t timeout_ms)
{
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	if (!el)
		return false;
	if (nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, len) < 0) {
		nftnl_set_elem_free(el);
		return false;
	}
	if (flags)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, flags);
	if (timeout_ms)
		nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(s, el);
	return true;
}

static void set_msg(struct nft_batch *b, uint16_t type, struct nftnl_set *s, uint16_t flags,
		    const char *what)
{
	if (!s) {
		nomem(b);
		return;
	}
	struct nlmsghdr *nlh = msg_start(b, type, NFPROTO_INET, flags, false, "%s", what);
	if (nlh) {
		if (type == NFT_MSG_NEWSET)
			nftnl_set_nlmsg_build_payload(nlh, s);
		else
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
		msg_end(b);
	}
}

static void counter_obj_add(struct nft_batch *b)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	if (!o) {
		nomem(b);
		return;
	}
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFT_RUN_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, NFT_REFUSED);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	struct nlmsghdr *nlh = msg_start(b, NFT_MSG_NEWOBJ, NFPROTO_INET, NLM_F_CREATE, false,
					 "add counter " NFT_REFUSED);
	if (nlh) {
		nftnl_obj_nlmsg_build_payload(nlh, o);
		msg_end(b);
	}
	nftnl_obj_free(o);
}

/* ---- the blocked set -------------------------------------------------------------------- */

/* Sets are made in the batch that uses them: rules and elements name them by these ids. */
#define SET_ID_BLOCKED  1
#define SET_ID_DYN0     2 /* dyn<i> has SET_ID_DYN0 + i */
#define SET_ID_BLOCKED6 (SET_ID_DYN0 + NFT_NAMES_MAX)
#define SET_ID_DYN6_0   (SET_ID_BLOCKED6 + 1) /* dyn6_<i> has SET_ID_DYN6_0 + i */

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* Never a destination for the guest (RFC 6890's special-purpose registry, plus the private
 * ranges, where the host's LAN, other runs and cloud metadata services live). */
static const struct {
	uint32_t addr; /* host byte order */
	uint8_t prefix;
} blocked_default[NFT_BLOCKED_DEFAULT] = {
	{ IP4(0, 0, 0, 0), 8 },       /* "this network" (RFC 791) */
	{ IP4(10, 0, 0, 0), 8 },      /* private (RFC 1918) */
	{ IP4(100, 64, 0, 0), 10 },   /* shared address space, CGNAT (RFC 6598) */
	{ IP4(127, 0, 0, 0), 8 },     /* loopback */
	{ IP4(169, 254, 0, 0), 16 },  /* link-local: cloud metadata at 169.254.169.254 */
	{ IP4(172, 16, 0, 0), 12 },   /* private (RFC 1918) */
	{ IP4(192, 0, 0, 0), 24 },    /* IETF protocol assignments (RFC 6890) */
	{ IP4(192, 168, 0, 0), 16 },  /* private (RFC 1918) */
	{ IP4(198, 18, 0, 0), 15 },   /* benchmarking (RFC 2544) */
	{ IP4(224, 0, 0, 0), 4 },     /* multicast */
	{ IP4(240, 0, 0, 0), 4 },     /* reserved, and the limited broadcast address */
};

size_t nft_blocked_cidrs(const struct nft_run_cfg *c, struct nft_cidr *out)
{
	size_t n = 0;
	if (!c->allow_private)
		for (size_t i = 0; i < NFT_BLOCKED_DEFAULT; i++)
			out[n++] = (struct nft_cidr){ htonl(blocked_default[i].addr),
						      blocked_default[i].prefix };
	for (size_t i = 0; i < c->n_extra_block && i < NFT_EXTRA_BLOCK_MAX; i++)
		out[n++] = c->extra_block[i];
	return n;
}

static int range_cmp(const void *a, const void *b)
{
	const struct nft_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

size_t nft_ranges_merge(const struct nft_cidr *in, size_t n, struct nft_range *out)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t mask = prefix_mask(in[i].prefix > 32 ? 32 : in[i].prefix);
		out[i].lo = ntohl(in[i].addr) & mask;
		out[i].hi = out[i].lo | ~mask;
	}
	if (n)
		qsort(out, n, sizeof(*out), range_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		/* overlapping or adjacent (hi + 1 == lo): one range */
		if (m && (out[m - 1].hi == UINT32_MAX || out[i].lo <= out[m - 1].hi + 1)) {
			if (out[i].hi > out[m - 1].hi)
				out[m - 1].hi = out[i].hi;
			continue;
		}
		out[m++] = out[i];
	}
	return m;
}

/* An interval set holds each range as a start element and an end element one past it
 * (flagged INTERVAL_END; none after a range that ends at 255.255.255.255). Like nft, a gap
 * before the first range starts with an end element at 0.0.0.0. */
static void blocked_elems(struct nft_batch *b, const struct nft_range *r, size_t n)
{
	if (!n)
		return;
	struct nftnl_set *s = set_new(NFT_SET_BLOCKED, SET_ID_BLOCKED, 0, false);
	bool ok = s != NULL;
	uint32_t zero = 0;
	if (ok && r[0].lo != 0)
		ok = elem_add(s, &zero, sizeof(zero), NFT_SET_ELEM_INTERVAL_END, 0);
	for (size_t i = 0; ok && i < n; i++) {
		uint32_t lo = htonl(r[i].lo), end = htonl(r[i].hi + 1);
		ok = elem_add(s, &lo, sizeof(lo), 0, 0);
		if (ok && r[i].hi != UINT32_MAX)
			ok = elem_add(s, &end, sizeof(end), NFT_SET_ELEM_INTERVAL_END, 0);
	}
	if (ok)
		set_msg(b, NFT_MSG_NEWSETELEM, s, NLM_F_CREATE, "add the elements of set blocked");
	else
		nomem(b);
	if (s)
		nftnl_set_free(s);
}

/* ---- the blocked6 set ------------------------------------------------------------------- */

#define IP6(a, b, c, d, e, f, g, h)                                                          \
	{ (a) >> 8, (a) & 0xff, (b) >> 8, (b) & 0xff, (c) >> 8, (c) & 0xff, (d) >> 8, (d) & 0xff, \
	  (e) >> 8, (e) & 0xff, (f) >> 8, (f) & 0xff, (g) >> 8, (g) & 0xff, (h) >> 8, (h) & 0xff }

/*
 * Never a destination for the guest, whatever allow_private says (RFC 6890's IPv6
 * special-purpose registry, RFC 4291): where IPv4 has private ranges that allow_private
 * opens, most of these are not networks at all but other protocols' address spaces. The
 * ones that embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) would reach
 * any IPv4 address, private or blocked ones included, through a translator or relay on the
 * way: blocked6 must not become a way around blocked.
 */
static const struct nft_cidr6 blocked6_always[NFT_BLOCKED6_ALWAYS] = {
	{ IP6(0, 0, 0, 0, 0, 0, 0, 0), 128 },           /* unspecified (RFC 4291 §2.5.2) */
	{ IP6(0, 0, 0, 0, 0, 0, 0, 1), 128 },           /* loopback (§2.5.3) */
	{ IP6(0, 0, 0, 0, 0, 0xffff, 0, 0), 96 },       /* IPv4-mapped (§2.5.5.2) */
	{ IP6(0, 0, 0, 0, 0, 0, 0, 0), 96 },            /* IPv4-compatible, deprecated (§2.5.5.1) */
	{ IP6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96 },    /* NAT64 well-known prefix (RFC 6052) */
	{ IP6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48 },    /* NAT64 local use (RFC 8215) */
	{ IP6(0x100, 0, 0, 0, 0, 0, 0, 0), 64 },        /* discard-only (RFC 6666) */
	{ IP6(0x2001, 0, 0, 0, 0, 0, 0, 0), 23 },       /* IETF protocol assignments, Teredo's
							   2001::/32 in it (RFC 2928, 4380) */
	{ IP6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32 },   /* documentation (RFC 3849); the newer
							   3fff::/20 (RFC 9637) is left open, as
							   IPv4's TEST-NETs are: the e2e tests'
							   "internet" lives there */
	{ IP6(0x2002, 0, 0, 0, 0, 0, 0, 0), 16 },       /* 6to4: IPv4 inside (RFC 3056) */
	{ IP6(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10 },       /* link-local (RFC 4291 §2.5.6) */
	{ IP6(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10 },       /* site-local, deprecated (RFC 3879) */
	{ IP6(0xff00, 0, 0, 0, 0, 0, 0, 0), 8 },        /* multicast (RFC 4291 §2.7) */
};

/* Unless allow_private: unique local addresses (RFC 4193), IPv6's private ranges (other
 * runs' guests, the host's LAN). */
static const struct nft_cidr6 blocked6_ula = { IP6(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7 };

size_t nft_blocked6_cidrs(const struct nft_run_cfg *c, struct nft_cidr6 *out)
{
	size_t n = 0;
	for (size_t i = 0; i < NFT_BLOCKED6_ALWAYS; i++)
		out[n++] = blocked6_always[i];
	if (!c->allow_private)
		out[n++] = blocked6_ula;
	for (size_t i = 0; i < c->n_extra_block6 && i < NFT_EXTRA_BLOCK_MAX; i++)
		out[n++] = c->extra_block6[i];
	return n;
}

/* 128-bit arithmetic on addresses in network byte order (big-endian: memcmp() orders them). */
static bool addr6_is_max(const uint8_t a[16])
{
	for (unsigned i = 0; i < 16; i++)
		if (a[i] != 0xff)
			return false;
	return true;
}

/* a + 1; the caller makes sure a is not ffff:...:ffff. */
static void addr6_inc(uint8_t a[16])
{
	for (int i = 15; i >= 0 && ++a[i] == 0; i--)
		;
}

static int range6_cmp(const void *a, const void *b)
{
	const struct nft_range6 *x = a, *y = b;
	return memcmp(x->lo, y->lo, sizeof(x->lo));
}

size_t nft_ranges6_merge(const struct nft_cidr6 *in, size_t n, struct nft_range6 *out)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t mask[16];
		prefix6_mask(mask, in[i].prefix > 128 ? 128 : in[i].prefix);
		for (unsigned j = 0; j < 16; j++) {
			out[i].lo[j] = in[i].addr[j] & mask[j];
			out[i].hi[j] = out[i].lo[j] | (uint8_t)~mask[j];
		}
	}
	if (n)
		qsort(out, n, sizeof(*out), range6_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m) {
			/* overlapping or adjacent (hi + 1 == lo): one range */
			struct nft_range6 *last = &out[m - 1];
			uint8_t next[16];
			memcpy(next, last->hi, sizeof(next));
			bool top = addr6_is_max(next);
			if (!top)
				addr6_inc(next);
			if (top || memcmp(out[i].lo, next, sizeof(next)) <= 0) {
				if (memcmp(out[i].hi, last->hi, sizeof(last->hi)) > 0)
					memcpy(last->hi, out[i].hi, sizeof(last->hi));
				continue;
			}
		}
		out[m++] = out[i];
	}
	return m;
}

/* blocked_elems' twin: start elements, end elements one past each range (none after one
 * that ends at ffff:...:ffff), an end element at :: when the first range starts above. */
static void blocked6_elems(struct nft_batch *b, const struct nft_range6 *r, size_t n)
{
	if (!n)
		return;
	struct nftnl_set *s = set_new(NFT_SET_BLOCKED6, SET_ID_BLOCKED6, 0, true);
	bool ok = s != NULL;
	static const uint8_t zero[16];
	if (ok && memcmp(r[0].lo, zero, sizeof(zero)))
		ok = elem_add(s, zero, sizeof(zero), NFT_SET_ELEM_INTERVAL_END, 0);
	for (size_t i = 0; ok && i < n; i++) {
		ok = elem_add(s, r[i].lo, sizeof(r[i].lo), 0, 0);
		if (ok && !addr6_is_max(r[i].hi)) {
			uint8_t end[16];
			memcpy(end, r[i].hi, sizeof(end));
			addr6_inc(end);
			ok = elem_add(s, end, sizeof(end), NFT_SET_ELEM_INTERVAL_END, 0);
		}
	}
	if (ok)
		set_msg(b, NFT_MSG_NEWSETELEM, s, NLM_F_CREATE, "add the elements of set blocked6");
	else
		nomem(b);
	if (s)
		nftnl_set_free(s);
}

/* ---- the per-run ruleset ---------------------------------------------------------------- */

#define DYN_NAME_LEN (sizeof(NFT_SET_DYN6_PREFIX) + 20) /* "dyn6_" and a size_t */

/* "dyn<i>" (ip6: "dyn6_<i>"): the set of name entry i's addresses. */
static void dyn_name(char *buf, size_t cap, size_t i, bool ip6)
{
	snprintf(buf, cap, "%s%zu", ip6 ? NFT_SET_DYN6_PREFIX : NFT_SET_DYN_PREFIX, i);
}

static uint32_t dyn_id(size_t i, bool ip6)
{
	return (ip6 ? SET_ID_DYN6_0 : SET_ID_DYN0) + (uint32_t)i;
}

static bool ifname_ok(const char *s)
{
	return s && *s && strlen(s) < IFNAMSIZ && !strchr(s, '*');
}

static bool addr6_is_zero(const uint8_t a[16])
{
	static const uint8_t zero[16];
	return !memcmp(a, zero, sizeof(zero));
}

/* Only with c->ipv6: without it the IPv6 fields are not read. */
static int cfg_check6(const struct nft_run_cfg *c, struct arca_err *e)
{
	if (addr6_is_zero(c->gateway6) || addr6_is_zero(c->guest6) ||
	    !memcmp(c->gateway6, c->guest6, sizeof(c->guest6)))
		return arca_error(e, EINVAL, "nftables: the IPv6 gateway and guest addresses must "
				  "be set and differ");
	if (c->n_extra_block6 > NFT_EXTRA_BLOCK_MAX)
		return arca_error(e, E2BIG, "nftables: %zu blocked IPv6 prefixes (at most %d)",
				  c->n_extra_block6, NFT_EXTRA_BLOCK_MAX);
	for (size_t i = 0; i < c->n_extra_block6; i++)
		if (c->extra_block6[i].prefix > 128)
			return arca_error(e, EINVAL, "nftables: blocked IPv6 prefix %zu: /%u", i,
					  c->extra_block6[i].prefix);
	return 0;
}

static int cfg_check(const struct nft_run_cfg *c, struct arca_err *e)
{
	if (!ifname_ok(c->guest_if) || !ifname_ok(c->uplink_if))
		return arca_error(e, EINVAL, "nftables: the guest and uplink interface names must "
				  "have 1 to %d characters, without '*'", IFNAMSIZ - 1);
	if (!strcmp(c->guest_if, c->uplink_if))
		return arca_error(e, EINVAL, "nftables: guest and uplink are one interface (%s)",
				  c->guest_if);
	if (!c->gateway || !c->guest || c->gateway == c->guest)
		return arca_error(e, EINVAL, "nftables: the gateway and guest addresses must be "
				  "set and differ");
	if (c->mode != NFT_MODE_NAT && c->mode != NFT_MODE_ALLOW)
		return arca_error(e, EINVAL, "nftables: unknown mode %d", (int)c->mode);
	if (c->n_allow > NFT_ALLOW_MAX)
		return arca_error(e, E2BIG, "nftables: %zu allow entries (at most %d)", c->n_allow,
				  NFT_ALLOW_MAX);
	if (c->n_names > NFT_NAMES_MAX)
		return arca_error(e, E2BIG, "nftables: %zu allowed names (at most %d)", c->n_names,
				  NFT_NAMES_MAX);
	if (c->n_extra_block > NFT_EXTRA_BLOCK_MAX)
		return arca_error(e, E2BIG, "nftables: %zu blocked addresses (at most %d)",
				  c->n_extra_block, NFT_EXTRA_BLOCK_MAX);
	for (size_t i = 0; i < c->n_allow; i++) {
		const struct nft_allow *a = &c->allow[i];
		if (a->dst.prefix > 32)
			return arca_error(e, EINVAL, "nftables: allow entry %zu: prefix /%u", i,
					  a->dst.prefix);
		if (a->proto != NFT_PROTO_ANY && a->proto != NFT_PROTO_TCP &&
		    a->proto != NFT_PROTO_UDP)
			return arca_error(e, EINVAL, "nftables: allow entry %zu: protocol %d "
					  "(any, tcp or udp)", i, (int)a->proto);
	}
	for (size_t i = 0; i < c->n_names; i++) {
		enum nft_proto p = c->names[i].proto;
		if (p != NFT_PROTO_ANY && p != NFT_PROTO_TCP && p != NFT_PROTO_UDP)
			return arca_error(e, EINVAL, "nftables: allowed name %zu: protocol %d "
					  "(any, tcp or udp)", i, (int)p);
	}
	for (size_t i = 0; i < c->n_extra_block; i++)
		if (c->extra_block[i].prefix > 32)
			return arca_error(e, EINVAL, "nftables: blocked address %zu: prefix /%u", i,
					  c->extra_block[i].prefix);
	return c->ipv6 ? cfg_check6(c, e) : 0;
}

static struct rule run_rule(const char *chain)
{
	return rule_new(NFPROTO_INET, NFT_RUN_TABLE, chain);
}

/* Opens a rule of table inet arca that matches IPv4 (ip6: IPv6) from the guest. */
static struct rule from_guest(const struct nft_run_cfg *c, const char *chain, bool ip6)
{
	struct rule rl = run_rule(chain);
	ifname(&rl, NFT_META_IIFNAME, NFT_CMP_EQ, c->guest_if);
	meta_u8(&rl, NFT_META_NFPROTO, ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	return rl;
}

static struct rule from_guest4(const struct nft_run_cfg *c, const char *chain)
{
	return from_guest(c, chain, false);
}

/* A guest may only send from its own address: anything else is spoofing (another run's
 * address, N's own) and is refused before any accept. */
static void antispoof(struct nft_batch *b, const struct nft_run_cfg *c, const char *chain)
{
	struct rule rl = from_guest4(c, chain);
	ip_addr(&rl, IP_SADDR, (struct nft_cidr){ c->guest, 32 }, NFT_CMP_NEQ);
	counter_refused(&rl);
	verdict(&rl, NF_DROP);
	rule_emit(b, &rl, "ip saddr != guest: drop (antispoofing)");
}

/* The same for IPv6: guest6 only. Its link-local address too is refused here (a router
 * forwards nothing from a link-local source, RFC 4291 §2.5.6); in the input chain neighbour
 * discovery, which uses it, is let in before this. */
static void antispoof6(struct nft_batch *b, const struct nft_run_cfg *c, const char *chain)
{
	struct nft_cidr6 guest6 = { .prefix = 128 };
	memcpy(guest6.addr, c->guest6, sizeof(guest6.addr));
	struct rule rl = from_guest(c, chain, true);
	ip6_addr(&rl, IP6_SADDR, &guest6, NFT_CMP_NEQ);
	counter_refused(&rl);
	verdict(&rl, NF_DROP);
	rule_emit(b, &rl, "ip6 saddr != guest6: drop (antispoofing)");
}

/* Without c->ipv6 the guest has no IPv6. Counted apart from refused: the guest kernel's
 * own router solicitations and MLD reports would swamp what refused is read for. */
static void guest_ipv6_drop(struct nft_batch *b, const struct nft_run_cfg *c, const char *chain)
{
	struct rule rl = run_rule(chain);
	ifname(&rl, NFT_META_IIFNAME, NFT_CMP_EQ, c->guest_if);
	meta_u8(&rl, NFT_META_NFPROTO, NFPROTO_IPV6);
	counter_anon(&rl);
	verdict(&rl, NF_DROP);
	rule_emit(b, &rl, "IPv6 from the guest: drop");
}

static void guest_refuse_rest(struct nft_batch *b, const struct nft_run_cfg *c,
			      const char *chain)
{
	struct rule rl = run_rule(chain);
	ifname(&rl, NFT_META_IIFNAME, NFT_CMP_EQ, c->guest_if);
	counter_refused(&rl);
	verdict(&rl, NF_DROP);
	rule_emit(b, &rl, "anything else from the guest: drop");
}

static void allow_rule(struct nft_batch *b, const struct nft_run_cfg *c, size_t i,
		       uint8_t proto)
{
	const struct nft_allow *a = &c->allow[i];
	struct rule rl = from_guest4(c, "forward");
	ip_addr(&rl, IP_DADDR, a->dst, NFT_CMP_EQ);
	if (proto)
		meta_u8(&rl, NFT_META_L4PROTO, proto);
	if (proto && a->port)
		th_dport(&rl, a->port);
	verdict(&rl, NF_ACCEPT);
	char what[64];
	snprintf(what, sizeof(what), "allow entry %zu", i);
	rule_emit(b, &rl, what);
}

/* ip daddr @dyn<i> [meta l4proto P [th dport PORT]] accept: name entry i's addresses, on
 * its protocol and port only; ip6: ip6 daddr @dyn6_<i>, the same protocol and port. */
static void name_rule(struct nft_batch *b, const struct nft_run_cfg *c, size_t i,
		      uint8_t proto, bool ip6)
{
	const struct nft_allow_name *a = &c->names[i];
	char set[DYN_NAME_LEN];
	dyn_name(set, sizeof(set), i, ip6);
	struct rule rl = from_guest(c, "forward", ip6);
	if (ip6)
		payload_load(&rl, NFT_PAYLOAD_NETWORK_HEADER, IP6_DADDR, 16);
	else
		payload_load(&rl, NFT_PAYLOAD_NETWORK_HEADER, IP_DADDR, sizeof(uint32_t));
	lookup(&rl, set, dyn_id(i, ip6));
	if (proto)
		meta_u8(&rl, NFT_META_L4PROTO, proto);
	if (proto && a->port)
		th_dport(&rl, a->port);
	verdict(&rl, NF_ACCEPT);
	char what[64];
	snprintf(what, sizeof(what), "%s daddr @%s accept (allowed name %zu)", ip6 ? "ip6" : "ip",
		 set, i);
	rule_emit(b, &rl, what);
}

/* Name entry i's rules: a port without a protocol is both protocols with ports. */
static void name_rules(struct nft_batch *b, const struct nft_run_cfg *c, size_t i, bool ip6)
{
	const struct nft_allow_name *a = &c->names[i];
	if (a->proto == NFT_PROTO_ANY && a->port) {
		name_rule(b, c, i, NFT_PROTO_TCP, ip6);
		name_rule(b, c, i, NFT_PROTO_UDP, ip6);
	} else {
		name_rule(b, c, i, (uint8_t)a->proto, ip6);
	}
}

static void run_forward(struct nft_batch *b, const struct nft_run_cfg *c)
{
	if (c->ipv6)
		antispoof6(b, c, "forward");
	else
		guest_ipv6_drop(b, c, "forward");
	antispoof(b, c, "forward");

	/* Replies both ways (the only way in from the uplink), of either family: ICMPv6
	 * errors such as packet-too-big (path MTU discovery) come in as related. A connection
	 * outlives the dyn<i> element that let it start: the TTL bounds new connections only. */
	struct rule rl = run_rule("forward");
	ct_established_related(&rl);
	verdict(&rl, NF_ACCEPT);
	rule_emit(b, &rl, "ct state established,related accept");

	rl = from_guest4(c, "forward");
	payload_load(&rl, NFT_PAYLOAD_NETWORK_HEADER, IP_DADDR, sizeof(uint32_t));
	lookup(&rl, NFT_SET_BLOCKED, SET_ID_BLOCKED);
	counter_refused(&rl);
	verdict(&rl, NF_DROP);
	rule_emit(b, &rl, "ip daddr @blocked drop");

	if (c->ipv6) {
		rl = from_guest(c, "forward", true);
		payload_load(&rl, NFT_PAYLOAD_NETWORK_HEADER, IP6_DADDR, 16);
		lookup(&rl, NFT_SET_BLOCKED6, SET_ID_BLOCKED6);
		counter_refused(&rl);
		verdict(&rl, NF_DROP);
		rule_emit(b, &rl, "ip6 daddr @blocked6 drop");
	}

	if (c->mode == NFT_MODE_ALLOW) {
		for (size_t i = 0; i < c->n_allow; i++) {
			const struct nft_allow *a = &c->allow[i];
			if (a->proto == NFT_PROTO_ANY && a->port) {
				/* a port without a protocol: both protocols with ports */
				allow_rule(b, c, i, NFT_PROTO_TCP);
				allow_rule(b, c, i, NFT_PROTO_UDP);
			} else {
				allow_rule(b, c, i, (uint8_t)a->proto);
			}
		}
		for (size_t i = 0; i < c->n_names; i++)
			name_rules(b, c, i, false);
		/* The allow list's CIDRs are IPv4 prefixes: they have no IPv6 rules. */
		for (size_t i = 0; c->ipv6 && i < c->n_names; i++)
			name_rules(b, c, i, true);
	} else {
		/* Either family: IPv6 got here only with c->ipv6 (guest_ipv6_drop above). */
		rl = run_rule("forward");
		ifname(&rl, NFT_META_IIFNAME, NFT_CMP_EQ, c->guest_if);
		verdict(&rl, NF_ACCEPT);
		rule_emit(b, &rl, "from the guest: accept (nat mode)");
	}
	/* The policy (drop) takes what is left: from the uplink to the guest, nothing but
	 * replies (established,related above). */
	guest_refuse_rest(b, c, "forward");
}

/* icmpv6 type T: in table inet, after meta nfproto ipv6 (what nft emits for it). */
static void icmpv6_type(struct rule *rl, uint8_t type)
{
	meta_u8(rl, NFT_META_L4PROTO, IPPROTO_ICMPV6);
	payload_load(rl, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	cmp(rl, NFT_CMP_EQ, &type, sizeof(type));
}

/*
 * IPv6 from the guest to N itself: neighbour discovery, so the guest can reach its gateway
 * at all; a ping of gateway6; replies to what N opened. Not router advertisements (134):
 * the guest is no router of N's.
 */
static void run_input6(struct nft_batch *b, const struct nft_run_cfg *c)
{
	/* Before antispoof6: solicitations come from the guest's link-local address, or from
	 * :: during duplicate address detection (RFC 4861 §4.3, RFC 4862 §5.4.2). The kernel
	 * itself drops neighbour discovery with a hop limit below 255 (§7.1.1), so none of
	 * this can come from further than the guest's link. */
	static const struct {
		uint8_t type;
		const char *what;
	} nd[] = {
		{ ICMPV6_ND_RS, "icmpv6 type nd-router-solicit accept" },
		{ ICMPV6_ND_NS, "icmpv6 type nd-neighbor-solicit accept" },
		{ ICMPV6_ND_NA, "icmpv6 type nd-neighbor-advert accept" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(nd); i++) {
		struct rule rl = from_guest(c, "input", true);
		icmpv6_type(&rl, nd[i].type);
		verdict(&rl, NF_ACCEPT);
		rule_emit(b, &rl, nd[i].what);
	}

	/* The rest of the guest's multicast to N is its kernel's own (MLD reports, mDNS...):
	 * dropped, counted apart from refused as guest_ipv6_drop does. */
	static const struct nft_cidr6 multicast = { { 0xff }, 8 };
	struct rule rl = from_guest(c, "input", true);
	ip6_addr(&rl, IP6_DADDR, &multicast, NFT_CMP_EQ);
	counter_anon(&rl);
	verdict(&rl, NF_DROP);
	rule_emit(b, &rl, "ip6 daddr ff00::/8 drop (the guest's multicast)");

	antispoof6(b, c, "input");
	/* As for IPv4: replies to what N opened to the guest, nothing new. */
	rl = from_guest(c, "input", true);
	ct_established_related(&rl);
	verdict(&rl, NF_ACCEPT);
	rule_emit(b, &rl, "iifname guest ip6 ct state established,related accept");

	struct nft_cidr6 gw6 = { .prefix = 128 };
	memcpy(gw6.addr, c->gateway6, sizeof(gw6.addr));
	rl = from_guest(c, "input", true);
	ip6_addr(&rl, IP6_DADDR, &gw6, NFT_CMP_EQ);
	icmpv6_type(&rl, ICMPV6_ECHO_REQUEST);
	verdict(&rl, NF_ACCEPT);
	rule_emit(b, &rl, "icmpv6 type echo-request accept");
}

/* The guest must not reach anything in N but the resolver and a ping of its gateway. */
static void run_input(struct nft_batch *b, const struct nft_run_cfg *c)
{
	antispoof(b, c, "input");
	/* Replies to what N itself opened to the guest: the --publish proxy's connections and
	 * flows (publish.h). Nothing new: a connection the guest starts is not established. */
	struct rule ct = from_guest4(c, "input");
	ct_established_related(&ct);
	verdict(&ct, NF_ACCEPT);
	rule_emit(b, &ct, "iifname guest ct state established,related accept");
	/* The resolver listens on the IPv4 gateway only: no IPv6 twin. */
	static const uint8_t dns_protos[] = { NFT_PROTO_UDP, NFT_PROTO_TCP };
	for (size_t i = 0; c->dns && i < ARRAY_SIZE(dns_protos); i++) {
		struct rule rl = from_guest4(c, "input");
		ip_addr(&rl, IP_DADDR, (struct nft_cidr){ c->gateway, 32 }, NFT_CMP_EQ);
		meta_u8(&rl, NFT_META_L4PROTO, dns_protos[i]);
		th_dport(&rl, 53);
		verdict(&rl, NF_ACCEPT);
		rule_emit(b, &rl, i ? "tcp dport 53 accept" : "udp dport 53 accept");
	}
	struct rule rl = from_guest4(c, "input");
	ip_addr(&rl, IP_DADDR, (struct nft_cidr){ c->gateway, 32 }, NFT_CMP_EQ);
	meta_u8(&rl, NFT_META_L4PROTO, IPPROTO_ICMP);
	payload_load(&rl, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	uint8_t type = ICMP_ECHO_REQUEST;
	cmp(&rl, NFT_CMP_EQ, &type, sizeof(type));
	verdict(&rl, NF_ACCEPT);
	rule_emit(b, &rl, "icmp type echo-request accept");

	if (c->ipv6)
		run_input6(b, c);
	else
		guest_ipv6_drop(b, c, "input");
	guest_refuse_rest(b, c, "input");
}

/* One timeout set per name entry, so each entry's addresses open only its own port: a set
 * shared by all would let an address of good.test:443 through on every port. */
static void dyn_sets(struct nft_batch *b, const struct nft_run_cfg *c, bool ip6)
{
	for (size_t i = 0; c->mode == NFT_MODE_ALLOW && i < c->n_names; i++) {
		char set[DYN_NAME_LEN], what[40];
		dyn_name(set, sizeof(set), i, ip6);
		snprintf(what, sizeof(what), "add set %s", set);
		struct nftnl_set *s = set_new(set, dyn_id(i, ip6), NFT_SET_TIMEOUT, ip6);
		if (s)
			nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, NFT_DYN_MAX);
		set_msg(b, NFT_MSG_NEWSET, s, NLM_F_CREATE, what);
		if (s)
			nftnl_set_free(s);
	}
}

int nft_build_run(struct nft_batch *b, const struct nft_run_cfg *c, struct arca_err *e)
{
	int r = cfg_check(c, e);
	if (r < 0)
		return r;
	struct nft_cidr cidrs[NFT_BLOCKED_MAX];
	struct nft_range ranges[NFT_BLOCKED_MAX];
	size_t nr = nft_ranges_merge(cidrs, nft_blocked_cidrs(c, cidrs), ranges);

	batch_begin(b);
	/* add (a no-op when present), delete, add: the previous ruleset of N, if any, is
	 * replaced in this one transaction (nft -f's `table x; delete table x` idiom). */
	table_msg(b, NFT_MSG_NEWTABLE, NFPROTO_INET, NFT_RUN_TABLE, 0, NLM_F_CREATE, true,
		  "add table inet " NFT_RUN_TABLE);
	table_msg(b, NFT_MSG_DELTABLE, NFPROTO_INET, NFT_RUN_TABLE, 0, 0, false,
		  "delete the previous table inet " NFT_RUN_TABLE);
	table_msg(b, NFT_MSG_NEWTABLE, NFPROTO_INET, NFT_RUN_TABLE, 0, NLM_F_CREATE | NLM_F_EXCL,
		  false, "add table inet " NFT_RUN_TABLE);
	counter_obj_add(b);
	struct nftnl_set *s = set_new(NFT_SET_BLOCKED, SET_ID_BLOCKED, NFT_SET_INTERVAL, false);
	set_msg(b, NFT_MSG_NEWSET, s, NLM_F_CREATE, "add set " NFT_SET_BLOCKED);
	if (s)
		nftnl_set_free(s);
	blocked_elems(b, ranges, nr);
	dyn_sets(b, c, false);
	if (c->ipv6) {
		struct nft_cidr6 cidrs6[NFT_BLOCKED6_MAX];
		struct nft_range6 ranges6[NFT_BLOCKED6_MAX];
		size_t nr6 = nft_ranges6_merge(cidrs6, nft_blocked6_cidrs(c, cidrs6), ranges6);
		s = set_new(NFT_SET_BLOCKED6, SET_ID_BLOCKED6, NFT_SET_INTERVAL, true);
		set_msg(b, NFT_MSG_NEWSET, s, NLM_F_CREATE, "add set " NFT_SET_BLOCKED6);
		if (s)
			nftnl_set_free(s);
		blocked6_elems(b, ranges6, nr6);
		dyn_sets(b, c, true);
	}

	static const struct chain_spec chains[] = {
		{ "forward", "filter", NF_INET_FORWARD, NF_IP_PRI_FILTER, NF_DROP },
		{ "input", "filter", NF_INET_LOCAL_IN, NF_IP_PRI_FILTER, NF_ACCEPT },
		{ "postrouting", "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC, NF_ACCEPT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(chains); i++)
		chain_add(b, NFPROTO_INET, NFT_RUN_TABLE, &chains[i]);

	run_forward(b, c);
	run_input(b, c);
	/* IPv4 only: a masquerade in table inet without meta nfproto would take IPv6 too, and
	 * the guest's IPv6 is routed as it is (the host routes its /64 to N, arca-host6
	 * masquerades it on the way out). */
	struct rule rl = run_rule("postrouting");
	ifname(&rl, NFT_META_OIFNAME, NFT_CMP_EQ, c->uplink_if);
	meta_u8(&rl, NFT_META_NFPROTO, NFPROTO_IPV4);
	masquerade(&rl);
	rule_emit(b, &rl, "oifname uplink meta nfproto ipv4 masquerade");
	msg_hint(b, "masquerade needs nft_masq (modprobe nft_masq)");
	batch_end(b);
	if (b->err)
		return arca_error(e, -b->err, "nftables: building the ruleset of table inet %s: %s",
				  NFT_RUN_TABLE, strerror(-b->err));
	return 0;
}

uint32_t nft_ttl_clamp(uint32_t ttl_s)
{
	return ttl_s < NFT_DYN_TTL_MIN ? NFT_DYN_TTL_MIN
	       : ttl_s > NFT_DYN_TTL_MAX ? NFT_DYN_TTL_MAX : ttl_s;
}

/* nft_build_allow_addr[6]: key is the address, 4 or 16 (ip6) bytes. */
static int allow_addr_build(struct nft_batch *b, size_t name_idx, const void *key, bool ip6,
			    uint32_t ttl_s, struct arca_err *e)
{
	if (name_idx >= NFT_NAMES_MAX)
		return arca_error(e, EINVAL, "nftables: allowed name %zu (at most %d)", name_idx,
				  NFT_NAMES_MAX);
	char set[DYN_NAME_LEN];
	dyn_name(set, sizeof(set), name_idx, ip6);
	uint64_t ms = (uint64_t)nft_ttl_clamp(ttl_s) * 1000;
	uint32_t len = ip6 ? 16 : sizeof(uint32_t);
	char ip[INET6_ADDRSTRLEN], what[128];
	inet_ntop(ip6 ? AF_INET6 : AF_INET, key, ip, sizeof(ip));

	batch_begin(b);
	/* add (a no-op when present), delete, add: the element ends with the new timeout
	 * whether or not it was there (older kernels do not refresh a present element's). */
	static const struct {
		uint16_t type;
		const char *verb;
	} steps[] = {
		{ NFT_MSG_NEWSETELEM, "add" },
		{ NFT_MSG_DELSETELEM, "delete (to refresh)" },
		{ NFT_MSG_NEWSETELEM, "add" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		struct nftnl_set *s = set_new(set, 0, 0, ip6);
		if (s && !elem_add(s, key, len, 0, steps[i].type == NFT_MSG_NEWSETELEM ? ms : 0)) {
			nftnl_set_free(s);
			s = NULL;
		}
		snprintf(what, sizeof(what), "%s element %s of set inet %s %s", steps[i].verb, ip,
			 NFT_RUN_TABLE, set);
		set_msg(b, steps[i].type, s, steps[i].type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
			what);
		if (s)
			nftnl_set_free(s);
	}
	batch_end(b);
	if (b->err)
		return arca_error(e, -b->err, "nftables: building %s: %s", what, strerror(-b->err));
	return 0;
}

int nft_build_allow_addr(struct nft_batch *b, size_t name_idx, uint32_t addr, uint32_t ttl_s,
			 struct arca_err *e)
{
	return allow_addr_build(b, name_idx, &addr, false, ttl_s, e);
}

int nft_build_allow_addr6(struct nft_batch *b, size_t name_idx, const uint8_t addr[16],
			  uint32_t ttl_s, struct arca_err *e)
{
	return allow_addr_build(b, name_idx, addr, true, ttl_s, e);
}

/* ---- the host tables -------------------------------------------------------------------- */

/* ip arca-host, and its IPv6 twin ip6 arca-host6: the same chains and rules, each for its
 * family's pool. */
struct host_family {
	uint16_t family;
	const char *table;
	const char *name; /* nft's name of the family */
	int32_t prio_filter, prio_nat_src;
};

static const struct host_family host_ip = {
	NFPROTO_IPV4, NFT_HOST_TABLE, "ip", NF_IP_PRI_FILTER, NF_IP_PRI_NAT_SRC,
};
static const struct host_family host_ip6 = {
	NFPROTO_IPV6, NFT_HOST6_TABLE, "ip6", NF_IP6_PRI_FILTER, NF_IP6_PRI_NAT_SRC,
};

/* The table of f; pool4 or pool6 is f's pool, the other NULL. */
static int host_build(struct nft_batch *b, const struct host_family *f,
		      const struct nft_cidr *pool4, const struct nft_cidr6 *pool6,
		      uint64_t replace_handle, struct arca_err *e)
{
	char what[96];
	batch_begin(b);
	if (replace_handle) {
		snprintf(what, sizeof(what), "delete the outdated table %s %s", f->name, f->table);
		table_msg(b, NFT_MSG_DELTABLE, f->family, NULL, replace_handle, 0, false, what);
	}
	/* EXCL: two arca starting at once cannot both add the rules (see nft_host_ensure). */
	snprintf(what, sizeof(what), "add table %s %s", f->name, f->table);
	table_msg(b, NFT_MSG_NEWTABLE, f->family, f->table, 0, NLM_F_CREATE | NLM_F_EXCL,
		  !replace_handle, what);

	/*
	 * forward at priority filter - 1, policy accept: it accepts what the runs send and
	 * what answers them, and lets everything else through untouched. An accept ends only
	 * this chain's verdict: every other base chain on the hook still sees the packet, so a
	 * drop policy elsewhere (Docker's `ip filter FORWARD` via iptables-nft, firewalld, ufw)
	 * still drops arca's traffic. Such a host needs its own exception (Docker: an accept of
	 * arca* in DOCKER-USER); arca does not edit other tables.
	 */
	const struct chain_spec chains[] = {
		{ "forward", "filter", NF_INET_FORWARD, f->prio_filter - 1, NF_ACCEPT },
		{ "postrouting", "nat", NF_INET_POST_ROUTING, f->prio_nat_src, NF_ACCEPT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(chains); i++)
		chain_add(b, f->family, f->table, &chains[i]);

	/* Rules in chain order: a dump lists them so, and nft_host_ensure compares in order. */
	struct rule rl = rule_new(f->family, f->table, "forward");
	ifname(&rl, NFT_META_IIFNAME, NFT_CMP_EQ, "arca*");
	verdict(&rl, NF_ACCEPT);
	rule_emit(b, &rl, "iifname arca* accept");

	rl = rule_new(f->family, f->table, "forward");
	ifname(&rl, NFT_META_OIFNAME, NFT_CMP_EQ, "arca*");
	ct_established_related(&rl);
	verdict(&rl, NF_ACCEPT);
	rule_emit(b, &rl, "oifname arca* ct state established,related accept");

	/* IPv4: the runs' N already masquerade the guests to their veth address (in the pool);
	 * this takes the pool on to the host's uplinks, but not between runs' links. IPv6: N
	 * routes the guest's own address (in pool6), masqueraded here only. */
	rl = rule_new(f->family, f->table, "postrouting");
	if (pool6)
		ip6_addr(&rl, IP6_SADDR, pool6, NFT_CMP_EQ);
	else
		ip_addr(&rl, IP_SADDR, *pool4, NFT_CMP_EQ);
	ifname(&rl, NFT_META_OIFNAME, NFT_CMP_NEQ, "arca*");
	masquerade(&rl);
	rule_emit(b, &rl, pool6 ? "ip6 saddr POOL6 oifname != arca* masquerade"
				: "ip saddr POOL oifname != arca* masquerade");
	msg_hint(b, "masquerade needs nft_masq (modprobe nft_masq)");
	batch_end(b);
	if (b->err)
		return arca_error(e, -b->err, "nftables: building table %s %s: %s", f->name,
				  f->table, strerror(-b->err));
	return 0;
}

int nft_build_host(struct nft_batch *b, struct nft_cidr pool, uint64_t replace_handle,
		   struct arca_err *e)
{
	/* A shorter pool would masquerade much of the host's own traffic. */
	if (pool.prefix < 8 || pool.prefix > 32)
		return arca_error(e, EINVAL, "nftables: address pool /%u (/8 to /32)", pool.prefix);
	return host_build(b, &host_ip, &pool, NULL, replace_handle, e);
}

int nft_build_host6(struct nft_batch *b, struct nft_cidr6 pool6, uint64_t replace_handle,
		    struct arca_err *e)
{
	/* As for IPv4: ::/0 would masquerade everything the host forwards. */
	if (pool6.prefix < 8 || pool6.prefix > 128)
		return arca_error(e, EINVAL, "nftables: IPv6 address pool /%u (/8 to /128)",
				  pool6.prefix);
	return host_build(b, &host_ip6, NULL, &pool6, replace_handle, e);
}

static int host_remove_build(struct nft_batch *b, const struct host_family *f,
			     struct arca_err *e)
{
	char what[96];
	snprintf(what, sizeof(what), "delete table %s %s", f->name, f->table);
	batch_begin(b);
	/* not a probe: ENOENT here only means there is no table */
	table_msg(b, NFT_MSG_DELTABLE, f->family, f->table, 0, 0, false, what);
	batch_end(b);
	if (b->err)
		return arca_error(e, -b->err, "nftables: building the removal of table %s %s: %s",
				  f->name, f->table, strerror(-b->err));
	return 0;
}

int nft_build_host_remove(struct nft_batch *b, struct arca_err *e)
{
	return host_remove_build(b, &host_ip, e);
}

int nft_build_host6_remove(struct nft_batch *b, struct arca_err *e)
{
	return host_remove_build(b, &host_ip6, e);
}

/* ---- errors ----------------------------------------------------------------------------- */

int nft_batch_error(const struct nft_batch *b, uint32_t seq, int err, const char *detail,
		    struct arca_err *e)
{
	const struct nft_msg *m = msg_find(b, seq);
	const char *what = m ? m->what : "an nftables batch";
	char extra[200] = "";
	if (detail && *detail)
		snprintf(extra, sizeof(extra), " (kernel: %s)", detail);
	bool missing = err == ENOENT || err == EOPNOTSUPP;
	if (m && m->probe && (missing || err == EPROTONOSUPPORT || err == EAFNOSUPPORT))
		return arca_error(e, err, "nftables is not available in this kernel (modprobe "
				  "nf_tables): %s: %s%s", what, strerror(err), extra);
	if (m && m->hint && missing)
		return arca_error(e, err, "nftables: %s: %s%s; %s", what, strerror(err), extra,
				  m->hint);
	if (m && m->type == NFT_MSG_NEWSETELEM && err == ENFILE)
		return arca_error(e, err, "nftables: %s: the set is full (%d addresses)", what,
				  NFT_DYN_MAX);
	return arca_error(e, err, "nftables: %s: %s%s", what, strerror(err), extra);
}
