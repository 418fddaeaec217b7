/* SPDX-License-Identifier: MIT */
/*
 * What arca-vmm needs from KVM: the API version and the extensions it uses.
 * One table, read by arca-vmm before it creates a VM and by `arca doctor`.
 */
#ifndef ARCA_KVM_CAPS_H
#define ARCA_KVM_CAPS_H

#include <stddef.h>

struct kvm_cap_need {
	int cap;           /* KVM_CAP_* */
	const char *name;  /* without the KVM_CAP_ prefix */
	const char *why;   /* what arca uses it for */
};

extern const struct kvm_cap_need kvm_caps_needed[];
extern const size_t kvm_caps_count;

/* 0 when kvm_fd speaks KVM_API_VERSION and has every extension; -ENOTSUP
 * otherwise, with *missing set to a phrase that follows "KVM " ("lacks
 * KVM_CAP_IRQFD (...)", "speaks API version N, arca needs 12"; a static
 * buffer); -errno when an ioctl fails outright. */
int kvm_caps_check(int kvm_fd, const char **missing);

/* KVM_GET_SUPPORTED_CPUID into a malloc'ed table sized to fit (*out, the
 * caller frees it): 0, or -errno (-E2BIG past 4096 entries). */
struct kvm_cpuid2;
int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);

#endif
