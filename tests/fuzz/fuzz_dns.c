/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for --net's DNS relay (launcher/dns.c): the bytes a
 * guest sends to its gateway's port 53, and the bytes an upstream resolver
 * (or a forger) sends back, both parsed by arca's supervisor, which runs
 * as root. Nothing here may read outside the packet or loop.
 *
 * The input is one selector byte, then a packet:
 *   - as a guest query: dns_parse_query; a query that parses must rebuild
 *     (dns_build_query, dns_build_reply) into a packet that parses again to
 *     the same question (for a standard query), and its name must print (dns_name_to_text);
 *   - as a response to a fixed query and to the packet's own question:
 *     dns_response_check and dns_response_addrs, whose count never exceeds
 *     the room given;
 *   - as resolv.conf text: dns_parse_resolv_conf, never over its cap;
 *   - as an allow= pattern: dns_pattern_parse, and a pattern that parses
 *     matches names consistently.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Icommon \
 *       tests/fuzz/fuzz_dns.c launcher/dns.c -o build/fuzz_dns
 * Without libFuzzer, -DFUZZ_MAIN runs files or a fixed-seed sweep (fuzz_main.h).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../launcher/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A well-formed query for good.test A: the fixed question responses are
 * checked against. */
static const uint8_t fixed_query[] = {
	0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	4, 'g', 'o', 'o', 'd', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
};

static void check_query(const uint8_t *p, size_t n)
{
	struct dns_query q, q2;
	if (dns_parse_query(p, n, &q) < 0)
		return;
	uint8_t out[DNS_RESPONSE_MAX];
	int len = dns_build_query(&q, 0x4242, out, sizeof(out));
	if (len >= 0) {
		if (dns_parse_query(out, (size_t)len, &q2) < 0 || !dns_name_eq(&q.qname, &q2.qname))
			abort(); /* what goes upstream is a query of the same name */
	}
	len = dns_build_reply(&q, 5, out, sizeof(out));
	/* A REFUSED reply to a standard query answers the guest's own
	 * question (another opcode's reply keeps its opcode: not a response
	 * to a QUERY). */
	if (len >= 0 && ((q.flags >> 11) & 0xf) == 0 &&
	    dns_response_check(out, (size_t)len, q.id, &q) < 0)
		abort();
	char text[DNS_TEXT_MAX];
	if (dns_name_to_text(&q.qname, text, sizeof(text)) < 0)
		abort();
	struct dns_addr a[4];
	int k = dns_response_addrs(p, n, &q.qname, a, 4);
	if (k > 4)
		abort();
}

static void check_response(const uint8_t *p, size_t n)
{
	struct dns_query fq;
	if (dns_parse_query(fixed_query, sizeof(fixed_query), &fq) < 0)
		abort();
	(void)dns_response_check(p, n, 0x1234, &fq);
	struct dns_addr a[3];
	int k = dns_response_addrs(p, n, &fq.qname, a, 3);
	if (k > 3)
		abort();
}

static void check_text(const uint8_t *p, size_t n)
{
	struct sockaddr_storage ns[3];
	if (dns_parse_resolv_conf((const char *)p, n, ns, 3) > 3)
		abort();
	char pat[300];
	size_t m = n < sizeof(pat) - 1 ? n : sizeof(pat) - 1;
	memcpy(pat, p, m);
	pat[m] = '\0';
	struct dns_pattern dp;
	struct dns_query fq;
	if (dns_pattern_parse(pat, &dp) == 0 &&
	    dns_parse_query(fixed_query, sizeof(fixed_query), &fq) == 0)
		(void)dns_pattern_match(&dp, &fq.qname);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: check_query(p, n); break;
	case 1: check_response(p, n); break;
	default: check_text(p, n); break;
	}
	return 0;
}

#ifdef FUZZ_MAIN
#include "fuzz_main.h"

int main(int argc, char **argv)
{
	static uint8_t in[8192];
	if (argc > 1)
		return fuzz_run_files(argc, argv, in, sizeof(in));
	for (unsigned iter = 0; iter < 20000; iter++) {
		/* a real query or response, corrupted in a few places */
		size_t n = 1 + sizeof(fixed_query);
		in[0] = (uint8_t)iter;
		memcpy(in + 1, fixed_query, sizeof(fixed_query));
		if (iter % 3 == 1) { /* make it an answer: QR, ANCOUNT 1, an A record */
			static const uint8_t ans[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 2 };
			in[3] |= 0x80;
			in[8] = 1;
			memcpy(in + n, ans, sizeof(ans));
			n += sizeof(ans);
		}
		size_t extra = fuzz_rnd8() % 32;
		for (size_t k = 0; k < extra; k++)
			in[n++] = fuzz_rnd8();
		unsigned flips = fuzz_rnd8() % 6;
		for (unsigned f = 0; f < flips; f++)
			in[1 + fuzz_rnd8() % (n - 1)] = fuzz_rnd8();
		LLVMFuzzerTestOneInput(in, n);
	}
	return 0;
}
#endif
