/* SPDX-License-Identifier: MIT */
/* See publish.h. The TCP side is a pair of edge-triggered sockets per
 * connection and a copy loop (conn_pump); the UDP side a table of flows. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "netns.h"
#include "publish.h"

/* Work done per connection per publish_handle call before the next one
 * gets its turn: one fast pair cannot keep the supervisor's loop (signals,
 * the VMM's exit, the DNS relay) waiting. */
#define PUMP_BUDGET      (256u * 1024)
#define ACCEPT_BATCH     16  /* accepts per listener readiness */
#define DGRAM_BATCH      64  /* datagrams per socket readiness */
#define EVENTS_BATCH     64
#define DGRAM_MAX        65536
#define ACCEPT_RETRY_MS  1000 /* a listener paused by EMFILE and the like */

enum { SIDE_HOST = 0, SIDE_GUEST = 1 };
enum { TAG_LISTEN = 1, TAG_CONN = 2, TAG_FLOW = 3 };

/* epoll's data: a generation, so an event queued for a connection that has
 * since been closed (and its slot reused) in the same batch is ignored. */
static uint64_t tag_make(unsigned tag, unsigned side, size_t idx, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint64_t)tag << 24 | (uint64_t)side << 16 | (uint64_t)idx;
}

struct pbuf {
	uint8_t *p;
	size_t off, len; /* the bytes waiting: p[off, off + len) */
};

struct conn {
	int fd[2];            /* SIDE_HOST: the accepted client; SIDE_GUEST: ours, in N */
	bool can_read[2];     /* edge-triggered: ready until recv says EAGAIN */
	bool can_write[2];
	bool eof[2];          /* recv on fd[i] returned 0 */
	bool shut[2];         /* shutdown(fd[i], SHUT_WR) done */
	bool connected;       /* the guest side's connect completed */
	bool busy;            /* its budget ran out with work left */
	uint32_t gen;
	struct pbuf b[2];     /* b[i]: read from fd[i], written to fd[!i] */
};

struct flow {
	int fd;               /* -1: a free slot; else in N, connected to guest:port */
	size_t lis;           /* its listener */
	struct sockaddr_in peer;
	uint64_t last_ms;
	uint32_t gen;
};

struct listener {
	int fd;
	bool paused;          /* out of epoll until resume_ms (accept failed) */
	uint64_t resume_ms;
	struct net_publish p;
};

struct publish {
	int ep;
	int nsfd;
	uint32_t guest;
	size_t max_conns, max_flows, buf_size;
	unsigned idle_ms;
	struct listener lis[NET_PUBLISH_MAX];
	size_t nlis;
	struct conn **conns;  /* max_conns slots */
	size_t nconns, nbusy;
	struct flow *flows;   /* max_flows slots */
	size_t nflows;
	uint32_t gen;
	struct publish_stats st;
	uint8_t dgram[DGRAM_MAX];
};

static bool again(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

/* "127.0.0.1:8080:80/udp": the value as --publish took it (tcp unsaid). */
static const char *spelled(const struct net_publish *p, char *buf, size_t cap)
{
	char ip[20] = "";
	if (p->host_ip)
		netcfg_ipv4_str(p->host_ip, ip, sizeof(ip));
	snprintf(buf, cap, "%s%s%u:%u%s", ip, p->host_ip ? ":" : "", p->host_port, p->guest_port,
		 p->proto == IPPROTO_UDP ? "/udp" : "");
	return buf;
}

static const char *proto_name(const struct net_publish *p)
{
	return p->proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* ---- sockets made in N --------------------------------------------------------------- */

struct ns_sock {
	int type;
	int fd;
};

static int ns_socket(void *arg)
{
	struct ns_sock *x = arg;
	x->fd = socket(AF_INET, x->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return x->fd < 0 ? -errno : 0;
}

/* A socket of type in N (nsfd -1: here), connect()ed to guest:port without
 * waiting; *done: the connection is already up. */
static int guest_socket(const struct publish *px, int type, uint16_t port, bool *done)
{
	struct ns_sock x = { .type = type, .fd = -1 };
	int r = netns_run(px->nsfd, ns_socket, &x);
	if (r < 0) {
		if (x.fd >= 0)
			close(x.fd);
		return r;
	}
	_cleanup_close_ int fd = x.fd;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(px->guest) };
	*done = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (!*done && errno != EINPROGRESS)
		return -errno;
	return steal_fd(&fd);
}

static int ep_add(struct publish *px, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(px->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---- TCP ----------------------------------------------------------------------------- */

static void set_busy(struct publish *px, struct conn *c, bool busy)
{
	if (c->busy != busy)
		px->nbusy = busy ? px->nbusy + 1 : px->nbusy - 1;
	c->busy = busy;
}

/* Close a connection; reset: with an RST to both peers (SO_LINGER 0), so
 * that a connection cut by an error does not end like a complete one. */
static void conn_close(struct publish *px, size_t idx, bool reset)
{
	struct conn *c = px->conns[idx];
	if (reset)
		px->st.tcp_failed++;
	for (int s = 0; s < 2; s++) {
		if (reset) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			(void)setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(c->fd[s]); /* also leaves the epoll set: nothing else holds the file */
	}
	set_busy(px, c, false);
	free(c);
	px->conns[idx] = NULL;
	px->nconns--;
}

/* Move what can be moved both ways, within PUMP_BUDGET. 1: both ways are
 * finished (close it); 0: more to come; -errno: a side failed. */
static int conn_pump(struct publish *px, struct conn *c)
{
	size_t moved = 0, cap = px->buf_size;
	bool progress = true;
	while (progress) {
		if (moved >= PUMP_BUDGET) {
			set_busy(px, c, true);
			return 0;
		}
		progress = false;
		for (int s = 0; s < 2; s++) {
			struct pbuf *b = &c->b[s];
			/* Nothing goes to the guest before its side is connected. */
			bool out_up = s == SIDE_GUEST || c->connected;
			if (!c->eof[s] && c->can_read[s] && b->len < cap) {
				if (b->off + b->len == cap) {
					memmove(b->p, b->p + b->off, b->len);
					b->off = 0;
				}
				ssize_t n = recv(c->fd[s], b->p + b->off + b->len,
						 cap - b->off - b->len, 0);
				if (n > 0) {
					b->len += (size_t)n;
					progress = true;
				} else if (n == 0) {
					c->eof[s] = true;
					progress = true;
				} else if (again(errno)) {
					c->can_read[s] = false;
				} else if (errno != EINTR) {
					return -errno;
				}
			}
			if (b->len && out_up && c->can_write[!s]) {
				ssize_t n = send(c->fd[!s], b->p + b->off, b->len, MSG_NOSIGNAL);
				if (n > 0) {
					b->off += (size_t)n;
					b->len -= (size_t)n;
					if (!b->len)
						b->off = 0;
					moved += (size_t)n;
					progress = true;
				} else if (n < 0 && again(errno)) {
					c->can_write[!s] = false;
				} else if (n < 0 && errno != EINTR) {
					return -errno;
				}
			}
			/* An EOF goes on once all that came before it has. */
			if (c->eof[s] && !b->len && out_up && !c->shut[!s]) {
				(void)shutdown(c->fd[!s], SHUT_WR);
				c->shut[!s] = true;
				progress = true;
			}
		}
	}
	set_busy(px, c, false);
	return c->shut[SIDE_HOST] && c->shut[SIDE_GUEST];
}

static void conn_run(struct publish *px, size_t idx)
{
	int r = conn_pump(px, px->conns[idx]);
	if (r != 0)
		conn_close(px, idx, r < 0);
}

static void conn_event(struct publish *px, size_t idx, int side, uint32_t ev)
{
	struct conn *c = px->conns[idx];
	if (side == SIDE_GUEST && !c->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->fd[side], SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			conn_close(px, idx, true); /* the guest refused, or nobody answered */
			return;
		}
		if (!(ev & EPOLLOUT))
			return;
		c->connected = true;
	}
	if (ev & EPOLLERR) { /* a reset, or an ICMP error: pass it on */
		conn_close(px, idx, true);
		return;
	}
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		c->can_read[side] = true;
	if (ev & EPOLLOUT)
		c->can_write[side] = true;
	conn_run(px, idx);
}

/* A client beyond the cap: reset at once, so it does not wait for an answer
 * that will not come. */
static void refuse(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void tcp_accept_one(struct publish *px, struct listener *l, int cfd)
{
	_cleanup_close_ int client = cfd;
	if (px->nconns >= px->max_conns) {
		px->st.tcp_refused_cap++;
		refuse(steal_fd(&client));
		return;
	}
	size_t idx = 0;
	while (px->conns[idx])
		idx++;
	bool done = false;
	_cleanup_close_ int gfd = guest_socket(px, SOCK_STREAM, l->p.guest_port, &done);
	struct conn *c = gfd >= 0 ? malloc(sizeof(*c) + 2 * px->buf_size) : NULL;
	if (!c) {
		px->st.tcp_failed++;
		refuse(steal_fd(&client));
		return;
	}
	memset(c, 0, sizeof(*c));
	c->gen = ++px->gen;
	c->connected = done;
	c->b[0].p = (uint8_t *)(c + 1);
	c->b[1].p = c->b[0].p + px->buf_size;
	/* Edge-triggered: conn_pump reads and writes until EAGAIN, or keeps
	 * the readiness in can_read/can_write for later. */
	uint32_t evs = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	if (ep_add(px, client, evs, tag_make(TAG_CONN, SIDE_HOST, idx, c->gen)) < 0 ||
	    ep_add(px, gfd, evs, tag_make(TAG_CONN, SIDE_GUEST, idx, c->gen)) < 0) {
		free(c);
		px->st.tcp_failed++;
		refuse(steal_fd(&client));
		return; /* gfd's close takes it out of the set, if it was in */
	}
	c->fd[SIDE_HOST] = steal_fd(&client);
	c->fd[SIDE_GUEST] = steal_fd(&gfd);
	px->conns[idx] = c;
	px->nconns++;
	px->st.tcp_accepted++;
}

static void listener_pause(struct publish *px, struct listener *l, uint64_t now_ms)
{
	struct epoll_event ev = { 0 };
	if (epoll_ctl(px->ep, EPOLL_CTL_DEL, l->fd, &ev) == 0) {
		l->paused = true;
		l->resume_ms = now_ms + ACCEPT_RETRY_MS;
	}
}

static void tcp_accept(struct publish *px, size_t li, uint64_t now_ms)
{
	struct listener *l = &px->lis[li];
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			tcp_accept_one(px, l, cfd);
			continue;
		}
		if (again(errno))
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		/* EMFILE, ENOBUFS...: the backlog would make a level-triggered
		 * listener spin; step back for a while. */
		px->st.tcp_failed++;
		listener_pause(px, l, now_ms);
		return;
	}
}

/* ---- UDP ----------------------------------------------------------------------------- */

static void flow_close(struct publish *px, size_t i)
{
	close(px->flows[i].fd);
	px->flows[i].fd = -1;
	px->nflows--;
}

static struct flow *flow_get(struct publish *px, size_t li, const struct sockaddr_in *from,
			     uint64_t now_ms)
{
	size_t free_slot = px->max_flows;
	for (size_t i = 0; i < px->max_flows; i++) {
		struct flow *f = &px->flows[i];
		if (f->fd < 0) {
			if (free_slot == px->max_flows)
				free_slot = i;
			continue;
		}
		if (f->lis == li && f->peer.sin_addr.s_addr == from->sin_addr.s_addr &&
		    f->peer.sin_port == from->sin_port)
			return f;
	}
	if (free_slot == px->max_flows)
		return NULL;
	bool done = false;
	int fd = guest_socket(px, SOCK_DGRAM, px->lis[li].p.guest_port, &done);
	if (fd < 0)
		return NULL;
	struct flow *f = &px->flows[free_slot];
	*f = (struct flow){ .fd = fd, .lis = li, .peer = *from, .last_ms = now_ms,
			    .gen = ++px->gen };
	if (ep_add(px, fd, EPOLLIN, tag_make(TAG_FLOW, 0, free_slot, f->gen)) < 0) {
		close(fd);
		f->fd = -1;
		return NULL;
	}
	px->nflows++;
	px->st.udp_flows++;
	return f;
}

/* Client to guest: each datagram to its client's flow. */
static void udp_from_client(struct publish *px, size_t li, uint64_t now_ms)
{
	for (int i = 0; i < DGRAM_BATCH; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(px->lis[li].fd, px->dgram, sizeof(px->dgram), 0,
				     (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN, or nothing this socket can report */
		}
		struct flow *f = flow_get(px, li, &from, now_ms);
		if (!f || send(f->fd, px->dgram, (size_t)n, 0) < 0) {
			px->st.udp_dropped++;
			continue;
		}
		f->last_ms = now_ms;
	}
}

/* Guest to client: from the flow's socket, out of its listener's. */
static void udp_from_guest(struct publish *px, size_t fi, uint64_t now_ms)
{
	struct flow *f = &px->flows[fi];
	for (int i = 0; i < DGRAM_BATCH; i++) {
		ssize_t n = recv(f->fd, px->dgram, sizeof(px->dgram), 0);
		if (n < 0) {
			/* ECONNREFUSED: an ICMP port unreachable from the guest
			 * (nothing listens yet); the flow stays for the retry. */
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return;
		}
		if (sendto(px->lis[f->lis].fd, px->dgram, (size_t)n, 0,
			   (const struct sockaddr *)&f->peer, sizeof(f->peer)) < 0)
			px->st.udp_dropped++;
		f->last_ms = now_ms;
	}
}

/* ---- the API ------------------------------------------------------------------------- */

/* A bound (and for TCP listening) socket for p in the current netns, or
 * -errno with e set: the one-line errors of a port in use or an address
 * that is not the host's. */
static int publish_bind(const struct net_publish *p, struct arca_err *e)
{
	char sp[48], ip[20];
	bool tcp = p->proto != IPPROTO_UDP;
	_cleanup_close_ int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
					SOCK_CLOEXEC, 0);
	if (fd < 0)
		return arca_error_errno(e, errno, "--publish %s: socket", spelled(p, sp, sizeof(sp)));
	/* TCP: a port whose last connections linger in TIME_WAIT binds again,
	 * and a listening socket on it is still refused. Not for UDP, where it
	 * would let two sockets share the port. */
	int one = 1;
	if (tcp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return arca_error_errno(e, errno, "--publish %s: SO_REUSEADDR",
					spelled(p, sp, sizeof(sp)));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->host_port),
				  .sin_addr.s_addr = htonl(p->host_ip) };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (tcp && listen(fd, PUBLISH_BACKLOG) < 0)) {
		int err = errno;
		if (err == EADDRINUSE)
			return arca_error(e, err, "--publish %s: host port %u/%s is in use",
					  spelled(p, sp, sizeof(sp)), p->host_port, proto_name(p));
		if (err == EADDRNOTAVAIL)
			return arca_error(e, err, "--publish %s: %s is not an address of this host",
					  spelled(p, sp, sizeof(sp)),
					  netcfg_ipv4_str(p->host_ip, ip, sizeof(ip)));
		return arca_error_errno(e, err, "--publish %s: binding host port %u/%s",
					spelled(p, sp, sizeof(sp)), p->host_port, proto_name(p));
	}
	return steal_fd(&fd);
}

int publish_probe(const struct net_publishes *pub, struct arca_err *e)
{
	for (size_t i = 0; i < pub->n; i++) {
		int fd = publish_bind(&pub->v[i], e);
		if (fd < 0)
			return fd;
		close(fd);
	}
	return 0;
}

static int listener_open(struct publish *px, const struct net_publish *p, size_t idx,
			 struct arca_err *e)
{
	char sp[48];
	_cleanup_close_ int fd = publish_bind(p, e);
	if (fd < 0)
		return fd;
	int r = ep_add(px, fd, EPOLLIN, tag_make(TAG_LISTEN, 0, idx, 0));
	if (r < 0)
		return arca_error_errno(e, -r, "--publish %s: epoll", spelled(p, sp, sizeof(sp)));
	px->lis[idx] = (struct listener){ .fd = steal_fd(&fd), .p = *p };
	return 0;
}

void publish_free(struct publish *px)
{
	if (!px)
		return;
	for (size_t i = 0; px->conns && i < px->max_conns; i++)
		if (px->conns[i])
			conn_close(px, i, true);
	for (size_t i = 0; px->flows && i < px->max_flows; i++)
		if (px->flows[i].fd >= 0)
			flow_close(px, i);
	for (size_t i = 0; i < px->nlis; i++)
		close(px->lis[i].fd);
	if (px->ep >= 0)
		close(px->ep);
	free(px->conns);
	free(px->flows);
	free(px);
}

static void publish_freep(struct publish **p)
{
	publish_free(*p);
}

int publish_new(const struct publish_cfg *cfg, struct publish **out, struct arca_err *e)
{
	*out = NULL;
	__attribute__((cleanup(publish_freep))) struct publish *px = calloc(1, sizeof(*px));
	if (!px)
		return arca_error(e, ENOMEM, "--publish: out of memory");
	px->ep = -1;
	px->nsfd = cfg->nsfd;
	px->guest = cfg->guest;
	px->max_conns = cfg->max_conns ? cfg->max_conns : PUBLISH_CONNS_MAX;
	px->max_flows = cfg->max_flows ? cfg->max_flows : PUBLISH_FLOWS_MAX;
	px->buf_size = cfg->buf_size ? cfg->buf_size : PUBLISH_BUF_DEFAULT;
	px->idle_ms = cfg->udp_idle_ms ? cfg->udp_idle_ms : PUBLISH_UDP_IDLE_MS;
	if (px->max_conns > 0xffff || px->max_flows > 0xffff)
		return arca_error(e, EINVAL, "--publish: too many connections or flows");
	px->conns = calloc(px->max_conns, sizeof(*px->conns));
	px->flows = calloc(px->max_flows, sizeof(*px->flows));
	if (!px->conns || !px->flows)
		return arca_error(e, ENOMEM, "--publish: out of memory");
	for (size_t i = 0; i < px->max_flows; i++)
		px->flows[i].fd = -1;
	px->ep = epoll_create1(EPOLL_CLOEXEC);
	if (px->ep < 0)
		return arca_error_errno(e, errno, "--publish: epoll_create1");
	size_t n = cfg->pub ? cfg->pub->n : 0;
	for (size_t i = 0; i < n && i < NET_PUBLISH_MAX; i++) {
		int r = listener_open(px, &cfg->pub->v[i], i, e);
		if (r < 0)
			return r;
		px->nlis++;
	}
	*out = steal_pointer(&px);
	return 0;
}

int publish_fd(const struct publish *px)
{
	return px ? px->ep : -1;
}

void publish_handle(struct publish *px, uint64_t now_ms)
{
	if (!px)
		return;
	struct epoll_event ev[EVENTS_BATCH];
	int n = epoll_wait(px->ep, ev, EVENTS_BATCH, 0);
	for (int i = 0; i < n; i++) {
		uint64_t d = ev[i].data.u64;
		uint32_t gen = (uint32_t)(d >> 32);
		unsigned tag = (d >> 24) & 0xff, side = (d >> 16) & 0xff;
		size_t idx = d & 0xffff;
		if (tag == TAG_LISTEN && idx < px->nlis) {
			if (px->lis[idx].p.proto == IPPROTO_UDP)
				udp_from_client(px, idx, now_ms);
			else
				tcp_accept(px, idx, now_ms);
		} else if (tag == TAG_CONN && idx < px->max_conns && px->conns[idx] &&
			   px->conns[idx]->gen == gen) {
			conn_event(px, idx, (int)side, ev[i].events);
		} else if (tag == TAG_FLOW && idx < px->max_flows && px->flows[idx].fd >= 0 &&
			   px->flows[idx].gen == gen) {
			udp_from_guest(px, idx, now_ms);
		}
	}
	/* The connections whose budget ran out last time or just now. */
	for (size_t i = 0; px->nbusy && i < px->max_conns; i++)
		if (px->conns[i] && px->conns[i]->busy)
			conn_run(px, i);
	for (size_t i = 0; px->nflows && i < px->max_flows; i++)
		if (px->flows[i].fd >= 0 && now_ms - px->flows[i].last_ms >= px->idle_ms)
			flow_close(px, i);
	for (size_t i = 0; i < px->nlis; i++) {
		struct listener *l = &px->lis[i];
		if (l->paused && now_ms >= l->resume_ms &&
		    ep_add(px, l->fd, EPOLLIN, tag_make(TAG_LISTEN, 0, i, 0)) == 0)
			l->paused = false;
	}
}

int publish_timeout_ms(const struct publish *px, uint64_t now_ms)
{
	if (!px)
		return -1;
	if (px->nbusy)
		return 0;
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; px->nflows && i < px->max_flows; i++)
		if (px->flows[i].fd >= 0 && px->flows[i].last_ms + px->idle_ms < next)
			next = px->flows[i].last_ms + px->idle_ms;
	for (size_t i = 0; i < px->nlis; i++)
		if (px->lis[i].paused && px->lis[i].resume_ms < next)
			next = px->lis[i].resume_ms;
	if (next == UINT64_MAX)
		return -1;
	return next <= now_ms ? 0 : next - now_ms > INT32_MAX ? INT32_MAX : (int)(next - now_ms);
}

bool publish_describe(const struct publish *px, size_t i, char *buf, size_t cap)
{
	if (!px || i >= px->nlis)
		return false;
	const struct net_publish *p = &px->lis[i].p;
	char hip[20], gip[20];
	snprintf(buf, cap, "%s:%u -> guest %s:%u/%s", netcfg_ipv4_str(p->host_ip, hip, sizeof(hip)),
		 p->host_port, netcfg_ipv4_str(px->guest, gip, sizeof(gip)), p->guest_port,
		 proto_name(p));
	return true;
}

void publish_stats(const struct publish *px, struct publish_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!px)
		return;
	*out = px->st;
	out->tcp_live = px->nconns;
	out->udp_live = px->nflows;
	for (size_t i = 0; i < px->max_conns; i++)
		if (px->conns[i])
			out->tcp_buffered += px->conns[i]->b[0].len + px->conns[i]->b[1].len;
}
