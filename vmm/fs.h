/* SPDX-License-Identifier: MIT */
/* Shares: one FUSE server (backend) + one virtio-fs device per --fs. */
#ifndef ARCA_VMM_FS_H
#define ARCA_VMM_FS_H

#include "opts.h"
#include "vm.h"

/* Create every fs device and register it with the VM (before the ACPI
 * tables are built: the DSDT lists them). Returns 0 or -errno with a
 * message printed. */
int fs_devices_setup(struct vm *vm, const struct vmm_opts *o);
/* Start their threads (after setup, before the vCPUs run). */
int fs_devices_start(void);

#endif
