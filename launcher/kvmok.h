/* SPDX-License-Identifier: MIT */
/*
 * The KVM self-test (doctor_kvm_runnable: a 64-bit test guest in a child
 * process) once per host boot and KVM, not once per run: its verdict is
 * kept in the caller's runtime directory (sbstate_rundir) as ".kvm-ok" (no
 * sandbox can have that name), whose content is the stamp below. A run
 * whose stamp matches skips the test; any change (a reboot, a KVM module
 * unloaded or swapped for another: kvm-pvm for kvm-amd, another /dev/kvm)
 * runs it again. Measured in the nested test host: the test costs ~100 ms
 * of a --warm run's ~500.
 *
 * The file is the user's own (root's under /run/arca). What a forged one
 * buys is a skipped liveness check, not a protection: the test exists to
 * turn a /dev/kvm that cannot boot a stock kernel (kvm-pvm) into a clear
 * error at once, and the boot deadline still ends such a run later.
 */
#ifndef ARCA_KVMOK_H
#define ARCA_KVMOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Pure: the stamp from this boot's id (/proc/sys/kernel/random/boot_id),
 * the text of /proc/modules (for each module named kvm*: its name, size
 * and address, which change when it is reloaded; not its reference count,
 * which every running VM moves) and /dev/kvm's
 * device number. Returns its length, or -ENOSPC / -EINVAL (no boot id). */
int kvmok_stamp(const char *boot_id, const char *modules, uint64_t rdev, char *out,
		size_t cap);

/* The self-test on kvm_fd unless this boot's verdict says it passed;
 * records a pass. *ran_ms: how long the test took, or -1 when skipped.
 * 0, or doctor_kvm_runnable's error. */
int kvmok_check(int kvm_fd, double *ran_ms, struct arca_err *e);

#endif
