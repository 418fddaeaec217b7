/* SPDX-License-Identifier: MIT */
/*
 * Can this /dev/kvm run a standard guest? Opening it proves nothing: kvm-pvm
 * (a KVM for machines without hardware virtualization) opens, creates VMs
 * and runs real-mode code, but runs only guest kernels built as PVM guests;
 * Debian's kernel then burns minutes of system time before KVM reports an
 * emulation failure. So we ask the machine (STYLE.md 24, "probe, don't
 * guess"): a 64-bit guest of a few instructions that a stock kernel runs in
 * its first microseconds (long mode with paging, CPUID, a locked
 * CMPXCHG16B, port I/O, HLT) must run to its HLT, with the results the
 * architecture defines, within a deadline.
 *
 * Measured on a kvm-pvm host (2026-11): the CMPXCHG16B exits with
 * KVM_EXIT_INTERNAL_ERROR (emulation failure) 2 ms in; on real KVM and in
 * the nested test host the whole test takes a few ms.
 */
#ifndef ARCA_KVM_SELFTEST_H
#define ARCA_KVM_SELFTEST_H

#include <stddef.h>

/* The test guest's code: a pure builder, for tests. Writes at most cap
 * bytes at buf and returns the length, or -ENOSPC. */
int kvm_selftest_code(unsigned char *buf, size_t cap);

/* Run the test guest on kvm_fd (an open /dev/kvm) in a child process that
 * is killed after timeout_ms. 0: it ran correctly. -ENOEXEC: KVM could not
 * run it; -ETIMEDOUT: it did not finish in time; another -errno: setting
 * the VM up failed (ENOMEM, EMFILE, ...). On failure `why` holds one line
 * saying what happened (no "arca:" prefix). */
int kvm_selftest(int kvm_fd, unsigned timeout_ms, char *why, size_t cap);

#endif
