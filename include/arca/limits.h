/* SPDX-License-Identifier: MIT */
/* Limits the launcher and arca-vmm agree on (host side, but for
 * ARCA_RLIMITS_MAX, which the spec codec in common/ also checks in the
 * guest; this header stays macros only, no includes). */
#ifndef ARCA_LIMITS_H
#define ARCA_LIMITS_H

/* Host fds one share's FUSE server may hold open (inodes + open files): a
 * guest that looks up or opens without end gets EMFILE instead of
 * exhausting the VMM's fd table (CVE-2020-10717). The server holds one
 * O_PATH fd per inode the guest kernel remembers, so this must cover big
 * trees (`find /usr` on the default root): 64 Ki per share. The launcher's
 * RLIMIT_NOFILE for the VMM leaves room for this many per share, and the
 * VMM's cgroup memory limit bounds what the fds pin in the kernel.
 *
 * Where the hard RLIMIT_NOFILE is lower and cannot be raised (no
 * CAP_SYS_RESOURCE: rootless, or root in a container with Docker's default
 * capabilities, hard limit often 20000 or 1 Mi), the launcher divides what
 * is allowed among the shares (privsep_nofile()) and passes the result as
 * arca-vmm --fs-max-fds; a share then answers EMFILE sooner. Below
 * ARCA_FS_MIN_FDS per share a run is refused: the default root alone opens
 * a few hundred inodes to start python3. */
#define ARCA_FS_MAX_FDS 65536
#define ARCA_FS_MIN_FDS 256

/* After a SIGTERM passed on to the command, the VM is stopped this much
 * later if the command still runs (--stop-timeout; docker stop's 10 s). */
#define ARCA_STOP_TIMEOUT_DEFAULT_MS 10000u

/* -t: arca tells arca-vmm its terminal's new size with this real-time
 * signal, the size as the sigqueue value (rows << 16 | cols). Not with
 * SIGWINCH itself: standard signals do not queue, so two resizes in a row
 * (or one arriving while another SIGWINCH is pending) would merge and the
 * guest keep a stale size; real-time signals queue each value. glibc keeps
 * SIGRTMIN's first two for itself, which its SIGRTMIN macro skips already.
 * Needs <signal.h>. */
#define ARCA_SIG_WINSIZE (SIGRTMIN + 1)
/* arca-vmm's kick of a vCPU thread out of KVM_RUN (pausing the VM for a
 * snapshot): a signal of its own, unblocked only in the vCPU threads, so
 * no signal meant for the command (SIGUSR1, ...) is ever taken as a kick.
 * A number, not SIGRTMIN + 4, because the seccomp policy compiler needs a
 * constant (policy/vmm-main.policy); vcpu.c checks it is a real-time
 * signal glibc leaves to applications (SIGRTMIN is 34 there). */
#define ARCA_VCPU_KICK_SIG 38
/* To an exec client process (libarca's arca_proc_signal): deliver the
 * signal in the value (1..64) to the session's command; any signal, even
 * one (KILL, STOP) the client could not catch itself. */
#define ARCA_SIG_FORWARD (SIGRTMIN + 2)

/* --ulimit: resource limits one command may carry (ARCA_SPEC_RLIMIT
 * records in its spec). Linux has 16 resources (RLIM_NLIMITS) and each
 * may appear once, so this bound is every resource at once. */
#define ARCA_RLIMITS_MAX 16

#endif
