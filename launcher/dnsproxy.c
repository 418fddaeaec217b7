/* SPDX-License-Identifier: MIT */
/* See dnsproxy.h. The packet logic is dns.c's; this file holds the sockets
 * and the table of queries in flight. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns.h"
#include "dnsproxy.h"

/* Bytes of resolv.conf read at most: far more than any real one. */
#define RESOLV_CONF_MAX (64u << 10)

struct pending {
	bool used;
	uint8_t up;               /* the upstream it was sent to */
	uint16_t up_id;           /* the ID the upstream saw */
	uint64_t deadline_ms;
	struct dns_query q;       /* the guest's (its ID and question) */
	struct sockaddr_storage from;
	socklen_t fromlen;
};

struct dnsproxy {
	int guest_fd;
	int up_fd[DNSPROXY_UPSTREAMS_MAX];
	size_t n_up;
	unsigned cur_up; /* where new queries go; moves on after a timeout */
	enum dnsproxy_mode mode;
	struct dns_pattern *pats;
	size_t n_pats;
	void (*on_addr)(void *opaque, size_t name_idx, uint32_t addr_be, uint32_t ttl);
	void (*on_addr6)(void *opaque, size_t name_idx, const uint8_t addr[16], uint32_t ttl);
	void *opaque;
	unsigned timeout_ms;
	struct pending pend[DNSPROXY_PENDING_MAX];
	struct dnsproxy_stats st;
};

void dnsproxy_free(struct dnsproxy *px)
{
	if (!px)
		return;
	for (size_t i = 0; i < px->n_up; i++)
		if (px->up_fd[i] >= 0)
			close(px->up_fd[i]);
	free(px->pats);
	free(px);
}

static void dnsproxy_freep(struct dnsproxy **p)
{
	dnsproxy_free(*p);
}

/* The nameservers of the resolv.conf at path; 127.0.0.1 when it is missing
 * or names none (glibc's default, resolv.conf(5)). */
static int upstreams_from_resolv_conf(const char *path, struct sockaddr_storage *out,
				      size_t *n, struct arca_err *e)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fd < 0 && errno != ENOENT)
		return arca_error_errno(e, errno, "dns: %s", path);
	if (fd >= 0) {
		buf = malloc(RESOLV_CONF_MAX);
		if (!buf)
			return arca_error(e, ENOMEM, "dns: out of memory");
		while (len < RESOLV_CONF_MAX) {
			ssize_t r = read(fd, buf + len, RESOLV_CONF_MAX - len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return arca_error_errno(e, errno, "dns: reading %s", path);
			if (r == 0)
				break;
			len += (size_t)r;
		}
		*n = dns_parse_resolv_conf(buf, len, out, DNSPROXY_UPSTREAMS_MAX);
	}
	if (*n == 0) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out[0];
		memset(out, 0, sizeof(*out));
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*n = 1;
	}
	return 0;
}

/* A UDP socket connect()ed to the upstream: the kernel then drops every
 * datagram that does not come from that address and port. Made in the
 * caller's current network namespace (the host's). */
static int open_upstream(const struct sockaddr_storage *ss, struct arca_err *e)
{
	struct sockaddr_storage a = *ss;
	socklen_t alen;
	if (a.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
		if (s4->sin_port == 0)
			s4->sin_port = htons(53);
		alen = sizeof(*s4);
	} else if (a.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
		if (s6->sin6_port == 0)
			s6->sin6_port = htons(53);
		alen = sizeof(*s6);
	} else {
		return arca_error(e, EAFNOSUPPORT, "dns: an upstream is neither IPv4 nor IPv6");
	}
	_cleanup_close_ int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return arca_error_errno(e, errno, "dns: upstream socket");
	if (connect(fd, (struct sockaddr *)&a, alen) < 0)
		return arca_error_errno(e, errno, "dns: connecting to an upstream resolver");
	return steal_fd(&fd);
}

int dnsproxy_new(const struct dnsproxy_cfg *cfg, struct dnsproxy **out, struct arca_err *e)
{
	__attribute__((cleanup(dnsproxy_freep))) struct dnsproxy *px = NULL;
	struct sockaddr_storage ups[DNSPROXY_UPSTREAMS_MAX];
	size_t n_up = cfg->n_upstreams;

	if (cfg->guest_fd < 0)
		return arca_error(e, EBADF, "dns: no guest socket");
	if (n_up > DNSPROXY_UPSTREAMS_MAX)
		return arca_error(e, EINVAL, "dns: at most %d upstream resolvers",
				  DNSPROXY_UPSTREAMS_MAX);
	if (cfg->mode == DNSPROXY_NAMES && cfg->n_names > DNSPROXY_NAMES_MAX)
		return arca_error(e, EINVAL, "dns: at most %d allowed names", DNSPROXY_NAMES_MAX);
	px = calloc(1, sizeof(*px));
	if (!px)
		return arca_error(e, ENOMEM, "dns: out of memory");
	px->guest_fd = cfg->guest_fd;
	px->mode = cfg->mode;
	px->on_addr = cfg->on_addr;
	px->on_addr6 = cfg->on_addr6;
	px->opaque = cfg->opaque;
	px->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DNSPROXY_TIMEOUT_MS;

	if (cfg->mode == DNSPROXY_NAMES && cfg->n_names > 0) {
		px->pats = calloc(cfg->n_names, sizeof(*px->pats));
		if (!px->pats)
			return arca_error(e, ENOMEM, "dns: out of memory");
		for (size_t i = 0; i < cfg->n_names; i++)
			if (dns_pattern_parse(cfg->names[i], &px->pats[i]) < 0)
				return arca_error(e, EINVAL, "dns: '%s' is not a host name or *.name",
						  cfg->names[i] ? cfg->names[i] : "(null)");
		px->n_pats = cfg->n_names;
	}

	if (n_up > 0) {
		memcpy(ups, cfg->upstreams, n_up * sizeof(ups[0]));
	} else {
		int r = upstreams_from_resolv_conf(cfg->resolv_conf ? cfg->resolv_conf
								    : "/etc/resolv.conf",
						   ups, &n_up, e);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n_up; i++) {
		int fd = open_upstream(&ups[i], e);
		if (fd < 0)
			return fd;
		px->up_fd[px->n_up++] = fd;
	}
	*out = steal_pointer(&px);
	return 0;
}

size_t dnsproxy_fds(const struct dnsproxy *px, int *fds, size_t cap)
{
	size_t n = 0;
	if (n < cap)
		fds[n] = px->guest_fd;
	n++;
	for (size_t i = 0; i < px->n_up; i++, n++)
		if (n < cap)
			fds[n] = px->up_fd[i];
	return n;
}

void dnsproxy_stats(const struct dnsproxy *px, struct dnsproxy_stats *out)
{
	*out = px->st;
}

static void reply_guest(struct dnsproxy *px, const struct dns_query *q, unsigned rcode,
			const struct sockaddr_storage *to, socklen_t tolen)
{
	uint8_t buf[DNS_HDR_SIZE + DNS_NAME_MAX + 4];
	int n = dns_build_reply(q, rcode, buf, sizeof(buf));
	if (n < 0 || sendto(px->guest_fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
			    (const struct sockaddr *)to, tolen) < 0)
		px->st.errors++;
}

static bool name_allowed(const struct dnsproxy *px, const struct dns_query *q)
{
	if (px->mode == DNSPROXY_OPEN)
		return true;
	/* Class IN only: CHAOS and HESIOD queries are answered by the
	 * resolver itself (version.bind) and no guest program needs them. */
	if (q->qclass != DNS_CLASS_IN)
		return false;
	for (size_t i = 0; i < px->n_pats; i++)
		if (dns_pattern_match(&px->pats[i], &q->qname))
			return true;
	return false;
}

/* A fresh random ID no query pending on upstream up uses: a forger must
 * guess it (RFC 5452 §4.3). 0, or -errno when no randomness. */
static int new_id(const struct dnsproxy *px, unsigned up, uint16_t *id)
{
	for (int tries = 0; tries < 16; tries++) {
		if (getrandom(id, sizeof(*id), 0) != (ssize_t)sizeof(*id))
			return -errno;
		bool used = false;
		for (size_t i = 0; i < DNSPROXY_PENDING_MAX && !used; i++)
			used = px->pend[i].used && px->pend[i].up == up && px->pend[i].up_id == *id;
		if (!used)
			return 0;
	}
	return -EAGAIN; /* 64 pending of 65536: practically never */
}

static void on_query(struct dnsproxy *px, const uint8_t *buf, size_t n,
		     const struct sockaddr_storage *from, socklen_t fromlen, uint64_t now)
{
	struct dns_query q;
	if (n > DNS_QUERY_MAX || dns_parse_query(buf, n, &q) < 0) {
		px->st.malformed++;
		return;
	}
	if (DNS_OPCODE(q.flags) != 0) { /* NOTIFY, UPDATE, ...: not a lookup */
		px->st.refused++;
		reply_guest(px, &q, DNS_RCODE_NOTIMP, from, fromlen);
		return;
	}
	if (!name_allowed(px, &q)) {
		px->st.refused++;
		reply_guest(px, &q, DNS_RCODE_REFUSED, from, fromlen);
		return;
	}
	struct pending *p = NULL;
	for (size_t i = 0; i < DNSPROXY_PENDING_MAX && !p; i++)
		if (!px->pend[i].used)
			p = &px->pend[i];
	if (!p) {
		px->st.dropped_full++;
		return;
	}
	unsigned up = px->cur_up % (unsigned)px->n_up;
	uint16_t id;
	uint8_t out[DNS_HDR_SIZE + DNS_NAME_MAX + 4 + 11];
	int len = new_id(px, up, &id);
	if (len == 0)
		len = dns_build_query(&q, id, out, sizeof(out));
	if (len < 0 || send(px->up_fd[up], out, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		px->st.errors++;
		reply_guest(px, &q, DNS_RCODE_SERVFAIL, from, fromlen);
		return;
	}
	p->used = true;
	p->up = (uint8_t)up;
	p->up_id = id;
	p->deadline_ms = now + px->timeout_ms;
	p->q = q;
	p->from = *from;
	p->fromlen = fromlen;
	px->st.forwarded++;
}

static void on_response(struct dnsproxy *px, unsigned up, uint8_t *buf, size_t n)
{
	if (n > DNS_RESPONSE_MAX || n < DNS_HDR_SIZE) {
		px->st.malformed++;
		return;
	}
	uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
	struct pending *p = NULL;
	for (size_t i = 0; i < DNSPROXY_PENDING_MAX && !p; i++)
		if (px->pend[i].used && px->pend[i].up == up && px->pend[i].up_id == id)
			p = &px->pend[i];
	/* A response for another question keeps the query pending: a forger
	 * who guessed the ID alone must not be able to cancel the real
	 * answer. */
	int r = p ? dns_response_check(buf, n, id, &p->q) : -ESRCH;
	if (r == -ESRCH) {
		px->st.unmatched++;
		return;
	}
	if (r < 0) {
		px->st.malformed++;
		return;
	}
	if (px->mode == DNSPROXY_NAMES) {
		struct dns_addr addrs[DNS_ADDRS_MAX];
		int na = dns_response_addrs(buf, n, &p->q.qname, addrs, DNS_ADDRS_MAX);
		if (na < 0) {
			px->st.malformed++;
			reply_guest(px, &p->q, DNS_RCODE_SERVFAIL, &p->from, p->fromlen);
			p->used = false;
			return;
		}
		/* Before the relay: the guest may connect as soon as it has
		 * the answer, and the firewall must already allow it. */
		for (size_t k = 0; k < px->n_pats; k++) {
			if (!dns_pattern_match(&px->pats[k], &p->q.qname))
				continue;
			for (int i = 0; i < na; i++) {
				if (!addrs[i].v6 && px->on_addr)
					px->on_addr(px->opaque, k, addrs[i].addr_be, addrs[i].ttl);
				else if (addrs[i].v6 && px->on_addr6)
					px->on_addr6(px->opaque, k, addrs[i].addr6, addrs[i].ttl);
			}
		}
	}
	buf[0] = (uint8_t)(p->q.id >> 8);
	buf[1] = (uint8_t)p->q.id;
	if (sendto(px->guest_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
		   (const struct sockaddr *)&p->from, p->fromlen) < 0)
		px->st.errors++;
	else
		px->st.relayed++;
	p->used = false;
}

int dnsproxy_on_readable(struct dnsproxy *px, int fd, uint64_t now_ms)
{
	int up = -1;
	for (size_t i = 0; i < px->n_up && up < 0; i++)
		if (px->up_fd[i] == fd)
			up = (int)i;
	if (fd != px->guest_fd && up < 0)
		return -EBADF;
	for (int i = 0; i < DNSPROXY_BATCH; i++) {
		uint8_t buf[DNS_RESPONSE_MAX];
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;
		/* MSG_TRUNC: the datagram's real length, so one longer than
		 * the buffer is recognised and dropped, not half-read. */
		if (up < 0)
			n = recvfrom(fd, buf, DNS_QUERY_MAX, MSG_DONTWAIT | MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);
		else
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			/* ECONNREFUSED (an ICMP error for an earlier query) and
			 * the like: that query times out; keep reading. */
			px->st.errors++;
			continue;
		}
		if (up < 0)
			on_query(px, buf, (size_t)n, &from, fromlen, now_ms);
		else
			on_response(px, (unsigned)up, buf, (size_t)n);
	}
	return 0;
}

int dnsproxy_tick(struct dnsproxy *px, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < DNSPROXY_PENDING_MAX; i++) {
		struct pending *p = &px->pend[i];
		if (!p->used)
			continue;
		if (p->deadline_ms > now_ms) {
			if (p->deadline_ms < next)
				next = p->deadline_ms;
			continue;
		}
		px->st.timed_out++;
		reply_guest(px, &p->q, DNS_RCODE_SERVFAIL, &p->from, p->fromlen);
		p->used = false;
		/* That resolver did not answer: send the next queries to the
		 * next one (the guest's own retry will go there). */
		if (p->up == px->cur_up % px->n_up)
			px->cur_up = (p->up + 1u) % (unsigned)px->n_up;
	}
	if (next == UINT64_MAX)
		return -1;
	return next - now_ms > INT32_MAX ? INT32_MAX : (int)(next - now_ms);
}
