/* SPDX-License-Identifier: MIT */
/* Small I/O helpers shared by the launcher and arca-init (glibc and musl). */
#ifndef ARCA_IO_H
#define ARCA_IO_H

#include <stddef.h>

/* Write all of buf, retrying on EINTR and short writes (pipes, virtio
 * console ports). Returns 0, or -errno (-EIO if write returned 0). */
int write_all(int fd, const void *buf, size_t len);

#endif
