/* SPDX-License-Identifier: MIT */
/*
 * The guest's IPv6 (ARCA_SPEC_NET6): one address and the default route on
 * the interface net.c configured for IPv4.
 *
 * rtnetlink, not the ioctls net.c uses for IPv4: SIOCSIFADDR on an
 * AF_INET6 socket adds an address that goes through Duplicate Address
 * Detection, "tentative" (unusable as a source, bind() fails with
 * EADDRNOTAVAIL) for a second or more after the interface is up, and
 * longer while the link has no carrier. RTM_NEWADDR with IFA_F_NODAD adds
 * it usable at once: the command may connect as soon as it starts. DAD
 * guards against another host on the link with our address; the only
 * other one on this link is arca's end of the TAP (or passt), which the
 * same launcher gave its address.
 *
 * The requests are built by hand from the kernel's uapi headers (arca-init
 * is static musl, without libmnl): two messages of a few attributes each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "init.h"
#include "io.h"
#include "net.h"
#include "net6.h"

/* ---- pure: the requests and the answer ----------------------------------- */

/* A request being written into a caller's buffer. Every header goes in
 * through memcpy: the buffer need not be aligned for the kernel's
 * structs. */
struct nl_req {
	uint8_t *buf;
	size_t size, len;
	int overflow;
};

/* Appends len bytes, then zeros up to NLMSG_ALIGNTO (4: also RTA_ALIGNTO). */
static void req_put(struct nl_req *q, const void *data, size_t len)
{
	size_t padded = NLMSG_ALIGN(len);

	if (q->overflow || padded > q->size - q->len) {
		q->overflow = 1;
		return;
	}
	memcpy(q->buf + q->len, data, len);
	memset(q->buf + q->len + len, 0, padded - len);
	q->len += padded;
}

static void req_attr(struct nl_req *q, uint16_t type, const void *data, size_t len)
{
	struct rtattr rta = { .rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type };

	_Static_assert(RTA_LENGTH(0) == sizeof(rta), "the attribute header is already aligned");
	req_put(q, &rta, sizeof(rta));
	req_put(q, data, len);
}

static void req_u32(struct nl_req *q, uint16_t type, uint32_t v)
{
	req_attr(q, type, &v, sizeof(v));
}

/* Starts a request: the header, its length filled in by req_end. */
static void req_begin(struct nl_req *q, void *buf, size_t size, uint16_t type, uint32_t seq)
{
	/* REQUEST | ACK: the kernel answers with an NLMSG_ERROR, 0 on
	 * success, so every failure has an errno to report. CREATE |
	 * REPLACE: the request states the end result, whatever is there. */
	struct nlmsghdr h = { .nlmsg_type = type,
			      .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
					     NLM_F_REPLACE,
			      .nlmsg_seq = seq };

	q->buf = buf;
	q->size = size;
	q->len = 0;
	q->overflow = 0;
	req_put(q, &h, sizeof(h));
}

static int req_end(struct nl_req *q)
{
	if (q->overflow)
		return -ENOSPC;
	uint32_t len = (uint32_t)q->len;
	memcpy(q->buf + offsetof(struct nlmsghdr, nlmsg_len), &len, sizeof(len));
	return (int)len;
}

int initnet6_addr_msg(void *buf, size_t size, uint32_t seq, uint32_t ifindex,
		      const struct arca_spec_net6 *n)
{
	struct nl_req q;
	/* IFA_F_NODAD in the header's u8 for kernels that predate IFA_FLAGS
	 * (3.14), and in IFA_FLAGS, which the kernel prefers when present. */
	struct ifaddrmsg ifa = { .ifa_family = AF_INET6, .ifa_prefixlen = n->prefix,
				 .ifa_flags = IFA_F_NODAD, .ifa_scope = RT_SCOPE_UNIVERSE,
				 .ifa_index = ifindex };

	req_begin(&q, buf, size, RTM_NEWADDR, seq);
	req_put(&q, &ifa, sizeof(ifa));
	req_attr(&q, IFA_LOCAL, n->addr, sizeof(n->addr));
	req_attr(&q, IFA_ADDRESS, n->addr, sizeof(n->addr));
	req_u32(&q, IFA_FLAGS, IFA_F_NODAD);
	return req_end(&q);
}

int initnet6_route_msg(void *buf, size_t size, uint32_t seq, uint32_t ifindex,
		       const struct arca_spec_net6 *n)
{
	struct nl_req q;
	/* What `ip -6 route add default via GW dev IF metric 1` sends:
	 * RTPROT_BOOT, as IPv4's SIOCADDRT route gets. */
	struct rtmsg rtm = { .rtm_family = AF_INET6, .rtm_dst_len = 0,
			     .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
			     .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };

	req_begin(&q, buf, size, RTM_NEWROUTE, seq);
	req_put(&q, &rtm, sizeof(rtm));
	req_attr(&q, RTA_GATEWAY, n->gateway, sizeof(n->gateway));
	req_u32(&q, RTA_OIF, ifindex);
	req_u32(&q, RTA_PRIORITY, NET6_ROUTE_METRIC);
	return req_end(&q);
}

int initnet6_answer(const void *buf, size_t len, uint32_t seq)
{
	const uint8_t *p = buf;

	/* Each message: its length is checked against what is left before
	 * anything past its header is read; NLMSG_ALIGN of a length up to
	 * what is left cannot wrap. */
	while (len >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len)
			return -EPROTO;
		if (h.nlmsg_type == NLMSG_ERROR && h.nlmsg_seq == seq) {
			int32_t error;
			if (h.nlmsg_len < NLMSG_LENGTH(sizeof(error)))
				return -EPROTO;
			/* struct nlmsgerr's first field. */
			memcpy(&error, p + NLMSG_HDRLEN, sizeof(error));
			if (error > 0 || error < -4095)
				return -EPROTO;
			return error;
		}
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return -ENOMSG;
}

int initnet6_summary(const struct arca_spec_net6 *n, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	if (!inet_ntop(AF_INET6, n->addr, a, sizeof(a)) ||
	    !inet_ntop(AF_INET6, n->gateway, gw, sizeof(gw)))
		return -ENOSPC;
	int r = snprintf(buf, len, "%s/%u via %s", a, n->prefix, gw);
	return r < 0 || (size_t)r >= len ? -ENOSPC : r;
}

/* ---- the interface's IPv6 sysctls -------------------------------------------- */

int initnet6_sysctls(int procsys, const char *ifname)
{
	static const char *const knobs[] = { "accept_dad", "accept_ra", "autoconf" };
	int done = 0;

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		char path[64 + NET_IFNAME_MAX];
		snprintf(path, sizeof(path), "net/ipv6/conf/%.15s/%s", ifname, knobs[i]);
		_cleanup_close_ int fd = openat(procsys, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		int r = fd < 0 ? -errno : write_all(fd, "0\n", 2);
		if (r < 0) {
			init_log("net: /proc/sys/%s: not set: %s", path, strerror(-r));
			continue;
		}
		done++;
	}
	return done;
}

/* ---- over rtnetlink ------------------------------------------------------------ */

/* Sends one request and waits for its answer: 0, or the kernel's negative
 * errno, or a local one. */
static int rtnl_talk(int sk, const void *req, size_t len, uint32_t seq)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	/* An answer carries our request back after its error: room for it. */
	uint8_t ans[NET6_MSG_MAX + 64];

	if (sendto(sk, req, len, 0, (const struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(sk, ans, sizeof(ans), MSG_TRUNC, (struct sockaddr *)&from,
				     &fromlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		/* Only the kernel (port 0) speaks for the kernel. */
		if (fromlen != sizeof(from) || from.nl_pid != 0)
			continue;
		if ((size_t)n > sizeof(ans))
			return -EMSGSIZE;
		int r = initnet6_answer(ans, (size_t)n, seq);
		if (r != -ENOMSG)
			return r;
	}
}

int initnet6_apply(const struct arca_spec_net6 *n, const char *ifname, char *err,
		   size_t errlen)
{
	uint8_t req[NET6_MSG_MAX];
	char a[INET6_ADDRSTRLEN] = "?", gw[INET6_ADDRSTRLEN] = "?";
	struct timeval tv = { NET6_ANSWER_MS / 1000, (NET6_ANSWER_MS % 1000) * 1000 };
	int len, r = 0;

	(void)inet_ntop(AF_INET6, n->addr, a, sizeof(a));
	(void)inet_ntop(AF_INET6, n->gateway, gw, sizeof(gw));
	unsigned ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return initnet_say(err, errlen, errno, "%s: IPv6: its index", ifname);
	_cleanup_close_ int sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (sk < 0)
		return initnet_say(err, errlen, errno, "%s: IPv6: socket(AF_NETLINK)", ifname);
	/* PID 1 must not hang on an answer that never comes. */
	if (setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return initnet_say(err, errlen, errno, "%s: IPv6: SO_RCVTIMEO", ifname);

	/* The address first: it brings the prefix's connected route, on
	 * which the kernel finds a gateway inside the prefix. */
	if ((len = initnet6_addr_msg(req, sizeof(req), 1, ifindex, n)) < 0 ||
	    (r = rtnl_talk(sk, req, (size_t)len, 1)) < 0)
		return initnet_say(err, errlen, len < 0 ? -len : -r,
				   "%s: IPv6 address %s/%u (RTM_NEWADDR)", ifname, a, n->prefix);
	if ((len = initnet6_route_msg(req, sizeof(req), 2, ifindex, n)) < 0 ||
	    (r = rtnl_talk(sk, req, (size_t)len, 2)) < 0)
		return initnet_say(err, errlen, len < 0 ? -len : -r,
				   "%s: IPv6 default route via %s (RTM_NEWROUTE)", ifname, gw);
	return 0;
}
