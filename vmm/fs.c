/* SPDX-License-Identifier: MIT */
/*
 * Shares: one FUSE server (backend) + one virtio-fs device + one thread
 * per --fs, and, where the kernel allows, one restricted io_uring (vmm/
 * fs_uring.h) that carries the share's READ/WRITE requests.
 *
 * Threading: everything of a share runs on its thread: the queue kicks, the
 * FUSE server, submission and reaping (the ring's eventfd is one more fd on
 * the thread's event loop). vCPUs only write the kick eventfd (ioeventfd);
 * they never wait for host I/O. A vCPU's device reset only marks held
 * requests orphaned (vmm/virtio_req.h).
 *
 * Fallback: if the ring cannot be created and restricted (io_uring_setup
 * refused by kernel.io_uring_disabled, a container's seccomp, ENOSYS, or a
 * kernel without restricted rings), the share is served synchronously on
 * its thread, as before; --verbose says so once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arca/limits.h"
#include "fs.h"
#include "fs_uring.h"
#include "fuse_decode.h"
#include "fuse_server.h"
#include "seccomp_thread.h"
#include "virtio_fs.h"

/* Requests held at once per share, and the ring's SQ size: the guest's
 * request queue (256) may hold more; the rest wait in the avail ring. */
#define FS_URING_DEPTH 64u

struct fs_io {
	struct fuse_io io;
	struct vreq *req;
};

struct fs_share {
	struct fuse_server server;
	struct virtio_fs dev;
	struct uring uring;
	bool async;
	bool submit_logged;
	struct fs_io *ios; /* FS_URING_DEPTH, indexed by the request's slot */
	pthread_t thread;
};

static const struct iovec *req_in(const struct vreq *r, int *n)
{
	*n = (int)r->e.nout;
	return r->e.iov;
}

static const struct iovec *req_out(const struct vreq *r, int *n)
{
	*n = (int)r->e.nin;
	return &r->e.iov[r->e.nout];
}

/* A CQE: reply, then hand the chain back (or just free it if orphaned:
 * the reply then lands in memory the guest no longer watches). */
static void fs_done(void *opaque, uint64_t tag, int32_t res)
{
	struct fs_share *s = opaque;
	if (tag >= FS_URING_DEPTH || !s->ios[tag].req)
		return;
	struct fs_io *x = &s->ios[tag];
	struct vreq *req = x->req;
	x->req = NULL;
	/* io-wq cancels work it cannot start (no worker: pids.max) or that
	 * outlived its task; the request itself is fine, so run it here. */
	if (res == -ECANCELED || res == -EINTR)
		res = (int32_t)fuse_io_execute(&x->io);
	int nout;
	const struct iovec *out = req_out(req, &nout);
	ssize_t n = fuse_io_complete(&s->server, &x->io, res, out, nout);
	vreq_complete(&s->dev.v, req, n);
}

static ssize_t fs_handle(void *backend, struct vreq *req)
{
	struct fs_share *s = backend;
	int nin, nout;
	const struct iovec *in = req_in(req, &nin), *out = req_out(req, &nout);

	if (!s->async)
		return fuse_server_handle(&s->server, in, nin, out, nout);
	struct fs_io *x = &s->ios[req->slot];
	ssize_t n = fuse_server_submit(&s->server, in, nin, out, nout, &x->io);
	if (n == -EBUSY) {
		/* DESTROY while I/O is in flight: finish that first. */
		int r = uring_drain(&s->uring, fs_done, s);
		if (r < 0) {
			fprintf(stderr, "arca: virtio-fs: waiting for I/O failed: %s\n",
				strerror(-r));
			return r;
		}
		n = fuse_server_submit(&s->server, in, nin, out, nout, &x->io);
	}
	if (n != -EINPROGRESS)
		return n;
	int r = fs_uring_queue(&s->uring, &x->io, req->slot);
	if (r < 0) {
		/* -EINVAL: a negative offset; -EBUSY cannot happen (one slot per
		 * SQE) but would still be served, synchronously. */
		ssize_t res = r == -EBUSY ? fuse_io_execute(&x->io) : r;
		return fuse_io_complete(&s->server, &x->io, res, out, nout);
	}
	x->req = req;
	return VREQ_PENDING;
}

static void fs_flush(void *backend)
{
	struct fs_share *s = backend;
	if (!s->async)
		return;
	int r = uring_submit(&s->uring);
	if (r < 0) {
		/* Nothing would ever wake us for SQEs the kernel did not take:
		 * wait here until they and everything else are done. */
		if (!s->submit_logged)
			fprintf(stderr, "arca: virtio-fs: io_uring submit: %s; waiting\n",
				strerror(-r));
		s->submit_logged = true;
		(void)uring_drain(&s->uring, fs_done, s);
	}
}

static void fs_reap(void *backend)
{
	struct fs_share *s = backend;
	uring_reap(&s->uring, fs_done, s);
}

static const struct vreq_backend_ops fs_backend = {
	.handle = fs_handle,
	.flush = fs_flush,
	.reap = fs_reap,
};

/* Must run before any seccomp filter: it needs io_uring_setup and
 * io_uring_register, which no thread may call afterwards. */
static void fs_async_setup(struct fs_share *s, const char *tag, bool verbose)
{
	static bool logged;
	int r = uring_init(&s->uring, FS_URING_DEPTH);
	if (r == 0) {
		s->ios = calloc(FS_URING_DEPTH, sizeof(*s->ios));
		if (s->ios) {
			s->async = true;
			return;
		}
		uring_fini(&s->uring);
		r = -ENOMEM;
	}
	if (verbose && !logged)
		fprintf(stderr, "arca: share '%s': io_uring unavailable (%s); "
			"serving shares synchronously\n", tag, strerror(-r));
	logged = true;
}

int fs_devices_setup(struct fs_devices *fs, struct vm *vm, const struct vmm_opts *o,
		     struct arca_err *e)
{
	fs->n = 0;
	fs->v = o->nfs ? calloc(o->nfs, sizeof(*fs->v)) : NULL;
	if (o->nfs && !fs->v)
		return arca_error(e, ENOMEM, "out of memory for %u shares", o->nfs);
	for (unsigned i = 0; i < o->nfs; i++) {
		const struct vmm_fs_opt *f = &o->fs[i];
		struct fs_share *s = &fs->v[i];
		struct fuse_server_config c = {
			.root_fd = f->dir_fd,
			.proc_self_fd = o->proc_fd,
			.read_only = f->read_only,
			.ids_passthrough = f->ids_passthrough,
			.writeback = f->writeback,
			.direct_io = f->direct_io,
			.timed = o->verbose,
			.host_uid = o->host_uid,
			.host_gid = o->host_gid,
			.guest_uid = 0,
			.guest_gid = 0,
			.max_fds = o->fs_max_fds,
		};
		int r = fuse_server_init(&s->server, &c);
		if (r < 0)
			return arca_error_errno(e, -r, "share '%s'", f->tag);
		fs_async_setup(s, f->tag, o->verbose);
		r = virtio_fs_init(&s->dev, &vm->gm, f->tag, &fs_backend, s,
				   s->async ? FS_URING_DEPTH : 1);
		if (r == 0 && s->async)
			r = vreq_watch(&s->dev.v, s->uring.efd);
		if (r < 0)
			return arca_error_errno(e, -r, "share '%s'", f->tag);
		uint64_t base;
		uint32_t gsi;
		struct virtio_mmio *t = vm_add_mmio(vm, &base, &gsi);
		if (!t)
			return arca_error(e, ENOSPC, "share '%s': too many devices", f->tag);
		r = virtio_mmio_setup(t, &s->dev.v.dev, base, gsi, vm->vm_fd, &s->dev.v.loop);
		if (r < 0)
			return arca_error_errno(e, -r, "share '%s': device setup", f->tag);
		fs->n++;
	}
	return 0;
}

static void *fs_thread(void *arg)
{
	struct fs_share *s = arg;
	/* Confined before it serves a single request; if any thread's filter
	 * failed, seccomp_enter fails everywhere and the main thread refuses
	 * to run the guest. The ring was restricted before this. */
	if (seccomp_enter(SECCOMP_FS, NULL, NULL) < 0)
		return NULL;
	vreq_run(&s->dev.v);
	return NULL;
}

void fs_devices_report(const struct fs_devices *fs, FILE *f)
{
	for (unsigned i = 0; i < fs->n; i++) {
		const struct fuse_stats *st = &fs->v[i].server.stats;
		uint64_t req = atomic_load_explicit(&st->requests, memory_order_relaxed);
		uint64_t rd = atomic_load_explicit(&st->reads, memory_order_relaxed);
		uint64_t rb = atomic_load_explicit(&st->read_bytes, memory_order_relaxed);
		uint64_t wr = atomic_load_explicit(&st->writes, memory_order_relaxed);
		uint64_t wb = atomic_load_explicit(&st->write_bytes, memory_order_relaxed);
		uint64_t rns = atomic_load_explicit(&st->read_ns, memory_order_relaxed);
		uint64_t wns = atomic_load_explicit(&st->write_ns, memory_order_relaxed);
		fprintf(f, "arca: share '%.*s': %llu requests; READ %llu (%.1f MiB, %.1f KiB each, %.1f ms in the host), "
			"WRITE %llu (%.1f MiB, %.1f KiB each, %.1f ms in the host)\n",
			(int)strnlen((const char *)fs->v[i].dev.tag, sizeof(fs->v[i].dev.tag)),
			(const char *)fs->v[i].dev.tag, (unsigned long long)req,
			(unsigned long long)rd, (double)rb / 1048576.0, rd ? (double)rb / 1024.0 / (double)rd : 0.0,
			(double)rns / 1e6,
			(unsigned long long)wr, (double)wb / 1048576.0, wr ? (double)wb / 1024.0 / (double)wr : 0.0,
			(double)wns / 1e6);
		/* The other opcodes by count: where round trips go (a GETXATTR
		 * per write() was the guest's security.capability check until
		 * HANDLE_KILLPRIV_V2, for one). */
		fprintf(f, "arca: share '%.*s': by opcode:",
			(int)strnlen((const char *)fs->v[i].dev.tag, sizeof(fs->v[i].dev.tag)),
			(const char *)fs->v[i].dev.tag);
		for (uint32_t op = 0; op < FUSE_STATS_OPS; op++) {
			uint64_t n = atomic_load_explicit(&st->by_op[op], memory_order_relaxed);
			const char *name = op == FUSE_STATS_OPS - 1 ? "other" : fuse_opcode_name(op);
			if (n && strcmp(name, "?"))
				fprintf(f, " %s %llu", name, (unsigned long long)n);
			else if (n)
				fprintf(f, " op%u %llu", op, (unsigned long long)n);
		}
		fputc('\n', f);
	}
}

int fs_devices_start(struct fs_devices *fs)
{
	for (unsigned i = 0; i < fs->n; i++) {
		int r = -pthread_create(&fs->v[i].thread, NULL, fs_thread, &fs->v[i]);
		if (r < 0)
			return r;
	}
	return 0;
}
