/* SPDX-License-Identifier: MIT */
/* `arca doctor` and arca run's KVM check; see doctor.h. */
#include <errno.h>
#include <linux/landlock.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arca/limits.h"
#include "cgroup.h"
#include "cleanup.h"
#include "doctor.h"
#include "hostinfo.h"
#include "jail.h"
#include "kernel.h"
#include "kvm_caps.h"
#include "kvm_selftest.h"
#include "netns.h"
#include "nft.h"
#include "passt.h"
#include "paths.h"
#include "privsep.h"
#include "run.h"

#define N_CHECKS 24

struct report {
	struct doctor_check c[N_CHECKS];
	size_t n;
};

static struct doctor_check *add(struct report *r, const char *name, enum doctor_status st,
				const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static struct doctor_check *add(struct report *r, const char *name, enum doctor_status st,
				const char *fix, const char *fmt, ...)
{
	struct doctor_check *c = &r->c[r->n < N_CHECKS ? r->n++ : N_CHECKS - 1];
	va_list ap;
	c->name = name;
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	snprintf(c->fix, sizeof(c->fix), "%s", st == DOCTOR_OK || !fix ? "" : fix);
	return c;
}

ssize_t doctor_read_small(const char *path, char *buf, size_t cap)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t got = 0;
	if (fd < 0)
		return -errno;
	while (got + 1 < cap) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* HOST_VIRT_* of this machine, or -errno. cpuinfo lists every CPU; the
 * first one's flags come in the first few KiB. */
static int cpu_virt(void)
{
	char buf[16384];
	ssize_t n = doctor_read_small("/proc/cpuinfo", buf, sizeof(buf));
	return n < 0 ? (int)n : host_cpu_virt(buf, (size_t)n);
}

/* Which KVM module provides /dev/kvm: reported, never decided on. */
static const char *kvm_module(void)
{
	static const char *const mods[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
	char path[64];
	for (size_t i = 0; i < ARRAY_SIZE(mods); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK) == 0)
			return mods[i];
	}
	return NULL;
}

/* "the KVM module kvm_pvm, no vmx or svm flag in /proc/cpuinfo" */
static void describe_host(char *buf, size_t cap)
{
	const char *mod = kvm_module();
	int v = cpu_virt();
	snprintf(buf, cap, "%s%s%s, %s", mod ? "the KVM module " : "no known KVM module",
		 mod ? mod : "", mod && !strcmp(mod, "kvm_pvm") ? " (kvm-pvm)" : "",
		 v < 0 ? "no CPU flags in /proc/cpuinfo" :
		 v == 0 ? "no vmx or svm flag in /proc/cpuinfo" :
		 v & HOST_VIRT_VMX ? "vmx in /proc/cpuinfo" : "svm in /proc/cpuinfo");
}

static const char fix_hwvirt[] =
	"arca needs hardware virtualization (Intel VT-x or AMD-V) exposed to this machine: "
	"enable it in the firmware, or nested virtualization for this VM (kvm-pvm cannot run "
	"stock kernels)";

int doctor_kvm_caps(int kvm_fd, struct arca_err *e)
{
	const char *missing = NULL;
	int r = kvm_caps_check(kvm_fd, &missing);
	if (r < 0)
		return arca_error(e, -r, "/dev/kvm cannot run arca's guests: KVM %s",
				  missing ? missing : strerror(-r));
	return 0;
}

int doctor_kvm_runnable(int kvm_fd, struct arca_err *e)
{
	char why[200], found[160];
	int r = doctor_kvm_caps(kvm_fd, e);
	if (r < 0)
		return r;
	r = kvm_selftest(kvm_fd, DOCTOR_KVM_TEST_MS, why, sizeof(why));
	if (r == 0)
		return 0;
	describe_host(found, sizeof(found));
	if (r == -ENOEXEC || r == -ETIMEDOUT)
		return arca_error(e, -r, "/dev/kvm cannot run a standard guest: %s; found %s; %s",
				  why, found, fix_hwvirt);
	return arca_error(e, -r, "checking /dev/kvm failed: %s", why);
}

static uint64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* /dev/kvm, the CPU, the KVM module, its API and extensions, a test guest. */
static void check_kvm(struct report *rep)
{
	int v = cpu_virt();
	if (v > 0)
		add(rep, "cpu-virt", DOCTOR_OK, NULL, "%s%s%s in /proc/cpuinfo",
		    v & HOST_VIRT_VMX ? "vmx (Intel VT-x)" : "",
		    v == (HOST_VIRT_VMX | HOST_VIRT_SVM) ? " and " : "",
		    v & HOST_VIRT_SVM ? "svm (AMD-V)" : "");
	else
		add(rep, "cpu-virt", DOCTOR_FAIL,
		    "enable VT-x/AMD-V in the firmware, or nested virtualization for this VM",
		    "%s: this machine exposes no hardware virtualization",
		    v == 0 ? "neither vmx nor svm in /proc/cpuinfo" : "no CPU flags in /proc/cpuinfo");

	const char *mod = kvm_module();
	if (mod && !strcmp(mod, "kvm_pvm"))
		add(rep, "kvm-module", DOCTOR_FAIL, fix_hwvirt,
		    "/dev/kvm comes from kvm-pvm, which runs only kernels built as PVM guests");
	else if (mod)
		add(rep, "kvm-module", DOCTOR_OK, NULL, "/dev/kvm comes from %s", mod);
	else
		add(rep, "kvm-module", DOCTOR_WARN, "load kvm_intel or kvm_amd",
		    "none of kvm_intel, kvm_amd, kvm_pvm is loaded (built in, or no KVM)");

	_cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		add(rep, "kvm-device", DOCTOR_FAIL,
		    err == ENOENT ? "load kvm_intel or kvm_amd; in a container pass --device /dev/kvm"
				  : "add your user to the 'kvm' group, or run arca with sudo",
		    "cannot open /dev/kvm read-write: %s", strerror(err));
		return;
	}
	add(rep, "kvm-device", DOCTOR_OK, NULL, "/dev/kvm opens read-write");

	const char *missing = NULL;
	int r = kvm_caps_check(fd, &missing);
	if (r < 0) {
		add(rep, "kvm-api", DOCTOR_FAIL, "a newer host kernel", "KVM %s",
		    missing ? missing : strerror(-r));
		return;
	}
	add(rep, "kvm-api", DOCTOR_OK, NULL, "API version %d, all %zu extensions arca uses",
	    KVM_API_VERSION, kvm_caps_count);

	char why[200];
	uint64_t t0 = now_us();
	r = kvm_selftest(fd, DOCTOR_KVM_TEST_MS, why, sizeof(why));
	uint64_t us = now_us() - t0;
	if (r == 0)
		add(rep, "kvm-guest", DOCTOR_OK, NULL, "a 64-bit test guest ran correctly in %llu.%llu ms",
		    (unsigned long long)(us / 1000), (unsigned long long)(us % 1000 / 100));
	else
		add(rep, "kvm-guest", DOCTOR_FAIL, fix_hwvirt, "%s", why);
}

/* The guest kernel, the base initrd (built if missing, as arca run would)
 * and arca-vmm. */
static void check_guest(struct report *rep, const struct arca_opts *o)
{
	struct arca_paths paths = { 0 };
	struct arca_kernel kernel = { 0 };
	struct arca_err e = { 0 };

	if (paths_resolve_in(&paths, &o->paths, &e) < 0) {
		add(rep, "paths", DOCTOR_FAIL, "see the message", "%s", e.msg);
		return;
	}
	if (kernel_locate(o->kernel ? o->kernel : o->paths.kernel, paths.exe_dir, &kernel, &e) < 0) {
		add(rep, "kernel", DOCTOR_FAIL,
		    "run 'make' (fetches Debian's linux-image-cloud-amd64) or pass --kernel", "%s",
		    e.msg);
	} else {
		add(rep, "kernel", DOCTOR_OK, NULL, "%s (%s)", kernel.version, kernel.path);
		int fd = run_base_initrd_open(&paths, &kernel, &e);
		if (fd < 0)
			add(rep, "initrd", DOCTOR_FAIL, "see the message; 'arca prepare' rebuilds it",
			    "%s", e.msg);
		else
			add(rep, "initrd", DOCTOR_OK, NULL, "base initrd for %s ready in %s",
			    kernel.version, paths.cache_dir);
		if (fd >= 0)
			close(fd);
	}
	uid_t owner = (uid_t)-1;
	int vfd = jail_open_input(paths.vmm, "arca-vmm", owner, &e);
	if (vfd < 0)
		add(rep, "arca-vmm", DOCTOR_FAIL, "rebuild with 'make', or fix its owner and mode",
		    "%s", e.msg);
	else
		add(rep, "arca-vmm", DOCTOR_OK, NULL, "%s", paths.vmm);
	if (vfd >= 0)
		close(vfd);
	kernel_free(&kernel);
	paths_free(&paths);
}

/* io_uring: the sysctl, then a ring created disabled (as arca-vmm's are,
 * to restrict them) and the opcodes the shares restrict their rings to. */
static void check_io_uring(struct report *rep)
{
	static const struct { unsigned op; const char *name; } ops[] = {
		{ IORING_OP_READV, "READV" }, { IORING_OP_WRITEV, "WRITEV" },
		{ IORING_OP_FSYNC, "FSYNC" }, { IORING_OP_FALLOCATE, "FALLOCATE" },
	};
	const char *fix = "shares then run synchronously (slower); allow io_uring "
			  "(sysctl kernel.io_uring_disabled=0, or the container's seccomp profile)";
	char buf[32], sysctl[80] = "";
	long v;
	if (doctor_read_small("/proc/sys/kernel/io_uring_disabled", buf, sizeof(buf)) > 0 &&
	    host_parse_sysctl_long(buf, &v) == 0)
		snprintf(sysctl, sizeof(sysctl), " (kernel.io_uring_disabled=%ld: %s)", v,
			 host_io_uring_disabled_text(v));

	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		add(rep, "io_uring", DOCTOR_WARN, fix, "io_uring_setup failed: %s%s",
		    strerror(errno), sysctl);
		return;
	}
	size_t psz = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	_cleanup_free_ struct io_uring_probe *probe = calloc(1, psz);
	char lacking[64] = "";
	if (probe && syscall(SYS_io_uring_register, fd, IORING_REGISTER_PROBE, probe, 256) == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
			if (ops[i].op > probe->last_op ||
			    !(probe->ops[ops[i].op].flags & IO_URING_OP_SUPPORTED))
				snprintf(lacking + strlen(lacking), sizeof(lacking) - strlen(lacking),
					 " %s", ops[i].name);
		}
	} else {
		snprintf(lacking, sizeof(lacking), " (probe failed)");
	}
	close(fd);
	if (lacking[0])
		add(rep, "io_uring", DOCTOR_WARN, fix, "io_uring lacks%s%s", lacking, sysctl);
	else
		add(rep, "io_uring", DOCTOR_OK, NULL,
		    "restricted rings with READV, WRITEV, FSYNC, FALLOCATE%s", sysctl);
}

/* Rootless runs put arca-vmm in a user namespace: try making one. */
static void check_userns(struct report *rep)
{
	pid_t pid = fork();
	int status = 0;
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0;
	bool root = geteuid() == 0;
	if (ok)
		add(rep, "userns", DOCTOR_OK, NULL, "user namespaces work%s",
		    root ? " (rootless runs need them; root does not)" : "");
	else
		add(rep, "userns", root ? DOCTOR_WARN : DOCTOR_FAIL,
		    "sysctl user.max_user_namespaces>0 (and kernel.unprivileged_userns_clone=1 "
		    "where it exists), or run arca with sudo",
		    "cannot create a user namespace%s", root ? ": rootless runs will fail" :
							   ": rootless arca needs one");
}

/* A real per-run cgroup, created with the default limits and removed. */
static void check_cgroup(struct report *rep)
{
	struct privsep_limits l;
	struct arca_cgroup cg = { .dirfd = -1 };
	struct arca_err e = { 0 };
	privsep_limits(ARCA_CPUS_DEFAULT, ARCA_MEMORY_DEFAULT_MIB, &l);
	int r = cgroup_create(&l, &cg, &e);
	const char *fix = "mount cgroup2 at " CGROUP_ROOT " and, rootless, delegate "
			  CGROUP_BASE " to your user";
	if (r < 0)
		add(rep, "cgroup", DOCTOR_WARN, fix, "%s", e.msg);
	else if (cg.dirfd < 0)
		add(rep, "cgroup", DOCTOR_WARN, fix,
		    "no cgroup v2 arca may create a cgroup in: runs go without memory.max/pids.max");
	else
		add(rep, "cgroup", DOCTOR_OK, NULL, "cgroup v2: runs get memory.max and pids.max "
		    "under %s", CGROUP_BASE);
	cgroup_destroy(&cg);
}

/* arca-vmm's filters return SECCOMP_RET_TRAP/KILL_PROCESS (policy/). */
static void check_seccomp(struct report *rep)
{
	static const struct { uint32_t act; const char *name; } acts[] = {
		{ SECCOMP_RET_KILL_PROCESS, "KILL_PROCESS" }, { SECCOMP_RET_TRAP, "TRAP" },
	};
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
		add(rep, "seccomp", DOCTOR_FAIL, "a kernel with CONFIG_SECCOMP_FILTER",
		    "seccomp is not available: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(acts); i++) {
		uint32_t a = acts[i].act;
		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) < 0) {
			add(rep, "seccomp", DOCTOR_FAIL, "a kernel with CONFIG_SECCOMP_FILTER (4.14+)",
			    "seccomp action %s is not available: %s", acts[i].name, strerror(errno));
			return;
		}
	}
	add(rep, "seccomp", DOCTOR_OK, NULL, "filters with KILL_PROCESS and TRAP");
}

/* The kernel's walls around the shares: detached mounts (launcher/sharemnt.h,
 * required: open_tree 5.2, mount_setattr 5.12) and Landlock in arca-vmm
 * (vmm/landlock.h, ABI 2 or later; without it the mounts stand alone). */
static void check_confine(struct report *rep)
{
	/* Invalid flags: EINVAL where the call exists, ENOSYS where not. */
	bool tree = syscall(SYS_open_tree, -1, "", ~0u) < 0 && errno != ENOSYS;
	bool attr = syscall(SYS_mount_setattr, -1, "", ~0u, NULL, 0) < 0 && errno != ENOSYS;
	if (!tree || !attr)
		add(rep, "mount-api", DOCTOR_FAIL, "a host kernel 5.12 or newer",
		    "no %s: shares cannot be handed to arca-vmm as detached mounts",
		    !tree ? "open_tree" : "mount_setattr");
	else
		add(rep, "mount-api", DOCTOR_OK, NULL,
		    "shares reach arca-vmm as detached mounts (\"..\" stops at their root)");
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			       LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 2)
		add(rep, "landlock", DOCTOR_OK, NULL, "ABI %d: arca-vmm opens nothing outside its "
		    "shares", abi);
	else
		add(rep, "landlock", DOCTOR_WARN,
		    "a kernel 5.19+ with landlock in its lsm= list (CONFIG_LSM or the boot parameter)",
		    "%s: arca-vmm's paths are confined by the detached share mounts alone",
		    abi < 0 ? "Landlock is not enabled" : "Landlock ABI 1 cannot allow renames");
}

/* RLIMIT_NOFILE for a default run: one vCPU, the default root's share. */
static void check_nofile(struct report *rep)
{
	struct privsep_nofile n;
	uint64_t hard;
	bool can_raise;
	privsep_nofile(ARCA_CPUS_DEFAULT, 1, 0, 0, true, &n);
	jail_nofile_probe(n.want, &hard, &can_raise);
	int r = privsep_nofile(ARCA_CPUS_DEFAULT, 1, 0, hard, can_raise, &n);
	const char *fix = "raise the hard limit (ulimit -Hn, docker run --ulimit nofile=N:N) or "
			  "give arca CAP_SYS_RESOURCE";
	if (r < 0)
		add(rep, "nofile", DOCTOR_FAIL, fix, "hard NOFILE limit %llu is below the %llu a run "
		    "needs", (unsigned long long)hard, (unsigned long long)n.need);
	else if (n.clamped)
		add(rep, "nofile", DOCTOR_WARN, fix, "hard NOFILE limit %llu cannot be raised to "
		    "%llu: each share may hold %u host fds instead of %u",
		    (unsigned long long)hard, (unsigned long long)n.want, n.share_fds,
		    ARCA_FS_MAX_FDS);
	else
		add(rep, "nofile", DOCTOR_OK, NULL, "%llu open files for arca-vmm%s",
		    (unsigned long long)n.want,
		    hard >= n.want ? "" : " (above the hard limit, which arca may raise)");
}

/* --net: what a run needs, tried for real in a scratch network namespace
 * (a child's, gone with it): a TAP with a vnet header, and nftables with
 * the NAT and masquerade arca's tables use. Plus the host's ip_forward,
 * which a run switches on. Root only: rootless runs go through passt
 * (check_passt). */
static int net_probe_child(void)
{
	struct arca_err e = { 0 };
	int tap, nsfd = -1;
	if (unshare(CLONE_NEWNET) < 0)
		return 1;
	if (tap_create(nsfd, "arcaprobe0", &tap) < 0)
		return 2;
	struct nft_cidr pool = { .addr = htonl(0x0ad50000u), .prefix = 16 };
	if (nft_host_ensure(pool, &e) < 0)
		return 3;
	return 0;
}

static void check_net(struct report *rep)
{
	if (geteuid() != 0) {
		add(rep, "net", DOCTOR_WARN, "run arca with sudo for --net nat's refusals and allow=",
		    "without root, --net is nat,allow-private through passt only (see passt)");
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(net_probe_child());
	int status = 0;
	bool waited = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status);
	int why = waited ? WEXITSTATUS(status) : -1;
	char fwd[8] = "?";
	_cleanup_close_ int f = open("/proc/sys/net/ipv4/ip_forward", O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		ssize_t n = read(f, fwd, sizeof(fwd) - 1);
		fwd[n > 0 ? n : 0] = '\0';
		fwd[strcspn(fwd, "\n")] = '\0';
	}
	static const char *const fail[] = {
		"", "cannot create a network namespace",
		"cannot create a TAP device (/dev/net/tun, the tun module)",
		"nftables with NAT does not work (modules nf_tables, nft_chain_nat, nft_masq, "
		"nft_ct, nft_objref)",
	};
	if (why == 0)
		add(rep, "net", DOCTOR_OK, NULL,
		    "--net: TAP and nftables with NAT work; net.ipv4.ip_forward=%s%s", fwd,
		    !strcmp(fwd, "1") ? "" : " (a --net run sets it to 1)");
	else
		add(rep, "net", DOCTOR_WARN, "load the kernel modules named, or leave --net off",
		    "--net will fail: %s", why > 0 && why < 4 ? fail[why] : "the probe failed");
}

/* Rootless --net: passt found, started for a guest of the default pool and
 * answering ARP for the gateway (passt_setup, as a run does), then
 * stopped. */
static void check_passt(struct report *rep)
{
	struct netcfg c;
	struct arca_err e = { 0 };
	netcfg_init(&c);
	if (netcfg_parse(&c, "nat,allow-private", &e) < 0) {
		add(rep, "passt", DOCTOR_FAIL, NULL, "%s", e.msg);
		return;
	}
	/* As root, passt would start as root and switch to "nobody" (a user
	 * a minimal host may lack): not what a rootless run does. Found is
	 * what root can say; the user's own `arca doctor` tries it for real. */
	if (geteuid() == 0) {
		char exe[PATH_MAX];
		if (passt_find(getenv("PATH"), exe, sizeof(exe)) < 0)
			add(rep, "passt", DOCTOR_WARN, "apt install passt",
			    "rootless --net will fail: no passt in PATH or /usr/bin");
		else
			add(rep, "passt", DOCTOR_OK, NULL,
			    "%s for rootless --net (run arca doctor as the user to try it)", exe);
		return;
	}
	struct passt p;
	struct arca_spec_net spec;
	int r = passt_setup(&p, &c, NULL, getenv("PATH"), &spec, &e);
	passt_stop(&p);
	if (r == -ENOENT)
		add(rep, "passt", DOCTOR_WARN, "apt install passt",
		    "rootless --net will fail: no passt in PATH or /usr/bin");
	else if (r < 0)
		add(rep, "passt", DOCTOR_WARN, "see passt's message; an IPv4 default route is needed",
		    "rootless --net will fail: %s", e.msg);
	else
		add(rep, "passt", DOCTOR_OK, NULL,
		    "rootless --net nat,allow-private and --publish: passt starts and answers");
}

int doctor_run(const struct arca_opts *o, struct arca_err *e)
{
	static struct report rep;
	check_kvm(&rep);
	check_guest(&rep, o);
	check_nofile(&rep);
	check_seccomp(&rep);
	check_confine(&rep);
	check_io_uring(&rep);
	check_userns(&rep);
	check_cgroup(&rep);
	check_net(&rep);
	check_passt(&rep);

	size_t need = o->json ? doctor_format_json(rep.c, rep.n, NULL, 0)
			      : doctor_format_text(rep.c, rep.n, NULL, 0);
	_cleanup_free_ char *buf = malloc(need + 1);
	if (!buf)
		return arca_error(e, ENOMEM, "out of memory");
	if (o->json)
		doctor_format_json(rep.c, rep.n, buf, need + 1);
	else
		doctor_format_text(rep.c, rep.n, buf, need + 1);
	fputs(buf, stdout);
	fflush(stdout);
	return doctor_passed(rep.c, rep.n) ? 0 : 1;
}
