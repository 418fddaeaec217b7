/* SPDX-License-Identifier: MIT */
/*
 * Long-lived sandboxes (sbstate.h has where they live): arca start boots a
 * VM whose arca-init serves exec sessions (ARCA_SPEC_F_AGENT) and returns
 * once it is ready; the VM then belongs to a supervisor process of its own
 * (run_command, detached from the terminal), with the session mux (mux.h)
 * beside it. exec, ls, stop, kill and logs find it by name.
 *
 * Each returns an exit code (>= 0) or -errno with e set (the caller prints
 * e->msg and exits 125), as run_command does.
 */
#ifndef ARCA_SANDBOX_H
#define ARCA_SANDBOX_H

#include "cli.h"
#include "err.h"

#include <arca.h>
#include <sys/types.h>

/* start: 0 once the sandbox is ready, st->pid its supervisor (a child of
 * ours, in a session of its own). -ECHILD when the VM ended before it was
 * ready: e says so, st->exit_code is its status and st->log_tail (NUL
 * terminated, sanitized lines, each "  LINE\n") the end of its log. */
struct sandbox_started {
	pid_t pid;
	int exit_code;
	char log_tail[4096];
};
int sandbox_start(struct arca_opts *o, struct sandbox_started *st, struct arca_err *e);

/* A live sandbox's supervisor: a pidfd (and its pid in *pid), checked
 * against the state file's start time, or -errno with e set (-ENOENT: no
 * such sandbox; a dead one's leftovers are removed). */
int sandbox_open(const char *name, pid_t *pid, struct arca_err *e);

/* stop/kill through a supervisor's pidfd: TERM (graceful) or USR1 (the VM
 * now), USR1 after stop_timeout_ms + 10 s, -ETIMEDOUT (e set) when it is
 * still there 10 s after that. 0 once it is gone. */
int sandbox_stop_pidfd(int pidfd, const char *name, bool force, uint64_t stop_timeout_ms,
		       struct arca_err *e);

/* For a child forked to supervise (a sandbox, libarca's runs): close
 * every fd from 3 up but keep[0..n) (sorted here; -1 entries ignored): it
 * never execs, so close-on-exec does not help, and an fd it kept from its
 * caller (a pipe a script reads to EOF) would hang that caller for the
 * child's whole life. */
void sandbox_close_except(int *keep, size_t n);
/* ...and signals as a new program has them: an empty mask, default
 * actions, SIGPIPE ignored (its writes see EPIPE). */
void sandbox_child_signals(void);
/* exec: the exit code, and *res (when not NULL) in libarca's terms; the
 * command's stdio is ours (0, 1, 2); start errors the guest reports go to
 * o->diag_fd as well as into res->err.msg. */
int sandbox_exec(const struct arca_opts *o, struct arca_result *res, struct arca_err *e);
/* Pure, for exec's "stopped while the command ran: WHY": in n bytes of a
 * sandbox's log, the line that says why it stopped: the last "arca: " one
 * (the VMM's), else the last non-blank one, leading spaces skipped. Sets
 * *line and returns its length (no newline), or 0 when there is none. */
size_t sandbox_stop_line(const char *buf, size_t n, const char **line);
int sandbox_ls(const struct arca_opts *o, struct arca_err *e);
int sandbox_stop(const struct arca_opts *o, bool force, struct arca_err *e);
int sandbox_logs(const struct arca_opts *o, struct arca_err *e);

#endif
