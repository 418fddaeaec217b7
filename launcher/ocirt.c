/* SPDX-License-Identifier: MIT */
/* See ocirt.h. Only ocirt_main prints and picks the exit code. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "cli.h"
#include "netcfg.h"
#include "oci.h"
#include "ocirt.h"
#include "quote.h"
#include "sandbox.h"
#include "sbstate.h"

#define OCIRT_EXIT_ERROR 125

struct rt {
	char root[4096];
	const char *log;
	bool log_json;
	int log_fd;
};

/* ---- small helpers -------------------------------------------------------- */

static int read_file(const char *path, size_t max, char **out, size_t *len, struct arca_err *e)
{
	struct quoted q;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "%s", quote(&q, path));
	char *buf = malloc(max + 1);
	if (!buf)
		return arca_error(e, ENOMEM, "out of memory");
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, max + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return arca_error_errno(e, errno, "reading %s", quote(&q, path));
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free(buf);
			return arca_error(e, E2BIG, "%s: larger than %zu bytes", quote(&q, path), max);
		}
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* Write-then-rename, so a reader (the engine reading the pid file, a
 * concurrent `state`) never sees half a file. */
static int write_atomic(const char *path, const char *data, size_t len, struct arca_err *e)
{
	char tmp[4200];
	struct quoted q;
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
				      0644);
	if (fd < 0)
		return arca_error_errno(e, errno, "%s", quote(&q, tmp));
	size_t off = 0;
	while (off < len) {
		ssize_t k = write(fd, data + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			unlink(tmp);
			return arca_error_errno(e, errno, "writing %s", quote(&q, tmp));
		}
		off += (size_t)k;
	}
	if (rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		return arca_error_errno(e, err, "%s", quote(&q, path));
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* pid's start time and whether it still runs (not a zombie): 0, or
 * -ESRCH when there is no such live process. */
static int proc_start(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	const char *rp = strrchr(buf, ')');
	if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
		return -ESRCH;
	return sbstate_stat_starttime(buf, start) < 0 ? -ESRCH : 0;
}

/* One entry in --log: a line of text, or with --log-format json one JSON
 * object per line as runc writes them ({"level","msg","time"}), which is
 * what containerd's shim parses (every line) for the error it reports. */
static void log_entry(const struct rt *rt, const char *level, const char *msg)
{
	if (rt->log_fd < 0)
		return;
	if (!rt->log_json) {
		dprintf(rt->log_fd, "arca-runtime: %s\n", msg);
		return;
	}
	char t[40];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *j = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", t);
	char *line = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (line)
		dprintf(rt->log_fd, "%s\n", line);
	free(line);
	json_decref(j);
}

static void report(const struct rt *rt, const char *msg)
{
	fprintf(stderr, "arca-runtime: %s\n", msg);
	log_entry(rt, "error", msg);
}

/* ---- the state directory ---------------------------------------------------- */

static int rt_root(struct rt *rt, const char *given, struct arca_err *e)
{
	struct quoted q;
	if (given) {
		if (given[0] != '/')
			return arca_error(e, EINVAL, "--root '%s': must be an absolute path",
					  quote(&q, given));
		snprintf(rt->root, sizeof(rt->root), "%s", given);
	} else if (geteuid() == 0) {
		snprintf(rt->root, sizeof(rt->root), "/run/arca-runtime");
	} else {
		const char *x = getenv("XDG_RUNTIME_DIR");
		if (x && x[0] == '/')
			snprintf(rt->root, sizeof(rt->root), "%s/arca-runtime", x);
		else
			snprintf(rt->root, sizeof(rt->root), "/tmp/arca-runtime-%u",
				 (unsigned)geteuid());
	}
	/* Its parents too, as runc does: containerd's shim names
	 * /run/containerd/runc/NAMESPACE before anything made it. */
	for (char *sl = strchr(rt->root + 1, '/');; sl = strchr(sl + 1, '/')) {
		if (sl)
			*sl = 0;
		int mr = mkdir(rt->root, 0700);
		int err = errno;
		if (sl)
			*sl = '/';
		if (mr < 0 && err != EEXIST)
			return arca_error_errno(e, err, "--root %s", quote(&q, rt->root));
		if (!sl)
			break;
	}
	struct stat sb;
	if (lstat(rt->root, &sb) < 0)
		return arca_error_errno(e, errno, "--root %s", quote(&q, rt->root));
	/* Another user's directory could hold state files that point our
	 * kill at any pid: only our own. */
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022))
		return arca_error(e, EPERM, "--root %s: not a directory of ours, writable only by us",
				  quote(&q, rt->root));
	return 0;
}

/* ROOT/ID[/F]; the root and id are bounded well below cap. */
static void cpath(const struct rt *rt, const char *id, const char *f, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/%s%s%s", rt->root, id, f ? "/" : "", f ? f : "") >= cap)
		out[0] = 0;
}

static int check_id(const char *id, struct arca_err *e)
{
	struct quoted q;
	if (!id)
		return arca_error(e, EINVAL, "missing container id");
	if (!oci_id_ok(id))
		return arca_error(e, EINVAL, "invalid container id '%s': 1 to 64 of letters, "
				  "digits, '_', '.', '-', the first a letter or digit",
				  quote(&q, id));
	return 0;
}

static int load_state(const struct rt *rt, const char *id, struct oci_state *s,
		      enum oci_status *st, struct arca_err *e)
{
	char p[4200];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = check_id(id, e); /* before it becomes a path */
	if (r < 0)
		return r;
	cpath(rt, id, "state.json", p, sizeof(p));
	if (access(p, F_OK) < 0) {
		cpath(rt, id, NULL, p, sizeof(p));
		return arca_error(e, ENOENT, "container '%s' does not exist", id);
	}
	if ((r = read_file(p, 1u << 20, &text, &len, e)) < 0)
		return r;
	if ((r = oci_state_parse(text, len, s, e)) < 0)
		return r;
	uint64_t start;
	if (s->pid > 0 && proc_start(s->pid, &start) == 0 && start == s->pid_start)
		*st = s->started ? OCI_RUNNING : OCI_CREATED;
	else
		*st = OCI_STOPPED;
	return 0;
}

static int save_state(const struct rt *rt, const struct oci_state *s, struct arca_err *e)
{
	char p[4200];
	_cleanup_free_ char *text = oci_state_format(s);
	if (!text)
		return arca_error(e, ENOMEM, "out of memory");
	cpath(rt, s->id, "state.json", p, sizeof(p));
	return write_atomic(p, text, strlen(text), e);
}

static void remove_dir(const struct rt *rt, const char *id)
{
	char p[4200];
	static const char *const files[] = { "state.json", "exec.fifo", NULL };
	for (const char *const *f = files; *f; f++) {
		cpath(rt, id, *f, p, sizeof(p));
		unlink(p);
	}
	cpath(rt, id, NULL, p, sizeof(p));
	rmdir(p);
}

/* ---- the terminal: a pty whose master goes to the engine's socket ---------- */

static int send_fd(const char *sock_path, int fd, struct arca_err *e)
{
	struct quoted q;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return arca_error(e, ENAMETOOLONG, "--console-socket %s: too long",
				  quote(&q, sock_path));
	strcpy(sa.sun_path, sock_path);
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return arca_error_errno(e, errno, "--console-socket %s", quote(&q, sock_path));
	char name[] = "/dev/ptmx";
	struct iovec iov = { name, sizeof(name) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		return arca_error_errno(e, errno, "--console-socket %s: sending the terminal",
					quote(&q, sock_path));
	return 0;
}

/* A pty: the master is sent to the console socket, the slave's path is
 * returned for the process to open as its controlling terminal. */
static int make_pty(const char *sock_path, char *slave, size_t cap, struct arca_err *e)
{
	if (!sock_path)
		return arca_error(e, EINVAL, "process.terminal is true: --console-socket is needed");
	_cleanup_close_ int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, cap) != 0)
		return arca_error_errno(e, errno, "a terminal for the container");
	return send_fd(sock_path, m, e);
}

static void enter_pty(const char *slave)
{
	setsid();
	int fd = open(slave, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
		_exit(OCIRT_EXIT_ERROR);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* ---- running a planned arca command in this process ------------------------ */

static int parse_plan(const struct oci_argv *a, struct arca_opts *o, const struct rt *rt,
		      struct arca_err *e)
{
	int r = cli_parse((int)a->n, a->v, o, e);
	if (r < 0)
		return r;
	/* arca's own notes are text: into a text log only. */
	o->diag_fd = rt->log_json ? -1 : rt->log_fd;
	paths_from_env(&o->paths);
	if (o->paths.kernel && !*o->paths.kernel)
		o->paths.kernel = NULL;
	return 0;
}

/* The exec session: its exit code (128+N for a signal, as a shell says). */
static int run_exec(const struct oci_argv *a, const struct rt *rt)
{
	struct arca_opts o;
	struct arca_err e = { 0 };
	int r = parse_plan(a, &o, rt, &e);
	if (r == 0)
		r = sandbox_exec(&o, NULL, &e);
	if (r < 0) {
		dprintf(STDERR_FILENO, "arca-runtime: %s\n", e.msg);
		r = OCIRT_EXIT_ERROR;
	}
	cli_free(&o);
	return r;
}

static void stop_sandbox(const char *id, bool force, const struct rt *rt)
{
	struct arca_err e = { 0 };
	int pidfd = sandbox_open(id, NULL, &e);
	(void)rt;
	if (pidfd < 0)
		return;
	(void)sandbox_stop_pidfd(pidfd, id, force, 10000, &e);
	close(pidfd);
}

/* ---- commands ---------------------------------------------------------------- */

struct cmdopts {
	const char *bundle, *pid_file, *console_socket, *process;
	bool detach, force, all;
	const char *format;
	char *const *args; /* positional, after the id */
	int nargs;
	const char *id;
};

/* A pod's sandbox container: P waits for `start`, then, as pause does,
 * for a signal that ends it (exit 0), with no VM behind it. */
static __attribute__((noreturn)) void pause_process(const struct rt *rt, const char *id)
{
	char p[4200];
	sigset_t set;
	int sig;
	prctl(PR_SET_NAME, "arca-pause", 0, 0, 0);
	cpath(rt, id, "exec.fifo", p, sizeof(p));
	/* Until started, a signal ends it as it would any process. */
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(OCIRT_EXIT_ERROR);
	close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	while (sigwait(&set, &sig) != 0)
		;
	_exit(0);
}

/* P: waits until `start` opens the fifo, runs the process, stops the VM. */
static __attribute__((noreturn)) void container_process(const struct rt *rt, const char *id,
							 const struct oci_argv *exec,
							 const char *slave)
{
	char p[4200];
	prctl(PR_SET_NAME, "arca-container", 0, 0, 0);
	if (slave[0])
		enter_pty(slave);
	cpath(rt, id, "exec.fifo", p, sizeof(p));
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(OCIRT_EXIT_ERROR);
	close(fd);
	int code = run_exec(exec, rt);
	/* The process is the container: when it ends, so does the VM, at once
	 * (as a container's namespaces go with its init): nothing in it is
	 * left to save, the shares' writes reached the host as they were made
	 * (no writeback cache) and the root's overlay is the VM's memory.
	 * A graceful power-off cost ~1.5 s of every `podman run` (nested). */
	stop_sandbox(id, true, rt);
	_exit(code);
}

/* Run the hooks of one kind (oci.h), each with the container's state (as
 * `state` reports it, with status st) on its stdin, its output to the
 * --log (else nowhere), one after the other. 0, or -errno with e naming
 * the first that failed (its exit status, its signal, or its timeout). */
static int run_hooks(const struct rt *rt, const struct oci_state *s, enum oci_status st,
		     const char *kind, struct arca_err *e)
{
	struct oci_hook *h;
	size_t n;
	struct quoted q;
	int r = oci_hooks_get(s->hooks, kind, &h, &n, e);
	if (r < 0 || !n)
		return r;
	_cleanup_free_ char *state = oci_state_report(s, st);
	if (!state) {
		oci_hooks_free(h, n);
		return arca_error(e, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			r = arca_error_errno(e, errno, "pipe");
			break;
		}
		pid_t pid = fork();
		if (pid < 0) {
			close(p[0]);
			close(p[1]);
			r = arca_error_errno(e, errno, "fork");
			break;
		}
		if (pid == 0) {
			int out = rt->log_fd >= 0 && !rt->log_json ? rt->log_fd
								   : open("/dev/null", O_WRONLY | O_CLOEXEC);
			sandbox_child_signals();
			signal(SIGPIPE, SIG_DFL); /* a program's default, not the mux's */
			if (dup2(p[0], 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
				_exit(127);
			execve(h[i].path, h[i].args, h[i].env);
			_exit(127);
		}
		close(p[0]);
		/* The whole state, whether or not the hook reads it (SIGPIPE
		 * is ignored here: a hook that exits early gives EPIPE). */
		struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
		sigaction(SIGPIPE, &ign, &old_pipe);
		(void)!write(p[1], state, strlen(state));
		sigaction(SIGPIPE, &old_pipe, NULL);
		close(p[1]);
		int status = 0;
		uint64_t waited = 0;
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid || (w < 0 && errno != EINTR))
				break;
			if (h[i].timeout_s && waited >= (uint64_t)h[i].timeout_s * 1000) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				r = arca_error(e, ETIMEDOUT, "hooks.%s[%zu] %s: timed out after %u s",
					       kind, i, quote(&q, h[i].path), h[i].timeout_s);
				break;
			}
			usleep(10000);
			waited += 10;
		}
		if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			r = arca_error(e, EIO, "hooks.%s[%zu] %s: %s %d", kind, i,
				       quote(&q, h[i].path),
				       WIFEXITED(status) ? "exited with" : "killed by signal",
				       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	oci_hooks_free(h, n);
	return r;
}

/* The pod's network: the guest's resolver is the first IPv4 nameserver of
 * the resolv.conf the engine made for the container (CNI's DNS), added
 * to --net ns=PATH as ,dns=. None found: the guest has none. */
static int add_pod_dns(struct oci_plan *plan, struct arca_err *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (plan->net_ns_arg < 0 || !plan->resolv_conf[0])
		return 0;
	if (read_file(plan->resolv_conf, 1u << 16, &text, &len, e) < 0)
		return -e->code;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		uint32_t a;
		char *v = line + strspn(line, " \t");
		if (strncmp(v, "nameserver", 10) || !strchr(" \t", v[10]))
			continue;
		v += 10 + strspn(v + 10, " \t");
		size_t n = strcspn(v, " \t\r#");
		if (!netcfg_parse_ipv4(v, n, &a) || !a)
			continue;
		char *arg;
		if (asprintf(&arg, "%s,dns=%.*s", plan->start.v[plan->net_ns_arg], (int)n, v) < 0)
			return arca_error(e, ENOMEM, "out of memory");
		free(plan->start.v[plan->net_ns_arg]);
		plan->start.v[plan->net_ns_arg] = arg;
		break;
	}
	return 0;
}

/* A sandbox that ended before it was ready: the message names its log's
 * last line (the engine shows one line), the whole tail goes to --log. */
static void why_not_ready(const struct sandbox_started *st, const struct rt *rt,
			  struct arca_err *e)
{
	char last[256] = "", init[256] = "";
	const char *p = st->log_tail;
	log_entry(rt, "info", st->log_tail);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *t = p;
		while (n && *t == ' ') {
			t++;
			n--;
		}
		if (n)
			snprintf(last, sizeof(last), "%.*s", (int)(n < 255 ? n : 255), t);
		/* The guest's init says what went wrong, where it said anything. */
		if (n > 10 && !strncmp(t, "arca-init:", 10))
			snprintf(init, sizeof(init), "%.*s", (int)(n < 255 ? n : 255), t);
		if (!nl)
			break;
		p = nl + 1;
	}
	/* Short, the reason first: engines pass on only so much of a
	 * runtime's error (conmon cut one at ~240 bytes). */
	if (last[0])
		snprintf(e->msg, sizeof(e->msg), "the VM stopped before it was ready: %s",
			 init[0] ? init : last);
}

static int cmd_create(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	char bundle[4096], p[4200], slave[128] = "";
	struct quoted q;
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct oci_plan plan;
	int r;

	if ((r = check_id(c->id, e)) < 0)
		return r;
	if (!realpath(c->bundle ? c->bundle : ".", bundle))
		return arca_error_errno(e, errno, "--bundle %s", quote(&q, c->bundle ? c->bundle : "."));
	snprintf(p, sizeof(p), "%s/config.json", bundle);
	if ((r = read_file(p, OCI_CONFIG_MAX, &text, &len, e)) < 0)
		return r;
	if ((r = oci_plan_config(text, len, bundle, c->id, oci_stat_host, &plan, e)) < 0)
		return r;
	if (plan.notes[0])
		log_entry(rt, "info", plan.notes);
	if ((r = add_pod_dns(&plan, e)) < 0)
		goto out;

	cpath(rt, c->id, NULL, p, sizeof(p));
	if (mkdir(p, 0700) < 0) {
		r = errno == EEXIST ? arca_error(e, EEXIST, "container '%s' already exists", c->id)
				    : arca_error_errno(e, errno, "%s", quote(&q, p));
		goto out;
	}
	cpath(rt, c->id, "exec.fifo", p, sizeof(p));
	if (mkfifo(p, 0600) < 0) {
		r = arca_error_errno(e, errno, "%s", quote(&q, p));
		goto fail;
	}
	if (plan.terminal && (r = make_pty(c->console_socket, slave, sizeof(slave), e)) < 0)
		goto fail;

	/* The VM first: `create` returns once it can run the process. A
	 * pod's sandbox container has none: the pod's namespaces are the
	 * engine's, and each of its containers gets a VM of its own. */
	if (!plan.pod_sandbox) {
		struct arca_opts o;
		struct sandbox_started st;
		if ((r = parse_plan(&plan.start, &o, rt, e)) < 0)
			goto fail;
		r = sandbox_start(&o, &st, e);
		cli_free(&o);
		if (r < 0) {
			if (r == -ECHILD)
				why_not_ready(&st, rt, e);
			goto fail;
		}
	}

	pid_t pid = fork();
	if (pid < 0) {
		r = arca_error_errno(e, errno, "fork");
		stop_sandbox(c->id, true, rt);
		goto fail;
	}
	if (pid == 0) {
		if (plan.pod_sandbox)
			pause_process(rt, c->id);
		container_process(rt, c->id, &plan.exec, slave);
	}

	struct oci_state s = { .pid = pid, .created_ms = now_ms(), .annotations = plan.annotations,
			       .hooks = plan.hooks };
	snprintf(s.id, sizeof(s.id), "%s", c->id);
	snprintf(s.bundle, sizeof(s.bundle), "%s", bundle);
	if (proc_start(pid, &s.pid_start) < 0 || (r = save_state(rt, &s, e)) < 0) {
		if (!r)
			r = arca_error(e, ESRCH, "the container process ended at once");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0); /* our child still: reaped here */
		stop_sandbox(c->id, true, rt);
		goto fail;
	}
	if (c->pid_file) {
		char num[24];
		int n = snprintf(num, sizeof(num), "%d", (int)pid);
		if ((r = write_atomic(c->pid_file, num, (size_t)n, e)) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0); /* our child still: reaped here */
			stop_sandbox(c->id, true, rt);
			goto fail;
		}
	}
	/* The runtime's hooks, in the spec's order; one that fails stops the
	 * container (runtime.md's lifecycle, step 12: delete). Host-side, as
	 * createContainer's "container namespace" is the VM's. */
	static const char *const create_hooks[] = { "prestart", "createRuntime",
						    "createContainer" };
	for (size_t k = 0; k < ARRAY_SIZE(create_hooks); k++) {
		if ((r = run_hooks(rt, &s, OCI_CREATING, create_hooks[k], e)) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0); /* our child still: reaped here */
			stop_sandbox(c->id, true, rt);
			goto fail;
		}
	}
	r = 0;
	goto out;
fail:
	remove_dir(rt, c->id);
out:
	oci_plan_free(&plan);
	return r;
}

static int cmd_start(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	struct oci_state s;
	enum oci_status st;
	char p[4200];
	int r;

	if ((r = load_state(rt, c->id, &s, &st, e)) < 0)
		return r;
	if (st != OCI_CREATED) {
		oci_state_free(&s);
		return arca_error(e, EINVAL, "container '%s' is %s, not created", c->id,
				  oci_status_name(st));
	}
	cpath(rt, c->id, "exec.fifo", p, sizeof(p));
	/* Nonblocking: P may be gone by now; then nobody ever writes. */
	_cleanup_close_ int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		oci_state_free(&s);
		return arca_error_errno(e, errno, "container '%s' cannot be started", c->id);
	}
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	char b;
	if (poll(&pf, 1, 10000) <= 0 || read(fd, &b, 1) != 1) {
		oci_state_free(&s);
		return arca_error(e, EIO, "container '%s': its process did not take the start",
				  c->id);
	}
	unlink(p);
	s.started = true;
	r = save_state(rt, &s, e);
	if (r == 0) {
		/* poststart: a failure is noted, the container runs on. */
		struct arca_err he = { 0 };
		if (run_hooks(rt, &s, OCI_RUNNING, "poststart", &he) < 0)
			log_entry(rt, "warning", he.msg);
	}
	oci_state_free(&s);
	return r;
}

static int cmd_state(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	struct oci_state s;
	enum oci_status st;
	int r;
	if ((r = load_state(rt, c->id, &s, &st, e)) < 0)
		return r;
	char *out = oci_state_report(&s, st);
	oci_state_free(&s);
	if (!out)
		return arca_error(e, ENOMEM, "out of memory");
	printf("%s\n", out);
	free(out);
	return 0;
}

static int parse_signal(const char *v, int *sig, struct arca_err *e)
{
	static const struct {
		const char *n;
		int s;
	} names[] = { { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT },
		      { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
		      { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		      { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
		      { "WINCH", SIGWINCH } };
	struct quoted q;
	const char *n = v;
	char *end;
	long num = strtol(v, &end, 10);
	if (*v && !*end && num >= 1 && num <= 64) {
		*sig = (int)num;
		return 0;
	}
	if (!strncmp(n, "SIG", 3))
		n += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(n, names[i].n)) {
			*sig = names[i].s;
			return 0;
		}
	return arca_error(e, EINVAL, "unknown signal '%s'", quote(&q, v));
}

static bool has_vm(const char *id)
{
	struct arca_err e;
	int pidfd = sandbox_open(id, NULL, &e);
	if (pidfd < 0)
		return false;
	close(pidfd);
	return true;
}

static int cmd_kill(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	struct oci_state s;
	enum oci_status st;
	int sig = SIGTERM, r;

	if ((r = check_id(c->id, e)) < 0)
		return r;
	if (c->nargs > 1)
		return arca_error(e, EINVAL, "kill: one signal only");
	if (c->nargs == 1 && (r = parse_signal(c->args[0], &sig, e)) < 0)
		return r;
	if ((r = load_state(rt, c->id, &s, &st, e)) < 0)
		return r;
	oci_state_free(&s);
	if (st == OCI_STOPPED) {
		if (c->all)
			return 0;
		return arca_error(e, ESRCH, "container '%s' is not running", c->id);
	}
	if (sig == SIGKILL) {
		/* Now, as SIGKILL means: P (whose status the engine sees) and
		 * the VM with it. */
		kill(s.pid, SIGKILL);
		stop_sandbox(c->id, true, rt);
		return 0;
	}
	if (st == OCI_CREATED || !has_vm(c->id)) {
		/* Nothing runs in a guest (not yet, or a pod's sandbox
		 * container, which has none): the signal is P's. */
		return kill(s.pid, sig) < 0 ? arca_error_errno(e, errno, "kill") : 0;
	}
	/* Into the guest, to the process, whatever the signal (P's exec
	 * session forwards ARCA_SIG_FORWARD's value). */
	union sigval v = { .sival_int = sig };
	if (sigqueue(s.pid, ARCA_SIG_FORWARD, v) < 0)
		return arca_error_errno(e, errno, "kill");
	return 0;
}

static int cmd_delete(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	struct oci_state s;
	enum oci_status st;
	int r;
	if ((r = load_state(rt, c->id, &s, &st, e)) < 0) {
		if (r == -ENOENT && c->force)
			return 0;
		return r;
	}
	if (st == OCI_RUNNING && !c->force) {
		oci_state_free(&s);
		return arca_error(e, EBUSY, "container '%s' is running: stop it first, or delete "
				  "--force", c->id);
	}
	if (st != OCI_STOPPED)
		kill(s.pid, SIGKILL);
	stop_sandbox(c->id, st != OCI_STOPPED, rt);
	/* poststop: after the container is gone; a failure is noted. */
	struct arca_err he = { 0 };
	if (run_hooks(rt, &s, OCI_STOPPED, "poststop", &he) < 0)
		log_entry(rt, "warning", he.msg);
	oci_state_free(&s);
	remove_dir(rt, c->id);
	return 0;
}

static int cmd_exec(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	struct oci_state s;
	enum oci_status st;
	struct oci_plan plan = { 0 };
	char slave[128] = "";
	int r;

	if ((r = load_state(rt, c->id, &s, &st, e)) < 0)
		return r;
	oci_state_free(&s);
	if (st != OCI_RUNNING && st != OCI_CREATED)
		return arca_error(e, EINVAL, "container '%s' is %s", c->id, oci_status_name(st));
	if (c->process) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		if (c->nargs)
			return arca_error(e, EINVAL, "exec: --process and a command both given");
		if ((r = read_file(c->process, OCI_CONFIG_MAX, &text, &len, e)) < 0 ||
		    (r = oci_plan_process(text, len, c->id, &plan, e)) < 0)
			return r;
	} else {
		if (!c->nargs)
			return arca_error(e, EINVAL, "exec: no command (--process FILE or ID CMD...)");
		/* runc exec ID CMD...: as root in / with no environment. */
		char proc_json[] = "{\"cwd\":\"/\",\"args\":[\"x\"]}";
		if ((r = oci_plan_process(proc_json, strlen(proc_json), c->id, &plan, e)) < 0)
			return r;
		free(plan.exec.v[--plan.exec.n]);
		plan.exec.v[plan.exec.n] = NULL;
		for (int i = 0; i < c->nargs; i++) {
			char *a = strdup(c->args[i]);
			char **v = realloc(plan.exec.v, (plan.exec.n + 2) * sizeof(*v));
			if (!a || !v) {
				free(a);
				if (v)
					plan.exec.v = v;
				oci_plan_free(&plan);
				return arca_error(e, ENOMEM, "out of memory");
			}
			plan.exec.v = v;
			plan.exec.v[plan.exec.n++] = a;
			plan.exec.v[plan.exec.n] = NULL;
		}
	}
	if (plan.terminal && (r = make_pty(c->console_socket, slave, sizeof(slave), e)) < 0) {
		oci_plan_free(&plan);
		return r;
	}
	if (!c->detach && !slave[0]) {
		r = run_exec(&plan.exec, rt);
		oci_plan_free(&plan);
		return r;
	}
	pid_t pid = fork();
	if (pid < 0) {
		oci_plan_free(&plan);
		return arca_error_errno(e, errno, "fork");
	}
	if (pid == 0) {
		if (slave[0])
			enter_pty(slave);
		_exit(run_exec(&plan.exec, rt));
	}
	oci_plan_free(&plan);
	if (c->pid_file) {
		char num[24];
		int n = snprintf(num, sizeof(num), "%d", (int)pid);
		if ((r = write_atomic(c->pid_file, num, (size_t)n, e)) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0); /* our child still: reaped here */
			return r;
		}
	}
	if (c->detach)
		return 0;
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_ps(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	struct oci_state s;
	enum oci_status st;
	int r;
	if ((r = load_state(rt, c->id, &s, &st, e)) < 0)
		return r;
	oci_state_free(&s);
	bool json = c->format && !strcmp(c->format, "json");
	if (st == OCI_STOPPED)
		printf(json ? "[]\n" : "PID\n");
	else if (json)
		printf("[%d]\n", s.pid);
	else
		printf("PID\n%d\n", s.pid);
	return 0;
}

static int cmd_list(struct rt *rt, const struct cmdopts *c, struct arca_err *e)
{
	DIR *d = opendir(rt->root);
	struct dirent *de;
	bool json = c->format && !strcmp(c->format, "json"), first = true;
	if (!d)
		return arca_error_errno(e, errno, "%s", rt->root);
	printf(json ? "[" : "ID\tPID\tSTATUS\tBUNDLE\n");
	while ((de = readdir(d))) {
		struct oci_state s;
		enum oci_status st;
		struct arca_err ie;
		if (!oci_id_ok(de->d_name) || load_state(rt, de->d_name, &s, &st, &ie) < 0)
			continue;
		if (json) {
			char *one = oci_state_report(&s, st);
			if (one)
				printf("%s%s", first ? "" : ",", one);
			free(one);
			first = false;
		} else {
			printf("%s\t%d\t%s\t%s\n", s.id, st == OCI_STOPPED ? 0 : s.pid,
			       oci_status_name(st), s.bundle);
		}
		oci_state_free(&s);
	}
	closedir(d);
	if (json)
		printf("]\n");
	return 0;
}

static int cmd_features(void)
{
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"1.2.0\",\n"
	       "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"poststart\", \"poststop\"],\n"
	       "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\"],\n"
	       "  \"linux\": {\n"
	       "    \"namespaces\": [],\n"
	       "    \"capabilities\": [],\n"
	       "    \"cgroup\": { \"v1\": false, \"v2\": false, \"systemd\": false },\n"
	       "    \"seccomp\": { \"enabled\": false },\n"
	       "    \"apparmor\": { \"enabled\": false },\n"
	       "    \"selinux\": { \"enabled\": false }\n"
	       "  },\n"
	       "  \"annotations\": {\n"
	       "    \"org.opencontainers.runc.version\": \"arca-runtime\",\n"
	       "    \"run.arca.microvm\": \"true\"\n"
	       "  }\n"
	       "}\n");
	return 0;
}

/* ---- the command line --------------------------------------------------------- */

static const char usage[] =
	"usage: arca-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...\n"
	"  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
	"  start ID | state ID | delete [--force] ID | ps [--format json] ID\n"
	"  kill [--all] ID [SIGNAL] | exec [--process FILE] [--detach] [--pid-file FILE]\n"
	"       [--console-socket SOCK] ID [CMD...] | list [--format json] | features\n"
	"An OCI runtime (runc's command line) that runs each container in an arca microVM.\n"
	"Accepted and ignored: --systemd-cgroup, --debug, --rootless, --no-pivot,\n"
	"--no-new-keyring, --preserve-fds (none are kept).\n";

/* "--name=value" or "--name value": the value, advancing *i; NULL when
 * arg is not this option. */
static const char *opt_val(int argc, char *const argv[], int *i, const char *name,
			   struct arca_err *e, int *r)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		*r = arca_error(e, EINVAL, "%s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static bool is_flag(const char *a, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(a, *names))
			return true;
	return false;
}

static int parse_cmd(int argc, char *const argv[], int i, struct cmdopts *c, struct arca_err *e)
{
	static const char *const ignored_flags[] = { "--no-pivot", "--no-new-keyring", "--tty",
						     "-t", "--no-subreaper", NULL };
	static const char *const ignored_vals[] = { "--preserve-fds", "--cwd", "--env", "-e",
						    "--user", "-u", "--cap", "--apparmor",
						    "--process-label", "--cgroup", NULL };
	struct quoted q;
	int r = 0;
	for (; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (!c->id) {
				c->id = a;
				continue;
			}
			break;
		}
#define VAL(name, field)                                                    \
	if ((v = opt_val(argc, argv, &i, name, e, &r)) || r < 0) {          \
		if (r < 0)                                                  \
			return r;                                           \
		c->field = v;                                               \
		continue;                                                   \
	}
		VAL("--bundle", bundle)
		VAL("-b", bundle)
		VAL("--pid-file", pid_file)
		VAL("--console-socket", console_socket)
		VAL("--process", process)
		VAL("-p", process)
		VAL("--format", format)
		VAL("-f", format)
#undef VAL
		if (!strcmp(a, "--detach") || !strcmp(a, "-d")) {
			c->detach = true;
			continue;
		}
		if (!strcmp(a, "--force")) {
			c->force = true;
			continue;
		}
		if (!strcmp(a, "--all") || !strcmp(a, "-a")) {
			c->all = true;
			continue;
		}
		if (is_flag(a, ignored_flags))
			continue;
		bool skipped = false;
		for (const char *const *n = ignored_vals; *n; n++) {
			if ((v = opt_val(argc, argv, &i, *n, e, &r)) || r < 0) {
				if (r < 0)
					return r;
				skipped = true;
				break;
			}
		}
		if (skipped)
			continue;
		return arca_error(e, EINVAL, "unknown option '%s'", quote(&q, a));
	}
	c->args = &argv[i];
	c->nargs = argc - i;
	return 0;
}


int ocirt_main(int argc, char *argv[])
{
	struct rt rt = { .log_fd = -1 };
	struct cmdopts c = { 0 };
	struct arca_err e = { 0 };
	const char *root = NULL, *fmt = NULL, *v;
	struct quoted q;
	int i, r = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((v = opt_val(argc, argv, &i, "--root", &e, &r)))
			root = v;
		else if (r == 0 && (v = opt_val(argc, argv, &i, "--log", &e, &r)))
			rt.log = v;
		else if (r == 0 && (v = opt_val(argc, argv, &i, "--log-format", &e, &r)))
			fmt = v;
		else if (r == 0 && (v = opt_val(argc, argv, &i, "--criu", &e, &r)))
			;
		else if (r == 0 && (v = opt_val(argc, argv, &i, "--rootless", &e, &r)))
			;
		else if (r < 0)
			break;
		else if (!strcmp(a, "--systemd-cgroup") || !strcmp(a, "--debug"))
			;
		else if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
			printf("arca-runtime version %s\nspec: 1.2.0\n", ARCA_VERSION);
			return 0;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		} else {
			r = arca_error(&e, EINVAL, "unknown option '%s'", quote(&q, a));
			break;
		}
	}
	if (r == 0 && fmt && strcmp(fmt, "json") && strcmp(fmt, "text"))
		r = arca_error(&e, EINVAL, "--log-format '%s': json or text", quote(&q, fmt));
	rt.log_json = fmt && !strcmp(fmt, "json");
	if (r == 0 && rt.log) {
		rt.log_fd = open(rt.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (rt.log_fd < 0)
			r = arca_error_errno(&e, errno, "--log %s", quote(&q, rt.log));
	}
	if (r == 0 && i >= argc)
		r = arca_error(&e, EINVAL, "missing command (arca-runtime --help)");
	const char *cmd = r == 0 ? argv[i] : "";
	if (r == 0 && (!strcmp(cmd, "features") || !strcmp(cmd, "help") ||
		       !strcmp(cmd, "version"))) {
		if (!strcmp(cmd, "help"))
			fputs(usage, stdout);
		else if (!strcmp(cmd, "version"))
			printf("arca-runtime version %s\nspec: 1.2.0\n", ARCA_VERSION);
		else
			cmd_features();
		return 0;
	}
	if (r == 0)
		r = parse_cmd(argc, argv, i + 1, &c, &e);
	if (r == 0)
		r = rt_root(&rt, root, &e);
	if (r == 0) {
		static const struct {
			const char *name;
			int (*fn)(struct rt *, const struct cmdopts *, struct arca_err *);
		} cmds[] = { { "create", cmd_create }, { "start", cmd_start },
			     { "state", cmd_state },   { "kill", cmd_kill },
			     { "delete", cmd_delete }, { "exec", cmd_exec },
			     { "ps", cmd_ps },         { "list", cmd_list } };
		size_t k;
		for (k = 0; k < ARRAY_SIZE(cmds) && strcmp(cmd, cmds[k].name); k++)
			;
		r = k < ARRAY_SIZE(cmds) ? cmds[k].fn(&rt, &c, &e)
					 : arca_error(&e, EINVAL, "unknown command '%s' "
						      "(arca-runtime --help)", quote(&q, cmd));
	}
	fflush(stdout);
	if (r < 0) {
		report(&rt, e.msg[0] ? e.msg : "internal error");
		return OCIRT_EXIT_ERROR;
	}
	return r;
}
