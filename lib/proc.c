/* SPDX-License-Identifier: MIT */
/*
 * libarca's processes (lib.h says why every run is a child of its own):
 * arca_vm_run, the sandbox handle (start, wait, stop, kill, state) and
 * exec sessions (arca_proc).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "lib.h"
#include "run.h"
#include "sandbox.h"
#include "sbstate.h"


/* How long arca_proc_free gives a command its SIGKILL before it kills the client. */
#define LIB_STOP_GRACE_MS 10000

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

uint64_t lib_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* poll one fd for POLLIN up to timeout_ms (-1: forever); 1 ready, 0 not. */
static int wait_readable(int fd, int timeout_ms)
{
	uint64_t end = timeout_ms < 0 ? 0 : lib_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int left = -1;
		if (timeout_ms >= 0) {
			uint64_t t = lib_now_ms();
			left = t >= end ? 0 : (int)(end - t);
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return 1; /* let the caller's read see what is wrong */
	}
}

/* ---- the child's side --------------------------------------------------------------------- */

/* In a freshly forked child: signals as a new program would have them,
 * stdio from the caller's choice, every other fd closed but keep[]. */
static void child_setup(const int stdio[3], int *keep, size_t nkeep)
{
	sandbox_child_signals();
	/* Out of the way of 0..2 first: a source may sit on a target. */
	int high[3];
	for (int i = 0; i < 3; i++) {
		int fd = stdio[i];
		if (fd < 0)
			fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
		high[i] = fd < 0 ? -1 : fcntl(fd, F_DUPFD, 100);
		if (high[i] < 0)
			_exit(ARCA_EXIT_ERROR);
	}
	for (int i = 0; i < 3; i++)
		if (dup2(high[i], i) < 0)
			_exit(ARCA_EXIT_ERROR);
	sandbox_close_except(keep, nkeep);
}

static void report(int fd, const struct arca_result *res)
{
	struct lib_report r = {
		.kind = res->kind, .value = res->value, .exit_code = res->exit_code,
		.err_code = res->err.code,
	};
	snprintf(r.msg, sizeof(r.msg), "%s", res->err.msg);
	(void)!write(fd, &r, sizeof(r));
}

/* ---- the parent's side -------------------------------------------------------------------- */

/* Read a child's report (blocking) and reap it. */
static void collect(pid_t pid, int report_fd, struct arca_result *res)
{
	struct lib_report r;
	ssize_t n;
	do
		n = read(report_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	int st = 0;
	pid_t w;
	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	memset(res, 0, sizeof(*res));
	if (n == (ssize_t)sizeof(r)) {
		res->kind = (enum arca_result_kind)r.kind;
		res->value = r.value;
		res->exit_code = r.exit_code;
		res->err.code = r.err_code;
		snprintf(res->err.msg, sizeof(res->err.msg), "%.*s", (int)sizeof(r.msg) - 1, r.msg);
		return;
	}
	res->kind = ARCA_RESULT_ERROR;
	res->exit_code = ARCA_EXIT_ERROR;
	res->err.code = ECHILD;
	if (w == pid && WIFSIGNALED(st))
		snprintf(res->err.msg, sizeof(res->err.msg), "arca's supervisor died of signal %d",
			 WTERMSIG(st));
	else
		snprintf(res->err.msg, sizeof(res->err.msg), "arca's supervisor ended without a "
			 "result%s", w < 0 ? " (reaped by someone else)" : "");
}

static int result_return(const struct arca_result *res, struct arca_err *e)
{
	if (res->kind != ARCA_RESULT_ERROR)
		return 0;
	*E(e) = res->err;
	return -(res->err.code ? res->err.code : EIO);
}

/* ---- one-shot ----------------------------------------------------------------------------- */

int arca_vm_run(arca_vm *vm, const arca_exec *x, struct arca_result *res, struct arca_err *e)
{
	struct arca_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!vm || !x) {
		run_result_error(res, arca_error(E(e), EINVAL, "no VM or command"), E(e));
		return -EINVAL;
	}
	if (vm->state != ARCA_VM_CREATED) {
		int r = arca_error(E(e), EBUSY, "the VM was started already (state %s)",
				   arca_vm_state_name(vm->state));
		run_result_error(res, r, E(e));
		return r;
	}
	if (x->console) {
		int r = arca_error(E(e), EINVAL, "a console needs arca_vm_exec_start");
		run_result_error(res, r, E(e));
		return r;
	}
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) {
		int r = arca_error_errno(E(e), errno, "pipe");
		run_result_error(res, r, E(e));
		return r;
	}
	vm->state = ARCA_VM_RUNNING;
	pid_t pid = fork();
	if (pid < 0) {
		int r = arca_error_errno(E(e), errno, "fork");
		close(rp[0]);
		close(rp[1]);
		vm->state = ARCA_VM_CRASHED;
		run_result_error(res, r, E(e));
		return r;
	}
	if (pid == 0) {
		int keep[2] = { rp[1], vm->log_fd };
		child_setup(x->fds, keep, 2);
		struct arca_opts o;
		struct arca_err ce = { 0 };
		struct arca_result cr;
		lib_opts_for(vm, x, &o);
		o.diag_fd = vm->log_fd;
		(void)run_command(&o, &cr, &ce);
		report(rp[1], &cr);
		_exit(0);
	}
	close(rp[1]);
	collect(pid, rp[0], res);
	close(rp[0]);
	vm->state = res->kind == ARCA_RESULT_ERROR ? ARCA_VM_CRASHED : ARCA_VM_STOPPED;
	vm->end = *res;
	return result_return(res, e);
}

/* ---- sandboxes -------------------------------------------------------------------------------- */

int arca_vm_start(arca_vm *vm, struct arca_err *e)
{
	if (!vm)
		return arca_error(E(e), EINVAL, "no VM handle");
	if (vm->state != ARCA_VM_CREATED)
		return arca_error(E(e), EBUSY, "the VM was started already (state %s)",
				  arca_vm_state_name(vm->state));
	struct arca_opts o;
	lib_opts_for(vm, NULL, &o);
	o.cmd = ARCA_CMD_START;
	struct sandbox_started st;
	vm->state = ARCA_VM_STARTING;
	int r = sandbox_start(&o, &st, E(e));
	if (r < 0) {
		if (r == -ECHILD) {
			/* The log's last line says most; append it. */
			size_t n = strlen(st.log_tail);
			while (n && st.log_tail[n - 1] == '\n')
				st.log_tail[--n] = 0;
			const char *last = strrchr(st.log_tail, '\n');
			last = last ? last + 1 : st.log_tail;
			while (*last == ' ')
				last++;
			struct arca_err *ee = E(e);
			size_t m = strlen(ee->msg);
			if (m && ee->msg[m - 1] == ':')
				ee->msg[--m] = 0;
			snprintf(ee->msg + m, sizeof(ee->msg) - m, "%s%.300s", *last ? ": " : "",
				 last);
		}
		vm->state = ARCA_VM_CRASHED;
		run_result_error(&vm->end, r, E(e));
		return r;
	}
	vm->sup = st.pid;
	vm->sup_pidfd = pidfd_of(st.pid);
	if (vm->sup_pidfd < 0) {
		r = arca_error_errno(E(e), errno, "pidfd_open of the sandbox's supervisor");
		kill(st.pid, SIGUSR1);
		(void)waitpid(st.pid, NULL, 0);
		vm->sup = 0;
		vm->state = ARCA_VM_CRASHED;
		return r;
	}
	vm->state = ARCA_VM_RUNNING;
	return 0;
}

arca_vm *arca_vm_attach(const char *name, struct arca_err *e)
{
	if (!name || !sandbox_name_ok(name)) {
		arca_error(E(e), EINVAL, "invalid sandbox name '%s'", name ? name : "(null)");
		return NULL;
	}
	arca_vm *vm = arca_vm_new(e);
	if (!vm)
		return NULL;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	pid_t pid;
	int fd = sandbox_open(name, &pid, E(e));
	if (fd < 0) {
		arca_vm_free(vm);
		return NULL;
	}
	vm->sup = pid;
	vm->sup_pidfd = fd;
	vm->attached = true;
	vm->state = ARCA_VM_RUNNING;
	return vm;
}

/* The supervisor ended: reap it and settle the state. With vm->lock held
 * (threads running execs ask for the state at the same time). */
static void sup_reap(arca_vm *vm)
{
	if (!vm->sup)
		return;
	int st = 0;
	pid_t w = -1;
	memset(&vm->end, 0, sizeof(vm->end));
	if (vm->attached) {
		/* Not our child: how it ended is its parent's to know. */
		close(vm->sup_pidfd);
		vm->sup_pidfd = -1;
		vm->sup = 0;
		vm->end.kind = ARCA_RESULT_EXITED;
		vm->state = ARCA_VM_STOPPED;
		return;
	}
	do
		w = waitpid(vm->sup, &st, 0);
	while (w < 0 && errno == EINTR);
	if (w == vm->sup && WIFEXITED(st)) {
		vm->end.kind = ARCA_RESULT_EXITED;
		vm->end.value = vm->end.exit_code = WEXITSTATUS(st);
	} else if (w == vm->sup) {
		vm->end.kind = ARCA_RESULT_SIGNALED;
		vm->end.value = WTERMSIG(st);
		vm->end.exit_code = 128 + WTERMSIG(st);
	} else {
		vm->end.kind = ARCA_RESULT_ERROR;
		vm->end.exit_code = ARCA_EXIT_ERROR;
		vm->end.err.code = ECHILD;
		snprintf(vm->end.err.msg, sizeof(vm->end.err.msg),
			 "the sandbox's supervisor was reaped by someone else");
	}
	close(vm->sup_pidfd);
	vm->sup_pidfd = -1;
	vm->sup = 0;
	/* Asked to stop: STOPPED whatever its status (a killed VM reports
	 * one). Ended by itself: a clean power-off is STOPPED too. */
	bool clean = vm->end.kind == ARCA_RESULT_EXITED && vm->end.value == 0;
	vm->state = vm->stop_requested || clean ? ARCA_VM_STOPPED : ARCA_VM_CRASHED;
}

enum arca_vm_state arca_vm_state(arca_vm *vm)
{
	if (!vm)
		return ARCA_VM_CRASHED;
	pthread_mutex_lock(&vm->lock);
	if (vm->sup && wait_readable(vm->sup_pidfd, 0))
		sup_reap(vm);
	enum arca_vm_state s = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

static void sup_reap_locked(arca_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	sup_reap(vm);
	pthread_mutex_unlock(&vm->lock);
}

int arca_vm_wait(arca_vm *vm, int timeout_ms, struct arca_result *res, struct arca_err *e)
{
	if (!vm)
		return arca_error(E(e), EINVAL, "no VM handle");
	if (vm->sup) {
		if (!wait_readable(vm->sup_pidfd, timeout_ms))
			return arca_error(E(e), ETIMEDOUT, "sandbox '%s' still runs", vm->name);
		sup_reap_locked(vm);
	}
	if (vm->state == ARCA_VM_CREATED)
		return arca_error(E(e), EINVAL, "the VM was never started");
	if (res)
		*res = vm->end;
	return 0;
}

static int stop(arca_vm *vm, bool force, struct arca_err *e)
{
	if (!vm)
		return arca_error(E(e), EINVAL, "no VM handle");
	if (!vm->sup)
		return vm->state == ARCA_VM_STOPPED || vm->state == ARCA_VM_CRASHED
			       ? 0
			       : arca_error(E(e), EINVAL, "sandbox '%s' is not running (%s)",
					    vm->name, arca_vm_state_name(vm->state));
	pthread_mutex_lock(&vm->lock);
	vm->stop_requested = true;
	vm->state = ARCA_VM_STOPPING;
	pthread_mutex_unlock(&vm->lock);
	/* As `arca stop` / `arca kill` (sandbox.h), then, should the
	 * supervisor still be there, what the CLI cannot do: its whole
	 * session (supervisor, mux, VMM) is ours to end. */
	if (sandbox_stop_pidfd(vm->sup_pidfd, vm->name, force, vm->o.stop_timeout_ms, NULL) < 0) {
		if (!vm->attached)
			(void)kill(-vm->sup, SIGKILL);
		(void)syscall(SYS_pidfd_send_signal, vm->sup_pidfd, SIGKILL, NULL, 0);
		(void)wait_readable(vm->sup_pidfd, -1);
	}
	sup_reap_locked(vm);
	return 0;
}

int arca_vm_stop(arca_vm *vm, struct arca_err *e)
{
	return stop(vm, false, e);
}

int arca_vm_kill(arca_vm *vm, struct arca_err *e)
{
	return stop(vm, true, e);
}

/* ---- exec sessions ------------------------------------------------------------------------------ */

int arca_vm_exec_start(arca_vm *vm, const arca_exec *x, arca_proc **out, struct arca_err *e)
{
	*out = NULL;
	if (!vm || !x)
		return arca_error(E(e), EINVAL, "no VM or command");
	if (arca_vm_state(vm) != ARCA_VM_RUNNING)
		return arca_error(E(e), EINVAL, "sandbox '%s' is not running (%s)", vm->name,
				  arca_vm_state_name(vm->state));
	arca_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return arca_error(E(e), ENOMEM, "out of memory");
	p->vm = vm;
	p->pidfd = p->report_fd = -1;
	int rp[2] = { -1, -1 }, in[2] = { -1, -1 }, outp[2] = { -1, -1 };
	int stdio[3] = { x->fds[0], x->fds[1], x->fds[2] };
	int r;
	if (pipe2(rp, O_CLOEXEC) < 0)
		goto fail_errno;
	if (x->console) {
		/* Input over a socket: send(MSG_NOSIGNAL) to a command that has
		 * gone cannot SIGPIPE the caller (console.c). */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
		    pipe2(outp, O_CLOEXEC) < 0)
			goto fail_errno;
		p->console = calloc(1, sizeof(*p->console));
		if (!p->console) {
			errno = ENOMEM;
			goto fail_errno;
		}
		p->console->in_fd = in[1];
		p->console->out_fd = outp[0];
		(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
		stdio[0] = in[0];
		stdio[1] = stdio[2] = outp[1];
	}
	pid_t pid = fork();
	if (pid < 0)
		goto fail_errno;
	if (pid == 0) {
		int keep[2] = { rp[1], vm->log_fd };
		child_setup(stdio, keep, 2);
		struct arca_opts o;
		struct arca_err ce = { 0 };
		struct arca_result cr;
		lib_opts_for(vm, x, &o);
		o.cmd = ARCA_CMD_EXEC;
		o.diag_fd = vm->log_fd;
		(void)sandbox_exec(&o, &cr, &ce);
		report(rp[1], &cr);
		_exit(0);
	}
	close(rp[1]);
	if (x->console) {
		close(in[0]);
		close(outp[1]);
	}
	p->pid = pid;
	p->report_fd = rp[0];
	p->pidfd = pidfd_of(pid);
	pthread_mutex_lock(&vm->lock);
	p->next = vm->procs;
	vm->procs = p;
	pthread_mutex_unlock(&vm->lock);
	*out = p;
	return 0;

fail_errno:
	r = arca_error_errno(E(e), errno, "starting the command");
	for (int i = 0; i < 2; i++) {
		if (rp[i] >= 0)
			close(rp[i]);
		if (in[i] >= 0)
			close(in[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	free(p->console);
	free(p);
	return r;
}

int arca_proc_wait(arca_proc *p, int timeout_ms, struct arca_result *res, struct arca_err *e)
{
	if (!p)
		return arca_error(E(e), EINVAL, "no process handle");
	if (!p->done) {
		if (!wait_readable(p->report_fd, timeout_ms))
			return arca_error(E(e), ETIMEDOUT, "the command still runs");
		collect(p->pid, p->report_fd, &p->res);
		p->done = true;
	}
	if (res)
		*res = p->res;
	return 0;
}

int arca_proc_signal(arca_proc *p, int sig, struct arca_err *e)
{
	if (!p || sig < 1 || sig > 64)
		return arca_error(E(e), EINVAL, "invalid signal %d", sig);
	if (p->done || p->pidfd < 0)
		return arca_error(E(e), ESRCH, "the command has ended");
	/* The client forwards it as a SIGNAL frame (exec.c). Not reaped
	 * before collect(), its pid cannot have been reused. */
	union sigval v = { .sival_int = sig };
	if (sigqueue(p->pid, ARCA_SIG_FORWARD, v) < 0)
		return arca_error_errno(E(e), errno, "signalling the command");
	return 0;
}

arca_console *arca_proc_console(arca_proc *p)
{
	return p ? p->console : NULL;
}

void arca_proc_free(arca_proc *p)
{
	if (!p)
		return;
	if (!p->done) {
		(void)arca_proc_signal(p, SIGKILL, NULL);
		if (!wait_readable(p->report_fd, LIB_STOP_GRACE_MS) && p->pidfd >= 0)
			(void)syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
		collect(p->pid, p->report_fd, &p->res);
		p->done = true;
	}
	arca_vm *vm = p->vm;
	pthread_mutex_lock(&vm->lock);
	for (arca_proc **pp = &vm->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&vm->lock);
	if (p->report_fd >= 0)
		close(p->report_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	lib_console_free(p->console);
	free(p);
}

int arca_vm_exec(arca_vm *vm, const arca_exec *x, struct arca_result *res, struct arca_err *e)
{
	struct arca_result local;
	if (!res)
		res = &local;
	if (x && x->console) {
		int r = arca_error(E(e), EINVAL, "a console needs arca_vm_exec_start");
		run_result_error(res, r, E(e));
		return r;
	}
	arca_proc *p;
	int r = arca_vm_exec_start(vm, x, &p, e);
	if (r < 0) {
		run_result_error(res, r, E(e));
		return r;
	}
	(void)arca_proc_wait(p, -1, res, e);
	arca_proc_free(p);
	return result_return(res, e);
}

int arca_vm_signal(arca_vm *vm, int sig, struct arca_err *e)
{
	if (!vm || sig < 1 || sig > 64)
		return arca_error(E(e), EINVAL, "invalid signal %d", sig);
	int n = 0;
	pthread_mutex_lock(&vm->lock);
	for (arca_proc *p = vm->procs; p; p = p->next)
		if (!p->done && arca_proc_signal(p, sig, NULL) == 0)
			n++;
	pthread_mutex_unlock(&vm->lock);
	return n;
}

void arca_vm_free(arca_vm *vm)
{
	if (!vm)
		return;
	while (vm->procs)
		arca_proc_free(vm->procs);
	if (vm->sup && !vm->attached)
		(void)stop(vm, false, NULL);
	if (vm->sup_pidfd >= 0)
		close(vm->sup_pidfd);
	shares_free(&vm->o.shares);
	disks_free(&vm->o.disks);
	for (size_t i = 0; i < ARCA_KERNEL_ARGS_MAX; i++)
		free(vm->kargs[i]);
	free(vm->kernel);
	free(vm->cmdline);
	free(vm->root);
	free(vm->libexec);
	free(vm->cache);
	free(vm->busybox);
	if (vm->log_fd >= 0)
		close(vm->log_fd);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
