/* SPDX-License-Identifier: MIT */
/* See landlock.h. */
#include <errno.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"

/* Newer than Debian 12's <linux/landlock.h> (6.1 headers): ABI 3 (6.2). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* ABI 1's rights: bits 0 (EXECUTE) to 12 (MAKE_SYM). */
#define FS_ABI1 ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

uint64_t landlock_handled(int abi)
{
	if (abi < 2)
		return 0;
	/* ABI 5's IOCTL_DEV is left unhandled: it concerns device files
	 * opened after the restriction, and shares are mounted nodev. */
	uint64_t h = FS_ABI1 | LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	return h;
}

uint64_t landlock_share_access(int abi, bool read_only)
{
	uint64_t h = landlock_handled(abi);
	uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (read_only)
		return h & rd;
	/* Never EXECUTE (the VMM runs nothing from a share), MAKE_CHAR,
	 * MAKE_BLOCK or MAKE_SOCK (the server refuses to create those; the
	 * kernel now does too). */
	return h & ~(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		     LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SOCK);
}

int landlock_confine(const struct landlock_share *shares, unsigned n, int *abi_out)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	*abi_out = abi < 0 ? 0 : (int)abi;
	if (abi < 2)
		return -EOPNOTSUPP;
	struct landlock_ruleset_attr attr = { .handled_access_fs = landlock_handled((int)abi) };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return -errno;
	int r = 0;
	for (unsigned i = 0; i < n && r == 0; i++) {
		struct landlock_path_beneath_attr pb = {
			.allowed_access = landlock_share_access((int)abi, shares[i].read_only),
			.parent_fd = shares[i].dir_fd,
		};
		if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			r = -errno;
	}
	/* no_new_privs is already set by the launcher; setting it again is
	 * harmless and keeps this usable on its own (tests). */
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0 && syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		r = -errno;
	close(rs);
	return r;
}
