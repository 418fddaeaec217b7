/* SPDX-License-Identifier: MIT */
/*
 * iovec arithmetic shared by the virtqueue layer and the FUSE server (pure;
 * the iovecs usually point into guest memory already checked by gm_ptr()).
 */
#ifndef ARCA_IOV_H
#define ARCA_IOV_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Total length; -EOVERFLOW if it does not fit in ssize_t. */
ssize_t iov_total(const struct iovec *iov, int n);
/* Copy up to len bytes starting skip bytes into iov to / from buf.
 * Returns the bytes copied (less than len when the iovecs are shorter). */
size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len);
/* dst[] = the bytes [skip, skip+len) of src[], segments split as needed
 * (empty segments dropped). Returns the segment count, -EFAULT when src is
 * shorter than skip+len, -E2BIG when more than dmax segments are needed. */
int iov_slice(const struct iovec *src, int n, size_t skip, size_t len, struct iovec *dst,
	      int dmax);

#endif
