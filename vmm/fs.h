/* SPDX-License-Identifier: MIT */
/* Shares: one FUSE server (backend) + one virtio-fs device per --fs. */
#ifndef ARCA_VMM_FS_H
#define ARCA_VMM_FS_H

#include <stdio.h>

#include "err.h"
#include "opts.h"
#include "vm.h"

/* The VMM's shares: one struct fs_share (private to fs.c) per --fs. They
 * live as long as the process. */
struct fs_share;
struct fs_devices {
	struct fs_share *v;
	unsigned n;
};

/* Create every fs device and register it with the VM (before the ACPI
 * tables are built: the DSDT lists them). 0, or -errno with e set. */
int fs_devices_setup(struct fs_devices *fs, struct vm *vm, const struct vmm_opts *o,
		     struct arca_err *e);
/* Start their threads (after setup, before the vCPUs run). */
int fs_devices_start(struct fs_devices *fs);
/* --verbose, at the end: per share, how many requests, READs and WRITEs the
 * guest sent and their average size (how the guest drives the share). */
void fs_devices_report(const struct fs_devices *fs, FILE *f);

#endif
