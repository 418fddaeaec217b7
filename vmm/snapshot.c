/* SPDX-License-Identifier: MIT */
/* The snapshot file's layout and header checks (snapshot.h). Pure. */
#include <errno.h>
#include <string.h>

#include "snapshot.h"

uint64_t snap_vm_off(void)
{
	return sizeof(struct snap_header);
}

uint64_t snap_vcpu_off(uint32_t i)
{
	return snap_vm_off() + sizeof(struct snap_vm) + (uint64_t)i * sizeof(struct snap_vcpu);
}

uint64_t snap_mmio_off(uint32_t ncpus, uint32_t i)
{
	return snap_vcpu_off(ncpus) + (uint64_t)i * sizeof(struct snap_mmio);
}

uint64_t snap_console_off(uint32_t ncpus, uint32_t nmmio)
{
	return snap_mmio_off(ncpus, nmmio);
}

uint64_t snap_serial_off(uint32_t ncpus, uint32_t nmmio)
{
	return snap_console_off(ncpus, nmmio) + sizeof(struct snap_console);
}

uint64_t snap_mem_offset(uint32_t ncpus, uint32_t nmmio)
{
	uint64_t end = snap_serial_off(ncpus, nmmio) + sizeof(struct snap_serial);
	return (end + SNAP_PAGE - 1) & ~(uint64_t)(SNAP_PAGE - 1);
}

void snap_header_init(struct snap_header *h, uint32_t ncpus, uint32_t nmmio, uint64_t mem_size)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SNAP_MAGIC, sizeof(h->magic));
	h->version = SNAP_VERSION;
	h->header_size = sizeof(*h);
	h->vm_size = sizeof(struct snap_vm);
	h->vcpu_size = sizeof(struct snap_vcpu);
	h->mmio_size = sizeof(struct snap_mmio);
	h->console_size = sizeof(struct snap_console);
	h->serial_size = sizeof(struct snap_serial);
	h->ncpus = ncpus;
	h->nmmio = nmmio;
	h->mem_offset = snap_mem_offset(ncpus, nmmio);
	h->mem_size = mem_size;
}

int snap_header_check(const struct snap_header *h, uint64_t file_size, uint32_t ncpus,
		      uint32_t nmmio, uint64_t mem_size, const char **why)
{
	if (file_size < sizeof(*h) || memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)) != 0) {
		*why = "not a complete arca snapshot";
		return -EINVAL;
	}
	/* The sizes stand for the build: a snapshot from an arca-vmm whose
	 * structs differ is not read as if they were the same. */
	if (h->version != SNAP_VERSION || h->header_size != sizeof(*h) ||
	    h->vm_size != sizeof(struct snap_vm) || h->vcpu_size != sizeof(struct snap_vcpu) ||
	    h->mmio_size != sizeof(struct snap_mmio) ||
	    h->console_size != sizeof(struct snap_console) ||
	    h->serial_size != sizeof(struct snap_serial)) {
		*why = "made by another arca-vmm version";
		return -EPROTONOSUPPORT;
	}
	if (h->ncpus != ncpus || h->nmmio != nmmio || h->mem_size != mem_size) {
		*why = "made for another VM (cpus, memory or devices differ)";
		return -ESTALE;
	}
	if (h->mem_offset != snap_mem_offset(ncpus, nmmio) ||
	    file_size < h->mem_offset || file_size - h->mem_offset != mem_size) {
		*why = "truncated or of the wrong size";
		return -EIO;
	}
	return 0;
}

int snap_msrs_check(const struct snap_vcpu *v)
{
	if (v->nmsrs > SNAP_MAX_MSRS)
		return -EINVAL;
	for (uint32_t i = 0; i < v->nmsrs; i++)
		for (uint32_t j = 0; j < i; j++)
			if (v->msrs[i].index == v->msrs[j].index)
				return -EINVAL;
	return 0;
}
