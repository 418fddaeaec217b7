/* SPDX-License-Identifier: MIT */
/*
 * Disks: `--disk SPEC` (a virtio-blk device, mounted by arca-init when SPEC
 * names a GUEST path) and `--root-disk IMAGE[:rw]` (a disk as the guest's /).
 *
 *   SPEC = PATH:GUEST[:OPTS]   mounted at GUEST
 *        | PATH[,OPTS]         attached only (/dev/disk/by-id/virtio-ID)
 *   OPTS = comma list of ro, ephemeral, id=NAME, cache=writeback|none,
 *          sync=full|none, fstype=TYPE
 *
 * As for shares (shares.h): parsing and the cross-checks are pure
 * (disks_add, disks_check); disks_open() looks at the host: it opens every
 * image the VMM will serve, checks its type and size and takes QEMU-style
 * image locks (OFD byte locks) that the VMM inherits with the fd.
 */
#ifndef ARCA_DISKS_H
#define ARCA_DISKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arca/abi.h"
#include "err.h"
#include "shares.h"

#define DISKS_MAX 8                        /* --disk, at most */
#define DISK_ID_MAX ARCA_DISK_ID_MAX       /* virtio-blk serial: 20 bytes */
#define DISK_FSTYPE_MAX ARCA_DISK_FSTYPE_MAX
#define DISK_ROOT_ID "root"                /* --root-disk's id */
#define DISK_SECTOR 512u
/* virtio-mmio slots of arca-vmm (vmm/vm.h VM_MAX_MMIO): the console, every
 * virtio-fs device (shares and a directory root) and every disk. */
#define DISK_MMIO_SLOTS 16u

struct arca_disk {
	char *path;          /* as given (messages name it) */
	char *real;          /* realpath, after disks_open() */
	char *guest;         /* normalized mount point; NULL: attached only */
	char id[DISK_ID_MAX + 1];
	char fstype[DISK_FSTYPE_MAX + 1]; /* "": the guest detects it */
	bool ro;             /* read-only: O_RDONLY, the guest sees VIRTIO_BLK_F_RO */
	bool ephemeral;      /* writes go to a VMM-private overlay: O_RDONLY */
	bool direct;         /* cache=none: O_DIRECT */
	bool nosync;         /* sync=none: FLUSH is not passed to the host */
	bool user_id;        /* id= given */
	uint64_t size;       /* bytes, after disks_open() */
};

struct arca_disks {
	struct arca_disk v[DISKS_MAX]; /* --disk, in command-line order */
	size_t n;
	struct arca_disk root;         /* --root-disk, when has_root */
	bool has_root;
};

/* --disk SPEC: parse and check SPEC on its own (pure). -EINVAL with one
 * line naming the bad value. */
int disks_add(struct arca_disks *d, const char *spec, struct arca_err *e);

/* --root-disk IMAGE[:rw]; a later one replaces an earlier one. */
int disks_set_root(struct arca_disks *d, const char *arg, struct arca_err *e);

/* Cross-checks (pure), after the whole command line: gives every disk
 * without id= its default ("disk0", "disk1", ... by position; "root" for
 * --root-disk) and refuses an id used twice (a given id equal to another
 * disk's default included), and a GUEST used by two disks or by a disk and
 * a share. */
int disks_check(struct arca_disks *d, const struct arca_shares *sh, struct arca_err *e);

/* The transport's device limit (pure): 1 console + nfs virtio-fs devices +
 * ndisks disks must fit DISK_MMIO_SLOTS. */
int disks_check_slots(size_t nfs, size_t ndisks, struct arca_err *e);

/* Every disk (--disk in order, then --root-disk), the order disks_open()
 * opens them in; NULL past the end. */
struct arca_disk *disks_at(struct arca_disks *d, size_t i);
size_t disks_count(const struct arca_disks *d);

/* Whether the VMM may write the image itself (ephemeral writes land in
 * the VMM's overlay, never in the image). */
static inline bool disk_writable(const struct arca_disk *dk)
{
	return !dk->ro && !dk->ephemeral;
}

/* ---- image locks, compatible with QEMU's block/file-posix.c -------------------- */

/* QEMU's permission bits (include/block/block-common.h BLK_PERM_*). */
#define DISK_PERM_CONSISTENT_READ 0x1u
#define DISK_PERM_WRITE           0x2u
#define DISK_PERM_WRITE_UNCHANGED 0x4u
#define DISK_PERM_RESIZE          0x8u
#define DISK_LOCK_PERM_BASE   100 /* RAW_LOCK_PERM_BASE */
#define DISK_LOCK_SHARED_BASE 200 /* RAW_LOCK_SHARED_BASE */

/* What another holder's lock byte says about it. */
enum disk_lock_conflict {
	DISK_LOCK_OK = 0,
	DISK_LOCK_WRITER,     /* it holds WRITE or RESIZE */
	DISK_LOCK_NO_WRITERS, /* it does not share WRITE: a reader, or a writer */
	DISK_LOCK_EXCLUSIVE,  /* it does not share CONSISTENT_READ */
};

#define DISK_LOCK_BYTES_MAX 8
struct disk_lock_plan {
	uint64_t perm, unshared;             /* QEMU permission masks */
	unsigned nlock;
	off_t lock[DISK_LOCK_BYTES_MAX];     /* bytes to F_RDLCK, ascending */
	unsigned ntest;
	struct {
		off_t byte;                  /* tested with F_WRLCK */
		enum disk_lock_conflict why; /* what a lock there means */
	} test[DISK_LOCK_BYTES_MAX];         /* most telling conflict first */
};

/* Pure: the bytes a writable or a read-only (ro, ephemeral) disk locks and
 * tests. */
void disk_lock_plan(bool writable, struct disk_lock_plan *p);

/* Lock fd's image as planned. 0, or -EAGAIN with *why when another open
 * file description holds a conflicting lock (nothing is left locked), or
 * -errno of fcntl. */
int disk_lock(int fd, bool writable, enum disk_lock_conflict *why);

/* ---- opening ----------------------------------------------------------------------- */

/* Open every disk for the VMM (disks_at order): realpath, then O_CLOEXEC |
 * O_RDWR (O_RDONLY for ro and ephemeral) | O_DIRECT for cache=none; a
 * regular file or a block device of a positive size that is a multiple of
 * 512; the same image twice only when neither use writes it; the image
 * lock. Fills fds[0..disks_count) and each disk's real and size; returns 0,
 * or -errno with e set and no fd left open. */
int disks_open(struct arca_disks *d, int *fds, struct arca_err *e);

void disks_free(struct arca_disks *d);

#endif
