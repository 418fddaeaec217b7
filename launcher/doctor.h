/* SPDX-License-Identifier: MIT */
/*
 * `arca doctor`: checks this host against what `arca run` needs and prints
 * one line per requirement with the fix (hostinfo.h formats it). Every
 * check asks the machine (open, a KVM test guest, an io_uring setup, an
 * unshare, a cgroup created and removed, raising a limit) rather than
 * reading version strings.
 */
#ifndef ARCA_DOCTOR_H
#define ARCA_DOCTOR_H

#include <sys/types.h>

#include "cli.h"
#include "err.h"

/* How long the KVM test guest may take: it runs in milliseconds on real
 * KVM and in the nested test host; kvm-pvm fails it at once. The limit only
 * catches a KVM_RUN that never returns, so it is generous: with 8 runs
 * starting at once in the nested test host (make soak), 2 s was exceeded
 * and a working /dev/kvm reported as one that cannot run a guest. */
#define DOCTOR_KVM_TEST_MS 10000u

/* Prints the report (text, or JSON with o->json) on stdout; returns 0 when
 * `arca run` can work here, 1 otherwise (arca's exit status). */
int doctor_run(const struct arca_opts *o, struct arca_err *e);

/*
 * arca run's check of an opened /dev/kvm: the extensions arca-vmm needs and
 * the test guest (vmm/kvm_selftest.h). 0, or -errno with e set to one line
 * saying what failed, what was found on this host (the KVM module, the CPU
 * flags) and what arca needs.
 */
int doctor_kvm_runnable(int kvm_fd, struct arca_err *e);
/* A small file (procfs, sysfs, the runtime directory's) into buf, NUL-
 * terminated, not through a symlink; its length or -errno. */
ssize_t doctor_read_small(const char *path, char *buf, size_t cap);
/* Its first half: the extensions only (no test guest). */
int doctor_kvm_caps(int kvm_fd, struct arca_err *e);

#endif
