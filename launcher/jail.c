/* SPDX-License-Identifier: MIT */
/* See jail.h. The child half runs between clone3() and execveat(): it
 * reports a failed step on stderr and exits 125, it never returns. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "jail.h"
#include "paths.h"
#include "privsep.h"
#include "run.h"
#include "sharemnt.h"

/* ---- inputs opened while privileged ------------------------------------------------ */

int jail_check_input_fd(int fd, const char *path, const char *what, uid_t extra_owner,
			struct arca_err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return arca_error_errno(e, errno, "cannot stat %s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return arca_error(e, EINVAL, "%s %s is not a regular file", what, path);
	/* Whoever may write the file decides what root hands to the VMM or
	 * boots as the guest: only root, ourselves or the sudo user. */
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    (extra_owner == (uid_t)-1 || st.st_uid != extra_owner))
		return arca_error(e, EPERM, "refusing %s %s: owned by uid %u, not by root or you",
				  what, path, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return arca_error(e, EPERM,
				  "refusing %s %s: writable by group or others (chmod go-w it)",
				  what, path);
	return 0;
}

int jail_open_input(const char *path, const char *what, uid_t extra_owner,
		    struct arca_err *e)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return arca_error_errno(e, errno, "cannot resolve %s %s", what, path);
	/* realpath() resolved every symlink once; the open must then meet none,
	 * or a component was swapped in between (a classic root-open race).
	 * O_NONBLOCK: a FIFO swapped in must not hang us. */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, real, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
		/* Before Linux 5.6: at least the last component. */
		fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ELOOP)
			return arca_error(e, ELOOP, "refusing %s %s: a path component became a symlink",
					  what, real);
		return arca_error_errno(e, errno, "cannot open %s %s", what, real);
	}
	_cleanup_close_ int owned = fd;
	int r = jail_check_input_fd(fd, real, what, extra_owner, e);
	if (r < 0)
		return r;
	/* Reads must block normally from here on. */
	if (fcntl(fd, F_SETFL, O_RDONLY) < 0)
		return arca_error_errno(e, errno, "fcntl %s", real);
	return steal_fd(&owned);
}

/* ---- the child ------------------------------------------------------------------------ */

/* The child's messages go to the VMM's log (VMM_FD_LOG), not to stderr,
 * which is the command's. */
static int child_log = STDERR_FILENO;

static void __attribute__((noreturn, format(printf, 2, 3))) child_fail(int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(child_log, "arca: starting arca-vmm: %s%s%s\n", msg, err ? ": " : "",
		err ? strerror(err) : "");
	_exit(ARCA_EXIT_ERROR);
}

static void write_proc(const char *path, const char *data)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(data);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		child_fail(errno, "writing %s", path);
}

/* Rootless: map our uid and gid to themselves, nothing else. setgroups
 * must be denied before an unprivileged gid_map write is accepted (since
 * 3.19; CVE-2014-8989: dropping groups could bypass negative ACLs). */
static void child_map_ids(uint32_t uid, uint32_t gid)
{
	char line[64];

	write_proc("/proc/self/setgroups", "deny");
	privsep_idmap_line(uid, line, sizeof(line));
	write_proc("/proc/self/uid_map", line);
	privsep_idmap_line(gid, line, sizeof(line));
	write_proc("/proc/self/gid_map", line);
}

/* Bind mounts keep the source mount's flags; in a user namespace some are
 * locked and a remount must repeat them, so start from what is there. */
static unsigned long mount_flags_of(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* A dynamically linked VMM only: its loader and libraries, one file each,
 * read-only, at the path the loader looks for them (relative to cwd, the
 * new root-to-be). */
static void child_bind(const struct jail_bind *b)
{
	char dst[PATH_MAX];
	if (snprintf(dst, sizeof(dst), ".%s", b->dst) >= (int)sizeof(dst))
		child_fail(ENAMETOOLONG, "bind %s", b->dst);
	char *slash = strrchr(dst, '/');
	*slash = '\0';
	int r = paths_mkdir_p(dst, 0555);
	*slash = '/';
	if (r < 0)
		child_fail(-r, "mkdir for %s", b->dst);
	_cleanup_close_ int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		child_fail(errno, "creating %s", b->dst);
	if (mount(b->src, dst, NULL, MS_BIND, NULL) < 0)
		child_fail(errno, "bind-mounting %s", b->src);
	if (mount(NULL, dst, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | mount_flags_of(dst),
		  NULL) < 0)
		child_fail(errno, "making %s read-only", b->dst);
}

/*
 * The VMM's root: a fresh tmpfs, mounted over /tmp *inside our new mount
 * namespace only*, so the host never sees it and nothing is left behind
 * even after SIGKILL. pivot_root(".", ".") stacks the old root on top of
 * the new one; detaching it leaves the VMM with no host path at all.
 */
static void child_files(struct jail_spec *s);

static void child_jail(struct jail_spec *s, int *proc_fd)
{
	/* No mount event may propagate out of (or into) our namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(errno, "making / private");
	/* nr_inodes: the root plus what child_bind() creates. */
	if (mount("arca-jail", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=64k,nr_inodes=64") < 0)
		child_fail(errno, "mounting the jail tmpfs");
	if (chdir("/tmp") < 0)
		child_fail(errno, "chdir into the jail");
	for (size_t i = 0; i < s->nbinds; i++)
		child_bind(&s->binds[i]);
	child_files(s);
	/*
	 * The FUSE server reopens its O_PATH fds through /proc/self/fd. Not
	 * the host's procfs: from its /proc/PID/fd, ".." leads to every host
	 * process and to /proc/sys. A procfs of our own pid namespace (we are
	 * its only process) with subset=pid (no /proc/sys, no kernel files)
	 * shows nothing but ourselves. Mounted before pivot_root, while the
	 * host's /proc is still visible in this namespace: a user namespace
	 * may only mount procfs then (mount_too_revealing).
	 */
	if (s->proc_fd) {
		if (mkdir("proc", 0555) < 0)
			child_fail(errno, "mkdir proc in the jail");
		if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "subset=pid") < 0)
			child_fail(errno, "mounting the VMM's procfs");
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(errno, "detaching the old root");
	if (chdir("/") < 0)
		child_fail(errno, "chdir /");
	if (s->proc_fd) {
		*proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (*proc_fd < 0)
			child_fail(errno, "open /proc/self/fd");
		/* The fd keeps that procfs alive; the jail itself stays empty. */
		if (umount2("/proc", MNT_DETACH) < 0 || rmdir("/proc") < 0)
			child_fail(errno, "detaching the VMM's procfs");
	}
	/* Read-only: the VMM has no reason to create anything in its root. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		child_fail(errno, "remounting the jail read-only");
}

static void child_rlimits(uint64_t nofile)
{
	/* NOFILE: the VMM's fds are counted (privsep_limits); a leak or a
	 * guest-driven fd flood stops there. CORE 0: a core dump would write
	 * guest RAM to disk. Not FSIZE: it applies to writes into a regular
	 * file, and the command's stdout may be one. Not NPROC: it counts
	 * every process of the uid system-wide (the sudo user's own shell
	 * included); the cgroup's pids.max bounds the VMM instead. */
	struct rlimit nf = { nofile, nofile }, core = { 0, 0 };
	/* The parent sized nofile to what it may set (jail_nofile_probe). */
	if (setrlimit(RLIMIT_NOFILE, &nf) < 0)
		child_fail(errno, "setrlimit NOFILE");
	if (setrlimit(RLIMIT_CORE, &core) < 0)
		child_fail(errno, "setrlimit CORE");
}

void jail_nofile_probe(uint64_t want, uint64_t *hard, bool *can_raise)
{
	struct rlimit cur;

	*can_raise = false;
	if (getrlimit(RLIMIT_NOFILE, &cur) < 0) {
		*hard = 0;
		return;
	}
	*hard = cur.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)cur.rlim_max;
	if (*hard >= want) {
		*can_raise = true;
		return;
	}
	struct rlimit up = { cur.rlim_cur, (rlim_t)want };
	if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
		*can_raise = true;
		(void)setrlimit(RLIMIT_NOFILE, &cur);
	}
}

/* Read back what the kernel holds: no capability in any set, ids as asked,
 * no way back to root (Solo5's hvt_drop_privileges checks the same). */
static void child_verify(const struct jail_spec *s)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (syscall(SYS_capget, &h, d) < 0)
		child_fail(errno, "capget");
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			child_fail(0, "capabilities left after the drop");
	for (int c = 0; c <= 63; c++) {
		int b = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (b < 0)
			break; /* past the last capability this kernel knows */
		if (b > 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			child_fail(0, "capability %d left in the bounding or ambient set", c);
	}
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != s->uid ||
	    eu != s->uid || su != s->uid || rg != s->gid || eg != s->gid || sg != s->gid)
		child_fail(0, "uid/gid not dropped");
	if (setresuid(0, 0, 0) == 0)
		child_fail(0, "could regain uid 0");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		child_fail(0, "no_new_privs not set");
}

static void child_drop(const struct jail_spec *s)
{
	/* Bounding and ambient sets first: dropping them needs CAP_SETPCAP,
	 * which the uid change below takes away. */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0 || capng_apply(CAPNG_SELECT_AMBIENT) < 0)
		child_fail(errno, "clearing the bounding/ambient capability sets");
	/* Supplementary groups first, while we may (CVE-2022-0358: a helper
	 * that kept root's groups could create files group-owned by them).
	 * Rootless, setgroups is denied and our groups stay: the kernel does
	 * not let an unprivileged user shed groups (they may be negative ACL
	 * entries). */
	if (!s->rootless && setgroups(0, NULL) < 0)
		child_fail(errno, "setgroups");
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		child_fail(errno, "setresgid %u", s->gid);
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		child_fail(errno, "setresuid %u", s->uid);
	/* Root -> non-root already cleared effective/permitted; rootless, the
	 * uid did not change and the full set in our user namespace remains. */
	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		child_fail(errno, "clearing capabilities");
	/* No exec can grant anything again (setuid bits, file caps). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(errno, "PR_SET_NO_NEW_PRIVS");
	child_verify(s);
}

/* Move the inputs onto 3..6, the share directories and disks after them, then the
 * /proc/self/fd fd, and keep the VMM's binary fd (close-on-exec) last;
 * close every other fd. Returns the binary's fd. */
static int child_fds(const struct jail_spec *s, int proc_fd)
{
	int high[VMM_FD_END + JAIL_MAX_EXTRA + 1], vmm;
	int n = VMM_FD_END;

	/* Out of the way first, then onto their numbers, so no dup2()
	 * clobbers a source that sits on a target number. */
	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++) {
		if (s->fds[i] < 0 && (i == VMM_FD_SNAPSHOT || i == VMM_FD_SPEC_RAW)) {
			high[i] = -1; /* optional: not passed */
			continue;
		}
		if ((high[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
			child_fail(errno, "dup");
	}
	for (size_t i = 0; i < s->nextra; i++)
		if ((high[n++] = fcntl(s->extra_fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
			child_fail(errno, "dup");
	if (proc_fd >= 0 && (high[n++] = fcntl(proc_fd, F_DUPFD_CLOEXEC, 64)) < 0)
		child_fail(errno, "dup");
	if ((vmm = fcntl(s->vmm_fd, F_DUPFD_CLOEXEC, 64)) < 0)
		child_fail(errno, "dup");
	child_log = high[VMM_FD_LOG]; /* the dup2s below may land on its old number */
	for (int i = VMM_FD_KVM; i < n; i++) {
		if (high[i] < 0) {
			close(i); /* whatever the launcher had there stays out */
			continue;
		}
		if (dup2(high[i], i) < 0) /* dup2 clears FD_CLOEXEC on i */
			child_fail(errno, "dup2");
	}
	child_log = VMM_FD_LOG;
	if (dup2(vmm, n) < 0 || fcntl(n, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(errno, "dup2");
	/* Nothing else crosses into the VMM (the CVE-2024-21626 lesson: a
	 * leaked host directory fd is a way out of any jail). */
	if (close_range((unsigned)n + 1, ~0U, 0) < 0)
		child_fail(errno, "close_range");
	return n;
}

/* *fd (the launcher's) becomes a detached clone of path, which must be
 * the same file or directory. */
static void child_reclone(const char *path, bool ro, int *fd)
{
	struct arca_err e = { 0 };
	struct stat a, b;
	int nfd = sharemnt_clone(AT_FDCWD, path, ro ? SHAREMNT_RO : 0, -1, NULL, "share", &e);
	if (nfd < 0)
		child_fail(0, "%s", e.msg[0] ? e.msg : "open_tree: no such system call");
	if (fstat(nfd, &a) < 0 || fstat(*fd, &b) < 0)
		child_fail(errno, "fstat of share %s", path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		child_fail(0, "share %s was replaced while arca started", path);
	close(*fd);
	*fd = nfd;
}

/*
 * Rootless: clone each share into a detached mount (sharemnt.h), here
 * because open_tree() needs CAP_SYS_ADMIN over the mount namespace, which
 * only our new user namespace gives, and takes a path of this namespace, so
 * the launcher's fd is resolved again by path: the clone must be the very
 * directory the launcher checked (same device and inode), or a component
 * was swapped in between.
 */
static void child_detach_shares(struct jail_spec *s)
{
	for (size_t i = 0; i < s->nshares; i++)
		if (s->share_paths[i])
			child_reclone(s->share_paths[i], s->share_ro[i], &s->extra_fds[i]);
	/* The files too (child_files binds the clones), by the same rule. */
	for (size_t i = 0; s->rootless && i < s->nfiles; i++)
		child_reclone(s->file_paths[i], s->file_ro[i], &s->file_fds[i]);
}

/*
 * The files device's tree (jail.h), built in the jail's tmpfs before the
 * pivot, while the launcher's paths still resolve (rootless clones by
 * path). Linux 6.1 cannot attach a mount beneath a detached one, so the
 * tree is made here, in this private namespace, cloned whole
 * (OPEN_TREE_CLONE | AT_RECURSIVE: the clone keeps the file mounts), and
 * the original is detached again.
 */
static void child_files(struct jail_spec *s)
{
	char opts[64], name[16];
	if (!s->nfiles)
		return;
	if (mkdir("files", 0755) < 0)
		child_fail(errno, "mkdir files in the jail");
	/* Room for the entries and nothing else: it is read-only once made. */
	snprintf(opts, sizeof(opts), "mode=0755,size=4k,nr_inodes=%zu", s->nfiles + 1);
	if (mount("arca-files", "files", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		child_fail(errno, "mounting the files device's tmpfs");
	for (size_t i = 0; i < s->nfiles; i++) {
		snprintf(name, sizeof(name), "files/%zu", i);
		int c = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (c < 0)
			child_fail(errno, "creating %s", name);
		close(c);
		/* A detached clone of the file (child_detach_shares made
		 * it, rootless). */
		if (syscall(SYS_move_mount, s->file_fds[i], "", AT_FDCWD, name,
			    MOVE_MOUNT_F_EMPTY_PATH) < 0)
			child_fail(errno, "binding share %s into the files device",
				   s->file_paths[i]);
		close(s->file_fds[i]);
		s->file_fds[i] = -1;
	}
	/* The guest may write the files, not add, rename or remove any. */
	if (mount(NULL, "files", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, NULL) < 0)
		child_fail(errno, "making the files device read-only");
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "files",
				OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		child_fail(errno, "cloning the files device's tree");
	if (umount2("files", MNT_DETACH) < 0 || rmdir("files") < 0)
		child_fail(errno, "detaching the files device's tree");
	s->extra_fds[s->files_slot] = tree;
}

static void __attribute__((noreturn)) child_main(const struct jail_spec *spec, int death_rd)
{
	/* Ours to change (child_detach_shares swaps fds): this process is a
	 * copy of arca, the parent's struct is untouched. */
	struct jail_spec copy = *spec;
	struct jail_spec *s = &copy;
	child_log = s->fds[VMM_FD_LOG];

	/* If arca dies, so does the VMM (set again after the uid change,
	 * which clears it). */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (s->rootless)
		child_map_ids(s->uid, s->gid);
	child_detach_shares(s);
	/* The VMM's /proc/self/fd (child_jail): opened by this process, which
	 * becomes the VMM, so "self" keeps naming it after the exec. */
	int proc_fd = -1;
	child_jail(s, &proc_fd);
	child_rlimits(s->nofile);
	child_drop(s);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(errno, "PR_SET_PDEATHSIG");
	/* arca may have died before PDEATHSIG was armed: its end of the pipe
	 * is then closed. */
	struct pollfd p = { .fd = death_rd, .events = POLLIN };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLIN)))
		_exit(ARCA_EXIT_ERROR);
	int vmm = child_fds(s, proc_fd);
	/* A session of its own, without a controlling terminal: what the
	 * user's terminal signals (^C, ^\\, a resize) goes to arca's process
	 * group only, and arca passes each on once. In arca's group the VMM
	 * got the terminal's SIGINT as well as arca's copy, and took one ^C
	 * for the two that stop the VM. With no controlling terminal, its
	 * reads and writes of the terminal (stdio) never meet job control. */
	if (setsid() < 0)
		child_fail(errno, "setsid");
	sigprocmask(SIG_SETMASK, s->child_mask, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* By fd, not by path: nothing in the jail can reach, replace or
	 * rewrite the binary (CVE-2019-5736), and the environment is empty. */
	char *const envp[] = { NULL };
	syscall(SYS_execveat, vmm, "", s->argv, envp, AT_EMPTY_PATH);
	child_fail(errno, "execveat");
}

pid_t jail_spawn(const struct jail_spec *s, int *pidfd, struct arca_err *e)
{
	int death[2];
	if (s->nextra > JAIL_MAX_EXTRA)
		return arca_error(e, E2BIG, "too many fds for the VMM (%zu, at most %d)", s->nextra,
				  JAIL_MAX_EXTRA);
	if (pipe2(death, O_CLOEXEC) < 0)
		return arca_error_errno(e, errno, "pipe");

	/* New mount ns: the jail; pid ns: the VMM sees and signals nothing of
	 * the host; ipc/uts: no shared SysV objects or hostname; net: an empty
	 * network namespace (the VM has no network yet); cgroup: the VMM's
	 * view of cgroups starts at its own. Rootless: a user namespace that
	 * owns the others, so the mounts are allowed. */
	struct clone_args ca = {
		.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
			 CLONE_NEWCGROUP | CLONE_PIDFD | (s->rootless ? CLONE_NEWUSER : 0),
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	/* Born inside its cgroup: no window in which it runs unlimited. */
	if (s->cgroup_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)s->cgroup_fd;
	}
	fflush(NULL);
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(death[1]);
		child_main(s, death[0]);
	}
	int err = errno;
	close(death[0]);
	if (pid < 0) {
		close(death[1]);
		if (err == EPERM || err == ENOSPC || err == EUSERS)
			return arca_error_errno(e, err, "cannot create the VMM's namespaces%s",
						s->rootless ? " (unprivileged user namespaces disabled? "
							      "see kernel.unprivileged_userns_clone)"
							    : "");
		return arca_error_errno(e, err, "clone3");
	}
	/* Our end stays open until we exit: its closing tells a child that
	 * raced our death before arming PDEATHSIG. It is close-on-exec, so the
	 * VMM does not hold it. */
	(void)death[1];
	return (pid_t)pid;
}
