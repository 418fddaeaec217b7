/* SPDX-License-Identifier: MIT */
/*
 * --net ns=PATH: the option's parsing (launcher/netcfg.c), the traffic
 * control messages built by launcher/tc.c parsed back with libmnl, and, as
 * root where unshare(CLONE_NEWNET) is allowed (else skipped), podnet_setup
 * for real: a "pod" netns wired by a veth to this test's own netns (which
 * plays the host, so the machine's network is never touched), its
 * interface taken over, and frames written to the TAP coming out of the
 * pod's interface and the host's ARP request coming back into the TAP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "netcfg.h"
#include "netns.h"
#include "podnet.h"
#include "rtnl.h"
#include "tc.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* ---- the option ------------------------------------------------------------ */

static void test_netcfg_ns(void **state)
{
	(void)state;
	struct netcfg c;
	struct arca_err e = { 0 };

	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, "ns=/run/netns/pod1", &e), 0);
	assert_int_equal(c.mode, NET_POD);
	assert_string_equal(c.ns_path, "/run/netns/pod1");
	assert_int_equal(c.ns_dns, 0);

	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, "ns=/proc/42/ns/net,dns=10.88.0.1", &e), 0);
	assert_string_equal(c.ns_path, "/proc/42/ns/net");
	assert_int_equal(c.ns_dns, IP4(10, 88, 0, 1));

	static const char *const bad[] = { "ns=", "ns=rel/x", "ns=/x,dns=", "ns=/x,dns=1.2.3",
					   "ns=/x,dns=0.0.0.0", "ns=/x,pool=10.0.0.0/8",
					   "ns=/x,dns=1.1.1.1,dns=1.1.1.1", "ns=/x,", NULL };
	for (const char *const *b = bad; *b; b++) {
		netcfg_init(&c);
		memset(&e, 0, sizeof(e));
		if (netcfg_parse(&c, *b, &e) != -EINVAL)
			fail_msg("'%s' accepted", *b);
		assert_non_null(strstr(e.msg, "--net ns="));
	}
	char longp[NET_NS_PATH_MAX + 8] = "ns=/";
	memset(longp + 4, 'a', NET_NS_PATH_MAX);
	longp[sizeof(longp) - 1] = 0;
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, longp, &e), -EINVAL);
}

/* ---- the messages, parsed back ------------------------------------------------ */

struct attrs {
	const struct nlattr *tb[16];
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(a);
	if (type < 16)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static void test_tc_msgs(void **state)
{
	(void)state;
	char buf[RTNL_MSG_MAX];
	struct attrs t = { 0 };

	struct nlmsghdr *nlh = tc_msg_ingress(buf, sizeof(buf), 7, 1);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWQDISC);
	assert_true(nlh->nlmsg_flags & NLM_F_EXCL);
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(tcm->tcm_ifindex, 7);
	assert_int_equal(tcm->tcm_parent, TC_H_INGRESS);
	assert_int_equal(tcm->tcm_handle, 0xffff0000u);
	assert_true(mnl_attr_parse(nlh, sizeof(*tcm), attr_cb, &t) >= 0);
	assert_string_equal(mnl_attr_get_str(t.tb[TCA_KIND]), "ingress");
	nlh = tc_msg_ingress(buf, sizeof(buf), 7, 0);
	assert_int_equal(nlh->nlmsg_type, RTM_DELQDISC);

	nlh = tc_msg_redirect(buf, sizeof(buf), 3, 9);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWTFILTER);
	tcm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(tcm->tcm_ifindex, 3);
	assert_int_equal(tcm->tcm_parent, 0xffff0000u);
	assert_int_equal(tcm->tcm_info, TC_H_MAKE(1u << 16, htons(0x0003)));
	memset(&t, 0, sizeof(t));
	assert_true(mnl_attr_parse(nlh, sizeof(*tcm), attr_cb, &t) >= 0);
	assert_string_equal(mnl_attr_get_str(t.tb[TCA_KIND]), "u32");
	struct attrs o = { 0 }, acts = { 0 }, act = { 0 }, ao = { 0 };
	assert_true(mnl_attr_parse_nested(t.tb[TCA_OPTIONS], attr_cb, &o) >= 0);
	const struct tc_u32_sel *sel = mnl_attr_get_payload(o.tb[TCA_U32_SEL]);
	assert_int_equal(mnl_attr_get_payload_len(o.tb[TCA_U32_SEL]),
			 sizeof(*sel) + sizeof(struct tc_u32_key));
	assert_int_equal(sel->nkeys, 1);
	assert_int_equal(sel->flags, TC_U32_TERMINAL);
	assert_int_equal(sel->keys[0].mask, 0); /* every frame */
	assert_true(mnl_attr_parse_nested(o.tb[TCA_U32_ACT], attr_cb, &acts) >= 0);
	assert_non_null(acts.tb[1]);
	assert_true(mnl_attr_parse_nested(acts.tb[1], attr_cb, &act) >= 0);
	assert_string_equal(mnl_attr_get_str(act.tb[TCA_ACT_KIND]), "mirred");
	assert_true(mnl_attr_parse_nested(act.tb[TCA_ACT_OPTIONS], attr_cb, &ao) >= 0);
	const struct tc_mirred *m = mnl_attr_get_payload(ao.tb[TCA_MIRRED_PARMS]);
	assert_int_equal(m->eaction, TCA_EGRESS_REDIR);
	assert_int_equal(m->action, TC_ACT_STOLEN);
	assert_int_equal(m->ifindex, 9);

	assert_null(tc_msg_ingress(buf, 8, 7, 1));
	assert_null(tc_msg_redirect(buf, 40, 3, 9));
}

/* ---- for real ------------------------------------------------------------------ */

static void require_netns(void)
{
	static int entered;
	if (!entered) {
		entered = -1;
		if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 &&
		    unshare(CLONE_NEWNET) == 0)
			entered = 1;
	}
	if (entered < 0)
		skip();
}

struct pod_cfg {
	bool addr, route;
};

static int pod_side(void *arg)
{
	const struct pod_cfg *pc = arg;
	struct rtnl r = { 0 };
	struct rtnl_link l;
	assert_int_equal(rtnl_open(&r), 0);
	assert_int_equal(rtnl_link_set(&r, "lo", true, 0), 0);
	assert_int_equal(rtnl_link_set(&r, "eth0", true, 0), 0);
	assert_int_equal(rtnl_link_get(&r, "eth0", &l), 0);
	if (pc->addr)
		assert_int_equal(rtnl_addr_add(&r, l.index, IP4(10, 77, 0, 2), 24), 0);
	if (pc->route)
		assert_int_equal(rtnl_route_add_default(&r, IP4(10, 77, 0, 1), l.index), 0);
	rtnl_close(&r);
	return 0;
}

static uint8_t pod_mac[6];
static int pod_eth_mac(void *arg)
{
	(void)arg;
	struct rtnl r = { 0 };
	struct rtnl_link l;
	assert_int_equal(rtnl_open(&r), 0);
	assert_int_equal(rtnl_link_get(&r, "eth0", &l), 0);
	assert_true(l.has_mac);
	memcpy(pod_mac, l.mac, 6);
	rtnl_close(&r);
	return 0;
}

/* A pod netns whose eth0 is wired by a veth to hveth<i> here. */
static int make_pod(int i, struct pod_cfg pc, char *path, size_t cap)
{
	int pfd;
	char hname[16];
	struct rtnl host = { 0 };
	struct rtnl_link hl;
	assert_int_equal(netns_new(&pfd), 0);
	snprintf(hname, sizeof(hname), "hveth%d", i);
	assert_int_equal(rtnl_open(&host), 0);
	assert_int_equal(rtnl_veth_add(&host, hname, "eth0", pfd, 1500), 0);
	assert_int_equal(rtnl_link_set(&host, hname, true, 0), 0);
	assert_int_equal(rtnl_link_get(&host, hname, &hl), 0);
	assert_int_equal(rtnl_addr_add(&host, hl.index, IP4(10, 77, i, 1), 24), 0);
	rtnl_close(&host);
	assert_int_equal(netns_run(pfd, pod_side, &pc), 0);
	snprintf(path, cap, "/proc/self/fd/%d", pfd);
	return pfd;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_podnet_wire(void **state)
{
	(void)state;
	require_netns();
	char path[64];
	struct rtnl_link hl;
	struct rtnl host = { 0 };
	int pfd = make_pod(0, (struct pod_cfg){ true, true }, path, sizeof(path));
	assert_int_equal(netns_run(pfd, pod_eth_mac, NULL), 0);
	assert_int_equal(rtnl_open(&host), 0);
	assert_int_equal(rtnl_link_get(&host, "hveth0", &hl), 0);
	rtnl_close(&host);

	struct podnet p;
	struct arca_spec_net spec;
	struct arca_err e = { 0 };
	int tap = -1;
	int r = podnet_setup(path, IP4(192, 0, 2, 53), &p, &tap, &spec, &e);
	/* A kernel built without sch_ingress, cls_u32 or act_mirred (and no
	 * module to load): nothing to test here. */
	if (r < 0 && (r == -ENOENT || r == -EOPNOTSUPP) &&
	    (strstr(e.msg, "ingress qdisc") || strstr(e.msg, "redirecting filter"))) {
		close(pfd);
		skip();
	}
	if (r < 0)
		fail_msg("podnet_setup: %s", e.msg);
	assert_true(tap >= 0);
	assert_memory_equal(spec.mac, pod_mac, 6);
	assert_int_equal(spec.mtu, 1500);
	assert_memory_equal(spec.addr, ((uint8_t[]){ 10, 77, 0, 2 }), 4);
	assert_int_equal(spec.prefix, 24);
	assert_memory_equal(spec.gateway, ((uint8_t[]){ 10, 77, 0, 1 }), 4);
	assert_memory_equal(spec.dns, ((uint8_t[]){ 192, 0, 2, 53 }), 4);
	assert_string_equal(p.eth_name, "eth0");

	/* Guest to host: a UDP datagram written to the TAP as the guest would
	 * send it (its MAC is the pod's) leaves by the pod's eth0. */
	int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5000),
				  .sin_addr.s_addr = htonl(IP4(10, 77, 0, 1)) };
	assert_int_equal(bind(us, (struct sockaddr *)&sa, sizeof(sa)), 0);
	uint8_t f[12 + 14 + 20 + 8 + 4] = { 0 };
	uint8_t *eth = f + 12, *ip = eth + 14, *udp = ip + 20;
	memcpy(eth, hl.mac, 6);
	memcpy(eth + 6, pod_mac, 6);
	eth[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 20 + 8 + 4;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, ((uint8_t[]){ 10, 77, 0, 2 }), 4);
	memcpy(ip + 16, ((uint8_t[]){ 10, 77, 0, 1 }), 4);
	uint16_t c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 4000 >> 8;
	udp[1] = 4000 & 0xff;
	udp[2] = 5000 >> 8;
	udp[3] = 5000 & 0xff;
	udp[5] = 8 + 4;
	memcpy(udp + 8, "ping", 4);
	assert_int_equal(write(tap, f, sizeof(f)), (ssize_t)sizeof(f));
	struct pollfd pf = { .fd = us, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 3000), 1);
	char got[16] = { 0 };
	assert_int_equal(recv(us, got, sizeof(got), 0), 4);
	assert_string_equal(got, "ping");

	/* Host to guest: a datagram to 10.77.0.2 makes the host ask who has
	 * it; the ARP request arrives on eth0 and comes out of the TAP. */
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(4000),
				  .sin_addr.s_addr = htonl(IP4(10, 77, 0, 2)) };
	assert_int_equal(sendto(us, "pong", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	bool arp = false;
	for (int i = 0; i < 20 && !arp; i++) {
		pf = (struct pollfd){ .fd = tap, .events = POLLIN };
		if (poll(&pf, 1, 3000) != 1)
			break;
		uint8_t in[2048];
		ssize_t n = read(tap, in, sizeof(in));
		if (n >= 12 + 14 + 28 && in[12 + 12] == 0x08 && in[12 + 13] == 0x06 &&
		    !memcmp(in + 12 + 14 + 24, ((uint8_t[]){ 10, 77, 0, 2 }), 4))
			arp = true;
	}
	assert_true(arp);
	close(us);

	/* Torn down: the ingress qdisc on eth0 is gone, so a new setup (once
	 * the TAP is gone with its fd) can add it again. */
	podnet_teardown(&p);
	podnet_teardown(&p);
	close(tap);
	if (podnet_setup(path, 0, &p, &tap, &spec, &e) < 0)
		fail_msg("second podnet_setup: %s", e.msg);
	assert_memory_equal(spec.dns, ((uint8_t[]){ 0, 0, 0, 0 }), 4);
	podnet_teardown(&p);
	close(tap);
	close(pfd);
}

static void test_podnet_errors(void **state)
{
	(void)state;
	require_netns();
	struct podnet p;
	struct arca_spec_net spec;
	struct arca_err e = { 0 };
	int tap;
	char path[64];

	assert_int_equal(podnet_setup("/nonexistent/ns", 0, &p, &tap, &spec, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "--net ns=/nonexistent/ns"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(podnet_setup("/etc/hostname", 0, &p, &tap, &spec, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a network namespace"));

	int pfd = make_pod(1, (struct pod_cfg){ false, false }, path, sizeof(path));
	memset(&e, 0, sizeof(e));
	assert_int_equal(podnet_setup(path, 0, &p, &tap, &spec, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no interface has an IPv4 address"));
	close(pfd);

	pfd = make_pod(2, (struct pod_cfg){ true, false }, path, sizeof(path));
	memset(&e, 0, sizeof(e));
	assert_int_equal(podnet_setup(path, 0, &p, &tap, &spec, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no IPv4 default route"));
	close(pfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netcfg_ns),
		cmocka_unit_test(test_tc_msgs),
		cmocka_unit_test(test_podnet_wire),
		cmocka_unit_test(test_podnet_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
