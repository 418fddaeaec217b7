/* SPDX-License-Identifier: MIT */
/*
 * libarca's insides (the public API is include/arca.h): the handles, and
 * how they become the launcher's run description (struct arca_opts, the
 * same one the CLI fills from its command line).
 *
 * Processes: every VM and every exec session is run by a child process of
 * the caller, forked by the library (proc.c), so the signal masks,
 * signalfds, terminal modes and fd juggling the launcher needs happen in
 * that child and never in the caller. A child reports how its run ended
 * as one struct lib_report on a pipe (one write below PIPE_BUF: atomic).
 */
#ifndef ARCA_LIB_H
#define ARCA_LIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <arca.h>

#include "arca/limits.h"
#include "cli.h"
#include "spec.h"

struct arca_vm {
	struct arca_opts o;       /* shares and disks owned (shares_free,
				   * disks_free); strings below */
	char *kernel, *cmdline, *root, *libexec, *cache, *busybox;
	char *kargs[ARCA_KERNEL_ARGS_MAX];
	char name[72];
	int log_fd;               /* dup of the caller's, or -1 */
	enum arca_vm_state state;
	bool stop_requested;
	pid_t sup;                /* the sandbox's supervisor, or 0 */
	bool attached;            /* arca_vm_attach: sup is not our child */
	int sup_pidfd;
	struct arca_result end;   /* how the supervisor ended (state final) */
	pthread_mutex_t lock;     /* procs */
	struct arca_proc *procs;
};

struct arca_exec {
	char **argv;
	size_t argc;
	char **env;               /* NULL-terminated; envc entries */
	size_t envc;
	char *workdir;
	bool has_user;
	uint32_t uid, gid;
	struct arca_spec_rlimit rl[ARCA_RLIMITS_MAX];
	size_t nrl;
	bool tty;
	unsigned rows, cols;
	int fds[3];               /* caller's; -1: /dev/null */
	bool console;
};

struct arca_console {
	int in_fd, out_fd;        /* ours: the command's stdin, its output */
	char *buf;                /* output read but not consumed */
	size_t len, cap;
	bool eof;
};

struct arca_proc {
	arca_vm *vm;
	pid_t pid;
	int pidfd;
	int report_fd;
	bool done;
	struct arca_result res;
	struct arca_console *console;
	struct arca_proc *next;   /* vm->procs */
};

/* What a child reports (proc.c). */
struct lib_report {
	int32_t kind, value, exit_code, err_code;
	char msg[512];
};

/* The caller may pass NULL for an arca_err: messages then go to a
 * temporary one (needed where the message is read back, as a result's). */
#define E(e) ((e) ? (e) : &(struct arca_err){ 0 })

/* Fill o (a copy of vm->o pointing at x's strings) for running x; pure. */
void lib_opts_for(const arca_vm *vm, const arca_exec *x, struct arca_opts *o);
/* The default libexec directory (arca.h's arca_vm_set_path); static
 * storage, or NULL for "the running program's". */
const char *lib_default_libexec(void);

void lib_console_free(struct arca_console *c);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t lib_now_ms(void);

#endif
