/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <linux/serial_reg.h>

#include "serial.h"

void serial_init(struct serial *s, void (*raise_irq)(void *), void (*output)(void *, uint8_t),
		 void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->raise_irq = raise_irq;
	s->output = output;
	s->opaque = opaque;
	s->lcr = UART_LCR_WLEN8;
	s->mcr = UART_MCR_OUT2;
}

/* The transmitter is always empty (output is immediate), so a THRE
 * interrupt is due whenever it is enabled and has not been read from IIR
 * yet. Edge-trigger on GSI 4: the 8250 driver reads IIR in a loop until
 * "no interrupt", so one pulse per new pending state is enough. */
static void thre_event(struct serial *s)
{
	if ((s->ier & UART_IER_THRI) && !s->thri_pending) {
		s->thri_pending = true;
		if (s->raise_irq)
			s->raise_irq(s->opaque);
	}
}

static void tail_put(struct serial *s, uint8_t b)
{
	s->tail[s->tail_pos++] = (char)b;
	if (s->tail_pos == SERIAL_TAIL) {
		s->tail_pos = 0;
		s->tail_wrapped = true;
	}
}

uint8_t serial_read(struct serial *s, unsigned off)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_RX:
		return dlab ? s->dll : 0;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR: {
		uint8_t fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? 0xc0 : 0;
		if (s->thri_pending) {
			s->thri_pending = false; /* reading IIR clears THRI */
			return fifo | UART_IIR_THRI;
		}
		return fifo | UART_IIR_NO_INT;
	}
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_MSR:
		if (s->mcr & UART_MCR_LOOP) {
			/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
			 * Linux's autoconfig checks this to accept the port. */
			uint8_t m = 0;
			if (s->mcr & UART_MCR_DTR) m |= UART_MSR_DSR;
			if (s->mcr & UART_MCR_RTS) m |= UART_MSR_CTS;
			if (s->mcr & UART_MCR_OUT1) m |= UART_MSR_RI;
			if (s->mcr & UART_MCR_OUT2) m |= UART_MSR_DCD;
			return m;
		}
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

void serial_write(struct serial *s, unsigned off, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_TX:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			break; /* loopback: nothing leaves the chip */
		tail_put(s, v);
		if (s->output)
			s->output(s->opaque, v);
		s->thri_pending = false;
		thre_event(s);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		s->ier = v & 0x0f;
		if (!(s->ier & UART_IER_THRI))
			s->thri_pending = false;
		thre_event(s);
		break;
	case UART_FCR:
		s->fcr = v;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;
	}
}

size_t serial_tail(const struct serial *s, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return 0;
	if (s->tail_wrapped)
		for (size_t i = s->tail_pos; i < SERIAL_TAIL && n + 1 < cap; i++)
			buf[n++] = s->tail[i];
	for (size_t i = 0; i < s->tail_pos && n + 1 < cap; i++)
		buf[n++] = s->tail[i];
	buf[n] = 0;
	return n;
}

size_t serial_panic_line(const struct serial *s, char *buf, size_t cap)
{
	static const char tag[] = "Kernel panic - not syncing";
	char t[SERIAL_TAIL + 1];
	size_t n = serial_tail(s, t, sizeof(t));
	const char *last = NULL;
	for (const char *p = t; (p = memmem(p, n - (size_t)(p - t), tag, sizeof(tag) - 1));
	     p += sizeof(tag) - 1)
		last = p;
	if (!last || cap == 0)
		return 0;
	/* Guest bytes: keep what a terminal cannot act on (no escapes). */
	size_t k = 0;
	for (const char *p = last; p < t + n && *p != '\n' && *p != '\r' && k + 1 < cap; p++)
		buf[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	/* The closing "---[ end Kernel panic - not syncing: X ]---" line. */
	if (k >= 4 && memcmp(buf + k - 4, "]---", 4) == 0)
		k -= 4;
	while (k && buf[k - 1] == ' ')
		k--;
	buf[k] = 0;
	return k;
}
