/* SPDX-License-Identifier: MIT */
/*
 * Warm starts (arca run --warm): saving the VM at arca-init's HELLO into
 * a snapshot (snapshot.h), and starting a VM from one.
 *
 * The snapshot point is arca-init waiting for its spec on the control
 * channel: the kernel is up, modules loaded, devices probed, ports open,
 * and nothing of any run is in the guest yet (the console holds stdin and
 * control frames back until the snapshot is written). A run that made the
 * snapshot and a run restored from it both get their spec only then.
 */
#ifndef ARCA_WARM_H
#define ARCA_WARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "opts.h"
#include "virtio_console.h"
#include "vm.h"

struct warm {
	int save_fd;        /* --snapshot-fd, closed once written; -1 */
	int restore_fd;     /* --restore-fd; -1 */
	int ev_fd;          /* HELLO -> save on the next event loop turn */
	uint8_t *spec;      /* the run's spec (--spec-fd), NULL when none */
	size_t spec_len;
	bool saving_ok;     /* the host can save one (XSAVE fits, ...) */
	char note[200];     /* why none was saved, for --verbose */
	double save_ms, restore_ms;
	uint64_t saved_bytes;
};

/* Before any thread: read the spec, check the host can save, make the
 * buffers a save needs. 0 or -errno with e set. */
int warm_setup(struct warm *w, const struct vmm_opts *o, struct vm *vm, struct arca_err *e);

/* After the devices and vCPUs exist, instead of loading a kernel: guest
 * RAM mapped from the file, VM, vCPU and device state restored. */
int warm_restore(struct warm *w, struct vm *vm, struct virtio_console *con,
		 struct arca_err *e);

/* Save now (device thread, everything running under its filters). A
 * failure only means no snapshot: w->note says why. The fd is closed
 * either way, so nothing the guest does later can reach the file. */
int warm_save(struct warm *w, struct vm *vm, struct virtio_console *con);

#endif
