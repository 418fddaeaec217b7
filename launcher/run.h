/* SPDX-License-Identifier: MIT */
/*
 * `arca run`, `arca prepare` and `arca gc`: resolve and open everything the
 * VMM needs while privileged, start it unprivileged in its jail (jail.h),
 * supervise it, and remove what the run created.
 */
#ifndef ARCA_RUN_H
#define ARCA_RUN_H

#include <stdint.h>

#include "cli.h"
#include "err.h"
#include "kernel.h"
#include "paths.h"

#define ARCA_EXIT_ERROR   125
#define ARCA_EXIT_TIMEOUT 124

/* Returns the exit code for arca (>= 0), or -errno with e set. */
int run_command(struct arca_opts *o, struct arca_err *e);
int run_prepare(const struct arca_opts *o, struct arca_err *e);
/* `arca gc`: remove the cgroups of runs whose arca died (SIGKILL). */
int run_gc(const struct arca_opts *o, struct arca_err *e);

/* Open the cached base initrd with the modules arca's guests load,
 * building it first if needed (initrd_base_open). fd or -errno with e set. */
int run_base_initrd_open(const struct arca_paths *p, const struct arca_kernel *k,
			 struct arca_err *e);

/* The guest kernel command line (pure; exposed for tests). */
int run_kernel_cmdline(const struct arca_opts *o, char *buf, size_t cap);

/* arca-vmm's argv (pure; exposed for tests): argv[0] "arca-vmm", the fixed
 * fd numbers of jail.h, --cpus, --memory-mib, --cmdline, then --verbose or
 * --console. Returns argc, or -E2BIG when cmdline does not fit. */
/* A virtio-fs device as the VMM is told about it. */
struct run_fs {
	int fd;          /* the VMM's fd number of the share directory */
	const char *tag;
	bool ro, ids_passthrough;
};

#define RUN_MAX_FS 8

struct run_argv {
	char kvm[32], kernel[32], base[32], spec[32], cpus[32], mem[32], proc[32];
	char fsmax[32], boot[40];
	char fs[RUN_MAX_FS][80];
	char cmdline[600];
	char *argv[16 + RUN_MAX_FS];
};
/* proc_fd: the VMM's /proc/self/fd fd number, or -1. fs_max_fds: each
 * share's fd cap, passed as --fs-max-fds when below ARCA_FS_MAX_FDS;
 * --boot-timeout-ms follows when o->boot_timeout_ms is set. */
int run_vmm_argv(const struct arca_opts *o, const char *cmdline, const struct run_fs *fs,
		 size_t nfs, uint32_t fs_max_fds, int proc_fd, struct run_argv *ra);

#endif
