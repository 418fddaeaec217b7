/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "seccomp_thread.h"
#include "seccomp_policies.h"

/* make asan-e2e builds the sanitizer arca-vmm with LOG filters on purpose (the Makefile says
 * why) and runs scenarios that compare stderr byte for byte: no warning there. */
#ifndef ARCA_SAN_E2E
#define ARCA_SAN_E2E 0
#endif

#define EXIT_ARCA 125

static const char *const class_names[SECCOMP_NR_CLASSES] = {
	[SECCOMP_MAIN] = "main",
	[SECCOMP_VCPU] = "vcpu",
	[SECCOMP_FS] = "fs",
	[SECCOMP_BLK] = "blk",
	[SECCOMP_NET] = "net",
};

static struct seccomp_opts opts = { .forbidden = -1 };
static pthread_barrier_t barrier;
static int failed_errno;        /* first failure, atomic; 0 = none */
static int failed_cls = -1;
/* Which policy the current thread runs under, for the SIGSYS report. */
static __thread const char *thread_class = "unconfined";

const char *seccomp_class_name(enum seccomp_class c)
{
	return (unsigned)c < SECCOMP_NR_CLASSES ? class_names[c] : "?";
}

int seccomp_opts_take(int *argc, char **argv, struct seccomp_opts *so, struct arca_err *e)
{
	int out = 1;
	so->disabled = false;
	so->forbidden = -1;
#if defined(ARCA_TEST_HOOKS) && defined(ARCA_TEST_FORBIDDEN_DEFAULT)
	/* build/test/trap-CLASS/arca-vmm: the hook is on without a flag, for
	 * end-to-end tests through a launcher that passes no extra argument. */
	for (int c = 0; c < SECCOMP_NR_CLASSES; c++)
		if (strcmp(ARCA_TEST_FORBIDDEN_DEFAULT, class_names[c]) == 0)
			so->forbidden = c;
#endif
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--no-seccomp") == 0) {
			so->disabled = true;
			continue;
		}
#ifdef ARCA_TEST_HOOKS
		static const char hook[] = "--test-forbidden-syscall=";
		if (strncmp(a, hook, sizeof(hook) - 1) == 0) {
			const char *v = a + sizeof(hook) - 1;
			so->forbidden = -2;
			for (int c = 0; c < SECCOMP_NR_CLASSES; c++)
				if (strcmp(v, class_names[c]) == 0)
					so->forbidden = c;
			if (strcmp(v, "none") == 0)
				so->forbidden = -1;
			if (so->forbidden == -2)
				return arca_error(e, EINVAL,
						  "arca-vmm: --test-forbidden-syscall wants main, vcpu or none, not '%s'",
						  v);
			continue;
		}
#endif
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

/* ---- the SIGSYS reporter ---------------------------------------------------------------- */

static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
	while (*s && pos < cap)
		buf[pos++] = *s++;
	return pos;
}

static size_t put_uint(char *buf, size_t pos, size_t cap, unsigned long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && pos < cap)
		buf[pos++] = tmp[--n];
	return pos;
}

/* SECCOMP_RET_TRAP lands here on the offending thread. Only
 * async-signal-safe work: format into a stack buffer, one write(2) (allowed
 * in every policy), _exit. The process exits 125, arca's own-failure code,
 * which the launcher passes through; the line says why. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char buf[192];
	size_t n = 0, cap = sizeof(buf) - 1;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && (unsigned)nr < vmm_syscall_names_len && vmm_syscall_names[nr]
				   ? vmm_syscall_names[nr]
				   : "unknown";
	n = put_str(buf, n, cap, "arca: arca-vmm made a forbidden system call: ");
	n = put_str(buf, n, cap, name);
	n = put_str(buf, n, cap, " (nr ");
	n = nr < 0 ? put_str(buf, n, cap, "-") : n;
	n = put_uint(buf, n, cap, nr < 0 ? (unsigned long)-(long)nr : (unsigned long)nr);
	n = put_str(buf, n, cap, ") in the ");
	n = put_str(buf, n, cap, thread_class);
	n = put_str(buf, n, cap, " thread");
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
	_exit(EXIT_ARCA);
}

int seccomp_prepare(const struct seccomp_opts *so, unsigned nthreads, struct arca_err *e)
{
	opts = *so;
	__atomic_store_n(&failed_errno, 0, __ATOMIC_SEQ_CST);
	failed_cls = -1;
	if (opts.disabled)
		fprintf(stderr, "arca: warning: --no-seccomp: arca-vmm runs without its seccomp "
			"filters (debugging only)\n");
	else if (vmm_filter_default_log && !ARCA_SAN_E2E)
		fprintf(stderr, "arca: warning: arca-vmm's seccomp filters were built with the "
			"LOG default action (debugging only): nothing is enforced\n");

	/* Inherited by every thread created from here on. Required to load a
	 * filter without CAP_SYS_ADMIN, and it keeps a (hypothetical) execve
	 * from gaining privileges; harmless when the launcher set it already. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return arca_error_errno(e, errno, "arca-vmm: prctl(PR_SET_NO_NEW_PRIVS)");

	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return arca_error_errno(e, errno, "arca-vmm: sigaction(SIGSYS)");
	int r = pthread_barrier_init(&barrier, NULL, nthreads);
	if (r)
		return arca_error_errno(e, r, "arca-vmm: pthread_barrier_init");
	return 0;
}

int seccomp_install(enum seccomp_class c)
{
	const struct sock_filter *f;
	unsigned short len;
	switch (c) {
	case SECCOMP_MAIN:
		f = vmm_main_filter;
		len = vmm_main_filter_len;
		break;
	case SECCOMP_VCPU:
		f = vmm_vcpu_filter;
		len = vmm_vcpu_filter_len;
		break;
	case SECCOMP_FS:
		f = vmm_fs_filter;
		len = vmm_fs_filter_len;
		break;
	case SECCOMP_BLK:
		f = vmm_blk_filter;
		len = vmm_blk_filter_len;
		break;
	case SECCOMP_NET:
		f = vmm_net_filter;
		len = vmm_net_filter_len;
		break;
	default:
		return -EINVAL;
	}
	/* The kernel copies the program and never writes it; sock_fprog's
	 * field is just not const. */
	union {
		const struct sock_filter *c;
		struct sock_filter *m;
	} u = { .c = f };
	struct sock_fprog prog = { .len = len, .filter = u.m };
	/* No SECCOMP_FILTER_FLAG_TSYNC: each thread gets its own class. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	thread_class = class_names[c];
	return 0;
}

static void record_failure(enum seccomp_class c, int err)
{
	int zero = 0;
	if (__atomic_compare_exchange_n(&failed_errno, &zero, err, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		__atomic_store_n(&failed_cls, (int)c, __ATOMIC_SEQ_CST);
}

#ifdef ARCA_TEST_HOOKS
/* Test builds only: prove the filter is live by breaking it on purpose. */
static void test_forbidden_syscall(enum seccomp_class c)
{
	if (opts.forbidden != (int)c)
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* Only reached when unconfined (--no-seccomp): say so. */
	fprintf(stderr, "arca: test hook: socket() in the %s thread was not stopped (fd %d)\n",
		class_names[c], fd);
	if (fd >= 0)
		close(fd);
}
#endif

int seccomp_enter(enum seccomp_class c, const char **failed_class, int *failed_err)
{
	if (!opts.disabled) {
		int r = seccomp_install(c);
		if (r < 0)
			record_failure(c, -r);
	}
	/* No thread goes on (no KVM_RUN) before every filter is in. */
	pthread_barrier_wait(&barrier);
	int err = __atomic_load_n(&failed_errno, __ATOMIC_SEQ_CST);
	if (err) {
		int fc = __atomic_load_n(&failed_cls, __ATOMIC_SEQ_CST);
		if (failed_class)
			*failed_class = fc >= 0 ? class_names[fc] : "?";
		if (failed_err)
			*failed_err = err;
		return -err;
	}
#ifdef ARCA_TEST_HOOKS
	test_forbidden_syscall(c);
	/* The hook's thread is about to kill the process: keep the others
	 * out of KVM_RUN meanwhile. A process dying with a vCPU in guest mode
	 * is fine on hardware, and kill9_cleanup covers it; but in the nested
	 * test host (QEMU TCG emulating SVM) the IPI that must pull that vCPU
	 * out is sometimes lost, and the test host's kernel locks up (a soft
	 * lockup in the dying VMM), which is not what this hook tests. A
	 * bounded spin with no system call at all (even clock_gettime is one
	 * there: the test host's clocksource has no vDSO path, and this
	 * thread's filter forbids it); only when the filters are on, since
	 * without them the hook's call succeeds and the process lives on. */
	if (!opts.disabled && opts.forbidden >= 0 && opts.forbidden != (int)c)
		for (volatile unsigned long i = 0; i < 2000000000ul; i++)
			__builtin_ia32_pause();
#endif
	return 0;
}
