/* SPDX-License-Identifier: MIT */
/*
 * Guest kernel lookup: find the bzImage to boot, check that it is one, read
 * its version from the setup header and find its modules directory.
 */
#ifndef ARCA_KERNEL_H
#define ARCA_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct arca_kernel {
	char *path;        /* realpath of the bzImage */
	char *version;     /* "6.1.0-56-cloud-amd64" */
	char *modules_dir; /* .../lib/modules/VERSION */
};

/*
 * Which kernel: override_path (--kernel, else the CLI's $ARCA_KERNEL) if
 * non-NULL, else EXE_DIR/build/kernel/vmlinuz if it exists, else
 * EXE_DIR/../share/arca/kernel/vmlinuz. It must be a regular file holding a
 * 64-bit bzImage. Modules: dirname(realpath(kernel))/../lib/modules/VERSION,
 * else /lib/modules/VERSION. Returns 0, or -errno with e set (one line naming
 * the path or version). On success free k with kernel_free().
 */
int kernel_locate(const char *override_path, const char *exe_dir,
		  struct arca_kernel *k, struct arca_err *e);
void kernel_free(struct arca_kernel *k);

/*
 * Pure: check the x86 boot protocol setup header in buf[0..len) (the start of
 * a bzImage; the first (setup_sects + 1) * 512 bytes are enough) and copy the
 * first word of its kernel_version string into out[0..outlen).
 * -ENOEXEC: not a bzImage, boot protocol older than 2.12, no 64-bit entry
 * point, or a missing/malformed version string; -ENOSPC: out too small.
 */
int kernel_version_from_bzimage(const uint8_t *buf, size_t len, char *out,
				size_t outlen);

/* Largest setup area: setup_sects is one byte, plus the boot sector. */
#define KERNEL_SETUP_MAX ((255u + 1u) * 512u)

#endif
