/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "kvm_caps.h"

const struct kvm_cap_need kvm_caps_needed[] = {
	{ KVM_CAP_IRQCHIP, "IRQCHIP", "in-kernel LAPIC, IOAPIC and PIC" },
	{ KVM_CAP_IRQFD, "IRQFD", "device interrupts without a VMM exit" },
	{ KVM_CAP_IOEVENTFD, "IOEVENTFD", "virtqueue kicks without a VMM exit" },
	{ KVM_CAP_PIT2, "PIT2", "the in-kernel PIT Linux calibrates against" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID", "KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2" },
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY", "guest RAM from the VMM's mapping" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR", "VMX's real-mode TSS below 4 GiB" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT", "stopping vCPUs without a race" },
};
const size_t kvm_caps_count = sizeof(kvm_caps_needed) / sizeof(kvm_caps_needed[0]);

int kvm_caps_check(int kvm_fd, const char **missing)
{
	static char what[160];
	int v = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);

	if (v < 0)
		return -errno;
	if (v != KVM_API_VERSION) {
		snprintf(what, sizeof(what), "speaks API version %d, arca needs %d", v,
			 KVM_API_VERSION);
		*missing = what;
		return -ENOTSUP;
	}
	for (size_t i = 0; i < kvm_caps_count; i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, kvm_caps_needed[i].cap) <= 0) {
			snprintf(what, sizeof(what), "lacks KVM_CAP_%s (%s)", kvm_caps_needed[i].name,
				 kvm_caps_needed[i].why);
			*missing = what;
			return -ENOTSUP;
		}
	}
	return 0;
}

int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		int err = errno;
		free(c);
		if (err != E2BIG)
			return -err;
	}
	return -E2BIG;
}
