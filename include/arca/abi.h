/* SPDX-License-Identifier: MIT */
/*
 * arca host <-> guest ABI, shared by arca (launcher), arca-vmm and arca-init.
 *
 * This is the only header the guest init and the host share. It defines:
 *   1. the names of the virtio-console ports that carry the command's stdio
 *      and the control channel;
 *   2. the framing of the control channel (guest -> host and host -> guest);
 *   3. the per-run spec that the launcher appends to the initrd as /arca/spec
 *      (or, for a warm-capable run, the VMM sends in ARCA_MSG_SPEC frames).
 *
 * Everything on the wire is little-endian with explicit sizes; structs are
 * never copied onto the wire as a whole, the codecs in common/ encode fields
 * one by one so padding and host endianness never leak into the protocol.
 * Bump ARCA_ABI_VERSION on any incompatible change: arca-init refuses a spec
 * of another version and arca-vmm refuses a HELLO of another version.
 *
 * Only <stdint.h> may be included: arca-init is built with musl, which has no
 * kernel uapi headers.
 */
#ifndef ARCA_ABI_H
#define ARCA_ABI_H

#include <stdint.h>

#define ARCA_ABI_VERSION 1u

/* ---- virtio-console ports (multiport device, one port each) ---------- */
/* Port ids are fixed; the guest finds them by name in
 * /sys/class/virtio-ports/vport*p* /name because vportNpM's N depends on the
 * order in which virtio devices were probed. */
#define ARCA_PORT_STDIN   0u
#define ARCA_PORT_STDOUT  1u
#define ARCA_PORT_STDERR  2u
#define ARCA_PORT_CONTROL 3u
#define ARCA_NR_PORTS     4u

#define ARCA_PORT_NAME_STDIN   "arca.stdin"
#define ARCA_PORT_NAME_STDOUT  "arca.stdout"
#define ARCA_PORT_NAME_STDERR  "arca.stderr"
#define ARCA_PORT_NAME_CONTROL "arca.control"

/* ---- control channel framing ------------------------------------------ */
/*
 * A frame is a 12-byte header followed by `len` payload bytes:
 *   le32 magic  = ARCA_MSG_MAGIC
 *   le16 type   = enum arca_msg_type
 *   le16 flags  = 0 (reserved, must be 0)
 *   le32 len    = payload length, at most ARCA_MSG_MAX_PAYLOAD
 * The stream is byte-oriented (virtio-console delivers arbitrary chunks);
 * the decoder reassembles frames across chunk boundaries.  A bad magic, a
 * non-zero flags field or an oversized length makes the stream unusable:
 * the host treats it as a guest protocol error (exit 125), never as a crash.
 */
#define ARCA_MSG_MAGIC        0x41435241u /* bytes "ARCA" */
#define ARCA_MSG_HDR_SIZE     12u
#define ARCA_MSG_MAX_PAYLOAD  4096u

enum arca_msg_type {
	/* guest -> host */
	ARCA_MSG_HELLO = 1, /* payload: le32 abi version */
	ARCA_MSG_EXIT  = 2, /* payload: le32 kind (enum arca_exit_kind), le32 value */
	ARCA_MSG_ERROR = 3, /* payload: le32 exit code, then UTF-8 text (no NUL) */
	ARCA_MSG_LOG   = 4, /* payload: UTF-8 text: init diagnostics for --verbose */
	ARCA_MSG_TIMES = 5, /* payload: le32 n, then n le64: enum arca_mark's guest
			     * CLOCK_MONOTONIC in ns, 0 where not reached; --verbose
			     * only, once, before EXIT (the boot breakdown) */
	/* host -> guest: signals, terminal size, the spec */
	ARCA_MSG_SIGNAL = 64, /* payload: le32 signal number */
	ARCA_MSG_WINSIZE = 65, /* payload: le16 rows, le16 cols */
	ARCA_MSG_SPEC = 66, /* payload: the next 1..ARCA_MSG_MAX_PAYLOAD bytes of
			     * the encoded spec (the bytes of /arca/spec); an
			     * empty payload ends it. Only when the initrd has no
			     * /arca/spec (warm-capable runs): arca-init reads
			     * it after HELLO. Every SPEC frame comes before any
			     * other host -> guest frame; SIGNAL and WINSIZE may
			     * follow the end one at once. Any other frame
			     * before the end, a bad stream, EOF or over
			     * ARCA_SPEC_MAX_SIZE bytes in all: arca-init
			     * fails with 125. */
};

/* Steps of arca-init a verbose run times (ARCA_MSG_TIMES), in order. */
enum arca_mark {
	ARCA_MARK_INIT = 0,     /* arca-init started: the kernel's boot is over */
	ARCA_MARK_MODULES,      /* kernel modules loaded */
	ARCA_MARK_PORTS,        /* console ports open, HELLO sent */
	ARCA_MARK_ROOT,         /* shares, disks and the command's root mounted */
	ARCA_MARK_SPAWN,        /* the command started */
	ARCA_MARK_CMD_EXIT,     /* its main process exited */
	ARCA_MARK_DRAINED,      /* its output relayed */
	ARCA_MARK_SYNCED,       /* mounts taken down, synced: EXIT is next */
	ARCA_MARK_NR
};

enum arca_exit_kind {
	ARCA_EXIT_CODE   = 0, /* value: exit code 0..255 */
	ARCA_EXIT_SIGNAL = 1, /* value: signal number 1..64 */
};

/* ---- per-run spec (/arca/spec in the appended initrd archive) ---------- */
/*
 * The spec is /arca/spec in the initrd or, when that file is absent, comes
 * over the control port in ARCA_MSG_SPEC frames (same bytes).
 * le32 magic = ARCA_SPEC_MAGIC, le32 version = ARCA_ABI_VERSION,
 * then records until the end of the file:
 *   le16 tag (enum arca_spec_tag), le32 len, len bytes of value.
 * Strings are not NUL-terminated on the wire and must not contain NUL.
 * ARGV records appear in order, at least one; ENV records are "KEY=VALUE".
 * Unknown tags are an error (the host and guest are built together).
 */
#define ARCA_SPEC_MAGIC   0x43505341u /* bytes "ASPC" */
#define ARCA_SPEC_PATH    "/arca/spec"
#define ARCA_MODULES_PATH "/arca/modules" /* one module file name per line, load order */
#define ARCA_SPEC_MAX_SIZE (16u << 20)
#define ARCA_SPEC_MAX_STRING (1u << 20)

enum arca_spec_tag {
	ARCA_SPEC_ARGV    = 1,
	ARCA_SPEC_ENV     = 2,
	ARCA_SPEC_WORKDIR = 3,
	ARCA_SPEC_FLAGS   = 4, /* le32 bit set of ARCA_SPEC_F_* */
	ARCA_SPEC_SHARE   = 5, /* a virtio-fs device for arca-init to mount (below) */
	ARCA_SPEC_ROOT    = 6, /* what the command's / is (below); at most one */
	ARCA_SPEC_DISK    = 7, /* a virtio-blk device for arca-init to mount (below) */
	ARCA_SPEC_USER    = 8, /* le32 uid, le32 gid: the command's ids (exec -u);
				* absent: 0, 0. At most one. */
	ARCA_SPEC_RLIMIT  = 9, /* one resource limit for the command (below) */
	ARCA_SPEC_HOST    = 10, /* exactly 40 bytes: le64 the host's CLOCK_REALTIME
				 * in ns, then 32 bytes of host randomness (the
				 * seed). At most one. arca-init mixes the seed
				 * into the kernel's pool and reseeds its CRNG
				 * (every VM restored from one snapshot starts
				 * with the same pool), and with RESTORED sets
				 * the clock to the time. */
	ARCA_SPEC_NET     = 11, /* the guest's network interface (below) */
	ARCA_SPEC_NET6    = 12, /* its IPv6 address and route (below); only
				 * with a NET record */
	ARCA_SPEC_CAPS    = 13, /* the command's capabilities and no_new_privs
				 * (below); at most one */
};
#define ARCA_SPEC_HOST_SIZE 40u
#define ARCA_SPEC_SEED_SIZE 32u

#define ARCA_SPEC_F_VERBOSE 0x1u /* init logs its steps on the control channel */
#define ARCA_SPEC_F_AGENT   0x4u /* arca start: serve exec sessions (below)
				  * instead of running ARGV (which is empty-ish:
				  * one ignored entry); not with TTY */
#define ARCA_SPEC_F_TIMES   0x8u /* init sends its step marks (ARCA_MSG_TIMES)
				  * before EXIT: --timings (VERBOSE does too) */
#define ARCA_SPEC_F_TTY     0x2u /* the command gets a pty as stdin/stdout/stderr
				  * and controlling terminal; the stdin port feeds
				  * its master, the stdout port carries what it
				  * outputs (stderr included), WINSIZE sizes it */
#define ARCA_SPEC_F_RESTORED 0x10u /* the guest was restored from a snapshot
				    * (set by the launcher): arca-init sets
				    * the clock from the HOST record and
				    * re-stamps its boot-time step marks */

/*
 * NET record value (arca run --net; at most one), exactly
 * ARCA_SPEC_NET_SIZE bytes:
 *   le32 flags     0 (reserved, must be 0)
 *   6 bytes        the virtio-net device's MAC: the guest finds its
 *                  interface by it (/sys/class/net/IF/address), never by
 *                  name; unicast, not all zeros
 *   le16 mtu       ARCA_NET_MTU_MIN..65535
 *   4 bytes        the IPv4 address, network order
 *   u8 prefix      ARCA_NET_PREFIX_MIN..ARCA_NET_PREFIX_MAX
 *   4 bytes        the IPv4 gateway (default route), network order: inside
 *                  the prefix, not the address
 *   4 bytes        the DNS server, network order; 0.0.0.0: none
 * The address and the gateway are host addresses of the prefix (neither
 * its network nor its broadcast address) and unicast (not in 0/8, 127/8
 * or 224/3); a DNS server, when given, is outside 0/8 and 224/3.
 * arca-init brings lo up and configures the interface (MTU, address, up,
 * default route) before the command's root is assembled; with a DNS
 * server, the command's /etc/resolv.conf names it. A failure is a
 * did-not-start error (125).
 */
#define ARCA_SPEC_NET_SIZE   25u
#define ARCA_NET_MTU_MIN     68u /* IPv4's minimum (RFC 791) */
#define ARCA_NET_PREFIX_MIN  1u
#define ARCA_NET_PREFIX_MAX  30u /* two host addresses at least */

/*
 * NET6 record value (arca run --net with IPv6; at most one, and only in a
 * spec that has a NET record, in either order: it configures the same
 * interface, found by NET's MAC), exactly ARCA_SPEC_NET6_SIZE bytes:
 *   le32 flags     0 (reserved, must be 0)
 *   16 bytes       the guest's IPv6 address, network order: unicast and
 *                  global or unique-local; not ::, ::1, multicast
 *                  (ff00::/8), link-local (fe80::/10), IPv4-mapped
 *                  (::ffff:0:0/96) or IPv4-compatible (::/96)
 *   u8 prefix      ARCA_NET6_PREFIX_MIN..ARCA_NET6_PREFIX_MAX
 *   16 bytes       the default route's next hop, network order: not ::,
 *                  ::1, multicast or the address; link-local (fe80::/10,
 *                  on the interface), or inside the address's prefix
 * arca-init adds the address without Duplicate Address Detection (it is
 * usable when the command starts, never "tentative") and the default route
 * via the gateway (metric 1), right after NET's IPv4 configuration and
 * before the command's root is assembled; the interface's DAD, router
 * advertisements and autoconfiguration are off (its sysctls, set before it
 * comes up). NET's MTU must then be at least 1280
 * (IPv6's minimum link MTU, RFC 8200 section 5). A failure is a
 * did-not-start error (125). The DNS server stays NET's.
 */
#define ARCA_SPEC_NET6_SIZE  37u

/*
 * CAPS record value (run/exec --cap-mask, --no-new-privileges; the OCI
 * runtime's process.capabilities and noNewPrivileges), exactly
 * ARCA_SPEC_CAPS_SIZE bytes:
 *   le32 flags     ARCA_CAPS_F_*; no other bit
 *   le64 bounding, effective, permitted, inheritable, ambient
 *                  bit N = capability N (<linux/capability.h>); only bits
 *                  0..ARCA_CAP_LAST; all 0 without ARCA_CAPS_F_SET;
 *                  effective within permitted, ambient within permitted
 *                  and inheritable
 * In the command's child, after its rlimits: NO_NEW_PRIVS sets
 * PR_SET_NO_NEW_PRIVS; SET drops every capability outside bounding from
 * the bounding set, keeps the permitted set across the uid change of a
 * USER record (PR_SET_KEEPCAPS), then sets effective, permitted and
 * inheritable (capset) and raises the ambient ones. What a root command
 * has after its execve is then the kernel's rule (bounding and the file's
 * capabilities), as under runc.
 */
#define ARCA_SPEC_CAPS_SIZE 44u
#define ARCA_CAPS_F_NO_NEW_PRIVS 0x1u
#define ARCA_CAPS_F_SET          0x2u
#define ARCA_CAP_LAST 40 /* CAP_CHECKPOINT_RESTORE, Linux 5.9 */
#define ARCA_NET6_PREFIX_MIN 8u
#define ARCA_NET6_PREFIX_MAX 126u /* the longest with two addresses besides the
				  * subnet-router anycast one (RFC 4291 2.6.1) */

/*
 * SHARE record value (one per virtio-fs device the launcher attached, any
 * order; arca-init mounts parents before children whatever the order):
 *   le32 flags     ARCA_SHARE_F_*
 *   le16 tag_len   1..ARCA_TAG_MAX
 *   tag_len bytes  the device's virtio-fs tag (mount source)
 *   rest           the guest path; empty with ARCA_SHARE_F_NOMOUNT, else an
 *                  absolute normalized path: no "." or ".." component, no
 *                  "//", no trailing "/", not "/" itself, not /proc, /sys,
 *                  /dev or anything below them. At most one share per path.
 * Tags are 1..ARCA_TAG_MAX bytes of printable ASCII without space (0x21..
 * 0x7e); the virtio-fs config field is 36 bytes. Tags are unique across
 * SHARE records and the ROOT record, except that ARCA_SHARE_F_FILE records
 * all carry the one files device's tag.
 */
#define ARCA_SHARE_F_RO      0x1u /* mounted read-only (MS_RDONLY) */
#define ARCA_SHARE_F_NOMOUNT 0x2u /* attached only (--fs-device): no path */
/* One file of the files device (`-v FILE:GUEST`): the device's root holds
 * one entry per FILE record, named by the record's position among the
 * FILE records ("0", "1", ...), which arca-init binds onto the guest path
 * (a regular file there, created if missing). Every FILE record carries
 * the files device's tag, which no directory share and no root uses. */
#define ARCA_SHARE_F_FILE    0x4u
#define ARCA_TAG_MAX         36u
#define ARCA_SPEC_MAX_SHARES 64u

/*
 * DISK record value (one per virtio-blk device the launcher attached, the
 * root disk excepted; any order: arca-init mounts disks and shares
 * together, parents before children):
 *   le32 flags       ARCA_DISK_F_*
 *   le16 id_len      1..ARCA_DISK_ID_MAX
 *   id_len bytes     the disk's id: its virtio-blk serial (GET_ID), which the
 *                    guest reads from /sys/block/vdX/serial and links as
 *                    /dev/disk/by-id/virtio-ID; [A-Za-z0-9._-] only
 *   le16 fstype_len  0..ARCA_DISK_FSTYPE_MAX
 *   fstype_len bytes the filesystem type, [a-z0-9]; empty: arca-init tries
 *                    each block filesystem of /proc/filesystems in order
 *   rest             the guest path; empty with ARCA_DISK_F_NOMOUNT (and
 *                    then fstype_len is 0), else as a share's path (absolute,
 *                    normalized, not "/", not /proc, /sys, /dev or below).
 * At most ARCA_SPEC_MAX_DISKS disks; ids are unique across DISK records and
 * the ROOT record of ARCA_ROOT_DISK[_RW]; a mounted disk's path differs from
 * every other disk's and every share's.
 */
#define ARCA_DISK_F_RO      0x1u /* mounted read-only (MS_RDONLY) */
#define ARCA_DISK_F_NOMOUNT 0x2u /* attached only: no path */
#define ARCA_DISK_ID_MAX     20u /* VIRTIO_BLK_ID_BYTES */
#define ARCA_DISK_FSTYPE_MAX 16u
#define ARCA_SPEC_MAX_DISKS  16u

/*
 * RLIMIT record value (--ulimit; any order, each resource at most once, at
 * most ARCA_RLIMITS_MAX records, include/arca/limits.h):
 *   le32 resource  a Linux RLIMIT_* number, below ARCA_RLIMIT_NLIMITS
 *   le64 soft      the soft limit (rlim_cur)
 *   le64 hard      the hard limit (rlim_max), soft <= hard
 * ARCA_RLIM_INFINITY (all ones, the kernel's RLIM_INFINITY) is "unlimited".
 * arca-init sets each with setrlimit() in the command's child, before it
 * drops to the USER ids (so a limit may be raised past init's own, where
 * the kernel allows); one that fails is a did-not-start error (125). In an
 * agent's own run spec they would be ignored: each session's spec carries
 * its own.
 */
#define ARCA_RLIMIT_NLIMITS 16u /* RLIM_NLIMITS: RLIMIT_CPU (0) .. RLIMIT_RTTIME (15) */
#define ARCA_RLIM_INFINITY  UINT64_MAX

/*
 * ROOT record value:
 *   le32 mode      enum arca_root_mode
 *   rest           the root device's virtio-fs tag (HOST, DIR, DIR_RW:
 *                  1..ARCA_TAG_MAX bytes), or the root disk's id (DISK,
 *                  DISK_RW: a disk id as in DISK records; the root disk has
 *                  no DISK record of its own); empty for ARCA_ROOT_INITRD.
 * No ROOT record means ARCA_ROOT_INITRD.
 */
enum arca_root_mode {
	/* The command runs in the initramfs (busybox userland): tests, debug. */
	ARCA_ROOT_INITRD = 0,
	/* ARCA_GUEST_ROOT is a skeleton the launcher put in the per-run
	 * archive (generated /etc, merged-/usr links); the tag is the host's
	 * /usr, mounted read-only on ARCA_GUEST_ROOT/usr. */
	ARCA_ROOT_HOST = 1,
	/* The tag is a rootfs directory, mounted read-only as the lower layer
	 * of an overlay whose upper layer is a tmpfs: writes never reach it. */
	ARCA_ROOT_DIR = 2,
	/* The tag is a rootfs directory, mounted read-write as /. */
	ARCA_ROOT_DIR_RW = 3,
	/* The id is a virtio-blk disk holding a root filesystem, mounted
	 * read-only as the lower layer of an overlay whose upper layer is a
	 * tmpfs (as ARCA_ROOT_DIR): the image is never written. */
	ARCA_ROOT_DISK = 4,
	/* The id is a virtio-blk disk, mounted read-write as /. */
	ARCA_ROOT_DISK_RW = 5,
};

/* Where arca-init assembles the command's root (every mode but INITRD);
 * the command's child chroot()s into it. The launcher's skeleton for
 * ARCA_ROOT_HOST lives under this prefix in the per-run archive. */
#define ARCA_GUEST_ROOT "/arca/root"

/* ---- long-lived sandboxes: exec sessions --------------------------------- */
/*
 * `arca start` boots arca-init as an agent (ARCA_SPEC_F_AGENT in the run's
 * spec): after the mounts, instead of one command it runs exec sessions,
 * any number at once up to ARCA_SESS_MAX. Session frames use the control
 * framing above (arca_msg) but travel on the stdin port (host -> guest) and
 * the stdout port (guest -> host), one byte stream each way; the control
 * port keeps HELLO, LOG, ERROR, and EXIT for the agent's own end, and its
 * ARCA_MSG_SIGNAL (SIGTERM from `arca stop`) ends every session and then
 * the VM. Every session frame's payload starts with le32 session id,
 * chosen by the host: nonzero, not that of a live session.
 *
 * A session: EXEC_PART* EXEC (the encoded spec, split where it exceeds one
 * frame), then STDIN / SIGNAL / WINSIZE frames as the host pleases; the
 * guest answers STDOUT / STDERR frames, ERROR if the command did not start,
 * and last EXIT, after all of the session's output. The host may send
 * frames for a session the guest has finished (they are dropped); the
 * guest never sends a frame for a session id after its EXIT. Frames the
 * guest sends are guest bytes: the host checks every id and length.
 */
enum arca_sess_msg_type {
	/* guest -> host */
	ARCA_SMSG_READY  = 100, /* id 0, le32 ARCA_ABI_VERSION: serving sessions */
	ARCA_SMSG_STDOUT = 101, /* id, bytes (with TTY: everything the pty outputs) */
	ARCA_SMSG_STDERR = 102, /* id, bytes */
	ARCA_SMSG_ERROR  = 103, /* id, le32 code (125, 126, 127), UTF-8 text: did not start */
	ARCA_SMSG_EXIT   = 104, /* id, le32 kind (enum arca_exit_kind), le32 value */
	ARCA_SMSG_STDIN_ACK = 105, /* id, le32 n: n more bytes of the session's stdin
				    * went to the command (or were dropped): the
				    * host may send n more */
	/* host -> guest */
	ARCA_SMSG_EXEC_PART = 110, /* id, bytes: the first parts of the session's spec */
	ARCA_SMSG_EXEC   = 111, /* id, bytes: the spec's last part; starts the command */
	ARCA_SMSG_STDIN  = 112, /* id, bytes; no bytes: EOF (the command's stdin closes) */
	ARCA_SMSG_SIGNAL = 113, /* id, le32 signal 1..64, to the session's process group */
	ARCA_SMSG_WINSIZE = 114, /* id, le16 rows, le16 cols (TTY sessions) */
	ARCA_SMSG_OUT_ACK = 115, /* id, le32 n: n more bytes of the session's output
				  * frames (headers included) reached its client:
				  * the guest may send n more */
};

/*
 * Flow control, per session, so that one command that does not read its
 * stdin, or one client that does not read its output, holds up only its
 * own session and never the shared stream: the host sends at most
 * ARCA_SESS_STDIN_WINDOW bytes of STDIN payload not yet acknowledged by
 * STDIN_ACK (plus one read's worth the host cannot split), and the guest
 * sends at most ARCA_SESS_OUT_WINDOW bytes of STDOUT/STDERR frames not yet
 * acknowledged by OUT_ACK. Both start full. An ACK beyond the window is
 * clamped: the other side never holds more than its own bound.
 */
#define ARCA_SESS_STDIN_WINDOW (32u << 10)
#define ARCA_SESS_OUT_WINDOW   (256u << 10)

/* A session's spec is an encoded arca_spec (common/spec.h) with ARGV, ENV,
 * WORKDIR, FLAGS (ARCA_SPEC_F_TTY only), USER and RLIMIT (exec --ulimit);
 * no SHARE, ROOT or DISK (the sandbox's root and mounts are the agent's).
 * At most this many bytes in all (EXEC_PARTs and EXEC together). */
#define ARCA_SESS_SPEC_MAX (256u << 10)
/* Live sessions at once; an EXEC beyond that gets ERROR 125 and EXIT 125. */
#define ARCA_SESS_MAX 64u

#endif /* ARCA_ABI_H */
