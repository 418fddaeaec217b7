/* SPDX-License-Identifier: MIT */
/*
 * Per-thread seccomp confinement of arca-vmm (policy/vmm-*.policy).
 *
 * (Not named seccomp.h: with -Ivmm that would shadow libseccomp's <seccomp.h>.)
 *
 * Order (Solo5/Firecracker's "acquire, then confine, then run guest code"):
 *   1. seccomp_prepare()  in main, before any vCPU thread: no_new_privs,
 *      the SIGSYS reporter, a barrier for ncpus + 1 threads.
 *   2. each vCPU thread calls seccomp_enter(SECCOMP_VCPU) first thing;
 *   3. main calls seccomp_enter(SECCOMP_MAIN) after the last vCPU thread
 *      exists and setup is over (so no vCPU inherits the main filter and
 *      main never needs clone).
 * seccomp_enter installs the calling thread's filter (no TSYNC: each thread
 * gets exactly its own class) and waits until every thread has tried; it
 * fails, in every thread, if any one filter failed, so no guest code runs
 * half-confined.
 */
#ifndef ARCA_VMM_SECCOMP_THREAD_H
#define ARCA_VMM_SECCOMP_THREAD_H

#include <stdbool.h>

#include "err.h"

enum seccomp_class {
	SECCOMP_MAIN,
	SECCOMP_VCPU,
	SECCOMP_FS,
	SECCOMP_BLK,
	SECCOMP_NET,
	SECCOMP_NR_CLASSES,
};

struct seccomp_opts {
	bool disabled; /* --no-seccomp (debugging only) */
	int forbidden; /* test builds: --test-forbidden-syscall=CLASS; -1 = none */
};

/* Removes arca-vmm's seccomp options (--no-seccomp, and in ARCA_TEST_HOOKS
 * builds --test-forbidden-syscall=main|vcpu) from argv, compacting it.
 * Anything else is left for vmm_opts_parse. */
int seccomp_opts_take(int *argc, char **argv, struct seccomp_opts *so, struct arca_err *e);

/* Main thread, before starting any thread that will call seccomp_enter.
 * nthreads counts every thread that will call seccomp_enter. */
int seccomp_prepare(const struct seccomp_opts *so, unsigned nthreads, struct arca_err *e);

/* Install the calling thread's filter and wait for the others. Returns 0
 * when every thread's filter is in place; otherwise a negative errno and
 * the class and error of the first failure in *failed_class / *failed_err
 * (either may be NULL). */
int seccomp_enter(enum seccomp_class c, const char **failed_class, int *failed_err);

/* Installs the filter for class c on the calling thread only (what
 * seccomp_enter does before the barrier); used by the probe tests. */
int seccomp_install(enum seccomp_class c);

const char *seccomp_class_name(enum seccomp_class c);

#endif
