/* SPDX-License-Identifier: MIT */
/* cmocka tests for the pure parts of the privilege separation:
 * launcher/privsep.c (ids, limits, cgroup names, id maps),
 * launcher/elfdeps.c (what a dynamic arca-vmm needs in its jail) and
 * run_vmm_argv() (the VMM's command line). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "arca/limits.h"
#include "cli.h"
#include "elfdeps.h"
#include "jail.h"
#include "privsep.h"
#include "run.h"

static void test_parse_id(void **state)
{
	uint32_t v = 7;

	assert_int_equal(privsep_parse_id("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(privsep_parse_id("1000", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(privsep_parse_id("4294967294", &v), 0);
	assert_true(v == 4294967294u);
	/* (uid_t)-1 means "leave unchanged" to setresuid: never an id */
	assert_int_equal(privsep_parse_id("4294967295", &v), -ERANGE);
	assert_int_equal(privsep_parse_id("99999999999999999999999", &v), -ERANGE);
	v = 7;
	assert_int_equal(privsep_parse_id("", &v), -EINVAL);
	assert_int_equal(privsep_parse_id(NULL, &v), -EINVAL);
	assert_int_equal(privsep_parse_id("-1", &v), -EINVAL);
	assert_int_equal(privsep_parse_id("+5", &v), -EINVAL);
	assert_int_equal(privsep_parse_id(" 5", &v), -EINVAL);
	assert_int_equal(privsep_parse_id("5 ", &v), -EINVAL);
	assert_int_equal(privsep_parse_id("0x10", &v), -EINVAL);
	assert_int_equal(privsep_parse_id("10a", &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on error */
}

static void test_parse_user(void **state)
{
	uint32_t u = 1, g = 1;

	assert_int_equal(privsep_parse_user("1000", &u, &g), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 1000); /* GID defaults to UID */
	assert_int_equal(privsep_parse_user("1000:100", &u, &g), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 100);
	u = g = 5;
	assert_int_equal(privsep_parse_user("0", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user("0:100", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user("1000:0", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user(":100", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user("1000:", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user("1000:100:1", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user("nobody", &u, &g), -EINVAL);
	assert_int_equal(privsep_parse_user("12345678901234567890:1", &u, &g), -ERANGE);
	assert_int_equal(privsep_parse_user("4294967295", &u, &g), -ERANGE);
	assert_int_equal(u, 5);
	assert_int_equal(g, 5);
}

static void test_pick_ids(void **state)
{
	struct privsep_ids ids;

	/* --vmm-user wins over sudo */
	privsep_pick_ids(2000, 2001, "1000", "1000", &ids);
	assert_int_equal(ids.uid, 2000);
	assert_int_equal(ids.gid, 2001);
	assert_int_equal(ids.src, PRIVSEP_SRC_OPTION);
	/* sudo from a user */
	privsep_pick_ids(0, 0, "1000", "1001", &ids);
	assert_int_equal(ids.uid, 1000);
	assert_int_equal(ids.gid, 1001);
	assert_int_equal(ids.src, PRIVSEP_SRC_SUDO);
	/* plain root, sudo from root, or anything half-set or malformed:
	 * nobody, never root and never half-trusted */
	const char *bad[][2] = { { NULL, NULL }, { "0", "0" }, { "1000", NULL },
				 { NULL, "1000" }, { "1000", "0" }, { "0", "1000" },
				 { "1000x", "1000" }, { "-1", "1000" }, { "", "" },
				 { "4294967295", "1000" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		privsep_pick_ids(0, 0, bad[i][0], bad[i][1], &ids);
		assert_int_equal(ids.uid, PRIVSEP_NOBODY);
		assert_int_equal(ids.gid, PRIVSEP_NOBODY);
		assert_int_equal(ids.src, PRIVSEP_SRC_NOBODY);
	}
}

static void test_limits(void **state)
{
	struct privsep_limits l;

	assert_int_equal(privsep_limits(1, 512, &l), 0);
	assert_true(l.memory_max == (512ull + 256) << 20);
	assert_int_equal(l.pids_max, 1 + PRIVSEP_PIDS_EXTRA);
	assert_int_equal(l.cpu_weight, 100);
	/* the largest VM cli_parse allows: no 32-bit overflow on the way */
	assert_int_equal(privsep_limits(ARCA_CPUS_MAX, ARCA_MEMORY_MAX_MIB, &l), 0);
	assert_true(l.memory_max == (65536ull + 256) * 1024 * 1024);
	assert_int_equal(l.pids_max, 64 + PRIVSEP_PIDS_EXTRA);
	/* even a UINT_MAX MiB request stays exact in 64 bits */
	assert_int_equal(privsep_limits(1, 0xffffffffu, &l), 0);
	assert_true(l.memory_max == (0xffffffffull + 256) << 20);
	assert_int_equal(privsep_limits(0, 512, &l), -EINVAL);
	assert_int_equal(privsep_limits(1, 0, &l), -EINVAL);
}

/* ---- RLIMIT_NOFILE sizing ------------------------------------------------------------------ */

#define PER_SHARE ((uint64_t)ARCA_FS_MAX_FDS + PRIVSEP_NOFILE_PER_SHARE)

static void test_nofile_fits(void **state)
{
	struct privsep_nofile n;
	uint64_t want = PRIVSEP_NOFILE_BASE + 2 + PER_SHARE;

	/* the hard limit is high enough: exactly what is wanted, full caps */
	assert_int_equal(privsep_nofile(1, 1, 0, 1u << 20, false, &n), 0);
	assert_true(n.want == want && n.limit == want);
	assert_int_equal(n.share_fds, ARCA_FS_MAX_FDS);
	assert_false(n.clamped);
	/* exactly at the hard limit still fits */
	assert_int_equal(privsep_nofile(1, 1, 0, want, false, &n), 0);
	assert_false(n.clamped);
	/* above it, but raisable (CAP_SYS_RESOURCE): ask for all of it */
	assert_int_equal(privsep_nofile(4, 3, 0, 1024, true, &n), 0);
	assert_true(n.limit == PRIVSEP_NOFILE_BASE + 8 + 3 * PER_SHARE);
	assert_int_equal(n.share_fds, ARCA_FS_MAX_FDS);
	assert_false(n.clamped);
	/* no shares: the base alone */
	assert_int_equal(privsep_nofile(64, 0, 0, 1u << 20, false, &n), 0);
	assert_true(n.limit == PRIVSEP_NOFILE_BASE + 128);
	assert_int_equal(privsep_nofile(0, 1, 0, 1u << 20, false, &n), -EINVAL);
}

static void test_nofile_clamped(void **state)
{
	struct privsep_nofile n;

	/* Docker's defaults: root without CAP_SYS_RESOURCE, hard 20000, the
	 * default root's share: the limit is the hard one, the share gets
	 * what the base leaves */
	assert_int_equal(privsep_nofile(1, 1, 0, 20000, false, &n), 0);
	assert_true(n.clamped);
	assert_true(n.limit == 20000);
	assert_int_equal(n.share_fds, 20000 - PRIVSEP_NOFILE_BASE - 2 - PRIVSEP_NOFILE_PER_SHARE);
	/* never more than the limit in total */
	assert_true(PRIVSEP_NOFILE_BASE + 2 + (uint64_t)n.share_fds + PRIVSEP_NOFILE_PER_SHARE <=
		    n.limit);
	/* several shares split it evenly, still within the limit */
	assert_int_equal(privsep_nofile(2, 7, 0, 20000, false, &n), 0);
	assert_true(PRIVSEP_NOFILE_BASE + 4 + 7 * ((uint64_t)n.share_fds + PRIVSEP_NOFILE_PER_SHARE) <=
		    20000);
	assert_true(n.share_fds >= ARCA_FS_MIN_FDS && n.share_fds < ARCA_FS_MAX_FDS);
	/* a typical rootless soft=hard 1024: too small for a share */
	assert_int_equal(privsep_nofile(1, 1, 0, 1024, false, &n), 0);
	assert_int_equal(n.share_fds, 1024 - PRIVSEP_NOFILE_BASE - 2 - PRIVSEP_NOFILE_PER_SHARE);
	assert_int_equal(privsep_nofile(1, 4, 0, 1024, false, &n), -EMFILE);
	assert_int_equal(n.share_fds, 0);
	assert_true(n.need == PRIVSEP_NOFILE_BASE + 2 +
			       4 * ((uint64_t)ARCA_FS_MIN_FDS + PRIVSEP_NOFILE_PER_SHARE));
	/* the least that works, and one below it */
	uint64_t need = PRIVSEP_NOFILE_BASE + 2 + ARCA_FS_MIN_FDS + PRIVSEP_NOFILE_PER_SHARE;
	assert_int_equal(privsep_nofile(1, 1, 0, need, false, &n), 0);
	assert_int_equal(n.share_fds, ARCA_FS_MIN_FDS);
	assert_int_equal(privsep_nofile(1, 1, 0, need - 1, false, &n), -EMFILE);
	/* tiny limits: not even the base fits */
	assert_int_equal(privsep_nofile(1, 0, 0, 64, false, &n), -EMFILE);
	assert_int_equal(privsep_nofile(1, 1, 0, 0, false, &n), -EMFILE);
	/* RLIM_INFINITY reads as UINT64_MAX */
	assert_int_equal(privsep_nofile(64, 8, 0, UINT64_MAX, false, &n), 0);
	assert_false(n.clamped);
}

static void test_cgroup_name(void **state)
{
	char buf[32], small[6];
	pid_t p = 0;

	assert_int_equal(privsep_cgroup_name(1234, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "run-1234");
	assert_int_equal(privsep_cgroup_parse(buf, &p), 0);
	assert_int_equal(p, 1234);
	assert_int_equal(privsep_cgroup_name(4194304, buf, sizeof(buf)), 11);
	assert_int_equal(privsep_cgroup_parse(buf, &p), 0);
	assert_int_equal(p, 4194304);
	assert_int_equal(privsep_cgroup_name(123456, small, sizeof(small)), -ENOSPC);
	assert_int_equal(privsep_cgroup_name(0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(privsep_cgroup_name(-5, buf, sizeof(buf)), -EINVAL);
	/* gc must never touch anything but exactly our names */
	const char *bad[] = { "run-", "run-0", "run-01", "run--1", "run-1x", "run-1/..",
			      "run-4294967295", "run-2147483648", "rUn-1", "arca", ".", "..",
			      "cgroup.procs", "run-1 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(privsep_cgroup_parse(bad[i], &p), -EINVAL);
	assert_int_equal(privsep_cgroup_parse("run-2147483647", &p), 0);
}

static void test_idmap(void **state)
{
	char buf[64], tiny[8];

	assert_int_equal(privsep_idmap_line(1000, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "1000 1000 1\n");
	assert_int_equal(privsep_idmap_line(4294967294u, buf, sizeof(buf)), 24);
	assert_string_equal(buf, "4294967294 4294967294 1\n");
	assert_int_equal(privsep_idmap_line(1000, tiny, sizeof(tiny)), -ENOSPC);
}

/* ---- elfdeps ----------------------------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *b = malloc((size_t)st.st_size);
	assert_non_null(b);
	assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* This test binary is linked dynamically against libc and cmocka. */
static void test_elfdeps_real(void **state)
{
	size_t len;
	uint8_t *b = slurp("/proc/self/exe", &len);
	struct elf_deps d;
	bool libc = false, cmocka = false;

	assert_int_equal(elf_deps_parse(b, len, &d), 0);
	assert_true(d.interp[0] == '/');
	assert_non_null(strstr(d.interp, "ld-linux"));
	assert_true(d.nneeded >= 2);
	for (size_t i = 0; i < d.nneeded; i++) {
		assert_null(strchr(d.needed[i], '/'));
		libc |= !strcmp(d.needed[i], "libc.so.6");
		cmocka |= !strncmp(d.needed[i], "libcmocka.so", 12);
	}
	assert_true(libc);
	assert_true(cmocka);

	/* Every truncation fails cleanly (or still parses when the cut is
	 * past what the parser reads): never reads out of bounds (asan). */
	for (size_t cut = 0; cut < 4096 && cut < len; cut += 7) {
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, b, cut);
		int r = elf_deps_parse(c, cut, &d);
		assert_true(r == 0 || r == -ENOEXEC);
		/* the prefix rule: a dynamic executable never looks static */
		assert_false(r == 0 && !d.interp[0]);
		free(c);
	}
	free(b);
}

/* A minimal static ELF: header only, one PT_LOAD. */
static size_t mini_elf(uint8_t *buf, size_t cap)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_type = PT_LOAD;
	ph.p_filesz = 256;
	assert_true(cap >= 256);
	memset(buf, 0, 256);
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	return 256;
}

static void test_elfdeps_synthetic(void **state)
{
	uint8_t b[512];
	struct elf_deps d;
	size_t len = mini_elf(b, sizeof(b));

	assert_int_equal(elf_deps_parse(b, len, &d), 0);
	assert_string_equal(d.interp, ""); /* static: nothing to bind */
	assert_int_equal(d.nneeded, 0);
	/* the prefix rule: the headers alone say static too; a byte less fails */
	size_t head = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	assert_int_equal(elf_deps_parse(b, head, &d), 0);
	assert_string_equal(d.interp, "");
	assert_int_equal(elf_deps_parse(b, head - 1, &d), -ENOEXEC);

	/* PT_INTERP: must be absolute, NUL-terminated inside its segment,
	 * without ".." */
	Elf64_Ehdr eh;
	memcpy(&eh, b, sizeof(eh));
	eh.e_phnum = 2;
	memcpy(b, &eh, sizeof(eh));
	Elf64_Phdr ip = { .p_type = PT_INTERP, .p_offset = 200, .p_filesz = 20 };
	memcpy(b + sizeof(eh) + sizeof(Elf64_Phdr), &ip, sizeof(ip));
	const struct { const char *s; int want; } cases[] = {
		{ "/lib/ld.so", 0 }, { "lib/ld.so", -ENOEXEC }, { "/lib/../x", -ENOEXEC },
		{ "/lib/..", -ENOEXEC }, { "", -ENOEXEC },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(b + 200, 0, 20);
		memcpy(b + 200, cases[i].s, strlen(cases[i].s));
		assert_int_equal(elf_deps_parse(b, len, &d), cases[i].want);
	}
	/* not NUL-terminated within p_filesz */
	memset(b + 200, 'a', 20);
	b[200] = '/';
	assert_int_equal(elf_deps_parse(b, len, &d), -ENOEXEC);
	/* segment beyond the file; offset overflow */
	ip.p_offset = 250;
	memcpy(b + sizeof(eh) + sizeof(Elf64_Phdr), &ip, sizeof(ip));
	assert_int_equal(elf_deps_parse(b, len, &d), -ENOEXEC);
	ip.p_offset = UINT64_MAX - 5;
	memcpy(b + sizeof(eh) + sizeof(Elf64_Phdr), &ip, sizeof(ip));
	assert_int_equal(elf_deps_parse(b, len, &d), -ENOEXEC);
	/* program headers claimed past the end */
	eh.e_phnum = 60000;
	memcpy(b, &eh, sizeof(eh));
	assert_int_equal(elf_deps_parse(b, len, &d), -ENOEXEC);
	/* wrong class / machine */
	len = mini_elf(b, sizeof(b));
	b[EI_CLASS] = ELFCLASS32;
	assert_int_equal(elf_deps_parse(b, len, &d), -ENOEXEC);
	len = mini_elf(b, sizeof(b));
	b[offsetof(Elf64_Ehdr, e_machine)] = EM_AARCH64;
	assert_int_equal(elf_deps_parse(b, len, &d), -ENOEXEC);
	assert_int_equal(elf_deps_parse(b, 10, &d), -ENOEXEC);
}

/* ---- the VMM's argv ------------------------------------------------------------------------ */

/* The guest kernel's command line: defaults, --kernel-arg appended,
 * --cmdline instead of the defaults, rdinit=/init always, 2047 bytes. */
static void test_kernel_cmdline(void **state)
{
	struct arca_opts o = { .cmd = ARCA_CMD_RUN };
	char buf[ARCA_CMDLINE_MAX + 1];
	assert_true(run_kernel_cmdline(&o, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "console=ttyS0 "));
	assert_non_null(strstr(buf, "rdinit=/init"));
	assert_non_null(strstr(buf, "quiet"));
	o.kernel_args[0] = "arca.x=1";
	o.kernel_args[1] = "loglevel=4";
	o.nkernel_args = 2;
	assert_true(run_kernel_cmdline(&o, buf, sizeof(buf)) > 0);
	size_t n = strlen(buf);
	assert_string_equal(buf + n - strlen(" arca.x=1 loglevel=4"), " arca.x=1 loglevel=4");
	o.cmdline = "console=ttyS0 quiet";
	assert_true(run_kernel_cmdline(&o, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "console=ttyS0 quiet rdinit=/init arca.x=1 loglevel=4");
	static char big[ARCA_CMDLINE_MAX];
	memset(big, 'a', sizeof(big) - 1);
	o.cmdline = big; /* 2046 bytes + " rdinit=/init" is over 2047 */
	assert_int_equal(run_kernel_cmdline(&o, buf, sizeof(buf)), -E2BIG);
}

static void test_vmm_argv(void **state)
{
	struct arca_opts o = { .cmd = ARCA_CMD_RUN, .cpus = 4, .memory_mib = 1024,
				.stop_timeout_ms = ARCA_STOP_TIMEOUT_DEFAULT_MS };
	static struct run_argv ra; /* launch_ns 0 */
	char big[2200];

	assert_int_equal(run_vmm_argv(&o, "console=ttyS0 quiet", NULL, 0, NULL, 0, ARCA_FS_MAX_FDS, -1, &ra), 10);
	const char *want[] = { "arca-vmm", "--kvm-fd=3", "--kernel-fd=4", "--initrd-fd=5",
			       "--initrd-fd=6", "--cpus=4", "--memory-mib=1024",
			       "--cmdline=console=ttyS0 quiet", "--result-fd=7", "--log-fd=8" };
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(ra.argv[i], want[i]);
	assert_null(ra.argv[10]);
	/* the fd numbers are the ones the jail moves the inputs onto */
	assert_int_equal(VMM_FD_KVM, 3);
	assert_int_equal(VMM_FD_INITRD_SPEC, 6);

	o.console = true;
	assert_int_equal(run_vmm_argv(&o, "x", NULL, 0, NULL, 0, ARCA_FS_MAX_FDS, -1, &ra), 11);
	assert_string_equal(ra.argv[10], "--console");
	o.verbose = true; /* --verbose implies the console: one flag only */
	assert_int_equal(run_vmm_argv(&o, "x", NULL, 0, NULL, 0, ARCA_FS_MAX_FDS, -1, &ra), 11);
	assert_string_equal(ra.argv[10], "--verbose");
	assert_null(ra.argv[11]);
	/* the launcher's start time for the boot breakdown: verbose runs only */
	ra.launch_ns = 123456789012ull;
	assert_int_equal(run_vmm_argv(&o, "x", NULL, 0, NULL, 0, ARCA_FS_MAX_FDS, -1, &ra), 12);
	assert_string_equal(ra.argv[11], "--launch-ns=123456789012");
	o.verbose = false;
	assert_int_equal(run_vmm_argv(&o, "x", NULL, 0, NULL, 0, ARCA_FS_MAX_FDS, -1, &ra), 11);
	assert_string_equal(ra.argv[10], "--console");
	o.verbose = true;
	ra.launch_ns = 0;

	/* a clamped fd cap and the boot deadline reach the VMM; a full cap
	 * is its default and is not passed */
	struct run_fs fs = { .fd = 7, .tag = "arca-usr", .ro = true };
	o.verbose = o.console = false;
	o.boot_timeout_ms = 60000;
	assert_int_equal(run_vmm_argv(&o, "x", &fs, 1, NULL, 0, 19862, 8, &ra), 14);
	assert_string_equal(ra.argv[10], "--fs=7,tag=arca-usr,ro");
	assert_string_equal(ra.argv[11], "--fs-max-fds=19862");
	assert_string_equal(ra.argv[12], "--proc-fd=8");
	assert_string_equal(ra.argv[13], "--boot-timeout-ms=60000");
	assert_null(ra.argv[14]);
	assert_int_equal(run_vmm_argv(&o, "x", &fs, 1, NULL, 0, ARCA_FS_MAX_FDS, 8, &ra), 13);
	assert_string_equal(ra.argv[11], "--proc-fd=8");

	/* Disks: one --blk= each, in order, after the shares, with the
	 * VMM-side fd, the flags that apply and one queue per vCPU. */
	struct run_blk blk[] = {
		{ .fd = 8, .id = "disk0", .queues = 4 },
		{ .fd = 9, .id = "base", .ro = true, .queues = 4 },
		{ .fd = 10, .id = "scratch", .direct = true, .nosync = true, .ephemeral = true,
		  .queues = 4 },
		{ .fd = 11, .id = "12345678901234567890", .ro = true, .direct = true, .nosync = true,
		  .queues = 16 },
	};
	o.boot_timeout_ms = 0;
	assert_int_equal(run_vmm_argv(&o, "x", &fs, 1, blk, 4, ARCA_FS_MAX_FDS, 12, &ra), 16);
	assert_string_equal(ra.argv[10], "--fs=7,tag=arca-usr,ro");
	assert_string_equal(ra.argv[11], "--blk=8,id=disk0,queues=4");
	assert_string_equal(ra.argv[12], "--blk=9,ro,id=base,queues=4");
	assert_string_equal(ra.argv[13], "--blk=10,id=scratch,direct,nosync,ephemeral,queues=4");
	assert_string_equal(ra.argv[14], "--blk=11,ro,id=12345678901234567890,direct,nosync,queues=16");
	assert_string_equal(ra.argv[15], "--proc-fd=12");
	assert_null(ra.argv[16]);
	/* Disks without shares: no --proc-fd. */
	o.cpus = 1;
	blk[0].queues = 1;
	assert_int_equal(run_vmm_argv(&o, "x", NULL, 0, blk, 1, ARCA_FS_MAX_FDS, -1, &ra), 11);
	assert_string_equal(ra.argv[10], "--blk=8,id=disk0,queues=1");
	assert_null(ra.argv[11]);
	/* The most of everything fits argv. */
	struct run_fs fss[RUN_MAX_FS];
	struct run_blk blks[RUN_MAX_BLK];
	for (size_t i = 0; i < RUN_MAX_FS; i++)
		fss[i] = (struct run_fs){ .fd = 7 + (int)i, .tag = "123456789012345678901234567890123456",
					  .ro = true, .ids_passthrough = true };
	for (size_t i = 0; i < RUN_MAX_BLK; i++)
		blks[i] = (struct run_blk){ .fd = 100 + (int)i, .id = "12345678901234567890",
					    .direct = true, .nosync = true, .ephemeral = true,
					    .queues = RUN_BLK_MAX_QUEUES };
	o.verbose = o.no_seccomp = true;
	o.boot_timeout_ms = 86400000;
	int ac = run_vmm_argv(&o, "x", fss, RUN_MAX_FS, blks, RUN_MAX_BLK, 300, 99, &ra);
	assert_int_equal(ac, 10 + RUN_MAX_FS + 1 + RUN_MAX_BLK + 1 + 1 + 2);
	assert_true((size_t)ac < sizeof(ra.argv) / sizeof(ra.argv[0]));
	assert_null(ra.argv[ac]);
	assert_int_equal(run_vmm_argv(&o, "x", fss, RUN_MAX_FS, blks, RUN_MAX_BLK + 1, 300, 99, &ra),
			 -E2BIG);
	o.verbose = o.no_seccomp = false;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(run_vmm_argv(&o, big, NULL, 0, NULL, 0, ARCA_FS_MAX_FDS, -1, &ra), -E2BIG);
}

static void test_blk_queues(void **state)
{
	assert_int_equal(run_blk_queues(1), 1);
	assert_int_equal(run_blk_queues(2), 2);
	assert_int_equal(run_blk_queues(16), 16);
	assert_int_equal(run_blk_queues(17), RUN_BLK_MAX_QUEUES);
	assert_int_equal(run_blk_queues(64), RUN_BLK_MAX_QUEUES);
	assert_int_equal(run_blk_queues(0), 1);
}

/* Disks count toward RLIMIT_NOFILE with the base: a few fds each and two
 * per queue (one queue per vCPU), never clamped away. */
static void test_nofile_disks(void **state)
{
	struct privsep_nofile n0, n;

	assert_int_equal(privsep_nofile(4, 2, 0, UINT64_MAX, false, &n0), 0);
	assert_int_equal(privsep_nofile(4, 2, 3, UINT64_MAX, false, &n), 0);
	assert_int_equal(n.want - n0.want, 3 * (PRIVSEP_NOFILE_PER_DISK + 2 * 4));
	assert_int_equal(n.need - n0.need, 3 * (PRIVSEP_NOFILE_PER_DISK + 2 * 4));
	/* Disks alone, no shares. */
	assert_int_equal(privsep_nofile(64, 0, 9, 1u << 20, false, &n), 0);
	assert_int_equal(n.want,
			 PRIVSEP_NOFILE_BASE + 2 * 64 + 9 * (PRIVSEP_NOFILE_PER_DISK + 128));
	assert_false(n.clamped);
	/* Below what the disks need, with nothing to clamp: refused. */
	assert_int_equal(privsep_nofile(64, 0, 9, n.want - 1, false, &n), -EMFILE);
	/* A clamped limit leaves the disks' share intact: only the shares'
	 * fd caps shrink. */
	assert_int_equal(privsep_nofile(1, 1, 2, 20000, false, &n), 0);
	assert_true(n.clamped);
	assert_int_equal(n.limit, 20000);
	assert_int_equal(n.share_fds, 20000 - (PRIVSEP_NOFILE_BASE + 2) -
			 2 * (PRIVSEP_NOFILE_PER_DISK + 2) - PRIVSEP_NOFILE_PER_SHARE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_pick_ids),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_nofile_fits),
		cmocka_unit_test(test_nofile_clamped),
		cmocka_unit_test(test_cgroup_name),
		cmocka_unit_test(test_idmap),
		cmocka_unit_test(test_elfdeps_real),
		cmocka_unit_test(test_elfdeps_synthetic),
		cmocka_unit_test(test_kernel_cmdline),
		cmocka_unit_test(test_vmm_argv),
		cmocka_unit_test(test_nofile_disks),
		cmocka_unit_test(test_blk_queues),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
