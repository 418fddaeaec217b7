/* SPDX-License-Identifier: MIT */
/* See sandbox.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl.h"
#include "mux.h"
#include "run.h"
#include "sandbox.h"
#include "sbstate.h"

/* ---- the sandbox's directory ---------------------------------------------- */

struct sbdir {
	char root[256];  /* the user's runtime directory */
	char dir[384];   /* root/NAME */
};

static int sbdir_init(struct sbdir *d, const char *name, struct arca_err *e)
{
	const char *why;
	int r = sbstate_rundir(d->root, sizeof(d->root), &why);
	if (r < 0)
		return arca_error(e, -r, "runtime directory %s: %s", d->root, why);
	snprintf(d->dir, sizeof(d->dir), "%.255s/%.64s", d->root, name ? name : "");
	return 0;
}

static void sbdir_path(const struct sbdir *d, const char *file, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", d->dir, file);
}

static void sbdir_remove(const struct sbdir *d)
{
	char p[512];
	static const char *const files[] = { "sock", "state", "log", "state.tmp" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		sbdir_path(d, files[i], p, sizeof(p));
		(void)unlink(p);
	}
	(void)rmdir(d->dir);
}

static uint64_t pid_starttime(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	uint64_t t;
	return sbstate_stat_starttime(buf, &t) == 0 ? t : 0;
}

/* The state of a sandbox: 0 and *s when its supervisor runs, -ENOENT when
 * there is no such sandbox, -ESRCH when it is dead (left by a SIGKILL) or
 * not ready yet (no state file). */
static int sbdir_read(const struct sbdir *d, struct sbstate *s)
{
	char p[512], buf[4096];
	struct stat st;
	if (stat(d->dir, &st) < 0)
		return -ENOENT;
	sbdir_path(d, "state", p, sizeof(p));
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0 || sbstate_parse(buf, (size_t)n, s) < 0)
		return -ESRCH;
	if (s->pid_start == 0 || pid_starttime(s->pid) != s->pid_start)
		return -ESRCH;
	return 0;
}

/* A directory whose supervisor is gone: its files are stale. A directory
 * without a state file may be a sandbox still starting: left alone unless
 * it is older than `young_s`. */
static bool sbdir_stale(const struct sbdir *d, time_t young_s)
{
	struct sbstate s;
	int r = sbdir_read(d, &s);
	if (r != -ESRCH)
		return false;
	char p[512];
	struct stat st;
	sbdir_path(d, "state", p, sizeof(p));
	if (stat(p, &st) == 0)
		return true; /* state of a dead supervisor */
	if (stat(d->dir, &st) < 0)
		return false;
	return time(NULL) - st.st_mtime > young_s;
}

/* ---- start ------------------------------------------------------------------ */

struct start_ctx {
	struct sbdir d;
	const struct arca_opts *o;
	uint64_t started_ms;
};

static struct start_ctx *g_start;

static uint64_t realtime_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* run_command's hook once the VMM runs: the state file (written to a
 * temporary name and renamed, so readers never see half of it). */
static void write_state(pid_t vmm)
{
	struct start_ctx *c = g_start;
	struct sbstate s = {
		.pid = getpid(), .pid_start = pid_starttime(getpid()), .vmm_pid = vmm,
		.started_ms = c->started_ms, .cpus = c->o->cpus, .memory_mib = c->o->memory_mib,
	};
	size_t used = 0;
	for (size_t i = 0; i < c->o->shares.n; i++) {
		const struct arca_share *sh = &c->o->shares.v[i];
		int n = snprintf(s.shares + used, sizeof(s.shares) - used, "%s%s:%s",
				 used ? "," : "", sh->host, sh->guest ? sh->guest : "-");
		if (n < 0 || (size_t)n >= sizeof(s.shares) - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(s.shares, sizeof(s.shares), "-");
	char buf[2048], tmp[512], fin[512];
	int n = sbstate_format(&s, buf, sizeof(buf));
	if (n < 0)
		return;
	sbdir_path(&c->d, "state.tmp", tmp, sizeof(tmp));
	sbdir_path(&c->d, "state", fin, sizeof(fin));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	(void)!write(fd, buf, (size_t)n);
	close(fd);
	(void)rename(tmp, fin);
}

/* The last lines of the sandbox's log, sanitized (guest bytes), for a
 * start that failed. */
static void log_tail(const struct sbdir *d, FILE *to)
{
	char p[512];
	sbdir_path(d, "log", p, sizeof(p));
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	static char buf[4096];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
	if (n <= 0)
		return;
	size_t i = 0;
	if (from > 0)
		while (i < (size_t)n && buf[i] != '\n')
			i++;
	while (i < (size_t)n) {
		size_t j = i;
		while (j < (size_t)n && buf[j] != '\n')
			j++;
		char line[600];
		if (j > i) {
			ctl_sanitize((const uint8_t *)buf + i, j - i, line, sizeof(line));
			fprintf(to, "  %s\n", line);
		}
		i = j + 1;
	}
}

void sandbox_close_except(int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++) /* ascending */
		for (size_t j = i + 1; j < n; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned from = 3;
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > from)
			(void)close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	(void)close_range(from, ~0U, 0);
}

void sandbox_child_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
}

/* The supervisor: becomes the VM's owner, in a session of its own, with
 * the session stream as the VMM's stdin/stdout and the log as stderr.
 * Tells the waiting `arca start` (ready_wr) "R" through the mux once the
 * agent is ready, or "E" and the exit code when the VM ended before. */
static __attribute__((noreturn)) void supervisor(struct start_ctx *c, struct arca_opts *o,
						 int listen_fd, int ready_wr, int log_fd)
{
	int sp[2];
	struct arca_err e = { 0 };
	setsid();
	/* A copy of whoever started it (libarca's caller may have handlers
	 * and a mask of its own): start clean. */
	sandbox_child_signals();
	/* From here every message (the mux's too) goes to the log; errors
	 * for the waiting `arca start` go through ready_wr. */
	if (dup2(log_fd, STDERR_FILENO) < 0)
		_exit(ARCA_EXIT_ERROR);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		_exit(ARCA_EXIT_ERROR);
	pid_t mux = fork();
	if (mux < 0)
		_exit(ARCA_EXIT_ERROR);
	if (mux == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		prctl(PR_SET_NAME, "arca-mux", 0, 0, 0);
		close(sp[0]);
		close(log_fd);
		_exit(mux_run(listen_fd, sp[1], ready_wr, getuid()) < 0 ? 1 : 0);
	}
	close(listen_fd);
	close(sp[1]);
	if (dup2(sp[0], STDIN_FILENO) < 0 || dup2(sp[0], STDOUT_FILENO) < 0 ||
	    dup2(log_fd, STDERR_FILENO) < 0)
		_exit(ARCA_EXIT_ERROR);
	close(sp[0]);
	close(log_fd);

	o->agent = true;
	o->diag_fd = STDERR_FILENO; /* notes into the log too */
	o->console = true; /* the guest's console into the log */
	o->tty = false;
	g_start = c;
	o->on_spawn = write_state;
	int r = run_command(o, NULL, &e);
	if (r < 0) {
		fprintf(stderr, "arca: %s\n", e.msg[0] ? e.msg : "internal error");
		r = ARCA_EXIT_ERROR;
	}
	/* The stream ends: the mux sees EOF and exits. */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	char msg[8];
	int n = snprintf(msg, sizeof(msg), "E%d", r);
	(void)!write(ready_wr, msg, (size_t)n);
	/* A start still waiting reads the log's tail now: the directory
	 * goes only once it has (its end of the pipe closed: POLLERR), or
	 * after 10 s. After ready nobody reads: POLLERR at once. */
	struct pollfd pw = { .fd = ready_wr, .events = 0 };
	while (poll(&pw, 1, 10000) < 0 && errno == EINTR)
		;
	close(ready_wr);
	kill(mux, SIGKILL);
	(void)waitpid(mux, NULL, 0);
	sbdir_remove(&c->d);
	_exit(r);
}

int sandbox_start(struct arca_opts *o, struct sandbox_started *st, struct arca_err *e)
{
	memset(st, 0, sizeof(*st));
	struct start_ctx c = { .o = o, .started_ms = realtime_ms() };
	char p[512];
	int r;

	if ((r = sbdir_init(&c.d, o->name, e)) < 0)
		return r;
	/* A sandbox of that name whose supervisor was SIGKILLed left its
	 * directory: swept now. A live one is refused. */
	if (sbdir_stale(&c.d, 120))
		sbdir_remove(&c.d);
	if (mkdir(c.d.dir, 0700) < 0) {
		if (errno == EEXIST)
			return arca_error(e, EEXIST, "a sandbox named '%s' exists already "
					  "(arca stop %s)", o->name, o->name);
		return arca_error_errno(e, errno, "creating %s", c.d.dir);
	}
	sbdir_path(&c.d, "log", p, sizeof(p));
	int log_fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (log_fd < 0) {
		r = arca_error_errno(e, errno, "creating %s", p);
		sbdir_remove(&c.d);
		return r;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	sbdir_path(&c.d, "sock", p, sizeof(p));
	if (strlen(p) >= sizeof(a.sun_path)) {
		close(log_fd);
		sbdir_remove(&c.d);
		return arca_error(e, ENAMETOOLONG, "socket path too long: %s", p);
	}
	strcpy(a.sun_path, p);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0) {
		r = arca_error_errno(e, errno, "listening on %s", p);
		if (lfd >= 0)
			close(lfd);
		close(log_fd);
		sbdir_remove(&c.d);
		return r;
	}
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		r = arca_error_errno(e, errno, "pipe");
		close(lfd);
		close(log_fd);
		sbdir_remove(&c.d);
		return r;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = arca_error_errno(e, errno, "fork");
		close(rp[0]);
		close(rp[1]);
		close(lfd);
		close(log_fd);
		sbdir_remove(&c.d);
		return r;
	}
	if (pid == 0) {
		int keep[3] = { lfd, rp[1], log_fd };
		sandbox_close_except(keep, 3);
		supervisor(&c, o, lfd, rp[1], log_fd);
	}
	close(rp[1]);
	close(lfd);
	close(log_fd);
	/* Wait for "R" (ready) or "E<code>" (the VM ended first). */
	char msg[16] = { 0 };
	size_t have = 0;
	for (;;) {
		ssize_t n = read(rp[0], msg + have, sizeof(msg) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		/* One write each, below PIPE_BUF: whole in one read. */
		if (msg[0] == 'R' || msg[0] == 'E' || have == sizeof(msg) - 1)
			break;
	}
	if (have && msg[0] == 'R') {
		close(rp[0]);
		st->pid = pid;
		return 0;
	}
	int code = ARCA_EXIT_ERROR;
	if (have > 1 && msg[0] == 'E')
		code = atoi(msg + 1);
	st->exit_code = code ? code : ARCA_EXIT_ERROR;
	FILE *f = fmemopen(st->log_tail, sizeof(st->log_tail), "w");
	if (f) {
		log_tail(&c.d, f);
		fclose(f);
	}
	close(rp[0]); /* the supervisor may remove the directory now */
	(void)waitpid(pid, NULL, 0); /* it removes the directory before exiting */
	sbdir_remove(&c.d);
	return arca_error(e, ECHILD, "sandbox '%s' stopped before it was ready (exit %d); its log:",
			  o->name, code);
}

/* ---- ls ---------------------------------------------------------------------- */

/* A JSON string: the shares are paths as given (any bytes but NUL). */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void fmt_uptime(uint64_t ms, char *out, size_t cap)
{
	uint64_t s = ms / 1000;
	if (s < 60)
		snprintf(out, cap, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, cap, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(out, cap, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
}

int sandbox_ls(const struct arca_opts *o, struct arca_err *e)
{
	struct sbdir d;
	int r = sbdir_init(&d, NULL, e);
	if (r < 0)
		return r;
	DIR *dir = opendir(d.root);
	if (!dir)
		return arca_error_errno(e, errno, "reading %s", d.root);
	if (o->json)
		printf("[");
	else
		printf("%-20s %-9s %-8s %-5s %-8s %s\n", "NAME", "STATE", "UPTIME", "CPUS",
		       "MEMORY", "SHARES");
	struct dirent *de;
	bool first = true;
	uint64_t now = realtime_ms();
	while ((de = readdir(dir))) {
		if (!sandbox_name_ok(de->d_name))
			continue;
		struct sbdir x;
		memcpy(x.root, d.root, sizeof(x.root));
		/* d.root < 256 bytes and a valid name <= 64: it fits. */
		if (snprintf(x.dir, sizeof(x.dir), "%.255s/%.64s", d.root, de->d_name) < 0)
			continue;
		struct sbstate s;
		if (sbdir_read(&x, &s) < 0) {
			if (sbdir_stale(&x, 120)) {
				sbdir_remove(&x); /* its supervisor was killed */
				continue;
			}
			if (o->json) {
				printf("%s{\"name\":\"%s\",\"state\":\"starting\"}", first ? "" : ",",
				       de->d_name);
				first = false;
			} else {
				printf("%-20s %-9s %-8s %-5s %-8s %s\n", de->d_name, "starting", "-",
				       "-", "-", "-");
			}
			continue;
		}
		if (o->json) {
			/* Names are [A-Za-z0-9_.-]: no escaping needed. */
			printf("%s{\"name\":\"%s\",\"state\":\"running\",\"pid\":%d,"
			       "\"uptime_ms\":%llu,\"cpus\":%u,\"memory_mib\":%u,\"shares\":",
			       first ? "" : ",", de->d_name, (int)s.pid,
			       (unsigned long long)(now > s.started_ms ? now - s.started_ms : 0),
			       s.cpus, s.memory_mib);
			json_str(stdout, s.shares);
			printf("}");
			first = false;
			continue;
		}
		char up[32], mem[32], cpus[16];
		fmt_uptime(now > s.started_ms ? now - s.started_ms : 0, up, sizeof(up));
		snprintf(mem, sizeof(mem), "%uM", s.memory_mib);
		snprintf(cpus, sizeof(cpus), "%u", s.cpus);
		printf("%-20s %-9s %-8s %-5s %-8s %s\n", de->d_name, "running", up, cpus, mem,
		       s.shares);
	}
	closedir(dir);
	if (o->json)
		printf("]\n");
	return 0;
}

/* ---- stop, kill --------------------------------------------------------------- */

static int wait_gone(int pidfd, uint64_t ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;
	do
		n = poll(&p, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

/* stop: SIGTERM to the supervisor, which passes it to the agent (every
 * session gets it, then the VM powers off); after --stop-timeout and a
 * grace period the VM is killed. kill (force): SIGUSR1, which the
 * supervisor answers by killing the VMM at once. Either way the supervisor
 * removes the sandbox's directory, and this waits for that. */
int sandbox_open(const char *name, pid_t *pid, struct arca_err *e)
{
	struct sbdir d;
	struct sbstate s;
	int r = sbdir_init(&d, name, e);
	if (r < 0)
		return r;
	r = sbdir_read(&d, &s);
	if (r == -ESRCH && sbdir_stale(&d, 0)) {
		sbdir_remove(&d);
		return arca_error(e, ENOENT, "sandbox '%s' had died; removed what it left", name);
	}
	if (r < 0)
		return arca_error(e, ENOENT, "no sandbox named '%s' (arca ls lists them)", name);
	int pidfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
	if (pidfd < 0)
		return arca_error_errno(e, errno, "sandbox '%s': pidfd_open(%d)", name, (int)s.pid);
	/* The pidfd names the process we checked, not a recycled pid. */
	if (pid_starttime(s.pid) != s.pid_start) {
		close(pidfd);
		return arca_error(e, ENOENT, "no sandbox named '%s'", name);
	}
	if (pid)
		*pid = s.pid;
	return pidfd;
}

int sandbox_stop_pidfd(int pidfd, const char *name, bool force, uint64_t stop_timeout_ms,
		       struct arca_err *e)
{
	int sig = force ? SIGUSR1 : SIGTERM;
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return arca_error_errno(e, errno, "signalling sandbox '%s'", name);
	uint64_t wait = force ? 10000 : stop_timeout_ms + 10000;
	if (!wait_gone(pidfd, wait)) {
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0);
		if (!wait_gone(pidfd, 10000))
			return arca_error(e, ETIMEDOUT, "sandbox '%s' did not stop", name);
	}
	return 0;
}

int sandbox_stop(const struct arca_opts *o, bool force, struct arca_err *e)
{
	int pidfd = sandbox_open(o->name, NULL, e);
	if (pidfd < 0)
		return pidfd;
	int r = sandbox_stop_pidfd(pidfd, o->name, force, o->stop_timeout_ms, e);
	close(pidfd);
	return r;
}

/* ---- logs ----------------------------------------------------------------------- */

int sandbox_logs(const struct arca_opts *o, struct arca_err *e)
{
	struct sbdir d;
	char p[512], buf[65536];
	int r = sbdir_init(&d, o->name, e);
	if (r < 0)
		return r;
	sbdir_path(&d, "log", p, sizeof(p));
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return arca_error(e, ENOENT, "no sandbox named '%s' (arca ls lists them)", o->name);
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	fflush(stdout);
	return 0;
}
