/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "arca/limits.h"
#include "asuser.h"
#include "cgroup.h"
#include "cleanup.h"
#include "doctor.h"
#include "kvmok.h"
#include "sbstate.h"
#include "hostfs.h"
#include "elfdeps.h"
#include "initrd.h"
#include "io.h"
#include "jail.h"
#include "kcache.h"
#include "kernel.h"
#include "paths.h"
#include "privsep.h"
#include "quote.h"
#include "run.h"
#include "sharemnt.h"
#include "snapcache.h"
#include "passt.h"
#include "runnet.h"
#include "spec.h"

/* Modules arca-init loads, dependencies resolved by the initrd builder:
 * the transport, the console (stdio, control), virtio-fs (shares and the
 * default root: /usr), overlayfs (--root DIR and --root-disk under a tmpfs
 * upper) and virtio-blk (disks). One list for every run, so one cached base
 * initrd per kernel; a --disk fstype= whose filesystem is a module adds it
 * (run_modules_pick), a variant cached beside the plain one. */
static const char *const guest_modules[] = { "virtio_mmio", "virtio_console", "virtiofs",
					     "overlay", "virtio_blk" };

/* Tags of the root filesystem's device (never clash with "arca-N"). */
#define ROOT_TAG_USR  "arca-usr"
#define ROOT_TAG_ROOT "arca-root"


int run_base_initrd_open(const struct arca_paths *p, const struct arca_kernel *k,
			 struct arca_err *e)
{
	return initrd_base_open(p, k, guest_modules, ARRAY_SIZE(guest_modules), e);
}

/*
 * The guest modules for this run: guest_modules, plus the modules of the
 * filesystems named by --disk fstype= (each checked against the kernel: a
 * type it does not have is an error before anything starts, not a mount
 * failure in the guest). With any, the base initrd is a variant.
 */
struct run_modules {
	const char *v[ARRAY_SIZE(guest_modules) + DISKS_MAX + 1];
	size_t n, nextra;
	char extra[DISKS_MAX + 1][KMOD_NAME_MAX];
	char variant[(DISKS_MAX + 1) * (KMOD_NAME_MAX + 1)]; /* "net+xfs+btrfs" */
};

static int run_modules_pick(const struct arca_kernel *k, const struct arca_disks *d, bool net,
			    struct run_modules *m, struct arca_err *e)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < ARRAY_SIZE(guest_modules); i++)
		m->v[m->n++] = guest_modules[i];
	/* --net: virtio-net (and failover, net_failover: its dependencies,
	 * resolved by the initrd builder), a variant of its own. */
	if (net) {
		m->v[m->n++] = "virtio_net";
		snprintf(m->variant, sizeof(m->variant), "net");
		m->nextra++;
	}
	for (size_t i = 0; i < d->n; i++) {
		char mod[KMOD_NAME_MAX];
		if (!d->v[i].fstype[0])
			continue;
		int r = initrd_fs_module(k, d->v[i].fstype, mod, e);
		if (r < 0)
			return r;
		bool seen = r == 0; /* built in: nothing to add */
		for (size_t j = 0; j < m->nextra && !seen; j++)
			seen = m->v[ARRAY_SIZE(guest_modules) + j] &&
			       !strcmp(m->v[ARRAY_SIZE(guest_modules) + j], mod);
		if (seen)
			continue;
		memcpy(m->extra[m->nextra], mod, sizeof(mod));
		m->v[m->n++] = m->extra[m->nextra];
		size_t vl = strlen(m->variant);
		snprintf(m->variant + vl, sizeof(m->variant) - vl, "%s%s", vl ? "+" : "", mod);
		m->nextra++;
	}
	return 0;
}

static int run_modules_initrd_open(const struct arca_paths *p, const struct arca_kernel *k,
				   const struct run_modules *m, struct arca_err *e)
{
	if (!m->nextra)
		return run_base_initrd_open(p, k, e);
	return initrd_base_open_variant(p, k, m->v, m->n, m->variant, e);
}

void run_spec_command(const struct arca_opts *o, struct arca_spec *s)
{
	/* spec_encode() only reads the spec; its struct is shared with the
	 * decoder, which owns its strings, hence the non-const members and
	 * the memcpy of pointers to the caller's const strings. */
	*s = (struct arca_spec){
		.argc = o->argc, .env = o->env, .envc = o->envc,
		.flags = o->tty ? ARCA_SPEC_F_TTY : 0,
		.nrlimits = o->nrlimits,
	};
	memcpy(&s->argv, &o->argv, sizeof(s->argv));
	memcpy(&s->workdir, &o->workdir, sizeof(s->workdir));
	memcpy(&s->rlimits, &(const struct arca_spec_rlimit *){ o->nrlimits ? o->rlimits : NULL },
	       sizeof(s->rlimits));
	if (o->has_caps || o->no_new_privs) {
		s->has_caps = 1;
		s->caps = (struct arca_spec_caps){
			.flags = (o->has_caps ? ARCA_CAPS_F_SET : 0) |
				 (o->no_new_privs ? ARCA_CAPS_F_NO_NEW_PRIVS : 0),
			.bounding = o->caps[0], .effective = o->caps[1], .permitted = o->caps[2],
			.inheritable = o->caps[3], .ambient = o->caps[4],
		};
	}
}

int run_kernel_cmdline(const struct arca_opts *o, char *buf, size_t cap)
{
	/* console=ttyS0: kernel messages to COM1 (shown with --console);
	 * reboot=k + panic=-1: a panic resets at once, which the VMM reports;
	 * pci=off: there is no PCI bus, skip probing it;
	 * io_delay=none, no_timer_check, tsc=reliable: skip work that only
	 * makes sense on real hardware;
	 * cryptomgr.notests and initcall_blacklist=crypto_kdf108_init: the
	 * boot-time self-tests of the kernel's crypto implementations (a
	 * known-answer check each, the largest single cost of a cold boot's
	 * initcalls in `initcall_debug` measurements: --timings);
	 * initcall_blacklist=init_kprobe_trace: kprobe tracing's set-up, which
	 * a sandbox does not use (the next largest).
	 * --warm: always quiet, so --verbose and --console runs share the
	 * snapshot (the command line is part of its key); arca-init raises
	 * the log level for them once it has the spec. */
	/* Layered as capsa does: arca's defaults, then each --kernel-arg (the
	 * kernel takes the last of a repeated parameter, so they override);
	 * --cmdline replaces the defaults, --kernel-arg still appends.
	 * rdinit=/init always: arca-init is the guest's init. */
	int n;
	if (o->cmdline)
		n = snprintf(buf, cap, "%s rdinit=/init", o->cmdline);
	else
		n = snprintf(buf, cap,
			     "console=ttyS0 reboot=k panic=-1 pci=off io_delay=none "
			     "no_timer_check tsc=reliable cryptomgr.notests "
			     "initcall_blacklist=crypto_kdf108_init,init_kprobe_trace rdinit=/init %s",
			     (o->verbose || o->console) && !o->warm ? "loglevel=7"
								     : "quiet loglevel=1");
	if (n < 0 || (size_t)n >= cap)
		return -E2BIG;
	for (size_t i = 0; i < o->nkernel_args; i++) {
		int k = snprintf(buf + n, cap - (size_t)n, " %s", o->kernel_args[i]);
		if (k < 0 || (size_t)k >= cap - (size_t)n)
			return -E2BIG;
		n += k;
	}
	if (n > ARCA_CMDLINE_MAX)
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

int run_vmm_argv(const struct arca_opts *o, const char *cmdline, const struct run_fs *fs,
		 size_t nfs, const struct run_blk *blk, size_t nblk, uint32_t fs_max_fds,
		 int proc_fd, struct run_argv *ra)
{
	static char name[] = "arca-vmm", verbose[] = "--verbose", console[] = "--console",
		    no_seccomp[] = "--no-seccomp", tty[] = "--tty", timings[] = "--timings";
	int n, ac = 0;

	if (nfs > RUN_MAX_FS || nblk > RUN_MAX_BLK)
		return -E2BIG;

	/* The buffers are sized for any int/unsigned value. */
	snprintf(ra->kvm, sizeof(ra->kvm), "--kvm-fd=%d", VMM_FD_KVM);
	snprintf(ra->kernel, sizeof(ra->kernel), "--kernel-fd=%d", VMM_FD_KERNEL);
	snprintf(ra->base, sizeof(ra->base), "--initrd-fd=%d", VMM_FD_INITRD_BASE);
	snprintf(ra->spec, sizeof(ra->spec), "--initrd-fd=%d", VMM_FD_INITRD_SPEC);
	snprintf(ra->cpus, sizeof(ra->cpus), "--cpus=%u", o->cpus);
	snprintf(ra->mem, sizeof(ra->mem), "--memory-mib=%u", o->memory_mib);
	snprintf(ra->result, sizeof(ra->result), "--result-fd=%d", VMM_FD_RESULT);
	snprintf(ra->log, sizeof(ra->log), "--log-fd=%d", VMM_FD_LOG);
	n = snprintf(ra->cmdline, sizeof(ra->cmdline), "--cmdline=%s", cmdline);
	if (n < 0 || (size_t)n >= sizeof(ra->cmdline))
		return -E2BIG;
	ra->argv[ac++] = name;
	ra->argv[ac++] = ra->kvm;
	ra->argv[ac++] = ra->kernel;
	ra->argv[ac++] = ra->base;
	ra->argv[ac++] = ra->spec;
	ra->argv[ac++] = ra->cpus;
	ra->argv[ac++] = ra->mem;
	ra->argv[ac++] = ra->cmdline;
	ra->argv[ac++] = ra->result;
	ra->argv[ac++] = ra->log;
	for (size_t i = 0; i < nfs; i++) {
		n = snprintf(ra->fs[i], sizeof(ra->fs[i]), "--fs=%d,tag=%s%s%s%s%s", fs[i].fd, fs[i].tag,
			     fs[i].ro ? ",ro" : "", fs[i].ids_passthrough ? ",ids=passthrough" : "",
			     fs[i].writeback ? ",writeback" : "", fs[i].direct_io ? ",direct" : "");
		if (n < 0 || (size_t)n >= sizeof(ra->fs[i]))
			return -E2BIG;
		ra->argv[ac++] = ra->fs[i];
	}
	if (nfs && fs_max_fds != ARCA_FS_MAX_FDS) {
		snprintf(ra->fsmax, sizeof(ra->fsmax), "--fs-max-fds=%u", fs_max_fds);
		ra->argv[ac++] = ra->fsmax;
	}
	for (size_t i = 0; i < nblk; i++) {
		const struct run_blk *b = &blk[i];
		n = snprintf(ra->blk[i], sizeof(ra->blk[i]), "--blk=%d%s%s%s%s%s%s,queues=%u",
			     b->fd, b->ro ? ",ro" : "", b->id ? ",id=" : "", b->id ? b->id : "",
			     b->direct ? ",direct" : "", b->nosync ? ",nosync" : "",
			     b->ephemeral ? ",ephemeral" : "", b->queues);
		if (n < 0 || (size_t)n >= sizeof(ra->blk[i]))
			return -E2BIG;
		ra->argv[ac++] = ra->blk[i];
	}
	if (ra->net_fd > 0) {
		const uint8_t *m = ra->net_mac;
		snprintf(ra->net, sizeof(ra->net), "--net=%d,mac=%02x:%02x:%02x:%02x:%02x:%02x,mtu=%u%s",
			 ra->net_fd, m[0], m[1], m[2], m[3], m[4], m[5], ra->net_mtu,
			 ra->net_stream ? ",backend=stream" : "");
		ra->argv[ac++] = ra->net;
	}
	if (proc_fd >= 0) {
		snprintf(ra->proc, sizeof(ra->proc), "--proc-fd=%d", proc_fd);
		ra->argv[ac++] = ra->proc;
	}
	if (o->boot_timeout_ms) {
		/* cli.c caps it at a day: fits the VMM's 32-bit ms. */
		snprintf(ra->boot, sizeof(ra->boot), "--boot-timeout-ms=%llu",
			 (unsigned long long)o->boot_timeout_ms);
		ra->argv[ac++] = ra->boot;
	}
	if (o->stop_timeout_ms != ARCA_STOP_TIMEOUT_DEFAULT_MS) {
		snprintf(ra->stop, sizeof(ra->stop), "--stop-timeout-ms=%llu",
			 (unsigned long long)o->stop_timeout_ms);
		ra->argv[ac++] = ra->stop;
	}
	if (o->verbose)
		ra->argv[ac++] = verbose;
	if (o->timings && !o->verbose)
		ra->argv[ac++] = timings;
	if ((o->verbose || o->timings) && ra->launch_ns) {
		snprintf(ra->launch, sizeof(ra->launch), "--launch-ns=%llu",
			 (unsigned long long)ra->launch_ns);
		ra->argv[ac++] = ra->launch;
	}
	if (!o->verbose && o->console)
		ra->argv[ac++] = console;
	if (o->no_seccomp)
		ra->argv[ac++] = no_seccomp;
	if (o->tty)
		ra->argv[ac++] = tty;
	if (o->tty && o->rows && o->cols) {
		snprintf(ra->winsize, sizeof(ra->winsize), "--winsize=%ux%u", o->rows, o->cols);
		ra->argv[ac++] = ra->winsize;
	}
	if (ra->snap_fd > 0 && ra->spec_fd > 0) {
		snprintf(ra->snap, sizeof(ra->snap), "--%s-fd=%d",
			 ra->snap_restore ? "restore" : "snapshot", ra->snap_fd);
		snprintf(ra->specfd, sizeof(ra->specfd), "--spec-fd=%d", ra->spec_fd);
		ra->argv[ac++] = ra->snap;
		ra->argv[ac++] = ra->specfd;
	}
	ra->argv[ac] = NULL;
	return ac;
}

/* ---- a dynamically linked arca-vmm: what its jail must hold --------------------------- */

/* Where the loader looks without /etc/ld.so.cache (which the jail lacks):
 * Debian's multiarch directories first, as its ld.so does. */
static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib",
};

static void binds_free(struct jail_bind *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].src);
		free(b[i].dst);
	}
}

static int bind_add(struct jail_bind *b, size_t *n, const char *dst, struct arca_err *e)
{
	if (*n == JAIL_MAX_BINDS)
		return arca_error(e, E2BIG, "arca-vmm needs too many libraries");
	/* Root-owned and not writable by others, like every privileged input. */
	int fd = jail_open_input(dst, "library", (uid_t)-1, e);
	if (fd < 0)
		return fd;
	close(fd);
	b[*n].src = realpath(dst, NULL);
	b[*n].dst = strdup(dst);
	if (!b[*n].src || !b[*n].dst) {
		free(b[*n].src);
		free(b[*n].dst);
		return arca_error(e, ENOMEM, "out of memory");
	}
	(*n)++;
	return 0;
}

/*
 * A static arca-vmm (the intended build) needs nothing in its jail. A
 * dynamic one needs its loader and the libraries it names, bind-mounted
 * read-only one file each; still no directory of the host.
 */
static int vmm_binds(int vmm_fd, struct jail_bind *b, size_t *n, struct arca_err *e)
{
	struct stat st;
	struct elf_deps d;

	*n = 0;
	if (fstat(vmm_fd, &st) < 0)
		return arca_error_errno(e, errno, "cannot stat arca-vmm");
	if (st.st_size < 64 || st.st_size > (64 << 20))
		return arca_error(e, ENOEXEC, "arca-vmm is not an executable of a plausible size");
	if (!(st.st_mode & S_IXUSR))
		return arca_error(e, EACCES, "arca-vmm is not executable");
	size_t len = (size_t)st.st_size;
	/* The ELF and program headers are in the file's first page; a static
	 * arca-vmm (the intended build) is told from them alone, without
	 * reading its ~2 MiB on every run (elf_deps_parse's prefix rule). */
	uint8_t head[ELFDEPS_HEAD];
	size_t hl = len < sizeof(head) ? len : sizeof(head);
	int r = pread_all(vmm_fd, head, hl, 0);
	if (r < 0)
		return arca_error_errno(e, -r, "cannot read arca-vmm");
	if (elf_deps_parse(head, hl, &d) == 0 && !d.interp[0])
		return 0;
	_cleanup_free_ uint8_t *buf = malloc(len);
	if (!buf)
		return arca_error(e, ENOMEM, "out of memory");
	r = pread_all(vmm_fd, buf, len, 0);
	if (r < 0)
		return arca_error_errno(e, -r, "cannot read arca-vmm");
	r = elf_deps_parse(buf, len, &d);
	if (r < 0)
		return arca_error(e, -r, "arca-vmm is not a 64-bit x86 ELF executable arca can jail");
	if (!d.interp[0])
		return 0;
	if ((r = bind_add(b, n, d.interp, e)) < 0)
		goto fail;
	for (size_t i = 0; i < d.nneeded; i++) {
		char path[PATH_MAX];
		size_t k;
		for (k = 0; k < ARRAY_SIZE(lib_dirs); k++) {
			snprintf(path, sizeof(path), "%s/%s", lib_dirs[k], d.needed[i]);
			if (access(path, F_OK) == 0)
				break;
		}
		if (k == ARRAY_SIZE(lib_dirs)) {
			r = arca_error(e, ENOENT, "library %s of arca-vmm not found", d.needed[i]);
			goto fail;
		}
		if ((r = bind_add(b, n, path, e)) < 0)
			goto fail;
	}
	return 0;
fail:
	binds_free(b, *n);
	*n = 0;
	return r;
}

static void __attribute__((format(printf, 2, 3))) note(const struct arca_opts *o, const char *fmt,
							...);

/* ---- supervision ------------------------------------------------------------------------ */

static uint64_t now_ns_of(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return now_ns_of(CLOCK_MONOTONIC);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* After forwarding a termination signal, how long the VMM has to stop. */
#define RUN_KILL_GRACE_MS 2000

static int poll_ms(uint64_t deadline)
{
	if (!deadline)
		return -1;
	uint64_t t = now_ms();
	if (t >= deadline)
		return 0;
	return deadline - t > 1000000000 ? 1000000000 : (int)(deadline - t);
}

/*
 * Wait for the VMM; forward signals; enforce the timeout. The VMM passes
 * each signal on to the command in the guest (vmm/main.c on_signal) and
 * stops the VM itself on a second SIGINT within 2 s or --stop-timeout
 * after a SIGTERM. In case it cannot (stuck), SIGKILL follows
 * RUN_KILL_GRACE_MS after that point, and the run still reports 128 + the
 * signal arca received.
 */
/* -t: a SIGWINCH here becomes ARCA_SIG_WINSIZE to the VMM with this
 * terminal's new size as its value (rows << 16 | cols): it has no way to
 * ask the terminal itself. */
static void forward_winch(pid_t pid)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return;
	union sigval v = { .sival_int = (int)(((uint32_t)ws.ws_row << 16) | ws.ws_col) };
	sigqueue(pid, ARCA_SIG_WINSIZE, v);
}

/* How the run ended, from the VMM's status st, what it wrote to its
 * result pipe (rec, 8 bytes when have), the signal arca forwarded last
 * (0: none) and whether the timeout struck. Pure. */
void run_result_from(int st, const uint8_t *rec, bool have, int forwarded, bool timed_out,
		     struct arca_result *res)
{
	memset(res, 0, sizeof(*res));
	if (timed_out) {
		res->kind = ARCA_RESULT_TIMED_OUT;
		res->exit_code = ARCA_EXIT_TIMEOUT;
		return;
	}
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		if (forwarded && (sig == forwarded || sig == SIGKILL)) {
			res->kind = ARCA_RESULT_SIGNALED;
			res->value = forwarded;
			res->exit_code = 128 + forwarded;
			return;
		}
		res->kind = ARCA_RESULT_ERROR;
		res->exit_code = ARCA_EXIT_ERROR;
		res->err.code = EIO;
		snprintf(res->err.msg, sizeof(res->err.msg), "arca-vmm died of signal %d (%s)", sig,
			 strsignal(sig));
		return;
	}
	int code = WEXITSTATUS(st);
	res->exit_code = code;
	uint32_t kind = have ? (uint32_t)rec[0] | (uint32_t)rec[1] << 8 |
				       (uint32_t)rec[2] << 16 | (uint32_t)rec[3] << 24 : 0;
	uint32_t val = have ? (uint32_t)rec[4] | (uint32_t)rec[5] << 8 |
				      (uint32_t)rec[6] << 16 | (uint32_t)rec[7] << 24 : 0;
	/* The record counts only where it agrees with the status: the VMM
	 * exits 125 for a failure after the command ended. */
	if (have && kind == ARCA_EXIT_SIGNAL && val >= 1 && val <= 64 && code == 128 + (int)val) {
		res->kind = ARCA_RESULT_SIGNALED;
		res->value = (int)val;
	} else if (have && kind == ARCA_EXIT_CODE && (int)val == code) {
		res->kind = ARCA_RESULT_EXITED;
		res->value = code;
	} else if (code == ARCA_EXIT_ERROR) {
		/* ECHILD: arca-vmm said why itself, on its log. */
		res->kind = ARCA_RESULT_ERROR;
		res->err.code = ECHILD;
		snprintf(res->err.msg, sizeof(res->err.msg),
			 "arca-vmm failed (its message is in the log)");
	} else if (!have && code > 128 && code <= 128 + 64) {
		/* The VM was stopped by a signal before the command reported. */
		res->kind = ARCA_RESULT_SIGNALED;
		res->value = code - 128;
	} else {
		res->kind = ARCA_RESULT_EXITED;
		res->value = code;
	}
}

void run_result_error(struct arca_result *res, int r, const struct arca_err *e)
{
	if (!res)
		return;
	memset(res, 0, sizeof(*res));
	res->kind = ARCA_RESULT_ERROR;
	res->exit_code = ARCA_EXIT_ERROR;
	res->err.code = r < 0 ? -r : EIO;
	snprintf(res->err.msg, sizeof(res->err.msg), "%s",
		 e && e->msg[0] ? e->msg : "internal error");
}

/* *vm_end_ns: when the VM ended, as the VMM's record says (0: unknown);
 * *reaped_ns: when the VMM was reaped (CLOCK_MONOTONIC, both). */
static int supervise(pid_t pid, int pidfd, int sfd, int result_fd, uint64_t timeout_ms,
		     uint64_t stop_ms, bool tty, bool sandbox, struct run_net *net,
		     struct arca_result *res, uint64_t *vm_end_ns, uint64_t *reaped_ns)
{
	uint64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0, kill_at = 0, last_int = 0;
	int forwarded = 0, timed_out = 0;

	for (;;) {
		/* The signals, the VMM, and --net's DNS relay and --publish proxy. */
		struct pollfd p[2 + RUNNET_POLL_MAX] = { { .fd = sfd, .events = POLLIN },
							 { .fd = pidfd, .events = POLLIN } };
		size_t nnet = runnet_pollfds(net, p + 2, RUNNET_POLL_MAX);
		uint64_t next = deadline && (!kill_at || deadline < kill_at) ? deadline : kill_at;
		int wait = poll_ms(next), nt = runnet_timeout_ms(net);
		if (nt >= 0 && (wait < 0 || nt < wait))
			wait = nt;
		int n = poll(p, 2 + nnet, wait);
		if (n >= 0 && nnet) /* also on a timeout: the relay's expiries */
			runnet_handle(net, p + 2, nnet);
		if (n < 0 && errno != EINTR) {
			/* Cannot watch it any more: it must not outlive us. */
			kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			struct arca_err e;
			run_result_error(res, arca_error_errno(&e, errno, "poll"), &e);
			return ARCA_EXIT_ERROR;
		}
		uint64_t t = now_ms();
		if (deadline && t >= deadline && !timed_out) {
			timed_out = 1;
			kill(pid, SIGKILL);
		}
		if (kill_at && t >= kill_at) {
			kill(pid, SIGKILL);
			kill_at = 0;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				int sig = (int)si.ssi_signo;
				/* A sandbox's supervisor hears only arca stop
				 * (TERM) and arca kill (USR1: the VM now). */
				if (sandbox && sig == SIGUSR1) {
					kill(pid, SIGKILL);
					continue;
				}
				if (sig == SIGWINCH && tty)
					forward_winch(pid);
				else
					kill(pid, sig);
				uint64_t t2 = now_ms(), at = 0;
				if (sig == SIGTERM)
					at = t2 + stop_ms + RUN_KILL_GRACE_MS;
				else if (sig == SIGINT && last_int && t2 - last_int < 2000)
					at = t2 + RUN_KILL_GRACE_MS;
				if (sig == SIGINT)
					last_int = t2;
				if (sig != SIGWINCH && sig != SIGUSR1 && sig != SIGUSR2)
					forwarded = sig;
				if (at && (!kill_at || at < kill_at))
					kill_at = at;
			}
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) != pid)
			continue;
		*reaped_ns = now_ns();
		/* The VMM wrote its record (or nothing) before exiting: how
		 * the command ended, then when the VM did. */
		uint8_t rec[16];
		ssize_t got;
		do
			got = read(result_fd, rec, sizeof(rec));
		while (got < 0 && errno == EINTR);
		run_result_from(st, rec, got == (ssize_t)sizeof(rec), forwarded, timed_out, res);
		*vm_end_ns = 0;
		for (int i = 15; got == (ssize_t)sizeof(rec) && i >= 8; i--)
			*vm_end_ns = *vm_end_ns << 8 | rec[i];
		return res->exit_code;
	}
}

/* ---- arca run ----------------------------------------------------------------------------- */

/* Who the VMM runs as; see privsep_pick_ids() and the README. */
static int pick_ids(const struct arca_opts *o, bool rootless, struct privsep_ids *ids,
		    struct arca_err *e)
{
	if (rootless) {
		if (o->vmm_uid)
			return arca_error(e, EPERM,
					  "--vmm-user needs arca to run as root (it runs as uid %u)",
					  (unsigned)geteuid());
		*ids = (struct privsep_ids){ getuid(), getgid(), PRIVSEP_SRC_SELF };
		return 0;
	}
	privsep_pick_ids(o->vmm_uid, o->vmm_gid, getenv("SUDO_UID"), getenv("SUDO_GID"), ids);
	return 0;
}

/* Inputs read while (possibly) privileged, before their users open them. */
static int check_inputs(const struct arca_paths *p, uid_t extra, struct arca_err *e)
{
	const char *paths[] = { p->init, p->busybox }, *what[] = { "arca-init", "busybox" };
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (access(paths[i], F_OK) < 0)
			continue; /* the initrd builder reports it, if it needs it */
		int fd = jail_open_input(paths[i], what[i], extra, e);
		if (fd < 0)
			return fd;
		close(fd);
	}
	return 0;
}

/*
 * The guest's root and every share: validated, resolved and opened while
 * privileged (the VMM gets directory fds, never paths). The root's device
 * comes last. Fills fs[] (the VMM's view) and the spec records.
 */
struct run_shares {
	struct run_fs fs[RUN_MAX_FS];
	int fds[RUN_MAX_FS];
	size_t n;
	struct arca_spec_share spec[SHARES_MAX + SHARES_FILES_MAX];
	size_t nspec;
	/* Files (-v FILE:GUEST): the jail's child gathers them into the
	 * files device's tree (jail.h), fds[files_slot] (-1 until then).
	 * Root mode: detached clones; rootless: O_PATH fds of file_paths. */
	int file_fds[SHARES_FILES_MAX];
	const char *file_paths[SHARES_FILES_MAX];
	bool file_ro[SHARES_FILES_MAX];
	size_t nfiles, files_slot;
	uint32_t root_mode;
	char *root_tag;         /* NULL, or points at root_tag_buf */
	char root_tag_buf[16];
	bool idmapped[RUN_MAX_FS];
	/* Rootless: the jail's child clones each share (jail.c), by these. */
	const char *paths[RUN_MAX_FS];
	char *root_real;        /* the root directory's real path (owned) */
};

/*
 * Whose rights the shares carry (sharemnt.h, asuser.h): the user who
 * invoked arca (the sudo user, or root itself), and the idmapping from that
 * user's ids onto the VMM's when they differ.
 */
struct run_owner {
	bool rootless;
	uint32_t uid, gid;   /* the invoker (root mode) */
	int userns_fd;       /* invoker -> VMM ids, or -1 when they are the same */
	struct asuser as;    /* active under sudo: user-named paths open as the user */
};

static int run_owner_init(const struct privsep_ids *ids, bool rootless, struct run_owner *ow,
			  struct arca_err *e)
{
	*ow = (struct run_owner){ .rootless = rootless, .userns_fd = -1 };
	if (rootless)
		return 0;
	struct privsep_ids sudo;
	privsep_pick_ids(0, 0, getenv("SUDO_UID"), getenv("SUDO_GID"), &sudo);
	if (sudo.src == PRIVSEP_SRC_SUDO) {
		ow->uid = sudo.uid;
		ow->gid = sudo.gid;
		int r = asuser_init(&ow->as, sudo.uid, sudo.gid, e);
		if (r < 0)
			return r;
	}
	if (ow->uid != ids->uid || ow->gid != ids->gid) {
		/* Before any asuser_enter: writing the namespace's maps needs
		 * root's file-system ids. */
		ow->userns_fd = sharemnt_userns(ow->uid, ow->gid, ids->uid, ids->gid, e);
		if (ow->userns_fd < 0)
			return ow->userns_fd;
	}
	return 0;
}

static void run_owner_free(struct run_owner *ow)
{
	if (ow->userns_fd >= 0)
		close(ow->userns_fd);
	ow->userns_fd = -1;
	asuser_free(&ow->as);
}

/* Root mode: *fd (a share's directory or file) becomes its detached clone,
 * idmapped onto the VMM's ids unless passthrough; refused where the file
 * system cannot be idmapped and the VMM runs as other ids than the user. */
static int run_clone(struct run_owner *ow, int *fd, const char *path, bool ro, bool passthrough,
		     const char *what, bool *idmapped, struct arca_err *e)
{
	struct quoted q;
	int userns = passthrough ? -1 : ow->userns_fd;
	int nfd = sharemnt_clone(*fd, "", ro ? SHAREMNT_RO : 0, userns, idmapped, what, e);
	if (nfd == -ENOSYS)
		return arca_error(e, ENOSYS, "this kernel has no open_tree (Linux 5.2): cannot "
				  "confine %s '%s'", what, quote(&q, path));
	if (nfd < 0)
		return nfd;
	if (userns >= 0 && !*idmapped && ow->uid != 0) {
		close(nfd);
		return arca_error(e, EPERM,
				  "cannot confine %s '%s' to the rights of uid %u: its file system "
				  "does not support idmapped mounts on this kernel, and arca-vmm runs "
				  "as other ids (--vmm-user); drop --vmm-user or share a directory "
				  "on ext4, xfs or btrfs", what, quote(&q, path), (unsigned)ow->uid);
	}
	close(*fd);
	*fd = nfd;
	return 0;
}

/*
 * Replace *fd (a directory of the host's tree) by a detached clone of it
 * (sharemnt.h): ".." stops at its root in the kernel. Rootless, the jail's
 * child makes the clone, in the mount namespace it owns. A share whose
 * file system cannot be idmapped keeps the VMM's own ids: fine for root
 * (the VMM then has fewer rights than root), refused under sudo when the
 * VMM's ids differ from the user's (--vmm-user), since the VMM could then
 * read what the user cannot.
 */
static int run_detach(struct run_owner *ow, int *fd, const char *path, bool ro,
		      bool passthrough, const char *what, bool *idmapped, struct arca_err *e)
{
	struct quoted q;
	/* The O_PATH open checked only the path to it: the directory itself
	 * must be readable and searchable by whoever asked (under sudo, the
	 * user: AT_EACCESS takes the file-system ids asuser_enter set).
	 * faccessat2 is Linux 5.8; before it, the guest sees EACCES instead. */
	if (syscall(SYS_faccessat2, *fd, "", R_OK | X_OK, AT_EACCESS | AT_EMPTY_PATH) < 0 &&
	    errno == EACCES)
		return arca_error(e, EACCES, "refusing %s '%s': uid %u may not read it", what,
				  quote(&q, path), (unsigned)(ow->rootless ? getuid() : ow->uid));
	int r = sharemnt_check_beneath(path, what, e);
	if (r < 0 || ow->rootless)
		return r;
	return run_clone(ow, fd, path, ro, passthrough, what, idmapped, e);
}

static void run_shares_close(struct run_shares *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->fds[i] >= 0)
			close(rs->fds[i]);
	rs->n = 0;
	for (size_t i = 0; i < rs->nfiles; i++)
		if (rs->file_fds[i] >= 0)
			close(rs->file_fds[i]);
	rs->nfiles = 0;
	free(rs->root_real);
	rs->root_real = NULL;
}

/* Could uid:gid (no supplementary groups: the VMM has none) write into a
 * directory with this owner and mode? */
static bool writable_by(const struct stat *st, uint32_t uid, uint32_t gid)
{
	if (st->st_uid == uid)
		return st->st_mode & S_IWUSR;
	if (st->st_gid == gid)
		return st->st_mode & S_IWGRP;
	return st->st_mode & S_IWOTH;
}

/* A read-write share the VMM's user cannot write into fails every guest
 * write with EACCES: say so up front, it is rarely what the user meant
 * (typically plain root, whose VMM runs as nobody). */
static void warn_unwritable(const struct arca_opts *o, const struct run_shares *rs,
			    const struct run_owner *ow, const struct privsep_ids *ids)
{
	const struct arca_shares *sh = &o->shares;
	/* Directory shares are rs's first entries, in order; files are
	 * checked where they are opened (run_file_open). */
	for (size_t i = 0, k = 0; i < sh->n; i++) {
		struct stat st;
		if (sh->v[i].file)
			continue;
		bool idm = rs->idmapped[k++];
		/* Idmapped, the VMM writes with the invoker's owner rights. */
		uint32_t uid = idm ? ow->uid : ids->uid;
		uint32_t gid = idm ? ow->gid : ids->gid;
		if (sh->v[i].ro || stat(sh->v[i].host, &st) < 0 || writable_by(&st, uid, gid))
			continue;
		note(o, "arca: warning: share '%s' is not writable by uid %u, which arca-vmm runs as: "
			"guest writes will fail (run with sudo, use --vmm-user, or mark it :ro)\n",
			sh->v[i].host, (unsigned)ids->uid);
	}
}

/*
 * One file of -v FILE:GUEST: a regular file, not on a kernel pseudo-file
 * system, that the invoker may read (and write, unless :ro). Root mode:
 * replaced by a detached clone (a mount of the one file, idmapped as a
 * share is, read-only for :ro), which the jail's child binds into the
 * files device's tree; rootless, the child clones it itself.
 */
static int run_file_open(struct run_owner *ow, const struct arca_share *sh, int *out,
			 struct arca_err *e)
{
	struct quoted q;
	struct stat st;
	_cleanup_close_ int fd = open(sh->host, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(e, errno, "cannot open share '%s'", quote(&q, sh->host));
	if (fstat(fd, &st) < 0)
		return arca_error_errno(e, errno, "share '%s'", quote(&q, sh->host));
	if (!S_ISREG(st.st_mode))
		return arca_error(e, EINVAL, "share '%s' is no longer a regular file",
				  quote(&q, sh->host));
	int r = hostfs_check(fd, "share", sh->host, e);
	if (r < 0)
		return r;
	int want = R_OK | (sh->ro ? 0 : W_OK);
	if (syscall(SYS_faccessat2, fd, "", want, AT_EACCESS | AT_EMPTY_PATH) < 0 &&
	    errno == EACCES)
		return arca_error(e, EACCES, "refusing share '%s': uid %u may not %s it%s",
				  quote(&q, sh->host),
				  (unsigned)(ow->rootless ? getuid() : ow->uid),
				  sh->ro ? "read" : "read and write", sh->ro ? "" : " (mark it :ro?)");
	bool idmapped = false;
	if (!ow->rootless &&
	    (r = run_clone(ow, &fd, sh->host, sh->ro, sh->ids_passthrough, "share", &idmapped, e)) < 0)
		return r;
	*out = steal_fd(&fd);
	return 0;
}

static int run_shares_open(struct arca_opts *o, struct run_owner *ow, struct run_shares *rs,
			   struct arca_err *e)
{
	int r;

	memset(rs, 0, sizeof(*rs));
	/* The root's device: the host's /usr (default), --root DIR, or none
	 * (--root initrd; --root-disk, whose device is a disk). */
	if (o->root_initrd) {
		rs->root_mode = ARCA_ROOT_INITRD;
	} else if (o->disks.has_root) {
		rs->root_mode = o->disks.root.ro ? ARCA_ROOT_DISK : ARCA_ROOT_DISK_RW;
	} else {
		rs->root_mode = o->root ? (o->root_rw ? ARCA_ROOT_DIR_RW : ARCA_ROOT_DIR)
					: ARCA_ROOT_HOST;
		snprintf(rs->root_tag_buf, sizeof(rs->root_tag_buf), "%s",
			 o->root ? ROOT_TAG_ROOT : ROOT_TAG_USR);
		rs->root_tag = rs->root_tag_buf;
	}
	/* Disks are checked with the shares: a GUEST path is one namespace. */
	if ((r = shares_check(&o->shares, e)) < 0 ||
	    (r = disks_check(&o->disks, &o->shares, e)) < 0 ||
	    (r = shares_resolve(&o->shares, e)) < 0)
		return r;
	for (size_t i = 0; i < o->shares.n; i++) {
		const struct arca_share *sh = &o->shares.v[i];
		if (rs->root_tag && !strcmp(sh->tag, rs->root_tag))
			return arca_error(e, EINVAL, "fs tag '%s' is reserved for the guest's root",
					  sh->tag);
		if (sh->file) {
			/* Entry k of the files device: the k-th FILE record,
			 * the k-th file the jail's child binds (same order). */
			size_t k = rs->nfiles;
			rs->file_fds[k] = -1;
			rs->file_paths[k] = sh->host;
			rs->file_ro[k] = sh->ro;
			rs->nfiles++;
			if ((r = run_file_open(ow, sh, &rs->file_fds[k], e)) < 0)
				return r;
			struct arca_spec_share *ss = &rs->spec[rs->nspec++];
			ss->flags = ARCA_SHARE_F_FILE | (sh->ro ? ARCA_SHARE_F_RO : 0);
			static char files_tag[] = SHARES_FILES_TAG; /* spec's char * */
			ss->tag = files_tag;
			ss->path = sh->guest;
			continue;
		}
		int fd = shares_open(sh, e);
		if (fd < 0)
			return fd;
		rs->fds[rs->n] = fd;
		rs->paths[rs->n] = sh->host;
		rs->fs[rs->n] = (struct run_fs){ .tag = sh->tag, .ro = sh->ro,
						 .ids_passthrough = sh->ids_passthrough,
						 .writeback = sh->writeback,
						 .direct_io = sh->direct_io };
		rs->n++;
		if ((r = run_detach(ow, &rs->fds[rs->n - 1], sh->host, sh->ro,
				    sh->ids_passthrough, "share", &rs->idmapped[rs->n - 1], e)) < 0)
			return r;
		struct arca_spec_share *ss = &rs->spec[rs->nspec++];
		ss->flags = (sh->ro ? ARCA_SHARE_F_RO : 0) | (sh->guest ? 0 : ARCA_SHARE_F_NOMOUNT);
		ss->tag = o->shares.v[i].tag;
		ss->path = sh->guest;
	}
	if (rs->nfiles) {
		/* The files device: its tree is the jail child's to make. Its
		 * root is read-only; each file's own mount says rw or ro. */
		rs->files_slot = rs->n;
		rs->fds[rs->n] = -1;
		rs->paths[rs->n] = NULL;
		rs->fs[rs->n] = (struct run_fs){ .tag = SHARES_FILES_TAG };
		rs->n++;
	}
	if (rs->root_tag) {
		const char *host = o->root ? o->root : "/usr";
		rs->root_real = realpath(host, NULL);
		if (!rs->root_real)
			return arca_error_errno(e, errno, "--root directory '%s'", host);
		/* O_DIRECTORY: a non-directory fails here, with ENOTDIR. */
		int fd = open(rs->root_real, O_PATH | O_DIRECTORY | O_CLOEXEC);
		int err = errno;
		if (fd < 0 && err == ENOTDIR)
			return arca_error(e, ENOTDIR, "--root is not a directory: '%s'", host);
		if (fd < 0)
			return arca_error_errno(e, err, "cannot open the guest's root '%s'", host);
		rs->fds[rs->n] = fd;
		rs->paths[rs->n] = rs->root_real;
		if ((r = hostfs_check(fd, "--root", host, e)) < 0)
			return r;
		/* The host's /usr is never written; a --root DIR only with :rw
		 * (otherwise writes land in the guest's tmpfs overlay). */
		rs->fs[rs->n] = (struct run_fs){ .tag = rs->root_tag,
						 .ro = rs->root_mode != ARCA_ROOT_DIR_RW,
						 .ids_passthrough = rs->root_mode == ARCA_ROOT_HOST };
		rs->n++;
		if ((r = run_detach(ow, &rs->fds[rs->n - 1], rs->root_real, rs->fs[rs->n - 1].ro,
				    rs->fs[rs->n - 1].ids_passthrough, "--root",
				    &rs->idmapped[rs->n - 1], e)) < 0)
			return r;
	}
	return 0;
}

/*
 * The disks: opened and locked while privileged (disks_open), in the order
 * the VMM gets them (--disk in order, then --root-disk), with what the VMM
 * and arca-init are told about each.
 */
struct run_disks {
	int fds[DISKS_MAX + 1];
	struct run_blk blk[DISKS_MAX + 1];
	size_t n;
	struct arca_spec_disk spec[DISKS_MAX]; /* --root-disk has none: ROOT names it */
	size_t nspec;
};

unsigned run_blk_queues(unsigned cpus)
{
	/* More queues than vCPUs buy nothing (the guest maps one per CPU);
	 * with more vCPUs than queues, the guest shares queues among them. */
	return cpus < 1 ? 1 : cpus > RUN_BLK_MAX_QUEUES ? RUN_BLK_MAX_QUEUES : cpus;
}

static void run_disks_close(struct run_disks *rd)
{
	for (size_t i = 0; i < rd->n; i++)
		if (rd->fds[i] >= 0)
			close(rd->fds[i]);
	rd->n = 0;
}

static int run_disks_open(struct arca_opts *o, size_t nfs, struct run_disks *rd,
			  struct arca_err *e)
{
	size_t n = disks_count(&o->disks);
	int r;

	memset(rd, 0, sizeof(*rd));
	if ((r = disks_check_slots(nfs, n, e)) < 0)
		return r;
	if ((r = disks_open(&o->disks, rd->fds, e)) < 0)
		return r;
	rd->n = n;
	for (size_t i = 0; i < n; i++) {
		struct arca_disk *dk = disks_at(&o->disks, i);
		rd->blk[i] = (struct run_blk){ .id = dk->id, .ro = dk->ro, .direct = dk->direct,
					       .nosync = dk->nosync, .ephemeral = dk->ephemeral,
					       .queues = run_blk_queues(o->cpus) };
		if (dk == &o->disks.root)
			continue;
		/* An ephemeral disk is mounted read-write: its writes land in
		 * the VMM's overlay. */
		rd->spec[rd->nspec++] = (struct arca_spec_disk){
			.flags = (dk->ro ? ARCA_DISK_F_RO : 0) |
				 (dk->guest ? 0 : ARCA_DISK_F_NOMOUNT),
			.id = dk->id,
			.fstype = dk->fstype[0] ? dk->fstype : NULL,
			.path = dk->guest,
		};
	}
	return 0;
}

/* A note for the user (verbose details, warnings): to o->diag_fd, or
 * nowhere when it is -1. */
static void note(const struct arca_opts *o, const char *fmt, ...)
{
	if (o->diag_fd < 0)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(o->diag_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static int run_command_(struct arca_opts *o, struct arca_result *res, struct arca_err *e);

int run_command(struct arca_opts *o, struct arca_result *res, struct arca_err *e)
{
	struct arca_result local;
	int r = run_command_(o, res ? res : &local, e);
	if (r < 0)
		run_result_error(res, r, e);
	return r;
}

/* The launcher's own steps, in order, for --timings' detail lines: each
 * mark is when that step ended (CLOCK_MONOTONIC ns; 0: not reached). */
enum run_lmark {
	RUN_LMARK_INPUTS,  /* ids, limits, the shares and disks opened as the user */
	RUN_LMARK_CHECKS,  /* paths, kernel, modules, the cached inputs checked */
	RUN_LMARK_KVM,     /* /dev/kvm, the kernel opened, the KVM self-test */
	RUN_LMARK_KERNEL,  /* the decompressed kernel and the modules' initrd */
	RUN_LMARK_VMM,     /* arca-vmm opened, its binds, pipes */
	RUN_LMARK_NET,     /* the network (TAP, rules, passt) */
	RUN_LMARK_SPEC,    /* the run's archive and spec; --warm: the snapshot picked */
	RUN_LMARK_CGROUP,  /* the run's cgroup */
	RUN_LMARK_SPAWN,   /* the jailed child forked (it then execs arca-vmm) */
	RUN_LMARK_NR
};

static const char *const run_lmark_names[RUN_LMARK_NR] = {
	[RUN_LMARK_INPUTS] = "launcher: ids, shares and disks opened",
	[RUN_LMARK_CHECKS] = "launcher: paths, kernel, modules, cache checked",
	[RUN_LMARK_KVM] = "launcher: /dev/kvm, kernel file, KVM self-test",
	[RUN_LMARK_KERNEL] = "launcher: decompressed kernel, modules' initrd",
	[RUN_LMARK_VMM] = "launcher: arca-vmm, its binds and pipes",
	[RUN_LMARK_NET] = "launcher: network",
	[RUN_LMARK_SPEC] = "launcher: spec and archive (--warm: snapshot)",
	[RUN_LMARK_CGROUP] = "launcher: cgroup",
	[RUN_LMARK_SPAWN] = "launcher: jailed child forked",
};

/*
 * One run in three steps over one context (struct run_ctx), so each has a
 * single job: prepare (decide, validate, open every resource while
 * privileged, the spec and the VMM's argv), spawn (the cgroup, signals,
 * the terminal, the jailed VMM), wait (supervise it). run_ctx_free()
 * removes whatever exists, whichever step failed.
 */
struct run_ctx {
	struct run_disks rd;
	struct run_shares rs;
	struct run_owner owner;
	struct termios saved_tio;
	bool raw_mode;
	struct run_modules mods;
	struct arca_paths paths;
	struct arca_kernel kernel;
	struct arca_cgroup cg;
	struct jail_bind binds[JAIL_MAX_BINDS];
	size_t nbinds;
	struct privsep_ids ids;
	struct privsep_limits lim;
	struct privsep_nofile nof;
	struct run_argv ra;
	int fds[VMM_FD_END];
	int sfd, vmm_fd, pidfd, result_rd, vmm_proc_fd;
	bool rootless, masked;
	sigset_t mask, old;
	uid_t extra_owner;
	pid_t pid;
	uint64_t t_start, t_start_ns;
	/* --timings: t_start on CLOCK_BOOTTIME (the clock of a process's
	 * start time), the VM's end and the VMM's reaping (run_timings). */
	uint64_t t_start_boot_ns, vm_end_ns, reaped_ns;
	/* --timings: when each of the launcher's steps ended (run_lmark). */
	uint64_t lmark[RUN_LMARK_NR];
	char cmdline[ARCA_CMDLINE_MAX + 1];
	/* --warm: the snapshot (c->snap.fd; fds[VMM_FD_SNAPSHOT] is the
	 * VMM's copy); warm false when this run boots as usual. */
	bool warm;
	struct snapcache snap;
	/* --net: the run's netns, TAP, rules and DNS relay (runnet.h). */
	struct run_net net;
	/* rootless --net: passt and arca's end of its stream (passt.h). */
	struct passt passt;
};

static void run_ctx_init(struct run_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->owner.userns_fd = -1;
	c->cg.dirfd = -1;
	for (int i = 0; i < VMM_FD_END; i++)
		c->fds[i] = -1;
	c->sfd = c->vmm_fd = c->pidfd = c->result_rd = -1;
	c->snap.fd = -1;
	runnet_init(&c->net);
	passt_init(&c->passt);
	c->rootless = geteuid() != 0;
	c->t_start_ns = now_ns();
	c->t_start_boot_ns = now_ns_of(CLOCK_BOOTTIME);
	c->t_start = c->t_start_ns / 1000000;
}

static void run_lmark(struct run_ctx *c, enum run_lmark m)
{
	c->lmark[m] = now_ns();
}

static void run_ctx_free(struct run_ctx *c)
{
	if (c->raw_mode)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &c->saved_tio);
	run_owner_free(&c->owner);
	run_shares_close(&c->rs);
	run_disks_close(&c->rd);
	cgroup_destroy(&c->cg);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->sfd >= 0)
		close(c->sfd);
	if (c->result_rd >= 0)
		close(c->result_rd);
	if (c->masked)
		sigprocmask(SIG_SETMASK, &c->old, NULL);
	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	if (c->vmm_fd >= 0)
		close(c->vmm_fd);
	snapcache_close(&c->snap);
	runnet_free(&c->net);
	passt_stop(&c->passt);
	binds_free(c->binds, c->nbinds);
	kernel_free(&c->kernel);
	paths_free(&c->paths);
}

/* The kernel arca-vmm boots: by default, in place of the bzImage opened
 * at VMM_FD_KERNEL, the decompressed vmlinux from the cache
 * (launcher/kcache.h), which saves every guest its decompressor's run and
 * the memory it touches (vmm/boot.h): in the nested test host, 8
 * interleaved pairs of cold runs took 6.9 s against 10.1 s (medians),
 * every pair faster. The price is the guest kernel's KASLR, which only
 * guards the guest kernel against the guest's own processes: the VM is
 * arca's boundary, and --warm's restored guests share one layout anyway.
 * --kaslr boots the bzImage. (The triple fault that once made this
 * opt-in was later seen with the bzImage too: the nested host's.)
 * A kernel that is not LZ4 or cannot be decompressed or cached still
 * boots, as a bzImage; --verbose says why. */
static int run_kernel_fast(const struct arca_opts *o, struct run_ctx *c, struct arca_err *e)
{
	struct arca_err why = { 0 };

	if (o->kaslr)
		return 0;
	int fd = kcache_vmlinux_open(&c->paths, &c->kernel, c->fds[VMM_FD_KERNEL], &why);
	if (fd < 0) {
		if (o->verbose)
			note(o, "arca: booting the compressed kernel: %s\n", why.msg);
		return 0;
	}
	int r = jail_check_input_fd(fd, c->paths.cache_dir, "decompressed kernel in",
				    c->extra_owner, e);
	if (r < 0) {
		close(fd);
		return r;
	}
	close(c->fds[VMM_FD_KERNEL]);
	c->fds[VMM_FD_KERNEL] = fd;
	if (o->verbose)
		note(o, "arca: booting the decompressed kernel from the cache (--kaslr boots the bzImage)\n");
	return 0;
}

/* --warm: what a snapshot cannot carry yet makes the run boot as usual
 * (--verbose says why): disks (their contents and the guest's view of
 * them are per run). */
static bool run_warm_eligible(const struct arca_opts *o, const struct run_ctx *c)
{
	const char *why = NULL;
	if (c->rd.n || o->disks.has_root)
		why = "disks are not supported yet";
	else if (o->net.mode != NET_NONE)
		why = "--net is not supported yet";
	if (why && o->verbose)
		note(o, "arca: --warm: booting as usual: %s\n", why);
	return !why;
}

/* --warm: the snapshot to restore or to make (snapcache.h), the per-run
 * archive without the spec (a snapshot's guest already has its files),
 * and the spec itself, for the control channel, with the host's time and
 * fresh randomness (a restored guest's clock and random state are the
 * snapshot's: arca-init refreshes both before anything else). */
static int run_warm_prepare(struct run_ctx *c, const struct arca_opts *o, struct arca_spec *spec,
			    struct arca_err *e)
{
	uint64_t skel = 0;
	int r;
	if ((r = c->fds[VMM_FD_INITRD_SPEC] = initrd_spec_memfd_ex(spec, false, &skel, e)) < 0)
		return r;
	const char *tags[RUN_MAX_FS];
	for (size_t i = 0; i < c->rs.n && i < RUN_MAX_FS; i++)
		tags[i] = c->rs.fs[i].tag;
	struct snapcache_key k = {
		.kvm_fd = c->fds[VMM_FD_KVM], .kernel_fd = c->fds[VMM_FD_KERNEL],
		.initrd_fd = c->fds[VMM_FD_INITRD_BASE], .vmm_fd = c->vmm_fd,
		.skeleton_hash = skel, .kver = c->kernel.version, .cmdline = c->cmdline,
		.cpus = o->cpus, .memory_mib = o->memory_mib, .tags = tags,
		.ntags = c->rs.n < RUN_MAX_FS ? c->rs.n : RUN_MAX_FS,
	};
	if ((r = snapcache_open(c->paths.cache_dir, &k, c->extra_owner, &c->snap, e)) < 0)
		return r;
	if (o->verbose) {
		if (c->snap.note[0])
			note(o, "arca: --warm: refused %s; making a new one\n", c->snap.note);
		note(o, c->snap.restore ? "arca: --warm: starting from %s\n"
					: "arca: --warm: booting, then saving %s\n", c->snap.path);
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	spec->has_host = 1;
	spec->host_realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	if (getrandom(spec->seed, sizeof(spec->seed), 0) != (ssize_t)sizeof(spec->seed))
		return arca_error_errno(e, errno, "getrandom");
	if (c->snap.restore)
		spec->flags |= ARCA_SPEC_F_RESTORED;
	r = c->fds[VMM_FD_SPEC_RAW] = initrd_spec_raw_memfd(spec, e);
	explicit_bzero(spec->seed, sizeof(spec->seed));
	if (r < 0)
		return r;
	/* Its own copy: fds[] are closed once the VMM runs, the snapshot's
	 * fd is needed after it ended (snapcache_finish). */
	if ((c->fds[VMM_FD_SNAPSHOT] = fcntl(c->snap.fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return arca_error_errno(e, errno, "dup");
	return 0;
}

/* Steps 1 and 2: everything decided, checked and opened; nothing runs yet. */
static int run_prepare_vm(struct run_ctx *c, struct arca_opts *o, struct arca_err *e)
{
	int r;

	/* Step 1: decide and validate everything before touching anything. */
	if ((r = pick_ids(o, c->rootless, &c->ids, e)) < 0)
		return r;
	if ((r = privsep_limits(o->cpus, o->memory_mib, &c->lim)) < 0)
		return arca_error(e, -r, "invalid VM size");
	if ((r = run_owner_init(&c->ids, c->rootless, &c->owner, e)) < 0)
		return r;
	/* User-named paths with the user's rights (asuser.h); the detached
	 * clones need CAP_SYS_ADMIN, which the fsuid change leaves alone. */
	if ((r = asuser_enter(&c->owner.as, e)) < 0)
		return r;
	r = run_shares_open(o, &c->owner, &c->rs, e);
	if (r >= 0)
		r = run_disks_open(o, c->rs.n, &c->rd, e);
	asuser_leave(&c->owner.as);
	if (r < 0)
		return r;
	run_lmark(c, RUN_LMARK_INPUTS);
	/* Each share's FUSE server may hold up to ARCA_FS_MAX_FDS fds of its
	 * own, fewer where the hard NOFILE limit cannot be raised; each disk a
	 * few, plus two per queue. */
	uint64_t hard;
	bool can_raise;
	privsep_nofile(o->cpus, (unsigned)c->rs.n, (unsigned)c->rd.n, 0, true, &c->nof);
	jail_nofile_probe(c->nof.want, &hard, &can_raise);
	if (privsep_nofile(o->cpus, (unsigned)c->rs.n, (unsigned)c->rd.n, hard, can_raise, &c->nof) < 0) {
		r = arca_error(e, EMFILE,
			       "the hard open-files limit (RLIMIT_NOFILE) is %llu, too small for "
			       "this run: it needs at least %llu (%zu share%s); raise it "
			       "(ulimit -Hn, docker run --ulimit nofile=N:N) or give arca "
			       "CAP_SYS_RESOURCE", (unsigned long long)hard,
			       (unsigned long long)c->nof.need, c->rs.n, c->rs.n == 1 ? "" : "s");
		return r;
	}
	if (c->nof.clamped && o->verbose)
		note(o, "arca: hard NOFILE limit %llu cannot be raised to %llu: "
			"each share may hold %u host fds\n", (unsigned long long)hard,
			(unsigned long long)c->nof.want, c->nof.share_fds);
	/* Each share's io_uring may start up to URING_MAX_WORKERS (2)
	 * worker threads besides the share's own thread. */
	c->lim.pids_max += (uint32_t)c->rs.n * 3;
	/* An ephemeral disk's overlay is a memfd in the VMM (vmm/blk.c): what
	 * the guest writes there is memory charged to the VMM's cgroup, at
	 * most the disk's size. Without this the VMM would be OOM-killed after
	 * 256 MiB of overlay. Sizes fit 63 bits (a file's), so the sum of at
	 * most 9 of them cannot wrap 64 bits unless they are absurd; saturate
	 * anyway. */
	for (size_t i = 0; i < c->rd.n; i++) {
		const struct arca_disk *dk = disks_at(&o->disks, i);
		if (dk->ephemeral &&
		    __builtin_add_overflow(c->lim.memory_max, dk->size, &c->lim.memory_max))
			c->lim.memory_max = UINT64_MAX;
	}
	/* Likewise each disk's ring (PRIVSEP_PIDS_PER_DISK). */
	c->lim.pids_max += (uint32_t)c->rd.n * PRIVSEP_PIDS_PER_DISK;
	c->extra_owner = c->ids.src == PRIVSEP_SRC_SUDO ? c->ids.uid : (uid_t)-1;
	/* What a run killed with SIGKILL left behind. */
	cgroup_gc();

	if ((r = paths_resolve_in(&c->paths, &o->paths, e)) < 0)
		return r;
	if ((r = kernel_locate(o->kernel ? o->kernel : o->paths.kernel, c->paths.exe_dir, &c->kernel,
			       e)) < 0)
		return r;
	if ((r = run_modules_pick(&c->kernel, &o->disks, o->net.mode != NET_NONE, &c->mods, e)) < 0)
		return r;
	if ((r = check_inputs(&c->paths, c->extra_owner, e)) < 0)
		return r;
	run_lmark(c, RUN_LMARK_CHECKS);

	/* Step 2: acquire every resource while privileged; all close-on-exec,
	 * the jail moves exactly these onto the VMM's fd numbers. */
	if ((r = c->fds[VMM_FD_KVM] = open_kvm(e)) < 0)
		return r;
	/* A --kernel the user named is opened as the user; arca's own one
	 * (next to the binary) as root. */
	if (o->kernel && (r = asuser_enter(&c->owner.as, e)) < 0)
		return r;
	r = c->fds[VMM_FD_KERNEL] = jail_open_input(c->kernel.path, "kernel", c->extra_owner, e);
	if (o->kernel)
		asuser_leave(&c->owner.as);
	if (r < 0)
		return r;
	double test_ms;
	if ((r = kvmok_check(c->fds[VMM_FD_KVM], &test_ms, e)) < 0)
		return r;
	if (o->verbose)
		note(o, test_ms < 0 ? "arca: KVM self-test: passed earlier this boot (.kvm-ok)\n"
				    : "arca: KVM self-test: passed in %.1f ms\n", test_ms);
	run_lmark(c, RUN_LMARK_KVM);
	if ((r = run_kernel_fast(o, c, e)) < 0)
		return r;
	r = c->fds[VMM_FD_INITRD_BASE] = run_modules_initrd_open(&c->paths, &c->kernel, &c->mods, e);
	if (r < 0)
		return r;
	if ((r = jail_check_input_fd(c->fds[VMM_FD_INITRD_BASE], c->paths.cache_dir, "cached initrd in",
				     c->extra_owner, e)) < 0)
		return r;
	run_lmark(c, RUN_LMARK_KERNEL);
	if ((r = c->vmm_fd = jail_open_input(c->paths.vmm, "arca-vmm", c->extra_owner, e)) < 0)
		return r;
	if ((r = vmm_binds(c->vmm_fd, c->binds, &c->nbinds, e)) < 0)
		return r;
	/* The VMM's result pipe and log (run_vmm_argv names them). */
	int rp[2];
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = arca_error_errno(e, errno, "pipe");
		return r;
	}
	c->result_rd = rp[0];
	c->fds[VMM_FD_RESULT] = rp[1];
	c->fds[VMM_FD_LOG] = o->diag_fd >= 0 ? fcntl(o->diag_fd, F_DUPFD_CLOEXEC, 3)
					  : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (c->fds[VMM_FD_LOG] < 0) {
		r = arca_error_errno(e, errno, "the VMM's log");
		return r;
	}

	run_lmark(c, RUN_LMARK_VMM);

	/* The run spec: the command (run_spec_command says how), the VM's records. */
	struct arca_spec spec;
	run_spec_command(o, &spec);
	spec.flags |= (o->verbose ? ARCA_SPEC_F_VERBOSE : 0) | (o->agent ? ARCA_SPEC_F_AGENT : 0) |
		      (o->timings ? ARCA_SPEC_F_TIMES : 0);
	/* arca start: no command of its own (each exec brings one); the
	 * spec format wants an argv, the agent ignores it. */
	static char agent_arg0[] = "arca-agent";
	static char *agent_argv[] = { agent_arg0, NULL };
	if (o->agent) {
		spec.argv = agent_argv;
		spec.argc = 1;
	}
	spec.shares = c->rs.spec;
	spec.nshares = c->rs.nspec;
	spec.root_mode = c->rs.root_mode;
	spec.root_tag = o->disks.has_root ? o->disks.root.id : c->rs.root_tag;
	spec.disks = c->rd.spec;
	spec.ndisks = c->rd.nspec;
	if (o->net.mode != NET_NONE && c->rootless) {
		/* No CAP_NET_ADMIN for a netns, TAP or nftables rules: passt, a
		 * process of the user's, is the run's network, and what it
		 * cannot do is refused, not run open (passt.h). */
		if ((r = passt_setup(&c->passt, &o->net, &o->publish, getenv("PATH"), &spec.net,
				     e)) < 0)
			return r;
		spec.has_net = 1;
		if (o->verbose) {
			const uint8_t *a = spec.net.addr, *g = spec.net.gateway;
			note(o, "arca: net: guest %u.%u.%u.%u/%u via %u.%u.%u.%u through passt (pid "
				"%ld), MTU %u\n", a[0], a[1], a[2], a[3], spec.net.prefix, g[0], g[1],
			     g[2], g[3], (long)c->passt.pid, spec.net.mtu);
			for (size_t i = 0; i < o->publish.n; i++) {
				const struct net_publish *p = &o->publish.v[i];
				char hip[20];
				note(o, "arca: net: published %s:%u -> guest %u.%u.%u.%u:%u/%s (by passt)\n",
				     netcfg_ipv4_str(p->host_ip, hip, sizeof(hip)), p->host_port, a[0],
				     a[1], a[2], a[3], p->guest_port,
				     p->proto == IPPROTO_UDP ? "udp" : "tcp");
			}
		}
	} else if (o->net.mode != NET_NONE) {
		char notes[200];
		if ((r = runnet_setup(&c->net, &o->net, &o->publish, &spec.net, &spec.net6,
				      &spec.has_net6, notes, sizeof(notes), e)) < 0)
			return r;
		spec.has_net = 1;
		if (notes[0] && o->verbose)
			note(o, "%s", notes);
		if (o->verbose && o->net.mode == NET_POD) {
			const uint8_t *a = spec.net.addr, *g = spec.net.gateway;
			note(o, "arca: net: guest %u.%u.%u.%u/%u via %u.%u.%u.%u on %s of %s (wired to "
				"%s), MTU %u\n", a[0], a[1], a[2], a[3], spec.net.prefix, g[0], g[1], g[2],
			     g[3], c->net.pod.eth_name, o->net.ns_path, PODNET_TAP_IF, spec.net.mtu);
		} else if (o->verbose) {
			char ga[20], gw[20];
			note(o, "arca: net: slot %ld, guest %s/%u via %s on %s, host end %s\n",
			     c->net.nr.slot, netcfg_ipv4_str(c->net.nr.plan.guest, ga, sizeof(ga)),
			     c->net.nr.plan.prefix, netcfg_ipv4_str(c->net.nr.plan.gw, gw, sizeof(gw)),
			     NET_TAP_IF, c->net.nr.host_if);
			char g6[48], gw6[48];
			if (c->net.nr.v6)
				note(o, "arca: net: IPv6: guest %s/%u via %s\n",
				     netcfg_ipv6_str(c->net.nr.plan6.guest, g6, sizeof(g6)),
				     c->net.nr.plan6.prefix,
				     netcfg_ipv6_str(c->net.nr.plan6.gw, gw6, sizeof(gw6)));
			else
				note(o, "arca: net: no IPv6 for the guest: %s\n", c->net.nr.v6_why);
			char line[120];
			for (size_t i = 0; runnet_published(&c->net, i, line, sizeof(line)); i++)
				note(o, "%s", line);
		}
	}
	run_lmark(c, RUN_LMARK_NET);
	if (o->warm && !run_warm_eligible(o, c))
		o->warm = false;
	c->warm = o->warm;
	if (run_kernel_cmdline(o, c->cmdline, sizeof(c->cmdline)) < 0)
		return arca_error(e, E2BIG, "the guest kernel's command line is longer than %d bytes "
				  "(--kernel-arg, --cmdline)", ARCA_CMDLINE_MAX);
	if (c->warm) {
		if ((r = run_warm_prepare(c, o, &spec, e)) < 0)
			return r;
	} else if ((r = c->fds[VMM_FD_INITRD_SPEC] = initrd_spec_memfd(&spec, e)) < 0) {
		return r;
	}
	run_lmark(c, RUN_LMARK_SPEC);
	/* The VMM's fd numbers of the share directories, the disks and
	 * /proc/self/fd: what jail.c's child_fds() moves them onto. */
	for (size_t i = 0; i < c->rs.n; i++)
		c->rs.fs[i].fd = VMM_FD_END + (int)i;
	for (size_t i = 0; i < c->rd.n; i++)
		c->rd.blk[i].fd = VMM_FD_END + (int)(c->rs.n + i);
	size_t nnet = c->net.nr.tapfd >= 0 || c->passt.fd >= 0 ? 1 : 0;
	if (nnet) {
		c->ra.net_fd = VMM_FD_END + (int)(c->rs.n + c->rd.n);
		c->ra.net_mtu = spec.net.mtu;
		memcpy(c->ra.net_mac, spec.net.mac, sizeof(c->ra.net_mac));
		c->ra.net_stream = c->passt.fd >= 0; /* passt's stream, not a TAP */
	}
	if (c->warm) {
		c->ra.snap_fd = VMM_FD_SNAPSHOT;
		c->ra.spec_fd = VMM_FD_SPEC_RAW;
		c->ra.snap_restore = c->snap.restore;
	}
	c->vmm_proc_fd = c->rs.n ? VMM_FD_END + (int)(c->rs.n + c->rd.n + nnet) : -1;
	if (o->tty && !(o->rows && o->cols)) { /* libarca may have set a size */
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
		    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
			o->rows = ws.ws_row;
			o->cols = ws.ws_col;
		}
	}
	c->ra.launch_ns = c->t_start_ns;
	if (run_vmm_argv(o, c->cmdline, c->rs.fs, c->rs.n, c->rd.blk, c->rd.n, c->nof.share_fds,
			 c->vmm_proc_fd, &c->ra) < 0) {
		r = arca_error(e, E2BIG, "the guest kernel's command line is longer than %d bytes "
			       "(--kernel-arg, --cmdline)", ARCA_CMDLINE_MAX);
		return r;
	}

	return 0;
}

/* Steps 3 to 6: the cgroup, the signals arca forwards, the terminal, and
 * the VMM started in its jail. */
static int run_spawn(struct run_ctx *c, struct arca_opts *o, struct arca_err *e)
{
	int r;

	/* Step 4 (set up from here): the cgroup the VMM is born into. */
	if ((r = cgroup_create(&c->lim, &c->cg, e)) < 0)
		return r;
	run_lmark(c, RUN_LMARK_CGROUP);
	/* Say so when the VMM's memory and task limits are not in force (no
	 * cgroup v2, no delegation, rootless): its own bounds still hold. */
	if (c->cg.dirfd < 0 && o->verbose)
		note(o, "arca: no cgroup v2 for this run: arca-vmm runs without memory.max "
			"(%llu MiB) and pids.max (%u)\n",
			(unsigned long long)(c->lim.memory_max >> 20), c->lim.pids_max);

	/* Termination signals are taken through a signalfd and forwarded to
	 * the VMM, so arca outlives it, reports its status and cleans up. */
	sigemptyset(&c->mask);
	sigaddset(&c->mask, SIGINT);
	sigaddset(&c->mask, SIGTERM);
	sigaddset(&c->mask, SIGHUP);
	sigaddset(&c->mask, SIGQUIT);
	sigaddset(&c->mask, SIGUSR1);
	sigaddset(&c->mask, SIGUSR2);
	sigaddset(&c->mask, SIGWINCH);
	sigaddset(&c->mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &c->mask, &c->old);
	c->masked = true;
	c->sfd = signalfd(-1, &c->mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sfd < 0) {
		r = arca_error_errno(e, errno, "signalfd");
		return r;
	}

	/* Steps 3, 5, 6 happen in the child: namespaces, jail, drop, exec. */
	struct jail_spec js = {
		.vmm_fd = c->vmm_fd,
		.argv = c->ra.argv,
		.rootless = c->rootless,
		.uid = c->ids.uid,
		.gid = c->ids.gid,
		.nofile = c->nof.limit,
		.cgroup_fd = c->cg.dirfd,
		.binds = c->binds,
		.nbinds = c->nbinds,
		.child_mask = &c->old,
	};
	memcpy(js.fds, c->fds, sizeof(c->fds));
	/* Share directories, then disks (disks_check_slots keeps the sum
	 * within JAIL_MAX_EXTRA). */
	memcpy(js.extra_fds, c->rs.fds, c->rs.n * sizeof(int));
	memcpy(js.extra_fds + c->rs.n, c->rd.fds, c->rd.n * sizeof(int));
	js.nextra = c->rs.n + c->rd.n;
	if (c->net.nr.tapfd >= 0) /* then the TAP (run_prepare_vm numbered it) */
		js.extra_fds[js.nextra++] = c->net.nr.tapfd;
	else if (c->passt.fd >= 0) /* or passt's stream, in its place */
		js.extra_fds[js.nextra++] = c->passt.fd;

	/* Rootless, the child clones the shares (run_detach says why). */
	if (c->rootless) {
		js.nshares = c->rs.n;
		for (size_t i = 0; i < c->rs.n; i++) {
			js.share_paths[i] = c->rs.paths[i];
			js.share_ro[i] = c->rs.fs[i].ro;
		}
	}
	/* The files device's tree: made by the child, in its namespace. */
	js.nfiles = c->rs.nfiles;
	js.files_slot = c->rs.files_slot;
	memcpy(js.file_fds, c->rs.file_fds, c->rs.nfiles * sizeof(int));
	memcpy(js.file_paths, c->rs.file_paths, c->rs.nfiles * sizeof(char *));
	memcpy(js.file_ro, c->rs.file_ro, c->rs.nfiles * sizeof(bool));
	js.proc_fd = c->rs.n > 0;
	/* Everything checked: the VM will start. */
	if (!c->rootless)
		warn_unwritable(o, &c->rs, &c->owner, &c->ids);
	if (o->verbose)
		note(o, "arca: VM prepared in %llu ms (initrd, inputs, cgroup)\n",
			(unsigned long long)(now_ms() - c->t_start));
	/* -t on a terminal: raw mode, so every key (^C, ^Z, ^D...) reaches the
	 * guest's pty, whose line discipline acts on it. Restored below on
	 * every way out of this function. */
	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved_tio) == 0) {
		struct termios raw = c->saved_tio;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
			c->raw_mode = true;
	}
	c->pid = jail_spawn(&js, &c->pidfd, e);
	if (c->pid < 0) {
		r = c->pid;
		return r;
	}
	run_lmark(c, RUN_LMARK_SPAWN);
	for (int i = VMM_FD_KVM; i < VMM_FD_END; i++) {
		close(c->fds[i]);
		c->fds[i] = -1;
	}
	return 0;
}

/* Step 7: until the VMM ends; its exit code (res says how). */
static int run_wait(struct run_ctx *c, struct arca_opts *o, struct arca_result *res)
{
	/* Step 7: supervise, then remove what we created. */
	if (o->on_spawn)
		o->on_spawn(c->pid);
	int r = supervise(c->pid, c->pidfd, c->sfd, c->result_rd, o->timeout_ms,
			  o->stop_timeout_ms, o->tty, o->agent, &c->net, res, &c->vm_end_ns,
			  &c->reaped_ns);
	if (o->verbose && c->net.up) {
		char line[512];
		runnet_summary(&c->net, line, sizeof(line));
		note(o, "%s", line);
	}
	if (c->warm && !c->snap.restore) {
		int stored = snapcache_finish(&c->snap);
		if (o->verbose)
			note(o, stored ? "arca: snapshot stored as %s\n"
				       : "arca: no snapshot stored (%s was incomplete)\n",
			     stored ? c->snap.path : "the VMM's");
	}
	return r;
}

/* This process's start on CLOCK_BOOTTIME, from /proc/self/stat's
 * starttime (clock ticks since boot: 10 ms steps); 0 if unknown. */
static uint64_t process_start_boot_ns(void)
{
	char buf[1024];
	uint64_t start;
	_cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	long hz = sysconf(_SC_CLK_TCK);
	if (n <= 0 || hz <= 0)
		return 0;
	buf[n] = '\0';
	if (sbstate_stat_starttime(buf, &start) < 0)
		return 0;
	return start * (1000000000ull / (uint64_t)hz);
}

/*
 * --timings (and --verbose): the VMM's breakdown ends when the VM does;
 * four more lines complete it with what the launcher saw around it: its own
 * start (exec, the dynamic loader, option parsing) and, after the VM,
 * the VMM's exit (guest memory and the KVM VM torn down) and the
 * launcher's clean-up (cgroup, snapshot, network).
 */
static void run_timings(const struct arca_opts *o, const struct run_ctx *c, uint64_t done_ns)
{
	if (!(o->timings || o->verbose) || !c->vm_end_ns || c->vm_end_ns > c->reaped_ns ||
	    c->reaped_ns > done_ns)
		return;
	uint64_t exec_ns = process_start_boot_ns();
	double before = exec_ns && exec_ns <= c->t_start_boot_ns
				? (double)(c->t_start_boot_ns - exec_ns) / 1e6 : -1;
	if (before >= 0)
		note(o, "arca:   %-52s %9.1f\n", "arca itself before its first step (10 ms steps)",
		     before);
	/* The launcher's line above, step by step: each from the previous
	 * step's end (the first from the launcher's start). */
	uint64_t prev = c->t_start_ns;
	for (int i = 0; i < RUN_LMARK_NR; i++) {
		if (!c->lmark[i] || c->lmark[i] < prev)
			continue;
		note(o, "arca:     %-50s %9.1f\n", run_lmark_names[i],
		     (double)(c->lmark[i] - prev) / 1e6);
		prev = c->lmark[i];
	}
	note(o, "arca:   %-52s %9.1f\n", "after the VM: arca-vmm's exit (memory, KVM)",
	     (double)(c->reaped_ns - c->vm_end_ns) / 1e6);
	note(o, "arca:   %-52s %9.1f\n", "after the VM: arca's clean-up",
	     (double)(done_ns - c->reaped_ns) / 1e6);
	if (before >= 0)
		note(o, "arca:   %-52s %9.1f\n", "total, arca's start to its end",
		     before + (double)(done_ns - c->t_start_ns) / 1e6);
}

static int run_command_(struct arca_opts *o, struct arca_result *res, struct arca_err *e)
{
	struct run_ctx c;
	run_ctx_init(&c);
	int r = run_prepare_vm(&c, o, e);
	if (r >= 0)
		r = run_spawn(&c, o, e);
	if (r >= 0)
		r = run_wait(&c, o, res);
	run_ctx_free(&c);
	run_timings(o, &c, now_ns());
	return r;
}

int run_gc(const struct arca_opts *o, struct arca_err *e)
{
	int n = cgroup_gc();
	printf("arca: removed %d leftover run%s\n", n, n == 1 ? "" : "s");
	/* --net: a host link whose namespace outlived its run (net.h). */
	if (geteuid() == 0) {
		struct arca_err ne = { 0 };
		int k = net_gc(&ne);
		if (k < 0)
			fprintf(stderr, "arca: gc: %s\n", ne.msg);
		else if (k > 0)
			printf("arca: removed %d leftover network link%s\n", k, k == 1 ? "" : "s");
	}
	return 0;
}

int run_prepare(const struct arca_opts *o, struct arca_err *e)
{
	struct arca_paths paths = { 0 };
	struct arca_kernel kernel = { 0 };
	int r;

	if ((r = paths_resolve_in(&paths, &o->paths, e)) < 0)
		goto out;
	if ((r = kernel_locate(o->kernel ? o->kernel : o->paths.kernel, paths.exe_dir, &kernel, e)) < 0)
		goto out;
	r = run_base_initrd_open(&paths, &kernel, e);
	if (r >= 0) {
		close(r);
		printf("arca: base initrd for kernel %s ready in %s\n", kernel.version,
		       paths.cache_dir);
		r = 0;
		/* and --net's variant (virtio_net), so a first --net run does not
		 * build it */
		struct run_modules mods;
		struct arca_disks nodisks = { 0 };
		struct arca_err nerr = { 0 };
		int nfd = run_modules_pick(&kernel, &nodisks, true, &mods, &nerr);
		if (nfd >= 0)
			nfd = run_modules_initrd_open(&paths, &kernel, &mods, &nerr);
		if (nfd >= 0)
			close(nfd);
		else
			printf("arca: no --net initrd for kernel %s: %s\n", kernel.version, nerr.msg);
		/* and the decompressed kernel the runs boot (a kernel that is
		 * not LZ4 boots as it is: not an error here either) */
		struct arca_err why = { 0 };
		int kfd = open(kernel.path, O_RDONLY | O_CLOEXEC);
		int vfd = kfd >= 0 ? kcache_vmlinux_open(&paths, &kernel, kfd, &why) : -errno;
		if (vfd >= 0) {
			close(vfd);
			printf("arca: decompressed kernel %s ready in %s\n", kernel.version,
			       paths.cache_dir);
		} else {
			printf("arca: kernel %s boots compressed: %s\n", kernel.version,
			       kfd >= 0 ? why.msg : strerror(-vfd));
		}
		if (kfd >= 0)
			close(kfd);
	}
out:
	kernel_free(&kernel);
	paths_free(&paths);
	return r;
}
