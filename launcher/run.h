/* SPDX-License-Identifier: MIT */
/* `arca run` and `arca prepare`: resolve and open everything the VMM needs,
 * start it, supervise it. */
#ifndef ARCA_RUN_H
#define ARCA_RUN_H

#include "cli.h"
#include "err.h"

#define ARCA_EXIT_ERROR   125
#define ARCA_EXIT_TIMEOUT 124

/* Returns the exit code for arca (>= 0), or -errno with e set. */
int run_command(const struct arca_opts *o, struct arca_err *e);
int run_prepare(const struct arca_opts *o, struct arca_err *e);
/* The guest kernel command line (pure; exposed for tests). */
int run_kernel_cmdline(const struct arca_opts *o, char *buf, size_t cap);

#endif
