/* SPDX-License-Identifier: MIT */
/* cmocka tests for launcher/dns.c (the DNS parser and builders, against
 * hand-built good and hostile packets, name patterns, resolv.conf) and
 * launcher/dnsproxy.c live on loopback: a fake upstream resolver and a
 * "guest" socket in this process, the proxy between them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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

#include "dns.h"
#include "dnsproxy.h"

#define DNS_TYPE_TXT_FOR_TEST 16

/* ---- packet builder ------------------------------------------------------- */

struct pkt {
	uint8_t b[8192];
	size_t n;
};

static void p8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static void p16(struct pkt *p, unsigned v)
{
	p8(p, v >> 8);
	p8(p, v);
}

static void p32(struct pkt *p, uint32_t v)
{
	p16(p, v >> 16);
	p16(p, v & 0xffff);
}

/* "a.b.c" as labels and the root byte; "" is the root. */
static void pname(struct pkt *p, const char *dotted)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
		p8(p, (unsigned)l);
		memcpy(p->b + p->n, dotted, l);
		p->n += l;
		dotted += l + (dot ? 1 : 0);
	}
	p8(p, 0);
}

static void pptr(struct pkt *p, size_t off)
{
	p16(p, 0xc000u | (unsigned)off);
}

static void phdr(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
		 unsigned ns, unsigned ar)
{
	p->n = 0;
	p16(p, id);
	p16(p, flags);
	p16(p, qd);
	p16(p, an);
	p16(p, ns);
	p16(p, ar);
}

static void pq(struct pkt *p, const char *name, unsigned type, unsigned qclass)
{
	pname(p, name);
	p16(p, type);
	p16(p, qclass);
}

/* A record's fixed part after its owner. */
static void prr(struct pkt *p, unsigned type, unsigned rclass, uint32_t ttl, unsigned rdlen)
{
	p16(p, type);
	p16(p, rclass);
	p32(p, ttl);
	p16(p, rdlen);
}

static void pa(struct pkt *p, uint32_t ttl, unsigned a, unsigned b, unsigned c, unsigned d)
{
	prr(p, DNS_TYPE_A, DNS_CLASS_IN, ttl, 4);
	p8(p, a);
	p8(p, b);
	p8(p, c);
	p8(p, d);
}

static void popt(struct pkt *p, unsigned size, bool dnssec_ok)
{
	p8(p, 0);
	prr(p, DNS_TYPE_OPT, size, dnssec_ok ? 0x8000u : 0, 0);
}

static uint32_t ip(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return htonl((uint32_t)(a << 24 | b << 16 | c << 8 | d));
}

static struct dns_name wname(const char *dotted)
{
	struct pkt p = { .n = 0 };
	struct dns_name n;
	pname(&p, dotted);
	n.len = (uint16_t)p.n;
	memcpy(n.wire, p.b, p.n);
	return n;
}

static void query(struct pkt *p, unsigned id, const char *name, unsigned type)
{
	phdr(p, id, DNS_FLAG_RD, 1, 0, 0, 0);
	pq(p, name, type, DNS_CLASS_IN);
}

/* ---- queries ------------------------------------------------------------------- */

static void test_query_good(void **state)
{
	struct pkt p;
	struct dns_query q;
	char text[DNS_TEXT_MAX];

	phdr(&p, 0xbeef, DNS_FLAG_RD | DNS_FLAG_CD, 1, 0, 0, 1);
	pq(&p, "www.Example.com", DNS_TYPE_AAAA, DNS_CLASS_IN);
	popt(&p, 1232, true);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), 0);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_true(q.edns);
	assert_int_equal(q.edns_size, 1232);
	assert_true(q.edns_do);
	assert_int_equal(dns_name_to_text(&q.qname, text, sizeof(text)), 15);
	assert_string_equal(text, "www.Example.com");
	struct dns_name lc = wname("www.example.COM");
	assert_true(dns_name_eq(&q.qname, &lc));

	/* Trailing bytes are ignored (never forwarded); no OPT: no EDNS. */
	query(&p, 7, "a.b", DNS_TYPE_A);
	p8(&p, 0xff);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), 0);
	assert_false(q.edns);

	/* The longest name: 255 wire bytes (63+63+63+61 and the root). */
	char big[300];
	memset(big, 'a', sizeof(big));
	big[63] = big[127] = big[191] = '.';
	big[253] = '\0';
	query(&p, 1, big, DNS_TYPE_A);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), 0);
	assert_int_equal(q.qname.len, 255);
}

static void test_query_hostile(void **state)
{
	struct pkt p;
	struct dns_query q;

	query(&p, 1, "example.com", DNS_TYPE_A);
	/* Every truncation, header and question. */
	for (size_t n = 0; n < p.n; n++)
		assert_int_equal(dns_parse_query(p.b, n, &q), -EBADMSG);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), 0);

	/* QDCOUNT 0 and 2; QR set; answers or authority in a query. */
	const unsigned bad[][5] = {
		{ 0, 0, 0, 0, 0 }, { 0, 2, 0, 0, 0 }, { DNS_FLAG_QR, 1, 0, 0, 0 },
		{ 0, 1, 1, 0, 0 }, { 0, 1, 0, 1, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		phdr(&p, 1, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4]);
		pq(&p, "example.com", DNS_TYPE_A, DNS_CLASS_IN);
		pq(&p, "example.org", DNS_TYPE_A, DNS_CLASS_IN);
		assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
	}

	/* A label of 64 (0x40: an extended label type), 0x80, and a name of
	 * 256 wire bytes. */
	phdr(&p, 1, 0, 1, 0, 0, 0);
	p8(&p, 64);
	memset(p.b + p.n, 'a', 64);
	p.n += 64;
	p8(&p, 0);
	p32(&p, 0x00010001);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
	p.b[DNS_HDR_SIZE] = 0x80;
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
	char big[300];
	memset(big, 'a', sizeof(big));
	big[63] = big[127] = big[191] = '.';
	big[254] = '\0'; /* 63+63+63+62: 256 wire bytes */
	query(&p, 1, big, DNS_TYPE_A);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
	memset(big, 'a', sizeof(big));
	for (int i = 63; i < 299; i += 64)
		big[i] = '.';
	big[299] = '\0';
	query(&p, 1, big, DNS_TYPE_A);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);

	/* A compression pointer in the question, even a "valid" one. */
	phdr(&p, 1, 0, 1, 0, 0, 0);
	p8(&p, 3);
	memcpy(p.b + p.n, "www", 3);
	p.n += 3;
	pptr(&p, 0);
	p32(&p, 0x00010001);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);

	/* Additional records: a truncated OPT, two OPTs, RDLENGTH past the
	 * end, ARCOUNT beyond what is there. */
	phdr(&p, 1, 0, 1, 0, 0, 1);
	pq(&p, "a.com", DNS_TYPE_A, DNS_CLASS_IN);
	size_t qend = p.n;
	popt(&p, 4096, false);
	for (size_t n = qend; n < p.n; n++)
		assert_int_equal(dns_parse_query(p.b, n, &q), -EBADMSG);
	p.b[11] = 2;
	popt(&p, 4096, false);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
	p.b[11] = 1;
	p.n = qend;
	p8(&p, 0);
	prr(&p, DNS_TYPE_OPT, 4096, 0, 10);
	p8(&p, 0);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
	p.n = qend;
	p.b[11] = 3;
	popt(&p, 4096, false);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), -EBADMSG);
}

static void test_build(void **state)
{
	struct pkt p;
	struct dns_query q, back;
	uint8_t out[600];

	phdr(&p, 0x1111, DNS_FLAG_RD | DNS_FLAG_CD | 0x0400 /* AA: not passed */, 1, 0, 0, 1);
	pq(&p, "PyPI.org", DNS_TYPE_A, DNS_CLASS_IN);
	popt(&p, 65000, true);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), 0);
	int n = dns_build_query(&q, 0x2222, out, sizeof(out));
	assert_int_equal(n, DNS_HDR_SIZE + 10 + 4 + 11);
	assert_int_equal(out[0] << 8 | out[1], 0x2222);
	assert_int_equal(out[2] << 8 | out[3], DNS_FLAG_RD | DNS_FLAG_CD);
	assert_int_equal(dns_parse_query(out, (size_t)n, &back), 0);
	assert_true(dns_name_eq(&back.qname, &q.qname));
	assert_int_equal(back.edns_size, DNS_RESPONSE_MAX); /* clamped */
	assert_true(back.edns_do);
	assert_int_equal(dns_build_query(&q, 1, out, (size_t)n - 1), -ENOSPC);

	q.edns_size = 100; /* below 512 means 512 (RFC 6891 §6.2.5) */
	n = dns_build_query(&q, 1, out, sizeof(out));
	assert_int_equal(dns_parse_query(out, (size_t)n, &back), 0);
	assert_int_equal(back.edns_size, 512);
	q.edns = false;
	assert_int_equal(dns_build_query(&q, 1, out, sizeof(out)), DNS_HDR_SIZE + 14);

	n = dns_build_reply(&q, DNS_RCODE_REFUSED, out, sizeof(out));
	assert_int_equal(n, DNS_HDR_SIZE + 14);
	assert_int_equal(out[0] << 8 | out[1], 0x1111);
	unsigned fl = (unsigned)(out[2] << 8 | out[3]);
	assert_true(fl & DNS_FLAG_QR);
	assert_true(fl & DNS_FLAG_RD);
	assert_true(fl & DNS_FLAG_RA);
	assert_int_equal(DNS_RCODE(fl), DNS_RCODE_REFUSED);
	assert_int_equal(out[5], 1);
	assert_int_equal(out[7] | out[9] | out[11], 0);
	assert_memory_equal(out + DNS_HDR_SIZE, "\4PyPI\3org\0", 10); /* case kept */
	assert_int_equal(dns_response_check(out, (size_t)n, 0x1111, &q), 0);
	assert_int_equal(dns_build_reply(&q, 2, out, 20), -ENOSPC);
}

/* ---- responses ------------------------------------------------------------------- */

/* A response for pypi.org A: CNAME pypi.org -> cdn.fastly.net (compressed
 * target), then A records of several owners, an AAAA, an A of PYPI.ORG
 * with a TTL whose top bit is set. */
static void pypi_response(struct pkt *p, unsigned id)
{
	phdr(p, id, DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, 1, 6, 0, 0);
	pq(p, "pypi.org", DNS_TYPE_A, DNS_CLASS_IN);
	pptr(p, DNS_HDR_SIZE);                         /* pypi.org */
	size_t at = p->n;
	prr(p, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, 0);
	size_t rd = p->n;
	p8(p, 3);
	memcpy(p->b + p->n, "cdn", 3);
	p->n += 3;
	size_t fastly = p->n;
	pname(p, "fastly.net");
	p->b[at + 9] = (uint8_t)(p->n - rd);           /* RDLENGTH */
	pptr(p, rd);                                   /* cdn.fastly.net */
	pa(p, 60, 1, 2, 3, 4);
	pname(p, "other.net");
	pa(p, 60, 6, 6, 6, 6);                         /* not on the chain */
	pptr(p, rd);
	prr(p, DNS_TYPE_AAAA, DNS_CLASS_IN, 60, 16);   /* on the chain: reported */
	memset(p->b + p->n, 0x20, 16);
	p->n += 16;
	p8(p, 4);
	memcpy(p->b + p->n, "PYPI", 4);
	p->n += 4;
	pptr(p, DNS_HDR_SIZE + 5);                     /* org */
	pa(p, 0x80000001u, 5, 6, 7, 8);
	pptr(p, fastly);                               /* fastly.net: not on it */
	pa(p, 60, 9, 9, 9, 9);
}

static void test_response_good(void **state)
{
	struct pkt p;
	struct dns_query q;
	struct dns_addr a[DNS_ADDRS_MAX];
	struct dns_name qn = wname("pypi.org");

	pypi_response(&p, 77);
	int n = dns_response_addrs(p.b, p.n, &qn, a, DNS_ADDRS_MAX);
	assert_int_equal(n, 3);
	assert_false(a[0].v6);
	assert_int_equal(a[0].addr_be, ip(5, 6, 7, 8));
	assert_int_equal(a[0].ttl, 0);
	assert_false(a[1].v6);
	assert_int_equal(a[1].addr_be, ip(1, 2, 3, 4));
	assert_int_equal(a[1].ttl, 60);
	uint8_t six[16];
	memset(six, 0x20, sizeof(six));
	assert_true(a[2].v6);
	assert_memory_equal(a[2].addr6, six, 16);
	assert_int_equal(a[2].ttl, 60);
	assert_int_equal(dns_response_addrs(p.b, p.n, &qn, a, 1), 1); /* cap */

	/* A chain must start at the asked name. */
	struct dns_name other = wname("other.org");
	assert_int_equal(dns_response_addrs(p.b, p.n, &other, a, DNS_ADDRS_MAX), 0);

	/* Matching: the ID and the question. */
	query(&p, 5, "PyPi.Org", DNS_TYPE_A);
	assert_int_equal(dns_parse_query(p.b, p.n, &q), 0);
	pypi_response(&p, 77);
	assert_int_equal(dns_response_check(p.b, p.n, 77, &q), 0);
	assert_int_equal(dns_response_check(p.b, p.n, 78, &q), -ESRCH);
	q.qtype = DNS_TYPE_AAAA;
	assert_int_equal(dns_response_check(p.b, p.n, 77, &q), -ESRCH);
	q.qtype = DNS_TYPE_A;
	q.qname = wname("pypi.org.evil");
	assert_int_equal(dns_response_check(p.b, p.n, 77, &q), -ESRCH);
	q.qname = wname("pypi.org");
	p.b[2] &= 0x7f; /* QR clear: not a response */
	assert_int_equal(dns_response_check(p.b, p.n, 77, &q), -EBADMSG);

	/* A CNAME loop ends at the hop bound. */
	phdr(&p, 1, DNS_FLAG_QR, 1, 3, 0, 0);
	pq(&p, "a.x", DNS_TYPE_A, DNS_CLASS_IN);
	pname(&p, "a.x");
	prr(&p, DNS_TYPE_CNAME, DNS_CLASS_IN, 1, 5);
	pname(&p, "b.x");
	pname(&p, "b.x");
	prr(&p, DNS_TYPE_CNAME, DNS_CLASS_IN, 1, 5);
	pname(&p, "a.x");
	pname(&p, "b.x");
	pa(&p, 9, 10, 0, 0, 1);
	struct dns_name ax = wname("a.x");
	n = dns_response_addrs(p.b, p.n, &ax, a, DNS_ADDRS_MAX);
	assert_int_equal(n, 1); /* b.x's A, once */
	assert_int_equal(a[0].addr_be, ip(10, 0, 0, 1));
}

static void test_response_hostile(void **state)
{
	struct pkt p, base;
	struct dns_addr a[DNS_ADDRS_MAX];
	struct dns_name qn = wname("pypi.org"), name;
	size_t next;

	/* Every truncation fails cleanly; with TC set, what precedes the cut
	 * counts. */
	pypi_response(&base, 1);
	for (size_t n = 0; n < base.n; n++)
		assert_int_equal(dns_response_addrs(base.b, n, &qn, a, DNS_ADDRS_MAX), -EBADMSG);
	base.b[2] |= DNS_FLAG_TC >> 8;
	for (size_t n = DNS_HDR_SIZE + 14; n < base.n; n++)
		assert_in_range(dns_response_addrs(base.b, n, &qn, a, DNS_ADDRS_MAX), 0, 3);

	/* Answer owners: a pointer to itself, forward, past the packet, a
	 * two-pointer loop. */
	size_t ans;
	const size_t targets[] = { 0, 1, 2, 500, 0x3fff };
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		phdr(&p, 1, DNS_FLAG_QR, 1, 1, 0, 0);
		pq(&p, "pypi.org", DNS_TYPE_A, DNS_CLASS_IN);
		ans = p.n;
		pptr(&p, targets[i] < 3 ? ans + targets[i] : targets[i]);
		pa(&p, 1, 1, 1, 1, 1);
		assert_int_equal(dns_response_addrs(p.b, p.n, &qn, a, DNS_ADDRS_MAX), -EBADMSG);
	}
	phdr(&p, 1, DNS_FLAG_QR, 1, 1, 0, 0);
	pq(&p, "pypi.org", DNS_TYPE_A, DNS_CLASS_IN);
	ans = p.n;
	pptr(&p, ans + 2); /* -> the next pointer, which points back here */
	pptr(&p, ans);
	assert_int_equal(dns_read_name(p.b, p.n, ans + 2, true, &name, &next), -EBADMSG);
	assert_int_equal(dns_read_name(p.b, p.n, ans, true, &name, &next), -EBADMSG);
	/* A label that runs back into the pointer that led to it. */
	phdr(&p, 1, 0, 0, 0, 0, 0);
	p8(&p, 1);
	p8(&p, 'a');
	pptr(&p, DNS_HDR_SIZE);
	assert_int_equal(dns_read_name(p.b, p.n, DNS_HDR_SIZE + 2, true, &name, &next), -EBADMSG);
	assert_int_equal(dns_read_name(p.b, p.n, DNS_HDR_SIZE, true, &name, &next), -EBADMSG);

	/* A backward chain of pointers: DNS_PTR_HOPS_MAX is fine, one more
	 * is not. */
	phdr(&p, 1, 0, 0, 0, 0, 0);
	pname(&p, "z");
	size_t prev = DNS_HDR_SIZE;
	for (int i = 0; i < DNS_PTR_HOPS_MAX + 1; i++) {
		size_t here = p.n;
		pptr(&p, prev);
		prev = here;
	}
	assert_int_equal(dns_read_name(p.b, p.n, prev - 2, true, &name, &next), 0);
	assert_int_equal(next, prev);
	assert_int_equal(name.len, 3);
	assert_int_equal(dns_read_name(p.b, p.n, prev, true, &name, &next), -EBADMSG);
	assert_int_equal(dns_read_name(p.b, p.n, prev, false, &name, &next), -EBADMSG);

	/* A name that decompresses past 255 bytes. */
	phdr(&p, 1, 0, 0, 0, 0, 0);
	size_t start = p.n;
	for (int i = 0; i < 3; i++) {
		p8(&p, 63);
		memset(p.b + p.n, 'x', 63);
		p.n += 63;
	}
	p8(&p, 0);
	size_t outer = p.n;
	p8(&p, 63);
	memset(p.b + p.n, 'y', 63);
	p.n += 63;
	pptr(&p, start);
	assert_int_equal(dns_read_name(p.b, p.n, start, true, &name, &next), 0);
	assert_int_equal(dns_read_name(p.b, p.n, outer, true, &name, &next), -EBADMSG);

	/* RDLENGTH past the end; an A of 5 bytes; a CNAME target that runs
	 * past its RDATA; ANCOUNT far beyond the packet. */
	phdr(&p, 1, DNS_FLAG_QR, 1, 1, 0, 0);
	pq(&p, "pypi.org", DNS_TYPE_A, DNS_CLASS_IN);
	ans = p.n;
	pptr(&p, DNS_HDR_SIZE);
	prr(&p, DNS_TYPE_TXT_FOR_TEST, DNS_CLASS_IN, 1, 200);
	p32(&p, 0);
	assert_int_equal(dns_response_addrs(p.b, p.n, &qn, a, DNS_ADDRS_MAX), -EBADMSG);
	p.n = ans;
	pptr(&p, DNS_HDR_SIZE);
	prr(&p, DNS_TYPE_A, DNS_CLASS_IN, 1, 5);
	p32(&p, 0x01020304);
	p8(&p, 5);
	assert_int_equal(dns_response_addrs(p.b, p.n, &qn, a, DNS_ADDRS_MAX), -EBADMSG);
	p.n = ans;
	pptr(&p, DNS_HDR_SIZE);
	prr(&p, DNS_TYPE_CNAME, DNS_CLASS_IN, 1, 3);
	pname(&p, "abcdef");
	assert_int_equal(dns_response_addrs(p.b, p.n, &qn, a, DNS_ADDRS_MAX), -EBADMSG);
	p.n = ans;
	p.b[6] = p.b[7] = 0xff;
	pptr(&p, DNS_HDR_SIZE);
	pa(&p, 1, 1, 1, 1, 1);
	assert_int_equal(dns_response_addrs(p.b, p.n, &qn, a, DNS_ADDRS_MAX), -EBADMSG);

	/* Random bytes and random corruptions of a good response never crash
	 * (run under make asan for the over-read check). */
	srandom(42);
	for (int it = 0; it < 20000; it++) {
		struct dns_query q;
		pypi_response(&p, 1);
		size_t n = 1 + (size_t)random() % p.n;
		for (int k = 0; k < 1 + it % 4; k++)
			p.b[(size_t)random() % n] = (uint8_t)random();
		if (it % 5 == 0)
			for (size_t k = 0; k < n; k++)
				p.b[k] = (uint8_t)random();
		(void)dns_response_addrs(p.b, n, &qn, a, DNS_ADDRS_MAX);
		if (dns_parse_query(p.b, n, &q) == 0)
			(void)dns_response_check(p.b, n, 1, &q);
	}
}

/* ---- names ------------------------------------------------------------------------ */

static bool matches(const char *pattern, const char *name)
{
	struct dns_pattern pat;
	struct dns_name n = wname(name);
	assert_int_equal(dns_pattern_parse(pattern, &pat), 0);
	return dns_pattern_match(&pat, &n);
}

static void test_names(void **state)
{
	struct dns_pattern pat;
	char text[DNS_TEXT_MAX];

	assert_true(matches("pypi.org", "pypi.org"));
	assert_true(matches("pypi.org", "PyPI.ORG"));
	assert_true(matches("pypi.org.", "pypi.org"));
	assert_false(matches("pypi.org", "www.pypi.org"));
	assert_false(matches("pypi.org", "pypi.org.evil.com"));
	assert_false(matches("pypi.org", "xpypi.org"));
	assert_true(matches("*.example.com", "a.example.com"));
	assert_true(matches("*.example.com", "a.b.Example.COM"));
	assert_false(matches("*.example.com", "example.com"));
	assert_false(matches("*.example.com", "xexample.com"));
	assert_false(matches("*.example.com", "a.example.com.evil"));
	assert_true(matches("_dmarc.Example.com", "_DMARC.example.com"));

	/* One label holding a '.' byte is not two labels. */
	struct dns_name one = { .len = 10 };
	memcpy(one.wire, "\x08pypi.org\0", 10);
	assert_int_equal(dns_pattern_parse("pypi.org", &pat), 0);
	assert_false(dns_pattern_match(&pat, &one));
	assert_int_equal(dns_name_to_text(&one, text, sizeof(text)), 11);
	assert_string_equal(text, "pypi\\046org");
	struct dns_name root = { .len = 1 };
	assert_int_equal(dns_name_to_text(&root, text, sizeof(text)), 1);
	assert_string_equal(text, ".");
	struct dns_name www = wname("www.a.b");
	assert_int_equal(dns_name_to_text(&www, text, 7), -ENOSPC);
	assert_int_equal(dns_name_to_text(&www, text, 8), 7);

	const char *bad[] = { "", ".", "*", "*.", "a..b", ".a", "a b", "*.*.com",
			      "foo.*.com", "a/b", "é.com", NULL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dns_pattern_parse(bad[i], &pat), -EINVAL);
	char lab[80];
	memset(lab, 'a', sizeof(lab));
	lab[64] = '\0';
	assert_int_equal(dns_pattern_parse(lab, &pat), -EINVAL);
	lab[63] = '\0';
	assert_int_equal(dns_pattern_parse(lab, &pat), 0);
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	for (int i = 63; i < 299; i += 64)
		longname[i] = '.';
	longname[253] = '\0'; /* 253 characters: 255 wire bytes */
	assert_int_equal(dns_pattern_parse(longname, &pat), 0);
	assert_int_equal(pat.name.len, 255);
	longname[253] = 'a';
	longname[254] = '\0';
	assert_int_equal(dns_pattern_parse(longname, &pat), -EINVAL);
}

static void test_resolv_conf(void **state)
{
	static const char conf[] =
		"# Generated by NetworkManager\n"
		"search example.com\n"
		"options edns0 trust-ad\n"
		"nameserver 127.0.0.53\n"
		"nameserver8.8.8.8\n"
		"  nameserver 9.9.9.9\n"
		"nameserver bogus\n"
		"nameserver fe80::1%eth0\n"
		"; nameserver 1.0.0.1\n"
		"nameserver\t::1   # the local one\n"
		"nameserver fe80::2%3\r\n"
		"nameserver 1.1.1.1\n";
	struct sockaddr_storage ss[DNS_RESOLV_MAX + 1];
	char buf[INET6_ADDRSTRLEN];

	size_t n = dns_parse_resolv_conf(conf, strlen(conf), ss, DNS_RESOLV_MAX);
	assert_int_equal(n, 3);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss[0];
	assert_int_equal(s4->sin_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 53);
	assert_string_equal(inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf)), "127.0.0.53");
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss[1];
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf)), "::1");
	s6 = (struct sockaddr_in6 *)&ss[2];
	assert_string_equal(inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf)), "fe80::2");
	assert_int_equal(s6->sin6_scope_id, 3);
	assert_int_equal(ntohs(s6->sin6_port), 53);
	n = dns_parse_resolv_conf(conf, strlen(conf), ss, DNS_RESOLV_MAX + 1);
	assert_int_equal(n, 4);

	assert_int_equal(dns_parse_resolv_conf("", 0, ss, 3), 0);
	assert_int_equal(dns_parse_resolv_conf("nameserver 10.0.0.1", 19, ss, 3), 1);
	assert_int_equal(dns_parse_resolv_conf("nameserver 10.0.0.1", 12, ss, 3), 0);
	assert_int_equal(dns_parse_resolv_conf("nameserver ", 11, ss, 3), 0);
}

/* ---- the relay, live on loopback ------------------------------------------------- */

struct live {
	int up;      /* the fake upstream resolver */
	int gfd;     /* the proxy's guest socket (in N, in real use) */
	int client;  /* the "guest" */
	struct sockaddr_in up_addr, g_addr;
	struct dnsproxy *px;
	uint32_t addrs[16], ttls[16];
	size_t idxs[16]; /* on_addr's name_idx */
	size_t n_addrs;
	uint8_t addrs6[4][16]; /* on_addr6's */
	size_t idxs6[4], n_addrs6;
};

static int udp_bound(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	if (addr)
		*addr = a;
	return fd;
}

static void on_addr(void *opaque, size_t name_idx, uint32_t addr_be, uint32_t ttl)
{
	struct live *l = opaque;
	if (l->n_addrs < 16) {
		l->addrs[l->n_addrs] = addr_be;
		l->ttls[l->n_addrs] = ttl;
		l->idxs[l->n_addrs] = name_idx;
	}
	l->n_addrs++;
}

static void on_addr6(void *opaque, size_t name_idx, const uint8_t addr[16], uint32_t ttl)
{
	struct live *l = opaque;
	(void)ttl;
	if (l->n_addrs6 < 4) {
		memcpy(l->addrs6[l->n_addrs6], addr, 16);
		l->idxs6[l->n_addrs6] = name_idx;
	}
	l->n_addrs6++;
}

static void live_start(struct live *l, enum dnsproxy_mode mode, const char *const *names,
		       size_t n_names)
{
	struct arca_err e = { 0 };
	memset(l, 0, sizeof(*l));
	l->up = udp_bound(&l->up_addr);
	l->gfd = udp_bound(&l->g_addr);
	l->client = udp_bound(NULL);
	struct sockaddr_storage ups;
	memset(&ups, 0, sizeof(ups));
	memcpy(&ups, &l->up_addr, sizeof(l->up_addr));
	struct dnsproxy_cfg cfg = {
		.guest_fd = l->gfd, .upstreams = &ups, .n_upstreams = 1, .mode = mode,
		.names = names, .n_names = n_names, .on_addr = on_addr, .on_addr6 = on_addr6, .opaque = l,
	};
	assert_int_equal(dnsproxy_new(&cfg, &l->px, &e), 0);
}

static void live_stop(struct live *l)
{
	dnsproxy_free(l->px);
	close(l->up);
	close(l->gfd);
	close(l->client);
}

static bool readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, ms) == 1;
}

static int up_fd(struct live *l)
{
	int fds[DNSPROXY_FDS_MAX];
	assert_int_equal(dnsproxy_fds(l->px, fds, DNSPROXY_FDS_MAX), 2);
	assert_int_equal(fds[0], l->gfd);
	return fds[1];
}

/* The client sends; the proxy handles what its guest socket got. */
static void guest_sends(struct live *l, const struct pkt *p)
{
	assert_int_equal(sendto(l->client, p->b, p->n, 0, (struct sockaddr *)&l->g_addr,
				sizeof(l->g_addr)), (ssize_t)p->n);
	assert_true(readable(l->gfd, 1000));
	assert_int_equal(dnsproxy_on_readable(l->px, l->gfd, 1000), 0);
}

/* What the fake upstream got (length; 0 when nothing within ms). */
static size_t upstream_gets(struct live *l, struct pkt *p, struct sockaddr_in *from, int ms)
{
	if (!readable(l->up, ms))
		return 0;
	socklen_t fl = sizeof(*from);
	ssize_t n = recvfrom(l->up, p->b, sizeof(p->b), MSG_DONTWAIT, (struct sockaddr *)from, &fl);
	assert_true(n > 0);
	p->n = (size_t)n;
	return p->n;
}

static size_t client_gets(struct live *l, struct pkt *p, int ms)
{
	if (!readable(l->client, ms))
		return 0;
	ssize_t n = recv(l->client, p->b, sizeof(p->b), MSG_DONTWAIT);
	assert_true(n > 0);
	p->n = (size_t)n;
	return p->n;
}

/* The fake upstream answers q (as received) from fd with A records. */
static void answer(int fd, const struct sockaddr_in *to, const struct pkt *q, const char *name,
		   uint32_t ttl, unsigned last_octet)
{
	struct pkt r;
	phdr(&r, (unsigned)(q->b[0] << 8 | q->b[1]), DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, 1, 1,
	     0, 0);
	pq(&r, name, DNS_TYPE_A, DNS_CLASS_IN);
	pptr(&r, DNS_HDR_SIZE);
	pa(&r, ttl, 93, 184, 216, last_octet);
	assert_int_equal(sendto(fd, r.b, r.n, 0, (const struct sockaddr *)to, sizeof(*to)),
			 (ssize_t)r.n);
}

static void test_live_open(void **state)
{
	struct live l;
	struct pkt q, got, resp;
	struct sockaddr_in from;
	struct dnsproxy_stats st;

	live_start(&l, DNSPROXY_OPEN, NULL, 0);
	int ufd = up_fd(&l);
	query(&q, 0xbeef, "example.org", DNS_TYPE_A);
	guest_sends(&l, &q);
	assert_true(upstream_gets(&l, &got, &from, 1000) > 0);
	struct dns_query uq, gq;
	assert_int_equal(dns_parse_query(got.b, got.n, &uq), 0);
	assert_int_equal(dns_parse_query(q.b, q.n, &gq), 0);
	assert_true(dns_name_eq(&uq.qname, &gq.qname));

	/* Forged: the right ID and question from another port. The socket is
	 * connected: the kernel drops it before the proxy could see it. */
	int forger = udp_bound(NULL);
	answer(forger, &from, &got, "example.org", 60, 66);
	assert_false(readable(ufd, 100));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	close(forger);
	/* From the right port: a wrong ID, then the right ID with another
	 * question: both dropped, the query still pending. */
	struct pkt wrong = got;
	wrong.b[0] ^= 0x55;
	answer(l.up, &from, &wrong, "example.org", 60, 67);
	answer(l.up, &from, &got, "example.net", 60, 68);
	assert_true(readable(ufd, 1000));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.unmatched, 2);
	assert_int_equal(client_gets(&l, &resp, 50), 0);

	answer(l.up, &from, &got, "EXAMPLE.org", 60, 34);
	assert_true(readable(ufd, 1000));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	assert_true(client_gets(&l, &resp, 1000) > 0);
	assert_int_equal(resp.b[0] << 8 | resp.b[1], 0xbeef); /* the guest's ID back */
	assert_int_equal(resp.b[resp.n - 1], 34);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.forwarded, 1);
	assert_int_equal(st.relayed, 1);
	assert_int_equal(l.n_addrs, 0); /* open mode reports nothing */

	/* A late duplicate: nothing pending any more. */
	answer(l.up, &from, &got, "example.org", 60, 35);
	assert_true(readable(ufd, 1000));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.unmatched, 3);
	assert_int_equal(st.relayed, 1);

	/* Malformed from the guest: counted, no answer, nothing upstream. */
	q.n = 5;
	guest_sends(&l, &q);
	struct pkt big;
	query(&big, 1, "a.b", DNS_TYPE_A);
	memset(big.b + big.n, 0, 600);
	big.n += 600; /* a parseable query over DNS_QUERY_MAX bytes */
	guest_sends(&l, &big);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.malformed, 2);
	assert_int_equal(upstream_gets(&l, &got, &from, 50), 0);
	assert_int_equal(client_gets(&l, &resp, 0), 0);
	assert_int_equal(dnsproxy_on_readable(l.px, 12345, 0), -EBADF);
	live_stop(&l);
}

static void test_live_names(void **state)
{
	/* pypi.org twice, as allow=pypi.org:80,allow=pypi.org:443 gives it */
	static const char *const names[] = { "pypi.org", "*.pythonhosted.org", "other.test",
					     "pypi.org" };
	struct live l;
	struct pkt q, got, resp;
	struct sockaddr_in from;
	struct dnsproxy_stats st;

	live_start(&l, DNSPROXY_NAMES, names, 4);
	int ufd = up_fd(&l);

	/* Unlisted names, the wildcard's own apex, a class other than IN:
	 * REFUSED at once, the upstream sees nothing. */
	const char *refused[] = { "evil.com", "pythonhosted.org", "pypi.org.evil.com" };
	for (size_t i = 0; i < 3; i++) {
		query(&q, 0x100 + (unsigned)i, refused[i], DNS_TYPE_A);
		guest_sends(&l, &q);
		assert_true(client_gets(&l, &resp, 1000) > 0);
		assert_int_equal(resp.b[0] << 8 | resp.b[1], 0x100 + i);
		assert_int_equal(DNS_RCODE(resp.b[3]), DNS_RCODE_REFUSED);
		assert_true(resp.b[2] & 0x80);
	}
	phdr(&q, 0x200, DNS_FLAG_RD, 1, 0, 0, 0);
	pq(&q, "pypi.org", DNS_TYPE_TXT_FOR_TEST, 3 /* CHAOS */);
	guest_sends(&l, &q);
	assert_true(client_gets(&l, &resp, 1000) > 0);
	assert_int_equal(DNS_RCODE(resp.b[3]), DNS_RCODE_REFUSED);
	assert_int_equal(upstream_gets(&l, &got, &from, 100), 0);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.refused, 4);
	assert_int_equal(st.forwarded, 0);

	/* An allowed name: its chain's A records reach on_addr with their
	 * TTLs before the answer reaches the guest, untouched. */
	query(&q, 0x300, "Files.PythonHosted.org", DNS_TYPE_A);
	guest_sends(&l, &q);
	assert_true(upstream_gets(&l, &got, &from, 1000) > 0);
	struct pkt r;
	phdr(&r, (unsigned)(got.b[0] << 8 | got.b[1]), DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA, 1,
	     5, 0, 0);
	pq(&r, "files.pythonhosted.org", DNS_TYPE_A, DNS_CLASS_IN);
	pptr(&r, DNS_HDR_SIZE);
	prr(&r, DNS_TYPE_CNAME, DNS_CLASS_IN, 300, 18);
	size_t target = r.n;
	pname(&r, "dualstack.fastly"); /* 18 wire bytes */
	pptr(&r, target);
	pa(&r, 30, 151, 101, 0, 223);
	pptr(&r, target);
	pa(&r, 31, 151, 101, 64, 223);
	pname(&r, "evil.com");
	pa(&r, 3600, 6, 6, 6, 6);
	pptr(&r, target);
	prr(&r, DNS_TYPE_AAAA, DNS_CLASS_IN, 30, 16);
	memset(r.b + r.n, 0x2a, 16);
	r.n += 16;
	assert_int_equal(sendto(l.up, r.b, r.n, 0, (struct sockaddr *)&from, sizeof(from)),
			 (ssize_t)r.n);
	assert_true(readable(ufd, 1000));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	assert_int_equal(l.n_addrs, 2);
	assert_int_equal(l.addrs[0], ip(151, 101, 0, 223));
	assert_int_equal(l.ttls[0], 30);
	assert_int_equal(l.addrs[1], ip(151, 101, 64, 223));
	assert_int_equal(l.ttls[1], 31);
	assert_int_equal(l.idxs[0], 1); /* the pattern it matched: *.pythonhosted.org */
	assert_int_equal(l.idxs[1], 1);
	/* and the chain's AAAA to on_addr6 (evil.com's A was not on it) */
	assert_int_equal(l.n_addrs6, 1);
	uint8_t six[16];
	memset(six, 0x2a, sizeof(six));
	assert_memory_equal(l.addrs6[0], six, 16);
	assert_int_equal(l.idxs6[0], 1);
	assert_int_equal(client_gets(&l, &resp, 1000), r.n);
	assert_int_equal(resp.b[0] << 8 | resp.b[1], 0x300);
	assert_memory_equal(resp.b + 2, r.b + 2, r.n - 2);

	/* The exact name too; an upstream answer whose answer section is
	 * malformed gets the guest SERVFAIL and reports nothing. */
	query(&q, 0x301, "pypi.org", DNS_TYPE_A);
	guest_sends(&l, &q);
	assert_true(upstream_gets(&l, &got, &from, 1000) > 0);
	phdr(&r, (unsigned)(got.b[0] << 8 | got.b[1]), DNS_FLAG_QR, 1, 1, 0, 0);
	pq(&r, "pypi.org", DNS_TYPE_A, DNS_CLASS_IN);
	pptr(&r, DNS_HDR_SIZE);
	prr(&r, DNS_TYPE_A, DNS_CLASS_IN, 30, 40);
	sendto(l.up, r.b, r.n, 0, (struct sockaddr *)&from, sizeof(from));
	assert_true(readable(ufd, 1000));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	assert_int_equal(l.n_addrs, 2);
	assert_true(client_gets(&l, &resp, 1000) > 0);
	assert_int_equal(DNS_RCODE(resp.b[3]), DNS_RCODE_SERVFAIL);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.forwarded, 2);
	assert_int_equal(st.relayed, 1);
	assert_int_equal(st.malformed, 1);

	/* A name listed twice (two ports): each address is reported once per entry, with
	 * that entry's index, before the answer is relayed. */
	query(&q, 0x302, "pypi.org", DNS_TYPE_A);
	guest_sends(&l, &q);
	assert_true(upstream_gets(&l, &got, &from, 1000) > 0);
	answer(l.up, &from, &got, "pypi.org", 60, 7);
	assert_true(readable(ufd, 1000));
	assert_int_equal(dnsproxy_on_readable(l.px, ufd, 1000), 0);
	assert_int_equal(l.n_addrs, 4);
	assert_int_equal(l.idxs[2], 0);
	assert_int_equal(l.idxs[3], 3);
	for (size_t i = 2; i < 4; i++) {
		assert_int_equal(l.addrs[i], ip(93, 184, 216, 7));
		assert_int_equal(l.ttls[i], 60);
	}
	assert_true(client_gets(&l, &resp, 1000) > 0);
	assert_int_equal(DNS_RCODE(resp.b[3]), 0);
	live_stop(&l);
}

static void test_live_limits(void **state)
{
	struct live l;
	struct pkt q, got, resp;
	struct sockaddr_in from;
	struct dnsproxy_stats st;

	live_start(&l, DNSPROXY_OPEN, NULL, 0);
	assert_int_equal(dnsproxy_tick(l.px, 1000), -1);
	/* 70 queries at once: 64 go up, 6 are dropped. */
	for (unsigned i = 0; i < 70; i++) {
		query(&q, i, "many.example", DNS_TYPE_A);
		assert_int_equal(sendto(l.client, q.b, q.n, 0, (struct sockaddr *)&l.g_addr,
					sizeof(l.g_addr)), (ssize_t)q.n);
	}
	while (readable(l.gfd, 100))
		assert_int_equal(dnsproxy_on_readable(l.px, l.gfd, 1000), 0);
	size_t up = 0;
	while (upstream_gets(&l, &got, &from, 50) > 0)
		up++;
	assert_int_equal(up, DNSPROXY_PENDING_MAX);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.forwarded, DNSPROXY_PENDING_MAX);
	assert_int_equal(st.dropped_full, 6);

	/* Their time runs out: SERVFAIL to each, with its own ID. */
	assert_int_equal(dnsproxy_tick(l.px, 1000), (int)DNSPROXY_TIMEOUT_MS);
	assert_int_equal(dnsproxy_tick(l.px, 1000 + DNSPROXY_TIMEOUT_MS - 1), 1);
	assert_int_equal(dnsproxy_tick(l.px, 1000 + DNSPROXY_TIMEOUT_MS), -1);
	size_t fails = 0;
	bool seen[DNSPROXY_PENDING_MAX] = { false };
	while (client_gets(&l, &resp, 100) > 0) {
		unsigned id = (unsigned)(resp.b[0] << 8 | resp.b[1]);
		assert_int_equal(DNS_RCODE(resp.b[3]), DNS_RCODE_SERVFAIL);
		assert_true(id < DNSPROXY_PENDING_MAX);
		assert_false(seen[id]);
		seen[id] = true;
		fails++;
	}
	assert_int_equal(fails, DNSPROXY_PENDING_MAX);
	dnsproxy_stats(l.px, &st);
	assert_int_equal(st.timed_out, DNSPROXY_PENDING_MAX);

	/* Room again. */
	query(&q, 9, "again.example", DNS_TYPE_A);
	guest_sends(&l, &q);
	assert_true(upstream_gets(&l, &got, &from, 1000) > 0);
	live_stop(&l);
}

static void test_new(void **state)
{
	struct arca_err e = { 0 };
	struct dnsproxy *px = NULL;
	int fds[DNSPROXY_FDS_MAX];
	int g = udp_bound(NULL);
	char path[] = "/tmp/arca-test-resolv-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char conf[] = "nameserver 127.0.0.1\nnameserver ::1\n";
	assert_int_equal(write(fd, conf, sizeof(conf) - 1), (ssize_t)sizeof(conf) - 1);
	close(fd);

	struct dnsproxy_cfg cfg = { .guest_fd = g, .resolv_conf = path };
	if (dnsproxy_new(&cfg, &px, &e) == 0) {
		assert_int_equal(dnsproxy_fds(px, fds, DNSPROXY_FDS_MAX), 3);
		dnsproxy_free(px);
	} else {
		/* No IPv6 on this host: the ::1 socket cannot connect. */
		assert_non_null(strstr(e.msg, "upstream"));
	}
	unlink(path);
	/* No resolv.conf: 127.0.0.1, as glibc. */
	assert_int_equal(dnsproxy_new(&cfg, &px, &e), 0);
	assert_int_equal(dnsproxy_fds(px, fds, 1), 2);
	assert_int_equal(fds[0], g);
	dnsproxy_free(px);

	static const char *const bad[] = { "ok.org", "bad name" };
	struct dnsproxy_cfg cb = { .guest_fd = g, .resolv_conf = path, .mode = DNSPROXY_NAMES,
				   .names = bad, .n_names = 2 };
	assert_int_equal(dnsproxy_new(&cb, &px, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bad name"));
	struct sockaddr_storage four[4] = { { 0 } };
	struct dnsproxy_cfg c4 = { .guest_fd = g, .upstreams = four, .n_upstreams = 4 };
	assert_int_equal(dnsproxy_new(&c4, &px, &e), -EINVAL);
	c4.n_upstreams = 1; /* AF_UNSPEC */
	assert_int_equal(dnsproxy_new(&c4, &px, &e), -EAFNOSUPPORT);
	c4.guest_fd = -1;
	assert_int_equal(dnsproxy_new(&c4, &px, &e), -EBADF);
	dnsproxy_free(NULL);
	close(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_good),
		cmocka_unit_test(test_query_hostile),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_response_good),
		cmocka_unit_test(test_response_hostile),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_resolv_conf),
		cmocka_unit_test(test_live_open),
		cmocka_unit_test(test_live_names),
		cmocka_unit_test(test_live_limits),
		cmocka_unit_test(test_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
