/* SPDX-License-Identifier: MIT */
/*
 * arca-init's IPv6 for `arca run --net` (ARCA_SPEC_NET6, include/arca/abi.h):
 * the address and the default route on the interface net.c found by NET's
 * MAC, over rtnetlink. net.c calls these from initnet_configure; the
 * request builders and the answer's parser are pure, for the unit tests
 * (tests/unit/test_initnet6.c).
 *
 * Errors: negative errno; initnet6_apply also writes one line in err, as
 * net.c does for IPv4.
 */
#ifndef ARCA_INITNET6_H
#define ARCA_INITNET6_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* IPv6's minimum link MTU (RFC 8200 section 5): below it the kernel has no
 * IPv6 on the interface at all, and adding an address fails. */
#define NET6_MTU_MIN 1280u

/* How long to wait for the kernel's answer to one request. */
#define NET6_ANSWER_MS 2000

/* The metric of the default route (the kernel's own default is 1024, what
 * a router advertisement's route would get: ours is preferred). */
#define NET6_ROUTE_METRIC 1u

/* Big enough for either request below (each about 80 bytes). */
#define NET6_MSG_MAX 256

/*
 * The RTM_NEWADDR request for n's address on the interface ifindex: family
 * AF_INET6, n->prefix, IFA_F_NODAD (in the header's u8 flags and in
 * IFA_FLAGS), IFA_LOCAL and IFA_ADDRESS both the address (the kernel
 * would read a different IFA_ADDRESS as a peer). NLM_F_CREATE |
 * NLM_F_REPLACE: it says what the end state is. Written into buf (size
 * bytes, any alignment); returns its length, or -ENOSPC.
 */
int initnet6_addr_msg(void *buf, size_t size, uint32_t seq, uint32_t ifindex,
		      const struct arca_spec_net6 *n);

/*
 * The RTM_NEWROUTE request for the default route (::/0, the main table,
 * RTN_UNICAST) via n->gateway (RTA_GATEWAY) out of the interface ifindex
 * (RTA_OIF: a link-local gateway means nothing without it), metric
 * NET6_ROUTE_METRIC (RTA_PRIORITY). NLM_F_CREATE | NLM_F_REPLACE. Returns
 * its length, or -ENOSPC.
 */
int initnet6_route_msg(void *buf, size_t size, uint32_t seq, uint32_t ifindex,
		       const struct arca_spec_net6 *n);

/*
 * Looks through one datagram from the kernel (len bytes, any alignment)
 * for the answer to request seq: an NLMSG_ERROR. Returns its error (0
 * for success, else a negative errno), -ENOMSG when the datagram holds no
 * answer to seq, -EPROTO when it is malformed (a length that runs past
 * the end, an error code that is not an errno).
 */
int initnet6_answer(const void *buf, size_t len, uint32_t seq);

/* The log line's text: "2001:db8::2/64 via fe80::1". Returns its length,
 * or -ENOSPC. */
int initnet6_summary(const struct arca_spec_net6 *n, char *buf, size_t len);

/*
 * Before the interface comes up: sets net.ipv6.conf.IF.accept_dad,
 * accept_ra and autoconf to 0 under procsys (an fd of /proc/sys, or a
 * test's directory). None of them is needed for the address (which has
 * IFA_F_NODAD): with them the interface's link-local address is not
 * tentative either, and it neither solicits nor accepts router
 * advertisements (no address or route appears that the spec did not
 * name). A missing file is not an error (IPv6 configured differently);
 * returns how many of the three were written.
 */
int initnet6_sysctls(int procsys, const char *ifname);

/*
 * After the interface is up: adds n's address (without DAD: usable at
 * once) and the default route via n->gateway on ifname, over a
 * NETLINK_ROUTE socket of its own. On failure err names the step
 * ("net: eth0: IPv6 address 2001:db8::2/64 (RTM_NEWADDR): ...").
 */
int initnet6_apply(const struct arca_spec_net6 *n, const char *ifname, char *err,
		   size_t errlen);

#endif
