/* SPDX-License-Identifier: MIT */
/*
 * Traffic control over rtnetlink (libmnl), only what `--net ns=PATH`
 * needs (podnet.h): an ingress qdisc on a link, and on it a u32 filter that matches every frame,
 * whose one action is mirred's egress redirect to another link, so every
 * frame arriving on one link leaves by the other unseen by the netns's
 * own stack: a wire between the pod's interface and the VM's TAP, as Kata
 * Containers' tcfilter mode makes it. Nothing here runs `tc`.
 *
 * Building is pure (tc_msg_*: into the caller's buffer, NULL when it does
 * not fit), so tests parse the messages back; sending goes through
 * rtnl_talk (rtnl.h) in the netns the socket was opened in.
 */
#ifndef ARCA_TC_H
#define ARCA_TC_H

#include <stddef.h>
#include <stdint.h>

#include "rtnl.h"

/* The ingress qdisc (handle ffff:) on ifindex: add (NLM_F_EXCL) or delete. */
struct nlmsghdr *tc_msg_ingress(void *buf, size_t cap, int ifindex, int add);
/* On ifindex's ingress: every frame (ETH_P_ALL) redirected to the egress
 * of to_ifindex and stolen from this netns's stack. */
struct nlmsghdr *tc_msg_redirect(void *buf, size_t cap, int ifindex, int to_ifindex);

int tc_ingress_add(struct rtnl *r, int ifindex);
int tc_ingress_del(struct rtnl *r, int ifindex);
int tc_redirect_add(struct rtnl *r, int ifindex, int to_ifindex);

#endif
