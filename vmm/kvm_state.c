/* SPDX-License-Identifier: MIT */
/*
 * vCPU and VM state through KVM's GET/SET ioctls. The order matters and
 * is KVM's, as Firecracker and QEMU document it:
 *  save:    MP_STATE first (it makes the LAPIC accept pending INIT/SIPI
 *           events, which may change everything after), then the
 *           registers, LAPIC, MSRs, and VCPU_EVENTS last.
 *  restore: REGS before VCPU_EVENTS (SET_REGS drops a pending exception
 *           that SET_VCPU_EVENTS brings back), SREGS before LAPIC (SREGS
 *           carries the APIC base), LAPIC before MSRs (the TSC deadline
 *           MSR only sticks with the LAPIC in TSC-deadline mode).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_state.h"

int kvm_state_msr_list(int kvm_fd, struct snap_vcpu *v)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t idx[1024];
	} l;
	l.hdr.nmsrs = 1024;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &l) < 0)
		return -errno;
	if (l.hdr.nmsrs > SNAP_MAX_MSRS)
		return -E2BIG;
	v->nmsrs = l.hdr.nmsrs;
	for (uint32_t i = 0; i < v->nmsrs; i++)
		v->msrs[i] = (struct kvm_msr_entry){ .index = l.idx[i] };
	return 0;
}

/* KVM_GET/SET_MSRS of in[0..n) through a kvm_msrs header on the stack
 * (the entries are copied; this thread never allocates); KVM_GET_MSRS
 * writes what it read back into out. Returns how many KVM processed, or
 * -errno. */
static int msrs_io(int fd, unsigned long req, const struct kvm_msr_entry *in,
		   struct kvm_msr_entry *out, uint32_t n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[SNAP_MAX_MSRS];
	} m;
	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.nmsrs = n;
	memcpy(m.e, in, n * sizeof(*in));
	int r = ioctl(fd, req, &m);
	if (r < 0)
		return -errno;
	if (out)
		memcpy(out, m.e, (size_t)r * sizeof(*out));
	return r;
}

int kvm_state_vcpu_save(int fd, struct snap_vcpu *v, const char **what)
{
#define GET(req, p) do { if (ioctl(fd, req, p) < 0) { *what = #req; return -errno; } } while (0)
	GET(KVM_GET_MP_STATE, &v->mp);
	GET(KVM_GET_REGS, &v->regs);
	GET(KVM_GET_SREGS, &v->sregs);
	GET(KVM_GET_XSAVE, v->xsave);
	GET(KVM_GET_XCRS, &v->xcrs);
	GET(KVM_GET_DEBUGREGS, &v->dregs);
	GET(KVM_GET_LAPIC, &v->lapic);
	/* KVM stops at the first MSR it cannot read (one the CPU lacks):
	 * drop that one and read the rest again. */
	for (;;) {
		int n = msrs_io(fd, KVM_GET_MSRS, v->msrs, v->msrs, v->nmsrs);
		if (n < 0) {
			*what = "KVM_GET_MSRS";
			return n;
		}
		if ((uint32_t)n >= v->nmsrs)
			break;
		memmove(&v->msrs[n], &v->msrs[n + 1], (v->nmsrs - (uint32_t)n - 1) * sizeof(v->msrs[0]));
		v->nmsrs--;
	}
	GET(KVM_GET_VCPU_EVENTS, &v->events);
#undef GET
	return 0;
}

int kvm_state_vcpu_restore(int fd, const struct snap_vcpu *v, const char **what)
{
	if (snap_msrs_check(v) < 0) {
		*what = "the snapshot's MSR list";
		return -EINVAL;
	}
	/* KVM_SET_* take pointers to const data in spirit; the casts only
	 * satisfy ioctl's prototype. */
#define SET(req, p) do { if (ioctl(fd, req, p) < 0) { *what = #req; return -errno; } } while (0)
	SET(KVM_SET_MP_STATE, &v->mp);
	SET(KVM_SET_REGS, &v->regs);
	SET(KVM_SET_SREGS, &v->sregs);
	SET(KVM_SET_XSAVE, v->xsave);
	SET(KVM_SET_XCRS, &v->xcrs);
	SET(KVM_SET_DEBUGREGS, &v->dregs);
	SET(KVM_SET_LAPIC, &v->lapic);
	int n = msrs_io(fd, KVM_SET_MSRS, v->msrs, NULL, v->nmsrs);
	if (n < 0 || (uint32_t)n != v->nmsrs) {
		*what = "KVM_SET_MSRS";
		return n < 0 ? n : -EINVAL;
	}
	SET(KVM_SET_VCPU_EVENTS, &v->events);
#undef SET
	return 0;
}

int kvm_state_vm_save(int fd, struct snap_vm *s, const char **what)
{
	memset(s, 0, sizeof(*s));
	if (ioctl(fd, KVM_GET_CLOCK, &s->clock) < 0) {
		*what = "KVM_GET_CLOCK";
		return -errno;
	}
	for (unsigned i = 0; i < 3; i++) {
		s->chip[i].chip_id = i; /* PIC master, PIC slave, IOAPIC */
		if (ioctl(fd, KVM_GET_IRQCHIP, &s->chip[i]) < 0) {
			*what = "KVM_GET_IRQCHIP";
			return -errno;
		}
	}
	if (ioctl(fd, KVM_GET_PIT2, &s->pit) < 0) {
		*what = "KVM_GET_PIT2";
		return -errno;
	}
	return 0;
}

int kvm_state_vm_restore(int fd, const struct snap_vm *s, const char **what)
{
	if (ioctl(fd, KVM_SET_PIT2, &s->pit) < 0) {
		*what = "KVM_SET_PIT2";
		return -errno;
	}
	/* The guest's clock goes on from where it stood at the snapshot
	 * (no jump for its timers); arca-init sets the wall clock from the
	 * run's spec. Only the clock value is ours to set: KVM refuses the
	 * flags GET_CLOCK reports about the host. */
	struct kvm_clock_data c = { .clock = s->clock.clock };
	if (ioctl(fd, KVM_SET_CLOCK, &c) < 0) {
		*what = "KVM_SET_CLOCK";
		return -errno;
	}
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_irqchip chip = s->chip[i];
		if (chip.chip_id != i) {
			*what = "the snapshot's interrupt controllers";
			return -EINVAL;
		}
		if (ioctl(fd, KVM_SET_IRQCHIP, &chip) < 0) {
			*what = "KVM_SET_IRQCHIP";
			return -errno;
		}
	}
	return 0;
}
