/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel, decompressed once: a bzImage whose payload is LZ4 (as
 * Debian's cloud kernel is) becomes the vmlinux ELF arca-vmm boots directly
 * (vmm/boot.h), skipping the decompressor that otherwise runs in every
 * guest at every boot. Kept in the cache directory as
 * vmlinux-KVER-<16 hex>.elf, the key folding in the bzImage's identity
 * (size, mtime, inode, device), so a new kernel package gives a new file
 * and the old one is removed.
 */
#ifndef ARCA_KCACHE_H
#define ARCA_KCACHE_H

#include "err.h"
#include "kernel.h"
#include "paths.h"

#define KCACHE_FORMAT "arca-vmlinux-1"

/*
 * An O_RDONLY fd of the decompressed kernel for the bzImage open at bz_fd
 * (read through that fd: the file the run checked, whoever can rename
 * paths), made and stored on first use. -ENOTSUP when the bzImage's
 * payload is not LZ4 (the caller boots the bzImage); other -errno with e
 * set (a corrupt payload, a cache that cannot be written): the caller may
 * still boot the bzImage.
 */
int kcache_vmlinux_open(const struct arca_paths *p, const struct arca_kernel *k, int bz_fd,
			struct arca_err *e);

#endif
