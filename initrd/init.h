/* SPDX-License-Identifier: MIT */
/*
 * arca-init internals shared between init.c (the PID 1 flow: control
 * channel, command, reaping, power-off) and sysinit.c (bringing the guest
 * up: mounts, modules, virtio-console ports). Built with musl only.
 */
#ifndef ARCA_INIT_H
#define ARCA_INIT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "arca/abi.h"
#include "err.h"
#include "spec.h"

/* Step log with a CLOCK_MONOTONIC timestamp (seconds since guest boot).
 * Buffered until the control port is open and the spec said whether the
 * run is verbose; dropped otherwise. */
void init_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* init.c: ends with EXIT(kind, value) on the control port (when open),
 * and powers the VM off. PID 1 must never return. */
void init_send_exit(uint32_t kind, uint32_t value);
__attribute__((noreturn)) void init_power_off(void);

/* CLOCK_MONOTONIC in milliseconds. */
long long init_now_ms(void);
/* Records when step m was first reached (CLOCK_MONOTONIC); a verbose run
 * sends them all before EXIT (ARCA_MSG_TIMES). */
void init_mark(enum arca_mark m);

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

/*
 * initroot.c: the command's root and its mounts (ARCA_SPEC_ROOT / SHARE /
 * DISK). A plan is a list of steps; IR_ABS targets are paths in the
 * initramfs, IR_BENEATH targets are guest paths inside the command's root
 * (created there without following symlinks). All absolute steps come
 * first.
 *
 * IR_MOUNT_DISK mounts a virtio-blk disk: src is the disk's id (its device
 * node, found by serial, is looked up when the step runs), fstype the type
 * or NULL to try each block filesystem of /proc/filesystems.
 *
 * IR_BIND_FILE binds entry `mode` of the files device (mounted on
 * INITROOT_FILES by an absolute step) onto target, a regular file in the
 * command's root (created, empty, where missing; a symlink or anything but
 * a regular file there is refused); src is the device's tag.
 */
enum { IR_MOUNT, IR_MKDIR, IR_MOUNT_DISK, IR_BIND_FILE };
#define INITROOT_FILES "/arca/files"
enum { IR_ABS, IR_BENEATH };
struct initroot_step {
	int op, where;
	const char *src, *target, *fstype; /* src: the virtio-fs tag for shares,
					    * the disk id for disks */
	unsigned long flags;               /* MS_* */
	const char *data;
	unsigned mode;                     /* IR_MKDIR: the mode; IR_BIND_FILE:
					    * the files device's entry */
	const char *what;                  /* for messages and the step log */
};
/* Most steps a root mode adds before the kernel filesystems and shares. */
#define INITROOT_ROOT_STEPS 5

/* Where the command chroot()s: NULL for ARCA_ROOT_INITRD (no chroot),
 * else ARCA_GUEST_ROOT. */
const char *initroot_root(const struct arca_spec *s);

/* Pure: fills st[0..max) with the steps for s; returns their count, or
 * -E2BIG when max is too small, -EINVAL for an unknown root mode. Mounted
 * shares come last, sorted so a parent is mounted before its children. */
int initroot_plan(const struct arca_spec *s, struct initroot_step *st, size_t max);

/* Creates path (absolute or relative, '/'-separated) below the directory
 * rootfd component by component (mode 0755), refusing to follow a symlink
 * (-ELOOP) or to pass through a non-directory (-ENOTDIR); "." and ".."
 * are -EINVAL. On success *out_fd is an O_PATH fd on the final directory
 * (rootfd itself for "/" or ""). */
int initroot_mkdir_beneath(int rootfd, const char *path, int *out_fd);

/* Runs the plan: finds and links the disks (below), mounts, mkdirs,
 * init_log lines. On failure e names the step, the tag or disk id and the
 * path, with errno. */
int initroot_setup(const struct arca_spec *s, struct arca_err *e);

/*
 * Disks. The virtio-blk device of a disk is the one whose serial (GET_ID,
 * /sys/block/vdX/serial) is the disk's id. initroot_disk_scan() looks once
 * through the directory sysblock (an fd of /sys/block, or a test's tree)
 * and fills name[i] ("vdX", at most 31 bytes) for every ids[i] found that
 * was still empty; returns how many of the n are known. Probing can lag
 * the module load, so initroot_setup() scans until all are there or
 * DISK_WAIT_MS passed, then links /dev/disk/by-id/virtio-ID -> ../../vdX.
 */
#define DISK_WAIT_MS 5000
#define DISK_NAME_MAX 32
int initroot_disk_scan(int sysblock, const char *const *ids, size_t n,
		       char (*name)[DISK_NAME_MAX]);

/* The block filesystems of /proc/filesystems text (lines without "nodev"),
 * in order: what mount tries for a disk without fstype, as busybox mount
 * does. Fills types[0..max) with pointers into text, which it modifies;
 * returns the count. */
size_t initroot_block_fstypes(char *text, const char **types, size_t max);

/* The devices ("MAJOR:MINOR", the superblock's, which names its bdi) of
 * the virtiofs mounts in /proc/self/mountinfo text, in order. Fills
 * devs[0..max) with pointers into text, which it modifies; returns the
 * count. Lines it cannot read are skipped. */
size_t initroot_virtiofs_devs(char *text, const char **devs, size_t max);

/* A share's read-ahead window, KiB: 1 MiB, two of the 512 KiB READs the
 * VMM allows (FUSE_MAX_IO), instead of the kernel's 128 KiB default, which
 * splits a sequential read into four times as many requests. The VMM's
 * INIT reply allows at least as much (FUSE_MAX_READAHEAD), so a reply that
 * arrives after arca-init set it does not narrow it again. */
#define INITROOT_SHARE_READAHEAD_KB 1024

/* Before power-off: every mount backed by a block device (a disk arca-init
 * mounted, or one the command mounted itself) is unmounted, latest first,
 * or where that fails (busy, something mounted on it) remounted read-only,
 * so its filesystem is clean on the host. */
void initroot_teardown(void);

/*
 * relay.c: the command's stdio. The command gets pipes, not the ports: the
 * guest's virtio_console driver allows one open() per port (a second one
 * fails with EBUSY), so `echo x > /dev/stderr`, `tee /dev/stdout` or
 * anything else that reopens /proc/self/fd/N would fail on a port, while a
 * pipe can be reopened any number of times. init copies between them:
 *   RELAY_IN:  stdin port  -> pipe the command reads as fd 0
 *   RELAY_OUT: pipe (fd 1) -> stdout port
 *   RELAY_ERR: pipe (fd 2) -> stderr port
 * Each stream has its own bounded buffer and every fd on init's side is
 * O_NONBLOCK, so a slow host on one stream never stalls the others, and a
 * stream's bytes leave in the order they came in. Plain read/write, no
 * splice: the port is a character device and correctness comes first.
 */
#define RELAY_BUF_SIZE (64u * 1024)
/* Read again only when at least this much room is free, so a slow
 * destination does not turn into many tiny reads. */
#define RELAY_MIN_READ (16u * 1024)
/* A destination that reports POLLHUP (the host side of a port is not
 * connected) is polled again this often rather than in a busy loop. */
#define RELAY_HUP_RETRY_MS 20

enum { RELAY_IN, RELAY_OUT, RELAY_ERR, RELAY_NR };
#define RELAY_NR_POLL (2 * RELAY_NR) /* a source and a destination each */

struct relay_stream {
	int src, dst;          /* O_NONBLOCK; -1 once closed */
	size_t off, len;       /* pending bytes: buf[off, off + len) */
	int src_eof;           /* read returned 0 or failed: nothing more comes */
	int src_abandoned;     /* EAGAIN counts as EOF (writers unkillable) */
	int dst_dead;          /* write failed for good (EPIPE, EIO, ...) */
	int dst_hup;           /* dst said POLLHUP, or write returned 0 */
	int drain_if_dead;     /* dst dead: keep reading src, drop the data */
	long long retry_at_ms; /* dst hung up: do not poll it before then */
	unsigned long long written; /* bytes handed to dst (for --verbose) */
	uint8_t buf[RELAY_BUF_SIZE];
};

struct relay {
	struct relay_stream s[RELAY_NR];
};

/* Takes ownership of the six fds (each already O_NONBLOCK | O_CLOEXEC). */
void relay_init(struct relay *r, int in_port, int in_pipe, int out_pipe, int out_port,
		int err_pipe, int err_port);

/* Fills pfd[0, RELAY_NR_POLL) with what each stream waits for (fd -1 for
 * nothing: a hung-up fd reports POLLHUP even with no events asked, which
 * would spin the loop). Returns the poll timeout it needs in ms, -1 for
 * none. */
int relay_prepare(struct relay *r, struct pollfd *pfd, long long now_ms);

/* Moves data according to what poll() reported in pfd. */
void relay_dispatch(struct relay *r, const struct pollfd *pfd, long long now_ms);

/* The command is gone: stop feeding it input. */
void relay_stop_input(struct relay *r);

/* The final drain timed out: whatever still holds an output pipe cannot be
 * killed. Read what is in the pipes now and stop there, and give up on a
 * port whose host side is not connected (data for it is dropped). A port
 * that is connected but slow is still waited for: output is never cut
 * short because the host reads it slowly. */
void relay_abandon(struct relay *r);

/* Both outputs reached EOF and everything read was written (or dropped
 * because its destination failed). */
int relay_done(const struct relay *r);

#endif
