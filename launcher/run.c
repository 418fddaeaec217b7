/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "initrd.h"
#include "kernel.h"
#include "paths.h"
#include "run.h"
#include "spec.h"

/* Modules arca-init loads, dependencies resolved by the initrd builder. */
static const char *const guest_modules[] = { "virtio_mmio", "virtio_console" };

/* Fixed fd numbers in the VMM (after stdio). */
enum { VMM_FD_KVM = 3, VMM_FD_KERNEL, VMM_FD_INITRD_BASE, VMM_FD_INITRD_SPEC, VMM_FD_END };

int run_kernel_cmdline(const struct arca_opts *o, char *buf, size_t cap)
{
	/* console=ttyS0: kernel messages to COM1 (shown with --console);
	 * reboot=k + panic=-1: a panic resets at once, which the VMM reports;
	 * pci=off: there is no PCI bus, skip probing it;
	 * io_delay=none, no_timer_check, tsc=reliable: skip work that only
	 * makes sense on real hardware. */
	int n = snprintf(buf, cap,
			 "console=ttyS0 reboot=k panic=-1 pci=off io_delay=none "
			 "no_timer_check tsc=reliable rdinit=/init %s",
			 o->verbose || o->console ? "loglevel=7" : "quiet loglevel=1");
	if (n < 0 || (size_t)n >= cap)
		return -E2BIG;
	return n;
}

static int open_kvm(struct arca_err *e)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int err = errno;
	if (err == ENOENT)
		return arca_error(e, err, "/dev/kvm not found: this machine does not offer KVM "
				  "(enable virtualization, or load kvm_intel/kvm_amd)");
	if (err == EACCES || err == EPERM)
		return arca_error(e, err, "permission denied opening /dev/kvm "
				  "(add your user to the 'kvm' group)");
	return arca_error_errno(e, err, "cannot open /dev/kvm");
}

static void child_exec(const char *vmm, int fds[VMM_FD_END], char *const argv[],
		       const sigset_t *oldmask)
{
	/* Move the fds out of the way first, then onto their fixed numbers,
	 * so no dup2() clobbers a source that sits on a target number. */
	int high[VMM_FD_END];
	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++) {
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
		if (high[i] < 0)
			goto fail;
	}
	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++)
		if (dup2(high[i], i) < 0) /* dup2 clears FD_CLOEXEC on i */
			goto fail;
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv(vmm, argv);
fail:
	fprintf(stderr, "arca: cannot start %s: %s\n", vmm, strerror(errno));
	_exit(ARCA_EXIT_ERROR);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for the VMM; forward termination signals; enforce the timeout. */
static int supervise(pid_t pid, int sfd, uint64_t timeout_ms, struct arca_err *e)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
	int forwarded = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		int wait_ms = -1;
		if (deadline) {
			uint64_t t = now_ms();
			wait_ms = t >= deadline ? 0 : (int)(deadline - t > 1000000000 ? 1000000000 : deadline - t);
		}
		/* Without a pidfd (old kernel), SIGCHLD on the signalfd wakes us. */
		int n = poll(p, pidfd >= 0 ? 2 : 1, wait_ms);
		if (n < 0 && errno != EINTR)
			return arca_error_errno(e, errno, "poll");
		if (n == 0 && deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			if (pidfd >= 0)
				close(pidfd);
			fprintf(stderr, "arca: timed out after %llu.%03llu s; the VM was killed\n",
				(unsigned long long)(timeout_ms / 1000),
				(unsigned long long)(timeout_ms % 1000));
			return ARCA_EXIT_TIMEOUT;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGCHLD) {
					forwarded = (int)si.ssi_signo;
					kill(pid, (int)si.ssi_signo);
				}
			}
		}
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			if (pidfd >= 0)
				close(pidfd);
			if (WIFEXITED(st))
				return WEXITSTATUS(st);
			int sig = WTERMSIG(st);
			if (sig == forwarded)
				return 128 + sig;
			fprintf(stderr, "arca: arca-vmm died of signal %d (%s)\n", sig, strsignal(sig));
			return ARCA_EXIT_ERROR;
		}
	}
}

int run_command(const struct arca_opts *o, struct arca_err *e)
{
	struct arca_paths paths = { 0 };
	struct arca_kernel kernel = { 0 };
	int fds[VMM_FD_END] = { -1, -1, -1, -1, -1, -1, -1 };
	int r, sfd = -1;
	char cmdline[512];

	if ((r = paths_resolve(&paths, e)) < 0)
		goto out;
	if ((r = kernel_locate(o->kernel, paths.exe_dir, &kernel, e)) < 0)
		goto out;
	if ((r = fds[VMM_FD_KVM] = open_kvm(e)) < 0)
		goto out;
	fds[VMM_FD_KERNEL] = open(kernel.path, O_RDONLY | O_CLOEXEC);
	if (fds[VMM_FD_KERNEL] < 0) {
		r = arca_error_errno(e, errno, "cannot open kernel %s", kernel.path);
		goto out;
	}
	if ((r = fds[VMM_FD_INITRD_BASE] = initrd_base_open(&paths, &kernel, guest_modules,
							     ARRAY_SIZE(guest_modules), e)) < 0)
		goto out;

	/* spec_encode() only reads the spec; its struct is shared with the
	 * decoder, which owns its strings, hence the non-const members. */
	struct arca_spec spec = {
		.argc = o->argc,
		.env = o->env,
		.envc = o->envc,
		.flags = o->verbose ? ARCA_SPEC_F_VERBOSE : 0,
	};
	memcpy(&spec.argv, &o->argv, sizeof(spec.argv));
	memcpy(&spec.workdir, &o->workdir, sizeof(spec.workdir));
	if ((r = fds[VMM_FD_INITRD_SPEC] = initrd_spec_memfd(&spec, e)) < 0)
		goto out;
	if ((r = run_kernel_cmdline(o, cmdline, sizeof(cmdline))) < 0) {
		r = arca_error(e, E2BIG, "kernel command line too long");
		goto out;
	}

	char a_kvm[32], a_kernel[32], a_base[32], a_spec[32], a_cpus[32], a_mem[32], a_cmd[600];
	snprintf(a_kvm, sizeof(a_kvm), "--kvm-fd=%d", VMM_FD_KVM);
	snprintf(a_kernel, sizeof(a_kernel), "--kernel-fd=%d", VMM_FD_KERNEL);
	snprintf(a_base, sizeof(a_base), "--initrd-fd=%d", VMM_FD_INITRD_BASE);
	snprintf(a_spec, sizeof(a_spec), "--initrd-fd=%d", VMM_FD_INITRD_SPEC);
	snprintf(a_cpus, sizeof(a_cpus), "--cpus=%u", o->cpus);
	snprintf(a_mem, sizeof(a_mem), "--memory-mib=%u", o->memory_mib);
	snprintf(a_cmd, sizeof(a_cmd), "--cmdline=%s", cmdline);
	static char name[] = "arca-vmm", verbose[] = "--verbose", console[] = "--console";
	char *argv[12];
	int ac = 0;
	argv[ac++] = name;
	argv[ac++] = a_kvm;
	argv[ac++] = a_kernel;
	argv[ac++] = a_base;
	argv[ac++] = a_spec;
	argv[ac++] = a_cpus;
	argv[ac++] = a_mem;
	argv[ac++] = a_cmd;
	if (o->verbose)
		argv[ac++] = verbose;
	else if (o->console)
		argv[ac++] = console;
	argv[ac] = NULL;

	/* Termination signals are taken through a signalfd and forwarded to
	 * the VMM, so arca outlives it and reports its status. */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		r = arca_error_errno(e, errno, "signalfd");
		goto out_mask;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = arca_error_errno(e, errno, "fork");
		goto out_mask;
	}
	if (pid == 0)
		child_exec(paths.vmm, fds, argv, &old);

	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	r = supervise(pid, sfd, o->timeout_ms, e);
out_mask:
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	kernel_free(&kernel);
	paths_free(&paths);
	return r;
}

int run_prepare(const struct arca_opts *o, struct arca_err *e)
{
	struct arca_paths paths = { 0 };
	struct arca_kernel kernel = { 0 };
	int r;

	if ((r = paths_resolve(&paths, e)) < 0)
		goto out;
	if ((r = kernel_locate(o->kernel, paths.exe_dir, &kernel, e)) < 0)
		goto out;
	r = initrd_base_open(&paths, &kernel, guest_modules, ARRAY_SIZE(guest_modules), e);
	if (r >= 0) {
		close(r);
		printf("arca: base initrd for kernel %s ready in %s\n", kernel.version,
		       paths.cache_dir);
		r = 0;
	}
out:
	kernel_free(&kernel);
	paths_free(&paths);
	return r;
}
