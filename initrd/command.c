/* SPDX-License-Identifier: MIT */
/*
 * Starting a command: environment, PATH search, stdio pipes or a pty, and
 * the child's setup between fork and exec (see command.h). Used by the
 * one-shot path and by the agent's sessions; never fatal to init.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <arca/abi.h>

#include "cleanup.h"
#include "command.h"
#include "io.h"

int command_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* What the child reports over the CLOEXEC pipe when it cannot exec. */
enum {
	STAGE_SETUP = 1,
	STAGE_CHDIR = 2,
	STAGE_EXEC = 3,
	STAGE_ROOT = 4,
	STAGE_USER = 5,
	STAGE_RLIMIT = 6,
	STAGE_CAPS = 7,
};
struct exec_report {
	int32_t stage;
	int32_t err;
	int32_t index; /* STAGE_RLIMIT: which of s->rlimits failed */
};

/* CAPS, first half: the bounding set cut, KEEPCAPS for the uid change.
 * 0 or an errno. */
static int caps_before(const struct arca_spec_caps *c)
{
	if (!(c->flags & ARCA_CAPS_F_SET))
		return 0;
	/* Up to the kernel's last capability: PR_CAPBSET_DROP says EINVAL
	 * past it (the guest's kernel may know fewer than ARCA_CAP_LAST). */
	for (int cap = 0; cap <= ARCA_CAP_LAST; cap++) {
		if (c->bounding & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return errno;
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return errno;
	return 0;
}

/* CAPS, second half (after the uid change): the three sets, the ambient
 * ones raised, then no_new_privs, the last so nothing above needs to
 * gain a privilege after it. 0 or an errno. */
static int caps_after(const struct arca_spec_caps *c)
{
	if (c->flags & ARCA_CAPS_F_SET) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2] = {
			{ .effective = (uint32_t)c->effective,
			  .permitted = (uint32_t)c->permitted,
			  .inheritable = (uint32_t)c->inheritable },
			{ .effective = (uint32_t)(c->effective >> 32),
			  .permitted = (uint32_t)(c->permitted >> 32),
			  .inheritable = (uint32_t)(c->inheritable >> 32) },
		};
		if (syscall(SYS_capset, &hdr, d) < 0)
			return errno;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
			return errno;
		for (int cap = 0; cap <= ARCA_CAP_LAST; cap++)
			if ((c->ambient & (UINT64_C(1) << cap)) &&
			    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
				return errno;
	}
	if ((c->flags & ARCA_CAPS_F_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errno;
	return 0;
}

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Quadratic in the entry count, which the launcher keeps to a command
 * line's worth. */
char **command_env(const struct arca_spec *s)
{
	static char def_path[] = "PATH=" COMMAND_DEFAULT_PATH;
	static char def_home[] = "HOME=/root";
	/* exec -u: not root's home, which that user cannot write; the
	 * guest has no passwd entry to name another. */
	static char user_home[] = "HOME=/";
	size_t n = 0;
	char **env = calloc(s->envc + 3, sizeof(char *));

	if (!env)
		return NULL;
	env[n++] = def_path;
	env[n++] = s->has_user && s->uid != 0 ? user_home : def_home;
	for (size_t i = 0; i < s->envc; i++) {
		size_t k = key_len(s->env[i]), j;
		for (j = 0; j < n; j++)
			if (key_len(env[j]) == k && !memcmp(env[j], s->env[i], k))
				break;
		env[j] = s->env[i];
		if (j == n)
			n++;
	}
	env[n] = NULL;
	return env;
}

static const char *env_get(char *const env[], const char *key)
{
	size_t k = strlen(key);
	for (; *env; env++)
		if (!strncmp(*env, key, k) && (*env)[k] == '=')
			return *env + k + 1;
	return NULL;
}

/*
 * execvp with the *command's* PATH (not init's): returns the errno to
 * report. Like the shells: ENOENT/ENOTDIR move on to the next directory,
 * EACCES is remembered, anything else (ENOEXEC, E2BIG, ...) is final. No
 * "run it with /bin/sh" fallback on ENOEXEC: runc does not do it either,
 * and a script without a #! line should fail loudly.
 */
static int exec_search(char *const argv[], char *const env[])
{
	const char *file = argv[0];

	if (strchr(file, '/')) {
		execve(file, argv, env);
		return errno;
	}
	const char *path = env_get(env, "PATH");
	if (!path)
		path = COMMAND_DEFAULT_PATH;
	size_t flen = strlen(file);
	int seen_eacces = 0, too_long = 0;
	char buf[4096];

	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		if (dlen + 1 + flen + 1 > sizeof(buf)) {
			too_long = 1;
		} else {
			/* An empty entry means the current directory (POSIX). */
			size_t o = 0;
			if (dlen) {
				memcpy(buf, p, dlen);
				o = dlen;
				buf[o++] = '/';
			}
			memcpy(buf + o, file, flen + 1);
			execve(buf, argv, env);
			if (errno == EACCES)
				seen_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		if (!*end)
			break;
		p = end;
	}
	return seen_eacces ? EACCES : too_long ? ENAMETOOLONG : ENOENT;
}

/* Puts the pipe end on fd `to`, without O_CLOEXEC. dup2(x, x) would keep the
 * flag, hence the special case (cannot happen after sysinit_std_fds, but
 * costs nothing). */
static int move_fd(int from, int to)
{
	if (from == to)
		return fcntl(to, F_SETFD, 0);
	return dup2(from, to) < 0 ? -1 : 0;
}

static __attribute__((noreturn)) void child(const struct arca_spec *s, const char *root,
					    char **env, const int stdio[3], int report_fd)
{
	struct exec_report rep = { STAGE_SETUP, 0, 0 };
	sigset_t none;

	/* init blocks SIGCHLD (it reads a signalfd) and ignores SIGPIPE (a
	 * command that closed its stdin must not matter); a mask and an
	 * ignored disposition survive execve, the command expects neither. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Own session and process group: at the end init kills the group,
	 * and the command is not tied to init's console. */
	if (setsid() < 0 || move_fd(stdio[0], 0) < 0 || move_fd(stdio[1], 1) < 0 ||
	    move_fd(stdio[2], 2) < 0) {
		rep.err = errno;
		goto report;
	}
	/* -t: the pty is the session's controlling terminal, so its line
	 * discipline turns ^C into SIGINT for the foreground job. */
	if ((s->flags & ARCA_SPEC_F_TTY) && ioctl(0, TIOCSCTTY, 0) < 0) {
		rep.err = errno;
		goto report;
	}
	/* The command's root (initroot.c); init itself stays in the
	 * initramfs, it needs nothing from the new root. chroot, not
	 * pivot_root: nothing secret is left outside (the guest is the
	 * sandbox), and init must keep its own view. */
	rep.stage = STAGE_ROOT;
	if (root && chroot(root) < 0) {
		rep.err = errno;
		goto report;
	}
	/* The workdir is entered as root, before the ids drop, as runc
	 * does: a -u user may run in a directory it could not search
	 * itself (its mode then governs only relative lookups). */
	rep.stage = STAGE_CHDIR;
	if (chdir(s->workdir ? s->workdir : "/") < 0) {
		rep.err = errno;
		goto report;
	}
	/* --ulimit: still as root, so a hard limit may be raised above
	 * init's own (CAP_SYS_RESOURCE), which the user could not do; the
	 * limits then bind the user's process as they do anyone's. In this
	 * child only: init and the other sessions keep theirs. */
	rep.stage = STAGE_RLIMIT;
	for (size_t i = 0; i < s->nrlimits; i++) {
		const struct arca_spec_rlimit *rl = &s->rlimits[i];
		/* rlim_t is 64 bits and RLIM_INFINITY all ones on x86-64 (spec.c
		 * asserts it), so the wire's values are the kernel's as they are. */
		struct rlimit lim = { .rlim_cur = (rlim_t)rl->soft, .rlim_max = (rlim_t)rl->hard };
		if (setrlimit((int)rl->resource, &lim) < 0) {
			rep.err = errno;
			rep.index = (int32_t)i;
			goto report;
		}
	}
	/* CAPS (abi.h), before the uid change: the bounding set can only be
	 * cut with CAP_SETPCAP, and KEEPCAPS carries the permitted set across
	 * setuid (which would otherwise clear it for a non-root uid). */
	rep.stage = STAGE_CAPS;
	if (s->has_caps && (rep.err = caps_before(&s->caps)) != 0)
		goto report;
	/* exec -u: groups first (setgroups and setgid need the privilege
	 * setuid gives up), and no supplementary groups at all: init's
	 * (root's) must not leak into the user's process. */
	rep.stage = STAGE_USER;
	if (s->has_user && (setgroups(0, NULL) < 0 || setgid((gid_t)s->gid) < 0 ||
			    setuid((uid_t)s->uid) < 0)) {
		rep.err = errno;
		goto report;
	}
	rep.stage = STAGE_CAPS;
	if (s->has_caps && (rep.err = caps_after(&s->caps)) != 0)
		goto report;
	rep.stage = STAGE_EXEC;
	rep.err = exec_search(s->argv, env);
report:
	(void)write_all(report_fd, &rep, sizeof(rep));
	_exit(127);
}

/* "arca-init: ulimit nofile=1024:unlimited: Operation not permitted", in
 * --ulimit's own terms. index comes from the child: checked, not trusted. */
static void command_rlimit_msg(const struct arca_spec *s, int32_t index, int err, char *msg,
			       size_t len)
{
	char soft[24], hard[24];

	if (index < 0 || (size_t)index >= s->nrlimits) {
		snprintf(msg, len, "arca-init: setrlimit: %s", strerror(err));
		return;
	}
	const struct arca_spec_rlimit *rl = &s->rlimits[index];
	const char *name = spec_rlimit_name(rl->resource);
	if (rl->soft == ARCA_RLIM_INFINITY)
		snprintf(soft, sizeof(soft), "unlimited");
	else
		snprintf(soft, sizeof(soft), "%llu", (unsigned long long)rl->soft);
	if (rl->hard == ARCA_RLIM_INFINITY)
		snprintf(hard, sizeof(hard), "unlimited");
	else
		snprintf(hard, sizeof(hard), "%llu", (unsigned long long)rl->hard);
	snprintf(msg, len, "arca-init: ulimit %s=%s:%s: %s", name ? name : "?", soft, hard,
		 strerror(err));
}

static void close_stdio(int stdio[3])
{
	for (int i = 0; i < 3; i++) {
		int fd = stdio[i];
		if (fd < 0)
			continue;
		/* The same fd may fill several slots (a pty's terminal). */
		for (int j = i; j < 3; j++)
			if (stdio[j] == fd)
				stdio[j] = -1;
		close(fd);
	}
}

int command_spawn(const struct arca_spec *s, const char *root, int stdio[3],
		  struct command_start *st)
{
	int pfd[2], r;
	_cleanup_free_ char **env = command_env(s);

	st->pid = -1;
	st->code = 125;
	st->msg[0] = '\0';
	if (!env) {
		close_stdio(stdio);
		snprintf(st->msg, sizeof(st->msg), "out of memory");
		return -ENOMEM;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		close_stdio(stdio);
		snprintf(st->msg, sizeof(st->msg), "pipe: %s", strerror(-r));
		return r;
	}
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		close_stdio(stdio);
		snprintf(st->msg, sizeof(st->msg), "fork: %s", strerror(-r));
		return r;
	}
	if (pid == 0) {
		close(pfd[0]);
		child(s, root, env, stdio, pfd[1]);
	}
	close(pfd[1]);
	/* Only the command's processes may hold the write ends of the
	 * output pipes, or they would never reach EOF. */
	close_stdio(stdio);
	st->pid = pid;

	/* EOF: exec succeeded and closed the write end. */
	struct exec_report rep;
	ssize_t n;
	do
		n = read(pfd[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n != (ssize_t)sizeof(rep)) {
		st->code = -1;
		return 0;
	}

	switch (rep.stage) {
	case STAGE_CHDIR:
		st->code = 126;
		snprintf(st->msg, sizeof(st->msg), "arca-init: workdir %s: %s", s->workdir,
			 strerror(rep.err));
		break;
	case STAGE_EXEC:
		st->code = rep.err == ENOENT ? 127 : 126;
		snprintf(st->msg, sizeof(st->msg), "%s: %s", s->argv[0], strerror(rep.err));
		break;
	case STAGE_ROOT:
		st->code = 125;
		snprintf(st->msg, sizeof(st->msg), "arca-init: chroot %s: %s", root,
			 strerror(rep.err));
		break;
	case STAGE_USER:
		st->code = 125;
		snprintf(st->msg, sizeof(st->msg), "arca-init: user %u:%u: %s", s->uid, s->gid,
			 strerror(rep.err));
		break;
	case STAGE_RLIMIT:
		st->code = 125;
		command_rlimit_msg(s, rep.index, rep.err, st->msg, sizeof(st->msg));
		break;
	case STAGE_CAPS:
		st->code = 125;
		snprintf(st->msg, sizeof(st->msg), "arca-init: capabilities: %s",
			 strerror(rep.err));
		break;
	default:
		st->code = 125;
		snprintf(st->msg, sizeof(st->msg), "arca-init: setting up stdio: %s",
			 strerror(rep.err));
		break;
	}
	return 0;
}

/* O_NONBLOCK lives in the open file description, and the two ends of a
 * pipe are two descriptions: init's end is non-blocking for its poll loop,
 * the command's stays blocking, which is what programs expect of stdio. */
int command_pipe(int input, int *mine, int *theirs)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Best effort: a smaller pipe only costs more context switches. */
	(void)fcntl(p[0], F_SETPIPE_SZ, COMMAND_PIPE_SIZE);
	*mine = input ? p[1] : p[0];
	*theirs = input ? p[0] : p[1];
	int r = command_set_nonblock(*mine);
	if (r < 0) {
		close(p[0]);
		close(p[1]);
		*mine = *theirs = -1;
	}
	return r;
}

/* The pty lives in the devpts instance of the command's own root (so `tty`
 * names it there), else init's. */
int command_pty(const char *root, int *master, int *term, char *msg, size_t msglen)
{
	char path[PATH_MAX];
	int r, unlock = 0;

	snprintf(path, sizeof(path), "%s/dev/pts/ptmx", root ? root : "");
	_cleanup_close_ int m = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0) {
		r = -errno;
		snprintf(msg, msglen, "%s: %s", path, strerror(-r));
		return r;
	}
	/* TIOCGPTPEER (4.13): the terminal side by fd, no path lookup. */
	int t = ioctl(m, TIOCSPTLCK, &unlock) < 0 ? -1
						 : ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t < 0) {
		r = -errno;
		snprintf(msg, msglen, "opening the pty: %s", strerror(-r));
		return r;
	}
	r = command_set_nonblock(m);
	if (r < 0) {
		close(t);
		snprintf(msg, msglen, "pty: O_NONBLOCK: %s", strerror(-r));
		return r;
	}
	*term = t;
	*master = steal_fd(&m);
	return 0;
}
