/* SPDX-License-Identifier: MIT */
/*
 * sandbox [NAME]: start a long-lived sandbox with libarca and drive it:
 * plain execs, execs from several threads at once, an interactive shell
 * through a console, a signal, a stop. One TAP line per step; exit 0 when
 * every step passed, 1 otherwise.
 *
 * Environment, as for oneshot: ARCA_LIBEXEC, ARCA_KERNEL, ARCA_CACHE_DIR
 * (passed to the setters: libarca reads no ARCA_* variable itself) and
 * EXAMPLE_SHARE=1 (the current directory at /work).
 */
#define _GNU_SOURCE /* pipe2 */
#include <arca.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CPUS        1
#define MEMORY_MIB  256
#define NTHREADS    4
#define OUTPUT_MS   10000 /* for output that is already on its way */
#define CONSOLE_MS  20000
#define WAIT_MS     30000

/* ---- TAP ---------------------------------------------------------------- */

static int tap_count, tap_failed;

static void tap(bool ok, const char *what)
{
	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tap_count, what);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* ---- helpers ------------------------------------------------------------- */

static int fail_errno(struct arca_err *err, int code, const char *what)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "%s: %s", what, strerror(code));
	return -code;
}

static const char *result_str(const struct arca_result *res, char *buf, size_t cap)
{
	switch (res->kind) {
	case ARCA_RESULT_EXITED:
		snprintf(buf, cap, "exited %d", res->value);
		break;
	case ARCA_RESULT_SIGNALED:
		snprintf(buf, cap, "signaled %d", res->value);
		break;
	case ARCA_RESULT_TIMED_OUT:
		snprintf(buf, cap, "timed out");
		break;
	case ARCA_RESULT_ERROR:
	default:
		snprintf(buf, cap, "error: %s", res->err.msg);
		break;
	}
	return buf;
}

static bool result_is(const struct arca_result *res, enum arca_result_kind kind, int value)
{
	return res->kind == kind && res->value == value;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read fd into buf (NUL-terminated) until end of file, or with `line` until
 * a newline, for at most timeout_ms. Returns the length or -errno
 * (-ETIMEDOUT: neither came in time).
 */
static ssize_t read_fd(int fd, char *buf, size_t cap, bool line, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t len = 0;

	buf[0] = '\0';
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (line && memchr(buf, '\n', len))
			return (ssize_t)len;
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		if (len + 1 >= cap)
			return -ENOBUFS;
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)len;
		len += (size_t)n;
		buf[len] = '\0';
	}
}

/* The environment variables the example honours, as setter calls. */
static int configure_from_env(arca_vm *vm, struct arca_err *err)
{
	const char *v;
	char cwd[PATH_MAX];
	int r;

	if ((v = getenv("ARCA_LIBEXEC")) && *v &&
	    (r = arca_vm_set_path(vm, ARCA_PATH_LIBEXEC, v, err)) < 0)
		return r;
	if ((v = getenv("ARCA_CACHE_DIR")) && *v &&
	    (r = arca_vm_set_path(vm, ARCA_PATH_CACHE, v, err)) < 0)
		return r;
	if ((v = getenv("ARCA_KERNEL")) && *v &&
	    (r = arca_vm_set_kernel(vm, v, err)) < 0)
		return r;
	if (!(v = getenv("EXAMPLE_SHARE")) || strcmp(v, "1") != 0)
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return fail_errno(err, errno, "getcwd");
	return arca_vm_add_share(vm, cwd, "/work", NULL, 0, err);
}

/*
 * Run `sh -c script` in the sandbox and wait for it, its stdout captured
 * in out. Returns 0 (the result in *res), or -errno with err filled.
 */
static int exec_capture(arca_vm *vm, const char *script, struct arca_result *res,
			char *out, size_t cap, struct arca_err *err)
{
	const char *const argv[] = { "sh", "-c", script, NULL };
	arca_exec *x;
	int pfd[2], r;
	ssize_t n;

	out[0] = '\0';
	if (!(x = arca_exec_new(argv, err)))
		return -(err->code ? err->code : ENOMEM);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = fail_errno(err, errno, "pipe2");
		arca_exec_free(x);
		return r;
	}
	/* The command gets dups of pfd[1]; ours must be closed too before
	 * the read can see end of file. A command's output fits the pipe. */
	r = arca_exec_set_stdio(x, -1, pfd[1], STDERR_FILENO, err);
	if (r == 0)
		r = arca_vm_exec(vm, x, res, err);
	close(pfd[1]);
	if (r == 0) {
		n = read_fd(pfd[0], out, cap, false, OUTPUT_MS);
		if (n < 0)
			r = fail_errno(err, (int)-n, "reading the command's stdout");
	}
	close(pfd[0]);
	arca_exec_free(x);
	return r;
}

/* ---- the steps ------------------------------------------------------------- */

static void step_exec(arca_vm *vm)
{
	struct arca_result res;
	struct arca_err err = { 0 };
	char out[256], rs[600];
	int r;

	r = exec_capture(vm, "echo one", &res, out, sizeof(out), &err);
	if (r < 0)
		diag("exec echo: %s", err.msg);
	else if (!result_is(&res, ARCA_RESULT_EXITED, 0) || strcmp(out, "one\n") != 0)
		diag("exec echo: %s, stdout \"%s\"", result_str(&res, rs, sizeof(rs)), out);
	tap(r == 0 && result_is(&res, ARCA_RESULT_EXITED, 0) && strcmp(out, "one\n") == 0,
	    "exec echo");

	r = exec_capture(vm, "exit 7", &res, out, sizeof(out), &err);
	if (r < 0)
		diag("exec exit 7: %s", err.msg);
	else if (!result_is(&res, ARCA_RESULT_EXITED, 7) || res.exit_code != 7)
		diag("exec exit 7: %s (exit code %d)", result_str(&res, rs, sizeof(rs)),
		     res.exit_code);
	tap(r == 0 && result_is(&res, ARCA_RESULT_EXITED, 7) && res.exit_code == 7,
	    "exec exit 7");
}

struct job {
	arca_vm *vm;
	int n;
	bool ok;
	char why[700];
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct arca_result res;
	struct arca_err err = { 0 };
	char script[32], want[32], out[256], rs[600];

	snprintf(script, sizeof(script), "echo %d", j->n);
	snprintf(want, sizeof(want), "%d\n", j->n);
	if (exec_capture(j->vm, script, &res, out, sizeof(out), &err) < 0)
		snprintf(j->why, sizeof(j->why), "%s", err.msg);
	else if (!result_is(&res, ARCA_RESULT_EXITED, 0) || strcmp(out, want) != 0)
		snprintf(j->why, sizeof(j->why), "%s, stdout \"%s\"",
			 result_str(&res, rs, sizeof(rs)), out);
	else
		j->ok = true;
	return NULL;
}

static void step_threads(arca_vm *vm)
{
	struct job jobs[NTHREADS];
	pthread_t tids[NTHREADS];
	bool started[NTHREADS];
	bool ok = true;
	int i, r;

	for (i = 0; i < NTHREADS; i++) {
		jobs[i] = (struct job){ .vm = vm, .n = i + 1 };
		r = pthread_create(&tids[i], NULL, job_run, &jobs[i]);
		started[i] = r == 0;
		if (r != 0)
			snprintf(jobs[i].why, sizeof(jobs[i].why), "pthread_create: %s",
				 strerror(r));
	}
	for (i = 0; i < NTHREADS; i++) {
		if (started[i])
			pthread_join(tids[i], NULL);
		if (!jobs[i].ok) {
			diag("exec 'echo %d' in thread %d: %s", jobs[i].n, i, jobs[i].why);
			ok = false;
		}
	}
	tap(ok, "4 concurrent execs");
}

static void step_console(arca_vm *vm)
{
	const char *const argv[] = { "sh", NULL };
	struct arca_result res = { .kind = ARCA_RESULT_ERROR };
	struct arca_err err = { 0 };
	arca_console *c;
	arca_proc *p = NULL;
	arca_exec *x;
	char rs[600];
	bool ok = false;

	if (!(x = arca_exec_new(argv, &err)) || arca_exec_set_console(x, true, &err) < 0 ||
	    arca_vm_exec_start(vm, x, &p, &err) < 0) {
		diag("console: %s", err.msg);
		goto out;
	}
	if (!(c = arca_proc_console(p))) {
		diag("console: arca_proc_console returned NULL");
		goto out;
	}
	/* No tty: nothing echoes the input, so only the shell's output can
	 * match (the line itself says ready-$((40+2))). */
	if (arca_console_write_line(c, "echo ready-$((40+2))", &err) < 0 ||
	    arca_console_wait_for(c, "ready-42", CONSOLE_MS, &err) < 0 ||
	    arca_console_write_line(c, "exit 5", &err) < 0 ||
	    arca_proc_wait(p, WAIT_MS, &res, &err) < 0) {
		diag("console: %s", err.msg);
		goto out;
	}
	ok = result_is(&res, ARCA_RESULT_EXITED, 5);
	if (!ok)
		diag("console: sh ended %s, not exited 5", result_str(&res, rs, sizeof(rs)));
out:
	if (p)
		arca_proc_free(p);
	if (x)
		arca_exec_free(x);
	tap(ok, "console session");
}

static void step_signal(arca_vm *vm)
{
	/* "started" says the command runs in the guest before the signal is
	 * sent; exec makes sleep the command's process, the one the result
	 * is about. */
	const char *const argv[] = { "sh", "-c", "echo started; exec sleep 100", NULL };
	struct arca_result res = { .kind = ARCA_RESULT_ERROR };
	struct arca_err err = { 0 };
	arca_proc *p = NULL;
	arca_exec *x;
	int pfd[2] = { -1, -1 };
	char out[256], rs[600];
	bool ok = false;
	ssize_t n;

	if (!(x = arca_exec_new(argv, &err))) {
		diag("signal: %s", err.msg);
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		diag("signal: pipe2: %s", strerror(errno));
		goto out;
	}
	if (arca_exec_set_stdio(x, -1, pfd[1], STDERR_FILENO, &err) < 0 ||
	    arca_vm_exec_start(vm, x, &p, &err) < 0) {
		diag("signal: %s", err.msg);
		goto out;
	}
	n = read_fd(pfd[0], out, sizeof(out), true, CONSOLE_MS);
	if (n < 0 || strcmp(out, "started\n") != 0) {
		diag("signal: waiting for \"started\": %s, stdout \"%s\"",
		     n < 0 ? strerror((int)-n) : "end of output", out);
		goto out;
	}
	if (arca_proc_signal(p, SIGTERM, &err) < 0 ||
	    arca_proc_wait(p, WAIT_MS, &res, &err) < 0) {
		diag("signal: %s", err.msg);
		goto out;
	}
	diag("sleep after SIGTERM: %s (exit code %d)", result_str(&res, rs, sizeof(rs)),
	     res.exit_code);
	ok = result_is(&res, ARCA_RESULT_SIGNALED, SIGTERM) && res.exit_code == 128 + SIGTERM;
out:
	if (p)
		arca_proc_free(p);
	if (x)
		arca_exec_free(x);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	tap(ok, "SIGTERM to sleep: signaled 15");
}

/* A second handle on the same sandbox, by name (as another program, or
 * one that `arca start` started, would get it); freeing it leaves the
 * sandbox running. */
static void step_attach(arca_vm *vm)
{
	struct arca_result res;
	struct arca_err err = { 0 };
	char out[256], rs[600];
	int r = -1;

	arca_vm *other = arca_vm_attach(arca_vm_name(vm), &err);
	if (!other) {
		diag("attach: %s", err.msg);
	} else {
		r = exec_capture(other, "echo attached", &res, out, sizeof(out), &err);
		if (r < 0)
			diag("exec through the attached handle: %s", err.msg);
		else if (!result_is(&res, ARCA_RESULT_EXITED, 0) || strcmp(out, "attached\n") != 0)
			diag("attached exec: %s, stdout \"%s\"", result_str(&res, rs, sizeof(rs)), out);
		if (r == 0 && (!result_is(&res, ARCA_RESULT_EXITED, 0) || strcmp(out, "attached\n")))
			r = -1;
		arca_vm_free(other);
	}
	bool running = arca_vm_state(vm) == ARCA_VM_RUNNING;
	if (!running)
		diag("after freeing the attached handle: %s", arca_vm_state_name(arca_vm_state(vm)));
	tap(r == 0 && running, "attach by name");
}

static void step_stop(arca_vm *vm)
{
	struct arca_err err = { 0 };
	enum arca_vm_state st;
	int r;

	r = arca_vm_stop(vm, &err);
	if (r < 0)
		diag("stop: %s", err.msg);
	st = arca_vm_state(vm);
	if (st != ARCA_VM_STOPPED)
		diag("stop: state %s, not STOPPED", arca_vm_state_name(st));
	tap(r == 0 && st == ARCA_VM_STOPPED, "stop");
}

int main(int argc, char **argv)
{
	struct arca_err err = { 0 };
	arca_vm *vm;

	setvbuf(stdout, NULL, _IOLBF, 0);
	vm = arca_vm_new(&err);
	if (!vm) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	if (arca_vm_set_cpus(vm, CPUS, &err) < 0 ||
	    arca_vm_set_memory_mib(vm, MEMORY_MIB, &err) < 0 ||
	    arca_vm_set_log_fd(vm, STDERR_FILENO, false, &err) < 0 ||
	    configure_from_env(vm, &err) < 0 ||
	    (argc > 1 && arca_vm_set_name(vm, argv[1], &err) < 0) ||
	    arca_vm_start(vm, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		arca_vm_free(vm);
		return 1;
	}

	printf("1..7\n");
	diag("sandbox %s is %s", arca_vm_name(vm), arca_vm_state_name(arca_vm_state(vm)));
	step_exec(vm);    /* 1, 2 */
	step_threads(vm); /* 3 */
	step_console(vm); /* 4 */
	step_signal(vm);  /* 5 */
	step_attach(vm);  /* 6 */
	step_stop(vm);    /* 7 */

	arca_vm_free(vm);
	return tap_failed == 0 && tap_count == 7 ? 0 : 1;
}
