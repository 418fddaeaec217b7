/* SPDX-License-Identifier: MIT */
/*
 * The default guest root (ARCA_ROOT_HOST): a skeleton the launcher appends
 * to the per-run archive under ARCA_GUEST_ROOT (include/arca/abi.h), which
 * arca-init completes by mounting the host's /usr (read-only virtio-fs) on
 * ARCA_GUEST_ROOT/usr and the kernel filesystems inside it.
 *
 * The skeleton holds:
 *   - directories: dev proc sys tmp (1777) run root (0700) home var
 *     var/tmp (1777) usr etc mnt;
 *   - the merged-/usr links bin, sbin, lib (required) and lib32, lib64,
 *     libx32 (when the host has them), each -> usr/NAME. A host whose /bin,
 *     /sbin or /lib is not such a link fails: its /usr alone is not a
 *     working userland;
 *   - a generated /etc: passwd (root, nobody), group (root, nogroup), hosts,
 *     resolv.conf (a comment: no network yet), hostname ("arca"),
 *     nsswitch.conf (files only), mtab -> ../proc/self/mounts. The
 *     skeleton never depends on the run's network: with a NET record
 *     (--net) carrying a DNS server, arca-init replaces resolv.conf in
 *     the assembled root from the spec (initrd/net.c);
 *   - copies of a short allowlist of host files (guestroot.c's table, one
 *     reason each: ld.so.cache, alternatives, CA certificates, ...).
 *     Missing ones are skipped. Symlinks are copied as symlinks (they
 *     resolve inside the guest, where /usr is the host's). A file or a
 *     directory on the way that is not owned by trusted_uid, or is group-
 *     or world-writable, is skipped with a warning: such a file may have
 *     been planted by another host user and would become trusted guest
 *     configuration. So is anything past GUESTROOT_MAX_BYTES of copied
 *     data or GUESTROOT_MAX_ENTRIES entries, and anything that is neither
 *     a regular file, a directory nor a symlink.
 * Never the host's /home, /root, /tmp, /var, /run or the rest of /etc.
 */
#ifndef ARCA_GUESTROOT_H
#define ARCA_GUESTROOT_H

#include <sys/types.h>

#include "cpio.h"
#include "err.h"

#define GUESTROOT_MAX_BYTES   (8u << 20) /* copied host file contents */
#define GUESTROOT_MAX_ENTRIES 4096u      /* copied host entries */
#define GUESTROOT_MAX_DEPTH   4          /* below an allowlisted directory */

struct guestroot_opts {
	const char *host_root; /* "/" normally; a fake root in tests */
	uid_t trusted_uid;     /* owner a copied host file must have: 0 (root) */
	/* Called once per skipped file (one line, no newline); NULL: silent. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/*
 * Appends the skeleton to w (not finished: the caller adds more and calls
 * cpio_finish). Adds "arca" and "arca/root" directories too (0755); a
 * second entry for a directory the archive already has is harmless to the
 * kernel's unpacker. Returns 0, or -errno with e set: -ENOTSUP when the
 * host is not merged-/usr, -errno of opening host_root, cpio errors.
 */
int guestroot_add(struct cpio_buf *w, const struct guestroot_opts *o, struct arca_err *e);

#endif
