/* SPDX-License-Identifier: MIT */
/* arca: the command-line front end. Only this file prints errors and picks
 * arca's own exit code (125, as docker does). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "doctor.h"
#include "ocirt.h"
#include "run.h"
#include "sandbox.h"

/*
 * Before anything else: 0-2 open (else the first file we open would become
 * someone's stdout), and every inherited fd above them close-on-exec, so
 * nothing our caller leaked can reach the VMM (CVE-2024-21626: a leaked
 * host directory fd let a container walk out of its root).
 */
static void fd_hygiene(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			_exit(125);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		/* Before Linux 5.11: one fcntl per possible fd. */
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
}

int main(int argc, char *argv[])
{
	struct arca_opts o;
	struct arca_err e = { 0 };

	fd_hygiene();

	/* Invoked as arca-runtime (a symlink): the OCI runtime's command line. */
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : argv[0];
	if (base && !strcmp(base, "arca-runtime"))
		return ocirt_main(argc, argv);

	if (cli_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "arca: %s\n", e.msg);
		return ARCA_EXIT_ERROR;
	}
	o.diag_fd = STDERR_FILENO; /* the CLI's notes go to its stderr */
	paths_from_env(&o.paths);  /* ARCA_LIBEXEC, ARCA_KERNEL... */
	if (o.paths.kernel && !*o.paths.kernel)
		o.paths.kernel = NULL;
	int r = 0;
	switch (o.cmd) {
	case ARCA_CMD_VERSION:
		printf("arca %s\n", ARCA_VERSION);
		break;
	case ARCA_CMD_HELP:
		fputs(cli_usage(), stdout);
		break;
	case ARCA_CMD_PREPARE:
		r = run_prepare(&o, &e);
		break;
	case ARCA_CMD_RUN: {
		struct arca_result res;
		r = run_command(&o, &res, &e);
		if (r >= 0 && res.kind == ARCA_RESULT_TIMED_OUT)
			fprintf(stderr, "arca: timed out after %llu.%03llu s; the VM was killed\n",
				(unsigned long long)(o.timeout_ms / 1000),
				(unsigned long long)(o.timeout_ms % 1000));
		/* arca-vmm reports its own failures (ECHILD); others are ours. */
		if (r >= 0 && res.kind == ARCA_RESULT_ERROR && res.err.code != ECHILD)
			fprintf(stderr, "arca: %s\n", res.err.msg);
		break;
	}
	case ARCA_CMD_GC:
		r = run_gc(&o, &e);
		break;
	case ARCA_CMD_DOCTOR:
		r = doctor_run(&o, &e);
		break;
	case ARCA_CMD_START: {
		struct sandbox_started st;
		r = sandbox_start(&o, &st, &e);
		if (r == -ECHILD) {
			fprintf(stderr, "arca: %s\n", e.msg);
			fputs(st.log_tail, stderr);
			r = st.exit_code;
		}
		break;
	}
	case ARCA_CMD_EXEC:
		r = sandbox_exec(&o, NULL, &e);
		break;
	case ARCA_CMD_LS:
		r = sandbox_ls(&o, &e);
		break;
	case ARCA_CMD_STOP:
		r = sandbox_stop(&o, false, &e);
		break;
	case ARCA_CMD_KILL:
		r = sandbox_stop(&o, true, &e);
		break;
	case ARCA_CMD_LOGS:
		r = sandbox_logs(&o, &e);
		break;
	}
	cli_free(&o);
	if (r < 0) {
		fprintf(stderr, "arca: %s\n", e.msg[0] ? e.msg : "internal error");
		return ARCA_EXIT_ERROR;
	}
	return r;
}
