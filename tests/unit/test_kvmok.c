/* SPDX-License-Identifier: MIT */
/* launcher/kvmok.c: the stamp that keys the KVM self-test's verdict. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kvmok.h"

static const char mods[] =
	"overlay 151552 0 - Live 0xffffffffc0a00000\n"
	"kvm_amd 155648 0 - Live 0xffffffffc09d0000\n"
	"ccp 118784 1 kvm_amd, Live 0xffffffffc09b0000\n"
	"kvm 1142784 1 kvm_amd, Live 0xffffffffc0880000\n"
	"irqbypass 16384 1 kvm, Live 0xffffffffc0870000";

static void test_stamp(void **state)
{
	(void)state;
	char a[512], b[512];
	int n = kvmok_stamp("2f1c-boot\n", mods, 0xa0e8, a, sizeof(a));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(a));
	/* This boot, this /dev/kvm, the kvm* modules and nothing else. */
	assert_string_equal(a, "boot 2f1c-boot\nkvm 41192\n"
			       "kvm_amd 155648 0xffffffffc09d0000\n"
			       "kvm 1142784 0xffffffffc0880000\n");
	/* A running VM holds a reference to kvm_amd: the same stamp. */
	char busy[sizeof(mods)];
	memcpy(busy, mods, sizeof(mods));
	strstr(busy, "kvm_amd 155648 0")[15] = '2';
	assert_true(kvmok_stamp("2f1c-boot", busy, 0xa0e8, b, sizeof(b)) > 0);
	assert_string_equal(a, b);
	/* A reload moves the module: another stamp. So does a reboot or
	 * another device. */
	char moved[sizeof(mods)];
	memcpy(moved, mods, sizeof(mods));
	char *p = strstr(moved, "c09d0000");
	p[0] = 'd';
	assert_true(kvmok_stamp("2f1c-boot", moved, 0xa0e8, b, sizeof(b)) > 0);
	assert_string_not_equal(a, b);
	assert_true(kvmok_stamp("other", mods, 0xa0e8, b, sizeof(b)) > 0);
	assert_string_not_equal(a, b);
	assert_true(kvmok_stamp("2f1c-boot", mods, 1, b, sizeof(b)) > 0);
	assert_string_not_equal(a, b);
	/* Built-in KVM: no module lines, still a stamp. */
	assert_true(kvmok_stamp("x", "", 1, b, sizeof(b)) > 0);
	assert_string_equal(b, "boot x\nkvm 1\n");
	/* No boot id, or no room. */
	assert_int_equal(kvmok_stamp("", mods, 1, b, sizeof(b)), -EINVAL);
	assert_int_equal(kvmok_stamp(NULL, mods, 1, b, sizeof(b)), -EINVAL);
	assert_int_equal(kvmok_stamp("2f1c-boot", mods, 0xa0e8, b, 40), -ENOSPC);
	assert_int_equal(kvmok_stamp("2f1c-boot", mods, 0xa0e8, b, 8), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp),
	};
	return cmocka_run_group_tests_name("kvmok", tests, NULL, NULL);
}
