/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "arca/limits.h"
#include "fs.h"
#include "fuse_server.h"
#include "seccomp_thread.h"
#include "virtio_fs.h"


static struct fs_share {
	struct fuse_server server;
	struct virtio_fs dev;
	pthread_t thread;
} shares[VMM_MAX_FS];
static unsigned nshares;

static ssize_t fs_handle(void *backend, const struct iovec *in, int nin,
			 const struct iovec *out, int nout)
{
	return fuse_server_handle(backend, in, nin, out, nout);
}

int fs_devices_setup(struct vm *vm, const struct vmm_opts *o)
{
	for (unsigned i = 0; i < o->nfs; i++) {
		const struct vmm_fs_opt *f = &o->fs[i];
		struct fs_share *s = &shares[i];
		struct fuse_server_config c = {
			.root_fd = f->dir_fd,
			.proc_self_fd = o->proc_fd,
			.read_only = f->read_only,
			.ids_passthrough = f->ids_passthrough,
			.host_uid = o->host_uid,
			.host_gid = o->host_gid,
			.guest_uid = 0,
			.guest_gid = 0,
			.max_fds = ARCA_FS_MAX_FDS,
		};
		int r = fuse_server_init(&s->server, &c);
		if (r < 0) {
			fprintf(stderr, "arca: share '%s': %s\n", f->tag, strerror(-r));
			return r;
		}
		r = virtio_fs_init(&s->dev, &vm->gm, f->tag, fs_handle, &s->server);
		if (r < 0)
			return r;
		uint64_t base;
		uint32_t gsi;
		struct virtio_mmio *t = vm_add_mmio(vm, &base, &gsi);
		if (!t) {
			fprintf(stderr, "arca: too many devices\n");
			return -ENOSPC;
		}
		r = virtio_mmio_setup(t, &s->dev.dev, base, gsi, vm->vm_fd, &s->dev.loop);
		if (r < 0) {
			fprintf(stderr, "arca: share '%s': device setup failed: %s\n", f->tag,
				strerror(-r));
			return r;
		}
		nshares++;
	}
	return 0;
}

static void *fs_thread(void *arg)
{
	struct fs_share *s = arg;
	/* Confined before it serves a single request; if any thread's filter
	 * failed, seccomp_enter fails everywhere and the main thread refuses
	 * to run the guest. */
	if (seccomp_enter(SECCOMP_FS, NULL, NULL) < 0)
		return NULL;
	virtio_fs_run(&s->dev);
	return NULL;
}

int fs_devices_start(void)
{
	for (unsigned i = 0; i < nshares; i++) {
		int r = -pthread_create(&shares[i].thread, NULL, fs_thread, &shares[i]);
		if (r < 0)
			return r;
	}
	return 0;
}
