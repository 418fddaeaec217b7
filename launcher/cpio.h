/* SPDX-License-Identifier: MIT */
/*
 * newc ("070701") cpio writer, the format the kernel unpacks as initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Pure: it
 * appends to an in-memory growable buffer, no syscalls.
 *
 * Archives are reproducible: mtime 0, uid/gid 0, inode numbers counted from 1
 * per archive. Names are stored without a leading '/'. Every function returns
 * 0 or a negative errno: -EINVAL bad name/target or archive already finished,
 * -ENAMETOOLONG name or target of PATH_MAX bytes or more, -EFBIG file of 4 GiB
 * or more (newc sizes are 32-bit), -ENOMEM.
 */
#ifndef ARCA_CPIO_H
#define ARCA_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct cpio_buf {
	uint8_t *data;     /* the archive so far: data[0..len) */
	size_t len, cap;
	uint32_t next_ino; /* next inode number to hand out */
	int finished;      /* cpio_finish() was called: no more entries */
};

void cpio_init(struct cpio_buf *w);
void cpio_free(struct cpio_buf *w);

/* mode: permission bits (07777); the file type bits are set here. */
int cpio_add_dir(struct cpio_buf *w, const char *path, uint32_t mode);
int cpio_add_file(struct cpio_buf *w, const char *path, uint32_t mode,
		  const void *data, size_t len);
int cpio_add_symlink(struct cpio_buf *w, const char *path, const char *target);
/* Character device node, e.g. /dev/console (5, 1): the kernel opens it for
 * init's stdio before /dev is mounted. */
int cpio_add_chardev(struct cpio_buf *w, const char *path, uint32_t mode,
		     uint32_t major, uint32_t minor);

/* Append the TRAILER!!! entry. The archive is then a multiple of 4 bytes
 * long, so another archive can be concatenated after it. */
int cpio_finish(struct cpio_buf *w);

/* Validate and strip a path the way the add functions do; returns the name
 * (pointer into path) or NULL. Exposed for tests. */
const char *cpio_name(const char *path);

#endif
