/* SPDX-License-Identifier: MIT */
/*
 * agent.c: arca-init as the agent of a long-lived sandbox (arca start,
 * ARCA_SPEC_F_AGENT): serves exec sessions over the stdin and stdout ports
 * (include/arca/abi.h, "exec sessions") until the host stops it. Built
 * with musl only.
 */
#ifndef ARCA_AGENT_H
#define ARCA_AGENT_H

#include "arca/abi.h"
#include "spec.h"

/* run: the agent's own spec (its root is every session's root); sfd: the
 * SIGCHLD signalfd; port: the open virtio-console ports, of which the
 * agent takes the stdio ones (the control port stays init.c's for LOG and
 * EXIT). Ends in init_power_off(). */
__attribute__((noreturn)) void agent_main(const struct arca_spec *run, int sfd,
					  int port[ARCA_NR_PORTS]);

#endif
