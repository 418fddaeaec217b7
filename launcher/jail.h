/* SPDX-License-Identifier: MIT */
/*
 * Starting arca-vmm unprivileged and confined (the syscall half of the
 * privilege separation; the decisions are in privsep.c):
 *
 *   new mount, pid, ipc, uts, net and cgroup namespaces (plus a user
 *   namespace when rootless) -> an empty read-only tmpfs root reached by
 *   pivot_root, the old root detached -> rlimits -> no supplementary groups,
 *   the target uid/gid, no capabilities in any set, no_new_privs, an empty
 *   environment -> execveat() of arca-vmm from an fd opened before all this.
 *
 * Also the check for inputs opened while privileged (jail_open_input).
 */
#ifndef ARCA_JAIL_H
#define ARCA_JAIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Fixed fd numbers in the VMM (after stdio): its command line names them. */
enum {
	VMM_FD_KVM = 3, VMM_FD_KERNEL, VMM_FD_INITRD_BASE, VMM_FD_INITRD_SPEC,
	VMM_FD_RESULT, /* a pipe: the command's status as init reported it */
	VMM_FD_LOG,    /* arca-vmm's own messages and the console */
	/* --warm only (else not passed, and the number stays closed): the
	 * snapshot to restore or save into, and the raw spec. A fixed
	 * number, so the device thread's filter can allow closing exactly
	 * it (policy/vmm-main.policy). */
	VMM_FD_SNAPSHOT, VMM_FD_SPEC_RAW,
	VMM_FD_END
};

#define JAIL_MAX_BINDS 10
#define JAIL_MAX_FILES 32 /* SHARES_FILES_MAX */
#define JAIL_MAX_EXTRA 16 /* share directories and disks: at most the 15
			     * virtio-mmio slots besides the console */

/* A host file bind-mounted read-only into the jail (only for a dynamically
 * linked arca-vmm: its loader and libraries). */
struct jail_bind {
	char *src; /* realpath on the host */
	char *dst; /* absolute path inside the jail */
};

struct jail_spec {
	int fds[VMM_FD_END];        /* [3..6]: moved onto those numbers */
	int extra_fds[JAIL_MAX_EXTRA]; /* share directories, then disks:
					* onto VMM_FD_END.. */
	size_t nextra;
	bool proc_fd;               /* also give the VMM an O_PATH fd of its own
				     * /proc/self/fd, right after the extras:
				     * its FUSE server reopens files through it */
	int vmm_fd;                 /* arca-vmm, O_RDONLY, executed by fd */
	char *const *argv;
	bool rootless;              /* arca is not root: add a user namespace */
	uint32_t uid, gid;          /* the VMM's ids (rootless: our own) */
	uint64_t nofile;            /* RLIMIT_NOFILE, soft = hard; at most the
				     * hard limit unless jail_nofile_probe()
				     * said it can be raised */
	int cgroup_fd;              /* directory fd for CLONE_INTO_CGROUP, or -1 */
	const struct jail_bind *binds;
	size_t nbinds;
	const sigset_t *child_mask; /* signal mask the VMM starts with */
	/* Rootless: extra_fds[0..nshares) are share directories that the
	 * child replaces by detached clones of share_paths[i] (sharemnt.h),
	 * read-only where share_ro[i], after checking it is the same
	 * directory. Root mode: 0 (the launcher cloned them already). */
	size_t nshares;
	const char *share_paths[JAIL_MAX_EXTRA]; /* NULL: not a share (skipped) */
	bool share_ro[JAIL_MAX_EXTRA];
	/* Files (-v FILE:GUEST, shares.h): the child mounts a small tmpfs,
	 * binds file i on its entry "i" (root mode: file_fds[i] is the
	 * launcher's detached clone; rootless: the child clones
	 * file_paths[i] first, as the shares, and checks it is
	 * file_fds[i]'s file), makes the
	 * tmpfs read-only and puts a detached clone of the whole tree in
	 * extra_fds[files_slot]: one directory fd whose entries are the
	 * files and nothing else, confined by the kernel as a share is. */
	size_t nfiles, files_slot;
	int file_fds[JAIL_MAX_FILES];
	const char *file_paths[JAIL_MAX_FILES];
	bool file_ro[JAIL_MAX_FILES];
};

/*
 * Start arca-vmm as described above. Returns its pid (> 0) and a pidfd in
 * *pidfd, or -errno with e set when the clone itself failed. A failure of
 * a later step happens in the child: it prints one line and exits 125,
 * which the caller sees as the VMM's status.
 */
pid_t jail_spawn(const struct jail_spec *s, int *pidfd, struct arca_err *e);

/*
 * The hard RLIMIT_NOFILE arca runs under, and whether it can be raised to
 * `want`: asked of the kernel by raising our own hard limit and putting it
 * back (lowering is always allowed), not guessed from euid or capability
 * bits: root without CAP_SYS_RESOURCE (Docker's default set) cannot, and
 * the VMM's user namespace (rootless) never helps, since RLIMIT_NOFILE is
 * checked against the initial namespace.
 */
void jail_nofile_probe(uint64_t want, uint64_t *hard, bool *can_raise);

/*
 * Open an input that arca reads while it may be privileged and hands to the
 * VMM or the guest. The path (already absolute and resolved by the caller)
 * is opened without following any symlink in any component, so a component
 * swapped for a symlink after resolution cannot redirect a root open; the
 * opened file must be a regular file, owned by root, by our euid or by
 * extra_owner (the sudo user; (uid_t)-1 for none), and writable by nobody
 * else (not group/world-writable). Returns the fd (O_CLOEXEC) or -errno with
 * e set naming `what` and the path.
 */
int jail_open_input(const char *path, const char *what, uid_t extra_owner,
		    struct arca_err *e);

/* The same ownership/mode check on an fd opened elsewhere. */
int jail_check_input_fd(int fd, const char *path, const char *what, uid_t extra_owner,
			struct arca_err *e);

#endif
