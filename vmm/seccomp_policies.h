/* SPDX-License-Identifier: MIT */
/*
 * The seccomp programs arca-vmm installs, generated at build time by
 * policy/compile from policy/vmm-*.policy into $(B)/policy/policies.c.
 */
#ifndef ARCA_SECCOMP_POLICIES_H
#define ARCA_SECCOMP_POLICIES_H

#include <linux/filter.h>

/* The main (device/event-loop) thread, after setup. */
extern const struct sock_filter vmm_main_filter[];
extern const unsigned short vmm_main_filter_len;
extern const unsigned vmm_main_nsyscalls, vmm_main_nioctls;

/* Each vCPU thread, before its first KVM_RUN. */
extern const struct sock_filter vmm_vcpu_filter[];
extern const unsigned short vmm_vcpu_filter_len;
extern const unsigned vmm_vcpu_nsyscalls, vmm_vcpu_nioctls;

/* Each share's thread (FUSE server). */
extern const struct sock_filter vmm_fs_filter[];
extern const unsigned short vmm_fs_filter_len;
extern const unsigned vmm_fs_nsyscalls, vmm_fs_nioctls;

/* Each disk's thread (virtio-blk). */
extern const struct sock_filter vmm_blk_filter[];
extern const unsigned short vmm_blk_filter_len;
extern const unsigned vmm_blk_nsyscalls, vmm_blk_nioctls;

/* Each network device's thread (virtio-net over a TAP). */
extern const struct sock_filter vmm_net_filter[];
extern const unsigned short vmm_net_filter_len;
extern const unsigned vmm_net_nsyscalls, vmm_net_nioctls;

/* arca's session mux (launcher/mux.c), not arca-vmm: built by the same
 * compiler from policy/mux.policy. */
extern const struct sock_filter vmm_mux_filter[];
extern const unsigned short vmm_mux_filter_len;
extern const unsigned vmm_mux_nsyscalls, vmm_mux_nioctls;

/* 1 when built with the debugging default action LOG instead of TRAP. */
extern const unsigned vmm_filter_default_log;

/* x86_64 syscall names by number (NULL in gaps), for the SIGSYS report. */
extern const char *const vmm_syscall_names[];
extern const unsigned vmm_syscall_names_len;

#endif
