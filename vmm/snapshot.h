/* SPDX-License-Identifier: MIT */
/*
 * Warm starts: the snapshot file's format (pure code: cmocka tests it).
 *
 * A snapshot is one file the launcher opens and hands over as an fd; the
 * VMM never names it. Layout (native byte order: a snapshot is only ever
 * restored by the same arca-vmm build on the same host, which the
 * launcher's cache key and the header's sizes check):
 *
 *   [struct snap_header]            written last: an interrupted save
 *                                   leaves a file without the magic
 *   [struct snap_vm]
 *   [struct snap_vcpu] x ncpus
 *   [struct snap_mmio] x nmmio
 *   [struct snap_console]
 *   [struct snap_serial]
 *   zero padding to mem_offset (page aligned)
 *   guest RAM, mem_size bytes      pages the guest never touched are holes
 *
 * The file is the user's own (the launcher checks owner, mode and size
 * before handing it over), so its contents are trusted no further than
 * the guest: every vCPU and VM register goes through KVM's own checks on
 * KVM_SET_*, every device field through the same checks a guest's
 * register writes get (virtio_mmio_restore replays them), and every count
 * and length here is bounded before use.
 */
#ifndef ARCA_SNAPSHOT_H
#define ARCA_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "arca/abi.h"

#define SNAP_MAGIC   "ARCASNAP"
#define SNAP_VERSION 1u
#define SNAP_MAX_MSRS 256u
#define SNAP_MAX_QUEUES 16u
#define SNAP_PAGE 4096u

/* One vCPU: what Firecracker and QEMU save, in KVM's own structs. */
struct snap_vcpu {
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave[1024]; /* struct kvm_xsave's region (no AMX: KVM_GET_XSAVE) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	uint32_t nmsrs;
	uint32_t pad;
	struct kvm_msr_entry msrs[SNAP_MAX_MSRS];
};

/* The VM: clock, PIC master/slave and IOAPIC, PIT. */
struct snap_vm {
	struct kvm_clock_data clock;
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
};

struct snap_vq {
	uint64_t desc, avail, used;
	uint16_t num, last_avail, used_idx, signalled_used;
	uint8_t ready, signalled_valid, pad[6];
};

/* One virtio-mmio device: its transport registers and queues. */
struct snap_mmio {
	uint32_t device_id;
	uint32_t status;
	uint64_t driver_features;
	uint32_t queue_sel, dev_features_sel, drv_features_sel, isr, config_gen;
	uint32_t nqueues;
	struct snap_vq vq[SNAP_MAX_QUEUES];
};

/* The console's port handshake with the guest (arca-init has every port
 * open when the snapshot is taken). */
#define SNAP_CTRL_PENDING 32u
#define SNAP_CTRL_MSG 40u
struct snap_console {
	uint8_t guest_ready[ARCA_NR_PORTS];
	uint8_t guest_open[ARCA_NR_PORTS];
	uint8_t host_open[ARCA_NR_PORTS];
	uint8_t pad[4];
	/* Port messages the guest has not taken yet (it had posted no
	 * control buffer), oldest first. */
	uint32_t npending;
	struct {
		uint32_t len;
		uint8_t buf[SNAP_CTRL_MSG];
	} pending[SNAP_CTRL_PENDING];
};

struct snap_serial {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, thri_pending;
};

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t vm_size, vcpu_size, mmio_size, console_size, serial_size;
	uint32_t ncpus, nmmio;
	uint32_t pad;
	uint64_t mem_offset, mem_size;
};

/* Where the memory starts: after the state, page aligned. */
uint64_t snap_mem_offset(uint32_t ncpus, uint32_t nmmio);
/* Offsets of the sections (all after the header, in the order above). */
uint64_t snap_vm_off(void);
uint64_t snap_vcpu_off(uint32_t i);
uint64_t snap_mmio_off(uint32_t ncpus, uint32_t i);
uint64_t snap_console_off(uint32_t ncpus, uint32_t nmmio);
uint64_t snap_serial_off(uint32_t ncpus, uint32_t nmmio);

void snap_header_init(struct snap_header *h, uint32_t ncpus, uint32_t nmmio, uint64_t mem_size);

/*
 * Check a header read from a file of file_size bytes against the VM this
 * VMM was asked to build (ncpus, nmmio, mem_size). 0, or -errno with *why
 * set to a static one-line reason: -EINVAL not a snapshot (no magic: also
 * an interrupted save), -EPROTONOSUPPORT another version or build,
 * -ESTALE made for another VM shape, -EIO truncated.
 */
int snap_header_check(const struct snap_header *h, uint64_t file_size, uint32_t ncpus,
		      uint32_t nmmio, uint64_t mem_size, const char **why);

/* The MSR list a snapshot may carry: n entries, each index given once. 0
 * or -EINVAL (too many, repeated). Pure. */
int snap_msrs_check(const struct snap_vcpu *v);

#endif
