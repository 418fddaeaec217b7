/* SPDX-License-Identifier: MIT */
/* `arca doctor`'s pure parts (launcher/hostinfo.c) and the KVM self-test's
 * guest (vmm/kvm_selftest.c). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hostinfo.h"
#include "kvm_selftest.h"

#define S(x) x, sizeof(x) - 1

static void test_cpu_virt(void **state)
{
	/* an AMD host (abridged), two CPUs: the first flags line counts */
	static const char amd[] =
		"processor\t: 0\nvendor_id\t: AuthenticAMD\n"
		"flags\t\t: fpu vme de pse tsc msr pae svm extapic cr8_legacy\n"
		"bugs\t\t: sysret_ss_attrs\n\nprocessor\t: 1\n"
		"flags\t\t: fpu vme\n";
	static const char intel[] =
		"processor\t: 0\nflags\t\t: fpu vme ds_cpl vmx smx est\n"
		"vmx flags\t: vnmi preemption_timer invvpid ept_x_only\n";
	/* a kvm-pvm guest: neither flag */
	static const char pvm[] =
		"processor\t: 0\nflags\t\t: fpu vme de pse tsc msr hypervisor lahf_lm\n";
	/* "vmx flags" alone is not the flags line; words must match whole */
	static const char tricky[] =
		"vmx flags\t: vnmi\nflags\t\t: fpu svmx vmxon xsvm\n";
	static const char both[] = "flags: vmx svm\n";

	assert_int_equal(host_cpu_virt(S(amd)), HOST_VIRT_SVM);
	assert_int_equal(host_cpu_virt(S(intel)), HOST_VIRT_VMX);
	assert_int_equal(host_cpu_virt(S(pvm)), 0);
	assert_int_equal(host_cpu_virt(S(tricky)), 0);
	assert_int_equal(host_cpu_virt(S(both)), HOST_VIRT_VMX | HOST_VIRT_SVM);
	assert_int_equal(host_cpu_virt(S("processor : 0\nBogoMIPS : 50\n")), -ENOENT);
	assert_int_equal(host_cpu_virt("", 0), -ENOENT);
	/* the length bounds the scan: a flag past it is not seen, and no
	 * terminating NUL or newline is needed */
	size_t flags_at = (size_t)(strstr(amd, "flags") - amd);
	assert_int_equal(host_cpu_virt(amd, flags_at), -ENOENT);
	assert_int_equal(host_cpu_virt(amd, (size_t)(strstr(amd, "svm") - amd)), 0);
	static const char cut[] = { 'f', 'l', 'a', 'g', 's', ':', ' ', 'v', 'm', 'x' };
	assert_int_equal(host_cpu_virt(cut, sizeof(cut)), HOST_VIRT_VMX);
	assert_int_equal(host_cpu_virt(cut, sizeof(cut) - 1), 0);
}

static void test_sysctl(void **state)
{
	long v;
	assert_int_equal(host_parse_sysctl_long("2\n", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(host_parse_sysctl_long("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(host_parse_sysctl_long("-1\n", &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(host_parse_sysctl_long("", &v), -EINVAL);
	assert_int_equal(host_parse_sysctl_long("\n", &v), -EINVAL);
	assert_int_equal(host_parse_sysctl_long("1 2\n", &v), -EINVAL);
	assert_int_equal(host_parse_sysctl_long("1\n\n", &v), -EINVAL);
	assert_int_equal(host_parse_sysctl_long("0x1", &v), -EINVAL);
	assert_int_equal(host_parse_sysctl_long("99999999999999999999", &v), -EINVAL);
	assert_string_equal(host_io_uring_disabled_text(0), "io_uring enabled for everyone");
	assert_non_null(strstr(host_io_uring_disabled_text(1), "io_uring_group"));
	assert_string_equal(host_io_uring_disabled_text(2), "io_uring disabled for everyone");
	assert_non_null(strstr(host_io_uring_disabled_text(7), "unknown"));
}

static struct doctor_check checks[3] = {
	{ "kvm-device", DOCTOR_OK, "/dev/kvm opens read-write", "" },
	{ "nofile", DOCTOR_WARN, "hard limit 20000", "raise it" },
	{ "kvm-guest", DOCTOR_FAIL, "a \"test\" guest\\failed\n\x01", "hardware virtualization" },
};

static void test_report_text(void **state)
{
	char buf[2048];
	size_t n = doctor_format_text(checks, 3, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf,
		"ok    kvm-device   /dev/kvm opens read-write\n"
		"warn  nofile       hard limit 20000 -- fix: raise it\n"
		"FAIL  kvm-guest    a \"test\" guest\\failed\n\x01 -- fix: hardware virtualization\n"
		"arca doctor: 1 check failed: 'arca run' cannot work on this host\n");
	assert_false(doctor_passed(checks, 3));
	/* warnings alone pass */
	n = doctor_format_text(checks, 2, buf, sizeof(buf));
	assert_true(doctor_passed(checks, 2));
	assert_non_null(strstr(buf, "arca doctor: 'arca run' can work on this host (1 warning)\n"));
	/* snprintf-style: a short buffer gets a terminated prefix and the
	 * length it needed */
	char small[10];
	size_t need = doctor_format_text(checks, 3, NULL, 0);
	assert_int_equal(doctor_format_text(checks, 3, small, sizeof(small)), need);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(memcmp(small, "ok    kvm", 9), 0);
}

static void test_report_json(void **state)
{
	char buf[2048];
	size_t n = doctor_format_json(checks, 3, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf,
		"{\"ok\":false,\"checks\":["
		"{\"name\":\"kvm-device\",\"status\":\"ok\",\"detail\":\"/dev/kvm opens read-write\",\"fix\":\"\"},"
		"{\"name\":\"nofile\",\"status\":\"warn\",\"detail\":\"hard limit 20000\",\"fix\":\"raise it\"},"
		"{\"name\":\"kvm-guest\",\"status\":\"fail\",\"detail\":\"a \\\"test\\\" guest\\\\failed\\n\\u0001\","
		"\"fix\":\"hardware virtualization\"}]}\n");
	n = doctor_format_json(checks, 1, buf, sizeof(buf));
	assert_int_equal(memcmp(buf, "{\"ok\":true,", 11), 0);
	n = doctor_format_json(NULL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "{\"ok\":true,\"checks\":[]}\n");
}

/* The test guest's code ends in OUT then HLT, and contains the locked
 * CMPXCHG16B that kvm-pvm cannot emulate. */
static void test_selftest_code(void **state)
{
	unsigned char code[128];
	int n = kvm_selftest_code(code, sizeof(code));
	assert_true(n > 8 && n <= (int)sizeof(code));
	assert_int_equal(code[n - 1], 0xf4); /* hlt */
	assert_int_equal(code[n - 2], 0xee); /* out dx, al */
	static const unsigned char cx16[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x0f };
	assert_non_null(memmem(code, (size_t)n, cx16, sizeof(cx16)));
	assert_int_equal(kvm_selftest_code(code, (size_t)n - 1), -ENOSPC);
}

/* Where /dev/kvm opens, the self-test gives a definite answer quickly:
 * 0, or a failure with a reason (kvm-pvm: ENOEXEC). Which one depends on
 * the machine; `arca doctor` and the e2e runner act on it. */
static void test_selftest_runs(void **state)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip();
	char why[200] = "untouched";
	int r = kvm_selftest(fd, 5000, why, sizeof(why));
	close(fd);
	if (r == 0) {
		assert_string_equal(why, "");
	} else {
		assert_true(r == -ENOEXEC || r == -ETIMEDOUT);
		assert_true(strlen(why) > 10);
		assert_null(strchr(why, '\n'));
	}
	print_message("kvm self-test on this machine: %s%s\n", r ? "fails: " : "passes",
		      r ? why : "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_virt),
		cmocka_unit_test(test_sysctl),
		cmocka_unit_test(test_report_text),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_selftest_code),
		cmocka_unit_test(test_selftest_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
