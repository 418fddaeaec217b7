/* SPDX-License-Identifier: MIT */
/* Small I/O helpers shared by the launcher and arca-init (glibc and musl). */
#ifndef ARCA_IO_H
#define ARCA_IO_H

#include <stddef.h>
#include <stdint.h>

/* Write all of buf, retrying on EINTR and short writes (pipes, virtio
 * console ports). Returns 0, or -errno (-EIO if write returned 0). */
int write_all(int fd, const void *buf, size_t len);
/* len bytes at offset off, retrying short transfers and EINTR: 0, or
 * -errno (-EIO when the file ends first / nothing could be written). */
int pread_all(int fd, void *buf, size_t len, uint64_t off);
int pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

#endif
