/* SPDX-License-Identifier: MIT */
/*
 * arca-vmm's arguments. The VMM opens no host path: everything arrives as
 * an inherited fd number from the launcher (the privilege-separation line).
 * stdin/stdout/stderr (0/1/2) are the command's stdio.
 */
#ifndef ARCA_VMM_OPTS_H
#define ARCA_VMM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define VMM_MAX_INITRDS 4
#define VMM_MAX_FS 8
#define VMM_MAX_BLK 9 /* 8 --disk and a --root-disk */
#define VMM_BLK_ID_MAX 20 /* VIRTIO_BLK_ID_BYTES */

/* One virtio-fs device: a share's root directory (O_PATH|O_DIRECTORY,
 * opened by the launcher) served under a tag. */
struct vmm_fs_opt {
	int dir_fd;
	char tag[37];
	bool read_only;
	bool ids_passthrough;
	bool writeback;   /* offer FUSE_WRITEBACK_CACHE (fuse_server_config) */
	bool direct_io;   /* FOPEN_DIRECT_IO on every open (fuse_server_config) */
};

/* One virtio-blk disk: an image or block device the launcher opened (and
 * locked), read-only for ro and ephemeral disks. */
struct vmm_blk_opt {
	int fd;
	char id[VMM_BLK_ID_MAX + 1]; /* serial for GET_ID; may be empty */
	bool read_only;  /* the guest sees a read-only disk (VIRTIO_BLK_F_RO) */
	bool ephemeral;  /* writes go to a VMM-private overlay, never to fd */
	bool direct;     /* fd is O_DIRECT (cache=none): I/O must be 512-aligned */
	bool nosync;     /* sync=none: FLUSH is acknowledged without fdatasync */
	unsigned queues; /* request queues (MQ), 1..VMM_BLK_MAX_QUEUES */
};
#define VMM_BLK_MAX_QUEUES 16

/* One virtio-net device over one of two backends:
 *   tap:    a TAP fd (IFF_TAP|IFF_NO_PI, IFF_VNET_HDR for the offloads) the
 *           launcher created in the run's own network namespace (root);
 *   stream: a connected SOCK_STREAM socket speaking QEMU's "stream" netdev
 *           protocol (each frame behind a 4-byte big-endian length, no vnet
 *           header): passt's end for rootless runs (launcher/passt.h). */
#define VMM_MAX_NET 1
enum vmm_net_backend { VMM_NET_TAP, VMM_NET_STREAM };
struct vmm_net_opt {
	int fd;
	enum vmm_net_backend backend; /* backend=tap|stream, default tap */
	uint8_t mac[6];  /* unicast; default 02:00:00:00:00:01 */
	uint16_t mtu;    /* 68..65535, default 1500 */
};

struct vmm_opts {
	int kvm_fd;
	int kernel_fd;
	int initrd_fd[VMM_MAX_INITRDS];
	unsigned ninitrd;
	const char *cmdline;
	unsigned cpus;
	uint64_t memory_mib;
	struct vmm_fs_opt fs[VMM_MAX_FS];
	unsigned nfs;
	struct vmm_blk_opt blk[VMM_MAX_BLK];
	unsigned nblk;
	struct vmm_net_opt net[VMM_MAX_NET];
	unsigned nnet;
	int proc_fd;  /* O_PATH /proc/self/fd of this process, or -1 */
	int result_fd; /* --result-fd: the command's status as init reported
			* it (le32 enum arca_exit_kind, le32 value) is written
			* here at exit, so the launcher can tell "killed by
			* signal N" from "exited 128+N"; -1: none */
	/* Warm starts (vmm/warm.c): --snapshot-fd, a new file to save the VM
	 * into at arca-init's HELLO; --restore-fd, a snapshot to start from;
	 * --spec-fd, the run's spec, sent over the control channel then. */
	int snapshot_fd, restore_fd, spec_fd;
	int log_fd;   /* --log-fd: arca-vmm's own messages and the guest's
		       * console go here instead of stderr, which stays the
		       * command's; -1: none (both on stderr) */
	uint32_t host_uid, host_gid; /* owner of files the guest creates */
	uint32_t fs_max_fds; /* host fds each share's FUSE server may hold */
	uint32_t stop_timeout_ms; /* after a SIGTERM delivered to the command,
				   * stop the VM this much later (0: at once) */
	uint32_t boot_timeout_ms; /* 0: none; else stop the VM when arca-init
				   * has not said HELLO by then */
	bool console; /* guest serial -> stderr */
	bool tty;     /* -t: tell the guest our terminal's size (WINSIZE) */
	uint16_t rows, cols; /* -t: the terminal's size at start (0: unknown) */
	bool verbose; /* + init's log */
	bool timings; /* print the boot breakdown at the end (verbose does too) */
	uint64_t launch_ns; /* --launch-ns: when arca started (CLOCK_MONOTONIC),
			     * for the verbose boot breakdown; 0: unknown */
};

int vmm_opts_parse(int argc, char *const argv[], struct vmm_opts *o, struct arca_err *e);

#endif
