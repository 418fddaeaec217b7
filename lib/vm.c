/* SPDX-License-Identifier: MIT */
/*
 * libarca's builders (arca.h): every setter validates its value at once,
 * with the same limits and words as the CLI, so a bad value is reported
 * where the caller set it rather than when the VM starts. What needs the
 * host (paths exist, are readable, are not /proc) is checked when it
 * starts, by the launcher, as for the CLI.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "lib.h"
#include "sbstate.h"

#ifndef ARCA_BINDIR
#define ARCA_BINDIR "/usr/local/bin"
#endif

/* ---- helpers ---------------------------------------------------------------------------- */

static int nomem(struct arca_err *e)
{
	return arca_error(e, ENOMEM, "out of memory");
}


static int set_str(char **dst, const char *val, struct arca_err *e)
{
	char *c = NULL;
	if (val && !(c = strdup(val)))
		return nomem(e);
	free(*dst);
	*dst = c;
	return 0;
}

/* Text that goes onto the kernel command line: printable, no spaces in an
 * argument (one word each), at most ARCA_CMDLINE_MAX bytes. */
static int cmdline_text_ok(const char *s, bool spaces)
{
	size_t n = strlen(s);
	if (n == 0 || n > ARCA_CMDLINE_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (!spaces && *p == ' '))
			return 0;
	return 1;
}

static bool vm_configurable(arca_vm *vm, struct arca_err *e)
{
	if (vm->state == ARCA_VM_CREATED)
		return true;
	arca_error(e, EBUSY, "the VM was started already (state %s)",
		   arca_vm_state_name(vm->state));
	return false;
}

#define CONFIGURABLE(vm, e)                                                                  \
	do {                                                                                 \
		if (!(vm))                                                                   \
			return arca_error(E(e), EINVAL, "no VM handle");                     \
		if (!vm_configurable(vm, E(e)))                                              \
			return -EBUSY;                                                       \
	} while (0)

/* ---- the VM ------------------------------------------------------------------------------- */

const char *lib_default_libexec(void)
{
	/* libarca.so in PREFIX/lib: its helpers are in PREFIX/bin. Linked
	 * statically, dladdr names the program, whose directory is what the
	 * launcher uses anyway. */
	static char dir[PATH_MAX];
	Dl_info info;
	if (dladdr((void *)lib_default_libexec, &info) && info.dli_fname &&
	    info.dli_fname[0] == '/') {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", info.dli_fname);
		if (strstr(basename(tmp), "libarca.so")) {
			snprintf(tmp, sizeof(tmp), "%s", info.dli_fname);
			int n = snprintf(dir, sizeof(dir), "%s/../bin", dirname(tmp));
			char vmm[PATH_MAX + 16];
			snprintf(vmm, sizeof(vmm), "%s/arca-vmm", dir);
			if (n > 0 && (size_t)n < sizeof(dir) && access(vmm, X_OK) == 0)
				return dir;
		}
	}
	if (access(ARCA_BINDIR "/arca-vmm", X_OK) == 0)
		return ARCA_BINDIR;
	return NULL;
}

arca_vm *arca_vm_new(struct arca_err *e)
{
	static unsigned seq;
	arca_vm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		nomem(E(e));
		return NULL;
	}
	vm->o.cmd = ARCA_CMD_RUN;
	vm->o.cpus = ARCA_CPUS_DEFAULT;
	vm->o.memory_mib = ARCA_MEMORY_DEFAULT_MIB;
	vm->o.boot_timeout_ms = ARCA_BOOT_TIMEOUT_DEFAULT_MS;
	vm->o.stop_timeout_ms = ARCA_STOP_TIMEOUT_DEFAULT_MS;
	vm->o.diag_fd = -1;
	vm->log_fd = -1;
	vm->sup_pidfd = -1;
	vm->state = ARCA_VM_CREATED;
	pthread_mutex_init(&vm->lock, NULL);
	snprintf(vm->name, sizeof(vm->name), "lib-%d-%u", (int)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	return vm;
}

int arca_vm_set_cpus(arca_vm *vm, unsigned cpus, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (cpus < ARCA_CPUS_MIN || cpus > ARCA_CPUS_MAX)
		return arca_error(E(e), EINVAL, "invalid number of CPUs %u: must be %u..%u", cpus,
				  ARCA_CPUS_MIN, ARCA_CPUS_MAX);
	vm->o.cpus = cpus;
	return 0;
}

int arca_vm_set_memory_mib(arca_vm *vm, unsigned mib, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (mib < ARCA_MEMORY_MIN_MIB || mib > ARCA_MEMORY_MAX_MIB)
		return arca_error(E(e), EINVAL, "invalid memory size %u MiB: must be %u..%u", mib,
				  ARCA_MEMORY_MIN_MIB, ARCA_MEMORY_MAX_MIB);
	vm->o.memory_mib = mib;
	return 0;
}

int arca_vm_set_kernel(arca_vm *vm, const char *path, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (path && !*path)
		return arca_error(E(e), EINVAL, "empty kernel path");
	if (set_str(&vm->kernel, path, E(e)) < 0)
		return -ENOMEM;
	vm->o.kernel = vm->kernel;
	return 0;
}

int arca_vm_add_kernel_arg(arca_vm *vm, const char *arg, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (!arg || !cmdline_text_ok(arg, false))
		return arca_error(E(e), EINVAL, "invalid kernel argument '%s': one word of printable "
				  "characters", arg ? arg : "(null)");
	if (vm->o.nkernel_args >= ARCA_KERNEL_ARGS_MAX)
		return arca_error(E(e), E2BIG, "more than %d kernel arguments", ARCA_KERNEL_ARGS_MAX);
	char *c = strdup(arg);
	if (!c)
		return nomem(E(e));
	vm->kargs[vm->o.nkernel_args] = c;
	vm->o.kernel_args[vm->o.nkernel_args++] = c;
	return 0;
}

int arca_vm_set_cmdline(arca_vm *vm, const char *cmdline, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (cmdline && !cmdline_text_ok(cmdline, true))
		return arca_error(E(e), EINVAL, "invalid kernel command line: printable characters, "
				  "1..%d bytes", ARCA_CMDLINE_MAX);
	if (set_str(&vm->cmdline, cmdline, E(e)) < 0)
		return -ENOMEM;
	vm->o.cmdline = vm->cmdline;
	/* Replaces the defaults and every argument added before. */
	for (size_t i = 0; i < vm->o.nkernel_args; i++) {
		free(vm->kargs[i]);
		vm->kargs[i] = NULL;
		vm->o.kernel_args[i] = NULL;
	}
	vm->o.nkernel_args = 0;
	return 0;
}

int arca_vm_add_share(arca_vm *vm, const char *host_dir, const char *guest_path, const char *tag,
		      unsigned flags, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	struct arca_shares *s = &vm->o.shares;
	if (!host_dir || !*host_dir)
		return arca_error(E(e), EINVAL, "a share needs a host directory");
	if (flags & ~(ARCA_SHARE_RO | ARCA_SHARE_IDS_PASSTHROUGH | ARCA_SHARE_CACHE_WRITEBACK |
		      ARCA_SHARE_CACHE_NONE))
		return arca_error(E(e), EINVAL, "unknown share flags 0x%x", flags);
	if ((flags & ARCA_SHARE_CACHE_WRITEBACK) && (flags & ARCA_SHARE_CACHE_NONE))
		return arca_error(E(e), EINVAL, "share '%s': ARCA_SHARE_CACHE_WRITEBACK and "
				  "ARCA_SHARE_CACHE_NONE exclude each other", host_dir);
	if (!guest_path && !tag)
		return arca_error(E(e), EINVAL, "share '%s': a device-only share needs a tag",
				  host_dir);
	if (tag && (strlen(tag) > SHARE_TAG_MAX || !spec_tag_ok(tag, strlen(tag))))
		return arca_error(E(e), EINVAL, "share '%s': invalid tag '%s'", host_dir, tag);
	/* Files and directories are told apart (and devices counted) when
	 * the VM starts (shares_resolve). */
	if (s->n >= SHARES_MAX + SHARES_FILES_MAX)
		return arca_error(E(e), E2BIG, "more than %d shares", SHARES_MAX + SHARES_FILES_MAX);
	_cleanup_free_ char *host = strdup(host_dir);
	_cleanup_free_ char *guest = guest_path ? strdup(guest_path) : NULL;
	if (!host || (guest_path && !guest))
		return nomem(E(e));
	if (guest && (guest[0] != '/' || shares_normalize_guest(guest) < 0))
		return arca_error(E(e), EINVAL, "share '%s': the guest path '%s' must be absolute, "
				  "without '.' or '..'", host_dir, guest_path);
	struct arca_share *sh = &s->v[s->n];
	memset(sh, 0, sizeof(*sh));
	sh->host = steal_pointer(&host);
	sh->guest = steal_pointer(&guest);
	sh->ro = flags & ARCA_SHARE_RO;
	sh->ids_passthrough = flags & ARCA_SHARE_IDS_PASSTHROUGH;
	sh->writeback = flags & ARCA_SHARE_CACHE_WRITEBACK;
	sh->direct_io = flags & ARCA_SHARE_CACHE_NONE;
	if (tag) {
		snprintf(sh->tag, sizeof(sh->tag), "%s", tag);
		sh->user_tag = true;
	}
	s->n++;
	/* Cross-checks (one guest path twice, /proc, duplicate tags) now,
	 * as the CLI does them once its words are in. */
	int r = shares_check(s, E(e));
	if (r < 0) {
		s->n--;
		free(sh->host);
		free(sh->guest);
		memset(sh, 0, sizeof(*sh));
	}
	return r;
}

int arca_vm_add_disk(arca_vm *vm, const char *spec, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (!spec || !*spec)
		return arca_error(E(e), EINVAL, "empty disk");
	return disks_add(&vm->o.disks, spec, E(e));
}

int arca_vm_set_root(arca_vm *vm, const char *dir, bool rw, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (vm->o.disks.has_root)
		return arca_error(E(e), EINVAL, "the root is a disk already (arca_vm_set_root_disk)");
	if (!dir || !*dir)
		return arca_error(E(e), EINVAL, "the root needs a directory (or \"initrd\")");
	vm->o.root_initrd = !strcmp(dir, "initrd");
	vm->o.root_rw = !vm->o.root_initrd && rw;
	if (set_str(&vm->root, vm->o.root_initrd ? NULL : dir, E(e)) < 0)
		return -ENOMEM;
	vm->o.root = vm->root;
	return 0;
}

int arca_vm_set_root_disk(arca_vm *vm, const char *spec, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (vm->o.root || vm->o.root_initrd)
		return arca_error(E(e), EINVAL, "the root is a directory already (arca_vm_set_root)");
	if (!spec || !*spec)
		return arca_error(E(e), EINVAL, "empty root disk");
	return disks_set_root(&vm->o.disks, spec, E(e));
}

/* A duration setter: at most max_s seconds. */
static int set_ms(arca_vm *vm, uint64_t *field, uint64_t ms, uint64_t max_s, const char *what,
		  struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (ms > max_s * 1000)
		return arca_error(E(e), EINVAL, "%s %llu ms is over %llu s", what,
				  (unsigned long long)ms, (unsigned long long)max_s);
	*field = ms;
	return 0;
}

int arca_vm_set_timeout_ms(arca_vm *vm, uint64_t ms, struct arca_err *e)
{
	return set_ms(vm, vm ? &vm->o.timeout_ms : NULL, ms, ARCA_TIMEOUT_MAX_S, "timeout", e);
}

int arca_vm_set_boot_timeout_ms(arca_vm *vm, uint64_t ms, struct arca_err *e)
{
	return set_ms(vm, vm ? &vm->o.boot_timeout_ms : NULL, ms, ARCA_BOOT_TIMEOUT_MAX_S,
		      "boot timeout", e);
}

int arca_vm_set_stop_timeout_ms(arca_vm *vm, uint64_t ms, struct arca_err *e)
{
	return set_ms(vm, vm ? &vm->o.stop_timeout_ms : NULL, ms, ARCA_STOP_TIMEOUT_MAX_S,
		      "stop timeout", e);
}

int arca_vm_set_name(arca_vm *vm, const char *name, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (!name || !sandbox_name_ok(name))
		return arca_error(E(e), EINVAL, "invalid sandbox name '%s': [A-Za-z0-9][A-Za-z0-9_.-], "
				  "at most 64", name ? name : "(null)");
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	return 0;
}

const char *arca_vm_name(const arca_vm *vm)
{
	return vm ? vm->name : NULL;
}

int arca_vm_set_vmm_user(arca_vm *vm, uint32_t uid, uint32_t gid, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (uid == 0 || gid == 0)
		return arca_error(E(e), EINVAL, "the VMM's uid and gid may not be 0 (%u:%u)",
				  (unsigned)uid, (unsigned)gid);
	vm->o.vmm_uid = uid;
	vm->o.vmm_gid = gid;
	return 0;
}

int arca_vm_set_path(arca_vm *vm, enum arca_path which, const char *path, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	if (path && path[0] != '/')
		return arca_error(E(e), EINVAL, "path '%s' must be absolute", path);
	char **dst;
	switch (which) {
	case ARCA_PATH_LIBEXEC:
		dst = &vm->libexec;
		break;
	case ARCA_PATH_CACHE:
		dst = &vm->cache;
		break;
	case ARCA_PATH_BUSYBOX:
		dst = &vm->busybox;
		break;
	default:
		return arca_error(E(e), EINVAL, "unknown path kind %d", (int)which);
	}
	return set_str(dst, path, E(e));
}

int arca_vm_set_kaslr(arca_vm *vm, bool on, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	vm->o.kaslr = on;
	return 0;
}

int arca_vm_set_warm(arca_vm *vm, bool on, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	vm->o.warm = on;
	return 0;
}

int arca_vm_set_log_fd(arca_vm *vm, int fd, bool verbose, struct arca_err *e)
{
	CONFIGURABLE(vm, e);
	int c = -1;
	if (fd >= 0 && (c = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return arca_error_errno(E(e), errno, "log fd %d", fd);
	if (vm->log_fd >= 0)
		close(vm->log_fd);
	vm->log_fd = c;
	vm->o.verbose = verbose;
	return 0;
}

const char *arca_vm_state_name(enum arca_vm_state s)
{
	static const char *const names[] = { "created", "starting", "running",
					     "stopping", "stopped", "crashed" };
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

void lib_opts_for(const arca_vm *vm, const arca_exec *x, struct arca_opts *o)
{
	*o = vm->o;
	o->paths = (struct arca_paths_in){
		.exe_dir = vm->libexec ? vm->libexec : lib_default_libexec(),
		.libexec = vm->libexec,
		.busybox = vm->busybox,
		.cache_dir = vm->cache,
	};
	o->name = vm->name;
	o->config_path = NULL;
	o->config = NULL;
	o->on_spawn = NULL;
	if (!x)
		return;
	o->argv = x->argv;
	o->argc = x->argc;
	o->env = x->envc ? x->env : NULL;
	o->envc = x->envc;
	o->workdir = x->workdir;
	o->has_user = x->has_user;
	o->user_uid = x->uid;
	o->user_gid = x->gid;
	memcpy(o->rlimits, x->rl, sizeof(x->rl[0]) * x->nrl);
	o->nrlimits = x->nrl;
	o->tty = x->tty;
	o->interactive = true;
	o->rows = (uint16_t)x->rows;
	o->cols = (uint16_t)x->cols;
}

/* ---- a command ------------------------------------------------------------------------------ */

void arca_exec_free(arca_exec *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->argc; i++)
		free(x->argv[i]);
	free(x->argv);
	for (size_t i = 0; i < x->envc; i++)
		free(x->env[i]);
	free(x->env);
	free(x->workdir);
	free(x);
}

arca_exec *arca_exec_new(const char *const argv[], struct arca_err *e)
{
	size_t n = 0;
	if (!argv || !argv[0] || !argv[0][0]) {
		arca_error(E(e), EINVAL, "a command needs argv[0]");
		return NULL;
	}
	while (argv[n])
		n++;
	arca_exec *x = calloc(1, sizeof(*x));
	if (!x || !(x->argv = calloc(n + 1, sizeof(char *)))) {
		free(x);
		nomem(E(e));
		return NULL;
	}
	for (; x->argc < n; x->argc++)
		if (!(x->argv[x->argc] = strdup(argv[x->argc]))) {
			arca_exec_free(x);
			nomem(E(e));
			return NULL;
		}
	x->fds[0] = 0;
	x->fds[1] = 1;
	x->fds[2] = 2;
	return x;
}

int arca_exec_add_env(arca_exec *x, const char *nv, struct arca_err *e)
{
	const char *eq = nv ? strchr(nv, '=') : NULL;
	if (!x || !eq || eq == nv)
		return arca_error(E(e), EINVAL, "invalid environment entry '%s': NAME=VALUE",
				  nv ? nv : "(null)");
	size_t klen = (size_t)(eq - nv) + 1;
	char *c = strdup(nv);
	if (!c)
		return nomem(E(e));
	for (size_t i = 0; i < x->envc; i++)
		if (!strncmp(x->env[i], nv, klen)) {
			free(x->env[i]);
			x->env[i] = c;
			return 0;
		}
	char **v = realloc(x->env, (x->envc + 2) * sizeof(char *));
	if (!v) {
		free(c);
		return nomem(E(e));
	}
	x->env = v;
	x->env[x->envc++] = c;
	x->env[x->envc] = NULL;
	return 0;
}

int arca_exec_set_workdir(arca_exec *x, const char *dir, struct arca_err *e)
{
	if (!x || !dir || dir[0] != '/' || strlen(dir) > ARCA_WORKDIR_MAX)
		return arca_error(E(e), EINVAL, "invalid working directory '%s': an absolute path",
				  dir ? dir : "(null)");
	return set_str(&x->workdir, dir, E(e));
}

int arca_exec_set_user(arca_exec *x, uint32_t uid, uint32_t gid, struct arca_err *e)
{
	if (!x)
		return arca_error(E(e), EINVAL, "no command handle");
	x->has_user = true;
	x->uid = uid;
	x->gid = gid;
	return 0;
}

int arca_exec_add_rlimit(arca_exec *x, int resource, uint64_t soft, uint64_t hard,
			 struct arca_err *e)
{
	if (!x)
		return arca_error(E(e), EINVAL, "no command handle");
	struct arca_spec_rlimit rl = { (uint32_t)resource, soft, hard };
	if (resource < 0 || !spec_rlimit_ok(&rl))
		return arca_error(E(e), EINVAL, "invalid rlimit %d: resource 0..15, soft <= hard",
				  resource);
	for (size_t i = 0; i < x->nrl; i++)
		if (x->rl[i].resource == rl.resource)
			return arca_error(E(e), EEXIST, "rlimit %d given twice", resource);
	if (x->nrl >= ARCA_RLIMITS_MAX)
		return arca_error(E(e), E2BIG, "more than %d rlimits", ARCA_RLIMITS_MAX);
	x->rl[x->nrl++] = rl;
	return 0;
}

int arca_exec_set_tty(arca_exec *x, bool tty, unsigned rows, unsigned cols, struct arca_err *e)
{
	if (!x || rows > 65535 || cols > 65535 || (!rows != !cols))
		return arca_error(E(e), EINVAL, "invalid terminal size %ux%u", rows, cols);
	x->tty = tty;
	x->rows = rows;
	x->cols = cols;
	return 0;
}

int arca_exec_set_stdio(arca_exec *x, int in_fd, int out_fd, int err_fd, struct arca_err *e)
{
	int fds[3] = { in_fd, out_fd, err_fd };
	if (!x)
		return arca_error(E(e), EINVAL, "no command handle");
	for (int i = 0; i < 3; i++)
		if (fds[i] < -1 || (fds[i] >= 0 && fcntl(fds[i], F_GETFD) < 0))
			return arca_error(E(e), EBADF, "invalid %s fd %d",
					  i == 0 ? "stdin" : i == 1 ? "stdout" : "stderr", fds[i]);
	memcpy(x->fds, fds, sizeof(fds));
	x->console = false;
	return 0;
}

int arca_exec_set_console(arca_exec *x, bool on, struct arca_err *e)
{
	if (!x)
		return arca_error(E(e), EINVAL, "no command handle");
	x->console = on;
	return 0;
}
