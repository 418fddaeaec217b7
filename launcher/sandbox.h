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

int sandbox_start(struct arca_opts *o, struct arca_err *e);
int sandbox_exec(const struct arca_opts *o, struct arca_err *e);
int sandbox_ls(const struct arca_opts *o, struct arca_err *e);
int sandbox_stop(const struct arca_opts *o, bool force, struct arca_err *e);
int sandbox_logs(const struct arca_opts *o, struct arca_err *e);

#endif
