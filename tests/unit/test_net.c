/* SPDX-License-Identifier: MIT */
/*
 * --net's host side: parsing --net and --publish with their exact messages,
 * the pool's slot plan and collision check (launcher/netcfg.c); rtnetlink
 * requests built by launcher/rtnl.c, parsed back with libmnl; and, as root
 * where unshare(CLONE_NEWNET) is allowed (else skipped), net_setup /
 * net_teardown / net_gc for real inside a network namespace this process
 * makes for itself first, so the machine's own network is never touched.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net.h"
#include "netcfg.h"
#include "netns.h"
#include "rtnl.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* ---- --net ------------------------------------------------------------------------- */

static void test_parse_modes(void **state)
{
	struct netcfg c;
	struct arca_err e = { 0 };

	netcfg_init(&c);
	assert_int_equal(c.mode, NET_NONE);
	assert_int_equal(c.pool.addr, IP4(10, 213, 0, 0));
	assert_int_equal(c.pool.plen, 16);
	assert_int_equal(netcfg_parse(&c, "none", &e), 0);
	assert_int_equal(c.mode, NET_NONE);

	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, "nat", &e), 0);
	assert_int_equal(c.mode, NET_NAT);
	assert_false(c.allow_private);

	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, "nat,allow-private,pool=10.99.0.0/20", &e), 0);
	assert_int_equal(c.mode, NET_NAT);
	assert_true(c.allow_private);
	assert_int_equal(c.pool.addr, IP4(10, 99, 0, 0));
	assert_int_equal(c.pool.plen, 20);

	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, "allow=1.2.3.4,10.0.0.1/8:443/tcp,Example.COM:53/udp,"
					  "pypi.org,9.9.9.0/24:53,pool=172.30.0.0/24,allow=x-1.io:80",
				      &e), 0);
	assert_int_equal(c.mode, NET_ALLOW);
	assert_int_equal(c.ndests, 3);
	assert_int_equal(c.dests[0].cidr.addr, IP4(1, 2, 3, 4));
	assert_int_equal(c.dests[0].cidr.plen, 32);
	assert_int_equal(c.dests[0].port, 0);
	assert_int_equal(c.dests[0].proto, 0);
	/* Host bits are cleared, as iptables does. */
	assert_int_equal(c.dests[1].cidr.addr, IP4(10, 0, 0, 0));
	assert_int_equal(c.dests[1].cidr.plen, 8);
	assert_int_equal(c.dests[1].port, 443);
	assert_int_equal(c.dests[1].proto, IPPROTO_TCP);
	assert_int_equal(c.dests[2].port, 53);
	assert_int_equal(c.dests[2].proto, 0);
	assert_int_equal(c.nnames, 3);
	assert_string_equal(c.names[0].name, "example.com");
	assert_int_equal(c.names[0].port, 53);
	assert_int_equal(c.names[0].proto, IPPROTO_UDP);
	assert_string_equal(c.names[1].name, "pypi.org");
	assert_int_equal(c.names[1].port, 0);
	assert_string_equal(c.names[2].name, "x-1.io");
	assert_int_equal(c.pool.addr, IP4(172, 30, 0, 0));
	assert_false(c.allow_private);

	/* The longest name: 253 bytes of 63-byte labels. */
	char name[300];
	snprintf(name, sizeof(name), "allow=%.63s.%.63s.%.63s.%.61s",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(name + 6), 253);
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, name, &e), 0);
	assert_int_equal(strlen(c.names[0].name), 253);
	strcat(name, "d"); /* 254 */
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, name, &e), -EINVAL);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *v, *msg;
	} cases[] = {
		{ "", "--net: unknown mode '' (none, nat[,allow-private][,pool=CIDR], allow=DEST[,DEST...][,allow-private][,pool=CIDR] or ns=PATH[,dns=IPV4])" },
		{ "bogus", "--net: unknown mode 'bogus' (none, nat[,allow-private][,pool=CIDR], allow=DEST[,DEST...][,allow-private][,pool=CIDR] or ns=PATH[,dns=IPV4])" },
		{ "none,allow-private", "--net: 'none' takes no options" },
		{ "nat,", "--net: empty item in 'nat,'" },
		{ "nat,,allow-private", "--net: empty item in 'nat,,allow-private'" },
		{ "nat,1.2.3.4", "--net: unknown option '1.2.3.4' for nat (allow-private, pool=CIDR)" },
		{ "allow=", "--net: allow= needs at least one destination" },
		{ "allow=10.0.0.300/8", "--net: bad address '10.0.0.300/8' in allow=" },
		{ "allow=1.2.3.4/33", "--net: bad address '1.2.3.4/33' in allow=" },
		{ "allow=1.2.3", "--net: bad address '1.2.3' in allow=" },
		{ "allow=01.2.3.4", "--net: bad address '01.2.3.4' in allow=" },
		{ "allow=1.2.3.4.", "--net: bad address '1.2.3.4.' in allow=" },
		{ "allow=1.2.3.4/", "--net: bad address '1.2.3.4/' in allow=" },
		{ "allow=10.0.0.300:80", "--net: bad address '10.0.0.300' in allow=" },
		{ "allow=1.2.3.4:0", "--net: bad port '1.2.3.4:0' in allow= (1 to 65535)" },
		{ "allow=1.2.3.4:70000", "--net: bad port '1.2.3.4:70000' in allow= (1 to 65535)" },
		{ "allow=1.2.3.4:", "--net: bad port '1.2.3.4:' in allow= (1 to 65535)" },
		{ "allow=a.io:080", "--net: bad port 'a.io:080' in allow= (1 to 65535)" },
		{ "allow=a.io:80/icmp", "--net: bad protocol 'a.io:80/icmp' in allow= (tcp or udp)" },
		{ "allow=a.io:80/", "--net: bad protocol 'a.io:80/' in allow= (tcp or udp)" },
		{ "allow=::1", "--net: bad destination '::1' in allow= (IPv4 only: CIDR[:PORT[/tcp|/udp]] or HOSTNAME[:PORT[/tcp|/udp]])" },
		{ "allow=bad_name!.com", "--net: bad host name 'bad_name!.com' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=-a.com", "--net: bad host name '-a.com' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=a-.com:1", "--net: bad host name 'a-.com' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=a..com", "--net: bad host name 'a..com' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=a.com.", "--net: bad host name 'a.com.' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=:80", "--net: bad host name '' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=1.1.1.1,", "--net: empty item in 'allow=1.1.1.1,'" },
		{ "nat,pool=10.0.0.0/40", "--net: bad pool '10.0.0.0/40' (an IPv4 network such as 10.213.0.0/16)" },
		{ "nat,pool=10.0.0.0", "--net: bad pool '10.0.0.0' (an IPv4 network such as 10.213.0.0/16)" },
		{ "nat,pool=10.0.0.1/16", "--net: pool '10.0.0.1/16' has host bits set (10.0.0.0/16?)" },
		{ "nat,pool=10.0.0.0/30", "--net: pool '10.0.0.0/30' is too small: a /29 at least (a /29 per run)" },
		{ "nat,pool=11.0.0.0/7", "--net: pool '11.0.0.0/7' has host bits set (10.0.0.0/7?)" },
		{ "nat,pool=8.0.0.0/7", "--net: pool '8.0.0.0/7' is too large: a /8 at most" },
		{ "nat,pool=127.0.0.0/16", "--net: pool '127.0.0.0/16' overlaps reserved range 127.0.0.0/8" },
		{ "nat,pool=230.0.0.0/16", "--net: pool '230.0.0.0/16' overlaps reserved range 224.0.0.0/3" },
		{ "nat,pool=10.1.0.0/16,pool=10.2.0.0/16", "--net: pool= given twice" },
		{ "allow=a.io,what=1", "--net: bad host name 'what=1' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
		{ "allow=a\033]0;x", "--net: bad host name 'a\\x1b]0;x' in allow= (RFC 1123: labels of 1 to 63 letters, digits and '-', 253 bytes in all)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct netcfg c;
		struct arca_err e = { 0 };
		netcfg_init(&c);
		int r = netcfg_parse(&c, cases[i].v, &e);
		if (r != -EINVAL || strcmp(e.msg, cases[i].msg))
			fail_msg("'%s': %d '%s'", cases[i].v, r, e.msg);
	}
}

static void test_parse_bounds(void **state)
{
	char v[64 * 16 + 64] = "allow=";
	struct netcfg c;
	struct arca_err e = { 0 };

	for (int i = 0; i < NET_DESTS_MAX; i++)
		sprintf(v + strlen(v), "%s1.1.1.%d", i ? "," : "", i);
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, v, &e), 0);
	assert_int_equal(c.ndests, NET_DESTS_MAX);
	strcat(v, ",2.2.2.2");
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, v, &e), -EINVAL);
	assert_string_equal(e.msg, "--net: too many allow= addresses (at most 64)");

	strcpy(v, "allow=");
	for (int i = 0; i <= NET_NAMES_MAX; i++)
		sprintf(v + strlen(v), "%sh%d.io", i ? "," : "", i);
	netcfg_init(&c);
	assert_int_equal(netcfg_parse(&c, v, &e), -EINVAL);
	assert_string_equal(e.msg, "--net: too many allow= host names (at most 64)");
}

static void test_ipv4(void **state)
{
	uint32_t a;
	struct net_cidr c;
	char buf[32];

	assert_true(netcfg_parse_ipv4("0.0.0.0", 7, &a));
	assert_int_equal(a, 0);
	assert_true(netcfg_parse_ipv4("255.255.255.255", 15, &a));
	assert_int_equal(a, 0xffffffffu);
	assert_false(netcfg_parse_ipv4("256.1.1.1", 9, &a));
	assert_false(netcfg_parse_ipv4("1.1.1", 5, &a));
	assert_false(netcfg_parse_ipv4("1.1.1.1.1", 9, &a));
	assert_false(netcfg_parse_ipv4("1..1.1", 6, &a));
	assert_false(netcfg_parse_ipv4("1.1.1.01", 8, &a));
	assert_false(netcfg_parse_ipv4("1.1.1.1x", 8, &a));
	/* Only len bytes are read. */
	assert_true(netcfg_parse_ipv4("1.2.3.4/8", 7, &a));
	assert_int_equal(a, IP4(1, 2, 3, 4));

	assert_true(netcfg_parse_cidr("10.1.2.3/8", 10, true, &c));
	assert_string_equal(netcfg_cidr_str(&c, buf, sizeof(buf)), "10.0.0.0/8");
	assert_false(netcfg_parse_cidr("10.1.2.3/8", 10, false, &c));
	assert_true(netcfg_parse_cidr("0.0.0.0/0", 9, false, &c));
	assert_int_equal(c.plen, 0);
	assert_false(netcfg_parse_cidr("1.2.3.4/08", 10, true, &c));
	assert_string_equal(netcfg_ipv4_str(IP4(192, 168, 1, 20), buf, sizeof(buf)), "192.168.1.20");
	assert_int_equal(netcfg_mask(0), 0);
	assert_int_equal(netcfg_mask(32), 0xffffffffu);
	assert_int_equal(netcfg_mask(30), 0xfffffffcu);
}

/* ---- --publish --------------------------------------------------------------------- */

static void test_publish(void **state)
{
	struct net_publishes p = { 0 };
	struct arca_err e = { 0 };

	assert_int_equal(netcfg_add_publish(&p, "8080:80", &e), 0);
	assert_int_equal(netcfg_add_publish(&p, "127.0.0.1:5353:53/udp", &e), 0);
	assert_int_equal(netcfg_add_publish(&p, "8080:80/udp", &e), 0); /* another protocol */
	assert_int_equal(netcfg_add_publish(&p, "192.0.2.1:9000:9000/tcp", &e), 0);
	assert_int_equal(netcfg_add_publish(&p, "192.0.2.2:9000:9001", &e), 0);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.v[0].host_ip, 0);
	assert_int_equal(p.v[0].host_port, 8080);
	assert_int_equal(p.v[0].guest_port, 80);
	assert_int_equal(p.v[0].proto, IPPROTO_TCP);
	assert_int_equal(p.v[1].host_ip, IP4(127, 0, 0, 1));
	assert_int_equal(p.v[1].host_port, 5353);
	assert_int_equal(p.v[1].guest_port, 53);
	assert_int_equal(p.v[1].proto, IPPROTO_UDP);

	static const struct {
		const char *v, *msg;
	} bad[] = {
		{ "8080", "--publish: bad value '8080' ([HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp])" },
		{ "1:2:3:4", "--publish: bad value '1:2:3:4' ([HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp], IPv4 only)" },
		{ "0:80", "--publish: bad host port '0' in '0:80' (1 to 65535)" },
		{ "80:65536", "--publish: bad guest port '65536' in '80:65536' (1 to 65535)" },
		{ ":80", "--publish: bad host port '' in ':80' (1 to 65535)" },
		{ "1.2.3:80:80", "--publish: bad host address '1.2.3' in '1.2.3:80:80'" },
		{ "80:80/sctp", "--publish: bad protocol 'sctp' in '80:80/sctp' (tcp or udp)" },
		{ "8080:81", "--publish: host port 8080/tcp published twice ('8080:81')" },
		{ "127.0.0.1:8080:81", "--publish: host port 8080/tcp published twice ('127.0.0.1:8080:81')" },
		{ "9000:1", "--publish: host port 9000/tcp published twice ('9000:1')" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = netcfg_add_publish(&p, bad[i].v, &e);
		if (r != -EINVAL || strcmp(e.msg, bad[i].msg))
			fail_msg("'%s': %d '%s'", bad[i].v, r, e.msg);
	}
	assert_int_equal(p.n, 5);
	while (p.n < NET_PUBLISH_MAX) {
		char v[32];
		snprintf(v, sizeof(v), "%zu:80", 10000 + p.n);
		assert_int_equal(netcfg_add_publish(&p, v, &e), 0);
	}
	assert_int_equal(netcfg_add_publish(&p, "20000:80", &e), -EINVAL);
	assert_string_equal(e.msg, "--publish: too many (at most 32)");
}

/* ---- the pool ---------------------------------------------------------------------- */

static void test_slot_plan(void **state)
{
	struct net_cidr pool = { IP4(10, 213, 0, 0), 16 };
	struct net_plan p;

	assert_int_equal(netcfg_pool_slots(&pool), 8192);
	assert_int_equal(netcfg_slot_plan(&pool, 0, &p), 0);
	assert_int_equal(p.gw, IP4(10, 213, 0, 1));
	assert_int_equal(p.guest, IP4(10, 213, 0, 2));
	assert_int_equal(p.host, IP4(10, 213, 0, 5));
	assert_int_equal(p.nsveth, IP4(10, 213, 0, 6));
	assert_int_equal(p.prefix, 30);
	assert_int_equal(netcfg_slot_plan(&pool, 33, &p), 0);
	assert_int_equal(p.gw, IP4(10, 213, 1, 9));
	assert_int_equal(p.nsveth, IP4(10, 213, 1, 14));
	assert_int_equal(netcfg_slot_plan(&pool, 8191, &p), 0);
	assert_int_equal(p.gw, IP4(10, 213, 255, 249));
	assert_int_equal(p.nsveth, IP4(10, 213, 255, 254));
	assert_int_equal(netcfg_slot_plan(&pool, 8192, &p), -ERANGE);

	/* The two /30s of a slot never share an address with its neighbours'. */
	struct net_plan q;
	netcfg_slot_plan(&pool, 7, &p);
	netcfg_slot_plan(&pool, 8, &q);
	assert_true((p.nsveth | 1) < q.gw - 1);

	struct net_cidr tiny = { IP4(192, 168, 7, 8), 29 };
	assert_int_equal(netcfg_pool_slots(&tiny), 1);
	struct net_cidr big = { IP4(10, 0, 0, 0), 8 };
	assert_int_equal(netcfg_pool_slots(&big), 1u << 21);
	assert_int_equal(netcfg_slot_plan(&big, (1u << 21) - 1, &p), 0);
	assert_int_equal(p.nsveth, IP4(10, 255, 255, 254));
}

static void test_collides(void **state)
{
	struct net_cidr pool = { IP4(10, 213, 0, 0), 16 };
	struct net_route routes[] = {
		{ { 0, 0 }, "eth0" },                       /* the default route */
		{ { IP4(10, 213, 0, 4), 30 }, "arca0" },    /* a run of ours */
		{ { IP4(10, 213, 0, 5), 32 }, "arca12345" },
		{ { IP4(10, 214, 0, 0), 16 }, "eth0" },
		{ { IP4(192, 168, 0, 0), 24 }, "wlan0" },
		{ { IP4(10, 213, 5, 0), 24 }, "arcabr" },   /* not ours: arca + digits only */
		{ { IP4(10, 0, 0, 0), 8 }, "tun0" },
	};
	size_t which = 99;

	assert_false(netcfg_pool_collides(&pool, routes, 5, &which));
	assert_true(netcfg_pool_collides(&pool, routes, 7, &which));
	assert_int_equal(which, 5);
	assert_true(netcfg_pool_collides(&pool, routes + 6, 1, &which)); /* contains the pool */
	assert_int_equal(which, 0);
	struct net_cidr other = { IP4(10, 214, 128, 0), 17 };
	assert_true(netcfg_pool_collides(&other, routes, 4, &which));
	assert_int_equal(which, 3);

	uint32_t slot = 0;
	assert_true(netcfg_is_host_if("arca0", &slot));
	assert_int_equal(slot, 0);
	assert_true(netcfg_is_host_if("arca2097151", &slot));
	assert_int_equal(slot, 2097151);
	assert_false(netcfg_is_host_if("arca", &slot));
	assert_false(netcfg_is_host_if("arca1x", &slot));
	assert_false(netcfg_is_host_if("xarca1", &slot));
	assert_false(netcfg_is_host_if("arca99999999999", &slot));
}

static bool in_private(uint32_t a)
{
	for (size_t i = 0; i < netcfg_private_count; i++) {
		struct net_cidr h = { a, 32 };
		if (netcfg_cidr_overlap(&netcfg_private[i], &h))
			return true;
	}
	return false;
}

static void test_private(void **state)
{
	assert_int_equal(netcfg_private_count, 11);
	for (size_t i = 0; i < netcfg_private_count; i++)
		assert_int_equal(netcfg_private[i].addr & ~netcfg_mask(netcfg_private[i].plen), 0);
	assert_true(in_private(IP4(169, 254, 169, 254)));
	assert_true(in_private(IP4(100, 100, 100, 200)));
	assert_true(in_private(IP4(172, 31, 255, 255)));
	assert_true(in_private(IP4(10, 213, 0, 5)));  /* the pool's own */
	assert_true(in_private(IP4(255, 255, 255, 255)));
	assert_true(in_private(IP4(198, 19, 0, 1)));
	assert_false(in_private(IP4(8, 8, 8, 8)));
	assert_false(in_private(IP4(172, 32, 0, 1)));
	assert_false(in_private(IP4(100, 128, 0, 1)));
	assert_false(in_private(IP4(198, 51, 100, 2))); /* TEST-NET-2: the e2e "internet" */
}

/* ---- rtnetlink builders, parsed back --------------------------------------------- */

struct tb {
	const struct nlattr *a[64];
};

static int tb_cb(const struct nlattr *a, void *data)
{
	struct tb *t = data;
	if (mnl_attr_get_type(a) < 64)
		t->a[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void test_msg_veth(void **state)
{
	char buf[RTNL_MSG_MAX];
	struct nlmsghdr *nlh = rtnl_msg_veth_add(buf, sizeof(buf), "arca42", "veth0", 7, 1500);
	struct tb t = { 0 }, li = { 0 }, data = { 0 }, peer = { 0 };

	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	assert_true(mnl_nlmsg_ok(nlh, (int)nlh->nlmsg_len));
	assert_true(mnl_attr_parse(nlh, sizeof(struct ifinfomsg), tb_cb, &t) >= 0);
	assert_string_equal(mnl_attr_get_str(t.a[IFLA_IFNAME]), "arca42");
	assert_int_equal(mnl_attr_get_u32(t.a[IFLA_MTU]), 1500);
	assert_non_null(t.a[IFLA_LINKINFO]);
	assert_true(mnl_attr_parse_nested(t.a[IFLA_LINKINFO], tb_cb, &li) >= 0);
	assert_string_equal(mnl_attr_get_str(li.a[IFLA_INFO_KIND]), "veth");
	assert_true(mnl_attr_parse_nested(li.a[IFLA_INFO_DATA], tb_cb, &data) >= 0);
	const struct nlattr *pa = data.a[VETH_INFO_PEER];
	assert_non_null(pa);
	/* The peer: a struct ifinfomsg, then its attributes. */
	const char *pl = mnl_attr_get_payload(pa);
	size_t plen = mnl_attr_get_payload_len(pa);
	assert_true(plen > sizeof(struct ifinfomsg));
	const struct ifinfomsg *pifm = (const struct ifinfomsg *)pl;
	assert_int_equal(pifm->ifi_index, 0);
	assert_true(mnl_attr_parse_payload(pl + MNL_ALIGN(sizeof(struct ifinfomsg)),
					   plen - MNL_ALIGN(sizeof(struct ifinfomsg)), tb_cb, &peer) >= 0);
	assert_string_equal(mnl_attr_get_str(peer.a[IFLA_IFNAME]), "veth0");
	assert_int_equal(mnl_attr_get_u32(peer.a[IFLA_NET_NS_FD]), 7);
	assert_int_equal(mnl_attr_get_u32(peer.a[IFLA_MTU]), 1500);

	/* Every buffer too small for it is refused, none overrun. */
	size_t need = nlh->nlmsg_len;
	for (size_t cap = 0; cap < need; cap++) {
		char small[RTNL_MSG_MAX];
		memset(small, 0x5a, sizeof(small));
		assert_null(rtnl_msg_veth_add(small, cap, "arca42", "veth0", 7, 1500));
		for (size_t k = cap; k < sizeof(small); k++)
			if ((unsigned char)small[k] != 0x5a)
				fail_msg("cap %zu: byte %zu written", cap, k);
	}
	assert_non_null(rtnl_msg_veth_add(buf, need, "arca42", "veth0", 7, 1500));
	/* No fd: the peer stays here. */
	nlh = rtnl_msg_veth_add(buf, sizeof(buf), "a", "b", -1, 0);
	memset(&t, 0, sizeof(t));
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), tb_cb, &t);
	assert_null(t.a[IFLA_MTU]);
}

static void test_msg_link_addr_route(void **state)
{
	char buf[RTNL_MSG_MAX];
	struct rtnl_link l;
	struct rtnl_addr a;
	struct rtnl_route rt;

	struct nlmsghdr *nlh = rtnl_msg_link_set(buf, sizeof(buf), "tap0", true, 1400);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST); /* no CREATE: only an existing link */
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_index, 0);
	assert_int_equal(ifm->ifi_change, IFF_UP);
	assert_int_equal(ifm->ifi_flags, IFF_UP);
	assert_int_equal(rtnl_parse_link(nlh, &l), 0);
	assert_string_equal(l.name, "tap0");
	assert_int_equal(l.mtu, 1400);
	assert_int_equal(l.link_netnsid, -1);
	assert_string_equal(l.kind, "");

	nlh = rtnl_msg_link_set(buf, sizeof(buf), "tap0", false, 0);
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_change, 0);
	assert_int_equal(rtnl_parse_link(nlh, &l), 0);
	assert_int_equal(l.mtu, 0);

	nlh = rtnl_msg_link_del(buf, sizeof(buf), "arca3");
	assert_int_equal(nlh->nlmsg_type, RTM_DELLINK);
	assert_int_equal(rtnl_parse_link(nlh, &l), -EINVAL); /* not a link answer */
	nlh = rtnl_msg_link_get(buf, sizeof(buf), "arca3");
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	struct tb t = { 0 };
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), tb_cb, &t);
	assert_string_equal(mnl_attr_get_str(t.a[IFLA_IFNAME]), "arca3");

	nlh = rtnl_msg_addr_add(buf, sizeof(buf), 5, IP4(10, 213, 0, 5), 30);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 30);
	assert_int_equal(ifa->ifa_index, 5);
	memset(&t, 0, sizeof(t));
	mnl_attr_parse(nlh, sizeof(*ifa), tb_cb, &t);
	uint32_t be;
	memcpy(&be, mnl_attr_get_payload(t.a[IFA_LOCAL]), 4);
	assert_int_equal(be, htonl(IP4(10, 213, 0, 5))); /* network order on the wire */
	assert_int_equal(rtnl_parse_addr(nlh, &a), 0);
	assert_int_equal(a.index, 5);
	assert_int_equal(a.addr, IP4(10, 213, 0, 5));
	assert_int_equal(a.plen, 30);

	nlh = rtnl_msg_route_default(buf, sizeof(buf), IP4(10, 213, 0, 5), 9);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(rtnl_parse_route(nlh, &rt), 0);
	assert_int_equal(rt.gw, IP4(10, 213, 0, 5));
	assert_int_equal(rt.oif, 9);
	assert_int_equal(rt.plen, 0);
	assert_int_equal(rt.table, RT_TABLE_MAIN);

	static const uint16_t dumps[] = { RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE };
	for (size_t i = 0; i < 3; i++) {
		nlh = rtnl_msg_dump(buf, sizeof(buf), dumps[i]);
		assert_non_null(nlh);
		assert_int_equal(nlh->nlmsg_type, dumps[i]);
		assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
		assert_int_equal(*(const uint8_t *)mnl_nlmsg_get_payload(nlh),
				 dumps[i] == RTM_GETLINK ? AF_UNSPEC : AF_INET);
	}
	assert_null(rtnl_msg_dump(buf, sizeof(buf), RTM_NEWLINK));
	assert_null(rtnl_msg_addr_add(buf, 10, 1, 1, 1));
	assert_null(rtnl_msg_route_default(buf, 30, 1, 1));
}

/* IPv6: the slot's /64 in arca's ULA /48, the builders parsed back. */
static void test_v6_plan_msgs(void **state)
{
	struct net_plan6 p;
	char b[64];
	assert_int_equal(netcfg_slot_plan6(0, &p), 0);
	assert_string_equal(netcfg_ipv6_str(p.net, b, sizeof(b)), "fd61:7263:6100::");
	assert_string_equal(netcfg_ipv6_str(p.gw, b, sizeof(b)), "fd61:7263:6100::1");
	assert_string_equal(netcfg_ipv6_str(p.guest, b, sizeof(b)), "fd61:7263:6100::2");
	assert_int_equal(p.prefix, 64);
	assert_int_equal(netcfg_slot_plan6(0x1234, &p), 0);
	assert_string_equal(netcfg_ipv6_str(p.guest, b, sizeof(b)), "fd61:7263:6100:1234::2");
	assert_int_equal(netcfg_slot_plan6(65535, &p), 0);
	assert_string_equal(netcfg_ipv6_str(p.gw, b, sizeof(b)), "fd61:7263:6100:ffff::1");
	assert_int_equal(netcfg_slot_plan6(65536, &p), -ERANGE);
	assert_string_equal(netcfg_ipv6_str(net6_link_host, b, sizeof(b)), "fe80::1");
	assert_string_equal(netcfg_ipv6_str(net6_link_ns, b, sizeof(b)), "fe80::2");

	char buf[RTNL_MSG_MAX];
	struct rtnl_addr6 a;
	struct rtnl_route6 rt;
	netcfg_slot_plan6(7, &p);
	struct nlmsghdr *nlh = rtnl_msg_addr_add6(buf, sizeof(buf), 4, p.gw, 64);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	struct tb t = { 0 };
	mnl_attr_parse(nlh, sizeof(*ifa), tb_cb, &t);
	assert_int_equal(mnl_attr_get_u32(t.a[IFA_FLAGS]), IFA_F_NODAD);
	assert_int_equal(rtnl_parse_addr6(nlh, &a), 0);
	assert_int_equal(a.index, 4);
	assert_int_equal(a.plen, 64);
	assert_memory_equal(a.addr, p.gw, 16);
	assert_int_equal(rtnl_parse_addr(nlh, &(struct rtnl_addr){ 0 }), -EINVAL); /* not IPv4 */
	nlh = rtnl_msg_addr_add6(buf, sizeof(buf), 4, net6_link_ns, 64);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_LINK);

	nlh = rtnl_msg_route_add6(buf, sizeof(buf), p.net, 64, net6_link_ns, 9);
	assert_non_null(nlh);
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 64);
	assert_int_equal(rtnl_parse_route6(nlh, &rt), 0);
	assert_memory_equal(rt.dst, p.net, 16);
	assert_true(rt.has_gw);
	assert_memory_equal(rt.gw, net6_link_ns, 16);
	assert_int_equal(rt.oif, 9);
	assert_int_equal(rt.table, RT_TABLE_MAIN);
	static const uint8_t any[16];
	nlh = rtnl_msg_route_add6(buf, sizeof(buf), any, 0, NULL, 3); /* on-link default */
	assert_int_equal(rtnl_parse_route6(nlh, &rt), 0);
	assert_int_equal(rt.plen, 0);
	assert_false(rt.has_gw);
	memset(&t, 0, sizeof(t));
	mnl_attr_parse(nlh, sizeof(struct rtmsg), tb_cb, &t);
	assert_null(t.a[RTA_DST]);
	assert_int_equal(rtnl_parse_route(nlh, &(struct rtnl_route){ 0 }), -EINVAL);

	nlh = rtnl_msg_dump6(buf, sizeof(buf), RTM_GETROUTE);
	assert_int_equal(*(const uint8_t *)mnl_nlmsg_get_payload(nlh), AF_INET6);
	assert_null(rtnl_msg_dump6(buf, sizeof(buf), RTM_GETLINK));
	assert_null(rtnl_msg_addr_add6(buf, 20, 1, p.gw, 64));
	assert_null(rtnl_msg_route_add6(buf, 40, p.net, 64, p.gw, 1));
}

/* A route answer with RTA_TABLE past 255 and a multipath hop. */
static void test_parse_route_answer(void **state)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtnl_route rt;

	nlh->nlmsg_type = RTM_NEWROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 24;
	rtm->rtm_table = RT_TABLE_COMPAT;
	rtm->rtm_type = RTN_UNICAST;
	uint32_t dst = htonl(IP4(10, 213, 9, 0));
	mnl_attr_put(nlh, RTA_DST, 4, &dst);
	mnl_attr_put_u32(nlh, RTA_TABLE, 1000);
	struct rtnexthop nh = { .rtnh_len = sizeof(nh), .rtnh_ifindex = 4 };
	mnl_attr_put(nlh, RTA_MULTIPATH, sizeof(nh), &nh);
	assert_int_equal(rtnl_parse_route(nlh, &rt), 0);
	assert_int_equal(rt.dst, IP4(10, 213, 9, 0));
	assert_int_equal(rt.plen, 24);
	assert_int_equal(rt.table, 1000);
	assert_int_equal(rt.oif, 4);
	assert_int_equal(rt.gw, 0);
	rtm->rtm_family = AF_INET6;
	assert_int_equal(rtnl_parse_route(nlh, &rt), -EINVAL);
}

/* ---- for real, in a network namespace of this test's own ------------------------- */

static char state_dir[64];

/* Root, unshare(CLONE_NEWNET) allowed, /dev/net/tun: else the test skips.
 * The first call moves this process (it has one thread) into a new netns,
 * which then plays the host: nothing here touches the machine's network. */
static void require_netns(void)
{
	static int entered; /* 0 not tried, 1 in, -1 not possible */

	if (!entered) {
		entered = -1;
		if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 &&
		    unshare(CLONE_NEWNET) == 0)
			entered = 1;
		if (entered == 1) {
			snprintf(state_dir, sizeof(state_dir), "/tmp/arca-test-net-XXXXXX");
			if (!mkdtemp(state_dir))
				entered = -1;
		}
	}
	if (entered < 0)
		skip();
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct seen {
	struct rtnl_link links[32];
	size_t nlinks;
	struct rtnl_addr addrs[32];
	size_t naddrs;
	struct rtnl_route routes[64];
	size_t nroutes;
};

static int seen_link(const struct rtnl_link *l, void *arg)
{
	struct seen *s = arg;
	if (s->nlinks < 32)
		s->links[s->nlinks++] = *l;
	return 0;
}

static int seen_addr(const struct rtnl_addr *a, void *arg)
{
	struct seen *s = arg;
	if (s->naddrs < 32)
		s->addrs[s->naddrs++] = *a;
	return 0;
}

static int seen_route(const struct rtnl_route *rt, void *arg)
{
	struct seen *s = arg;
	if (s->nroutes < 64)
		s->routes[s->nroutes++] = *rt;
	return 0;
}

static void look(struct rtnl *r, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(rtnl_dump_links(r, seen_link, s), 0);
	assert_int_equal(rtnl_dump_addrs(r, seen_addr, s), 0);
	assert_int_equal(rtnl_dump_routes(r, seen_route, s), 0);
}

static const struct rtnl_link *find_link(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->nlinks; i++)
		if (!strcmp(s->links[i].name, name))
			return &s->links[i];
	return NULL;
}

static bool has_addr(const struct seen *s, int index, uint32_t addr, uint8_t plen)
{
	for (size_t i = 0; i < s->naddrs; i++)
		if (s->addrs[i].index == index && s->addrs[i].addr == addr && s->addrs[i].plen == plen)
			return true;
	return false;
}

static int open_rtnl(void *arg)
{
	return rtnl_open(arg);
}

static bool link_gone_within(struct rtnl *host, const char *name, int ms)
{
	long long end = now_ms() + ms;
	while (rtnl_link_exists(host, name)) {
		if (now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

static int read_file_in(void *arg)
{
	char *buf = arg;
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, 7);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return 0;
}

static ino_t netns_ino(void)
{
	struct stat st;
	assert_int_equal(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

static int fail_eio(void *arg)
{
	*(ino_t *)arg = netns_ino();
	return -EIO;
}

static void test_netns_basics(void **state)
{
	require_netns();
	ino_t home = netns_ino(), inside = 0;
	int nsfd = -1;
	struct stat st;

	assert_int_equal(netns_new(&nsfd), 0);
	assert_int_equal(netns_ino(), home); /* still here */
	assert_int_equal(fstat(nsfd, &st), 0);
	assert_true(st.st_ino != home);
	/* fn's error comes back, and so does the thread. */
	assert_int_equal(netns_run(nsfd, fail_eio, &inside), -EIO);
	assert_int_equal(inside, st.st_ino);
	assert_int_equal(netns_ino(), home);

	int tapfd = -1;
	assert_int_equal(tap_create(nsfd, "tapx", &tapfd), 0);
	assert_true(fcntl(tapfd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(tapfd, F_GETFL) & O_NONBLOCK);
	struct rtnl here = { 0 }, there = { 0 };
	assert_int_equal(rtnl_open(&here), 0);
	assert_int_equal(netns_run(nsfd, open_rtnl, &there), 0);
	assert_false(rtnl_link_exists(&here, "tapx"));
	struct rtnl_link l;
	assert_int_equal(rtnl_link_get(&there, "tapx", &l), 0);
	assert_string_equal(l.kind, "tun");
	assert_int_equal(rtnl_link_get(&there, "nope", &l), -ENODEV);
	close(tapfd); /* not persistent: the link goes with its fd */
	assert_false(rtnl_link_exists(&there, "tapx"));

	char v[8];
	assert_int_equal(netns_run(nsfd, read_file_in, v), 0);
	assert_string_equal(v, "0\n");
	bool changed = false;
	assert_int_equal(netns_ip_forward(nsfd, &changed), 0);
	assert_true(changed);
	assert_int_equal(netns_ip_forward(nsfd, &changed), 0);
	assert_false(changed);
	assert_int_equal(netns_run(nsfd, read_file_in, v), 0);
	assert_string_equal(v, "1\n");
	assert_int_equal(read_file_in(v), 0); /* only there */

	/* The kernel's errors come back as -errno. */
	assert_int_equal(rtnl_link_del(&here, "nope"), -ENODEV);
	assert_int_equal(rtnl_addr_add(&here, 999999, IP4(10, 0, 0, 1), 24), -ENODEV);
	rtnl_close(&here);
	rtnl_close(&there);
	rtnl_close(&there); /* twice is fine */
	close(nsfd);
}

static void cfg_nat(struct netcfg *c, const char *value)
{
	struct arca_err e = { 0 };
	netcfg_init(c);
	assert_int_equal(netcfg_parse(c, value, &e), 0);
	c->state_dir = state_dir;
}

static void test_setup_teardown(void **state)
{
	require_netns();
	struct netcfg c;
	struct net_run r1, r2;
	struct arca_err e = { 0 };
	struct rtnl host = { 0 }, ns = { 0 };
	struct seen s;
	char v[8];

	cfg_nat(&c, "nat");
	assert_int_equal(rtnl_open(&host), 0);
	if (net_setup(&c, &r1, &e) < 0)
		fail_msg("net_setup: %s", e.msg);
	assert_true(r1.slot >= 0 && r1.slot < 8192);
	assert_true(r1.nsfd >= 0 && r1.tapfd >= 0 && r1.lockfd >= 0);
	assert_true(r1.host_forward_set); /* a new netns starts with ip_forward 0 */
	assert_int_equal(r1.mtu, 1500);
	assert_int_equal(r1.mac[0] & 3, 2); /* unicast, locally administered */
	char want[IF_NAMESIZE];
	snprintf(want, sizeof(want), "arca%ld", r1.slot);
	assert_string_equal(r1.host_if, want);
	struct net_plan plan;
	netcfg_slot_plan(&c.pool, (uint32_t)r1.slot, &plan);
	assert_memory_equal(&plan, &r1.plan, sizeof(plan));

	/* The host: arca<slot>, a veth, up, with .5/30. */
	look(&host, &s);
	const struct rtnl_link *hl = find_link(&s, r1.host_if);
	assert_non_null(hl);
	assert_string_equal(hl->kind, "veth");
	assert_true(hl->flags & IFF_UP);
	assert_int_equal(hl->mtu, 1500);
	assert_true(hl->link_netnsid >= 0); /* its peer is in another netns */
	assert_true(has_addr(&s, hl->index, r1.plan.host, 30));
	assert_null(find_link(&s, "veth0"));
	assert_null(find_link(&s, "tap0"));
	assert_int_equal(read_file_in(v), 0);
	assert_string_equal(v, "1\n");

	/* N: lo, veth0 .6/30, tap0 .1/30, all up; the default route via .5. */
	assert_int_equal(netns_run(r1.nsfd, open_rtnl, &ns), 0);
	look(&ns, &s);
	const struct rtnl_link *lo = find_link(&s, "lo"), *veth = find_link(&s, "veth0"),
			      *tap = find_link(&s, "tap0");
	assert_non_null(lo);
	assert_non_null(veth);
	assert_non_null(tap);
	assert_int_equal(s.nlinks, 3);
	assert_true(lo->flags & IFF_UP);
	assert_true(veth->flags & IFF_UP);
	assert_true(tap->flags & IFF_UP);
	assert_string_equal(veth->kind, "veth");
	assert_string_equal(tap->kind, "tun");
	assert_int_equal(tap->mtu, 1500);
	assert_true(has_addr(&s, veth->index, r1.plan.nsveth, 30));
	assert_true(has_addr(&s, tap->index, r1.plan.gw, 30));
	bool dflt = false;
	for (size_t i = 0; i < s.nroutes; i++)
		if (s.routes[i].plen == 0 && s.routes[i].table == RT_TABLE_MAIN)
			dflt = s.routes[i].gw == r1.plan.host && s.routes[i].oif == veth->index;
	assert_true(dflt);
	assert_int_equal(netns_run(r1.nsfd, read_file_in, v), 0);
	assert_string_equal(v, "1\n");

	/* A second run: another slot; the first's arca link in the pool is
	 * no collision. */
	if (net_setup(&c, &r2, &e) < 0)
		fail_msg("net_setup 2: %s", e.msg);
	assert_true(r2.slot != r1.slot);
	assert_false(r2.host_forward_set);
	assert_string_not_equal(r2.host_if, r1.host_if);
	assert_true(rtnl_link_exists(&host, r2.host_if));
	struct stat st;
	assert_int_equal(stat(r2.lock_path, &st), 0);

	/* Teardown deletes the host end at once (and N's end with it). */
	char name2[IF_NAMESIZE];
	memcpy(name2, r2.host_if, sizeof(name2));
	char lock2[PATH_MAX];
	snprintf(lock2, sizeof(lock2), "%s", r2.lock_path);
	net_teardown(&r2);
	assert_false(rtnl_link_exists(&host, name2));
	assert_int_equal(stat(lock2, &st), -1);
	assert_int_equal(r2.nsfd, -1);
	assert_int_equal(r2.tapfd, -1);
	net_teardown(&r2);

	/* Closing every fd to N (no teardown: a launcher killed with
	 * SIGKILL) makes N die, and with it veth0, tap0 and, the pair being
	 * one, the host end. The kernel cleans up a netns asynchronously. */
	rtnl_close(&ns); /* a socket opened in N holds N too */
	close(r1.nsfd);
	r1.nsfd = -1;
	/* ...and so does a TAP fd (tun_chr_open takes a reference on the
	 * opener's netns): N outlives the launcher while the VMM runs. */
	assert_false(link_gone_within(&host, r1.host_if, 300));
	close(r1.tapfd);
	r1.tapfd = -1;
	assert_true(link_gone_within(&host, r1.host_if, 10000));
	net_teardown(&r1); /* no link left to delete: only the lock */
	net_teardown(&r1);

	struct net_run zero = { 0 };
	int fd0 = fcntl(0, F_GETFD);
	net_teardown(&zero); /* a zeroed struct: nothing to do, fd 0 untouched */
	assert_int_equal(fcntl(0, F_GETFD), fd0);
	rtnl_close(&host);
}

struct seen6 {
	struct rtnl_addr6 addrs[16];
	size_t naddrs;
	struct rtnl_route6 routes[16];
	size_t nroutes;
};

static int seen6_addr(const struct rtnl_addr6 *a, void *arg)
{
	struct seen6 *s = arg;
	if (s->naddrs < 16)
		s->addrs[s->naddrs++] = *a;
	return 0;
}

static int seen6_route(const struct rtnl_route6 *rt, void *arg)
{
	struct seen6 *s = arg;
	if (s->nroutes < 16)
		s->routes[s->nroutes++] = *rt;
	return 0;
}

static bool has_addr6(const struct seen6 *s, int index, const uint8_t a[16], uint8_t plen)
{
	for (size_t i = 0; i < s->naddrs; i++)
		if (s->addrs[i].index == index && !memcmp(s->addrs[i].addr, a, 16) &&
		    s->addrs[i].plen == plen)
			return true;
	return false;
}

static bool has_route6(const struct seen6 *s, const uint8_t dst[16], uint8_t plen,
		       const uint8_t gw[16], int oif)
{
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct rtnl_route6 *r = &s->routes[i];
		if (r->plen == plen && (!plen || !memcmp(r->dst, dst, 16)) && r->has_gw &&
		    !memcmp(r->gw, gw, 16) && r->oif == oif && r->table == RT_TABLE_MAIN)
			return true;
	}
	return false;
}

static int read_fwd6_in(void *arg)
{
	char *buf = arg;
	int fd = open("/proc/sys/net/ipv6/conf/all/forwarding", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, 7);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return 0;
}

/* IPv6 only where the host forwards it and has a default route; then both
 * hops get their addresses and routes. (The test's netns is the "host".) */
static void test_setup_v6(void **state)
{
	require_netns();
	if (access("/proc/sys/net/ipv6/conf/all/forwarding", R_OK) != 0)
		skip();
	struct netcfg c;
	struct net_run r;
	struct arca_err e = { 0 };
	struct rtnl host = { 0 }, ns = { 0 };
	char why[160], v[8];
	static const uint8_t any[16];

	cfg_nat(&c, "nat");
	assert_int_equal(rtnl_open(&host), 0);
	assert_int_equal(netns_sysctl_write(-1, "/proc/sys/net/ipv6/conf/all/forwarding", "0\n"), 0);
	assert_false(net_ipv6_usable(why, sizeof(why)));
	assert_non_null(strstr(why, "does not forward IPv6"));
	if (net_setup(&c, &r, &e) < 0)
		fail_msg("net_setup: %s", e.msg);
	assert_false(r.v6);
	assert_non_null(strstr(r.v6_why, "does not forward IPv6"));
	net_teardown(&r);

	assert_int_equal(netns_sysctl_write(-1, "/proc/sys/net/ipv6/conf/all/forwarding", "1\n"), 0);
	assert_false(net_ipv6_usable(why, sizeof(why)));
	assert_string_equal(why, "the host has no IPv6 default route");
	/* a default route: out of lo will do for the check */
	assert_int_equal(rtnl_link_set(&host, "lo", true, 0), 0);
	struct rtnl_link lo;
	assert_int_equal(rtnl_link_get(&host, "lo", &lo), 0);
	assert_int_equal(rtnl_route_add6(&host, any, 0, NULL, lo.index), 0);
	assert_true(net_ipv6_usable(why, sizeof(why)));

	if (net_setup(&c, &r, &e) < 0)
		fail_msg("net_setup: %s", e.msg);
	assert_true(r.v6);
	struct net_plan6 p;
	assert_int_equal(netcfg_slot_plan6((uint32_t)r.slot, &p), 0);
	assert_memory_equal(&p, &r.plan6, sizeof(p));

	/* the host: fe80::1 on arca<slot>, the slot's /64 via fe80::2 there */
	struct rtnl_link hl;
	assert_int_equal(rtnl_link_get(&host, r.host_if, &hl), 0);
	struct seen6 s = { 0 };
	assert_int_equal(rtnl_dump_addrs6(&host, seen6_addr, &s), 0);
	assert_int_equal(rtnl_dump_routes6(&host, seen6_route, &s), 0);
	assert_true(has_addr6(&s, hl.index, net6_link_host, 64));
	assert_true(has_route6(&s, p.net, 64, net6_link_ns, hl.index));

	/* N: fe80::2 on veth0, the default route via fe80::1, ::1/64 on tap0,
	 * forwarding on */
	assert_int_equal(netns_run(r.nsfd, open_rtnl, &ns), 0);
	struct rtnl_link veth, tap;
	assert_int_equal(rtnl_link_get(&ns, "veth0", &veth), 0);
	assert_int_equal(rtnl_link_get(&ns, "tap0", &tap), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(rtnl_dump_addrs6(&ns, seen6_addr, &s), 0);
	assert_int_equal(rtnl_dump_routes6(&ns, seen6_route, &s), 0);
	assert_true(has_addr6(&s, veth.index, net6_link_ns, 64));
	assert_true(has_addr6(&s, tap.index, p.gw, 64));
	assert_true(has_route6(&s, any, 0, net6_link_host, veth.index));
	assert_int_equal(netns_run(r.nsfd, read_fwd6_in, v), 0);
	assert_string_equal(v, "1\n");

	rtnl_close(&ns);
	net_teardown(&r);
	assert_int_equal(netns_sysctl_write(-1, "/proc/sys/net/ipv6/conf/all/forwarding", "0\n"), 0);
	rtnl_close(&host);
}

static void test_setup_none_full_collide(void **state)
{
	require_netns();
	struct netcfg c;
	struct net_run r, r2;
	struct arca_err e = { 0 };

	cfg_nat(&c, "none");
	assert_int_equal(net_setup(&c, &r, &e), 0);
	assert_int_equal(r.slot, -1);
	assert_int_equal(r.nsfd, -1);
	net_teardown(&r);

	/* A pool of one slot: the second run finds it full. */
	cfg_nat(&c, "nat,pool=10.77.0.8/29");
	if (net_setup(&c, &r, &e) < 0)
		fail_msg("net_setup: %s", e.msg);
	assert_int_equal(r.slot, 0);
	assert_string_equal(r.host_if, "arca0");
	assert_int_equal(r.plan.guest, IP4(10, 77, 0, 10));
	assert_int_equal(net_setup(&c, &r2, &e), -EADDRNOTAVAIL);
	assert_string_equal(e.msg, "--net: address pool 10.77.0.8/29 is full (1 runs at most)");
	assert_int_equal(r2.nsfd, -1); /* undone */
	net_teardown(&r2);
	net_teardown(&r);

	/* A host address inside the pool. */
	struct rtnl host = { 0 };
	struct rtnl_link l;
	int tapfd = -1;
	assert_int_equal(rtnl_open(&host), 0);
	assert_int_equal(tap_create(-1, "colx", &tapfd), 0);
	assert_int_equal(rtnl_link_get(&host, "colx", &l), 0);
	assert_int_equal(rtnl_addr_add(&host, l.index, IP4(10, 213, 7, 1), 24), 0);
	assert_int_equal(rtnl_link_set(&host, "colx", true, 0), 0);
	cfg_nat(&c, "nat");
	assert_int_equal(net_setup(&c, &r, &e), -EADDRINUSE);
	assert_string_equal(e.msg, "--net: address pool 10.213.0.0/16 collides with host address "
				   "10.213.7.1/24 on dev colx (choose another with pool=CIDR)");
	assert_int_equal(r.nsfd, -1);
	/* Another pool is fine. */
	cfg_nat(&c, "nat,pool=10.214.0.0/16");
	if (net_setup(&c, &r, &e) < 0)
		fail_msg("net_setup: %s", e.msg);
	net_teardown(&r);
	close(tapfd);
	rtnl_close(&host);
}

static size_t count_files(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- dumps while the table changes ------------------------------------------------ */

#define CHURN_PAIRS 150

static int count_dump_link(const struct rtnl_link *l, void *arg)
{
	int *seen = arg; /* by ifindex, small in a fresh netns */
	if (!strncmp(l->name, "dv", 2) && l->index > 0 && l->index < 4 * CHURN_PAIRS)
		seen[l->index] = 1;
	return 0;
}

struct churn_result {
	int dumps, bad_ret, bad_count, after;
	unsigned redone;
};

/* In a netns of its own: many links, so a dump takes many messages, and
 * a second process adding and deleting a veth pair as fast as it can. */
static void churn_child(int wfd)
{
	struct churn_result res = { 0 };
	struct rtnl r = { 0 };
	char a[IF_NAMESIZE], b[IF_NAMESIZE];

	if (unshare(CLONE_NEWNET) < 0 || rtnl_open(&r) < 0)
		_exit(2);
	for (int i = 0; i < CHURN_PAIRS; i++) {
		snprintf(a, sizeof(a), "dva%d", i);
		snprintf(b, sizeof(b), "dvb%d", i);
		if (rtnl_veth_add(&r, a, b, -1, 0) < 0)
			_exit(3);
	}
	pid_t churn = fork();
	if (churn < 0)
		_exit(4);
	if (churn == 0) {
		struct rtnl c = { 0 };
		if (rtnl_open(&c) < 0)
			_exit(5);
		for (;;) {
			rtnl_veth_add(&c, "churn0", "churn1", -1, 0);
			rtnl_link_del(&c, "churn0");
		}
	}
	long long end = now_ms() + 10000;
	while (now_ms() < end && (res.redone < 5 || res.dumps < 20)) {
		static int seen[4 * CHURN_PAIRS];
		int n = 0;
		memset(seen, 0, sizeof(seen));
		if (rtnl_dump_links(&r, count_dump_link, seen) < 0)
			res.bad_ret++;
		for (size_t i = 0; i < 4 * CHURN_PAIRS; i++)
			n += seen[i];
		if (n != 2 * CHURN_PAIRS)
			res.bad_count++;
		res.dumps++;
		res.redone = r.dumps_redone;
	}
	kill(churn, SIGKILL);
	waitpid(churn, NULL, 0);
	/* The socket still answers its next request with its own answer. */
	struct rtnl_link l;
	res.after = rtnl_link_get(&r, "dva7", &l) == 0 && !strcmp(l.name, "dva7") ? 1 : -1;
	if (write(wfd, &res, sizeof(res)) != sizeof(res))
		_exit(6);
	_exit(0);
}

static void test_dump_interrupted(void **state)
{
	(void)state;
	require_netns();
	int p[2];
	struct churn_result res = { 0 };
	int status;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		churn_child(p[1]);
	}
	close(p[1]);
	ssize_t n = read(p[0], &res, sizeof(res));
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(n, (ssize_t)sizeof(res));
	print_message("# %d dumps of %d links, %u passes interrupted and asked again\n", res.dumps,
		      2 * CHURN_PAIRS, res.redone);
	assert_int_equal(res.bad_ret, 0);
	assert_int_equal(res.bad_count, 0);
	assert_int_equal(res.after, 1);
	/* Else the kernel never interrupted one and this tested nothing. */
	assert_true(res.redone > 0);
}

static void test_gc(void **state)
{
	require_netns();
	struct netcfg c;
	struct net_run live, dead;
	struct arca_err e = { 0 };
	struct rtnl host = { 0 };

	cfg_nat(&c, "nat");
	assert_int_equal(rtnl_open(&host), 0);
	assert_int_equal(net_gc_dir(state_dir, &e), 0);
	assert_int_equal(count_files(state_dir), 0);

	if (net_setup(&c, &live, &e) < 0 || net_setup(&c, &dead, &e) < 0)
		fail_msg("net_setup: %s", e.msg);
	/* dead: its launcher died (the lock is gone) while something still
	 * holds its N (an orphaned VMM's TAP fd). */
	close(dead.lockfd);
	dead.lockfd = -1;
	/* Not a veth: never touched, lock or not. */
	int tapfd = -1;
	assert_int_equal(tap_create(-1, "arca99999", &tapfd), 0);

	assert_int_equal(net_gc_dir(state_dir, &e), 1);
	assert_false(rtnl_link_exists(&host, dead.host_if));
	assert_true(rtnl_link_exists(&host, live.host_if));
	assert_true(rtnl_link_exists(&host, "arca99999"));
	/* Only the live run's lock file is left. */
	assert_int_equal(count_files(state_dir), 1);
	struct stat st;
	assert_int_equal(stat(live.lock_path, &st), 0);
	assert_int_equal(net_gc_dir(state_dir, &e), 0);

	net_teardown(&dead);
	net_teardown(&live);
	assert_false(rtnl_link_exists(&host, live.host_if));
	assert_int_equal(count_files(state_dir), 0);
	close(tapfd);
	rtnl_close(&host);
}

static int cleanup_state(void **state)
{
	if (state_dir[0])
		rmdir(state_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_modes),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_slot_plan),
		cmocka_unit_test(test_collides),
		cmocka_unit_test(test_private),
		cmocka_unit_test(test_msg_veth),
		cmocka_unit_test(test_msg_link_addr_route),
		cmocka_unit_test(test_v6_plan_msgs),
		cmocka_unit_test(test_parse_route_answer),
		cmocka_unit_test(test_netns_basics),
		cmocka_unit_test(test_setup_teardown),
		cmocka_unit_test(test_setup_v6),
		cmocka_unit_test(test_setup_none_full_collide),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_dump_interrupted),
	};
	return cmocka_run_group_tests(tests, NULL, cleanup_state);
}
