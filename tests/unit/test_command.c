/* SPDX-License-Identifier: MIT */
/* cmocka tests for initrd/command.c's child setup on the host: command_spawn
 * forks an ordinary /bin/sh (no init, no chroot, no id change), so what the
 * child sets before exec (--ulimit's setrlimit calls) and how a refusal is
 * reported can be checked without a VM. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../initrd/command.c" /* from tests/unit/ */

#define S(lit) ((char[]){ lit })

struct ran {
	int code;       /* command_start.code */
	char msg[512];
	char out[512];  /* the command's stdout */
	int status;     /* its wait status */
};

/* Runs `sh -c script` with limits rl[0..n) through command_spawn, stdout
 * into r->out. stdin and stderr are /dev/null. */
static void run_sh(const char *script, struct arca_spec_rlimit *rl, size_t n, struct ran *r)
{
	char body[256];
	char *argv[] = { S("/bin/sh"), S("-c"), body, NULL };
	char *env[] = { NULL };
	struct arca_spec s = { .argv = argv, .argc = 3, .env = env, .rlimits = rl, .nrlimits = n };
	struct command_start st;
	int mine, stdio[3];

	memset(r, 0, sizeof(*r));
	assert_true(strlen(script) < sizeof(body));
	snprintf(body, sizeof(body), "%s", script);
	assert_int_equal(command_pipe(0, &mine, &stdio[1]), 0);
	stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(stdio[0] >= 0);
	stdio[2] = stdio[0];
	assert_int_equal(command_spawn(&s, NULL, stdio, &st), 0);
	assert_true(st.pid > 0);
	r->code = st.code;
	snprintf(r->msg, sizeof(r->msg), "%s", st.msg);

	/* mine is O_NONBLOCK: wait for the child first, then read what it
	 * left in the pipe (far less than a pipe's capacity). */
	assert_int_equal(waitpid(st.pid, &r->status, 0), st.pid);
	ssize_t got = read(mine, r->out, sizeof(r->out) - 1);
	r->out[got > 0 ? got : 0] = '\0';
	close(mine);
}

static void test_rlimits_applied(void **state)
{
	struct rlimit nofile;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max < 128)
		skip();
	struct arca_spec_rlimit rl[] = {
		{ RLIMIT_NOFILE, 64, 128 },
		{ RLIMIT_CORE, 0, 0 },
	};
	struct ran r;

	run_sh("ulimit -Sn; ulimit -Hn; ulimit -Hc", rl, 2, &r);
	assert_int_equal(r.code, -1);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "64\n128\n0\n");

	/* The child's only: this process keeps its own. */
	struct rlimit now;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
	assert_true(now.rlim_cur == nofile.rlim_cur && now.rlim_max == nofile.rlim_max);

	/* No limits: the command inherits the caller's. */
	char want[64];
	run_sh("ulimit -Hn", NULL, 0, &r);
	assert_int_equal(r.code, -1);
	if (nofile.rlim_max == RLIM_INFINITY)
		snprintf(want, sizeof(want), "unlimited\n");
	else
		snprintf(want, sizeof(want), "%llu\n", (unsigned long long)nofile.rlim_max);
	assert_string_equal(r.out, want);
}

/* RLIMIT_NOFILE can never be unlimited (fs.nr_open caps it, root
 * included): the kernel refuses, the command does not run, and the
 * message names the limit as --ulimit spelled it. */
static void test_rlimit_refused(void **state)
{
	struct arca_spec_rlimit rl[] = {
		{ RLIMIT_CORE, 0, 0 },
		{ RLIMIT_NOFILE, ARCA_RLIM_INFINITY, ARCA_RLIM_INFINITY },
	};
	struct ran r;

	run_sh("echo ran", rl, 2, &r);
	assert_int_equal(r.code, 125);
	assert_string_equal(r.msg,
			    "arca-init: ulimit nofile=unlimited:unlimited: Operation not permitted");
	assert_string_equal(r.out, "");
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 127);

	rl[1] = (struct arca_spec_rlimit){ RLIMIT_NOFILE, 5, ARCA_RLIM_INFINITY };
	run_sh("echo ran", rl, 2, &r);
	assert_int_equal(r.code, 125);
	assert_string_equal(r.msg, "arca-init: ulimit nofile=5:unlimited: Operation not permitted");
}

/* The failing index comes from the child: one out of range still makes a
 * message, never a read past the array. */
static void test_rlimit_msg(void **state)
{
	char *argv[] = { S("true"), NULL };
	struct arca_spec_rlimit rl[] = { { RLIMIT_STACK, 8388608, 16777216 } };
	struct arca_spec s = { .argv = argv, .argc = 1, .rlimits = rl, .nrlimits = 1 };
	char msg[128];

	command_rlimit_msg(&s, 0, EPERM, msg, sizeof(msg));
	assert_string_equal(msg,
			    "arca-init: ulimit stack=8388608:16777216: Operation not permitted");
	command_rlimit_msg(&s, 1, EINVAL, msg, sizeof(msg));
	assert_string_equal(msg, "arca-init: setrlimit: Invalid argument");
	command_rlimit_msg(&s, -1, EINVAL, msg, sizeof(msg));
	assert_string_equal(msg, "arca-init: setrlimit: Invalid argument");
}

/* CAPS for a non-root command (uid 1000): the bounding set cut, the
 * permitted set kept across setuid, the sets and the ambient one set,
 * no_new_privs; what the exec'd shell then has is the kernel's rule
 * (ambient -> permitted and effective). Root only (else skipped). */
static void test_caps_applied(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char body[] = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status";
	char *argv[] = { S("/bin/sh"), S("-c"), body, NULL };
	char *env[] = { NULL };
	struct arca_spec s = { .argv = argv, .argc = 3, .env = env, .has_user = 1, .uid = 1000,
			       .gid = 1000, .has_caps = 1,
			       .caps = { .flags = ARCA_CAPS_F_SET | ARCA_CAPS_F_NO_NEW_PRIVS,
					 .bounding = 0x21, .effective = 0x20, .permitted = 0x20,
					 .inheritable = 0x20, .ambient = 0x20 } };
	struct command_start st;
	int mine, stdio[3], status;
	char out[512] = { 0 };
	assert_int_equal(command_pipe(0, &mine, &stdio[1]), 0);
	stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	stdio[2] = stdio[0];
	assert_int_equal(command_spawn(&s, NULL, stdio, &st), 0);
	assert_int_equal(st.code, -1); /* exec'd */
	assert_int_equal(waitpid(st.pid, &status, 0), st.pid);
	assert_true(read(mine, out, sizeof(out) - 1) > 0);
	close(mine);
	assert_string_equal(out, "CapInh:\t0000000000000020\n"
				 "CapPrm:\t0000000000000020\n"
				 "CapEff:\t0000000000000020\n"
				 "CapBnd:\t0000000000000021\n"
				 "CapAmb:\t0000000000000020\n"
				 "NoNewPrivs:\t1\n");

	/* No SET: only no_new_privs; the capabilities are root's. */
	s.has_user = 0;
	s.caps = (struct arca_spec_caps){ .flags = ARCA_CAPS_F_NO_NEW_PRIVS };
	char body2[] = "grep -E '^NoNewPrivs' /proc/self/status";
	argv[2] = body2;
	memset(out, 0, sizeof(out));
	assert_int_equal(command_pipe(0, &mine, &stdio[1]), 0);
	stdio[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	stdio[2] = stdio[0];
	assert_int_equal(command_spawn(&s, NULL, stdio, &st), 0);
	assert_int_equal(waitpid(st.pid, &status, 0), st.pid);
	assert_true(read(mine, out, sizeof(out) - 1) > 0);
	close(mine);
	assert_string_equal(out, "NoNewPrivs:\t1\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rlimits_applied),
		cmocka_unit_test(test_rlimit_refused),
		cmocka_unit_test(test_rlimit_msg),
		cmocka_unit_test(test_caps_applied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
