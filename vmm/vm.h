/* SPDX-License-Identifier: MIT */
/* The virtual machine: KVM VM fd, guest RAM, vCPUs, platform devices. */
#ifndef ARCA_VM_H
#define ARCA_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "evloop.h"
#include "guestmem.h"
#include "serial.h"
#include "err.h"
#include "virtio_mmio.h"

#define VM_MAX_CPUS 64
#define VM_MAX_MMIO 16 /* GSIs 5..20 of the IOAPIC's 24 */
#define VM_MMIO_GSI_BASE 5 /* GSIs 5.. for virtio-mmio (4 is COM1) */

/* ACPI fixed-hardware replacements (FADT, hardware-reduced). */
#define PM_SLEEP_CTL_PORT 0x600
#define PM_SLEEP_STS_PORT 0x601
#define PM_RESET_PORT     0x602
#define PM_RESET_VALUE    0x01
#define I8042_CMD_PORT    0x64
#define I8042_CMD_RESET   0xfe

enum vm_stop {
	VM_RUNNING = 0,
	VM_POWEROFF,  /* ACPI S5 */
	VM_RESET,     /* reboot, triple fault: the guest gave up */
	VM_FAILED,    /* KVM or VMM failure; stop_msg says what */
	VM_SIGNALED,  /* arca-vmm got SIGTERM/SIGINT/SIGHUP/SIGQUIT */
};

struct snap_vcpu;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
};

struct vm {
	int kvm_fd, vm_fd;
	struct guest_mem gm;
	unsigned ncpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */

	pthread_mutex_t pio_lock; /* serial state */
	struct serial serial;
	int serial_fd;            /* -1: keep only the tail */

	struct virtio_mmio mmio[VM_MAX_MMIO];
	unsigned nmmio;

	/* Pausing every vCPU for a snapshot (vm_pause): pause_req set, each
	 * vCPU kicked out of KVM_RUN, saves its state into snap[index] (when
	 * not NULL) and waits on pause_cond until pause_req clears. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	int pause_req;            /* atomic */
	unsigned npaused;
	struct snap_vcpu *snap;   /* ncpus entries, or NULL */
	int snap_err;             /* first vCPU's save error, -errno */
	const char *snap_what;

	struct evloop loop;
	int stop_fd;              /* eventfd: vCPU -> device thread */
	int stop;                 /* enum vm_stop, atomic */
	char stop_msg[256];
};

int vm_create(struct vm *vm, int kvm_fd, uint64_t mem_bytes, unsigned ncpus,
	      struct arca_err *e);
/* Next free MMIO slot: base address and GSI for a new virtio-mmio device. */
struct virtio_mmio *vm_add_mmio(struct vm *vm, uint64_t *base, uint32_t *gsi);
/* Called from any thread: record why the VM stops (first caller wins) and
 * wake the device thread. */
void vm_request_stop(struct vm *vm, enum vm_stop why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vm_raise_irq(struct vm *vm, uint32_t gsi);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned index);
struct boot_entry;
int vcpu_setup_bsp(struct vcpu *v, const struct boot_entry *b);
int vcpu_start(struct vcpu *v);
/* Stop every vCPU outside KVM_RUN with nothing pending (their state saved
 * into vm->snap when set). 0, or -ETIMEDOUT/-ECANCELED (a vCPU that does
 * not answer within timeout_ms, or the VM stopping): vm_resume() must
 * follow either way. */
int vm_pause(struct vm *vm, unsigned timeout_ms);
void vm_resume(struct vm *vm);

/* pio.c: port I/O dispatch from vCPU exits. */
void pio_in(struct vm *vm, uint16_t port, uint8_t *data, unsigned size);
void pio_out(struct vm *vm, uint16_t port, const uint8_t *data, unsigned size);
/* The guest reset itself: stop the VM as VM_RESET, saying "the guest kernel
 * crashed (PANIC LINE)" when its console shows a panic, else `what`. */
void vm_request_reset(struct vm *vm, const char *what);

#endif
