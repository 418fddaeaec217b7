/* SPDX-License-Identifier: MIT */
/* cmocka tests for launcher/cli.c: the `arca` command line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/resource.h>

#include "arca/limits.h"
#include "cli.h"

/* cli_parse() keeps pointers into argv, so the test argv (mutable copies of
 * the literals) lives until the next parse or the end of the test. */
static char *g_argv[64];
static int g_argc;
static struct arca_opts g_o;
static struct arca_err g_e;

static void reset(void)
{
	cli_free(&g_o);
	cli_free(&g_o); /* idempotent */
	for (int i = 0; i < g_argc; i++)
		free(g_argv[i]);
	memset(g_argv, 0, sizeof(g_argv));
	g_argc = 0;
	memset(&g_e, 0, sizeof(g_e));
}

static int do_parse(const char *const *args)
{
	reset();
	while (args[g_argc]) {
		assert_true(g_argc < 63);
		g_argv[g_argc] = strdup(args[g_argc]);
		assert_non_null(g_argv[g_argc]);
		g_argc++;
	}
	g_argv[g_argc] = NULL;
	/* Poison so a field cli_parse forgets to set shows up. */
	memset(&g_o, 0xa5, sizeof(g_o));
	g_o.env = NULL;
	g_o.envc = 0;
	return cli_parse(g_argc, g_argv, &g_o, &g_e);
}

#define PARSE(...) do_parse((const char *const[]){ "arca", __VA_ARGS__, NULL })

static int teardown(void **state)
{
	reset();
	return 0;
}

/* Parse must succeed. */
#define OK(...) do { \
	int r_ = PARSE(__VA_ARGS__); \
	if (r_) fail_msg("unexpected error %d: %s", r_, g_e.msg); \
} while (0)

/* Parse must fail with -EINVAL and exactly this message. */
#define ERR(want_, ...) do { \
	int r_ = PARSE(__VA_ARGS__); \
	assert_int_equal(r_, -EINVAL); \
	assert_int_equal(g_e.code, EINVAL); \
	assert_string_equal(g_e.msg, want_); \
	assert_null(g_o.env); \
	assert_int_equal(g_o.envc, 0); \
} while (0)

static void assert_cmd(const char *const *want)
{
	size_t n = 0;

	assert_int_equal(g_o.cmd, ARCA_CMD_RUN);
	while (want[n]) {
		assert_true(n < g_o.argc);
		assert_string_equal(g_o.argv[n], want[n]);
		n++;
	}
	assert_int_equal(g_o.argc, n);
	assert_null(g_o.argv[n]); /* main()'s argv is NULL-terminated */
}
#define CMD_IS(...) assert_cmd((const char *const[]){ __VA_ARGS__, NULL })

/* ---- defaults and forms ------------------------------------------------ */

static void test_defaults(void **state)
{
	OK("run", "ls");
	CMD_IS("ls");
	assert_int_equal(g_o.cpus, 1);
	assert_int_equal(g_o.memory_mib, 512);
	assert_null(g_o.env);
	assert_int_equal(g_o.envc, 0);
	assert_null(g_o.workdir);
	assert_true(g_o.timeout_ms == 0);
	assert_null(g_o.kernel);
	assert_false(g_o.verbose);
	assert_false(g_o.console);
	/* argv points into the caller's array, not a copy */
	assert_ptr_equal(g_o.argv, &g_argv[2]);
}

static void test_cpus(void **state)
{
	OK("run", "--cpus", "2", "true");
	assert_int_equal(g_o.cpus, 2);
	CMD_IS("true");
	OK("run", "--cpus=64", "true");
	assert_int_equal(g_o.cpus, 64);
	OK("run", "--cpus=1", "true");
	assert_int_equal(g_o.cpus, 1);
	OK("run", "--cpus", "007", "true"); /* decimal, not octal */
	assert_int_equal(g_o.cpus, 7);
	OK("run", "--cpus", "2", "--cpus=3", "true"); /* last wins */
	assert_int_equal(g_o.cpus, 3);
}

static void test_memory(void **state)
{
	OK("run", "--memory", "1024", "true");
	assert_int_equal(g_o.memory_mib, 1024);
	OK("run", "--memory=64", "true");
	assert_int_equal(g_o.memory_mib, 64);
	OK("run", "--memory=65536", "true");
	assert_int_equal(g_o.memory_mib, 65536);
	OK("run", "--memory", "512M", "true");
	assert_int_equal(g_o.memory_mib, 512);
	OK("run", "--memory", "256m", "true");
	assert_int_equal(g_o.memory_mib, 256);
	OK("run", "--memory", "128MiB", "true");
	assert_int_equal(g_o.memory_mib, 128);
	OK("run", "--memory=1G", "true");
	assert_int_equal(g_o.memory_mib, 1024);
	OK("run", "--memory=2g", "true");
	assert_int_equal(g_o.memory_mib, 2048);
	OK("run", "--memory=64GiB", "true");
	assert_int_equal(g_o.memory_mib, 65536);
}

static void test_timeout(void **state)
{
	OK("run", "--timeout", "30", "true");
	assert_true(g_o.timeout_ms == 30000);
	OK("run", "--timeout=0.5", "true");
	assert_true(g_o.timeout_ms == 500);
	OK("run", "--timeout=1.25", "true");
	assert_true(g_o.timeout_ms == 1250);
	OK("run", "--timeout=0.001", "true");
	assert_true(g_o.timeout_ms == 1);
	OK("run", "--timeout=2.10", "true");
	assert_true(g_o.timeout_ms == 2100);
	OK("run", "--timeout=2147483647.999", "true");
	assert_true(g_o.timeout_ms == 2147483647999ull);
}

static void test_kernel_args(void **state)
{
	OK("run", "--kernel-arg", "arca.x=1", "--kernel-arg=mitigations=off", "true");
	assert_int_equal(g_o.nkernel_args, 2);
	assert_string_equal(g_o.kernel_args[0], "arca.x=1");
	assert_string_equal(g_o.kernel_args[1], "mitigations=off");
	assert_null(g_o.cmdline);
	OK("run", "--cmdline", "console=ttyS0 quiet", "true");
	assert_string_equal(g_o.cmdline, "console=ttyS0 quiet");
	ERR("--kernel-arg 'init=/bin/sh': arca-init must be the guest's init (no init= or rdinit=)",
	    "run", "--kernel-arg", "init=/bin/sh", "true");
	ERR("--cmdline 'quiet rdinit=/x': arca-init must be the guest's init (no init= or rdinit=)",
	    "run", "--cmdline", "quiet rdinit=/x", "true");
	ERR("--kernel-arg 'a\\x0ab': only printable ASCII is allowed", "run", "--kernel-arg", "a\nb",
	    "true");
	ERR("--kernel-arg must not be empty", "run", "--kernel-arg=", "true");
	/* "xinit=" is not "init=" */
	OK("run", "--kernel-arg", "xinit=1", "true");
}

static void test_stop_timeout(void **state)
{
	OK("run", "true");
	assert_true(g_o.stop_timeout_ms == ARCA_STOP_TIMEOUT_DEFAULT_MS);
	OK("run", "--stop-timeout", "0.5", "true");
	assert_true(g_o.stop_timeout_ms == 500);
	OK("run", "--stop-timeout=0", "true"); /* stop at once */
	assert_true(g_o.stop_timeout_ms == 0);
#define ST_ERR(v) "invalid --stop-timeout value '" v "': must be a number of seconds from 0 to 3600, at most 3 decimals"
	ERR(ST_ERR("3601"), "run", "--stop-timeout", "3601", "true");
	ERR(ST_ERR("x"), "run", "--stop-timeout", "x", "true");
#undef ST_ERR
}

static void test_boot_timeout(void **state)
{
	OK("run", "true");
	assert_true(g_o.boot_timeout_ms == ARCA_BOOT_TIMEOUT_DEFAULT_MS);
	OK("run", "--boot-timeout", "2.5", "true");
	assert_true(g_o.boot_timeout_ms == 2500);
	OK("run", "--boot-timeout=0", "true"); /* no deadline */
	assert_true(g_o.boot_timeout_ms == 0);
	OK("run", "--boot-timeout=86400.999", "true");
	assert_true(g_o.boot_timeout_ms == 86400999);
#define BT_ERR(v) "invalid --boot-timeout value '" v "': must be a number of seconds from 0 (no deadline) to 86400, at most 3 decimals"
	ERR(BT_ERR("86401"), "run", "--boot-timeout", "86401", "true");
	ERR(BT_ERR("-1"), "run", "--boot-timeout", "-1", "true");
	ERR(BT_ERR("1e3"), "run", "--boot-timeout", "1e3", "true");
	ERR(BT_ERR("0.0001"), "run", "--boot-timeout", "0.0001", "true");
	ERR(BT_ERR(""), "run", "--boot-timeout=", "true");
	ERR("option '--boot-timeout' is not valid for 'arca prepare'", "prepare", "--boot-timeout", "1");
#undef BT_ERR
}

static void test_doctor(void **state)
{
	OK("doctor");
	assert_int_equal(g_o.cmd, ARCA_CMD_DOCTOR);
	assert_false(g_o.json);
	OK("doctor", "--json", "--kernel", "/k");
	assert_true(g_o.json);
	assert_string_equal(g_o.kernel, "/k");
	ERR("option '--json' is not valid for 'arca run'", "run", "--json", "true");
	ERR("option '--cpus' is not valid for 'arca doctor'", "doctor", "--cpus", "2");
	ERR("unexpected argument 'x' after 'arca doctor'", "doctor", "x");
	OK("help", "doctor");
	assert_int_equal(g_o.cmd, ARCA_CMD_HELP);
	assert_non_null(strstr(cli_usage(), "arca doctor [OPTIONS]"));
	assert_non_null(strstr(cli_usage(), "--boot-timeout SECONDS"));
}

static void test_workdir(void **state)
{
	OK("run", "-w", "/tmp", "pwd");
	assert_string_equal(g_o.workdir, "/tmp");
	OK("run", "-w/srv", "pwd");
	assert_string_equal(g_o.workdir, "/srv");
	OK("run", "-w=/opt", "pwd");
	assert_string_equal(g_o.workdir, "/opt");
	OK("run", "--workdir", "/a b", "pwd");
	assert_string_equal(g_o.workdir, "/a b");
	OK("run", "--workdir=/", "pwd");
	assert_string_equal(g_o.workdir, "/");
	CMD_IS("pwd");
}

static void test_kernel_and_flags(void **state)
{
	OK("run", "--kernel", "/boot/vmlinuz", "true");
	assert_string_equal(g_o.kernel, "/boot/vmlinuz");
	OK("run", "--kernel=k", "--verbose", "true");
	assert_string_equal(g_o.kernel, "k");
	assert_true(g_o.verbose);
	assert_false(g_o.console);
	OK("run", "--console", "true");
	assert_true(g_o.console);
	assert_false(g_o.verbose);
	/* a value that looks like an option is still the value, as getopt */
	OK("run", "--kernel", "--verbose", "true");
	assert_string_equal(g_o.kernel, "--verbose");
	assert_false(g_o.verbose);
	/* The decompressed kernel by default; --kaslr the bzImage, and of
	 * --kaslr and --no-kaslr the last one counts. */
	OK("run", "true");
	assert_false(g_o.kaslr);
	OK("run", "--kaslr", "true");
	assert_true(g_o.kaslr);
	OK("run", "--kaslr", "--no-kaslr", "true");
	assert_false(g_o.kaslr);
	OK("run", "--no-kaslr", "--kaslr", "true");
	assert_true(g_o.kaslr);
}

static void test_all_together(void **state)
{
	OK("run", "--cpus=4", "--memory", "2G", "-e", "A=1", "-eB=2",
	   "--env=C=3", "-w", "/w", "--timeout", "1.5", "--kernel", "/k",
	   "--verbose", "--console", "--", "sh", "-c", "echo $A");
	assert_int_equal(g_o.cpus, 4);
	assert_int_equal(g_o.memory_mib, 2048);
	assert_int_equal(g_o.envc, 3);
	assert_string_equal(g_o.env[0], "A=1");
	assert_string_equal(g_o.env[1], "B=2");
	assert_string_equal(g_o.env[2], "C=3");
	assert_null(g_o.env[3]);
	assert_string_equal(g_o.workdir, "/w");
	assert_true(g_o.timeout_ms == 1500);
	assert_string_equal(g_o.kernel, "/k");
	assert_true(g_o.verbose && g_o.console);
	CMD_IS("sh", "-c", "echo $A");
}

/* ---- where CMD starts -------------------------------------------------- */

static void test_dashdash(void **state)
{
	OK("run", "--", "--cpus", "2");
	CMD_IS("--cpus", "2");
	assert_int_equal(g_o.cpus, 1);

	OK("run", "--cpus", "3", "--", "ls", "--", "-x");
	assert_int_equal(g_o.cpus, 3);
	CMD_IS("ls", "--", "-x");

	/* "-" is not an option */
	OK("run", "-");
	CMD_IS("-");

	ERR("missing command after 'arca run'", "run", "--cpus", "2", "--");
	ERR("missing command after 'arca run'", "run", "--");
}

static void test_first_nonoption_starts_cmd(void **state)
{
	OK("run", "ls", "-l");
	CMD_IS("ls", "-l");

	OK("run", "--cpus", "2", "ls", "-l", "--cpus", "9", "-e", "X=1", "--help");
	assert_int_equal(g_o.cpus, 2);
	assert_int_equal(g_o.envc, 0);
	CMD_IS("ls", "-l", "--cpus", "9", "-e", "X=1", "--help");
}

/* ---- -e ---------------------------------------------------------------- */

static void test_env_forms(void **state)
{
	OK("run", "-e", "K=V", "-eL=W", "-e=M=X", "--env", "N=Y", "--env=O=Z", "true");
	assert_int_equal(g_o.envc, 5);
	assert_string_equal(g_o.env[0], "K=V");
	assert_string_equal(g_o.env[1], "L=W");
	assert_string_equal(g_o.env[2], "M=X");
	assert_string_equal(g_o.env[3], "N=Y");
	assert_string_equal(g_o.env[4], "O=Z");
	assert_null(g_o.env[5]);

	/* empty value, '=' inside the value, underscore and digits */
	OK("run", "-e", "EMPTY=", "-e", "_A1=a=b=", "-e", "x=  sp  ", "true");
	assert_int_equal(g_o.envc, 3);
	assert_string_equal(g_o.env[0], "EMPTY=");
	assert_string_equal(g_o.env[1], "_A1=a=b=");
	assert_string_equal(g_o.env[2], "x=  sp  ");
}

static void test_env_replace(void **state)
{
	OK("run", "-e", "A=1", "-e", "B=2", "-e", "A=3", "-e", "AB=4", "true");
	assert_int_equal(g_o.envc, 3);
	assert_string_equal(g_o.env[0], "A=3");
	assert_string_equal(g_o.env[1], "B=2");
	assert_string_equal(g_o.env[2], "AB=4");
	assert_null(g_o.env[3]);

	/* a name that is a prefix of an earlier one is a different name */
	OK("run", "-e", "AB=1", "-e", "A=2", "-e", "ABC=3", "true");
	assert_int_equal(g_o.envc, 3);
	assert_string_equal(g_o.env[0], "AB=1");
	assert_string_equal(g_o.env[1], "A=2");
	assert_string_equal(g_o.env[2], "ABC=3");
}

static void test_env_from_host(void **state)
{
	assert_int_equal(setenv("ARCA_TEST_SET", "from host=1", 1), 0);
	assert_int_equal(setenv("ARCA_TEST_EMPTY", "", 1), 0);
	assert_int_equal(unsetenv("ARCA_TEST_UNSET"), 0);

	OK("run", "-e", "ARCA_TEST_SET", "-eARCA_TEST_UNSET",
	   "--env=ARCA_TEST_EMPTY", "true");
	assert_int_equal(g_o.envc, 2);
	assert_string_equal(g_o.env[0], "ARCA_TEST_SET=from host=1");
	assert_string_equal(g_o.env[1], "ARCA_TEST_EMPTY=");
	assert_null(g_o.env[2]);

	/* only the unset one: nothing at all */
	OK("run", "-e", "ARCA_TEST_UNSET", "true");
	assert_int_equal(g_o.envc, 0);
	assert_null(g_o.env);

	/* the host value replaces an explicit one for the same name */
	OK("run", "-e", "ARCA_TEST_SET=x", "-e", "ARCA_TEST_SET", "true");
	assert_int_equal(g_o.envc, 1);
	assert_string_equal(g_o.env[0], "ARCA_TEST_SET=from host=1");

	unsetenv("ARCA_TEST_SET");
	unsetenv("ARCA_TEST_EMPTY");
}

static void test_env_many(void **state)
{
	/* grows the array past any small initial size */
	const char *args[64] = { "arca", "run" };
	char names[29][32];
	int n = 2;

	for (unsigned i = 0; i < 29; i++) {
		snprintf(names[i], sizeof(names[i]), "V%u=%u", i, i);
		args[n++] = "-e";
		args[n++] = names[i];
	}
	args[n++] = "true";
	args[n] = NULL;
	assert_int_equal(do_parse(args), 0);
	assert_int_equal(g_o.envc, 29);
	assert_string_equal(g_o.env[0], "V0=0");
	assert_string_equal(g_o.env[g_o.envc - 1], names[g_o.envc - 1]);
	assert_null(g_o.env[g_o.envc]);
}

/* ---- errors ------------------------------------------------------------ */

static void test_err_cpus(void **state)
{
#define CPUS_ERR(v) "invalid --cpus value '" v "': must be an integer from 1 to 64"
	ERR(CPUS_ERR("0"), "run", "--cpus", "0", "true");
	ERR(CPUS_ERR("65"), "run", "--cpus=65", "true");
	ERR(CPUS_ERR("99999999999999999999"), "run", "--cpus", "99999999999999999999", "true");
	/* 2^64 + 2 must not wrap to 2 */
	ERR(CPUS_ERR("18446744073709551618"), "run", "--cpus", "18446744073709551618", "true");
	/* 2^32 + 2 must not truncate to 2 */
	ERR(CPUS_ERR("4294967298"), "run", "--cpus", "4294967298", "true");
	ERR(CPUS_ERR("-1"), "run", "--cpus", "-1", "true");
	ERR(CPUS_ERR("-1"), "run", "--cpus=-1", "true");
	ERR(CPUS_ERR("+2"), "run", "--cpus", "+2", "true");
	ERR(CPUS_ERR("2x"), "run", "--cpus", "2x", "true");
	ERR(CPUS_ERR("0x2"), "run", "--cpus", "0x2", "true");
	ERR(CPUS_ERR(" 2"), "run", "--cpus", " 2", "true");
	ERR(CPUS_ERR("2 "), "run", "--cpus", "2 ", "true");
	ERR(CPUS_ERR("2.0"), "run", "--cpus", "2.0", "true");
	ERR(CPUS_ERR(""), "run", "--cpus", "", "true");
	ERR(CPUS_ERR(""), "run", "--cpus=", "true");
	ERR("option '--cpus' needs a value", "run", "--cpus");
#undef CPUS_ERR
}

static void test_err_memory(void **state)
{
#define MEM_ERR(v) "invalid --memory value '" v "': must be an integer number of MiB from 64 to 65536 (or with a G suffix)"
	ERR(MEM_ERR("63"), "run", "--memory", "63", "true");
	ERR(MEM_ERR("65537"), "run", "--memory", "65537", "true");
	ERR(MEM_ERR("65G"), "run", "--memory", "65G", "true");
	ERR(MEM_ERR("0G"), "run", "--memory", "0G", "true");
	ERR(MEM_ERR("1T"), "run", "--memory", "1T", "true");
	ERR(MEM_ERR("1GB"), "run", "--memory", "1GB", "true");
	ERR(MEM_ERR("G"), "run", "--memory", "G", "true");
	ERR(MEM_ERR("-512"), "run", "--memory", "-512", "true");
	ERR(MEM_ERR("512.5"), "run", "--memory", "512.5", "true");
	ERR(MEM_ERR(""), "run", "--memory=", "true");
	/* the G multiplication must not wrap */
	ERR(MEM_ERR("18014398509481985G"), "run", "--memory", "18014398509481985G", "true");
	ERR(MEM_ERR("99999999999999999999"), "run", "--memory", "99999999999999999999", "true");
	ERR("option '--memory' needs a value", "run", "--memory");
#undef MEM_ERR
}

static void test_err_timeout(void **state)
{
#define TO_ERR(v) "invalid --timeout value '" v "': must be a number of seconds from 0.001 to 2147483647, at most 3 decimals"
	ERR(TO_ERR("0"), "run", "--timeout", "0", "true");
	ERR(TO_ERR("0.000"), "run", "--timeout", "0.000", "true");
	ERR(TO_ERR("0.0001"), "run", "--timeout", "0.0001", "true");
	ERR(TO_ERR("1.0001"), "run", "--timeout", "1.0001", "true");
	ERR(TO_ERR("1.5000"), "run", "--timeout", "1.5000", "true");
	ERR(TO_ERR("-1"), "run", "--timeout", "-1", "true");
	ERR(TO_ERR("1e3"), "run", "--timeout", "1e3", "true");
	ERR(TO_ERR("inf"), "run", "--timeout", "inf", "true");
	ERR(TO_ERR("nan"), "run", "--timeout", "nan", "true");
	ERR(TO_ERR("5."), "run", "--timeout", "5.", "true");
	ERR(TO_ERR(".5"), "run", "--timeout", ".5", "true");
	ERR(TO_ERR("1,5"), "run", "--timeout", "1,5", "true");
	ERR(TO_ERR("10s"), "run", "--timeout", "10s", "true");
	ERR(TO_ERR("2147483648"), "run", "--timeout", "2147483648", "true");
	ERR(TO_ERR("99999999999999999999"), "run", "--timeout", "99999999999999999999", "true");
	ERR(TO_ERR(""), "run", "--timeout=", "true");
	ERR("option '--timeout' needs a value", "run", "--timeout");
#undef TO_ERR
}

static void test_err_workdir(void **state)
{
	ERR("--workdir must be an absolute path: 'tmp'", "run", "-w", "tmp", "true");
	ERR("--workdir must be an absolute path: './x'", "run", "--workdir=./x", "true");
	ERR("--workdir must be an absolute path: ''", "run", "--workdir", "", "true");
	ERR("--workdir must be an absolute path: ''", "run", "-w=", "true");
	ERR("option '-w' needs a value", "run", "-w");
	ERR("option '--workdir' needs a value", "run", "--workdir");

	char *big = malloc(5000);
	assert_non_null(big);
	big[0] = '/';
	memset(big + 1, 'a', 4998);
	big[4999] = '\0';
	int r = do_parse((const char *const[]){ "arca", "run", "-w", big, "true", NULL });
	free(big);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(g_e.msg, "--workdir is longer than 4095 bytes: '/aaaa"));
	/* the value is cut in the message */
	assert_non_null(strstr(g_e.msg, "aaa...'"));
	assert_true(strlen(g_e.msg) < 200);
}

static void test_err_env(void **state)
{
#define ENV_ERR(v) "invalid --env value '" v "': must be NAME=VALUE or NAME, NAME made of letters, digits and '_', not starting with a digit"
	ERR(ENV_ERR("1A=b"), "run", "-e", "1A=b", "true");
	ERR(ENV_ERR("=V"), "run", "-e", "=V", "true");
	ERR(ENV_ERR(""), "run", "-e", "", "true");
	ERR(ENV_ERR(""), "run", "--env=", "true");
	ERR(ENV_ERR("A-B=c"), "run", "-e", "A-B=c", "true");
	ERR(ENV_ERR("A B"), "run", "-e", "A B", "true");
	ERR(ENV_ERR("9"), "run", "-e9", "true");
	ERR("option '-e' needs a value", "run", "-e");
	ERR("option '--env' needs a value", "run", "--env");
	/* an error after a good -e frees it and leaves nothing behind */
	ERR(ENV_ERR("=x"), "run", "-e", "A=1", "-e", "B=2", "-e", "=x", "true");
#undef ENV_ERR
}

static void test_err_options(void **state)
{
	ERR("unknown option '--bogus' (see 'arca help')", "run", "--bogus", "true");
	ERR("unknown option '--bogus' (see 'arca help')", "run", "--bogus=3", "true");
	ERR("unknown option '-x' (see 'arca help')", "run", "-x", "true");
	/* no abbreviations: --cpu is not --cpus */
	ERR("unknown option '--cpu' (see 'arca help')", "run", "--cpu", "2", "true");
	/* no bundling of flags */
	ERR("unknown option '-hx' (see 'arca help')", "run", "-hx", "true");
	ERR("unknown option '--' (see 'arca help')", "run", "--=x", "true");
	ERR("option '--verbose' takes no value", "run", "--verbose=1", "true");
	ERR("option '--console' takes no value", "run", "--console=", "true");
	ERR("--kernel must not be empty", "run", "--kernel=", "true");
	ERR("--kernel must not be empty", "prepare", "--kernel", "");
	ERR("option '--kernel' needs a value", "prepare", "--kernel");
	ERR("empty command name after 'arca run'", "run", "", "x");
	ERR("missing command after 'arca run'", "run");
	ERR("missing command after 'arca run'", "run", "--verbose");
	/* run-only options are refused elsewhere, by name */
	ERR("option '--cpus' is not valid for 'arca prepare'", "prepare", "--cpus", "2");
	ERR("option '-e' is not valid for 'arca prepare'", "prepare", "-e", "A=1");
	ERR("option '--verbose' is not valid for 'arca version'", "--version", "--verbose");
}

static void test_err_commands(void **state)
{
	ERR("unknown command 'frobnicate' (see 'arca help')", "frobnicate");
	ERR("unknown command 'Run' (see 'arca help')", "Run", "ls");
	ERR("unknown option '--cpus' (see 'arca help')", "--cpus", "2", "run", "ls");
	ERR("unknown command '' (see 'arca help')", "");
	ERR("unexpected argument 'extra' after 'arca version'", "version", "extra");
	ERR("unexpected argument 'x' after 'arca prepare'", "prepare", "x");
	ERR("unexpected argument 'x' after 'arca prepare'", "prepare", "--", "x");
	ERR("unknown command 'bogus' (see 'arca help')", "help", "bogus");
	ERR("unexpected argument 'prepare' after 'arca help'", "help", "run", "prepare");

	/* no arguments at all */
	int r = do_parse((const char *const[]){ "arca", NULL });
	assert_int_equal(r, -EINVAL);
	assert_string_equal(g_e.msg,
			    "missing command: try 'arca run [OPTIONS] CMD [ARG...]' or 'arca help'");
	r = cli_parse(0, (char *const[]){ NULL }, &g_o, &g_e);
	assert_int_equal(r, -EINVAL);
}

static void test_err_message_one_line(void **state)
{
	/* control characters and terminal escapes never reach the message raw */
	ERR("invalid --cpus value '1\\x0a2': must be an integer from 1 to 64",
	    "run", "--cpus", "1\n2", "true");
	ERR("unknown command '\\x1b[31mred' (see 'arca help')", "\x1b[31mred");
	ERR("--workdir must be an absolute path: 'a\\x5cb\\xff'", "run", "-w", "a\\b\xff", "x");

	char big[400];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	int r = do_parse((const char *const[]){ "arca", big, NULL });
	assert_int_equal(r, -EINVAL);
	assert_null(strchr(g_e.msg, '\n'));
	assert_non_null(strstr(g_e.msg, "zzz...'"));
	assert_true(strlen(g_e.msg) < 200);
}

/* ---- other commands ---------------------------------------------------- */

static void test_version_help_prepare(void **state)
{
	OK("--version");
	assert_int_equal(g_o.cmd, ARCA_CMD_VERSION);
	OK("version");
	assert_int_equal(g_o.cmd, ARCA_CMD_VERSION);

	static const char *const help[][4] = {
		{ "help" }, { "--help" }, { "-h" }, { "run", "--help" }, { "run", "-h" },
		{ "run", "--cpus", "2", "--help" }, { "prepare", "--help" },
		{ "help", "run" }, { "help", "prepare" }, { "version", "--help" },
		{ "run", "--help", "--bogus" }, /* help stops parsing */
	};
	for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) {
		const char *args[6] = { "arca" };
		memcpy(args + 1, help[i], sizeof(help[i]));
		assert_int_equal(do_parse(args), 0);
		assert_int_equal(g_o.cmd, ARCA_CMD_HELP);
	}

	OK("prepare");
	assert_int_equal(g_o.cmd, ARCA_CMD_PREPARE);
	assert_null(g_o.kernel);
	OK("prepare", "--kernel", "/boot/k");
	assert_int_equal(g_o.cmd, ARCA_CMD_PREPARE);
	assert_string_equal(g_o.kernel, "/boot/k");
	OK("prepare", "--kernel=/x", "--");
	assert_string_equal(g_o.kernel, "/x");

	/* after CMD starts, --help is CMD's */
	OK("run", "ls", "--help");
	CMD_IS("ls", "--help");
}

static void test_vmm_user(void **state)
{
	OK("run", "true");
	assert_int_equal(g_o.vmm_uid, 0); /* default: not given */
	assert_int_equal(g_o.vmm_gid, 0);
	OK("run", "--vmm-user", "1000", "true");
	assert_int_equal(g_o.vmm_uid, 1000);
	assert_int_equal(g_o.vmm_gid, 1000);
	OK("run", "--vmm-user=2000:3000", "true");
	assert_int_equal(g_o.vmm_uid, 2000);
	assert_int_equal(g_o.vmm_gid, 3000);
	CMD_IS("true");
	ERR("invalid --vmm-user value '0': must be UID or UID:GID, numeric, neither 0",
	    "run", "--vmm-user", "0", "true");
	ERR("invalid --vmm-user value '1000:0': must be UID or UID:GID, numeric, neither 0",
	    "run", "--vmm-user=1000:0", "true");
	ERR("invalid --vmm-user value 'nobody': must be UID or UID:GID, numeric, neither 0",
	    "run", "--vmm-user", "nobody", "true");
	ERR("invalid --vmm-user value '-1': must be UID or UID:GID, numeric, neither 0",
	    "run", "--vmm-user=-1", "true");
	ERR("invalid --vmm-user value '4294967295': must be UID or UID:GID, numeric, neither 0",
	    "run", "--vmm-user", "4294967295", "true");
	ERR("option '--vmm-user' needs a value", "run", "--vmm-user");
	ERR("option '--vmm-user' is not valid for 'arca prepare'", "prepare", "--vmm-user", "5");
}

/* --ulimit NAME=SOFT[:HARD]: docker's names and syntax, strict values. */
static void test_ulimit(void **state)
{
	OK("run", "true");
	assert_int_equal(g_o.nrlimits, 0);

	OK("run", "--ulimit", "nofile=1024:2048", "--ulimit=core=0", "--ulimit",
	   "stack=unlimited", "--ulimit", "as=1:unlimited", "true");
	CMD_IS("true");
	assert_int_equal(g_o.nrlimits, 4);
	assert_int_equal(g_o.rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(g_o.rlimits[0].soft == 1024);
	assert_true(g_o.rlimits[0].hard == 2048);
	assert_int_equal(g_o.rlimits[1].resource, RLIMIT_CORE);
	assert_true(g_o.rlimits[1].soft == 0 && g_o.rlimits[1].hard == 0);
	assert_int_equal(g_o.rlimits[2].resource, RLIMIT_STACK);
	assert_true(g_o.rlimits[2].soft == ARCA_RLIM_INFINITY);
	assert_true(g_o.rlimits[2].hard == ARCA_RLIM_INFINITY);
	assert_int_equal(g_o.rlimits[3].resource, RLIMIT_AS);
	assert_true(g_o.rlimits[3].soft == 1);
	assert_true(g_o.rlimits[3].hard == ARCA_RLIM_INFINITY);

	/* HARD defaults to SOFT; the largest number is all ones. */
	OK("run", "--ulimit", "nproc=18446744073709551615", "true");
	assert_true(g_o.rlimits[0].soft == UINT64_MAX && g_o.rlimits[0].hard == UINT64_MAX);
	OK("run", "--ulimit", "sigpending=5:5", "true");
	assert_true(g_o.rlimits[0].soft == 5 && g_o.rlimits[0].hard == 5);

	/* exec takes it too, before NAME; start does not (a sandbox's
	 * limits are each command's). */
	OK("exec", "--ulimit", "cpu=10:20", "sb", "sh");
	assert_int_equal(g_o.cmd, ARCA_CMD_EXEC);
	assert_string_equal(g_o.name, "sb");
	assert_int_equal(g_o.nrlimits, 1);
	assert_int_equal(g_o.rlimits[0].resource, RLIMIT_CPU);
	ERR("option '--ulimit' is not valid for 'arca start'", "start", "--name", "x", "--ulimit",
	    "nofile=1");

	/* Every name once: all 16 at once. */
	const char *names[] = { "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
				"nice", "nofile", "nproc", "rss", "rtprio", "rttime",
				"sigpending", "stack", "as" };
	static char vals[ARCA_RLIMITS_MAX][32];
	const char *args[2 + 2 * (ARCA_RLIMITS_MAX + 1) + 2] = { "arca", "run" };
	size_t n = 2;
	for (size_t i = 0; i < ARCA_RLIMITS_MAX; i++) {
		snprintf(vals[i], sizeof(vals[i]), "%s=%zu:%zu", names[i], i, i + 1);
		args[n++] = "--ulimit";
		args[n++] = vals[i];
	}
	args[n++] = "true";
	args[n] = NULL;
	assert_int_equal(do_parse(args), 0);
	assert_int_equal(g_o.nrlimits, ARCA_RLIMITS_MAX);
	uint32_t seen = 0;
	for (size_t i = 0; i < ARCA_RLIMITS_MAX; i++) {
		assert_true(g_o.rlimits[i].soft == i && g_o.rlimits[i].hard == i + 1);
		seen |= 1u << g_o.rlimits[i].resource;
	}
	assert_int_equal(seen, 0xffff);
	/* A 17th can only repeat a name: refused, as the limit would be. */
	args[n - 1] = "--ulimit";
	args[n++] = "nofile=1";
	args[n++] = "true";
	args[n] = NULL;
	assert_int_equal(do_parse(args), -EINVAL);
	assert_string_equal(g_e.msg, "--ulimit nofile given twice ('nofile=1')");
}

static void test_err_ulimit(void **state)
{
	const char *names = "one of core, cpu, data, fsize, locks, memlock, msgqueue, nice, "
			    "nofile, nproc, rss, rtprio, rttime, sigpending, stack, as";
	char want[512];

	snprintf(want, sizeof(want), "invalid --ulimit name 'nofiles': %s", names);
	ERR(want, "run", "--ulimit", "nofiles=1", "true");
	snprintf(want, sizeof(want), "invalid --ulimit name 'NOFILE': %s", names);
	ERR(want, "run", "--ulimit", "NOFILE=1", "true");
	snprintf(want, sizeof(want), "invalid --ulimit name '': %s", names);
	ERR(want, "run", "--ulimit", "=1", "true");

	ERR("invalid --ulimit value 'nofile': must be NAME=SOFT[:HARD]",
	    "run", "--ulimit", "nofile", "true");
	ERR("invalid --ulimit value '': must be NAME=SOFT[:HARD]", "run", "--ulimit=", "true");
	const char *bad[] = { "nofile=", "nofile=:1", "nofile=1:", "nofile=-1", "nofile=+1",
			      "nofile= 1", "nofile=1k", "nofile=0x10", "nofile=1:2:3",
			      "nofile=infinity", "nofile=Unlimited", "nofile=unlimitedx",
			      "nofile=18446744073709551616", "nofile=1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want),
			 "invalid --ulimit value '%s': SOFT and HARD must be decimal integers or 'unlimited'",
			 bad[i]);
		ERR(want, "run", "--ulimit", bad[i], "true");
	}
	ERR("invalid --ulimit value 'nofile=2048:1024': the soft limit is above the hard limit",
	    "run", "--ulimit", "nofile=2048:1024", "true");
	ERR("invalid --ulimit value 'core=unlimited:0': the soft limit is above the hard limit",
	    "run", "--ulimit", "core=unlimited:0", "true");
	ERR("--ulimit nofile given twice ('nofile=2')",
	    "run", "--ulimit", "nofile=1", "--ulimit", "nofile=2", "true");
	ERR("--ulimit core given twice ('core=0')",
	    "exec", "--ulimit", "core=0", "--ulimit", "nproc=5", "--ulimit", "core=0", "sb", "true");
	ERR("option '--ulimit' needs a value", "run", "--ulimit");
	ERR("option '--ulimit' is not valid for 'arca prepare'", "prepare", "--ulimit", "core=0");
	/* After CMD, it is CMD's own argument. */
	OK("run", "sh", "--ulimit", "bogus");
	CMD_IS("sh", "--ulimit", "bogus");
	assert_int_equal(g_o.nrlimits, 0);
}

static void test_gc(void **state)
{
	OK("gc");
	assert_int_equal(g_o.cmd, ARCA_CMD_GC);
	OK("gc", "--help");
	assert_int_equal(g_o.cmd, ARCA_CMD_HELP);
	OK("help", "gc");
	assert_int_equal(g_o.cmd, ARCA_CMD_HELP);
	ERR("unexpected argument 'now' after 'arca gc'", "gc", "now");
	ERR("option '--cpus' is not valid for 'arca gc'", "gc", "--cpus", "2");
	assert_non_null(strstr(cli_usage(), "arca gc"));
	assert_non_null(strstr(cli_usage(), "--vmm-user UID[:GID]"));
	/* the help text still fits its buffer: it ends with the newline */
	size_t n = strlen(cli_usage());
	assert_true(n < 12000); /* cli_usage()'s buffer is 12288 */
	assert_int_equal(cli_usage()[n - 1], '\n');
}

static void test_usage(void **state)
{
	const char *u = cli_usage();
	static const char *const want[] = {
		"arca run [OPTIONS] [--] CMD [ARG...]", "arca prepare", "--version",
		"--help", "\n      --cpus N ", "default 1)", "\n      --memory MiB ",
		"(default\n                         512)", "\n  -e, --env K=V ", "\n  -v, --share HOST:GUEST[:OPTS]\n", "\n      --root DIR[:rw] ", "124", "126", "127", "\n  -w, --workdir DIR ",
		"\n      --timeout SECONDS ", "\n      --kernel PATH ",
		"\n      --verbose ", "\n      --console ",
		"Options for 'arca prepare':\n      --kernel PATH ", "125", "128+N",
	};

	assert_non_null(u);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(u, want[i]))
			fail_msg("usage lacks '%s':\n%s", want[i], u);
	/* not truncated, and stable across calls */
	assert_true(strlen(u) > 0 && u[strlen(u) - 1] == '\n');
	assert_non_null(strstr(u, "the exit status of CMD\n"));
	assert_ptr_equal(cli_usage(), u);
	/* prepare does not list run-only options */
	assert_null(strstr(strstr(u, "Options for 'arca prepare'"), "--cpus"));
}

static void test_disk_options(void **state)
{
	OK("run", "true");
	assert_int_equal(g_o.disks.n, 0);
	assert_false(g_o.disks.has_root);

	OK("run", "--disk", "data.img:/data", "--disk=s.img,id=scratch,ro", "--disk",
	   "/dev/vg/lv", "--root-disk", "rootfs.ext4", "--", "ls", "/data");
	CMD_IS("ls", "/data");
	assert_int_equal(g_o.disks.n, 3);
	assert_string_equal(g_o.disks.v[0].path, "data.img");
	assert_string_equal(g_o.disks.v[0].guest, "/data");
	assert_string_equal(g_o.disks.v[1].id, "scratch");
	assert_true(g_o.disks.v[1].ro);
	assert_null(g_o.disks.v[1].guest);
	assert_string_equal(g_o.disks.v[2].path, "/dev/vg/lv");
	assert_true(g_o.disks.has_root);
	assert_string_equal(g_o.disks.root.path, "rootfs.ext4");
	assert_true(g_o.disks.root.ro);
	assert_null(g_o.root);

	OK("run", "--root-disk=r.img:rw", "--root-disk", "q.img", "true"); /* last wins */
	assert_string_equal(g_o.disks.root.path, "q.img");
	assert_true(g_o.disks.root.ro);
	OK("run", "--root-disk=r.img:rw", "true");
	assert_false(g_o.disks.root.ro);

	/* The disk parser's messages come through as they are. */
	ERR("unknown disk option 'rw' in 'a.img:/a:rw' (ro, ephemeral, id=NAME, cache=writeback|none, sync=full|none, fstype=TYPE)",
	    "run", "--disk", "a.img:/a:rw", "true");
	ERR("disk options 'ro' and 'ephemeral' exclude each other: 'a.img,ephemeral,ro'",
	    "run", "--disk=a.img,ephemeral,ro", "true");
	ERR("disk option 'fstype=' needs a GUEST path to mount on (PATH:GUEST:fstype=TYPE): 'a.img,fstype=xfs'",
	    "run", "--disk", "a.img,fstype=xfs", "true");
	ERR("too many disks: 'i.img' would be disk 9, at most 8", "run", "--disk", "a.img",
	    "--disk", "b.img", "--disk", "c.img", "--disk", "d.img", "--disk", "e.img", "--disk",
	    "f.img", "--disk", "g.img", "--disk", "h.img", "--disk", "i.img", "true");
	ERR("--root-disk needs an image path", "run", "--root-disk", ":rw", "true");
	ERR("option '--disk' needs a value", "run", "--disk");
	ERR("option '--disk' is not valid for 'arca prepare'", "prepare", "--disk", "a.img");
	ERR("option '--root-disk' is not valid for 'arca doctor'", "doctor", "--root-disk=a");

	/* --root and --root-disk say the same thing twice: refused in either
	 * order, --root initrd included. */
	ERR("--root-disk and --root cannot be used together", "run", "--root", "/srv/r",
	    "--root-disk", "r.img", "true");
	ERR("--root-disk and --root cannot be used together", "run", "--root-disk", "r.img",
	    "--root", "/srv/r", "true");
	ERR("--root-disk and --root cannot be used together", "run", "--root", "initrd",
	    "--root-disk", "r.img", "true");
	ERR("--root-disk and --root cannot be used together", "run", "--root-disk=r.img:rw",
	    "--root=initrd", "true");

	const char *u = cli_usage();
	assert_non_null(strstr(u, "\n      --disk SPEC "));
	assert_non_null(strstr(u, "\n      --root-disk IMAGE[:rw]\n"));
	assert_non_null(strstr(u, "cache=writeback|none"));
}

static void test_cap_mask(void **state)
{
	(void)state;
	OK("run", "--cap-mask", "1ffffffffff,3,7,6,2", "--no-new-privileges", "--", "true");
	assert_true(g_o.has_caps);
	assert_true(g_o.no_new_privs);
	assert_true(g_o.caps[0] == 0x1ffffffffffull && g_o.caps[1] == 3 && g_o.caps[2] == 7 &&
		    g_o.caps[3] == 6 && g_o.caps[4] == 2);
	OK("exec", "--cap-mask", "0,0,0,0,0", "sb", "--", "true");
	assert_true(g_o.has_caps);
	static const char *const bad[] = { "1,2,3,4", "1,2,3,4,5,6", "x,0,0,0,0", ",0,0,0,0",
					   "1,0,0,0,0 ", "-1,0,0,0,0", "10000000000000000,0,0,0,0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[200];
		snprintf(want, sizeof(want), "--cap-mask '%s': five hexadecimal masks "
			 "BOUNDING,EFFECTIVE,PERMITTED,INHERITABLE,AMBIENT", bad[i]);
		ERR(want, "run", "--cap-mask", bad[i], "--", "true");
	}
	ERR("--cap-mask '20000000000,0,0,0,0': capabilities 0..40 only; effective within "
	    "permitted; ambient within permitted and inheritable",
	    "run", "--cap-mask", "20000000000,0,0,0,0", "--", "true");
	ERR("--cap-mask '0,1,0,0,0': capabilities 0..40 only; effective within permitted; "
	    "ambient within permitted and inheritable",
	    "run", "--cap-mask", "0,1,0,0,0", "--", "true");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_cpus, teardown),
		cmocka_unit_test_teardown(test_memory, teardown),
		cmocka_unit_test_teardown(test_timeout, teardown),
		cmocka_unit_test_teardown(test_workdir, teardown),
		cmocka_unit_test_teardown(test_boot_timeout, teardown),
		cmocka_unit_test_teardown(test_stop_timeout, teardown),
		cmocka_unit_test_teardown(test_kernel_args, teardown),
		cmocka_unit_test_teardown(test_doctor, teardown),
		cmocka_unit_test_teardown(test_kernel_and_flags, teardown),
		cmocka_unit_test_teardown(test_all_together, teardown),
		cmocka_unit_test_teardown(test_dashdash, teardown),
		cmocka_unit_test_teardown(test_first_nonoption_starts_cmd, teardown),
		cmocka_unit_test_teardown(test_env_forms, teardown),
		cmocka_unit_test_teardown(test_env_replace, teardown),
		cmocka_unit_test_teardown(test_env_from_host, teardown),
		cmocka_unit_test_teardown(test_env_many, teardown),
		cmocka_unit_test_teardown(test_err_cpus, teardown),
		cmocka_unit_test_teardown(test_err_memory, teardown),
		cmocka_unit_test_teardown(test_err_timeout, teardown),
		cmocka_unit_test_teardown(test_err_workdir, teardown),
		cmocka_unit_test_teardown(test_err_env, teardown),
		cmocka_unit_test_teardown(test_err_options, teardown),
		cmocka_unit_test_teardown(test_err_commands, teardown),
		cmocka_unit_test_teardown(test_err_message_one_line, teardown),
		cmocka_unit_test_teardown(test_version_help_prepare, teardown),
		cmocka_unit_test_teardown(test_usage, teardown),
		cmocka_unit_test_teardown(test_vmm_user, teardown),
		cmocka_unit_test_teardown(test_gc, teardown),
		cmocka_unit_test_teardown(test_ulimit, teardown),
		cmocka_unit_test_teardown(test_cap_mask, teardown),
		cmocka_unit_test_teardown(test_err_ulimit, teardown),
		cmocka_unit_test_teardown(test_disk_options, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
