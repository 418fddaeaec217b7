/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"
#include "fuse_server.h"
#include "virtio_fs.h"

/* Each share may keep at most this many host fds open (inodes + open
 * files): a guest that looks up or opens without end gets EMFILE instead
 * of exhausting the VMM's fd table (CVE-2020-10717). */
#define FS_MAX_FDS_PER_SHARE 4096

static struct fs_share {
	struct fuse_server server;
	struct virtio_fs dev;
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
			.max_fds = FS_MAX_FDS_PER_SHARE,
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

int fs_devices_start(void)
{
	for (unsigned i = 0; i < nshares; i++) {
		int r = virtio_fs_start(&shares[i].dev);
		if (r < 0)
			return r;
	}
	return 0;
}
