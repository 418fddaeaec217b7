/* SPDX-License-Identifier: MIT */
/*
 * The shares' side of the io_uring engine (vmm/uring.h): a FUSE READ, WRITE,
 * FSYNC or FALLOCATE prepared by fuse_server_submit, queued on a share's
 * ring. The engine itself knows nothing of FUSE.
 */
#ifndef ARCA_VMM_FS_URING_H
#define ARCA_VMM_FS_URING_H

#include <stdint.h>

#include "fuse_server.h"
#include "uring.h"

/* Queue io (it must stay in place until its completion) as an SQE carrying
 * tag. 0, -EBUSY when the ring is full, -EINVAL for a negative offset. */
int fs_uring_queue(struct uring *u, const struct fuse_io *io, uint64_t tag);

#endif
