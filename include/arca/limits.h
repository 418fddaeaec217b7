/* SPDX-License-Identifier: MIT */
/* Limits the launcher and arca-vmm agree on (host side only). */
#ifndef ARCA_LIMITS_H
#define ARCA_LIMITS_H

/* Host fds one share's FUSE server may hold open (inodes + open files): a
 * guest that looks up or opens without end gets EMFILE instead of
 * exhausting the VMM's fd table (CVE-2020-10717). The server holds one
 * O_PATH fd per inode the guest kernel remembers, so this must cover big
 * trees (`find /usr` on the default root): 64 Ki per share. The launcher's
 * RLIMIT_NOFILE for the VMM leaves room for this many per share, and the
 * VMM's cgroup memory limit bounds what the fds pin in the kernel. */
#define ARCA_FS_MAX_FDS 65536

#endif
