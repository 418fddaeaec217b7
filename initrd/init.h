/* SPDX-License-Identifier: MIT */
/*
 * arca-init internals shared between init.c (the PID 1 flow: control
 * channel, command, reaping, power-off) and sysinit.c (bringing the guest
 * up: mounts, modules, virtio-console ports). Built with musl only.
 */
#ifndef ARCA_INIT_H
#define ARCA_INIT_H

#include <stddef.h>

#include "arca/abi.h"
#include "err.h"

/* Step log with a CLOCK_MONOTONIC timestamp (seconds since guest boot).
 * Buffered until the control port is open and the spec said whether the
 * run is verbose; dropped otherwise. */
void init_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a regular file of at most max bytes into a NUL-terminated malloc'ed
 * buffer. */
int init_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* Mount /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /tmp, /run and
 * create the /dev/fd and /dev/std* links. */
int sysinit_mounts(struct arca_err *e);

/* Make sure fds 0, 1 and 2 are open (the kernel leaves them closed when the
 * initramfs has no /dev/console), so later opens never land on them. */
void sysinit_std_fds(void);

/* Load every module named in ARCA_MODULES_PATH, in order. A missing list
 * means "nothing to load" (a kernel with the drivers built in). */
int sysinit_modules(struct arca_err *e);

/* Wait (2 ms polls, up to PORT_WAIT_MS) until the virtio-console ports
 * named ARCA_PORT_NAME_* exist, then open them: fds[ARCA_PORT_STDIN]
 * read-only, the others write-only, all O_CLOEXEC. On failure the ports
 * that could be opened stay open (fds[i] >= 0), so a found control port can
 * still carry the ERROR. */
#define PORT_WAIT_MS 10000
int sysinit_open_ports(int fds[ARCA_NR_PORTS], struct arca_err *e);

#endif
