/* SPDX-License-Identifier: MIT */
/*
 * CLOCK_MONOTONIC in nanoseconds, for timings (--timings, --verbose's
 * per-share times). A thread that calls it needs clock_gettime in its
 * seccomp policy (the vDSO serves it without a syscall where it can).
 */
#ifndef ARCA_MONOTIME_H
#define ARCA_MONOTIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
