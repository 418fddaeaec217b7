/* SPDX-License-Identifier: MIT */
/* The verbose boot breakdown (vmm/timeline.c): host stamps and arca-init's
 * marks joined at HELLO, and what it prints when the guest's marks are
 * missing, out of order or absurd (they are the guest's word). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "timeline.h"

#define MS 1000000ull

/* The value printed on the line that names `what`, as text ("?" or "12.5"). */
static const char *value_of(const char *text, const char *what)
{
	static char v[32];
	const char *l = strstr(text, what);
	if (!l)
		return NULL;
	const char *nl = strchr(l, '\n');
	const char *end = nl ? nl : l + strlen(l);
	const char *sp = end;
	while (sp > l && sp[-1] != ' ')
		sp--;
	snprintf(v, sizeof(v), "%.*s", (int)(end - sp), sp);
	return v;
}

static struct timeline sample(void)
{
	/* Host: arca at 1000 ms, arca-vmm at 1100, guest runs at 1150, HELLO
	 * at 4150, the VM ends at 5000. Guest clock: init at 2000 ms, modules
	 * 2600, ports (HELLO) 2700, root 3100, spawn 3110, exit 3140, drained
	 * 3150, synced 3160; EXIT arrives at 4900. So the kernel took 3000 -
	 * 700 ms until arca-init. */
	struct timeline t = { .launch_ns = 1000 * MS, .vmm_ns = 1100 * MS, .run_ns = 1150 * MS,
			      .hello_ns = 4150 * MS, .exit_ns = 4900 * MS, .end_ns = 5000 * MS };
	const uint64_t g[ARCA_MARK_NR] = { 2000 * MS, 2600 * MS, 2700 * MS, 3100 * MS,
					   3110 * MS, 3140 * MS, 3150 * MS, 3160 * MS };
	memcpy(t.g, g, sizeof(g));
	return t;
}

static void test_breakdown(void **state)
{
	char text[2048];
	struct timeline t = sample();

	int n = timeline_format(&t, text, sizeof(text));
	assert_int_equal(n, (int)strlen(text));
	assert_string_equal(value_of(text, "launcher:"), "100.0");
	assert_string_equal(value_of(text, "arca-vmm: set-up"), "50.0");
	assert_string_equal(value_of(text, "boot until arca-init"), "2300.0");
	assert_string_equal(value_of(text, "kernel modules"), "600.0");
	assert_string_equal(value_of(text, "console ports"), "100.0");
	assert_string_equal(value_of(text, "the command's root"), "400.0");
	assert_string_equal(value_of(text, "starting the command"), "10.0");
	assert_string_equal(value_of(text, "arca:   the command "), "30.0");
	assert_string_equal(value_of(text, "output drained"), "10.0");
	assert_string_equal(value_of(text, "unmount, sync"), "10.0");
	/* 850 ms after HELLO on the host, 460 of them guest steps */
	assert_string_equal(value_of(text, "exit:"), "390.0");
	assert_null(strstr(text, "restored"));
	assert_string_equal(value_of(text, "total"), "4000.0");
	/* the steps add up to the total: nothing unaccounted */
	assert_null(strstr(text, "missing"));

	/* no launcher stamp (arca-vmm started by hand): no launcher line */
	t.launch_ns = 0;
	timeline_format(&t, text, sizeof(text));
	assert_null(strstr(text, "launcher:"));
	assert_string_equal(value_of(text, "total"), "3900.0");
}

/* --warm: no boot; HELLO is the vCPUs' start, the guest's first step is
 * its resuming until the spec was read (the marks before it all equal). */
static void test_restored(void **state)
{
	char text[2048];
	struct timeline t = sample();

	t.restored = true;
	t.hello_ns = t.run_ns; /* 1150 */
	t.g[ARCA_MARK_INIT] = t.g[ARCA_MARK_MODULES] = t.g[ARCA_MARK_PORTS];
	timeline_format(&t, text, sizeof(text));
	/* EXIT at 4900: 3750 ms after the start, 460 of them arca-init's */
	assert_string_equal(value_of(text, "restored guest: resuming"), "3290.0");
	assert_null(strstr(text, "boot until arca-init"));
	assert_string_equal(value_of(text, "kernel modules"), "0.0");
	assert_string_equal(value_of(text, "exit:"), "100.0");
	assert_string_equal(value_of(text, "total"), "4000.0");
	/* no EXIT (the VM was stopped): both unknown */
	t.exit_ns = 0;
	timeline_format(&t, text, sizeof(text));
	assert_string_equal(value_of(text, "restored guest: resuming"), "?");
	assert_string_equal(value_of(text, "exit:"), "?");
}

static void test_guest_marks_unusable(void **state)
{
	char text[2048];
	struct timeline t = sample();

	/* a run that failed before the command: marks missing */
	t.g[ARCA_MARK_SPAWN] = t.g[ARCA_MARK_CMD_EXIT] = t.g[ARCA_MARK_DRAINED] = 0;
	timeline_format(&t, text, sizeof(text));
	assert_non_null(strstr(text, "missing or out of order"));
	assert_null(strstr(text, "kernel modules"));
	assert_string_equal(value_of(text, "until HELLO"), "3000.0");
	assert_string_equal(value_of(text, "until the VM ended"), "850.0");
	assert_string_equal(value_of(text, "total"), "4000.0");

	/* a hostile guest: out of order, or absurd values */
	t = sample();
	t.g[ARCA_MARK_ROOT] = 1;
	timeline_format(&t, text, sizeof(text));
	assert_non_null(strstr(text, "missing or out of order"));
	t = sample();
	for (unsigned i = 0; i < ARCA_MARK_NR; i++)
		t.g[i] = i ? UINT64_MAX / 2 + i : 1; /* init's steps "took" centuries */
	timeline_format(&t, text, sizeof(text));
	/* in order but absurd: the derived steps are unknown, not negative or
	 * huge */
	assert_string_equal(value_of(text, "boot until arca-init"), "?");
	assert_string_equal(value_of(text, "total"), "4000.0");

	/* no HELLO (a boot that never reached arca-init) */
	t = sample();
	memset(t.g, 0, sizeof(t.g));
	t.hello_ns = 0;
	timeline_format(&t, text, sizeof(text));
	assert_string_equal(value_of(text, "until HELLO"), "?");
	assert_string_equal(value_of(text, "total"), "4000.0");
}

static void test_truncation(void **state)
{
	char big[2048], small[64];
	struct timeline t = sample();

	int need = timeline_format(&t, big, sizeof(big));
	memset(small, 'x', sizeof(small));
	assert_int_equal(timeline_format(&t, small, sizeof(small)), need);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, big, sizeof(small) - 1);
	assert_int_equal(timeline_format(&t, NULL, 0), need);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breakdown),
		cmocka_unit_test(test_restored),
		cmocka_unit_test(test_guest_marks_unusable),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
