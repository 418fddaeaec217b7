/* SPDX-License-Identifier: MIT */
/*
 * Pure decisions of the privilege separation (no syscalls, cmocka-tested):
 * which uid/gid the VMM runs as, its resource limits, the per-run cgroup
 * name and the user-namespace map lines. launcher/jail.c and
 * launcher/cgroup.c carry them out.
 */
#ifndef ARCA_PRIVSEP_H
#define ARCA_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Debian's nobody/nogroup: the VMM's ids when root runs arca without sudo
 * and without --vmm-user. */
#define PRIVSEP_NOBODY 65534u
/* VMM memory beyond guest RAM: kernel + initrd copies, thread stacks,
 * virtqueue buffers, libc. Measured well under 64 MiB; 256 leaves room. */
#define PRIVSEP_MEM_OVERHEAD_MIB 256u
/* VMM threads beyond one per vCPU: the main (device) thread plus slack. */
#define PRIVSEP_PIDS_EXTRA 8u
/* Fds beyond two per vCPU: kvm, vm, 4 inputs, epoll, stop eventfd, an
 * ioeventfd + irqfd per virtqueue (console: 8 queues) and stdio. */
#define PRIVSEP_NOFILE_BASE 128u

/* Decimal uid/gid: digits only (no sign, space or base prefix), below
 * 2^32 - 1 ((uid_t)-1 means "unchanged" to setresuid). 0, -EINVAL, -ERANGE. */
int privsep_parse_id(const char *s, uint32_t *out);

/* "UID" or "UID:GID" (numeric; GID defaults to UID). Neither may be 0: a
 * VMM running as root, or with root's group, is what this is meant to stop.
 * 0 or -EINVAL/-ERANGE. */
int privsep_parse_user(const char *s, uint32_t *uid, uint32_t *gid);

enum privsep_source {
	PRIVSEP_SRC_OPTION,  /* --vmm-user */
	PRIVSEP_SRC_SUDO,    /* SUDO_UID / SUDO_GID */
	PRIVSEP_SRC_NOBODY,  /* root without sudo: 65534:65534 */
	PRIVSEP_SRC_SELF,    /* rootless: the invoking user, unchanged */
};

struct privsep_ids {
	uint32_t uid, gid;
	enum privsep_source src;
};

/*
 * The VMM's ids when arca runs as root: --vmm-user if given (opt_uid != 0),
 * else SUDO_UID/SUDO_GID when both are valid and non-zero (sudo from a
 * normal user; sudo from root sets 0, which we never use), else nobody.
 * sudo_uid/sudo_gid are the raw environment values (may be NULL).
 */
void privsep_pick_ids(uint32_t opt_uid, uint32_t opt_gid, const char *sudo_uid,
		      const char *sudo_gid, struct privsep_ids *out);

struct privsep_limits {
	uint64_t memory_max; /* bytes: guest RAM + PRIVSEP_MEM_OVERHEAD_MIB */
	uint32_t pids_max;   /* vCPUs + PRIVSEP_PIDS_EXTRA */
	uint32_t cpu_weight; /* cgroup v2 default (100): one VM = one share */
};

/* -EINVAL for cpus == 0 or memory_mib == 0 (cli_parse never gives those). */
int privsep_limits(unsigned cpus, unsigned memory_mib, struct privsep_limits *l);

/* Fds per share beyond its FUSE server's cap: the share's thread (epoll,
 * kick and call eventfds), its io_uring and that ring's eventfd. */
#define PRIVSEP_NOFILE_PER_SHARE 8u

/* Fds per disk besides two per queue (its ioeventfd and irqfd, one queue
 * per vCPU): the image, its io_uring and that ring's eventfd, an ephemeral
 * disk's overlay, slack. */
#define PRIVSEP_NOFILE_PER_DISK 8u
/* Threads per disk counted by pids.max: io_uring workers the disk's ring
 * may start (the VMM bounds them), as for a share's ring. */
#define PRIVSEP_PIDS_PER_DISK 3u

/* The VMM's RLIMIT_NOFILE (soft = hard) and the fd cap of each share. */
struct privsep_nofile {
	uint64_t want;      /* base + disks + nshares * (ARCA_FS_MAX_FDS + per share) */
	uint64_t limit;     /* what to set: want, or the hard limit if lower */
	uint64_t need;      /* the least a run of this shape can work with */
	uint32_t share_fds; /* each share's FUSE server cap (arca-vmm --fs-max-fds) */
	bool clamped;       /* limit < want: shares get fewer than ARCA_FS_MAX_FDS */
};

/*
 * Size RLIMIT_NOFILE for a VMM with `cpus` vCPUs, `nshares` shares and
 * `ndisks` disks (each PRIVSEP_NOFILE_PER_DISK + 2 per vCPU, counted with
 * the base: a disk's fds are not clamped).
 * hard: the hard limit arca runs under; can_raise: whether it may raise
 * it (CAP_SYS_RESOURCE in the initial user namespace, which a rootless
 * arca and root in a Docker-default container lack). Wanted above an
 * unraisable hard limit, the limit is clamped to it and what is left after
 * the base is divided among the shares. -EMFILE when less than `need`
 * (ARCA_FS_MIN_FDS per share) is left; *out is filled in every case, so
 * the caller can name the numbers. -EINVAL for cpus == 0.
 */
int privsep_nofile(unsigned cpus, unsigned nshares, unsigned ndisks, uint64_t hard,
		   bool can_raise, struct privsep_nofile *out);

/* The per-run cgroup directory name, "run-PID" of the supervising arca. */
int privsep_cgroup_name(pid_t owner, char *buf, size_t cap);
/* Parse "run-PID" back; -EINVAL for any other name (never touch those). */
int privsep_cgroup_parse(const char *name, pid_t *owner);

/* One /proc/PID/{uid,gid}_map line mapping id to itself: "ID ID 1\n". */
int privsep_idmap_line(uint32_t id, char *buf, size_t cap);

#endif
