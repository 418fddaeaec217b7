/* SPDX-License-Identifier: MIT */
/*
 * Disks: one virtio-blk device (vmm/virtio_blk.h) + one backend + one thread
 * per --blk, the backend moving data straight between guest memory and the
 * disk fd through a restricted io_uring (vmm/uring.h, shared with the
 * shares), with a synchronous fallback where the kernel has no usable ring.
 */
#ifndef ARCA_VMM_BLK_H
#define ARCA_VMM_BLK_H

#include "err.h"
#include "opts.h"
#include "vm.h"

/* The VMM's disks: one struct blk_disk (private to blk.c) per --blk, for
 * the life of the process. */
struct blk_disk;
struct blk_devices {
	struct blk_disk *v;
	unsigned n;
};

/* Before seccomp: create each disk's device, ring (restricted) and, for an
 * ephemeral disk, its overlay; register the MMIO devices. 0, or -errno with
 * e set. */
int blk_devices_setup(struct blk_devices *blk, struct vm *vm, const struct vmm_opts *o,
		      struct arca_err *e);
/* Start each disk's thread (which confines itself first). */
int blk_devices_start(struct blk_devices *blk);

#endif
