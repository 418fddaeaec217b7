/* SPDX-License-Identifier: MIT */
/*
 * command.c: starting a command in the guest, shared by the one-shot path
 * (init.c) and the agent's exec sessions (agent.c). Nothing here is fatal:
 * every function returns a negative errno (or a did-not-start code) and
 * the caller decides whether that ends the VM (one-shot) or one session
 * (agent). Built with musl only.
 */
#ifndef ARCA_COMMAND_H
#define ARCA_COMMAND_H

#include <stddef.h>
#include <sys/types.h>

#include "spec.h"

#define COMMAND_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The command's pipes, sized up from the default 64 KiB so a chatty
 * command and the relay trade fewer, larger chunks. 1 MiB is the default
 * /proc/sys/fs/pipe-max-size. */
#define COMMAND_PIPE_SIZE (1 << 20)

int command_set_nonblock(int fd);

/* Environment: PATH and HOME defaults, then the spec's entries, a later one
 * replacing an earlier one with the same key. A calloc'ed array of
 * pointers into s (free the array only); NULL when out of memory. */
char **command_env(const struct arca_spec *s);

/* One pipe for one of the command's stdio fds (input: the command reads
 * it). *mine is init's end, O_NONBLOCK; *theirs the command's, blocking.
 * Both O_CLOEXEC. Returns 0 or -errno (nothing left open). */
int command_pipe(int input, int *mine, int *theirs);

/* A pty in the devpts instance of root (NULL: the initramfs's /dev/pts):
 * *master is O_NONBLOCK, *term the terminal side; both O_CLOEXEC. Returns
 * 0, or -errno with msg (the step that failed) filled. */
int command_pty(const char *root, int *master, int *term, char *msg, size_t msglen);

/* How command_spawn() went. */
struct command_start {
	pid_t pid; /* the child, reaped by the caller's loop (also when code >= 0) */
	int code;  /* -1: it runs; else 125, 126 or 127: it did not start (msg says why) */
	char msg[512];
};

/*
 * Forks the command of s with stdio[0..2] as its fds 0..2 (the same fd
 * may appear more than once), in its own session; with ARCA_SPEC_F_TTY
 * stdio[0] becomes its controlling terminal. The child chroot()s into root
 * (NULL: none), enters s->workdir, sets s->rlimits (setrlimit, in order)
 * and, with a USER record, drops to its uid/gid (no supplementary groups)
 * before exec; a limit the kernel refuses is code 125, the command not
 * run. stdio[] is closed here in every case. Returns 0 with st filled, or
 * -errno when no child was forked (st->msg says which step failed).
 */
int command_spawn(const struct arca_spec *s, const char *root, int stdio[3],
		  struct command_start *st);

#endif
