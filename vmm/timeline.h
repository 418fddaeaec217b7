/* SPDX-License-Identifier: MIT */
/*
 * The boot breakdown a verbose run prints at its end: host timestamps
 * (launcher start, arca-vmm start, first KVM_RUN, HELLO and EXIT received,
 * VM end) and arca-init's step marks by the guest's clock (ARCA_MSG_TIMES),
 * joined at HELLO: the kernel's part is the host's time until HELLO less
 * arca-init's steps before it. Pure: formatting only, so cmocka checks it.
 *
 * A restored guest (--warm) has no boot: HELLO is the snapshot's, and
 * hello_ns is when its vCPUs started. Its first step is then its resuming
 * until it has read the run's spec (host time until EXIT less arca-init's
 * steps from then on).
 *
 * The guest marks are the guest's word: a hostile or confused guest can
 * send anything, so each step is printed only when the marks around it are
 * present and in order, and never affects anything but this text.
 */
#ifndef ARCA_TIMELINE_H
#define ARCA_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"

struct timeline {
	/* Host CLOCK_MONOTONIC, ns; 0: not known. */
	uint64_t launch_ns; /* arca (the launcher) started: --launch-ns */
	uint64_t vmm_ns;    /* arca-vmm's main started */
	uint64_t run_ns;    /* set-up over, the vCPUs about to run */
	uint64_t hello_ns;  /* arca-init's HELLO arrived (restored: vCPUs started) */
	uint64_t exit_ns;   /* arca-init's EXIT arrived */
	uint64_t end_ns;    /* the VM ended */
	bool restored;      /* started from a snapshot (--warm) */
	/* Guest CLOCK_MONOTONIC, ns, per enum arca_mark; 0: not reached. */
	uint64_t g[ARCA_MARK_NR];
};

/* Writes the breakdown, one "arca: ..." line per step, into out[0..cap)
 * (NUL-terminated, truncated if cap is short). Returns the length it
 * needed, as snprintf does. */
int timeline_format(const struct timeline *t, char *out, size_t cap);

#endif
