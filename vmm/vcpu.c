/* SPDX-License-Identifier: MIT */
/* vCPU threads: KVM_RUN and exit dispatch. Nothing here exits the process
 * on guest behaviour: a guest that asks for something odd gets all-ones
 * reads and ignored writes; only KVM failures stop the VM (through
 * vm_request_stop, handled by the device thread). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "arca/limits.h"
#include "boot.h"
#include "cpuid.h"
#include "kvm_state.h"
#include "seccomp_thread.h"
#include "vm.h"

/* LAPIC register offsets (SDM vol. 3, 11.4.1) and LVT delivery modes. */
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_lvt(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

int vcpu_create(struct vm *vm, unsigned index)
{
	struct vcpu *v = &vm->vcpus[index];
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0)
		return -errno;
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return -EINVAL;
	v->run_size = (size_t)sz;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		return -errno;

	/* Room for the topology subleaves cpuid_adjust() may add. */
	unsigned cap = vm->cpuid->nent + 8;
	size_t csz = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	memcpy(c, vm->cpuid, csz);
	unsigned flags = 0;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		flags |= CPUID_TSC_DEADLINE;
	int r = cpuid_adjust(c, cap, index, vm->ncpus, flags);
	if (r == 0 && ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		r = -errno;
	free(c);
	if (r < 0)
		return r;

	/* LINT0 as ExtINT (the PIC path) and LINT1 as NMI, what a PC's
	 * firmware leaves behind and Linux expects with an IOAPIC. */
	struct kvm_lapic_state lapic;
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int vcpu_setup_bsp(struct vcpu *v, const struct boot_entry *b)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	boot_setup_sregs(b, &sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	boot_setup_regs(b, &regs);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	boot_setup_fpu(&fpu);
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[32];
	} msrs;
	memset(&msrs, 0, sizeof(msrs));
	int n = boot_setup_msrs(&msrs.hdr, 32);
	if (n > 0 && ioctl(v->fd, KVM_SET_MSRS, &msrs) != n)
		return -EIO;
	return 0;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	/* data_offset points inside the kvm_run mapping (KVM's ABI); the
	 * count*size bytes stay within the page KVM reserves for them. */
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	if (size != 1 && size != 2 && size != 4)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, p += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			pio_out(v->vm, run->io.port, p, size);
		else
			pio_in(v->vm, run->io.port, p, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t a = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	if (len > sizeof(run->mmio.data))
		return;
	for (unsigned i = 0; i < v->vm->nmmio; i++) {
		struct virtio_mmio *t = &v->vm->mmio[i];
		if (a >= t->base && a - t->base < VIRTIO_MMIO_SIZE) {
			if (run->mmio.is_write)
				virtio_mmio_write(t, a - t->base, run->mmio.data, len);
			else
				virtio_mmio_read(t, a - t->base, run->mmio.data, len);
			return;
		}
	}
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
}

/* This thread's kvm_run: the kick handler sets immediate_exit there, so a
 * kick that lands between the pause check and KVM_RUN still makes
 * KVM_RUN return at once (KVM's documented way to avoid that race). */
static __thread struct kvm_run *tls_run;

static void kick_handler(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

/*
 * Paused for a snapshot: first complete what the last exit left pending
 * (an MMIO or port read's value goes into a register only on the next
 * KVM_RUN; with immediate_exit set, KVM finishes it and returns -EINTR
 * without running the guest), then save, then wait. No allocation here
 * (the state buffers were made before the filters went in).
 */
static void vcpu_pause_here(struct vcpu *v)
{
	struct vm *vm = v->vm;
	v->run->immediate_exit = 1;
	(void)ioctl(v->fd, KVM_RUN, 0); /* -EINTR: KVM's answer to immediate_exit */
	v->run->immediate_exit = 0;
	int r = 0;
	const char *what = NULL;
	if (vm->snap)
		r = kvm_state_vcpu_save(v->fd, &vm->snap[v->index], &what);
	pthread_mutex_lock(&vm->pause_lock);
	if (r < 0 && !vm->snap_err) {
		vm->snap_err = r;
		vm->snap_what = what;
	}
	vm->npaused++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (__atomic_load_n(&vm->pause_req, __ATOMIC_SEQ_CST))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->npaused--;
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_pause(struct vm *vm, unsigned timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->pause_lock);
	vm->snap_err = 0;
	vm->snap_what = NULL;
	__atomic_store_n(&vm->pause_req, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < vm->ncpus; i++)
		pthread_kill(vm->vcpus[i].thread, ARCA_VCPU_KICK_SIG);
	int r = 0;
	while (vm->npaused < vm->ncpus && r == 0) {
		if (__atomic_load_n(&vm->stop, __ATOMIC_SEQ_CST) != VM_RUNNING)
			r = -ECANCELED;
		else if (pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &dl) == ETIMEDOUT)
			r = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return r;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_req, 0, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;

	/* Confine this thread before it runs any guest code, and wait until
	 * every other thread is confined too; on failure the main thread
	 * reports it and exits 125. */
	/* The kick (vm_pause) reaches this thread only: every other signal
	 * stays blocked, as main() set it, for its signalfd. */
	tls_run = run;
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, ARCA_VCPU_KICK_SIG);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (seccomp_enter(SECCOMP_VCPU, NULL, NULL) < 0)
		return NULL;

	for (;;) {
		if (__atomic_load_n(&vm->stop, __ATOMIC_SEQ_CST) != VM_RUNNING)
			return NULL;
		if (__atomic_load_n(&vm->pause_req, __ATOMIC_SEQ_CST)) {
			vcpu_pause_here(v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* A kick: look at pause_req/stop again. */
				run->immediate_exit = 0;
				continue;
			}
			vm_request_stop(vm, VM_FAILED, "KVM_RUN on vCPU %u failed: %s",
					v->index, strerror(errno));
			return NULL;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_HLT:
			/* With the in-kernel LAPIC, HLT only exits if the
			 * vCPU can never wake up again. */
			vm_request_stop(vm, VM_RESET, "vCPU %u halted for good", v->index);
			return NULL;
		case KVM_EXIT_SHUTDOWN: {
			char what[64];
			snprintf(what, sizeof(what), "the guest reset (triple fault on vCPU %u)",
				 v->index);
			vm_request_reset(vm, what);
			return NULL;
		}
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				vm_request_stop(vm, VM_POWEROFF, NULL);
			else
				vm_request_reset(vm, "the guest rebooted");
			return NULL;
		case KVM_EXIT_FAIL_ENTRY:
			vm_request_stop(vm, VM_FAILED, "vCPU %u entry failed (reason 0x%llx)",
					v->index,
					(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return NULL;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_request_stop(vm, VM_FAILED, "KVM internal error on vCPU %u (suberror %u)",
					v->index, run->internal.suberror);
			return NULL;
		default:
			vm_request_stop(vm, VM_FAILED, "unhandled KVM exit %u on vCPU %u",
					run->exit_reason, v->index);
			return NULL;
		}
	}
}

int vcpu_start(struct vcpu *v)
{
	static bool handler_set;
	if (!handler_set) {
		if (ARCA_VCPU_KICK_SIG < SIGRTMIN || ARCA_VCPU_KICK_SIG > SIGRTMAX)
			return -EINVAL; /* a libc that keeps more RT signals */
		struct sigaction sa = { .sa_handler = kick_handler };
		sigaction(ARCA_VCPU_KICK_SIG, &sa, NULL);
		handler_set = true;
	}
	return -pthread_create(&v->thread, NULL, vcpu_thread, v);
}
