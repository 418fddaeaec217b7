/* SPDX-License-Identifier: MIT */
/* The KVM self-test guest; see kvm_selftest.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "boot.h"
#include "cleanup.h"
#include "guestmem.h"
#include "kvm_selftest.h"

/* Guest-physical layout of the 2 MiB test guest. The GDT and page-table
 * addresses are the boot protocol's (boot.h), so the test guest enters long
 * mode exactly as a real arca guest does. */
#define ST_MEM_SIZE  (2ull << 20)
#define ST_CODE_GPA  0x1000ull
#define ST_DATA_GPA  0x2000ull  /* 16-byte aligned, for CMPXCHG16B */
#define ST_STACK_TOP 0x3ff0ull
#define ST_PORT      0x80       /* POST port: no device of ours uses it */
#define ST_MAGIC     0x5a
/* What the guest's CMPXCHG16B stores when it succeeds: RCX:RBX, each
 * loaded from 32 bits, so the 16 bytes read ST_LO, 0, ST_HI, 0 as le32s. */
#define ST_LO        0x61637261u /* "arca" */
#define ST_HI        0x6b766d21u /* "!mvk" */

int kvm_selftest_code(unsigned char *buf, size_t cap)
{
	static const unsigned char code[] = {
		0xbf, 0x00, 0x20, 0x00, 0x00,       /* mov edi, ST_DATA_GPA */
		0x31, 0xc0,                         /* xor eax, eax */
		0x31, 0xd2,                         /* xor edx, edx */
		0xbb, 0x61, 0x72, 0x63, 0x61,       /* mov ebx, ST_LO */
		0xb9, 0x21, 0x6d, 0x76, 0x6b,       /* mov ecx, ST_HI */
		0xf0, 0x48, 0x0f, 0xc7, 0x0f,       /* lock cmpxchg16b [rdi] */
		0xb8, 0x01, 0x00, 0x00, 0x00,       /* mov eax, 1 */
		0x31, 0xc9,                         /* xor ecx, ecx */
		0x0f, 0xa2,                         /* cpuid */
		0x66, 0xba, ST_PORT, 0x00,          /* mov dx, ST_PORT */
		0xb0, ST_MAGIC,                     /* mov al, ST_MAGIC */
		0xee,                               /* out dx, al */
		0xf4,                               /* hlt */
	};
	if (cap < sizeof(code))
		return -ENOSPC;
	memcpy(buf, code, sizeof(code));
	return (int)sizeof(code);
}

struct st_result {
	int err;        /* 0 or a positive errno */
	char why[200];
};

static int st_fail(struct st_result *res, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int st_fail(struct st_result *res, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
	res->err = err;
	return -err;
}

static int st_set_cpuid(int kvm_fd, int vcpu_fd)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		_cleanup_free_ struct kvm_cpuid2 *c =
			calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

/* The guest's memory: GDT, identity page tables for [0, 2 MiB), code. */
static int st_layout(struct guest_mem *gm)
{
	uint64_t *gdt = gm_ptr(gm, BOOT_GDT_GPA, BOOT_GDT_ENTRIES * 8);
	uint64_t *pml4 = gm_ptr(gm, BOOT_PML4_GPA, 4096);
	uint64_t *pdpt = gm_ptr(gm, BOOT_PDPT_GPA, 4096);
	uint64_t *pd = gm_ptr(gm, BOOT_PD_GPA, 4096);
	unsigned char *code = gm_ptr(gm, ST_CODE_GPA, 256);
	if (!gdt || !pml4 || !pdpt || !pd || !code)
		return -EFAULT;
	boot_gdt(gdt);
	pml4[0] = BOOT_PDPT_GPA | 0x3;   /* present, writable */
	pdpt[0] = BOOT_PD_GPA | 0x3;
	pd[0] = 0x0 | 0x83;              /* present, writable, 2 MiB page */
	return kvm_selftest_code(code, 256) < 0 ? -ENOSPC : 0;
}

/* In the child: build the VM and run it until HLT. */
static int st_run(int kvm_fd, struct st_result *res)
{
	struct guest_mem gm;
	int r, vm_fd, vcpu_fd;

	if ((vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0)) < 0)
		return st_fail(res, errno, "KVM_CREATE_VM failed: %s", strerror(errno));
	if ((r = gm_alloc(&gm, ST_MEM_SIZE)) < 0)
		return st_fail(res, -r, "allocating test guest memory: %s", strerror(-r));
	if ((r = st_layout(&gm)) < 0)
		return st_fail(res, -r, "laying out the test guest: %s", strerror(-r));
	struct kvm_userspace_memory_region reg = {
		.slot = 0, .guest_phys_addr = gm.r[0].gpa, .memory_size = gm.r[0].size,
		.userspace_addr = (uintptr_t)gm.r[0].host,
	};
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		return st_fail(res, errno, "KVM_SET_USER_MEMORY_REGION failed: %s",
			       strerror(errno));
	if ((vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0)) < 0)
		return st_fail(res, errno, "KVM_CREATE_VCPU failed: %s", strerror(errno));
	int sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return st_fail(res, EINVAL, "KVM_GET_VCPU_MMAP_SIZE returned %d", sz);
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED,
				   vcpu_fd, 0);
	if (run == MAP_FAILED)
		return st_fail(res, errno, "mapping the vCPU failed: %s", strerror(errno));
	if ((r = st_set_cpuid(kvm_fd, vcpu_fd)) < 0)
		return st_fail(res, -r, "setting the test guest's CPUID failed: %s",
			       strerror(-r));

	struct boot_entry b = { .rip = ST_CODE_GPA, .rsp = ST_STACK_TOP, .cr3 = BOOT_PML4_GPA,
				.gdt_gpa = BOOT_GDT_GPA, .idt_gpa = BOOT_IDT_GPA };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return st_fail(res, errno, "KVM_GET_SREGS failed: %s", strerror(errno));
	boot_setup_sregs(&b, &sregs);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return st_fail(res, errno, "entering long mode (KVM_SET_SREGS) failed: %s",
			       strerror(errno));
	boot_setup_regs(&b, &regs);
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return st_fail(res, errno, "KVM_SET_REGS failed: %s", strerror(errno));

	bool out_seen = false;
	for (int exits = 0; exits < 16; exits++) {
		if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return st_fail(res, ENOEXEC, "KVM_RUN failed: %s", strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			const uint8_t *d = (const uint8_t *)run + run->io.data_offset;
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != ST_PORT ||
			    run->io.size != 1 || *d != ST_MAGIC)
				return st_fail(res, ENOEXEC, "a 64-bit test guest made an "
					       "unexpected I/O exit (port 0x%x)", run->io.port);
			out_seen = true;
			break;
		}
		case KVM_EXIT_HLT: {
			const uint32_t *m = gm_ptr(&gm, ST_DATA_GPA, 16);
			if (!out_seen)
				return st_fail(res, ENOEXEC, "a 64-bit test guest halted early");
			/* RBX then RCX, each zero-extended from its 32-bit mov */
			if (!m || m[0] != ST_LO || m[1] != 0 || m[2] != ST_HI || m[3] != 0)
				return st_fail(res, ENOEXEC, "a 64-bit test guest's CMPXCHG16B "
					       "stored the wrong value");
			return 0;
		}
		case KVM_EXIT_INTERNAL_ERROR:
			return st_fail(res, ENOEXEC, "a 64-bit test guest stopped with a KVM "
				       "internal error (suberror %u%s)", run->internal.suberror,
				       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				       ": emulation failure" : "");
		case KVM_EXIT_FAIL_ENTRY:
			return st_fail(res, ENOEXEC, "KVM could not enter a 64-bit test guest "
				       "(hardware reason 0x%llx)", (unsigned long long)
				       run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_SHUTDOWN:
			return st_fail(res, ENOEXEC, "a 64-bit test guest triple-faulted");
		default:
			return st_fail(res, ENOEXEC, "a 64-bit test guest stopped with "
				       "unexpected KVM exit %u", run->exit_reason);
		}
	}
	return st_fail(res, ENOEXEC, "a 64-bit test guest did not halt");
}

static uint64_t st_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

int kvm_selftest(int kvm_fd, unsigned timeout_ms, char *why, size_t cap)
{
	struct st_result res = { 0 };
	int p[2];

	if (cap)
		why[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(why, cap, "pipe: %s", strerror(errno));
		return -errno;
	}
	/* A child of its own: a guest that never exits is ended with SIGKILL
	 * (nothing else interrupts a KVM_RUN that never returns), and the
	 * test VM's memory and fds vanish with it. */
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		snprintf(why, cap, "fork: %s", strerror(err));
		return -err;
	}
	if (pid == 0) {
		close(p[0]);
		st_run(kvm_fd, &res);
		(void)!write(p[1], &res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	uint64_t deadline = st_now_ms() + timeout_ms;
	size_t got = 0;
	int r = 0;
	while (got < sizeof(res)) {
		uint64_t now = st_now_ms();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -ETIMEDOUT;
			break;
		}
		ssize_t k = read(p[0], (char *)&res + got, sizeof(res) - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = -EPIPE; /* the child died without a result */
			break;
		}
		got += (size_t)k;
	}
	close(p[0]);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r == -ETIMEDOUT) {
		snprintf(why, cap, "a 64-bit test guest did not finish within %u ms", timeout_ms);
		return r;
	}
	if (r < 0) {
		snprintf(why, cap, "the KVM test process failed: %s", strerror(-r));
		return r;
	}
	if (res.err) {
		res.why[sizeof(res.why) - 1] = '\0';
		snprintf(why, cap, "%s", res.why);
		return -res.err;
	}
	return 0;
}
