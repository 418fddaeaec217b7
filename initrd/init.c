/* SPDX-License-Identifier: MIT */
/*
 * arca-init: the guest's PID 1 (static, musl).
 *
 *   mount filesystems -> load modules -> open the virtio-console ports by
 *   name -> HELLO -> read /arca/spec -> fork+exec the command on stdio
 *   pipes -> relay pipes <-> ports and reap until the command exits ->
 *   kill what it left -> drain its output -> EXIT -> power off.
 *
 * Exit codes reported to the host (docker's convention):
 *   125  arca-init itself failed before the command ran (mount, module,
 *        ports, spec, fork, stdio setup)
 *   126  the command could not be started: its workdir cannot be entered,
 *        or exec failed with anything but ENOENT (EACCES, ENOEXEC, ...)
 *   127  exec failed with ENOENT (not found in the command's PATH)
 * Each of these is sent as ERROR (code + one line) followed by EXIT (code),
 * so the host only ever has to wait for EXIT.
 *
 * PID 1 must never return: the kernel panics when init exits. Every path
 * ends in power_off().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "init.h"
#include "io.h"
#include "proto.h"
#include "spec.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct {
	int console_fd;
	int port[ARCA_NR_PORTS];
	int ctl_open; /* port[ARCA_PORT_CONTROL] is usable */
	int verbose;  /* -1: not known yet (spec unread) */
	int pty;      /* -t: the command's pty master, else -1 */
} g = { .console_fd = 2, .port = { -1, -1, -1, -1 }, .verbose = -1, .pty = -1 };

/* The command's pipes, sized up from the default 64 KiB so a chatty
 * command and the relay trade fewer, larger chunks. 1 MiB is the default
 * /proc/sys/fs/pipe-max-size. */
#define STDIO_PIPE_SIZE (1 << 20)

/* How long the output pipes may stay open after the command's main process
 * exited and everything else was killed. Only a process that SIGKILL cannot
 * end (uninterruptible sleep) holds them longer; it must not keep the VM
 * up for ever. */
#define DRAIN_MS 5000

static struct relay relay;

/* ---- control channel ------------------------------------------------------ */

/* Virtio-console writes may be partial (the driver caps one write at
 * 32 KiB-ish and at the free buffers): write_all() loops. Only init writes
 * the control port, and it writes whole frames from one thread, so frames
 * never interleave. */

static uint8_t frame[ARCA_MSG_HDR_SIZE + ARCA_MSG_MAX_PAYLOAD];

static void ctl_send(int n)
{
	if (n > 0 && g.ctl_open)
		(void)write_all(g.port[ARCA_PORT_CONTROL], frame, (size_t)n);
}

/* ---- step log ----------------------------------------------------------- */

/* Lines logged before we know whether the run is verbose ('\n'-separated). */
static char early_log[2048];
static size_t early_len;

void init_log(const char *fmt, ...)
{
	char line[256];
	struct timespec ts;
	va_list ap;

	if (g.verbose == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(line, sizeof(line), "[%5lld.%06ld] ", (long long)ts.tv_sec,
			 ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);

	if (g.verbose > 0 && g.ctl_open) {
		ctl_send(proto_encode_log(frame, sizeof(frame), line));
		return;
	}
	size_t l = strlen(line);
	if (early_len + l + 1 <= sizeof(early_log)) {
		memcpy(early_log + early_len, line, l);
		early_log[early_len + l] = '\n';
		early_len += l + 1;
	}
}

/* Called once the spec is read: sends or drops what init_log buffered. */
static void log_flush(int verbose)
{
	g.verbose = verbose;
	if (verbose && g.ctl_open) {
		for (size_t off = 0; off < early_len;) {
			char *nl = memchr(early_log + off, '\n', early_len - off);
			*nl = '\0'; /* every buffered line ends in '\n' */
			ctl_send(proto_encode_log(frame, sizeof(frame), early_log + off));
			off = (size_t)(nl - early_log) + 1;
		}
	}
	early_len = 0;
}

/* ---- the end ---------------------------------------------------------------- */

static __attribute__((noreturn)) void power_off(void)
{
	sync();
	/* The VMM implements the ACPI sleep register, so this stops the VM. */
	reboot(RB_POWER_OFF);
	/* Fallback: the cmdline has reboot=k, i.e. an i8042 reset. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void console_line(const char *msg)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "arca-init: %s\n", msg);
	if (n > 0)
		(void)write_all(g.console_fd, line,
				(size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void send_exit(uint32_t kind, uint32_t value)
{
	ctl_send(proto_encode_exit(frame, sizeof(frame), kind, value));
}

/* Reports a failure that prevents the command from running: console line,
 * ERROR + EXIT on the control port when it is open, power off. */
static __attribute__((noreturn)) void fail(uint32_t code, const char *msg)
{
	char line[600];

	console_line(msg);
	/* A disk mounted before the failure is left clean. */
	initroot_teardown();
	snprintf(line, sizeof(line), "arca-init: %s", msg);
	ctl_send(proto_encode_error(frame, sizeof(frame), code, line));
	send_exit(ARCA_EXIT_CODE, code);
	power_off();
}

static __attribute__((noreturn)) void fail_err(const struct arca_err *e)
{
	fail(125, e->msg);
}

/* ---- the command ----------------------------------------------------------- */

/* What the child reports over the CLOEXEC pipe when it cannot exec. */
enum { STAGE_SETUP = 1, STAGE_CHDIR = 2, STAGE_EXEC = 3, STAGE_ROOT = 4 };
struct exec_report {
	int32_t stage;
	int32_t err;
};

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/*
 * Environment: PATH and HOME defaults, then the spec's entries; a later
 * entry replaces an earlier one with the same key (so the spec overrides
 * the defaults and, within the spec, the last one wins). Quadratic in the
 * entry count, which the launcher keeps to a command line's worth.
 */
static char **build_env(const struct arca_spec *s)
{
	static char def_path[] = "PATH=" DEFAULT_PATH;
	static char def_home[] = "HOME=/root";
	size_t n = 0;
	char **env = calloc(s->envc + 3, sizeof(char *));

	if (!env)
		return NULL;
	env[n++] = def_path;
	env[n++] = def_home;
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
		path = DEFAULT_PATH;
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

static __attribute__((noreturn)) void child(const struct arca_spec *s, char **env,
					    const int stdio[3], int report_fd)
{
	struct exec_report rep = { STAGE_SETUP, 0 };
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
	const char *root = initroot_root(s);
	rep.stage = STAGE_ROOT;
	if (root && chroot(root) < 0) {
		rep.err = errno;
		goto report;
	}
	rep.stage = STAGE_CHDIR;
	if (chdir(s->workdir ? s->workdir : "/") < 0) {
		rep.err = errno;
		goto report;
	}
	rep.stage = STAGE_EXEC;
	rep.err = exec_search(s->argv, env);
report:
	(void)write_all(report_fd, &rep, sizeof(rep));
	_exit(127);
}

/* Forks the command with stdio[0..2] as its fds 0..2 (closed here once it
 * has them). Returns its pid; on a failure to start it, reports ERROR and
 * sets *code (the child is reaped by the caller's loop). */
static pid_t spawn(const struct arca_spec *s, int stdio[3], int *code)
{
	int pfd[2];
	char msg[512];
	_cleanup_free_ char **env = build_env(s);

	*code = -1;
	if (!env)
		fail(125, "out of memory");
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
		fail(125, msg);
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, sizeof(msg), "fork: %s", strerror(errno));
		fail(125, msg);
	}
	if (pid == 0) {
		close(pfd[0]);
		child(s, env, stdio, pfd[1]);
	}
	close(pfd[1]);
	/* Only the command's processes may hold the write ends of the
	 * output pipes, or they would never reach EOF. */
	for (int i = 0; i < 3; i++) {
		close(stdio[i]);
		stdio[i] = -1;
	}

	/* EOF: exec succeeded and closed the write end. */
	struct exec_report rep;
	ssize_t n;
	do
		n = read(pfd[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n != (ssize_t)sizeof(rep)) {
		init_log("exec %s: pid %d", s->argv[0], (int)pid);
		return pid;
	}

	switch (rep.stage) {
	case STAGE_CHDIR:
		*code = 126;
		snprintf(msg, sizeof(msg), "arca-init: workdir %s: %s", s->workdir,
			 strerror(rep.err));
		break;
	case STAGE_EXEC:
		*code = rep.err == ENOENT ? 127 : 126;
		snprintf(msg, sizeof(msg), "%s: %s", s->argv[0], strerror(rep.err));
		break;
	case STAGE_ROOT:
		*code = 125;
		snprintf(msg, sizeof(msg), "arca-init: chroot %s: %s", initroot_root(s),
			 strerror(rep.err));
		break;
	default:
		*code = 125;
		snprintf(msg, sizeof(msg), "arca-init: setting up stdio: %s",
			 strerror(rep.err));
		break;
	}
	ctl_send(proto_encode_error(frame, sizeof(frame), (uint32_t)*code, msg));
	return pid;
}

/* Reaps every child that exited (orphans re-parented to us included).
 * Returns 1 when one of them was main_pid, with its wait status. */
static int reap(pid_t main_pid, int *status)
{
	int found = 0, st;

	for (;;) {
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0) /* 0: the rest still run; ECHILD: none left */
			return found;
		if (p == main_pid) {
			*status = st;
			found = 1;
		}
	}
}

static void drain_signalfd(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
}

/*
 * Frames from the host on the control port: SIGNAL, a signal the user sent
 * to arca, for the command's process group (as a terminal delivers to its
 * foreground job). Read only when poll says so: the port stays blocking
 * for init's own frame writes. A malformed stream stops being read (the
 * host never sends one); nothing the host sends can stop init itself.
 */
static struct proto_decoder ctl_in;
static int ctl_in_off; /* hung up or broken: no longer polled */

static void ctl_read(pid_t main_pid, int exited)
{
	uint8_t buf[256];
	ssize_t n = read(g.port[ARCA_PORT_CONTROL], buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
		/* EOF (the host side is not connected: poll then says POLLIN
		 * for ever) or a dead port: stop polling it, or init spins. */
		ctl_in_off = 1;
		return;
	}
	if (n < 0)
		return;
	static struct arca_msg m;
	size_t off = 0;
	while (off < (size_t)n) {
		int got = 0;
		int r = proto_decoder_feed(&ctl_in, buf + off, (size_t)n - off, &m, &got);
		if (r < 0) {
			init_log("control: malformed frame from the host; ignoring the rest");
			ctl_in_off = 1;
			return;
		}
		off += (size_t)r;
		uint16_t rows, cols;
		if (got && m.type == ARCA_MSG_WINSIZE && g.pty >= 0 &&
		    proto_get_le16(&m, 0, &rows) == 0 && proto_get_le16(&m, 2, &cols) == 0) {
			/* The pty sends SIGWINCH to its foreground job itself. */
			struct winsize ws = { .ws_row = rows, .ws_col = cols };
			(void)ioctl(g.pty, TIOCSWINSZ, &ws);
			continue;
		}
		uint32_t sig;
		if (!got || m.type != ARCA_MSG_SIGNAL || proto_get_le32(&m, 0, &sig) < 0)
			continue;
		/* 1..64, never to init itself (kill(-pid) targets the group). */
		if (sig < 1 || sig > 64 || exited)
			continue;
		init_log("signal %u from the host for the command", sig);
		if (kill(-main_pid, (int)sig) < 0)
			(void)kill(main_pid, (int)sig);
	}
}

/*
 * The loop while the command runs: relays stdio and reaps children until
 * the main process exits, then kills everything else and relays until
 * both output pipes reach EOF and are flushed. Returns the main process's
 * wait status.
 */
static int supervise(pid_t main_pid, int sfd)
{
	struct pollfd pfd[RELAY_NR_POLL + 2];
	int status = 0, exited = 0, abandoned = 0, check = 1;
	long long deadline = 0;

	for (;;) {
		if (check && reap(main_pid, &status)) {
			exited = 1;
			init_log("main process %d exited; draining output", (int)main_pid);
			/* Nothing may write stdout/stderr after EXIT: kill the
			 * command's process group, then everything else
			 * (daemons that left the group with setsid); kill(-1)
			 * spares PID 1 and kernel threads. Their output that
			 * is already in the pipes still goes out. */
			kill(-main_pid, SIGKILL);
			kill(-1, SIGKILL);
			relay_stop_input(&relay);
			deadline = init_now_ms() + DRAIN_MS;
		}
		check = 0;
		if (exited && relay_done(&relay))
			return status;

		long long now = init_now_ms();
		if (exited && !abandoned && now >= deadline) {
			init_log("output not drained %d ms after the main process exited; "
				 "no longer waiting for the pipes' writers", DRAIN_MS);
			kill(-1, SIGKILL);
			relay_abandon(&relay);
			abandoned = 1;
			continue;
		}
		int timeout = relay_prepare(&relay, pfd, now);
		if (exited && !abandoned && (timeout < 0 || deadline - now < timeout))
			timeout = (int)(deadline - now);
		pfd[RELAY_NR_POLL] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[RELAY_NR_POLL + 1] = (struct pollfd){
			.fd = g.ctl_open && !ctl_in_off ? g.port[ARCA_PORT_CONTROL] : -1,
			.events = POLLIN };

		int n = poll(pfd, RELAY_NR_POLL + 2, timeout);
		if (n < 0) {
			/* EINTR cannot happen (every signal init gets is
			 * blocked or ignored); ENOMEM may pass. Do not spin. */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		/* Also on a timeout: abandoned sources are read every round. */
		relay_dispatch(&relay, pfd, init_now_ms());
		if (pfd[RELAY_NR_POLL].revents) {
			drain_signalfd(sfd);
			check = 1;
		}
		if (pfd[RELAY_NR_POLL + 1].revents & POLLIN)
			ctl_read(main_pid, exited);
		else if (pfd[RELAY_NR_POLL + 1].revents & (POLLHUP | POLLERR))
			ctl_in_off = 1; /* nothing more can come: stop polling it */
	}
}

static __attribute__((noreturn)) void finish(int status, int code)
{
	uint32_t kind = ARCA_EXIT_CODE, value = (uint32_t)code;

	if (code < 0) {
		if (WIFSIGNALED(status)) {
			kind = ARCA_EXIT_SIGNAL;
			value = (uint32_t)WTERMSIG(status);
		} else {
			value = (uint32_t)WEXITSTATUS(status);
		}
	}
	init_log("command exited: %s %u", kind == ARCA_EXIT_SIGNAL ? "signal" : "code",
		 value);
	init_log("relayed stdin %llu, stdout %llu, stderr %llu bytes",
		 relay.s[RELAY_IN].written, relay.s[RELAY_OUT].written,
		 relay.s[RELAY_ERR].written);
	/* The relay has closed the stdio ports by now (closing a port
	 * tells the host the guest side is done with it); the control port
	 * stays open for EXIT. Disks are unmounted (or read-only) before the
	 * host hears EXIT and may stop the VM: their filesystems are clean
	 * on the host, no journal left to replay. */
	initroot_teardown();
	sync();
	init_log("exit sent");
	send_exit(kind, value);
	power_off();
}

/* ---- main ------------------------------------------------------------------ */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* One pipe for one of the command's stdio fds. init's end is O_NONBLOCK
 * for the relay; the command's end stays blocking, which is what programs
 * expect of stdio (O_NONBLOCK lives in the open file description, and the
 * two ends of a pipe are two descriptions). Both are O_CLOEXEC; the child
 * dup2()s its end onto 0/1/2. */
static void stdio_pipe(int input, int *mine, int *theirs)
{
	int p[2];
	char msg[128];

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
		fail(125, msg);
	}
	/* Best effort: a smaller pipe only costs more context switches. */
	(void)fcntl(p[0], F_SETPIPE_SZ, STDIO_PIPE_SIZE);
	*mine = input ? p[1] : p[0];
	*theirs = input ? p[0] : p[1];
	int r = set_nonblock(*mine);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "pipe: O_NONBLOCK: %s", strerror(-r));
		fail(125, msg);
	}
}

/*
 * -t: a pty for the command, allocated in the devpts instance of the
 * command's own root (so `tty` names it there), else init's. stdio[] gets
 * three fds of its terminal side; mine[0] and mine[1] are the master (the
 * relay writes stdin into it and reads the output from it: with a
 * terminal, stderr is the same stream). Returns the master.
 */
static int pty_setup(const struct arca_spec *s, int stdio[3], int mine[2])
{
	char path[PATH_MAX], msg[PATH_MAX + 64];
	const char *root = initroot_root(s);
	snprintf(path, sizeof(path), "%s/dev/pts/ptmx", root ? root : "");
	int m = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0) {
		snprintf(msg, sizeof(msg), "-t: %s: %s", path, strerror(errno));
		fail(125, msg);
	}
	int unlock = 0;
	/* TIOCGPTPEER (4.13): the terminal side by fd, no path lookup. */
	int t = ioctl(m, TIOCSPTLCK, &unlock) < 0 ? -1
						 : ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t < 0) {
		snprintf(msg, sizeof(msg), "-t: opening the pty: %s", strerror(errno));
		fail(125, msg);
	}
	stdio[0] = t;
	stdio[1] = fcntl(t, F_DUPFD_CLOEXEC, 3);
	stdio[2] = fcntl(t, F_DUPFD_CLOEXEC, 3);
	mine[0] = fcntl(m, F_DUPFD_CLOEXEC, 3);
	mine[1] = fcntl(m, F_DUPFD_CLOEXEC, 3);
	if (stdio[1] < 0 || stdio[2] < 0 || mine[0] < 0 || mine[1] < 0 || set_nonblock(m) < 0)
		fail(125, "-t: out of file descriptors");
	return m;
}

/* Creates the command's stdio pipes (stdio[] gets its ends), or its pty
 * with -t, and hands the stdio ports, made non-blocking, to the relay. */
static void stdio_setup(const struct arca_spec *spec, int stdio[3])
{
	int mine[3];
	char msg[128];

	for (unsigned i = ARCA_PORT_STDIN; i <= ARCA_PORT_STDERR; i++) {
		int r = set_nonblock(g.port[i]);
		if (r < 0) {
			snprintf(msg, sizeof(msg), "port %u: O_NONBLOCK: %s", i, strerror(-r));
			fail(125, msg);
		}
	}
	if (spec->flags & ARCA_SPEC_F_TTY) {
		g.pty = pty_setup(spec, stdio, mine);
		/* The host queued the terminal's size before the guest booted:
		 * apply it before the command can ask (signals that came this
		 * early have no command to go to). */
		struct pollfd p = { .fd = g.port[ARCA_PORT_CONTROL], .events = POLLIN };
		while (g.ctl_open && poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
			ctl_read(0, 1);
		/* No stderr of its own: a pipe nobody writes, at EOF at once. */
		int unused;
		stdio_pipe(0, &mine[2], &unused);
		close(unused);
	} else {
		stdio_pipe(1, &mine[0], &stdio[0]);
		stdio_pipe(0, &mine[1], &stdio[1]);
		stdio_pipe(0, &mine[2], &stdio[2]);
	}
	relay_init(&relay, g.port[ARCA_PORT_STDIN], mine[0], mine[1], g.port[ARCA_PORT_STDOUT],
		   mine[2], g.port[ARCA_PORT_STDERR]);
	for (unsigned i = ARCA_PORT_STDIN; i <= ARCA_PORT_STDERR; i++)
		g.port[i] = -1; /* the relay owns them now */
}

/* SIGCHLD arrives on a signalfd, so reaping is one more fd in the relay's
 * poll loop; SIGPIPE is ignored so a command that closed its stdin turns
 * the relay's write into EPIPE. (As PID 1 the kernel would drop SIGPIPE's
 * default action anyway; this says so.) */
static int signals_setup(void)
{
	sigset_t chld;
	char msg[128];

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	signal(SIGPIPE, SIG_IGN);
	int sfd = -1;
	if (sigprocmask(SIG_BLOCK, &chld, NULL) == 0)
		sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		snprintf(msg, sizeof(msg), "signalfd: %s", strerror(errno));
		fail(125, msg);
	}
	return sfd;
}

static void read_spec(struct arca_spec *s)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	char msg[300];

	int r = init_read_file(ARCA_SPEC_PATH, ARCA_SPEC_MAX_SIZE, &buf, &len);
	if (r == 0)
		r = spec_decode((const uint8_t *)buf, len, s);
	if (r == 0)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", ARCA_SPEC_PATH,
		 r == -EPROTO ? "malformed spec" :
		 r == -EPROTONOSUPPORT ? "spec version mismatch (launcher and init differ)" :
		 strerror(-r));
	fail(125, msg);
}

int main(void)
{
	struct arca_err e = { 0 };
	struct arca_spec spec;
	int code;

	/* Refuse to "boot" a host: everything below mounts over /dev and
	 * ends in reboot(2). */
	if (getpid() != 1) {
		fprintf(stderr, "arca-init: must run as PID 1 inside an arca guest\n");
		return 125;
	}
	init_log("arca-init started");

	if (sysinit_mounts(&e) < 0)
		fail_err(&e);
	sysinit_std_fds();
	int con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (con >= 0)
		g.console_fd = con;

	if (sysinit_modules(&e) < 0)
		fail_err(&e);
	int r = sysinit_open_ports(g.port, &e);
	g.ctl_open = g.port[ARCA_PORT_CONTROL] >= 0;
	if (r < 0)
		fail_err(&e);
	ctl_send(proto_encode_hello(frame, sizeof(frame)));

	read_spec(&spec);
	log_flush(!!(spec.flags & ARCA_SPEC_F_VERBOSE));
	/* Shares and the command's root, before anything of the command
	 * runs (the modules they need were loaded above). */
	if (initroot_setup(&spec, &e) < 0)
		fail_err(&e);

	proto_decoder_init(&ctl_in);
	int sfd = signals_setup(), stdio[3];
	stdio_setup(&spec, stdio);
	pid_t pid = spawn(&spec, stdio, &code);
	int status = supervise(pid, sfd);
	finish(status, code);
}
