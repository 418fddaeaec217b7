/* SPDX-License-Identifier: MIT */
/*
 * The netlink half of the nftables rules: one NETLINK_NETFILTER socket per call, opened in
 * the caller's current network namespace; batches from launcher/nft_build.c sent whole and
 * their acks read back; the host table compared with what it should hold.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "cleanup.h"
#include "nft.h"
#include "nft_build.h"

static inline void cleanup_mnl_socketp(struct mnl_socket **p)
{
	if (*p)
		mnl_socket_close(*p);
}
#define _cleanup_mnl_ __attribute__((cleanup(cleanup_mnl_socketp)))

#define REQ_SIZE  1024        /* a get or dump request */
#define RECV_SIZE (32 * 1024) /* the most a netlink dump puts in one message (libmnl's DUMP_SIZE) */

static int nl_open(struct mnl_socket **out, struct arca_err *e)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl) {
		int err = errno;
		if (err == EPROTONOSUPPORT || err == EAFNOSUPPORT)
			return arca_error_errno(e, err, "nftables is not available in this kernel "
						"(modprobe nf_tables): no nfnetlink socket");
		return arca_error_errno(e, err, "nftables: opening a netfilter netlink socket");
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		mnl_socket_close(nl);
		return arca_error_errno(e, err, "nftables: binding the netlink socket");
	}
	/* Acks without a copy of the request (a batch's acks must fit the receive buffer);
	 * errors with the kernel's own text where it gives one. Both are optional. */
	int one = 1;
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	*out = nl;
	return 0;
}

/* The extended ack's message, if the kernel attached one. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	if (mnl_nlmsg_size(off) > nlh->nlmsg_len)
		return NULL;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

/*
 * Send the batch and read what the kernel answers. nfnetlink runs the whole batch inside
 * our sendmsg(), so every error and the last message's ack are queued when it returns:
 * read without waiting until the queue is empty. Success needs no error and that ack.
 */
static int batch_commit(const struct nft_batch *b, struct arca_err *e)
{
	_cleanup_mnl_ struct mnl_socket *nl = NULL;
	int r = nl_open(&nl, e);
	if (r < 0)
		return r;
	/* A batch larger than the socket's send buffer would fail with EMSGSIZE: the largest
	 * (NFT_BATCH_LIMIT) is above the default (net.core.wmem_default, 208 KiB). FORCE, which
	 * needs the CAP_NET_ADMIN nftables needs anyway, is not capped by net.core.wmem_max;
	 * without it, the cap (208 KiB by default) is doubled by the kernel, which is enough. */
	int sndbuf = (int)nft_batch_size(b) + 4096;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
		       sizeof(sndbuf)) < 0)
		(void)setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &sndbuf,
				 sizeof(sndbuf));
	if (mnl_socket_sendto(nl, nft_batch_data(b), nft_batch_size(b)) < 0)
		return arca_error_errno(e, errno, "nftables: sending a batch of %zu bytes",
					nft_batch_size(b));

	_cleanup_free_ char *buf = malloc(RECV_SIZE);
	if (!buf)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	uint32_t last = nft_batch_last_seq(b), err_seq = 0;
	int first_err = 0;
	char detail[160] = "";
	bool last_acked = false;
	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(nl), buf, RECV_SIZE, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return arca_error_errno(e, errno, "nftables: reading the kernel's answer");
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *ne = mnl_nlmsg_get_payload(nlh);
			if (ne->error == 0) {
				last_acked |= nlh->nlmsg_seq == last;
			} else if (!first_err) {
				first_err = -ne->error;
				err_seq = nlh->nlmsg_seq;
				const char *m = ext_ack_msg(nlh);
				if (m)
					snprintf(detail, sizeof(detail), "%s", m);
			}
		}
	}
	if (first_err)
		return nft_batch_error(b, err_seq, first_err, detail, e);
	if (!last_acked)
		return arca_error(e, EPROTO, "nftables: the kernel did not acknowledge %s",
				  nft_batch_what(b, last));
	return 0;
}

int nft_query(struct nlmsghdr *req, mnl_cb_t cb, void *data, const char *what,
	      struct arca_err *e)
{
	_cleanup_mnl_ struct mnl_socket *nl = NULL;
	int r = nl_open(&nl, e);
	if (r < 0)
		return r;
	/* A get ends with its ack, a dump with NLMSG_DONE (the kernel acks no dump). */
	req->nlmsg_flags |= NLM_F_ACK;
	uint32_t seq = req->nlmsg_seq, portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return arca_error_errno(e, errno, "nftables: %s: sending the request", what);
	_cleanup_free_ char *buf = malloc(RECV_SIZE);
	if (!buf)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, RECV_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return arca_error_errno(e, errno, "nftables: %s: reading the answer", what);
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (r < 0)
			return arca_error_errno(e, errno ? errno : EPROTO, "nftables: %s", what);
		if (r == MNL_CB_STOP)
			return 0;
	}
}

/* ---- per run ---------------------------------------------------------------------------- */

int nft_run_apply(const struct nft_run_cfg *c, struct arca_err *e)
{
	_cleanup_nft_batch_ struct nft_batch *b = nft_batch_new();
	if (!b)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	int r = nft_build_run(b, c, e);
	return r < 0 ? r : batch_commit(b, e);
}

int nft_run_allow_addr(size_t name_idx, uint32_t addr, uint32_t ttl_s, struct arca_err *e)
{
	_cleanup_nft_batch_ struct nft_batch *b = nft_batch_new();
	if (!b)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	int r = nft_build_allow_addr(b, name_idx, addr, ttl_s, e);
	return r < 0 ? r : batch_commit(b, e);
}

int nft_run_allow_addr6(size_t name_idx, const uint8_t addr[16], uint32_t ttl_s,
			struct arca_err *e)
{
	_cleanup_nft_batch_ struct nft_batch *b = nft_batch_new();
	if (!b)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	int r = nft_build_allow_addr6(b, name_idx, addr, ttl_s, e);
	return r < 0 ? r : batch_commit(b, e);
}

static int counter_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 && nftnl_obj_is_set(o, NFTNL_OBJ_CTR_PKTS))
		*(uint64_t *)data = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

int nft_run_counters(uint64_t *refused_packets, struct arca_err *e)
{
	char buf[REQ_SIZE] = { 0 };
	struct nftnl_obj *o = nftnl_obj_alloc();
	if (!o)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NFT_RUN_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, NFT_REFUSED);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, 0, 1);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	*refused_packets = 0;
	return nft_query(nlh, counter_cb, refused_packets,
			 "reading counter " NFT_REFUSED " of table inet " NFT_RUN_TABLE, e);
}

/* ---- the host tables -------------------------------------------------------------------- */

/* ip arca-host or ip6 arca-host6, and its pool (the one of its family). */
struct host_table {
	uint16_t family;
	const char *name;
	const char *fam; /* nft's name of the family */
	struct nft_cidr pool;
	struct nft_cidr6 pool6;
};

static int host_build(struct nft_batch *b, const struct host_table *t, uint64_t replace_handle,
		      struct arca_err *e)
{
	return t->family == NFPROTO_IPV6 ? nft_build_host6(b, t->pool6, replace_handle, e)
					 : nft_build_host(b, t->pool, replace_handle, e);
}

struct table_info {
	bool found;
	uint64_t handle;
	uint32_t flags;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_info *ti = data;
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return MNL_CB_ERROR;
	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		ti->found = true;
		ti->handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
		ti->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

/* The canonical text of a table's chains and rules, in the kernel's order (the order of
 * creation): one line per chain (type, hook, priority, policy) and per rule (its
 * expressions as libnftnl prints them, without handle or position). */
struct canon {
	const char *table; /* only this table's */
	char *s;
	size_t len, cap;
	bool overflow;
};

static void canon_add(struct canon *c, const char *line)
{
	size_t n = strlen(line);
	if (c->len + n + 2 > c->cap) {
		c->overflow = true;
		return;
	}
	memcpy(c->s + c->len, line, n);
	c->len += n;
	c->s[c->len++] = '\n';
	c->s[c->len] = '\0';
}

static int canon_msg(const struct nlmsghdr *nlh, struct canon *c)
{
	char line[4096];
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (type == NFT_MSG_NEWCHAIN) {
		struct nftnl_chain *ch = nftnl_chain_alloc();
		if (!ch)
			return -ENOMEM;
		if (nftnl_chain_nlmsg_parse(nlh, ch) == 0 &&
		    !strcmp(nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE) ?: "", c->table)) {
			snprintf(line, sizeof(line), "chain %s type %s hook %u prio %d policy %u",
				 nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME) ?: "?",
				 nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE) ?: "?",
				 nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM),
				 nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO),
				 nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY));
			canon_add(c, line);
		}
		nftnl_chain_free(ch);
	} else if (type == NFT_MSG_NEWRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		if (!r)
			return -ENOMEM;
		if (nftnl_rule_nlmsg_parse(nlh, r) == 0 &&
		    !strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE) ?: "", c->table)) {
			nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
			nftnl_rule_unset(r, NFTNL_RULE_POSITION);
			nftnl_rule_unset(r, NFTNL_RULE_ID);
			nftnl_rule_snprintf(line, sizeof(line), r, NFTNL_OUTPUT_DEFAULT, 0);
			canon_add(c, line);
		}
		nftnl_rule_free(r);
	}
	return 0;
}

static int canon_cb(const struct nlmsghdr *nlh, void *data)
{
	return canon_msg(nlh, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* What the kernel's table holds, as canonical text. */
static int host_current(const struct host_table *t, struct canon *c, struct arca_err *e)
{
	char buf[REQ_SIZE] = { 0 };
	static const struct {
		uint16_t type;
		const char *what;
	} dumps[] = {
		{ NFT_MSG_GETCHAIN, "chains" },
		{ NFT_MSG_GETRULE, "rules" },
	};
	/* A dump that spans messages while another run commits its own table
	 * comes back marked interrupted (NLM_F_DUMP_INTR, EINTR here): the
	 * picture may be torn, so both are read again from the start. */
	for (size_t i = 0, tries = 0; i < ARRAY_SIZE(dumps); i++) {
		char what[96];
		snprintf(what, sizeof(what), "listing the %s of table %s %s", dumps[i].what, t->fam,
			 t->name);
		/* The family narrows both dumps to tables of t's (another family may have a
		 * table of the same name); chains are filtered by name in canon_msg. */
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, dumps[i].type, t->family,
							     NLM_F_DUMP, 1);
		/* The table attribute narrows the rules' dump. */
		mnl_attr_put_strz(nlh, dumps[i].type == NFT_MSG_GETRULE ? NFTA_RULE_TABLE
						: NFTA_CHAIN_TABLE, t->name);
		int r = nft_query(nlh, canon_cb, c, what, e);
		if (r == -EINTR && ++tries < 8) {
			c->len = 0;
			c->s[0] = '\0';
			c->overflow = false;
			i = (size_t)-1; /* the loop's i++ makes it 0 */
			continue;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* What the table should hold: the NEWCHAIN and NEWRULE messages of the batch we would send. */
static int host_wanted(const struct nft_batch *b, struct canon *c)
{
	const struct nlmsghdr *nlh = nft_batch_data(b);
	int len = (int)nft_batch_size(b);
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		int r = canon_msg(nlh, c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int host_lookup(const struct host_table *t, struct table_info *ti, struct arca_err *e)
{
	char buf[REQ_SIZE] = { 0 }, what[96];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, t->family, 0, 1);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, t->name);
	*ti = (struct table_info){ 0 };
	struct arca_err qe = { 0 };
	snprintf(what, sizeof(what), "looking up table %s %s", t->fam, t->name);
	int r = nft_query(nlh, table_cb, ti, what, &qe);
	if (r == -ENOENT)
		return 0; /* absent */
	/* A get nfnetlink cannot route (no nf_tables subsystem) ends in EINVAL/EOPNOTSUPP. */
	if (r == -EINVAL || r == -EOPNOTSUPP)
		return arca_error(e, -r, "nftables is not available in this kernel (modprobe "
				  "nf_tables): %s", qe.msg);
	if (r < 0)
		*e = qe;
	return r;
}

#define CANON_SIZE (16u * 1024)

/*
 * Absent: add it (EXCL). Present and equal to what we would add: leave it, so a run that
 * starts never disturbs the others. Present and different (another pool, an older arca,
 * an edit by hand): delete it by its handle and add ours, in one batch. Two arca doing
 * this at once: one batch wins, the other fails on EEXIST (the add) or ENOENT (the delete
 * of a handle gone) and looks again.
 */
static int host_ensure(const struct host_table *t, struct arca_err *e)
{
	_cleanup_free_ char *want_s = malloc(CANON_SIZE), *have_s = malloc(CANON_SIZE);
	if (!want_s || !have_s)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	int r = -EAGAIN;
	for (int attempt = 0; attempt < 4; attempt++) {
		struct table_info ti;
		r = host_lookup(t, &ti, e);
		if (r < 0)
			return r;
		_cleanup_nft_batch_ struct nft_batch *b = nft_batch_new();
		if (!b)
			return arca_error(e, ENOMEM, "nftables: out of memory");
		r = host_build(b, t, ti.found ? ti.handle : 0, e);
		if (r < 0)
			return r;
		if (ti.found && ti.flags == 0) {
			struct canon want = { t->name, want_s, 0, CANON_SIZE, false };
			struct canon have = { t->name, have_s, 0, CANON_SIZE, false };
			want_s[0] = have_s[0] = '\0';
			r = host_wanted(b, &want);
			if (r == 0)
				r = host_current(t, &have, e);
			if (r == -ENOENT)
				continue; /* deleted meanwhile */
			if (r < 0)
				return r == -ENOMEM ? arca_error(e, ENOMEM, "nftables: out of memory")
						    : r;
			if (!want.overflow && !have.overflow && !strcmp(want_s, have_s))
				return 0;
		}
		r = batch_commit(b, e);
		if (r != -EEXIST && r != -ENOENT)
			return r;
	}
	return r;
}

int nft_host_ensure(struct nft_cidr pool, struct arca_err *e)
{
	struct host_table t = { NFPROTO_IPV4, NFT_HOST_TABLE, "ip", .pool = pool };
	return host_ensure(&t, e);
}

int nft_host_ensure6(struct nft_cidr6 pool6, struct arca_err *e)
{
	struct host_table t = { NFPROTO_IPV6, NFT_HOST6_TABLE, "ip6", .pool6 = pool6 };
	return host_ensure(&t, e);
}

static int host_remove(int (*build)(struct nft_batch *, struct arca_err *), struct arca_err *e)
{
	_cleanup_nft_batch_ struct nft_batch *b = nft_batch_new();
	if (!b)
		return arca_error(e, ENOMEM, "nftables: out of memory");
	int r = build(b, e);
	if (r < 0)
		return r;
	struct arca_err ce = { 0 };
	r = batch_commit(b, &ce);
	if (r == -ENOENT)
		return 0; /* no table: nothing to remove */
	if (r < 0)
		*e = ce;
	return r;
}

/* One batch per table: a delete of an absent table fails its whole batch (ENOENT), which
 * would leave the other table standing. */
int nft_host_remove(struct arca_err *e)
{
	int r = host_remove(nft_build_host_remove, e);
	return r < 0 ? r : host_remove(nft_build_host6_remove, e);
}
