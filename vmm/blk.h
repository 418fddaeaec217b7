/* SPDX-License-Identifier: MIT */
/*
 * Disks: one virtio-blk device (vmm/virtio_blk.h) + one backend + one thread
 * per --blk, the backend moving data straight between guest memory and the
 * disk fd through a restricted io_uring (vmm/uring.h, shared with the
 * shares), with a synchronous fallback where the kernel has no usable ring.
 */
#ifndef ARCA_VMM_BLK_H
#define ARCA_VMM_BLK_H

#include "opts.h"
#include "vm.h"

/* Before seccomp: create each disk's device, ring (restricted) and, for an
 * ephemeral disk, its overlay; register the MMIO devices. 0 or -errno
 * (printed). */
int blk_devices_setup(struct vm *vm, const struct vmm_opts *o);
/* Start each disk's thread (which confines itself first). */
int blk_devices_start(void);

#endif
