/* SPDX-License-Identifier: MIT */
/*
 * A transmit-only 16550A on COM1 for the guest kernel's console. Enough of
 * the register model for Linux's 8250 driver to detect a 16550A (scratch,
 * loopback MSR and FIFO tests) and to drive transmission by THRE
 * interrupts. Output goes to a sink callback; nothing is ever received.
 * Pure: the owner supplies the IRQ and output callbacks.
 */
#ifndef ARCA_SERIAL_H
#define ARCA_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_GSI  4
#define SERIAL_TAIL      4096 /* bytes kept for crash reports */

struct serial {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;
	void (*raise_irq)(void *opaque);
	void (*output)(void *opaque, uint8_t byte);
	void *opaque;
	/* The last SERIAL_TAIL bytes, to show when the guest dies without
	 * reporting a status (e.g. a kernel panic under `quiet`). */
	char tail[SERIAL_TAIL];
	size_t tail_pos;
	bool tail_wrapped;
};

void serial_init(struct serial *s, void (*raise_irq)(void *), void (*output)(void *, uint8_t),
		 void *opaque);
/* Access at port offset off (0..7) of one byte. */
uint8_t serial_read(struct serial *s, unsigned off);
void serial_write(struct serial *s, unsigned off, uint8_t v);
/* Copy the tail in order into buf (NUL-terminated). Returns its length. */
size_t serial_tail(const struct serial *s, char *buf, size_t cap);
/* When the tail holds a Linux panic line ("Kernel panic - not syncing: ..."),
 * copy its last one into buf (printable ASCII only, NUL-terminated) and
 * return its length; else 0. Tells a guest that crashed from one that
 * rebooted on purpose. */
size_t serial_panic_line(const struct serial *s, char *buf, size_t cap);

#endif
