/* SPDX-License-Identifier: MIT */
/*
 * Each share reaches the VMM as a detached mount, not as a directory fd of
 * the host's mount tree (issue 11, items 1 and 3).
 *
 * Why: the FUSE server resolves every name with openat2(RESOLVE_BENEATH),
 * but seccomp cannot check that, and an fd of the host's tree lets plain
 * openat(fd, "../../etc/shadow") reach the whole host file system. A tree
 * cloned with open_tree(OPEN_TREE_CLONE) lives in an anonymous mount
 * namespace of its own: its root is a mount root without a parent, so the
 * kernel stops ".." there, whatever the VMM's code does. Landlock in the VMM
 * (vmm/landlock.c) is the second, independent wall.
 *
 * The clone is recursive (AT_RECURSIVE): a mount the user placed inside a
 * share is served, as docker -v does. A kernel pseudo-file system mounted
 * beneath a share (sharing "/" brings /proc, /sys and /dev) is refused
 * first, from /proc/self/mountinfo (sharemnt_find_pseudo).
 *
 * Read-only shares get MOUNT_ATTR_RDONLY, so the kernel refuses writes even
 * if the server's own check had a bug. NOSUID and NODEV on every share: the
 * VMM never executes or opens devices from a share.
 *
 * Idmapped (MOUNT_ATTR_IDMAP, root only): when the VMM runs as other ids
 * than the user who invoked arca (plain root, whose VMM runs as nobody; or
 * --vmm-user under sudo), the clone maps the invoker's uid and gid onto the
 * VMM's and leaves every other id unmapped. So root's own workspace is
 * writable by the guest with new files landing as root's, and the VMM never
 * gets more than the invoker's owner rights (on-disk ids other than the
 * invoker's match none of the VMM's, so only "other" bits apply to them;
 * a VMM gid such as shadow's 42 gains nothing). File systems without
 * idmapped-mount support (tmpfs before Linux 6.3) get the plain clone.
 */
#ifndef ARCA_SHAREMNT_H
#define ARCA_SHAREMNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Pure: the first mount strictly beneath dir (an absolute, canonical path)
 * in mountinfo text whose file system type is a kernel pseudo-file system
 * (hostfs_pseudo_type). Returns 1 and fills mnt (the mount point, unescaped)
 * and type, 0 if none, -EINVAL on a malformed line. */
int sharemnt_find_pseudo(const char *mountinfo, const char *dir, char *mnt, size_t mntlen,
			 char *type, size_t typelen);

/* Refuse a share whose tree has a pseudo-file system mounted beneath it
 * (reads /proc/self/mountinfo). 0, or -EPERM with e set. */
int sharemnt_check_beneath(const char *dir, const char *what, struct arca_err *e);

/* A user namespace whose only mappings are uid from_uid -> to_uid and gid
 * from_gid -> to_gid: on an idmapped mount, files owned by from_* appear as
 * owned by to_*, and to_* creates files as from_*. Needs root. Returns the
 * namespace's fd (O_CLOEXEC) or a negative errno with e set. */
int sharemnt_userns(uint32_t from_uid, uint32_t from_gid, uint32_t to_uid, uint32_t to_gid,
		    struct arca_err *e);

enum {
	SHAREMNT_RO = 1 << 0,
};

/*
 * Clone the tree at (dfd, path) (path "" means dfd itself) as a detached
 * mount in the caller's mount namespace; apply NOSUID|NODEV, RDONLY for
 * SHAREMNT_RO, and the idmapping of userns_fd when it is >= 0 and the file
 * system supports it (*idmapped says whether it did; NULL when
 * userns_fd < 0). Returns the detached tree's fd (O_PATH, O_CLOEXEC) or a
 * negative errno with e set; -ENOSYS when the kernel has no open_tree
 * (before Linux 5.2: the caller keeps its plain fd).
 */
int sharemnt_clone(int dfd, const char *path, unsigned flags, int userns_fd, bool *idmapped,
		   const char *what, struct arca_err *e);

#endif
