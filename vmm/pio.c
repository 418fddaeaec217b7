/* SPDX-License-Identifier: MIT */
/*
 * Port I/O of the platform: COM1, the i8042 reset line, the ACPI
 * hardware-reduced sleep/reset registers. Everything else reads as all
 * ones (no device) and ignores writes — the guest probing absent legacy
 * hardware must never stop the VM.
 */
#include <string.h>

#include "acpi.h"
#include "vm.h"

void pio_in(struct vm *vm, uint16_t port, uint8_t *data, unsigned size)
{
	memset(data, 0xff, size);
	if (port >= SERIAL_COM1_BASE && port < SERIAL_COM1_BASE + 8 && size == 1) {
		pthread_mutex_lock(&vm->pio_lock);
		data[0] = serial_read(&vm->serial, port - SERIAL_COM1_BASE);
		pthread_mutex_unlock(&vm->pio_lock);
	} else if (port == I8042_CMD_PORT && size == 1) {
		/* Status: input buffer empty, so the kernel's reset path
		 * (kb_wait) does not spin before writing 0xFE. */
		data[0] = 0;
	} else if (port == PM_SLEEP_STS_PORT && size == 1) {
		data[0] = 0;
	}
}

/* A reset request: after a panic (the launcher boots with panic=-1, so the
 * kernel resets at once) say that the guest crashed and why, in one line. */
void vm_request_reset(struct vm *vm, const char *what)
{
	char why[160];
	pthread_mutex_lock(&vm->pio_lock);
	size_t n = serial_panic_line(&vm->serial, why, sizeof(why));
	pthread_mutex_unlock(&vm->pio_lock);
	if (n)
		vm_request_stop(vm, VM_RESET, "the guest kernel crashed (%s)", why);
	else
		vm_request_stop(vm, VM_RESET, "%s", what);
}

void pio_out(struct vm *vm, uint16_t port, const uint8_t *data, unsigned size)
{
	if (port >= SERIAL_COM1_BASE && port < SERIAL_COM1_BASE + 8 && size == 1) {
		pthread_mutex_lock(&vm->pio_lock);
		serial_write(&vm->serial, port - SERIAL_COM1_BASE, data[0]);
		pthread_mutex_unlock(&vm->pio_lock);
	} else if (port == I8042_CMD_PORT && size == 1 && data[0] == I8042_CMD_RESET) {
		vm_request_reset(vm, "the guest rebooted");
	} else if (port == PM_RESET_PORT && size == 1 && data[0] == PM_RESET_VALUE) {
		vm_request_reset(vm, "the guest rebooted");
	} else if (port == PM_SLEEP_CTL_PORT && size == 1) {
		/* ACPI 6.5 4.8.3.7: SLP_TYPx in bits 2-4, SLP_EN bit 5. */
		uint8_t typ = (data[0] >> 2) & 7;
		if ((data[0] & 0x20) && typ == ACPI_S5_SLP_TYP)
			vm_request_stop(vm, VM_POWEROFF, NULL);
	}
}
