/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_caps.h"
#include "vm.h"

/* Just below 4 GiB, inside the MMIO hole and away from the IOAPIC/LAPIC
 * pages: VMX needs three pages for the real-mode TSS and one for the
 * identity-map page table, KVM never lets the guest see them as RAM. */
#define KVM_TSS_ADDR      0xfffbd000ull
#define KVM_IDENTMAP_ADDR 0xfffbc000ull

int vm_create(struct vm *vm, int kvm_fd, uint64_t mem_bytes, unsigned ncpus,
	      struct arca_err *e)
{
	int r;

	vm->kvm_fd = kvm_fd;
	vm->ncpus = ncpus;
	vm->serial_fd = -1;
	const char *missing = NULL;
	if ((r = kvm_caps_check(kvm_fd, &missing)) < 0) {
		if (missing)
			return arca_error(e, -r, "KVM %s", missing);
		return arca_error_errno(e, -r, "checking KVM's capabilities");
	}
	int max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max > 0 && ncpus > (unsigned)max)
		return arca_error(e, EINVAL, "--cpus %u exceeds KVM's limit of %d", ncpus, max);
	if ((r = kvm_supported_cpuid(kvm_fd, &vm->cpuid)) < 0)
		return arca_error_errno(e, -r, "KVM_GET_SUPPORTED_CPUID");

	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return arca_error_errno(e, errno, "KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return arca_error_errno(e, errno, "KVM_SET_TSS_ADDR");
	uint64_t ident = KVM_IDENTMAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return arca_error_errno(e, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	/* In-kernel LAPICs, IOAPIC and PIC: interrupts (irqfd) and IPIs
	 * between vCPUs never exit to userspace. */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return arca_error_errno(e, errno, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return arca_error_errno(e, errno, "KVM_CREATE_PIT2");

	if ((r = gm_alloc(&vm->gm, mem_bytes)) < 0)
		return arca_error_errno(e, -r, "allocating %llu MiB of guest memory",
					(unsigned long long)(mem_bytes >> 20));
	for (unsigned i = 0; i < vm->gm.nr; i++) {
		struct kvm_userspace_memory_region reg = {
			.slot = i,
			.guest_phys_addr = vm->gm.r[i].gpa,
			.memory_size = vm->gm.r[i].size,
			.userspace_addr = (uintptr_t)vm->gm.r[i].host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
			return arca_error_errno(e, errno, "KVM_SET_USER_MEMORY_REGION");
	}

	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		return arca_error_errno(e, errno, "eventfd");
	if ((r = evloop_init(&vm->loop)) < 0)
		return arca_error_errno(e, -r, "creating the event loop");
	if ((r = pthread_mutex_init(&vm->pio_lock, NULL)) != 0 ||
	    (r = pthread_mutex_init(&vm->pause_lock, NULL)) != 0 ||
	    (r = pthread_cond_init(&vm->pause_cond, NULL)) != 0)
		return arca_error_errno(e, r, "pthread_mutex_init");
	return 0;
}

struct virtio_mmio *vm_add_mmio(struct vm *vm, uint64_t *base, uint32_t *gsi)
{
	if (vm->nmmio >= VM_MAX_MMIO)
		return NULL;
	*base = GM_MMIO_BASE + vm->nmmio * GM_MMIO_STRIDE;
	*gsi = VM_MMIO_GSI_BASE + vm->nmmio;
	return &vm->mmio[vm->nmmio++];
}

void vm_request_stop(struct vm *vm, enum vm_stop why, const char *fmt, ...)
{
	int expected = VM_RUNNING;
	if (__atomic_compare_exchange_n(&vm->stop, &expected, (int)why, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		if (fmt) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
			va_end(ap);
		}
	}
	uint64_t one = 1;
	(void)!write(vm->stop_fd, &one, sizeof(one));
}

void vm_raise_irq(struct vm *vm, uint32_t gsi)
{
	/* Edge: assert then deassert. */
	struct kvm_irq_level l = { .irq = gsi, .level = 1 };
	ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
	l.level = 0;
	ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}
