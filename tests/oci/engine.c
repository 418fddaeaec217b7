/* SPDX-License-Identifier: MIT */
/*
 * A container engine's part the OCI e2e needs (tests/e2e/scenarios-oci.sh):
 * a child subreaper, as conmon and containerd's shim are. It runs SCRIPT
 * with `sh -c`, adopts every process the script's runtime calls leave
 * behind (the container process of `arca-runtime create`), reaps them and
 * appends "PID STATUS" for each to LOG as it ends (STATUS: the exit code,
 * or 128+N for signal N), so the script can wait for its container's exit
 * status. Once the script has ended it waits up to 60 s for the adopted
 * processes, then exits with the script's status.
 *
 *   engine LOG SCRIPT
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: engine LOG SCRIPT\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("engine: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	FILE *log = fopen(argv[1], "a");
	if (!log) {
		perror(argv[1]);
		return 2;
	}
	pid_t script = fork();
	if (script < 0) {
		perror("engine: fork");
		return 2;
	}
	if (script == 0) {
		execl("/bin/sh", "sh", "-c", argv[2], (char *)NULL);
		_exit(127);
	}
	int script_status = -1;
	time_t deadline = 0;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, deadline ? WNOHANG : 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break; /* ECHILD: nobody left */
		if (p == 0) {
			if (time(NULL) > deadline)
				break;
			usleep(100000);
			continue;
		}
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		fprintf(log, "%d %d\n", (int)p, code);
		fflush(log);
		if (p == script) {
			script_status = code;
			deadline = time(NULL) + 60;
		}
	}
	return script_status < 0 ? 2 : script_status;
}
