/* SPDX-License-Identifier: MIT */
/*
 * Long-lived sandboxes' names, runtime directory and state file (arca
 * start, exec, ls, stop, kill, logs). Pure code apart from sbstate_rundir()
 * (getenv, stat) so the rules are cmocka-tested.
 *
 * Each sandbox is a directory RUNDIR/NAME, 0700, holding:
 *   sock   the control socket: `arca exec` connects here; the sandbox's
 *          mux accepts only its owner's uid (SO_PEERCRED);
 *   state  one "key value" line each (sbstate_format), written once the
 *          sandbox is ready;
 *   log    the guest's console and arca's messages (`arca logs`).
 * RUNDIR is per user and 0700 (sbstate_rundir): one user cannot even see
 * another's sandboxes. The directory goes when the sandbox's supervisor
 * ends; one whose supervisor died (SIGKILL) is swept by the next ls/start.
 */
#ifndef ARCA_SBSTATE_H
#define ARCA_SBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SANDBOX_NAME_MAX 64

/* 1..SANDBOX_NAME_MAX bytes of [A-Za-z0-9_.-], the first a letter or
 * digit (so never ".", ".." or an option). */
bool sandbox_name_ok(const char *name);

struct sbstate {
	pid_t pid;            /* the supervisor (arca stop signals it) */
	uint64_t pid_start;   /* its start time (/proc/PID/stat field 22):
			       * a recycled pid is not our supervisor */
	pid_t vmm_pid;
	uint64_t started_ms;  /* CLOCK_REALTIME, ms */
	unsigned cpus;
	unsigned memory_mib;
	char shares[1024];    /* "HOST:GUEST,..." as given; may be cut */
};

/* "key value\n" lines into buf; returns the length, or -ENOSPC. */
int sbstate_format(const struct sbstate *s, char *buf, size_t cap);
/* Parses what sbstate_format wrote (unknown keys ignored, pid required):
 * 0 or -EPROTO. */
int sbstate_parse(const char *buf, size_t len, struct sbstate *s);

/* Start time of `pid` from the text of /proc/PID/stat (field 22, after
 * the parenthesised name, which may hold spaces and ')'): 0 or -EPROTO. */
int sbstate_stat_starttime(const char *stat, uint64_t *out);

/* The caller's runtime directory for sandboxes, created 0700 if missing
 * and checked (a directory, owned by us, no access for others):
 * root: /run/arca; others: $XDG_RUNTIME_DIR/arca when that is an absolute
 * path, else /tmp/arca-UID. 0 or -errno with *why set. */
int sbstate_rundir(char *out, size_t cap, const char **why);

#endif
