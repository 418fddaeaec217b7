/* SPDX-License-Identifier: MIT */
/*
 * Pure half of launcher/nft.c: the nfnetlink batches of arca's nftables rules, built into a
 * buffer with libnftnl (no socket, no kernel), and the messages for a kernel error on one of
 * them. Tests parse the buffer back with libnftnl.
 */
#ifndef ARCA_NFT_BUILD_H
#define ARCA_NFT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "nft.h"

#define NFT_BATCH_LIMIT (256u * 1024) /* bytes: one sendmsg (batch_commit sizes SO_SNDBUF) */
#define NFT_BATCH_MSGS  1024          /* messages in one batch, begin and end included */

/* Private and special-purpose IPv4 ranges blocked unless allow_private, plus the caller's. */
#define NFT_BLOCKED_DEFAULT 11
#define NFT_BLOCKED_MAX     (NFT_BLOCKED_DEFAULT + NFT_EXTRA_BLOCK_MAX)
/* Special-purpose IPv6 ranges, always blocked, then the ULA range unless allow_private. */
#define NFT_BLOCKED6_ALWAYS  13
#define NFT_BLOCKED6_DEFAULT (NFT_BLOCKED6_ALWAYS + 1)
#define NFT_BLOCKED6_MAX     (NFT_BLOCKED6_DEFAULT + NFT_EXTRA_BLOCK_MAX)

struct nft_batch;

struct nft_batch *nft_batch_new(void);
void nft_batch_free(struct nft_batch *b);
static inline void cleanup_nft_batchp(struct nft_batch **b)
{
	nft_batch_free(*b);
}
#define _cleanup_nft_batch_ __attribute__((cleanup(cleanup_nft_batchp)))

const void *nft_batch_data(const struct nft_batch *b);
size_t nft_batch_size(const struct nft_batch *b);
/* Sequence number of the last message before the batch end: its ack closes the batch. */
uint32_t nft_batch_last_seq(const struct nft_batch *b);
/* What the message `seq` does ("add set blocked"); NULL when seq is not one of b's. */
const char *nft_batch_what(const struct nft_batch *b, uint32_t seq);

/* The whole per-run batch (begin ... end). -EINVAL with e naming the field for a bad c. */
int nft_build_run(struct nft_batch *b, const struct nft_run_cfg *c, struct arca_err *e);
/* One element of set dyn<name_idx> with a timeout of nft_ttl_clamp(ttl_s) seconds; -EINVAL
 * for name_idx >= NFT_NAMES_MAX. */
int nft_build_allow_addr(struct nft_batch *b, size_t name_idx, uint32_t addr, uint32_t ttl_s,
			 struct arca_err *e);
/* The same for set dyn6_<name_idx>. */
int nft_build_allow_addr6(struct nft_batch *b, size_t name_idx, const uint8_t addr[16],
			  uint32_t ttl_s, struct arca_err *e);
/* The host table; replace_handle != 0 deletes that table (by handle) in the same batch. */
int nft_build_host(struct nft_batch *b, struct nft_cidr pool, uint64_t replace_handle,
		   struct arca_err *e);
int nft_build_host_remove(struct nft_batch *b, struct arca_err *e);
/* The same for table ip6 arca-host6 and the IPv6 pool. */
int nft_build_host6(struct nft_batch *b, struct nft_cidr6 pool6, uint64_t replace_handle,
		    struct arca_err *e);
int nft_build_host6_remove(struct nft_batch *b, struct arca_err *e);

/* A kernel error `err` (positive errno) on message seq of b as a message in e; detail is
 * the kernel's extended ack text or NULL. Returns -err. */
int nft_batch_error(const struct nft_batch *b, uint32_t seq, int err, const char *detail,
		    struct arca_err *e);

uint32_t nft_ttl_clamp(uint32_t ttl_s);

/* An inclusive range of IPv4 addresses in host byte order. */
struct nft_range {
	uint32_t lo, hi;
};
/* The prefixes of blocked for c (defaults unless allow_private, then c's extra_block);
 * out holds NFT_BLOCKED_MAX. Returns the count. */
size_t nft_blocked_cidrs(const struct nft_run_cfg *c, struct nft_cidr *out);
/* Sorted, disjoint, non-adjacent ranges covering the n prefixes (out holds n): an interval
 * set refuses overlapping elements, and the host's addresses usually lie in 10/8 & co. */
size_t nft_ranges_merge(const struct nft_cidr *in, size_t n, struct nft_range *out);

/* An inclusive range of IPv6 addresses, in network byte order (so memcmp() orders them). */
struct nft_range6 {
	uint8_t lo[16], hi[16];
};
/* The prefixes of blocked6 for c (the special-purpose ranges, fc00::/7 unless
 * allow_private, c's extra_block6); out holds NFT_BLOCKED6_MAX. Returns the count. */
size_t nft_blocked6_cidrs(const struct nft_run_cfg *c, struct nft_cidr6 *out);
/* nft_ranges_merge for IPv6 prefixes (out holds n). */
size_t nft_ranges6_merge(const struct nft_cidr6 *in, size_t n, struct nft_range6 *out);

#endif
