/* SPDX-License-Identifier: MIT */
/*
 * probe: the static multi-call binary the e2e tests run inside the guest on a
 * virtio-fs share (crun tests/init.c idea). Built with musl-gcc -static, so
 * only libc headers: no kernel uapi headers on musl's include path, the few
 * constants musl 1.2.3 lacks are defined below with their uapi source.
 *
 * A check is a function returning PROBE_PASS, PROBE_FAIL or PROBE_SKIP; the
 * REQ* macros turn a failed syscall or a wrong value into PROBE_FAIL with a
 * one-line reason, so every syscall in a check is checked.
 */
#ifndef ARCA_PROBE_H
#define ARCA_PROBE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "cleanup.h"

/* <linux/fs.h>: renameat2 flags (musl 1.2.3 has no renameat2 wrapper). */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
/* <linux/magic.h> */
#define PROBE_FUSE_SUPER_MAGIC 0x65735546

/* PROBE_ESCAPED: the escape suite reached something outside the share. */
enum { PROBE_PASS = 0, PROBE_FAIL = 1, PROBE_SKIP = 2, PROBE_ESCAPED = 3 };

struct probe_stats {
	unsigned passed, failed, skipped;
};

/* Record why a check failed / was skipped / a note for an ok line; each
 * returns the matching PROBE_* value so a check can `return probe_fail(...)`. */
int probe_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int probe_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int probe_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int probe_escaped(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print one result line and count it: "ok [OK_WORD ]NAME[ # note]",
 * "skip NAME: why", "not ok NAME: why" or "not ok ESCAPED NAME: what".
 * ok_word is NULL or e.g. "blocked" for the escape suite. */
void probe_report(struct probe_stats *st, const char *name, int rc, const char *ok_word);
/* Print "probe: N passed, N failed, N skipped"; return the exit status. */
int probe_summary(const struct probe_stats *st);

/* "ENOENT" etc. for the errnos a filesystem returns; "E<n>" otherwise. */
const char *errname(int e);

/* Full-length I/O (retry on EINTR and short transfers); 0 or -errno. A
 * short read at EOF is -EIO for read_full. */
#include "io.h" /* write_all(), pread_all(), pwrite_all(): common/io.c */
int read_full(int fd, void *buf, size_t len);
/* Read up to cap bytes of a whole file; the byte count or -errno. */
ssize_t read_file(int dirfd, const char *path, void *buf, size_t cap);
/* Create/truncate a file with mode and content; 0 or -errno. */
int write_file(int dirfd, const char *path, const void *buf, size_t len, mode_t mode);
/* Remove path and everything below it (never follows symlinks); 0 or -errno. */
int remove_tree(int dirfd, const char *path);

/* splitmix64 stream: deterministic bytes for content that must match on the
 * other side of the share. */
struct prng {
	uint64_t s;
};
void prng_seed(struct prng *p, uint64_t seed);
void prng_fill(struct prng *p, void *buf, size_t len);
uint64_t fnv1a(uint64_t h, const void *buf, size_t len);
#define FNV1A_INIT 0xcbf29ce484222325ULL

long long now_ms(void);

int probe_conformance(int argc, char **argv);
int probe_write_tree(int argc, char **argv);
int probe_check_tree(int argc, char **argv);
int probe_vmm_fds(int argc, char **argv);
int probe_escape(int argc, char **argv);
/* tests/probe/blk.c: random 4 KiB writes with CRC-32C on a block device, then verify. */
int probe_blk_verify(int argc, char **argv);
/* tests/probe/hostile.c: a hostile guest (PID 1 made to exit; virtio-mmio register abuse). */
int probe_kill_init(int argc, char **argv);
int probe_mmio_abuse(int argc, char **argv);

/* --- check helpers ---------------------------------------------------- */

/* A syscall that must succeed (result >= 0). */
#define REQ(call)                                                                   \
	do {                                                                        \
		if ((long)(call) < 0)                                               \
			return probe_fail("%s: %s", #call, errname(errno));         \
	} while (0)

/* A helper returning 0 or -errno that must succeed. */
#define REQ_OK(call)                                                                \
	do {                                                                        \
		int req_r_ = (call);                                                \
		if (req_r_ < 0)                                                     \
			return probe_fail("%s: %s", #call, errname(-req_r_));       \
	} while (0)

/* A syscall that must fail with errno e. */
#define REQ_ERR(call, e)                                                            \
	do {                                                                        \
		errno = 0;                                                          \
		if ((long)(call) >= 0)                                              \
			return probe_fail("%s succeeded, expected %s", #call,       \
					  errname(e));                              \
		if (errno != (e))                                                   \
			return probe_fail("%s: %s, expected %s", #call,             \
					  errname(errno), errname(e));              \
	} while (0)

#define REQ_EQ(a, b)                                                                \
	do {                                                                        \
		long long req_a_ = (long long)(a), req_b_ = (long long)(b);         \
		if (req_a_ != req_b_)                                               \
			return probe_fail("%s = %lld, expected %lld (%s)", #a,      \
					  req_a_, req_b_, #b);                      \
	} while (0)

#define REQ_TRUE(cond, ...)                                                         \
	do {                                                                        \
		if (!(cond))                                                        \
			return probe_fail(__VA_ARGS__);                             \
	} while (0)

#endif
