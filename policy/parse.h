/* SPDX-License-Identifier: MIT */
/*
 * Parser for arca's seccomp allowlists (policy/vmm-main.policy and friends). Pure: text in,
 * rules out, no libseccomp state, so cmocka tests it line by line. Only the
 * syscall-name lookup asks libseccomp's table (x86_64).
 *
 * Format, one entry per line:
 *
 *     # why: what breaks without the entries below
 *     NAME [COND [&& COND]...]
 *
 * COND is `argN OP VALUE` or `argN & MASK == VALUE`, N in 0..5, OP `==` or
 * `!=`; VALUE and MASK are numbers (decimal or 0x hex) or names from the
 * table in parse.c (KVM ioctl requests from <linux/kvm.h>, PROT_*,
 * EPOLL_CTL_*, ...) joined with `|`. Several lines for one syscall are
 * alternatives (OR); the conditions on one line must all hold (AND). A
 * syscall may not appear both with and without conditions, and every entry
 * needs a `#` comment earlier in its paragraph (lines up to a blank line):
 * a reviewer must be able to strike a line and know what breaks.
 */
#ifndef ARCA_POLICY_PARSE_H
#define ARCA_POLICY_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define POLICY_MAX_CONDS 3
#define POLICY_MAX_RULES 256
#define POLICY_NAME_MAX  48

enum policy_op {
	POLICY_EQ,        /* arg == value */
	POLICY_NE,        /* arg != value */
	POLICY_MASKED_EQ, /* (arg & mask) == value */
};

struct policy_cond {
	unsigned arg;
	enum policy_op op;
	uint64_t mask;
	uint64_t value;
};

struct policy_rule {
	char name[POLICY_NAME_MAX];
	int nr;         /* x86_64 syscall number */
	unsigned line;
	unsigned ncond;
	struct policy_cond cond[POLICY_MAX_CONDS];
	/* Set when a condition on arg1 of ioctl names a request: counted as
	 * one allowed ioctl request. */
	int is_ioctl_request;
};

struct policy {
	unsigned nrules;
	struct policy_rule rules[POLICY_MAX_RULES];
};

/* Parse `len` bytes of `text` (need not be NUL-terminated). `file` only
 * labels error messages. Returns 0, or a negative errno with one line
 * "FILE:LINE: what" in err. */
int policy_parse(const char *file, const char *text, size_t len, struct policy *out,
		 char *err, size_t errlen);

/* Numbers of distinct syscalls and of distinct ioctl requests allowed. */
unsigned policy_count_syscalls(const struct policy *p);
unsigned policy_count_ioctls(const struct policy *p);

/* Name lookup in the constant table; 0 when found. */
int policy_constant(const char *name, uint64_t *value);

#endif
