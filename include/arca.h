/* SPDX-License-Identifier: MIT */
/*
 * libarca: boot KVM microVMs and run commands in them from C.
 *
 * The `arca` command line is a client of this library. A VM is described
 * with a builder (arca_vm_new, arca_vm_set_*, arca_vm_add_*), a command with
 * another (arca_exec_new, arca_exec_*); then either
 *
 *   arca_vm_run(vm, cmd, &res, &err)          one VM, one command, blocking
 *
 * or a long-lived sandbox:
 *
 *   arca_vm_start(vm, &err)                   boots; returns once ready
 *   arca_vm_exec(vm, cmd, &res, &err)         as often as wanted, also from
 *   arca_vm_exec_start(vm, cmd, &proc, &err)  several threads at once
 *   arca_vm_stop(vm, &err)                    graceful, then forced
 *
 * State machine of a handle (arca_vm_state):
 *
 *   CREATED --arca_vm_start--> STARTING --agent ready--> RUNNING
 *   CREATED --arca_vm_run----> RUNNING (while the call runs) --> STOPPED
 *   RUNNING --arca_vm_stop / arca_vm_kill--> STOPPING --> STOPPED
 *   STARTING/RUNNING --the VM ended by itself or arca failed--> CRASHED
 *
 * STOPPED and CRASHED are final: the handle can only be freed. A handle
 * is not safe to reconfigure from several threads; once RUNNING,
 * arca_vm_exec/arca_vm_exec_start/arca_proc_* may be called from any
 * thread.
 *
 * Conventions
 *  - Functions that can fail return 0 (or a pointer / count) on success and
 *    a negative errno on failure, filling the caller's struct arca_err (may
 *    be NULL) with one line naming the bad value. The library never prints,
 *    never exits and never calls exit handlers.
 *  - Process-wide state is left alone: no signal handler, signal mask,
 *    environment, working directory or umask of the caller changes. VMs
 *    are supervised by child processes the library forks (each reaped by
 *    the library through a pidfd: a caller that reaps every child with
 *    waitpid(-1) takes their status away, and results then read ERROR).
 *    A terminal is put in raw mode only when the caller asks for a tty
 *    (arca_exec_set_tty) and gave a terminal as the command's stdin.
 *  - The environment variables read are only those naming the user:
 *    HOME and XDG_CACHE_HOME (the initrd cache), XDG_RUNTIME_DIR (where
 *    sandboxes' sockets live), SUDO_UID/SUDO_GID (whose rights user-named
 *    paths are opened with under sudo). The CLI's ARCA_* variables are the
 *    CLI's; the library takes arca_vm_set_path() instead.
 *
 * Link with `pkg-config --cflags --libs arca`. Man page: arca(3).
 */
#ifndef ARCA_H
#define ARCA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARCA_LIB_VERSION_MAJOR 0
#define ARCA_LIB_VERSION_MINOR 1

/* An error: a positive errno and one line, no trailing newline. */
#ifndef ARCA_ERR_DEFINED
#define ARCA_ERR_DEFINED
struct arca_err {
	int code;
	char msg[512];
};
#endif

typedef struct arca_vm arca_vm;
typedef struct arca_exec arca_exec;
typedef struct arca_proc arca_proc;
typedef struct arca_console arca_console;

enum arca_vm_state {
	ARCA_VM_CREATED,
	ARCA_VM_STARTING,
	ARCA_VM_RUNNING,
	ARCA_VM_STOPPING,
	ARCA_VM_STOPPED,
	ARCA_VM_CRASHED,
};

/* How a command (or a VM) ended. */
enum arca_result_kind {
	ARCA_RESULT_EXITED,    /* value: its exit status, 0..255 */
	ARCA_RESULT_SIGNALED,  /* value: the signal that killed it, 1..64 (in
				* the guest, or forwarded by the caller) */
	ARCA_RESULT_TIMED_OUT, /* arca_vm_set_timeout_ms passed; VM killed */
	ARCA_RESULT_ERROR,     /* arca itself failed: err says why */
};

struct arca_result {
	enum arca_result_kind kind;
	int value;
	/* What the arca CLI exits with for this result: the status, 128+N,
	 * 124 (timed out) or 125 (error). */
	int exit_code;
	struct arca_err err; /* ARCA_RESULT_ERROR: the reason */
};

/* Limits the builders enforce (also the CLI's). */
#define ARCA_VM_CPUS_MAX       64u
#define ARCA_VM_MEMORY_MIN_MIB 64u
#define ARCA_VM_MEMORY_MAX_MIB 65536u
#define ARCA_VM_SHARES_MAX     7u
#define ARCA_VM_DISKS_MAX      8u

/* ---- the VM ----------------------------------------------------------- */

/* A new VM description: 1 CPU, 512 MiB, arca's kernel, the host's /usr as
 * the guest's root, no shares or disks, no timeouts but a 60 s boot
 * deadline. NULL on ENOMEM (e filled). */
arca_vm *arca_vm_new(struct arca_err *e);

/* Frees the handle. A sandbox it started and that still runs is stopped
 * first (arca_vm_stop), then killed if it does not stop. */
void arca_vm_free(arca_vm *vm);

int arca_vm_set_cpus(arca_vm *vm, unsigned cpus, struct arca_err *e);
int arca_vm_set_memory_mib(arca_vm *vm, unsigned mib, struct arca_err *e);

/* The guest kernel (an x86-64 bzImage with its modules next to it, as
 * `arca --kernel`); NULL: arca's own. */
int arca_vm_set_kernel(arca_vm *vm, const char *path, struct arca_err *e);
/* Kernel command line, layered: arca's defaults, then each added arg in
 * order. arca_vm_set_cmdline replaces all of it (defaults and args). */
int arca_vm_add_kernel_arg(arca_vm *vm, const char *arg, struct arca_err *e);
int arca_vm_set_cmdline(arca_vm *vm, const char *cmdline, struct arca_err *e);

#define ARCA_SHARE_RO              0x1u /* read-only, enforced by the kernel */
#define ARCA_SHARE_IDS_PASSTHROUGH 0x2u /* host ids as they are (see arca(1)) */
/* The cache mode (arca(1), -v ...:cache=MODE); neither: cache=auto. */
#define ARCA_SHARE_CACHE_WRITEBACK 0x4u /* the guest's page cache holds writes */
#define ARCA_SHARE_CACHE_NONE      0x8u /* no guest page cache for file data */

/* A host directory as a virtio-fs device. guest_path: where arca-init
 * mounts it (absolute), or NULL for the device only (tag: its mount tag,
 * required then; NULL otherwise picks one). Pseudo file systems (/proc,
 * /sys, /dev...) and paths the user cannot read are refused when the VM
 * starts. host_dir may be a regular file with a guest_path (and no
 * ARCA_SHARE_CACHE_* flag): it is bound there, as `arca run -v FILE:PATH`
 * (ARCA_VM_SHARES_MAX directories, and up to 32 files on one device). */
int arca_vm_add_share(arca_vm *vm, const char *host_dir, const char *guest_path,
		      const char *tag, unsigned flags, struct arca_err *e);

/* A disk image or block device, in `arca --disk` syntax:
 * PATH[:GUEST[:OPTS]] or PATH[,OPTS] (ro, ephemeral, id=, cache=, sync=,
 * fstype=). */
int arca_vm_add_disk(arca_vm *vm, const char *spec, struct arca_err *e);

/* The guest's root: a host directory (rw: writes go through to it; else
 * an overlay), or "initrd" for the busybox initramfs. Default: the host's
 * /usr with a generated /etc. */
int arca_vm_set_root(arca_vm *vm, const char *dir, bool rw, struct arca_err *e);
/* The guest's root from a disk image: IMAGE[:rw] (excludes set_root). */
int arca_vm_set_root_disk(arca_vm *vm, const char *spec, struct arca_err *e);

/* arca_vm_run: kill the VM after this long (0: never). */
int arca_vm_set_timeout_ms(arca_vm *vm, uint64_t ms, struct arca_err *e);
/* Stop the VM when its init has not reported by then (0: no deadline). */
int arca_vm_set_boot_timeout_ms(arca_vm *vm, uint64_t ms, struct arca_err *e);
/* After SIGTERM (arca_proc_signal, arca_vm_stop), how long commands have
 * before the VM is stopped anyway. */
int arca_vm_set_stop_timeout_ms(arca_vm *vm, uint64_t ms, struct arca_err *e);

/* The sandbox's name for arca_vm_start ([A-Za-z0-9][A-Za-z0-9_.-]{0,63});
 * `arca exec/ls/stop NAME` see it too. Default: "lib-PID-N". */
int arca_vm_set_name(arca_vm *vm, const char *name, struct arca_err *e);
const char *arca_vm_name(const arca_vm *vm);

/* on (the default): boot the kernel through its own decompressor, which
 * randomizes its base address (KASLR). off: boot the copy arca decompressed
 * once into its cache, at the kernel's link address, skipping the
 * decompressor; its pages are shared between VMs until written. */
int arca_vm_set_kaslr(arca_vm *vm, bool on, struct arca_err *e);
/* on: start from a snapshot of a booted VM of the same configuration in
 * arca's cache, made by the first such run (which boots as usual); the
 * CLI's --warm. Not with disks. Default off. */
int arca_vm_set_warm(arca_vm *vm, bool on, struct arca_err *e);

/* When the caller is root: the uid/gid arca-vmm runs as (neither 0). */
int arca_vm_set_vmm_user(arca_vm *vm, uint32_t uid, uint32_t gid, struct arca_err *e);

enum arca_path {
	ARCA_PATH_LIBEXEC, /* where arca-vmm and arca-init are */
	ARCA_PATH_CACHE,   /* the initrd cache (default ~/.cache/arca) */
	ARCA_PATH_BUSYBOX, /* the static busybox the initrd carries */
};
/* Default LIBEXEC: the installed bin directory next to libarca.so (its
 * ../bin), else the one configured at build time, else the directory of
 * the running program. */
int arca_vm_set_path(arca_vm *vm, enum arca_path which, const char *path,
		     struct arca_err *e);

/* Where arca's own diagnostics go (warnings, and with verbose the guest
 * kernel's log and init's steps): an fd the library dups, or -1 (the
 * default) for nowhere. A sandbox (arca_vm_start) logs to its own log
 * instead, as `arca start` does (`arca logs NAME`). */
int arca_vm_set_log_fd(arca_vm *vm, int fd, bool verbose, struct arca_err *e);

enum arca_vm_state arca_vm_state(arca_vm *vm);
const char *arca_vm_state_name(enum arca_vm_state s);

/* ---- a command ---------------------------------------------------------- */

/* argv: argv[0] is the program (a path, or a name looked up in PATH in
 * the guest), NULL-terminated, copied. */
arca_exec *arca_exec_new(const char *const argv[], struct arca_err *e);
void arca_exec_free(arca_exec *x);

/* "NAME=VALUE"; a later NAME replaces an earlier one. */
int arca_exec_add_env(arca_exec *x, const char *name_value, struct arca_err *e);
/* Absolute guest directory; default "/". */
int arca_exec_set_workdir(arca_exec *x, const char *dir, struct arca_err *e);
/* Long-lived sandboxes only: the command's uid and gid in the guest. */
int arca_exec_set_user(arca_exec *x, uint32_t uid, uint32_t gid, struct arca_err *e);
/* setrlimit(resource, soft, hard) for the command (RLIMIT_*; UINT64_MAX is
 * unlimited); at most 16, one per resource. */
int arca_exec_add_rlimit(arca_exec *x, int resource, uint64_t soft, uint64_t hard,
			 struct arca_err *e);
/* A pty in the guest for the command, of this size (0, 0: the size of the
 * stdin terminal, when it is one). Its stdout and stderr then arrive
 * merged, on stdout. */
int arca_exec_set_tty(arca_exec *x, bool tty, unsigned rows, unsigned cols,
		      struct arca_err *e);
/* The command's stdin, stdout and stderr: fds of the caller's (dup'ed when
 * the command starts; the caller keeps its own), -1 for /dev/null. Default:
 * the caller's 0, 1 and 2. */
int arca_exec_set_stdio(arca_exec *x, int in_fd, int out_fd, int err_fd, struct arca_err *e);
/* Instead: stdin, stdout and stderr through an arca_console the caller
 * drives (arca_proc_console); needs arca_vm_exec_start. */
int arca_exec_set_console(arca_exec *x, bool on, struct arca_err *e);

/* ---- one-shot ------------------------------------------------------------ */

/* Boot, run x, stop: the VM's whole life in one call. Fills *res (always,
 * when res is not NULL). Returns 0 when the command ran (whatever its
 * status), -errno when arca failed (res->kind ERROR, e filled too). */
int arca_vm_run(arca_vm *vm, const arca_exec *x, struct arca_result *res, struct arca_err *e);

/* ---- long-lived sandboxes -------------------------------------------------- */

/* Boot the VM as a sandbox serving commands; returns once it is ready
 * (RUNNING), or -errno with the tail of its log in e. The VM belongs to a
 * supervisor process (a child of the caller, in a session of its own):
 * arca_vm_stop, arca_vm_kill and arca_vm_free end it; if the caller dies
 * without them the sandbox lives on, and `arca ls` / `arca stop NAME`
 * see it. */
int arca_vm_start(arca_vm *vm, struct arca_err *e);

/* A handle on a sandbox started elsewhere (`arca start --name NAME`, or
 * another program's arca_vm_start), by name: RUNNING, for exec, signal,
 * wait, stop and kill; its builder settings are not known (and cannot be
 * set). Only the sandboxes of the caller's uid are visible. NULL with e
 * filled when there is no such sandbox. arca_vm_free leaves it running. */
arca_vm *arca_vm_attach(const char *name, struct arca_err *e);

/* Run x in the sandbox and wait for it (as arca_vm_run's result). Several
 * at once from different threads are fine. */
int arca_vm_exec(arca_vm *vm, const arca_exec *x, struct arca_result *res,
		 struct arca_err *e);

/* Start x in the sandbox and return at once. */
int arca_vm_exec_start(arca_vm *vm, const arca_exec *x, arca_proc **out, struct arca_err *e);
/* Wait up to timeout_ms (-1: forever) for it: 0 and *res, or -ETIMEDOUT. */
int arca_proc_wait(arca_proc *p, int timeout_ms, struct arca_result *res, struct arca_err *e);
/* Deliver sig to the command's process group in the guest. */
int arca_proc_signal(arca_proc *p, int sig, struct arca_err *e);
/* The console of a command started with arca_exec_set_console, else NULL. */
arca_console *arca_proc_console(arca_proc *p);
/* Frees; a command still running gets SIGKILL first. */
void arca_proc_free(arca_proc *p);

/* sig to every command this handle started (arca_vm_exec_start, or
 * arca_vm_exec from another thread) that still runs; returns how many. */
int arca_vm_signal(arca_vm *vm, int sig, struct arca_err *e);
/* Wait up to timeout_ms (-1: forever) for the sandbox to end (arca_vm_stop
 * from elsewhere, `arca stop NAME`, the guest powering off). *res: how its
 * supervisor ended (EXITED 0 after a clean stop). */
int arca_vm_wait(arca_vm *vm, int timeout_ms, struct arca_result *res, struct arca_err *e);
/* Graceful: every command gets SIGTERM, the VM powers off; after the stop
 * timeout (and a grace period) it is killed. Returns once it is gone. */
int arca_vm_stop(arca_vm *vm, struct arca_err *e);
/* The VM now (SIGKILL to arca-vmm); returns once it is gone. */
int arca_vm_kill(arca_vm *vm, struct arca_err *e);

/* ---- console helpers (for tests driving an interactive command) ------------ */

/* Wait until `pattern` (a plain substring) has appeared in the command's
 * output since the last match, consuming output up to and including it.
 * 0 when found; -ETIMEDOUT after timeout_ms (-1: forever); -EPIPE when the
 * output ended first. The text read so far stays in the console's
 * buffer (at most 1 MiB, oldest dropped first). */
int arca_console_wait_for(arca_console *c, const char *pattern, int timeout_ms,
			  struct arca_err *e);
/* Write line and a newline to the command's stdin (blocking). */
int arca_console_write_line(arca_console *c, const char *line, struct arca_err *e);
/* Copy out (and consume) what output is buffered or readable now, without
 * waiting; returns the number of bytes (0: none), -EPIPE at the end. */
ssize_t arca_console_read_available(arca_console *c, char *buf, size_t cap);
/* End of input for the command (it reads EOF). */
int arca_console_close_input(arca_console *c);

#ifdef __cplusplus
}
#endif

#endif
