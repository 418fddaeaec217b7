/* SPDX-License-Identifier: MIT */
/*
 * cmocka tests for initrd/net6.c, arca-init's IPv6 (ARCA_SPEC_NET6): the
 * RTM_NEWADDR and RTM_NEWROUTE requests parsed back field by field, the
 * answer's parser on good and hostile datagrams, the log line, and the
 * sysctls below a temp directory. Then, as root where unshare(CLONE_NEWNET
 * | CLONE_NEWNS) is allowed and /dev/net/tun exists (else skipped),
 * initnet_configure for real on a TAP in a network namespace this process
 * makes for itself (with a sysfs of that namespace mounted on /sys in its
 * own private mount namespace): the machine's network and mounts are
 * never touched. What it reads back is the kernel's view: /proc/net/if_inet6,
 * /proc/net/ipv6_route, the sysctls, and a bind() to the address, which
 * fails (EADDRNOTAVAIL) while an address is still tentative.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../initrd/net.c"  /* from tests/unit/ */
#include "../../initrd/net6.c"

/* init.c and sysinit.c provide these in arca-init; here the log keeps its
 * last line. */
static char last_log[512];
void init_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}
long long init_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ip6(const char *text, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* 2001:db8:a::2/64 via fe80::1. */
static struct arca_spec_net6 net6_good(void)
{
	struct arca_spec_net6 n = { .prefix = 64 };
	ip6("2001:db8:a::2", n.addr);
	ip6("fe80::1", n.gateway);
	return n;
}

/* ---- the requests, parsed back ------------------------------------------------ */

/* The attributes after a fixed header of hdr bytes, as the kernel walks
 * them; each type at most once, all inside the message. */
struct attrs {
	const struct rtattr *a[32];
};

static void parse_attrs(const uint8_t *msg, int len, size_t hdr, struct attrs *out)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)msg;

	memset(out, 0, sizeof(*out));
	assert_true(len >= (int)NLMSG_LENGTH(hdr));
	assert_int_equal(h->nlmsg_len, (uint32_t)len);
	const struct rtattr *rta = (const struct rtattr *)(msg + NLMSG_SPACE(hdr));
	int left = len - (int)NLMSG_SPACE(hdr);
	for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
		assert_true(rta->rta_type < 32);
		assert_null(out->a[rta->rta_type]);
		out->a[rta->rta_type] = rta;
	}
	assert_int_equal(left, 0); /* nothing after the last one */
}

static void assert_attr(const struct attrs *at, int type, const void *want, size_t len)
{
	const struct rtattr *rta = at->a[type];
	assert_non_null(rta);
	assert_int_equal(RTA_PAYLOAD(rta), len);
	assert_memory_equal(RTA_DATA(rta), want, len);
}

static void assert_attr_u32(const struct attrs *at, int type, uint32_t want)
{
	assert_attr(at, type, &want, sizeof(want));
}

static void test_addr_msg(void **state)
{
	union {
		struct nlmsghdr h;
		uint8_t b[NET6_MSG_MAX];
	} u;
	struct arca_spec_net6 n = net6_good();
	struct attrs at;

	(void)state;
	memset(&u, 0xA5, sizeof(u));
	int len = initnet6_addr_msg(u.b, sizeof(u.b), 7, 3, &n);
	assert_true(len > 0);
	assert_true(len <= NET6_MSG_MAX);
	assert_int_equal(u.h.nlmsg_type, RTM_NEWADDR);
	assert_int_equal(u.h.nlmsg_seq, 7);
	assert_int_equal(u.h.nlmsg_pid, 0);
	assert_int_equal(u.h.nlmsg_flags,
			 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	const struct ifaddrmsg *ifa = NLMSG_DATA(&u.h);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_prefixlen, 64);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(ifa->ifa_index, 3);
	parse_attrs(u.b, len, sizeof(*ifa), &at);
	assert_attr(&at, IFA_LOCAL, n.addr, 16);
	assert_attr(&at, IFA_ADDRESS, n.addr, 16);
	assert_attr_u32(&at, IFA_FLAGS, IFA_F_NODAD);
	for (int t = 0; t < 32; t++)
		if (t != IFA_LOCAL && t != IFA_ADDRESS && t != IFA_FLAGS)
			assert_null(at.a[t]);

	/* Another prefix, index and sequence number. */
	n.prefix = ARCA_NET6_PREFIX_MAX;
	assert_int_equal(initnet6_addr_msg(u.b, sizeof(u.b), 0xfffffffeu, 0x10000, &n), len);
	assert_int_equal(ifa->ifa_prefixlen, 126);
	assert_int_equal(ifa->ifa_index, 0x10000);
	assert_int_equal(u.h.nlmsg_seq, 0xfffffffeu);

	/* Any alignment: one byte in. */
	uint8_t odd[NET6_MSG_MAX + 1];
	assert_int_equal(initnet6_addr_msg(odd + 1, NET6_MSG_MAX, 0xfffffffeu, 0x10000, &n), len);
	assert_memory_equal(odd + 1, u.b, (size_t)len);

	/* Too small, by any amount: -ENOSPC, and nothing written past the
	 * size it was given. */
	for (int size = 0; size < len; size++) {
		uint8_t small[NET6_MSG_MAX];
		memset(small, 0x5A, sizeof(small));
		assert_int_equal(initnet6_addr_msg(small, (size_t)size, 1, 3, &n), -ENOSPC);
		for (size_t i = (size_t)size; i < sizeof(small); i++)
			assert_int_equal(small[i], 0x5A);
	}
}

static void test_route_msg(void **state)
{
	union {
		struct nlmsghdr h;
		uint8_t b[NET6_MSG_MAX];
	} u;
	struct arca_spec_net6 n = net6_good();
	struct attrs at;

	(void)state;
	memset(&u, 0xA5, sizeof(u));
	int len = initnet6_route_msg(u.b, sizeof(u.b), 9, 4, &n);
	assert_true(len > 0);
	assert_int_equal(u.h.nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(u.h.nlmsg_seq, 9);
	assert_int_equal(u.h.nlmsg_flags,
			 NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	const struct rtmsg *rtm = NLMSG_DATA(&u.h);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 0); /* the default route, ::/0 */
	assert_int_equal(rtm->rtm_src_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(rtm->rtm_protocol, RTPROT_BOOT);
	assert_int_equal(rtm->rtm_flags, 0);
	parse_attrs(u.b, len, sizeof(*rtm), &at);
	assert_attr(&at, RTA_GATEWAY, n.gateway, 16);
	assert_attr_u32(&at, RTA_OIF, 4);
	assert_attr_u32(&at, RTA_PRIORITY, NET6_ROUTE_METRIC);
	assert_null(at.a[RTA_DST]);
	assert_null(at.a[RTA_TABLE]);

	/* A gateway inside the prefix travels the same way. */
	ip6("2001:db8:a::1", n.gateway);
	assert_int_equal(initnet6_route_msg(u.b, sizeof(u.b), 9, 4, &n), len);
	parse_attrs(u.b, len, sizeof(*rtm), &at);
	assert_attr(&at, RTA_GATEWAY, n.gateway, 16);

	for (int size = 0; size < len; size++)
		assert_int_equal(initnet6_route_msg(u.b, (size_t)size, 1, 4, &n), -ENOSPC);
}

/* ---- the kernel's answer --------------------------------------------------------- */

/* An NLMSG_ERROR for seq with error, followed by the request's header (as
 * the kernel sends it) at buf + *len. */
static void put_answer(uint8_t *buf, size_t *len, uint32_t seq, int32_t error)
{
	struct nlmsghdr h = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr)),
			      .nlmsg_type = NLMSG_ERROR, .nlmsg_seq = seq };
	struct nlmsgerr e = { .error = error, .msg = { .nlmsg_seq = seq } };
	memcpy(buf + *len, &h, sizeof(h));
	memcpy(buf + *len + NLMSG_HDRLEN, &e, sizeof(e));
	*len += NLMSG_ALIGN(h.nlmsg_len);
}

static void test_answer(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	len = 0;
	put_answer(buf, &len, 5, 0);
	assert_int_equal(initnet6_answer(buf, len, 5), 0);
	assert_int_equal(initnet6_answer(buf, len, 6), -ENOMSG); /* someone else's */
	assert_int_equal(initnet6_answer(buf, 0, 5), -ENOMSG);

	len = 0;
	put_answer(buf, &len, 5, -EEXIST);
	assert_int_equal(initnet6_answer(buf, len, 5), -EEXIST);
	len = 0;
	put_answer(buf, &len, 5, -EACCES);
	assert_int_equal(initnet6_answer(buf, len, 5), -EACCES);

	/* Ours second in the datagram, after another message. */
	len = 0;
	struct nlmsghdr other = { .nlmsg_len = NLMSG_LENGTH(3), .nlmsg_type = RTM_NEWADDR,
				  .nlmsg_seq = 5 };
	memcpy(buf, &other, sizeof(other));
	memset(buf + NLMSG_HDRLEN, 0, 4);
	len = NLMSG_ALIGN(other.nlmsg_len);
	put_answer(buf, &len, 5, -ENODEV);
	assert_int_equal(initnet6_answer(buf, len, 5), -ENODEV);
	/* At any alignment. */
	uint8_t odd[sizeof(buf) + 1];
	memcpy(odd + 1, buf, len);
	assert_int_equal(initnet6_answer(odd + 1, len, 5), -ENODEV);

	/* Hostile: an error code that is no errno, lengths that lie. */
	len = 0;
	put_answer(buf, &len, 5, 1);
	assert_int_equal(initnet6_answer(buf, len, 5), -EPROTO);
	len = 0;
	put_answer(buf, &len, 5, -100000);
	assert_int_equal(initnet6_answer(buf, len, 5), -EPROTO);
	len = 0;
	put_answer(buf, &len, 5, 0);
	for (size_t cut = 1; cut < len; cut++) {
		int r = initnet6_answer(buf, cut, 5);
		/* Shorter than a header: nothing there; else a lying length. */
		assert_int_equal(r, cut < NLMSG_HDRLEN ? -ENOMSG : -EPROTO);
	}
	struct nlmsghdr h;
	memcpy(&h, buf, sizeof(h));
	h.nlmsg_len = NLMSG_HDRLEN - 1;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(initnet6_answer(buf, len, 5), -EPROTO);
	h.nlmsg_len = 0xffffffffu;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(initnet6_answer(buf, len, 5), -EPROTO);
	/* An error message too short for its code. */
	h.nlmsg_len = NLMSG_HDRLEN + 2;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(initnet6_answer(buf, len, 5), -EPROTO);
}

static void test_summary6(void **state)
{
	struct arca_spec_net6 n = net6_good();
	char buf[128];

	(void)state;
	assert_int_equal(initnet6_summary(&n, buf, sizeof(buf)),
			 (int)strlen("2001:db8:a::2/64 via fe80::1"));
	assert_string_equal(buf, "2001:db8:a::2/64 via fe80::1");
	ip6("fd00:1234:5678:9abc:def0:1234:5678:9abc", n.addr);
	n.prefix = 126;
	ip6("fd00:1234:5678:9abc:def0:1234:5678:9abd", n.gateway);
	assert_true(initnet6_summary(&n, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "fd00:1234:5678:9abc:def0:1234:5678:9abc/126 via "
				 "fd00:1234:5678:9abc:def0:1234:5678:9abd");
	assert_int_equal(initnet6_summary(&n, buf, 20), -ENOSPC);
}

/* ---- the sysctls, below a temp directory -------------------------------------- */

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *read_small(const char *path)
{
	static char buf[64];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_sysctls(void **state)
{
	char dir[] = "/tmp/arca-test-initnet6-XXXXXX", p[256];
	static const char *const knobs[] = { "accept_dad", "accept_ra", "autoconf" };

	(void)state;
	assert_non_null(mkdtemp(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);

	/* Nothing there (no IPv6 on that interface): nothing written, no
	 * error. */
	assert_int_equal(initnet6_sysctls(fd, "eth0"), 0);

	snprintf(p, sizeof(p), "mkdir -p '%s/net/ipv6/conf/eth0'", dir);
	assert_int_equal(system(p), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/net/ipv6/conf/eth0/%s", dir, knobs[i]);
		put_file(p, "1\n");
	}
	assert_int_equal(initnet6_sysctls(fd, "eth0"), 3);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/net/ipv6/conf/eth0/%s", dir, knobs[i]);
		assert_string_equal(read_small(p), "0\n");
	}

	/* One missing, one a symlink (never followed: /proc/sys has none). */
	snprintf(p, sizeof(p), "%s/net/ipv6/conf/eth0/autoconf", dir);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/net/ipv6/conf/eth0/accept_ra", dir);
	assert_int_equal(unlink(p), 0);
	char target[256];
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	put_file(target, "1\n");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(initnet6_sysctls(fd, "eth0"), 1);
	assert_string_equal(read_small(target), "1\n");
	assert_non_null(strstr(last_log, "not set"));

	close(fd);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

/* ---- for real, in a network namespace of this test's own ---------------------- */

/*
 * Moves this process (one thread) into a new network namespace, and mounts
 * a sysfs of it on /sys (initnet_configure finds the interface there), in
 * a mount namespace of its own whose mounts propagate nowhere. Each call
 * makes a fresh one: a test starts from nothing. Root, the namespaces,
 * /dev/net/tun and IPv6 in the kernel, else the test skips.
 */
static void fresh_netns(void)
{
	static int mntns; /* 0 not tried, 1 in, -1 not possible */

	/* A kernel booted with ipv6.disable=1 has no IPv6 to configure. */
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 ||
	    access("/proc/sys/net/ipv6", F_OK) != 0)
		skip();
	if (!mntns) {
		mntns = -1;
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
			mntns = 1;
	}
	if (mntns < 0 || unshare(CLONE_NEWNET) != 0)
		skip();
	/* Stacked on the previous one: this namespace's view on top. */
	if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		skip();
}

static const uint8_t TAP_MAC[6] = { 0x52, 0x54, 0x00, 0x6a, 0x0b, 0x01 };

/* A TAP named name with TAP_MAC; its fd stays open (carrier on). */
static int tap_create(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sk >= 0);
	ifreq_for(&ifr, name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, TAP_MAC, 6);
	assert_int_equal(ioctl(sk, SIOCSIFHWADDR, &ifr), 0);
	close(sk);
	return fd;
}

static struct arca_spec_net net4(void)
{
	struct arca_spec_net n = { .mtu = 1500, .addr = { 10, 213, 0, 2 }, .prefix = 30,
				   .gateway = { 10, 213, 0, 1 } };
	memcpy(n.mac, TAP_MAC, 6);
	return n;
}

static void hex(const uint8_t a[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", a[i]);
}

/* The flags of addr/prefix on ifname in /proc/net/if_inet6, or -1. */
static int inet6_flags(const char *ifname, const uint8_t addr[16], unsigned prefix)
{
	char want[33], a[33], dev[32], line[256];
	unsigned idx, plen, scope, flags;
	int found = -1;

	hex(addr, want);
	FILE *f = fopen("/proc/net/if_inet6", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%32s %x %x %x %x %31s", a, &idx, &plen, &scope, &flags,
			   dev) == 6 &&
		    !strcmp(a, want) && plen == prefix && !strcmp(dev, ifname))
			found = (int)flags;
	fclose(f);
	return found;
}

/* 1 when /proc/net/ipv6_route has ::/0 via gw on ifname with metric and
 * RTF_UP | RTF_GATEWAY. */
static int has_default6(const char *ifname, const uint8_t gw[16], unsigned metric)
{
	char want[33], dst[33], src[33], nh[33], dev[32], line[512];
	unsigned dlen, slen, m, ref, use, flags;
	int found = 0;

	hex(gw, want);
	FILE *f = fopen("/proc/net/ipv6_route", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%32s %x %32s %x %32s %x %x %x %x %31s", dst, &dlen, src, &slen,
			   nh, &m, &ref, &use, &flags, dev) == 10 &&
		    !strcmp(dst, "00000000000000000000000000000000") && dlen == 0 &&
		    !strcmp(nh, want) && m == metric && !strcmp(dev, ifname) &&
		    (flags & (RTF_UP | RTF_GATEWAY)) == (RTF_UP | RTF_GATEWAY))
			found = 1;
	fclose(f);
	return found;
}

static const char *sysctl6(const char *ifname, const char *knob)
{
	char p[128];
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/%s", ifname, knob);
	return read_small(p);
}

/* A bind() to addr: refused (EADDRNOTAVAIL) while it is tentative. */
static int bind6(const uint8_t addr[16])
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int sk = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(sk >= 0);
	memcpy(&sa.sin6_addr, addr, 16);
	int r = bind(sk, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(sk);
	return r;
}

/* The whole of --net with IPv6: the IPv4 side as before, then the address
 * (no DAD: not tentative, bindable at once) and the default route. */
static void test_configure_netns(void **state)
{
	struct arca_spec_net n = net4();
	struct arca_spec_net6 n6 = { .prefix = 64 };
	char err[256] = "";

	(void)state;
	fresh_netns();
	int tap = tap_create("arcat6");
	ip6("fd00:a:0:1::2", n6.addr);
	ip6("fd00:a:0:1::1", n6.gateway); /* inside the prefix */

	assert_int_equal(initnet_configure(&n, &n6, err, sizeof(err)), 0);
	assert_string_equal(last_log, "net: arcat6 fd00:a:0:1::2/64 via fd00:a:0:1::1");
	/* Right away: no wait for anything. */
	int flags = inet6_flags("arcat6", n6.addr, 64);
	assert_true(flags >= 0);
	assert_int_equal(flags & IFA_F_TENTATIVE, 0);
	assert_int_equal(flags & IFA_F_NODAD, IFA_F_NODAD);
	assert_int_equal(bind6(n6.addr), 0);
	assert_true(has_default6("arcat6", n6.gateway, NET6_ROUTE_METRIC));
	assert_string_equal(sysctl6("arcat6", "accept_dad"), "0\n");
	assert_string_equal(sysctl6("arcat6", "accept_ra"), "0\n");
	assert_string_equal(sysctl6("arcat6", "autoconf"), "0\n");

	/* IPv4 is there as before. */
	struct ifreq ifr;
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifreq_for(&ifr, "arcat6");
	assert_int_equal(ioctl(sk, SIOCGIFADDR, &ifr), 0);
	struct sockaddr_in sin;
	memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
	assert_memory_equal(&sin.sin_addr, n.addr, 4);
	close(sk);

	/* Applying it again (a second request for the same end state)
	 * changes nothing and fails nothing. */
	assert_int_equal(initnet6_apply(&n6, "arcat6", err, sizeof(err)), 0);
	assert_true(has_default6("arcat6", n6.gateway, NET6_ROUTE_METRIC));
	close(tap);
}

/* A link-local gateway: the route names the interface. */
static void test_configure_netns_link_local_gw(void **state)
{
	struct arca_spec_net n = net4();
	struct arca_spec_net6 n6 = net6_good(); /* 2001:db8:a::2/64 via fe80::1 */
	char err[256] = "";

	(void)state;
	fresh_netns();
	int tap = tap_create("arcat6ll");
	assert_int_equal(initnet_configure(&n, &n6, err, sizeof(err)), 0);
	int flags = inet6_flags("arcat6ll", n6.addr, 64);
	assert_true(flags >= 0);
	assert_int_equal(flags & IFA_F_TENTATIVE, 0);
	assert_int_equal(bind6(n6.addr), 0);
	assert_true(has_default6("arcat6ll", n6.gateway, NET6_ROUTE_METRIC));
	close(tap);
}

/* Failures: one "net: ..." line naming the step. */
static void test_configure_netns_errors(void **state)
{
	struct arca_spec_net n = net4();
	struct arca_spec_net6 n6 = net6_good();
	char err[256] = "", p[128];

	(void)state;
	fresh_netns();
	int tap = tap_create("arcat6e");

	/* Below IPv6's minimum MTU: said before anything is touched. */
	n.mtu = 1279;
	assert_int_equal(initnet_configure(&n, &n6, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "net: arcat6e: IPv6 needs an MTU of 1280 at least, not 1279");
	struct ifreq ifr;
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifreq_for(&ifr, "arcat6e");
	assert_int_equal(ioctl(sk, SIOCGIFADDR, &ifr), -1); /* no IPv4 address either */
	close(sk);
	n.mtu = 1280;

	/* IPv6 switched off on the interface: the kernel refuses the
	 * address, and the message says which step. */
	snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/arcat6e/disable_ipv6");
	put_file(p, "1\n");
	int r = initnet_configure(&n, &n6, err, sizeof(err));
	assert_int_equal(r, -EACCES); /* the kernel's answer to it */
	char want[256];
	snprintf(want, sizeof(want),
		 "net: arcat6e: IPv6 address 2001:db8:a::2/64 (RTM_NEWADDR): %s",
		 strerror(EACCES));
	assert_string_equal(err, want);

	/* No interface of that name. */
	assert_true(initnet6_apply(&n6, "arca-none", err, sizeof(err)) < 0);
	assert_true(strncmp(err, "net: arca-none: IPv6: its index", 31) == 0);
	close(tap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_msg),
		cmocka_unit_test(test_route_msg),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_summary6),
		cmocka_unit_test(test_sysctls),
		cmocka_unit_test(test_configure_netns),
		cmocka_unit_test(test_configure_netns_link_local_gw),
		cmocka_unit_test(test_configure_netns_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
