/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink requests over libmnl: pure builders and parsers, then the
 * exchange with the kernel. See rtnl.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "rtnl.h"

/* A dump's messages are sized by the kernel after our receive buffer
 * (netlink_dump: up to 32 KiB once it has seen a recvmsg that large). */
#define RTNL_RECV_BUF 32768

/* ---- building ------------------------------------------------------------------ */

/* mnl_nlmsg_put_header and _put_extra_header write without a bound. */
static struct nlmsghdr *put_hdr(void *buf, size_t cap, uint16_t type, uint16_t flags,
				size_t extra, void **ext)
{
	if (cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	/* libmnl 1.0.4 leaves part of an attribute's padding as it was:
	 * start from zeros so a request is the same bytes every time. */
	memset(buf, 0, cap);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	*ext = mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static struct nlmsghdr *put_link_hdr(void *buf, size_t cap, uint16_t type, uint16_t flags)
{
	void *ext;
	struct nlmsghdr *nlh = put_hdr(buf, cap, type, flags, sizeof(struct ifinfomsg), &ext);
	if (nlh)
		((struct ifinfomsg *)ext)->ifi_family = AF_UNSPEC;
	return nlh;
}

struct nlmsghdr *rtnl_msg_veth_add(void *buf, size_t cap, const char *name, const char *peer,
				   int peer_nsfd, unsigned mtu)
{
	struct nlmsghdr *nlh = put_link_hdr(buf, cap, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data, *pe;

	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, name) ||
	    (mtu && !mnl_attr_put_u32_check(nlh, cap, IFLA_MTU, mtu)) ||
	    !(info = mnl_attr_nest_start_check(nlh, cap, IFLA_LINKINFO)) ||
	    !mnl_attr_put_strz_check(nlh, cap, IFLA_INFO_KIND, "veth") ||
	    !(data = mnl_attr_nest_start_check(nlh, cap, IFLA_INFO_DATA)) ||
	    !(pe = mnl_attr_nest_start_check(nlh, cap, VETH_INFO_PEER)))
		return NULL;
	/* VETH_INFO_PEER holds a whole link request: a struct ifinfomsg,
	 * then the peer's own attributes (veth_newlink, rtnl_nla_parse_ifinfomsg). */
	if (nlh->nlmsg_len + MNL_ALIGN(sizeof(struct ifinfomsg)) > cap)
		return NULL;
	memset(mnl_nlmsg_get_payload_tail(nlh), 0, MNL_ALIGN(sizeof(struct ifinfomsg)));
	nlh->nlmsg_len += MNL_ALIGN(sizeof(struct ifinfomsg));
	if (!mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, peer) ||
	    (mtu && !mnl_attr_put_u32_check(nlh, cap, IFLA_MTU, mtu)) ||
	    (peer_nsfd >= 0 && !mnl_attr_put_u32_check(nlh, cap, IFLA_NET_NS_FD, (uint32_t)peer_nsfd)))
		return NULL;
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

/* A link named in IFLA_IFNAME with ifi_index 0: the kernel looks it up by
 * name (rtnl_dev_get) for RTM_NEWLINK without NLM_F_CREATE, RTM_DELLINK
 * and RTM_GETLINK alike. */
struct nlmsghdr *rtnl_msg_link_set(void *buf, size_t cap, const char *name, bool up,
				   unsigned mtu)
{
	struct nlmsghdr *nlh = put_link_hdr(buf, cap, RTM_NEWLINK, 0);
	if (!nlh)
		return NULL;
	if (up) {
		struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = IFF_UP;
	}
	if (!mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, name) ||
	    (mtu && !mnl_attr_put_u32_check(nlh, cap, IFLA_MTU, mtu)))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_link_del(void *buf, size_t cap, const char *name)
{
	struct nlmsghdr *nlh = put_link_hdr(buf, cap, RTM_DELLINK, 0);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, name))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_link_get(void *buf, size_t cap, const char *name)
{
	struct nlmsghdr *nlh = put_link_hdr(buf, cap, RTM_GETLINK, 0);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, name))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_addr_add(void *buf, size_t cap, int ifindex, uint32_t addr,
				   uint8_t plen)
{
	void *ext;
	struct nlmsghdr *nlh = put_hdr(buf, cap, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
				       sizeof(struct ifaddrmsg), &ext);
	uint32_t be = htonl(addr);

	if (!nlh)
		return NULL;
	struct ifaddrmsg *ifa = ext;
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* IFA_LOCAL is the address; IFA_ADDRESS the same one says "not a
	 * point-to-point peer", as `ip addr add A/P` sends it. */
	if (!mnl_attr_put_check(nlh, cap, IFA_LOCAL, sizeof(be), &be) ||
	    !mnl_attr_put_check(nlh, cap, IFA_ADDRESS, sizeof(be), &be))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_route_default(void *buf, size_t cap, uint32_t gw, int oif)
{
	void *ext;
	struct nlmsghdr *nlh = put_hdr(buf, cap, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
				       sizeof(struct rtmsg), &ext);
	uint32_t be = htonl(gw);

	if (!nlh)
		return NULL;
	struct rtmsg *rtm = ext;
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	if (!mnl_attr_put_check(nlh, cap, RTA_GATEWAY, sizeof(be), &be) ||
	    (oif > 0 && !mnl_attr_put_u32_check(nlh, cap, RTA_OIF, (uint32_t)oif)))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_dump(void *buf, size_t cap, uint16_t type)
{
	void *ext;
	size_t extra;

	switch (type) {
	case RTM_GETLINK:
		extra = sizeof(struct ifinfomsg);
		break;
	case RTM_GETADDR:
		extra = sizeof(struct ifaddrmsg);
		break;
	case RTM_GETROUTE:
		extra = sizeof(struct rtmsg);
		break;
	default:
		return NULL;
	}
	struct nlmsghdr *nlh = put_hdr(buf, cap, type, NLM_F_DUMP, extra, &ext);
	if (!nlh)
		return NULL;
	/* The family is the first byte of all three headers. */
	*(uint8_t *)ext = type == RTM_GETLINK ? AF_UNSPEC : AF_INET;
	return nlh;
}

struct nlmsghdr *rtnl_msg_addr_add6(void *buf, size_t cap, int ifindex, const uint8_t addr[16],
				    uint8_t plen)
{
	void *ext;
	struct nlmsghdr *nlh = put_hdr(buf, cap, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
				       sizeof(struct ifaddrmsg), &ext);
	if (!nlh)
		return NULL;
	struct ifaddrmsg *ifa = ext;
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = plen;
	/* fe80::/10 is link scope; the kernel derives it itself, but says so
	 * back in dumps: send what it will report. */
	ifa->ifa_scope = addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80 ? RT_SCOPE_LINK
								      : RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* Both links are arca's own, made a moment ago, with nothing else on
	 * them: DAD could only delay the address by a second or more. */
	ifa->ifa_flags = IFA_F_NODAD;
	if (!mnl_attr_put_check(nlh, cap, IFA_LOCAL, 16, addr) ||
	    !mnl_attr_put_check(nlh, cap, IFA_ADDRESS, 16, addr) ||
	    !mnl_attr_put_u32_check(nlh, cap, IFA_FLAGS, IFA_F_NODAD))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_route_add6(void *buf, size_t cap, const uint8_t dst[16], uint8_t plen,
				     const uint8_t *gw, int oif)
{
	void *ext;
	struct nlmsghdr *nlh = put_hdr(buf, cap, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
				       sizeof(struct rtmsg), &ext);
	if (!nlh)
		return NULL;
	struct rtmsg *rtm = ext;
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	if ((plen && !mnl_attr_put_check(nlh, cap, RTA_DST, 16, dst)) ||
	    (gw && !mnl_attr_put_check(nlh, cap, RTA_GATEWAY, 16, gw)) ||
	    (oif > 0 && !mnl_attr_put_u32_check(nlh, cap, RTA_OIF, (uint32_t)oif)))
		return NULL;
	return nlh;
}

struct nlmsghdr *rtnl_msg_dump6(void *buf, size_t cap, uint16_t type)
{
	if (type != RTM_GETADDR && type != RTM_GETROUTE)
		return NULL;
	struct nlmsghdr *nlh = rtnl_msg_dump(buf, cap, type);
	if (nlh)
		*(uint8_t *)mnl_nlmsg_get_payload(nlh) = AF_INET6;
	return nlh;
}

/* ---- parsing ------------------------------------------------------------------- */

struct attrs {
	const struct nlattr *tb[64];
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(a);
	if (type < ARRAY_SIZE(t->tb))
		t->tb[type] = a;
	return MNL_CB_OK;
}

static bool attr_u32(const struct nlattr *a, uint32_t *out)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(a);
	return true;
}

static bool attr_in4(const struct nlattr *a, uint32_t *out)
{
	uint32_t be;
	if (!a || mnl_attr_get_payload_len(a) != sizeof(be))
		return false;
	memcpy(&be, mnl_attr_get_payload(a), sizeof(be));
	*out = ntohl(be);
	return true;
}

static void attr_str(const struct nlattr *a, char *out, size_t cap)
{
	out[0] = 0;
	if (a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) {
		size_t n = strnlen(mnl_attr_get_str(a), cap - 1);
		memcpy(out, mnl_attr_get_str(a), n);
		out[n] = 0;
	}
}

int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out)
{
	struct attrs t = { 0 };
	uint32_t v;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return -EINVAL;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	out->index = ifm->ifi_index;
	out->flags = ifm->ifi_flags;
	out->link_netnsid = -1;
	if (mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, &t) < 0)
		return -EINVAL;
	attr_str(t.tb[IFLA_IFNAME], out->name, sizeof(out->name));
	if (attr_u32(t.tb[IFLA_MTU], &v))
		out->mtu = v;
	if (attr_u32(t.tb[IFLA_LINK_NETNSID], &v))
		out->link_netnsid = (int)v;
	if (t.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(t.tb[IFLA_ADDRESS]) == 6) {
		memcpy(out->mac, mnl_attr_get_payload(t.tb[IFLA_ADDRESS]), 6);
		out->has_mac = true;
	}
	if (t.tb[IFLA_LINKINFO] && mnl_attr_validate(t.tb[IFLA_LINKINFO], MNL_TYPE_NESTED) >= 0) {
		struct attrs li = { 0 };
		if (mnl_attr_parse_nested(t.tb[IFLA_LINKINFO], attr_cb, &li) >= 0)
			attr_str(li.tb[IFLA_INFO_KIND], out->kind, sizeof(out->kind));
	}
	return 0;
}

int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out)
{
	struct attrs t = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifaddrmsg)))
		return -EINVAL;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->index = (int)ifa->ifa_index;
	out->plen = ifa->ifa_prefixlen;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &t) < 0)
		return -EINVAL;
	/* IFA_ADDRESS is the peer's on a point-to-point link; IFA_LOCAL ours. */
	if (!attr_in4(t.tb[IFA_LOCAL], &out->addr) && !attr_in4(t.tb[IFA_ADDRESS], &out->addr))
		return -EINVAL;
	return 0;
}

int rtnl_parse_route(const struct nlmsghdr *nlh, struct rtnl_route *out)
{
	struct attrs t = { 0 };
	uint32_t v;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return -EINVAL;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->plen = rtm->rtm_dst_len;
	out->table = rtm->rtm_table;
	out->type = rtm->rtm_type;
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, &t) < 0)
		return -EINVAL;
	attr_in4(t.tb[RTA_DST], &out->dst);
	attr_in4(t.tb[RTA_GATEWAY], &out->gw);
	if (attr_u32(t.tb[RTA_OIF], &v))
		out->oif = (int)v;
	if (attr_u32(t.tb[RTA_TABLE], &v)) /* tables past 255 are only here */
		out->table = v;
	const struct nlattr *mp = t.tb[RTA_MULTIPATH];
	if (!out->oif && mp && mnl_attr_get_payload_len(mp) >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = mnl_attr_get_payload(mp);
		out->oif = nh->rtnh_ifindex;
	}
	return 0;
}

static bool attr_in6(const struct nlattr *a, uint8_t out[16])
{
	if (!a || mnl_attr_get_payload_len(a) != 16)
		return false;
	memcpy(out, mnl_attr_get_payload(a), 16);
	return true;
}

int rtnl_parse_addr6(const struct nlmsghdr *nlh, struct rtnl_addr6 *out)
{
	struct attrs t = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifaddrmsg)))
		return -EINVAL;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET6)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->index = (int)ifa->ifa_index;
	out->plen = ifa->ifa_prefixlen;
	out->scope = ifa->ifa_scope;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &t) < 0)
		return -EINVAL;
	if (!attr_in6(t.tb[IFA_LOCAL], out->addr) && !attr_in6(t.tb[IFA_ADDRESS], out->addr))
		return -EINVAL;
	return 0;
}

int rtnl_parse_route6(const struct nlmsghdr *nlh, struct rtnl_route6 *out)
{
	struct attrs t = { 0 };
	uint32_t v;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return -EINVAL;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET6 || rtm->rtm_dst_len > 128)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->plen = rtm->rtm_dst_len;
	out->table = rtm->rtm_table;
	out->type = rtm->rtm_type;
	if (mnl_attr_parse(nlh, sizeof(*rtm), attr_cb, &t) < 0)
		return -EINVAL;
	attr_in6(t.tb[RTA_DST], out->dst);
	out->has_gw = attr_in6(t.tb[RTA_GATEWAY], out->gw);
	if (attr_u32(t.tb[RTA_OIF], &v))
		out->oif = (int)v;
	if (attr_u32(t.tb[RTA_TABLE], &v))
		out->table = v;
	const struct nlattr *mp = t.tb[RTA_MULTIPATH];
	if (!out->oif && mp && mnl_attr_get_payload_len(mp) >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = mnl_attr_get_payload(mp);
		out->oif = nh->rtnh_ifindex;
		out->has_gw = true; /* a multipath default goes through routers */
	}
	return 0;
}

/* ---- sending ------------------------------------------------------------------- */

int rtnl_open(struct rtnl *r)
{
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		mnl_socket_close(r->nl);
		r->nl = NULL;
		return -err;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = 0;
	return 0;
}

void rtnl_close(struct rtnl *r)
{
	if (r->nl)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}

/* Whether buf holds the end of the dump with sequence number seq (its
 * NLMSG_DONE, or an error in its place). */
static bool dump_ended(const void *buf, size_t n, uint32_t seq)
{
	int len = (int)n;
	for (const struct nlmsghdr *h = buf; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len))
		if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* Send nlh, read answers until the ACK (or NLMSG_DONE for a dump), handing
 * each data message to cb. mnl_cb_run turns NLMSG_ERROR into errno. */
static int exchange(struct rtnl *r, struct nlmsghdr *nlh, bool dump, mnl_cb_t cb, void *data)
{
	_cleanup_free_ char *buf = malloc(RTNL_RECV_BUF);
	int ret;

	if (!buf)
		return -ENOMEM;
	if (!r->nl)
		return -EBADF;
	nlh->nlmsg_seq = ++r->seq;
	/* Not from the flags: NLM_F_DUMP's bits mean NLM_F_EXCL and
	 * NLM_F_APPEND in a NEW request. A dump ends with NLMSG_DONE. */
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	bool intr = false;
	do {
		ssize_t n = mnl_socket_recvfrom(r->nl, buf, RTNL_RECV_BUF);
		if (n < 0)
			return -errno;
		if (intr) {
			ret = dump_ended(buf, (size_t)n, nlh->nlmsg_seq) ? MNL_CB_STOP : MNL_CB_OK;
			continue;
		}
		errno = 0;
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, r->portid, cb, data);
		/* NLM_F_DUMP_INTR: the table changed while the kernel walked
		 * it (another run adding its link or routes), so what came is
		 * not one consistent picture. libmnl stops at that message;
		 * the rest of the dump is still queued and would answer our
		 * next request, so read it to its NLMSG_DONE first. */
		if (ret < 0 && dump && errno == EINTR) {
			intr = true;
			ret = dump_ended(buf, (size_t)n, nlh->nlmsg_seq) ? MNL_CB_STOP : MNL_CB_OK;
			continue;
		}
		if (ret < 0)
			return errno ? -errno : -EIO;
	} while (ret > 0);
	return intr ? -EINTR : 0;
}

int rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh)
{
	return nlh ? exchange(r, nlh, false, NULL, NULL) : -EMSGSIZE;
}

int rtnl_veth_add(struct rtnl *r, const char *name, const char *peer, int peer_nsfd,
		  unsigned mtu)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_veth_add(buf, sizeof(buf), name, peer, peer_nsfd, mtu));
}

int rtnl_link_set(struct rtnl *r, const char *name, bool up, unsigned mtu)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_link_set(buf, sizeof(buf), name, up, mtu));
}

int rtnl_link_del(struct rtnl *r, const char *name)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_link_del(buf, sizeof(buf), name));
}

int rtnl_addr_add(struct rtnl *r, int ifindex, uint32_t addr, uint8_t plen)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_addr_add(buf, sizeof(buf), ifindex, addr, plen));
}

int rtnl_route_add_default(struct rtnl *r, uint32_t gw, int oif)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_route_default(buf, sizeof(buf), gw, oif));
}

int rtnl_addr_add6(struct rtnl *r, int ifindex, const uint8_t addr[16], uint8_t plen)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_addr_add6(buf, sizeof(buf), ifindex, addr, plen));
}

int rtnl_route_add6(struct rtnl *r, const uint8_t dst[16], uint8_t plen, const uint8_t *gw,
		    int oif)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, rtnl_msg_route_add6(buf, sizeof(buf), dst, plen, gw, oif));
}

struct get_ctx {
	struct rtnl_link *out;
	bool found;
};

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *g = data;
	if (rtnl_parse_link(nlh, g->out) == 0)
		g->found = true;
	return MNL_CB_OK;
}

int rtnl_link_get(struct rtnl *r, const char *name, struct rtnl_link *out)
{
	char buf[RTNL_MSG_MAX];
	struct get_ctx g = { out, false };
	struct nlmsghdr *nlh = rtnl_msg_link_get(buf, sizeof(buf), name);

	if (!nlh)
		return -EMSGSIZE;
	int ret = exchange(r, nlh, false, link_get_cb, &g);
	if (ret < 0)
		return ret;
	return g.found ? 0 : -ENODEV;
}

bool rtnl_link_exists(struct rtnl *r, const char *name)
{
	struct rtnl_link l;
	return rtnl_link_get(r, name, &l) == 0;
}

/* ---- dumps --------------------------------------------------------------------- */

struct dump_ctx {
	uint16_t kind; /* RTM_GETLINK / GETADDR / GETROUTE: which of fn */
	bool v6;       /* AF_INET6: addr6 / route6 */
	union {
		rtnl_link_fn link;
		rtnl_addr_fn addr;
		rtnl_route_fn route;
		rtnl_addr6_fn addr6;
		rtnl_route6_fn route6;
	} fn;
	void *arg;
	int err;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	int r = 0;

	/* Keep reading after a callback's error: the dump must be drained
	 * for the socket's next request to get its own answer. */
	if (d->err < 0)
		return MNL_CB_OK;
	if (d->v6 && d->kind == RTM_GETADDR) {
		struct rtnl_addr6 a;
		if (rtnl_parse_addr6(nlh, &a) == 0)
			r = d->fn.addr6(&a, d->arg);
	} else if (d->v6) {
		struct rtnl_route6 rt;
		if (rtnl_parse_route6(nlh, &rt) == 0)
			r = d->fn.route6(&rt, d->arg);
	} else if (d->kind == RTM_GETLINK) {
		struct rtnl_link l;
		if (rtnl_parse_link(nlh, &l) == 0)
			r = d->fn.link(&l, d->arg);
	} else if (d->kind == RTM_GETADDR) {
		struct rtnl_addr a;
		if (rtnl_parse_addr(nlh, &a) == 0)
			r = d->fn.addr(&a, d->arg);
	} else {
		struct rtnl_route rt;
		if (rtnl_parse_route(nlh, &rt) == 0)
			r = d->fn.route(&rt, d->arg);
	}
	if (r < 0)
		d->err = r;
	return MNL_CB_OK;
}

/* An interrupted dump is asked for again, a few times: with runs starting
 * and stopping in parallel the host's tables change often. The callback
 * sees the objects of every pass, so each one is written to take an object
 * twice (a list that skips what it has, a flag, a first match). */
#define RTNL_DUMP_TRIES 8

static int dump(struct rtnl *r, struct dump_ctx *d)
{
	int ret = -EINTR;
	for (int tries = 0; tries < RTNL_DUMP_TRIES && ret == -EINTR; tries++) {
		char buf[RTNL_MSG_MAX];
		struct nlmsghdr *nlh = d->v6 ? rtnl_msg_dump6(buf, sizeof(buf), d->kind)
					     : rtnl_msg_dump(buf, sizeof(buf), d->kind);
		if (!nlh)
			return -EMSGSIZE;
		ret = exchange(r, nlh, true, dump_cb, d);
		if (ret == -EINTR)
			r->dumps_redone++;
	}
	return ret < 0 ? ret : d->err;
}

int rtnl_dump_links(struct rtnl *r, rtnl_link_fn fn, void *arg)
{
	struct dump_ctx d = { .kind = RTM_GETLINK, .fn.link = fn, .arg = arg };
	return dump(r, &d);
}

int rtnl_dump_addrs(struct rtnl *r, rtnl_addr_fn fn, void *arg)
{
	struct dump_ctx d = { .kind = RTM_GETADDR, .fn.addr = fn, .arg = arg };
	return dump(r, &d);
}

int rtnl_dump_routes(struct rtnl *r, rtnl_route_fn fn, void *arg)
{
	struct dump_ctx d = { .kind = RTM_GETROUTE, .fn.route = fn, .arg = arg };
	return dump(r, &d);
}

int rtnl_dump_addrs6(struct rtnl *r, rtnl_addr6_fn fn, void *arg)
{
	struct dump_ctx d = { .kind = RTM_GETADDR, .v6 = true, .fn.addr6 = fn, .arg = arg };
	return dump(r, &d);
}

int rtnl_dump_routes6(struct rtnl *r, rtnl_route6_fn fn, void *arg)
{
	struct dump_ctx d = { .kind = RTM_GETROUTE, .v6 = true, .fn.route6 = fn, .arg = arg };
	return dump(r, &d);
}
