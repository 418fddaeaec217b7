/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "kvm_state.h"
#include "snapshot.h"
#include "warm.h"

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The spec: a memfd or file the launcher wrote, at most
 * ARCA_SPEC_MAX_SIZE bytes. */
static int read_spec(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > ARCA_SPEC_MAX_SIZE)
		return -EINVAL;
	uint8_t *b = malloc((size_t)st.st_size);
	if (!b)
		return -ENOMEM;
	int r = pread_all(fd, b, (size_t)st.st_size, 0);
	if (r < 0) {
		free(b);
		return r;
	}
	*out = b;
	*len = (size_t)st.st_size;
	return 0;
}

/* KVM_GET_XSAVE returns 4 KiB; hosts with bigger state (AMX) need
 * KVM_GET_XSAVE2, which this format does not carry yet. */
static bool xsave_fits(int kvm_fd)
{
	int sz = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	return sz <= 4096;
}

int warm_setup(struct warm *w, const struct vmm_opts *o, struct vm *vm, struct arca_err *e)
{
	int r;
	memset(w, 0, sizeof(*w));
	w->save_fd = o->snapshot_fd;
	w->restore_fd = o->restore_fd;
	w->ev_fd = -1;
	if (o->spec_fd >= 0) {
		if ((r = read_spec(o->spec_fd, &w->spec, &w->spec_len)) < 0)
			return arca_error_errno(e, -r, "reading the run's spec");
		close(o->spec_fd);
	}
	if (w->restore_fd >= 0 && !xsave_fits(vm->kvm_fd))
		return arca_error(e, EOPNOTSUPP, "this host's vCPU state (XSAVE over 4 KiB) "
				  "cannot be restored from a snapshot yet");
	if (w->save_fd < 0)
		return 0;
	if (!xsave_fits(vm->kvm_fd)) {
		snprintf(w->note, sizeof(w->note), "this host's vCPU state (XSAVE over 4 KiB) "
			 "cannot be saved yet");
		return 0;
	}
	vm->snap = calloc(vm->ncpus, sizeof(*vm->snap));
	if (!vm->snap)
		return arca_error_errno(e, ENOMEM, "allocating the snapshot's buffers");
	if ((r = kvm_state_msr_list(vm->kvm_fd, &vm->snap[0])) < 0)
		return arca_error_errno(e, -r, "KVM_GET_MSR_INDEX_LIST");
	for (unsigned i = 1; i < vm->ncpus; i++) {
		vm->snap[i].nmsrs = vm->snap[0].nmsrs;
		memcpy(vm->snap[i].msrs, vm->snap[0].msrs, sizeof(vm->snap[0].msrs));
	}
	w->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->ev_fd < 0)
		return arca_error_errno(e, errno, "eventfd");
	w->saving_ok = true;
	return 0;
}

int warm_restore(struct warm *w, struct vm *vm, struct virtio_console *con, struct arca_err *e)
{
	double t0 = now_ms();
	struct snap_header h;
	struct stat st;
	const char *why = NULL, *what = NULL;
	int r;

	if (fstat(w->restore_fd, &st) < 0)
		return arca_error_errno(e, errno, "the snapshot");
	if (!S_ISREG(st.st_mode))
		return arca_error(e, EINVAL, "the snapshot is not a regular file");
	memset(&h, 0, sizeof(h));
	if ((uint64_t)st.st_size >= sizeof(h) &&
	    (r = pread_all(w->restore_fd, &h, sizeof(h), 0)) < 0)
		return arca_error_errno(e, -r, "reading the snapshot");
	if ((r = snap_header_check(&h, (uint64_t)st.st_size, vm->ncpus, vm->nmmio, vm->gm.size,
				   &why)) < 0)
		return arca_error(e, -r, "the snapshot cannot be used: %s", why);

	/* Guest RAM: the file's pages, private. Every warm VM of this
	 * snapshot shares them in the page cache until it writes one; a
	 * write never reaches the file. */
	void *p = mmap(vm->gm.base, vm->gm.size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, w->restore_fd, (off_t)h.mem_offset);
	if (p == MAP_FAILED)
		return arca_error_errno(e, errno, "mapping the snapshot's memory");
	madvise(vm->gm.base, vm->gm.size, MADV_DONTDUMP);

	struct snap_vm sv;
	if ((r = pread_all(w->restore_fd, &sv, sizeof(sv), snap_vm_off())) < 0)
		return arca_error_errno(e, -r, "reading the snapshot");
	if ((r = kvm_state_vm_restore(vm->vm_fd, &sv, &what)) < 0)
		return arca_error_errno(e, -r, "restoring the VM from the snapshot (%s)", what);

	struct snap_vcpu *v = malloc(sizeof(*v));
	if (!v)
		return arca_error_errno(e, ENOMEM, "restoring the snapshot");
	for (unsigned i = 0; i < vm->ncpus && r == 0; i++) {
		if ((r = pread_all(w->restore_fd, v, sizeof(*v), snap_vcpu_off(i))) < 0)
			break;
		if ((r = kvm_state_vcpu_restore(vm->vcpus[i].fd, v, &what)) < 0)
			r = arca_error_errno(e, -r, "restoring vCPU %u from the snapshot (%s)", i,
					     what);
	}
	free(v);
	if (r < 0)
		return e->msg[0] ? r : arca_error_errno(e, -r, "reading the snapshot");

	for (unsigned i = 0; i < vm->nmmio; i++) {
		struct snap_mmio sm;
		if ((r = pread_all(w->restore_fd, &sm, sizeof(sm), snap_mmio_off(vm->ncpus, i))) < 0)
			return arca_error_errno(e, -r, "reading the snapshot");
		if ((r = virtio_mmio_restore(&vm->mmio[i], &sm)) < 0)
			return arca_error(e, -r, "the snapshot's virtio device %u does not fit this VM", i);
	}
	struct snap_console sc;
	struct snap_serial ss;
	if ((r = pread_all(w->restore_fd, &sc, sizeof(sc), snap_console_off(vm->ncpus, vm->nmmio))) < 0 ||
	    (r = pread_all(w->restore_fd, &ss, sizeof(ss), snap_serial_off(vm->ncpus, vm->nmmio))) < 0)
		return arca_error_errno(e, -r, "reading the snapshot");
	virtio_console_restore(con, &sc);
	struct serial *s = &vm->serial;
	s->ier = ss.ier;
	s->lcr = ss.lcr;
	s->mcr = ss.mcr;
	s->scr = ss.scr;
	s->fcr = ss.fcr;
	s->dll = ss.dll;
	s->dlm = ss.dlm;
	s->thri_pending = !!ss.thri_pending;
	/* The mapping keeps the file; the fd is not needed any more. */
	close(w->restore_fd);
	w->restore_fd = -1;
	w->restore_ms = now_ms() - t0;
	return 0;
}

/* Guest RAM into the file: only pages that are not all zero (a fresh
 * guest touches a fraction of its RAM; the rest stays a hole and maps
 * back as zero), in runs. Every page is read: mincore() would skip
 * pages the host swapped out, which are not zero. */
static int save_memory(struct warm *w, const struct vm *vm, uint64_t off)
{
	const uint8_t *base = vm->gm.base;
	uint64_t npages = vm->gm.size / SNAP_PAGE;
	uint64_t run = 0, nrun = 0;
	for (uint64_t i = 0; i <= npages; i++) {
		bool keep = false;
		if (i < npages) {
			const uint64_t *q = (const uint64_t *)(base + i * SNAP_PAGE);
			for (unsigned k = 0; k < SNAP_PAGE / 8 && !keep; k++)
				keep = q[k] != 0;
		}
		if (keep && nrun < 256) {
			if (!nrun)
				run = i;
			nrun++;
			continue;
		}
		if (nrun) {
			int r = pwrite_all(w->save_fd, base + run * SNAP_PAGE, nrun * SNAP_PAGE,
					 off + run * SNAP_PAGE);
			if (r < 0)
				return r;
			w->saved_bytes += nrun * SNAP_PAGE;
			nrun = 0;
		}
		if (keep) {
			run = i;
			nrun = 1;
		}
	}
	return 0;
}

static int save_all(struct warm *w, struct vm *vm, struct virtio_console *con,
		    const char **what)
{
	struct snap_header h;
	struct snap_vm sv;
	int r;

	snap_header_init(&h, vm->ncpus, vm->nmmio, vm->gm.size);
	if ((r = kvm_state_vm_save(vm->vm_fd, &sv, what)) < 0)
		return r;
	struct snap_console sc;
	*what = "the console (control frames still queued)";
	if ((r = virtio_console_save(con, &sc)) < 0)
		return r;
	struct snap_serial ss;
	pthread_mutex_lock(&vm->pio_lock);
	const struct serial *s = &vm->serial;
	ss = (struct snap_serial){ s->ier, s->lcr, s->mcr, s->scr, s->fcr, s->dll, s->dlm,
				   s->thri_pending };
	pthread_mutex_unlock(&vm->pio_lock);

	*what = "writing the file";
	if (ftruncate(w->save_fd, (off_t)(h.mem_offset + h.mem_size)) < 0)
		return -errno;
	if ((r = pwrite_all(w->save_fd, &sv, sizeof(sv), snap_vm_off())) < 0)
		return r;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if ((r = pwrite_all(w->save_fd, &vm->snap[i], sizeof(vm->snap[i]), snap_vcpu_off(i))) < 0)
			return r;
	for (unsigned i = 0; i < vm->nmmio; i++) {
		struct snap_mmio sm;
		virtio_mmio_save(&vm->mmio[i], &sm);
		if ((r = pwrite_all(w->save_fd, &sm, sizeof(sm), snap_mmio_off(vm->ncpus, i))) < 0)
			return r;
	}
	if ((r = pwrite_all(w->save_fd, &sc, sizeof(sc), snap_console_off(vm->ncpus, vm->nmmio))) < 0 ||
	    (r = pwrite_all(w->save_fd, &ss, sizeof(ss), snap_serial_off(vm->ncpus, vm->nmmio))) < 0)
		return r;
	if ((r = save_memory(w, vm, h.mem_offset)) < 0)
		return r;
	/* The header last: a file without it is never restored. */
	return pwrite_all(w->save_fd, &h, sizeof(h), 0);
}

int warm_save(struct warm *w, struct vm *vm, struct virtio_console *con)
{
	double t0 = now_ms();
	const char *what = "pausing the vCPUs";
	int r = -EOPNOTSUPP;

	if (w->save_fd < 0)
		return -EBADF;
	if (w->saving_ok) {
		r = vm_pause(vm, 10000);
		if (r == 0 && vm->snap_err) {
			r = vm->snap_err;
			what = vm->snap_what;
		}
		if (r == 0)
			r = save_all(w, vm, con, &what);
		vm_resume(vm);
		if (r < 0)
			snprintf(w->note, sizeof(w->note), "%s: %s", what, strerror(-r));
	}
	/* Closed before the guest runs anything of the run: a guest that
	 * took over this process later still cannot reach the file. */
	close(w->save_fd);
	w->save_fd = -1;
	w->save_ms = now_ms() - t0;
	return r;
}
