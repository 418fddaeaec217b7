/* SPDX-License-Identifier: MIT */
/*
 * `arca run`, `arca prepare` and `arca gc`: resolve and open everything the
 * VMM needs while privileged, start it unprivileged in its jail (jail.h),
 * supervise it, and remove what the run created.
 */
#ifndef ARCA_RUN_H
#define ARCA_RUN_H

#include <stdint.h>

#include <arca.h>

#include "cli.h"
#include "err.h"
#include "kernel.h"
#include "paths.h"

#define ARCA_EXIT_ERROR   125
#define ARCA_EXIT_TIMEOUT 124

/* Returns the exit code for arca (>= 0), or -errno with e set. *res (when
 * not NULL) always says how the run ended in libarca's terms (arca.h),
 * exit_code included: ERROR with e's message when -errno is returned. A
 * timeout, the VMM dying of a signal and how the command ended are only
 * there: run_command prints nothing but o->diag_fd notes. */
int run_command(struct arca_opts *o, struct arca_result *res, struct arca_err *e);
/* How a run ended (pure; exposed for tests): the VMM's wait status st,
 * its 8-byte result record rec when have, the signal arca forwarded last
 * (0: none), whether the timeout struck. */
void run_result_from(int st, const uint8_t *rec, bool have, int forwarded, bool timed_out,
		     struct arca_result *res);
/* Fill *res for an arca error (-errno r with e). */
void run_result_error(struct arca_result *res, int r, const struct arca_err *e);
int run_prepare(const struct arca_opts *o, struct arca_err *e);
/* `arca gc`: remove the cgroups of runs whose arca died (SIGKILL). */
int run_gc(const struct arca_opts *o, struct arca_err *e);

/* Open the cached base initrd with the modules arca's guests load,
 * building it first if needed (initrd_base_open). fd or -errno with e set. */
int run_base_initrd_open(const struct arca_paths *p, const struct arca_kernel *k,
			 struct arca_err *e);

/* The command's part of a spec (argv, env, workdir, rlimits, the tty
 * flag), pointing into o; `arca run` adds the VM's records, exec the
 * user. Pure. */
struct arca_spec;
void run_spec_command(const struct arca_opts *o, struct arca_spec *s);

/* The guest kernel command line (pure; exposed for tests). */
int run_kernel_cmdline(const struct arca_opts *o, char *buf, size_t cap);

/* arca-vmm's argv (pure; exposed for tests): argv[0] "arca-vmm", the fixed
 * fd numbers of jail.h, --cpus, --memory-mib, --cmdline, one --fs= per
 * virtio-fs device, --fs-max-fds, one --blk= per disk, --proc-fd,
 * --boot-timeout-ms, then --verbose or --console, --no-seccomp. Returns
 * argc, or -E2BIG when cmdline does not fit. */
/* A virtio-fs device as the VMM is told about it. */
struct run_fs {
	int fd;          /* the VMM's fd number of the share directory */
	const char *tag;
	bool ro, ids_passthrough, writeback, direct_io;
};

#define RUN_MAX_FS 8

/* A virtio-blk device as the VMM is told about it:
 *   --blk=FD[,ro][,id=ID][,direct][,nosync][,ephemeral][,queues=N]
 * ro: the device is read-only (VIRTIO_BLK_F_RO), the fd O_RDONLY; not for
 * ephemeral, whose guest writes (into the VMM's overlay, the fd is O_RDONLY
 * too); direct: the fd is O_DIRECT (cache=none); nosync: FLUSH completes
 * without fdatasync (sync=none); queues: one per vCPU. */
struct run_blk {
	int fd;          /* the VMM's fd number of the image */
	const char *id;  /* virtio-blk serial, 1..20 bytes */
	bool ro, direct, nosync, ephemeral;
	unsigned queues;
};

#define RUN_MAX_BLK 16
/* Queues per disk: one per vCPU up to arca-vmm's VMM_BLK_MAX_QUEUES
 * (vmm/opts.h; the virtio-mmio transport's kick table has 16 entries). */
#define RUN_BLK_MAX_QUEUES 16u
/* Pure: min(cpus, RUN_BLK_MAX_QUEUES), at least 1. */
unsigned run_blk_queues(unsigned cpus);

struct run_argv {
	char kvm[32], kernel[32], base[32], spec[32], cpus[32], mem[32], proc[32];
	char fsmax[32], boot[40], stop[40], winsize[32], result[32], log[32], launch[40];
	/* In: when arca started (CLOCK_MONOTONIC ns, 0: unknown); passed as
	 * --launch-ns with --verbose, for the VMM's boot breakdown. */
	uint64_t launch_ns;
	/* In: warm starts (launcher/snapcache.h): the VMM's fd numbers of
	 * the snapshot (restore or save into) and of the raw spec; -1 (or
	 * 0, as memset leaves them) for none. */
	int snap_fd, spec_fd;
	bool snap_restore;
	char snap[40], specfd[32];
	/* In: --net: the VMM's fd number of the TAP (0, as memset leaves it:
	 * none), the guest's MAC and the link's MTU; net_stream: the fd is
	 * passt's stream socket, not a TAP (,backend=stream). */
	int net_fd;
	unsigned net_mtu;
	uint8_t net_mac[6];
	bool net_stream;
	char net[80];
	char fs[RUN_MAX_FS][80];
	char blk[RUN_MAX_BLK][80];
	char cmdline[2100]; /* "--cmdline=" + ARCA_CMDLINE_MAX */
	char *argv[24 + RUN_MAX_FS + RUN_MAX_BLK];
};
/* proc_fd: the VMM's /proc/self/fd fd number, or -1. fs_max_fds: each
 * share's fd cap, passed as --fs-max-fds when below ARCA_FS_MAX_FDS;
 * --boot-timeout-ms follows when o->boot_timeout_ms is set. -E2BIG also
 * for more than RUN_MAX_FS / RUN_MAX_BLK devices. */
int run_vmm_argv(const struct arca_opts *o, const char *cmdline, const struct run_fs *fs,
		 size_t nfs, const struct run_blk *blk, size_t nblk, uint32_t fs_max_fds,
		 int proc_fd, struct run_argv *ra);

#endif
