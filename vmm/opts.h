/* SPDX-License-Identifier: MIT */
/*
 * arca-vmm's arguments. The VMM opens no host path: everything arrives as
 * an inherited fd number from the launcher (the privilege-separation line).
 * stdin/stdout/stderr (0/1/2) are the command's stdio.
 */
#ifndef ARCA_VMM_OPTS_H
#define ARCA_VMM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define VMM_MAX_INITRDS 4

struct vmm_opts {
	int kvm_fd;
	int kernel_fd;
	int initrd_fd[VMM_MAX_INITRDS];
	unsigned ninitrd;
	const char *cmdline;
	unsigned cpus;
	uint64_t memory_mib;
	bool console; /* guest serial -> stderr */
	bool verbose; /* + init's log */
};

int vmm_opts_parse(int argc, char *const argv[], struct vmm_opts *o, struct arca_err *e);

#endif
