/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU CPUID table. KVM_GET_SUPPORTED_CPUID says what KVM can virtualise
 * on this host; each vCPU gets a copy adjusted with its own APIC id and a
 * topology that matches the number of vCPUs, then KVM_SET_CPUID2.
 *
 * Topology: one package, ncpus cores, one thread per core. vCPU i has
 * (x2)APIC id i; the MADT must list the same ids.
 */
#ifndef ARCA_CPUID_H
#define ARCA_CPUID_H

#include <linux/kvm.h>

/* Largest vCPU count: leaf 1 carries the APIC id in 8 bits and the MADT
 * uses xAPIC entries. */
#define CPUID_MAX_CPUS 255u

/* cpuid_adjust() flags */
/* Advertise the TSC-deadline LAPIC timer (leaf 1 ECX[24]); KVM emulates it
 * with an in-kernel LAPIC when KVM_CAP_TSC_DEADLINE_TIMER is reported, but
 * does not include it in KVM_GET_SUPPORTED_CPUID. */
#define CPUID_TSC_DEADLINE (1u << 0)

/*
 * Adjust `c` (c->nent entries in use, room for `cap`) in place for vCPU
 * `index` of `ncpus` (pure):
 *   leaf 1: EBX[31:24] APIC id = index, EBX[23:16] logical count = ncpus,
 *           EDX HTT iff ncpus > 1, ECX[31] hypervisor set, ECX[24]
 *           TSC-deadline per `flags`;
 *   leaf 4 and 0x8000001d: cores per package / sharing counts consistent
 *           with the topology (L1/L2 per core, L3 per package);
 *   leaf 0xb and 0x1f (only when KVM reports them): rewritten as subleaf 0
 *           SMT (1 thread, shift 0), subleaf 1 core (ncpus, shift
 *           ceil(log2 ncpus)), subleaf 2 invalid; EDX = x2APIC id = index.
 *           This may grow the table by up to 2 entries per leaf;
 *   leaf 0x80000008 ECX NC/ApicIdSize and 0x8000001e ids (AMD).
 * Leaf 6 and the KVM PV leaves 0x40000000.. are left as KVM reports them.
 * Returns 0, -EINVAL (ncpus 0 or > CPUID_MAX_CPUS, index >= ncpus,
 * nent > cap) or -ENOSPC (no room for the topology subleaves); `c` is
 * unchanged on error.
 */
int cpuid_adjust(struct kvm_cpuid2 *c, unsigned cap, unsigned index, unsigned ncpus,
		 unsigned flags);

#endif
