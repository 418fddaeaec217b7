/* SPDX-License-Identifier: MIT */
/* See tc.h. The message layout is the kernel's (net/sched/cls_api.c,
 * cls_matchall.c, act_mirred.c), with the uapi headers' own structs. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>

#include "tc.h"

static struct nlmsghdr *put_tc_hdr(void *buf, size_t cap, uint16_t type, uint16_t flags,
				   int ifindex, uint32_t parent, uint32_t handle, uint32_t info)
{
	if (cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct tcmsg)))
		return NULL;
	/* From zeros: attribute padding libmnl leaves alone is then the same
	 * bytes every time (as rtnl.c does). */
	memset(buf, 0, cap);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	tcm->tcm_info = info;
	return nlh;
}

struct nlmsghdr *tc_msg_ingress(void *buf, size_t cap, int ifindex, int add)
{
	struct nlmsghdr *nlh = put_tc_hdr(buf, cap, add ? RTM_NEWQDISC : RTM_DELQDISC,
					  add ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex, TC_H_INGRESS,
					  TC_H_MAKE(TC_H_INGRESS, 0), 0);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, TCA_KIND, "ingress"))
		return NULL;
	return nlh;
}

struct nlmsghdr *tc_msg_redirect(void *buf, size_t cap, int ifindex, int to_ifindex)
{
	/* Priority 1, protocol ETH_P_ALL (network order, as tc's info wants). */
	struct nlmsghdr *nlh = put_tc_hdr(buf, cap, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL,
					  ifindex, TC_H_MAKE(TC_H_INGRESS, 0), 0,
					  TC_H_MAKE(1u << 16, htons(ETH_P_ALL)));
	struct nlattr *opts, *acts, *act, *aopts;
	/* u32 with one key that matches every frame (mask 0), terminal: what
	 * `tc filter ... u32 match u32 0 0` sends. u32 rather than matchall:
	 * it is in more kernels (cls_matchall is absent from some builds). */
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} u = { .sel = { .flags = TC_U32_TERMINAL, .nkeys = 1 } };
	struct tc_mirred m = {
		.action = TC_ACT_STOLEN,      /* not on to this netns's stack */
		.eaction = TCA_EGRESS_REDIR,  /* out of to_ifindex, as if sent there */
		.ifindex = (uint32_t)to_ifindex,
	};
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, TCA_KIND, "u32") ||
	    !(opts = mnl_attr_nest_start_check(nlh, cap, TCA_OPTIONS)) ||
	    !mnl_attr_put_check(nlh, cap, TCA_U32_SEL, sizeof(u), &u) ||
	    !(acts = mnl_attr_nest_start_check(nlh, cap, TCA_U32_ACT)) ||
	    !(act = mnl_attr_nest_start_check(nlh, cap, 1)) || /* the first action */
	    !mnl_attr_put_strz_check(nlh, cap, TCA_ACT_KIND, "mirred") ||
	    !(aopts = mnl_attr_nest_start_check(nlh, cap, TCA_ACT_OPTIONS)) ||
	    !mnl_attr_put_check(nlh, cap, TCA_MIRRED_PARMS, sizeof(m), &m))
		return NULL;
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	return nlh;
}

int tc_ingress_add(struct rtnl *r, int ifindex)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, tc_msg_ingress(buf, sizeof(buf), ifindex, 1));
}

int tc_ingress_del(struct rtnl *r, int ifindex)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, tc_msg_ingress(buf, sizeof(buf), ifindex, 0));
}

int tc_redirect_add(struct rtnl *r, int ifindex, int to_ifindex)
{
	char buf[RTNL_MSG_MAX];
	return rtnl_talk(r, tc_msg_redirect(buf, sizeof(buf), ifindex, to_ifindex));
}
