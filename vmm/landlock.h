/* SPDX-License-Identifier: MIT */
/*
 * Landlock around arca-vmm (issue 11, item 1): the second wall, besides
 * the detached mounts the shares arrive as (launcher/sharemnt.h).
 *
 * The whole VMM process gets one Landlock domain before its first thread:
 * path-based access is denied everywhere except beneath each share's root
 * fd, read-only shares allow reading only, read-write shares allow what the
 * FUSE server does (read, write, create regular files, directories, fifos
 * and symlinks, remove, rename and link within the share, truncate) and
 * never executing a file or creating device nodes or sockets. So even a
 * memory-safety bug in the FUSE server that forged an openat() of an
 * arbitrary path could open nothing outside the shares, whatever fd it
 * started from. Landlock does not cover stat, chmod, chown, utimes or
 * xattrs: the detached mounts do (".." never leaves them).
 *
 * Needs Landlock ABI 2 (Linux 5.19; Debian 12's 6.1 has it): with ABI 1 a
 * rename or link across directories is always refused, which would break
 * `mv` inside a share. Without it the VMM runs with the mount wall alone.
 */
#ifndef ARCA_VMM_LANDLOCK_H
#define ARCA_VMM_LANDLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Pure: the access rights the ruleset handles at this ABI, and those a
 * share gets (read-only or not). Both 0 for abi < 2. */
uint64_t landlock_handled(int abi);
uint64_t landlock_share_access(int abi, bool read_only);

struct landlock_share {
	int dir_fd;
	bool read_only;
};

/* Confine the calling thread and the threads it creates from now on.
 * 0; -EOPNOTSUPP when Landlock is disabled or older than ABI 2 (nothing
 * changed); other negative errnos on failure. Needs no_new_privs (the
 * launcher sets it) or CAP_SYS_ADMIN. *abi_out: the kernel's ABI (0: none). */
int landlock_confine(const struct landlock_share *shares, unsigned n, int *abi_out);

#endif
