/* SPDX-License-Identifier: MIT */
/*
 * What a careless user must not hand the guest: a share, root or disk that
 * lives on a kernel pseudo-file system. Through its own FUSE server a guest
 * given the host's /proc could open /proc/<vmm-pid>/mem and write the VMM's
 * memory, read other processes' environments, or poke /proc/sys; /sys,
 * debugfs, tracefs, securityfs, cgroupfs and bpffs expose the host kernel
 * likewise, and /dev (devtmpfs) its devices. The check is on the opened fd
 * (fstatfs, fstat), never the path, so a bind mount or a symlink to them is
 * refused as well.
 */
#ifndef ARCA_HOSTFS_H
#define ARCA_HOSTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Pure: the name of a refused file system type (statfs f_type), or NULL. */
const char *hostfs_pseudo_name(int64_t f_type);

/* Pure: the same set by the type name /proc/self/mountinfo shows ("proc",
 * "sysfs", "devtmpfs"...), for mounts beneath a share (launcher/sharemnt.c).
 * Returns true when refused. */
bool hostfs_pseudo_type(const char *fstype);

/* 0, or -EPERM with e set ("refusing WHAT 'PATH': it is on procfs, a kernel
 * pseudo-file system ...") when fd is on a refused file system or on the
 * same file system as the host's /dev. */
int hostfs_check(int fd, const char *what, const char *path, struct arca_err *e);

#endif
