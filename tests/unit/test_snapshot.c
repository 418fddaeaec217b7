/* SPDX-License-Identifier: MIT */
/* Warm starts: the snapshot file's layout and header checks
 * (vmm/snapshot.c), and the launcher's cache key (launcher/snapcache.c):
 * what a truncated, foreign or mismatched file is refused for, and that
 * every input of the key changes it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/kvm.h>

#include "snapcache.h"
#include "snapshot.h"

#define MEM (512ull << 20)

static uint64_t good_size(const struct snap_header *h)
{
	return h->mem_offset + h->mem_size;
}

static void test_layout(void **state)
{
	(void)state;
	struct snap_header h;
	snap_header_init(&h, 2, 3, MEM);
	/* Sections follow each other, memory starts page aligned after them. */
	assert_int_equal(snap_vm_off(), sizeof(struct snap_header));
	assert_true(snap_vcpu_off(0) >= snap_vm_off() + sizeof(struct snap_vm));
	assert_int_equal(snap_vcpu_off(1) - snap_vcpu_off(0), sizeof(struct snap_vcpu));
	assert_int_equal(snap_mmio_off(2, 0), snap_vcpu_off(2));
	assert_int_equal(snap_console_off(2, 3), snap_mmio_off(2, 3));
	assert_true(h.mem_offset >= snap_serial_off(2, 3) + sizeof(struct snap_serial));
	assert_int_equal(h.mem_offset % SNAP_PAGE, 0);
	assert_int_equal(h.mem_offset, snap_mem_offset(2, 3));
}

static void test_check_good(void **state)
{
	(void)state;
	struct snap_header h;
	const char *why = NULL;
	snap_header_init(&h, 2, 3, MEM);
	assert_int_equal(snap_header_check(&h, good_size(&h), 2, 3, MEM, &why), 0);
}

static void test_check_refused(void **state)
{
	(void)state;
	struct snap_header h, bad;
	const char *why = NULL;
	snap_header_init(&h, 1, 2, MEM);
	uint64_t sz = good_size(&h);

	/* An interrupted save: the header (written last) is missing. */
	memset(&bad, 0, sizeof(bad));
	assert_int_equal(snap_header_check(&bad, sz, 1, 2, MEM, &why), -EINVAL);
	assert_non_null(why);
	/* Too short to hold even the header. */
	assert_int_equal(snap_header_check(&h, sizeof(h) - 1, 1, 2, MEM, &why), -EINVAL);
	/* Another build: version or a struct size differs. */
	bad = h;
	bad.version++;
	assert_int_equal(snap_header_check(&bad, sz, 1, 2, MEM, &why), -EPROTONOSUPPORT);
	bad = h;
	bad.vcpu_size--;
	assert_int_equal(snap_header_check(&bad, sz, 1, 2, MEM, &why), -EPROTONOSUPPORT);
	/* Another VM shape. */
	assert_int_equal(snap_header_check(&h, sz, 2, 2, MEM, &why), -ESTALE);
	assert_int_equal(snap_header_check(&h, sz, 1, 3, MEM, &why), -ESTALE);
	assert_int_equal(snap_header_check(&h, sz, 1, 2, MEM * 2, &why), -ESTALE);
	/* Truncated, grown, or memory at another offset. */
	assert_int_equal(snap_header_check(&h, sz - 1, 1, 2, MEM, &why), -EIO);
	assert_int_equal(snap_header_check(&h, sz + 4096, 1, 2, MEM, &why), -EIO);
	assert_int_equal(snap_header_check(&h, h.mem_offset, 1, 2, MEM, &why), -EIO);
	bad = h;
	bad.mem_offset += SNAP_PAGE;
	assert_int_equal(snap_header_check(&bad, sz + SNAP_PAGE, 1, 2, MEM, &why), -EIO);
}

static void test_msrs(void **state)
{
	(void)state;
	static struct snap_vcpu v;
	memset(&v, 0, sizeof(v));
	v.nmsrs = 3;
	v.msrs[0].index = 0x10;
	v.msrs[1].index = 0x174;
	v.msrs[2].index = 0xc0000080;
	assert_int_equal(snap_msrs_check(&v), 0);
	v.msrs[2].index = 0x10; /* given twice */
	assert_int_equal(snap_msrs_check(&v), -EINVAL);
	v.nmsrs = SNAP_MAX_MSRS + 1; /* over the bound: never read past msrs[] */
	assert_int_equal(snap_msrs_check(&v), -EINVAL);
}

static void test_key(void **state)
{
	(void)state;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	const char *tags[2] = { "arca-0", "arca-1" };
	struct snapcache_key k = {
		.kvm_fd = -1, .kernel_fd = fd, .initrd_fd = fd, .vmm_fd = fd,
		.skeleton_hash = 1, .kver = "6.1.0-1-cloud-amd64", .cmdline = "console=ttyS0",
		.cpus = 1, .memory_mib = 512, .tags = tags, .ntags = 1,
	};
	const char cpuid[] = "cpuid";
	uint64_t h0 = snapcache_hash(&k, cpuid, sizeof(cpuid), "6.12");
	assert_int_equal(snapcache_hash(&k, cpuid, sizeof(cpuid), "6.12"), h0);
	struct snapcache_key m = k;
	m.cpus = 2;
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	m = k;
	m.memory_mib = 1024;
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	m = k;
	m.ntags = 2;
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	m = k;
	m.cmdline = "console=ttyS0 quiet";
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	m = k;
	m.skeleton_hash = 2;
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	m = k;
	m.kver = "6.1.0-2-cloud-amd64";
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	assert_int_not_equal(snapcache_hash(&k, cpuid, sizeof(cpuid), "6.13"), h0);
	assert_int_not_equal(snapcache_hash(&k, "other", 6, "6.12"), h0);
	/* Another kernel file (identity by fstat). */
	int fd2 = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	m = k;
	m.kernel_fd = fd2;
	assert_int_not_equal(snapcache_hash(&m, cpuid, sizeof(cpuid), "6.12"), h0);
	close(fd2);
	close(fd);
}

/* KVM_GET_SUPPORTED_CPUID carries the APIC ID of the host CPU that ran the
 * call: masked, so the key is the same on every CPU of the host. */
static void test_cpuid_stable(void **state)
{
	(void)state;
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[4];
	} a, b;
	memset(&a, 0, sizeof(a));
	a.h.nent = 4;
	a.e[0] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x806f8, .ebx = 0x03000800,
					    .ecx = 0xfffa3203, .edx = 0x178bfbff };
	a.e[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .eax = 1, .ebx = 2,
					    .ecx = 0x201, .edx = 3 };
	a.e[2] = (struct kvm_cpuid_entry2){ .function = 0x8000001e, .eax = 3, .ebx = 0x101 };
	a.e[3] = (struct kvm_cpuid_entry2){ .function = 7, .ebx = 0x219c07ab };
	b = a;
	b.e[0].ebx = 0x01000800; /* another CPU's APIC ID */
	b.e[1].edx = 1;
	b.e[2].eax = 1;
	snapcache_cpuid_stable(&a.h);
	snapcache_cpuid_stable(&b.h);
	assert_memory_equal(&a, &b, sizeof(a));
	/* what the CPU is stays in */
	assert_int_equal(a.e[0].eax, 0x806f8);
	assert_int_equal(a.e[0].ebx & 0xffffff, 0x000800);
	assert_int_equal(a.e[3].ebx, 0x219c07ab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_check_good),
		cmocka_unit_test(test_check_refused),
		cmocka_unit_test(test_msrs),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_cpuid_stable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
