/* SPDX-License-Identifier: MIT */
/* The COM1 16550A model as Linux's 8250 driver probes it, and the host end
 * of the control channel against well-formed and hostile frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <linux/serial_reg.h>

#include "ctl.h"
#include "serial.h"

static int irqs;
static char outbuf[64];
static size_t outlen;

static void count_irq(void *o)
{
	(void)o;
	irqs++;
}

static void collect(void *o, uint8_t b)
{
	(void)o;
	if (outlen < sizeof(outbuf))
		outbuf[outlen++] = (char)b;
}

static void test_serial_probe(void **state)
{
	(void)state;
	struct serial s;
	serial_init(&s, count_irq, collect, NULL);
	/* scratch register round trip */
	serial_write(&s, UART_SCR, 0xa5);
	assert_int_equal(serial_read(&s, UART_SCR), 0xa5);
	/* IER keeps only the low 4 bits */
	serial_write(&s, UART_IER, 0xff);
	assert_int_equal(serial_read(&s, UART_IER), 0x0f);
	serial_write(&s, UART_IER, 0);
	/* loopback: RTS|OUT2 must read back as CTS|DCD (0x90) */
	serial_write(&s, UART_MCR, UART_MCR_LOOP | 0x0a);
	assert_int_equal(serial_read(&s, UART_MSR) & 0xf0, 0x90);
	serial_write(&s, UART_MCR, UART_MCR_OUT2);
	/* FIFO enabled -> 16550A signature in IIR */
	serial_write(&s, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(serial_read(&s, UART_IIR) & 0xc0, 0xc0);
	/* divisor latch does not disturb IER or output */
	serial_write(&s, UART_LCR, UART_LCR_DLAB);
	serial_write(&s, UART_DLL, 1);
	serial_write(&s, UART_DLM, 0);
	assert_int_equal(serial_read(&s, UART_DLL), 1);
	serial_write(&s, UART_LCR, UART_LCR_WLEN8);
	assert_int_equal(outlen, 0);
	assert_int_equal(serial_read(&s, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
}

static void test_serial_thre_irq(void **state)
{
	(void)state;
	struct serial s;
	irqs = 0;
	outlen = 0;
	serial_init(&s, count_irq, collect, NULL);
	serial_write(&s, UART_IER, UART_IER_THRI);
	assert_int_equal(irqs, 1);
	assert_int_equal(serial_read(&s, UART_IIR) & 0x0f, UART_IIR_THRI);
	assert_int_equal(serial_read(&s, UART_IIR) & 0x01, UART_IIR_NO_INT);
	/* each transmitted byte raises THRE again */
	serial_write(&s, UART_TX, 'h');
	serial_write(&s, UART_TX, 'i');
	assert_int_equal(irqs, 3);
	assert_int_equal(outlen, 2);
	assert_memory_equal(outbuf, "hi", 2);
	/* the 8250 THRE test: disable, re-enable -> interrupt re-asserted */
	serial_write(&s, UART_IER, 0);
	serial_write(&s, UART_IER, UART_IER_THRI);
	assert_int_equal(serial_read(&s, UART_IIR) & 0x0f, UART_IIR_THRI);
	/* loopback output goes nowhere */
	serial_write(&s, UART_MCR, UART_MCR_LOOP);
	serial_write(&s, UART_TX, 'x');
	assert_int_equal(outlen, 2);
}

static void test_serial_tail(void **state)
{
	(void)state;
	static struct serial s;
	serial_init(&s, NULL, NULL, NULL);
	char buf[SERIAL_TAIL + 1];
	assert_int_equal(serial_tail(&s, buf, sizeof(buf)), 0);
	for (unsigned i = 0; i < SERIAL_TAIL + 10; i++)
		serial_write(&s, UART_TX, (uint8_t)('a' + i % 26));
	size_t n = serial_tail(&s, buf, sizeof(buf));
	assert_int_equal(n, SERIAL_TAIL);
	/* oldest kept byte is byte number 10 */
	assert_int_equal(buf[0], 'a' + 10 % 26);
	assert_int_equal(buf[n - 1], 'a' + (SERIAL_TAIL + 9) % 26);
	assert_int_equal(serial_tail(&s, buf, 5), 4);
}

static void serial_puts(struct serial *s, const char *str)
{
	while (*str)
		serial_write(s, UART_TX, (uint8_t)*str++);
}

/* A panic on the console (Linux prints it twice: the line, then the closing
 * "---[ end ... ]---" one) is reported by its reason; escapes are masked. */
static void test_serial_panic_line(void **state)
{
	(void)state;
	static struct serial s;
	char buf[160];
	serial_init(&s, NULL, NULL, NULL);
	serial_puts(&s, "[    1.0] reboot: Restarting system\r\n");
	assert_int_equal(serial_panic_line(&s, buf, sizeof(buf)), 0);
	serial_puts(&s, "[    2.5] Kernel panic - not syncing: sysrq triggered crash\r\n"
			"[    2.5] CPU: 0 PID: 71 Comm: sh\r\n");
	for (unsigned i = 0; i < 60; i++)
		serial_puts(&s, "[    2.5]  ? some_function+0x42/0x99\r\n");
	serial_puts(&s, "[    2.6] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---\r\n");
	assert_true(serial_panic_line(&s, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "Kernel panic - not syncing: sysrq triggered crash");
	serial_init(&s, NULL, NULL, NULL);
	serial_puts(&s, "Kernel panic - not syncing: Attempted to kill init! \x1b[2J exitcode=0x00002a00\n");
	assert_true(serial_panic_line(&s, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "Kernel panic - not syncing: Attempted to kill init! ?[2J exitcode=0x00002a00");
	/* truncated to the buffer */
	assert_int_equal(serial_panic_line(&s, buf, 11), 10);
	assert_string_equal(buf, "Kernel pan");
}

static int exits;
static void on_exit_cb(void *o)
{
	(void)o;
	exits++;
}

static void test_ctl_exit_and_error(void **state)
{
	(void)state;
	struct ctl c;
	uint8_t buf[512];
	exits = 0;
	ctl_init(&c, false, on_exit_cb, NULL);
	int n = proto_encode_hello(buf, sizeof(buf));
	n += proto_encode_error(buf + n, sizeof(buf) - (size_t)n, 126, "x: Permission denied");
	n += proto_encode_exit(buf + n, sizeof(buf) - (size_t)n, ARCA_EXIT_CODE, 126);
	/* byte by byte: frames split anywhere */
	for (int i = 0; i < n; i++)
		ctl_feed(&c, buf + i, 1);
	assert_true(c.hello);
	assert_true(c.have_exit);
	assert_int_equal(c.exit_code, 126);
	assert_false(c.failed);
	assert_int_equal(exits, 1);
	/* a second EXIT does not change the first */
	n = proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_SIGNAL, 9);
	ctl_feed(&c, buf, (size_t)n);
	assert_int_equal(c.exit_code, 126);
}

static void test_ctl_signal(void **state)
{
	(void)state;
	struct ctl c;
	uint8_t buf[64];
	ctl_init(&c, false, NULL, NULL);
	int n = proto_encode_exit(buf, sizeof(buf), ARCA_EXIT_SIGNAL, 9);
	ctl_feed(&c, buf, (size_t)n);
	assert_int_equal(c.exit_code, 137);
}

static void test_ctl_hostile(void **state)
{
	(void)state;
	struct ctl c;
	uint8_t buf[64];
	exits = 0;

	/* garbage */
	ctl_init(&c, false, on_exit_cb, NULL);
	ctl_feed(&c, (const uint8_t *)"hello world!", 12);
	assert_true(c.failed);
	assert_false(c.have_exit);
	assert_int_equal(exits, 1);

	/* wrong protocol version */
	ctl_init(&c, false, NULL, NULL);
	uint8_t v[4];
	proto_put_le32(v, ARCA_ABI_VERSION + 1);
	int n = proto_encode(buf, sizeof(buf), ARCA_MSG_HELLO, v, 4);
	ctl_feed(&c, buf, (size_t)n);
	assert_true(c.failed);

	/* EXIT with an out-of-range status */
	ctl_init(&c, false, NULL, NULL);
	uint8_t p[8];
	proto_put_le32(p, ARCA_EXIT_CODE);
	proto_put_le32(p + 4, 256);
	n = proto_encode(buf, sizeof(buf), ARCA_MSG_EXIT, p, 8);
	ctl_feed(&c, buf, (size_t)n);
	assert_true(c.failed);
	assert_false(c.have_exit);

	/* short EXIT */
	ctl_init(&c, false, NULL, NULL);
	n = proto_encode(buf, sizeof(buf), ARCA_MSG_EXIT, p, 4);
	ctl_feed(&c, buf, (size_t)n);
	assert_true(c.failed);

	/* unknown types are ignored */
	ctl_init(&c, false, NULL, NULL);
	n = proto_encode(buf, sizeof(buf), 999, "x", 1);
	ctl_feed(&c, buf, (size_t)n);
	assert_false(c.failed);
}

static void test_ctl_sanitize(void **state)
{
	(void)state;
	char out[32];
	const uint8_t evil[] = "bad\x1b[2Jname\x07\r\n";
	ctl_sanitize(evil, sizeof(evil) - 1, out, sizeof(out));
	assert_string_equal(out, "bad?[2Jname?");
	ctl_sanitize((const uint8_t *)"tab\tok", 6, out, sizeof(out));
	assert_string_equal(out, "tab\tok");
	ctl_sanitize((const uint8_t *)"0123456789", 10, out, 5);
	assert_string_equal(out, "0123");
	/* UTF-8 text passes; C1 controls (CSI as C2 9B), a raw 8-bit CSI,
	 * overlong forms, surrogates and stray continuation bytes do not */
	ctl_sanitize((const uint8_t *)"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ctl_sanitize((const uint8_t *)"a\xc2\x9b" "2Jb\x9b" "c", 8, out, sizeof(out));
	assert_string_equal(out, "a??2Jb?c");
	ctl_sanitize((const uint8_t *)"\xc0\xaf\xed\xa0\x80\x80\xf4\x90\x80\x80", 10, out, sizeof(out));
	assert_string_equal(out, "??????????");
	/* a sequence cut by the end of the input, or by the room left */
	ctl_sanitize((const uint8_t *)"x\xe2\x82", 3, out, sizeof(out));
	assert_string_equal(out, "x??");
	ctl_sanitize((const uint8_t *)"ab\xe2\x82\xac", 5, out, 4);
	assert_string_equal(out, "ab?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_probe),
		cmocka_unit_test(test_serial_thre_irq),
		cmocka_unit_test(test_serial_tail),
		cmocka_unit_test(test_serial_panic_line),
		cmocka_unit_test(test_ctl_exit_and_error),
		cmocka_unit_test(test_ctl_signal),
		cmocka_unit_test(test_ctl_hostile),
		cmocka_unit_test(test_ctl_sanitize),
	};
	return cmocka_run_group_tests_name("platform", tests, NULL, NULL);
}
