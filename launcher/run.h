/* SPDX-License-Identifier: MIT */
/*
 * `arca run`, `arca prepare` and `arca gc`: resolve and open everything the
 * VMM needs while privileged, start it unprivileged in its jail (jail.h),
 * supervise it, and remove what the run created.
 */
#ifndef ARCA_RUN_H
#define ARCA_RUN_H

#include "cli.h"
#include "err.h"

#define ARCA_EXIT_ERROR   125
#define ARCA_EXIT_TIMEOUT 124

/* Returns the exit code for arca (>= 0), or -errno with e set. */
int run_command(const struct arca_opts *o, struct arca_err *e);
int run_prepare(const struct arca_opts *o, struct arca_err *e);
/* `arca gc`: remove the cgroups of runs whose arca died (SIGKILL). */
int run_gc(const struct arca_opts *o, struct arca_err *e);

/* The guest kernel command line (pure; exposed for tests). */
int run_kernel_cmdline(const struct arca_opts *o, char *buf, size_t cap);

/* arca-vmm's argv (pure; exposed for tests): argv[0] "arca-vmm", the fixed
 * fd numbers of jail.h, --cpus, --memory-mib, --cmdline, then --verbose or
 * --console. Returns argc, or -E2BIG when cmdline does not fit. */
struct run_argv {
	char kvm[32], kernel[32], base[32], spec[32], cpus[32], mem[32];
	char cmdline[600];
	char *argv[12];
};
int run_vmm_argv(const struct arca_opts *o, const char *cmdline, struct run_argv *ra);

#endif
