/* SPDX-License-Identifier: MIT */
/* See dns.h. Pure: no I/O, no global state. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int dns_read_name(const uint8_t *p, size_t len, size_t off, bool allow_ptr,
		  struct dns_name *out, size_t *next)
{
	/* Every pointer must target an offset below this one, which then
	 * becomes the new bound: targets strictly decrease, so no loop and no
	 * forward pointer (RFC 1035 §4.1.4 only ever points back at a name
	 * already written). The first bound is the name's own start: a
	 * pointer into its own labels would loop through them. */
	size_t limit = off, pos = off, outlen = 0;
	unsigned hops = 0;
	bool jumped = false;

	for (;;) {
		if (pos >= len)
			return -EBADMSG;
		uint8_t c = p[pos];
		if ((c & 0xc0) == 0xc0) {
			if (!allow_ptr || pos + 1 >= len)
				return -EBADMSG;
			size_t t = (size_t)(c & 0x3f) << 8 | p[pos + 1];
			if (t >= limit || ++hops > DNS_PTR_HOPS_MAX)
				return -EBADMSG;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			limit = pos = t;
			continue;
		}
		/* 0x40 and 0x80: extended and reserved label types (RFC 6891
		 * §5), never valid. What remains is a length of 0..63. */
		if (c & 0xc0)
			return -EBADMSG;
		if (outlen + 1 + c > DNS_NAME_MAX || c >= len - pos)
			return -EBADMSG;
		memcpy(out->wire + outlen, p + pos, 1 + (size_t)c);
		outlen += 1 + (size_t)c;
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	if (!jumped)
		*next = pos;
	out->len = (uint16_t)outlen;
	return 0;
}

/* One resource record's fixed part, after its owner name. */
struct rr {
	struct dns_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdata;     /* offset of RDATA */
	uint16_t rdlen;
};

/* The record at *off; *off moves past it. The RDATA must lie inside the
 * packet (the RDLENGTH the sender claims is checked, never trusted). */
static int read_rr(const uint8_t *p, size_t len, size_t *off, struct rr *r)
{
	size_t o;
	int ret = dns_read_name(p, len, *off, true, &r->owner, &o);
	if (ret < 0)
		return ret;
	if (len - o < 10)
		return -EBADMSG;
	r->type = rd16(p + o);
	r->rclass = rd16(p + o + 2);
	r->ttl = rd32(p + o + 4);
	r->rdlen = rd16(p + o + 8);
	r->rdata = o + 10;
	if (r->rdlen > len - r->rdata)
		return -EBADMSG;
	*off = r->rdata + r->rdlen;
	return 0;
}

/* The question at *off (after the header): name, type, class. */
static int read_question(const uint8_t *p, size_t len, size_t *off, bool allow_ptr,
			 struct dns_name *name, uint16_t *type, uint16_t *qclass)
{
	size_t o;
	int r = dns_read_name(p, len, *off, allow_ptr, name, &o);
	if (r < 0)
		return r;
	if (len - o < 4)
		return -EBADMSG;
	*type = rd16(p + o);
	*qclass = rd16(p + o + 2);
	*off = o + 4;
	return 0;
}

int dns_parse_query(const uint8_t *p, size_t len, struct dns_query *q)
{
	memset(q, 0, sizeof(*q));
	if (len < DNS_HDR_SIZE)
		return -EBADMSG;
	q->id = rd16(p);
	q->flags = rd16(p + 2);
	unsigned qd = rd16(p + 4), an = rd16(p + 6), ns = rd16(p + 8), ar = rd16(p + 10);
	/* Exactly one question: QDCOUNT 0 has nothing to match against a
	 * policy, and a second question would be a name the policy never saw
	 * (servers answer only the first, but the upstream would still see it
	 * if the query were passed on as is). */
	if ((q->flags & DNS_FLAG_QR) || qd != 1 || an != 0 || ns != 0)
		return -EBADMSG;
	size_t off = DNS_HDR_SIZE;
	int r = read_question(p, len, &off, false, &q->qname, &q->qtype, &q->qclass);
	if (r < 0)
		return r;
	/* The additional records are only read for OPT; each must parse
	 * within the packet, and there may be one OPT (RFC 6891 §6.1.1). */
	for (unsigned i = 0; i < ar; i++) {
		struct rr rr;
		r = read_rr(p, len, &off, &rr);
		if (r < 0)
			return r;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		if (q->edns || rr.owner.len != 1)
			return -EBADMSG;
		q->edns = true;
		q->edns_size = rr.rclass;
		q->edns_do = (rr.ttl & 0x8000u) != 0;
	}
	return 0;
}

/* Header + question of q into out: the part both builders share. */
static int put_question(const struct dns_query *q, uint16_t id, unsigned flags, unsigned arcount,
			uint8_t *out, size_t cap)
{
	size_t need = DNS_HDR_SIZE + (size_t)q->qname.len + 4;
	if (q->qname.len == 0 || q->qname.len > DNS_NAME_MAX || cap < need)
		return -ENOSPC;
	memset(out, 0, DNS_HDR_SIZE);
	wr16(out, id);
	wr16(out + 2, flags);
	wr16(out + 4, 1);
	wr16(out + 10, arcount);
	memcpy(out + DNS_HDR_SIZE, q->qname.wire, q->qname.len);
	wr16(out + DNS_HDR_SIZE + q->qname.len, q->qtype);
	wr16(out + DNS_HDR_SIZE + q->qname.len + 2, q->qclass);
	return (int)need;
}

int dns_build_query(const struct dns_query *q, uint16_t id, uint8_t *out, size_t cap)
{
	unsigned flags = q->flags & (DNS_FLAG_RD | DNS_FLAG_CD); /* opcode QUERY */
	int n = put_question(q, id, flags, q->edns ? 1 : 0, out, cap);
	if (n < 0 || !q->edns)
		return n;
	if (cap - (size_t)n < 11)
		return -ENOSPC;
	/* OPT (RFC 6891 §6.1.2): root owner, type, UDP size as class, then
	 * extended RCODE 0, version 0, flags (DO), no options. Sizes under
	 * 512 mean 512 (§6.2.5); over DNS_RESPONSE_MAX the relay's buffer
	 * would cut the response. */
	unsigned size = q->edns_size < 512 ? 512 : q->edns_size;
	if (size > DNS_RESPONSE_MAX)
		size = DNS_RESPONSE_MAX;
	uint8_t *o = out + n;
	memset(o, 0, 11);
	wr16(o + 1, DNS_TYPE_OPT);
	wr16(o + 3, size);
	wr16(o + 7, q->edns_do ? 0x8000u : 0);
	return n + 11;
}

int dns_build_reply(const struct dns_query *q, unsigned rcode, uint8_t *out, size_t cap)
{
	unsigned flags = DNS_FLAG_QR | (q->flags & 0x7800u) /* opcode */ |
			 (q->flags & DNS_FLAG_RD) | DNS_FLAG_RA | (rcode & 0xfu);
	return put_question(q, q->id, flags, 0, out, cap);
}

/* Offset of the answer section after checking the header and question. */
static int response_question(const uint8_t *p, size_t len, struct dns_name *name,
			     uint16_t *type, uint16_t *qclass, size_t *off)
{
	if (len < DNS_HDR_SIZE)
		return -EBADMSG;
	unsigned flags = rd16(p + 2);
	if (!(flags & DNS_FLAG_QR) || DNS_OPCODE(flags) != 0 || rd16(p + 4) != 1)
		return -EBADMSG;
	*off = DNS_HDR_SIZE;
	return read_question(p, len, off, true, name, type, qclass);
}

int dns_response_check(const uint8_t *p, size_t len, uint16_t id, const struct dns_query *q)
{
	struct dns_name name;
	uint16_t type, qclass;
	size_t off;
	int r = response_question(p, len, &name, &type, &qclass, &off);
	if (r < 0)
		return r;
	/* Case-insensitive: resolvers need not echo the case we sent (some
	 * randomize it themselves, draft-vixie-dnsext-dns0x20). */
	if (rd16(p) != id || type != q->qtype || qclass != q->qclass ||
	    !dns_name_eq(&name, &q->qname))
		return -ESRCH;
	return 0;
}

/* One pass over the answer section for the chain's current name: its A
 * and AAAA records into out, and its first CNAME target into *cname (cname->len 0
 * when it has none). */
static int answer_pass(const uint8_t *p, size_t len, size_t off, unsigned ancount, bool tc,
		       const struct dns_name *cur, struct dns_addr *out, size_t cap, size_t *n,
		       struct dns_name *cname)
{
	cname->len = 0;
	for (unsigned i = 0; i < ancount; i++) {
		struct rr rr;
		int r = read_rr(p, len, &off, &rr);
		if (r < 0)
			/* A truncated response may end inside a record. */
			return tc ? 0 : r;
		if (rr.rclass != DNS_CLASS_IN || !dns_name_eq(&rr.owner, cur))
			continue;
		if (rr.type == DNS_TYPE_A || rr.type == DNS_TYPE_AAAA) {
			bool v6 = rr.type == DNS_TYPE_AAAA;
			if (rr.rdlen != (v6 ? 16 : 4))
				return -EBADMSG;
			if (*n < cap) {
				memset(&out[*n], 0, sizeof(out[*n]));
				out[*n].v6 = v6;
				if (v6)
					memcpy(out[*n].addr6, p + rr.rdata, 16);
				else
					memcpy(&out[*n].addr_be, p + rr.rdata, 4);
				out[*n].ttl = rr.ttl & 0x80000000u ? 0 : rr.ttl;
				(*n)++;
			}
		} else if (rr.type == DNS_TYPE_CNAME && cname->len == 0) {
			/* The target may be compressed, but its own bytes must
			 * end exactly where the RDATA does. */
			size_t end;
			r = dns_read_name(p, len, rr.rdata, true, cname, &end);
			if (r < 0 || end != rr.rdata + rr.rdlen)
				return -EBADMSG;
		}
	}
	return 0;
}

int dns_response_addrs(const uint8_t *p, size_t len, const struct dns_name *qname,
		       struct dns_addr *out, size_t cap)
{
	struct dns_name qn, next, chain[DNS_CNAME_HOPS_MAX + 1];
	uint16_t type, qclass;
	size_t off, n = 0;
	int r = response_question(p, len, &qn, &type, &qclass, &off);
	if (r < 0)
		return r;
	unsigned ancount = rd16(p + 6);
	bool tc = (rd16(p + 2) & DNS_FLAG_TC) != 0;
	/* The chain starts at the name that was allowed, never at a name the
	 * answer introduces: an A record for any other owner is ignored. Each
	 * link is one more pass; a name seen before ends a loop (a -> b -> a),
	 * the hop bound a long chain. */
	chain[0] = *qname;
	for (unsigned hop = 0; hop <= DNS_CNAME_HOPS_MAX; hop++) {
		r = answer_pass(p, len, off, ancount, tc, &chain[hop], out, cap, &n, &next);
		if (r < 0)
			return r;
		bool seen = next.len == 0;
		for (unsigned i = 0; i <= hop && !seen; i++)
			seen = dns_name_eq(&chain[i], &next);
		if (seen || hop == DNS_CNAME_HOPS_MAX)
			break;
		chain[hop + 1] = next;
	}
	return (int)n;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static bool wire_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

bool dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
	return a->len == b->len && wire_eq(a->wire, b->wire, a->len);
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int dns_pattern_parse(const char *text, struct dns_pattern *out)
{
	memset(out, 0, sizeof(*out));
	if (!text)
		return -EINVAL;
	if (text[0] == '*' && text[1] == '.') {
		out->wildcard = true;
		text += 2;
	}
	size_t n = strlen(text);
	if (n > 0 && text[n - 1] == '.')
		n--;
	/* Dotted text of n bytes is n + 2 wire bytes (one length byte per
	 * label, the root byte). An empty name (the root, or a bare "*")
	 * would allow everything: that is open mode, not a pattern. */
	if (n == 0 || n + 2 > DNS_NAME_MAX)
		return -EINVAL;
	size_t w = 0;
	for (size_t i = 0; i < n;) {
		size_t l = 0;
		while (i + l < n && text[i + l] != '.') {
			if (!host_char(text[i + l]))
				return -EINVAL;
			l++;
		}
		if (l == 0 || l > DNS_LABEL_MAX)
			return -EINVAL;
		out->name.wire[w++] = (uint8_t)l;
		memcpy(out->name.wire + w, text + i, l);
		w += l;
		i += l + 1;
	}
	out->name.wire[w++] = 0;
	out->name.len = (uint16_t)w;
	return 0;
}

bool dns_pattern_match(const struct dns_pattern *pat, const struct dns_name *name)
{
	if (!pat->wildcard)
		return dns_name_eq(&pat->name, name);
	/* Strictly below: the suffix must start at a label boundary after
	 * the first label. Walking the labels from the start is what makes it
	 * a boundary (a byte-wise suffix test would match "xexample.com"). */
	for (size_t o = 0; o < name->len && name->wire[o] != 0;) {
		o += 1 + (size_t)name->wire[o];
		if (o > name->len)
			return false;
		if (name->len - o == pat->name.len &&
		    wire_eq(name->wire + o, pat->name.wire, pat->name.len))
			return true;
	}
	return false;
}

int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap)
{
	size_t w = 0;
	if (cap == 0)
		return -ENOSPC;
	for (size_t o = 0; o < n->len && n->wire[o] != 0;) {
		size_t l = n->wire[o++];
		if (l > n->len - o)
			return -EINVAL;
		if (w > 0) {
			if (w + 1 >= cap)
				return -ENOSPC;
			buf[w++] = '.';
		}
		for (size_t i = 0; i < l; i++, o++) {
			char c = (char)n->wire[o];
			if (host_char(c)) {
				if (w + 1 >= cap)
					return -ENOSPC;
				buf[w++] = c;
			} else {
				if (w + 4 >= cap)
					return -ENOSPC;
				snprintf(buf + w, 5, "\\%03u", (unsigned)n->wire[o]);
				w += 4;
			}
		}
	}
	if (w == 0) {
		if (cap < 2)
			return -ENOSPC;
		buf[w++] = '.';
	}
	buf[w] = '\0';
	return (int)w;
}

/* One address token of a nameserver line (NUL-terminated). */
static bool parse_ns_addr(char *tok, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, tok, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		return true;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char *pct = strchr(tok, '%');
	unsigned long scope = 0;
	if (pct) {
		char *end;
		*pct = '\0';
		if (pct[1] < '0' || pct[1] > '9')
			return false;
		errno = 0;
		scope = strtoul(pct + 1, &end, 10);
		if (errno || *end || scope > UINT32_MAX)
			return false;
	}
	if (inet_pton(AF_INET6, tok, &s6->sin6_addr) != 1)
		return false;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(53);
	s6->sin6_scope_id = (uint32_t)scope;
	return true;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

size_t dns_parse_resolv_conf(const char *text, size_t len, struct sockaddr_storage *out,
			     size_t cap)
{
	static const char kw[] = "nameserver";
	size_t n = 0;
	for (size_t off = 0; off < len && n < cap;) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - line) : len - off;
		off += ll + 1;
		/* The keyword starts the line and is followed by blanks. */
		if (ll <= sizeof(kw) - 1 || memcmp(line, kw, sizeof(kw) - 1) != 0 ||
		    !blank(line[sizeof(kw) - 1]))
			continue;
		size_t i = sizeof(kw) - 1;
		while (i < ll && blank(line[i]))
			i++;
		size_t t = i;
		while (t < ll && !blank(line[t]) && line[t] != '#' && line[t] != ';')
			t++;
		char tok[INET6_ADDRSTRLEN + 16];
		if (t == i || t - i >= sizeof(tok))
			continue;
		memcpy(tok, line + i, t - i);
		tok[t - i] = '\0';
		if (parse_ns_addr(tok, &out[n]))
			n++;
	}
	return n;
}
