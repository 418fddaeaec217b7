/* SPDX-License-Identifier: MIT */
/* arca: the command-line front end. Only this file prints errors and picks
 * arca's own exit code (125, as docker does). */
#include <stdio.h>

#include "cli.h"
#include "run.h"

int main(int argc, char *argv[])
{
	struct arca_opts o;
	struct arca_err e = { 0 };

	if (cli_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "arca: %s\n", e.msg);
		return ARCA_EXIT_ERROR;
	}
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
	case ARCA_CMD_RUN:
		r = run_command(&o, &e);
		break;
	}
	cli_free(&o);
	if (r < 0) {
		fprintf(stderr, "arca: %s\n", e.msg[0] ? e.msg : "internal error");
		return ARCA_EXIT_ERROR;
	}
	return r;
}
