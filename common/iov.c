/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "iov.h"

ssize_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		if (__builtin_add_overflow(t, iov[i].iov_len, &t) || t > SSIZE_MAX)
			return -EOVERFLOW;
	return (ssize_t)t;
}

/* The one walker: the pieces of [skip, skip+len) in order. */
static size_t iov_copy(const struct iovec *iov, int n, size_t skip, uint8_t *buf,
		       size_t len, bool to_buf)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		size_t take = seg - skip;
		if (take > len - done)
			take = len - done;
		uint8_t *p = (uint8_t *)iov[i].iov_base + skip;
		if (to_buf)
			memcpy(buf + done, p, take);
		else
			memcpy(p, buf + done, take);
		done += take;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, int n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, int n, size_t skip, const void *buf, size_t len)
{
	/* iov_copy only reads buf in this direction. */
	return iov_copy(iov, n, skip, (uint8_t *)(uintptr_t)buf, len, false);
}

int iov_slice(const struct iovec *src, int n, size_t skip, size_t len, struct iovec *dst,
	      int dmax)
{
	int k = 0;
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t seg = src[i].iov_len;
		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		size_t take = seg - skip;
		if (take > len - done)
			take = len - done;
		if (k == dmax)
			return -E2BIG;
		dst[k].iov_base = (char *)src[i].iov_base + skip;
		dst[k].iov_len = take;
		k++;
		done += take;
		skip = 0;
	}
	return done < len ? -EFAULT : k;
}
