/* SPDX-License-Identifier: MIT */
/* Per-vCPU CPUID adjustments; see cpuid.h. Bit positions: SDM vol. 2A
 * "CPUID", AMD APM vol. 3 appendix E. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <linux/kvm.h>

#include "cpuid.h"

#define LEAF_FEATURES     0x1u
#define LEAF_CACHE        0x4u
#define LEAF_TOPO         0xbu
#define LEAF_TOPO_V2      0x1fu
#define LEAF_AMD_SIZES    0x80000008u
#define LEAF_AMD_CACHE    0x8000001du
#define LEAF_AMD_TOPO     0x8000001eu

#define F1_ECX_TSC_DEADLINE (1u << 24)
#define F1_ECX_HYPERVISOR   (1u << 31)
#define F1_EDX_HTT          (1u << 28)

#define TOPO_TYPE_SMT   1u
#define TOPO_TYPE_CORE  2u
#define TOPO_SUBLEAVES  3u  /* SMT, core, terminating invalid level */

/* Smallest s with 1 << s >= n: the APIC-id bits a level of n ids needs. */
static unsigned id_bits(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

static unsigned count_leaf(const struct kvm_cpuid2 *c, unsigned leaf)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nent; i++)
		n += c->entries[i].function == leaf;
	return n;
}

/* Replace every subleaf of `leaf` (0xb or 0x1f: same format, we only use
 * the SMT and core levels) with our two-level topology. */
static void rewrite_topology(struct kvm_cpuid2 *c, unsigned leaf, unsigned index,
			     unsigned ncpus)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function != leaf)
			c->entries[n++] = c->entries[i];
	for (unsigned sub = 0; sub < TOPO_SUBLEAVES; sub++) {
		struct kvm_cpuid_entry2 *e = &c->entries[n++];
		memset(e, 0, sizeof(*e));
		e->function = leaf;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = index;  /* x2APIC id, on every subleaf */
		switch (sub) {
		case 0:  /* one thread per core: no bits below the core id */
			e->eax = 0;
			e->ebx = 1;
			e->ecx = TOPO_TYPE_SMT << 8 | sub;
			break;
		case 1:  /* ncpus cores: shift to the package id */
			e->eax = id_bits(ncpus);
			e->ebx = ncpus;
			e->ecx = TOPO_TYPE_CORE << 8 | sub;
			break;
		default:  /* level type 0 ends the enumeration */
			e->ecx = sub;
			break;
		}
	}
	c->nent = n;
}

/* EAX[25:14]: (ids sharing this cache) - 1. L1/L2 are per core (one
 * thread each), L3 is shared by the package. */
static uint32_t cache_sharing(uint32_t eax, unsigned ncpus)
{
	unsigned level = (eax >> 5) & 7;
	uint32_t share = level >= 3 ? (1u << id_bits(ncpus)) - 1 : 0;
	if (share > 0xfff)
		share = 0xfff;
	return (eax & ~(0xfffu << 14)) | share << 14;
}

/* Leaf 4 EAX[31:26]: (addressable core ids in the package) - 1, a power
 * of two minus one; 6 bits, so more than 64 cores saturate (leaf 0xb,
 * which Linux prefers, still has the exact count). */
static uint32_t intel_cache_cores(uint32_t eax, unsigned bits)
{
	uint32_t cores = (1u << bits) - 1;
	if (cores > 63)
		cores = 63;
	return (eax & ~(0x3fu << 26)) | cores << 26;
}

int cpuid_adjust(struct kvm_cpuid2 *c, unsigned cap, unsigned index, unsigned ncpus,
		 unsigned flags)
{
	if (ncpus == 0 || ncpus > CPUID_MAX_CPUS || index >= ncpus || c->nent > cap)
		return -EINVAL;

	/* Room check before touching anything, so an error leaves c as is. */
	unsigned need = c->nent;
	const unsigned topo_leaves[] = { LEAF_TOPO, LEAF_TOPO_V2 };
	for (unsigned t = 0; t < 2; t++) {
		unsigned have = count_leaf(c, topo_leaves[t]);
		if (have) {
			need = need - have + TOPO_SUBLEAVES;
			if (need > cap)
				return -ENOSPC;
		}
	}

	unsigned bits = id_bits(ncpus);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case LEAF_FEATURES:
			e->ebx = (e->ebx & 0xffffu) | index << 24 | ncpus << 16;
			e->ecx |= F1_ECX_HYPERVISOR;
			if (flags & CPUID_TSC_DEADLINE)
				e->ecx |= F1_ECX_TSC_DEADLINE;
			else
				e->ecx &= ~F1_ECX_TSC_DEADLINE;
			if (ncpus > 1)
				e->edx |= F1_EDX_HTT;
			else
				e->edx &= ~F1_EDX_HTT;
			break;
		case LEAF_CACHE:
			/* A null cache type ends the list; leave it zero. */
			if (e->eax & 0x1f)
				e->eax = intel_cache_cores(cache_sharing(e->eax, ncpus), bits);
			break;
		case LEAF_AMD_CACHE:
			if (e->eax & 0x1f)
				e->eax = cache_sharing(e->eax, ncpus);
			break;
		case LEAF_AMD_SIZES:
			/* ECX[7:0] NC = cores - 1, ECX[15:12] ApicIdSize. */
			e->ecx = (e->ecx & ~0xf0ffu) | (ncpus - 1) | bits << 12;
			break;
		case LEAF_AMD_TOPO:
			/* Extended APIC id; compute unit (core) id with one
			 * thread each; node 0 of 1. */
			e->eax = index;
			e->ebx = index & 0xff;
			e->ecx = 0;
			break;
		default:
			break;
		}
	}

	for (unsigned t = 0; t < 2; t++)
		if (count_leaf(c, topo_leaves[t]))
			rewrite_topology(c, topo_leaves[t], index, ncpus);
	return 0;
}
