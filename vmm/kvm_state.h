/* SPDX-License-Identifier: MIT */
/*
 * KVM state of a vCPU and of the VM, to and from a snapshot (snapshot.h).
 * Each returns 0 or -errno; *what (when not NULL) names the ioctl or MSR
 * that failed, for the one-line error.
 */
#ifndef ARCA_KVM_STATE_H
#define ARCA_KVM_STATE_H

#include "snapshot.h"

/* The MSRs KVM saves (KVM_GET_MSR_INDEX_LIST), at most SNAP_MAX_MSRS,
 * into v->msrs[].index and v->nmsrs. From the setup thread. */
int kvm_state_msr_list(int kvm_fd, struct snap_vcpu *v);

/* From the vCPU's own thread, with the vCPU out of KVM_RUN and nothing
 * pending (kvm_run.immediate_exit done). v->msrs[] holds the list to save
 * (kvm_state_msr_list); MSRs KVM refuses to read are dropped from it. */
int kvm_state_vcpu_save(int vcpu_fd, struct snap_vcpu *v, const char **what);
/* Before the vCPU first runs. */
int kvm_state_vcpu_restore(int vcpu_fd, const struct snap_vcpu *v, const char **what);

int kvm_state_vm_save(int vm_fd, struct snap_vm *s, const char **what);
int kvm_state_vm_restore(int vm_fd, const struct snap_vm *s, const char **what);

#endif
