/* SPDX-License-Identifier: MIT */
/*
 * agent.c: arca-init as the agent of a long-lived sandbox (arca start,
 * ARCA_SPEC_F_AGENT): serves exec sessions over the stdin and stdout ports
 * (include/arca/abi.h, "exec sessions") until the host stops it. Built
 * with musl only.
 */
#ifndef ARCA_AGENT_H
#define ARCA_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"
#include "spec.h"

/* run: the agent's own spec (its root is every session's root); sfd: the
 * SIGCHLD signalfd; port: the open virtio-console ports, of which the
 * agent takes the stdio ones (the control port stays init.c's for LOG and
 * EXIT); ctl_early[0..ctl_early_len): control-port bytes init read behind
 * the spec's end frame (ARCA_MSG_SPEC), decoded before the port's. Ends in
 * init_power_off(). */
__attribute__((noreturn)) void agent_main(const struct arca_spec *run, int sfd,
					  int port[ARCA_NR_PORTS], const uint8_t *ctl_early,
					  size_t ctl_early_len);

#endif
