/* SPDX-License-Identifier: MIT */
/*
 * The disks' backend: a virtio-blk request (decoded and checked by
 * vmm/blk_req.c) becomes one operation on the disk's fd:
 *   IN           readv   at sector * 512
 *   OUT          writev  at sector * 512
 *   FLUSH        fdatasync (acknowledged only once it completed; at once
 *                with sync=none, or on an ephemeral disk, whose writes die
 *                with the VM anyway)
 *   DISCARD      fallocate(PUNCH_HOLE | KEEP_SIZE)
 *   WRITE_ZEROES fallocate(ZERO_RANGE | KEEP_SIZE), or PUNCH_HOLE with the
 *                UNMAP flag
 *   GET_ID       answered here: the serial (--blk id=)
 * queued on the disk's io_uring with the request's slot as its tag; the
 * completion eventfd wakes the disk's thread, which writes the status and
 * pushes the chain. A request the ring has no room for never exists: the
 * device holds at most as many requests as the ring has entries (its
 * slots), and the rest wait in the guest's avail ring.
 *
 * An ephemeral disk keeps fd read-only: writes go to a sparse memfd of the
 * same size and a bitmap (vmm/blk_overlay.h) records which sectors live
 * there. A read wholly in one of the two is one operation on that file; one
 * that spans both is done run by run, synchronously, on this thread.
 *
 * Errors: a host error (EIO, ENOSPC, ...) is VIRTIO_BLK_S_IOERR for that
 * request and the VM goes on; EOPNOTSUPP from fallocate (a file system
 * without hole punching) is UNSUPP, which Linux answers by not sending that
 * kind of request again. Only a chain with no status byte at all breaks the
 * queue (DEVICE_NEEDS_RESET).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk.h"
#include "blk_overlay.h"
#include "blk_req.h"
#include "iov.h"
#include "seccomp_thread.h"
#include "uring.h"
#include "virtio_blk.h"

/* Requests held at once per disk (and the ring's SQ size). */
#define BLK_DEPTH 128u

struct blk_io {
	struct vreq *req;
	struct blk_req r;
	struct blk_range range;
	struct uring_req op;
	bool mark;              /* ephemeral: mark [sector, +n) once written */
	uint64_t mark_sector, mark_n;
};

struct blk_disk {
	struct virtio_blk dev;
	struct blk_params bp;
	struct uring uring;
	bool async;
	int fd;                 /* the disk (read-only when ephemeral) */
	int ovl_fd;             /* ephemeral: the overlay memfd, else -1 */
	struct blk_overlay ovl;
	const struct vmm_blk_opt *opt;
	char name[32];          /* for log lines: "disk0 (id)" */
	bool refused_logged;
	bool verbose;           /* --verbose: log the first refused request */
	struct blk_io *ios;     /* BLK_DEPTH, indexed by the request's slot */
	pthread_t thread;
};

static void log_refusal(struct blk_disk *d, const char *why)
{
	if (d->verbose && !d->refused_logged)
		fprintf(stderr, "arca: virtio-blk %s: refused a request (%s); logged once\n",
			d->name, why ? why : "?");
	d->refused_logged = true;
}

/* The status of a finished operation. */
static uint8_t op_status(const struct blk_io *x, int64_t res)
{
	if (res == -EOPNOTSUPP && x->op.op == URING_FALLOCATE)
		return VIRTIO_BLK_S_UNSUPP;
	if (res < 0)
		return VIRTIO_BLK_S_IOERR;
	/* A short transfer (the file shrank under us): never report it as
	 * done, the guest would take stale buffer contents for data. */
	if ((x->op.op == URING_READV || x->op.op == URING_WRITEV) && (uint64_t)res != x->r.len)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint32_t io_finish(struct blk_disk *d, struct blk_io *x, int64_t res)
{
	uint8_t st = op_status(x, res);
	if (st == VIRTIO_BLK_S_OK && x->mark)
		blk_overlay_mark(&d->ovl, x->mark_sector, x->mark_n);
	return blk_req_finish(&x->r, st);
}

static void blk_done(void *opaque, uint64_t tag, int32_t res)
{
	struct blk_disk *d = opaque;
	if (tag >= BLK_DEPTH || !d->ios[tag].req)
		return;
	struct blk_io *x = &d->ios[tag];
	struct vreq *req = x->req;
	x->req = NULL;
	/* io-wq cancels work it cannot start (no worker: pids.max); the
	 * request itself is fine, so run it here. */
	int64_t r = res;
	if (r == -ECANCELED || r == -EINTR)
		r = uring_execute(&x->op);
	vreq_complete(&d->dev.v, req, io_finish(d, x, r));
}

/* An ephemeral read that spans the base and the overlay: run by run. */
static int64_t read_runs(struct blk_disk *d, struct blk_io *x)
{
	uint64_t pos = x->r.sector, end = x->r.sector + x->r.len / BLK_SECTOR_SIZE;
	struct blk_run run;
	struct iovec iov[VIRTQ_MAX_SEGS];
	while (blk_overlay_next_run(&d->ovl, &pos, end, &run)) {
		uint64_t skip = (run.sector - x->r.sector) * BLK_SECTOR_SIZE;
		uint64_t len = run.nsectors * BLK_SECTOR_SIZE;
		int n = iov_slice(x->r.iov, (int)x->r.niov, skip, len, iov, VIRTQ_MAX_SEGS);
		if (n < 0)
			return n;
		struct uring_req op = { .op = URING_READV, .fd = run.overlay ? d->ovl_fd : d->fd,
					.iov = iov, .niov = (unsigned)n,
					.off = run.sector * BLK_SECTOR_SIZE };
		int64_t got = uring_execute(&op);
		if (got < 0)
			return got;
		if ((uint64_t)got != len)
			return -EIO;
	}
	return (int64_t)x->r.len;
}

/* Build x->op for an accepted request. Returns 1 when there is an operation
 * to run, 0 when the request is already answered (*written set). */
static int prepare(struct blk_disk *d, struct blk_io *x, uint32_t *written)
{
	struct blk_req *r = &x->r;
	uint64_t off = r->sector * BLK_SECTOR_SIZE; /* blk_req checked it fits */
	x->mark = false;
	x->op = (struct uring_req){ .fd = d->fd };
	switch (r->type) {
	case VIRTIO_BLK_T_GET_ID:
		blk_req_put_id(r, d->opt->id[0] ? d->opt->id : "");
		*written = blk_req_finish(r, VIRTIO_BLK_S_OK);
		return 0;
	case VIRTIO_BLK_T_FLUSH:
		if (d->opt->nosync || d->ovl_fd >= 0) {
			*written = blk_req_finish(r, VIRTIO_BLK_S_OK);
			return 0;
		}
		x->op.op = URING_FDATASYNC;
		return 1;
	case VIRTIO_BLK_T_IN:
		x->op.op = URING_READV;
		x->op.iov = r->iov;
		x->op.niov = r->niov;
		x->op.off = off;
		if (d->ovl_fd >= 0) {
			uint64_t pos = r->sector, end = r->sector + r->len / BLK_SECTOR_SIZE;
			struct blk_run run;
			blk_overlay_next_run(&d->ovl, &pos, end, &run);
			if (run.sector + run.nsectors < end) {
				*written = io_finish(d, x, read_runs(d, x));
				return 0;
			}
			if (run.overlay)
				x->op.fd = d->ovl_fd;
		}
		return 1;
	case VIRTIO_BLK_T_OUT:
		x->op.op = URING_WRITEV;
		x->op.iov = r->iov;
		x->op.niov = r->niov;
		x->op.off = off;
		if (d->ovl_fd >= 0) {
			x->op.fd = d->ovl_fd;
			x->mark = true;
			x->mark_sector = r->sector;
			x->mark_n = r->len / BLK_SECTOR_SIZE;
		}
		return 1;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		const struct blk_range *g = &r->ranges[0]; /* max_*_seg is 1 */
		x->op.op = URING_FALLOCATE;
		x->op.off = g->sector * BLK_SECTOR_SIZE;
		x->op.len = (uint64_t)g->num_sectors * BLK_SECTOR_SIZE;
		bool zero = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
		bool unmap = !zero || (g->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		/* Both leave zeroes behind; PUNCH_HOLE also frees the space. */
		x->op.mode = (unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) |
			     FALLOC_FL_KEEP_SIZE;
		if (d->ovl_fd >= 0) {
			/* See blk_overlay.h: DISCARD leaves the map alone,
			 * WRITE_ZEROES makes the range the overlay's zeroes. */
			x->op.fd = d->ovl_fd;
			x->op.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
			x->mark = zero;
			x->mark_sector = g->sector;
			x->mark_n = g->num_sectors;
		}
		return 1;
	}
	default: /* blk_req_parse accepted nothing else */
		*written = blk_req_finish(r, VIRTIO_BLK_S_UNSUPP);
		return 0;
	}
}

static ssize_t blk_handle(void *backend, struct vreq *req)
{
	struct blk_disk *d = backend;
	struct blk_io *x = &d->ios[req->slot];
	int rc = blk_req_parse(&req->e, &d->bp, &x->r, &x->range, 1);
	if (rc == -EPROTO) {
		/* Nowhere to put a status: the driver broke the protocol. */
		virtio_dev_fail(&d->dev.v.dev, x->r.why ? x->r.why : "request without a status byte");
		return -EPROTO;
	}
	if (rc < 0) {
		log_refusal(d, x->r.why);
		return blk_req_finish(&x->r, blk_req_status(rc));
	}
	uint32_t written = 0;
	if (!prepare(d, x, &written))
		return written;
	if (!d->async)
		return io_finish(d, x, uring_execute(&x->op));
	int r = uring_queue(&d->uring, &x->op, req->slot);
	if (r < 0) /* -EBUSY cannot happen (one slot per SQE); serve it anyway */
		return io_finish(d, x, r == -EBUSY ? uring_execute(&x->op) : r);
	x->req = req;
	return VREQ_PENDING;
}

static void blk_flush(void *backend)
{
	struct blk_disk *d = backend;
	if (!d->async)
		return;
	int r = uring_submit(&d->uring);
	if (r < 0) {
		/* Nothing would wake us for SQEs the kernel did not take. */
		fprintf(stderr, "arca: virtio-blk %s: io_uring submit: %s; waiting\n", d->name,
			strerror(-r));
		(void)uring_drain(&d->uring, blk_done, d);
	}
}

static void blk_reap(void *backend)
{
	struct blk_disk *d = backend;
	uring_reap(&d->uring, blk_done, d);
}

static const struct vreq_backend_ops blk_backend = {
	.handle = blk_handle,
	.flush = blk_flush,
	.reap = blk_reap,
};

/* The disk's size: a regular file's length or a block device's. */
static int disk_size(int fd, uint64_t *bytes)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
	return -EINVAL;
}

/* An ephemeral disk's overlay: a sparse memfd of the disk's size (memory
 * the guest fills only by writing, bounded by that size and counted in the
 * VMM's cgroup) and its bitmap. */
static int overlay_setup(struct blk_disk *d, uint64_t bytes)
{
	d->ovl_fd = memfd_create("arca-ephemeral", MFD_CLOEXEC);
	if (d->ovl_fd < 0)
		return -errno;
	if (ftruncate(d->ovl_fd, (off_t)bytes) < 0)
		return -errno;
	size_t n = blk_overlay_bitmap_bytes(d->bp.capacity);
	void *bits = mmap(NULL, n, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (bits == MAP_FAILED)
		return -errno;
	blk_overlay_init(&d->ovl, bits, d->bp.capacity);
	return 0;
}

static int disk_setup(struct vm *vm, struct blk_disk *d, const struct vmm_blk_opt *b,
		      unsigned index, bool verbose)
{
	uint64_t bytes;
	int r;
	d->opt = b;
	d->fd = b->fd;
	d->ovl_fd = -1;
	snprintf(d->name, sizeof(d->name), "disk%u%s%s%s", index, b->id[0] ? " (" : "", b->id,
		 b->id[0] ? ")" : "");
	if ((r = disk_size(b->fd, &bytes)) < 0)
		return r;
	if (bytes < BLK_SECTOR_SIZE || bytes % BLK_SECTOR_SIZE)
		return -EINVAL;
	d->bp = (struct blk_params){
		.capacity = bytes / BLK_SECTOR_SIZE,
		.read_only = b->read_only,
		.seg_max = VIRTIO_BLK_SEG_MAX,
		.size_max = VIRTIO_BLK_SIZE_MAX,
		.max_discard_sectors = b->read_only ? 0 : VIRTIO_BLK_DISCARD_MAX,
		.max_discard_seg = b->read_only ? 0 : 1,
		.max_write_zeroes_sectors = b->read_only ? 0 : VIRTIO_BLK_ZEROES_MAX,
		.max_write_zeroes_seg = b->read_only ? 0 : 1,
	};
	if (b->ephemeral && (r = overlay_setup(d, bytes)) < 0)
		return r;
	d->ios = calloc(BLK_DEPTH, sizeof(*d->ios));
	if (!d->ios)
		return -ENOMEM;
	r = uring_init(&d->uring, BLK_DEPTH);
	d->async = r == 0;
	if (r < 0 && verbose)
		fprintf(stderr, "arca: virtio-blk %s: io_uring unavailable (%s); serving it "
			"synchronously\n", d->name, strerror(-r));
	struct virtio_blk_params p = {
		.capacity = d->bp.capacity,
		.read_only = b->read_only,
		.discard = !b->read_only,
		.write_zeroes = !b->read_only,
		.nqueues = b->queues,
	};
	if ((r = virtio_blk_init(&d->dev, &vm->gm, &p, &blk_backend, d,
				 d->async ? BLK_DEPTH : 1)) < 0)
		return r;
	if (d->async && (r = vreq_watch(&d->dev.v, d->uring.efd)) < 0)
		return r;
	uint64_t base;
	uint32_t gsi;
	struct virtio_mmio *t = vm_add_mmio(vm, &base, &gsi);
	if (!t)
		return -ENOSPC;
	return virtio_mmio_setup(t, &d->dev.v.dev, base, gsi, vm->vm_fd, &d->dev.v.loop);
}

int blk_devices_setup(struct blk_devices *blk, struct vm *vm, const struct vmm_opts *o,
		      struct arca_err *e)
{
	blk->n = 0;
	blk->v = o->nblk ? calloc(o->nblk, sizeof(*blk->v)) : NULL;
	if (o->nblk && !blk->v)
		return arca_error(e, ENOMEM, "out of memory for %u disks", o->nblk);
	for (unsigned i = 0; i < o->nblk; i++) {
		struct blk_disk *d = &blk->v[i];
		d->verbose = o->verbose;
		int r = disk_setup(vm, d, &o->blk[i], i, o->verbose);
		if (r == -ENOSPC)
			return arca_error(e, ENOSPC, "%s: too many devices (16 virtio-mmio slots "
					  "in all)", d->name[0] ? d->name : "disk");
		if (r < 0)
			return arca_error_errno(e, -r, "%s", d->name[0] ? d->name : "disk");
		blk->n++;
	}
	return 0;
}

static void *blk_thread(void *arg)
{
	struct blk_disk *d = arg;
	/* Confined before it serves a single request; the ring was
	 * restricted before this. */
	if (seccomp_enter(SECCOMP_BLK, NULL, NULL) < 0)
		return NULL;
	vreq_run(&d->dev.v);
	return NULL;
}

int blk_devices_start(struct blk_devices *blk)
{
	for (unsigned i = 0; i < blk->n; i++) {
		int r = -pthread_create(&blk->v[i].thread, NULL, blk_thread, &blk->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}
