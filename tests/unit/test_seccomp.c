/* SPDX-License-Identifier: MIT */
/*
 * The generated seccomp programs, tested the way Firecracker validates its
 * rules and Solo5 its test_seccomp: a forked probe installs exactly the
 * filter arca-vmm embeds (through the same seccomp_prepare/seccomp_enter
 * path), then makes one call. Allowed calls must come back (errors such as
 * ENOTTY are fine: the fds are not KVM's); forbidden ones must end the probe
 * with status 125 and the SIGSYS reporter's line naming the call; a foreign
 * syscall ABI (i386 int 0x80, x32) must kill it with SIGSYS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>

#include <cmocka.h>

#include "seccomp_thread.h"
#include "seccomp_policies.h"

/* Set up before the filter goes in, like the VMM's fds. */
struct env {
	int pipe[2];
	int efd;   /* eventfd */
	int epfd;  /* epoll, efd not registered */
	void *page;
	uint32_t futex_word;
};

static struct env env;
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/* Probe exit codes other than 0 / 125 say which check failed. */
#define BAD_RESULT 3

static void check(int ok)
{
	if (!ok)
		_exit(BAD_RESULT);
}

struct result {
	int status;
	char err[512];
};

/* Probe options: arm a 10 ms SIGALRM before the filter goes in. */
static int probe_alarm;
#define NO_FILTER ((enum seccomp_class)-1)

static void run_probe(enum seccomp_class c, void (*fn)(void), struct result *res)
{
	int errp[2];
	assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(errp[1], STDERR_FILENO);
		/* cmocka's crash handlers would make syscalls of their own. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		if (pipe2(env.pipe, O_CLOEXEC | O_NONBLOCK) < 0)
			_exit(2);
		env.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		env.epfd = epoll_create1(EPOLL_CLOEXEC);
		env.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
		if (env.efd < 0 || env.epfd < 0 || env.page == MAP_FAILED)
			_exit(2);
		struct seccomp_opts so = { .disabled = false, .forbidden = -1 };
		struct arca_err e;
		if (probe_alarm) {
			struct sigaction sa = { .sa_handler = on_alarm };
			struct itimerval it = { .it_value = { .tv_usec = 10000 } };
			if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &it, NULL) < 0)
				_exit(2);
		}
		if (seccomp_prepare(&so, 1, &e) < 0)
			_exit(2);
		if (c != NO_FILTER && seccomp_enter(c, NULL, NULL) < 0)
			_exit(2);
		fn();
		_exit(0);
	}
	close(errp[1]);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(errp[0], res->err + n, sizeof(res->err) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(res->err) - 1)
			break;
	}
	res->err[n] = 0;
	close(errp[0]);
	assert_int_equal(waitpid(pid, &res->status, 0), pid);
}

static void expect_allowed(enum seccomp_class c, void (*fn)(void), const char *what)
{
	struct result r;
	run_probe(c, fn, &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 || r.err[0])
		fail_msg("%s under the %s filter: status 0x%x, stderr '%s'", what,
			 seccomp_class_name(c), r.status, r.err);
}

static void expect_trapped(enum seccomp_class c, void (*fn)(void), const char *name)
{
	struct result r;
	char want[128];
	run_probe(c, fn, &r);
	snprintf(want, sizeof(want), "arca: arca-vmm made a forbidden system call: %s (nr ", name);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 125 || !strstr(r.err, want))
		fail_msg("%s under the %s filter: status 0x%x, stderr '%s'", name,
			 seccomp_class_name(c), r.status, r.err);
	char tail[64];
	snprintf(tail, sizeof(tail), ") in the %s thread\n", seccomp_class_name(c));
	assert_non_null(strstr(r.err, tail));
}

/* Whether this kernel has the i386 entry at all (IA32_EMULATION): without
 * it int 0x80 is a #GP (SIGSEGV) before seccomp ever runs. */
static void call_i386_abi(void);
static int have_ia32(void)
{
	struct result r;
	run_probe((enum seccomp_class)-1, call_i386_abi, &r);
	return WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
}

static void expect_killed(enum seccomp_class c, void (*fn)(void), const char *what)
{
	struct result r;
	run_probe(c, fn, &r);
	if (!WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGSYS)
		fail_msg("%s under the %s filter: status 0x%x, stderr '%s'", what,
			 seccomp_class_name(c), r.status, r.err);
}

/* ---- calls both policies allow ------------------------------------------------------- */

static void call_write_eventfd(void)
{
	uint64_t one = 1;
	check(write(env.efd, &one, sizeof(one)) == sizeof(one));
}

static void call_writev(void)
{
	char b[] = "x";
	struct iovec iov = { b, 1 };
	check(writev(env.pipe[1], &iov, 1) == 1);
}

static void call_poll(void)
{
	struct pollfd p = { .fd = env.pipe[0], .events = POLLIN };
	check(poll(&p, 1, 0) == 0);
}

static void call_epoll_del(void)
{
	/* Not registered: ENOENT, but the call itself is allowed. */
	check(epoll_ctl(env.epfd, EPOLL_CTL_DEL, env.efd, NULL) < 0 && errno == ENOENT);
}

static void call_futex_wake(void)
{
	check(syscall(SYS_futex, &env.futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
}

/* A handled signal returns through rt_sigreturn. The timer is armed before
 * the filter (setitimer is not allowed after), the wait is a busy loop. */
static void call_sigreturn(void)
{
	for (long i = 0; i < 2000000000L && !alarmed; i++)
		__asm__ volatile("" ::: "memory");
	check(alarmed);
}

static void call_exit_group(void)
{
	_exit(0);
}

/* ---- main thread only ----------------------------------------------------------------- */

static void call_read_eventfd(void)
{
	uint64_t one = 1, v = 0;
	check(write(env.efd, &one, sizeof(one)) == sizeof(one));
	check(read(env.efd, &v, sizeof(v)) == sizeof(v) && v == 1);
}

static void call_readv(void)
{
	char b[2];
	struct iovec iov = { b, 2 };
	check(write(env.pipe[1], "ab", 2) == 2);
	check(readv(env.pipe[0], &iov, 1) == 2);
}

static void call_epoll_wait(void)
{
	struct epoll_event ev;
	check(epoll_wait(env.epfd, &ev, 1, 0) == 0);
}

static void call_epoll_add_del(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	check(epoll_ctl(env.epfd, EPOLL_CTL_ADD, env.efd, &ev) == 0);
	check(epoll_ctl(env.epfd, EPOLL_CTL_DEL, env.efd, NULL) == 0);
}

static void call_malloc_big(void)
{
	/* Above the mmap threshold: mmap then munmap; small ones use brk. */
	void *p = malloc(8 << 20), *q = malloc(100);
	check(p && q);
	memset(p, 1, 8 << 20);
	free(p);
	free(q);
	check(syscall(SYS_brk, 0) != -1);
}

static void call_exit_via_atexit(void)
{
	fputs("", stderr);
	exit(0); /* what returning from main does: stdio flush, exit_group */
}

/* ---- vCPU thread only ----------------------------------------------------------------- */

static void call_ioctl_kvm_run(void)
{
	/* KVM_RUN on a pipe: the request is allowed, the fd is not KVM's. */
	check(ioctl(env.pipe[0], KVM_RUN, 0) < 0 && errno == ENOTTY);
}

static void call_ioctl_irq_line(void)
{
	struct kvm_irq_level l = { .irq = 4, .level = 1 };
	check(ioctl(env.pipe[0], KVM_IRQ_LINE, &l) < 0 && errno == ENOTTY);
}

static void call_madvise_dontneed(void)
{
	check(madvise(env.page, 4096, MADV_DONTNEED) == 0);
}

static void call_sigprocmask(void)
{
	sigset_t s;
	sigemptyset(&s);
	check(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0);
}

/* ---- forbidden everywhere ------------------------------------------------------------- */

static void call_execve(void)
{
	char a0[] = "true";
	char *argv[] = { a0, NULL };
	execve("/bin/true", argv, argv + 1);
}

static void call_openat(void)
{
	openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
}

static void call_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void call_ptrace(void)
{
	syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
}

static void call_io_uring_setup(void)
{
	syscall(SYS_io_uring_setup, 4, NULL);
}

static void call_mount(void)
{
	mount("none", "/tmp", "tmpfs", 0, NULL);
}

static void call_unshare(void)
{
	unshare(CLONE_NEWUSER);
}

static void call_clone_process(void)
{
	/* fork() semantics: no CLONE_THREAD. */
	long r = syscall(SYS_clone, (unsigned long)SIGCHLD, 0, NULL, NULL, 0);
	if (r == 0)
		_exit(0);
}

static void call_clone3(void)
{
	syscall(SYS_clone3, NULL, 0);
}

static void call_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void call_mprotect_exec(void)
{
	mprotect(env.page, 4096, PROT_READ | PROT_EXEC);
}

static void call_ioctl_tcgets(void)
{
	struct termios t;
	ioctl(env.pipe[0], TCGETS, &t);
}

static void call_ioctl_create_vcpu(void)
{
	ioctl(env.pipe[0], KVM_CREATE_VCPU, 0);
}

static void call_ioctl_set_regs(void)
{
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	ioctl(env.pipe[0], KVM_SET_REGS, &regs);
}

static void call_epoll_mod(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(env.epfd, EPOLL_CTL_MOD, env.efd, &ev);
}

static void call_epoll_add(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(env.epfd, EPOLL_CTL_ADD, env.efd, &ev);
}

static void call_kill(void)
{
	kill(1, 0);
}

static void call_close(void)
{
	close(env.pipe[0]);
}

static void call_i386_abi(void)
{
	/* getpid through the 32-bit entry: different numbers, different
	 * arch in seccomp_data; the filter kills rather than traps. */
	long ret = 20;
	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
}

static void call_x32_abi(void)
{
	syscall(0x40000000 | SYS_getpid);
}

/* A vCPU thread confines itself, then returns: glibc's thread exit path
 * (stack madvise, signal blocking, exit) must pass the vCPU filter while
 * the process lives on. */
static void *vcpu_like_thread(void *arg)
{
	(void)arg;
	if (seccomp_install(SECCOMP_VCPU) < 0)
		_exit(2);
	return NULL;
}

static void call_thread_exit(void)
{
	pthread_t t;
	check(pthread_create(&t, NULL, vcpu_like_thread, NULL) == 0);
	check(pthread_join(t, NULL) == 0);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_main_allowed(void **state)
{
	expect_allowed(SECCOMP_MAIN, call_read_eventfd, "read of an eventfd");
	expect_allowed(SECCOMP_MAIN, call_write_eventfd, "write of an eventfd");
	expect_allowed(SECCOMP_MAIN, call_readv, "readv");
	expect_allowed(SECCOMP_MAIN, call_writev, "writev");
	expect_allowed(SECCOMP_MAIN, call_poll, "poll");
	expect_allowed(SECCOMP_MAIN, call_epoll_wait, "epoll_wait");
	expect_allowed(SECCOMP_MAIN, call_epoll_add_del, "epoll_ctl ADD/DEL");
	expect_allowed(SECCOMP_MAIN, call_futex_wake, "futex wake");
	expect_allowed(SECCOMP_MAIN, call_malloc_big, "malloc/free (brk, mmap, munmap)");
	expect_allowed(SECCOMP_MAIN, call_exit_via_atexit, "exit()");
	expect_allowed(SECCOMP_MAIN, call_exit_group, "_exit()");
	probe_alarm = 1;
	expect_allowed(SECCOMP_MAIN, call_sigreturn, "a handled signal (rt_sigreturn)");
	probe_alarm = 0;
}

static void test_main_forbidden(void **state)
{
	expect_trapped(SECCOMP_MAIN, call_execve, "execve");
	expect_trapped(SECCOMP_MAIN, call_openat, "openat");
	expect_trapped(SECCOMP_MAIN, call_socket, "socket");
	expect_trapped(SECCOMP_MAIN, call_ptrace, "ptrace");
	expect_trapped(SECCOMP_MAIN, call_io_uring_setup, "io_uring_setup");
	expect_trapped(SECCOMP_MAIN, call_mount, "mount");
	expect_trapped(SECCOMP_MAIN, call_unshare, "unshare");
	expect_trapped(SECCOMP_MAIN, call_clone_process, "clone");
	expect_trapped(SECCOMP_MAIN, call_clone3, "clone3");
	expect_trapped(SECCOMP_MAIN, call_mmap_exec, "mmap");
	expect_trapped(SECCOMP_MAIN, call_mprotect_exec, "mprotect");
	/* The device thread issues no ioctl at all after setup. */
	expect_trapped(SECCOMP_MAIN, call_ioctl_kvm_run, "ioctl");
	expect_trapped(SECCOMP_MAIN, call_ioctl_irq_line, "ioctl");
	expect_trapped(SECCOMP_MAIN, call_ioctl_tcgets, "ioctl");
	expect_trapped(SECCOMP_MAIN, call_epoll_mod, "epoll_ctl");
	expect_trapped(SECCOMP_MAIN, call_kill, "kill");
	expect_trapped(SECCOMP_MAIN, call_close, "close");
	if (have_ia32())
		expect_killed(SECCOMP_MAIN, call_i386_abi, "int 0x80");
	else
		printf("note: no IA32 emulation in this kernel; i386 entry not probed\n");
	expect_killed(SECCOMP_MAIN, call_x32_abi, "x32 getpid");
}

static void test_vcpu_allowed(void **state)
{
	expect_allowed(NO_FILTER, call_thread_exit, "a confined vCPU thread's exit");
	expect_allowed(SECCOMP_VCPU, call_ioctl_kvm_run, "KVM_RUN");
	expect_allowed(SECCOMP_VCPU, call_ioctl_irq_line, "KVM_IRQ_LINE");
	expect_allowed(SECCOMP_VCPU, call_write_eventfd, "write of an eventfd");
	expect_allowed(SECCOMP_VCPU, call_writev, "writev");
	expect_allowed(SECCOMP_VCPU, call_poll, "poll");
	expect_allowed(SECCOMP_VCPU, call_epoll_del, "epoll_ctl DEL");
	expect_allowed(SECCOMP_VCPU, call_futex_wake, "futex wake");
	expect_allowed(SECCOMP_VCPU, call_madvise_dontneed, "madvise DONTNEED");
	expect_allowed(SECCOMP_VCPU, call_sigprocmask, "rt_sigprocmask");
	expect_allowed(SECCOMP_VCPU, call_exit_group, "_exit()");
	probe_alarm = 1;
	expect_allowed(SECCOMP_VCPU, call_sigreturn, "a handled signal (rt_sigreturn)");
	probe_alarm = 0;
}

static void test_vcpu_forbidden(void **state)
{
	expect_trapped(SECCOMP_VCPU, call_read_eventfd, "read");
	expect_trapped(SECCOMP_VCPU, call_readv, "readv");
	expect_trapped(SECCOMP_VCPU, call_epoll_wait, "epoll_wait");
	expect_trapped(SECCOMP_VCPU, call_epoll_add, "epoll_ctl");
	expect_trapped(SECCOMP_VCPU, call_malloc_big, "mmap");
	expect_trapped(SECCOMP_VCPU, call_ioctl_tcgets, "ioctl");
	expect_trapped(SECCOMP_VCPU, call_ioctl_create_vcpu, "ioctl");
	expect_trapped(SECCOMP_VCPU, call_ioctl_set_regs, "ioctl");
	expect_trapped(SECCOMP_VCPU, call_execve, "execve");
	expect_trapped(SECCOMP_VCPU, call_openat, "openat");
	expect_trapped(SECCOMP_VCPU, call_socket, "socket");
	expect_trapped(SECCOMP_VCPU, call_ptrace, "ptrace");
	expect_trapped(SECCOMP_VCPU, call_io_uring_setup, "io_uring_setup");
	expect_trapped(SECCOMP_VCPU, call_mount, "mount");
	expect_trapped(SECCOMP_VCPU, call_unshare, "unshare");
	expect_trapped(SECCOMP_VCPU, call_clone_process, "clone");
	expect_trapped(SECCOMP_VCPU, call_clone3, "clone3");
	if (have_ia32())
		expect_killed(SECCOMP_VCPU, call_i386_abi, "int 0x80");
	else
		printf("note: no IA32 emulation in this kernel; i386 entry not probed\n");
	expect_killed(SECCOMP_VCPU, call_x32_abi, "x32 getpid");
}

/* ---- share (fs) and disk (blk) threads ------------------------------------------------ */

static void call_preadv(void)
{
	char b[2];
	struct iovec iov = { b, 2 };
	check(write(env.pipe[1], "ab", 2) == 2);
	check(preadv(env.pipe[0], &iov, 1, 0) < 0 && errno == ESPIPE); /* allowed, not seekable */
}

static void call_fdatasync(void)
{
	check(fdatasync(env.pipe[0]) < 0 && errno == EINVAL); /* allowed; a pipe cannot sync */
}

/* Modes: never setuid, whatever the FUSE server's own stripping does. */
static void call_fchmodat_plain(void)
{
	check(fchmodat(AT_FDCWD, "/nonexistent-arca-probe", 0755, 0) < 0 && errno == ENOENT);
}

static void call_fchmodat_setuid(void)
{
	if (fchmodat(AT_FDCWD, "/nonexistent-arca-probe", 04755, 0) == 0)
		_exit(3);
}

static void call_mkdirat_setuid(void)
{
	(void)mkdirat(AT_FDCWD, "/nonexistent-arca-probe/d", 04755);
}

static void call_openat_creat(void)
{
	(void)openat(AT_FDCWD, "/nonexistent-arca-probe/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
}

static void call_mknodat_setgid(void)
{
	(void)mknodat(AT_FDCWD, "/nonexistent-arca-probe/f", S_IFREG | 02755, 0);
}

static void test_fs_blk_allowed(void **state)
{
	static const enum seccomp_class cls[] = { SECCOMP_FS, SECCOMP_BLK };
	for (unsigned i = 0; i < 2; i++) {
		expect_allowed(cls[i], call_read_eventfd, "read of an eventfd");
		expect_allowed(cls[i], call_write_eventfd, "write of an eventfd");
		expect_allowed(cls[i], call_epoll_wait, "epoll_wait");
		expect_allowed(cls[i], call_futex_wake, "futex wake");
		expect_allowed(cls[i], call_preadv, "preadv");
		expect_allowed(cls[i], call_fdatasync, "fdatasync");
		expect_allowed(cls[i], call_malloc_big, "malloc (brk, mmap, munmap)");
		expect_allowed(cls[i], call_exit_group, "_exit()");
	}
	/* The FUSE server reopens and looks up under the fds it holds. */
	expect_allowed(SECCOMP_FS, call_openat, "openat");
	expect_allowed(SECCOMP_FS, call_fchmodat_plain, "fchmodat 0755");
}

static void test_fs_blk_forbidden(void **state)
{
	static const enum seccomp_class cls[] = { SECCOMP_FS, SECCOMP_BLK };
	for (unsigned i = 0; i < 2; i++) {
		expect_trapped(cls[i], call_execve, "execve");
		expect_trapped(cls[i], call_socket, "socket");
		expect_trapped(cls[i], call_ptrace, "ptrace");
		expect_trapped(cls[i], call_io_uring_setup, "io_uring_setup");
		expect_trapped(cls[i], call_mount, "mount");
		expect_trapped(cls[i], call_unshare, "unshare");
		expect_trapped(cls[i], call_clone_process, "clone");
		expect_trapped(cls[i], call_clone3, "clone3");
		expect_trapped(cls[i], call_mmap_exec, "mmap");
		expect_trapped(cls[i], call_ioctl_kvm_run, "ioctl");
		expect_trapped(cls[i], call_kill, "kill");
		expect_killed(cls[i], call_x32_abi, "x32 getpid");
	}
	/* A disk thread touches only the fds it was given: no open of any
	 * kind, no close, no epoll_ctl. */
	expect_trapped(SECCOMP_FS, call_fchmodat_setuid, "fchmodat");
	expect_trapped(SECCOMP_FS, call_mkdirat_setuid, "mkdirat");
	expect_trapped(SECCOMP_FS, call_mknodat_setgid, "mknodat");
	expect_trapped(SECCOMP_FS, call_openat_creat, "openat");
	expect_trapped(SECCOMP_BLK, call_openat, "openat");
	expect_trapped(SECCOMP_BLK, call_close, "close");
	expect_trapped(SECCOMP_BLK, call_epoll_add, "epoll_ctl");
}

/* ---- network (net) threads -------------------------------------------------------------- */

static void call_ioctl_tunsetoffload(void)
{
	/* The request is allowed; a pipe is no TAP. */
	check(ioctl(env.pipe[0], TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0 && errno == ENOTTY);
}

static void call_ioctl_tunsetiff(void)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ioctl(env.pipe[0], TUNSETIFF, &ifr);
}

static void call_epoll_mod_allowed(void)
{
	/* Not registered: ENOENT, but the call itself is allowed. */
	struct epoll_event ev = { .events = EPOLLIN };
	check(epoll_ctl(env.epfd, EPOLL_CTL_MOD, env.efd, &ev) < 0 && errno == ENOENT);
}

static void test_net_allowed(void **state)
{
	expect_allowed(SECCOMP_NET, call_read_eventfd, "read of an eventfd");
	expect_allowed(SECCOMP_NET, call_write_eventfd, "write of an eventfd");
	expect_allowed(SECCOMP_NET, call_readv, "readv");
	expect_allowed(SECCOMP_NET, call_writev, "writev");
	expect_allowed(SECCOMP_NET, call_epoll_wait, "epoll_wait");
	expect_allowed(SECCOMP_NET, call_epoll_mod_allowed, "epoll_ctl MOD");
	expect_allowed(SECCOMP_NET, call_epoll_del, "epoll_ctl DEL");
	expect_allowed(SECCOMP_NET, call_ioctl_tunsetoffload, "TUNSETOFFLOAD");
	expect_allowed(SECCOMP_NET, call_futex_wake, "futex wake");
	expect_allowed(SECCOMP_NET, call_madvise_dontneed, "madvise DONTNEED");
	expect_allowed(SECCOMP_NET, call_sigprocmask, "rt_sigprocmask");
	expect_allowed(SECCOMP_NET, call_exit_group, "_exit()");
	probe_alarm = 1;
	expect_allowed(SECCOMP_NET, call_sigreturn, "a handled signal (rt_sigreturn)");
	probe_alarm = 0;
}

static void test_net_forbidden(void **state)
{
	/* The TAP is the thread's only way out: no other ioctl (no TUNSETIFF
	 * to attach elsewhere), no socket, no open, no close, no ADD. */
	expect_trapped(SECCOMP_NET, call_ioctl_tunsetiff, "ioctl");
	expect_trapped(SECCOMP_NET, call_ioctl_kvm_run, "ioctl");
	expect_trapped(SECCOMP_NET, call_ioctl_tcgets, "ioctl");
	expect_trapped(SECCOMP_NET, call_socket, "socket");
	expect_trapped(SECCOMP_NET, call_openat, "openat");
	expect_trapped(SECCOMP_NET, call_close, "close");
	expect_trapped(SECCOMP_NET, call_epoll_add, "epoll_ctl");
	expect_trapped(SECCOMP_NET, call_preadv, "preadv");
	expect_trapped(SECCOMP_NET, call_poll, "poll");
	expect_trapped(SECCOMP_NET, call_execve, "execve");
	expect_trapped(SECCOMP_NET, call_ptrace, "ptrace");
	expect_trapped(SECCOMP_NET, call_io_uring_setup, "io_uring_setup");
	expect_trapped(SECCOMP_NET, call_mount, "mount");
	expect_trapped(SECCOMP_NET, call_unshare, "unshare");
	expect_trapped(SECCOMP_NET, call_clone_process, "clone");
	expect_trapped(SECCOMP_NET, call_clone3, "clone3");
	expect_trapped(SECCOMP_NET, call_mmap_exec, "mmap");
	expect_trapped(SECCOMP_NET, call_malloc_big, "mmap"); /* never allocates */
	expect_trapped(SECCOMP_NET, call_kill, "kill");
	expect_killed(SECCOMP_NET, call_x32_abi, "x32 getpid");
}

/* The filter is installed per thread, not per process (no TSYNC): a
 * sibling thread keeps its own rules. */
static void *try_socket_thread(void *arg)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*(int *)arg = fd;
	return NULL;
}

static void call_sibling_unconfined(void)
{
	pthread_t t;
	int fd = -1;
	/* Created before this thread's filter? No: after. Threads created
	 * after seccomp_enter inherit the filter, so this one must trap. */
	check(pthread_create(&t, NULL, try_socket_thread, &fd) == 0);
	pthread_join(t, NULL);
}

static void test_threads_inherit(void **state)
{
	/* pthread_create itself (mmap of a stack, clone3) is forbidden in the
	 * main thread: the VMM must start every vCPU before confining main. */
	struct result r;
	run_probe(SECCOMP_MAIN, call_sibling_unconfined, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 125);
	assert_non_null(strstr(r.err, "forbidden system call"));
}

static void test_opts_take(void **state)
{
	char a0[] = "arca-vmm", a1[] = "--no-seccomp", a2[] = "--cpus=2",
	     a3[] = "--test-forbidden-syscall=main";
	char *argv[] = { a0, a1, a2, a3, NULL };
	int argc = 4;
	struct seccomp_opts so;
	struct arca_err e;
	assert_int_equal(seccomp_opts_take(&argc, argv, &so, &e), 0);
	assert_true(so.disabled);
	/* A production build does not know the test hook: it stays in argv,
	 * and vmm_opts_parse rejects it as unknown. */
	assert_int_equal(argc, 3);
	assert_string_equal(argv[1], "--cpus=2");
	assert_string_equal(argv[2], "--test-forbidden-syscall=main");
	assert_null(argv[3]);
	assert_int_equal(so.forbidden, -1);
}

static void test_tables(void **state)
{
	assert_true(vmm_main_filter_len > 4 && vmm_vcpu_filter_len > 4);
	assert_true(vmm_net_filter_len > 4);
	assert_string_equal(seccomp_class_name(SECCOMP_NET), "net");
	/* The device thread's policy has only the three read-only VM state
	 * queries of a snapshot save; the vCPU's has KVM_RUN, KVM_IRQ_LINE
	 * and the nine read-only vCPU state queries (no KVM_SET_* at all). */
	assert_int_equal(vmm_main_nioctls, 3);
	assert_int_equal(vmm_vcpu_nioctls, 11);
	assert_string_equal(vmm_syscall_names[SYS_read], "read");
	assert_string_equal(vmm_syscall_names[SYS_socket], "socket");
	assert_true(vmm_syscall_names_len > SYS_io_uring_setup);
}

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
	/* The sanitizer runtime makes system calls of its own (sigaltstack,
	 * mmap of shadow memory, its own reports) that arca-vmm's production
	 * build never makes: the probes would test ASan, not the policy. */
	printf("[  SKIPPED ] 1 test(s): seccomp probes do not run under ASan\n");
	return 0;
#endif
	if (vmm_filter_default_log) {
		printf("[  SKIPPED ] 1 test(s): filters built with POLICY_DEFAULT=log enforce nothing\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_opts_take),
		cmocka_unit_test(test_main_allowed),
		cmocka_unit_test(test_main_forbidden),
		cmocka_unit_test(test_vcpu_allowed),
		cmocka_unit_test(test_vcpu_forbidden),
		cmocka_unit_test(test_threads_inherit),
		cmocka_unit_test(test_fs_blk_allowed),
		cmocka_unit_test(test_fs_blk_forbidden),
		cmocka_unit_test(test_net_allowed),
		cmocka_unit_test(test_net_forbidden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
