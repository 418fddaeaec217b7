/* SPDX-License-Identifier: MIT */
/*
 * arca-vmm: boots one microVM from file descriptors prepared by `arca`, runs
 * until the guest reports its command's exit status, and exits with it.
 *
 * Exit status: the command's (0..255, 128+N for signal N); 125 when the VMM
 * itself fails or the guest stops without reporting. The main thread is the
 * device thread (event loop); each vCPU has its own thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "arca/limits.h"
#include "acpi.h"
#include "blk.h"
#include "boot.h"
#include "cleanup.h"
#include "ctl.h"
#include "err.h"
#include "fs.h"
#include "io.h"
#include "opts.h"
#include "landlock.h"
#include "net.h"
#include "proto.h"
#include "seccomp_thread.h"
#include "timeline.h"
#include "virtio_console.h"
#include "vm.h"
#include "warm.h"

#define EXIT_ARCA 125

/*
 * Everything this VMM runs, in one place: main() owns the one instance and
 * hands it to each setup step and callback (as their opaque) instead of
 * file-scope globals.
 */
struct vmm {
	struct vm vm;
	struct virtio_console console;
	struct ctl ctl;
	struct fs_devices fs;
	struct blk_devices blk;
	struct net_devices net;
	struct warm warm;      /* --snapshot-fd / --restore-fd / --spec-fd */
	int sig_fd;            /* signals for the command (signals_setup) */
	int stop_signal;       /* the one that stopped the VM, 0 if none */
	uint64_t last_int_ms;  /* when the last SIGINT was passed on, 0 if never */
	int stop_timer_fd;     /* --stop-timeout after SIGTERM, or -1 */
	uint32_t stop_timeout_ms;
	bool term_sent;        /* SIGTERM passed on, stop timer armed */
	int boot_timer_fd;     /* the boot deadline's timerfd, or -1 */
	uint32_t boot_timeout_ms;
	bool boot_timed_out;
	bool verbose;
	bool tty;              /* -t: SIGWINCH carries a size (send_winsize) */
};

static void serial_irq(void *opaque)
{
	vm_raise_irq(opaque, SERIAL_COM1_GSI);
}

static void serial_out(void *opaque, uint8_t b)
{
	struct vm *v = opaque;
	if (v->serial_fd >= 0)
		(void)!write(v->serial_fd, &b, 1);
}

static void on_stop(void *opaque, uint32_t events)
{
	struct vm *v = opaque;
	uint64_t n;
	(void)!read(v->stop_fd, &n, sizeof(n));
	evloop_stop(&v->loop);
}

/*
 * Termination signals arrive through a signalfd on the device thread: the
 * VMM is PID 1 of its pid namespace, where a signal without a handler is
 * dropped, and a signalfd needs no handler and no extra syscall in the
 * filters (read). Every thread inherits the blocked mask.
 */
static int read_signal(int fd, struct signalfd_siginfo *si)
{
	if (read(fd, si, sizeof(*si)) != sizeof(*si))
		return 0;
	return (int)si->ssi_signo;
}

/* -t: the terminal's size for the guest's pty (arca-init sets it; the pty
 * then signals SIGWINCH to its foreground job). */
static void send_winsize(struct vmm *m, uint16_t rows, uint16_t cols)
{
	uint8_t frame[ARCA_MSG_HDR_SIZE + 4], ws[4];
	proto_put_le16(ws, rows);
	proto_put_le16(ws + 2, cols);
	int n = proto_encode(frame, sizeof(frame), ARCA_MSG_WINSIZE, ws, sizeof(ws));
	if (n > 0)
		(void)virtio_console_send_control(&m->console, frame, (size_t)n);
}

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void stop_for(struct vmm *m, int signo)
{
	if (!m->stop_signal)
		m->stop_signal = signo;
	vm_request_stop(&m->vm, VM_SIGNALED, NULL);
}

/* A second SIGINT this soon after the first stops the VM (a command that
 * ignores Ctrl-C cannot hold the user hostage). */
#define SECOND_SIGINT_MS 2000

/*
 * Signals sent to arca (it forwards them here) are the command's: while
 * arca-init runs it, each one goes to the command's process group over the
 * control channel (ARCA_MSG_SIGNAL), and the command decides (its exit
 * then says 128+N as usual). The VM itself is stopped, with exit 128+N,
 * when there is no command to tell (before arca-init's HELLO, after its
 * EXIT), on a second SIGINT within SECOND_SIGINT_MS, or --stop-timeout
 * after a SIGTERM the command outlived.
 */
static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *m = opaque;
	struct signalfd_siginfo si;
	int signo = read_signal(m->sig_fd, &si);
	if (!signo)
		return;
	/* -t: arca sends each new size as ARCA_SIG_WINSIZE's value (sigqueue:
	 * the VMM cannot ask the terminal itself, its main thread has no
	 * ioctl). A SIGWINCH of its own means nothing with a pty: the guest's
	 * pty signals the command when its size changes. */
	if (signo == ARCA_SIG_WINSIZE) {
		if (m->tty && si.ssi_code == SI_QUEUE)
			send_winsize(m, (uint16_t)((uint32_t)si.ssi_int >> 16),
				     (uint16_t)((uint32_t)si.ssi_int & 0xffff));
		return;
	}
	if (signo == SIGWINCH && m->tty)
		return;
	if (signo == SIGWINCH && (!m->ctl.hello || m->ctl.have_exit))
		return; /* a resize is no reason to stop */
	if (!m->ctl.hello || m->ctl.have_exit) {
		stop_for(m, signo);
		return;
	}
	uint64_t now = mono_ms();
	if (signo == SIGINT) {
		bool again = m->last_int_ms && now - m->last_int_ms < SECOND_SIGINT_MS;
		m->last_int_ms = now;
		if (again) {
			stop_for(m, signo);
			return;
		}
	}
	uint8_t frame[ARCA_MSG_HDR_SIZE + 4], sig[4];
	proto_put_le32(sig, (uint32_t)signo);
	int n = proto_encode(frame, sizeof(frame), ARCA_MSG_SIGNAL, sig, sizeof(sig));
	if (n < 0 || virtio_console_send_control(&m->console, frame, (size_t)n) < 0) {
		/* The guest reads no control frames: it gets no say. */
		stop_for(m, signo);
		return;
	}
	if (signo == SIGTERM && !m->term_sent) {
		m->term_sent = true;
		struct itimerspec its = {
			.it_value = { .tv_sec = m->stop_timeout_ms / 1000,
				      .tv_nsec = (long)(m->stop_timeout_ms % 1000) * 1000000L }
		};
		if (m->stop_timer_fd < 0 || m->stop_timeout_ms == 0 ||
		    timerfd_settime(m->stop_timer_fd, 0, &its, NULL) < 0)
			stop_for(m, signo);
	}
}

static void on_stop_timeout(void *opaque, uint32_t events)
{
	struct vmm *m = opaque;
	uint64_t n;
	(void)!read(m->stop_timer_fd, &n, sizeof(n));
	if (m->verbose)
		fprintf(stderr, "arca: the command still ran %u ms after SIGTERM; stopping the VM\n",
			m->stop_timeout_ms);
	stop_for(m, SIGTERM);
}

static int signals_setup(struct vmm *m)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, ARCA_SIG_WINSIZE);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	m->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return m->sig_fd < 0 ? -errno : 0;
}

static void on_device_failed(void *opaque, const char *dev, const char *why)
{
	vm_request_stop(opaque, VM_FAILED, "the guest broke the virtio-%s protocol (%s); "
			"VM stopped", dev, why);
}

static void on_ctl_exit(void *opaque)
{
	/* The command is gone and init has synced: nothing the guest does
	 * from now on matters, so stop without waiting for its power-off. */
	vm_request_stop(opaque, VM_POWEROFF, NULL);
}

/*
 * The boot deadline: a guest that never reaches arca-init (a kernel that
 * hangs or panics early, a KVM that cannot run it, a wrong --kernel) would
 * otherwise keep the run waiting forever when no --timeout is given. The
 * timer is armed before the first KVM_RUN; HELLO from arca-init disarms it in
 * effect (the callback checks ctl.hello, so no timerfd_settime is needed
 * under seccomp: the device thread only reads the fd).
 */
static void on_boot_deadline(void *opaque, uint32_t events)
{
	struct vmm *m = opaque;
	uint64_t n;
	(void)!read(m->boot_timer_fd, &n, sizeof(n));
	if (m->ctl.hello)
		return;
	m->boot_timed_out = true;
	char secs[24];
	uint32_t ms = m->boot_timeout_ms;
	if (ms % 1000)
		snprintf(secs, sizeof(secs), "%u.%03u", ms / 1000, ms % 1000);
	else
		snprintf(secs, sizeof(secs), "%u", ms / 1000);
	vm_request_stop(&m->vm, VM_FAILED,
			"the guest never started: arca-init did not report within %s s "
			"(the kernel hung or panicked first, or cannot run on this host; "
			"--console shows its log, --boot-timeout changes the limit)", secs);
}

static int boot_deadline_setup(struct vmm *m, uint32_t ms)
{
	if (!ms)
		return 0;
	m->boot_timeout_ms = ms;
	m->boot_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->boot_timer_fd < 0)
		return -errno;
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (long)(ms % 1000) * 1000000L } };
	if (timerfd_settime(m->boot_timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return evloop_add(&m->vm.loop, m->boot_timer_fd, EPOLLIN, on_boot_deadline, m);
}

/* The last lines the guest wrote to its serial console, for a VM that
 * stopped without a report (the console was not shown live). */
static void print_console_tail(struct vm *vm)
{
	static char tail[SERIAL_TAIL + 1];
	pthread_mutex_lock(&vm->pio_lock);
	size_t n = serial_tail(&vm->serial, tail, sizeof(tail));
	pthread_mutex_unlock(&vm->pio_lock);
	if (n) {
		/* Guest bytes, line by line through ctl_sanitize: the guest must
		 * not drive the user's terminal through our error output. */
		static char line[SERIAL_TAIL + 1];
		fprintf(stderr, "arca: last guest console output:\n");
		for (size_t i = 0; i < n;) {
			const char *nl = memchr(tail + i, '\n', n - i);
			size_t len = nl ? (size_t)(nl - (tail + i)) : n - i;
			ctl_sanitize((const uint8_t *)tail + i, len, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
			i += len + 1;
		}
	} else {
		fprintf(stderr, "arca: (no console output; rerun with --console)\n");
	}
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* --verbose: where the run's time went (vmm/timeline.h). */
static void print_breakdown(const struct vmm *m, const struct vmm_opts *o,
			    const struct timespec *t_start, const struct timespec *t_run)
{
	struct timespec now;
	char text[2048];

	clock_gettime(CLOCK_MONOTONIC, &now);
	struct timeline t = { .launch_ns = o->launch_ns, .vmm_ns = ts_ns(t_start),
			      .run_ns = ts_ns(t_run), .hello_ns = m->ctl.hello_ns,
			      .exit_ns = m->ctl.exit_ns, .end_ns = ts_ns(&now),
			      .restored = o->restore_fd >= 0 };
	if (m->ctl.have_times)
		memcpy(t.g, m->ctl.times, sizeof(t.g));
	timeline_format(&t, text, sizeof(text));
	fputs(text, stderr);
}

/* The kernel image, mapped read-only straight from the page cache: the
 * loader copies what it needs into guest RAM, with no buffer in between.
 * Unmapped once the guest is loaded. */
static int map_kernel(int fd, const uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1ll << 30))
		return -EINVAL;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

/* Place the initrd pieces back to back (each 4-byte aligned: the kernel
 * reads concatenated cpio archives) at the address the boot protocol
 * allows, reading straight into guest RAM. */
static int load_initrds(struct guest_mem *gm, const struct vmm_opts *o, const uint8_t *kernel,
			size_t klen, uint64_t *gpa, uint32_t *size)
{
	uint64_t sizes[VMM_MAX_INITRDS], total = 0;
	for (unsigned i = 0; i < o->ninitrd; i++) {
		struct stat st;
		if (fstat(o->initrd_fd[i], &st) < 0)
			return -errno;
		sizes[i] = (uint64_t)st.st_size;
		total = (total + 3) & ~3ull;
		total += sizes[i];
		if (total > (1ull << 31))
			return -E2BIG;
	}
	*size = (uint32_t)total;
	if (total == 0) {
		*gpa = 0;
		return 0;
	}
	int r = boot_initrd_gpa(gm, kernel, klen, total, gpa);
	if (r < 0)
		return r;
	uint64_t off = 0;
	for (unsigned i = 0; i < o->ninitrd; i++) {
		off = (off + 3) & ~3ull;
		uint8_t *dst = gm_ptr(gm, *gpa + off, sizes[i]);
		if (!dst)
			return -EFAULT;
		if ((r = pread_all(o->initrd_fd[i], dst, sizes[i], 0)) < 0)
			return r;
		off += sizes[i];
	}
	return 0;
}

/* boot_config.map: the kernel file's pages in guest RAM, private, so the
 * page cache backs them until the guest writes one and every VM of the
 * same kernel shares the rest. Before any vCPU or thread exists. The file
 * is the launcher's cached vmlinux (owned by the user or root, replaced
 * by rename, never rewritten in place); one truncated under a running VM
 * by its owner would make the guest's access to it fail. */
static int map_kernel_pages(void *opaque, uint8_t *dst, uint64_t off, size_t len)
{
	const int *fd = opaque;
	void *p = mmap(dst, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, *fd, (off_t)off);
	if (p == MAP_FAILED) {
		int err = errno;
		/* A failed MAP_FIXED may have unmapped the range already: put
		 * anonymous RAM back (best effort; the loader fails the boot
		 * either way and nothing touches the range again). */
		(void)mmap(dst, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
		return -err;
	}
	/* Guest RAM, file-backed or not, stays out of core dumps (gm_alloc). */
	madvise(dst, len, MADV_DONTDUMP);
	return 0;
}

/* initrds, then the kernel (boot_params point at the initrd). */
static int load_guest(struct guest_mem *gm, const struct vmm_opts *o, const uint8_t *kernel,
		      size_t klen, struct boot_entry *entry, struct arca_err *e)
{
	uint64_t initrd_gpa = 0;
	uint32_t initrd_size = 0;
	int r = load_initrds(gm, o, kernel, klen, &initrd_gpa, &initrd_size);
	if (r < 0)
		return arca_error_errno(e, -r, "loading the initrd");
	struct boot_config bc = {
		.kernel = kernel,
		.kernel_len = klen,
		.initrd_gpa = initrd_gpa,
		.initrd_size = initrd_size,
		.cmdline = o->cmdline,
		.rsdp_gpa = GM_ACPI_START,
		.map = map_kernel_pages,
		.map_opaque = (void *)(uintptr_t)&o->kernel_fd,
	};
	if ((r = boot_load_kernel(gm, &bc, entry)) < 0)
		return arca_error_errno(e, -r, "loading the kernel");
	return 0;
}

/* HELLO (console lock held): the snapshot point; act on the next loop
 * turn, with no lock held (pausing the vCPUs must not wait on one). */
static void on_hello(void *opaque)
{
	struct vmm *m = opaque;
	uint64_t one = 1;
	(void)!write(m->warm.ev_fd, &one, sizeof(one));
}

/* The run's spec goes out now, ahead of any other control frame; then
 * the console lets stdin and the rest flow. */
static void warm_go(struct vmm *m, const struct vmm_opts *o)
{
	virtio_console_send_spec(&m->console, m->warm.spec, m->warm.spec_len);
	if (o->tty && o->rows && o->cols)
		send_winsize(m, o->rows, o->cols);
	virtio_console_release(&m->console);
}

static const struct vmm_opts *the_opts;

static void on_warm(void *opaque, uint32_t events)
{
	struct vmm *m = opaque;
	uint64_t n;
	if (read(m->warm.ev_fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (m->warm.save_fd >= 0) {
		int r = warm_save(&m->warm, &m->vm, &m->console);
		if (m->verbose || the_opts->timings) {
			if (r == 0)
				fprintf(stderr, "arca-vmm: snapshot saved in %.1f ms (%llu MiB of "
					"guest memory)\n", m->warm.save_ms,
					(unsigned long long)(m->warm.saved_bytes >> 20));
			else
				fprintf(stderr, "arca-vmm: no snapshot saved: %s\n", m->warm.note);
		}
	}
	warm_go(m, the_opts);
}

/* Every step before the first thread; 0, or -errno with e set (main()
 * prints it, once). */
/* The command's stderr: STDERR_FILENO, or with --log-fd a copy of it
 * (stderr itself then carries arca-vmm's messages and the console). */
static int cmd_err_fd = STDERR_FILENO;

/* --log-fd: split our own messages from the command's stderr. Before
 * anything can print. */
static int split_log(int log_fd)
{
	if (log_fd < 0)
		return 0;
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || dup2(log_fd, STDERR_FILENO) < 0)
		return -errno;
	close(log_fd);
	cmd_err_fd = fd;
	return 0;
}

/* --result-fd: how the command ended, as init said, for the launcher, and
 * when the VM ended (CLOCK_MONOTONIC ns): what follows is the VMM's exit,
 * which the launcher's --timings counts. */
static void report_result(const struct vmm_opts *o, const struct ctl *c, uint64_t end_ns)
{
	if (o->result_fd < 0 || !c->have_exit)
		return;
	uint8_t rec[16];
	proto_put_le32(rec, c->exit_kind);
	proto_put_le32(rec + 4, c->exit_value);
	proto_put_le32(rec + 8, (uint32_t)end_ns);
	proto_put_le32(rec + 12, (uint32_t)(end_ns >> 32));
	(void)!write(o->result_fd, rec, sizeof(rec));
}

static int setup(struct vmm *m, const struct vmm_opts *o, struct arca_err *e)
{
	struct vm *vm = &m->vm;
	int r;
	const uint8_t *kernel = NULL;
	size_t klen = 0;

	if ((r = vm_create(vm, o->kvm_fd, o->memory_mib << 20, o->cpus, e)) < 0)
		return r;
	if ((r = warm_setup(&m->warm, o, vm, e)) < 0)
		return r;
	bool restore = o->restore_fd >= 0;
	if (o->console)
		vm->serial_fd = STDERR_FILENO;
	serial_init(&vm->serial, serial_irq, serial_out, vm);

	/* Devices first: the DSDT lists them. */
	uint64_t base;
	uint32_t gsi;
	struct virtio_mmio *t = vm_add_mmio(vm, &base, &gsi);
	ctl_init(&m->ctl, o->verbose, on_ctl_exit, vm);
	if ((r = virtio_console_init(&m->console, &vm->gm, &vm->loop, STDIN_FILENO, STDOUT_FILENO,
				     cmd_err_fd, ctl_feed, &m->ctl)) < 0 ||
	    (r = virtio_mmio_setup(t, &m->console.dev, base, gsi, vm->vm_fd, &vm->loop)) < 0)
		return arca_error_errno(e, -r, "setting up the console device");
	/* A warm-capable boot: nothing reaches the guest before its spec,
	 * which goes out at HELLO, after the snapshot (warm.h). */
	if (m->warm.spec && !restore) {
		virtio_console_hold(&m->console, true);
		m->ctl.on_hello = on_hello;
		m->ctl.hello_opaque = m;
		if (m->warm.ev_fd < 0 && (m->warm.ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return arca_error_errno(e, errno, "eventfd");
		if ((r = evloop_add(&vm->loop, m->warm.ev_fd, EPOLLIN, on_warm, m)) < 0)
			return arca_error_errno(e, -r, "watching the snapshot point");
	}
	if ((r = fs_devices_setup(&m->fs, vm, o, e)) < 0)
		return r;
	if ((r = blk_devices_setup(&m->blk, vm, o, e)) < 0)
		return r;
	if ((r = net_devices_setup(&m->net, vm, o, e)) < 0)
		return r;
	/* A device the guest breaks stops the VM (virtio_dev_on_fail). */
	for (unsigned i = 0; i < vm->nmmio; i++)
		virtio_dev_on_fail(vm->mmio[i].dev, on_device_failed, vm);

	struct acpi_mmio_dev mmio[VM_MAX_MMIO];
	for (unsigned i = 0; i < vm->nmmio; i++)
		mmio[i] = (struct acpi_mmio_dev){ .base = vm->mmio[i].base,
						  .size = VIRTIO_MMIO_SIZE,
						  .gsi = vm->mmio[i].gsi };
	struct acpi_config acfg = {
		.ncpus = o->cpus,
		.lapic_addr = (uint32_t)GM_LAPIC_ADDR,
		.ioapic_addr = (uint32_t)GM_IOAPIC_ADDR,
		.ioapic_id = (uint8_t)o->cpus,
		.mmio = mmio,
		.nmmio = vm->nmmio,
		.serial_port = SERIAL_COM1_BASE,
		.serial_gsi = SERIAL_COM1_GSI,
		.sleep_ctl_port = PM_SLEEP_CTL_PORT,
		.sleep_sts_port = PM_SLEEP_STS_PORT,
		.reset_port = PM_RESET_PORT,
		.reset_value = PM_RESET_VALUE,
	};
	uint8_t *acpi = gm_ptr(&vm->gm, GM_ACPI_START, GM_ACPI_SIZE);
	struct boot_entry entry;
	if (!restore) {
		if (!acpi || (r = acpi_build(acpi, GM_ACPI_SIZE, GM_ACPI_START, &acfg)) < 0)
			return arca_error(e, r < 0 ? -r : EFAULT, "building the ACPI tables failed");
		if ((r = map_kernel(o->kernel_fd, &kernel, &klen)) < 0)
			return arca_error_errno(e, -r, "reading the kernel");
		r = load_guest(&vm->gm, o, kernel, klen, &entry, e);
		munmap((void *)(uintptr_t)kernel, klen);
		if (r < 0)
			return r;
	}

	for (unsigned i = 0; i < o->cpus; i++)
		if ((r = vcpu_create(vm, i)) < 0)
			return arca_error_errno(e, -r, "creating vCPU %u", i);
	if (restore) {
		/* The guest resumes inside arca-init, waiting for its spec:
		 * HELLO is behind it. */
		if ((r = warm_restore(&m->warm, vm, &m->console, e)) < 0)
			return r;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		m->ctl.hello = true;
		m->ctl.hello_ns = ts_ns(&ts);
		for (unsigned i = 0; i < vm->nmmio; i++)
			virtio_mmio_kick_all(&vm->mmio[i]);
	} else if ((r = vcpu_setup_bsp(&vm->vcpus[0], &entry)) < 0) {
		return arca_error_errno(e, -r, "setting up the boot vCPU");
	}
	if ((r = evloop_add(&vm->loop, m->sig_fd, EPOLLIN, on_signal, m)) < 0)
		return arca_error_errno(e, -r, "watching signals");
	if ((r = boot_deadline_setup(m, o->boot_timeout_ms)) < 0)
		return arca_error_errno(e, -r, "setting up the boot deadline");
	/* Created now, armed (timerfd_settime) only when a SIGTERM comes. */
	m->stop_timeout_ms = o->stop_timeout_ms;
	m->verbose = o->verbose;
	m->tty = o->tty;
	/* Queued until arca-init opens the control port (a warm-capable
	 * boot sends it after the spec: warm_go). */
	if (restore)
		warm_go(m, o);
	else if (o->tty && o->rows && o->cols && !m->warm.spec)
		send_winsize(m, o->rows, o->cols);
	if ((m->stop_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
		return arca_error_errno(e, errno, "timerfd_create");
	if ((r = evloop_add(&vm->loop, m->stop_timer_fd, EPOLLIN, on_stop_timeout, m)) < 0)
		return arca_error_errno(e, -r, "watching the stop timer");
	if ((r = evloop_add(&vm->loop, vm->stop_fd, EPOLLIN, on_stop, vm)) < 0)
		return arca_error_errno(e, -r, "watching the stop event");
	return 0;
}

int main(int argc, char *argv[])
{
	struct vmm_opts o;
	struct seccomp_opts so;
	struct arca_err e = { 0 };
	/* Static: struct vm holds the vCPUs and devices, too big for a stack. */
	static struct vmm m = { .sig_fd = -1, .boot_timer_fd = -1, .stop_timer_fd = -1 };

	if (seccomp_opts_take(&argc, argv, &so, &e) < 0 ||
	    vmm_opts_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return EXIT_ARCA;
	}
	if (split_log(o.log_fd) < 0) {
		fprintf(stderr, "arca: --log-fd: %s\n", strerror(errno));
		return EXIT_ARCA;
	}
	/* A closed stdout/stderr reader must not kill the VMM: the console
	 * device sees EPIPE and drops that stream. */
	signal(SIGPIPE, SIG_IGN);
	virtio_verbose = o.verbose;
	struct timespec t_start;
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	/* Executed by fd, our comm is the fd number: name the process. */
	prctl(PR_SET_NAME, "arca-vmm", 0, 0, 0);
	/* Not dumpable: no other process of the VMM's user (the sudo user's
	 * shell, another arca-vmm) may ptrace it or open its /proc/PID/mem,
	 * environ or fds, and no core dump writes guest RAM anywhere. Its
	 * own /proc/self/fd (the FUSE server's reopen path) stays usable:
	 * a process always may access itself. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "arca: PR_SET_DUMPABLE: %s\n", strerror(errno));
		return EXIT_ARCA;
	}
	/* Before any thread: every thread inherits the domain (landlock.h).
	 * Without Landlock ABI 2 the detached share mounts stand alone. */
	struct landlock_share ll[VMM_MAX_FS];
	for (unsigned i = 0; i < o.nfs; i++)
		ll[i] = (struct landlock_share){ o.fs[i].dir_fd, o.fs[i].read_only };
	int ll_abi, lr = landlock_confine(ll, o.nfs, &ll_abi);
	if (lr < 0 && lr != -EOPNOTSUPP) {
		fprintf(stderr, "arca: Landlock (ABI %d): %s\n", ll_abi, strerror(-lr));
		return EXIT_ARCA;
	}
	if (o.verbose)
		fprintf(stderr, "arca: Landlock %s (kernel ABI %d)\n",
			lr == 0 ? "confines the shares" : "not in force", ll_abi);
	if (signals_setup(&m) < 0) {
		fprintf(stderr, "arca: cannot set up signal handling: %s\n", strerror(errno));
		return EXIT_ARCA;
	}

	/* Before any thread exists: no_new_privs and the SIGSYS reporter are
	 * inherited, and the barrier counts every vCPU and share thread plus
	 * this one. */
	if (seccomp_prepare(&so, o.cpus + o.nfs + o.nblk + o.nnet + 1, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return EXIT_ARCA;
	}
	the_opts = &o;
	if (setup(&m, &o, &e) < 0) {
		fprintf(stderr, "arca: %s\n", e.msg);
		return EXIT_ARCA;
	}
	/* Each vCPU thread confines itself before its first KVM_RUN and then
	 * waits for this thread's filter (seccomp_enter). */
	for (unsigned i = 0; i < o.cpus; i++) {
		int r = vcpu_start(&m.vm.vcpus[i]);
		if (r < 0) {
			fprintf(stderr, "arca: starting vCPU %u failed: %s\n", i, strerror(-r));
			return EXIT_ARCA;
		}
	}
	int fr = fs_devices_start(&m.fs);
	if (fr < 0) {
		fprintf(stderr, "arca: starting the share threads failed: %s\n", strerror(-fr));
		return EXIT_ARCA;
	}
	if ((fr = blk_devices_start(&m.blk)) < 0) {
		fprintf(stderr, "arca: starting the disk threads failed: %s\n", strerror(-fr));
		return EXIT_ARCA;
	}
	if ((fr = net_devices_start(&m.net)) < 0) {
		fprintf(stderr, "arca: starting the network threads failed: %s\n", strerror(-fr));
		return EXIT_ARCA;
	}
	/* Setup is over and every thread exists (so none inherits this
	 * filter, and this thread never needs clone): confine the device
	 * thread. From here on policy/vmm-main.policy is all it may do. */
	const char *failed_class = NULL;
	int failed_err = 0;
	if (seccomp_enter(SECCOMP_MAIN, &failed_class, &failed_err) < 0) {
		fprintf(stderr, "arca: installing the seccomp filter of the %s thread failed: %s; "
			"not running the guest\n", failed_class, strerror(failed_err));
		return EXIT_ARCA;
	}
	struct timespec t_run;
	clock_gettime(CLOCK_MONOTONIC, &t_run);
	/* Restored: arca-init's HELLO was before the snapshot; the guest
	 * runs from here (the breakdown's kernel step is then zero). */
	if (o.restore_fd >= 0)
		m.ctl.hello_ns = ts_ns(&t_run);
	if (o.verbose) {
		if (o.restore_fd >= 0)
			fprintf(stderr, "arca-vmm: restored from the snapshot in %.1f ms\n",
				m.warm.restore_ms);
		fprintf(stderr, "arca-vmm: set up in %.1f ms, guest starting\n", ms_since(&t_start));
	}
	int r = evloop_run(&m.vm.loop);
	struct timespec t_end;
	clock_gettime(CLOCK_MONOTONIC, &t_end);
	if (o.verbose) {
		fprintf(stderr, "arca-vmm: guest ran for %.1f ms in all\n", ms_since(&t_start));
		fs_devices_report(&m.fs, stderr);
		net_devices_report(&m.net, stderr);
	}
	if (o.verbose || o.timings)
		print_breakdown(&m, &o, &t_start, &t_run);
	if (r < 0) {
		fprintf(stderr, "arca: event loop failed: %s\n", strerror(-r));
		return EXIT_ARCA;
	}

	/* Everything the command wrote was queued before init reported its
	 * exit: hand it out before leaving. */
	virtio_console_drain(&m.console);
	int stop = __atomic_load_n(&m.vm.stop, __ATOMIC_SEQ_CST);
	if (m.ctl.failed)
		return EXIT_ARCA;
	report_result(&o, &m.ctl, ts_ns(&t_end));
	if (stop == VM_FAILED) {
		fprintf(stderr, "arca: %s\n", m.vm.stop_msg);
		if (m.boot_timed_out && !o.console)
			print_console_tail(&m.vm);
		return EXIT_ARCA;
	}
	if (stop == VM_SIGNALED && !m.ctl.have_exit)
		return 128 + m.stop_signal; /* what a shell reports for a killed job */
	if (m.ctl.have_exit)
		return m.ctl.exit_code;

	fprintf(stderr, "arca: the guest stopped without reporting an exit status%s%s\n",
		m.vm.stop_msg[0] ? ": " : "", m.vm.stop_msg);
	if (!o.console)
		print_console_tail(&m.vm);
	return EXIT_ARCA;
}
