/* SPDX-License-Identifier: MIT */
/*
 * DNS messages for the relay of `arca run --net` (dnsproxy.h): pure
 * functions over buffers, no I/O, so cmocka tests them with any bytes.
 *
 * Queries come from the guest and are hostile: every read is bounds-checked
 * against the datagram, a name is at most 255 wire bytes of labels of at
 * most 63 (RFC 1035 §2.3.4), and a query's question may not use compression
 * (nothing precedes it that a pointer could legitimately name). Responses
 * come from the host's resolver, which is trusted more but not blindly (an
 * off-path forger can race it): pointers must point strictly before every
 * earlier target (so they cannot loop or point forward), at most
 * DNS_PTR_HOPS_MAX of them per name, and each RDATA must lie inside the
 * packet. Malformed input is -EBADMSG, never a crash or an over-read.
 *
 * Names are kept in wire form (length-prefixed labels, root byte included)
 * and compared in wire form: a text form would let a label holding a '.'
 * byte ("pypi.org" as ONE label) pass for two labels and match a pattern.
 * Comparison is ASCII case-insensitive (RFC 4343); a length byte (<= 63)
 * can never be mistaken for a letter.
 */
#ifndef ARCA_DNS_H
#define ARCA_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_HDR_SIZE       12
#define DNS_LABEL_MAX      63
#define DNS_NAME_MAX       255   /* wire bytes, root byte included */
/* A guest query larger than this is dropped: one question (<= 259 bytes)
 * and an OPT record with its options fit in RFC 1035's classic 512 bytes,
 * and the relay forwards nothing else of the query anyway (it rebuilds
 * it, dns_build_query). */
#define DNS_QUERY_MAX      512
/* What the relay advertises upstream (EDNS, RFC 6891) at most, and the
 * largest response it relays. */
#define DNS_RESPONSE_MAX   4096
#define DNS_PTR_HOPS_MAX   32    /* compression pointers followed per name */
#define DNS_CNAME_HOPS_MAX 8     /* CNAMEs followed from the question's name */
/* A records a DNS_RESPONSE_MAX response can hold (16 bytes each at least):
 * dns_response_addrs never has to drop one. */
#define DNS_ADDRS_MAX      256
#define DNS_TEXT_MAX       1024  /* dns_name_to_text: 255 bytes as \DDD */
#define DNS_RESOLV_MAX     3     /* nameservers used, as glibc's MAXNS */

#define DNS_TYPE_A     1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA  28
#define DNS_TYPE_OPT   41
#define DNS_CLASS_IN   1

#define DNS_RCODE_NOERROR  0
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4
#define DNS_RCODE_REFUSED  5

#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_FLAG_RA 0x0080u
#define DNS_FLAG_CD 0x0010u
#define DNS_OPCODE(flags) (((unsigned)(flags) >> 11) & 0xfu)
#define DNS_RCODE(flags)  ((unsigned)(flags) & 0xfu)

struct dns_name {
	uint16_t len;                 /* wire bytes, root byte included */
	uint8_t wire[DNS_NAME_MAX];   /* as received: case kept */
};

/* A parsed query: the header fields and the one question, and what its
 * OPT record (if any) asked for. */
struct dns_query {
	uint16_t id, flags;
	struct dns_name qname;
	uint16_t qtype, qclass;
	bool edns;          /* an OPT record was present */
	uint16_t edns_size; /* its UDP payload size */
	bool edns_do;       /* its DO bit (DNSSEC records wanted) */
};

/* An allowed name: exact ("pypi.org"), or "*.example.com", which matches
 * names strictly below example.com (a.example.com, a.b.example.com) and
 * not example.com itself. */
struct dns_pattern {
	bool wildcard;
	struct dns_name name; /* the exact name, or the wildcard's suffix */
};

struct dns_addr {
	bool v6;           /* an AAAA record's: addr6; else an A record's: addr_be */
	uint32_t addr_be;  /* IPv4, network byte order */
	uint8_t addr6[16]; /* IPv6, network byte order */
	uint32_t ttl;      /* seconds (RFC 2181 §8: a set top bit reads as 0) */
};

/* The name at p[off]: its uncompressed wire form in *out and, in *next,
 * the offset just past its bytes at off (past the first pointer when it
 * has one). allow_ptr false: a compression pointer is malformed.
 * 0 or -EBADMSG. */
int dns_read_name(const uint8_t *p, size_t len, size_t off, bool allow_ptr,
		  struct dns_name *out, size_t *next);

/* A query: QR clear, exactly one question with an uncompressed QNAME, no
 * answer or authority records, additional records that parse (at most one
 * OPT). Bytes after the last record are ignored (the relay rebuilds the
 * query, so they never reach the upstream). 0 or -EBADMSG. */
int dns_parse_query(const uint8_t *p, size_t len, struct dns_query *q);

/* The query the relay sends upstream, built from q alone: id, RD and CD
 * from q, the question, and an OPT record (UDP size q's, clamped to
 * 512..DNS_RESPONSE_MAX, and its DO bit) only if q had one. Nothing else of
 * the guest's bytes reaches the upstream. Length, or -ENOSPC. */
int dns_build_query(const struct dns_query *q, uint16_t id, uint8_t *out, size_t cap);

/* An answer-less reply to q with rcode (REFUSED, SERVFAIL, NOTIMP): q's id,
 * opcode, RD, then RA, and q's question. Length, or -ENOSPC. */
int dns_build_reply(const struct dns_query *q, unsigned rcode, uint8_t *out, size_t cap);

/* Whether p is a response to the query q sent with this id: QR set, opcode
 * QUERY, one question equal to q's (name case-insensitively, type, class).
 * 0, -EBADMSG (malformed) or -ESRCH (well-formed, another query's). */
int dns_response_check(const uint8_t *p, size_t len, uint16_t id, const struct dns_query *q);

/* The addresses the answer section gives qname: A and AAAA records (class
 * IN) owned by qname, or by a CNAME target reached from qname through CNAME
 * records of the same answer section (at most DNS_CNAME_HOPS_MAX links; a
 * record of any other owner is ignored), in the order met. Writes up to cap of them to out; returns
 * how many, or -EBADMSG when the question or an answer record is malformed
 * (nothing is reported then). A truncated response (TC) may end inside a
 * record: what precedes it counts. */
int dns_response_addrs(const uint8_t *p, size_t len, const struct dns_name *qname,
		       struct dns_addr *out, size_t cap);

/* Wire-form equality, ASCII case-insensitive. */
bool dns_name_eq(const struct dns_name *a, const struct dns_name *b);

/* "pypi.org", "pypi.org." or "*.example.com": labels of 1..63 letters,
 * digits, '-' or '_'; '*' only as a whole first label followed by at least
 * one label. 0 or -EINVAL. */
int dns_pattern_parse(const char *text, struct dns_pattern *out);
bool dns_pattern_match(const struct dns_pattern *pat, const struct dns_name *name);

/* "www.example.com" ("." for the root); bytes other than letters, digits,
 * '-' and '_' as \DDD (RFC 1035 §5.1), so a '.' inside a label shows as
 * \046. For log lines. Length, or -ENOSPC (cap DNS_TEXT_MAX is enough). */
int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap);

/* The "nameserver ADDR" lines of resolv.conf text (resolv.conf(5)): IPv4
 * or IPv6 addresses, port 53, at most cap of them, in order. An IPv6
 * address may carry a numeric scope ("%2"); one with an interface name is
 * skipped (resolving the name is not pure). Lines that do not parse are
 * skipped, as glibc does. Returns how many were written. */
size_t dns_parse_resolv_conf(const char *text, size_t len, struct sockaddr_storage *out,
			     size_t cap);

#endif
