/* SPDX-License-Identifier: MIT */
/*
 * The VMM's cgroup v2: /sys/fs/cgroup/arca/run-PID (PID: the supervising
 * arca) with memory.max, pids.max and cpu.weight from privsep_limits().
 * Used when the host mounts cgroup2 there and we may create the directory
 * (root, or a user to whom /sys/fs/cgroup/arca was delegated); skipped
 * silently otherwise. Left-over directories of dead runs are removed by
 * cgroup_gc() (`arca gc`, and at the start of every run).
 */
#ifndef ARCA_CGROUP_H
#define ARCA_CGROUP_H

#include <limits.h>
#include <stdbool.h>

#include "err.h"
#include "privsep.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_BASE CGROUP_ROOT "/arca"

struct arca_cgroup {
	int dirfd;           /* -1: no cgroup for this run */
	char path[PATH_MAX];
};

/* 0 with cg->dirfd >= 0 (created, limits written), 0 with cg->dirfd == -1
 * (cgroups unavailable to us: skipped), or -errno with e set when the
 * cgroup exists but a limit could not be applied. */
int cgroup_create(const struct privsep_limits *l, struct arca_cgroup *cg, struct arca_err *e);

/* Remove the run's cgroup (the VMM has been reaped); idempotent. */
void cgroup_destroy(struct arca_cgroup *cg);

/* Remove every run-PID whose arca is dead (killing what is left in it).
 * Returns the number removed; never fails (best effort). */
int cgroup_gc(void);

#endif
